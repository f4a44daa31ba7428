/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl run / run-prepared: hand a prepared pod to podctl-stage1.
 *
 * Foreground: podctl execs stage1 in place, so stdio is inherited and the
 * exit code of podctl is the pod's. --detach: a child starts a new session
 * and execs stage1 with a sync pipe; we return once stage1 says the pod's
 * pid marker is written (or print its one-line error and fail).
 * The locked pod dir fd crosses the exec: stage1 holds the lock from then on
 * (Documentation/devel/stage1.md).
 */
#include <fcntl.h>
#include <getopt.h>
#include <sys/wait.h>

#include "cli.h"
#include "prepare.h"
#include "util.h"

enum { OPT_DETACH = 2000, OPT_INTERACTIVE, OPT_WAIT_READY, OPT_CGROUP_PARENT, OPT_TTY };

struct run_opts {
	bool detach;
	bool interactive;
	bool tty;               /* -t: a pty of the pod (stage1/tty.c) */
	bool wait_ready;        /* --wait-ready: with --detach, return once ready */
	long long ready_ms;     /* its timeout, -1 = none */
};

/* --cgroup-parent: stage1 reads it from the environment, as it would
 * $PODCTL_CGROUP_PARENT. */
static int set_cgroup_parent(struct cli *cli, const char *arg)
{
	ps_error *err = NULL;

	if (ps_cgroup_path_check(arg, &err) < 0) {
		int r = cli_usage_error(cli, "--cgroup-parent: %s", err->msg);
		ps_error_free(&err);
		return r;
	}
	if (setenv(PS_CGROUP_PARENT_ENV, arg, 1) < 0)
		return EXIT_FAILED;
	return 0;
}

static int parse_wait_ready(struct cli *cli, struct run_opts *ro, const char *arg)
{
	ro->wait_ready = true;
	return cli_parse_duration(cli, "wait-ready", arg, &ro->ready_ms);
}

/* After a detached start: wait for readiness on a fresh open of the pod.
 * Our own fd shares stage1's open file description, and any flock() on it
 * (the state probe takes one) would change stage1's lock. */
static int wait_ready_after_start(struct cli *cli, ps_pod *p, const struct run_opts *ro)
{
	ps_error *err = NULL;
	ps_pod *q = NULL;
	int r = EXIT_OK;

	if (ps_pod_open(cli->store, p->uuid, PS_DIR_RUN, &q, &err) < 0 ||
	    ps_pod_wait_ready(q, ro->ready_ms, &err) < 0) {
		/* Say what became of the pod: a timeout leaves it running. */
		if (err && err->kind == PS_ERR_TIMEOUT) {
			ps_error_free(&err);
			ps_error_set(&err, PS_ERR_TIMEOUT, 0,
			             "pod %s: not ready in time; it is still running (podctl stop %s)",
			             p->uuid, p->uuid);
		}
		r = cli_fail(cli, &err);
	}
	ps_pod_free(q);
	return r;
}

static int fd_keep_across_exec(int fd)
{
	/* FD_CLOEXEC is the only fd flag: no F_GETFD needed. */
	if (fcntl(fd, F_SETFD, 0) < 0)
		return -errno;
	return 0;
}

/* Stage1's command line (podstore/launch.h). */
static char **stage1_argv(struct cli *cli, const ps_pod *p, const struct run_opts *ro, int sync_fd)
{
	ps_stage1_args a = { .pod_fd = p->fd, .data_dir = ps_store_path(cli->store), .uuid = p->uuid,
		             .sync_fd = sync_fd, .interactive = ro->interactive, .debug = cli->debug,
		             .tty = ro->tty };
	char **argv = NULL;

	return ps_stage1_argv(&a, &argv, NULL) < 0 ? NULL : argv;
}

/* Lock, check and move the pod to run/, then become (or spawn) stage1. */
static int run_pod(struct cli *cli, ps_pod *p, const struct run_opts *ro)
{
	ps_error *err = NULL;
	_cleanup_free_ char *stage1 = NULL;
	char **argv = NULL;

	if (ps_stage1_path(&stage1, &err) < 0)
		return cli_fail(cli, &err);

	/* `run` hands us the pod it just made, still locked in prepare/. */
	bool fresh = p->lock == PS_LOCK_EXCLUSIVE && p->dir == PS_DIR_PREPARE;

	if (!fresh && ps_pod_lock(p, PS_LOCK_EXCLUSIVE, false, &err) < 0) {
		if (err && err->kind == PS_ERR_BUSY) {
			ps_error_free(&err);
			return cli_failf(cli, EXIT_FAILED, "pod %s is busy (locked by another podctl or running)",
			                 p->uuid);
		}
		return cli_fail(cli, &err);
	}
	/* Our own lock is held now: the state is what the dir says with it free. */
	if (!fresh && p->dir != PS_DIR_PREPARED) {
		return cli_failf(cli, EXIT_FAILED, "pod %s is %s, not prepared", p->uuid,
		                 ps_pod_state_name(ps_pod_state_from(p->dir, false)));
	}
	/* A pod `run` prepared without fsyncs (prepare.c) moves to run/
	 * without one too: stage1's durable exit marker syncs its record. */
	bool lazy = fresh && ps_write_sync_deferred();
	if (access(stage1, X_OK) < 0) {
		int r = cli_failf(cli, EXIT_FAILED, "%s: %s", stage1, strerror(errno));
		/* Still runnable later with run-prepared: durable as prepare's. */
		if (fresh && (!lazy || syncfs(p->fd) == 0))
			ps_pod_transition(p, PS_DIR_PREPARED, NULL);
		return r;
	}
	if ((lazy ? ps_pod_transition_lazy : ps_pod_transition)(p, PS_DIR_RUN, &err) < 0)
		return cli_fail(cli, &err);

	if (!ro->detach) {
		argv = stage1_argv(cli, p, ro, -1);
		fflush(stdout);
		if (!argv)
			errno = ENOMEM;
		else if (fd_keep_across_exec(p->fd) == 0)
			execv(stage1, argv);
		int r = cli_failf(cli, EXIT_FAILED, "exec %s: %s", stage1, strerror(errno));
		ps_strv_free(argv);
		return r;
	}

	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0) {
		return cli_failf(cli, EXIT_FAILED, "pipe: %s", strerror(errno));
	}
	argv = stage1_argv(cli, p, ro, sp[1]);
	if (!argv) {
		close(sp[0]);
		close(sp[1]);
		return cli_failf(cli, EXIT_FAILED, "stage1 command line: %s", strerror(ENOMEM));
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		ps_strv_free(argv);
		return cli_failf(cli, EXIT_FAILED, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* The pod outlives us: its own session, no terminal, no stdio of
		 * ours (a caller's $(…) must not wait for the pod). Apps' output
		 * goes to apps/<app>/log. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		setsid();
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
		    fd_keep_across_exec(p->fd) < 0 || fd_keep_across_exec(sp[1]) < 0) {
			char why[256];
			snprintf(why, sizeof(why), "set up stage1's stdio: %s", strerror(errno));
			ps_stage1_sync_error(sp[1], why);
			_exit(EXIT_FAILED);
		}
		execv(stage1, argv);
		char why[512];
		snprintf(why, sizeof(why), "exec %s: %s", stage1, strerror(errno));
		ps_stage1_sync_error(sp[1], why);
		_exit(EXIT_FAILED);
	}
	ps_strv_free(argv);
	close(sp[1]);
	/* The lock lives on in stage1 (same open file description): closing our
	 * fd is fine, unlocking (flock LOCK_UN) would release it for stage1 too. */
	p->lock = PS_LOCK_NONE;

	_cleanup_free_ char *msg = NULL;
	int r = ps_stage1_sync_read(sp[0], &msg);
	close(sp[0]);
	if (r == 0) {
		printf("%s\n", p->uuid);
		fflush(stdout);
		return ro->wait_ready ? wait_ready_after_start(cli, p, ro) : EXIT_OK;
	}
	if (msg)
		return cli_failf(cli, EXIT_FAILED, "pod %s: %s", p->uuid, msg);
	int status = 0;
	waitpid(pid, &status, WNOHANG);
	return cli_failf(cli, EXIT_FAILED, "pod %s: stage1 exited before the pod started", p->uuid);
}

static void run_usage(void)
{
	printf("Usage: podctl run [OPTIONS] (IMAGE [--] [ARGS…] | --manifest FILE)\n\n"
	       "Prepare a pod and run it. In the foreground, podctl's exit code is the pod's\n"
	       "(the first failing app's, else 0); SIGINT/SIGTERM stop the pod.\n\n"
	       "Options:\n"
	       "  -d, --detach               run in the background, print the uuid once started;\n"
	       "                             apps' output goes to 'podctl logs'\n"
	       "      --wait-ready[=DUR]     with --detach: return once the pod is ready (exit 4\n"
	       "                             on timeout, 1 if it exits without becoming ready)\n"
	       "  -i, --interactive          pass stdin to the (single) app\n"
	       "  -t, --tty                  give the (single) app a terminal of the pod's own;\n"
	       "                             -it as docker run -it; detached: podctl attach\n"
	       "      --cgroup-parent=PATH   make the pod's cgroups under PATH (default\n"
	       "                             $PODCTL_CGROUP_PARENT, else podctl)\n" PREPARE_OPTIONS_HELP
	               CLI_GLOBAL_HELP);
}

static const struct option run_extra[] = {
	{ "detach", no_argument, NULL, OPT_DETACH },
	{ "interactive", no_argument, NULL, OPT_INTERACTIVE },
	{ "tty", no_argument, NULL, OPT_TTY },
	{ "wait-ready", optional_argument, NULL, OPT_WAIT_READY },
	{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
	{ NULL, 0, NULL, 0 },
};

int cmd_run(struct cli *cli, int argc, char **argv)
{
	struct option opts[48];
	struct prepare_opts o = { .goal_timeout_ms = -1, .no_new_privs = -1 };
	struct run_opts ro = { 0 };
	ps_error *err = NULL;
	ps_pod *p = NULL;
	int c, r = 0;

	prepare_build_options(opts, ARRAY_SIZE(opts), run_extra);
	/* "+": options end at IMAGE, so the app's own options need no "--". */
	while ((c = getopt_long(argc, argv, "+hditv:p:", opts, NULL)) != -1) {
		if (c == 'h') {
			run_usage();
			prepare_opts_clear(&o);
			return EXIT_OK;
		}
		if (c == OPT_DETACH || c == 'd') {
			ro.detach = true;
			continue;
		}
		if (c == OPT_INTERACTIVE || c == 'i') {
			ro.interactive = true;
			continue;
		}
		if (c == OPT_TTY || c == 't') {
			ro.tty = true;
			continue;
		}
		if (c == OPT_CGROUP_PARENT) {
			r = set_cgroup_parent(cli, optarg);
			if (r) {
				prepare_opts_clear(&o);
				return r;
			}
			continue;
		}
		if (c == OPT_WAIT_READY) {
			r = parse_wait_ready(cli, &ro, optarg);
			if (r) {
				prepare_opts_clear(&o);
				return r;
			}
			continue;
		}
		if (!prepare_opts_handle(cli, &o, c, optarg, &r))
			r = cli_handle_global(cli, c, optarg);
		if (r) {
			prepare_opts_clear(&o);
			return r;
		}
	}
	if (optind < argc) {
		o.image = argv[optind++];
		if (optind < argc && streq(argv[optind], "--"))
			optind++;
		if (optind < argc)
			o.args = argv + optind;
	}
	r = prepare_opts_validate(cli, &o);
	if (r == 0 && ro.detach && ro.interactive && !ro.tty)
		r = cli_usage_error(cli, "--interactive needs the foreground (or --tty, then podctl attach)");
	else if (r == 0 && ro.wait_ready && !ro.detach)
		r = cli_usage_error(cli, "--wait-ready goes with --detach");
	if (r == 0)
		r = cli_open_store(cli, true);
	if (r == 0) {
		o.for_run = true;
		if (prepare_pod(cli, &o, &p, &err) < 0)
			r = cli_fail(cli, &err);
		else
			r = run_pod(cli, p, &ro);
	}
	ps_pod_free(p);
	prepare_opts_clear(&o);
	return r;
}

static void run_prepared_usage(void)
{
	printf("Usage: podctl run-prepared [OPTIONS] UUID\n\n"
	       "Run a prepared pod (see 'podctl run' for the foreground/detached behaviour).\n\n"
	       "Options:\n"
	       "  -d, --detach               run in the background, print the uuid once started\n"
	       "      --wait-ready[=DUR]     with --detach: return once the pod is ready\n"
	       "  -i, --interactive          pass stdin to the (single) app\n"
	       "  -t, --tty                  give the (single) app a terminal of the pod's own\n"
	       "      --cgroup-parent=PATH   make the pod's cgroups under PATH\n" CLI_GLOBAL_HELP);
}

int cmd_run_prepared(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "detach", no_argument, NULL, OPT_DETACH },
		{ "interactive", no_argument, NULL, OPT_INTERACTIVE },
		{ "tty", no_argument, NULL, OPT_TTY },
		{ "wait-ready", optional_argument, NULL, OPT_WAIT_READY },
		{ "cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts ro = { 0 };
	ps_error *err = NULL;
	ps_pod *p = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "hdit", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			run_prepared_usage();
			return EXIT_OK;
		case 'd':
		case OPT_DETACH:
			ro.detach = true;
			break;
		case 'i':
		case OPT_INTERACTIVE:
			ro.interactive = true;
			break;
		case 't':
		case OPT_TTY:
			ro.tty = true;
			break;
		case OPT_WAIT_READY:
			r = parse_wait_ready(cli, &ro, optarg);
			if (r)
				return r;
			break;
		case OPT_CGROUP_PARENT:
			r = set_cgroup_parent(cli, optarg);
			if (r)
				return r;
			break;
		default:
			r = cli_handle_global(cli, c, optarg);
			if (r)
				return r;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(cli, "expected one UUID");
	if (ro.detach && ro.interactive && !ro.tty)
		return cli_usage_error(cli, "--interactive needs the foreground (or --tty, then podctl attach)");
	if (ro.wait_ready && !ro.detach)
		return cli_usage_error(cli, "--wait-ready goes with --detach");
	r = cli_open_store(cli, false);
	if (r)
		return r;
	if (ps_pod_lookup(cli->store, argv[optind], &p, &err) < 0)
		return cli_fail(cli, &err);
	r = run_pod(cli, p, &ro);
	ps_pod_free(p);
	return r;
}
