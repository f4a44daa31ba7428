/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ps_openat_in_root() (openat-root.c), each case run twice: through openat2
 * and through the user-space fallback walk. The tree under the root has its
 * own etc/passwd ("inside"); every escape attempt must land on it or fail,
 * never on the host's.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "fixture.h"
#include "openat-root.h"
#include "util.h"

struct tree {
	struct fx *f;
	int root;    /* the untrusted tree */
	int outside; /* a dir outside it, with a file "secret" */
};

static void put(int dfd, const char *name, const char *data)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ps_write_all(fd, data, strlen(data)), 0);
	close(fd);
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	int tmp;

	assert_int_equal(fx_setup((void **)&t->f), 0);
	tmp = ps_store_tmp_fd(t->f->store);
	assert_int_equal(mkdirat(tmp, "root", 0755), 0);
	assert_int_equal(mkdirat(tmp, "outside", 0755), 0);
	t->root = openat(tmp, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	t->outside = openat(tmp, "outside", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->root >= 0 && t->outside >= 0);
	put(t->outside, "secret", "outside");
	assert_int_equal(mkdirat(t->root, "etc", 0755), 0);
	assert_int_equal(mkdirat(t->root, "a", 0755), 0);
	assert_int_equal(mkdirat(t->root, "a/b", 0755), 0);
	put(t->root, "etc/passwd", "inside");
	put(t->root, "a/b/f", "in b");
	assert_int_equal(symlinkat("../../../../../../../../etc/passwd", t->root, "rel"), 0);
	assert_int_equal(symlinkat("/etc/passwd", t->root, "abs"), 0);
	assert_int_equal(symlinkat("../../../../etc", t->root, "a/b/up"), 0);
	assert_int_equal(symlinkat("/a", t->root, "dirlink"), 0);
	assert_int_equal(symlinkat("loop2", t->root, "loop1"), 0);
	assert_int_equal(symlinkat("loop1", t->root, "loop2"), 0);
	assert_int_equal(symlinkat("/proc/self/root/etc/passwd", t->root, "magic"), 0);
	assert_int_equal(symlinkat("b/f", t->root, "a/tof"), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;

	close(t->root);
	close(t->outside);
	fx_teardown((void **)&t->f);
	free(t);
	ps_openat_force_fallback = false;
	return 0;
}

/* Open path in the root and return what the file holds ("" on failure, r). */
static int slurp(int root, const char *path, unsigned rflags, char *buf, size_t len)
{
	int fd = ps_openat_in_root(root, path, O_RDONLY, 0, rflags);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return fd;
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return 0;
}

static void check_all(struct tree *t)
{
	char buf[64], path[96];
	int fd;

	/* Plain paths, relative and absolute, and ".." stopping at the root. */
	assert_int_equal(slurp(t->root, "a/b/f", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "in b");
	assert_int_equal(slurp(t->root, "/a/b/f", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "in b");
	assert_int_equal(slurp(t->root, "../../../etc/passwd", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "inside");
	assert_int_equal(slurp(t->root, "a/b/../../etc/./passwd", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "inside");

	/* Symlinks that would escape: ../../ chains and absolute targets. */
	assert_int_equal(slurp(t->root, "rel", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "inside");
	assert_int_equal(slurp(t->root, "abs", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "inside");
	assert_int_equal(slurp(t->root, "a/b/up/passwd", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "inside");
	assert_int_equal(slurp(t->root, "dirlink/b/f", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "in b");
	assert_int_equal(slurp(t->root, "a/tof", 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "in b");

	/* A magic-link path inside the tree is only a path inside the tree. */
	assert_int_equal(slurp(t->root, "magic", 0, buf, sizeof(buf)), -ENOENT);

	/* Loops, PS_ROOT_NO_SYMLINKS, O_NOFOLLOW on the last component. */
	assert_int_equal(slurp(t->root, "loop1", 0, buf, sizeof(buf)), -ELOOP);
	assert_int_equal(slurp(t->root, "abs", PS_ROOT_NO_SYMLINKS, buf, sizeof(buf)), -ELOOP);
	assert_int_equal(slurp(t->root, "dirlink/b/f", PS_ROOT_NO_SYMLINKS, buf, sizeof(buf)), -ELOOP);
	assert_int_equal(slurp(t->root, "a/b/f", PS_ROOT_NO_SYMLINKS, buf, sizeof(buf)), 0);
	assert_int_equal(ps_openat_in_root(t->root, "abs", O_RDONLY | O_NOFOLLOW, 0, 0), -ELOOP);
	assert_int_equal(slurp(t->root, "a/b/f/x", 0, buf, sizeof(buf)), -ENOTDIR);
	assert_int_equal(slurp(t->root, "nope/x", 0, buf, sizeof(buf)), -ENOENT);

	/* The root itself, and a dir through a symlink. */
	fd = ps_openat_in_root(t->root, "", O_RDONLY | O_DIRECTORY, 0, 0);
	assert_true(fd >= 0);
	assert_int_equal(faccessat(fd, "etc/passwd", F_OK, 0), 0);
	close(fd);
	fd = ps_openat_in_root(t->root, "/a/b/up", O_RDONLY | O_DIRECTORY, 0, 0);
	assert_true(fd >= 0);
	assert_int_equal(faccessat(fd, "passwd", F_OK, 0), 0);
	close(fd);

	/* O_CREAT makes the file inside the root. */
	fd = ps_openat_in_root(t->root, "../a/new", O_WRONLY | O_CREAT | O_EXCL, 0600, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(faccessat(t->root, "a/new", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(unlinkat(t->root, "a/new", 0), 0);

	/* PS_ROOT_MKDIR makes what is missing, inside the root, through symlinks. */
	fd = ps_openat_in_root(t->root, "/new/dir/sub", O_PATH | O_DIRECTORY, 0, PS_ROOT_MKDIR);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(faccessat(t->root, "new/dir/sub", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	fd = ps_openat_in_root(t->root, "dirlink/made/f", O_WRONLY | O_CREAT, 0644, PS_ROOT_MKDIR);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(faccessat(t->root, "a/made/f", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	fd = ps_openat_in_root(t->root, "a/b/up/../../../../escaped", O_PATH, 0, PS_ROOT_MKDIR);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(faccessat(t->root, "escaped", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(ps_openat_in_root(t->root, "abs/x", O_PATH, 0, PS_ROOT_MKDIR), -ENOTDIR);
	assert_int_equal(ps_rm_rf_at(t->root, "new"), 0);
	assert_int_equal(ps_rm_rf_at(t->root, "a/made"), 0);
	assert_int_equal(ps_rm_rf_at(t->root, "escaped"), 0);

	/* Real magic links, with /proc/self as the root: /proc/self/root and
	 * /proc/self/fd/N lead out of any root, so they must not be followed
	 * (openat2 refuses them; the walk reads them as text, inside the root). */
	{
		int proc = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(proc >= 0);
		assert_true(slurp(proc, "root/etc/passwd", 0, buf, sizeof(buf)) < 0);
		snprintf(path, sizeof(path), "fd/%d/secret", t->outside);
		assert_true(slurp(proc, path, 0, buf, sizeof(buf)) < 0);
		assert_string_equal(buf, "");
		close(proc);
	}
}

static void test_openat2(void **state)
{
	ps_openat_force_fallback = false;
	check_all(*state);
}

static void test_fallback(void **state)
{
	ps_openat_force_fallback = true;
	check_all(*state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_openat2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallback, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
