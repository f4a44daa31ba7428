/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Waiting on pods by event, never by polling.
 *
 * "Exited" is the release of the pod lock, which no file event announces
 * (stage1 may die by SIGKILL without writing anything). The exit watch
 * (exitwatch.c) gives an fd that fires when the lock's holders may be gone;
 * we poll() it, with the timeout, alongside an inotify watch on the pod dir
 * for the markers (ready, exit), and the lock says what happened.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "lockwaiter.h"
#include "procutil.h"
#include <podstore/markers.h>
#include "util.h"
#include <podstore/wait.h>

static bool is_live(const ps_pod *p)
{
	return p->state == PS_STATE_RUNNING || p->state == PS_STATE_PREPARING;
}

int ps_lock_waiter_start(ps_pod *p, struct lock_waiter *w)
{
	ps_error *err = NULL;
	int r = ps_exit_watch_new(p, &w->xw, &err);

	ps_error_free(&err);
	if (r < 0)
		return r;
	w->pidfd = ps_exit_watch_fd(w->xw);
	return 0;
}

void ps_lock_waiter_stop(struct lock_waiter *w)
{
	ps_exit_watch_free(w->xw);
	w->xw = NULL;
	w->pidfd = -1;
}

int ps_lock_waiter_fired(ps_pod *p, struct lock_waiter *w)
{
	(void)p; /* the watch refreshes the pod it was made for */
	if (!w->xw)
		return 1;
	ps_error *err = NULL;
	int r = ps_exit_watch_check(w->xw, &err);
	ps_error_free(&err);
	if (r == 1)
		ps_lock_waiter_stop(w);
	return r;
}

static int remaining_ms(long long deadline_ns)
{
	if (deadline_ns < 0)
		return -1;
	long long left = deadline_ns - ps_monotonic_ns();
	if (left <= 0)
		return 0;
	return (int)((left + 999999) / 1000000);
}


int ps_pod_wait_exited(ps_pod *p, long long timeout_ms, ps_error **err)
{
	struct lock_waiter w = LOCK_WAITER_INIT;
	long long deadline = timeout_ms < 0 ? -1 : ps_monotonic_ns() + timeout_ms * 1000000LL;
	int r;

	r = ps_pod_refresh(p, err);
	if (r < 0)
		return r;
	if (!is_live(p)) {
		if (p->state == PS_STATE_PREPARED || p->state == PS_STATE_EMBRYO)
			return ps_error_set(err, PS_ERR_STATE, 0, "pod %s is %s, not running", p->uuid,
			                    ps_pod_state_name(p->state));
		return 0;
	}
	r = ps_lock_waiter_start(p, &w);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "wait for pod %s", p->uuid);
	for (;;) {
		struct pollfd pfd = { .fd = w.pidfd, .events = POLLIN };
		int n = poll(&pfd, 1, remaining_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ps_error_errno(err, "wait for pod %s", p->uuid);
			break;
		}
		if (n == 0) {
			r = ps_error_set(err, PS_ERR_TIMEOUT, 0, "pod %s: timed out waiting for it to exit",
			                 p->uuid);
			break;
		}
		int k = ps_lock_waiter_fired(p, &w);
		if (k == 0)
			continue;
		r = k < 0 ? ps_error_set(err, PS_ERR_FAILED, -k, "wait for pod %s", p->uuid) : 0;
		break;
	}
	ps_lock_waiter_stop(&w);
	return r;
}

static int pod_exit_reason(ps_pod *p, ps_error **err)
{
	ps_exit_marker m = { 0 };

	if (ps_exit_marker_read(p->fd, &m, NULL) == 0) {
		int r = ps_error_set(err, PS_ERR_STATE, 0,
		                     "pod %s exited without becoming ready (reason %s%s%s, code %d)",
		                     p->uuid, m.reason ? m.reason : "unknown", m.app ? ", app " : "",
		                     m.app ? m.app : "", m.code);
		ps_exit_marker_clear(&m);
		return r;
	}
	return ps_error_set(err, PS_ERR_STATE, 0,
	                    "pod %s is %s and never became ready (no exit marker: stage1 was killed)",
	                    p->uuid, ps_pod_state_name(p->state));
}

/* Without a wake FIFO (one could not be made: a reader without write access
 * to the store): inotify on the pod dir. Correct, but closing an inotify fd
 * that has a watch waits for an SRCU grace period (5-15 ms here). */
static int wait_ready_inotify(ps_pod *p, long long deadline, ps_error **err)
{
	struct lock_waiter w = LOCK_WAITER_INIT;
	char path[64];
	long long t;
	int r;

	_cleanup_close_ int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0)
		return ps_error_errno(err, "wait for pod %s: inotify", p->uuid);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->fd);
	/* Watch first, then look: nothing can slip between. */
	if (inotify_add_watch(ifd, path, IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF) < 0)
		return ps_error_errno(err, "wait for pod %s: watch", p->uuid);

	r = ps_pod_refresh(p, err);
	if (r < 0)
		return r;
	if (ps_ready_marker_read(p->fd, &t, NULL) == 0 && is_live(p))
		return 0;
	if (!is_live(p)) {
		if (p->state == PS_STATE_PREPARED || p->state == PS_STATE_EMBRYO)
			return ps_error_set(err, PS_ERR_STATE, 0, "pod %s is %s, not running", p->uuid,
			                    ps_pod_state_name(p->state));
		return pod_exit_reason(p, err);
	}
	r = ps_lock_waiter_start(p, &w);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "wait for pod %s", p->uuid);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = ifd, .events = POLLIN },
			{ .fd = w.pidfd, .events = POLLIN },
		};
		int n = poll(pfd, 2, remaining_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ps_error_errno(err, "wait for pod %s", p->uuid);
			break;
		}
		if (n == 0) {
			r = ps_error_set(err, PS_ERR_TIMEOUT, 0,
			                 "pod %s: timed out waiting for it to become ready", p->uuid);
			break;
		}
		if (pfd[0].revents) {
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			while (read(ifd, buf, sizeof(buf)) > 0)
				; /* drain; the markers themselves are the truth */
			if (ps_ready_marker_read(p->fd, &t, NULL) == 0) {
				r = 0;
				break;
			}
			ps_exit_marker m = { 0 };
			if (ps_exit_marker_read(p->fd, &m, NULL) == 0) {
				ps_exit_marker_clear(&m);
				ps_pod_refresh(p, NULL);
				r = pod_exit_reason(p, err);
				break;
			}
		}
		if (pfd[1].revents) {
			int k = ps_lock_waiter_fired(p, &w);
			if (k == 0)
				continue;
			r = pod_exit_reason(p, err);
			break;
		}
	}
	ps_lock_waiter_stop(&w);
	return r;
}

/*
 * The wake FIFO (PS_FILE_WAKE), made if missing and opened for reading
 * without blocking. A reader opened while no writer has it open sees no
 * POLLHUP until a writer has come and gone: ps_ready_marker_write() and
 * ps_exit_marker_write() open and close it after their marker is in place.
 * -1 when it cannot be had (then inotify).
 */
static int wake_open(ps_pod *p)
{
	struct stat st;

	if (mkfifoat(p->fd, PS_FILE_WAKE, 0600) < 0 && errno != EEXIST)
		return -1;
	int fd = openat(p->fd, PS_FILE_WAKE, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* stage1's pidfd, from the pid marker (verified against pid reuse), or -1. */
static int stage1_pidfd(ps_pod *p)
{
	ps_pid_marker m = { 0 };

	if (ps_pid_marker_read(p->fd, &m, NULL) < 0 || m.stage1_pid <= 0)
		return -1;
	return ps_pidfd_open_verified(m.stage1_pid, m.stage1_starttime);
}

/*
 * Ready (0), or why not. The hot path is as short as the kernel allows: no
 * inotify (its teardown costs an SRCU grace period, 5-15 ms on the CI
 * machines: that was most of the old 12 ms from marker to return), no
 * helper process. One FIFO wakes it on the marker, stage1's pidfd on
 * stage1's death; the exit watch (with its inotify) only when no pid marker
 * names stage1 yet, or when the lock outlives stage1.
 *
 * No lost wake-up: the FIFO is opened before the markers are read, and a
 * writer pokes it after its marker is in place; so either the poke comes
 * after our open (POLLHUP) or the marker was there when we read it. Every
 * wake-up re-opens the FIFO before it reads again. tests/unit/test-wait.c
 * and tests/stress/ready-race.sh try it at random phases.
 */
int ps_pod_wait_ready(ps_pod *p, long long timeout_ms, ps_error **err)
{
	long long deadline = timeout_ms < 0 ? -1 : ps_monotonic_ns() + timeout_ms * 1000000LL;
	struct lock_waiter w = LOCK_WAITER_INIT;
	long long t;
	int r;

	/* Ready already: one read, nothing to set up or tear down. */
	if ((r = ps_pod_refresh(p, err)) < 0)
		return r;
	if (is_live(p) && ps_ready_marker_read(p->fd, &t, NULL) == 0)
		return 0;
	if (!is_live(p)) {
		if (p->state == PS_STATE_PREPARED || p->state == PS_STATE_EMBRYO)
			return ps_error_set(err, PS_ERR_STATE, 0, "pod %s is %s, not running", p->uuid,
			                    ps_pod_state_name(p->state));
		return pod_exit_reason(p, err);
	}
	int wake = wake_open(p);
	if (wake < 0)
		return wait_ready_inotify(p, deadline, err);
	int pidfd = -1;
	for (;;) {
		/* Opened, now look (see above). */
		if ((r = ps_pod_refresh(p, err)) < 0)
			break;
		if (ps_ready_marker_read(p->fd, &t, NULL) == 0 && is_live(p)) {
			r = 0;
			break;
		}
		ps_exit_marker m = { 0 };
		if (!is_live(p) || ps_exit_marker_read(p->fd, &m, NULL) == 0) {
			ps_exit_marker_clear(&m);
			if (p->state == PS_STATE_PREPARED || p->state == PS_STATE_EMBRYO)
				r = ps_error_set(err, PS_ERR_STATE, 0, "pod %s is %s, not running", p->uuid,
				                 ps_pod_state_name(p->state));
			else
				r = pod_exit_reason(p, err);
			break;
		}
		/* What tells of an exit: stage1's pidfd, else the exit watch. */
		if (pidfd < 0 && !w.xw && (pidfd = stage1_pidfd(p)) < 0 &&
		    (r = ps_lock_waiter_start(p, &w)) < 0) {
			r = ps_error_set(err, PS_ERR_FAILED, -r, "wait for pod %s", p->uuid);
			break;
		}
		struct pollfd pfd[2] = {
			{ .fd = wake, .events = POLLIN },
			{ .fd = pidfd >= 0 ? pidfd : w.pidfd, .events = POLLIN },
		};
		int n = poll(pfd, 2, remaining_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ps_error_errno(err, "wait for pod %s", p->uuid);
			break;
		}
		if (n == 0) {
			r = ps_error_set(err, PS_ERR_TIMEOUT, 0,
			                 "pod %s: timed out waiting for it to become ready", p->uuid);
			break;
		}
		if (pfd[0].revents) {
			/* Poked: a fresh open (a FIFO stays in POLLHUP), then look. */
			close(wake);
			if ((wake = wake_open(p)) < 0) {
				r = ps_error_errno(err, "wait for pod %s: %s", p->uuid, PS_FILE_WAKE);
				break;
			}
		}
		if (pfd[1].revents && pidfd >= 0) {
			/* stage1 is gone; the lock says the rest (the loop looks). A
			 * lock that outlives it is watched by the exit watch. */
			close(pidfd);
			pidfd = -1;
			if ((r = ps_pod_refresh(p, err)) < 0)
				break;
			if (is_live(p) && (r = ps_lock_waiter_start(p, &w)) < 0) {
				r = ps_error_set(err, PS_ERR_FAILED, -r, "wait for pod %s", p->uuid);
				break;
			}
		} else if (pfd[1].revents) {
			int k = ps_lock_waiter_fired(p, &w);
			if (k < 0) {
				r = ps_error_set(err, PS_ERR_FAILED, -k, "wait for pod %s", p->uuid);
				break;
			}
		}
	}
	if (pidfd >= 0)
		close(pidfd);
	if (wake >= 0)
		close(wake);
	ps_lock_waiter_stop(&w);
	return r;
}
