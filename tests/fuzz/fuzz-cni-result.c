/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for what a CNI plugin prints (libpodstore/cni.c): a result is
 * parsed either with an error that says why, or into IPs and DNS strings
 * that are safe to write into /etc/hosts and /etc/resolv.conf (valid
 * addresses, no white space or control bytes anywhere). The same bytes are
 * also checked as a conflist, which must fail or pass without crashing.
 * Built with libFuzzer by `make fuzz`; `make check` replays the corpus.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <podstore/cni.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void safe(const char *s, bool ip)
{
	unsigned char buf[16];

	if (!s || !*s)
		abort();
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			abort();
	if (ip && inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1)
		abort();
}

static void safe_all(char **v, bool ip)
{
	for (size_t i = 0; v && v[i]; i++)
		safe(v[i], ip);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ps_cni_result *r = NULL;
	ps_error *err = NULL;

	if (ps_cni_result_parse((const char *)data, size, &r, &err) < 0) {
		if (!err || !err->msg)
			abort(); /* a failure always says why */
		ps_error_free(&err);
	} else {
		for (size_t i = 0; i < r->n_ips; i++) {
			char ip[64];
			const char *slash = strchr(r->ips[i].address, '/');
			safe(r->ips[i].address, false);
			if (!slash || (size_t)(slash - r->ips[i].address) >= sizeof(ip))
				abort();
			memcpy(ip, r->ips[i].address, (size_t)(slash - r->ips[i].address));
			ip[slash - r->ips[i].address] = '\0';
			safe(ip, true);
			if (r->ips[i].gateway)
				safe(r->ips[i].gateway, true);
		}
		safe_all(r->host_ifaces, false);
		for (size_t i = 0; r->host_ifaces && r->host_ifaces[i]; i++)
			if (strlen(r->host_ifaces[i]) > 15 || r->host_ifaces[i][0] == '-' || strpbrk(r->host_ifaces[i], "+!"))
				abort();
		safe_all(r->nameservers, true);
		safe_all(r->search, false);
		safe_all(r->options, false);
		if (r->domain)
			safe(r->domain, false);
		ps_cni_result_free(r);
	}
	if (ps_cni_conflist_check((const char *)data, size, "/nonexistent", &err) < 0) {
		if (!err || !err->msg)
			abort();
		ps_error_free(&err);
	}
	return 0;
}
