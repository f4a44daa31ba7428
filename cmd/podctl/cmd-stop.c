/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl stop [--timeout=DUR] [--force] UUID…
 *
 * Asks stage1 over the pod's control socket to stop ("stop <ms>": SIGTERM to
 * the apps in reverse order, SIGKILL at the deadline) or to kill ("kill"),
 * then waits for the pod to exit by waiting for its lock (no polling).
 * Stopping a pod that already exited succeeds (as podman does) with a note;
 * a pod that never ran is an error. With --force and no control socket,
 * stage1 itself is killed through a verified pidfd (its pid and start time
 * are in the pod's "pid" marker), which takes the whole pod down.
 */
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "cli.h"
#include "procutil.h"
#include "util.h"

enum { OPT_TIMEOUT = 2100, OPT_FORCE };

static void usage(void)
{
	printf("Usage: podctl stop [OPTIONS] UUID…\n\n"
	       "Stop running pods: SIGTERM to the apps (last group first), SIGKILL to what is\n"
	       "left after the timeout; return once each pod has exited. Stopping a pod that\n"
	       "already exited succeeds.\n\n"
	       "Options:\n"
	       "      --timeout=DUR          time to exit after SIGTERM (default 10s)\n"
	       "  -f, --force                SIGKILL at once\n" CLI_GLOBAL_HELP);
}

static int send_control(const ps_pod *p, const char *msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char reply[128];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/control", p->fd);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
		return -errno;
	ssize_t n = recv(fd, reply, sizeof(reply) - 1, 0);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	reply[n] = '\0';
	return strncmp(reply, "ok", 2) == 0 ? 0 : -EPROTO;
}

/* The last resort of --force: SIGKILL stage1 by its verified pidfd. */
static int kill_stage1(const ps_pod *p)
{
	ps_pid_marker m = { 0 };
	int r = ps_pid_marker_read(p->fd, &m, NULL);

	if (r < 0)
		return r;
	if (m.stage1_pid <= 0)
		return -ESRCH;
	int fd = ps_pidfd_open_verified(m.stage1_pid, m.stage1_starttime);
	if (fd < 0)
		return fd;
	r = (int)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int stop_one(struct cli *cli, const char *id, long long timeout_ms, bool force)
{
	ps_error *err = NULL;
	ps_pod *p = NULL;
	int r, code = EXIT_OK;

	if (ps_pod_lookup(cli->store, id, &p, &err) < 0)
		return cli_fail(cli, &err);
	switch (p->state) {
	case PS_STATE_RUNNING:
		break;
	case PS_STATE_EXITED:
	case PS_STATE_EXITED_DELETING:
	case PS_STATE_EXITED_GARBAGE:
		fprintf(stderr, "podctl stop: pod %s is not running (exited)\n", p->uuid);
		goto out;
	default:
		fprintf(stderr, "podctl stop: pod %s is not running (%s)\n", p->uuid,
		        ps_pod_state_name(p->state));
		code = EXIT_FAILED;
		goto out;
	}

	char msg[64];
	if (force)
		snprintf(msg, sizeof(msg), "kill");
	else
		snprintf(msg, sizeof(msg), "stop %lld", timeout_ms);
	r = send_control(p, msg);
	if (r < 0) {
		/* It may have just exited. */
		if (ps_pod_refresh(p, NULL) == 0 && p->state != PS_STATE_RUNNING)
			goto out;
		if (!force) {
			fprintf(stderr, "podctl stop: pod %s: control socket: %s (try --force)\n", p->uuid,
			        strerror(-r));
			code = EXIT_FAILED;
			goto out;
		}
		r = kill_stage1(p);
		if (r < 0 && r != -ESRCH) {
			fprintf(stderr, "podctl stop: pod %s: kill stage1: %s\n", p->uuid, strerror(-r));
			code = EXIT_FAILED;
			goto out;
		}
	}
	if (ps_pod_wait_exited(p, -1, &err) < 0)
		code = cli_fail(cli, &err);
out:
	ps_pod_free(p);
	return code;
}

int cmd_stop(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "force", no_argument, NULL, OPT_FORCE },
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	long long timeout_ms = 10000;
	bool force = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "hf", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_TIMEOUT:
			if ((r = cli_parse_duration(cli, "timeout", optarg, &timeout_ms)))
				return r;
			break;
		case 'f':
		case OPT_FORCE:
			force = true;
			break;
		default:
			r = cli_handle_global(cli, c, optarg);
			if (r)
				return r;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "expected at least one UUID");
	r = cli_open_store(cli, false);
	if (r)
		return r;
	int worst = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		r = stop_one(cli, argv[i], timeout_ms, force);
		if (r > worst)
			worst = r;
	}
	return worst;
}
