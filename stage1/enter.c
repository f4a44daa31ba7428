/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl-stage1 --enter=APP: run a command inside a running app, as the app
 * runs: its namespaces and root (joined through a pidfd verified against the
 * app's start time), its working dir, seccomp filter, capabilities, user and
 * environment — the same steps an exec probe takes (app_exec_probe()). podctl
 * enter execs this so those steps live in one place, stage1's.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "procutil.h"
#include "stage1.h"
#include "cgroups.h"
#include "tty.h"
#include "util.h"

static const ps_app *find_app(const ps_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_apps; i++)
		if (streq(m->apps[i].name, name))
			return &m->apps[i];
	return NULL;
}

static volatile pid_t enter_child;

static void forward_signal(int sig)
{
	if (enter_child > 0)
		kill(-enter_child, sig);
}

int stage1_enter(int pod_fd, const char *uuid, const char *app_name, char **cmd, bool tty)
{
	ps_manifest *m = NULL;
	ps_error *err = NULL;
	struct pod pod = { .uuid = uuid, .pod_fd = pod_fd, .sync_fd = -1, .devnull = -1, .userns_fd = -1,
	                   .devices_fd = -1 };
	struct app a = { .dirfd = -1, .rootfd = -1 };

	if (ps_manifest_load_at(pod_fd, &m, &err) < 0) {
		fprintf(stderr, "podctl enter: pod %s: %s\n", uuid, err->msg);
		return 125;
	}
	a.m = find_app(m, app_name);
	if (!a.m || !ps_name_is_valid(app_name, 64)) {
		fprintf(stderr, "podctl enter: pod %s: no app %s\n", uuid, app_name);
		return 125;
	}
	pod.name = m->name;
	_cleanup_close_ int appfd = ps_app_dir_open(pod_fd, app_name, NULL);
	ps_pid_marker pm = { 0 };
	if (appfd < 0 || ps_pid_marker_read(appfd, &pm, NULL) < 0) {
		fprintf(stderr, "podctl enter: pod %s: app %s has not started\n", uuid, app_name);
		return 125;
	}
	_cleanup_close_ int pidfd = ps_pidfd_open_verified(pm.pid, pm.starttime);
	if (pidfd < 0) {
		fprintf(stderr, "podctl enter: pod %s: app %s is not running\n", uuid, app_name);
		return 125;
	}
	/* The data dir holds the cache of seccomp programs: pods/run/<uuid>/../../.. */
	_cleanup_close_ int data_fd = openat(pod_fd, "../../..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pod.data_fd = data_fd;
	if (confine_prepare(&pod, &a, &err) < 0 || app_build_exec(&pod, &a, &err) < 0) {
		fprintf(stderr, "podctl enter: pod %s: %s\n", uuid, err->msg);
		return 125;
	}
	/* Into the app's cgroup (its limits count what we run), while the
	 * cgroup is still in our cgroup namespace's view. */
	if (s1_cgroups_enter_app(pod_fd, app_name, &err) < 0) {
		fprintf(stderr, "podctl enter: pod %s: %s\n", uuid, err->msg);
		return 125;
	}
	/* The user and group, read from the app's root by us, before anything
	 * of ours is in the pod: regular files only, never blocking. The root
	 * is the app's (its /proc/PID/root), checked to still be the app's. */
	{
		char root[64];
		snprintf(root, sizeof(root), "/proc/%d/root", (int)pm.pid);
		_cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
			fprintf(stderr, "podctl enter: pod %s: app %s is not running\n", uuid, app_name);
			return 125;
		}
		if (s1_resolve_identity(rootfd, a.m, &a.uid, &a.gid, &err) < 0) {
			fprintf(stderr, "podctl enter: pod %s: app %s: %s\n", uuid, app_name, err->msg);
			return 125;
		}
	}
	/* --private-users: the command joins the app's user ns too. */
	ps_idrange range;
	bool userns = ps_idrange_pod_read(pod_fd, &range, NULL) == 0;
	/* Nothing of the host crosses into the pod: only stdio and the pidfd
	 * stay open (the pod dir fd podctl gave us is closed). */
	{
		const int keep[] = { pidfd, s1_log_fd() };
		s1_close_fds_except(keep, ARRAY_SIZE(keep));
		appfd = data_fd = -1; /* closed just now */
	}
	if (setns(pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID |
	                         CLONE_NEWCGROUP) < 0 ||
	    (userns && s1_userns_join(pidfd) < 0)) {
		fprintf(stderr, "podctl enter: pod %s: join app %s: %s\n", uuid, app_name,
		        strerror(errno));
		return 125;
	}
	/* The command's stdio (tty.c): a pty of the app's devpts with --tty,
	 * or when stdin and stdout are terminals; pipes for any other of ours
	 * that is one. The caller's terminal never enters the pod. */
	struct tty_relay rl;
	int r = tty_relay_prepare(&rl, tty || (isatty(0) && isatty(1)));
	if (r < 0) {
		fprintf(stderr, "podctl enter: pod %s: app %s: terminal: %s\n", uuid, app_name,
		        strerror(-r));
		return 125;
	}
	/* setns(CLONE_NEWPID) moves our children, not us: fork into the pod. */
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0); /* for the child's check below */
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "podctl enter: fork: %s\n", strerror(errno));
		return 125;
	}
	if (pid == 0) {
		/* We are what podctl-oci's caller (containerd's shim) waits on
		 * and SIGKILLs: the command goes with us. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		struct pollfd pfd = { .fd = self, .events = POLLIN };
		if (self >= 0 && poll(&pfd, 1, 0) != 0)
			_exit(137); /* we were killed before the death signal was set */
		if (tty_relay_child(&rl) < 0)
			_exit(125);
		app_exec_probe(&pod, &a, cmd);
	}
	if (self >= 0)
		close(self);
	if (rl.active)
		return tty_relay_run(&rl, pid);
	/* The command runs in a session of its own (no terminal of the caller's
	 * to type into), so the terminal's signals reach us, not it: pass them
	 * on to its process group, and its status back. */
	enter_child = pid;
	struct sigaction sa = { .sa_handler = forward_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 125;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
