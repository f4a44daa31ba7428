/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A pod's view (ps_pod_inspect) as JSON, for status and list. */
#include "podview.h"
#include "security.h"
#include "util.h"

void json_add_time(json_object *o, const char *key, long long ns)
{
	char buf[64];

	if (!ns)
		return;
	ps_format_time(ns, buf, sizeof(buf));
	json_object_object_add(o, key, json_object_new_string(buf));
}

#define PRINT_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

void json_print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, PRINT_FLAGS));
}

/* json-c prints an array's items one level deeper: every line of the item
 * printed alone, indented by two more spaces (a JSON string has no raw
 * newline, so each '\n' in the text starts a line). */
void json_print_array_item(json_object *o, FILE *f, bool first)
{
	const char *s = json_object_to_json_string_ext(o, PRINT_FLAGS);

	fputs(first ? "[\n  " : ",\n  ", f);
	for (const char *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		fwrite(s, 1, (size_t)(nl - s) + 1, f);
		fputs("  ", f);
	}
	fputs(s, f);
}

void json_print_array_end(FILE *f, size_t n)
{
	fputs(n ? "\n]\n" : "[\n]\n", f);
}

/* --- pod_view_print_item: json-c's text without json-c ------------------- */

/* A member of an object printed as an array item (level 1): its key. */
static void item_key(FILE *f, bool *first, const char *key)
{
	fputs(*first ? "\n    \"" : ",\n    \"", f);
	*first = false;
	fputs(key, f);
	fputs("\": ", f);
}

/* A string value: as is when json-c would print it so (printable ASCII,
 * no quote, no backslash; '/' stays with NOSLASHESCAPE), else as json-c
 * prints it. */
static void item_str(FILE *f, bool *first, const char *key, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	item_key(f, first, key);
	while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
		p++;
	if (!*p) {
		fputc('"', f);
		fwrite(v, 1, (size_t)(p - (const unsigned char *)v), f);
		fputc('"', f);
		return;
	}
	json_object *o = json_object_new_string(v);
	fputs(json_object_to_json_string_ext(o, PRINT_FLAGS), f);
	json_object_put(o);
}

static void item_time(FILE *f, bool *first, const char *key, long long ns)
{
	char buf[64];

	if (!ns)
		return;
	ps_format_time(ns, buf, sizeof(buf));
	item_key(f, first, key);
	fprintf(f, "\"%s\"", buf);
}

void pod_view_print_item(const ps_pod_view *v, FILE *f, bool first)
{
	/* What only status shows: through json-c. */
	if (v->have_usage || v->apps) {
		json_object *o = pod_view_json(v);
		json_print_array_item(o, f, first);
		json_object_put(o);
		return;
	}
	/* pod_view_json(), member by member, in its order. */
	bool none = true;
	fputs(first ? "[\n  {" : ",\n  {", f);
	item_str(f, &none, "uuid", v->uuid);
	if (v->have_info && v->info.name)
		item_str(f, &none, "name", v->info.name);
	item_str(f, &none, "state", ps_pod_state_name(v->state));
	item_key(f, &none, "ready");
	fputs(v->ready ? "true" : "false", f);
	item_key(f, &none, "healthy");
	fputs(v->healthy ? "true" : "false", f);
	if (v->have_info)
		item_time(f, &none, "created", v->info.created_ns);
	if (v->have_pid) {
		item_time(f, &none, "started", v->pid.time_ns);
		if (v->state == PS_STATE_RUNNING) {
			item_key(f, &none, "pid");
			fprintf(f, "%d", (int)v->pid.pid);
		}
	}
	if (v->ready)
		item_time(f, &none, "readySince", v->ready_ns);
	if (v->have_exit) {
		item_time(f, &none, "exited", v->exit.time_ns);
		item_key(f, &none, "exitCode");
		fprintf(f, "%d", v->exit.code);
		if (v->exit.reason)
			item_str(f, &none, "exitReason", v->exit.reason);
		if (v->exit.app)
			item_str(f, &none, "exitApp", v->exit.app);
	}
	item_time(f, &none, "gcMarked", v->gc_marked_ns);
	fputs("\n  }", f);
}

/* What stage1 enforces for a, worked out the way stage1 does (same
 * library calls), so the digest is the one its filter was compiled from:
 * {"capabilities": [...], "seccomp": {"profile": "default"|"unconfined"|PATH,
 *  "digest": "sha256:…"}, "noNewPrivileges": B, "readOnlyRootfs": B}. */
static json_object *security_json(const ps_app *a)
{
	json_object *o = json_object_new_object(), *caps = json_object_new_array();
	json_object *sc = json_object_new_object();
	uint64_t set = ps_app_caps(a);
	ps_sc_profile *p = NULL;
	ps_error *e = NULL;
	char digest[65];

	for (int c = 0; c <= PS_CAP_LAST; c++)
		if (set & (UINT64_C(1) << c))
			json_object_array_add(caps, json_object_new_string(ps_cap_name(c)));
	json_object_object_add(o, "capabilities", caps);
	const char *name = a->seccomp ? a->seccomp : "default";
	json_object_object_add(sc, "profile", json_object_new_string(name));
	if (!streq(name, "unconfined")) {
		int r = 0;
		if (a->seccomp_profile) {
			r = ps_sc_profile_parse(a->seccomp_profile, strlen(a->seccomp_profile), set, NULL, &p, &e);
			if (r >= 0)
				r = ps_sc_profile_digest(p, digest, &e);
		} else {
			ps_sc_default_digest(set, digest);
		}
		if (r >= 0) {
			char *d = ps_strdup_printf("sha256:%s", digest);
			if (d)
				json_object_object_add(sc, "digest", json_object_new_string(d));
			free(d);
		}
		ps_sc_profile_free(p);
		ps_error_free(&e);
	}
	json_object_object_add(o, "seccomp", sc);
	json_object_object_add(o, "noNewPrivileges", json_object_new_boolean(a->no_new_privileges));
	json_object_object_add(o, "readOnlyRootfs", json_object_new_boolean(a->read_only_rootfs));
	return o;
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
		if (a->exit.reason)
			json_object_object_add(o, "exitReason", json_object_new_string(a->exit.reason));
		json_add_time(o, "exited", a->exit.time_ns);
	}
	if (!a->init)
		json_object_object_add(o, "goal", json_object_new_string(ps_status_goal_name(a->goal)));
	if (a->have_health)
		health_json(o, &a->health);
	if (a->app)
		json_object_object_add(o, "security", security_json(a->app));
	if (a->have_usage)
		json_object_object_add(o, "usage", usage_json(&a->usage));
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
	if (v->have_usage)
		json_object_object_add(o, "usage", usage_json(&v->usage));
	if (v->apps) {
		json_object *apps = json_object_new_array();
		for (size_t i = 0; i < v->n_apps; i++)
			json_object_array_add(apps, app_json(&v->apps[i]));
		json_object_object_add(o, "apps", apps);
	}
	return o;
}

json_object *usage_json(const ps_cgroup_usage *u)
{
	json_object *o = json_object_new_object();
	static const struct {
		const char *key;
		size_t off;
		bool zero_is_none; /* a limit of 0 is no limit */
	} fields[] = {
		{ "memoryBytes", offsetof(ps_cgroup_usage, memory_bytes), false },
		{ "memoryLimitBytes", offsetof(ps_cgroup_usage, memory_limit), true },
		{ "cpuNanoseconds", offsetof(ps_cgroup_usage, cpu_ns), false },
		{ "pids", offsetof(ps_cgroup_usage, pids), false },
		{ "pidsLimit", offsetof(ps_cgroup_usage, pids_limit), true },
		{ "oomKills", offsetof(ps_cgroup_usage, oom_kills), false },
		{ "pidsLimitHits", offsetof(ps_cgroup_usage, pids_max_events), false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		long long v = *(const long long *)((const char *)u + fields[i].off);
		if (v < 0 || (v == 0 && fields[i].zero_is_none))
			continue;
		json_object_object_add(o, fields[i].key, json_object_new_int64(v));
	}
	return o;
}

void format_bytes(long long b, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t u = 0;

	if (b < 0) {
		snprintf(buf, len, "-");
		return;
	}
	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lldB", b);
	else
		snprintf(buf, len, "%.1f%s", v, units[u]);
}
