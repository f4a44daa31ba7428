/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Waiting for a pod to exit: on the lock, woken by stage1's pidfd when the
 * pid marker names it, and never fooled by that pid alone. */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include <podstore/waitset.h>
#include "procutil.h"
#include "util.h"

static ps_pod *open_run_pod(struct fx *f, const char *uuid)
{
	ps_pod *p = NULL;
	ps_error *err = NULL;

	assert_int_equal(ps_pod_lookup(f->store, uuid, &p, &err), 0);
	return p;
}

/* No pid marker: the waiter is a child in flock(); it returns once the
 * holder dies, and times out while it lives. */
static void wait_exited_on_lock(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	ps_pod *p = open_run_pod(f, uuid);
	assert_int_equal(p->state, PS_STATE_RUNNING);
	assert_true(ps_pod_wait_exited(p, 50, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_TIMEOUT);
	ps_error_free(&err);
	fx_release(holder);
	assert_int_equal(ps_pod_wait_exited(p, 5000, &err), 0);
	assert_int_equal(p->state, PS_STATE_EXITED);
	ps_pod_free(p);
}

/* The pid marker names a "stage1" that exits while the lock is still held
 * by someone else: the wake-up by its pidfd must not end the wait; the lock
 * does. */
static void wait_exited_pid_is_only_a_hint(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_error *err = NULL;
	int go[2];

	fx_make_pod(f, PS_DIR_RUN, uuid);
	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid_t fake = fork();
	assert_true(fake >= 0);
	if (fake == 0) {
		char c;
		close(go[1]);
		_exit(read(go[0], &c, 1) == 1 ? 0 : 1);
	}
	close(go[0]);
	unsigned long long st = 0;
	assert_int_equal(ps_proc_starttime(fake, &st), 0);
	int pod_fd = openat(ps_store_dir_fd(f->store, PS_DIR_RUN), uuid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(pod_fd >= 0);
	ps_pid_marker m = { .pid = fake, .starttime = st, .stage1_pid = fake, .stage1_starttime = st };
	assert_int_equal(ps_pid_marker_write(pod_fd, &m, &err), 0);
	close(pod_fd);

	ps_pod *p = open_run_pod(f, uuid);
	/* The fake stage1 exits now; the lock holder lives on. */
	assert_int_equal(write(go[1], "x", 1), 1);
	close(go[1]);
	assert_int_equal(waitpid(fake, NULL, 0), fake);
	assert_true(ps_pod_wait_exited(p, 200, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_TIMEOUT);
	ps_error_free(&err);
	fx_release(holder);
	assert_int_equal(ps_pod_wait_exited(p, 5000, &err), 0);
	assert_int_equal(p->state, PS_STATE_EXITED);
	ps_pod_free(p);
}

/* Waiting for readiness: the ready marker wakes it; an exit ends it with the
 * reason; a timeout is a timeout. */
static void wait_ready_marker_and_exit(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	ps_pod *p = open_run_pod(f, uuid);
	assert_true(ps_pod_wait_ready(p, 50, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_TIMEOUT);
	ps_error_free(&err);
	assert_int_equal(ps_ready_marker_write(p->fd, ps_now_ns(), &err), 0);
	assert_int_equal(ps_pod_wait_ready(p, 5000, &err), 0);
	assert_int_equal(ps_ready_marker_remove(p->fd, &err), 0);
	ps_exit_marker em = { .code = 3, .reason = (char *)"app-failed", .app = (char *)"web" };
	assert_int_equal(ps_exit_marker_write(p->fd, &em, false, &err), 0);
	fx_release(holder);
	assert_true(ps_pod_wait_ready(p, 5000, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_STATE);
	assert_non_null(strstr(err->msg, "app-failed"));
	ps_error_free(&err);
	ps_pod_free(p);
}

/*
 * No lost wake-up: a waiter and the ready marker's arrival at random
 * relative phases, many times (PODCTL_WAIT_TRIALS, default 500; make
 * stress runs thousands). The writer is another process, as stage1 is,
 * released at a random point from 1 ms before the waiter starts to 1 ms
 * after, so that every step of ps_pod_wait_ready (watch, first look,
 * arming the exit watch, poll) meets the marker's rename. A lost wake-up
 * shows as a timeout; 2 s is far beyond any honest wake-up.
 */
static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

/* The waiter: ps_pod_wait_ready(), or ps_pods_wait() (podctl wait --for=ready). */
static int wait_one(ps_pod *p, bool set, ps_error **err)
{
	if (!set)
		return ps_pod_wait_ready(p, 2000, err);
	ps_pod *pods[1] = { p };
	return ps_pods_wait(pods, 1, PS_WAIT_READY, false, 2000, NULL, err);
}

static void random_phase(void **state, bool set)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_error *err = NULL;
	const char *env = getenv("PODCTL_WAIT_TRIALS");
	long trials = env ? strtol(env, NULL, 10) : 500;
	long lost = 0, slow = 0;
	long long *lat = calloc((size_t)(trials > 0 ? trials : 1), sizeof(*lat));
	assert_non_null(lat);

	fx_make_pod(f, PS_DIR_RUN, uuid);
	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	ps_pod *p = open_run_pod(f, uuid);
	/* the pid marker names the holder, as stage1's names stage1 */
	unsigned long long st = 0;
	assert_int_equal(ps_proc_starttime(holder, &st), 0);
	ps_pid_marker m = { .pid = holder, .starttime = st, .stage1_pid = holder, .stage1_starttime = st };
	assert_int_equal(ps_pid_marker_write(p->fd, &m, &err), 0);
	srand((unsigned)getpid());
	for (long i = 0; i < trials; i++) {
		int go[2];
		assert_int_equal(ps_ready_marker_remove(p->fd, &err), 0);
		assert_int_equal(pipe2(go, O_CLOEXEC), 0);
		long phase_us = rand() % 2001 - 1000; /* writer's delay after the go */
		pid_t w = fork();
		assert_true(w >= 0);
		if (w == 0) {
			char c;
			close(go[1]);
			if (read(go[0], &c, 1) != 1)
				_exit(2);
			if (phase_us > 0)
				usleep((useconds_t)phase_us);
			_exit(ps_ready_marker_write(p->fd, ps_now_ns(), NULL) == 0 ? 0 : 1);
		}
		close(go[0]);
		assert_int_equal(write(go[1], "x", 1), 1);
		close(go[1]);
		if (phase_us < 0)
			usleep((useconds_t)-phase_us);
		long long t0 = ps_monotonic_ns();
		int r = wait_one(p, set, &err);
		long long dt = ps_monotonic_ns() - t0;
		lat[i] = dt - (phase_us > 0 ? phase_us * 1000LL : 0);
		if (r < 0) {
			lost++;
			print_error("trial %ld (writer at %+ld us): %s\n", i, phase_us, err->msg);
			ps_error_free(&err);
		} else if (dt > (phase_us > 0 ? phase_us * 1000LL : 0) + 100000000LL) {
			slow++; /* woken, but more than 100 ms late: a wake-up by something else */
		}
		int ws;
		assert_int_equal(waitpid(w, &ws, 0), w);
		assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	}
	qsort(lat, (size_t)trials, sizeof(*lat), cmp_ll);
	print_message("%s: %ld trials: %ld lost, %ld woken more than 100 ms late; call to return, "
	              "less the writer's delay: median %.3f ms, p99 %.3f ms\n",
	              set ? "ps_pods_wait" : "ps_pod_wait_ready", trials, lost, slow, trials ? lat[trials / 2] / 1e6 : 0.0,
	              trials ? lat[(trials * 99) / 100] / 1e6 : 0.0);
	free(lat);
	fx_release(holder); /* before the verdict: a failed assert must not leave it */
	ps_pod_free(p);
	assert_int_equal(lost, 0);
}

static void wait_ready_random_phase(void **state)
{
	random_phase(state, false);
}

/* The same race for `podctl wait --for=ready` (waitset.c), which now waits
 * on the same wake FIFO. */
static void waitset_ready_random_phase(void **state)
{
	random_phase(state, true);
}

/* Waiting for several pods, one of which becomes ready through its FIFO
 * while another has no FIFO to be had (a file stands at its name: the
 * inotify fallback): both wake-ups are seen, and no wake FIFO is left
 * open (the waiter closes what it made). */
static void waitset_fifo_and_fallback(void **state)
{
	struct fx *f = *state;
	char u1[PS_UUID_LEN + 1], u2[PS_UUID_LEN + 1];
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_RUN, u1);
	fx_make_pod(f, PS_DIR_RUN, u2);
	pid_t h1 = fx_hold_lock(f, u1, PS_DIR_RUN), h2 = fx_hold_lock(f, u2, PS_DIR_RUN);
	ps_pod *pods[2] = { open_run_pod(f, u1), open_run_pod(f, u2) };
	/* pid markers naming the holders, as stage1's name stage1: the waiter
	 * watches their pidfds, so only the FIFO (or inotify) tells of a marker */
	for (int i = 0; i < 2; i++) {
		pid_t h = i ? h2 : h1;
		unsigned long long st = 0;
		assert_int_equal(ps_proc_starttime(h, &st), 0);
		ps_pid_marker m = { .pid = h, .starttime = st, .stage1_pid = h, .stage1_starttime = st };
		assert_int_equal(ps_pid_marker_write(pods[i]->fd, &m, &err), 0);
	}
	/* no FIFO for the second: a regular file where it would be */
	int fd = openat(pods[1]->fd, PS_FILE_WAKE, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* No assert until the holders are released: a failure must not leave them. */
	int r0 = ps_pods_wait(pods, 2, PS_WAIT_READY, false, 50, NULL, &err);
	int kind0 = err ? (int)err->kind : -1;
	ps_error_free(&err);
	int rr[2] = { -1, -1 }, ws[2] = { -1, -1 };
	size_t which[2] = { 9, 9 };
	for (int round = 0; round < 2; round++) {
		pid_t w = fork();
		if (w == 0) {
			usleep(20000);
			_exit(ps_ready_marker_write(pods[round]->fd, ps_now_ns(), NULL) == 0 ? 0 : 1);
		}
		rr[round] = ps_pods_wait(pods, 2, PS_WAIT_READY, true, 5000, &which[round], &err);
		if (err)
			print_error("round %d: %s\n", round, err->msg);
		ps_error_free(&err);
		if (w > 0)
			waitpid(w, &ws[round], 0);
		ps_ready_marker_remove(pods[round]->fd, NULL);
	}
	struct stat st0, st1;
	int s0 = fstatat(pods[0]->fd, PS_FILE_WAKE, &st0, AT_SYMLINK_NOFOLLOW);
	int s1 = fstatat(pods[1]->fd, PS_FILE_WAKE, &st1, AT_SYMLINK_NOFOLLOW);
	fx_release(h1);
	fx_release(h2);
	ps_pod_free(pods[0]);
	ps_pod_free(pods[1]);
	assert_true(r0 < 0);
	assert_int_equal(kind0, PS_ERR_TIMEOUT);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(rr[round], 0);
		assert_int_equal(which[round], (size_t)round);
		assert_true(WIFEXITED(ws[round]) && WEXITSTATUS(ws[round]) == 0);
	}
	assert_true(s0 == 0 && S_ISFIFO(st0.st_mode));
	assert_true(s1 == 0 && S_ISREG(st1.st_mode));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(wait_exited_on_lock, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(wait_exited_pid_is_only_a_hint, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(wait_ready_marker_and_exit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(wait_ready_random_phase, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(waitset_ready_random_phase, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(waitset_fifo_and_fallback, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
