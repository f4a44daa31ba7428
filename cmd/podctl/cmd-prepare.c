/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>

#include "cli.h"
#include "prepare.h"
#include "util.h"

static void usage(void)
{
	printf("Usage: podctl prepare [OPTIONS] (IMAGE [-- ARGS…] | --manifest FILE)\n\n"
	       "Make a pod ready to run and print its uuid. IMAGE is an image name, digest\n"
	       "or digest prefix, an image file to import, or a rootfs directory (used in\n"
	       "place, read-only).\n\n"
	       "Options:\n" PREPARE_OPTIONS_HELP CLI_GLOBAL_HELP);
}

int prepare_build_options(struct option *out, size_t cap, const struct option *extra)
{
	static const struct option globals[] = { CLI_GLOBAL_OPTIONS };
	size_t n = 0;

	for (const struct option *o = prepare_long_options; o->name && n < cap - 1; o++)
		out[n++] = *o;
	for (size_t i = 0; i < ARRAY_SIZE(globals) && n < cap - 1; i++)
		out[n++] = globals[i];
	for (const struct option *o = extra; o && o->name && n < cap - 1; o++)
		out[n++] = *o;
	out[n] = (struct option){ 0 };
	return 0;
}

int cmd_prepare(struct cli *cli, int argc, char **argv)
{
	struct option opts[48];
	struct prepare_opts o = { .goal_timeout_ms = -1, .no_new_privs = -1 };
	ps_error *err = NULL;
	ps_pod *p = NULL;
	int c, r;

	prepare_build_options(opts, ARRAY_SIZE(opts), NULL);
	while ((c = getopt_long(argc, argv, "hv:p:", opts, NULL)) != -1) {
		if (c == 'h') {
			usage();
			prepare_opts_clear(&o);
			return EXIT_OK;
		}
		if (!prepare_opts_handle(cli, &o, c, optarg, &r))
			r = cli_handle_global(cli, c, optarg);
		if (r) {
			prepare_opts_clear(&o);
			return r;
		}
	}
	r = prepare_opts_positional(cli, &o, argc, argv);
	if (r == 0)
		r = cli_open_store(cli, true);
	if (r == 0) {
		if (prepare_pod(cli, &o, &p, &err) < 0)
			r = cli_fail(cli, &err);
		else
			printf("%s\n", p->uuid);
	}
	ps_pod_free(p);
	prepare_opts_clear(&o);
	return r;
}
