/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Readiness wiring of stage1: see readiness.h. */
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <podstore/events.h>
#include <podstore/health.h>
#include "notify.h"
#include "paths.h" /* build/paths.h: LIBEXECDIR */
#include "readiness.h"
#include "readyproto.h"
#include "sdnotify.h"
#include "supervise.h"
#include "util.h"

#define EXIT_GOAL_TIMEOUT 4

struct app_rd {
	struct notify_sock ns;
	char *source;             /* host path of the socket, to bind into the app */
	long long deadline_ns;    /* goal deadline (monotonic), 0 = none */
	bool reached;             /* reached its goal once */
	bool waived;              /* missed it with onGoalTimeout "ignore" */
	char *notify_status;
	char *http_source[RP_N_PROTOCOLS]; /* host paths of its ready-protocol sockets */
	int status_spare;         /* its next status marker's file, made ahead, or -1 */
};

static struct app_rd *rd;
static size_t n_rd;
static char *outer_notify;   /* the NOTIFY_SOCKET we were started with */
static int goal_timer = -1;
static bool pod_ready, stopping;
static int ready_spare = -1;    /* the ready marker's file, made ahead */
static bool no_spares;          /* O_TMPFILE failed once: not tried again */
static char *client_path;      /* podctl-notify, bound into apps; NULL: none */
static struct rp_server *http;
static const struct pod *the_pod;   /* ready protocols over HTTP; NULL when no app opted in */

static int events_fd = -1;   /* the events log, kept open (ps_event_append_keep) */

/* An event at time_ns (0: now). */
static void event_at(struct pod *pod, long long time_ns, const char *app, const char *type,
                     const char *from, const char *to, const char *reason)
{
	ps_error *err = NULL;
	ps_event e = { .time_ns = time_ns, .app = (char *)app, .type = (char *)type,
		       .from = (char *)from, .to = (char *)to, .reason = (char *)reason };
	if (ps_event_append_keep(pod->pod_fd, &events_fd, &e, &err) < 0) {
		s1_debug("event: %s", err->msg);
		ps_error_free(&err);
	}
}

static void event(struct pod *pod, const char *app, const char *type, const char *from,
                  const char *to, const char *reason)
{
	event_at(pod, 0, app, type, from, to, reason);
}

void readiness_log_event(struct pod *pod, const char *app, const char *type, const char *from,
                         const char *to, const char *reason)
{
	event(pod, app, type, from, to, reason);
}

static void tell_outer(const char *msg)
{
	if (outer_notify) {
		int r = ps_sd_notify_send(outer_notify, msg, strlen(msg));
		if (r < 0)
			s1_debug("notify %s: %s", outer_notify, strerror(-r));
	}
}

void readiness_init(struct pod *pod)
{
	const char *s = getenv("NOTIFY_SOCKET");

	if (s && *s)
		outer_notify = strdup(s);
	unsetenv("NOTIFY_SOCKET");
	/* The static client: next to us (build dir, LIBEXECDIR/podctl). */
	char *path = NULL;
	if (ps_sibling_path(NULL, "podctl-notify", LIBEXECDIR "/podctl/podctl-notify", &path, NULL) == 0 &&
	    access(path, X_OK) == 0)
		client_path = path;
	else
		free(path);
}

const char *readiness_client_path(void)
{
	return client_path;
}

static struct app_rd *rd_of(const struct pod *pod, const struct app *a)
{
	size_t i = (size_t)(a - pod->apps);
	return rd && i < n_rd ? &rd[i] : NULL;
}

const char *readiness_notify_source(const struct app *a)
{
	const struct app_rd *r = the_pod ? rd_of(the_pod, a) : NULL;
	return r && r->ns.fd >= 0 ? r->source : NULL; /* NULL before setup */
}

/* --- ready protocols over HTTP (readyproto.h) ------------------------------ */

static void http_signal(void *ctx, unsigned idx, enum rp_protocol p, enum rp_event e)
{
	struct pod *pod = ctx;
	struct app *a = &pod->apps[idx];
	char why[96];

	snprintf(why, sizeof(why), "%s %s", rp_protocol_name(p),
	         p == RP_LXD ? (e == RP_EV_READY ? "PATCH /1.0 Ready" : "PATCH /1.0 Started")
	                     : (e == RP_EV_READY ? "POST /signal ready" : "POST /signal alive"));
	s1_debug("app %s: %s", a->m->name, why);
	event(pod, a->m->name, "signal", NULL, NULL, why);
	switch (e) {
	case RP_EV_READY:
		if (a->status == APP_STARTED) {
			a->ready_by = rp_protocol_name(p);
			pod_set_status(pod, a, APP_READY, why);
		}
		break;
	case RP_EV_ALIVE:
		supervise_watchdog(pod, a, true, -1, false);
		break;
	case RP_EV_NOT_READY:
		/* as a failing readiness probe does: the ready marker goes */
		if (a->status == APP_READY)
			pod_set_status(pod, a, APP_STARTED, why);
		break;
	}
}

static bool http_is_ready(void *ctx, unsigned idx)
{
	const struct pod *pod = ctx;
	return pod->apps[idx].status == APP_READY;
}

static const struct rp_ops http_ops = { .signal = http_signal, .is_ready = http_is_ready };

/* Did the app opt in to ready protocol p? */
static bool proto_wanted(const struct app *a, int p)
{
	unsigned bit = p == RP_PANTAVISOR ? PS_READY_PANTAVISOR : PS_READY_LXD;
	return !a->init && (a->m->ready_protocols & bit);
}

static int http_setup(struct pod *pod, ps_error **err)
{
	char host[256] = "";
	int r;

	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		if (a->init || !a->m->ready_protocols)
			continue;
		if (!http) {
			/* LXD's "location": the machine, named before our own uts ns */
			if (gethostname(host, sizeof(host) - 1) < 0)
				snprintf(host, sizeof(host), "none");
			r = rp_server_new(&http_ops, pod, host, &http);
			if (r < 0)
				return ps_error_set(err, PS_ERR_FAILED, -r, "ready protocols");
		}
		for (int p = 0; p < RP_N_PROTOCOLS; p++) {
			if (!proto_wanted(a, p))
				continue;
			r = rp_server_listen(http, (unsigned)i, (enum rp_protocol)p, a->dirfd);
			if (r < 0)
				return ps_error_set(err, PS_ERR_FAILED, -r, "app %s: %s socket", a->m->name,
				                    rp_protocol_name((enum rp_protocol)p));
			rd[i].http_source[p] = ps_strdup_printf("%s/pods/run/%s/apps/%s/%s", pod->data_path,
			                                        pod->uuid, a->m->name,
			                                        rp_socket_name((enum rp_protocol)p));
			if (!rd[i].http_source[p])
				return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", a->m->name);
		}
	}
	return 0;
}

const char *readiness_proto_source(const struct app *a, int proto, const char **ret_path_in_app)
{
	const struct app_rd *r = the_pod ? rd_of(the_pod, a) : NULL;
	if (!r || proto < 0 || proto >= RP_N_PROTOCOLS || !r->http_source[proto])
		return NULL;
	*ret_path_in_app = rp_path_in_app((enum rp_protocol)proto);
	return r->http_source[proto];
}

int readiness_setup(struct pod *pod, ps_error **err)
{
	the_pod = pod;
	rd = calloc(pod->n_apps, sizeof(*rd));
	if (!rd)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "readiness");
	n_rd = pod->n_apps;
	for (size_t i = 0; i < n_rd; i++) {
		rd[i].ns.fd = -1; /* not open yet: a teardown after a failure here skips it */
		rd[i].status_spare = -1;
	}
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		int r = notify_sock_open(a->dirfd, &rd[i].ns);
		if (r < 0)
			return ps_error_set(err, PS_ERR_FAILED, -r, "app %s: notify socket", a->m->name);
		/* A bind source must be in the caller's mount ns: a path, not
		 * /proc/self/fd/<dirfd> of a dir opened before our unshare. */
		rd[i].source = ps_strdup_printf("%s/pods/run/%s/apps/%s/" NOTIFY_SOCKET_NAME,
		                                pod->data_path, pod->uuid, a->m->name);
		if (!rd[i].source)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", a->m->name);
		/* NOTIFY_SOCKET into the app's environment (replacing one from the manifest). */
		size_t n = ps_strv_length(a->envp), k = 0;
		char **env = calloc(n + 3, sizeof(char *));
		if (!env)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s: env", a->m->name);
		for (size_t j = 0; j < n; j++) {
			if (strncmp(a->envp[j], "NOTIFY_SOCKET=", 14) == 0)
				free(a->envp[j]);
			else
				env[k++] = a->envp[j];
		}
		env[k++] = strdup("NOTIFY_SOCKET=" NOTIFY_PATH_IN_APP);
		if (env[k - 1] && a->m->watchdog_ms > 0 && !a->init) {
			/* sd_watchdog_enabled() reads it (no WATCHDOG_PID: any pid of the app) */
			env[k] = ps_strdup_printf("WATCHDOG_USEC=%lld", a->m->watchdog_ms * 1000LL);
			if (!env[k++]) {
				free(env[k - 2]);
				env[k - 2] = NULL;
			}
		}
		if (!env[k - 1]) {
			free(env);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s: env", a->m->name);
		}
		free(a->envp);
		a->envp = env;
	}
	goal_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (goal_timer < 0)
		return ps_error_errno(err, "goal timer");
	return http_setup(pod, err);
}

void readiness_teardown(struct pod *pod)
{
	for (size_t i = 0; i < n_rd; i++) {
		struct app *a = &pod->apps[i];
		if (rd[i].ns.fd >= 0)
			notify_sock_close(&rd[i].ns, a->dirfd);
		/* every one the app opted in to: one bound before a failure
		 * of its set-up (fchmod) goes too */
		for (int p = 0; p < RP_N_PROTOCOLS; p++)
			if (proto_wanted(a, p) && a->dirfd >= 0)
				unlinkat(a->dirfd, rp_socket_name((enum rp_protocol)p), 0);
	}
	rp_server_free(http);
	http = NULL;
}

void readiness_set_pidns(struct pod *pod, pid_t pid1)
{
	for (size_t i = 0; i < n_rd; i++)
		if (notify_sock_set_pidns(&rd[i].ns, pid1) < 0)
			s1_warn("app %s: cannot read the pod's pid ns", pod->apps[i].m->name);
	if (http && rp_server_set_pidns(http, pid1) < 0)
		s1_warn("ready protocols: cannot read the pod's pid ns");
}

int readiness_loop_add(struct pod *pod, int epfd, uint32_t ev_kind, ps_error **err)
{
	for (size_t i = 0; i < n_rd; i++) {
		struct epoll_event ev = { .events = EPOLLIN,
			                  .data.u64 = ((uint64_t)ev_kind << 32) | (uint32_t)i };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, rd[i].ns.fd, &ev) < 0)
			return ps_error_errno(err, "epoll notify socket");
	}
	struct epoll_event ev = { .events = EPOLLIN,
		                  .data.u64 = ((uint64_t)ev_kind << 32) | READINESS_TIMER_IDX };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, goal_timer, &ev) < 0)
		return ps_error_errno(err, "epoll goal timer");
	if (http) {
		ev.data.u64 = ((uint64_t)ev_kind << 32) | READINESS_HTTP_IDX;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, rp_server_fd(http), &ev) < 0)
			return ps_error_errno(err, "epoll ready protocols");
	}
	return 0;
}

bool readiness_goal_waived(const struct pod *pod, const struct app *a)
{
	const struct app_rd *r = rd_of(pod, a);
	return r && r->waived;
}

static bool at_goal(const struct app *a)
{
	switch (a->m->goal) {
	case PS_GOAL_MOUNTED:
		return a->status >= APP_MOUNTED && a->status != APP_FAILED;
	case PS_GOAL_READY:
		return a->status == APP_READY;
	default:
		return a->status == APP_STARTED || a->status == APP_READY ||
		       (a->status == APP_EXITED && a->code == 0);
	}
}

/*
 * Is the app at its goal now, for the ready marker? It must have reached
 * its goal once, still be there (a readiness probe failing takes READY
 * back to STARTED; an app waiting for a restart is not running), and its
 * readiness probe, if any, must pass.
 */
static bool ready_now(const struct pod *pod, size_t i)
{
	const struct app *a = &pod->apps[i];

	if (rd[i].waived)
		return true;
	if (!rd[i].reached || a->restart_pending)
		return false;
	return at_goal(a) && supervise_readiness_ok(pod, a);
}

/* The ready marker follows "every app is at its goal", until stopping. */
static void update_ready(struct pod *pod)
{
	ps_error *err = NULL;
	bool all = !stopping;

	for (size_t i = pod->n_init; i < pod->n_apps && all; i++)
		if (!ready_now(pod, i))
			all = false;
	if (all == pod_ready)
		return;
	pod_ready = all;
	if (all) {
		/* The event first (one write on the kept fd): a reader of the log
		 * after a waiter's return finds it. Both have the same time. */
		long long now = ps_now_ns();
		event_at(pod, now, NULL, "ready", NULL, NULL, "every app reached its goal");
		if (ps_ready_marker_write_spare(pod->pod_fd, &ready_spare, now, &err) < 0) {
			s1_warn("%s", err->msg);
			ps_error_free(&err);
		}
		tell_outer("READY=1\nSTATUS=pod ready");
	} else {
		ps_ready_marker_remove(pod->pod_fd, NULL);
		event(pod, NULL, "unready", NULL, NULL, stopping ? "stopping" : "readiness lost");
		if (!stopping)
			tell_outer("STATUS=pod not ready");
	}
}

int readiness_write_status(struct pod *pod, struct app *a, const ps_status_marker *m, ps_error **err)
{
	struct app_rd *r = rd_of(pod, a);
	return ps_status_marker_write_spare(a->dirfd, r ? &r->status_spare : NULL, m, err);
}

/*
 * The files of the markers that READY=1 will write, made while stage1 is
 * idle (O_TMPFILE: the inode allocation, 0.1-0.5 ms each here, off the
 * path from READY=1 to a waiter's return): for an app that is STARTED with
 * the goal READY, its next status marker, and the pod's ready marker.
 * Nothing for the other apps and pods: their next write is not awaited.
 */
static void make_spare(int dirfd, int *spare)
{
	if (*spare >= 0 || no_spares)
		return;
	int fd = ps_spare_file_new(dirfd, 0644);
	if (fd < 0) {
		s1_debug("no spare marker files: %s", strerror(-fd));
		no_spares = true;
		return;
	}
	*spare = fd;
}

void readiness_prepare(struct pod *pod)
{
	bool want_ready = false;

	for (size_t i = pod->n_init; i < n_rd && !stopping; i++) {
		struct app *a = &pod->apps[i];
		if (a->status != APP_STARTED || a->m->goal != PS_GOAL_READY)
			continue;
		want_ready = true;
		make_spare(a->dirfd, &rd[i].status_spare);
	}
	if (want_ready && !pod_ready)
		make_spare(pod->pod_fd, &ready_spare);
}

void readiness_pod_stopping(struct pod *pod)
{
	if (stopping)
		return;
	stopping = true;
	tell_outer("STOPPING=1");
	if (rd)
		update_ready(pod);
}

void readiness_recheck(struct pod *pod)
{
	if (rd)
		update_ready(pod);
}

static void arm_goal_timer(struct pod *pod)
{
	long long next = 0;
	for (size_t i = 0; i < n_rd; i++)
		if (rd[i].deadline_ns && (!next || rd[i].deadline_ns < next))
			next = rd[i].deadline_ns;
	struct itimerspec its = { 0 };
	if (next) {
		its.it_value.tv_sec = next / 1000000000LL;
		its.it_value.tv_nsec = next % 1000000000LL;
	}
	timerfd_settime(goal_timer, TFD_TIMER_ABSTIME, &its, NULL);
}

void readiness_status_changed(struct pod *pod, struct app *a, enum app_status from,
                              enum app_status to, const char *reason, long long time_ns)
{
	struct app_rd *r = rd_of(pod, a);

	/* Before the ready marker, with the time of the change (READY=1's
	 * arrival, before the status marker was written). */
	if (from != to)
		event_at(pod, time_ns, a->m->name, "status", app_status_name(from), app_status_name(to),
		         reason);
	if (!r)
		return;
	/* Notifications count from the app's own mount ns only, from now on. */
	if (to == APP_STARTED && a->pid > 0 && notify_sock_set_mntns(&r->ns, a->pid) < 0)
		s1_debug("app %s: cannot read its mount namespace (exited already?)", a->m->name);
	if (to == APP_STARTING && a->m->goal_timeout_ms > 0 && !r->reached) {
		r->deadline_ns = ps_monotonic_ns() + a->m->goal_timeout_ms * 1000000LL;
		arm_goal_timer(pod);
	}
	if (!a->init && !r->reached && at_goal(a)) {
		r->reached = true;
		r->deadline_ns = 0;
		arm_goal_timer(pod);
	}
	/* An app that has ended (an init app that completed, too) has no goal
	 * left to miss; a restart arms a new deadline at STARTING. */
	if (to >= APP_STOPPING)
		r->deadline_ns = 0;
	if (!a->init)
		update_ready(pod);
}

static void goal_timer_fired(struct pod *pod)
{
	uint64_t exp;
	long long now = ps_monotonic_ns();

	if (read(goal_timer, &exp, sizeof(exp)) < 0) {
		/* spurious: the deadlines below are the truth */
	}
	for (size_t i = 0; i < n_rd; i++) {
		struct app *a = &pod->apps[i];
		if (!rd[i].deadline_ns || rd[i].deadline_ns > now)
			continue;
		rd[i].deadline_ns = 0;
		char why[128];
		snprintf(why, sizeof(why), "goal-timeout: %s not reached within %lld ms",
		         ps_status_goal_name(a->m->goal), a->m->goal_timeout_ms);
		if (a->m->goal_timeout_ignore) {
			rd[i].waived = true;
			event(pod, a->m->name, "status", NULL, NULL, why);
			update_ready(pod);
			continue;
		}
		s1_warn("app %s: %s", a->m->name, why);
		event(pod, a->m->name, "exit", NULL, NULL, why);
		pod_fail(pod, a, "goal-timeout", EXIT_GOAL_TIMEOUT);
	}
	arm_goal_timer(pod);
}

const char *readiness_notify_status(const struct pod *pod, const struct app *a)
{
	const struct app_rd *r = rd_of(pod, a);
	return r ? r->notify_status : NULL;
}

static void notify_received(struct pod *pod, struct app *a, struct app_rd *r)
{
	for (;;) {
		struct notify_msg m;
		pid_t pid = 0;
		int k = notify_sock_receive(&r->ns, &m, &pid);
		if (k == -EAGAIN)
			return;
		if (k == -EPERM) {
			unsigned long n = r->ns.rejected_sender;
			s1_debug("app %s: notification from pid %d outside the app ignored (%lu so far)",
			         a->m->name, (int)pid, n);
			/* In the events too, the 1st, 2nd, 4th, 8th…: visible, never a flood. */
			if ((n & (n - 1)) == 0) {
				char why[128];
				snprintf(why, sizeof(why),
				         "notification from pid %d outside the app dropped (%lu so far)", (int)pid, n);
				event(pod, a->m->name, "notify-rejected", NULL, NULL, why);
			}
			continue;
		}
		if (k < 0) {
			s1_debug("app %s: bad notification: %s", a->m->name, strerror(-k));
			if (k == -ENOMEM)
				return;
			continue;
		}
		if (m.status) {
			free(r->notify_status);
			r->notify_status = m.status;
			m.status = NULL;
			event(pod, a->m->name, "notify", NULL, NULL, r->notify_status);
			supervise_write_health(pod, a);
		}
		if (m.ready && (a->status == APP_STARTED)) {
			a->ready_by = "sd_notify";
			pod_set_status(pod, a, APP_READY, "READY=1");
		}
		if (m.stopping && a->status >= APP_STARTED && a->status <= APP_READY)
			pod_set_status(pod, a, APP_STOPPING, "STOPPING=1");
		if (m.watchdog || m.watchdog_trigger || m.watchdog_usec >= 0)
			supervise_watchdog(pod, a, m.watchdog, m.watchdog_usec, m.watchdog_trigger);
		if (m.extend_usec >= 0 && r->deadline_ns) {
			long long want = ps_monotonic_ns() + m.extend_usec * 1000LL;
			if (want > r->deadline_ns) {
				r->deadline_ns = want;
				arm_goal_timer(pod);
			}
		}
		notify_msg_clear(&m);
	}
}

void readiness_event(struct pod *pod, uint32_t idx)
{
	if (idx == READINESS_TIMER_IDX) {
		goal_timer_fired(pod);
		return;
	}
	if (idx == READINESS_HTTP_IDX) {
		if (http)
			rp_server_dispatch(http);
		return;
	}
	if (idx < n_rd)
		notify_received(pod, &pod->apps[idx], &rd[idx]);
}
