/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Probes: the threshold state machine and the non-blocking runners. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "probe.h"
#include "util.h"

const char *probe_health_name(enum probe_health h)
{
	switch (h) {
	case PROBE_PASSING:
		return "passing";
	case PROBE_FAILING:
		return "failing";
	default:
		return "unknown";
	}
}

const char *probe_role_name(enum probe_role r)
{
	static const char *const names[] = { "startup", "liveness", "readiness" };
	return r < PROBE_N_ROLES ? names[r] : "?";
}

/* --- state machine ------------------------------------------------------- */

void probe_sm_init(struct probe_sm *sm, const ps_probe *p)
{
	*sm = (struct probe_sm){
		.success_threshold = p && p->success_threshold > 0 ? p->success_threshold : 1,
		.failure_threshold = p && p->failure_threshold > 0 ? p->failure_threshold : 3,
		.health = PROBE_UNKNOWN,
	};
}

bool probe_sm_feed(struct probe_sm *sm, enum probe_result r)
{
	enum probe_health before = sm->health;

	if (r == PROBE_SUCCESS) {
		sm->failures = 0;
		if (sm->successes < sm->success_threshold)
			sm->successes++;
		if (sm->successes >= sm->success_threshold)
			sm->health = PROBE_PASSING;
	} else {
		sm->successes = 0;
		if (sm->failures < sm->failure_threshold)
			sm->failures++;
		if (sm->failures >= sm->failure_threshold)
			sm->health = PROBE_FAILING;
	}
	return sm->health != before;
}

void app_probes_init(struct app_probes *ap, const ps_app *a)
{
	const ps_probe *p[PROBE_N_ROLES] = { &a->startup, &a->liveness, &a->readiness };

	*ap = (struct app_probes){ 0 };
	for (int i = 0; i < PROBE_N_ROLES; i++) {
		ap->has[i] = p[i]->kind != PS_PROBE_NONE;
		probe_sm_init(&ap->sm[i], p[i]);
	}
	app_probes_reset(ap);
}

void app_probes_reset(struct app_probes *ap)
{
	for (int i = 0; i < PROBE_N_ROLES; i++) {
		ap->sm[i].successes = ap->sm[i].failures = 0;
		ap->sm[i].health = PROBE_UNKNOWN;
	}
	ap->started = !ap->has[PROBE_STARTUP];
}

bool app_probes_active(const struct app_probes *ap, enum probe_role role)
{
	if (role >= PROBE_N_ROLES || !ap->has[role])
		return false;
	if (role == PROBE_STARTUP)
		return !ap->started;
	return ap->started;
}

unsigned app_probes_feed(struct app_probes *ap, enum probe_role role, enum probe_result r)
{
	if (!app_probes_active(ap, role))
		return 0;
	struct probe_sm *sm = &ap->sm[role];
	enum probe_health before = sm->health;
	if (!probe_sm_feed(sm, r))
		return 0;
	switch (role) {
	case PROBE_STARTUP:
		if (sm->health == PROBE_PASSING) {
			ap->started = true;
			return PROBE_ACT_STARTED;
		}
		return PROBE_ACT_RESTART;
	case PROBE_LIVENESS:
		return sm->health == PROBE_PASSING ? PROBE_ACT_LIVE : PROBE_ACT_RESTART;
	case PROBE_READINESS:
		if (sm->health == PROBE_PASSING)
			return PROBE_ACT_READY;
		/* unknown → failing: was never ready, nothing to take back */
		return before == PROBE_PASSING ? PROBE_ACT_UNREADY : 0;
	default:
		return 0;
	}
}

/* --- exec runner ----------------------------------------------------------- */

static void __attribute__((noreturn)) exec_plain(char *const *argv)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	execvp(argv[0], argv);
	_exit(127);
}

/* The probe child: enter, fork the command, pass its status on. */
static void __attribute__((noreturn)) probe_child(const struct probe_exec_hooks *h, void *userdata,
                                                  char *const *argv)
{
	int st;

	if (h && h->enter && h->enter(userdata) < 0)
		_exit(127);
	pid_t me = getpid();
	pid_t pid = fork();
	if (pid < 0)
		_exit(127);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != me && getppid() != 0)
			_exit(127);
		if (h && h->exec)
			h->exec(argv, userdata);
		exec_plain(argv);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			_exit(127);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

int probe_exec_start(const struct probe_exec_hooks *h, void *userdata, char *const *argv,
                     struct probe_exec *ret)
{
	int pidfd = -1;
	struct clone_args ca = {
		.flags = CLONE_PIDFD,
		.pidfd = (unsigned long)&pidfd,
		.exit_signal = 0, /* not SIGCHLD: waitpid(-1) of the supervisor leaves it alone */
	};
	pid_t parent = getpid();

	if (!argv || !argv[0])
		return -EINVAL;
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Parent gone before PR_SET_PDEATHSIG took? (0: the parent is
		 * outside our pid ns, as stage1 is outside the pod's.) */
		pid_t pp = getppid();
		if (pp != parent && pp != 0)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* the supervisor blocks signals for its signalfd */
		probe_child(h, userdata, argv);
	}
	/* pidfd is CLOEXEC (CLONE_PIDFD always sets it). */
	*ret = (struct probe_exec){ .pid = (pid_t)pid, .pidfd = pidfd };
	return 0;
}

int probe_exec_finish(struct probe_exec *pe, enum probe_result *ret)
{
	siginfo_t si = { 0 };

	if (pe->pidfd < 0)
		return -EBADF;
	if (waitid(P_PIDFD, (id_t)pe->pidfd, &si, WEXITED | WNOHANG | __WALL) < 0)
		return -errno;
	if (si.si_pid == 0)
		return -EAGAIN;
	close(pe->pidfd);
	pe->pidfd = -1;
	pe->pid = 0;
	*ret = si.si_code == CLD_EXITED && si.si_status == 0 ? PROBE_SUCCESS : PROBE_FAILURE;
	return 0;
}

void probe_exec_kill(struct probe_exec *pe)
{
	siginfo_t si;

	if (pe->pidfd < 0)
		return;
	syscall(SYS_pidfd_send_signal, pe->pidfd, SIGKILL, NULL, 0);
	while (waitid(P_PIDFD, (id_t)pe->pidfd, &si, WEXITED | __WALL) < 0 && errno == EINTR)
		;
	close(pe->pidfd);
	pe->pidfd = -1;
	pe->pid = 0;
}

static int remaining_ms(long long deadline_ns)
{
	long long left = deadline_ns - ps_monotonic_ns();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

int probe_exec_run(const struct probe_exec_hooks *h, void *userdata, char *const *argv,
                   int timeout_ms, enum probe_result *ret, bool *ret_timed_out)
{
	struct probe_exec pe;
	long long deadline = ps_monotonic_ns() + (long long)timeout_ms * 1000000LL;
	int r = probe_exec_start(h, userdata, argv, &pe);

	if (r < 0)
		return r;
	for (;;) {
		struct pollfd pfd = { .fd = pe.pidfd, .events = POLLIN };
		int n = poll(&pfd, 1, remaining_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			probe_exec_kill(&pe);
			*ret = PROBE_FAILURE;
			if (ret_timed_out)
				*ret_timed_out = true;
			return n < 0 ? -errno : 0;
		}
		r = probe_exec_finish(&pe, ret);
		if (r == -EAGAIN)
			continue;
		if (r < 0) {
			probe_exec_kill(&pe);
			return r;
		}
		if (ret_timed_out)
			*ret_timed_out = false;
		return 0;
	}
}

/* --- tcpSocket / httpGet ------------------------------------------------------ */

enum { NET_CONNECTING, NET_SENDING, NET_READING };

int probe_http_status(const char *line, size_t len)
{
	/* "HTTP/1.1 200 OK" (1.0 too) */
	if (len < 12 || memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
		return -EBADMSG;
	int code = 0;
	for (int i = 9; i < 12; i++) {
		if (line[i] < '0' || line[i] > '9')
			return -EBADMSG;
		code = code * 10 + (line[i] - '0');
	}
	if (len > 12 && line[12] != ' ' && line[12] != '\r')
		return -EBADMSG;
	return code;
}

int probe_net_start(struct probe_net *pn, const ps_probe *p, probe_socket_fn mk, void *userdata)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr = { 0 };
	socklen_t alen;
	const char *host = p->host && *p->host ? p->host : "127.0.0.1";

	*pn = (struct probe_net){ .fd = -1, .http = p->kind == PS_PROBE_HTTP_GET };
	if (p->kind != PS_PROBE_HTTP_GET && p->kind != PS_PROBE_TCP_SOCKET)
		return -EINVAL;
	if (p->port < 1 || p->port > 65535)
		return -EINVAL;
	if (streq(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &addr.in4.sin_addr) == 1) {
		addr.in4.sin_family = AF_INET;
		addr.in4.sin_port = htons((uint16_t)p->port);
		alen = sizeof(addr.in4);
	} else if (inet_pton(AF_INET6, host, &addr.in6.sin6_addr) == 1) {
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons((uint16_t)p->port);
		alen = sizeof(addr.in6);
	} else {
		return -EADDRNOTAVAIL;
	}
	if (pn->http) {
		const char *path = p->path && *p->path ? p->path : "/";
		bool v6 = addr.sa.sa_family == AF_INET6;
		pn->request = ps_strdup_printf("GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\n"
		                               "User-Agent: podctl-probe/1\r\nAccept: */*\r\n"
		                               "Connection: close\r\n\r\n",
		                               path, v6 ? "[" : "", host, v6 ? "]" : "", p->port);
		if (!pn->request)
			return -ENOMEM;
		pn->req_len = strlen(pn->request);
	}
	int fd = mk ? mk(addr.sa.sa_family, userdata)
	            : socket(addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		int r = mk ? fd : -errno;
		probe_net_close(pn);
		return r;
	}
	pn->fd = fd;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (connect(fd, &addr.sa, alen) < 0 && errno != EINPROGRESS) {
		int r = -errno;
		probe_net_close(pn);
		return r;
	}
	pn->phase = NET_CONNECTING;
	return 0;
}

short probe_net_events(const struct probe_net *pn)
{
	return pn->phase == NET_READING ? POLLIN : POLLOUT;
}

static int net_done(struct probe_net *pn, enum probe_result r, enum probe_result *ret)
{
	*ret = r;
	probe_net_close(pn);
	return 1;
}

int probe_net_step(struct probe_net *pn, enum probe_result *ret)
{
	if (pn->phase == NET_CONNECTING) {
		int e = 0;
		socklen_t l = sizeof(e);
		if (getsockopt(pn->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e != 0)
			return net_done(pn, PROBE_FAILURE, ret);
		if (!pn->http)
			return net_done(pn, PROBE_SUCCESS, ret);
		pn->phase = NET_SENDING;
	}
	if (pn->phase == NET_SENDING) {
		while (pn->req_off < pn->req_len) {
			ssize_t n = send(pn->fd, pn->request + pn->req_off, pn->req_len - pn->req_off,
			                 MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (n <= 0)
				return net_done(pn, PROBE_FAILURE, ret);
			pn->req_off += (size_t)n;
		}
		pn->phase = NET_READING;
		return 0;
	}
	for (;;) {
		if (pn->resp_len == sizeof(pn->resp))
			return net_done(pn, PROBE_FAILURE, ret); /* no status line in 512 bytes */
		ssize_t n = recv(pn->fd, pn->resp + pn->resp_len, sizeof(pn->resp) - pn->resp_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n > 0)
			pn->resp_len += (size_t)n;
		char *eol = memchr(pn->resp, '\n', pn->resp_len);
		if (eol) {
			int code = probe_http_status(pn->resp, (size_t)(eol - pn->resp));
			return net_done(pn, code >= 200 && code <= 399 ? PROBE_SUCCESS : PROBE_FAILURE, ret);
		}
		if (n <= 0)
			return net_done(pn, PROBE_FAILURE, ret); /* EOF or error before a status line */
	}
}

void probe_net_close(struct probe_net *pn)
{
	if (pn->fd >= 0)
		close(pn->fd);
	pn->fd = -1;
	free(pn->request);
	pn->request = NULL;
}

int probe_net_run(const ps_probe *p, probe_socket_fn mk, void *userdata, int timeout_ms,
                  enum probe_result *ret)
{
	struct probe_net pn;
	long long deadline = ps_monotonic_ns() + (long long)timeout_ms * 1000000LL;
	int r = probe_net_start(&pn, p, mk, userdata);

	if (r < 0) {
		*ret = PROBE_FAILURE;
		return r == -ENOMEM || r == -EINVAL ? r : 0;
	}
	for (;;) {
		struct pollfd pfd = { .fd = pn.fd, .events = probe_net_events(&pn) };
		int n = poll(&pfd, 1, remaining_ms(deadline));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			probe_net_close(&pn);
			*ret = PROBE_FAILURE;
			return n < 0 ? -errno : 0;
		}
		if (probe_net_step(&pn, ret) == 1)
			return 0;
	}
}
