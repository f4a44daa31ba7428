/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * "privateUsers" of the pod (Documentation/manifest.md): true (a range is
 * allocated by prepare), false, or {"uid": U, "gid": G, "size": N}, the host
 * ids the pod's ids 0…N-1 map to ("gid" defaults to "uid").
 */
#include <json-c/json.h>
#include <stdint.h>

#include "manifest-internal.h"
#include "util.h"

static int get_id(json_object *o, const char *key, const ps_jpath *parent, bool required,
                  uint32_t *ret, ps_error **err)
{
	const ps_jpath p = PS_JPATH_KEY(parent, key);
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v)) {
		if (required)
			return ps_manifest_invalid(err, &p, "required");
		return 0;
	}
	if (!json_object_is_type(v, json_type_int))
		return ps_manifest_invalid(err, &p, "expected a number");
	errno = 0;
	int64_t n = json_object_get_int64(v);
	if (errno || n < 0 || n >= UINT32_MAX)
		return ps_manifest_invalid(err, &p, "out of range (0 to 4294967294)");
	*ret = (uint32_t)n;
	return 1;
}

int ps_private_users_parse(json_object *o, const ps_jpath *p, ps_private_users *ret, ps_error **err)
{
	ps_private_users pu = { 0 };
	int r;

	if (json_object_is_type(o, json_type_boolean)) {
		pu.enabled = json_object_get_boolean(o);
		*ret = pu;
		return 0;
	}
	if (!json_object_is_type(o, json_type_object))
		return ps_manifest_invalid(err, p, "expected true, false or {\"uid\": …, \"gid\": …, \"size\": …}");
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (!streq(key, "uid") && !streq(key, "gid") && !streq(key, "size")) {
			const ps_jpath pk = PS_JPATH_KEY(p, key);
			return ps_manifest_invalid(err, &pk, "unknown field (expected uid, gid, size)");
		}
	}
	pu.enabled = true;
	if ((r = get_id(o, "uid", p, true, &pu.range.uid, err)) < 0 ||
	    (r = get_id(o, "size", p, true, &pu.range.size, err)) < 0)
		return r;
	r = get_id(o, "gid", p, false, &pu.range.gid, err);
	if (r < 0)
		return r;
	if (r == 0)
		pu.range.gid = pu.range.uid;
	if (pu.range.size == 0) {
		const ps_jpath ps = PS_JPATH_KEY(p, "size");
		return ps_manifest_invalid(err, &ps, "must be at least 1");
	}
	r = ps_private_users_check(&pu, p, err);
	if (r < 0)
		return r;
	*ret = pu;
	return 0;
}

int ps_private_users_check(const ps_private_users *pu, const ps_jpath *p, ps_error **err)
{
	ps_error *e = NULL;

	if (!pu->enabled || !pu->range.size)
		return 0;
	if (ps_idrange_check(&pu->range, &e) < 0) {
		int r = ps_manifest_invalid(err, p, "%s", e->msg);
		ps_error_free(&e);
		return r;
	}
	return 0;
}

json_object *ps_private_users_to_json(const ps_private_users *pu)
{
	if (!pu->range.size)
		return json_object_new_boolean(pu->enabled);
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	if (json_object_object_add(o, "uid", json_object_new_int64(pu->range.uid)) < 0 ||
	    json_object_object_add(o, "gid", json_object_new_int64(pu->range.gid)) < 0 ||
	    json_object_object_add(o, "size", json_object_new_int64(pu->range.size)) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}
