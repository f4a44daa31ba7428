/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Manifest v1 from JSON. Two steps: this file checks syntax, types and field
 * names while it copies values into a ps_manifest; ps_manifest_validate()
 * then checks the values (names, paths, ranges, references), so a manifest
 * built in code gets exactly the same checks and messages.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <podstore/duration.h>
#include <podstore/quantity.h>
#include "manifest-internal.h"
#include <podstore/manifest.h>
#include "json-util.h"
#include "security.h"
#include "util.h"


static inline void json_tokener_freep(json_tokener **t)
{
	if (*t)
		json_tokener_free(*t);
}

static inline void ps_manifest_freep(ps_manifest **m)
{
	ps_manifest_free(*m);
}

/* --- typed getters --------------------------------------------------------- */

static int want(json_object *o, json_type t, const ps_jpath *p, const char *what, ps_error **err)
{
	if (!json_object_is_type(o, t))
		return ps_manifest_invalid(err, p, "expected %s", what);
	return 0;
}

/* Reject members of o not in allowed (NULL-terminated). */
static int check_fields(json_object *o, const char *const *allowed, const ps_jpath *p, ps_error **err)
{
	json_object_object_foreach(o, key, val) {
		bool known = false;

		(void)val;
		for (const char *const *a = allowed; *a && !known; a++)
			known = streq(*a, key);
		if (!known) {
			_cleanup_free_ char *q = ps_manifest_quote(key);

			if (!q)
				return ps_manifest_oom(err);
			return ps_manifest_invalid(err, p, "unknown field %s", q);
		}
	}
	return 0;
}

/* Whether o has the member. A JSON null is present with *ret NULL, which is
 * the wrong type for every field, so it is reported rather than skipped. */
static bool member(json_object *o, const char *key, json_object **ret)
{
	return json_object_object_get_ex(o, key, ret);
}

static int get_string(json_object *o, const ps_jpath *p, char **ret, ps_error **err)
{
	const char *s;
	char *copy;
	int r;

	r = want(o, json_type_string, p, "string", err);
	if (r < 0)
		return r;
	s = json_object_get_string(o);
	if ((size_t)json_object_get_string_len(o) != strlen(s))
		return ps_manifest_invalid(err, p, "must not contain NUL characters");
	copy = strdup(s);
	if (!copy)
		return ps_manifest_oom(err);
	free(*ret);
	*ret = copy;
	return 0;
}

static int get_strv(json_object *o, const ps_jpath *p, char ***ret, ps_error **err)
{
	char **v;
	size_t n;
	int r;

	r = want(o, json_type_array, p, "array of strings", err);
	if (r < 0)
		return r;
	n = json_object_array_length(o);
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return ps_manifest_oom(err);
	for (size_t i = 0; i < n; i++) {
		const ps_jpath pi = PS_JPATH_INDEX(p, i);

		r = get_string(json_object_array_get_idx(o, i), &pi, &v[i], err);
		if (r < 0) {
			ps_strv_free(v);
			return r;
		}
	}
	ps_strv_free(*ret);
	*ret = v;
	return 0;
}

static int get_int(json_object *o, const ps_jpath *p, int *ret, ps_error **err)
{
	int64_t v;
	int r;

	r = want(o, json_type_int, p, "integer", err);
	if (r < 0)
		return r;
	v = json_object_get_int64(o);
	if (v < INT_MIN || v > INT_MAX)
		return ps_manifest_invalid(err, p, "out of range");
	*ret = (int)v;
	return 0;
}

static int get_bool(json_object *o, const ps_jpath *p, bool *ret, ps_error **err)
{
	int r = want(o, json_type_boolean, p, "boolean", err);

	if (r < 0)
		return r;
	*ret = json_object_get_boolean(o);
	return 0;
}

static int get_duration(json_object *o, const ps_jpath *p, long long *ret, ps_error **err)
{
	ps_error *e = NULL;
	long long ms;
	int r;

	r = want(o, json_type_string, p, "duration string such as \"30s\"", err);
	if (r < 0)
		return r;
	r = ps_duration_parse(json_object_get_string(o), &ms, &e);
	if (r < 0) {
		if (e && e->kind != PS_ERR_INVALID) {
			/* Not the input's fault (ENOMEM): pass it on as it is. */
			if (err && !*err)
				*err = e;
			else
				ps_error_free(&e);
			return r;
		}
		r = ps_manifest_invalid(err, p, "%s", e && e->msg ? e->msg : "invalid duration");
		ps_error_free(&e);
		return r;
	}
	*ret = ms;
	return 0;
}

/* Get a required member or report it missing. */
static int required(json_object *o, const char *key, const ps_jpath *p, json_object **ret,
                    ps_error **err)
{
	if (!member(o, key, ret))
		return ps_manifest_invalid(err, p, "required field missing");
	return 0;
}

/* --- sections ----------------------------------------------------------------- */

static int parse_probe(json_object *o, const ps_jpath *p, ps_probe *pr, ps_error **err)
{
	static const char *const fields[] = { "exec", "httpGet", "tcpSocket", "initialDelaySeconds",
		                              "periodSeconds", "timeoutSeconds", "successThreshold",
		                              "failureThreshold", NULL };
	static const char *const exec_fields[] = { "command", NULL };
	static const char *const http_fields[] = { "path", "port", "host", NULL };
	static const char *const tcp_fields[] = { "port", "host", NULL };
	static const struct {
		const char *key;
		size_t offset;
	} ints[] = {
		{ "initialDelaySeconds", offsetof(ps_probe, initial_delay_s) },
		{ "periodSeconds", offsetof(ps_probe, period_s) },
		{ "timeoutSeconds", offsetof(ps_probe, timeout_s) },
		{ "successThreshold", offsetof(ps_probe, success_threshold) },
		{ "failureThreshold", offsetof(ps_probe, failure_threshold) },
	};
	json_object *exec = NULL, *http = NULL, *tcp = NULL, *h = NULL, *v;
	bool has_exec, has_http, has_tcp;
	int r;

	r = want(o, json_type_object, p, "object", err);
	if (r < 0)
		return r;
	r = check_fields(o, fields, p, err);
	if (r < 0)
		return r;

	has_exec = member(o, "exec", &exec);
	has_http = member(o, "httpGet", &http);
	has_tcp = member(o, "tcpSocket", &tcp);
	if (has_exec + has_http + has_tcp != 1)
		return ps_manifest_invalid(err, p, "exactly one handler (exec, httpGet or tcpSocket) is required, found %d",
		                           has_exec + has_http + has_tcp);

	if (has_exec) {
		const ps_jpath pe = PS_JPATH_KEY(p, "exec");
		const ps_jpath pc = PS_JPATH_KEY(&pe, "command");

		pr->kind = PS_PROBE_EXEC;
		r = want(exec, json_type_object, &pe, "object", err);
		if (r < 0)
			return r;
		r = check_fields(exec, exec_fields, &pe, err);
		if (r < 0)
			return r;
		r = required(exec, "command", &pc, &v, err);
		if (r < 0)
			return r;
		r = get_strv(v, &pc, &pr->command, err);
		if (r < 0)
			return r;
	} else {
		const ps_jpath ph = PS_JPATH_KEY(p, has_http ? "httpGet" : "tcpSocket");
		const ps_jpath pport = PS_JPATH_KEY(&ph, "port");
		const ps_jpath phost = PS_JPATH_KEY(&ph, "host");
		const ps_jpath ppath = PS_JPATH_KEY(&ph, "path");

		h = has_http ? http : tcp;
		pr->kind = has_http ? PS_PROBE_HTTP_GET : PS_PROBE_TCP_SOCKET;
		r = want(h, json_type_object, &ph, "object", err);
		if (r < 0)
			return r;
		r = check_fields(h, has_http ? http_fields : tcp_fields, &ph, err);
		if (r < 0)
			return r;
		r = required(h, "port", &pport, &v, err);
		if (r < 0)
			return r;
		r = get_int(v, &pport, &pr->port, err);
		if (r < 0)
			return r;
		if (member(h, "host", &v)) {
			r = get_string(v, &phost, &pr->host, err);
			if (r < 0)
				return r;
		}
		if (has_http) {
			if (member(h, "path", &v))
				r = get_string(v, &ppath, &pr->path, err);
			else if (!(pr->path = strdup("/")))
				r = ps_manifest_oom(err);
			if (r < 0)
				return r;
		}
	}

	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		const ps_jpath pi = PS_JPATH_KEY(p, ints[i].key);

		if (!member(o, ints[i].key, &v))
			continue;
		r = get_int(v, &pi, (int *)((char *)pr + ints[i].offset), err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_env(json_object *o, const ps_jpath *p, char ***ret, ps_error **err)
{
	char **v;
	size_t n = 0;
	int r;

	r = want(o, json_type_object, p, "object of strings", err);
	if (r < 0)
		return r;
	if (json_object_object_length(o) == 0)
		return 0; /* {} is the same as no env: NULL */
	v = calloc((size_t)json_object_object_length(o) + 1, sizeof(char *));
	if (!v)
		return ps_manifest_oom(err);
	json_object_object_foreach(o, key, val) {
		bool bad_name = !ps_env_name_is_valid(key, strlen(key));
		_cleanup_free_ char *q = NULL;
		const char *s;

		if (bad_name || !json_object_is_type(val, json_type_string) ||
		    (size_t)json_object_get_string_len(val) != strlen(json_object_get_string(val))) {
			q = ps_manifest_quote(key);
			r = !q ? ps_manifest_oom(err)
			       : bad_name ? ps_manifest_invalid(err, p, "invalid variable name %s (expected [A-Za-z_][A-Za-z0-9_]*)", q)
			                  : ps_manifest_invalid(err, p, "value of %s: expected string without NUL characters", q);
			ps_strv_free(v);
			return r;
		}
		s = json_object_get_string(val);
		if (asprintf(&v[n], "%s=%s", key, s) < 0) {
			v[n] = NULL;
			ps_strv_free(v);
			return ps_manifest_oom(err);
		}
		n++;
	}
	ps_strv_free(*ret);
	*ret = v;
	return 0;
}

static int parse_mounts(json_object *o, const ps_jpath *p, ps_app *a, ps_error **err)
{
	static const char *const fields[] = { "volume", "path", "readOnly", NULL };
	size_t n;
	int r;

	r = want(o, json_type_array, p, "array", err);
	if (r < 0)
		return r;
	n = json_object_array_length(o);
	if (n == 0)
		return 0;
	a->mounts = calloc(n, sizeof(ps_mount));
	if (!a->mounts)
		return ps_manifest_oom(err);
	a->n_mounts = n;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(o, i), *v;
		const ps_jpath pi = PS_JPATH_INDEX(p, i);
		const ps_jpath pv = PS_JPATH_KEY(&pi, "volume");
		const ps_jpath pp = PS_JPATH_KEY(&pi, "path");
		const ps_jpath pro = PS_JPATH_KEY(&pi, "readOnly");

		r = want(e, json_type_object, &pi, "object", err);
		if (r < 0)
			return r;
		r = check_fields(e, fields, &pi, err);
		if (r < 0)
			return r;
		r = required(e, "volume", &pv, &v, err);
		if (r >= 0)
			r = get_string(v, &pv, &a->mounts[i].volume, err);
		if (r >= 0)
			r = required(e, "path", &pp, &v, err);
		if (r >= 0)
			r = get_string(v, &pp, &a->mounts[i].path, err);
		if (r >= 0 && member(e, "readOnly", &v))
			r = get_bool(v, &pro, &a->mounts[i].read_only, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_backoff(json_object *o, const ps_jpath *p, ps_app *a, ps_error **err)
{
	static const char *const fields[] = { "initial", "max", NULL };
	const ps_jpath pi = PS_JPATH_KEY(p, "initial");
	const ps_jpath pm = PS_JPATH_KEY(p, "max");
	json_object *v;
	int r;

	r = want(o, json_type_object, p, "object", err);
	if (r < 0)
		return r;
	r = check_fields(o, fields, p, err);
	if (r < 0)
		return r;
	if (member(o, "initial", &v)) {
		r = get_duration(v, &pi, &a->backoff_initial_ms, err);
		if (r < 0)
			return r;
	}
	if (member(o, "max", &v)) {
		r = get_duration(v, &pm, &a->backoff_max_ms, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "capabilities", "seccompProfile", "noNewPrivileges", "readOnlyRootfs"
 * ("seccomp" is a plain string, checked by validation). */
static int parse_confinement(json_object *o, const ps_jpath *p, ps_app *a, ps_error **err)
{
	static const char *const cap_fields[] = { "add", "drop", NULL };
	const ps_jpath pc = PS_JPATH_KEY(p, "capabilities");
	const ps_jpath pca = PS_JPATH_KEY(&pc, "add");
	const ps_jpath pcd = PS_JPATH_KEY(&pc, "drop");
	const ps_jpath psp = PS_JPATH_KEY(p, "seccompProfile");
	const ps_jpath pnnp = PS_JPATH_KEY(p, "noNewPrivileges");
	const ps_jpath pro = PS_JPATH_KEY(p, "readOnlyRootfs");
	json_object *v, *e;
	int r;

	if (member(o, "capabilities", &v)) {
		r = want(v, json_type_object, &pc, "object", err);
		if (r >= 0)
			r = check_fields(v, cap_fields, &pc, err);
		if (r >= 0 && member(v, "add", &e))
			r = get_strv(e, &pca, &a->cap_add, err);
		if (r >= 0 && member(v, "drop", &e))
			r = get_strv(e, &pcd, &a->cap_drop, err);
		if (r < 0)
			return r;
	}
	if (member(o, "seccompProfile", &v)) {
		ps_sc_profile *prof = NULL;

		/* Checked for every capability set the app could have. */
		r = ps_sc_profile_from_json(v, ps_caps_all(), &psp, &prof, err);
		if (r < 0)
			return r;
		ps_sc_profile_free(prof);
		if (!(a->seccomp_profile = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN))))
			return ps_manifest_oom(err);
	}
	if (member(o, "noNewPrivileges", &v)) {
		r = get_bool(v, &pnnp, &a->no_new_privileges, err);
		if (r < 0)
			return r;
	}
	if (member(o, "readOnlyRootfs", &v)) {
		r = get_bool(v, &pro, &a->read_only_rootfs, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "logSize": "16Mi" or bytes, within PS_MANIFEST_LOG_SIZE_MIN..MAX. */
static int parse_log_size(json_object *o, const ps_jpath *p, ps_app *a, ps_error **err)
{
	long long v;

	if (json_object_is_type(o, json_type_int)) {
		v = json_object_get_int64(o);
	} else if (json_object_is_type(o, json_type_string)) {
		const char *s = json_object_get_string(o);
		int r = ps_quantity_parse_bytes(s, &v);
		if (r == -ERANGE)
			v = PS_MANIFEST_LOG_SIZE_MAX + 1;
		else if (r < 0) {
			_cleanup_free_ char *q = ps_manifest_quote(s);
			if (!q)
				return ps_manifest_oom(err);
			return ps_manifest_invalid(err, p, "bad size %s (expected bytes, or a number with Ki, Mi or Gi: \"16Mi\")", q);
		}
	} else {
		return ps_manifest_invalid(err, p, "expected a size such as \"16Mi\", or bytes");
	}
	if (v < PS_MANIFEST_LOG_SIZE_MIN || v > PS_MANIFEST_LOG_SIZE_MAX)
		return ps_manifest_invalid(err, p, "expected 4Ki to 1Gi");
	a->log_size = v;
	return 0;
}

/* "readyProtocols": ["pantavisor", "lxd"], each at most once. */
static int parse_ready_protocols(json_object *o, const ps_jpath *p, ps_app *a, ps_error **err)
{
	int r = want(o, json_type_array, p, "array of \"pantavisor\", \"lxd\"", err);
	if (r < 0)
		return r;
	a->ready_protocols = 0;
	for (size_t i = 0, n = json_object_array_length(o); i < n; i++) {
		const ps_jpath pi = PS_JPATH_INDEX(p, i);
		json_object *e = json_object_array_get_idx(o, i);
		ps_ready_protocol rp;

		if (!json_object_is_type(e, json_type_string) ||
		    ps_ready_protocol_from_name(json_object_get_string(e), &rp) < 0)
			return ps_manifest_invalid(err, &pi, "expected \"pantavisor\" or \"lxd\"");
		if (a->ready_protocols & rp)
			return ps_manifest_invalid(err, &pi, "\"%s\" given twice", ps_ready_protocol_name(rp));
		a->ready_protocols |= rp;
	}
	return 0;
}

static int parse_app(json_object *o, const ps_jpath *p, ps_app *a, ps_error **err)
{
	static const char *const fields[] = {
		"name", "image", "imageDigest", "exec", "env", "workingDir", "user", "group", "startGroup",
		"statusGoal", "goalTimeout", "onGoalTimeout", "restartPolicy", "restartBackoff",
		"watchdog", "mounts", "livenessProbe", "readinessProbe", "startupProbe",
		"capabilities", "seccomp", "seccompProfile", "noNewPrivileges", "readOnlyRootfs",
		"readyProtocols", "resources", "logSize", NULL,
	};
	static const struct {
		const char *key;
		size_t offset;
	} strings[] = {
		{ "imageDigest", offsetof(ps_app, image_digest) },
		{ "workingDir", offsetof(ps_app, working_dir) },
		{ "user", offsetof(ps_app, user) },
		{ "group", offsetof(ps_app, group) },
		{ "seccomp", offsetof(ps_app, seccomp) },
	}, probes[] = {
		{ "livenessProbe", offsetof(ps_app, liveness) },
		{ "readinessProbe", offsetof(ps_app, readiness) },
		{ "startupProbe", offsetof(ps_app, startup) },
	};
	const ps_jpath pname = PS_JPATH_KEY(p, "name");
	const ps_jpath pimage = PS_JPATH_KEY(p, "image");
	const ps_jpath pexec = PS_JPATH_KEY(p, "exec");
	const ps_jpath penv = PS_JPATH_KEY(p, "env");
	const ps_jpath psg = PS_JPATH_KEY(p, "startGroup");
	const ps_jpath pgoal = PS_JPATH_KEY(p, "statusGoal");
	const ps_jpath pgt = PS_JPATH_KEY(p, "goalTimeout");
	const ps_jpath pogt = PS_JPATH_KEY(p, "onGoalTimeout");
	const ps_jpath prp = PS_JPATH_KEY(p, "restartPolicy");
	const ps_jpath prb = PS_JPATH_KEY(p, "restartBackoff");
	const ps_jpath pwd = PS_JPATH_KEY(p, "watchdog");
	const ps_jpath pm = PS_JPATH_KEY(p, "mounts");
	const ps_jpath prdp = PS_JPATH_KEY(p, "readyProtocols");
	json_object *v;
	int r;

	r = want(o, json_type_object, p, "object", err);
	if (r < 0)
		return r;
	r = check_fields(o, fields, p, err);
	if (r < 0)
		return r;

	r = required(o, "name", &pname, &v, err);
	if (r < 0)
		return r;
	r = get_string(v, &pname, &a->name, err);
	if (r < 0)
		return r;
	r = required(o, "image", &pimage, &v, err);
	if (r < 0)
		return r;
	r = get_string(v, &pimage, &a->image, err);
	if (r < 0)
		return r;

	if (member(o, "exec", &v)) {
		r = get_strv(v, &pexec, &a->exec, err);
		if (r < 0)
			return r;
	}
	if (member(o, "env", &v)) {
		r = parse_env(v, &penv, &a->env, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
		const ps_jpath ps = PS_JPATH_KEY(p, strings[i].key);

		if (!member(o, strings[i].key, &v))
			continue;
		r = get_string(v, &ps, (char **)((char *)a + strings[i].offset), err);
		if (r < 0)
			return r;
	}
	if (member(o, "startGroup", &v)) {
		r = get_int(v, &psg, &a->group_index, err);
		if (r < 0)
			return r;
	}
	if (member(o, "statusGoal", &v)) {
		r = want(v, json_type_string, &pgoal, "one of \"MOUNTED\", \"STARTED\", \"READY\"", err);
		if (r >= 0 && ps_status_goal_from_name(json_object_get_string(v), &a->goal) < 0)
			r = ps_manifest_invalid(err, &pgoal, "expected one of \"MOUNTED\", \"STARTED\", \"READY\"");
		if (r < 0)
			return r;
	}
	if (member(o, "goalTimeout", &v)) {
		r = get_duration(v, &pgt, &a->goal_timeout_ms, err);
		if (r < 0)
			return r;
	}
	if (member(o, "onGoalTimeout", &v)) {
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		if (streq(s, "fail"))
			a->goal_timeout_ignore = false;
		else if (streq(s, "ignore"))
			a->goal_timeout_ignore = true;
		else
			return ps_manifest_invalid(err, &pogt, "expected \"fail\" or \"ignore\"");
	}
	if (member(o, "restartPolicy", &v)) {
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

		if (ps_restart_policy_from_name(s, &a->restart) < 0)
			return ps_manifest_invalid(err, &prp, "expected one of \"never\", \"on-failure\", \"always\"");
	}
	if (member(o, "restartBackoff", &v)) {
		r = parse_backoff(v, &prb, a, err);
		if (r < 0)
			return r;
	}
	if (member(o, "watchdog", &v)) {
		r = get_duration(v, &pwd, &a->watchdog_ms, err);
		if (r < 0)
			return r;
	}
	if (member(o, "readyProtocols", &v)) {
		r = parse_ready_protocols(v, &prdp, a, err);
		if (r < 0)
			return r;
	}
	if (member(o, "mounts", &v)) {
		r = parse_mounts(v, &pm, a, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		const ps_jpath pp = PS_JPATH_KEY(p, probes[i].key);

		if (!member(o, probes[i].key, &v))
			continue;
		r = parse_probe(v, &pp, (ps_probe *)((char *)a + probes[i].offset), err);
		if (r < 0)
			return r;
	}
	if (member(o, "logSize", &v)) {
		const ps_jpath pls = PS_JPATH_KEY(p, "logSize");

		r = parse_log_size(v, &pls, a, err);
		if (r < 0)
			return r;
	}
	if (member(o, "resources", &v)) {
		const ps_jpath pres = PS_JPATH_KEY(p, "resources");

		r = ps_resources_parse(v, &pres, &a->resources, err);
		if (r < 0)
			return r;
	}
	return parse_confinement(o, p, a, err);
}

static int parse_apps(json_object *o, const ps_jpath *p, ps_app **ret, size_t *ret_n, ps_error **err)
{
	size_t n;
	int r;

	r = want(o, json_type_array, p, "array of apps", err);
	if (r < 0)
		return r;
	n = json_object_array_length(o);
	if (n == 0)
		return 0;
	*ret = calloc(n, sizeof(ps_app));
	if (!*ret)
		return ps_manifest_oom(err);
	for (size_t i = 0; i < n; i++)
		ps_app_init(&(*ret)[i]);
	*ret_n = n; /* all initialised: the caller's free is safe from here on */
	for (size_t i = 0; i < n; i++) {
		const ps_jpath pi = PS_JPATH_INDEX(p, i);

		r = parse_app(json_object_array_get_idx(o, i), &pi, &(*ret)[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_volumes(json_object *o, const ps_jpath *p, ps_manifest *m, ps_error **err)
{
	static const char *const fields[] = { "name", "kind", "source", "readOnly", "suid", "dev", NULL };
	size_t n;
	int r;

	r = want(o, json_type_array, p, "array of volumes", err);
	if (r < 0)
		return r;
	n = json_object_array_length(o);
	if (n == 0)
		return 0;
	m->volumes = calloc(n, sizeof(ps_volume));
	if (!m->volumes)
		return ps_manifest_oom(err);
	m->n_volumes = n;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(o, i), *v;
		ps_volume *vol = &m->volumes[i];
		const ps_jpath pi = PS_JPATH_INDEX(p, i);
		const ps_jpath pn = PS_JPATH_KEY(&pi, "name");
		const ps_jpath pk = PS_JPATH_KEY(&pi, "kind");
		const ps_jpath ps = PS_JPATH_KEY(&pi, "source");
		const ps_jpath pro = PS_JPATH_KEY(&pi, "readOnly");
		const ps_jpath psu = PS_JPATH_KEY(&pi, "suid");
		const ps_jpath pdv = PS_JPATH_KEY(&pi, "dev");

		r = want(e, json_type_object, &pi, "object", err);
		if (r < 0)
			return r;
		r = check_fields(e, fields, &pi, err);
		if (r < 0)
			return r;
		r = required(e, "name", &pn, &v, err);
		if (r >= 0)
			r = get_string(v, &pn, &vol->name, err);
		if (r >= 0)
			r = required(e, "kind", &pk, &v, err);
		if (r >= 0)
			r = get_string(v, &pk, &vol->kind, err);
		if (r >= 0 && member(e, "source", &v))
			r = get_string(v, &ps, &vol->source, err);
		if (r >= 0 && member(e, "readOnly", &v))
			r = get_bool(v, &pro, &vol->read_only, err);
		if (r >= 0 && member(e, "suid", &v))
			r = get_bool(v, &psu, &vol->allow_suid, err);
		if (r >= 0 && member(e, "dev", &v))
			r = get_bool(v, &pdv, &vol->allow_dev, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_annotations(json_object *o, const ps_jpath *p, ps_manifest *m, ps_error **err)
{
	size_t n;
	int r;

	r = want(o, json_type_object, p, "object of strings", err);
	if (r < 0)
		return r;
	n = (size_t)json_object_object_length(o);
	if (n == 0)
		return 0;
	m->annotations = calloc(n, sizeof(ps_annotation));
	if (!m->annotations)
		return ps_manifest_oom(err);
	json_object_object_foreach(o, key, val) {
		ps_annotation *an = &m->annotations[m->n_annotations];

		if (!json_object_is_type(val, json_type_string) ||
		    (size_t)json_object_get_string_len(val) != strlen(json_object_get_string(val))) {
			_cleanup_free_ char *q = ps_manifest_quote(key);

			if (!q)
				return ps_manifest_oom(err);
			return ps_manifest_invalid(err, p, "value of %s: expected string without NUL characters", q);
		}
		an->key = strdup(key);
		an->value = strdup(json_object_get_string(val));
		m->n_annotations++;
		if (!an->key || !an->value)
			return ps_manifest_oom(err);
	}
	return 0;
}

static int parse_root(json_object *o, ps_manifest *m, ps_error **err)
{
	static const char *const fields[] = { "version", "name", "net", "annotations",
		                              "volumes", "initApps", "apps", "resources",
		                              "privateUsers", NULL };
	const ps_jpath pversion = PS_JPATH_KEY(NULL, "version");
	const ps_jpath pname = PS_JPATH_KEY(NULL, "name");
	const ps_jpath pnet = PS_JPATH_KEY(NULL, "net");
	const ps_jpath pann = PS_JPATH_KEY(NULL, "annotations");
	const ps_jpath pvols = PS_JPATH_KEY(NULL, "volumes");
	const ps_jpath pinit = PS_JPATH_KEY(NULL, "initApps");
	const ps_jpath papps = PS_JPATH_KEY(NULL, "apps");
	json_object *v;
	int r;

	r = want(o, json_type_object, NULL, "object", err);
	if (r < 0)
		return r;
	r = check_fields(o, fields, NULL, err);
	if (r < 0)
		return r;

	/* The version first: a future format may differ in everything else. */
	r = required(o, "version", &pversion, &v, err);
	if (r >= 0)
		r = get_int(v, &pversion, &m->version, err);
	if (r < 0)
		return r;
	if (m->version != PS_MANIFEST_VERSION)
		return ps_manifest_invalid(err, &pversion, "unsupported version %d (expected %d)",
		                           m->version, PS_MANIFEST_VERSION);

	if (member(o, "name", &v)) {
		r = get_string(v, &pname, &m->name, err);
		if (r < 0)
			return r;
	}
	if (member(o, "net", &v)) {
		r = get_string(v, &pnet, &m->net, err);
		if (r < 0)
			return r;
	}
	if (member(o, "annotations", &v)) {
		r = parse_annotations(v, &pann, m, err);
		if (r < 0)
			return r;
	}
	if (member(o, "volumes", &v)) {
		r = parse_volumes(v, &pvols, m, err);
		if (r < 0)
			return r;
	}
	if (member(o, "resources", &v)) {
		const ps_jpath pres = PS_JPATH_KEY(NULL, "resources");

		r = ps_resources_parse(v, &pres, &m->resources, err);
		if (r < 0)
			return r;
	}
	if (member(o, "privateUsers", &v)) {
		const ps_jpath ppu = PS_JPATH_KEY(NULL, "privateUsers");

		r = ps_private_users_parse(v, &ppu, &m->private_users, err);
		if (r < 0)
			return r;
	}
	if (member(o, "initApps", &v)) {
		r = parse_apps(v, &pinit, &m->init_apps, &m->n_init_apps, err);
		if (r < 0)
			return r;
	}
	r = required(o, "apps", &papps, &v, err);
	if (r >= 0)
		r = parse_apps(v, &papps, &m->apps, &m->n_apps, err);
	return r;
}

/* --- entry point ------------------------------------------------------------- */

static void offset_to_line_col(const char *s, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int syntax_error(ps_error **err, const char *json, size_t off, const char *what)
{
	size_t line, col;

	offset_to_line_col(json, off, &line, &col);
	return ps_manifest_invalid(err, NULL, "JSON syntax error at line %zu, column %zu: %s", line, col, what);
}

static int parse_json(const char *json, size_t len, json_object **ret, ps_error **err)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = NULL;
	_cleanup_json_ json_object *o = NULL;
	enum json_tokener_error jerr;
	size_t end;

	if (len > INT_MAX)
		return ps_manifest_invalid(err, NULL, "too large");
	tok = json_tokener_new();
	if (!tok)
		return ps_manifest_oom(err);
	/* Strict: no comments, trailing commas or data after the value. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

	o = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* A bare scalar ends only at a delimiter: feed the terminating NUL. */
		o = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
		if (jerr != json_tokener_success)
			return syntax_error(err, json, len, "unexpected end of input");
	}
	if (jerr != json_tokener_success)
		return syntax_error(err, json, end < len ? end : len, json_tokener_error_desc(jerr));
	/* The tokener stops at a NUL byte; anything after the value but
	 * whitespace is garbage. */
	while (end < len && (json[end] == ' ' || json[end] == '\t' || json[end] == '\n' || json[end] == '\r'))
		end++;
	if (end < len)
		return syntax_error(err, json, end, "trailing data after the JSON value");
	*ret = TAKE_PTR(o);
	return 0;
}

int ps_manifest_parse(const char *json, size_t len, ps_manifest **ret, ps_error **err)
{
	_cleanup_json_ json_object *o = NULL;
	_cleanup_(ps_manifest_freep) ps_manifest *m = NULL;
	int r;

	if (!json)
		return ps_manifest_invalid(err, NULL, "no input");
	r = parse_json(json, len, &o, err);
	if (r < 0)
		return r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return ps_manifest_oom(err);
	r = parse_root(o, m, err);
	if (r < 0)
		return r;
	if (!m->net && !(m->net = strdup("none")))
		return ps_manifest_oom(err);

	r = ps_manifest_validate(m, err);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(m);
	return 0;
}
