/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-app health marker, and whether one app is healthy (the pod's
 * ready / healthy are inspect.c's). */
#include <fcntl.h>
#include <json-c/json.h>

#include <podstore/fileio.h>
#include <podstore/health.h>
#include <podstore/manifest.h>
#include "json-util.h"
#include "util.h"

#define HEALTH_MAX (64 * 1024)

/* Best effort: a field that cannot be added is left out (the marker is
 * advisory and rewritten at the next change). */
static void add_str(json_object *o, const char *k, const char *v)
{
	(void)ps_json_add_str(o, k, v);
}

static void add_time(json_object *o, const char *k, long long ns)
{
	if (ns)
		(void)ps_json_add_time(o, k, ns);
}

int ps_health_marker_write(int app_dirfd, const ps_health_marker *m, ps_error **err)
{
	json_object *o = json_object_new_object();
	int r;

	if (!o)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write health");
	add_str(o, "liveness", m->liveness);
	add_str(o, "readiness", m->readiness);
	add_str(o, "startup", m->startup);
	json_object_object_add(o, "restarts", json_object_new_int64(m->restarts));
	if (m->last_probe) {
		json_object *lp = json_object_new_object();
		add_str(lp, "probe", m->last_probe);
		add_str(lp, "result", m->last_result);
		add_time(lp, "time", m->last_probe_ns);
		add_str(lp, "message", m->last_message);
		json_object_object_add(o, "lastProbe", lp);
	}
	add_str(o, "notifyStatus", m->notify_status);
	add_time(o, "time", m->time_ns ? m->time_ns : ps_now_ns());
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_free_ char *line = s ? ps_strdup_printf("%s\n", s) : NULL;
	json_object_put(o);
	if (!line)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write health");
	r = ps_write_file_at(app_dirfd, PS_FILE_APP_HEALTH, line, strlen(line), 0644, PS_WRITE_RUNTIME, err);
	return r;
}

#define dup_key ps_json_dup_str
#define get_time ps_json_time

int ps_health_marker_read(int app_dirfd, ps_health_marker *ret, ps_error **err)
{
	_cleanup_free_ char *buf = NULL;
	ps_health_marker m = { 0 };
	json_object *v, *lp;
	int r = ps_read_file_at(app_dirfd, PS_FILE_APP_HEALTH, HEALTH_MAX, &buf, NULL, err);

	if (r < 0)
		return r;
	json_object *o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "read marker %s", PS_FILE_APP_HEALTH);
	}
	r = 0;
	r = r ?: dup_key(o, "liveness", &m.liveness);
	r = r ?: dup_key(o, "readiness", &m.readiness);
	r = r ?: dup_key(o, "startup", &m.startup);
	r = r ?: dup_key(o, "notifyStatus", &m.notify_status);
	if (json_object_object_get_ex(o, "restarts", &v) && json_object_is_type(v, json_type_int))
		m.restarts = (unsigned)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "lastProbe", &lp) && json_object_is_type(lp, json_type_object)) {
		r = r ?: dup_key(lp, "probe", &m.last_probe);
		r = r ?: dup_key(lp, "result", &m.last_result);
		r = r ?: dup_key(lp, "message", &m.last_message);
		m.last_probe_ns = get_time(lp, "time");
	}
	m.time_ns = get_time(o, "time");
	json_object_put(o);
	if (r < 0) {
		ps_health_marker_clear(&m);
		return ps_error_set(err, PS_ERR_FAILED, -r, "read marker %s", PS_FILE_APP_HEALTH);
	}
	*ret = m;
	return 0;
}

void ps_health_marker_clear(ps_health_marker *m)
{
	free(m->liveness);
	free(m->readiness);
	free(m->startup);
	free(m->last_probe);
	free(m->last_result);
	free(m->last_message);
	free(m->notify_status);
	*m = (ps_health_marker){ 0 };
}

bool ps_app_is_healthy(const ps_status_marker *status, const ps_exit_marker *exit,
                       const ps_health_marker *health)
{
	if (status && status->status) {
		if (streq(status->status, "FAILED"))
			return false;
		if (streq(status->status, "EXITED") && exit && (exit->code != 0 || exit->signal != 0))
			return false;
	}
	if (health && health->liveness && streq(health->liveness, "failing"))
		return false;
	return true;
}
