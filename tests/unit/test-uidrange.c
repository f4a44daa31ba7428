/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* User-namespace id ranges: the pick, overlaps, explicit ranges, release,
 * the sweep of stale records, and allocations racing from many processes. */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "util.h"

static void overlap_rules(void **state)
{
	(void)state;
	ps_idrange a = { 1000, 5000, 100 }, b = { 1100, 9000, 100 }, c = { 1099, 9000, 1 },
		   d = { 9000, 5099, 1 }, e = { 9000, 5100, 10 }, z = { 1000, 5000, 0 };

	assert_false(ps_idrange_overlaps(&a, &b)); /* adjacent uids, far gids */
	assert_true(ps_idrange_overlaps(&a, &c));  /* last uid */
	assert_true(ps_idrange_overlaps(&a, &d));  /* gids alone */
	assert_false(ps_idrange_overlaps(&a, &e));
	assert_false(ps_idrange_overlaps(&a, &z)); /* an empty range takes nothing */
	assert_true(ps_idrange_overlaps(&a, &a));
}

static void check_and_parse(void **state)
{
	ps_idrange r;
	char buf[64];
	ps_error *err = NULL;

	(void)state;
	assert_int_equal(ps_idrange_check(&(ps_idrange){ 0, 5, 10 }, &err), -EINVAL);
	ps_error_free(&err);
	assert_int_equal(ps_idrange_check(&(ps_idrange){ 5, 0, 10 }, &err), -EINVAL);
	ps_error_free(&err);
	assert_int_equal(ps_idrange_check(&(ps_idrange){ 5, 5, 0 }, &err), -EINVAL);
	ps_error_free(&err);
	assert_int_equal(ps_idrange_check(&(ps_idrange){ UINT32_MAX - 9, 5, 10 }, &err), -ERANGE);
	ps_error_free(&err);
	assert_int_equal(ps_idrange_check(&(ps_idrange){ UINT32_MAX - 10, 5, 10 }, &err), 0);

	ps_idrange_format(&(ps_idrange){ 1048576, 2097152, 65536 }, buf, sizeof(buf));
	assert_string_equal(buf, "1048576 2097152 65536\n");
	assert_int_equal(ps_idrange_parse(buf, &r), 0);
	assert_int_equal(r.uid, 1048576);
	assert_int_equal(r.gid, 2097152);
	assert_int_equal(r.size, 65536);
	static const char *const bad[] = { "", "1 2", "1 2 3 4", "1 2 3\n\n", "-1 2 3", "1  2 3",
		                           "1 2 0", "0 2 3", "4294967296 1 1", "1 2 3x", " 1 2 3" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(ps_idrange_parse(bad[i], &r), -EBADMSG);
}

static void pick_lowest_free(void **state)
{
	ps_idrange got;
	(void)state;

	assert_int_equal(ps_idrange_pick(NULL, 0, &got), 0);
	assert_int_equal(got.uid, PS_IDRANGE_FIRST);
	assert_int_equal(got.gid, PS_IDRANGE_FIRST);
	assert_int_equal(got.size, PS_IDRANGE_SIZE);

	/* The first slot taken in uids only, the second in gids only (an
	 * explicit range): the third is the first free one. */
	ps_idrange taken[] = {
		{ PS_IDRANGE_FIRST + 5, 42, 1 },
		{ 42, PS_IDRANGE_FIRST + PS_IDRANGE_SIZE + PS_IDRANGE_SIZE - 1, 1 },
	};
	assert_int_equal(ps_idrange_pick(taken, 2, &got), 0);
	assert_int_equal(got.uid, PS_IDRANGE_FIRST + 2 * PS_IDRANGE_SIZE);

	/* Everything taken: no range. */
	ps_idrange all = { PS_IDRANGE_FIRST, PS_IDRANGE_FIRST, PS_IDRANGE_LAST - PS_IDRANGE_FIRST };
	assert_int_equal(ps_idrange_pick(&all, 1, &got), -ENOSPC);
}

static void allocate_release(void **state)
{
	struct fx *f = *state;
	char a[PS_UUID_LEN + 1], b[PS_UUID_LEN + 1], c[PS_UUID_LEN + 1], gone[PS_UUID_LEN + 1];
	ps_idrange ra, rb, rc, again, *list = NULL;
	size_t n = 0;
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_PREPARE, a);
	fx_make_pod(f, PS_DIR_PREPARE, b);
	fx_make_pod(f, PS_DIR_PREPARE, c);
	assert_int_equal(ps_idrange_allocate(f->store, a, NULL, &ra, &err), 0);
	assert_int_equal(ps_idrange_allocate(f->store, b, NULL, &rb, &err), 0);
	assert_false(ps_idrange_overlaps(&ra, &rb));
	assert_int_equal(ra.uid, PS_IDRANGE_FIRST);
	assert_int_equal(rb.uid, PS_IDRANGE_FIRST + PS_IDRANGE_SIZE);
	/* Asking again gives the pod its own range back. */
	assert_int_equal(ps_idrange_allocate(f->store, a, NULL, &again, &err), 0);
	assert_memory_equal(&again, &ra, sizeof(ra));

	/* An explicit range that overlaps b's is refused, naming it. */
	ps_idrange want = { rb.uid + 10, 7000000, 5 };
	assert_int_equal(ps_idrange_allocate(f->store, c, &want, &rc, &err), -EBUSY);
	assert_int_equal(err->kind, PS_ERR_BUSY);
	assert_non_null(strstr(err->msg, "overlaps"));
	ps_error_free(&err);
	want.uid = 7000000;
	assert_int_equal(ps_idrange_allocate(f->store, c, &want, &rc, &err), 0);
	assert_memory_equal(&rc, &want, sizeof(want));

	/* No pod dir, no range. */
	ps_uuid_generate(gone);
	assert_true(ps_idrange_allocate(f->store, gone, NULL, &again, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);

	/* a's range is free again once released: the lowest slot is reused. */
	assert_int_equal(ps_idrange_release(f->store, a, NULL, &err), 0);
	assert_int_equal(ps_idrange_release(f->store, a, NULL, &err), 0); /* twice is fine */
	char d[PS_UUID_LEN + 1];
	fx_make_pod(f, PS_DIR_PREPARE, d);
	assert_int_equal(ps_idrange_allocate(f->store, d, NULL, &again, &err), 0);
	assert_memory_equal(&again, &ra, sizeof(ra));

	assert_int_equal(ps_idrange_list(f->store, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	free(list);
}

/* The pod dir of b is removed without its record (a killed prepare, a
 * destroy cut short): the sweep removes the record, keeps a's. */
static void sweep_stale(void **state)
{
	struct fx *f = *state;
	char a[PS_UUID_LEN + 1], b[PS_UUID_LEN + 1];
	ps_idrange ra, rb, *list = NULL;
	size_t n = 0;
	unsigned removed = 9;
	ps_error *err = NULL;

	assert_int_equal(ps_idrange_sweep(f->store, &removed, &err), 0); /* no table yet */
	assert_int_equal(removed, 0);
	fx_make_pod(f, PS_DIR_PREPARE, a);
	fx_make_pod(f, PS_DIR_PREPARE, b);
	assert_int_equal(ps_idrange_allocate(f->store, a, NULL, &ra, &err), 0);
	assert_int_equal(ps_idrange_allocate(f->store, b, NULL, &rb, &err), 0);
	assert_int_equal(unlinkat(ps_store_dir_fd(f->store, PS_DIR_PREPARE), b, AT_REMOVEDIR), 0);
	assert_int_equal(ps_idrange_sweep(f->store, &removed, &err), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(ps_idrange_list(f->store, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(&list[0], &ra, sizeof(ra));
	free(list);
	/* A pod anywhere in the lifecycle keeps its record. */
	assert_int_equal(renameat(ps_store_dir_fd(f->store, PS_DIR_PREPARE), a,
	                          ps_store_dir_fd(f->store, PS_DIR_EXITED_GARBAGE), a), 0);
	assert_int_equal(ps_idrange_sweep(f->store, &removed, &err), 0);
	assert_int_equal(removed, 0);
	/* An atomic write's tmp file: a dead writer's goes, a live one's stays. */
	int ufd = openat(ps_store_fd(f->store), "userns", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char live[64];
	assert_true(ufd >= 0);
	snprintf(live, sizeof(live), ".x.tmp.%d", (int)getpid());
	close(openat(ufd, ".x.tmp.999999999", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	close(openat(ufd, live, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	assert_int_equal(ps_idrange_sweep(f->store, &removed, &err), 0);
	assert_int_equal(faccessat(ufd, ".x.tmp.999999999", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	assert_int_equal(faccessat(ufd, live, F_OK, AT_SYMLINK_NOFOLLOW), 0);
	close(ufd);
}

/* Destroying a pod (rm, gc) releases the range its `userns` file names,
 * without searching the table; a record the pod has no file for (killed
 * before writing it) stays for the sweep. */
static void destroy_releases(void **state)
{
	struct fx *f = *state;
	char a[PS_UUID_LEN + 1], b[PS_UUID_LEN + 1];
	ps_idrange ra, rb, *list = NULL;
	size_t n = 9;
	unsigned removed = 0;
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_RUN, a);
	fx_make_pod(f, PS_DIR_RUN, b);
	assert_int_equal(ps_idrange_allocate(f->store, a, NULL, &ra, &err), 0);
	assert_int_equal(ps_idrange_allocate(f->store, b, NULL, &rb, &err), 0);
	int fd = openat(ps_store_dir_fd(f->store, PS_DIR_RUN), a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ps_idrange_pod_write(fd, &ra, &err), 0);
	close(fd);
	assert_int_equal(ps_pod_remove(f->store, a, &err), 0);
	assert_int_equal(ps_pod_remove(f->store, b, &err), 0);
	assert_int_equal(ps_idrange_list(f->store, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(&list[0], &rb, sizeof(rb));
	free(list);
	assert_int_equal(ps_idrange_sweep(f->store, &removed, &err), 0);
	assert_int_equal(removed, 1);
	/* Releasing by range names the record exactly; a wrong range leaves it. */
	char c[PS_UUID_LEN + 1];
	ps_idrange rc, wrong = { 5, 5, 5 };
	fx_make_pod(f, PS_DIR_RUN, c);
	assert_int_equal(ps_idrange_allocate(f->store, c, NULL, &rc, &err), 0);
	assert_int_equal(ps_idrange_release(f->store, c, &wrong, &err), 0);
	assert_int_equal(ps_idrange_list(f->store, &list, &n, &err), 0);
	assert_int_equal(n, 1);
	free(list);
	assert_int_equal(ps_idrange_release(f->store, c, &rc, &err), 0);
	assert_int_equal(ps_idrange_list(f->store, &list, &n, &err), 0);
	assert_int_equal(n, 0);
	free(list);
}

/* Many processes allocate at once: every range differs from every other. */
static void racing_allocations(void **state)
{
	struct fx *f = *state;
	enum { N = 16 };
	char uuids[N][PS_UUID_LEN + 1];
	int pipes[N][2];
	pid_t pids[N];
	ps_idrange got[N];

	for (int i = 0; i < N; i++) {
		fx_make_pod(f, PS_DIR_PREPARE, uuids[i]);
		assert_int_equal(pipe(pipes[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			ps_store *s = NULL;
			ps_idrange r;
			if (ps_store_open(f->path, false, &s, NULL) < 0 ||
			    ps_idrange_allocate(s, uuids[i], NULL, &r, NULL) < 0 ||
			    write(pipes[i][1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
			_exit(0);
		}
	}
	for (int i = 0; i < N; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		assert_int_equal(read(pipes[i][0], &got[i], sizeof(got[i])), sizeof(got[i]));
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			assert_false(ps_idrange_overlaps(&got[i], &got[j]));
}

static void pod_record(void **state)
{
	struct fx *f = *state;
	char a[PS_UUID_LEN + 1];
	ps_idrange r = { 1048576, 1048576, 65536 }, back;
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_PREPARE, a);
	int fd = openat(ps_store_dir_fd(f->store, PS_DIR_PREPARE), a, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ps_idrange_pod_read(fd, &back, &err), -ENOENT);
	assert_null(err);
	assert_int_equal(ps_idrange_pod_write(fd, &r, &err), 0);
	assert_int_equal(ps_idrange_pod_read(fd, &back, &err), 0);
	assert_memory_equal(&back, &r, sizeof(r));
	/* A damaged record is an error, not "no user ns". */
	int w = openat(fd, "userns", O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(w >= 0);
	assert_int_equal(write(w, "0 0 0\n", 6), 6);
	close(w);
	assert_int_equal(ps_idrange_pod_read(fd, &back, &err), -EBADMSG);
	ps_error_free(&err);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overlap_rules),
		cmocka_unit_test(check_and_parse),
		cmocka_unit_test(pick_lowest_free),
		cmocka_unit_test_setup_teardown(allocate_release, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(sweep_stale, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(destroy_releases, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(racing_allocations, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(pod_record, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
