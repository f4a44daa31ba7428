/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_EXITWATCH_H
#define PODSTORE_EXITWATCH_H

/*
 * An fd that fires when a pod may have exited, for callers with an event
 * loop of their own (podctl logs --follow, a monitoring agent):
 *
 *     ps_exit_watch *w;
 *     ps_exit_watch_new(p, &w, &err);
 *     poll ps_exit_watch_fd(w) for POLLIN with your other fds; when it fires:
 *     r = ps_exit_watch_check(w, &err);   1: exited, 0: not yet (poll again)
 *     ps_exit_watch_free(w);
 *
 * "Exited" is the release of the pod's lock, which stays the truth: the fd
 * only says when to look again. It is an epoll fd over pidfds of the lock's
 * possible holders (stage1 and the pod's pid 1 from the pod's pid marker,
 * verified by start time; without a marker, or when those are gone and the
 * lock is still held, the processes that have the pod dir open) and an
 * inotify watch on the pod dir (pid and exit markers, the dir moving). No
 * process is forked and nothing polls on a timer
 * (Documentation/devel/decisions.md). The fd is readable at once for a pod
 * that is not live (not running or preparing) when the watch is made.
 *
 * p is borrowed and must outlive the watch; check refreshes its state.
 */

#include <podstore/error.h>
#include <podstore/pod.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef struct ps_exit_watch ps_exit_watch;

/* Watch pod p (borrowed) for its exit; see above. */
int ps_exit_watch_new(ps_pod *p, ps_exit_watch **ret, ps_error **err);
/* The fd to poll (POLLIN); owned by the watch. */
int ps_exit_watch_fd(const ps_exit_watch *w);
/* After the fd fired: 1 when the pod's lock is free (it exited, or is gone),
 * 0 when not yet (the watch is re-armed), or a negative errno (for one:
 * the lock is held by no process this caller can see). */
int ps_exit_watch_check(ps_exit_watch *w, ps_error **err);
void ps_exit_watch_free(ps_exit_watch *w);

#pragma GCC visibility pop

#endif
