/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats [--format=json] [--no-stream] [--interval=DUR] [UUID…]: memory, CPU
 * and pids of running pods, from their cgroups, like `podman stats`. On a
 * terminal the table is redrawn in place every interval; elsewhere each
 * sample is printed after the last (JSON: one array per sample).
 *
 * CPU %: of one CPU, over the last interval; the first sample (and
 * --no-stream) shows the average since the pod started.
 */
#include <getopt.h>
#include <poll.h>
#include <stddef.h>

#include "cli.h"
#include "podview.h"
#include "util.h"

enum { OPT_NO_STREAM = OPT_VERB_BASE, OPT_INTERVAL };

struct sample {
	char uuid[PS_UUID_LEN + 1];
	char *name;
	ps_cgroup_usage usage;
	long long started_ns;
	long long taken_mono_ns;
	double cpu_percent;
	ps_pod_view view; /* apps, for JSON (ps_pod_inspect) */
	bool have_view;
};

struct stats_ctx {
	char **only;      /* the UUIDs asked for (resolved), NULL = every running pod */
	size_t n_only;
	struct sample *s;
	size_t n, cap;
};

static void usage(void)
{
	printf("Usage: podctl stats [OPTIONS] [UUID…]\n\n"
	       "Show memory, CPU and pids of running pods (every running pod when no UUID is\n"
	       "given), from their cgroups. CPU %% is of one CPU.\n\n"
	       "Options:\n"
	       "      --format=json|text     output format (default text)\n"
	       "      --no-stream            print one sample and exit\n"
	       "      --interval=DUR         time between samples (default 1s)\n" CLI_GLOBAL_HELP);
}

static bool wanted(const struct stats_ctx *c, const char *uuid)
{
	if (!c->only)
		return true;
	for (size_t i = 0; i < c->n_only; i++)
		if (streq(c->only[i], uuid))
			return true;
	return false;
}

static int sample_one(ps_store *s, const char *uuid, ps_pod_dir dir, void *userdata)
{
	struct stats_ctx *c = userdata;
	ps_pod *p = NULL;
	ps_error *err = NULL;

	if (!wanted(c, uuid))
		return 0;
	if (ps_pod_open(s, uuid, dir, &p, &err) < 0 || p->state != PS_STATE_RUNNING) {
		ps_error_free(&err);
		ps_pod_free(p);
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct sample *ns = realloc(c->s, cap * sizeof(*ns));
		if (!ns) {
			ps_pod_free(p);
			return -ENOMEM;
		}
		c->s = ns;
		c->cap = cap;
	}
	struct sample *sm = &c->s[c->n];
	*sm = (struct sample){ 0 };
	if (ps_pod_inspect(p, PS_VIEW_INFO | PS_VIEW_RUNTIME | PS_VIEW_APPS | PS_VIEW_USAGE, &sm->view, &err) < 0) {
		ps_error_free(&err);
		ps_pod_free(p);
		return 0;
	}
	if (!sm->view.have_usage) {
		ps_pod_view_clear(&sm->view);
		ps_pod_free(p);
		return 0;
	}
	/* the pod goes; the view holds no reference to it */
	snprintf(sm->uuid, sizeof(sm->uuid), "%s", uuid);
	sm->name = strdup(sm->view.have_info && sm->view.info.name ? sm->view.info.name : "-");
	sm->usage = sm->view.usage;
	sm->started_ns = sm->view.have_pid ? sm->view.pid.time_ns : 0;
	sm->taken_mono_ns = ps_monotonic_ns();
	sm->have_view = true;
	c->n++;
	ps_pod_free(p);
	return 0;
}

static void samples_clear(struct stats_ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->s[i].name);
		if (c->s[i].have_view)
			ps_pod_view_clear(&c->s[i].view);
	}
	c->n = 0;
}

/* CPU % against the previous sample of the same pod, else since it started. */
static void cpu_percent(struct sample *now, const struct sample *prev, size_t n_prev)
{
	now->cpu_percent = -1;
	if (now->usage.cpu_ns < 0)
		return;
	for (size_t i = 0; i < n_prev; i++) {
		if (!streq(prev[i].uuid, now->uuid) || prev[i].usage.cpu_ns < 0)
			continue;
		long long dt = now->taken_mono_ns - prev[i].taken_mono_ns;
		if (dt > 0)
			now->cpu_percent = 100.0 * (double)(now->usage.cpu_ns - prev[i].usage.cpu_ns) / (double)dt;
		return;
	}
	long long up = ps_now_ns() - now->started_ns;
	if (now->started_ns > 0 && up > 0)
		now->cpu_percent = 100.0 * (double)now->usage.cpu_ns / (double)up;
}

static void print_json(const struct stats_ctx *c)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < c->n; i++) {
		const struct sample *sm = &c->s[i];
		json_object *o = usage_json(&sm->usage);
		json_object_object_add(o, "uuid", json_object_new_string(sm->uuid));
		json_object_object_add(o, "name", json_object_new_string(sm->name));
		if (sm->cpu_percent >= 0)
			json_object_object_add(o, "cpuPercent", json_object_new_double(sm->cpu_percent));
		json_object *apps = json_object_new_array();
		for (size_t k = 0; k < sm->view.n_apps; k++) {
			const ps_app_view *a = &sm->view.apps[k];
			if (!a->have_usage)
				continue;
			json_object *ao = usage_json(&a->usage);
			json_object_object_add(ao, "name", json_object_new_string(a->name));
			json_object_array_add(apps, ao);
		}
		json_object_object_add(o, "apps", apps);
		json_object_array_add(arr, o);
	}
	json_print(arr);
	json_object_put(arr);
}

static void print_table(const struct stats_ctx *c)
{
	printf("%-12s  %-20s %7s  %-21s %6s  %-12s %s\n", "UUID", "NAME", "CPU %", "MEM USAGE / LIMIT",
	       "MEM %", "CPU TIME", "PIDS");
	for (size_t i = 0; i < c->n; i++) {
		const struct sample *sm = &c->s[i];
		const ps_cgroup_usage *u = &sm->usage;
		char mem[32], lim[32], memcol[72], cpu[16] = "-", pct[16] = "-", time[24] = "-", pids[48] = "-";
		format_bytes(u->memory_bytes, mem, sizeof(mem));
		if (u->memory_limit > 0) {
			format_bytes(u->memory_limit, lim, sizeof(lim));
			snprintf(memcol, sizeof(memcol), "%s / %s", mem, lim);
			if (u->memory_bytes >= 0)
				snprintf(pct, sizeof(pct), "%.2f%%", 100.0 * (double)u->memory_bytes / (double)u->memory_limit);
		} else {
			snprintf(memcol, sizeof(memcol), "%s / -", mem);
		}
		if (sm->cpu_percent >= 0)
			snprintf(cpu, sizeof(cpu), "%.2f%%", sm->cpu_percent);
		if (u->cpu_ns >= 0)
			snprintf(time, sizeof(time), "%.3fs", (double)u->cpu_ns / 1e9);
		if (u->pids >= 0 && u->pids_limit > 0)
			snprintf(pids, sizeof(pids), "%lld / %lld", u->pids, u->pids_limit);
		else if (u->pids >= 0)
			snprintf(pids, sizeof(pids), "%lld", u->pids);
		printf("%-12.12s  %-20.20s %7s  %-21s %6s  %-12s %s\n", sm->uuid, sm->name, cpu, memcol, pct, time,
		       pids);
	}
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "no-stream", no_argument, NULL, OPT_NO_STREAM },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format format = FORMAT_TEXT;
	bool stream = true;
	long long interval_ms = 1000;
	struct stats_ctx c = { 0 }, prev = { 0 };
	ps_error *err = NULL;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_FORMAT:
			if ((r = cli_parse_format(cli, optarg, &format)))
				return r;
			break;
		case OPT_NO_STREAM:
			stream = false;
			break;
		case OPT_INTERVAL:
			if ((r = cli_parse_duration(cli, "interval", optarg, &interval_ms)))
				return r;
			if (interval_ms <= 0)
				return cli_usage_error(cli, "--interval: must be more than 0");
			break;
		default:
			if ((r = cli_handle_global(cli, ch, optarg)))
				return r;
		}
	}
	if ((r = cli_open_store(cli, true)))
		return r;
	/* UUIDs (prefixes) are resolved once: a pod named that does not run
	 * is an error, as with podman stats. */
	if (optind < argc) {
		c.n_only = (size_t)(argc - optind);
		c.only = calloc(c.n_only, sizeof(char *));
		if (!c.only)
			return EXIT_FAILED;
		for (size_t i = 0; i < c.n_only; i++) {
			ps_pod *p = NULL;
			if (ps_pod_lookup(cli->store, argv[optind + (int)i], &p, &err) < 0) {
				r = cli_fail(cli, &err);
				goto out;
			}
			if (p->state != PS_STATE_RUNNING) {
				r = cli_failf(cli, EXIT_FAILED, "pod %s is not running (%s)", p->uuid,
				              ps_pod_state_name(p->state));
				ps_pod_free(p);
				goto out;
			}
			c.only[i] = strdup(p->uuid);
			ps_pod_free(p);
			if (!c.only[i]) {
				r = EXIT_FAILED;
				goto out;
			}
		}
	}
	bool tty = isatty(STDOUT_FILENO);
	for (;;) {
		r = ps_walk_pods(cli->store, 1u << PS_DIR_RUN, sample_one, &c, &err);
		if (r < 0) {
			r = cli_fail(cli, &err);
			goto out;
		}
		for (size_t i = 0; i < c.n; i++)
			cpu_percent(&c.s[i], prev.s, prev.n);
		if (stream && tty)
			printf("\033[H\033[2J"); /* redraw in place */
		if (format == FORMAT_JSON)
			print_json(&c);
		else
			print_table(&c);
		fflush(stdout);
		if (!stream)
			break;
		/* keep this sample for the next one's CPU %; reuse the old array */
		samples_clear(&prev);
		struct stats_ctx t = prev;
		prev.s = c.s;
		prev.n = c.n;
		prev.cap = c.cap;
		c.s = t.s;
		c.cap = t.cap;
		c.n = 0;
		/* The refresh interval: a display rate, not a wait for an event. */
		poll(NULL, 0, (int)interval_ms);
	}
	r = EXIT_OK;
out:
	samples_clear(&c);
	samples_clear(&prev);
	free(c.s);
	free(prev.s);
	for (size_t i = 0; i < c.n_only; i++)
		free(c.only ? c.only[i] : NULL);
	free(c.only);
	return r;
}
