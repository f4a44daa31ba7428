/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Waiting on pods by event, never by polling.
 *
 * "Exited" is the release of the pod lock, which no file event announces
 * (stage1 may die by SIGKILL without writing anything). stage1's pidfd, or
 * the exit watch (exitwatch.c), gives an fd that fires when the lock's
 * holders may be gone; we poll() it, with the timeout, alongside the pod
 * dir's wake FIFO for the markers (ready, exit), and the lock says what
 * happened (struct pod_watch, lockwaiter.h).
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

/* --- the pod watch (lockwaiter.h) ----------------------------------------- */

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

int ps_pod_watch_markers(ps_pod *p, struct pod_watch *pw)
{
	char path[64];

	if (pw->wake >= 0 || pw->ifd >= 0)
		return 0;
	if ((pw->wake = wake_open(p)) >= 0)
		return 0;
	/* Without a FIFO: inotify, correct but slow to close (see above). */
	pw->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (pw->ifd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->fd);
	if (inotify_add_watch(pw->ifd, path, IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF) < 0) {
		int r = -errno;
		close(pw->ifd);
		pw->ifd = -1;
		return r;
	}
	return 0;
}

int ps_pod_watch_exit(ps_pod *p, struct pod_watch *pw)
{
	if (pw->pidfd >= 0 || pw->w.xw)
		return 0;
	if ((pw->pidfd = stage1_pidfd(p)) >= 0)
		return 0;
	return ps_lock_waiter_start(p, &pw->w);
}

void ps_pod_watch_fds(const struct pod_watch *pw, struct pollfd pfd[2])
{
	pfd[0] = (struct pollfd){ .fd = pw->wake >= 0 ? pw->wake : pw->ifd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = pw->pidfd >= 0 ? pw->pidfd : pw->w.pidfd, .events = POLLIN };
}

int ps_pod_watch_rearm(ps_pod *p, struct pod_watch *pw, const struct pollfd pfd[2])
{
	if (pfd[0].fd >= 0 && pfd[0].revents) {
		if (pw->wake >= 0) {
			/* a FIFO stays in POLLHUP: a fresh open, before the next look */
			close(pw->wake);
			if ((pw->wake = wake_open(p)) < 0)
				return -EIO;
		} else {
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			while (read(pw->ifd, buf, sizeof(buf)) > 0)
				; /* drain; the markers themselves are the truth */
		}
	}
	if (pfd[1].fd < 0 || !pfd[1].revents)
		return 0;
	if (pw->pidfd >= 0) {
		/* stage1 is gone; the lock says the rest. A lock that outlives it
		 * is watched by the exit watch. */
		close(pw->pidfd);
		pw->pidfd = -1;
		int r = ps_pod_refresh(p, NULL);
		if (r < 0)
			return r;
		return is_live(p) ? ps_lock_waiter_start(p, &pw->w) : 0;
	}
	int k = ps_lock_waiter_fired(p, &pw->w);
	return k < 0 ? k : 0;
}

void ps_pod_watch_stop(struct pod_watch *pw)
{
	if (pw->wake >= 0)
		close(pw->wake);
	if (pw->ifd >= 0)
		close(pw->ifd);
	if (pw->pidfd >= 0)
		close(pw->pidfd);
	pw->wake = pw->ifd = pw->pidfd = -1;
	ps_lock_waiter_stop(&pw->w);
}

/* --- waiting on one pod --------------------------------------------------- */

/* A look at the pod: 1 = the wait is over (0 to the caller), 0 = not yet,
 * < 0 = over with an error (err set). */
typedef int (*look_fn)(ps_pod *p, ps_error **err);

static int not_running(ps_pod *p, ps_error **err)
{
	return ps_error_set(err, PS_ERR_STATE, 0, "pod %s is %s, not running", p->uuid,
	                    ps_pod_state_name(p->state));
}

static int look_exited(ps_pod *p, ps_error **err)
{
	int r = ps_pod_refresh(p, err);
	if (r < 0)
		return r;
	if (is_live(p))
		return 0;
	if (p->state == PS_STATE_PREPARED || p->state == PS_STATE_EMBRYO)
		return not_running(p, err);
	return 1;
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

static int look_ready(ps_pod *p, ps_error **err)
{
	long long t;
	int r = ps_pod_refresh(p, err);

	if (r < 0)
		return r;
	if (is_live(p) && ps_ready_marker_read(p->fd, &t, NULL) == 0)
		return 1;
	if (is_live(p) && faccessat(p->fd, PS_FILE_EXIT, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	/* ended (or ending: the exit marker is stage1's last word) */
	if (p->state == PS_STATE_PREPARED || p->state == PS_STATE_EMBRYO)
		return not_running(p, err);
	if (is_live(p))
		ps_pod_refresh(p, NULL);
	return pod_exit_reason(p, err);
}

/*
 * The one wait loop: look, and until a look decides, poll what can change
 * its answer (with markers: the wake FIFO or inotify; always: the pod's
 * exit) and look again.
 *
 * No lost wake-up: the marker watch is armed before the look that follows
 * it, and a writer pokes after its marker is in place; so either the poke
 * comes after our open (POLLHUP) or the marker was there when we looked.
 * On a poke, one look before re-arming: the marker a waiter was poked for
 * ends the wait without a new open; a poke for something else re-arms,
 * and the loop looks again. tests/unit/test-wait.c and
 * tests/stress/ready-race.sh try it at random phases.
 */
static int wait_for(ps_pod *p, long long timeout_ms, bool markers, look_fn look, const char *what,
                    ps_error **err)
{
	long long deadline = timeout_ms < 0 ? -1 : ps_monotonic_ns() + timeout_ms * 1000000LL;
	struct pod_watch pw = POD_WATCH_INIT;
	int r;

	/* Decided already: one look, nothing to set up or tear down. */
	if ((r = look(p, err)) != 0)
		return r < 0 ? r : 0;
	if (markers && (r = ps_pod_watch_markers(p, &pw)) < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "wait for pod %s", p->uuid);
	for (;;) {
		if ((r = look(p, err)) != 0)
			break;
		if ((r = ps_pod_watch_exit(p, &pw)) < 0) {
			r = ps_error_set(err, PS_ERR_FAILED, -r, "wait for pod %s", p->uuid);
			break;
		}
		struct pollfd pfd[2];
		ps_pod_watch_fds(&pw, pfd);
		int n = poll(pfd, 2, remaining_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ps_error_errno(err, "wait for pod %s", p->uuid);
			break;
		}
		if (n == 0) {
			r = ps_error_set(err, PS_ERR_TIMEOUT, 0, "pod %s: timed out waiting for it to %s",
			                 p->uuid, what);
			break;
		}
		if (pfd[0].fd >= 0 && pfd[0].revents && (r = look(p, err)) != 0)
			break;
		if ((r = ps_pod_watch_rearm(p, &pw, pfd)) < 0) {
			r = ps_error_set(err, PS_ERR_FAILED, -r, "wait for pod %s", p->uuid);
			break;
		}
	}
	ps_pod_watch_stop(&pw);
	return r < 0 ? r : 0;
}

int ps_pod_wait_exited(ps_pod *p, long long timeout_ms, ps_error **err)
{
	return wait_for(p, timeout_ms, false, look_exited, "exit", err);
}

/* Ready (0), or why not. The hot path is as short as the kernel allows: no
 * inotify, no helper process: one FIFO wakes it on the marker, stage1's
 * pidfd on stage1's death. */
int ps_pod_wait_ready(ps_pod *p, long long timeout_ms, ps_error **err)
{
	return wait_for(p, timeout_ms, true, look_ready, "become ready", err);
}
