/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl-stage1 --pod-fd=N --dir=DATA_DIR [--sync-fd=M] [--interactive]
 *               [--start-fifo=PATH] [--join-ns=net|ipc|uts:PATH]… [--tty] [--debug] UUID
 * podctl-stage1 --enter=APP --pod-fd=N UUID CMD…   (for podctl enter: enter.c)
 * podctl-stage1 --attach --pod-fd=N UUID           (for podctl attach: tty.c)
 *
 * Runs one pod, holding its lock (the inherited pod dir fd) for exactly the
 * pod's lifetime. See Documentation/devel/stage1.md for the contract with
 * podctl and the process model.
 */
#include <fcntl.h>
#include <getopt.h>
#include <link.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include "procutil.h"
#include "stage1.h"
#include "util.h"
#include "readiness.h"
#include "restart.h"
#include "supervise.h"
#include "cgroups.h"
#include "front.h"
#include "tty.h"

#define EXIT_STAGE1_FAILED 125
#define DEFAULT_STOP_TIMEOUT_MS PS_CONTROL_DEFAULT_STOP_MS

/* epoll tags */
enum { EV_SIGNAL = 1, EV_CONTROL, EV_CONN, EV_TIMER, EV_LOG, EV_READINESS, EV_SUPERVISE, EV_CGROUP,
        EV_TTY };
#define EV_TAG(kind, idx) (((uint64_t)(kind) << 32) | (uint32_t)(idx))

/* --- the supervisor ----------------------------------------------------------- */

enum phase { PHASE_INIT, PHASE_APPS, PHASE_STOPPING, PHASE_DONE };

/*
 * The supervisor: main.c's state, around the struct pod every module is
 * handed. Modules reach it only through pod->ops (stage1.h); main.c's own
 * functions take the pod and find the rest with sv_of().
 */
struct supervisor {
	struct pod pod;
	const char *dir;                /* --dir */
	const char *enter_app;          /* --enter=APP */
	bool attach;                    /* --attach: podctl attach (tty.c) */
	const char *start_fifo;         /* --start-fifo=PATH (podctl-oci create) */
	int start_fd;                   /* its read end, open before we say "ok" */
	const char *join_ns[3];         /* --join-ns=net|ipc|uts:PATH (podctl-oci) */
	char **enter_cmd;
	sigset_t sigmask;               /* the signals the loop reads from sigfd */
	int epfd, timerfd, ctlfd, sigfd;
	enum phase phase;
	int next_group;                 /* lowest group not yet started (PHASE_APPS) */
	size_t next_init;               /* next init app to run (PHASE_INIT) */
	bool kill_sent;
	/* Why the pod is stopping: asked to (signal, podctl stop) or an app failed. */
	enum { STOP_NONE, STOP_EXTERNAL, STOP_FAILURE } stop_cause;
	int failed_code;                /* first failing app's code */
	const char *failed_app;
	const char *fail_reason;        /* the pod's exit reason when not app-failed */
	void *child_stack_top;          /* apps are cloned on it (app_start) */
	/* While set up: apps' MOUNTED markers not written yet (their times,
	 * 0 = nothing held), see set_status. */
	long long *mounted_ns;
};

static struct supervisor *sv_of(struct pod *pod)
{
	return (struct supervisor *)((char *)pod - offsetof(struct supervisor, pod));
}

/*
 * A status change, in memory and in apps/<app>/status. Two transient
 * statuses are not written (each write costs 0.3-0.7 ms here, a tenth of a
 * short pod's life): INSTALLED, which a missing status file already means,
 * and STARTING, which lasts only until the child has exec'd or failed
 * (stage1 blocks on that) and is followed at once by STARTED or FAILED.
 * MOUNTED is held back while the pod is set up (sv->mounted_ns) for an app
 * that will not stay there (its goal is not MOUNTED): most start at once,
 * and STARTED replaces it unseen. mounted_flush() writes it, with its own
 * time, for those still MOUNTED when stage1 first waits for anything or
 * tells podctl the pod runs.
 */
static void set_status(struct pod *pod, struct app *a, enum app_status st, const char *reason)
{
	struct supervisor *sv = sv_of(pod);
	ps_error *err = NULL;
	ps_status_marker m = { .status = (char *)app_status_name(st), .reason = (char *)reason,
		               .ready_by = st == APP_READY ? (char *)a->ready_by : NULL,
		               .time_ns = ps_now_ns() };

	enum app_status from = a->status;
	a->status = st;
	s1_debug("app %s: %s%s%s", a->m->name, m.status, reason ? ": " : "", reason ? reason : "");
	/* The app's marker before the pod's ready marker (written by
	 * readiness_status_changed): a waiter woken by the ready marker must
	 * find the app READY too, not still STARTED. */
	bool held = st == APP_MOUNTED && sv->mounted_ns && a->m->goal != PS_GOAL_MOUNTED;
	if (held)
		sv->mounted_ns[a - pod->apps] = m.time_ns;
	if (st != APP_INSTALLED && st != APP_STARTING && !held &&
	    readiness_write_status(pod, a, &m, &err) < 0) {
		s1_warn("app %s: %s", a->m->name, err->msg);
		ps_error_free(&err);
	}
	readiness_status_changed(pod, a, from, st, reason, m.time_ns); /* events, goal timers, ready marker */
}

/* The MOUNTED markers set_status held back, for the apps still MOUNTED;
 * from here on every status is written at once. */
static void mounted_flush(struct pod *pod)
{
	struct supervisor *sv = sv_of(pod);
	long long *held = sv->mounted_ns;

	sv->mounted_ns = NULL;
	for (size_t i = 0; held && i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		ps_status_marker m = { .status = (char *)app_status_name(APP_MOUNTED), .time_ns = held[i] };
		ps_error *err = NULL;
		if (a->status == APP_MOUNTED && held[i] && ps_status_marker_write(a->dirfd, &m, &err) < 0) {
			s1_warn("app %s: %s", a->m->name, err->msg);
			ps_error_free(&err);
		}
	}
	free(held);
}

static void note_failure(struct pod *pod, struct app *a, int code)
{
	struct supervisor *sv = sv_of(pod);

	if (!sv->failed_app && code != 0) {
		sv->failed_app = a->m->name;
		sv->failed_code = code;
	}
}

/* Before the pod runs: report to podctl (detached) or stderr, record the
 * reason in the exit marker, and exit. The lock goes with us. */
static void __attribute__((noreturn)) fail_early(struct pod *pod, ps_error **err)
{
	const char *msg = err && *err ? (*err)->msg : "failed";
	front_check(); /* a dead front's terminal back as it was */
	mounted_flush(pod);
	ps_exit_marker em = { .code = EXIT_STAGE1_FAILED, .reason = "stage1-failed",
		              .time_ns = ps_now_ns() };

	if (pod->sync_fd >= 0) {
		ps_stage1_sync_error(pod->sync_fd, msg);
		if (pod->detached)
			s1_warn("%s", msg); /* in stage1.log too, for later */
	} else {
		fprintf(stderr, "podctl: pod %s: %s\n", pod->uuid, msg);
	}
	if (pod->pod_fd >= 0)
		ps_exit_marker_write(pod->pod_fd, &em, true, NULL);
	if (pod->reaper > 0) {
		kill(pod->reaper, SIGKILL);
		waitpid(pod->reaper, NULL, 0);
	}
	net_detach(pod);
	s1_cgroups_teardown(pod);
	readiness_teardown(pod);
	if (pod->pod_fd >= 0)
		ps_control_unlink(pod->pod_fd);
	exit(EXIT_STAGE1_FAILED);
}


/* --- control socket ------------------------------------------------------- */

static void pod_stop(struct pod *pod, long long timeout_ms, bool force, bool external);

/* A request on the control socket (podstore/control.h owns the protocol). */
static void control_handle(struct pod *pod, int conn)
{
	ps_control_request req;
	int r = ps_control_recv(conn, &req);

	if (r == -EAGAIN)
		return; /* not yet: epoll tells us again */
	if (r == 0 && req.op == PS_CONTROL_ATTACH && tty_attach(pod, conn))
		return; /* the connection is the attachment now (tty.c) */
	if (r == 0 && req.op == PS_CONTROL_ATTACH)
		r = 1; /* refused, and said why */
	if (r == 0 && req.op == PS_CONTROL_SIGNAL) {
		ps_control_reply_msg(conn, signal_apps(pod, req.signal, req.app));
		r = 1;
	}
	if (r == 0) {
		s1_debug("control: %s %lld", req.op == PS_CONTROL_KILL ? "kill" : "stop", req.timeout_ms);
		if (req.op == PS_CONTROL_KILL)
			pod_stop(pod, 0, true, true);
		else
			pod_stop(pod, req.timeout_ms, false, true);
	}
	if (r == 0 || r == -EBADMSG)
		ps_control_reply(conn, r);
	epoll_ctl(sv_of(pod)->epfd, EPOLL_CTL_DEL, conn, NULL);
	close(conn);
}

/* --- logs (detached pods) ------------------------------------------------- */

/* Copy what the app wrote to apps/<app>/log (logfile.c). */
static void log_drain(struct pod *pod, struct app *a)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(a->log_rfd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || errno != EAGAIN) {
				epoll_ctl(sv_of(pod)->epfd, EPOLL_CTL_DEL, a->log_rfd, NULL);
				close(a->log_rfd);
				a->log_rfd = -1;
			}
			return;
		}
		logfile_append(&a->log, buf, (size_t)n);
	}
}

/* --- apps ------------------------------------------------------------------ */

/*
 * Apps are started with clone(CLONE_VFORK) and a memory of their own (no
 * CLONE_VM: the child is in the pod's pid ns from its first instruction,
 * and must share nothing with us that an app could reach through it). We
 * still sleep until the child has exec'd or failed, so it runs at once
 * instead of waiting for a CPU behind us (fork() cost ~2-3 ms per app on a
 * loaded 2-cpu machine, measured); copying our page tables is cheap, stage1
 * being small.
 */
struct child_args {
	struct pod *pod;
	struct app *a;
	int err_r, err_w, log_r, log_w;
};

#define CHILD_STACK_SIZE (256 * 1024)

static void *child_stack_get(struct supervisor *sv)
{
	if (!sv->child_stack_top) {
		void *st = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
		                MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (st == MAP_FAILED)
			return NULL;
		sv->child_stack_top = (char *)st + CHILD_STACK_SIZE;
	}
	return sv->child_stack_top;
}

static int app_child_main(void *arg)
{
	struct child_args *ca = arg;

	close(ca->err_r);
	if (ca->log_r >= 0)
		close(ca->log_r);
	app_child(ca->pod, ca->a, ca->err_w, ca->log_w);
}

static void app_start(struct pod *pod, struct app *a)
{
	struct supervisor *sv = sv_of(pod);
	ps_error *err = NULL;
	int errp[2], logp[2] = { -1, -1 };

	/* A restart: what is left of the last run's log pipe, then a fresh log fd. */
	if (a->log_rfd >= 0)
		log_drain(pod, a);
	if (a->log_rfd >= 0) {
		epoll_ctl(sv->epfd, EPOLL_CTL_DEL, a->log_rfd, NULL);
		close(a->log_rfd);
		a->log_rfd = -1;
	}
	logfile_close(&a->log);
	set_status(pod, a, APP_STARTING, NULL);
	/* The user and group, from the image's files, by us and before the
	 * child exists: a FIFO or a huge file there cannot stall the child
	 * while it holds our fds, nor us. */
	if (s1_resolve_identity(a->rootfd, a->m, &a->uid, &a->gid, &err) < 0) {
		a->ended = true;
		a->code = EXIT_STAGE1_FAILED;
		note_failure(pod, a, EXIT_STAGE1_FAILED);
		set_status(pod, a, APP_FAILED, err->msg);
		s1_warn("app %s: %s", a->m->name, err->msg);
		ps_error_free(&err);
		return;
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		a->ended = true;
		note_failure(pod, a, EXIT_STAGE1_FAILED);
		set_status(pod, a, APP_FAILED, "pipe failed");
		return;
	}
	if (pod->detached) {
		if (pipe2(logp, O_CLOEXEC) < 0 || logfile_open(&a->log) < 0) {
			close(errp[0]);
			close(errp[1]);
			a->ended = true;
			note_failure(pod, a, EXIT_STAGE1_FAILED);
			set_status(pod, a, APP_FAILED, "cannot open log");
			return;
		}
	}
	s1_cgroups_app_starting(pod, a);
	struct child_args ca = { pod, a, errp[0], errp[1], logp[0], logp[1] };
	void *stack = child_stack_get(sv);
	pid_t pid = stack ? clone(app_child_main, stack, CLONE_VFORK | SIGCHLD, &ca) : -1;
	close(errp[1]);
	if (logp[1] >= 0)
		close(logp[1]);
	if (pid < 0) {
		close(errp[0]);
		if (logp[0] >= 0)
			close(logp[0]);
		a->ended = true;
		note_failure(pod, a, EXIT_STAGE1_FAILED);
		set_status(pod, a, APP_FAILED, "fork failed");
		return;
	}
	a->pid = pid;
	if (logp[0] >= 0) {
		a->log_rfd = logp[0];
		fcntl(a->log_rfd, F_SETFL, O_NONBLOCK);
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_TAG(EV_LOG, a - pod->apps) };
		epoll_ctl(sv->epfd, EPOLL_CTL_ADD, a->log_rfd, &ev);
	}

	/* Wait for exec (EOF) or the child's reason for failing. The child's
	 * setup is short and bounded, and signals wait in the signalfd. */
	struct child_error ce;
	ssize_t n;
	do
		n = read(errp[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	close(errp[0]);
	if (n == (ssize_t)sizeof(ce)) {
		ce.msg[sizeof(ce.msg) - 1] = '\0';
		a->code = ce.code;
		a->failed = true;
		note_failure(pod, a, ce.code);
		set_status(pod, a, APP_FAILED, ce.msg);
		s1_warn("app %s: %s", a->m->name, ce.msg);
		return; /* reaped by the SIGCHLD handler */
	}

	unsigned long long st = 0;
	ps_proc_starttime(pid, &st);
	ps_pid_marker pm = { .pid = pid, .starttime = st, .time_ns = ps_now_ns() };
	if (ps_pid_marker_write(a->dirfd, &pm, &err) < 0) {
		s1_warn("app %s: %s", a->m->name, err->msg);
		ps_error_free(&err);
	}
	a->started_mono_ns = ps_monotonic_ns();
	tty_app_started(pod, a);
	set_status(pod, a, APP_STARTED, NULL);
	supervise_app_started(pod, a);
}

/* An app reached its status goal (READY: it said so, readiness.c); an app
 * whose goal is MOUNTED is never started; one that missed its goal with
 * onGoalTimeout "ignore" holds its group back no longer. */
static bool app_at_goal(const struct pod *pod, const struct app *a)
{
	if (readiness_goal_waived(pod, a))
		return true;
	if (a->m->goal == PS_GOAL_MOUNTED)
		return a->status >= APP_MOUNTED;
	if (a->m->goal == PS_GOAL_READY)
		return a->status >= APP_READY;
	return a->status >= APP_STARTED;
}

/* Running and worth a stop signal (a failed child is exiting anyway). */
static bool app_stoppable(const struct app *a)
{
	return app_is_running(a) && !a->failed;
}

static void pod_finish_check(struct pod *pod);

/* Start what can be started: init apps one by one, then groups in order. */
static void pod_advance(struct pod *pod)
{
	struct supervisor *sv = sv_of(pod);

	while (sv->phase == PHASE_INIT) {
		if (sv->next_init > 0) {
			struct app *prev = &pod->apps[sv->next_init - 1];
			if (!prev->ended)
				return; /* still running */
			if (prev->status == APP_FAILED || prev->code != 0) {
				pod_stop(pod, DEFAULT_STOP_TIMEOUT_MS, false, false);
				return;
			}
		}
		if (sv->next_init == pod->n_init) {
			sv->phase = PHASE_APPS;
			break;
		}
		app_start(pod, &pod->apps[sv->next_init++]);
	}
	while (sv->phase == PHASE_APPS) {
		/* Is the current group at its goal? */
		int lowest = -1;
		for (size_t i = pod->n_init; i < pod->n_apps; i++) {
			struct app *a = &pod->apps[i];
			if (a->status == APP_FAILED) {
				/* could not start: the pod fails */
				pod_stop(pod, DEFAULT_STOP_TIMEOUT_MS, false, false);
				return;
			}
			if (a->m->group_index < sv->next_group && !app_at_goal(pod, a) && !a->ended)
				return; /* wait (readiness: an event will call us again) */
			if (a->m->group_index >= sv->next_group && a->status < APP_STARTING &&
			    (lowest < 0 || a->m->group_index < lowest))
				lowest = a->m->group_index;
		}
		if (lowest < 0)
			break; /* everything started */
		for (size_t i = pod->n_init; i < pod->n_apps; i++) {
			struct app *a = &pod->apps[i];
			if (a->m->group_index == lowest && a->status < APP_STARTING &&
			    a->m->goal != PS_GOAL_MOUNTED)
				app_start(pod, a);
		}
		sv->next_group = lowest + 1;
		/* mark later groups BLOCKED once, so status shows why they wait */
		for (size_t i = pod->n_init; i < pod->n_apps; i++) {
			struct app *a = &pod->apps[i];
			if (a->m->group_index > lowest && a->status == APP_MOUNTED &&
			    a->m->goal != PS_GOAL_MOUNTED)
				set_status(pod, a, APP_BLOCKED, NULL);
		}
	}
	pod_finish_check(pod);
}

/* Stop: SIGTERM to the highest group still running, the next one once it
 * is gone, init apps last; SIGKILL to all that is left at the deadline. */
static void stop_advance(struct pod *pod)
{
	struct supervisor *sv = sv_of(pod);

	if (sv->phase != PHASE_STOPPING)
		return;
	int top = -2; /* init apps count as group -1 */
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		int g = a->init ? -1 : a->m->group_index;
		if (app_stoppable(a) && g > top)
			top = g;
	}
	if (top == -2)
		return;
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		int g = a->init ? -1 : a->m->group_index;
		if (app_stoppable(a) && g == top && !a->signalled) {
			a->signalled = true;
			if (a->status != APP_FAILED) /* a FAILED app keeps its status and reason */
				set_status(pod, a, APP_STOPPING, NULL);
			kill(a->pid, SIGTERM);
		}
	}
}

static void kill_all(struct pod *pod)
{
	struct supervisor *sv = sv_of(pod);

	sv->kill_sent = true;
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		if (app_stoppable(a)) {
			if (!a->signalled) {
				a->signalled = true;
				if (a->status != APP_FAILED)
					set_status(pod, a, APP_STOPPING, "killed");
			}
			kill(a->pid, SIGKILL);
		}
	}
}

static void pod_stop(struct pod *pod, long long timeout_ms, bool force, bool external)
{
	struct supervisor *sv = sv_of(pod);

	if (sv->phase == PHASE_DONE)
		return;
	if (sv->phase != PHASE_STOPPING) {
		sv->phase = PHASE_STOPPING;
		sv->stop_cause = external ? STOP_EXTERNAL : STOP_FAILURE;
		readiness_pod_stopping(pod);
		/* apps that never started will not */
		for (size_t i = 0; i < pod->n_apps; i++) {
			struct app *a = &pod->apps[i];
			if (a->status < APP_STARTING)
				set_status(pod, a, APP_STOPPED, "pod stopped before the app started");
			if (a->restart_pending) {
				supervise_restart_cancel(pod, a);
				a->restart_pending = false;
				set_status(pod, a, APP_STOPPED, "pod stopped: restart cancelled");
			}
		}
		struct itimerspec its = { .it_value = { .tv_sec = timeout_ms / 1000,
			                                .tv_nsec = (timeout_ms % 1000) * 1000000L } };
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			force = true;
		else
			timerfd_settime(sv->timerfd, 0, &its, NULL);
	}
	if (force)
		kill_all(pod);
	else
		stop_advance(pod);
	pod_finish_check(pod);
}

/* pod->ops->fail: an app missed its goal (readiness.c); the pod fails with reason. */
static void sv_fail_pod(struct pod *pod, struct app *a, const char *reason, int code)
{
	struct supervisor *sv = sv_of(pod);

	if (!sv->failed_app) {
		sv->failed_app = a->m->name;
		sv->failed_code = code;
		sv->fail_reason = reason;
	}
	set_status(pod, a, APP_FAILED, reason);
	pod_stop(pod, DEFAULT_STOP_TIMEOUT_MS, false, false);
}

static void app_reaped(struct pod *pod, struct app *a, int status)
{
	struct supervisor *sv = sv_of(pod);
	ps_error *err = NULL;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	a->ended = true;
	if (a->failed) {
		/* died before exec: the reason is already recorded */
		ps_exit_marker em = { .code = a->code, .reason = "failed", .time_ns = ps_now_ns() };
		ps_exit_marker_write(a->dirfd, &em, false, NULL);
		return;
	}
	a->code = code;
	a->signal = sig;
	bool oom = s1_cgroups_app_ended(pod, a, sig);
	supervise_app_ended(pod, a);
	ps_exit_marker em = { .code = code, .signal = sig, .time_ns = ps_now_ns(),
		              .reason = oom ? (char *)"oom" : NULL };
	if (ps_exit_marker_write(a->dirfd, &em, false, &err) < 0) {
		s1_warn("app %s: %s", a->m->name, err->msg);
		ps_error_free(&err);
	}
	char reason[160];
	if (oom) {
		snprintf(reason, sizeof(reason), "oom: killed by the OOM killer (memory limit)");
		readiness_log_event(pod, a->m->name, "oom", NULL, NULL, reason);
	} else if (sig)
		snprintf(reason, sizeof(reason), "killed by signal %d (%s)", sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	else
		snprintf(reason, sizeof(reason), "exit code %d", code);
	if (a->status == APP_FAILED) {
		/* failed its goal and was stopped for it: FAILED stays its last status */
		note_failure(pod, a, code ? code : EXIT_STAGE1_FAILED);
		return;
	}
	if (sv->phase == PHASE_APPS && !a->init && !a->signalled && restart_wanted(a->m->restart, code, sig)) {
		long long ran_ms = (ps_monotonic_ns() - a->started_mono_ns) / 1000000LL;
		long long delay = supervise_restart_delay(pod, a, ran_ms);
		size_t l = strlen(reason);
		snprintf(reason + l, sizeof(reason) - l, "; restart in %lld ms (restartPolicy %s)", delay,
		         ps_restart_policy_name(a->m->restart));
		a->restart_pending = true;
		supervise_restart_arm(pod, a, delay);
		set_status(pod, a, APP_EXITED, reason);
		return;
	}
	note_failure(pod, a, code);
	if (oom && sv->failed_app == a->m->name && !sv->fail_reason)
		sv->fail_reason = "oom";
	set_status(pod, a, a->signalled ? APP_STOPPED : APP_EXITED, reason);
}

/* pod->ops->app_kill: a liveness / startup probe or the watchdog failed
 * (supervise.c). Not a stop: the app ends EXITED and its restartPolicy applies. */
static void sv_app_kill(struct pod *pod, struct app *a, const char *why)
{
	if (!app_stoppable(a) || a->signalled || a->probe_killed)
		return;
	s1_warn("app %s: %s: killing it", a->m->name, why);
	a->probe_killed = true;
	readiness_log_event(pod, a->m->name, "restart", NULL, NULL, why);
	kill(a->pid, SIGKILL);
}

/* pod->ops->app_restart: the back-off is over (supervise.c), start the app again. */
static void sv_app_restart(struct pod *pod, struct app *a)
{
	struct supervisor *sv = sv_of(pod);

	if (!a->restart_pending || sv->phase != PHASE_APPS)
		return;
	a->restart_pending = false;
	a->ended = a->signalled = a->failed = a->probe_killed = false;
	a->pid = 0;
	a->code = a->signal = 0;
	supervise_app_restarted(pod, a);
	/* the last run's exit code is in the events; the app runs again */
	unlinkat(a->dirfd, PS_FILE_APP_EXIT, 0);
	char why[64];
	snprintf(why, sizeof(why), "restart #%u", supervise_restart_count(pod, a));
	readiness_log_event(pod, a->m->name, "restart", NULL, NULL, why);
	app_start(pod, a);
}

static void reap(struct pod *pod)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		if (pid == pod->reaper) {
			/* The pod's init is gone, so is everything in the pod. */
			s1_warn("the pod's init process died");
			pod->reaper = 0;
			continue;
		}
		for (size_t i = 0; i < pod->n_apps; i++) {
			struct app *a = &pod->apps[i];
			if (a->pid == pid && !a->ended) {
				app_reaped(pod, a, status);
				break;
			}
		}
	}
}

static bool all_ended(const struct pod *pod)
{
	for (size_t i = 0; i < pod->n_apps; i++)
		if (app_is_running(&pod->apps[i]) || pod->apps[i].restart_pending)
			return false;
	return true;
}

static void pod_finish_check(struct pod *pod)
{
	struct supervisor *sv = sv_of(pod);

	if (sv->phase == PHASE_DONE || !all_ended(pod))
		return;
	if (sv->phase == PHASE_STOPPING) {
		stop_advance(pod); /* next group down, if any */
		if (!all_ended(pod))
			return;
		sv->phase = PHASE_DONE;
		return;
	}
	if (sv->phase == PHASE_APPS) {
		/* anything left to start? */
		for (size_t i = pod->n_init; i < pod->n_apps; i++) {
			const struct app *a = &pod->apps[i];
			if (a->status < APP_STARTING && a->m->goal != PS_GOAL_MOUNTED)
				return;
		}
		sv->phase = PHASE_DONE;
	}
}

/* --- the pod --------------------------------------------------------------- */

static pid_t spawn_reaper(void)
{
	/* A pidfd of ourselves tells the child whether we died before its
	 * PR_SET_PDEATHSIG took effect (getppid() is 0 across the pid ns). */
	_cleanup_close_ int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* pid 1 of the pod: it holds no fds (not even the lock) and reaps
	 * whatever is reparented to it until stage1 kills it or dies. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (self >= 0) {
		struct pollfd pfd = { .fd = self, .events = POLLIN };
		if (poll(&pfd, 1, 0) != 0)
			_exit(0);
	}
	syscall(SYS_close_range, 0U, ~0U, 0U);
	if (chdir("/") < 0) {
		/* nothing held: our cwd (the data dir) is all that is left */
	}
	prctl(PR_SET_NAME, "podctl-init");
	sigset_t all, chld;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
			;
		/* no children now: a pending SIGCHLD means a new orphan died */
		sigwaitinfo(&chld, NULL);
	}
}

static int setup_apps(struct pod *pod, ps_error **err)
{
	const ps_manifest *m = pod->manifest;
	int r;

	pod->n_init = m->n_init_apps;
	pod->n_apps = m->n_init_apps + m->n_apps;
	if (pod->n_apps == 0)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "the manifest has no apps");
	pod->apps = calloc(pod->n_apps, sizeof(struct app));
	if (!pod->apps)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "apps");
	_cleanup_close_ int appsfd = ps_apps_dir_open(pod->pod_fd, err);
	if (appsfd < 0)
		return appsfd;
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		a->init = i < pod->n_init;
		a->m = a->init ? &m->init_apps[i] : &m->apps[i - pod->n_init];
		a->dirfd = a->rootfd = a->log_rfd = -1;
		if (!ps_name_is_valid(a->m->name, 64))
			return ps_error_set(err, PS_ERR_INVALID, EINVAL, "bad app name");
		if (ps_mkdirat_p(appsfd, a->m->name, 0755) < 0)
			return ps_error_errno(err, "app %s: mkdir", a->m->name);
		a->dirfd = openat(appsfd, a->m->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (a->dirfd < 0)
			return ps_error_errno(err, "app %s: open", a->m->name);
		a->log = (struct logfile){ .dirfd = a->dirfd, .name = PS_FILE_APP_LOG, .old = PS_FILE_APP_LOG_OLD,
			                   .limit = a->m->log_size ? a->m->log_size : PS_APP_LOG_ROTATE_BYTES,
			                   .fd = -1 };
		if ((r = app_build_exec(pod, a, err)) < 0)
			return r;
		/* A detached app's log exists from here on, before its status
		 * marker: podctl logs tells a foreground pod by its absence. */
		if (pod->detached && logfile_open(&a->log) == 0)
			logfile_close(&a->log);
		set_status(pod, a, APP_INSTALLED, NULL);
	}
	if (pod->interactive && m->n_apps != 1)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "--interactive needs exactly one app");
	/* empty volumes live in the pod dir */
	for (size_t i = 0; i < m->n_volumes; i++) {
		const ps_volume *v = &m->volumes[i];
		if (v->kind && streq(v->kind, "host"))
			continue;
		if (!ps_name_is_valid(v->name, 64))
			return ps_error_set(err, PS_ERR_INVALID, EINVAL, "bad volume name");
		if (ps_mkdirat_p(pod->pod_fd, "volumes", 0700) < 0)
			return ps_error_errno(err, "mkdir volumes");
		_cleanup_free_ char *p = ps_strdup_printf("volumes/%s", v->name);
		if (!p || ps_mkdirat_p(pod->pod_fd, p, 0755) < 0)
			return ps_error_errno(err, "mkdir %s", p ? p : "volume");
	}
	return 0;
}

/* --join-ns: the pod joins an existing net, ipc or uts namespace (a
 * Kubernetes sandbox's) instead of making its own; setns() checks the type.
 * Returns the CLONE_ flags joined. */
static int join_namespaces(struct pod *pod, ps_error **err)
{
	static const int types[] = { CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS };
	int joined = 0;

	for (size_t k = 0; k < ARRAY_SIZE(types); k++) {
		const char *path = sv_of(pod)->join_ns[k];
		if (!path)
			continue;
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, types[k]) < 0)
			return ps_error_errno(err, "join namespace %s", path);
		joined |= types[k];
	}
	return joined;
}

static int setup_namespaces(struct pod *pod, ps_error **err)
{
	bool host_net = pod->manifest->net && streq(pod->manifest->net, "host");
	/* No cgroup ns here: each app takes its own, rooted at its cgroup,
	 * after joining it (cgroups.c; v2 refuses moves out of a cgroup ns). */
	int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
	int joined = join_namespaces(pod, err);

	if (joined < 0)
		return joined;
	if (joined & CLONE_NEWNET)
		host_net = true; /* someone else's: no loopback to bring up */
	if (!host_net && !net_is_cni(pod))
		flags |= CLONE_NEWNET; /* else net_attach() made it */
	flags &= ~joined;
	int r = s1_userns_setup(pod, &flags, err); /* --private-users: owns uts/ipc/net */
	if (r < 0)
		return r;
	if (unshare(flags) < 0)
		return ps_error_errno(err, "unshare namespaces");
	/* Nothing we mount may propagate to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return ps_error_errno(err, "make mounts private");
	if (!(joined & CLONE_NEWUTS) && sethostname(pod->name, strlen(pod->name)) < 0)
		return ps_error_errno(err, "set hostname %s", pod->name);
	r = host_net ? 0 : net_loopback_up(err);
	if (r < 0)
		return r;
	return 0;
}

static void usage(void)
{
	fputs("usage: podctl-stage1 --pod-fd=N --dir=DATA_DIR [--sync-fd=M] [--interactive] "
	      "[--tty] [--debug] UUID\n(started by podctl run / run-prepared; not for direct use)\n",
	      stderr);
}

static int parse_fd(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 65535)
		return -1;
	return (int)v;
}

/* --- parse -------------------------------------------------------------------- */

/* The command line into sv; returns -1 to go on, else the exit code (--help,
 * usage errors). */
static int parse_args(struct supervisor *sv, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pod-fd", required_argument, NULL, 'p' },
		{ "dir", required_argument, NULL, 'd' },
		{ "sync-fd", required_argument, NULL, 's' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "tty", no_argument, NULL, 't' },
		{ "attach", no_argument, NULL, 'a' },
		{ "debug", no_argument, NULL, 'D' },
		{ "enter", required_argument, NULL, 'e' },
		{ "start-fifo", required_argument, NULL, 'F' },
		{ "join-ns", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct pod *pod = &sv->pod;
	bool debug = false;
	int c;

	/* "+": with --enter, the command after UUID keeps its own options. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			sv->enter_app = optarg;
			break;
		case 'p':
			pod->pod_fd = parse_fd(optarg);
			break;
		case 'd':
			sv->dir = optarg;
			break;
		case 's':
			pod->sync_fd = parse_fd(optarg);
			break;
		case 'i':
			pod->interactive = true;
			break;
		case 't':
			pod->tty = true;
			break;
		case 'a':
			sv->attach = true;
			break;
		case 'F':
			sv->start_fifo = optarg;
			break;
		case 'J': {
			int k = strncmp(optarg, "net:", 4) == 0 ? 0 : strncmp(optarg, "ipc:", 4) == 0 ? 1
			      : strncmp(optarg, "uts:", 4) == 0 ? 2 : -1;
			if (k < 0 || optarg[4] != '/') {
				usage();
				return 2;
			}
			sv->join_ns[k] = optarg + 4;
			break;
		}
		case 'D':
			debug = true;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return 2;
		}
	}
	if (sv->attach) {
		if (optind + 1 != argc || pod->pod_fd < 0 || !ps_uuid_is_valid(argv[optind])) {
			usage();
			return 2;
		}
		pod->uuid = argv[optind];
		s1_log_init(NULL, debug);
		return -1;
	}
	if (sv->enter_app) {
		if (optind + 2 > argc || pod->pod_fd < 0 || !ps_uuid_is_valid(argv[optind])) {
			usage();
			return 2;
		}
		pod->uuid = argv[optind];
		sv->enter_cmd = argv + optind + 1;
		s1_log_init(NULL, debug);
		return -1;
	}
	if (optind + 1 != argc || pod->pod_fd < 0 || !sv->dir || !ps_uuid_is_valid(argv[optind])) {
		usage();
		return 2;
	}
	pod->uuid = argv[optind];
	/* --start-fifo (podctl-oci): the sync fd answers `create`, but the app's
	 * stdio is the container's, as the shim gave it, not a log. */
	pod->detached = pod->sync_fd >= 0 && !sv->start_fifo;
	s1_log_init(pod->uuid, debug);
	return -1;
}

/* --- set up ------------------------------------------------------------------- */

/* Everything before the first app starts: the pod's files, namespaces,
 * rootfs, seccomp, its pid 1, the event loop. Fails early (and exits) on
 * any error, recording it in the exit marker. */
static void setup(struct supervisor *sv)
{
	struct pod *pod = &sv->pod;
	ps_error *err = NULL;
	int r;

	s1_debug("start");
	/* Keep the lock fd, but out of every exec'd app. */
	if (fcntl(pod->pod_fd, F_SETFD, FD_CLOEXEC) < 0) {
		ps_error_errno(&err, "pod fd %d", pod->pod_fd);
		pod->pod_fd = -1;
		fail_early(pod, &err);
	}
	if (pod->sync_fd >= 0)
		fcntl(pod->sync_fd, F_SETFD, FD_CLOEXEC);
	/* Detached, our stderr is /dev/null: what we say goes to the pod dir. */
	if (pod->detached && (r = s1_log_to_file(pod->pod_fd)) < 0)
		s1_debug("stage1.log: %s", strerror(-r));

	/* Signals become events; SIGPIPE is an error return. */
	sigemptyset(&sv->sigmask);
	sigaddset(&sv->sigmask, SIGCHLD);
	sigaddset(&sv->sigmask, SIGTERM);
	sigaddset(&sv->sigmask, SIGINT);
	front_forwarded_signals(&sv->sigmask); /* SIGHUP, SIGUSR1…: to the apps */
	sigprocmask(SIG_BLOCK, &sv->sigmask, NULL);
	signal(SIGPIPE, SIG_IGN);

	pod->data_path = realpath(sv->dir, NULL);
	if (!pod->data_path) {
		ps_error_errno(&err, "data dir %s", sv->dir);
		fail_early(pod, &err);
	}
	pod->data_fd = open(pod->data_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pod->data_fd < 0 || fchdir(pod->data_fd) < 0) {
		ps_error_errno(&err, "data dir %s", sv->dir);
		fail_early(pod, &err);
	}
	pod->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (pod->devnull < 0) {
		ps_error_errno(&err, "open /dev/null");
		fail_early(pod, &err);
	}
	if (ps_manifest_load_at(pod->pod_fd, &pod->manifest, &err) < 0)
		fail_early(pod, &err);
	if (pod->manifest->name && *pod->manifest->name)
		pod->name = strdup(pod->manifest->name);
	else
		pod->name = ps_strdup_printf("pod-%.8s", pod->uuid);
	if (!pod->name) {
		ps_error_set(&err, PS_ERR_FAILED, ENOMEM, "pod name");
		fail_early(pod, &err);
	}
	readiness_init(pod); /* keeps an outer NOTIFY_SOCKET for stage1 */
	if (setup_apps(pod, &err) < 0 || tty_setup(pod, &err) < 0)
		fail_early(pod, &err);
	if (s1_cgroups_setup(pod, &err) < 0)
		fail_early(pod, &err);
	if (readiness_setup(pod, &err) < 0)
		fail_early(pod, &err);
	if (supervise_setup(pod, &err) < 0)
		fail_early(pod, &err);
	sv->ctlfd = ps_control_listen(pod->pod_fd, &err);
	if (sv->ctlfd < 0)
		fail_early(pod, &err);
	if (net_attach(pod, &err) < 0 || setup_namespaces(pod, &err) < 0)
		fail_early(pod, &err);
	if (rootfs_make_devices(pod, &err) < 0)
		fail_early(pod, &err);
	sv->mounted_ns = calloc(pod->n_apps, sizeof(*sv->mounted_ns)); /* NULL: none held */
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		if (rootfs_mount_app(pod, a, &err) < 0 || s1_userns_write_etc(pod, a, &err) < 0) {
			set_status(pod, a, APP_FAILED, err->msg);
			fail_early(pod, &err);
		}
		set_status(pod, a, APP_MOUNTED, NULL);
	}
	for (size_t i = 0; i < pod->n_apps; i++)
		if (confine_prepare(pod, &pod->apps[i], &err) < 0)
			fail_early(pod, &err);
	s1_debug("seccomp filters ready");

	/* The pod's pid ns: our next child is its pid 1, later ones join it. */
	if (unshare(CLONE_NEWPID) < 0) {
		ps_error_errno(&err, "unshare pid ns");
		fail_early(pod, &err);
	}
	pod->reaper = spawn_reaper();
	if (pod->reaper < 0) {
		ps_error_errno(&err, "fork the pod's init");
		fail_early(pod, &err);
	}
	readiness_set_pidns(pod, pod->reaper);
	{
		/* Our own pid too, for stop --force's last resort. */
		unsigned long long st = 0, own = 0;
		ps_proc_starttime(pod->reaper, &st);
		ps_proc_starttime(getpid(), &own);
		ps_pid_marker pm = { .pid = pod->reaper, .starttime = st, .time_ns = ps_now_ns(),
			             .stage1_pid = getpid(), .stage1_starttime = own };
		if (ps_pid_marker_write(pod->pod_fd, &pm, &err) < 0)
			fail_early(pod, &err);
	}

	/* The event loop's sources. */
	sv->epfd = epoll_create1(EPOLL_CLOEXEC);
	sv->sigfd = signalfd(-1, &sv->sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	sv->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sv->epfd < 0 || sv->sigfd < 0 || sv->timerfd < 0) {
		ps_error_errno(&err, "event loop");
		fail_early(pod, &err);
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_TAG(EV_SIGNAL, 0) };
	epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->sigfd, &ev);
	ev.data.u64 = EV_TAG(EV_CONTROL, 0);
	epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->ctlfd, &ev);
	ev.data.u64 = EV_TAG(EV_TIMER, 0);
	epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->timerfd, &ev);
	if (readiness_loop_add(pod, sv->epfd, EV_READINESS, &err) < 0 ||
	    supervise_loop_add(pod, sv->epfd, EV_SUPERVISE, &err) < 0)
		fail_early(pod, &err);
	tty_loop_add(pod, sv->epfd, EV_TTY);
	if (s1_cgroups_loop_add(pod, sv->epfd, EV_TAG(EV_CGROUP, 0)) < 0) {
		ps_error_errno(&err, "event loop: cgroup events");
		fail_early(pod, &err);
	}

	if (sv->start_fifo) {
		/* open before "ok": `start` may come the moment create returns */
		sv->start_fd = open(sv->start_fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (sv->start_fd < 0) {
			ps_error_errno(&err, "start fifo %s", sv->start_fifo);
			fail_early(pod, &err);
		}
	}
	if (pod->sync_fd >= 0) {
		/* podctl run --detach returns now: no app shows less than MOUNTED */
		mounted_flush(pod);
		ps_stage1_sync_ok(pod->sync_fd); /* podctl gone: carry on */
		close(pod->sync_fd);
		pod->sync_fd = -1;
	}
}

/* --- loop ------------------------------------------------------------------------ */

static void on_signals(struct supervisor *sv)
{
	struct pod *pod = &sv->pod;
	struct signalfd_siginfo si;

	while (read(sv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			continue;
		s1_debug("signal %d", (int)si.ssi_signo);
		if (si.ssi_signo != SIGINT && si.ssi_signo != SIGTERM) {
			signal_apps(pod, (int)si.ssi_signo, NULL); /* forwarded (front.h) */
			continue;
		}
		front_check(); /* the front died: its terminal back as it was */
		/* a second SIGINT/SIGTERM while stopping: kill now */
		pod_stop(pod, DEFAULT_STOP_TIMEOUT_MS, sv->phase == PHASE_STOPPING, true);
	}
	reap(pod);
}

static void on_event(struct supervisor *sv, uint64_t tag)
{
	struct pod *pod = &sv->pod;
	uint32_t kind = (uint32_t)(tag >> 32);
	uint32_t idx = (uint32_t)tag;

	switch (kind) {
	case EV_SIGNAL:
		on_signals(sv);
		break;
	case EV_CONTROL: {
		int conn = accept4(sv->ctlfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (conn >= 0) {
			struct epoll_event cev = { .events = EPOLLIN, .data.u64 = EV_TAG(EV_CONN, conn) };
			epoll_ctl(sv->epfd, EPOLL_CTL_ADD, conn, &cev);
		}
		break;
	}
	case EV_CONN:
		control_handle(pod, (int)idx);
		break;
	case EV_TIMER: {
		uint64_t exp;
		if (read(sv->timerfd, &exp, sizeof(exp)) > 0 && sv->phase == PHASE_STOPPING) {
			s1_debug("stop timeout: killing what is left");
			kill_all(pod);
		}
		break;
	}
	case EV_LOG:
		log_drain(pod, &pod->apps[idx]);
		break;
	case EV_READINESS:
		readiness_event(pod, idx);
		break;
	case EV_SUPERVISE:
		supervise_event(pod, idx);
		break;
	case EV_CGROUP:
		s1_cgroups_event(pod);
		break;
	case EV_TTY:
		tty_event(pod, idx);
		break;
	}
}

/*
 * Once the pod is idle, give back the resident pages of stage1's own code
 * and read-only data: they are clean file pages (static-pie: no text
 * relocations), which MADV_DONTNEED drops and a later touch faults back in
 * from the page cache. The setup code (namespaces, mounts, JSON, seccomp)
 * that ran once would otherwise stay resident for the pod's whole life: an
 * idle stage1 went from ~1.2 MiB VmRSS to what its loop touches. Only whole
 * pages of non-writable PT_LOAD segments of the executable are dropped: the
 * writable one (data, bss, and the RELRO part that relocation wrote) is
 * never touched.
 */
static int drop_code_pages(struct dl_phdr_info *info, size_t size, void *data)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);

	(void)size;
	(void)data;
	for (size_t i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
			continue;
		uintptr_t start = (info->dlpi_addr + ph->p_vaddr + pg - 1) & ~(pg - 1);
		uintptr_t end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(pg - 1);
		if (end > start)
			madvise((void *)start, end - start, MADV_DONTNEED);
	}
	return 1; /* the first object is the executable itself */
}

/*
 * --start-fifo: the pod is set up and podctl-oci create has returned; wait
 * for `podctl-oci start` to write a byte to the FIFO. A stop signal first
 * ends the pod without starting anything (false; the exit code says which
 * signal, as a runtime's would). The FIFO was opened non-blocking for reading
 * by setup(), so `start` can open it for writing from then until we go on.
 */
static bool wait_start(struct supervisor *sv)
{
	struct pod *pod = &sv->pod;
	_cleanup_close_ int fd = TAKE_FD(sv->start_fd);

	mounted_flush(pod); /* created: every app MOUNTED */

	for (;;) {
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN }, { .fd = sv->sigfd, .events = POLLIN } };
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (pfd[0].revents) {
			char c;
			ssize_t n = read(fd, &c, 1);
			if (n == 1)
				return true;
			if (n < 0 && errno == EAGAIN)
				continue;
			return false; /* the writer went without a word */
		}
		struct signalfd_siginfo si;
		while (read(sv->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				continue;
			sv->failed_code = 128 + (int)si.ssi_signo;
			return false;
		}
		reap(pod);
	}
}

/* Start the apps and run until every one has ended. */
static void loop(struct supervisor *sv)
{
	struct pod *pod = &sv->pod;

	sv->phase = pod->n_init ? PHASE_INIT : PHASE_APPS;
	pod_advance(pod);
	reap(pod);
	pod_advance(pod);
	mounted_flush(pod); /* the apps that wait: MOUNTED now */

	bool trimmed = false;
	while (sv->phase != PHASE_DONE) {
		struct epoll_event evs[16];
		readiness_prepare(pod); /* the files READY=1 will write, while idle */
		/* Idle for 100 ms with the apps running: trim once (a short-lived
		 * pod never pays for it). */
		int n = epoll_wait(sv->epfd, evs, 16, trimmed || sv->phase != PHASE_APPS ? -1 : 100);
		if (n == 0) {
			dl_iterate_phdr(drop_code_pages, NULL);
			trimmed = true;
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			s1_warn("epoll: %s", strerror(errno));
			kill_all(pod);
			break;
		}
		for (int i = 0; i < n; i++)
			on_event(sv, evs[i].data.u64);
		if (sv->phase == PHASE_STOPPING)
			stop_advance(pod);
		pod_advance(pod);
		pod_finish_check(pod);
	}
}

/* --- finish ---------------------------------------------------------------------- */

/* Every app has ended: end the pod's init (which takes any orphans left in
 * the pod's pid ns with it), drain the logs, write the exit marker last.
 * Returns the pod's exit code. */
static int finish(struct supervisor *sv)
{
	struct pod *pod = &sv->pod;
	ps_error *err = NULL;

	/* The front may be gone without its SIGTERM read yet (the pod can end
	 * first, in the same wake-up): the caller's terminal back now, before
	 * the exit marker tells waiters the pod is over. */
	front_check();
	s1_debug("all apps ended");
	if (pod->reaper > 0) {
		kill(pod->reaper, SIGKILL);
		waitpid(pod->reaper, NULL, 0);
		pod->reaper = 0;
	}
	s1_debug("pod init reaped");
	net_detach(pod);
	s1_cgroups_teardown(pod);
	for (size_t i = 0; i < pod->n_apps; i++)
		if (pod->apps[i].log_rfd >= 0)
			log_drain(pod, &pod->apps[i]);
	readiness_teardown(pod);
	ps_control_unlink(pod->pod_fd);

	ps_exit_marker em = { .code = sv->failed_code, .time_ns = ps_now_ns() };
	if (sv->stop_cause == STOP_EXTERNAL)
		em.reason = sv->kill_sent ? "killed" : "stopped";
	else if (sv->failed_app)
		em.reason = sv->fail_reason ? (char *)sv->fail_reason : "app-failed";
	else
		em.reason = "ok";
	em.app = (char *)sv->failed_app;
	if (ps_exit_marker_write(pod->pod_fd, &em, true, &err) < 0) {
		s1_warn("%s", err->msg);
		ps_error_free(&err);
	}
	s1_debug("pod exited: %d (%s)", em.code, em.reason);
	return em.code;
}

static const struct pod_ops supervisor_ops = {
	.set_status = set_status,
	.fail = sv_fail_pod,
	.app_kill = sv_app_kill,
	.app_restart = sv_app_restart,
};

int main(int argc, char **argv)
{
	struct supervisor sv = {
		.pod = { .ops = &supervisor_ops, .pod_fd = -1, .sync_fd = -1, .devnull = -1,
		         .data_fd = -1, .userns_fd = -1, .devices_fd = -1 },
		.epfd = -1, .timerfd = -1, .ctlfd = -1, .sigfd = -1, .start_fd = -1,
	};

	/* Not dumpable, and so neither is any child until it execs (the flag is
	 * inherited): nothing in a pod can ptrace a setup child or the pod's
	 * init, or open their /proc/PID/{fd,mem,cwd,root}. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	s1_no_openat2 = getenv("PODCTL_STAGE1_NO_OPENAT2") && streq(getenv("PODCTL_STAGE1_NO_OPENAT2"), "1");
	int r = parse_args(&sv, argc, argv);
	if (r >= 0)
		return r;
	if (sv.enter_app)
		return stage1_enter(sv.pod.pod_fd, sv.pod.uuid, sv.enter_app, sv.enter_cmd, sv.pod.tty);
	if (sv.attach)
		return stage1_attach(sv.pod.pod_fd, sv.pod.uuid);
	front_split(&sv.pod); /* foreground: returns in the supervisor (front.h) */
	setup(&sv);
	if (sv.start_fifo && !wait_start(&sv)) {
		sv.phase = PHASE_APPS;
		pod_stop(&sv.pod, 0, true, true);
	} else {
		loop(&sv);
	}
	return finish(&sv);
}
