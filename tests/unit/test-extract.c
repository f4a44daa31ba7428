/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hostile archives, made here with libarchive's write API, against
 * ps_extract_tree_at(). Each case extracts into $scratch/target next to a
 * canary dir $scratch/canary that must stay untouched; refused archives
 * must leave no target behind. Every case runs with openat2() and again with
 * the fallback walk.
 */
/* Short positional tables of entries: trailing fields default to zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include "extract.h"
#include "util.h"

struct ent {
	mode_t type;          /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFCHR; 0 ends */
	const char *path;
	const char *data;     /* file content, or symlink target */
	const char *hardlink; /* makes it a hardlink entry */
	mode_t mode;
	long long size;       /* with sparse: the apparent size */
	bool sparse;
	const char *xattr;    /* "name=value" */
};

struct fx {
	char scratch[64];
	int scratch_fd;
	char archive[96];
	char canary[96];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->scratch, sizeof(f->scratch), "/var/tmp/test-extract.XXXXXX");
	assert_non_null(mkdtemp(f->scratch));
	f->scratch_fd = open(f->scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->scratch_fd >= 0);
	snprintf(f->archive, sizeof(f->archive), "%s/a.tar", f->scratch);
	snprintf(f->canary, sizeof(f->canary), "%s/canary", f->scratch);
	assert_int_equal(mkdir(f->canary, 0755), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ps_openat_force_fallback = false;
	assert_int_equal(ps_rm_rf_at(AT_FDCWD, f->scratch), 0);
	close(f->scratch_fd);
	free(f);
	return 0;
}

static void write_archive(const char *path, int filter, const struct ent *ents)
{
	struct archive *a = archive_write_new();
	char zeros[4096] = { 0 };

	archive_write_set_format_pax(a);
	if (filter == ARCHIVE_FILTER_GZIP)
		archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (const struct ent *x = ents; x->type; x++) {
		struct archive_entry *e = archive_entry_new();
		long long size = x->size ? x->size : x->data && x->type == AE_IFREG ? (long long)strlen(x->data) : 0;

		archive_entry_set_pathname(e, x->path);
		archive_entry_set_filetype(e, x->type);
		archive_entry_set_perm(e, x->mode ? x->mode : (x->type == AE_IFDIR ? 0755 : 0644));
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
		archive_entry_set_mtime(e, 1000000000, 0);
		if (x->type == AE_IFLNK)
			archive_entry_set_symlink(e, x->data);
		if (x->type == AE_IFCHR)
			archive_entry_set_rdev(e, makedev(1, 3));
		if (x->hardlink) {
			archive_entry_set_hardlink(e, x->hardlink);
			size = 0;
		}
		if (x->xattr) {
			const char *eq = strchr(x->xattr, '=');
			char name[64];
			snprintf(name, sizeof(name), "%.*s", (int)(eq - x->xattr), x->xattr);
			archive_entry_xattr_add_entry(e, name, eq + 1, strlen(eq + 1));
		}
		if (x->type == AE_IFREG || x->hardlink)
			archive_entry_set_size(e, size);
		if (x->sparse) {
			/* Data at the start and at the end, a hole between. */
			archive_entry_sparse_add_entry(e, 0, sizeof(zeros));
			archive_entry_sparse_add_entry(e, size - (long long)sizeof(zeros), sizeof(zeros));
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (x->sparse) {
			memset(zeros, 'x', sizeof(zeros));
			assert_int_equal(archive_write_data(a, zeros, sizeof(zeros)), sizeof(zeros));
			assert_int_equal(archive_write_data(a, zeros, sizeof(zeros)), sizeof(zeros));
		} else if (x->type == AE_IFREG && !x->hardlink) {
			long long done = 0;
			while (x->data && done < size) {
				size_t n = strlen(x->data);
				if ((long long)n > size - done)
					n = (size_t)(size - done);
				assert_int_equal(archive_write_data(a, x->data, n), (ssize_t)n);
				done += (long long)n;
			}
		}
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* Extract f->archive into scratch/target; returns the result, err kept. */
static int extract(struct fx *f, const ps_extract_opts *opts, ps_extract_stats *st, ps_error **err)
{
	int fd = open(f->archive, O_RDONLY | O_CLOEXEC);
	int r;

	assert_true(fd >= 0);
	r = ps_extract_tree_at(fd, f->scratch_fd, "target", opts, st, err);
	close(fd);
	return r;
}

static bool canary_untouched(struct fx *f)
{
	DIR *d = opendir(f->canary);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n++;
	closedir(d);
	return n == 2;
}

static bool exists_at(int dirfd, const char *path)
{
	struct stat st;
	return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A refused archive: an error mentioning what, no target, canary untouched. */
static void expect_refused(struct fx *f, const char *what)
{
	ps_error *err = NULL;

	assert_true(extract(f, NULL, NULL, &err) < 0);
	assert_non_null(err);
	if (!strstr(err->msg, what))
		fail_msg("error \"%s\" does not mention \"%s\"", err->msg, what);
	ps_error_free(&err);
	assert_false(exists_at(f->scratch_fd, "target"));
	assert_true(canary_untouched(f));
}

static void expect_ok(struct fx *f, const ps_extract_opts *opts, ps_extract_stats *st)
{
	ps_error *err = NULL;

	if (extract(f, opts, st, &err) < 0)
		fail_msg("extract: %s", err->msg);
	assert_null(err);
}

static void both_ways(void **state, void (*fn)(struct fx *f))
{
	struct fx *f = *state;

	ps_openat_force_fallback = false;
	fn(f);
	ps_rm_rf_at(f->scratch_fd, "target");
	ps_openat_force_fallback = true;
	fn(f);
}

static void dotdot(struct fx *f)
{
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFREG, "ok", "fine" },
		{ AE_IFREG, "../canary/escape", "pwned" },
		{ 0 } });
	expect_refused(f, "\"..\" component refused");
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFREG, "a/../../canary/escape", "pwned" }, { 0 } });
	expect_refused(f, "\"..\" component refused");
}
static void test_dotdot(void **state) { both_ways(state, dotdot); }

static void absolute(struct fx *f)
{
	_cleanup_free_ char *abs = ps_strdup_printf("%s/pwned", f->canary);
	int t;

	write_archive(f->archive, 0, (struct ent[]){ { AE_IFREG, abs, "x" }, { 0 } });
	expect_ok(f, NULL, NULL);
	/* Neutralised: made relative to the target. */
	t = openat(f->scratch_fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(exists_at(t, abs + 1));
	close(t);
	assert_true(canary_untouched(f));
}
static void test_absolute(void **state) { both_ways(state, absolute); }

static void symlink_escape(struct fx *f)
{
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFLNK, "evil", f->canary },
		{ AE_IFREG, "evil/pwned", "pwned" },
		{ 0 } });
	expect_refused(f, "symlink");
	/* A relative one, and one deeper in the path. */
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFDIR, "d" },
		{ AE_IFLNK, "d/up", "../../canary" },
		{ AE_IFREG, "d/up/sub/pwned", "pwned" },
		{ 0 } });
	expect_refused(f, "symlink");
}
static void test_symlink_escape(void **state) { both_ways(state, symlink_escape); }

static void hardlink_outside(struct fx *f)
{
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFREG, "passwd", NULL, "/etc/passwd" }, { 0 } });
	expect_refused(f, "not in the archive before it");
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFREG, "passwd", NULL, "../../../../etc/passwd" }, { 0 } });
	expect_refused(f, "\"..\" component refused");
	/* Not yet extracted: the link comes before its target. */
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFREG, "b", NULL, "a" },
		{ AE_IFREG, "a", "data" },
		{ 0 } });
	expect_refused(f, "not in the archive before it");
	/* Through a symlink to outside. */
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFLNK, "etc", "/etc" },
		{ AE_IFREG, "passwd", NULL, "etc/passwd" },
		{ 0 } });
	expect_refused(f, "symlink");
}
static void test_hardlink_outside(void **state) { both_ways(state, hardlink_outside); }

static void hardlink_inside(struct fx *f)
{
	struct stat a, b;
	int t;

	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFDIR, "bin" },
		{ AE_IFREG, "bin/a", "data", NULL, 04755 },
		{ AE_IFREG, "b", NULL, "bin/a" },
		{ 0 } });
	expect_ok(f, NULL, NULL);
	t = openat(f->scratch_fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(fstatat(t, "bin/a", &a, 0), 0);
	assert_int_equal(fstatat(t, "b", &b, 0), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_nlink, 2);
	/* setuid kept: it is the image's intent. */
	assert_int_equal(a.st_mode & 07777, 04755);
	close(t);
}
static void test_hardlink_inside(void **state) { both_ways(state, hardlink_inside); }

static void device(struct fx *f)
{
	ps_extract_stats st;
	int t;

	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFDIR, "dev" },
		{ AE_IFCHR, "dev/mem" },
		{ AE_IFREG, "after", "x" },
		{ 0 } });
	expect_ok(f, NULL, &st);
	assert_int_equal(st.skipped, 1);
	t = openat(f->scratch_fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_false(exists_at(t, "dev/mem"));
	assert_true(exists_at(t, "after"));
	close(t);
}
static void test_device(void **state) { both_ways(state, device); }

static void test_sparse_bomb(void **state)
{
	struct fx *f = *state;
	struct stat st;
	int t;

	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFREG, "bomb", NULL, NULL, 0644, 10LL << 30, true }, { 0 } });
	assert_int_equal(stat(f->archive, &st), 0);
	assert_true(st.st_size < (1 << 20));
	/* Written sparsely: 10 GB apparent, a few KiB on disk. */
	expect_ok(f, NULL, NULL);
	t = openat(f->scratch_fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(fstatat(t, "bomb", &st, 0), 0);
	assert_int_equal(st.st_size, 10LL << 30);
	assert_true(st.st_blocks * 512 < (1 << 20));
	close(t);
	ps_rm_rf_at(f->scratch_fd, "target");
	/* Above the cap, even sparse: refused. */
	ps_extract_opts o = { .max_bytes = 1LL << 30 };
	ps_error *err = NULL;
	assert_true(extract(f, &o, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, "exceeds the limit"));
	ps_error_free(&err);
	assert_false(exists_at(f->scratch_fd, "target"));
}

static void test_byte_cap(void **state)
{
	struct fx *f = *state;
	ps_extract_opts o = { .max_bytes = 3000 };
	ps_error *err = NULL;

	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFREG, "a", "0123456789", NULL, 0, 2000 },
		{ AE_IFREG, "b", "0123456789", NULL, 0, 2000 },
		{ 0 } });
	assert_true(extract(f, &o, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, "more than the limit"));
	ps_error_free(&err);
	assert_false(exists_at(f->scratch_fd, "target"));
	o.max_entries = 1;
	o.max_bytes = 0;
	assert_true(extract(f, &o, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, "entries"));
	ps_error_free(&err);
}

static void test_truncated_gzip(void **state)
{
	struct fx *f = *state;
	char junk[4096];
	struct stat st;
	int fd;

	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	assert_int_equal(read(fd, junk, sizeof(junk) - 1), sizeof(junk) - 1);
	close(fd);
	junk[sizeof(junk) - 1] = '\0';
	for (size_t i = 0; i < sizeof(junk) - 1; i++)
		if (!junk[i])
			junk[i] = 'z';
	write_archive(f->archive, ARCHIVE_FILTER_GZIP, (struct ent[]){
		{ AE_IFREG, "first", "small" },
		{ AE_IFREG, "big", junk, NULL, 0, 1 << 20 },
		{ 0 } });
	assert_int_equal(stat(f->archive, &st), 0);
	assert_int_equal(truncate(f->archive, st.st_size / 2), 0);
	expect_refused(f, "read archive");
}

static void test_whiteouts_and_merge(void **state)
{
	struct fx *f = *state;
	ps_extract_opts o = { .whiteouts = true };
	ps_error *err = NULL;
	struct stat st;
	char v[4];
	int t, lower, merged, fd;

	/* Lower layer. */
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFREG, "gone", "x" },
		{ AE_IFREG, "kept", "x" },
		{ AE_IFDIR, "dir" },
		{ AE_IFREG, "dir/old", "x" },
		{ 0 } });
	expect_ok(f, &o, NULL);
	assert_int_equal(renameat(f->scratch_fd, "target", f->scratch_fd, "lower"), 0);
	/* Upper layer: deletes gone, makes dir opaque with a new file; a forged
	 * overlay xattr is dropped. */
	write_archive(f->archive, 0, (struct ent[]){
		{ AE_IFREG, ".wh.gone" },
		{ AE_IFDIR, "dir" },
		{ AE_IFREG, "dir/.wh..wh..opq" },
		{ AE_IFREG, "dir/new", "x" },
		{ AE_IFREG, "forged", "x", NULL, 0, 0, false, "trusted.overlay.redirect=/etc" },
		{ AE_IFREG, "tagged", "x", NULL, 0, 0, false, "user.test=42" },
		{ 0 } });
	expect_ok(f, &o, NULL);
	t = openat(f->scratch_fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(fstatat(t, "gone", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	assert_false(exists_at(t, ".wh.gone"));
	assert_false(exists_at(t, "dir/.wh..wh..opq"));
	fd = openat(t, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'y');
	close(fd);
	fd = openat(t, "forged", O_RDONLY | O_CLOEXEC);
	assert_true(fgetxattr(fd, "trusted.overlay.redirect", v, sizeof(v)) < 0);
	close(fd);
	fd = openat(t, "tagged", O_RDONLY | O_CLOEXEC);
	assert_int_equal(fgetxattr(fd, "user.test", v, sizeof(v)), 2);
	close(fd);

	/* The copy fallback merges them: whiteouts applied. */
	assert_int_equal(mkdirat(f->scratch_fd, "merged", 0755), 0);
	merged = openat(f->scratch_fd, "merged", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	lower = openat(f->scratch_fd, "lower", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(ps_tree_merge(lower, merged, &err), 0);
	assert_int_equal(ps_tree_merge(t, merged, &err), 0);
	assert_null(err);
	assert_false(exists_at(merged, "gone"));
	assert_true(exists_at(merged, "kept"));
	assert_false(exists_at(merged, "dir/old"));
	assert_true(exists_at(merged, "dir/new"));
	assert_true(exists_at(merged, "tagged"));
	close(merged);
	close(lower);
	close(t);
	assert_true(canary_untouched(f));
}

/* A whiteout outside whiteout mode is a plain file (outer archives). */
static void test_whiteout_plain(void **state)
{
	struct fx *f = *state;
	int t;

	write_archive(f->archive, 0, (struct ent[]){ { AE_IFREG, ".wh.x", "" }, { 0 } });
	expect_ok(f, NULL, NULL);
	t = openat(f->scratch_fd, "target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(exists_at(t, ".wh.x"));
	close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hardlink_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sparse_bomb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteouts_and_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_whiteout_plain, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
