/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "strv.h"
#include "util.h"

json_object *ps_json_get(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *ps_json_str(json_object *o, const char *key)
{
	json_object *v = ps_json_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

json_object *ps_json_array(json_object *o, const char *key)
{
	json_object *v = ps_json_get(o, key);

	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

long long ps_json_int(json_object *o, const char *key, long long dflt)
{
	json_object *v = ps_json_get(o, key);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : dflt;
}

long long ps_json_time(json_object *o, const char *key)
{
	const char *s = ps_json_str(o, key);
	long long ns = 0;

	return s && ps_parse_time(s, &ns) == 0 ? ns : 0;
}

int ps_json_dup_str(json_object *o, const char *key, char **ret)
{
	const char *s = ps_json_str(o, key);

	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

int ps_json_add_str(json_object *o, const char *key, const char *v)
{
	json_object *s;

	if (!v)
		return 0;
	s = json_object_new_string(v);
	if (!s || json_object_object_add(o, key, s) < 0) {
		json_object_put(s);
		return -ENOMEM;
	}
	return 0;
}

int ps_json_add_time(json_object *o, const char *key, long long ns)
{
	char buf[64];

	ps_format_time(ns, buf, sizeof(buf));
	return ps_json_add_str(o, key, buf);
}

int ps_json_strv(json_object *arr, char ***ret)
{
	char **v;
	size_t n;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		*ret = NULL;
		return 0;
	}
	n = json_object_array_length(arr);
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";

		v[i] = strdup(s ? s : "");
		if (!v[i]) {
			ps_strv_free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

int ps_json_parse(const char *data, size_t len, json_object **ret)
{
	struct json_tokener *tok;
	json_object *o;
	size_t end;

	if (len > INT32_MAX)
		return -EFBIG;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, data, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success) {
		json_tokener_free(tok);
		json_object_put(o);
		return -EBADMSG;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", data[end]) || !data[end]) {
			json_object_put(o);
			return -EBADMSG;
		}
	}
	*ret = o;
	return 0;
}
