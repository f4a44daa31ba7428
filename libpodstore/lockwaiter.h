/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_LOCKWAITER_H
#define PODSTORE_LOCKWAITER_H

/*
 * Internal (wait.c, waitset.c): a pollable fd that fires when the pod's lock
 * holder may be gone; then call ps_lock_waiter_fired(). A thin wrapper of
 * the public exit watch (podstore/exitwatch.h): no process is forked.
 */

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

#endif
