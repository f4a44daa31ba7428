/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_LOCKWAITER_H
#define PODSTORE_LOCKWAITER_H

/*
 * Internal (wait.c, waitset.c): a pollable fd that fires when the pod's lock
 * holder may be gone; then call ps_lock_waiter_fired(). A thin wrapper of
 * the public exit watch (podstore/exitwatch.h): no process is forked.
 */

#include <poll.h>

#include <podstore/exitwatch.h>
#include <podstore/pod.h>

struct lock_waiter {
	int pidfd;              /* the fd to poll (the exit watch's), -1 when none */
	ps_exit_watch *xw;
};

#define LOCK_WAITER_INIT { .pidfd = -1, .xw = NULL }

/* p is borrowed and must outlive the waiter. Returns 0 or -errno. */
int ps_lock_waiter_start(ps_pod *p, struct lock_waiter *w);
void ps_lock_waiter_stop(struct lock_waiter *w);

/* The waiter's fd is readable: refresh p. Returns 1 if the pod's lock is
 * free now (the waiter is stopped), 0 if not (still armed), or -errno. */
int ps_lock_waiter_fired(ps_pod *p, struct lock_waiter *w);

/*
 * Internal (wait.c, waitset.c): all that wakes a waiter on one pod, for one
 * poll(). The markers (ready, exit): the pod dir's wake FIFO, opened before
 * the markers are read (stage1 opens and closes it after writing one, which
 * POLLHUPs every reader), or inotify on the pod dir when no FIFO can be had
 * (a reader that may not write the store). Its exit: stage1's pidfd (the pid
 * marker, verified against pid reuse), then the exit watch when there is no
 * pid marker yet or the lock outlives stage1. Neither inotify nor the exit
 * watch (inotify too: closing one costs an SRCU grace period, 5-15 ms) is
 * set up on the usual path.
 */
struct pod_watch {
	int wake;               /* the wake FIFO, or -1 */
	int ifd;                /* inotify on the pod dir (no FIFO), or -1 */
	int pidfd;              /* stage1's pidfd, or -1 */
	struct lock_waiter w;   /* without a pidfd */
};

#define POD_WATCH_INIT { .wake = -1, .ifd = -1, .pidfd = -1, .w = LOCK_WAITER_INIT }

/* Arm the marker watch (call it before reading the markers). 0 or -errno. */
int ps_pod_watch_markers(ps_pod *p, struct pod_watch *pw);
/* Arm the exit watch if neither stage1's pidfd nor the lock waiter is (call
 * it after a look found the pod live). 0 or -errno. */
int ps_pod_watch_exit(ps_pod *p, struct pod_watch *pw);
/* The two fds to poll (-1: none; poll() skips it): markers, exit. */
void ps_pod_watch_fds(const struct pod_watch *pw, struct pollfd pfd[2]);
/* After poll(), with the two entries filled by ps_pod_watch_fds(): re-arm
 * what fired (a fresh open of the FIFO, which stays in POLLHUP; inotify
 * drained; stage1's end handed to the lock waiter if the pod is still
 * live). The markers and the lock are then to be looked at again. 0 or
 * -errno. */
int ps_pod_watch_rearm(ps_pod *p, struct pod_watch *pw, const struct pollfd pfd[2]);
void ps_pod_watch_stop(struct pod_watch *pw);

#endif
