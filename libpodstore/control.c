/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stop protocol over the pod's control socket, both ends
 * (include/podstore/control.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <podstore/control.h>
#include <podstore/markers.h>
#include <podstore/wait.h>

#include "fdpass.h"
#include "procutil.h"
#include "util.h"

static void control_addr(int pod_fd, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/" PS_CONTROL_SOCKET, pod_fd);
}

int ps_control_listen(int pod_fd, ps_error **err)
{
	struct sockaddr_un sa;

	control_addr(pod_fd, &sa);
	unlinkat(pod_fd, PS_CONTROL_SOCKET, 0);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ps_error_errno(err, "control socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0) {
		int r = ps_error_errno(err, "control socket: bind %s", sa.sun_path);
		close(fd);
		return r;
	}
	return fd;
}

void ps_control_unlink(int pod_fd)
{
	unlinkat(pod_fd, PS_CONTROL_SOCKET, 0);
}

int ps_control_parse(const char *buf, size_t len, ps_control_request *ret)
{
	char s[PS_CONTROL_MSG_MAX];

	if (len >= sizeof(s))
		return -EBADMSG;
	memcpy(s, buf, len);
	s[len] = '\0';
	s[strcspn(s, "\n")] = '\0';
	if (strncmp(s, "stop", 4) == 0 && (s[4] == '\0' || s[4] == ' ')) {
		long long ms = PS_CONTROL_DEFAULT_STOP_MS;
		if (s[4] == ' ') {
			char *end;
			errno = 0;
			ms = strtoll(s + 5, &end, 10);
			if (errno || end == s + 5 || *end || ms < 0)
				ms = PS_CONTROL_DEFAULT_STOP_MS;
		}
		*ret = (ps_control_request){ .op = PS_CONTROL_STOP, .timeout_ms = ms };
		return 0;
	}
	if (streq(s, "kill")) {
		*ret = (ps_control_request){ .op = PS_CONTROL_KILL, .timeout_ms = 0 };
		return 0;
	}
	if (streq(s, "attach")) {
		*ret = (ps_control_request){ .op = PS_CONTROL_ATTACH };
		return 0;
	}
	if (strncmp(s, "signal ", 7) == 0) {
		char *end;
		errno = 0;
		long sig = strtol(s + 7, &end, 10);
		if (errno || end == s + 7 || sig < 1 || sig >= _NSIG || (*end && *end != ' '))
			return -EBADMSG;
		*ret = (ps_control_request){ .op = PS_CONTROL_SIGNAL, .signal = (int)sig };
		if (*end == ' ') {
			const char *app = end + 1;
			size_t l = strlen(app);
			if (l == 0 || l > PS_CONTROL_APP_MAX || strchr(app, ' '))
				return -EBADMSG;
			memcpy(ret->app, app, l + 1);
		}
		return 0;
	}
	return -EBADMSG;
}

int ps_control_recv(int conn, ps_control_request *ret)
{
	char buf[PS_CONTROL_MSG_MAX];
	ssize_t n;

	do
		n = recv(conn, buf, sizeof(buf), MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -ECONNRESET;
	return ps_control_parse(buf, (size_t)n, ret);
}

int ps_control_reply(int conn, int result)
{
	const char *reply = result == 0 ? "ok\n" : "error: unknown command\n";

	if (send(conn, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

int ps_control_reply_msg(int conn, const char *msg)
{
	char buf[PS_CONTROL_MSG_MAX];

	if (!msg || !*msg)
		return ps_control_reply(conn, 0);
	snprintf(buf, sizeof(buf), "error: %s", msg);
	buf[strcspn(buf, "\n")] = '\0';
	size_t l = strlen(buf);
	if (l + 1 < sizeof(buf))
		buf[l++] = '\n';
	if (send(conn, buf, l, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

int ps_control_reply_fd(int conn, int fd)
{
	return ps_fd_send(conn, fd, "ok\n", 3, MSG_DONTWAIT);
}

static int format_request(const ps_control_request *req, char *buf, size_t len)
{
	switch (req->op) {
	case PS_CONTROL_STOP:
		snprintf(buf, len, "stop %lld", req->timeout_ms < 0 ? PS_CONTROL_DEFAULT_STOP_MS : req->timeout_ms);
		return 0;
	case PS_CONTROL_KILL:
		snprintf(buf, len, "kill");
		return 0;
	case PS_CONTROL_ATTACH:
		snprintf(buf, len, "attach");
		return 0;
	case PS_CONTROL_SIGNAL:
		if (req->signal < 1 || req->signal >= _NSIG || strlen(req->app) > PS_CONTROL_APP_MAX ||
		    strchr(req->app, ' ') || strchr(req->app, '\n'))
			return -EINVAL;
		if (req->app[0])
			snprintf(buf, len, "signal %d %s", req->signal, req->app);
		else
			snprintf(buf, len, "signal %d", req->signal);
		return 0;
	}
	return -EINVAL;
}

/* Connect, send req, read the reply (and an fd passed with it, when ret_fd):
 * the connection is returned in *ret_conn when asked for, else closed. */
static int control_exchange(int pod_fd, const ps_control_request *req, long long timeout_ms,
                            int *ret_fd, int *ret_conn, ps_error **err)
{
	struct sockaddr_un sa;
	char msg[PS_CONTROL_MSG_MAX], reply[PS_CONTROL_MSG_MAX];

	if (format_request(req, msg, sizeof(msg)) < 0)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "control: bad request");
	control_addr(pod_fd, &sa);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ps_error_errno(err, "control socket");
	if (timeout_ms >= 0) {
		/* A unix connect() blocks on a full backlog for up to SO_SNDTIMEO,
		 * recv() for SO_RCVTIMEO: one deadline for the whole exchange. */
		long long deadline = ps_monotonic_ns() + timeout_ms * 1000000LL;
		struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
		if (tv.tv_sec == 0 && tv.tv_usec == 0)
			tv.tv_usec = 1; /* 0 would mean forever */
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
			return ps_error_errno(err, "control socket: timeout");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
		long long left_us = (deadline - ps_monotonic_ns()) / 1000;
		if (left_us <= 0)
			left_us = 1;
		tv = (struct timeval){ .tv_sec = left_us / 1000000, .tv_usec = left_us % 1000000 };
		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
			return ps_error_errno(err, "control socket: timeout");
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		goto fail;
	}
	if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0)
		goto fail;
	int passed;
	ssize_t n = ps_fd_recv(fd, reply, sizeof(reply) - 1, 0, &passed);
	if (n < 0) {
		errno = (int)-n;
		goto fail;
	}
	if (n == 0) {
		if (passed >= 0)
			close(passed);
		return ps_error_set(err, PS_ERR_FAILED, ECONNRESET, "control socket");
	}
	reply[n] = '\0';
	if (strncmp(reply, "ok", 2) != 0) {
		if (passed >= 0)
			close(passed);
		reply[strcspn(reply, "\n")] = '\0';
		/* stage1's own words (errno 0: nothing to add to them) */
		if (strncmp(reply, "error: ", 7) == 0 && ret_conn) {
			ps_error_set(err, PS_ERR_STATE, 0, "%s", reply + 7);
			return -EPROTO;
		}
		if (strncmp(reply, "error: no app ", 14) == 0) {
			ps_error_set(err, PS_ERR_NOT_FOUND, 0, "%s", reply + 7);
			return -ENOENT;
		}
		if (strncmp(reply, "error: ", 7) == 0 && req->op == PS_CONTROL_SIGNAL) {
			ps_error_set(err, PS_ERR_STATE, 0, "%s", reply + 7);
			return -EPROTO;
		}
		return ps_error_set(err, PS_ERR_FAILED, EPROTO, "control socket: stage1 said \"%s\"", reply);
	}
	if (ret_fd) {
		if (passed < 0)
			return ps_error_set(err, PS_ERR_FAILED, EPROTO, "control socket: no fd in the reply");
		*ret_fd = passed;
	} else if (passed >= 0) {
		close(passed);
	}
	if (ret_conn) {
		/* the exchange is over: no timeouts on what follows */
		struct timeval none = { 0 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
		*ret_conn = fd;
		fd = -1;
	}
	return 0;
fail:
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS)
		return ps_error_set(err, PS_ERR_TIMEOUT, ETIMEDOUT,
		                    "control socket: no answer from stage1 in %lld ms", timeout_ms);
	return ps_error_errno(err, "control socket");
}

int ps_control_request_send(int pod_fd, const ps_control_request *req, long long timeout_ms,
                            ps_error **err)
{
	return control_exchange(pod_fd, req, timeout_ms, NULL, NULL, err);
}

int ps_control_attach(int pod_fd, int *ret_master, int *ret_conn, ps_error **err)
{
	ps_control_request req = { .op = PS_CONTROL_ATTACH };

	return control_exchange(pod_fd, &req, PS_CONTROL_REPLY_TIMEOUT_MS, ret_master, ret_conn, err);
}

int ps_pod_kill(ps_pod *p, int sig, const char *app, ps_error **err)
{
	ps_control_request req = { .op = PS_CONTROL_SIGNAL, .signal = sig };
	ps_error *e = NULL;

	if (app) {
		if (strlen(app) > PS_CONTROL_APP_MAX || !ps_name_is_valid(app, PS_CONTROL_APP_MAX))
			return ps_error_set(err, PS_ERR_INVALID, EINVAL, "bad app name %s", app);
		memcpy(req.app, app, strlen(app) + 1);
	}
	if (sig < 1 || sig >= _NSIG)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "bad signal %d", sig);
	if (p->state != PS_STATE_RUNNING)
		return ps_error_set(err, PS_ERR_STATE, 0, "pod %s is not running (%s)", p->uuid,
		                    ps_pod_state_name(p->state));
	int r = control_exchange(p->fd, &req, PS_CONTROL_REPLY_TIMEOUT_MS, NULL, NULL, &e);
	if (r < 0) {
		if ((r == -ECONNREFUSED || r == -ENOENT || r == -ECONNRESET) &&
		    ps_pod_refresh(p, NULL) == 0 &&
		    p->state != PS_STATE_RUNNING) {
			ps_error_free(&e);
			return ps_error_set(err, PS_ERR_STATE, 0, "pod %s is not running (%s)", p->uuid,
			                    ps_pod_state_name(p->state));
		}
		ps_error_prefix(&e, r, "pod %s", p->uuid);
		if (err && !*err)
			*err = e;
		else
			ps_error_free(&e);
		return r;
	}
	return 0;
}

int ps_signal_parse(const char *s)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	if (*s >= '0' && *s <= '9') {
		errno = 0;
		long v = strtol(s, &end, 10);
		if (errno || *end || v < 1 || v >= _NSIG)
			return -EINVAL;
		return (int)v;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
		bool max = strncasecmp(s, "RTMAX", 5) == 0;
		long off = 0;
		if (s[5]) {
			if ((max ? s[5] != '-' : s[5] != '+') || !s[6] || s[6] < '0' || s[6] > '9')
				return -EINVAL;
			errno = 0;
			off = strtol(s + 6, &end, 10);
			if (errno || *end)
				return -EINVAL;
		}
		long v = max ? SIGRTMAX - off : SIGRTMIN + off;
		return v >= SIGRTMIN && v <= SIGRTMAX ? (int)v : -EINVAL;
	}
	for (int i = 1; i < SIGRTMIN && i < _NSIG; i++) {
		const char *n = sigabbrev_np(i);
		if (n && strcasecmp(n, s) == 0)
			return i;
	}
	return -EINVAL;
}

int ps_control_kill_stage1(int pod_fd, ps_error **err)
{
	ps_pid_marker m = { 0 };
	int r = ps_pid_marker_read(pod_fd, &m, NULL);

	if (r < 0 || m.stage1_pid <= 0)
		return ps_error_set(err, PS_ERR_FAILED, ESRCH, "kill stage1: no stage1 pid");
	int fd = ps_pidfd_open_verified(m.stage1_pid, m.stage1_starttime);
	if (fd < 0)
		return ps_error_set(err, PS_ERR_FAILED, -fd, "kill stage1");
	r = (int)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "kill stage1");
	return 0;
}

static bool exited_state(ps_pod_state s)
{
	return s == PS_STATE_EXITED || s == PS_STATE_EXITED_DELETING || s == PS_STATE_EXITED_GARBAGE;
}

int ps_pod_stop(ps_pod *p, long long timeout_ms, bool force, ps_error **err)
{
	ps_control_request req = { .op = force ? PS_CONTROL_KILL : PS_CONTROL_STOP,
		                   .timeout_ms = timeout_ms };
	ps_error *e = NULL;
	int r;

	if (exited_state(p->state))
		return PS_STOP_NOT_RUNNING;
	if (p->state != PS_STATE_RUNNING)
		return ps_error_set(err, PS_ERR_STATE, 0, "pod %s is not running (%s)", p->uuid,
		                    ps_pod_state_name(p->state));
	r = ps_control_request_send(p->fd, &req, PS_CONTROL_REPLY_TIMEOUT_MS, &e);
	if (r < 0) {
		/* It may have just exited. */
		if (ps_pod_refresh(p, NULL) == 0 && p->state != PS_STATE_RUNNING) {
			ps_error_free(&e);
			return PS_STOP_NOT_RUNNING;
		}
		if (!force) {
			ps_error_prefix(&e, r, "pod %s", p->uuid);
			if (err && !*err)
				*err = e;
			else
				ps_error_free(&e);
			return r;
		}
		ps_error_free(&e);
		r = ps_control_kill_stage1(p->fd, &e);
		if (r < 0 && r != -ESRCH) {
			ps_error_prefix(&e, r, "pod %s", p->uuid);
			if (err && !*err)
				*err = e;
			else
				ps_error_free(&e);
			return r;
		}
		ps_error_free(&e);
	}
	r = ps_pod_wait_exited(p, -1, err);
	return r < 0 ? r : PS_STOP_DONE;
}
