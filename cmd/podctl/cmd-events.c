/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podctl events: print pods' event logs, merged by time; --follow for more. */
#include <getopt.h>
#include <poll.h>
#include <sys/inotify.h>

#include "cli.h"
#include "podview.h"
#include "util.h"

enum { OPT_FOLLOW = OPT_VERB_BASE };

static void usage(void)
{
	printf("Usage: podctl events [--follow] [--format=json] [UUID]\n\n"
	       "Print the events (status changes, ready/unready, probe results, restarts,\n"
	       "exits, sd_notify messages) of a pod, or of every running and exited pod\n"
	       "merged by time. JSON output is one object per line.\n\n"
	       "Options:\n"
	       "  -f, --follow               keep printing new events until interrupted\n"
	       "      --format=json|text     output format (default text)\n" CLI_GLOBAL_HELP);
}

struct source {
	ps_pod *pod;
	ps_events_reader *rd;
	int wd;
};

struct item {
	ps_event ev;
	const char *uuid;
	size_t seq;  /* keeps a pod's own order among equal times */
};

struct events_ctx {
	struct cli *cli;
	enum cli_format format;
	struct source *src;
	size_t n_src;
	int ifd;     /* -1 unless following */
	int run_wd;
};

static void print_event(const struct events_ctx *c, const char *uuid, const ps_event *e)
{
	char t[64];

	ps_format_time(e->time_ns, t, sizeof(t));
	if (c->format == FORMAT_JSON) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "time", json_object_new_string(t));
		json_object_object_add(o, "pod", json_object_new_string(uuid));
#define ADD(k, v) \
	if (v)    \
		json_object_object_add(o, k, json_object_new_string(v))
		ADD("app", e->app);
		ADD("type", e->type);
		ADD("from", e->from);
		ADD("to", e->to);
		ADD("reason", e->reason);
#undef ADD
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("%s  %.8s  %-12s %-8s", t, uuid, e->app ? e->app : "-", e->type);
		if (e->from || e->to)
			printf("  %s -> %s", e->from ? e->from : "?", e->to ? e->to : "?");
		if (e->reason)
			printf("  %s", e->reason);
		printf("\n");
	}
}

static int by_time(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->ev.time_ns != y->ev.time_ns)
		return x->ev.time_ns < y->ev.time_ns ? -1 : 1;
	int u = strcmp(x->uuid, y->uuid);
	if (u)
		return u;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Read everything new from every source, print it merged by time. */
static int drain(struct events_ctx *c)
{
	struct item *items = NULL;
	size_t n = 0, cap = 0;
	ps_error *err = NULL;
	int r = EXIT_OK;

	for (size_t i = 0; i < c->n_src; i++) {
		for (;;) {
			ps_event ev;
			int k = ps_events_reader_next(c->src[i].rd, &ev, &err);
			if (k < 0) {
				r = cli_fail(c->cli, &err);
				goto out;
			}
			if (k == 0)
				break;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				struct item *ni = realloc(items, cap * sizeof(*items));
				if (!ni) {
					ps_event_clear(&ev);
					r = cli_failf(c->cli, EXIT_FAILED, "%s", strerror(ENOMEM));
					goto out;
				}
				items = ni;
			}
			items[n] = (struct item){ .ev = ev, .uuid = c->src[i].pod->uuid, .seq = n };
			n++;
		}
	}
	if (n)
		qsort(items, n, sizeof(*items), by_time);
	for (size_t i = 0; i < n; i++)
		print_event(c, items[i].uuid, &items[i].ev);
	fflush(stdout);
out:
	for (size_t i = 0; i < n; i++)
		ps_event_clear(&items[i].ev);
	free(items);
	return r;
}

static int add_source(struct events_ctx *c, ps_pod *p)
{
	ps_error *err = NULL;
	struct source *ns = realloc(c->src, (c->n_src + 1) * sizeof(*c->src));

	if (!ns) {
		ps_pod_free(p);
		return -ENOMEM;
	}
	c->src = ns;
	struct source *s = &c->src[c->n_src];
	*s = (struct source){ .pod = p, .wd = -1 };
	if (ps_events_reader_open(p->fd, &s->rd, &err) < 0) {
		ps_error_free(&err);
		ps_pod_free(p);
		return -ENOMEM;
	}
	if (c->ifd >= 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", p->fd);
		s->wd = inotify_add_watch(c->ifd, path, IN_MODIFY | IN_MOVED_TO | IN_CREATE);
	}
	c->n_src++;
	return 0;
}

static bool have_pod(const struct events_ctx *c, const char *uuid)
{
	for (size_t i = 0; i < c->n_src; i++)
		if (streq(c->src[i].pod->uuid, uuid))
			return true;
	return false;
}

static int walk_one(ps_store *s, const char *uuid, ps_pod_dir dir, void *userdata)
{
	struct events_ctx *c = userdata;
	ps_pod *p = NULL;

	if (have_pod(c, uuid))
		return 0;
	if (ps_pod_open(s, uuid, dir, &p, NULL) < 0)
		return 0; /* moved on (gc): nothing to show */
	return add_source(c, p) < 0 ? -ENOMEM : 0;
}

static int walk_all(struct events_ctx *c)
{
	ps_error *err = NULL;

	if (ps_walk_pods(c->cli->store, PS_DIR_BIT(PS_DIR_RUN) | PS_DIR_BIT(PS_DIR_EXITED_GARBAGE),
	                 walk_one, c, &err) < 0)
		return cli_fail(c->cli, &err);
	return EXIT_OK;
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct events_ctx c = { .cli = cli, .format = FORMAT_TEXT, .ifd = -1, .run_wd = -1 };
	bool follow = false;
	ps_error *err = NULL;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage();
			return EXIT_OK;
		case 'f':
			follow = true;
			break;
		case OPT_FORMAT:
			if ((r = cli_parse_format(cli, optarg, &c.format)))
				return r;
			break;
		default:
			if ((r = cli_handle_global(cli, ch, optarg)))
				return r;
		}
	}
	if (optind + 1 < argc)
		return cli_usage_error(cli, "at most one UUID");
	if ((r = cli_open_store(cli, true)))
		return r;
	if (follow) {
		c.ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (c.ifd < 0) {
			return cli_failf(cli, EXIT_FAILED, "inotify: %s", strerror(errno));
		}
	}
	bool all = optind == argc;
	if (!all) {
		ps_pod *p = NULL;
		if (ps_pod_lookup(cli->store, argv[optind], &p, &err) < 0) {
			r = cli_fail(cli, &err);
			goto out;
		}
		if (add_source(&c, p) < 0) {
			r = EXIT_FAILED;
			goto out;
		}
	} else {
		/* New pods appear in run/ (by rename from prepared/): watch it first. */
		if (c.ifd >= 0) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%d", ps_store_dir_fd(cli->store, PS_DIR_RUN));
			c.run_wd = inotify_add_watch(c.ifd, path, IN_MOVED_TO | IN_CREATE);
		}
		if ((r = walk_all(&c)))
			goto out;
	}
	if ((r = drain(&c)) || !follow)
		goto out;
	for (;;) {
		struct pollfd pfd = { .fd = c.ifd, .events = POLLIN };
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = cli_failf(cli, EXIT_FAILED, "poll: %s", strerror(errno));
			break;
		}
		bool new_pods = false;
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		ssize_t n;
		while ((n = read(c.ifd, buf, sizeof(buf))) > 0)
			for (char *p = buf; p < buf + n;) {
				struct inotify_event *ie = (struct inotify_event *)p;
				if (ie->wd == c.run_wd)
					new_pods = true;
				p += sizeof(*ie) + ie->len;
			}
		if (new_pods && (r = walk_all(&c)))
			break;
		if ((r = drain(&c)))
			break;
	}
out:
	for (size_t i = 0; i < c.n_src; i++) {
		ps_events_reader_free(c.src[i].rd);
		ps_pod_free(c.src[i].pod);
	}
	free(c.src);
	if (c.ifd >= 0)
		close(c.ifd);
	return r;
}
