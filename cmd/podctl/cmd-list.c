/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * list: one walk, one read of /proc/locks, and per pod its directory entry
 * and one fstatat; a pod nobody holds is shown from $DIR/list-cache while
 * its dir is as the cache saw it (ps_pod_peek_cached), else from its small
 * markers (info, pid, exit: the EXIT column), as is a held one (ready: the
 * READY column); for JSON, a running pod's apps' markers for "healthy".
 */
#include <getopt.h>

#include "cli.h"
#include "podview.h"
#include "util.h"

enum { OPT_NO_LEGEND = OPT_VERB_BASE, OPT_FULL };

/* READY: yes/no for a running pod; EXIT: the pod's exit code; "-" else. */
#define SHORT_FMT "%-8.8s  %-20s %-16s %-5s %-4s %s\n"
#define FULL_FMT "%-36s  %-20s %-16s %-5s %-4s %-31s %-31s %s\n"

struct list_ctx {
	enum cli_format format;
	bool full;
	size_t n_json; /* objects printed so far */
	unsigned skipped;
	bool flocks_tried;
	ps_flocks *flocks; /* NULL: every pod through ps_pod_open */
	ps_peek_cache *cache; /* $DIR/list-cache, or NULL */
};

static void usage(void)
{
	printf("Usage: podctl list [OPTIONS]\n\n"
	       "List every pod with its state.\n\n"
	       "Options:\n"
	       "      --format=json|text     output format (default text)\n"
	       "      --no-legend            no header line\n"
	       "      --full                 full uuids, start time and pid\n\n"
	       "READY is yes or no for a running pod, EXIT the exit code of an exited one.\n" CLI_GLOBAL_HELP);
}

/* One line (or object) of the view; p is NULL for a peeked pod (not held,
 * so not running: no network, no health to read). */
static void print_one(struct list_ctx *c, ps_pod *p, const ps_pod_view *vv)
{
	const ps_pod_view *v = vv;
	ps_pod_state state = v->state;

	if (c->format == FORMAT_JSON && p && state == PS_STATE_RUNNING) {
		json_object *o = pod_view_json(v);
		net_view_json_add(o, p->fd);
		json_print_array_item(o, stdout, c->n_json++ == 0);
		json_object_put(o);
	} else if (c->format == FORMAT_JSON) {
		pod_view_print_item(v, stdout, c->n_json++ == 0);
	} else {
		char created[64] = "-", started[64] = "-", pid[16] = "-", code[16] = "-";
		const char *ready = state == PS_STATE_RUNNING ? (v->ready ? "yes" : "no") : "-";
		if (v->have_info && v->info.created_ns)
			ps_format_time(v->info.created_ns, created, sizeof(created));
		if (v->have_exit)
			snprintf(code, sizeof(code), "%d", v->exit.code);
		if (c->full) {
			if (v->have_pid && v->pid.time_ns)
				ps_format_time(v->pid.time_ns, started, sizeof(started));
			if (v->have_pid && state == PS_STATE_RUNNING)
				snprintf(pid, sizeof(pid), "%d", (int)v->pid.pid);
			printf(FULL_FMT, v->uuid, v->have_info && v->info.name ? v->info.name : "-",
			       ps_pod_state_name(state), ready, code, created, started, pid);
		} else {
			/* Seconds are enough for a glance. */
			if (created[0] != '-')
				created[19] = '\0';
			printf(SHORT_FMT, v->uuid, v->have_info && v->info.name ? v->info.name : "-",
			       ps_pod_state_name(state), ready, code, created);
		}
	}
}

static int list_one(ps_store *s, const char *uuid, ps_pod_dir dir, void *userdata)
{
	struct list_ctx *c = userdata;
	ps_pod *p = NULL;
	ps_error *err = NULL;
	ps_pod_view v;
	unsigned what = PS_VIEW_INFO | PS_VIEW_RUNTIME;

	/* The short text shows no start time or pid. */
	if (c->format != FORMAT_JSON && !c->full)
		what |= PS_VIEW_NO_PID;
	/* The lock table, read once the walk has read the dirs: a pod nobody
	 * holds is read without opening its dir (ps_pod_peek); the others, and
	 * every pod where the table cannot be used, the full way. */
	if (!c->flocks_tried) {
		c->flocks_tried = true;
		if (ps_flocks_load(s, &c->flocks, &err) < 0)
			ps_error_free(&err);
	}
	if (c->flocks && ps_pod_peek_cached(s, uuid, dir, c->flocks, c->cache, what, &v, NULL) == 0) {
		print_one(c, NULL, &v);
		ps_pod_view_clear(&v);
		return 0;
	}
	/* A pod deleted since the walk read its dir is simply no longer listed. */
	if (ps_pod_open(s, uuid, dir, &p, &err) < 0) {
		ps_error_free(&err);
		return 0;
	}
	if (c->format == FORMAT_JSON)
		what |= PS_VIEW_HEALTH;
	if (ps_pod_inspect(p, what, &v, &err) < 0) {
		ps_error_free(&err);
		ps_pod_free(p);
		return 0;
	}
	print_one(c, p, &v);
	ps_pod_view_clear(&v);
	ps_pod_free(p);
	return 0;
}

int cmd_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "no-legend", no_argument, NULL, OPT_NO_LEGEND },
		{ "full", no_argument, NULL, OPT_FULL },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct list_ctx c = { .format = FORMAT_TEXT };
	bool legend = true;
	ps_error *err = NULL;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_FORMAT:
			if ((r = cli_parse_format(cli, optarg, &c.format)))
				return r;
			break;
		case OPT_NO_LEGEND:
			legend = false;
			break;
		case OPT_FULL:
			c.full = true;
			break;
		default:
			if ((r = cli_handle_global(cli, ch, optarg)))
				return r;
		}
	}
	if (optind < argc)
		return cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
	if ((r = cli_open_store(cli, true)))
		return r;
	/* JSON: the array is printed one object at a time (json_print_array_item). */
	if (c.format != FORMAT_JSON && legend && c.full)
		printf(FULL_FMT, "UUID", "NAME", "STATE", "READY", "EXIT", "CREATED", "STARTED", "PID");
	else if (c.format != FORMAT_JSON && legend)
		printf(SHORT_FMT, "UUID", "NAME", "STATE", "READY", "EXIT", "CREATED");
	/* The cache of unheld pods' markers (PODCTL_LIST_CACHE=0: not used),
	 * loaded before any pod dir is looked at. */
	const char *env = getenv("PODCTL_LIST_CACHE");
	if ((!env || !streq(env, "0")) && ps_peek_cache_load(cli->store, &c.cache, &err) < 0)
		ps_error_free(&err);
	r = ps_walk_pods(cli->store, PS_DIR_ALL, list_one, &c, &err);
	ps_flocks_free(c.flocks);
	if (r < 0) {
		/* The walk fails before any pod is printed: read_dir comes first. */
		ps_peek_cache_free(c.cache);
		return cli_fail(cli, &err);
	}
	if (c.format == FORMAT_JSON)
		json_print_array_end(stdout, c.n_json);
	/* After the output: a store we cannot write keeps its cache as it is. */
	fflush(stdout);
	if (ps_peek_cache_save(cli->store, c.cache, &err) < 0)
		ps_error_free(&err);
	ps_peek_cache_free(c.cache);
	return EXIT_OK;
}
