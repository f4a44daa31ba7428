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
#include <fcntl.h>
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
	ps_error *err = NULL;
	ps_pod *p = NULL;
	int c, r, code = EXIT_FAILED;

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
	if (optind + 1 != argc)
		return cli_usage_error(cli, "expected one UUID");
	r = cli_open_store(cli, false);
	if (r)
		return r;
	if (ps_pod_lookup(cli->store, argv[optind], &p, &err) < 0)
		return cli_fail(cli, &err);
	if (p->state != PS_STATE_RUNNING) {
		code = cli_failf(cli, EXIT_FAILED, "pod %s is not running (%s)", p->uuid,
		                 ps_pod_state_name(p->state));
		goto out;
	}
	{
		ps_stage1_args a = { .pod_fd = p->fd, .uuid = p->uuid, .sync_fd = -1, .attach = true,
			             .debug = cli->debug };
		_cleanup_free_ char *stage1 = NULL;
		char **av = NULL;
		if (ps_stage1_path(&stage1, &err) < 0 || ps_stage1_argv(&a, &av, &err) < 0) {
			code = cli_fail(cli, &err);
			goto out;
		}
		int flags = fcntl(p->fd, F_GETFD);
		if (flags >= 0 && fcntl(p->fd, F_SETFD, flags & ~FD_CLOEXEC) == 0) {
			fflush(stdout);
			fflush(stderr);
			execv(stage1, av);
		}
		code = cli_failf(cli, EXIT_FAILED, "exec %s: %s", stage1, strerror(errno));
		ps_strv_free(av);
	}
out:
	ps_pod_free(p);
	return code;
}
