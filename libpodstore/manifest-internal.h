/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_MANIFEST_INTERNAL_H
#define PODSTORE_MANIFEST_INTERNAL_H

/*
 * Shared between manifest.c (lifecycle, validation), manifest-parse.c and
 * manifest-json.c. Not installed.
 *
 * Error messages start with the JSON path of the offence. The path is a chain
 * of stack-allocated ps_jpath links, rendered only when an error is reported,
 * so the happy path allocates nothing for it. A NULL path is the root and
 * renders as "(root)".
 */

#include <stdbool.h>
#include <stddef.h>
#include <podstore/error.h>
#include <podstore/manifest.h>

typedef struct ps_jpath {
	const struct ps_jpath *up;
	const char *key; /* member name; NULL for an array element */
	size_t index;    /* array index when key is NULL */
} ps_jpath;

#define PS_JPATH_KEY(parent, k) { .up = (parent), .key = (k) }
#define PS_JPATH_INDEX(parent, i) { .up = (parent), .key = NULL, .index = (i) }

/* PS_ERR_INVALID with "<path>: <message>"; ENOMEM while formatting becomes
 * PS_ERR_FAILED. Returns the negative error code. */
int ps_manifest_invalid(ps_error **err, const ps_jpath *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* PS_ERR_FAILED/ENOMEM. */
int ps_manifest_oom(ps_error **err);

/* s as a double-quoted string with quotes, backslashes and non-printable bytes
 * escaped, safe to put into a message a terminal will show. NULL on ENOMEM. */
char *ps_manifest_quote(const char *s);

/* [a-z0-9][a-z0-9-]*, at most 63 characters: pod, app and volume names. */
bool ps_manifest_name_is_valid(const char *s);

/* [A-Za-z_][A-Za-z0-9_]*, the first len bytes of s. */
bool ps_env_name_is_valid(const char *s, size_t len);

int ps_restart_policy_from_name(const char *s, ps_restart_policy *ret);

/* Probe defaults (Kubernetes): kind NONE, delay 0, period 10, timeout 1,
 * success 1, failure 3. */
void ps_probe_init(ps_probe *p);
/* App defaults: goal STARTED, goal timeout 30s, backoff 10s..5m, probes NONE. */
void ps_app_init(ps_app *a);
/* Free what a (or p) owns and leave it zeroed. */
void ps_app_clear(ps_app *a);
void ps_probe_clear(ps_probe *p);

/* manifest-resources.c: "resources" of an app or the pod. */
struct json_object;
int ps_resources_parse(struct json_object *o, const ps_jpath *p, ps_resources *ret, ps_error **err);
int ps_resources_check(const ps_resources *r, const ps_jpath *p, ps_error **err);
/* NULL on ENOMEM. */
struct json_object *ps_resources_to_json(const ps_resources *r);

/* manifest-userns.c: "privateUsers" of the pod. */
int ps_private_users_parse(struct json_object *o, const ps_jpath *p, ps_private_users *ret, ps_error **err);
int ps_private_users_check(const ps_private_users *pu, const ps_jpath *p, ps_error **err);
/* NULL on ENOMEM. */
struct json_object *ps_private_users_to_json(const ps_private_users *pu);

#define PS_MANIFEST_MAX_SIZE (1024 * 1024)
#define PS_NAME_MAX 63
#define PS_DEFAULT_GOAL_TIMEOUT_MS 30000LL
#define PS_DEFAULT_BACKOFF_INITIAL_MS 10000LL
#define PS_DEFAULT_BACKOFF_MAX_MS 300000LL
#define PS_PROBE_DEFAULT_DELAY 0
#define PS_PROBE_DEFAULT_PERIOD 10
#define PS_PROBE_DEFAULT_TIMEOUT 1
#define PS_PROBE_DEFAULT_SUCCESS 1
#define PS_PROBE_DEFAULT_FAILURE 3

#endif
