/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_LOCKWAITER_H
#define PODSTORE_LOCKWAITER_H

/* Internal (wait.c, waitset.c): a child blocked in flock() on its own open
 * file description of a pod dir, exiting when it gets the lock, i.e. when
 * the pod's holder is gone. Poll its pidfd. */

#include <sys/types.h>
#include "pod.h"

struct lock_waiter {
	pid_t pid;
	int pidfd;
};

int ps_lock_waiter_start(ps_pod *p, struct lock_waiter *w);
void ps_lock_waiter_stop(struct lock_waiter *w);

#endif
