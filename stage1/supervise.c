/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Probes, watchdog, restart timers and health markers in stage1's loop: see supervise.h. */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

#include "probe.h"
#include "readiness.h"
#include "restart.h"
#include "supervise.h"
#include "util.h"

/* epoll idx: app index × SLOTS + slot */
enum {
	SLOT_TIMER = 0,                    /* + role: the probe's period / timeout timer */
	SLOT_FD = PROBE_N_ROLES,           /* + role: the running probe's pidfd or socket */
	SLOT_WATCHDOG = 2 * PROBE_N_ROLES,
	SLOT_RESTART,
	SLOTS,
};

#define PROBE_OUTPUT_MAX 512

enum run_state { RUN_IDLE, RUN_EXEC, RUN_NET };

struct probe_slot {
	const ps_probe *p;
	int timerfd;
	enum run_state state;
	struct probe_exec pe;
	struct probe_net pn;
	int outfd;               /* memfd: the exec probe's stdout + stderr */
	long long started_ns;    /* monotonic, of the running probe */
};

struct sup {
	struct probe_slot slot[PROBE_N_ROLES];
	struct app_probes ap;
	bool probing;            /* the app runs: probes are scheduled */
	int watchdog_fd;
	long long watchdog_ms;   /* current interval, 0 = off */
	int restart_fd;
	struct restart_backoff backoff;
	long long app_started_ns;
	/* the last probe result, for the health marker */
	enum probe_role last_role;
	bool have_last;
	const char *last_result;
	char last_message[PROBE_OUTPUT_MAX];
	long long last_ns;
};

static struct sup *sup;
static size_t n_sup;
static int loop_epfd = -1;
static uint32_t loop_kind;

static uint64_t tag(size_t app, int slot)
{
	return ((uint64_t)loop_kind << 32) | (uint32_t)(app * SLOTS + (size_t)slot);
}

static void arm(int fd, long long ms)
{
	struct itimerspec its = { 0 };
	if (ms <= 0) {
		its.it_value.tv_nsec = 1; /* now: a zero value would disarm */
	} else {
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000L;
	}
	if (fd >= 0)
		timerfd_settime(fd, 0, &its, NULL);
}

static void disarm(int fd)
{
	struct itimerspec its = { 0 };
	if (fd >= 0)
		timerfd_settime(fd, 0, &its, NULL);
}

static int new_timer(void)
{
	return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
}

int supervise_setup(struct pod *pod, ps_error **err)
{
	sup = calloc(pod->n_apps, sizeof(*sup));
	if (!sup)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "supervise");
	n_sup = pod->n_apps;
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		struct sup *s = &sup[i];
		const ps_probe *p[PROBE_N_ROLES] = { &a->m->startup, &a->m->liveness, &a->m->readiness };
		s->watchdog_fd = s->restart_fd = -1;
		app_probes_init(&s->ap, a->m);
		for (int r = 0; r < PROBE_N_ROLES; r++) {
			s->slot[r] = (struct probe_slot){ .p = p[r], .timerfd = -1, .outfd = -1,
				                          .pe = { .pidfd = -1 }, .pn = { .fd = -1 } };
			if (a->init || !s->ap.has[r])
				continue;
			if ((s->slot[r].timerfd = new_timer()) < 0)
				return ps_error_errno(err, "app %s: probe timer", a->m->name);
		}
		if (a->init)
			continue;
		restart_backoff_init(&s->backoff, a->m->backoff_initial_ms, a->m->backoff_max_ms);
		s->watchdog_ms = a->m->watchdog_ms;
		if ((s->watchdog_fd = new_timer()) < 0)
			return ps_error_errno(err, "app %s: watchdog timer", a->m->name);
		if (a->m->restart != PS_RESTART_NEVER && (s->restart_fd = new_timer()) < 0)
			return ps_error_errno(err, "app %s: restart timer", a->m->name);
	}
	return 0;
}

static int add_fd(int fd, uint64_t t, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = t };
	return fd < 0 ? 0 : epoll_ctl(loop_epfd, EPOLL_CTL_ADD, fd, &ev);
}

int supervise_loop_add(struct pod *pod, int epfd, uint32_t ev_kind, ps_error **err)
{
	loop_epfd = epfd;
	loop_kind = ev_kind;
	for (size_t i = 0; i < n_sup; i++) {
		struct sup *s = &sup[i];
		int r = 0;
		for (int k = 0; k < PROBE_N_ROLES; k++)
			r |= add_fd(s->slot[k].timerfd, tag(i, SLOT_TIMER + k), EPOLLIN);
		r |= add_fd(s->watchdog_fd, tag(i, SLOT_WATCHDOG), EPOLLIN);
		r |= add_fd(s->restart_fd, tag(i, SLOT_RESTART), EPOLLIN);
		if (r < 0)
			return ps_error_errno(err, "app %s: epoll", pod->apps[i].m->name);
	}
	return 0;
}

/* --- health marker ---------------------------------------------------------- */

static const char *role_health(const struct sup *s, enum probe_role r)
{
	return s->ap.has[r] ? probe_health_name(s->ap.sm[r].health) : NULL;
}

void supervise_write_health(struct pod *pod, struct app *a)
{
	size_t i = (size_t)(a - pod->apps);
	ps_error *err = NULL;
	ps_health_marker h = { .notify_status = (char *)readiness_notify_status(pod, a) };

	if (i < n_sup) {
		struct sup *s = &sup[i];
		h.startup = (char *)role_health(s, PROBE_STARTUP);
		h.liveness = (char *)role_health(s, PROBE_LIVENESS);
		h.readiness = (char *)role_health(s, PROBE_READINESS);
		h.restarts = s->backoff.total;
		if (s->have_last) {
			h.last_probe = (char *)probe_role_name(s->last_role);
			h.last_result = (char *)s->last_result;
			h.last_message = s->last_message[0] ? s->last_message : NULL;
			h.last_probe_ns = s->last_ns;
		}
	}
	if (ps_health_marker_write(a->dirfd, &h, &err) < 0) {
		s1_debug("app %s: %s", a->m->name, err->msg);
		ps_error_free(&err);
	}
}

bool supervise_readiness_ok(const struct pod *pod, const struct app *a)
{
	size_t i = (size_t)(a - pod->apps);
	if (i >= n_sup || !sup[i].ap.has[PROBE_READINESS] || a->ended)
		return true;
	return sup[i].ap.sm[PROBE_READINESS].health == PROBE_PASSING;
}

/* --- running probes ------------------------------------------------------------ */

struct exec_ctx {
	struct pod *pod;
	struct app *a;
	int outfd;
	int app_pidfd;   /* opened by stage1: the probe child is in the pod's pid ns,
	                    where the app's host pid means nothing */
};

/* In the probe child: join the app's namespaces (root and cwd follow the
 * mount ns), stdio to /dev/null and the output memfd, nothing else open. */
static int probe_enter(void *userdata)
{
	struct exec_ctx *c = userdata;

	if (c->app_pidfd < 0)
		return -ESRCH;
	/* The app's cgroup first (its limits count the probe), while it is
	 * still in our cgroup namespace's view. */
	if (c->a->cgroup && ps_cgroup_join_self(c->a->cgroup) < 0)
		return -errno;
	/* Only stdio and the app's pidfd are left before we join the app. */
	if (dup2(c->pod->devnull, 0) < 0 || dup2(c->outfd, 1) < 0 || dup2(c->outfd, 2) < 0)
		return -errno;
	const int keep[] = { c->app_pidfd, s1_log_fd() };
	s1_close_fds_except(keep, ARRAY_SIZE(keep));
	if (setns(c->app_pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID |
	                         CLONE_NEWCGROUP) < 0) {
		return -errno;
	}
	if (c->pod->userns_fd >= 0 && s1_userns_join(c->app_pidfd) < 0) /* --private-users */
		return -errno;
	close(c->app_pidfd);
	return 0;
}

static void probe_exec_in_app(char *const *argv, void *userdata)
{
	struct exec_ctx *c = userdata;
	app_exec_probe(c->pod, c->a, argv);
}

static const struct probe_exec_hooks exec_hooks = { .enter = probe_enter, .exec = probe_exec_in_app };

static void schedule_next(struct sup *s, enum probe_role r)
{
	struct probe_slot *ps = &s->slot[r];
	long long period_ms = (ps->p->period_s > 0 ? ps->p->period_s : 10) * 1000LL;
	long long ran_ms = (ps_monotonic_ns() - ps->started_ns) / 1000000LL;
	arm(ps->timerfd, period_ms - ran_ms);
}

static void probe_stop(struct probe_slot *ps)
{
	if (ps->state == RUN_EXEC) {
		epoll_ctl(loop_epfd, EPOLL_CTL_DEL, ps->pe.pidfd, NULL);
		probe_exec_kill(&ps->pe);
	} else if (ps->state == RUN_NET) {
		epoll_ctl(loop_epfd, EPOLL_CTL_DEL, ps->pn.fd, NULL);
		probe_net_close(&ps->pn);
	}
	if (ps->outfd >= 0)
		close(ps->outfd);
	ps->outfd = -1;
	ps->state = RUN_IDLE;
}

static void read_output(struct probe_slot *ps, char *buf, size_t size)
{
	buf[0] = '\0';
	if (ps->outfd < 0)
		return;
	ssize_t n = pread(ps->outfd, buf, size - 1, 0);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* one line for the marker: trailing newlines off, inner ones as spaces */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (ssize_t k = 0; k < n; k++)
		if (buf[k] == '\n' || buf[k] == '\r' || buf[k] == '\t')
			buf[k] = ' ';
}

/* One result of the probe of role r: thresholds, actions, health marker. */
static void probe_result(struct pod *pod, struct app *a, enum probe_role r, enum probe_result res,
                         const char *result_name, const char *message)
{
	size_t i = (size_t)(a - pod->apps);
	struct sup *s = &sup[i];
	enum probe_health before = s->ap.sm[r].health;
	bool result_changed = !s->have_last || s->last_role != r || !streq(s->last_result, result_name);

	s->have_last = true;
	s->last_role = r;
	s->last_result = result_name;
	snprintf(s->last_message, sizeof(s->last_message), "%s", message ? message : "");
	s->last_ns = ps_now_ns();
	s1_debug("app %s: %s probe: %s%s%s", a->m->name, probe_role_name(r), result_name,
	         message && *message ? ": " : "", message ? message : "");

	unsigned act = app_probes_feed(&s->ap, r, res);
	enum probe_health after = s->ap.sm[r].health;
	/* The health file first: a reader woken by the event must find the new health. */
	if (after != before || result_changed)
		supervise_write_health(pod, a);
	if (after != before) {
		char why[PROBE_OUTPUT_MAX + 64];
		snprintf(why, sizeof(why), "%s probe %s%s%s", probe_role_name(r), result_name,
		         message && *message ? ": " : "", message ? message : "");
		readiness_log_event(pod, a->m->name, "probe", probe_health_name(before),
		                    probe_health_name(after), why);
	}

	if (act & PROBE_ACT_STARTED) {
		/* liveness and readiness begin, their initial delay counted from the app's start */
		for (int k = PROBE_LIVENESS; k < PROBE_N_ROLES; k++) {
			if (!s->ap.has[k])
				continue;
			long long since_ms = (ps_monotonic_ns() - s->app_started_ns) / 1000000LL;
			arm(s->slot[k].timerfd, s->slot[k].p->initial_delay_s * 1000LL - since_ms);
		}
	}
	if (act & PROBE_ACT_READY) {
		if (a->status == APP_STARTED) {
			a->ready_by = "readinessProbe";
			pod_set_status(pod, a, APP_READY, "readiness probe passed");
		}
		else
			readiness_recheck(pod);
	}
	if (act & PROBE_ACT_UNREADY) {
		if (a->status == APP_READY)
			pod_set_status(pod, a, APP_STARTED, "readiness probe failing");
		else
			readiness_recheck(pod);
	}
	if (act & PROBE_ACT_RESTART) {
		char why[96];
		snprintf(why, sizeof(why), "%s probe failed %d times", probe_role_name(r),
		         s->ap.sm[r].failure_threshold);
		pod_app_kill(pod, a, why);
	}
}

static void probe_start(struct pod *pod, struct app *a, enum probe_role r)
{
	struct sup *s = &sup[a - pod->apps];
	struct probe_slot *ps = &s->slot[r];
	long long timeout_ms = (ps->p->timeout_s > 0 ? ps->p->timeout_s : 1) * 1000LL;
	int k;

	ps->started_ns = ps_monotonic_ns();
	if (ps->p->kind == PS_PROBE_EXEC) {
		ps->outfd = (int)syscall(SYS_memfd_create, "podctl-probe", MFD_CLOEXEC);
		struct exec_ctx c = { pod, a, ps->outfd >= 0 ? ps->outfd : pod->devnull,
			              (int)syscall(SYS_pidfd_open, a->pid, 0) };
		k = probe_exec_start(&exec_hooks, &c, ps->p->command, &ps->pe);
		if (c.app_pidfd >= 0)
			close(c.app_pidfd);
		if (k < 0) {
			probe_stop(ps);
			probe_result(pod, a, r, PROBE_FAILURE, "failure", strerror(-k));
			schedule_next(s, r);
			return;
		}
		ps->state = RUN_EXEC;
		add_fd(ps->pe.pidfd, tag((size_t)(a - pod->apps), SLOT_FD + r), EPOLLIN);
	} else {
		k = probe_net_start(&ps->pn, ps->p, NULL, NULL); /* we are in the pod's net ns */
		if (k < 0) {
			probe_result(pod, a, r, PROBE_FAILURE, "failure", strerror(-k));
			schedule_next(s, r);
			return;
		}
		ps->state = RUN_NET;
		add_fd(ps->pn.fd, tag((size_t)(a - pod->apps), SLOT_FD + r),
		       probe_net_events(&ps->pn) == POLLIN ? EPOLLIN : EPOLLOUT);
	}
	arm(ps->timerfd, timeout_ms);
}

/* The probe's fd is ready: the exec probe ended, or the socket can go on. */
static void probe_fd_ready(struct pod *pod, struct app *a, enum probe_role r)
{
	struct sup *s = &sup[a - pod->apps];
	struct probe_slot *ps = &s->slot[r];
	enum probe_result res;
	char out[PROBE_OUTPUT_MAX];

	if (ps->state == RUN_EXEC) {
		int fd = ps->pe.pidfd;
		int k = probe_exec_finish(&ps->pe, &res);
		if (k == -EAGAIN)
			return;
		epoll_ctl(loop_epfd, EPOLL_CTL_DEL, fd, NULL); /* finish closed it: a no-op then */
		if (k < 0) {
			probe_exec_kill(&ps->pe);
			res = PROBE_FAILURE;
		}
		read_output(ps, out, sizeof(out));
		probe_stop(ps);
		probe_result(pod, a, r, res, res == PROBE_SUCCESS ? "success" : "failure", out);
		schedule_next(s, r);
	} else if (ps->state == RUN_NET) {
		int fd = ps->pn.fd;
		if (probe_net_step(&ps->pn, &res) == 0) {
			struct epoll_event ev = { .events = probe_net_events(&ps->pn) == POLLIN ? EPOLLIN : EPOLLOUT,
				                  .data.u64 = tag((size_t)(a - pod->apps), SLOT_FD + r) };
			epoll_ctl(loop_epfd, EPOLL_CTL_MOD, fd, &ev);
			return;
		}
		/* done: the step closed the socket, which left epoll with it */
		ps->state = RUN_IDLE;
		probe_result(pod, a, r, res, res == PROBE_SUCCESS ? "success" : "failure", NULL);
		schedule_next(s, r);
	}
}

static void probe_timer(struct pod *pod, struct app *a, enum probe_role r)
{
	struct sup *s = &sup[a - pod->apps];
	struct probe_slot *ps = &s->slot[r];
	uint64_t exp;

	if (read(ps->timerfd, &exp, sizeof(exp)) < 0 && errno == EAGAIN)
		return; /* disarmed meanwhile */
	if (ps->state != RUN_IDLE) {
		/* timeoutSeconds: kill it (the command's process follows), a failure */
		char msg[PROBE_OUTPUT_MAX + 64], out[PROBE_OUTPUT_MAX];
		read_output(ps, out, sizeof(out));
		snprintf(msg, sizeof(msg), "timed out after %ds%s%s", ps->p->timeout_s > 0 ? ps->p->timeout_s : 1,
		         *out ? ": " : "", out);
		probe_stop(ps);
		probe_result(pod, a, r, PROBE_FAILURE, "timeout", msg);
		if (s->probing)
			schedule_next(s, r);
		return;
	}
	if (!s->probing || !app_probes_active(&s->ap, r))
		return;
	probe_start(pod, a, r);
}

void supervise_app_started(struct pod *pod, struct app *a)
{
	size_t i = (size_t)(a - pod->apps);
	if (i >= n_sup || a->init)
		return;
	struct sup *s = &sup[i];
	s->probing = true;
	s->app_started_ns = ps_monotonic_ns();
	for (int r = 0; r < PROBE_N_ROLES; r++)
		if (s->ap.has[r] && app_probes_active(&s->ap, r))
			arm(s->slot[r].timerfd, s->slot[r].p->initial_delay_s * 1000LL);
	if (s->watchdog_ms > 0)
		arm(s->watchdog_fd, s->watchdog_ms);
	bool any = s->ap.has[0] || s->ap.has[1] || s->ap.has[2];
	if (any || s->watchdog_ms > 0 || a->m->restart != PS_RESTART_NEVER)
		supervise_write_health(pod, a);
}

void supervise_app_ended(struct pod *pod, struct app *a)
{
	size_t i = (size_t)(a - pod->apps);
	if (i >= n_sup)
		return;
	struct sup *s = &sup[i];
	s->probing = false;
	for (int r = 0; r < PROBE_N_ROLES; r++) {
		probe_stop(&s->slot[r]);
		disarm(s->slot[r].timerfd);
	}
	disarm(s->watchdog_fd);
}

/* --- restarts ------------------------------------------------------------------- */

long long supervise_restart_delay(struct pod *pod, struct app *a, long long ran_ms)
{
	return restart_backoff_next(&sup[a - pod->apps].backoff, ran_ms);
}

void supervise_restart_arm(struct pod *pod, struct app *a, long long delay_ms)
{
	arm(sup[a - pod->apps].restart_fd, delay_ms);
}

void supervise_restart_cancel(struct pod *pod, struct app *a)
{
	disarm(sup[a - pod->apps].restart_fd);
}

unsigned supervise_restart_count(const struct pod *pod, const struct app *a)
{
	size_t i = (size_t)(a - pod->apps);
	return i < n_sup ? sup[i].backoff.total : 0;
}

void supervise_app_restarted(struct pod *pod, struct app *a)
{
	struct sup *s = &sup[a - pod->apps];
	app_probes_reset(&s->ap);
	s->watchdog_ms = a->m->watchdog_ms;
	supervise_write_health(pod, a);
}

/* --- watchdog ------------------------------------------------------------------- */

void supervise_watchdog(struct pod *pod, struct app *a, bool ping, long long usec, bool trigger)
{
	size_t i = (size_t)(a - pod->apps);
	if (i >= n_sup || a->init || !app_is_running(a))
		return;
	struct sup *s = &sup[i];
	if (trigger) {
		readiness_log_event(pod, a->m->name, "probe", NULL, NULL, "watchdog triggered (WATCHDOG=trigger)");
		pod_app_kill(pod, a, "watchdog triggered");
		return;
	}
	if (usec >= 0) {
		s->watchdog_ms = (usec + 999) / 1000;
		if (!s->watchdog_ms)
			disarm(s->watchdog_fd);
	}
	if ((ping || usec > 0) && s->watchdog_ms > 0)
		arm(s->watchdog_fd, s->watchdog_ms);
}

static void watchdog_fired(struct pod *pod, struct app *a)
{
	struct sup *s = &sup[a - pod->apps];
	uint64_t exp;
	char why[96];

	if (read(s->watchdog_fd, &exp, sizeof(exp)) < 0 && errno == EAGAIN)
		return;
	if (!app_is_running(a))
		return;
	snprintf(why, sizeof(why), "watchdog: no WATCHDOG=1 within %lld ms", s->watchdog_ms);
	readiness_log_event(pod, a->m->name, "probe", NULL, NULL, why);
	pod_app_kill(pod, a, why);
}

void supervise_event(struct pod *pod, uint32_t idx)
{
	size_t i = idx / SLOTS;
	int slot = (int)(idx % SLOTS);
	uint64_t exp;

	if (i >= n_sup)
		return;
	struct app *a = &pod->apps[i];
	if (slot < SLOT_FD)
		probe_timer(pod, a, (enum probe_role)(slot - SLOT_TIMER));
	else if (slot < SLOT_WATCHDOG)
		probe_fd_ready(pod, a, (enum probe_role)(slot - SLOT_FD));
	else if (slot == SLOT_WATCHDOG)
		watchdog_fired(pod, a);
	else if (slot == SLOT_RESTART) {
		if (read(sup[i].restart_fd, &exp, sizeof(exp)) < 0 && errno == EAGAIN)
			return;
		pod_app_restart(pod, a);
	}
}
