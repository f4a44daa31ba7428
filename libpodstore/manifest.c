/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pod manifest: lifecycle, names, error paths and loading. JSON reading is
 * in manifest-parse.c, writing in manifest-json.c, the semantic checks in
 * manifest-validate.c.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <podstore/fileio.h>
#include "manifest-internal.h"
#include <podstore/manifest.h>
#include "util.h"

/* --- small helpers ------------------------------------------------------- */


int ps_manifest_oom(ps_error **err)
{
	return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "out of memory");
}

char *ps_manifest_quote(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(s);
	char *out, *o;

	if (len > (SIZE_MAX - 3) / 4)
		return NULL;
	out = malloc(len * 4 + 3);
	if (!out)
		return NULL;
	o = out;
	*o++ = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			*o++ = '\\';
			*o++ = (char)*c;
		} else if (*c < 0x20 || *c >= 0x7f) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[*c >> 4];
			*o++ = hex[*c & 0xf];
		} else {
			*o++ = (char)*c;
		}
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

/* Render p into a malloc'd string; "(root)" for the root. */
static char *jpath_render(const ps_jpath *p)
{
	size_t len = 0, n = 0;
	char *buf, *end;

	if (!p)
		return strdup("(root)");

	/* Pass 1: length. Pass 2: fill from the end, walking up the chain. */
	for (const ps_jpath *i = p; i; i = i->up) {
		if (i->key)
			len += strlen(i->key) + (i->up ? 1 : 0);
		else
			len += (size_t)snprintf(NULL, 0, "[%zu]", i->index);
		n++;
	}
	buf = malloc(len + 1);
	if (!buf)
		return NULL;
	end = buf + len;
	*end = '\0';
	for (const ps_jpath *i = p; i; i = i->up) {
		if (i->key) {
			size_t kl = strlen(i->key);

			end -= kl;
			memcpy(end, i->key, kl);
			if (i->up)
				*--end = '.';
		} else {
			char tmp[32];
			int tl = snprintf(tmp, sizeof(tmp), "[%zu]", i->index);

			end -= tl;
			memcpy(end, tmp, (size_t)tl);
		}
	}
	return buf;
}

int ps_manifest_invalid(ps_error **err, const ps_jpath *p, const char *fmt, ...)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int r;

	/* Nothing to fill: skip the formatting, keep the return value. */
	if (!err || *err)
		return -EINVAL;

	path = jpath_render(p);
	if (!path)
		return ps_manifest_oom(err);
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL;
		return ps_manifest_oom(err);
	}
	return ps_error_set(err, PS_ERR_INVALID, 0, "%s: %s", path, msg);
}

bool ps_manifest_name_is_valid(const char *s)
{
	size_t n;

	if (!s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (n = 1; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return n <= PS_NAME_MAX;
}

bool ps_env_name_is_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static const char *const goal_names[] = {
	[PS_GOAL_MOUNTED] = "MOUNTED",
	[PS_GOAL_STARTED] = "STARTED",
	[PS_GOAL_READY] = "READY",
};

static const char *const restart_names[] = {
	[PS_RESTART_NEVER] = "never",
	[PS_RESTART_ON_FAILURE] = "on-failure",
	[PS_RESTART_ALWAYS] = "always",
};

const char *ps_status_goal_name(ps_status_goal g)
{
	if ((unsigned)g >= ARRAY_SIZE(goal_names))
		return NULL;
	return goal_names[g];
}

int ps_status_goal_from_name(const char *s, ps_status_goal *ret)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(goal_names); i++)
		if (streq(s, goal_names[i])) {
			*ret = (ps_status_goal)i;
			return 0;
		}
	return -EINVAL;
}

const char *ps_restart_policy_name(ps_restart_policy r)
{
	if ((unsigned)r >= ARRAY_SIZE(restart_names))
		return NULL;
	return restart_names[r];
}

int ps_restart_policy_from_name(const char *s, ps_restart_policy *ret)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(restart_names); i++)
		if (streq(s, restart_names[i])) {
			*ret = (ps_restart_policy)i;
			return 0;
		}
	return -EINVAL;
}

const char *ps_ready_protocol_name(ps_ready_protocol p)
{
	switch (p) {
	case PS_READY_PANTAVISOR:
		return "pantavisor";
	case PS_READY_LXD:
		return "lxd";
	}
	return NULL;
}

int ps_ready_protocol_from_name(const char *s, ps_ready_protocol *ret)
{
	if (s && streq(s, "pantavisor"))
		*ret = PS_READY_PANTAVISOR;
	else if (s && streq(s, "lxd"))
		*ret = PS_READY_LXD;
	else
		return -EINVAL;
	return 0;
}

/* --- lifecycle ------------------------------------------------------------ */

void ps_probe_init(ps_probe *p)
{
	*p = (ps_probe){
		.kind = PS_PROBE_NONE,
		.initial_delay_s = PS_PROBE_DEFAULT_DELAY,
		.period_s = PS_PROBE_DEFAULT_PERIOD,
		.timeout_s = PS_PROBE_DEFAULT_TIMEOUT,
		.success_threshold = PS_PROBE_DEFAULT_SUCCESS,
		.failure_threshold = PS_PROBE_DEFAULT_FAILURE,
	};
}

void ps_probe_clear(ps_probe *p)
{
	ps_strv_free(p->command);
	free(p->host);
	free(p->path);
	*p = (ps_probe){ 0 };
}

void ps_app_init(ps_app *a)
{
	*a = (ps_app){
		.goal = PS_GOAL_STARTED,
		.goal_timeout_ms = PS_DEFAULT_GOAL_TIMEOUT_MS,
		.restart = PS_RESTART_NEVER,
		.backoff_initial_ms = PS_DEFAULT_BACKOFF_INITIAL_MS,
		.backoff_max_ms = PS_DEFAULT_BACKOFF_MAX_MS,
		.no_new_privileges = true,
	};
	ps_probe_init(&a->liveness);
	ps_probe_init(&a->readiness);
	ps_probe_init(&a->startup);
}

void ps_app_clear(ps_app *a)
{
	free(a->name);
	free(a->image);
	free(a->image_digest);
	ps_strv_free(a->exec);
	ps_strv_free(a->env);
	free(a->working_dir);
	free(a->user);
	free(a->group);
	ps_probe_clear(&a->liveness);
	ps_probe_clear(&a->readiness);
	ps_probe_clear(&a->startup);
	for (size_t i = 0; i < a->n_mounts; i++) {
		free(a->mounts[i].volume);
		free(a->mounts[i].path);
	}
	free(a->mounts);
	ps_strv_free(a->cap_add);
	ps_strv_free(a->cap_drop);
	free(a->seccomp);
	free(a->seccomp_profile);
	*a = (ps_app){ 0 };
}

void ps_manifest_free(ps_manifest *m)
{
	if (!m)
		return;
	free(m->name);
	free(m->net);
	for (size_t i = 0; i < m->n_init_apps; i++)
		ps_app_clear(&m->init_apps[i]);
	free(m->init_apps);
	for (size_t i = 0; i < m->n_apps; i++)
		ps_app_clear(&m->apps[i]);
	free(m->apps);
	for (size_t i = 0; i < m->n_volumes; i++) {
		free(m->volumes[i].name);
		free(m->volumes[i].kind);
		free(m->volumes[i].source);
	}
	free(m->volumes);
	for (size_t i = 0; i < m->n_annotations; i++) {
		free(m->annotations[i].key);
		free(m->annotations[i].value);
	}
	free(m->annotations);
	ps_ports_free(m->ports, m->n_ports);
	free(m);
}

int ps_manifest_new(ps_manifest **ret, ps_error **err)
{
	ps_manifest *m = calloc(1, sizeof(*m));

	if (!m)
		return ps_manifest_oom(err);
	m->version = PS_MANIFEST_VERSION;
	m->net = strdup("none");
	if (!m->net) {
		free(m);
		return ps_manifest_oom(err);
	}
	*ret = m;
	return 0;
}

ps_app *ps_manifest_add_app(ps_manifest *m, bool init, const char *name)
{
	ps_app **v = init ? &m->init_apps : &m->apps;
	size_t *n = init ? &m->n_init_apps : &m->n_apps;
	_cleanup_free_ char *copy = NULL;
	ps_app *nv;

	if (name) {
		copy = strdup(name);
		if (!copy)
			return NULL;
	}
	if (*n >= SIZE_MAX / sizeof(ps_app) - 1)
		return NULL;
	nv = realloc(*v, (*n + 1) * sizeof(ps_app));
	if (!nv)
		return NULL;
	*v = nv;
	ps_app_init(&nv[*n]);
	nv[*n].name = TAKE_PTR(copy);
	return &nv[(*n)++];
}

/* --- loading -------------------------------------------------------------- */

int ps_manifest_load_at(int pod_fd, ps_manifest **ret, ps_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = ps_read_file_at(pod_fd, "manifest", PS_MANIFEST_MAX_SIZE, &buf, &len, err);
	if (r == -ENOENT && (!err || !*err))
		return ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "manifest");
	if (r < 0)
		return r; /* "open manifest: …" / "read manifest: …" already */
	/* What a power cut can leave of a manifest `run` wrote without an
	 * fsync (markers.h): say so rather than "JSON syntax error". */
	if (len == 0)
		return ps_error_set(err, PS_ERR_INVALID, 0,
		                    "manifest is empty (torn by a crash or power cut)");
	r = ps_manifest_parse(buf, len, ret, err);
	if (r < 0 && err && *err)
		ps_error_prefix(err, r, "manifest");
	return r < 0 ? r : 0;
}
