/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl stop [--timeout=DUR] [--force] UUID…
 *
 * ps_pod_stop() (podstore/control.h) asks stage1 over the pod's control
 * socket to stop or kill, and waits for the pod's lock; with --force, a
 * stage1 that does not answer is killed through a verified pidfd. Stopping
 * a pod that already exited succeeds (as podman does) with a note; a pod
 * that never ran is an error.
 */
#include <getopt.h>

#include "cli.h"
#include "util.h"

enum { OPT_TIMEOUT = 2100, OPT_FORCE };

static void usage(void)
{
	printf("Usage: podctl stop [OPTIONS] UUID…\n\n"
	       "Stop running pods: SIGTERM to the apps (last group first), SIGKILL to what is\n"
	       "left after the timeout; return once each pod has exited. Stopping a pod that\n"
	       "already exited succeeds.\n\n"
	       "Options:\n"
	       "      --timeout=DUR          time to exit after SIGTERM (default 10s)\n"
	       "  -f, --force                SIGKILL at once\n" CLI_GLOBAL_HELP);
}

struct stop_args {
	long long timeout_ms;
	bool force;
};

static int stop_one(struct cli *cli, ps_pod *p, void *data)
{
	const struct stop_args *st = data;
	ps_error *err = NULL;
	int r = ps_pod_stop(p, st->timeout_ms, st->force, &err);

	if (r == PS_STOP_NOT_RUNNING)
		cli_note(cli, "pod %s is not running (exited)", p->uuid);
	if (r < 0 && !st->force && err && err->kind != PS_ERR_STATE)
		return cli_fail_hint(cli, &err, "try --force");
	return r < 0 ? cli_fail(cli, &err) : EXIT_OK;
}

int cmd_stop(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct stop_args st = { .timeout_ms = 10000 };
	int c, r;

	while ((c = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_TIMEOUT:
			if ((r = cli_parse_duration(cli, "timeout", optarg, &st.timeout_ms)))
				return r;
			break;
		case 'f':
		case OPT_FORCE:
			st.force = true;
			break;
		default:
			r = cli_handle_global(cli, c, optarg);
			if (r)
				return r;
		}
	}
	return cli_each_pod(cli, argc, argv, stop_one, &st);
}
