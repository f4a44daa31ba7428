/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The stop protocol over the control socket, both ends (control.c). */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "util.h"

static void parse(void **state)
{
	ps_control_request r;
	(void)state;

	assert_int_equal(ps_control_parse("stop 250", 8, &r), 0);
	assert_int_equal(r.op, PS_CONTROL_STOP);
	assert_int_equal(r.timeout_ms, 250);
	assert_int_equal(ps_control_parse("stop\n", 5, &r), 0);
	assert_int_equal(r.timeout_ms, PS_CONTROL_DEFAULT_STOP_MS);
	assert_int_equal(ps_control_parse("stop -5", 7, &r), 0);
	assert_int_equal(r.timeout_ms, PS_CONTROL_DEFAULT_STOP_MS);
	assert_int_equal(ps_control_parse("stop 12x", 8, &r), 0);
	assert_int_equal(r.timeout_ms, PS_CONTROL_DEFAULT_STOP_MS);
	assert_int_equal(ps_control_parse("kill", 4, &r), 0);
	assert_int_equal(r.op, PS_CONTROL_KILL);
	assert_int_equal(ps_control_parse("stopper", 7, &r), -EBADMSG);
	assert_int_equal(ps_control_parse("killall", 7, &r), -EBADMSG);
	assert_int_equal(ps_control_parse("", 0, &r), -EBADMSG);
	char big[PS_CONTROL_MSG_MAX + 8];
	memset(big, 'k', sizeof(big));
	assert_int_equal(ps_control_parse(big, sizeof(big), &r), -EBADMSG);
	/* not NUL-terminated: only len bytes count */
	assert_int_equal(ps_control_parse("killXYZ", 4, &r), 0);
}

static void parse_signal_attach(void **state)
{
	ps_control_request r;
	(void)state;

	assert_int_equal(ps_control_parse("signal 10", 9, &r), 0);
	assert_int_equal(r.op, PS_CONTROL_SIGNAL);
	assert_int_equal(r.signal, 10);
	assert_string_equal(r.app, "");
	assert_int_equal(ps_control_parse("signal 15 web\n", 14, &r), 0);
	assert_int_equal(r.signal, 15);
	assert_string_equal(r.app, "web");
	assert_int_equal(ps_control_parse("signal 0", 8, &r), -EBADMSG);
	assert_int_equal(ps_control_parse("signal 65", 9, &r), -EBADMSG);
	assert_int_equal(ps_control_parse("signal x", 8, &r), -EBADMSG);
	assert_int_equal(ps_control_parse("signal 9 ", 9, &r), -EBADMSG);
	assert_int_equal(ps_control_parse("signal 9 a b", 12, &r), -EBADMSG);
	assert_int_equal(ps_control_parse("signal", 6, &r), -EBADMSG);
	char longapp[100];
	int n = snprintf(longapp, sizeof(longapp), "signal 9 %0*d", PS_CONTROL_APP_MAX + 1, 0);
	assert_int_equal(ps_control_parse(longapp, (size_t)n, &r), -EBADMSG);
	assert_int_equal(ps_control_parse("attach", 6, &r), 0);
	assert_int_equal(r.op, PS_CONTROL_ATTACH);
	assert_int_equal(ps_control_parse("attach me", 9, &r), -EBADMSG);
}

static void signal_names(void **state)
{
	(void)state;
	assert_int_equal(ps_signal_parse("KILL"), SIGKILL);
	assert_int_equal(ps_signal_parse("SIGUSR1"), SIGUSR1);
	assert_int_equal(ps_signal_parse("usr2"), SIGUSR2);
	assert_int_equal(ps_signal_parse("sigHup"), SIGHUP);
	assert_int_equal(ps_signal_parse("15"), SIGTERM);
	assert_int_equal(ps_signal_parse("RTMIN"), SIGRTMIN);
	assert_int_equal(ps_signal_parse("SIGRTMIN+2"), SIGRTMIN + 2);
	assert_int_equal(ps_signal_parse("RTMAX-1"), SIGRTMAX - 1);
	assert_int_equal(ps_signal_parse("RTMIN-1"), -EINVAL);
	assert_int_equal(ps_signal_parse("RTMIN+99"), -EINVAL);
	assert_int_equal(ps_signal_parse("0"), -EINVAL);
	assert_int_equal(ps_signal_parse("65"), -EINVAL);
	assert_int_equal(ps_signal_parse("-9"), -EINVAL);
	assert_int_equal(ps_signal_parse("9x"), -EINVAL);
	assert_int_equal(ps_signal_parse("NOPE"), -EINVAL);
	assert_int_equal(ps_signal_parse("SIG"), -EINVAL);
	assert_int_equal(ps_signal_parse(""), -EINVAL);
	assert_int_equal(ps_signal_parse(NULL), -EINVAL);
}

/* A server in a child: accept n connections, answer each as stage1 does. */
static pid_t serve(int lfd, int n)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid)
		return pid;
	for (int i = 0; i < n; i++) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		poll(&p, 1, -1);
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			_exit(1);
		ps_control_request req;
		int r;
		struct pollfd q = { .fd = c, .events = POLLIN };
		while ((r = ps_control_recv(c, &req)) == -EAGAIN)
			poll(&q, 1, -1);
		if (r == 0 && req.op == PS_CONTROL_STOP && req.timeout_ms != 1234)
			_exit(2);
		ps_control_reply(c, r);
		close(c);
	}
	_exit(0);
}

static void round_trip(void **state)
{
	struct fx *f = *state;
	int dfd = ps_store_tmp_fd(f->store);
	ps_error *err = NULL;
	int status;

	int lfd = ps_control_listen(dfd, &err);
	assert_true(lfd >= 0);
	struct stat st;
	assert_int_equal(fstatat(dfd, PS_CONTROL_SOCKET, &st, 0), 0);
	assert_true(S_ISSOCK(st.st_mode));
	pid_t pid = serve(lfd, 2);
	ps_control_request stop = { .op = PS_CONTROL_STOP, .timeout_ms = 1234 };
	assert_int_equal(ps_control_request_send(dfd, &stop, 5000, &err), 0);
	ps_control_request kill_ = { .op = PS_CONTROL_KILL };
	assert_int_equal(ps_control_request_send(dfd, &kill_, -1, &err), 0);
	assert_null(err);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(lfd);
	ps_control_unlink(dfd);
	assert_int_equal(fstatat(dfd, PS_CONTROL_SOCKET, &st, 0), -1);
}

/* "attach": the reply carries an fd; an error reply carries stage1's words. */
static void attach_passes_fd(void **state)
{
	struct fx *f = *state;
	int dfd = ps_store_tmp_fd(f->store);
	ps_error *err = NULL;
	int sp[2], status;

	int lfd = ps_control_listen(dfd, &err);
	assert_true(lfd >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < 2; i++) {
			struct pollfd p = { .fd = lfd, .events = POLLIN };
			poll(&p, 1, -1);
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			ps_control_request req;
			int r;
			struct pollfd q = { .fd = c, .events = POLLIN };
			while ((r = ps_control_recv(c, &req)) == -EAGAIN)
				poll(&q, 1, -1);
			if (r != 0 || req.op != PS_CONTROL_ATTACH)
				_exit(2);
			if (i == 0)
				ps_control_reply_fd(c, sp[1]);
			else
				ps_control_reply_msg(c, "pod has no terminal");
			/* the first connection stays open until the client closes it */
			char b;
			if (i == 0 && (poll(&q, 1, -1) != 1 || read(c, &b, 1) != 0))
				_exit(3);
			close(c);
		}
		_exit(0);
	}
	close(sp[1]);
	int m = -1, conn = -1;
	assert_int_equal(ps_control_attach(dfd, &m, &conn, &err), 0);
	assert_null(err);
	assert_true(m >= 0 && conn >= 0);
	assert_true(fcntl(m, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(m, "x", 1), 1);
	char b = 0;
	assert_int_equal(read(sp[0], &b, 1), 1);
	assert_int_equal(b, 'x');
	close(m);
	close(conn);
	m = conn = -1;
	assert_true(ps_control_attach(dfd, &m, &conn, &err) < 0);
	assert_non_null(err);
	assert_int_equal(err->kind, PS_ERR_STATE);
	assert_string_equal(err->msg, "pod has no terminal");
	assert_int_equal(m, -1);
	ps_error_free(&err);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sp[0]);
	close(lfd);
}

static void nobody_listens(void **state)
{
	struct fx *f = *state;
	int dfd = ps_store_tmp_fd(f->store);
	ps_error *err = NULL;
	ps_control_request stop = { .op = PS_CONTROL_STOP, .timeout_ms = 10 };

	assert_int_equal(ps_control_request_send(dfd, &stop, 1000, &err), -ENOENT);
	assert_non_null(err);
	ps_error_free(&err);
	/* a stale socket whose listener is gone */
	int lfd = ps_control_listen(dfd, NULL);
	close(lfd);
	assert_int_equal(ps_control_request_send(dfd, &stop, 1000, &err), -ECONNREFUSED);
	ps_error_free(&err);
}

/* The bug this protocol had: a listener that never answers (stage1 blocked
 * or stopped) held the client forever. Now it times out. */
static void no_answer_times_out(void **state)
{
	struct fx *f = *state;
	int dfd = ps_store_tmp_fd(f->store);
	ps_error *err = NULL;
	ps_control_request kill_ = { .op = PS_CONTROL_KILL };

	int lfd = ps_control_listen(dfd, &err);
	assert_true(lfd >= 0);
	long long t0 = ps_monotonic_ns();
	assert_int_equal(ps_control_request_send(dfd, &kill_, 200, &err), -ETIMEDOUT);
	long long ms = (ps_monotonic_ns() - t0) / 1000000;
	assert_true(ms >= 150 && ms < 5000);
	assert_int_equal(err->kind, PS_ERR_TIMEOUT);
	ps_error_free(&err);
	close(lfd);
}

static void unknown_request_refused(void **state)
{
	struct fx *f = *state;
	int dfd = ps_store_tmp_fd(f->store);
	char path[64], reply[64];

	int lfd = ps_control_listen(dfd, NULL);
	assert_true(lfd >= 0);
	pid_t pid = serve(lfd, 1);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, PS_CONTROL_SOCKET);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(c, "reboot", 6, 0), 6);
	ssize_t n = recv(c, reply, sizeof(reply) - 1, 0);
	assert_true(n > 0);
	reply[n] = '\0';
	assert_true(strncmp(reply, "error:", 6) == 0);
	close(c);
	waitpid(pid, NULL, 0);
	close(lfd);
}

/* ps_pod_stop by state: exited is done already, never-ran is an error, and
 * a running pod whose stage1 does not listen is an error without force. */
static void stop_by_state(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_pod *p = NULL;
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_RUN, uuid); /* unlocked: exited */
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_RUN, &p, NULL), 0);
	assert_int_equal(ps_pod_stop(p, 100, false, &err), PS_STOP_NOT_RUNNING);
	assert_null(err);
	ps_pod_free(p);

	fx_make_pod(f, PS_DIR_PREPARED, uuid);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_PREPARED, &p, NULL), 0);
	assert_true(ps_pod_stop(p, 100, true, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_STATE);
	ps_error_free(&err);
	ps_pod_free(p);

	fx_make_pod(f, PS_DIR_RUN, uuid);
	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_RUN, &p, NULL), 0);
	assert_int_equal(ps_pod_stop(p, 100, false, &err), -ENOENT); /* no control socket */
	assert_non_null(err);
	assert_non_null(strstr(err->msg, uuid));
	ps_error_free(&err);
	/* with force and no stage1 pid to kill, it waits for the lock: let go */
	fx_release(holder);
	assert_int_equal(ps_pod_stop(p, 100, true, &err), PS_STOP_NOT_RUNNING);
	ps_pod_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse),
		cmocka_unit_test(parse_signal_attach),
		cmocka_unit_test(signal_names),
		cmocka_unit_test_setup_teardown(attach_passes_fd, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(nobody_listens, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(no_answer_times_out, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(unknown_request_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(stop_by_state, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
