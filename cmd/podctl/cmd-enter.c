/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl enter [--app=NAME] UUID [CMD…]
 *
 * Run CMD (default /bin/sh) in a running app as the app itself runs: its
 * namespaces and root, working dir, seccomp filter, capabilities, user and
 * environment. Those steps are stage1's (an exec probe takes the same ones),
 * so after checking the pod and the app we exec `podctl-stage1 --enter`
 * (stage1/enter.c). The exit code is the command's.
 *
 * An app that is still starting (run --detach returns once the pod's init
 * exists, before the apps have) is waited for, by inotify on its dir (the
 * pid marker is renamed into place once it has exec'd) and the pod's exit
 * watch, up to --timeout.
 */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>

#include "cli.h"
#include "procutil.h"
#include "util.h"

enum { OPT_APP = 2200, OPT_TIMEOUT, OPT_TTY };

#define ENTER_DEFAULT_TIMEOUT_MS 30000LL

static void usage(void)
{
	printf("Usage: podctl enter [OPTIONS] UUID [CMD…]\n\n"
	       "Run CMD (default /bin/sh) inside a running app of a pod.\n\n"
	       "Options:\n"
	       "      --app=NAME             the app (needed when the pod has several)\n"
	       "      --timeout=DUR          wait at most DUR for a starting app (default 30s)\n"
	       "  -t, --tty                  run CMD on a terminal of the pod's own (raw while it\n"
	       "                             runs when stdin is a terminal), as docker exec -it;\n"
	       "                             the default when stdin and stdout are terminals\n" CLI_GLOBAL_HELP);
}

static void exit_watch_freep(ps_exit_watch **w)
{
	ps_exit_watch_free(*w);
}

/* The app's status marker names a status it will not start from. */
static bool app_ended(int appfd, char **ret_status)
{
	ps_status_marker st = { 0 };

	if (ps_status_marker_read(appfd, &st, NULL) < 0 || !st.status)
		return false;
	bool ended = streq(st.status, "EXITED") || streq(st.status, "FAILED") || streq(st.status, "STOPPED") ||
	             streq(st.status, "STOPPING");
	if (ended)
		*ret_status = TAKE_PTR(st.status);
	ps_status_marker_clear(&st);
	return ended;
}

/* Until the app has a pid marker (it has exec'd): EXIT_OK, or a one-line
 * failure when it ended, the pod exited or timeout_ms passed. */
static int wait_app_started(struct cli *cli, ps_pod *p, int appfd, const char *app, long long timeout_ms)
{
	_cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	_cleanup_(exit_watch_freep) ps_exit_watch *xw = NULL;
	_cleanup_free_ char *path = ps_strdup_printf("/proc/self/fd/%d", appfd);
	ps_error *err = NULL;
	long long deadline = ps_monotonic_ns() + timeout_ms * 1000000LL;

	if (in < 0 || !path || inotify_add_watch(in, path, IN_CREATE | IN_MOVED_TO) < 0)
		return cli_failf(cli, EXIT_FAILED, "pod %s: watch app %s: %s", p->uuid, app, strerror(errno));
	if (ps_exit_watch_new(p, &xw, &err) < 0)
		return cli_fail(cli, &err);
	for (;;) {
		ps_pid_marker pm = { 0 };
		_cleanup_free_ char *status = NULL;

		/* after the watch exists: a marker made meanwhile is seen here;
		 * the status first, as an app that ended keeps its pid marker */
		if (app_ended(appfd, &status))
			return cli_failf(cli, EXIT_FAILED, "pod %s: app %s is not running (%s)", p->uuid, app, status);
		if (ps_pid_marker_read(appfd, &pm, NULL) == 0)
			return EXIT_OK;
		long long left_ms = (deadline - ps_monotonic_ns()) / 1000000LL;
		if (left_ms <= 0) {
			char d[32];
			ps_duration_format(timeout_ms, d, sizeof(d));
			return cli_failf(cli, EXIT_FAILED, "pod %s: app %s has not started within %s", p->uuid, app, d);
		}
		struct pollfd pfd[2] = { { .fd = in, .events = POLLIN },
			                 { .fd = ps_exit_watch_fd(xw), .events = POLLIN } };
		if (poll(pfd, 2, left_ms > INT_MAX ? INT_MAX : (int)left_ms) < 0 && errno != EINTR)
			return cli_failf(cli, EXIT_FAILED, "pod %s: poll: %s", p->uuid, strerror(errno));
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		while (read(in, buf, sizeof(buf)) > 0)
			;
		if (pfd[1].revents) {
			int r = ps_exit_watch_check(xw, &err);
			if (r < 0)
				return cli_fail(cli, &err);
			if (r > 0 && ps_pid_marker_read(appfd, &pm, NULL) < 0)
				return cli_failf(cli, EXIT_FAILED, "pod %s exited before app %s started", p->uuid, app);
		}
	}
}

int cmd_enter(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "app", required_argument, NULL, OPT_APP },
		{ "tty", no_argument, NULL, OPT_TTY },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *app = NULL;
	bool tty = false;
	long long timeout_ms = ENTER_DEFAULT_TIMEOUT_MS;
	ps_error *err = NULL;
	ps_pod *p = NULL;
	ps_manifest *m = NULL;
	_cleanup_close_ int appfd = -1;
	int c, r, code = EXIT_FAILED;

	/* "+": options end at UUID; what follows is the command's. */
	while ((c = getopt_long(argc, argv, "+ht", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_APP:
			app = optarg;
			break;
		case 't':
		case OPT_TTY:
			tty = true;
			break;
		case OPT_TIMEOUT:
			if (ps_duration_parse(optarg, &timeout_ms, &err) < 0) {
				ps_error_free(&err);
				return cli_usage_error(cli, "--timeout: expected a duration (\"30s\"), not \"%s\"", optarg);
			}
			break;
		default:
			r = cli_handle_global(cli, c, optarg);
			if (r)
				return r;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "expected a UUID");
	const char *id = argv[optind++];
	if (optind < argc && streq(argv[optind], "--"))
		optind++;
	char *default_cmd[] = { "/bin/sh", NULL };
	char **cmd = optind < argc ? argv + optind : default_cmd;

	r = cli_lookup_pod(cli, id, false, &p);
	if (r)
		return r;
	code = cli_check_running(cli, p);
	if (code != EXIT_OK)
		goto out;
	if (ps_manifest_load_at(p->fd, &m, &err) < 0) {
		code = cli_fail(cli, &err);
		goto out;
	}
	code = cli_open_app(cli, p, m, app, &app, &appfd);
	if (code != EXIT_OK)
		goto out;
	code = wait_app_started(cli, p, appfd, app, timeout_ms);
	if (code != EXIT_OK)
		goto out;
	{
		ps_stage1_args a = { .pod_fd = p->fd, .uuid = p->uuid, .sync_fd = -1, .enter_app = app,
			             .cmd = cmd, .debug = cli->debug, .tty = tty };
		code = cli_exec_stage1(cli, &a);
	}
out:
	ps_manifest_free(m);
	ps_pod_free(p);
	return code;
}
