/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_PROBE_H
#define PODCTL_STAGE1_PROBE_H

/*
 * Probes with Kubernetes semantics (Documentation/readiness.md).
 *
 * Two halves, so each can be tested alone:
 *  - a pure state machine: results in, transitions out, no clock and no I/O
 *    (probe_sm_*, app_probes_*);
 *  - runners that never block the caller: an exec probe is a child with a
 *    pidfd (killed with SIGKILL at its timeout), tcpSocket / httpGet a
 *    non-blocking socket stepped on readiness. stage1 drives both from its
 *    event loop, with a timerfd per probe for the period and the timeout;
 *    the *_run() helpers do the same with poll() for tests and tools.
 *
 * Runners return 0 or a negative errno; a probe that ran and failed is a
 * PROBE_FAILURE result, not an error.
 */

#include <stdbool.h>
#include <sys/types.h>

#include <podstore/podstore.h>

enum probe_result { PROBE_SUCCESS, PROBE_FAILURE };
enum probe_health { PROBE_UNKNOWN, PROBE_PASSING, PROBE_FAILING };
enum probe_role { PROBE_STARTUP, PROBE_LIVENESS, PROBE_READINESS, PROBE_N_ROLES };

const char *probe_health_name(enum probe_health h);  /* "unknown", "passing", "failing" */
const char *probe_role_name(enum probe_role r);      /* "startup", "liveness", "readiness" */

/* --- state machine ------------------------------------------------------- */

/* Consecutive results against thresholds: successThreshold successes in a
 * row make it PASSING, failureThreshold failures in a row FAILING. */
struct probe_sm {
	int success_threshold;
	int failure_threshold;
	int successes;
	int failures;
	enum probe_health health;
};

void probe_sm_init(struct probe_sm *sm, const ps_probe *p);
/* Feed one result; true when health changed. */
bool probe_sm_feed(struct probe_sm *sm, enum probe_result r);

/* What the supervisor must do after a result (a bit set). */
enum {
	PROBE_ACT_STARTED = 1 << 0,   /* startup passed: liveness and readiness begin */
	PROBE_ACT_READY = 1 << 1,     /* readiness became passing */
	PROBE_ACT_UNREADY = 1 << 2,   /* readiness became failing (after being passing) */
	PROBE_ACT_RESTART = 1 << 3,   /* liveness or startup failed: kill, restartPolicy applies */
	PROBE_ACT_LIVE = 1 << 4,      /* liveness recovered (or first passed) */
};

/* The probes of one app. Without a startup probe the app counts as started
 * at once; liveness starts out passing (Kubernetes: assumed alive), and
 * readiness unknown, i.e. not ready. */
struct app_probes {
	bool has[PROBE_N_ROLES];
	struct probe_sm sm[PROBE_N_ROLES];
	bool started;
};

void app_probes_init(struct app_probes *ap, const ps_app *a);
/* Back to the initial state (after the app was restarted). */
void app_probes_reset(struct app_probes *ap);
/* Should the probe of this role be scheduled now? (startup gates the others) */
bool app_probes_active(const struct app_probes *ap, enum probe_role role);
/* Feed a result of the probe of this role; returns PROBE_ACT_* bits. A
 * result of a probe that is not active is ignored (0). */
unsigned app_probes_feed(struct app_probes *ap, enum probe_role role, enum probe_result r);

/* --- exec runner ----------------------------------------------------------- */

/*
 * How an exec probe gets into the app. The probe child (cloned with exit
 * signal 0 and never exec'ing, so a supervisor's waitpid(-1), which reaps
 * SIGCHLD children only, leaves it to probe_exec_finish()) calls enter(),
 * then forks the command's process, which calls exec() and reports its exit
 * status back as its own. The fork in between is what a pid namespace needs
 * anyway: setns(CLONE_NEWPID) applies to children only. (An exec'd child
 * would get SIGCHLD as exit signal again: exec resets it.)
 *
 *   enter  in the probe child: setns() into the app's namespaces; 0 or -errno
 *   exec   in the command's process: chroot/chdir into the app's root, drop
 *          privileges, stdio, execve(argv); must not return
 *
 * NULL hooks (or NULL members): no enter, and exec = stdio to /dev/null,
 * execvp(argv). That is what tests and tools use.
 */
struct probe_exec_hooks {
	int (*enter)(void *userdata);
	void (*exec)(char *const *argv, void *userdata);
};

struct probe_exec {
	pid_t pid;
	int pidfd;   /* readable when the probe ended; -1 when none */
};

/* Start an exec probe. Everything it starts gets SIGKILL should stage1 die. */
int probe_exec_start(const struct probe_exec_hooks *h, void *userdata, char *const *argv,
                     struct probe_exec *ret);
/* After pidfd polled readable: reap; success iff it exited 0. -EAGAIN if not yet. */
int probe_exec_finish(struct probe_exec *pe, enum probe_result *ret);
/* The timeout hit: SIGKILL through the pidfd (the command's process dies with
 * it: PR_SET_PDEATHSIG), reap; the result is a failure. */
void probe_exec_kill(struct probe_exec *pe);
/* Blocking: start, wait at most timeout_ms, kill at the timeout. *ret_timed_out may be NULL. */
int probe_exec_run(const struct probe_exec_hooks *h, void *userdata, char *const *argv, int timeout_ms,
                   enum probe_result *ret, bool *ret_timed_out);

/* --- tcpSocket / httpGet runner ---------------------------------------------- */

/* Make a socket (stage1: in the pod's network namespace). Returns an fd or
 * a negative errno; NULL hook = plain socket(). */
typedef int (*probe_socket_fn)(int domain, void *userdata);

struct probe_net {
	int fd;
	bool http;
	int phase;           /* internal */
	char *request;
	size_t req_len, req_off;
	char resp[512];
	size_t resp_len;
};

/*
 * Begin a tcpSocket or httpGet probe of p (host: a numeric IPv4/IPv6 address
 * or "localhost"; NULL = 127.0.0.1; names are not resolved: no DNS in the
 * supervisor's loop). 0 = in progress: poll pn->fd for probe_net_events().
 * A negative errno is a failed probe (e.g. -ECONNREFUSED at once).
 */
int probe_net_start(struct probe_net *pn, const ps_probe *p, probe_socket_fn mk, void *userdata);
/* POLLOUT or POLLIN: what to wait for next. */
short probe_net_events(const struct probe_net *pn);
/* Make progress after the fd polled ready: 1 = done (*ret set), 0 = wait
 * again for probe_net_events(). */
int probe_net_step(struct probe_net *pn, enum probe_result *ret);
void probe_net_close(struct probe_net *pn);
/* Blocking, at most timeout_ms: a timeout is a failure. */
int probe_net_run(const ps_probe *p, probe_socket_fn mk, void *userdata, int timeout_ms,
                  enum probe_result *ret);

/* Parse an HTTP status line; the code, or -EBADMSG. */
int probe_http_status(const char *line, size_t len);

#endif
