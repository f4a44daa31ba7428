/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_LOCKWAITER_H
#define PODSTORE_LOCKWAITER_H

/*
 * Internal (wait.c, waitset.c): a pidfd that becomes readable when the pod's
 * lock holder is gone. Poll it, then call ps_lock_waiter_fired().
 *
 * For a running pod whose pid marker names its stage1, that is stage1's own
 * pidfd (verified by start time): no process of ours, and the waiter wakes
 * as fast as the kernel can tell. The pid only says when to look again: the
 * lock stays the truth, and if it is still held then (or there is no pid
 * marker yet), the waiter is a child blocked in flock() on its own open file
 * description of the pod dir, exiting when it gets the lock.
 */

#include <sys/types.h>
#include <podstore/pod.h>

struct lock_waiter {
	pid_t pid;   /* our flock()ing child, or 0 while we watch stage1's pidfd */
	int pidfd;
};

int ps_lock_waiter_start(ps_pod *p, struct lock_waiter *w);
void ps_lock_waiter_stop(struct lock_waiter *w);

/* The waiter's pidfd is readable: stop it and refresh p. Returns 1 if the
 * pod's lock is free now, 0 if not (the waiter then waits again, in a
 * child), or -errno. */
int ps_lock_waiter_fired(ps_pod *p, struct lock_waiter *w);

#endif
