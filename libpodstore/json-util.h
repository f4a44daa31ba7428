/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_JSON_UTIL_H
#define PODSTORE_JSON_UTIL_H

/*
 * Small json-c helpers (internal): scoped cleanup and type-checked lookups.
 * Lookups return NULL for a missing key, a value of the wrong type, or a
 * NULL or non-object o, so untrusted documents can be walked without
 * checking every step (json-c asserts on array calls with a non-array).
 */

#include <json-c/json.h>
#include <stddef.h>

static inline void ps_json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(ps_json_putp)))

/* o[key] of any type, or NULL. */
json_object *ps_json_get(json_object *o, const char *key);

/* o[key] when it is a string, else NULL. */
const char *ps_json_str(json_object *o, const char *key);

/* o[key] when it is an array, else NULL. */
json_object *ps_json_array(json_object *o, const char *key);

/* o[key] when it is an integer, else dflt. */
long long ps_json_int(json_object *o, const char *key, long long dflt);

/* o[key], a time as ps_format_time() writes it, in ns; 0 when missing or bad. */
long long ps_json_time(json_object *o, const char *key);

/* *ret = a copy of o[key] when it is a string, else NULL. -ENOMEM. */
int ps_json_dup_str(json_object *o, const char *key, char **ret);

/* Add key: v as a string; a NULL v adds nothing. -ENOMEM. */
int ps_json_add_str(json_object *o, const char *key, const char *v);

/* Add key: ns as an RFC 3339 time with nanoseconds (ps_format_time()). */
int ps_json_add_time(json_object *o, const char *key, long long ns);

/* A NULL-terminated copy of an array's strings (non-strings become ""), or
 * *ret = NULL when arr is not an array. -ENOMEM. */
int ps_json_strv(json_object *arr, char ***ret);

/* Parse exactly len bytes as one JSON value (trailing white space allowed,
 * embedded NULs and trailing garbage not). -EBADMSG when it is not JSON,
 * -ENOMEM. */
int ps_json_parse(const char *data, size_t len, json_object **ret);

#endif
