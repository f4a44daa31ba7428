/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <json-c/json.h>
#include <string.h>

#include "cli.h"

int cmd_version(struct cli *cli, int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("Usage: podctl version\n\nPrint podctl's version.\n");
		return EXIT_OK;
	}
	printf("podctl %s\nlibpodstore %s\njson-c %s\n", PODCTL_VERSION, PODSTORE_VERSION,
	       json_c_version());
	return EXIT_OK;
}
