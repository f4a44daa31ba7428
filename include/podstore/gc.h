/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_GC_H
#define PODSTORE_GC_H

/*
 * Garbage collection of pods (and, unless mark-only, of images: image.h).
 * Never blocks on a lock someone holds; errors follow error.h.
 */

#include <stdbool.h>
#include <podstore/error.h>
#include <podstore/store.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef struct ps_gc_opts {
	long long grace_period_ms;      /* exited pods younger than this stay (default 30m) */
	long long expire_prepared_ms;   /* prepared pods older than this go (default 24h) */
	bool mark_only;                 /* move to garbage, do not delete */
} ps_gc_opts;

typedef struct ps_gc_report {
	unsigned marked;   /* moved to exited-garbage / garbage this run */
	unsigned removed;  /* trees deleted */
	unsigned skipped;  /* locked by someone else: left alone */
	unsigned tmp_removed;
} ps_gc_report;

/*
 * Collect garbage without ever blocking on a held lock: exited pods past the
 * grace period, expired prepared pods, aborted prepares, stale embryos, and
 * leftover tmp files; then delete everything in garbage/. Linear in the number
 * of pods. What it skips is reported through the log hook and counted.
 */
int ps_gc(ps_store *s, const ps_gc_opts *opts, ps_gc_report *ret, ps_error **err);

/* Remove one pod now (any state but running/preparing): mark and delete. */
int ps_pod_remove(ps_store *s, const char *uuid_or_prefix, ps_error **err);

#pragma GCC visibility pop

#endif
