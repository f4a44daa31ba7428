/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>

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

void json_print(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                           JSON_C_TO_STRING_NOSLASHESCAPE));
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

static int load_app(int apps_fd, const ps_app *a, bool init, struct app_view *av)
{
	av->name = strdup(a->name);
	av->init = init;
	av->goal = a->goal;
	if (!av->name)
		return -ENOMEM;
	av->security = security_json(a);
	_cleanup_close_ int fd = openat(apps_fd, a->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	av->have_status = ps_status_marker_read(fd, &av->status, NULL) == 0;
	av->have_exit = ps_exit_marker_read(fd, &av->exit, NULL) == 0;
	av->have_health = ps_health_marker_read(fd, &av->health, NULL) == 0;
	return 0;
}

static int load_apps(ps_pod *p, struct pod_view *v, ps_error **err)
{
	ps_manifest *m = NULL;
	ps_error *e = NULL;
	int r = ps_manifest_load_at(p->fd, &m, &e);

	/* An embryo, a pod being prepared or one whose prepare died has no
	 * manifest yet: it has no apps to show, and it is still a pod. */
	if (r == -ENOENT && p->state != PS_STATE_PREPARED && p->state != PS_STATE_RUNNING &&
	    p->state != PS_STATE_EXITED) {
		ps_error_free(&e);
		return 0;
	}
	if (r < 0) {
		if (err && !*err)
			*err = e;
		else
			ps_error_free(&e);
		return r;
	}
	v->apps = calloc(m->n_init_apps + m->n_apps + 1, sizeof(*v->apps));
	if (!v->apps) {
		ps_manifest_free(m);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pod %s", p->uuid);
	}
	_cleanup_close_ int apps_fd = openat(p->fd, PS_DIR_APPS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < m->n_init_apps + m->n_apps; i++) {
		bool init = i < m->n_init_apps;
		const ps_app *a = init ? &m->init_apps[i] : &m->apps[i - m->n_init_apps];
		if (load_app(apps_fd, a, init, &v->apps[v->n_apps++]) < 0) {
			ps_manifest_free(m);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pod %s", p->uuid);
		}
	}
	ps_manifest_free(m);
	return 0;
}

int pod_view_load(ps_pod *p, unsigned what, struct pod_view *v, ps_error **err)
{
	*v = (struct pod_view){ .pod = p };
	if (what & VIEW_INFO)
		v->have_info = ps_info_read(p->fd, &v->info, NULL) == 0;
	if (what & VIEW_RUNTIME) {
		v->have_pid = ps_pid_marker_read(p->fd, &v->pid, NULL) == 0;
		v->have_exit = ps_exit_marker_read(p->fd, &v->exit, NULL) == 0;
		/* A ready marker left by a stage1 that died means nothing. */
		v->ready = p->state == PS_STATE_RUNNING && ps_ready_marker_read(p->fd, &v->ready_ns, NULL) == 0;
		if (p->dir == PS_DIR_EXITED_GARBAGE && ps_gc_mark_read(p->fd, &v->gc_marked_ns, NULL) < 0)
			v->gc_marked_ns = 0;
	}
	if (what & VIEW_APPS) {
		int r = load_apps(p, v, err);
		if (r < 0) {
			pod_view_clear(v);
			return r;
		}
	}
	if ((what & VIEW_USAGE) && p->state == PS_STATE_RUNNING) {
		_cleanup_free_ char **names = calloc(v->n_apps + 1, sizeof(char *));
		_cleanup_free_ ps_cgroup_usage *apps = calloc(v->n_apps + 1, sizeof(ps_cgroup_usage));
		if (names && apps) {
			for (size_t i = 0; i < v->n_apps; i++)
				names[i] = v->apps[i].name;
			if (ps_pod_cgroup_usage(p->fd, names, v->n_apps, &v->usage, apps, NULL) == 0) {
				v->have_usage = true;
				for (size_t i = 0; i < v->n_apps; i++) {
					v->apps[i].usage = apps[i];
					v->apps[i].have_usage = apps[i].memory_bytes >= 0 || apps[i].cpu_ns >= 0 ||
					                        apps[i].pids >= 0;
				}
			}
		}
	}
	/* Healthy while running, no app failed and no liveness probe fails
	 * (health.h). Only what was loaded counts: list shows no apps. */
	v->healthy = p->state == PS_STATE_RUNNING;
	for (size_t i = 0; i < v->n_apps; i++) {
		const struct app_view *a = &v->apps[i];
		if (!ps_app_is_healthy(a->have_status ? &a->status : NULL, a->have_exit ? &a->exit : NULL,
		                       a->have_health ? &a->health : NULL))
			v->healthy = false;
	}
	return 0;
}

void pod_view_clear(struct pod_view *v)
{
	ps_info_clear(&v->info);
	ps_exit_marker_clear(&v->exit);
	for (size_t i = 0; i < v->n_apps; i++) {
		free(v->apps[i].name);
		ps_status_marker_clear(&v->apps[i].status);
		ps_exit_marker_clear(&v->apps[i].exit);
		ps_health_marker_clear(&v->apps[i].health);
		if (v->apps[i].security)
			json_object_put(v->apps[i].security);
	}
	free(v->apps);
	v->apps = NULL;
	v->n_apps = 0;
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

static json_object *app_json(const struct app_view *a)
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
	if (a->security)
		json_object_object_add(o, "security", json_object_get(a->security));
	if (a->have_usage)
		json_object_object_add(o, "usage", usage_json(&a->usage));
	return o;
}

json_object *pod_view_json(const struct pod_view *v)
{
	const ps_pod *p = v->pod;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "uuid", json_object_new_string(p->uuid));
	if (v->have_info && v->info.name)
		json_object_object_add(o, "name", json_object_new_string(v->info.name));
	json_object_object_add(o, "state", json_object_new_string(ps_pod_state_name(p->state)));
	json_object_object_add(o, "ready", json_object_new_boolean(v->ready));
	json_object_object_add(o, "healthy", json_object_new_boolean(v->healthy));
	if (v->have_info)
		json_add_time(o, "created", v->info.created_ns);
	if (v->have_pid) {
		json_add_time(o, "started", v->pid.time_ns);
		if (p->state == PS_STATE_RUNNING)
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
