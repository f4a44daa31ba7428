/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_PODVIEW_H
#define PODCTL_PODVIEW_H

/* What status and list show of a pod, read from its markers. */

#include <json-c/json.h>
#include "cli.h"

struct app_view {
	char *name;
	bool init;
	bool have_status, have_exit, have_health;
	ps_status_marker status;
	ps_exit_marker exit;
	ps_health_marker health;  /* probes, restarts, sd_notify STATUS= (stage1) */
	ps_status_goal goal;
	json_object *security;    /* what confines it (security_json), or NULL */
	bool have_usage;
	ps_cgroup_usage usage;    /* its cgroup, while the pod runs (VIEW_USAGE) */
};

struct pod_view {
	ps_pod *pod;                /* borrowed */
	bool have_info, have_pid, have_exit, ready;
	ps_info info;
	ps_pid_marker pid;
	ps_exit_marker exit;
	long long ready_ns;
	long long gc_marked_ns;     /* when gc marked it (exited-garbage/), 0 if not */
	bool healthy;
	struct app_view *apps;
	size_t n_apps;
	bool have_usage;
	ps_cgroup_usage usage;      /* the pod's cgroup, while it runs (VIEW_USAGE) */
};

enum {
	VIEW_INFO = 1 << 0,
	VIEW_RUNTIME = 1 << 1, /* pid, ready, exit */
	VIEW_APPS = 1 << 2,    /* per-app markers, in manifest order */
	VIEW_USAGE = 1 << 3,   /* a running pod's cgroups: memory, CPU time, pids (with VIEW_APPS) */
};

/* Read what `what` asks for. Missing markers are simply absent. */
int pod_view_load(ps_pod *p, unsigned what, struct pod_view *ret, ps_error **err);
void pod_view_clear(struct pod_view *v);

/* The view as a JSON object (times RFC 3339 with ns; pid for a running pod). */
json_object *pod_view_json(const struct pod_view *v);

/* A usage as JSON ({"memoryBytes", "cpuNanoseconds", "pids", …}: fields
 * the host lacks are left out). */
json_object *usage_json(const ps_cgroup_usage *u);
/* "12.3MiB", "-" for a negative size. */
void format_bytes(long long b, char *buf, size_t len);

/* Add "key": "<RFC 3339>" when ns != 0. */
void json_add_time(json_object *o, const char *key, long long ns);
/* Print a JSON value to stdout, pretty, with a newline. */
void json_print(json_object *o);

#endif
