/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * "resources" of an app or of the pod (Documentation/resources.md): parse,
 * check and write back. Sizes are Kubernetes quantities or whole bytes,
 * CPUs "500m" or 0.5; the canonical form writes bytes and millicpus.
 */
#include <json-c/json.h>
#include <stdint.h>

#include <podstore/quantity.h>
#include "manifest-internal.h"
#include "util.h"

bool ps_resources_any(const ps_resources *r)
{
	return r->memory || r->memory_swap || r->cpu_millis || r->cpu_shares || r->pids ||
	       r->blkio_weight;
}

int ps_resources_check(const ps_resources *r, const ps_jpath *p, ps_error **err)
{
	const ps_jpath pm = PS_JPATH_KEY(p, "memory");
	const ps_jpath ps = PS_JPATH_KEY(p, "memorySwap");
	const ps_jpath pc = PS_JPATH_KEY(p, "cpu");
	const ps_jpath psh = PS_JPATH_KEY(p, "cpuShares");
	const ps_jpath ppid = PS_JPATH_KEY(p, "pids");
	const ps_jpath pb = PS_JPATH_KEY(p, "blkioWeight");

	if (r->memory < 0)
		return ps_manifest_invalid(err, &pm, "must be more than 0 bytes");
	if (r->memory_swap < -1)
		return ps_manifest_invalid(err, &ps, "expected a size, or -1 for unlimited swap");
	if (r->memory_swap && !r->memory)
		return ps_manifest_invalid(err, &ps, "needs \"memory\" too (it is memory + swap)");
	if (r->memory_swap > 0 && r->memory_swap < r->memory)
		return ps_manifest_invalid(err, &ps, "%lld bytes is less than \"memory\" (%lld): it is memory + swap",
		                           r->memory_swap, r->memory);
	if (r->cpu_millis < 0 || r->cpu_millis > 1000000000LL)
		return ps_manifest_invalid(err, &pc, "out of range");
	if (r->cpu_shares && (r->cpu_shares < 2 || r->cpu_shares > 262144))
		return ps_manifest_invalid(err, &psh, "expected 2 to 262144");
	if (r->pids < 0 || r->pids > INT32_MAX)
		return ps_manifest_invalid(err, &ppid, "expected 1 or more");
	if (r->blkio_weight && (r->blkio_weight < 10 || r->blkio_weight > 1000))
		return ps_manifest_invalid(err, &pb, "expected 10 to 1000");
	return 0;
}

/* A size: a Kubernetes quantity string or whole bytes; allow_unlimited
 * takes -1 (or "-1") as -1. */
static int get_size(json_object *o, const ps_jpath *p, bool allow_unlimited, long long *ret, ps_error **err)
{
	long long v;

	if (json_object_is_type(o, json_type_int)) {
		v = json_object_get_int64(o);
	} else if (json_object_is_type(o, json_type_string)) {
		const char *s = json_object_get_string(o);
		if (allow_unlimited && streq(s, "-1")) {
			v = -1;
		} else {
			int r = ps_quantity_parse_bytes(s, &v);
			if (r == -ERANGE)
				return ps_manifest_invalid(err, p, "too large");
			if (r < 0) {
				_cleanup_free_ char *q = ps_manifest_quote(s);
				if (!q)
					return ps_manifest_oom(err);
				return ps_manifest_invalid(err, p,
				                           "bad quantity %s (expected bytes, or a number with Ki, Mi, Gi, "
				                           "Ti, k, M, G or T: \"64Mi\")",
				                           q);
			}
		}
	} else {
		return ps_manifest_invalid(err, p, "expected a quantity such as \"64Mi\", or bytes");
	}
	if (v == -1 && allow_unlimited) {
		*ret = -1;
		return 0;
	}
	if (v <= 0)
		return ps_manifest_invalid(err, p, "must be more than 0 bytes");
	*ret = v;
	return 0;
}

static int get_count(json_object *o, const ps_jpath *p, long long *ret, ps_error **err)
{
	if (!json_object_is_type(o, json_type_int))
		return ps_manifest_invalid(err, p, "expected integer");
	long long v = json_object_get_int64(o);
	if (v <= 0)
		return ps_manifest_invalid(err, p, "expected 1 or more");
	*ret = v;
	return 0;
}

int ps_resources_parse(struct json_object *o, const ps_jpath *p, ps_resources *res, ps_error **err)
{
	static const char *const fields[] = { "memory", "memorySwap", "cpu", "cpuShares", "pids", "blkioWeight", NULL };
	ps_resources r = { 0 };
	json_object *v;
	int rc;

	if (!json_object_is_type(o, json_type_object))
		return ps_manifest_invalid(err, p, "expected object");
	json_object_object_foreach(o, key, val) {
		bool known = false;
		(void)val;
		for (const char *const *f = fields; *f && !known; f++)
			known = streq(*f, key);
		if (!known) {
			_cleanup_free_ char *q = ps_manifest_quote(key);
			if (!q)
				return ps_manifest_oom(err);
			return ps_manifest_invalid(err, p, "unknown field %s", q);
		}
	}
	if (json_object_object_get_ex(o, "memory", &v)) {
		const ps_jpath pp = PS_JPATH_KEY(p, "memory");
		if ((rc = get_size(v, &pp, false, &r.memory, err)) < 0)
			return rc;
	}
	if (json_object_object_get_ex(o, "memorySwap", &v)) {
		const ps_jpath pp = PS_JPATH_KEY(p, "memorySwap");
		if ((rc = get_size(v, &pp, true, &r.memory_swap, err)) < 0)
			return rc;
	}
	if (json_object_object_get_ex(o, "cpu", &v)) {
		const ps_jpath pp = PS_JPATH_KEY(p, "cpu");
		const char *s;
		if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_double) ||
		    json_object_is_type(v, json_type_int))
			s = json_object_get_string(v); /* a number keeps its source text */
		else
			return ps_manifest_invalid(err, &pp, "expected CPUs such as \"500m\" or 0.5");
		rc = ps_cpu_parse_millis(s, &r.cpu_millis);
		if (rc < 0) {
			_cleanup_free_ char *q = ps_manifest_quote(s);
			if (!q)
				return ps_manifest_oom(err);
			return ps_manifest_invalid(err, &pp,
			                           "bad CPU quantity %s (expected millicpus \"500m\" or CPUs \"0.5\", "
			                           "more than 0, at most 3 decimals)",
			                           q);
		}
	}
	if (json_object_object_get_ex(o, "cpuShares", &v)) {
		const ps_jpath pp = PS_JPATH_KEY(p, "cpuShares");
		if ((rc = get_count(v, &pp, &r.cpu_shares, err)) < 0)
			return rc;
	}
	if (json_object_object_get_ex(o, "pids", &v)) {
		const ps_jpath pp = PS_JPATH_KEY(p, "pids");
		if ((rc = get_count(v, &pp, &r.pids, err)) < 0)
			return rc;
	}
	if (json_object_object_get_ex(o, "blkioWeight", &v)) {
		const ps_jpath pp = PS_JPATH_KEY(p, "blkioWeight");
		if ((rc = get_count(v, &pp, &r.blkio_weight, err)) < 0)
			return rc;
	}
	if ((rc = ps_resources_check(&r, p, err)) < 0)
		return rc;
	*res = r;
	return 0;
}

struct json_object *ps_resources_to_json(const ps_resources *r)
{
	json_object *o = json_object_new_object();
	char buf[32];
	bool ok = o != NULL;

	if (ok && r->memory)
		ok = json_object_object_add(o, "memory", json_object_new_int64(r->memory)) == 0;
	if (ok && r->memory_swap)
		ok = json_object_object_add(o, "memorySwap", json_object_new_int64(r->memory_swap)) == 0;
	if (ok && r->cpu_millis) {
		snprintf(buf, sizeof(buf), "%lldm", r->cpu_millis);
		ok = json_object_object_add(o, "cpu", json_object_new_string(buf)) == 0;
	}
	if (ok && r->cpu_shares)
		ok = json_object_object_add(o, "cpuShares", json_object_new_int64(r->cpu_shares)) == 0;
	if (ok && r->pids)
		ok = json_object_object_add(o, "pids", json_object_new_int64(r->pids)) == 0;
	if (ok && r->blkio_weight)
		ok = json_object_object_add(o, "blkioWeight", json_object_new_int64(r->blkio_weight)) == 0;
	if (!ok && o) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}
