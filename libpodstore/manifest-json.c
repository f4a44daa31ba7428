/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Manifest v1 to JSON: the canonical form. Keys in schema order, values at
 * their default left out, durations in ps_duration_format()'s shortest form.
 * ps_manifest_parse() of the output gives back an equal manifest.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <podstore/duration.h>
#include "manifest-internal.h"
#include <podstore/manifest.h>
#include "json-util.h"
#include "util.h"


/* Add v (consumed, even on failure) to o under key. NULL v is ENOMEM from
 * the json_object_new_*() that made it. */
static int add(json_object *o, const char *key, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int push(json_object *a, json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_string(json_object *o, const char *key, const char *s)
{
	return s ? add(o, key, json_object_new_string(s)) : 0;
}

static int add_int(json_object *o, const char *key, int v)
{
	return add(o, key, json_object_new_int(v));
}

static int add_bool(json_object *o, const char *key, bool v)
{
	return add(o, key, json_object_new_boolean(v));
}

static int add_duration(json_object *o, const char *key, long long ms)
{
	char buf[64];

	ps_duration_format(ms, buf, sizeof(buf));
	return add_string(o, key, buf);
}

static json_object *strv_to_json(char *const *v)
{
	_cleanup_json_ json_object *a = json_object_new_array();

	if (!a)
		return NULL;
	for (size_t i = 0; v && v[i]; i++)
		if (push(a, json_object_new_string(v[i])) < 0)
			return NULL;
	return TAKE_PTR(a);
}

static json_object *env_to_json(char *const *env)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '='); /* validated: always there */
		_cleanup_free_ char *key = strndup(env[i], (size_t)(eq - env[i]));

		if (!key || add_string(o, key, eq + 1) < 0)
			return NULL;
	}
	return TAKE_PTR(o);
}

static json_object *probe_to_json(const ps_probe *pr)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	_cleanup_json_ json_object *h = json_object_new_object();
	int r = 0;

	if (!o || !h)
		return NULL;
	switch (pr->kind) {
	case PS_PROBE_EXEC:
		r = add(h, "command", strv_to_json(pr->command));
		if (r >= 0)
			r = add(o, "exec", TAKE_PTR(h));
		break;
	case PS_PROBE_HTTP_GET:
		if (pr->path && !streq(pr->path, "/"))
			r = add_string(h, "path", pr->path);
		if (r >= 0)
			r = add_int(h, "port", pr->port);
		if (r >= 0)
			r = add_string(h, "host", pr->host);
		if (r >= 0)
			r = add(o, "httpGet", TAKE_PTR(h));
		break;
	case PS_PROBE_TCP_SOCKET:
		r = add_int(h, "port", pr->port);
		if (r >= 0)
			r = add_string(h, "host", pr->host);
		if (r >= 0)
			r = add(o, "tcpSocket", TAKE_PTR(h));
		break;
	default:
		return NULL; /* ps_manifest_validate() let no other kind through */
	}
	if (r >= 0 && pr->initial_delay_s != PS_PROBE_DEFAULT_DELAY)
		r = add_int(o, "initialDelaySeconds", pr->initial_delay_s);
	if (r >= 0 && pr->period_s != PS_PROBE_DEFAULT_PERIOD)
		r = add_int(o, "periodSeconds", pr->period_s);
	if (r >= 0 && pr->timeout_s != PS_PROBE_DEFAULT_TIMEOUT)
		r = add_int(o, "timeoutSeconds", pr->timeout_s);
	if (r >= 0 && pr->success_threshold != PS_PROBE_DEFAULT_SUCCESS)
		r = add_int(o, "successThreshold", pr->success_threshold);
	if (r >= 0 && pr->failure_threshold != PS_PROBE_DEFAULT_FAILURE)
		r = add_int(o, "failureThreshold", pr->failure_threshold);
	return r < 0 ? NULL : TAKE_PTR(o);
}

static json_object *mounts_to_json(const ps_app *a)
{
	_cleanup_json_ json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < a->n_mounts; i++) {
		_cleanup_json_ json_object *o = json_object_new_object();
		int r;

		if (!o)
			return NULL;
		r = add_string(o, "volume", a->mounts[i].volume);
		if (r >= 0)
			r = add_string(o, "path", a->mounts[i].path);
		if (r >= 0 && a->mounts[i].read_only)
			r = add_bool(o, "readOnly", true);
		if (r >= 0)
			r = push(arr, TAKE_PTR(o));
		if (r < 0)
			return NULL;
	}
	return TAKE_PTR(arr);
}

static json_object *app_to_json(const ps_app *a)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	int r;

	if (!o)
		return NULL;
	r = add_string(o, "name", a->name);
	if (r >= 0)
		r = add_string(o, "image", a->image);
	if (r >= 0)
		r = add_string(o, "imageDigest", a->image_digest);
	if (r >= 0 && a->exec)
		r = add(o, "exec", strv_to_json(a->exec));
	if (r >= 0 && ps_strv_length(a->env) > 0)
		r = add(o, "env", env_to_json(a->env));
	if (r >= 0)
		r = add_string(o, "workingDir", a->working_dir);
	if (r >= 0)
		r = add_string(o, "user", a->user);
	if (r >= 0)
		r = add_string(o, "group", a->group);
	if (r >= 0 && a->group_index != 0)
		r = add_int(o, "startGroup", a->group_index);
	if (r >= 0 && a->goal != PS_GOAL_STARTED)
		r = add_string(o, "statusGoal", ps_status_goal_name(a->goal));
	if (r >= 0 && a->goal_timeout_ms != PS_DEFAULT_GOAL_TIMEOUT_MS)
		r = add_duration(o, "goalTimeout", a->goal_timeout_ms);
	if (r >= 0 && a->goal_timeout_ignore)
		r = add_string(o, "onGoalTimeout", "ignore");
	if (r >= 0 && a->restart != PS_RESTART_NEVER)
		r = add_string(o, "restartPolicy", ps_restart_policy_name(a->restart));
	if (r >= 0 && (a->backoff_initial_ms != PS_DEFAULT_BACKOFF_INITIAL_MS ||
	               a->backoff_max_ms != PS_DEFAULT_BACKOFF_MAX_MS)) {
		_cleanup_json_ json_object *b = json_object_new_object();

		r = b ? add_duration(b, "initial", a->backoff_initial_ms) : -ENOMEM;
		if (r >= 0)
			r = add_duration(b, "max", a->backoff_max_ms);
		if (r >= 0)
			r = add(o, "restartBackoff", TAKE_PTR(b));
	}
	if (r >= 0 && a->watchdog_ms != 0)
		r = add_duration(o, "watchdog", a->watchdog_ms);
	if (r >= 0 && a->ready_protocols) {
		_cleanup_json_ json_object *arr = json_object_new_array();

		r = arr ? 0 : -ENOMEM;
		for (unsigned bit = 1; r >= 0 && bit <= PS_READY_PROTOCOLS_ALL; bit <<= 1)
			if (a->ready_protocols & bit)
				r = push(arr, json_object_new_string(ps_ready_protocol_name((ps_ready_protocol)bit)));
		if (r >= 0)
			r = add(o, "readyProtocols", TAKE_PTR(arr));
	}
	if (r >= 0 && a->n_mounts > 0)
		r = add(o, "mounts", mounts_to_json(a));
	if (r >= 0 && a->liveness.kind != PS_PROBE_NONE)
		r = add(o, "livenessProbe", probe_to_json(&a->liveness));
	if (r >= 0 && a->readiness.kind != PS_PROBE_NONE)
		r = add(o, "readinessProbe", probe_to_json(&a->readiness));
	if (r >= 0 && a->startup.kind != PS_PROBE_NONE)
		r = add(o, "startupProbe", probe_to_json(&a->startup));
	if (r >= 0 && (a->cap_add || a->cap_drop)) {
		_cleanup_json_ json_object *c = json_object_new_object();

		r = c ? 0 : -ENOMEM;
		if (r >= 0 && a->cap_add)
			r = add(c, "add", strv_to_json(a->cap_add));
		if (r >= 0 && a->cap_drop)
			r = add(c, "drop", strv_to_json(a->cap_drop));
		if (r >= 0)
			r = add(o, "capabilities", TAKE_PTR(c));
	}
	if (r >= 0)
		r = add_string(o, "seccomp", a->seccomp);
	if (r >= 0 && a->seccomp_profile) {
		json_object *sp = json_tokener_parse(a->seccomp_profile);

		r = sp ? add(o, "seccompProfile", sp) : -EINVAL;
	}
	if (r >= 0 && !a->no_new_privileges)
		r = add_bool(o, "noNewPrivileges", false);
	if (r >= 0 && a->read_only_rootfs)
		r = add_bool(o, "readOnlyRootfs", true);
	if (r >= 0 && ps_resources_any(&a->resources))
		r = add(o, "resources", ps_resources_to_json(&a->resources));
	if (r >= 0 && a->log_size)
		r = add(o, "logSize", json_object_new_int64(a->log_size));
	return r < 0 ? NULL : TAKE_PTR(o);
}

static json_object *apps_to_json(const ps_app *apps, size_t n)
{
	_cleanup_json_ json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (push(arr, app_to_json(&apps[i])) < 0)
			return NULL;
	return TAKE_PTR(arr);
}

static json_object *volumes_to_json(const ps_manifest *m)
{
	_cleanup_json_ json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	for (size_t i = 0; i < m->n_volumes; i++) {
		const ps_volume *v = &m->volumes[i];
		_cleanup_json_ json_object *o = json_object_new_object();
		int r;

		if (!o)
			return NULL;
		r = add_string(o, "name", v->name);
		if (r >= 0)
			r = add_string(o, "kind", v->kind);
		if (r >= 0)
			r = add_string(o, "source", v->source);
		if (r >= 0 && v->read_only)
			r = add_bool(o, "readOnly", true);
		if (r >= 0 && v->allow_suid)
			r = add_bool(o, "suid", true);
		if (r >= 0 && v->allow_dev)
			r = add_bool(o, "dev", true);
		if (r >= 0)
			r = push(arr, TAKE_PTR(o));
		if (r < 0)
			return NULL;
	}
	return TAKE_PTR(arr);
}

static json_object *manifest_to_json(const ps_manifest *m)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	int r;

	if (!o)
		return NULL;
	r = add_int(o, "version", m->version);
	if (r >= 0)
		r = add_string(o, "name", m->name);
	if (r >= 0 && m->net && !streq(m->net, "none"))
		r = add_string(o, "net", m->net);
	if (r >= 0 && m->n_annotations > 0) {
		_cleanup_json_ json_object *a = json_object_new_object();

		r = a ? 0 : -ENOMEM;
		for (size_t i = 0; r >= 0 && i < m->n_annotations; i++)
			r = add_string(a, m->annotations[i].key, m->annotations[i].value);
		if (r >= 0)
			r = add(o, "annotations", TAKE_PTR(a));
	}
	if (r >= 0 && m->n_volumes > 0)
		r = add(o, "volumes", volumes_to_json(m));
	if (r >= 0 && ps_resources_any(&m->resources))
		r = add(o, "resources", ps_resources_to_json(&m->resources));
	if (r >= 0 && m->private_users.enabled)
		r = add(o, "privateUsers", ps_private_users_to_json(&m->private_users));
	if (r >= 0 && m->n_init_apps > 0)
		r = add(o, "initApps", apps_to_json(m->init_apps, m->n_init_apps));
	if (r >= 0)
		r = add(o, "apps", apps_to_json(m->apps, m->n_apps));
	return r < 0 ? NULL : TAKE_PTR(o);
}

int ps_manifest_to_json(const ps_manifest *m, char **ret, ps_error **err)
{
	_cleanup_json_ json_object *o = NULL;
	const char *s;
	char *out;
	size_t len;
	int r;

	/* Only a valid manifest has a form that parses back to itself. */
	r = ps_manifest_validate(m, err);
	if (r < 0)
		return r;
	o = manifest_to_json(m);
	if (!o)
		return ps_manifest_oom(err);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return ps_manifest_oom(err);
	len = strlen(s);
	out = malloc(len + 2);
	if (!out)
		return ps_manifest_oom(err);
	memcpy(out, s, len);
	out[len] = '\n';
	out[len + 1] = '\0';
	*ret = out;
	return 0;
}
