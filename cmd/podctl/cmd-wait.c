/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podctl wait: wait for several pods to be ready, healthy, unhealthy or exited. */
#include <getopt.h>
#include <signal.h>

#include "cli.h"
#include "util.h"

enum { OPT_FOR = OPT_VERB_BASE, OPT_ANY, OPT_TIMEOUT };

static void usage(void)
{
	printf("Usage: podctl wait [--for=exited|ready|healthy|unhealthy] [--any] [--timeout=DUR] UUID…\n\n"
	       "Wait, by event, until every given pod (or with --any, one of them) is exited\n"
	       "(the default), ready, healthy or unhealthy. For exited, print each pod's exit\n"
	       "code on a line of its own, in the order given (137 for a pod whose stage1 was\n"
	       "killed before it could record one), as podman and docker wait do. With --any,\n"
	       "print the uuid of that pod (and, for exited, its exit code after it).\n\n"
	       "Exit 0 when the condition holds, 4 on timeout, 1 as soon as a pod exited so\n"
	       "that the condition can never hold (every pod, with --any), with the reason.\n\n"
	       "Options:\n"
	       "      --for=COND             exited (default), ready, healthy or unhealthy\n"
	       "      --any                  the first pod that satisfies COND is enough\n"
	       "      --timeout=DUR          give up after DUR (default: wait forever)\n" CLI_GLOBAL_HELP);
}

/* The exit code stage1 recorded; a stage1 killed before it could is 137,
 * as for any process killed by SIGKILL. */
static int pod_exit_code(ps_pod *p)
{
	ps_exit_marker m = { 0 };
	int code = 128 + SIGKILL;

	if (ps_exit_marker_read(p->fd, &m, NULL) == 0)
		code = m.code;
	ps_exit_marker_clear(&m);
	return code;
}

int cmd_wait(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, OPT_FOR },
		{ "any", no_argument, NULL, OPT_ANY },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	ps_wait_cond cond = PS_WAIT_EXITED;
	bool any = false;
	long long timeout_ms = -1;
	ps_error *err = NULL;
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
	if (optind >= argc)
		return cli_usage_error(cli, "missing UUID");
	if ((r = cli_open_store(cli, true)))
		return r;
	size_t n = (size_t)(argc - optind);
	ps_pod **pods = calloc(n, sizeof(*pods));
	if (!pods) {
		return cli_failf(cli, EXIT_FAILED, "%s", strerror(ENOMEM));
	}
	r = EXIT_OK;
	for (size_t i = 0; i < n && r == EXIT_OK; i++)
		if (ps_pod_lookup(cli->store, argv[optind + (int)i], &pods[i], &err) < 0)
			r = cli_fail(cli, &err);
	size_t which = 0;
	if (r == EXIT_OK) {
		if (ps_pods_wait(pods, n, cond, any, timeout_ms, &which, &err) < 0)
			r = cli_fail(cli, &err);
		else if (any && cond == PS_WAIT_EXITED)
			printf("%s %d\n", pods[which]->uuid, pod_exit_code(pods[which]));
		else if (any)
			printf("%s\n", pods[which]->uuid);
		else if (cond == PS_WAIT_EXITED)
			for (size_t i = 0; i < n; i++)
				printf("%d\n", pod_exit_code(pods[i]));
	}
	for (size_t i = 0; i < n; i++)
		ps_pod_free(pods[i]);
	free(pods);
	return r;
}
