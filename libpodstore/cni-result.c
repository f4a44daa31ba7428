/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CNI results, as plugins print them: untrusted-ish input, parsed into what
 * podctl uses (IPs, host-side interfaces, DNS), every string checked before
 * it can reach /etc/hosts, /etc/resolv.conf or an iptables argument. Also
 * the pod's kept result and DEL error (podstore/cni.h).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <json-c/json.h>

#include <podstore/fileio.h>
#include "cni-internal.h"
#include "json-util.h"
#include "strv.h"
#include "util.h"

/* One line of text: the first line, printable bytes only, at most 300. */
void cni_one_line(char *s)
{
	size_t i = 0;
	for (; s[i] && s[i] != '\n' && i < 300; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
	s[i] = '\0';
}

int cni_net_dir_open(int pod_fd, ps_error **err)
{
	int fd = openat(pod_fd, PS_CNI_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 && errno != ENOENT)
		return ps_error_errno(err, "open %s", PS_CNI_DIR);
	return fd < 0 ? -ENOENT : fd;
}

/* --- results ------------------------------------------------------------------------ */

void ps_cni_result_free(ps_cni_result *r)
{
	if (!r)
		return;
	free(r->cni_version);
	for (size_t i = 0; i < r->n_ips; i++) {
		free(r->ips[i].address);
		free(r->ips[i].gateway);
	}
	free(r->ips);
	ps_strv_free(r->host_ifaces);
	ps_strv_free(r->nameservers);
	free(r->domain);
	ps_strv_free(r->search);
	ps_strv_free(r->options);
	free(r);
}

static int ip_family(const char *s)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return AF_INET6;
	return 0;
}

/* "IP/prefix" with a prefix in range: its family, else 0. */
static int cidr_family(const char *s)
{
	const char *slash = strchr(s, '/');
	char ip[64];

	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return 0;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	int fam = ip_family(ip);
	const char *p = slash + 1;
	if (!fam || !*p || strlen(p) > 3)
		return 0;
	int n = 0;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		n = n * 10 + (*p - '0');
	}
	return n <= (fam == AF_INET ? 32 : 128) ? fam : 0;
}

/* A Linux interface name iptables takes literally: 1..15 of [A-Za-z0-9._-],
 * not starting with '-' (no "+" wildcard, no "!"). */
static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || s[0] == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
		      *s == '-' || *s == '_'))
			return false;
	return true;
}

static bool word_ok(const char *s, bool colon)
{
	if (!*s || strlen(s) > 253)
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '-' || c == '_' || (colon && c == ':')))
			return false;
	}
	return true;
}

/* o[key], an array of strings each passing ok (NULL: an IP), into *ret. */
static int strings(json_object *o, const char *key, int kind, char ***ret, ps_error **err)
{
	json_object *a = ps_json_get(o, key);
	if (!a)
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return ps_error_set(err, PS_ERR_INVALID, 0, "dns.%s: expected array", key);
	size_t n = json_object_array_length(a);
	if (n > 64)
		return ps_error_set(err, PS_ERR_INVALID, 0, "dns.%s: too many", key);
	char **v = calloc(n + 1, sizeof(*v));
	if (!v)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "dns");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
		bool ok = s && (kind == 0 ? ip_family(s) != 0 : word_ok(s, kind == 2));
		if (!ok || !(v[i] = strdup(s))) {
			ps_strv_free(v);
			return ok ? ps_error_set(err, PS_ERR_FAILED, ENOMEM, "dns")
			          : ps_error_set(err, PS_ERR_INVALID, 0, "dns.%s[%zu]: not valid", key, i);
		}
	}
	*ret = v;
	return 0;
}

int ps_cni_result_parse(const char *json, size_t len, ps_cni_result **ret, ps_error **err)
{
	_cleanup_json_ json_object *o = NULL;
	_cleanup_(resultp) ps_cni_result *res = NULL;
	int r;

	if (!json || ps_json_parse(json, len, &o) < 0 || !json_object_is_type(o, json_type_object))
		return ps_error_set(err, PS_ERR_INVALID, 0, "not a JSON object");
	res = calloc(1, sizeof(*res));
	if (!res)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "result");
	if (ps_json_str(o, "cniVersion") && !(res->cni_version = strdup(ps_json_str(o, "cniVersion"))))
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "result");
	json_object *ips = ps_json_get(o, "ips");
	if (ips) {
		if (!json_object_is_type(ips, json_type_array))
			return ps_error_set(err, PS_ERR_INVALID, 0, "ips: expected array");
		size_t n = json_object_array_length(ips);
		if (n > 64)
			return ps_error_set(err, PS_ERR_INVALID, 0, "ips: too many");
		res->ips = calloc(n ? n : 1, sizeof(*res->ips));
		if (!res->ips)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "result");
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(ips, i);
			const char *addr = ps_json_str(e, "address");
			const char *gw = ps_json_str(e, "gateway");
			ps_cni_ip *ip = &res->ips[res->n_ips];
			if (!addr || !(ip->family = cidr_family(addr)))
				return ps_error_set(err, PS_ERR_INVALID, 0, "ips[%zu].address: expected IP/prefix", i);
			if (gw && ip_family(gw) != ip->family)
				return ps_error_set(err, PS_ERR_INVALID, 0, "ips[%zu].gateway: not an address", i);
			res->n_ips++;
			if (!(ip->address = strdup(addr)) || (gw && !(ip->gateway = strdup(gw))))
				return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "result");
		}
	}
	json_object *ifs = ps_json_get(o, "interfaces");
	if (ifs) {
		if (!json_object_is_type(ifs, json_type_array))
			return ps_error_set(err, PS_ERR_INVALID, 0, "interfaces: expected array");
		size_t n = json_object_array_length(ifs), k = 0;
		if (n > 64)
			return ps_error_set(err, PS_ERR_INVALID, 0, "interfaces: too many");
		res->host_ifaces = calloc(n + 1, sizeof(char *));
		if (!res->host_ifaces)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "result");
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(ifs, i);
			const char *name = ps_json_str(e, "name"), *sandbox = ps_json_str(e, "sandbox");
			/* The host's side (no sandbox) with a name iptables takes as is. */
			if (!name || (sandbox && *sandbox) || !ifname_ok(name))
				continue;
			if (!(res->host_ifaces[k++] = strdup(name)))
				return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "result");
		}
	}
	json_object *dns = ps_json_get(o, "dns");
	if (dns) {
		if (!json_object_is_type(dns, json_type_object))
			return ps_error_set(err, PS_ERR_INVALID, 0, "dns: expected object");
		const char *dom = ps_json_str(dns, "domain");
		if (dom && !word_ok(dom, false))
			return ps_error_set(err, PS_ERR_INVALID, 0, "dns.domain: not valid");
		if (dom && !(res->domain = strdup(dom)))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "result");
		if ((r = strings(dns, "nameservers", 0, &res->nameservers, err)) < 0 ||
		    (r = strings(dns, "search", 1, &res->search, err)) < 0 ||
		    (r = strings(dns, "options", 2, &res->options, err)) < 0)
			return r;
	}
	*ret = TAKE_PTR(res);
	return 0;
}

int ps_cni_error_load(int pod_fd, char **ret)
{
	_cleanup_close_ int nfd = cni_net_dir_open(pod_fd, NULL);

	*ret = NULL;
	if (nfd < 0)
		return 0;
	if (ps_read_file_at(nfd, PS_CNI_FILE_ERROR, 4096, ret, NULL, NULL) < 0)
		return 0;
	cni_one_line(*ret);
	return 1;
}

int ps_cni_result_load(int pod_fd, ps_cni_result **ret, ps_error **err)
{
	_cleanup_close_ int nfd = cni_net_dir_open(pod_fd, err);
	_cleanup_free_ char *text = NULL;
	size_t len;

	*ret = NULL;
	if (nfd == -ENOENT)
		return 0;
	if (nfd < 0)
		return nfd;
	int r = ps_read_file_at(nfd, PS_CNI_FILE_RESULT, RESULT_MAX, &text, &len, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = ps_cni_result_parse(text, len, ret, err);
	if (r < 0)
		return ps_error_prefix(err, r, "%s/%s", PS_CNI_DIR, PS_CNI_FILE_RESULT);
	return 1;
}
