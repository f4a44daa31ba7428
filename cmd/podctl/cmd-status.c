/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>

#include "cli.h"
#include "podview.h"
#include "util.h"

enum { OPT_WAIT = OPT_VERB_BASE, OPT_WAIT_READY };

static void usage(void)
{
	printf("Usage: podctl status [OPTIONS] UUID\n\n"
	       "Show a pod's state, times, pid, readiness and its apps.\n\n"
	       "Options:\n"
	       "      --wait[=DUR]           wait for the pod to exit first (exit 4 on timeout)\n"
	       "      --wait-ready[=DUR]     wait for the pod to be ready (exit 4 on timeout,\n"
	       "                             1 at once if it exits without becoming ready)\n"
	       "      --format=json|text     output format (default text)\n" CLI_GLOBAL_HELP);
}

static void print_time(const char *label, long long ns)
{
	char buf[64];

	if (!ns)
		return;
	ps_format_time(ns, buf, sizeof(buf));
	printf("%-9s %s\n", label, buf);
}

/* The second line of an app with a health marker: restarts, probes, STATUS=. */
static void print_health(const ps_health_marker *h)
{
	char when[64] = "";

	printf("    restarts %u", h->restarts);
	if (h->startup)
		printf("  startup %s", h->startup);
	if (h->liveness)
		printf("  liveness %s", h->liveness);
	if (h->readiness)
		printf("  readiness %s", h->readiness);
	printf("\n");
	if (h->last_probe) {
		if (h->last_probe_ns)
			ps_format_time(h->last_probe_ns, when, sizeof(when));
		printf("    last probe: %s %s%s%s%s%s\n", h->last_probe, h->last_result ? h->last_result : "?",
		       *when ? " at " : "", when, h->last_message ? ": " : "",
		       h->last_message ? h->last_message : "");
	}
	if (h->notify_status)
		printf("    status: %s\n", h->notify_status);
}

/* The pod's id range (--private-users), from its own `userns` file: a
 * pod without one shares the host's ids and shows nothing. */
static bool pod_idrange(int pod_fd, ps_idrange *r)
{
	return ps_idrange_pod_read(pod_fd, r, NULL) == 0;
}

static void userns_json_add(json_object *o, int pod_fd)
{
	ps_idrange r;
	if (!pod_idrange(pod_fd, &r))
		return;
	json_object *u = json_object_new_object();
	json_object_object_add(u, "uid", json_object_new_int64(r.uid));
	json_object_object_add(u, "gid", json_object_new_int64(r.gid));
	json_object_object_add(u, "size", json_object_new_int64(r.size));
	json_object_object_add(o, "privateUsers", u);
}

static void userns_print(int pod_fd)
{
	ps_idrange r;
	if (pod_idrange(pod_fd, &r))
		printf("%-9s uid %u gid %u size %u\n", "userns", r.uid, r.gid, r.size);
}

static void print_text(const ps_pod_view *v)
{
	printf("%-9s %s\n", "uuid", v->uuid);
	if (v->have_info && v->info.name)
		printf("%-9s %s\n", "name", v->info.name);
	printf("%-9s %s\n", "state", ps_pod_state_name(v->state));
	printf("%-9s %s\n", "ready", v->ready ? "true" : "false");
	printf("%-9s %s\n", "healthy", v->healthy ? "true" : "false");
	if (v->have_info)
		print_time("created", v->info.created_ns);
	if (v->have_pid) {
		print_time("started", v->pid.time_ns);
		if (v->state == PS_STATE_RUNNING)
			printf("%-9s %d\n", "pid", (int)v->pid.pid);
	}
	if (v->have_exit) {
		print_time("exited", v->exit.time_ns);
		printf("%-9s %d (%s%s%s)\n", "exit", v->exit.code, v->exit.reason ? v->exit.reason : "?",
		       v->exit.app ? ", app " : "", v->exit.app ? v->exit.app : "");
	}
	if (v->gc_marked_ns)
		print_time("gc-marked", v->gc_marked_ns);
	if (v->have_usage) {
		char mem[32], lim[32];
		format_bytes(v->usage.memory_bytes, mem, sizeof(mem));
		format_bytes(v->usage.memory_limit, lim, sizeof(lim));
		printf("%-9s %s%s%s\n", "memory", mem, v->usage.memory_limit > 0 ? " / " : "",
		       v->usage.memory_limit > 0 ? lim : "");
		if (v->usage.cpu_ns >= 0)
			printf("%-9s %.3fs\n", "cpu", (double)v->usage.cpu_ns / 1e9);
		if (v->usage.pids >= 0) {
			printf("%-9s %lld", "pids", v->usage.pids);
			if (v->usage.pids_limit > 0)
				printf(" / %lld", v->usage.pids_limit);
			printf("\n");
		}
	}
	if (v->n_apps == 0)
		return;
	printf("apps:\n");
	for (size_t i = 0; i < v->n_apps; i++) {
		const ps_app_view *a = &v->apps[i];
		char exit[32] = "-";
		if (a->have_exit) {
			if (a->exit.signal)
				snprintf(exit, sizeof(exit), "%d (signal %d)", a->exit.code, a->exit.signal);
			else
				snprintf(exit, sizeof(exit), "%d", a->exit.code);
		}
		printf("  %-16s %-9s goal %-8s exit %-14s%s%s%s%s%s%s\n", a->name,
		       a->have_status && a->status.status ? a->status.status : "INSTALLED",
		       a->init ? "-" : ps_status_goal_name(a->goal), exit, a->init ? " (init)" : "",
		       a->have_status && a->status.reason ? " " : "",
		       a->have_status && a->status.reason ? a->status.reason : "",
		       a->have_status && a->status.ready_by ? " (ready by " : "",
		       a->have_status && a->status.ready_by ? a->status.ready_by : "",
		       a->have_status && a->status.ready_by ? ")" : "");
		if (a->have_health)
			print_health(&a->health);
		if (a->have_usage) {
			char mem[32];
			format_bytes(a->usage.memory_bytes, mem, sizeof(mem));
			printf("    usage: memory %s", mem);
			if (a->usage.memory_limit > 0) {
				format_bytes(a->usage.memory_limit, mem, sizeof(mem));
				printf(" / %s", mem);
			}
			if (a->usage.cpu_ns >= 0)
				printf(", cpu %.3fs", (double)a->usage.cpu_ns / 1e9);
			if (a->usage.pids >= 0)
				printf(", pids %lld", a->usage.pids);
			if (a->usage.pids_limit > 0)
				printf(" / %lld", a->usage.pids_limit);
			printf("\n");
		}
	}
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", optional_argument, NULL, OPT_WAIT },
		{ "wait-ready", optional_argument, NULL, OPT_WAIT_READY },
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format format = FORMAT_TEXT;
	bool wait = false, wait_ready = false;
	long long wait_ms = -1, ready_ms = -1;
	ps_error *err = NULL;
	ps_pod *p = NULL;
	ps_pod_view v;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_WAIT:
			wait = true;
			if ((r = cli_parse_duration(cli, "wait", optarg, &wait_ms)))
				return r;
			break;
		case OPT_WAIT_READY:
			wait_ready = true;
			if ((r = cli_parse_duration(cli, "wait-ready", optarg, &ready_ms)))
				return r;
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
	if (optind + 1 != argc)
		return cli_usage_error(cli, optind >= argc ? "missing UUID" : "one UUID only");
	if ((r = cli_lookup_pod(cli, argv[optind], true, &p)))
		return r;
	r = EXIT_OK;
	if (wait_ready && ps_pod_wait_ready(p, ready_ms, &err) < 0)
		r = cli_fail(cli, &err);
	else if (wait && ps_pod_wait_exited(p, wait_ms, &err) < 0)
		r = cli_fail(cli, &err);
	if (r == EXIT_OK && ps_pod_inspect(p, PS_VIEW_ALL, &v, &err) < 0)
		r = cli_fail(cli, &err);
	if (r == EXIT_OK) {
		if (format == FORMAT_JSON) {
			json_object *o = pod_view_json(&v);
			net_view_json_add(o, p->fd);
			userns_json_add(o, p->fd);
			json_print(o);
			json_object_put(o);
		} else {
			print_text(&v);
			net_view_print(p->fd);
			userns_print(p->fd);
		}
		ps_pod_view_clear(&v);
	}
	ps_pod_free(p);
	return r;
}
