/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_LOCKDIR_H
#define PODSTORE_LOCKDIR_H

/*
 * The store's index directories that are changed only under an exclusive
 * flock on the directory itself: $DIR/names (podname.c) and $DIR/userns
 * (uidrange.c). Internal, not installed.
 */

#include <stdbool.h>
#include <podstore/error.h>
#include <podstore/store.h>

/* $DIR/<name>, opened (made first, mode 0700, when create and missing) and
 * with lock flocked exclusively: the fd holds the lock until closed. The
 * lock is for short work (a directory read, a link, one small write):
 * nobody waits long. Returns the fd; a directory that does not exist (and
 * !create) is PS_ERR_NOT_FOUND, -ENOENT. */
int ps_lockdir_open(ps_store *s, const char *name, bool create, bool lock, ps_error **err);

/* Is there a pod dir of that uuid in any state dir? What the sweeps of
 * these directories keep an entry for. */
bool ps_lockdir_pod_exists(ps_store *s, const char *uuid);

#endif
