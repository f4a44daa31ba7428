/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Atomic writes and bounded reads (fileio.c). */
#include <fcntl.h>
#include <sys/stat.h>

#include "fixture.h"
#include "util.h"

/* A scratch dir per test (the store's tmp/ of a fresh fixture). */
static int dir_fd(struct fx *f)
{
	return ps_store_tmp_fd(f->store);
}

/* Names in the dir other than "." and "..", joined by spaces. */
static void list_dir(int dfd, char *out, size_t len)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	DIR *d = fdopendir(fd);
	assert_non_null(d);
	struct dirent *de;
	out[0] = '\0';
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		size_t n = strlen(out);
		snprintf(out + n, len - n, "%s%s", n ? " " : "", de->d_name);
	}
	closedir(d);
}

static void assert_content(int dfd, const char *name, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	ps_error *err = NULL;

	assert_int_equal(ps_read_file_at(dfd, name, 4096, &buf, &len, &err), 0);
	assert_null(err);
	assert_int_equal(len, strlen(want));
	assert_string_equal(buf, want);
	free(buf);
}

static void write_replaces(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;
	char names[1024];
	struct stat st;

	assert_int_equal(ps_write_file_at(dfd, "m", "old", 3, 0600, 0, &err), 0);
	assert_content(dfd, "m", "old");
	assert_int_equal(ps_write_file_at(dfd, "m", "new content", 11, 0644, 0, &err), 0);
	assert_null(err);
	assert_content(dfd, "m", "new content");
	assert_int_equal(fstatat(dfd, "m", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* An empty write is a write. */
	assert_int_equal(ps_write_file_at(dfd, "m", "", 0, 0644, 0, &err), 0);
	assert_content(dfd, "m", "");
	list_dir(dfd, names, sizeof(names));
	assert_string_equal(names, "m"); /* no tmp file left */
}

/* renameat2 as a filesystem that refuses RENAME_EXCHANGE with a given
 * errno (a FUSE server's EOPNOTSUPP or EPERM; linked with --wrap). */
static int exchange_refused_with;
int __real_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                     unsigned int flags);
int __wrap_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                     unsigned int flags);
int __wrap_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                     unsigned int flags)
{
	if ((flags & RENAME_EXCHANGE) && exchange_refused_with) {
		errno = exchange_refused_with;
		return -1;
	}
	return __real_renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

/* Without RENAME_EXCHANGE, whatever the refusal: the plain rename, which
 * replaces; no tmp file left. */
static void write_runtime_no_exchange(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;
	char names[1024];
	static const int refusals[] = { EOPNOTSUPP, EPERM, EINVAL, ENOSYS, EXDEV };

	assert_int_equal(ps_write_file_at(dfd, "m", "old", 3, 0644, PS_WRITE_RUNTIME, &err), 0);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		char content[16];
		snprintf(content, sizeof(content), "new %zu", i);
		exchange_refused_with = refusals[i];
		int r = ps_write_file_at(dfd, "m", content, strlen(content), 0644, PS_WRITE_RUNTIME, &err);
		exchange_refused_with = 0;
		if (r < 0)
			fail_msg("refused with %s: %s", strerror(refusals[i]), err->msg);
		assert_content(dfd, "m", content);
		list_dir(dfd, names, sizeof(names));
		assert_string_equal(names, "m");
	}
}

/* PS_WRITE_RUNTIME: replaced by exchange + unlink, created by a rename;
 * a reader's open fd keeps the old content whole; a dir at the name is
 * refused and stays; no tmp file is left either way. */
static void write_runtime(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;
	char names[1024], buf[32];

	assert_int_equal(ps_write_file_at(dfd, "m", "old", 3, 0644, PS_WRITE_RUNTIME, &err), 0);
	assert_content(dfd, "m", "old");
	int rfd = openat(dfd, "m", O_RDONLY | O_CLOEXEC);
	assert_true(rfd >= 0);
	assert_int_equal(ps_write_file_at(dfd, "m", "new content", 11, 0644, PS_WRITE_RUNTIME, &err), 0);
	assert_null(err);
	assert_content(dfd, "m", "new content");
	assert_int_equal(read(rfd, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "old", 3);
	close(rfd);
	list_dir(dfd, names, sizeof(names));
	assert_string_equal(names, "m");
	/* a directory where the file would go: refused, as rename(2) does */
	assert_int_equal(mkdirat(dfd, "d", 0755), 0);
	assert_true(ps_write_file_at(dfd, "d", "x", 1, 0644, PS_WRITE_RUNTIME, &err) < 0);
	assert_int_equal(err->errnum, EISDIR);
	ps_error_free(&err);
	struct stat st;
	assert_int_equal(fstatat(dfd, "d", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISDIR(st.st_mode));
	list_dir(dfd, names, sizeof(names));
	assert_true(streq(names, "m d") || streq(names, "d m"));
}

/* A spare (O_TMPFILE) made ahead: the write goes through it and uses it
 * up; a spare of another dir or a closed one falls back to the usual way. */
static void write_spare(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;
	char names[1024];

	int spare = ps_spare_file_new(dfd, 0644);
	if (spare == -EOPNOTSUPP || spare == -EISDIR)
		skip(); /* no O_TMPFILE here */
	assert_true(spare >= 0);
	list_dir(dfd, names, sizeof(names));
	assert_string_equal(names, ""); /* unnamed until used */
	struct stat a, b;
	assert_int_equal(fstat(spare, &a), 0);
	assert_int_equal(ps_write_file_spare(dfd, "s", &spare, "one", 3, 0644, PS_WRITE_RUNTIME, &err), 0);
	assert_int_equal(spare, -1);
	assert_content(dfd, "s", "one");
	assert_int_equal(fstatat(dfd, "s", &b, 0), 0);
	assert_int_equal(a.st_ino, b.st_ino); /* it was the spare */
	assert_int_equal(b.st_mode & 07777, 0644);
	/* replacing, through a second spare */
	spare = ps_spare_file_new(dfd, 0644);
	assert_true(spare >= 0);
	assert_int_equal(ps_write_file_spare(dfd, "s", &spare, "two", 3, 0644, PS_WRITE_RUNTIME, &err), 0);
	assert_content(dfd, "s", "two");
	/* no spare: the usual way */
	assert_int_equal(ps_write_file_spare(dfd, "s", &spare, "three", 5, 0644, PS_WRITE_RUNTIME, &err), 0);
	assert_content(dfd, "s", "three");
	list_dir(dfd, names, sizeof(names));
	assert_string_equal(names, "s");
}

static void write_durable(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;
	char names[1024];

	assert_int_equal(ps_write_file_at(dfd, "d", "one", 3, 0644, PS_WRITE_DURABLE, &err), 0);
	assert_int_equal(ps_write_file_at(dfd, "d", "two", 3, 0644, PS_WRITE_DURABLE, &err), 0);
	assert_null(err);
	assert_content(dfd, "d", "two");
	list_dir(dfd, names, sizeof(names));
	assert_string_equal(names, "d");
}

/* The tmp name does not fit: nothing is created, the old file stays. */
static void write_name_too_long(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;
	char name[255], names[1024];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0'; /* a valid name, but ".<name>.tmp.<pid>" is not */
	assert_int_equal(ps_write_file_at(dfd, "keep", "old", 3, 0644, 0, &err), 0);
	assert_true(ps_write_file_at(dfd, name, "x", 1, 0644, PS_WRITE_DURABLE, &err) < 0);
	assert_non_null(err);
	assert_int_equal(err->errnum, ENAMETOOLONG);
	ps_error_free(&err);
	list_dir(dfd, names, sizeof(names));
	assert_string_equal(names, "keep");
}

/* The rename fails (a directory is in the way): old content intact, tmp gone. */
static void write_rename_fails(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;
	char names[1024];

	assert_int_equal(mkdirat(dfd, "dir", 0700), 0);
	assert_int_equal(ps_write_file_at(dfd, "dir/inner", "old", 3, 0644, 0, &err), -ENOENT);
	ps_error_free(&err);
	int sub = openat(dfd, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sub >= 0);
	assert_int_equal(ps_write_file_at(sub, "inner", "old", 3, 0644, 0, &err), 0);
	close(sub);
	assert_true(ps_write_file_at(dfd, "dir", "x", 1, 0644, PS_WRITE_DURABLE, &err) < 0);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "dir"));
	ps_error_free(&err);
	list_dir(dfd, names, sizeof(names));
	assert_string_equal(names, "dir");
	sub = openat(dfd, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_content(sub, "inner", "old");
	close(sub);
}

/* Writing into a dir that was removed fails cleanly. */
static void write_into_removed_dir(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;

	assert_int_equal(mkdirat(dfd, "gone", 0700), 0);
	int g = openat(dfd, "gone", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(g >= 0);
	assert_int_equal(unlinkat(dfd, "gone", AT_REMOVEDIR), 0);
	assert_true(ps_write_file_at(g, "m", "x", 1, 0644, 0, &err) < 0);
	assert_non_null(err);
	assert_int_equal(err->kind, PS_ERR_FAILED);
	ps_error_free(&err);
	close(g);
}

static void read_missing(void **state)
{
	struct fx *f = *state;
	ps_error *err = NULL;
	char *buf = (char *)0x1;
	size_t len = 77;

	assert_int_equal(ps_read_file_at(dir_fd(f), "nope", 100, &buf, &len, &err), -ENOENT);
	assert_null(err); /* missing is "not yet", not an error */
	assert_ptr_equal(buf, (char *)0x1);
	assert_int_equal(len, 77);
}

static void read_size_cap(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;
	char data[2000], *buf = NULL;
	size_t len = 0;

	memset(data, 'a', sizeof(data));
	assert_int_equal(ps_write_file_at(dfd, "exact", data, 100, 0644, 0, &err), 0);
	assert_int_equal(ps_write_file_at(dfd, "over", data, 101, 0644, 0, &err), 0);
	assert_int_equal(ps_write_file_at(dfd, "big", data, sizeof(data), 0644, 0, &err), 0);

	assert_int_equal(ps_read_file_at(dfd, "exact", 100, &buf, &len, &err), 0);
	assert_int_equal(len, 100);
	assert_int_equal(buf[100], '\0');
	free(buf);
	buf = NULL;

	assert_int_equal(ps_read_file_at(dfd, "over", 100, &buf, &len, &err), -EFBIG);
	assert_non_null(err);
	assert_null(buf); /* untouched on failure */
	ps_error_free(&err);
	assert_int_equal(ps_read_file_at(dfd, "big", 1000, &buf, &len, &err), -EFBIG);
	assert_null(buf);
	ps_error_free(&err);
	assert_int_equal(ps_read_file_at(dfd, "big", 4096, &buf, &len, &err), 0);
	assert_int_equal(len, sizeof(data));
	free(buf);
}

/* `run`'s deferred prepare: PS_WRITE_SYNC_DATA writes stay atomic; the
 * switch says so to callers that batch dir fsyncs; DURABLE is unchanged. */
static void write_deferred(void **state)
{
	struct fx *f = *state;
	int dfd = dir_fd(f);
	ps_error *err = NULL;
	char names[1024];

	assert_false(ps_write_sync_deferred());
	ps_write_defer_sync(true);
	assert_true(ps_write_sync_deferred());
	assert_int_equal(ps_write_file_at(dfd, "s", "one", 3, 0644, PS_WRITE_SYNC_DATA, &err), 0);
	assert_int_equal(ps_write_file_at(dfd, "s", "two", 3, 0644, PS_WRITE_SYNC_DATA, &err), 0);
	assert_int_equal(ps_write_file_at(dfd, "d", "x", 1, 0644, PS_WRITE_DURABLE, &err), 0);
	ps_write_defer_sync(false);
	assert_false(ps_write_sync_deferred());
	assert_null(err);
	assert_content(dfd, "s", "two");
	list_dir(dfd, names, sizeof(names));
	assert_true(streq(names, "d s") || streq(names, "s d")); /* no tmp file left */
}

/* The durable exit marker syncs the pod's record first: fine in a store's
 * run/, in a dir outside a store, and in an app dir (nothing to sync); a
 * record that cannot be synced (a symlink planted as manifest) is an error,
 * and the exit is recorded all the same. */
static void exit_marker_syncs_record(void **state)
{
	struct fx *f = *state;
	ps_error *err = NULL;
	ps_exit_marker em = { .code = 3, .reason = "app-failed", .time_ns = 1 }, back = { 0 };
	char uuid[PS_UUID_LEN + 1];

	fx_make_pod(f, PS_DIR_RUN, uuid);
	int pod = openat(ps_store_dir_fd(f->store, PS_DIR_RUN), uuid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(pod >= 0);
	assert_int_equal(ps_write_file_at(pod, PS_FILE_MANIFEST, "{}", 2, 0644, 0, &err), 0);
	assert_int_equal(ps_info_write(pod, &(ps_info){ .name = (char *)"n", .created_ns = 1 }, &err), 0);
	assert_int_equal(ps_pod_record_sync(pod, &err), 0);
	assert_int_equal(ps_exit_marker_write(pod, &em, true, &err), 0);
	assert_null(err);
	assert_int_equal(ps_exit_marker_read(pod, &back, &err), 0);
	assert_int_equal(back.code, 3);
	ps_exit_marker_clear(&back);

	/* apps/<app>: no manifest, no info: nothing to sync */
	assert_int_equal(mkdirat(pod, "app", 0700), 0);
	int app = openat(pod, "app", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(app >= 0);
	assert_int_equal(ps_pod_record_sync(app, &err), 0);
	assert_int_equal(ps_exit_marker_write(app, &em, true, &err), 0);
	close(app);

	/* outside a store: no ../../prepare */
	int dfd = dir_fd(f);
	assert_int_equal(mkdirat(dfd, "lone", 0700), 0);
	int lone = openat(dfd, "lone", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(lone >= 0);
	assert_int_equal(ps_write_file_at(lone, PS_FILE_MANIFEST, "{}", 2, 0644, 0, &err), 0);
	assert_int_equal(ps_exit_marker_write(lone, &em, true, &err), 0);
	assert_null(err);
	close(lone);

	/* a manifest that is a symlink: not synced (O_NOFOLLOW), an error, exit written */
	assert_int_equal(unlinkat(pod, PS_FILE_MANIFEST, 0), 0);
	assert_int_equal(unlinkat(pod, PS_FILE_EXIT, 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", pod, PS_FILE_MANIFEST), 0);
	assert_true(ps_exit_marker_write(pod, &em, true, &err) < 0);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "manifest"));
	ps_error_free(&err);
	assert_int_equal(ps_exit_marker_read(pod, &back, &err), 0);
	assert_int_equal(back.code, 3);
	ps_exit_marker_clear(&back);
	close(pod);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(write_replaces, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_durable, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_runtime, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_runtime_no_exchange, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_spare, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_name_too_long, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_rename_fails, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_into_removed_dir, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(read_missing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(read_size_cap, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_deferred, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(exit_marker_syncs_record, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
