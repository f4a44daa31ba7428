/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>

#include "cli.h"
#include "util.h"

static void usage(void)
{
	printf("Usage: podctl rm UUID…\n\n"
	       "Remove pods that are not running (prepared, exited, aborted). A running pod\n"
	       "is refused without waiting: stop it first.\n\n"
	       "Options:\n" CLI_GLOBAL_HELP);
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	ps_error *err = NULL;
	int c, r, ret = EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage();
			return EXIT_OK;
		}
		if ((r = cli_handle_global(cli, c, optarg)))
			return r;
	}
	if (optind >= argc)
		return cli_usage_error(cli, "missing UUID");
	if ((r = cli_open_store(cli, true)))
		return r;
	/* Each pod on its own: one that cannot go does not keep the others. */
	for (int i = optind; i < argc; i++) {
		if (ps_pod_remove(cli->store, argv[i], &err) < 0) {
			r = cli_fail(cli, &err);
			if (ret == EXIT_OK || r == EXIT_FAILED)
				ret = r;
		}
	}
	return ret;
}
