/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_WAIT_H
#define PODSTORE_WAIT_H

/*
 * Waiting on one pod, by event (stage1's pidfd and the lock; the pod dir's
 * wake FIFO for the markers, inotify where it cannot be made), never by
 * polling.
 * The ps_pod stays the caller's; errors follow error.h (PS_ERR_TIMEOUT,
 * PS_ERR_STATE).
 */

#include <podstore/error.h>
#include <podstore/pod.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

/*
 * Wait for a pod to exit (its lock to be released): woken by stage1's pidfd
 * (then the lock is checked) or the exit watch, with a timeout (-1 =
 * forever), never by polling. Returns 0 once exited, PS_ERR_TIMEOUT on
 * timeout.
 */
int ps_pod_wait_exited(ps_pod *p, long long timeout_ms, ps_error **err);

/*
 * Wait for the pod's ready marker (the pod dir's wake FIFO, made if
 * missing, which the marker's writer pokes; inotify when it cannot be
 * made). Returns 0 when
 * ready, PS_ERR_TIMEOUT on timeout, PS_ERR_STATE (with the reason from the
 * exit marker) as soon as the pod exits without being ready.
 */
int ps_pod_wait_ready(ps_pod *p, long long timeout_ms, ps_error **err);

#pragma GCC visibility pop

#endif
