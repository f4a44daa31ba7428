/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pod's "ports" (published through CNI portmap, Documentation/networking.md)
 * and "keepEtcFiles": parse, check, write back.
 *
 *   "ports": [{"hostPort": 18080, "podPort": 8080, "protocol": "tcp", "hostIP": "127.0.0.1"}]
 */
#include <arpa/inet.h>
#include <json-c/json.h>

#include <podstore/cni.h>
#include "manifest-internal.h"
#include "util.h"

void ps_ports_free(ps_port *ports, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ports[i].host_ip);
		free(ports[i].protocol);
	}
	free(ports);
}

static bool ip_is_valid(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

int ps_ports_check(const ps_manifest *m, const ps_jpath *p, ps_error **err)
{
	const ps_jpath pnet = PS_JPATH_KEY(NULL, "net");

	if (m->net && !streq(m->net, "none") && !streq(m->net, "host") && !streq(m->net, "default") &&
	    !ps_cni_name_is_valid(m->net)) {
		_cleanup_free_ char *q = ps_manifest_quote(m->net);

		if (!q)
			return ps_manifest_invalid(err, &pnet, "out of memory");
		return ps_manifest_invalid(err, &pnet,
		                           "expected \"none\", \"host\", \"default\" or a CNI network name "
		                           "([A-Za-z0-9][A-Za-z0-9._-]*, at most 64 characters), not %s", q);
	}
	if (m->n_ports && (!m->net || streq(m->net, "none") || streq(m->net, "host")))
		return ps_manifest_invalid(err, p, "published ports need a CNI network (\"net\": \"default\" or a name)");
	for (size_t i = 0; i < m->n_ports; i++) {
		const ps_port *port = &m->ports[i];
		const ps_jpath pi = PS_JPATH_INDEX(p, i);

		if (port->host_port < 1 || port->host_port > 65535) {
			const ps_jpath pk = PS_JPATH_KEY(&pi, "hostPort");
			return ps_manifest_invalid(err, &pk, "expected a port 1..65535");
		}
		if (port->pod_port < 1 || port->pod_port > 65535) {
			const ps_jpath pk = PS_JPATH_KEY(&pi, "podPort");
			return ps_manifest_invalid(err, &pk, "expected a port 1..65535");
		}
		if (port->protocol && !streq(port->protocol, "tcp") && !streq(port->protocol, "udp")) {
			const ps_jpath pk = PS_JPATH_KEY(&pi, "protocol");
			return ps_manifest_invalid(err, &pk, "expected \"tcp\" or \"udp\"");
		}
		if (port->host_ip && !ip_is_valid(port->host_ip)) {
			const ps_jpath pk = PS_JPATH_KEY(&pi, "hostIP");
			return ps_manifest_invalid(err, &pk, "expected an IPv4 or IPv6 address");
		}
		for (size_t j = 0; j < i; j++) {
			const ps_port *o = &m->ports[j];
			bool same_proto = streq(o->protocol ? o->protocol : "tcp", port->protocol ? port->protocol : "tcp");
			if (same_proto && o->host_port == port->host_port &&
			    (!o->host_ip || !port->host_ip || streq(o->host_ip, port->host_ip)))
				return ps_manifest_invalid(err, &pi, "host port %d is published twice", port->host_port);
		}
	}
	return 0;
}

static int port_int(json_object *o, const char *key, const ps_jpath *p, int *ret, ps_error **err)
{
	const ps_jpath pk = PS_JPATH_KEY(p, key);
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return ps_manifest_invalid(err, &pk, "required");
	if (!json_object_is_type(v, json_type_int))
		return ps_manifest_invalid(err, &pk, "expected integer");
	int64_t n = json_object_get_int64(v);
	if (n < 1 || n > 65535)
		return ps_manifest_invalid(err, &pk, "expected a port 1..65535");
	*ret = (int)n;
	return 0;
}

static int port_str(json_object *o, const char *key, const ps_jpath *p, char **ret, ps_error **err)
{
	const ps_jpath pk = PS_JPATH_KEY(p, key);
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return ps_manifest_invalid(err, &pk, "expected string");
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : ps_manifest_oom(err);
}

int ps_ports_parse(json_object *a, const ps_jpath *p, ps_manifest *m, ps_error **err)
{
	if (!json_object_is_type(a, json_type_array))
		return ps_manifest_invalid(err, p, "expected array");
	size_t n = json_object_array_length(a);
	if (n > 4096)
		return ps_manifest_invalid(err, p, "too many ports (at most 4096)");
	m->ports = calloc(n ? n : 1, sizeof(*m->ports));
	if (!m->ports)
		return ps_manifest_oom(err);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(a, i);
		const ps_jpath pi = PS_JPATH_INDEX(p, i);
		ps_port *port = &m->ports[i];
		json_object_iter it;
		int r;

		if (!json_object_is_type(o, json_type_object))
			return ps_manifest_invalid(err, &pi, "expected object");
		m->n_ports++;
		json_object_object_foreachC(o, it)
		{
			if (!streq(it.key, "hostPort") && !streq(it.key, "podPort") && !streq(it.key, "protocol") &&
			    !streq(it.key, "hostIP")) {
				const ps_jpath pk = PS_JPATH_KEY(&pi, it.key);
				return ps_manifest_invalid(err, &pk, "unknown field");
			}
		}
		if ((r = port_int(o, "hostPort", &pi, &port->host_port, err)) < 0 ||
		    (r = port_int(o, "podPort", &pi, &port->pod_port, err)) < 0 ||
		    (r = port_str(o, "protocol", &pi, &port->protocol, err)) < 0 ||
		    (r = port_str(o, "hostIP", &pi, &port->host_ip, err)) < 0)
			return r;
		if (!port->protocol && !(port->protocol = strdup("tcp")))
			return ps_manifest_oom(err);
	}
	return 0;
}

json_object *ps_ports_to_json(const ps_manifest *m)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < m->n_ports; i++) {
		const ps_port *port = &m->ports[i];
		json_object *o = json_object_new_object();
		if (!o || json_object_array_add(a, o) < 0) {
			json_object_put(o);
			json_object_put(a);
			return NULL;
		}
		json_object_object_add(o, "hostPort", json_object_new_int(port->host_port));
		json_object_object_add(o, "podPort", json_object_new_int(port->pod_port));
		if (port->protocol && !streq(port->protocol, "tcp"))
			json_object_object_add(o, "protocol", json_object_new_string(port->protocol));
		if (port->host_ip)
			json_object_object_add(o, "hostIP", json_object_new_string(port->host_ip));
	}
	return a;
}
