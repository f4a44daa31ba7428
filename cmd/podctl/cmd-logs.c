/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl logs [--app=NAME] [--follow] [--tail=N] [--since=DUR|TIME]
 *             [--timestamps] UUID
 *
 * Print what a detached app wrote (stdout and stderr, interleaved as
 * written): apps/<app>/log.1 (the rotated part, if any) then apps/<app>/log.
 * Each line there carries the time stage1 read it (applog.h), which --since
 * filters on and --timestamps shows. --tail=N makes a first pass that only
 * remembers where the last N lines start, then prints from there.
 * --follow keeps printing, woken by inotify, until the pod exits; the exit
 * is the library's exit watch (podstore/exitwatch.h) in the same poll, so a
 * pod whose stage1 was killed ends the follow too.
 *
 * A foreground pod's apps have no log (stage1 creates a detached app's log
 * before its first status marker), which is said in one line.
 */
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <time.h>

#include "applog.h"
#include "cli.h"
#include "util.h"

enum { OPT_APP = 2300, OPT_FOLLOW, OPT_TAIL, OPT_SINCE, OPT_TIMESTAMPS, OPT_STAGE1 };

static void usage(void)
{
	printf("Usage: podctl logs [OPTIONS] UUID\n\n"
	       "Print the output of a detached pod's app.\n\n"
	       "Options:\n"
	       "      --app=NAME             the app or init app (needed when the pod has several)\n"
	       "  -f, --follow               keep printing until the pod exits\n"
	       "  -n, --tail=N               only the last N lines (then follow, with -f)\n"
	       "      --since=DUR|TIME       only lines since DUR ago (\"10m\") or TIME (RFC 3339,\n"
	       "                             \"2026-12-02T09:00:00Z\", or Unix seconds)\n"
	       "  -t, --timestamps           show when each line was written\n"
	       "      --stage1               what the pod's stage1 said (its warnings), not an app\n" CLI_GLOBAL_HELP);
}

/* What is printed, and how. */
struct out {
	bool timestamps;
	long long since_ns; /* 0: no filter */
	bool skip;          /* the current line is filtered out */
};

static void out_line(long long ts, off_t offset, void *userdata)
{
	struct out *o = userdata;
	(void)offset;

	/* A line without a time (an older stage1's log) is not filtered. */
	o->skip = o->since_ns && ts >= 0 && ts < o->since_ns;
	if (!o->skip && o->timestamps && ts >= 0) {
		char buf[64];
		ps_format_time(ts, buf, sizeof(buf));
		fputs(buf, stdout);
		fputc(' ', stdout);
	}
}

static void out_data(const char *s, size_t n, void *userdata)
{
	struct out *o = userdata;

	if (!o->skip)
		fwrite(s, 1, n, stdout);
}

/* Feed fd from its current offset to EOF into the parser. */
static int feed(int fd, ps_applog_parser *pp)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		ps_applog_parser_feed(pp, buf, (size_t)n);
	}
}

/* Which log: an app's (apps/<app>/log, log.1) or, with --stage1, the
 * pod's stage1.log and stage1.log.1; dirfd is the dir they are in. */
struct src {
	int dirfd;
	const char *cur, *old;
};

static int open_log(const struct src *src, bool old)
{
	int fd = ps_applog_open_read(src->dirfd, old ? src->old : src->cur);
	return fd < 0 ? -1 : fd;
}

/* --tail: where the last N printable lines start (file 0 = log.1, 1 = log). */
struct tail {
	struct out *o;
	size_t want, n, cap, next; /* a ring of want entries, n used, next to write */
	struct tail_pos {
		int file;
		off_t offset;
	} *ring;
	int file;
	bool oom;
};

static void tail_line(long long ts, off_t offset, void *userdata)
{
	struct tail *t = userdata;

	if (!t->want || t->oom || (t->o->since_ns && ts >= 0 && ts < t->o->since_ns))
		return;
	if (t->n < t->want) {
		/* grow as lines come, up to want */
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 64;
			if (cap > t->want)
				cap = t->want;
			struct tail_pos *r = reallocarray(t->ring, cap, sizeof(*r));
			if (!r) {
				t->oom = true;
				return;
			}
			t->ring = r;
			t->cap = cap;
		}
		t->ring[t->n++] = (struct tail_pos){ t->file, offset };
		t->next = t->n % t->want;
		return;
	}
	t->ring[t->next] = (struct tail_pos){ t->file, offset };
	t->next = (t->next + 1) % t->want;
}

static void no_data(const char *s, size_t n, void *userdata)
{
	(void)s;
	(void)n;
	(void)userdata;
}

static void exit_watch_freep(ps_exit_watch **w)
{
	ps_exit_watch_free(*w);
}

static int follow(ps_pod *p, const struct src *src, int logfd, ps_applog_parser *pp)
{
	_cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	_cleanup_(exit_watch_freep) ps_exit_watch *xw = NULL;
	int fd = logfd;

	if (in < 0)
		return -errno;
	/* log is appended to (IN_MODIFY), created (IN_CREATE) and, on
	 * rotation, renamed to log.1 while a new log is created. */
	_cleanup_free_ char *path = ps_strdup_printf("/proc/self/fd/%d", src->dirfd);
	if (!path || inotify_add_watch(in, path, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
		return -errno;
	int r = ps_exit_watch_new(p, &xw, NULL);
	if (r < 0)
		return r;
	for (;;) {
		if (fd < 0 && (fd = open_log(src, false)) >= 0)
			ps_applog_parser_init(pp, 0);
		if (fd >= 0 && (r = feed(fd, pp)) < 0)
			return r;
		if (fflush(stdout) == EOF)
			return -errno;
		struct pollfd pfd[2] = { { .fd = in, .events = POLLIN },
			                 { .fd = ps_exit_watch_fd(xw), .events = POLLIN } };
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		char ebuf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		ssize_t n;
		bool reopen = false;
		while ((n = read(in, ebuf, sizeof(ebuf))) > 0) {
			for (char *e = ebuf; e < ebuf + n;) {
				struct inotify_event *ev = (struct inotify_event *)e;
				if (ev->len && streq(ev->name, src->cur) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
					reopen = true;
				e += sizeof(*ev) + ev->len;
			}
		}
		if (reopen && fd >= 0) {
			/* finish the rotated file, then move on to the new one */
			feed(fd, pp);
			ps_applog_parser_flush(pp);
			close(fd);
			fd = -1;
		}
		if (pfd[1].revents && (r = ps_exit_watch_check(xw, NULL)) != 0) {
			if (r < 0)
				return r;
			/* pod exited: print what is left and stop */
			if (fd < 0 && (fd = open_log(src, false)) >= 0)
				ps_applog_parser_init(pp, 0);
			if (fd >= 0) {
				feed(fd, pp);
				ps_applog_parser_flush(pp);
				close(fd);
			}
			return 0;
		}
	}
}

/* --since: a duration back from now, RFC 3339 (Z or ±hh:mm), a date, or
 * Unix seconds. */
static int parse_since(const char *s, long long *ret_ns)
{
	long long ms;
	struct tm tm = { 0 };
	const char *p;

	if (!*s)
		return -EINVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		char *end;
		long long secs = strtoll(s, &end, 10);
		if (errno || secs > LLONG_MAX / 1000000000LL)
			return -EINVAL;
		*ret_ns = secs * 1000000000LL;
		return 0;
	}
	if (ps_duration_parse(s, &ms, NULL) == 0) {
		*ret_ns = ps_now_ns() - ms * 1000000LL;
		return 0;
	}
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))) {
		long long frac = 0;
		int digits = 0;
		if (*p == '.') {
			for (p++; *p >= '0' && *p <= '9'; p++)
				if (digits < 9) {
					frac = frac * 10 + (*p - '0');
					digits++;
				}
			if (!digits)
				return -EINVAL;
			for (; digits < 9; digits++)
				frac *= 10;
		}
		long long off = 0;
		if (*p == 'Z' && !p[1]) {
			off = 0;
		} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
		           strspn(p + 1, "0123456789") == 2 && strspn(p + 4, "0123456789") == 2) {
			off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600LL + ((p[4] - '0') * 10 + (p[5] - '0')) * 60LL;
			if (*p == '-')
				off = -off;
		} else {
			return -EINVAL;
		}
		long long secs = (long long)timegm(&tm) - off;
		if (secs > LLONG_MAX / 1000000000LL - 1 || secs < 0)
			return -EINVAL;
		*ret_ns = secs * 1000000000LL + frac;
		return 0;
	}
	if ((p = strptime(s, "%Y-%m-%d", &tm)) && !*p) {
		long long secs = (long long)timegm(&tm);
		if (secs > LLONG_MAX / 1000000000LL - 1 || secs < 0)
			return -EINVAL;
		*ret_ns = secs * 1000000000LL;
		return 0;
	}
	return -EINVAL;
}

/* No --app: the only app, else a usage error offering every app and init app. */
static int choose_app(struct cli *cli, const ps_pod *p, const ps_manifest *m, const char **ret)
{
	if (m->n_apps == 1) {
		*ret = m->apps[0].name;
		return EXIT_OK;
	}
	_cleanup_free_ char *apps = NULL, *inits = NULL;
	for (size_t i = 0; i < m->n_apps; i++) {
		char *s = ps_strdup_printf("%s %s", apps ? apps : "", m->apps[i].name);
		free(apps);
		if (!(apps = s))
			return cli_failf(cli, EXIT_FAILED, "out of memory");
	}
	for (size_t i = 0; i < m->n_init_apps; i++) {
		char *s = ps_strdup_printf("%s %s", inits ? inits : "", m->init_apps[i].name);
		free(inits);
		if (!(inits = s))
			return cli_failf(cli, EXIT_FAILED, "out of memory");
	}
	return cli_failf(cli, EXIT_USAGE, "pod %s has %zu apps, choose one with --app:%s%s%s", p->uuid, m->n_apps,
	                 apps ? apps : "", inits ? "; init apps:" : "", inits ? inits : "");
}

/* Has the pod run (or does it)? Before, nothing is written yet. */
static bool has_run(const ps_pod *p)
{
	switch (p->state) {
	case PS_STATE_EMBRYO:
	case PS_STATE_PREPARING:
	case PS_STATE_PREPARED:
	case PS_STATE_ABORTED_PREPARE:
		return false;
	default:
		return true;
	}
}

/* Neither log nor log.1: say why in one line. */
static int no_log(struct cli *cli, const ps_pod *p, int appfd, const char *app)
{
	ps_status_marker st;
	ps_error *err = NULL;

	if (!has_run(p))
		return EXIT_OK; /* nothing written yet */
	if (ps_status_marker_read(appfd, &st, &err) < 0) {
		ps_error_free(&err);
		return cli_failf(cli, EXIT_FAILED, "pod %s: app %s never started: it has no output", p->uuid, app);
	}
	ps_status_marker_clear(&st);
	if (p->state == PS_STATE_RUNNING)
		return cli_failf(cli, EXIT_FAILED,
		                 "pod %s runs in the foreground: its output goes to the terminal of podctl run, "
		                 "not to a log (podctl run --detach keeps it)", p->uuid);
	return cli_failf(cli, EXIT_FAILED,
	                 "pod %s ran in the foreground: its output went to the terminal, not to a log "
	                 "(podctl run --detach keeps it)", p->uuid);
}

static int print_logs(ps_pod *p, const struct src *src, bool follow_flag, long long tail_n, struct out *o)
{
	_cleanup_close_ int old = open_log(src, true);
	int cur = open_log(src, false);
	int fds[2] = { old, cur };
	ps_applog_parser pp = { .line = out_line, .data = out_data, .userdata = o };
	ps_applog_parser end_state;
	int start_file = 0, r = 0;
	off_t start_off = 0;

	ps_applog_parser_init(&end_state, 0);

	if (tail_n >= 0) {
		struct tail t = { .o = o, .want = (size_t)tail_n };
		ps_applog_parser tp = { .line = tail_line, .data = no_data, .userdata = &t };
		start_file = 2; /* nothing, unless lines are found */
		for (int f = 0; f < 2; f++) {
			if (fds[f] < 0)
				continue;
			t.file = f;
			ps_applog_parser_init(&tp, 0);
			if ((r = feed(fds[f], &tp)) < 0)
				break;
			if (f == 1) /* --follow goes on from there, in the same line */
				end_state = tp;
			ps_applog_parser_flush(&tp);
		}
		if (r == 0 && t.oom)
			r = -ENOMEM;
		if (r == 0 && t.n) {
			/* the oldest of the last N */
			struct tail_pos *first = &t.ring[t.n < t.want ? 0 : t.next];
			start_file = first->file;
			start_off = first->offset;
		}
		free(t.ring);
		if (r < 0)
			goto out;
		/* skip what is not printed; cur stays at its end for --follow */
		for (int f = start_file; f < 2; f++)
			if (fds[f] >= 0 && lseek(fds[f], f == start_file ? start_off : 0, SEEK_SET) < 0) {
				r = -errno;
				goto out;
			}
	}
	for (int f = start_file; f < 2; f++) {
		if (fds[f] < 0)
			continue;
		ps_applog_parser_init(&pp, f == start_file ? start_off : 0);
		if ((r = feed(fds[f], &pp)) < 0)
			goto out;
		/* The live end of a running pod's log may hold a stamp being
		 * written: not printed as text (--follow reads on). */
		if (f == 0 || p->state != PS_STATE_RUNNING)
			ps_applog_parser_flush(&pp);
	}
	if (follow_flag && p->state == PS_STATE_RUNNING) {
		if (cur >= 0 && start_file == 2) {
			/* --tail=0 (or no line): from the end on, without the
			 * rest of a line cut there */
			end_state.line = out_line;
			end_state.data = out_data;
			end_state.userdata = o;
			pp = end_state;
			o->skip = true;
		}
		r = follow(p, src, cur, &pp);
		cur = -1; /* follow closes it */
	}
out:
	if (cur >= 0)
		close(cur);
	if (fflush(stdout) == EOF && r == 0)
		r = -errno;
	return r;
}

/* --stage1: the pod's stage1.log (and stage1.log.1). */
static int print_stage1_log(struct cli *cli, ps_pod *p, bool follow_flag, long long tail_n, struct out *o)
{
	const struct src src = { p->fd, PS_FILE_STAGE1_LOG, PS_FILE_STAGE1_LOG_OLD };

	if (faccessat(p->fd, src.cur, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	    faccessat(p->fd, src.old, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		if (!has_run(p))
			return EXIT_OK; /* nothing said yet */
		return cli_failf(cli, EXIT_FAILED,
		                 "pod %s has no stage1.log: a foreground stage1 says what it has to say "
		                 "on the terminal of podctl run", p->uuid);
	}
	int r = print_logs(p, &src, follow_flag, tail_n, o);
	return r < 0 ? cli_failf(cli, EXIT_FAILED, "pod %s: %s", p->uuid, strerror(-r)) : EXIT_OK;
}

int cmd_logs(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "app", required_argument, NULL, OPT_APP },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "tail", required_argument, NULL, OPT_TAIL },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "timestamps", no_argument, NULL, OPT_TIMESTAMPS },
		{ "stage1", no_argument, NULL, OPT_STAGE1 },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *app = NULL;
	bool follow_flag = false, stage1 = false;
	long long tail_n = -1;
	struct out o = { 0 };
	ps_error *err = NULL;
	ps_pod *p = NULL;
	ps_manifest *m = NULL;
	_cleanup_close_ int appfd = -1;
	int c, r, code = EXIT_FAILED;

	while ((c = getopt_long(argc, argv, "hfn:t", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_APP:
			app = optarg;
			break;
		case 'f':
		case OPT_FOLLOW:
			follow_flag = true;
			break;
		case 'n':
		case OPT_TAIL: {
			char *end;
			errno = 0;
			if (streq(optarg, "all")) {
				tail_n = -1;
				break;
			}
			tail_n = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || tail_n < 0 || !isdigit((unsigned char)optarg[0]))
				return cli_usage_error(cli, "--tail: expected a number of lines or \"all\", not \"%s\"", optarg);
			break;
		}
		case OPT_SINCE:
			if (parse_since(optarg, &o.since_ns) < 0)
				return cli_usage_error(cli,
				                       "--since: expected a duration (\"10m\"), an RFC 3339 time "
				                       "(\"2026-12-02T09:00:00Z\") or Unix seconds, not \"%s\"",
				                       optarg);
			if (o.since_ns <= 0)
				o.since_ns = 1; /* the epoch: everything */
			break;
		case 't':
		case OPT_TIMESTAMPS:
			o.timestamps = true;
			break;
		case OPT_STAGE1:
			stage1 = true;
			break;
		default:
			r = cli_handle_global(cli, c, optarg);
			if (r)
				return r;
		}
	}
	if (stage1 && app)
		return cli_usage_error(cli, "--stage1 and --app: one or the other");
	r = cli_lookup_one(cli, argc, argv, &p);
	if (r)
		return r;
	if (stage1) {
		code = print_stage1_log(cli, p, follow_flag, tail_n, &o);
		goto out;
	}
	if (ps_manifest_load_at(p->fd, &m, &err) < 0) {
		code = cli_fail_manifest(cli, p->uuid, &err);
		goto out;
	}
	if (!app && (code = choose_app(cli, p, m, &app)) != EXIT_OK)
		goto out;
	/* apps/<name>/ exists for init apps as for apps */
	code = cli_open_app(cli, p, m, app, &app, &appfd);
	if (code != EXIT_OK)
		goto out;
	const struct src src = { appfd, PS_FILE_APP_LOG, PS_FILE_APP_LOG_OLD };
	if (faccessat(appfd, src.cur, F_OK, AT_SYMLINK_NOFOLLOW) < 0 &&
	    faccessat(appfd, src.old, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
		code = no_log(cli, p, appfd, app);
		goto out;
	}
	r = print_logs(p, &src, follow_flag, tail_n, &o);
	code = r < 0 ? cli_failf(cli, EXIT_FAILED, "pod %s: %s", p->uuid, strerror(-r)) : EXIT_OK;
out:
	ps_manifest_free(m);
	ps_pod_free(p);
	return code;
}
