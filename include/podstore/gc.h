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

/* What gc did with one pod, as told to ps_gc_opts.on_pod. */
typedef enum ps_gc_action {
	PS_GC_MARKED,   /* moved to exited-garbage/ (what: "exited") or garbage/ (what: the dir it was in) */
	PS_GC_REMOVED,  /* deleted */
	PS_GC_SKIPPED,  /* locked by someone else: left alone (what: "locked") */
	PS_GC_FAILED,   /* due, but could not be collected (what: the error) */
} ps_gc_action;

typedef struct ps_gc_opts {
	long long grace_period_ms;      /* marked exited pods stay this long (default 30m) */
	long long expire_prepared_ms;   /* prepared pods older than this go (default 24h) */
	bool mark_only;                 /* mark (exited → exited-garbage, expired → garbage), delete nothing */
	/* Called once per pod and action, in the order they happen; may be NULL. */
	void (*on_pod)(const char *uuid, ps_gc_action action, const char *what, void *userdata);
	void *userdata;
} ps_gc_opts;

typedef struct ps_gc_report {
	unsigned marked;   /* moved to exited-garbage / garbage this run */
	unsigned removed;  /* trees deleted */
	unsigned skipped;  /* locked by someone else: left alone */
	unsigned failed;   /* due but not collected: an error */
	unsigned tmp_removed;
} ps_gc_report;

/*
 * Collect garbage without ever blocking on a held lock, as rkt did: an exited
 * pod is marked (moved to exited-garbage/, the time recorded in its gc-marked
 * marker) by the first gc that sees it and deleted by a gc once it has been
 * marked for longer than the grace period (at once with a grace of 0);
 * prepared pods past their expiry, aborted prepares and stale embryos go to
 * garbage/ and are deleted; leftover tmp files too. Linear in the number of
 * pods. A failure on one pod is counted (report.failed), told to on_pod and
 * logged, and gc goes on with the others.
 */
int ps_gc(ps_store *s, const ps_gc_opts *opts, ps_gc_report *ret, ps_error **err);

/* Remove one pod now (any state but running/preparing): mark and delete. */
int ps_pod_remove(ps_store *s, const char *uuid_or_prefix, ps_error **err);

#pragma GCC visibility pop

#endif
