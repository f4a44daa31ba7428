/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>

#include "cli.h"
#include "util.h"

int cmd_cat_manifest(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { CLI_GLOBAL_OPTIONS, { NULL, 0, NULL, 0 } };
	_cleanup_free_ char *buf = NULL;
	ps_error *err = NULL;
	ps_pod *p = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: podctl cat-manifest UUID\n\n"
			       "Print the pod's resolved manifest (JSON).\n\nOptions:\n" CLI_GLOBAL_HELP);
			return EXIT_OK;
		}
		if ((r = cli_handle_global(cli, c, optarg)))
			return r;
	}
	if (optind + 1 != argc)
		return cli_usage_error(cli, optind >= argc ? "missing UUID" : "one UUID only");
	if ((r = cli_lookup_pod(cli, argv[optind], true, &p)))
		return r;
	r = ps_read_file_at(p->fd, PS_FILE_MANIFEST, 1 << 20, &buf, NULL, &err);
	if (r == -ENOENT)
		ps_error_set(&err, PS_ERR_NOT_FOUND, 0, "pod %s has no manifest (%s)", p->uuid,
		             ps_pod_state_name(p->state));
	else if (r == 0 && !*buf)
		r = ps_error_set(&err, PS_ERR_FAILED, 0,
		                 "pod %s: manifest is empty (torn by a crash or power cut)", p->uuid);
	ps_pod_free(p);
	if (r < 0)
		return cli_fail(cli, &err);
	fputs(buf, stdout);
	if (*buf && buf[strlen(buf) - 1] != '\n')
		putchar('\n');
	return EXIT_OK;
}
