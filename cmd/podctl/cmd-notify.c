/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podctl notify: a small sd_notify client for use inside a pod. */
#include <getopt.h>

#include "cli.h"
#include "sdnotify.h"
#include "util.h"

static void usage(void)
{
	printf("Usage: podctl notify WORD…\n\n"
	       "Tell the supervisor at $NOTIFY_SOCKET (sd_notify protocol) about this app.\n"
	       "Words, one datagram with one line each:\n"
	       "  ready                      READY=1: the app reached READY\n"
	       "  status=TEXT                STATUS=TEXT: shown by `podctl status`\n"
	       "  stopping                   STOPPING=1\n"
	       "  reloading                  RELOADING=1\n"
	       "  watchdog                   WATCHDOG=1: keep-alive for the app's watchdog\n"
	       "  mainpid=N                  MAINPID=N\n"
	       "  KEY=VALUE                  any other upper-case assignment, as is\n\n"
	       "Exit 1 with one line when NOTIFY_SOCKET is unset or sending failed.\n\n"
	       "Options:\n" CLI_GLOBAL_HELP);
}

int cmd_notify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	_cleanup_free_ char *msg = NULL;
	const char *bad = NULL;
	size_t len;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		default:
			if ((r = cli_handle_global(cli, c, optarg)))
				return r;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "missing WORD (ready, status=TEXT, stopping, watchdog)");
	r = ps_sd_notify_build(argc - optind, argv + optind, &msg, &len, &bad);
	if (r == -E2BIG)
		return cli_usage_error(cli, "message longer than %d bytes", PS_NOTIFY_MSG_MAX);
	if (r < 0)
		return cli_usage_error(cli, "unknown word \"%s\"", bad ? bad : "");
	const char *addr = getenv("NOTIFY_SOCKET");
	if (!addr || !*addr) {
		return cli_failf(cli, EXIT_FAILED, "NOTIFY_SOCKET is not set (not run under a supervisor)");
	}
	/* Stay alive until the supervisor has handled it (it checks who sent
	 * it); a supervisor that never answers the barrier costs 5 s at most. */
	r = ps_sd_notify_send_wait(addr, msg, len, 5000);
	if (r == -ETIMEDOUT)
		r = 0;
	if (r < 0) {
		return cli_failf(cli, EXIT_FAILED, "send to %s: %s", addr, strerror(-r));
	}
	return EXIT_OK;
}
