/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podctl port: a pod's published ports (Documentation/networking.md). */
#include <getopt.h>

#include <podstore/cni.h>
#include "cli.h"
#include "podview.h"
#include "util.h"


static void usage(void)
{
	printf("Usage: podctl port [OPTIONS] UUID\n\n"
	       "List the ports the pod publishes (run -p, the manifest's \"ports\"), one a\n"
	       "line: PODPORT/PROTO -> HOSTIP:HOSTPORT.\n\n"
	       "Options:\n"
	       "      --format=json|text     output format (default text)\n" CLI_GLOBAL_HELP);
}

int cmd_port(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format format = FORMAT_TEXT;
	ps_manifest *m = NULL;
	ps_error *err = NULL;
	ps_pod *p = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return EXIT_OK;
		}
		if (c == OPT_FORMAT) {
			if ((r = cli_parse_format(cli, optarg, &format)))
				return r;
			continue;
		}
		if ((r = cli_handle_global(cli, c, optarg)))
			return r;
	}
	if (optind + 1 != argc)
		return cli_usage_error(cli, optind >= argc ? "missing UUID" : "one UUID only");
	if ((r = cli_lookup_pod(cli, argv[optind], true, &p)))
		return r;
	r = ps_manifest_load_at(p->fd, &m, &err);
	if (r < 0) {
		r = cli_fail_manifest(cli, p->uuid, &err);
		ps_pod_free(p);
		return r;
	}
	ps_pod_free(p);
	json_object *a = format == FORMAT_JSON ? json_object_new_array() : NULL;
	for (size_t i = 0; i < m->n_ports; i++) {
		const ps_port *pt = &m->ports[i];
		const char *ip = pt->host_ip ? pt->host_ip : "0.0.0.0";
		if (a) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "podPort", json_object_new_int(pt->pod_port));
			json_object_object_add(o, "protocol", json_object_new_string(pt->protocol));
			json_object_object_add(o, "hostIP", json_object_new_string(ip));
			json_object_object_add(o, "hostPort", json_object_new_int(pt->host_port));
			json_object_array_add(a, o);
		} else {
			bool v6 = strchr(ip, ':') != NULL;
			printf("%d/%s -> %s%s%s:%d\n", pt->pod_port, pt->protocol, v6 ? "[" : "", ip, v6 ? "]" : "",
			       pt->host_port);
		}
	}
	if (a) {
		json_print(a);
		json_object_put(a);
	}
	ps_manifest_free(m);
	return EXIT_OK;
}

void net_view_json_add(json_object *o, int pod_fd)
{
	ps_cni_result *res = NULL;
	char *e = NULL;

	if (ps_cni_error_load(pod_fd, &e) > 0)
		json_object_object_add(o, "networkError", json_object_new_string(e));
	free(e);
	if (ps_cni_result_load(pod_fd, &res, NULL) <= 0)
		return;
	json_object *ips = json_object_new_array();
	for (size_t i = 0; ips && i < res->n_ips; i++)
		json_object_array_add(ips, json_object_new_string(res->ips[i].address));
	if (ips)
		json_object_object_add(o, "ips", ips);
	ps_cni_result_free(res);
}

void net_view_print(int pod_fd)
{
	ps_cni_result *res = NULL;
	char *e = NULL;

	if (ps_cni_error_load(pod_fd, &e) > 0)
		printf("%-9s %s (gc or rm tries again)\n", "net-error", e);
	free(e);
	if (ps_cni_result_load(pod_fd, &res, NULL) <= 0)
		return;
	printf("%-9s", "ips");
	for (size_t i = 0; i < res->n_ips; i++)
		printf(" %s", res->ips[i].address);
	printf("\n");
	ps_cni_result_free(res);
}
