/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stage1/inroot.c: opening and reading inside an untrusted root, with
 * openat2 and with the fallback walk. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* before cmocka.h, whose fail() macro would clash with ops->fail */
#include "../../stage1/stage1.h"
#include <cmocka.h>

/* stage1's log hooks, which inroot.o does not use but stage1.h declares. */
bool s1_debug_on;

struct root {
	char path[64];
	int fd;
};

static void put(const char *dir, const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct root *r = calloc(1, sizeof(*r));
	char p[256];

	snprintf(r->path, sizeof(r->path), "/tmp/podctl-inroot.XXXXXX");
	assert_non_null(mkdtemp(r->path));
	snprintf(p, sizeof(p), "%s/etc", r->path);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/outside", r->path);
	mkdir(p, 0755);
	put(r->path, "outside/secret", "host\n");
	snprintf(p, sizeof(p), "%s/root", r->path);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/etc", r->path);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root", r->path);
	put(p, "etc/passwd", "root:x:0:0::/:/bin/sh\napp::1000:2000:::\n");
	put(p, "etc/group", "root:x:0:\nstaff:x:50:\n");
	snprintf(p, sizeof(p), "%s/root/etc/fifo", r->path);
	mkfifo(p, 0644);
	snprintf(p, sizeof(p), "%s/root/up", r->path);
	assert_int_equal(symlink("../outside", p), 0); /* in the root: resolves to /outside, which is not there */
	snprintf(p, sizeof(p), "%s/root/abs", r->path);
	assert_int_equal(symlink("/etc", p), 0);
	snprintf(p, sizeof(p), "%s/root/magic", r->path);
	assert_int_equal(symlink("/proc/self/fd/3", p), 0);
	snprintf(p, sizeof(p), "%s/root", r->path);
	r->fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(r->fd >= 0);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct root *r = *state;
	char cmd[128];
	close(r->fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->path);
	if (system(cmd) != 0)
		return -1;
	free(r);
	s1_no_openat2 = false;
	return 0;
}

static void read_ok(struct root *r, const char *path, const char *want)
{
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(s1_read_image_file(r->fd, path, 4096, &buf, &len), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(buf, want);
	free(buf);
}

static void both(void **state, void (*fn)(struct root *r, bool fallback))
{
	s1_no_openat2 = false;
	fn(*state, false);
	s1_no_openat2 = true;
	fn(*state, true);
	s1_no_openat2 = false;
}

static void t_reads(struct root *r, bool fallback)
{
	char *buf = NULL;
	size_t len;
	(void)fallback;
	read_ok(r, "/etc/group", "root:x:0:\nstaff:x:50:\n");
	read_ok(r, "etc//group", "root:x:0:\nstaff:x:50:\n");
	/* a FIFO opens at once and is refused; too big is refused */
	assert_int_equal(s1_read_image_file(r->fd, "/etc/fifo", 4096, &buf, &len), -EINVAL);
	assert_int_equal(s1_read_image_file(r->fd, "/etc/passwd", 8, &buf, &len), -EFBIG);
	/* a directory is not a regular file */
	assert_int_equal(s1_read_image_file(r->fd, "/etc", 4096, &buf, &len), -EINVAL);
	assert_null(buf);
}

static void t_no_escape(struct root *r, bool fallback)
{
	char *buf = NULL;
	size_t len;
	/* ".." and symlinks never leave the root: they resolve inside it (no
	 * /outside there), the same with openat2 and with the library's walk. */
	(void)fallback;
	int e = s1_read_image_file(r->fd, "../outside/secret", 4096, &buf, &len);
	assert_int_equal(e, -ENOENT);
	e = s1_read_image_file(r->fd, "/up/secret", 4096, &buf, &len);
	assert_int_equal(e, -ENOENT);
	/* an absolute symlink: inside the root */
	e = s1_read_image_file(r->fd, "/abs/group", 4096, &buf, &len);
	assert_int_equal(e, 0);
	free(buf);
	buf = NULL;
	/* magic links never */
	e = s1_read_image_file(r->fd, "/magic/x", 4096, &buf, &len);
	assert_true(e < 0);
	int fd = s1_open_in_root(r->fd, "/proc/self/fd/3", O_PATH);
	assert_true(fd < 0);
	assert_null(buf);
}

static void t_identity(struct root *r, bool fallback)
{
	ps_app m = { 0 };
	uid_t u = 7;
	gid_t g = 7;
	ps_error *err = NULL;
	(void)fallback;

	m.user = (char *)"app";
	assert_int_equal(s1_resolve_identity(r->fd, &m, &u, &g, &err), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(g, 2000);
	m.user = (char *)"app:staff";
	assert_int_equal(s1_resolve_identity(r->fd, &m, &u, &g, &err), 0);
	assert_int_equal(g, 50);
	m.user = (char *)"42";
	assert_int_equal(s1_resolve_identity(r->fd, &m, &u, &g, &err), 0);
	assert_int_equal(u, 42);
	assert_int_equal(g, 0);
	m.user = (char *)"nobody-here";
	assert_true(s1_resolve_identity(r->fd, &m, &u, &g, &err) < 0);
	assert_non_null(err);
	ps_error_free(&err);
}

static void reads(void **state) { both(state, t_reads); }
static void no_escape(void **state) { both(state, t_no_escape); }
static void identity(void **state) { both(state, t_identity); }

static void identity_fifo(void **state)
{
	struct root *r = *state;
	char p[256];
	ps_app m = { .user = (char *)"app" };
	uid_t u;
	gid_t g;
	ps_error *err = NULL;

	snprintf(p, sizeof(p), "%s/root/etc/passwd", r->path);
	unlink(p);
	mkfifo(p, 0644);
	/* would block forever on open without O_NONBLOCK */
	assert_true(s1_resolve_identity(r->fd, &m, &u, &g, &err) < 0);
	assert_non_null(strstr(err->msg, "not a regular file"));
	ps_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reads, setup, teardown),
		cmocka_unit_test_setup_teardown(no_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(identity, setup, teardown),
		cmocka_unit_test_setup_teardown(identity_fifo, setup, teardown),
	};
	return cmocka_run_group_tests_name("inroot", tests, NULL, NULL);
}
