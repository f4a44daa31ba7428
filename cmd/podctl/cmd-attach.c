/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl attach UUID
 *
 * The terminal of a pod run with --detach --tty: its app's pty, wired to
 * ours (raw mode, window size kept in sync) until ctrl-p ctrl-q (detach:
 * the pod runs on) or the app's terminal closes. stage1 hands the pty over
 * its control socket (podstore/control.h "attach"); the copying is stage1's
 * too (stage1/tty.c), so we check the pod and exec `podctl-stage1 --attach`,
 * as enter does.
 */
#include <getopt.h>

#include "cli.h"
#include "util.h"

static void usage(void)
{
	printf("Usage: podctl attach [OPTIONS] UUID\n\n"
	       "Attach to the terminal of a pod run in the background with a tty (run -dt).\nDetach with "
	       "ctrl-p ctrl-q: the pod keeps running.\n\n"
	       "Options:\n" CLI_GLOBAL_HELP);
}

int cmd_attach(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	ps_pod *p = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		default:
			r = cli_handle_global(cli, c, optarg);
			if (r)
				return r;
		}
	}
	r = cli_lookup_one(cli, argc, argv, &p);
	if (r)
		return r;
	r = cli_check_running(cli, p);
	if (r == EXIT_OK) {
		ps_stage1_args a = { .pod_fd = p->fd, .uuid = p->uuid, .sync_fd = -1, .attach = true,
			             .debug = cli->debug };
		r = cli_exec_stage1(cli, &a);
	}
	ps_pod_free(p);
	return r;
}
