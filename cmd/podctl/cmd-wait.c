/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podctl wait: wait for several pods to be ready, healthy, unhealthy or exited. */
#include <getopt.h>
#include <json-c/json.h>

#include "cli.h"
#include "podview.h"
#include "util.h"

enum { OPT_FOR = OPT_VERB_BASE, OPT_ANY, OPT_TIMEOUT };

static void usage(void)
{
	printf("Usage: podctl wait --for=ready|healthy|unhealthy|exited [--any] [--timeout=DUR] UUID…\n\n"
	       "Wait, by event, until every given pod (or with --any, one of them) is ready,\n"
	       "healthy, unhealthy or exited. With --any, print the uuid of that pod.\n\n"
	       "Exit 0 when the condition holds, 4 on timeout, 1 as soon as a pod exited so\n"
	       "that the condition can never hold (every pod, with --any), with the reason.\n\n"
	       "Options:\n"
	       "      --for=COND             ready, healthy, unhealthy or exited (required)\n"
	       "      --any                  the first pod that satisfies COND is enough\n"
	       "      --timeout=DUR          give up after DUR (default: wait forever)\n"
	       "      --format=json|text     json: once the condition holds, print {\"for\",\n"
	       "                             \"any\", \"pods\": [uuids], \"first\": uuid or null}\n" CLI_GLOBAL_HELP);
}

int cmd_wait(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, OPT_FOR },
		{ "any", no_argument, NULL, OPT_ANY },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	ps_wait_cond cond = PS_WAIT_READY;
	bool have_cond = false, any = false;
	long long timeout_ms = -1;
	ps_error *err = NULL;
	enum cli_format format = FORMAT_TEXT;
	const char *cond_name = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_FOR:
			if (ps_wait_cond_from_name(optarg, &cond) < 0)
				return cli_usage_error(cli, "--for: expected ready, healthy, unhealthy or exited, not \"%s\"",
				                       optarg);
			have_cond = true;
			cond_name = optarg;
			break;
		case OPT_FORMAT:
			if ((r = cli_parse_format(cli, optarg, &format)))
				return r;
			break;
		case OPT_ANY:
			any = true;
			break;
		case OPT_TIMEOUT:
			if ((r = cli_parse_duration(cli, "timeout", optarg, &timeout_ms)))
				return r;
			break;
		default:
			if ((r = cli_handle_global(cli, c, optarg)))
				return r;
		}
	}
	if (!have_cond)
		return cli_usage_error(cli, "missing --for=ready|healthy|unhealthy|exited");
	if (optind >= argc)
		return cli_usage_error(cli, "missing UUID");
	if ((r = cli_open_store(cli, true)))
		return r;
	size_t n = (size_t)(argc - optind);
	ps_pod **pods = calloc(n, sizeof(*pods));
	if (!pods) {
		fprintf(stderr, "podctl %s: out of memory\n", cli->verb);
		return EXIT_FAILED;
	}
	r = EXIT_OK;
	for (size_t i = 0; i < n && r == EXIT_OK; i++)
		if (ps_pod_lookup(cli->store, argv[optind + (int)i], &pods[i], &err) < 0)
			r = cli_fail(cli, &err);
	size_t which = 0;
	if (r == EXIT_OK) {
		if (ps_pods_wait(pods, n, cond, any, timeout_ms, &which, &err) < 0)
			r = cli_fail(cli, &err);
		else if (format == FORMAT_JSON) {
			json_object *j = json_object_new_object(), *a = json_object_new_array();
			json_object_object_add(j, "for", json_object_new_string(cond_name));
			json_object_object_add(j, "any", json_object_new_boolean(any));
			for (size_t i = 0; i < n; i++)
				json_object_array_add(a, json_object_new_string(pods[i]->uuid));
			json_object_object_add(j, "pods", a);
			json_object_object_add(j, "first", any ? json_object_new_string(pods[which]->uuid) : NULL);
			json_print(j);
			json_object_put(j);
		} else if (any)
			printf("%s\n", pods[which]->uuid);
	}
	for (size_t i = 0; i < n; i++)
		ps_pod_free(pods[i]);
	free(pods);
	return r;
}
