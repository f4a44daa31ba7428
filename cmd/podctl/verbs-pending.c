/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Verbs whose real implementation lands in its own file; weak, so it wins. */
#include "cli.h"

#define PENDING(fn)                                                                  \
	__attribute__((weak)) int fn(struct cli *cli, int argc, char **argv)         \
	{                                                                            \
		fprintf(stderr, "podctl %s: not implemented yet\n", cli->verb);      \
		return EXIT_FAILED;                                                  \
	}

PENDING(cmd_run)
PENDING(cmd_run_prepared)
PENDING(cmd_stop)
PENDING(cmd_logs)
PENDING(cmd_enter)
PENDING(cmd_image)
