/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl enter [--app=NAME] UUID [CMD…]
 *
 * Run CMD (default /bin/sh) in a running app as the app itself runs: its
 * namespaces and root, working dir, seccomp filter, capabilities, user and
 * environment. Those steps are stage1's (an exec probe takes the same ones),
 * so after checking the pod and the app we exec `podctl-stage1 --enter`
 * (stage1/enter.c). The exit code is the command's.
 */
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "cli.h"
#include "procutil.h"
#include "util.h"

enum { OPT_APP = 2200, OPT_TTY };

static void usage(void)
{
	printf("Usage: podctl enter [OPTIONS] UUID [CMD…]\n\n"
	       "Run CMD (default /bin/sh) inside a running app of a pod.\n\n"
	       "Options:\n"
	       "      --app=NAME             the app (needed when the pod has several)\n"
	       "  -t, --tty                  run CMD on a terminal of the pod's own (raw while it\n"
	       "                             runs when stdin is a terminal), as docker exec -it;\n"
	       "                             the default when stdin and stdout are terminals\n" CLI_GLOBAL_HELP);
}

int cmd_enter(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "app", required_argument, NULL, OPT_APP },
		{ "tty", no_argument, NULL, OPT_TTY },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *app = NULL;
	bool tty = false;
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

	r = cli_open_store(cli, false);
	if (r)
		return r;
	if (ps_pod_lookup(cli->store, id, &p, &err) < 0)
		return cli_fail(cli, &err);
	if (p->state != PS_STATE_RUNNING) {
		code = cli_failf(cli, EXIT_FAILED, "pod %s is not running (%s)", p->uuid,
		                 ps_pod_state_name(p->state));
		goto out;
	}
	if (ps_manifest_load_at(p->fd, &m, &err) < 0) {
		code = cli_fail(cli, &err);
		goto out;
	}
	code = cli_open_app(cli, p, m, app, &app, &appfd);
	if (code != EXIT_OK)
		goto out;
	ps_pid_marker pm = { 0 };
	if (ps_pid_marker_read(appfd, &pm, NULL) < 0) {
		code = cli_failf(cli, EXIT_NOT_FOUND, "pod %s: app %s is not running", p->uuid, app);
		goto out;
	}
	{
		ps_stage1_args a = { .pod_fd = p->fd, .uuid = p->uuid, .sync_fd = -1, .enter_app = app,
			             .cmd = cmd, .debug = cli->debug, .tty = tty };
		_cleanup_free_ char *stage1 = NULL;
		char **av = NULL;
		if (ps_stage1_path(&stage1, &err) < 0 || ps_stage1_argv(&a, &av, &err) < 0) {
			code = cli_fail(cli, &err);
			goto out;
		}
		int flags = fcntl(p->fd, F_GETFD);
		if (flags >= 0 && fcntl(p->fd, F_SETFD, flags & ~FD_CLOEXEC) == 0) {
			fflush(stdout);
			fflush(stderr);
			execv(stage1, av);
		}
		code = cli_failf(cli, EXIT_FAILED, "exec %s: %s", stage1, strerror(errno));
		ps_strv_free(av);
	}
out:
	ps_manifest_free(m);
	ps_pod_free(p);
	return code;
}
