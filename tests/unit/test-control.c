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
		cmocka_unit_test_setup_teardown(round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(nobody_listens, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(no_answer_times_out, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(unknown_request_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(stop_by_state, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
