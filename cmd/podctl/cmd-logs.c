/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl logs [--app=NAME] [--follow] UUID
 *
 * Print what a detached app wrote (stdout and stderr, interleaved as
 * written): apps/<app>/log.1 (the rotated part, if any) then apps/<app>/log.
 * --follow keeps printing, woken by inotify, until the pod exits; the exit
 * is the library's exit watch (podstore/exitwatch.h) in the same poll, so a
 * pod whose stage1 was killed ends the follow too.
 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sys/inotify.h>

#include "cli.h"
#include "util.h"

enum { OPT_APP = 2300, OPT_FOLLOW };

static void usage(void)
{
	printf("Usage: podctl logs [OPTIONS] UUID\n\n"
	       "Print the output of a detached pod's app.\n\n"
	       "Options:\n"
	       "      --app=NAME             the app (needed when the pod has several)\n"
	       "  -f, --follow               keep printing until the pod exits\n" CLI_GLOBAL_HELP);
}

/* Copy fd to stdout until EOF. */
static int copy_out(int fd)
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
		int r = ps_write_all(STDOUT_FILENO, buf, (size_t)n);
		if (r < 0)
			return r;
	}
}

static int open_log(int appfd, bool old)
{
	int fd = ps_app_log_open_read(appfd, old);
	return fd < 0 ? -1 : fd;
}

static void exit_watch_freep(ps_exit_watch **w)
{
	ps_exit_watch_free(*w);
}

static int follow(ps_pod *p, int appfd, int logfd)
{
	_cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	_cleanup_(exit_watch_freep) ps_exit_watch *xw = NULL;
	int fd = logfd;

	if (in < 0)
		return -errno;
	/* log is appended to (IN_MODIFY), created (IN_CREATE) and, on
	 * rotation, renamed to log.1 while a new log is created. */
	_cleanup_free_ char *path = ps_strdup_printf("/proc/self/fd/%d", appfd);
	if (!path || inotify_add_watch(in, path, IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0)
		return -errno;
	int r = ps_exit_watch_new(p, &xw, NULL);
	if (r < 0)
		return r;
	for (;;) {
		if (fd < 0)
			fd = open_log(appfd, false);
		if (fd >= 0 && (r = copy_out(fd)) < 0)
			return r;
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
				if (ev->len && streq(ev->name, PS_FILE_APP_LOG) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
					reopen = true;
				e += sizeof(*ev) + ev->len;
			}
		}
		if (reopen && fd >= 0) {
			/* finish the rotated file, then move on to the new one */
			copy_out(fd);
			close(fd);
			fd = -1;
		}
		if (pfd[1].revents && (r = ps_exit_watch_check(xw, NULL)) != 0) {
			if (r < 0)
				return r;
			/* pod exited: print what is left and stop */
			if (fd < 0)
				fd = open_log(appfd, false);
			if (fd >= 0) {
				copy_out(fd);
				close(fd);
			}
			return 0;
		}
	}
}

int cmd_logs(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "app", required_argument, NULL, OPT_APP },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *app = NULL;
	bool follow_flag = false;
	ps_error *err = NULL;
	ps_pod *p = NULL;
	ps_manifest *m = NULL;
	_cleanup_close_ int appfd = -1;
	int c, r, code = EXIT_FAILED;

	while ((c = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
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
		default:
			r = cli_handle_global(cli, c, optarg);
			if (r)
				return r;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(cli, "expected one UUID");
	r = cli_open_store(cli, false);
	if (r)
		return r;
	if (ps_pod_lookup(cli->store, argv[optind], &p, &err) < 0)
		return cli_fail(cli, &err);
	if (ps_manifest_load_at(p->fd, &m, &err) < 0) {
		code = cli_fail(cli, &err);
		goto out;
	}
	code = cli_open_app(cli, p, m, app, &app, &appfd);
	if (code != EXIT_OK)
		goto out;
	int old = open_log(appfd, true);
	if (old >= 0) {
		copy_out(old);
		close(old);
	}
	int cur = open_log(appfd, false);
	if (follow_flag && p->state == PS_STATE_RUNNING) {
		r = follow(p, appfd, cur);
	} else {
		r = cur >= 0 ? copy_out(cur) : 0;
		if (cur >= 0)
			close(cur);
	}
	code = r < 0 ? cli_failf(cli, EXIT_FAILED, "pod %s: %s", p->uuid, strerror(-r)) : EXIT_OK;
out:
	ps_manifest_free(m);
	ps_pod_free(p);
	return code;
}
