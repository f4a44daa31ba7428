/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_WAITSET_H
#define PODSTORE_WAITSET_H

/*
 * Wait on several pods at once for a condition, by event: one inotify fd
 * watching each pod dir (ready, exit markers) and, for healthy/unhealthy,
 * each apps/<app> dir (status, exit, health markers), plus one lock-waiting
 * child per running pod (see wait.c) whose pidfd says the pod exited. No
 * polling tick: between events nothing runs.
 *
 *   ready      the pod's ready marker exists while it runs
 *   healthy    ps_pod_health() says healthy
 *   unhealthy  running and not healthy, or exited for a reason other than
 *              "ok" or "stopped"
 *   exited     the pod's lock is free
 *
 * A pod that exited (or is not running) can never become ready or healthy,
 * nor unhealthy when it ended with "ok"/"stopped": waiting on it fails at
 * once with PS_ERR_STATE and the pod's exit reason.
 */

#include <stdbool.h>
#include <stddef.h>
#include <podstore/error.h>
#include <podstore/pod.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef enum ps_wait_cond {
	PS_WAIT_READY,
	PS_WAIT_HEALTHY,
	PS_WAIT_UNHEALTHY,
	PS_WAIT_EXITED,
} ps_wait_cond;

/* The CLI's spelling of a condition (static), and back (-EINVAL otherwise). */
const char *ps_wait_cond_name(ps_wait_cond c);
int ps_wait_cond_from_name(const char *s, ps_wait_cond *ret);

/*
 * Wait until cond holds for every pod (any: for one of them), at most
 * timeout_ms (-1 = forever). 0 when it holds, *ret_index (may be NULL) the
 * pod that made it hold; PS_ERR_TIMEOUT; PS_ERR_STATE as soon as it can no
 * longer hold (all: for one pod; any: for every pod), *ret_index that pod.
 */
int ps_pods_wait(ps_pod *const *pods, size_t n, ps_wait_cond cond, bool any, long long timeout_ms,
                 size_t *ret_index, ps_error **err);

#pragma GCC visibility pop

#endif
