/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl enter [--app=NAME] UUID [CMD…]
 *
 * Join a running app's namespaces (mount, uts, ipc, net, pid, cgroup) through
 * a pidfd of the app's process, checked against the start time recorded in
 * apps/<app>/pid, and run CMD (default /bin/sh) there with the app's
 * environment. The exit code is the command's.
 */
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "cli.h"
#include "procutil.h"
#include "util.h"

enum { OPT_APP = 2200 };

static void usage(void)
{
	printf("Usage: podctl enter [OPTIONS] UUID [CMD…]\n\n"
	       "Run CMD (default /bin/sh) inside a running app of a pod.\n\n"
	       "Options:\n"
	       "      --app=NAME             the app (needed when the pod has several)\n" CLI_GLOBAL_HELP);
}

/* The app's environment as it was exec'd: /proc/<pid>/environ. */
static char **read_environ(pid_t pid)
{
	char path[64];
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ps_read_all(fd, 1024 * 1024, &buf, &len) < 0)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			n++;
	char **env = calloc(n + 1, sizeof(char *));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < len && k < n; i += strlen(buf + i) + 1)
		if (!(env[k++] = strdup(buf + i)))
			break;
	return env;
}

int cmd_enter(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "app", required_argument, NULL, OPT_APP },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *app = NULL;
	ps_error *err = NULL;
	ps_pod *p = NULL;
	ps_manifest *m = NULL;
	_cleanup_close_ int appfd = -1, pidfd = -1;
	int c, r, code = EXIT_FAILED;

	/* "+": options end at UUID; what follows is the command's. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_APP:
			app = optarg;
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
		fprintf(stderr, "podctl enter: pod %s is not running (%s)\n", p->uuid,
		        ps_pod_state_name(p->state));
		goto out;
	}
	if (ps_manifest_load_at(p->fd, &m, &err) < 0) {
		code = cli_fail(cli, &err);
		goto out;
	}
	appfd = cli_open_app(cli, p, m, app, &app);
	if (appfd < 0) {
		code = -appfd;
		goto out;
	}
	ps_pid_marker pm = { 0 };
	if (ps_pid_marker_read(appfd, &pm, NULL) < 0) {
		fprintf(stderr, "podctl enter: pod %s: app %s is not running\n", p->uuid, app);
		code = EXIT_NOT_FOUND;
		goto out;
	}
	pidfd = ps_pidfd_open_verified(pm.pid, pm.starttime);
	if (pidfd < 0) {
		fprintf(stderr, "podctl enter: pod %s: app %s is not running\n", p->uuid, app);
		goto out;
	}
	char **env = read_environ(pm.pid);
	fflush(stdout);
	fflush(stderr);
	/* podctl itself stays in the host's namespaces: a child joins the app's
	 * (setns(CLONE_NEWPID) only moves *its* children into the pod), forks
	 * the command into the pod and passes its status on. */
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "podctl enter: fork: %s\n", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (setns(pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
		                         CLONE_NEWPID | CLONE_NEWCGROUP) < 0) {
			fprintf(stderr, "podctl enter: pod %s: join app %s: %s\n", p->uuid, app,
			        strerror(errno));
			_exit(EXIT_FAILED);
		}
		pid_t inner = fork();
		if (inner < 0)
			_exit(EXIT_FAILED);
		if (inner == 0) {
			if (chdir("/") < 0)
				_exit(125);
			if (env) {
				extern char **environ;
				environ = env;
			}
			execvp(cmd[0], cmd);
			fprintf(stderr, "podctl enter: exec %s: %s\n", cmd[0], strerror(errno));
			_exit(errno == ENOENT ? 127 : 126);
		}
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		int st;
		while (waitpid(inner, &st, 0) < 0)
			if (errno != EINTR)
				_exit(EXIT_FAILED);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
	/* Let the command have the terminal's signals; we just wait. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = 1 << 8;
			break;
		}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	ps_strv_free(env);
out:
	ps_manifest_free(m);
	ps_pod_free(p);
	return code;
}
