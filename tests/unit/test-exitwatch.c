/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pod exit fd (exitwatch.c): fires when the lock's holder goes, forks nothing. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "fixture.h"
#include "procutil.h"
#include "util.h"

static int readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, timeout_ms);
}

/* Our children, from /proc (the library must add none). */
static int n_children(void)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	int c = 0;
	for (char *s = buf; *s;) {
		s += strspn(s, " \n");
		if (!*s)
			break;
		c++;
		s += strcspn(s, " \n");
	}
	return c;
}

static void exited_fires_at_once(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_pod *p = NULL;
	ps_exit_watch *w = NULL;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_RUN, &p, NULL), 0);
	assert_int_equal(ps_exit_watch_new(p, &w, NULL), 0);
	assert_int_equal(readable(ps_exit_watch_fd(w), 0), 1);
	assert_int_equal(ps_exit_watch_check(w, NULL), 1);
	ps_exit_watch_free(w);
	ps_pod_free(p);
}

/* No pid marker: the holder is found among the processes that have the pod
 * dir open, and its end is the event. */
static void holder_without_marker(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_pod *p = NULL;
	ps_exit_watch *w = NULL;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_RUN, &p, NULL), 0);
	assert_int_equal(p->state, PS_STATE_RUNNING);
	int before = n_children();
	assert_int_equal(ps_exit_watch_new(p, &w, NULL), 0);
	assert_int_equal(n_children(), before); /* nothing forked */
	assert_int_equal(readable(ps_exit_watch_fd(w), 0), 0);
	kill(holder, SIGKILL);
	assert_int_equal(readable(ps_exit_watch_fd(w), 10000), 1);
	assert_int_equal(ps_exit_watch_check(w, NULL), 1);
	assert_int_equal(p->state, PS_STATE_EXITED);
	waitpid(holder, NULL, 0);
	ps_exit_watch_free(w);
	ps_pod_free(p);
}

/* With a pid marker naming the holder as stage1: its pidfd is the event. */
static void holder_from_marker(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_pod *p = NULL;
	ps_exit_watch *w = NULL;
	unsigned long long st = 0;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_RUN, &p, NULL), 0);
	assert_int_equal(ps_proc_starttime(holder, &st), 0);
	ps_pid_marker pm = { .pid = holder, .starttime = st, .stage1_pid = holder, .stage1_starttime = st,
		             .time_ns = ps_now_ns() };
	assert_int_equal(ps_pid_marker_write(p->fd, &pm, NULL), 0);
	assert_int_equal(ps_exit_watch_new(p, &w, NULL), 0);
	assert_int_equal(readable(ps_exit_watch_fd(w), 0), 0);
	kill(holder, SIGKILL);
	assert_int_equal(readable(ps_exit_watch_fd(w), 10000), 1);
	assert_int_equal(ps_exit_watch_check(w, NULL), 1);
	waitpid(holder, NULL, 0);
	ps_exit_watch_free(w);
	ps_pod_free(p);
}

/* A wake-up that is not an exit (a marker renamed into the pod dir) re-arms. */
static void spurious_wakeup_rearms(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_pod *p = NULL;
	ps_exit_watch *w = NULL;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_RUN, &p, NULL), 0);
	assert_int_equal(ps_exit_watch_new(p, &w, NULL), 0);
	assert_int_equal(ps_ready_marker_write(p->fd, ps_now_ns(), NULL), 0);
	assert_int_equal(readable(ps_exit_watch_fd(w), 10000), 1);
	assert_int_equal(ps_exit_watch_check(w, NULL), 0);
	assert_int_equal(readable(ps_exit_watch_fd(w), 0), 0); /* quiet again */
	kill(holder, SIGKILL);
	assert_int_equal(readable(ps_exit_watch_fd(w), 10000), 1);
	assert_int_equal(ps_exit_watch_check(w, NULL), 1);
	waitpid(holder, NULL, 0);
	ps_exit_watch_free(w);
	ps_pod_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(exited_fires_at_once, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(holder_without_marker, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(holder_from_marker, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(spurious_wakeup_rearms, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
