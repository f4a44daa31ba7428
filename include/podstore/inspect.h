/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_INSPECT_H
#define PODSTORE_INSPECT_H

/*
 * A pod's full view, read from its markers: state, info, times, exit code
 * and reason, its apps with status and exit, and the two fields shown beside
 * the state (Documentation/readiness.md):
 *
 *   ready    the pod is running and its `ready` marker exists;
 *   healthy  the pod is running, no app is FAILED or EXITED with a failure,
 *            and no app's liveness probe is failing.
 *
 * This is the one place these are computed: podctl status, list and wait,
 * and any other program, call ps_pod_inspect(). It reads only what `what`
 * asks for, so a listing of many pods pays per pod for a directory entry, a
 * lock probe (the caller's ps_pod_open) and the markers its output needs.
 * Missing markers are simply absent (have_* false). The view borrows
 * nothing from p but its uuid and state, copied.
 */

#include <stdbool.h>
#include <stddef.h>
#include <podstore/cgroup.h>
#include <podstore/error.h>
#include <podstore/health.h>
#include <podstore/manifest.h>
#include <podstore/markers.h>
#include <podstore/pod.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef struct ps_app_view {
	char *name;
	bool init;                  /* an init app */
	ps_status_goal goal;        /* from the manifest (PS_VIEW_APPS) */
	const ps_app *app;          /* its manifest entry (PS_VIEW_APPS), borrowed from the view */
	bool have_status, have_exit, have_health;
	ps_status_marker status;
	ps_exit_marker exit;
	ps_health_marker health;    /* probes, restarts, sd_notify STATUS= */
	bool healthy;               /* ps_app_is_healthy() of the above */
	bool have_usage;            /* PS_VIEW_USAGE, while the pod runs */
	ps_cgroup_usage usage;      /* its cgroup: memory, CPU time, pids */
} ps_app_view;

typedef struct ps_pod_view {
	char uuid[PS_UUID_LEN + 1];
	ps_pod_state state;         /* as p had it */
	bool have_info, have_pid, have_exit;
	ps_info info;               /* name, created */
	ps_pid_marker pid;          /* started; pid while running */
	ps_exit_marker exit;        /* exit code, reason, app, time */
	bool ready;                 /* PS_VIEW_RUNTIME */
	long long ready_ns;
	long long gc_marked_ns;     /* PS_VIEW_RUNTIME: when gc marked it (exited-garbage/), or 0 */
	bool healthy;               /* PS_VIEW_HEALTH (implied by PS_VIEW_APPS) */
	char *unhealthy_why;        /* "app web: liveness probe failing", or NULL */
	ps_app_view *apps;          /* PS_VIEW_APPS: init apps first, manifest order */
	size_t n_apps;
	ps_manifest *manifest;      /* PS_VIEW_APPS: the pod's manifest, owned by the view */
	bool have_usage;            /* PS_VIEW_USAGE, while the pod runs */
	ps_cgroup_usage usage;      /* the pod's cgroup */
} ps_pod_view;

enum ps_view_what {
	PS_VIEW_INFO = 1 << 0,      /* the info marker: name, created */
	PS_VIEW_RUNTIME = 1 << 1,   /* pid, exit, ready and gc-marked markers */
	PS_VIEW_HEALTH = 1 << 2,    /* healthy: reads a running pod's per-app markers */
	PS_VIEW_APPS = 1 << 3,      /* the apps (manifest order) with their markers */
	PS_VIEW_USAGE = 1 << 4,     /* a running pod's cgroups (with PS_VIEW_APPS: each app's) */
	PS_VIEW_ALL = 0x1f,
	PS_VIEW_NO_PID = 1 << 5,    /* with PS_VIEW_RUNTIME: leave the pid marker out */
};

/* Fill *ret with what `what` asks of p (refreshed by the caller as needed).
 * A pod without a manifest yet (embryo, preparing) has no apps. */
int ps_pod_inspect(ps_pod *p, unsigned what, ps_pod_view *ret, ps_error **err);
void ps_pod_view_clear(ps_pod_view *v);

/* The flocks held on the store's filesystem, from one read of /proc/locks,
 * for ps_pod_peek(). Load it after the walk has read the state dirs (the
 * first callback of ps_pod_walk()). Fails (and the caller uses
 * ps_pod_open()) where the table cannot be trusted: no /proc, or its device
 * numbers are not stat's (checked on a lock of our own). */
typedef struct ps_flocks ps_flocks;
int ps_flocks_load(ps_store *s, ps_flocks **ret, ps_error **err);
void ps_flocks_free(ps_flocks *f);

/* ps_pod_open() and ps_pod_inspect(what) of a pod nobody holds, without
 * opening its dir or probing its lock: one fstatat (trust, inode), the lock
 * from held, each marker through one openat2 + read. Only PS_VIEW_INFO,
 * PS_VIEW_RUNTIME and PS_VIEW_NO_PID. -EAGAIN (no error set) when the pod is
 * held (running, being prepared or deleted), untrusted, moved or gone, or
 * a marker that is there cannot be read (no openat2, EMFILE, EIO): then use
 * ps_pod_open() and ps_pod_inspect(), which search forward. */
int ps_pod_peek(ps_store *s, const char *uuid, ps_pod_dir dir, const ps_flocks *held,
                unsigned what, ps_pod_view *ret, ps_error **err);

/*
 * A cache of what ps_pod_peek() reads, for listing many pods: $DIR/list-cache
 * holds, per pod nobody held when it was written, its info, pid, exit and
 * gc-marked markers with the pod dir's inode and times; an entry is used
 * only while the pod dir still shows exactly those (any marker replaced or
 * removed, any move, changes them), and only made for a dir that had not
 * changed for a second. A missing, torn or stale file costs only the reads
 * it would have saved. Not for pods being changed in place by hand: the
 * markers must be replaced by rename, as the library writes them.
 *
 * ps_peek_cache_load() before the walk (never fails but for memory: a bad
 * file is an empty cache); ps_pod_peek_cached() is ps_pod_peek() that looks
 * there first and keeps what it read; ps_peek_cache_save() after the walk
 * rewrites the file when enough changed (1 written, 0 not needed, or an
 * error, e.g. a read-only store: then the cache simply stays as it was).
 */
typedef struct ps_peek_cache ps_peek_cache;
int ps_peek_cache_load(ps_store *s, ps_peek_cache **ret, ps_error **err);
int ps_pod_peek_cached(ps_store *s, const char *uuid, ps_pod_dir dir, const ps_flocks *held,
                       ps_peek_cache *cache, unsigned what, ps_pod_view *ret, ps_error **err);
int ps_peek_cache_save(ps_store *s, ps_peek_cache *c, ps_error **err);
void ps_peek_cache_free(ps_peek_cache *c);

#pragma GCC visibility pop

#endif
