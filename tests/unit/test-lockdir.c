/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The store's flocked index directories (lockdir.c): names/, userns/. */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "lockdir.h"
#include "util.h"

static void open_create_lock(void **state)
{
	struct fx *f = *state;
	ps_error *err = NULL;
	struct stat st;

	/* missing, not made: NOT_FOUND, nothing made */
	assert_int_equal(ps_lockdir_open(f->store, "idx", false, true, &err), -ENOENT);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
	assert_int_equal(fstatat(ps_store_fd(f->store), "idx", &st, 0), -1);
	/* made 0700, locked: another open description cannot lock it meanwhile */
	int fd = ps_lockdir_open(f->store, "idx", true, true, &err);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	int other = ps_lockdir_open(f->store, "idx", false, false, &err);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	close(fd); /* the lock goes with the fd */
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
}

/* A symlink in the store where the directory should be (a hostile user of
 * a shared data dir): refused, never followed, with create or not. */
static void symlink_refused(void **state)
{
	struct fx *f = *state;
	ps_error *err = NULL;
	char target[128];

	snprintf(target, sizeof(target), "%s/elsewhere", f->path);
	assert_int_equal(mkdir(target, 0700), 0);
	assert_int_equal(symlinkat(target, ps_store_fd(f->store), "idx"), 0);
	assert_true(ps_lockdir_open(f->store, "idx", true, true, &err) < 0);
	assert_int_not_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
	assert_true(ps_lockdir_open(f->store, "idx", false, false, &err) < 0);
	ps_error_free(&err);
}

static void pod_exists(void **state)
{
	struct fx *f = *state;
	char u[PS_UUID_LEN + 1];

	fx_make_pod(f, PS_DIR_GARBAGE, u);
	assert_true(ps_lockdir_pod_exists(f->store, u));
	assert_false(ps_lockdir_pod_exists(f->store, "00000000-0000-4000-8000-000000000000"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(open_create_lock, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(symlink_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(pod_exists, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
