/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_POD_H
#define PODSTORE_POD_H

/*
 * A pod is a directory pods/<dir>/<uuid>. Its state is derived from the dir
 * it sits in and whether its flock is held (see Documentation/devel/pod-lifecycle.md):
 *
 *   embryo                      embryo
 *   prepare         held/free   preparing / aborted-prepare
 *   prepared                    prepared
 *   run             held/free   running / exited
 *   exited-garbage  held/free   exited-deleting / exited-garbage
 *   garbage         held/free   deleting / garbage
 *
 * Pods only move forward in that order, always by one renameat() made by the
 * holder of the pod's exclusive lock. The lock is an flock() on the pod dir's
 * own fd, so it follows the dir across renames and dies with its last holder.
 */

#include <stdbool.h>
#include <sys/types.h>
#include <podstore/error.h>
#include <podstore/store.h>
#include <podstore/uuid.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef enum ps_pod_state {
	PS_STATE_EMBRYO,
	PS_STATE_PREPARING,
	PS_STATE_ABORTED_PREPARE,
	PS_STATE_PREPARED,
	PS_STATE_RUNNING,
	PS_STATE_EXITED,
	PS_STATE_EXITED_DELETING,
	PS_STATE_EXITED_GARBAGE,
	PS_STATE_DELETING,
	PS_STATE_GARBAGE,
} ps_pod_state;

typedef enum ps_lock_mode {
	PS_LOCK_NONE,
	PS_LOCK_SHARED,
	PS_LOCK_EXCLUSIVE,
} ps_lock_mode;

typedef struct ps_pod {
	ps_store *store;               /* borrowed */
	char uuid[PS_UUID_LEN + 1];
	ps_pod_dir dir;                /* where it was last seen */
	ps_pod_state state;            /* derived when last looked at */
	int fd;                        /* O_DIRECTORY fd of the pod dir */
	ps_lock_mode lock;             /* what *we* hold on fd */
} ps_pod;

/* "embryo", "preparing", … "garbage": the names the CLI prints (static). */
const char *ps_pod_state_name(ps_pod_state st);
/* The state a pod in dir has, given whether its lock is held by someone. */
ps_pod_state ps_pod_state_from(ps_pod_dir dir, bool lock_held);

/*
 * Find a pod by full uuid, name (podname.h) or unique uuid prefix, open it
 * and derive its state. An exact name wins over a uuid prefix.
 * An unknown uuid is PS_ERR_NOT_FOUND; a prefix that matches several pods is
 * PS_ERR_AMBIGUOUS and the message lists them. A pod that moves while it is
 * looked up is found where it went; a lookup never reports "no such pod" for
 * a pod that exists throughout.
 */
int ps_pod_lookup(ps_store *s, const char *uuid_or_prefix, ps_pod **ret, ps_error **err);

/* Open a pod known to be (or have been) at dir/uuid, as ps_walk_pods() yields it. */
int ps_pod_open(ps_store *s, const char *uuid, ps_pod_dir dir, ps_pod **ret, ps_error **err);

/* Re-derive p->dir and p->state (after waiting, or to see a move). */
int ps_pod_refresh(ps_pod *p, ps_error **err);

/*
 * Create a new pod: a fresh uuid under embryo/, locked exclusively and moved
 * to prepare/ (state preparing). Anything that dies before ps_pod_transition()
 * to prepared leaves an aborted prepare that gc collects.
 */
int ps_pod_create(ps_store *s, ps_pod **ret, ps_error **err);

/*
 * Take the pod's lock. Non-blocking unless wait: a held lock is PS_ERR_BUSY.
 * After an exclusive lock is taken, p->dir and p->state are re-derived, since
 * the pod may have moved while we waited.
 */
int ps_pod_lock(ps_pod *p, ps_lock_mode mode, bool wait, ps_error **err);
void ps_pod_unlock(ps_pod *p);

/*
 * Move the pod to dir `to` by one renameat() (fsyncing both state dirs).
 * Requires our exclusive lock, and that the pod still sits where p->dir says
 * (its inode is checked); moves are only allowed forward in the lifecycle.
 */
int ps_pod_transition(ps_pod *p, ps_pod_dir to, ps_error **err);

/* The same without the fsyncs, for moves toward deletion (gc, rm): if a power
 * cut loses the move, the pod is simply collected again. */
int ps_pod_transition_lazy(ps_pod *p, ps_pod_dir to, ps_error **err);

/* Remove the pod's tree. Requires our exclusive lock and the pod in garbage/. */
int ps_pod_destroy(ps_pod *p, ps_error **err);

/* Path of the pod dir relative to the store root: "pods/run/<uuid>". */
int ps_pod_relpath(const ps_pod *p, char **ret);

/* Close the pod's fd (dropping any lock we hold on it) and free p; NULL is fine. */
void ps_pod_free(ps_pod *p);

/*
 * Call fn once for every pod in the dirs of dir_mask. Safe against pods moving
 * while it walks: the dirs are read in lifecycle order and a pod seen twice
 * (it moved forward between two reads) is reported once, where it went.
 * A non-zero return from fn stops the walk and is returned.
 * Pods are reported sorted by uuid.
 */
typedef int (*ps_walk_fn)(ps_store *s, const char *uuid, ps_pod_dir dir, void *userdata);
int ps_walk_pods(ps_store *s, unsigned dir_mask, ps_walk_fn fn, void *userdata, ps_error **err);

#pragma GCC visibility pop

#endif
