/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Probes (threshold state machine, exec/tcp/http runners) and restart back-off. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fixture.h"
#include "../../stage1/probe.h"
#include "../../stage1/restart.h"
#include "util.h"

static ps_probe probe(int success, int failure)
{
	return (ps_probe){ .kind = PS_PROBE_EXEC, .period_s = 10, .timeout_s = 1,
		           .success_threshold = success, .failure_threshold = failure };
}

static void sm_thresholds(void **state)
{
	ps_probe p = probe(2, 3);
	struct probe_sm sm;

	probe_sm_init(&sm, &p);
	assert_int_equal(sm.health, PROBE_UNKNOWN);
	assert_false(probe_sm_feed(&sm, PROBE_SUCCESS));
	assert_true(probe_sm_feed(&sm, PROBE_SUCCESS));
	assert_int_equal(sm.health, PROBE_PASSING);
	assert_false(probe_sm_feed(&sm, PROBE_SUCCESS));
	/* Failures must be in a row: a success in between starts over. */
	assert_false(probe_sm_feed(&sm, PROBE_FAILURE));
	assert_false(probe_sm_feed(&sm, PROBE_FAILURE));
	assert_false(probe_sm_feed(&sm, PROBE_SUCCESS));
	assert_int_equal(sm.health, PROBE_PASSING);
	assert_false(probe_sm_feed(&sm, PROBE_FAILURE));
	assert_false(probe_sm_feed(&sm, PROBE_FAILURE));
	assert_true(probe_sm_feed(&sm, PROBE_FAILURE));
	assert_int_equal(sm.health, PROBE_FAILING);
	assert_false(probe_sm_feed(&sm, PROBE_FAILURE));
	/* One success is not enough to recover with successThreshold 2. */
	assert_false(probe_sm_feed(&sm, PROBE_SUCCESS));
	assert_int_equal(sm.health, PROBE_FAILING);
	assert_true(probe_sm_feed(&sm, PROBE_SUCCESS));
	assert_string_equal(probe_health_name(sm.health), "passing");
}

static ps_app app_with(bool startup, bool liveness, bool readiness)
{
	ps_app a = { .name = "web" };
	if (startup)
		a.startup = probe(1, 2);
	if (liveness)
		a.liveness = probe(1, 3);
	if (readiness)
		a.readiness = probe(2, 2);
	return a;
}

static void app_startup_gates(void **state)
{
	ps_app a = app_with(true, true, true);
	struct app_probes ap;

	app_probes_init(&ap, &a);
	assert_true(app_probes_active(&ap, PROBE_STARTUP));
	assert_false(app_probes_active(&ap, PROBE_LIVENESS));
	assert_false(app_probes_active(&ap, PROBE_READINESS));
	/* Results of gated probes are ignored. */
	assert_int_equal(app_probes_feed(&ap, PROBE_LIVENESS, PROBE_FAILURE), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_STARTUP, PROBE_FAILURE), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_STARTUP, PROBE_SUCCESS), PROBE_ACT_STARTED);
	assert_false(app_probes_active(&ap, PROBE_STARTUP));
	assert_true(app_probes_active(&ap, PROBE_LIVENESS));
	assert_true(app_probes_active(&ap, PROBE_READINESS));

	/* A startup probe that fails its threshold restarts the app. */
	app_probes_reset(&ap);
	assert_int_equal(app_probes_feed(&ap, PROBE_STARTUP, PROBE_FAILURE), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_STARTUP, PROBE_FAILURE), PROBE_ACT_RESTART);

	/* No startup probe: the others run at once. */
	a = app_with(false, true, false);
	app_probes_init(&ap, &a);
	assert_true(app_probes_active(&ap, PROBE_LIVENESS));
	assert_false(app_probes_active(&ap, PROBE_READINESS));
	assert_false(app_probes_active(&ap, PROBE_STARTUP));
}

static void app_liveness_restarts(void **state)
{
	ps_app a = app_with(false, true, false);
	struct app_probes ap;

	app_probes_init(&ap, &a);
	assert_int_equal(app_probes_feed(&ap, PROBE_LIVENESS, PROBE_SUCCESS), PROBE_ACT_LIVE);
	assert_int_equal(app_probes_feed(&ap, PROBE_LIVENESS, PROBE_FAILURE), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_LIVENESS, PROBE_FAILURE), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_LIVENESS, PROBE_FAILURE), PROBE_ACT_RESTART);
	/* After the restart the count starts over. */
	app_probes_reset(&ap);
	assert_int_equal(ap.sm[PROBE_LIVENESS].health, PROBE_UNKNOWN);
	assert_int_equal(app_probes_feed(&ap, PROBE_LIVENESS, PROBE_FAILURE), 0);
}

static void app_readiness_flips(void **state)
{
	ps_app a = app_with(false, false, true);
	struct app_probes ap;

	app_probes_init(&ap, &a);
	/* Unknown → failing is no transition the supervisor acts on. */
	assert_int_equal(app_probes_feed(&ap, PROBE_READINESS, PROBE_FAILURE), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_READINESS, PROBE_FAILURE), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_READINESS, PROBE_SUCCESS), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_READINESS, PROBE_SUCCESS), PROBE_ACT_READY);
	assert_int_equal(app_probes_feed(&ap, PROBE_READINESS, PROBE_SUCCESS), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_READINESS, PROBE_FAILURE), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_READINESS, PROBE_FAILURE), PROBE_ACT_UNREADY);
	assert_int_equal(app_probes_feed(&ap, PROBE_READINESS, PROBE_SUCCESS), 0);
	assert_int_equal(app_probes_feed(&ap, PROBE_READINESS, PROBE_SUCCESS), PROBE_ACT_READY);
}

/* --- exec ------------------------------------------------------------------- */

static void exec_results(void **state)
{
	enum probe_result res;
	bool timed_out = true;
	char *ok[] = { "true", NULL }, *bad[] = { "false", NULL }, *missing[] = { "/nonexistent/x", NULL };

	assert_int_equal(probe_exec_run(NULL, NULL, ok, 5000, &res, &timed_out), 0);
	assert_int_equal(res, PROBE_SUCCESS);
	assert_false(timed_out);
	assert_int_equal(probe_exec_run(NULL, NULL, bad, 5000, &res, &timed_out), 0);
	assert_int_equal(res, PROBE_FAILURE);
	assert_int_equal(probe_exec_run(NULL, NULL, missing, 5000, &res, NULL), 0);
	assert_int_equal(res, PROBE_FAILURE);
}

static void exec_hung_is_killed(void **state)
{
	enum probe_result res;
	bool timed_out = false;
	char *hang[] = { "sleep", "1000", NULL };
	long long t0 = ps_monotonic_ns();

	assert_int_equal(probe_exec_run(NULL, NULL, hang, 200, &res, &timed_out), 0);
	long long took_ms = (ps_monotonic_ns() - t0) / 1000000;
	assert_int_equal(res, PROBE_FAILURE);
	assert_true(timed_out);
	assert_true(took_ms >= 190 && took_ms < 3000);

	/* The command's own process dies with the probe, not just the probe. */
	char pidfile[] = "/tmp/podctl-probe-pid.XXXXXX";
	int fd = mkstemp(pidfile);
	assert_true(fd >= 0);
	close(fd);
	char script[256];
	snprintf(script, sizeof(script), "echo $$ > %s.tmp && mv %s.tmp %s && exec sleep 1000", pidfile,
	         pidfile, pidfile);
	char *sh[] = { "sh", "-c", script, NULL };
	/* Wait until the pid is written: an exec probe that runs at least that long. */
	struct probe_exec pe;
	assert_int_equal(probe_exec_start(NULL, NULL, sh, &pe), 0);
	char buf[32] = "";
	int ifd;
	for (;;) { /* the file is renamed into place: wait on it by inotify */
		ifd = inotify_init1(IN_CLOEXEC);
		inotify_add_watch(ifd, "/tmp", IN_MOVED_TO);
		int pf = open(pidfile, O_RDONLY | O_CLOEXEC);
		ssize_t n = pf >= 0 ? read(pf, buf, sizeof(buf) - 1) : -1;
		if (pf >= 0)
			close(pf);
		if (n > 0) {
			buf[n] = '\0';
			close(ifd);
			break;
		}
		char ev[4096];
		assert_true(read(ifd, ev, sizeof(ev)) > 0);
		close(ifd);
	}
	pid_t cmd = (pid_t)strtol(buf, NULL, 10);
	assert_true(cmd > 0);
	int cfd = (int)syscall(SYS_pidfd_open, cmd, 0);
	assert_true(cfd >= 0);
	probe_exec_kill(&pe);
	struct pollfd pfd = { .fd = cfd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	close(cfd);
	unlink(pidfile);
}

/* The probe child is not a SIGCHLD child: the supervisor's waitpid(-1)
 * does not take it away from probe_exec_finish(). */
static void exec_not_reaped_by_waitpid_any(void **state)
{
	struct probe_exec pe;
	enum probe_result res;
	char *ok[] = { "true", NULL };

	assert_int_equal(probe_exec_start(NULL, NULL, ok, &pe), 0);
	struct pollfd pfd = { .fd = pe.pidfd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	int st;
	pid_t w = waitpid(-1, &st, WNOHANG);
	if (w > 0)
		fprintf(stderr, "reaped %d (probe %d) status %x\n", (int)w, (int)pe.pid, st);
	assert_true(w <= 0);
	assert_int_equal(probe_exec_finish(&pe, &res), 0);
	assert_int_equal(res, PROBE_SUCCESS);
	assert_int_equal(pe.pidfd, -1);
}

/* --- tcp / http --------------------------------------------------------------- */

static int listen_local(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &l), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A one-connection HTTP server in a child: reads the request, answers with
 * reply (NULL: answers nothing and holds the connection until killed). */
static pid_t serve_once(int lfd, const char *reply)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		char buf[2048];
		size_t got = 0;
		while (got < sizeof(buf) - 1) {
			ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		/* The request must be a proper GET of the path. */
		if (strncmp(buf, "GET /healthz HTTP/1.1\r\n", 23) != 0 || !strstr(buf, "\r\nHost: 127.0.0.1:"))
			_exit(3);
		if (!reply)
			pause();
		if (write(c, reply, strlen(reply)) < 0)
			_exit(4);
		_exit(0);
	}
	return pid;
}

static void tcp_probe(void **state)
{
	int port;
	int lfd = listen_local(&port);
	ps_probe p = { .kind = PS_PROBE_TCP_SOCKET, .port = port };
	enum probe_result res;

	assert_int_equal(probe_net_run(&p, NULL, NULL, 2000, &res), 0);
	assert_int_equal(res, PROBE_SUCCESS);
	p.host = "localhost";
	assert_int_equal(probe_net_run(&p, NULL, NULL, 2000, &res), 0);
	assert_int_equal(res, PROBE_SUCCESS);
	close(lfd); /* nothing listens any more: refused */
	p.host = NULL;
	assert_int_equal(probe_net_run(&p, NULL, NULL, 2000, &res), 0);
	assert_int_equal(res, PROBE_FAILURE);
	p.host = "example.invalid";
	assert_int_equal(probe_net_run(&p, NULL, NULL, 2000, &res), 0);
	assert_int_equal(res, PROBE_FAILURE);
}

static void http_case(const char *reply, enum probe_result want)
{
	int port, st;
	int lfd = listen_local(&port);
	pid_t srv = serve_once(lfd, reply);
	ps_probe p = { .kind = PS_PROBE_HTTP_GET, .port = port, .path = "/healthz" };
	enum probe_result res;

	assert_int_equal(probe_net_run(&p, NULL, NULL, reply ? 5000 : 300, &res), 0);
	assert_int_equal(res, want);
	if (!reply)
		kill(srv, SIGKILL);
	assert_int_equal(waitpid(srv, &st, 0), srv);
	if (reply)
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(lfd);
}

static void http_probe(void **state)
{
	http_case("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", PROBE_SUCCESS);
	http_case("HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n", PROBE_SUCCESS);
	http_case("HTTP/1.0 399 Whatever\r\n\r\n", PROBE_SUCCESS);
	http_case("HTTP/1.1 400 Bad Request\r\n\r\n", PROBE_FAILURE);
	http_case("HTTP/1.1 503 Service Unavailable\r\n\r\n", PROBE_FAILURE);
	http_case("SSH-2.0-OpenSSH\r\n", PROBE_FAILURE);
	http_case("", PROBE_FAILURE);  /* closed without a status line */
	http_case(NULL, PROBE_FAILURE); /* hangs: the timeout */
	assert_int_equal(probe_http_status("HTTP/1.1 204", 12), 204);
	assert_int_equal(probe_http_status("HTTP/1.1 20", 11), -EBADMSG);
	assert_int_equal(probe_http_status("HTTP/1.1 2000", 13), -EBADMSG);
}

/* --- restart ------------------------------------------------------------------ */

static void restart_policy(void **state)
{
	assert_false(restart_wanted(PS_RESTART_NEVER, 1, 0));
	assert_false(restart_wanted(PS_RESTART_ON_FAILURE, 0, 0));
	assert_true(restart_wanted(PS_RESTART_ON_FAILURE, 1, 0));
	assert_true(restart_wanted(PS_RESTART_ON_FAILURE, 137, 9));
	assert_true(restart_wanted(PS_RESTART_ALWAYS, 0, 0));
}

static void restart_backoff(void **state)
{
	struct restart_backoff b;
	const long long want[] = { 10000, 20000, 40000, 80000, 160000, 300000, 300000 };

	restart_backoff_init(&b, 10000, 300000);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_int_equal(restart_backoff_next(&b, 1000), want[i]);
	assert_int_equal(b.total, 7);
	/* Ten minutes of a good run reset the streak (not the total). */
	assert_int_equal(restart_backoff_next(&b, RESTART_RESET_AFTER_MS - 1), 300000);
	assert_int_equal(restart_backoff_next(&b, RESTART_RESET_AFTER_MS), 10000);
	assert_int_equal(restart_backoff_next(&b, 5), 20000);
	assert_int_equal(b.total, 10);

	restart_backoff_init(&b, 300, 1000);
	assert_int_equal(restart_backoff_next(&b, 0), 300);
	assert_int_equal(restart_backoff_next(&b, 0), 600);
	assert_int_equal(restart_backoff_next(&b, 0), 1000);
	/* Many restarts never overflow. */
	for (int i = 0; i < 100; i++)
		assert_int_equal(restart_backoff_next(&b, 0), 1000);
	restart_backoff_init(&b, 0, 0); /* defaults */
	assert_int_equal(restart_backoff_next(&b, 0), 10000);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sm_thresholds),
		cmocka_unit_test(app_startup_gates),
		cmocka_unit_test(app_liveness_restarts),
		cmocka_unit_test(app_readiness_flips),
		cmocka_unit_test(exec_results),
		cmocka_unit_test(exec_hung_is_killed),
		cmocka_unit_test(exec_not_reaped_by_waitpid_any),
		cmocka_unit_test(tcp_probe),
		cmocka_unit_test(http_probe),
		cmocka_unit_test(restart_policy),
		cmocka_unit_test(restart_backoff),
	};
	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
