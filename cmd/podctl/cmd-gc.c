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
	       "Mark exited pods (move them to exited-garbage/) and remove those marked for\n"
	       "longer than the grace period; remove prepared pods past their expiry,\n"
	       "aborted prepares, stale embryos, leftover temporary files and unused image\n"
	       "trees. Never waits: pods locked by someone else are skipped and named.\n"
	       "Prints a line per pod it marks or removes. Exits 1 only when something it\n"
	       "should have collected could not be.\n\n"
	       "Options:\n"
	       "      --grace-period=DUR     keep marked exited pods this long (default 30m)\n"
	       "      --expire-prepared=DUR  remove prepared pods older than this (default 24h)\n"
	       "      --mark-only            mark (exited → exited-garbage, expired prepared →\n"
	       "                             garbage), delete nothing\n"
	       "  -q, --quiet                print nothing but errors\n"
	       "      --format=json|text     output format (default text)\n" CLI_GLOBAL_HELP);
}

struct gc_out {
	struct cli *cli;
	enum cli_format format;
	bool quiet;
	json_object *doc; /* --format=json: {"marked":[…],"removed":[…],…} */
};

static const char *const action_keys[] = {
	[PS_GC_MARKED] = "marked",
	[PS_GC_REMOVED] = "removed",
	[PS_GC_SKIPPED] = "skipped",
	[PS_GC_FAILED] = "failed",
};

static void on_pod(const char *uuid, ps_gc_action action, const char *what, void *userdata)
{
	struct gc_out *o = userdata;

	if (o->doc) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "uuid", json_object_new_string(uuid));
		if (what)
			json_object_object_add(e, action == PS_GC_FAILED ? "error" : "from",
			                       json_object_new_string(what));
		json_object *arr = NULL;
		json_object_object_get_ex(o->doc, action_keys[action], &arr);
		json_object_array_add(arr, e);
		return;
	}
	switch (action) {
	case PS_GC_MARKED:
		if (!o->quiet)
			printf("marked   %s (%s)\n", uuid, what);
		break;
	case PS_GC_REMOVED:
		if (!o->quiet)
			printf("removed  %s\n", uuid);
		break;
	case PS_GC_SKIPPED:
		if (!o->quiet)
			cli_note(o->cli, "pod %s: %s, skipped", uuid, what);
		break;
	case PS_GC_FAILED:
		cli_failf(o->cli, EXIT_FAILED, "pod %s: %s", uuid, what); /* the exit code is cmd_gc's */
		break;
	}
}

int cmd_gc(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grace-period", required_argument, NULL, OPT_GRACE },
		{ "expire-prepared", required_argument, NULL, OPT_EXPIRE_PREPARED },
		{ "mark-only", no_argument, NULL, OPT_MARK_ONLY },
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct gc_out out = { .cli = cli, .format = FORMAT_TEXT };
	ps_gc_opts o = { .grace_period_ms = 30 * 60 * 1000LL,
		         .expire_prepared_ms = 24 * 60 * 60 * 1000LL,
		         .on_pod = on_pod,
		         .userdata = &out };
	ps_gc_report rep = { 0 };
	ps_error *err = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
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
		case 'q':
			out.quiet = true;
			break;
		case OPT_FORMAT:
			if ((r = cli_parse_format(cli, optarg, &out.format)))
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
	if (out.format == FORMAT_JSON) {
		out.doc = json_object_new_object();
		for (size_t i = 0; i < ARRAY_SIZE(action_keys); i++)
			json_object_object_add(out.doc, action_keys[i], json_object_new_array());
	}
	if (ps_gc(cli->store, &o, &rep, &err) < 0) {
		json_object_put(out.doc);
		return cli_fail(cli, &err);
	}
	if (out.doc) {
		json_object_object_add(out.doc, "tmpRemoved", json_object_new_int64(rep.tmp_removed));
		json_print(out.doc);
		json_object_put(out.doc);
	} else if (cli->debug) {
		cli_note(cli, "%u marked, %u removed, %u skipped (locked), %u failed, %u temporary files removed",
		         rep.marked, rep.removed, rep.skipped, rep.failed, rep.tmp_removed);
	}
	return rep.failed ? EXIT_FAILED : EXIT_OK;
}
