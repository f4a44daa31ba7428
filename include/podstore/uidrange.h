/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_UIDRANGE_H
#define PODSTORE_UIDRANGE_H

/*
 * User-namespace id ranges: which host uids and gids a pod's ids 0…size-1
 * map to (--private-users, manifest "privateUsers").
 *
 * The allocation table is $DIR/userns/<uuid>.<uid>-<gid>-<size>, one small
 * file per pod (holding "UID GID SIZE\n" too, for people), created, listed
 * and removed only under an exclusive flock on $DIR/userns (the store's
 * range lock). The names say it all: an allocation is one readdir, no file
 * is opened. A range is
 * allocated there for a pod whose dir exists (prepare has created it), so a
 * record whose pod dir is gone from every state dir is stale: gc removes it
 * (ps_idrange_sweep), and destroying a pod releases its record. Two pods'
 * records never overlap, in uids nor in gids.
 *
 * The pod keeps its own copy in the pod dir, `userns` (same format), which
 * stage1 reads; a pod without that file has no user namespace.
 *
 * Automatic ranges are PS_IDRANGE_SIZE ids aligned on PS_IDRANGE_SIZE, from
 * PS_IDRANGE_FIRST up to PS_IDRANGE_LAST (exclusive), the lowest free one
 * first, so ranges of removed pods are reused (and with them the fallback's
 * chown'ed tree copies, which are per range).
 *
 * Errors: negative errno with *err filled; PS_ERR_BUSY when a range asked
 * for overlaps another pod's, or no automatic range is free.
 */

#include <stdbool.h>
#include <stdint.h>
#include <podstore/error.h>
#include <podstore/store.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

#define PS_IDRANGE_FIRST 0x00100000u  /* 1 Mi: far above any real user's id */
#define PS_IDRANGE_LAST 0x70000000u   /* below the signed-32-bit edge */
#define PS_IDRANGE_SIZE 0x10000u      /* 65536 ids: 0…65535 inside, nobody included */

typedef struct ps_idrange {
	uint32_t uid;   /* host uid of the pod's uid 0 */
	uint32_t gid;   /* host gid of the pod's gid 0 */
	uint32_t size;  /* how many ids are mapped (uids and gids alike) */
} ps_idrange;

/* Whether a and b share a uid or a gid. */
bool ps_idrange_overlaps(const ps_idrange *a, const ps_idrange *b);

/* Check a range asked for: size >= 1, neither uid 0 nor gid 0 inside it
 * (the pod's root must not be the host's), no wrap past 2^32-1. */
int ps_idrange_check(const ps_idrange *r, ps_error **err);

/* The lowest automatic range that overlaps none of taken[0…n-1] into *ret;
 * -ENOSPC when none is free. Pure (the allocator's choice, for tests). */
int ps_idrange_pick(const ps_idrange *taken, size_t n, ps_idrange *ret);

/* Allocate a range for the pod uuid (its dir must exist): want (checked) or,
 * when NULL, an automatic one. Under the range lock; the record is durable
 * before this returns. A pod that already has a record gets it back. */
int ps_idrange_allocate(ps_store *s, const char *uuid, const ps_idrange *want, ps_idrange *ret,
                        ps_error **err);

/* Drop the pod's record (no record: 0). With r (the pod's range, from its
 * `userns` file) just that record goes, at constant cost; with NULL the
 * table is searched. rm and gc call it through ps_pod_destroy(). */
int ps_idrange_release(ps_store *s, const char *uuid, const ps_idrange *r, ps_error **err);

/* Remove the records whose pod dir exists nowhere (a prepare killed between
 * its allocation and its cleanup, a destroy that failed half-way). gc calls
 * it; *ret_removed (may be NULL) gets how many went. */
int ps_idrange_sweep(ps_store *s, unsigned *ret_removed, ps_error **err);

/* Every record of the table into *ret (allocated, may be NULL when n is 0),
 * their count into *ret_n: what `podctl` and tests show. */
int ps_idrange_list(ps_store *s, ps_idrange **ret, size_t *ret_n, ps_error **err);

/* The pod dir's copy: write `userns` (data synced; the caller fsyncs the
 * dir), read it back (-ENOENT, *err untouched, when the pod has none). */
int ps_idrange_pod_write(int pod_fd, const ps_idrange *r, ps_error **err);
int ps_idrange_pod_read(int pod_fd, ps_idrange *ret, ps_error **err);

/* "UID GID SIZE\n" into buf (at least 40 bytes); parse it back (-EBADMSG). */
void ps_idrange_format(const ps_idrange *r, char *buf, size_t len);
int ps_idrange_parse(const char *s, ps_idrange *ret);

#pragma GCC visibility pop

#endif
