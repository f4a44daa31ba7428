/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podctl: the verb table and global options. */
#include <getopt.h>

#include "cli.h"
#include "util.h"

struct verb {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *summary;
};

static const struct verb verbs[] = {
	{ "prepare", cmd_prepare, "make a pod from an image or manifest; print its uuid" },
	{ "run", cmd_run, "prepare and run a pod" },
	{ "run-prepared", cmd_run_prepared, "run a prepared pod" },
	{ "status", cmd_status, "show a pod's state; wait for it to exit or be ready" },
	{ "list", cmd_list, "list pods" },
	{ "stop", cmd_stop, "stop running pods" },
	{ "kill", cmd_kill, "send a signal to the apps of running pods" },
	{ "rm", cmd_rm, "remove pods" },
	{ "gc", cmd_gc, "collect exited, expired and abandoned pods" },
	{ "logs", cmd_logs, "print what a detached pod's apps wrote" },
	{ "enter", cmd_enter, "run a command inside a running pod" },
	{ "attach", cmd_attach, "attach to the terminal of a pod run with --detach --tty" },
	{ "cat-manifest", cmd_cat_manifest, "print a pod's manifest" },
	{ "port", cmd_port, "list a pod's published ports" },
	{ "image", cmd_image, "import, pull, list, inspect, tag and remove images" },
	{ "notify", cmd_notify, "tell the supervisor an app is ready (inside a pod)" },
	{ "stats", cmd_stats, "show running pods' memory, CPU and pids (like podman stats)" },
	{ "events", cmd_events, "print (and follow) pods' status, probe and restart events" },
	{ "wait", cmd_wait, "wait until pods are ready, healthy, unhealthy or exited" },
	{ "version", cmd_version, "print the version" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: podctl [--dir=DIR] [--debug] COMMAND [OPTIONS] [ARGS]\n\n"
	           "Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-14s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nGlobal options (before or after the command):\n" CLI_GLOBAL_HELP
	           "\nExit codes: 0 success, 1 failure, 2 usage error, 3 no such pod or image\n"
	           "(or ambiguous uuid prefix), 4 timed out; `run` in the foreground exits\n"
	           "with the pod's exit code.\n");
}

static void log_to_stderr(enum ps_log_level level, const char *msg, void *userdata)
{
	struct cli *cli = userdata;

	if (level == PS_LOG_DEBUG && !cli->debug)
		return;
	fprintf(stderr, "podctl %s: %s\n", cli->verb ? cli->verb : "", msg);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { CLI_GLOBAL_OPTIONS,
		                              { "version", no_argument, NULL, 'V' },
		                              { NULL, 0, NULL, 0 } };
	struct cli cli = { .verb = "" };
	const char *env = getenv("PODCTL_DIR");
	int c, r;

	cli.dir = env && *env ? env : PS_DEFAULT_DIR;
	ps_log_set_hook(log_to_stderr, &cli);
	/* Global options stop at the first non-option: the verb. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			return cmd_version(&cli, 0, NULL);
		default:
			r = cli_handle_global(&cli, c, optarg);
			if (r)
				return r;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (!streq(verbs[i].name, name))
			continue;
		int vargc = argc - optind;
		char **vargv = argv + optind;
		cli.verb = name;
		/* Each verb runs its own getopt over its argv (argv[0] = verb). */
		optind = 0;
		r = verbs[i].fn(&cli, vargc, vargv);
		ps_store_close(cli.store);
		return r;
	}
	fprintf(stderr, "podctl: unknown command \"%s\" (see 'podctl --help')\n", name);
	return EXIT_USAGE;
}
