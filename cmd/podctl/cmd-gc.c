/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <json-c/json.h>

#include "cli.h"
#include "podview.h"
#include "util.h"

enum { OPT_GRACE = OPT_VERB_BASE, OPT_EXPIRE_PREPARED, OPT_MARK_ONLY };

static void usage(void)
{
	printf("Usage: podctl gc [OPTIONS]\n\n"
	       "Remove exited pods past the grace period, prepared pods past their expiry,\n"
	       "aborted prepares, stale embryos, leftover temporary files and unused image\n"
	       "trees. Never waits: pods locked by someone else are skipped and named.\n\n"
	       "Options:\n"
	       "      --grace-period=DUR     keep exited pods this long (default 30m)\n"
	       "      --expire-prepared=DUR  remove prepared pods older than this (default 24h)\n"
	       "      --mark-only            move to garbage, delete nothing\n"
	       "      --format=json|text     json: print what was done as one object (marked,\n"
	       "                             removed, skipped, tmpRemoved); text (default):\n"
	       "                             print only when pods were skipped\n" CLI_GLOBAL_HELP);
}

int cmd_gc(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grace-period", required_argument, NULL, OPT_GRACE },
		{ "expire-prepared", required_argument, NULL, OPT_EXPIRE_PREPARED },
		{ "mark-only", no_argument, NULL, OPT_MARK_ONLY },
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	ps_gc_opts o = { .grace_period_ms = 30 * 60 * 1000LL,
		         .expire_prepared_ms = 24 * 60 * 60 * 1000LL };
	ps_gc_report rep = { 0 };
	ps_error *err = NULL;
	enum cli_format format = FORMAT_TEXT;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_GRACE:
			if ((r = cli_parse_duration(cli, "grace-period", optarg, &o.grace_period_ms)))
				return r;
			break;
		case OPT_EXPIRE_PREPARED:
			if ((r = cli_parse_duration(cli, "expire-prepared", optarg, &o.expire_prepared_ms)))
				return r;
			break;
		case OPT_MARK_ONLY:
			o.mark_only = true;
			break;
		case OPT_FORMAT:
			if ((r = cli_parse_format(cli, optarg, &format)))
				return r;
			break;
		default:
			if ((r = cli_handle_global(cli, c, optarg)))
				return r;
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	if ((r = cli_open_store(cli, true)))
		return r;
	if (ps_gc(cli->store, &o, &rep, &err) < 0)
		return cli_fail(cli, &err);
	if (format == FORMAT_JSON) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "marked", json_object_new_int64(rep.marked));
		json_object_object_add(j, "removed", json_object_new_int64(rep.removed));
		json_object_object_add(j, "skipped", json_object_new_int64(rep.skipped));
		json_object_object_add(j, "tmpRemoved", json_object_new_int64(rep.tmp_removed));
		json_print(j);
		json_object_put(j);
	} else if (cli->debug || rep.skipped)
		fprintf(stderr, "podctl gc: %u marked, %u removed, %u skipped (locked), %u temporary files removed\n",
		        rep.marked, rep.removed, rep.skipped, rep.tmp_removed);
	return EXIT_OK;
}
