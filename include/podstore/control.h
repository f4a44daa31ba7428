/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_CONTROL_H
#define PODSTORE_CONTROL_H

/*
 * The stop protocol: requests to a running pod's stage1 over its control
 * socket. This module owns the socket's name, the messages and both ends;
 * stage1 listens and parses (server side), podctl stop and any other
 * program ask (client side).
 *
 * The socket is a unix SOCK_SEQPACKET socket named "control" in the pod dir,
 * bound and connected through /proc/self/fd/<pod fd>/control so its path is
 * short whatever the data dir's. One request per connection, one datagram
 * each way:
 *
 *   "stop <ms>"   SIGTERM to the apps (last group first), SIGKILL to what is
 *                 left after <ms> milliseconds ("stop" alone: 10 s)
 *   "kill"        SIGKILL to every app now
 *   "signal <N> [<app>]"  signal N to the app's main process (every running
 *                 app when no app is named): podctl kill
 *   "attach"      the pod's terminal (podctl attach): the reply "ok" carries
 *                 the pty master as SCM_RIGHTS; stage1 stops copying the
 *                 app's output to its log until the connection closes
 *
 * and the reply is "ok\n" or "error: <text>\n". The reply says the request
 * was taken, not that the pod exited: that is the pod lock's release.
 *
 * Errors: negative errno and *err filled (when err is not NULL).
 */

#include <stdbool.h>
#include <stddef.h>
#include <podstore/error.h>
#include <podstore/pod.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

#define PS_CONTROL_SOCKET "control"
#define PS_CONTROL_MSG_MAX 128
#define PS_CONTROL_DEFAULT_STOP_MS 10000LL
/* How long a client waits for stage1 to take a request (connect and reply). */
#define PS_CONTROL_REPLY_TIMEOUT_MS 5000LL

typedef enum ps_control_op {
	PS_CONTROL_STOP = 1,  /* graceful, with timeout_ms before SIGKILL */
	PS_CONTROL_KILL,      /* SIGKILL at once */
	PS_CONTROL_SIGNAL,    /* signal to one app or all */
	PS_CONTROL_ATTACH,    /* hand over the pty master */
} ps_control_op;

#define PS_CONTROL_APP_MAX 64

typedef struct ps_control_request {
	ps_control_op op;
	long long timeout_ms; /* PS_CONTROL_STOP: >= 0 */
	int signal;           /* PS_CONTROL_SIGNAL: 1.._NSIG-1 */
	char app[PS_CONTROL_APP_MAX + 1]; /* PS_CONTROL_SIGNAL: "" for every app */
} ps_control_request;

/* --- server side (stage1) --- */

/* Bind and listen on the pod's control socket (replacing a stale one);
 * returns a non-blocking, close-on-exec listening fd. */
int ps_control_listen(int pod_fd, ps_error **err);
/* Remove the socket (stage1, on its way out). */
void ps_control_unlink(int pod_fd);
/* Parse one request datagram (not NUL-terminated; a trailing newline is
 * accepted). Returns 0, or -EBADMSG for anything else. A bad or negative
 * stop timeout means the default, as it always has. */
int ps_control_parse(const char *buf, size_t len, ps_control_request *ret);
/* Read the request from an accepted connection without blocking: 0 with *ret
 * filled, -EAGAIN when nothing arrived yet, -EBADMSG for an unknown request
 * (reply with an error), -ECONNRESET when the peer went away, or -errno. */
int ps_control_recv(int conn, ps_control_request *ret);
/* Reply to a request: "ok" when result is 0, else an error naming it. */
int ps_control_reply(int conn, int result);
/* Reply "error: <msg>" (one line; msg NULL or "" means "ok"). */
int ps_control_reply_msg(int conn, const char *msg);
/* Reply "ok" with fd attached (SCM_RIGHTS): the answer to "attach". */
int ps_control_reply_fd(int conn, int fd);

/* --- client side --- */

/* Send req to the pod's stage1 and wait for its reply, at most timeout_ms
 * (-1: forever) for the connection and the reply together. -ETIMEDOUT with
 * PS_ERR_TIMEOUT when stage1 does not answer in time (it is blocked or
 * stopped), -ECONNREFUSED / -ENOENT when nobody listens, -EPROTO when it
 * refused the request. */
int ps_control_request_send(int pod_fd, const ps_control_request *req, long long timeout_ms,
                            ps_error **err);

/* Send signal sig (1.._NSIG-1) to the app named app of the running pod
 * (every running app when app is NULL). A refusal by stage1 ("no app X",
 * "app X is not running") is PS_ERR_NOT_FOUND or PS_ERR_STATE with stage1's
 * words as the message; a pod that is not running is PS_ERR_STATE. */
int ps_pod_kill(ps_pod *p, int sig, const char *app, ps_error **err);

/* Ask for the pod's terminal: *ret_master gets the pty master (shared with
 * stage1, close-on-exec) and *ret_conn the control connection, which must
 * stay open while attached (closing it hands the terminal back to stage1).
 * A pod without a terminal is PS_ERR_STATE ("pod has no terminal"). */
int ps_control_attach(int pod_fd, int *ret_master, int *ret_conn, ps_error **err);

/* A signal by name ("USR1", "SIGUSR1", "usr1", "RTMIN+2") or number: 1.._NSIG-1,
 * or -EINVAL. */
int ps_signal_parse(const char *s);

/* SIGKILL the pod's stage1 through a pidfd verified against the start time in
 * the pod's pid marker: the last resort of a forced stop (the whole pod goes
 * with it). -ESRCH when the marker names no live stage1. */
int ps_control_kill_stage1(int pod_fd, ps_error **err);

typedef enum ps_stop_result {
	PS_STOP_DONE = 0,         /* it was running and has exited now */
	PS_STOP_NOT_RUNNING = 1,  /* it had exited already */
} ps_stop_result;

/*
 * Stop a pod and wait until it has exited (its lock is free): the request
 * over the control socket (kill when force), and with force, when stage1
 * does not answer in PS_CONTROL_REPLY_TIMEOUT_MS or listens no more,
 * ps_control_kill_stage1(). Returns a ps_stop_result, or a negative errno:
 * PS_ERR_STATE for a pod that never ran, PS_ERR_FAILED when stage1 could
 * not be asked (without force).
 */
int ps_pod_stop(ps_pod *p, long long timeout_ms, bool force, ps_error **err);

#pragma GCC visibility pop

#endif
