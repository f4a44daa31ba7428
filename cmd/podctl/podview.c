/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A pod's view (ps_pod_inspect) as JSON, for status and list. */
#include "podview.h"
#include "util.h"

void json_add_time(json_object *o, const char *key, long long ns)
{
	char buf[64];

	if (!ns)
		return;
	ps_format_time(ns, buf, sizeof(buf));
	json_object_object_add(o, key, json_object_new_string(buf));
}

void json_print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                           JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void add_opt_str(json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
}

static void health_json(json_object *o, const ps_health_marker *h)
{
	json_object_object_add(o, "restarts", json_object_new_int64(h->restarts));
	if (h->liveness || h->readiness || h->startup) {
		json_object *pr = json_object_new_object();
		add_opt_str(pr, "startup", h->startup);
		add_opt_str(pr, "liveness", h->liveness);
		add_opt_str(pr, "readiness", h->readiness);
		json_object_object_add(o, "probes", pr);
	}
	if (h->last_probe) {
		json_object *lp = json_object_new_object();
		add_opt_str(lp, "probe", h->last_probe);
		add_opt_str(lp, "result", h->last_result);
		json_add_time(lp, "time", h->last_probe_ns);
		add_opt_str(lp, "message", h->last_message);
		json_object_object_add(o, "lastProbe", lp);
	}
	add_opt_str(o, "notifyStatus", h->notify_status);
}

static json_object *app_json(const ps_app_view *a)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(a->name));
	if (a->init)
		json_object_object_add(o, "init", json_object_new_boolean(true));
	if (a->have_status) {
		json_object_object_add(o, "status", json_object_new_string(a->status.status ? a->status.status : "UNKNOWN"));
		json_add_time(o, "statusTime", a->status.time_ns);
		if (a->status.reason)
			json_object_object_add(o, "reason", json_object_new_string(a->status.reason));
		if (a->status.ready_by)
			json_object_object_add(o, "readyBy", json_object_new_string(a->status.ready_by));
	} else {
		json_object_object_add(o, "status", json_object_new_string("INSTALLED"));
	}
	if (a->have_exit) {
		json_object_object_add(o, "exitCode", json_object_new_int(a->exit.code));
		if (a->exit.signal)
			json_object_object_add(o, "signal", json_object_new_int(a->exit.signal));
		json_add_time(o, "exited", a->exit.time_ns);
	}
	if (!a->init)
		json_object_object_add(o, "goal", json_object_new_string(ps_status_goal_name(a->goal)));
	if (a->have_health)
		health_json(o, &a->health);
	return o;
}

json_object *pod_view_json(const ps_pod_view *v)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "uuid", json_object_new_string(v->uuid));
	if (v->have_info && v->info.name)
		json_object_object_add(o, "name", json_object_new_string(v->info.name));
	json_object_object_add(o, "state", json_object_new_string(ps_pod_state_name(v->state)));
	json_object_object_add(o, "ready", json_object_new_boolean(v->ready));
	json_object_object_add(o, "healthy", json_object_new_boolean(v->healthy));
	if (v->have_info)
		json_add_time(o, "created", v->info.created_ns);
	if (v->have_pid) {
		json_add_time(o, "started", v->pid.time_ns);
		if (v->state == PS_STATE_RUNNING)
			json_object_object_add(o, "pid", json_object_new_int(v->pid.pid));
	}
	if (v->ready)
		json_add_time(o, "readySince", v->ready_ns);
	if (v->have_exit) {
		json_add_time(o, "exited", v->exit.time_ns);
		json_object_object_add(o, "exitCode", json_object_new_int(v->exit.code));
		if (v->exit.reason)
			json_object_object_add(o, "exitReason", json_object_new_string(v->exit.reason));
		if (v->exit.app)
			json_object_object_add(o, "exitApp", json_object_new_string(v->exit.app));
	}
	json_add_time(o, "gcMarked", v->gc_marked_ns);
	if (v->apps) {
		json_object *apps = json_object_new_array();
		for (size_t i = 0; i < v->n_apps; i++)
			json_object_array_add(apps, app_json(&v->apps[i]));
		json_object_object_add(o, "apps", apps);
	}
	return o;
}
