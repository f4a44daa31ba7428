/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ps_manifest_validate(): the semantic checks of a manifest (names, paths,
 * ranges, references between apps and volumes). ps_manifest_parse() runs it
 * after the JSON was read; code that builds or changes a manifest runs it
 * itself, and gets the same messages with the same JSON paths.
 */

#include <errno.h>
#include <string.h>

#include "manifest-internal.h"
#include <podstore/manifest.h>
#include "security.h"
#include "util.h"

static bool path_is_absolute(const char *s)
{
	return s && s[0] == '/';
}

/* Absolute, and no ".." component: a mount point must not climb out. */
static bool path_is_absolute_clean(const char *s)
{
	if (!path_is_absolute(s))
		return false;
	for (const char *c = s; (c = strstr(c, "..")); c += 2)
		if (c[-1] == '/' && (c[2] == '/' || c[2] == '\0'))
			return false;
	return true;
}

static int validate_strv_argv(char *const *v, const ps_jpath *p, ps_error **err)
{
	if (ps_strv_length(v) == 0)
		return ps_manifest_invalid(err, p, "must not be empty");
	if (v[0][0] == '\0') {
		const ps_jpath p0 = PS_JPATH_INDEX(p, 0);

		return ps_manifest_invalid(err, &p0, "must not be empty");
	}
	return 0;
}

static int validate_probe(const ps_probe *pr, bool init, bool success_must_be_1,
                          const char *what, const ps_jpath *p, ps_error **err)
{
	int r;

	if (pr->kind == PS_PROBE_NONE)
		return 0;
	if (init)
		return ps_manifest_invalid(err, p, "not allowed for init apps");

	switch (pr->kind) {
	case PS_PROBE_EXEC: {
		const ps_jpath pe = PS_JPATH_KEY(p, "exec");
		const ps_jpath pc = PS_JPATH_KEY(&pe, "command");

		r = validate_strv_argv(pr->command, &pc, err);
		if (r < 0)
			return r;
		break;
	}
	case PS_PROBE_HTTP_GET:
	case PS_PROBE_TCP_SOCKET: {
		const ps_jpath ph = PS_JPATH_KEY(p, pr->kind == PS_PROBE_HTTP_GET ? "httpGet" : "tcpSocket");
		const ps_jpath pport = PS_JPATH_KEY(&ph, "port");
		const ps_jpath phost = PS_JPATH_KEY(&ph, "host");
		const ps_jpath ppath = PS_JPATH_KEY(&ph, "path");

		if (pr->port < 1 || pr->port > 65535)
			return ps_manifest_invalid(err, &pport, "must be between 1 and 65535");
		if (pr->host && pr->host[0] == '\0')
			return ps_manifest_invalid(err, &phost, "must not be empty");
		if (pr->kind == PS_PROBE_HTTP_GET && pr->path && pr->path[0] != '/')
			return ps_manifest_invalid(err, &ppath, "must start with \"/\"");
		if (pr->kind == PS_PROBE_TCP_SOCKET && pr->path)
			return ps_manifest_invalid(err, &ppath, "only allowed for httpGet");
		break;
	}
	default:
		return ps_manifest_invalid(err, p, "invalid probe kind %d", (int)pr->kind);
	}

	{
		const ps_jpath pd = PS_JPATH_KEY(p, "initialDelaySeconds");
		const ps_jpath pp = PS_JPATH_KEY(p, "periodSeconds");
		const ps_jpath pt = PS_JPATH_KEY(p, "timeoutSeconds");
		const ps_jpath ps = PS_JPATH_KEY(p, "successThreshold");
		const ps_jpath pf = PS_JPATH_KEY(p, "failureThreshold");

		if (pr->initial_delay_s < 0)
			return ps_manifest_invalid(err, &pd, "must not be negative");
		if (pr->period_s < 1)
			return ps_manifest_invalid(err, &pp, "must be at least 1");
		if (pr->timeout_s < 1)
			return ps_manifest_invalid(err, &pt, "must be at least 1");
		if (pr->success_threshold < 1)
			return ps_manifest_invalid(err, &ps, "must be at least 1");
		if (success_must_be_1 && pr->success_threshold != 1)
			return ps_manifest_invalid(err, &ps, "must be 1 for %s probes", what);
		if (pr->failure_threshold < 1)
			return ps_manifest_invalid(err, &pf, "must be at least 1");
	}
	return 0;
}

static const ps_volume *find_volume(const ps_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_volumes; i++)
		if (m->volumes[i].name && streq(m->volumes[i].name, name))
			return &m->volumes[i];
	return NULL;
}

/* Is name used by an app before (list, index)? Init apps come first. */
static bool app_name_seen(const ps_manifest *m, bool init, size_t index, const char *name)
{
	for (size_t i = 0; i < (init ? index : m->n_init_apps); i++)
		if (m->init_apps[i].name && streq(m->init_apps[i].name, name))
			return true;
	for (size_t i = 0; !init && i < index; i++)
		if (m->apps[i].name && streq(m->apps[i].name, name))
			return true;
	return false;
}

static int validate_env(char *const *env, const ps_jpath *p, ps_error **err)
{
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		size_t klen = eq ? (size_t)(eq - env[i]) : strlen(env[i]);

		if (!eq || !ps_env_name_is_valid(env[i], klen)) {
			_cleanup_free_ char *q = ps_manifest_quote(env[i]);

			if (!q)
				return ps_manifest_oom(err);
			return ps_manifest_invalid(err, p, "invalid variable %s (expected NAME=VALUE, NAME [A-Za-z_][A-Za-z0-9_]*)", q);
		}
		/* JSON objects cannot carry a key twice; keep the struct in step. */
		for (size_t j = 0; j < i; j++)
			if (strncmp(env[j], env[i], klen + 1) == 0) {
				_cleanup_free_ char *k = strndup(env[i], klen);
				_cleanup_free_ char *q = k ? ps_manifest_quote(k) : NULL;

				if (!q)
					return ps_manifest_oom(err);
				return ps_manifest_invalid(err, p, "duplicate variable %s", q);
			}
	}
	return 0;
}

static int validate_caps(char *const *v, const ps_jpath *p, ps_error **err)
{
	for (size_t i = 0; v && v[i]; i++) {
		const ps_jpath pi = PS_JPATH_INDEX(p, i);

		if (ps_cap_from_name(v[i]) == -1) {
			_cleanup_free_ char *q = ps_manifest_quote(v[i]);
			return ps_manifest_invalid(err, &pi, "unknown capability %s (expected a name such as "
			                                     "\"CAP_NET_ADMIN\", or \"ALL\")", q ? q : "?");
		}
	}
	return 0;
}

static int validate_confinement(const ps_app *a, const ps_jpath *p, ps_error **err)
{
	const ps_jpath pc = PS_JPATH_KEY(p, "capabilities");
	const ps_jpath pca = PS_JPATH_KEY(&pc, "add");
	const ps_jpath pcd = PS_JPATH_KEY(&pc, "drop");
	const ps_jpath psc = PS_JPATH_KEY(p, "seccomp");
	const ps_jpath psp = PS_JPATH_KEY(p, "seccompProfile");
	int r;

	r = validate_caps(a->cap_add, &pca, err);
	if (r >= 0)
		r = validate_caps(a->cap_drop, &pcd, err);
	if (r < 0)
		return r;
	if (a->seccomp && !streq(a->seccomp, "default") && !streq(a->seccomp, "unconfined") &&
	    !path_is_absolute(a->seccomp))
		return ps_manifest_invalid(err, &psc, "expected \"default\", \"unconfined\" or the absolute "
		                                      "path of a seccomp profile");
	if (a->seccomp_profile && a->seccomp &&
	    (streq(a->seccomp, "default") || streq(a->seccomp, "unconfined")))
		return ps_manifest_invalid(err, &psp, "not with \"seccomp\": \"%s\"", a->seccomp);
	return 0;
}

static int validate_app(const ps_manifest *m, const ps_app *a, bool init, size_t index,
                        const ps_jpath *p, ps_error **err)
{
	const ps_jpath pname = PS_JPATH_KEY(p, "name");
	const ps_jpath pimage = PS_JPATH_KEY(p, "image");
	const ps_jpath pexec = PS_JPATH_KEY(p, "exec");
	const ps_jpath penv = PS_JPATH_KEY(p, "env");
	const ps_jpath pwd = PS_JPATH_KEY(p, "workingDir");
	const ps_jpath puser = PS_JPATH_KEY(p, "user");
	const ps_jpath pgroup = PS_JPATH_KEY(p, "group");
	const ps_jpath psg = PS_JPATH_KEY(p, "startGroup");
	const ps_jpath pgoal = PS_JPATH_KEY(p, "statusGoal");
	const ps_jpath pgt = PS_JPATH_KEY(p, "goalTimeout");
	const ps_jpath prp = PS_JPATH_KEY(p, "restartPolicy");
	const ps_jpath prb = PS_JPATH_KEY(p, "restartBackoff");
	const ps_jpath prbi = PS_JPATH_KEY(&prb, "initial");
	const ps_jpath prbm = PS_JPATH_KEY(&prb, "max");
	const ps_jpath pwatch = PS_JPATH_KEY(p, "watchdog");
	const ps_jpath prdp = PS_JPATH_KEY(p, "readyProtocols");
	const ps_jpath pmounts = PS_JPATH_KEY(p, "mounts");
	const ps_jpath pl = PS_JPATH_KEY(p, "livenessProbe");
	const ps_jpath pr = PS_JPATH_KEY(p, "readinessProbe");
	const ps_jpath ps = PS_JPATH_KEY(p, "startupProbe");
	int r;

	if (!a->name)
		return ps_manifest_invalid(err, &pname, "required field missing");
	if (!ps_manifest_name_is_valid(a->name)) {
		_cleanup_free_ char *q = ps_manifest_quote(a->name);

		if (!q)
			return ps_manifest_oom(err);
		return ps_manifest_invalid(err, &pname,
		                           "invalid app name %s (expected [a-z0-9][a-z0-9-]*, at most 63 characters)", q);
	}
	if (app_name_seen(m, init, index, a->name))
		return ps_manifest_invalid(err, &pname, "duplicate app name \"%s\"", a->name);
	/* An app's cgroup is a dir named after it in the pod's, and every
	 * cgroup v1 dir has a file "tasks" (the other files have a dot or an
	 * underscore, which app names cannot). */
	if (streq(a->name, "tasks"))
		return ps_manifest_invalid(err, &pname,
		                           "app name \"tasks\" is reserved (a file of every cgroup v1 directory)");

	if (!a->image)
		return ps_manifest_invalid(err, &pimage, "required field missing");
	if (a->image[0] == '\0')
		return ps_manifest_invalid(err, &pimage, "must not be empty");
	if (a->image_digest) {
		const ps_jpath pdigest = PS_JPATH_KEY(p, "imageDigest");
		const char *h = a->image_digest;
		bool ok = strncmp(h, "sha256:", 7) == 0 && strlen(h) == 7 + 64;
		for (h += 7; ok && *h; h++)
			ok = (*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f');
		if (!ok)
			return ps_manifest_invalid(err, &pdigest, "expected \"sha256:\" and 64 hex digits");
	}

	if (a->exec) {
		r = validate_strv_argv(a->exec, &pexec, err);
		if (r < 0)
			return r;
	}
	r = validate_env(a->env, &penv, err);
	if (r < 0)
		return r;
	if (a->working_dir && !path_is_absolute(a->working_dir))
		return ps_manifest_invalid(err, &pwd, "must be an absolute path");
	/* "user:group" as in an OCI image config's User, unless "group" is set. */
	if (a->user) {
		const char *colon = strchr(a->user, ':');

		if (a->user[0] == '\0' || a->user[0] == ':' || (colon && (colon[1] == '\0' || strchr(colon + 1, ':'))))
			return ps_manifest_invalid(err, &puser, "must be a user name or uid, optionally followed by \":group\"");
		if (colon && a->group)
			return ps_manifest_invalid(err, &puser, "must not name a group when \"group\" is set");
	}
	if (a->group && (a->group[0] == '\0' || strchr(a->group, ':')))
		return ps_manifest_invalid(err, &pgroup, "must be a non-empty group name or gid without \":\"");

	if (a->group_index < 0)
		return ps_manifest_invalid(err, &psg, "must not be negative");
	if (!ps_status_goal_name(a->goal))
		return ps_manifest_invalid(err, &pgoal, "invalid status goal %d", (int)a->goal);
	if (a->goal_timeout_ms < 0)
		return ps_manifest_invalid(err, &pgt, "must not be negative");
	if (!ps_restart_policy_name(a->restart))
		return ps_manifest_invalid(err, &prp, "invalid restart policy %d", (int)a->restart);
	if (a->backoff_initial_ms <= 0)
		return ps_manifest_invalid(err, &prbi, "must be positive");
	if (a->backoff_max_ms < a->backoff_initial_ms)
		return ps_manifest_invalid(err, &prbm, "must not be less than initial");
	if (a->watchdog_ms < 0)
		return ps_manifest_invalid(err, &pwatch, "must not be negative");
	if (a->ready_protocols & ~(unsigned)PS_READY_PROTOCOLS_ALL)
		return ps_manifest_invalid(err, &prdp, "unknown protocol bits %#x", a->ready_protocols);
	if (a->log_size && (a->log_size < PS_MANIFEST_LOG_SIZE_MIN || a->log_size > PS_MANIFEST_LOG_SIZE_MAX)) {
		const ps_jpath pls = PS_JPATH_KEY(p, "logSize");
		return ps_manifest_invalid(err, &pls, "expected 4Ki to 1Gi");
	}

	/* Init apps run to completion one after another before the groups. */
	if (init) {
		if (a->group_index != 0)
			return ps_manifest_invalid(err, &psg, "not allowed for init apps");
		if (a->goal != PS_GOAL_STARTED)
			return ps_manifest_invalid(err, &pgoal, "not allowed for init apps");
		if (a->restart == PS_RESTART_ALWAYS)
			return ps_manifest_invalid(err, &prp, "\"always\" not allowed for init apps");
		/* an init app has no readiness to signal: it runs to completion */
		if (a->ready_protocols)
			return ps_manifest_invalid(err, &prdp, "not allowed for init apps");
	}

	r = validate_confinement(a, p, err);
	if (r < 0)
		return r;
	r = validate_probe(&a->liveness, init, true, "liveness", &pl, err);
	if (r < 0)
		return r;
	r = validate_probe(&a->readiness, init, false, "readiness", &pr, err);
	if (r < 0)
		return r;
	r = validate_probe(&a->startup, init, true, "startup", &ps, err);
	if (r < 0)
		return r;

	if (a->n_mounts > 0 && !a->mounts)
		return ps_manifest_invalid(err, &pmounts, "n_mounts without mounts");
	for (size_t i = 0; i < a->n_mounts; i++) {
		const ps_mount *mt = &a->mounts[i];
		const ps_jpath pm = PS_JPATH_INDEX(&pmounts, i);
		const ps_jpath pv = PS_JPATH_KEY(&pm, "volume");
		const ps_jpath pp = PS_JPATH_KEY(&pm, "path");

		if (!mt->volume)
			return ps_manifest_invalid(err, &pv, "required field missing");
		if (!find_volume(m, mt->volume)) {
			_cleanup_free_ char *q = ps_manifest_quote(mt->volume);

			if (!q)
				return ps_manifest_oom(err);
			return ps_manifest_invalid(err, &pv, "no volume named %s is declared", q);
		}
		if (!mt->path)
			return ps_manifest_invalid(err, &pp, "required field missing");
		if (!path_is_absolute_clean(mt->path))
			return ps_manifest_invalid(err, &pp, "must be an absolute path without \"..\" components");
		for (size_t j = 0; j < i; j++)
			if (streq(a->mounts[j].path, mt->path))
				return ps_manifest_invalid(err, &pp, "duplicate mount path");
	}
	return 0;
}

int ps_manifest_validate(const ps_manifest *m, ps_error **err)
{
	const ps_jpath pversion = PS_JPATH_KEY(NULL, "version");
	const ps_jpath pname = PS_JPATH_KEY(NULL, "name");
	const ps_jpath pnet = PS_JPATH_KEY(NULL, "net");
	const ps_jpath pann = PS_JPATH_KEY(NULL, "annotations");
	const ps_jpath pvols = PS_JPATH_KEY(NULL, "volumes");
	const ps_jpath pinit = PS_JPATH_KEY(NULL, "initApps");
	const ps_jpath papps = PS_JPATH_KEY(NULL, "apps");
	int r;

	if (!m)
		return ps_manifest_invalid(err, NULL, "no manifest");
	if (m->version != PS_MANIFEST_VERSION)
		return ps_manifest_invalid(err, &pversion, "unsupported version %d (expected %d)",
		                           m->version, PS_MANIFEST_VERSION);
	if (m->name && !ps_manifest_name_is_valid(m->name)) {
		_cleanup_free_ char *q = ps_manifest_quote(m->name);

		if (!q)
			return ps_manifest_oom(err);
		return ps_manifest_invalid(err, &pname,
		                           "invalid pod name %s (expected [a-z0-9][a-z0-9-]*, at most 63 characters)", q);
	}
	(void)pnet;
	{
		const ps_jpath pports = PS_JPATH_KEY(NULL, "ports");
		if ((r = ps_ports_check(m, &pports, err)) < 0)
			return r;
	}
	{
		const ps_jpath ppu = PS_JPATH_KEY(NULL, "privateUsers");
		if ((r = ps_private_users_check(&m->private_users, &ppu, err)) < 0)
			return r;
	}

	for (size_t i = 0; i < m->n_annotations; i++) {
		if (!m->annotations[i].key || m->annotations[i].key[0] == '\0')
			return ps_manifest_invalid(err, &pann, "keys must not be empty");
		if (!m->annotations[i].value)
			return ps_manifest_invalid(err, &pann, "annotation without value");
		for (size_t j = 0; j < i; j++)
			if (streq(m->annotations[j].key, m->annotations[i].key))
				return ps_manifest_invalid(err, &pann, "duplicate key");
	}

	for (size_t i = 0; i < m->n_volumes; i++) {
		const ps_volume *v = &m->volumes[i];
		const ps_jpath pv = PS_JPATH_INDEX(&pvols, i);
		const ps_jpath pvname = PS_JPATH_KEY(&pv, "name");
		const ps_jpath pkind = PS_JPATH_KEY(&pv, "kind");
		const ps_jpath psrc = PS_JPATH_KEY(&pv, "source");

		if (!v->name)
			return ps_manifest_invalid(err, &pvname, "required field missing");
		if (!ps_manifest_name_is_valid(v->name)) {
			_cleanup_free_ char *q = ps_manifest_quote(v->name);

			if (!q)
				return ps_manifest_oom(err);
			return ps_manifest_invalid(err, &pvname,
			                           "invalid volume name %s (expected [a-z0-9][a-z0-9-]*, at most 63 characters)", q);
		}
		for (size_t j = 0; j < i; j++)
			if (streq(m->volumes[j].name, v->name))
				return ps_manifest_invalid(err, &pvname, "duplicate volume name \"%s\"", v->name);
		if (!v->kind)
			return ps_manifest_invalid(err, &pkind, "required field missing");
		if (streq(v->kind, "host")) {
			if (!v->source)
				return ps_manifest_invalid(err, &psrc, "required for host volumes");
			if (!path_is_absolute(v->source))
				return ps_manifest_invalid(err, &psrc, "must be an absolute path");
		} else if (streq(v->kind, "empty")) {
			if (v->source)
				return ps_manifest_invalid(err, &psrc, "not allowed for empty volumes");
		} else {
			return ps_manifest_invalid(err, &pkind, "expected \"host\" or \"empty\"");
		}
	}

	{
		const ps_jpath pres = PS_JPATH_KEY(NULL, "resources");

		r = ps_resources_check(&m->resources, &pres, err);
		if (r < 0)
			return r;
	}
	if (m->n_init_apps > 0 && !m->init_apps)
		return ps_manifest_invalid(err, &pinit, "n_init_apps without init_apps");
	for (size_t i = 0; i < m->n_init_apps; i++) {
		const ps_jpath pa = PS_JPATH_INDEX(&pinit, i);

		const ps_jpath pres = PS_JPATH_KEY(&pa, "resources");

		r = validate_app(m, &m->init_apps[i], true, i, &pa, err);
		if (r >= 0)
			r = ps_resources_check(&m->init_apps[i].resources, &pres, err);
		if (r < 0)
			return r;
	}
	if (m->n_apps == 0 || !m->apps)
		return ps_manifest_invalid(err, &papps, "at least one app is required");
	for (size_t i = 0; i < m->n_apps; i++) {
		const ps_jpath pa = PS_JPATH_INDEX(&papps, i);

		const ps_jpath pres = PS_JPATH_KEY(&pa, "resources");

		r = validate_app(m, &m->apps[i], false, i, &pa, err);
		if (r >= 0)
			r = ps_resources_check(&m->apps[i].resources, &pres, err);
		if (r < 0)
			return r;
	}
	return 0;
}
