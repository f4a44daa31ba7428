/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl-notify: a static, libc-only sd_notify client that stage1 binds into
 * every app at /.podctl/notify, for images with no client of their own.
 *
 *   /.podctl/notify ready | status=TEXT | stopping | reloading | watchdog |
 *                   mainpid=N | KEY=VALUE …
 *
 * Exit 0 when sent, 1 (one line on stderr) when NOTIFY_SOCKET is unset or
 * sending failed, 2 for a bad word.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdnotify.h"

int main(int argc, char **argv)
{
	const char *bad = NULL;
	char *msg = NULL;
	size_t len;
	int r;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc < 2 ? stderr : stdout,
		        "Usage: %s ready|status=TEXT|stopping|reloading|watchdog|mainpid=N|KEY=VALUE…\n",
		        argv[0]);
		return argc < 2 ? 2 : 0;
	}
	r = ps_sd_notify_build(argc - 1, argv + 1, &msg, &len, &bad);
	if (r < 0) {
		fprintf(stderr, "podctl-notify: %s: \"%s\"\n",
		        r == -E2BIG ? "message too long" : "unknown word", bad ? bad : "");
		return 2;
	}
	const char *addr = getenv("NOTIFY_SOCKET");
	if (!addr || !*addr) {
		fprintf(stderr, "podctl-notify: NOTIFY_SOCKET is not set (not run under a supervisor)\n");
		free(msg);
		return 1;
	}
	/* Stay alive until the supervisor has handled it (it checks who sent
	 * it); a supervisor that never answers the barrier costs 5 s at most. */
	r = ps_sd_notify_send_wait(addr, msg, len, 5000);
	if (r == -ETIMEDOUT)
		r = 0;
	free(msg);
	if (r < 0) {
		fprintf(stderr, "podctl-notify: send to %s: %s\n", addr, strerror(-r));
		return 1;
	}
	return 0;
}
