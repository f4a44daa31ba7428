/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl kill [--signal=SIG] [--app=NAME] UUID…
 *
 * A signal (default SIGKILL, as podman kill) to the main process of every
 * running app of each pod, or of one app: ps_pod_kill() asks the pod's
 * stage1 over its control socket (podstore/control.h), which sends it. This
 * is not a stop: an app that dies of it ends as if it had died of any
 * other signal, and its restartPolicy applies. Prints each pod's uuid.
 */
#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

enum { OPT_SIGNAL = 2300, OPT_APP };

static void usage(void)
{
	printf("Usage: podctl kill [OPTIONS] UUID…\n\n"
	       "Send a signal to the apps of running pods (default SIGKILL to every app);\n"
	       "print each pod's uuid. Not a stop: each app's restartPolicy applies.\n\n"
	       "Options:\n"
	       "  -s, --signal=SIG           the signal, by name (TERM, SIGUSR1, RTMIN+1) or number\n"
	       "      --app=NAME             only this app (init apps included)\n" CLI_GLOBAL_HELP);
}

struct kill_args {
	int sig;
	const char *app;
};

static int kill_one(struct cli *cli, ps_pod *p, void *data)
{
	const struct kill_args *k = data;
	const char *app = k->app;
	ps_error *err = NULL;

	if (app) {
		/* an app the pod does not have: exit 3, running or not */
		int fd = -1;
		int r = cli_open_app(cli, p, NULL, app, &app, &fd);
		if (r != EXIT_OK)
			return r;
		close(fd);
	}
	if (ps_pod_kill(p, k->sig, app, &err) < 0)
		return cli_fail(cli, &err);
	printf("%s\n", p->uuid);
	return EXIT_OK;
}

int cmd_kill(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "signal", required_argument, NULL, OPT_SIGNAL },
		{ "app", required_argument, NULL, OPT_APP },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct kill_args k = { .sig = SIGKILL };
	int c, r;

	while ((c = getopt_long(argc, argv, "hs:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case 's':
		case OPT_SIGNAL:
			k.sig = ps_signal_parse(optarg);
			if (k.sig < 0)
				return cli_usage_error(cli, "--signal: unknown signal %s", optarg);
			break;
		case OPT_APP:
			k.app = optarg;
			break;
		default:
			r = cli_handle_global(cli, c, optarg);
			if (r)
				return r;
		}
	}
	r = cli_each_pod(cli, argc, argv, kill_one, &k);
	fflush(stdout);
	return r;
}
