/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_HEALTH_H
#define PODSTORE_HEALTH_H

/*
 * Per-app health marker apps/<app>/health, written by stage1 (atomically,
 * not durably) when a probe result, a restart or an sd_notify STATUS= changes
 * something:
 *
 *   {"liveness":"passing|failing|unknown", "readiness":…, "startup":…,
 *    "restarts":N, "lastProbe":{"probe":"liveness","result":"success|failure|timeout",
 *    "time":"…","message":"…"}, "notifyStatus":"STATUS text", "time":"…"}
 *
 * A probe the app does not have is left out (NULL). The pod's ready and
 * healthy are computed from these in one place, ps_pod_inspect()
 * (inspect.h).
 */

#include <stdbool.h>
#include <podstore/error.h>
#include <podstore/markers.h>
#include <podstore/pod.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

#define PS_FILE_APP_HEALTH "health"

typedef struct ps_health_marker {
	char *liveness;          /* "passing", "failing", "unknown"; NULL = no such probe */
	char *readiness;
	char *startup;
	unsigned restarts;
	char *last_probe;        /* which probe ran last ("liveness"…); NULL = none yet */
	char *last_result;       /* "success", "failure", "timeout" */
	char *last_message;      /* optional detail */
	long long last_probe_ns;
	char *notify_status;     /* the last sd_notify STATUS= text */
	long long time_ns;
} ps_health_marker;

/* Write apps/<app>/health (atomic, not durable) in the dir app_dirfd. */
int ps_health_marker_write(int app_dirfd, const ps_health_marker *m, ps_error **err);
/* Read it into *ret (free with ps_health_marker_clear()); missing → -ENOENT,
 * no error filled. */
int ps_health_marker_read(int app_dirfd, ps_health_marker *ret, ps_error **err);
/* Free what a read filled in and zero *m. */
void ps_health_marker_clear(ps_health_marker *m);

/* Is one app healthy, given its markers (any may be NULL = absent)? */
bool ps_app_is_healthy(const ps_status_marker *status, const ps_exit_marker *exit,
                       const ps_health_marker *health);

/*
 * Ready and healthy of a pod, from its state (as last refreshed) and
 * markers: ps_pod_inspect(PS_VIEW_HEALTH) in short (inspect.c). *ret_why
 * (may be NULL) gets why it is not healthy ("app web: liveness probe
 * failing"), malloc'd, or NULL.
 */
int ps_pod_health(ps_pod *p, bool *ret_ready, bool *ret_healthy, char **ret_why, ps_error **err);

#pragma GCC visibility pop

#endif
