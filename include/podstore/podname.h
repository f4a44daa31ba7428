/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_PODNAME_H
#define PODSTORE_PODNAME_H

/*
 * Pod names as handles. A pod's name (the manifest's `name`, or `pod-<8 hex>`)
 * is unique among the pods that are not yet collected. The index is
 * $DIR/names/<name>, a symlink whose target is the pod's uuid, changed only
 * under an exclusive flock on $DIR/names. The pod's own `info` marker stays
 * the record of its name; a link whose pod is gone, garbage or an aborted
 * prepare is stale and is replaced by the next claim of that name.
 */

#include <podstore/error.h>
#include <podstore/store.h>
#include <podstore/uuid.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

/* Claim name for the pod uuid. A name held by another live pod is
 * PS_ERR_BUSY with that pod's uuid in the message. */
int ps_pod_name_claim(ps_store *s, const char *name, const char *uuid, ps_error **err);

/* Drop the name if it still names uuid (gc and rm call it before deleting). */
int ps_pod_name_release(ps_store *s, const char *name, const char *uuid, ps_error **err);

/* The uuid the name stands for, into ret (PS_UUID_LEN + 1 bytes). A name
 * that is not claimed, or whose link is stale, is PS_ERR_NOT_FOUND. */
int ps_pod_name_resolve(ps_store *s, const char *name, char *ret, ps_error **err);

/* Remove the links whose pod no longer exists (a pod deleted without its
 * name released, e.g. when its info marker could not be read). gc calls it. */
int ps_pod_names_sweep(ps_store *s, ps_error **err);

#pragma GCC visibility pop

#endif
