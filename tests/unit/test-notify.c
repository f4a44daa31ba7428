/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sd_notify: the parser, the sender's word list, per-app sockets and the
 * sender check. */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "fixture.h"
#include "../../stage1/notify.h"
#include "sdnotify.h"
#include "util.h"

static struct notify_msg parse_ok(const char *s)
{
	struct notify_msg m;
	assert_int_equal(notify_parse(s, strlen(s), &m), 0);
	return m;
}

static void parse_keys(void **state)
{
	struct notify_msg m = parse_ok("READY=1\nSTATUS=serving 3 clients\nMAINPID=42\n"
	                               "WATCHDOG=1\nWATCHDOG_USEC=5000000\nEXTEND_TIMEOUT_USEC=20\n"
	                               "ERRNO=2\nSTOPPING=1\nRELOADING=1");
	assert_true(m.ready && m.watchdog && m.stopping && m.reloading);
	assert_string_equal(m.status, "serving 3 clients");
	assert_int_equal(m.mainpid, 42);
	assert_int_equal(m.watchdog_usec, 5000000);
	assert_int_equal(m.extend_usec, 20);
	assert_int_equal(m.errnum, 2);
	assert_int_equal(m.n_unknown, 0);
	assert_int_equal(m.n_invalid, 0);
	notify_msg_clear(&m);
}

static void parse_tolerant(void **state)
{
	/* Unknown keys, lines without '=', empty lines, bad values: ignored. */
	struct notify_msg m = parse_ok("\nFDSTORE=1\nnonsense\nREADY=0\nMAINPID=abc\n"
	                               "WATCHDOG=trigger\nSTATUS=a\nSTATUS=\n\n");
	assert_false(m.ready);
	assert_true(m.watchdog_trigger);
	assert_false(m.watchdog);
	assert_int_equal(m.mainpid, 0);
	assert_int_equal(m.n_unknown, 2);
	assert_int_equal(m.n_invalid, 2);
	assert_non_null(m.status); /* the last STATUS= wins, even empty */
	assert_string_equal(m.status, "");
	assert_int_equal(m.watchdog_usec, -1);
	assert_int_equal(m.errnum, -1);
	notify_msg_clear(&m);

	m = parse_ok("");
	assert_false(m.ready);
	assert_null(m.status);
	m = parse_ok("READY=1"); /* no final newline */
	assert_true(m.ready);
	m = parse_ok("MAINPID=0\nMAINPID=99999999999999999999\nWATCHDOG_USEC=-5");
	assert_int_equal(m.n_invalid, 3);
}

static void parse_rejects(void **state)
{
	struct notify_msg m;
	char big[PS_NOTIFY_MSG_MAX + 2];

	memset(big, 'A', sizeof(big));
	memcpy(big, "STATUS=", 7);
	assert_int_equal(notify_parse(big, sizeof(big), &m), -EMSGSIZE);
	assert_int_equal(notify_parse(big, PS_NOTIFY_MSG_MAX, &m), 0);
	notify_msg_clear(&m);
	assert_int_equal(notify_parse("READY=1\0STATUS=x", 16, &m), -EBADMSG);
}

static void build_words(void **state)
{
	char *msg = NULL;
	const char *bad = NULL;
	size_t len;
	char *w1[] = { "ready", "status=up and running", "mainpid=7", "EXTEND_TIMEOUT_USEC=5" };

	assert_int_equal(ps_sd_notify_build(4, w1, &msg, &len, &bad), 0);
	assert_string_equal(msg, "READY=1\nSTATUS=up and running\nMAINPID=7\nEXTEND_TIMEOUT_USEC=5\n");
	assert_int_equal(len, strlen(msg));
	free(msg);
	char *w2[] = { "stopping", "watchdog", "reloading" };
	assert_int_equal(ps_sd_notify_build(3, w2, &msg, &len, &bad), 0);
	assert_string_equal(msg, "STOPPING=1\nWATCHDOG=1\nRELOADING=1\n");
	free(msg);
	char *w3[] = { "ready", "bogus" };
	assert_int_equal(ps_sd_notify_build(2, w3, &msg, &len, &bad), -EINVAL);
	assert_string_equal(bad, "bogus");
	char *w4[] = { "status=two\nlines" };
	assert_int_equal(ps_sd_notify_build(1, w4, &msg, &len, &bad), -EINVAL);
	assert_int_equal(ps_sd_notify_build(0, w4, &msg, &len, &bad), -EINVAL);
	char big[PS_NOTIFY_MSG_MAX + 8];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "status=", 7);
	char *w5[] = { big };
	assert_int_equal(ps_sd_notify_build(1, w5, &msg, &len, &bad), -E2BIG);
}

/* A scratch dir deeper than sun_path can name. */
struct deep {
	char root[64];
	int dirfd;
};

static int deep_setup(void **state)
{
	struct deep *d = calloc(1, sizeof(*d));
	char path[512];

	if (!d)
		return -1;
	snprintf(d->root, sizeof(d->root), "/tmp/podctl-notify.XXXXXX");
	assert_non_null(mkdtemp(d->root));
	snprintf(path, sizeof(path), "%s/%s/%s", d->root,
	         "a-rather-long-directory-name-to-push-the-socket-path-past-sun-path",
	         "apps-and-then-another-long-component-for-good-measure");
	assert_true(strlen(path) > 108);
	char *slash = strchr(path + strlen(d->root) + 1, '/');
	*slash = '\0';
	assert_int_equal(mkdir(path, 0700), 0);
	*slash = '/';
	assert_int_equal(mkdir(path, 0700), 0);
	d->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(d->dirfd >= 0);
	*state = d;
	return 0;
}

static int deep_teardown(void **state)
{
	struct deep *d = *state;
	close(d->dirfd);
	ps_rm_rf_at(AT_FDCWD, d->root);
	free(d);
	return 0;
}

static int recv_blocking(struct notify_sock *s, struct notify_msg *m, pid_t *pid)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	return notify_sock_receive(s, m, pid);
}

static void socket_roundtrip(void **state)
{
	struct deep *d = *state;
	struct notify_sock s;
	struct notify_msg m;
	char addr[64];
	pid_t pid = 0;
	struct stat st;

	assert_int_equal(notify_sock_open(d->dirfd, &s), 0);
	assert_int_equal(fstatat(d->dirfd, NOTIFY_SOCKET_NAME, &st, 0), 0);
	assert_true(S_ISSOCK(st.st_mode));
	/* A stale socket is replaced. */
	notify_sock_close(&s, -1);
	assert_int_equal(notify_sock_open(d->dirfd, &s), 0);
	assert_int_equal(notify_sock_set_pidns(&s, getpid()), 0);
	assert_int_equal(notify_sock_bind_source(d->dirfd, addr, sizeof(addr)), 0);
	assert_int_equal(notify_sock_receive(&s, &m, &pid), -EAGAIN);

	assert_int_equal(ps_sd_notify_send(addr, "READY=1\nSTATUS=hi", 17), 0);
	assert_int_equal(recv_blocking(&s, &m, &pid), 0);
	assert_true(m.ready);
	assert_string_equal(m.status, "hi");
	assert_int_equal(pid, getpid());
	notify_msg_clear(&m);

	/* Through $NOTIFY_SOCKET as a client sees it. */
	setenv("NOTIFY_SOCKET", addr, 1);
	assert_int_equal(ps_sd_notify_env("STOPPING=1"), 0);
	assert_int_equal(recv_blocking(&s, &m, &pid), 0);
	assert_true(m.stopping);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(ps_sd_notify_env("READY=1"), -ENXIO);
	assert_int_equal(s.accepted, 2);
	assert_int_equal(s.rejected, 0);

	/* Oversized datagrams are dropped and counted. */
	char big[PS_NOTIFY_MSG_MAX + 100];
	memset(big, 'x', sizeof(big));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", addr);
	assert_int_equal(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&sa, sizeof(sa)), sizeof(big));
	close(fd);
	assert_int_equal(recv_blocking(&s, &m, &pid), -EMSGSIZE);
	assert_int_equal(s.rejected, 1);

	notify_sock_close(&s, d->dirfd);
	assert_int_equal(fstatat(d->dirfd, NOTIFY_SOCKET_NAME, &st, 0), -1);
}

static void socket_sender_check(void **state)
{
	struct deep *d = *state;
	struct notify_sock s;
	struct notify_msg m;
	char addr[64];
	pid_t pid;
	int status;

	assert_int_equal(notify_sock_open(d->dirfd, &s), 0);
	assert_int_equal(notify_sock_bind_source(d->dirfd, addr, sizeof(addr)), 0);
	/* Pretend the app lives in another pid namespace than ours. */
	assert_int_equal(notify_sock_set_pidns(&s, getpid()), 0);
	s.pidns_ino ^= 1;

	/* A live sender outside it: ignored and counted. */
	assert_int_equal(ps_sd_notify_send(addr, "READY=1", 7), 0);
	assert_int_equal(recv_blocking(&s, &m, &pid), -EPERM);
	assert_int_equal(s.rejected, 1);

	/* The app runs: its mount ns (here: pretend another than ours). */
	assert_int_equal(notify_sock_set_mntns(&s, getpid()), 0);
	s.mntns_ino ^= 1;
	assert_int_equal(ps_sd_notify_send(addr, "READY=1", 7), 0);
	assert_int_equal(recv_blocking(&s, &m, &pid), -EPERM);
	assert_int_equal(s.rejected_sender, 2);
	/* ours: accepted */
	s.mntns_ino ^= 1;
	assert_int_equal(ps_sd_notify_send(addr, "READY=1", 7), 0);
	assert_int_equal(recv_blocking(&s, &m, &pid), 0);
	assert_true(m.ready);
	assert_int_equal(pid, getpid());
	assert_int_equal(s.accepted, 1);

	/* A sender that has exited cannot be checked: dropped, counted. */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(ps_sd_notify_send(addr, "READY=1", 7) == 0 ? 0 : 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(recv_blocking(&s, &m, &pid), -EPERM);
	assert_int_equal(s.rejected_sender, 3);

	/* One that waits for the barrier is alive when checked: accepted, and
	 * it returns once we have read (and closed) the barrier's fd. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(ps_sd_notify_send_wait(addr, "READY=1", 7, 10000) == 0 ? 0 : 1);
	assert_int_equal(recv_blocking(&s, &m, &pid), 0);
	assert_true(m.ready);
	assert_int_equal(pid, child);
	assert_int_equal(recv_blocking(&s, &m, &pid), 0); /* BARRIER=1: an unknown key */
	assert_int_equal(m.n_unknown, 1);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(s.accepted, 3);
	notify_sock_close(&s, d->dirfd);
}

static void abstract_address(void **state)
{
	char name[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[64];

	snprintf(name, sizeof(name), "@podctl-test-%d", (int)getpid());
	memcpy(sa.sun_path + 1, name + 1, strlen(name) - 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))), 0);
	assert_int_equal(ps_sd_notify_send(name, "READY=1\n", 8), 0);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 8);
	assert_memory_equal(buf, "READY=1\n", 8);
	close(fd);
	assert_int_equal(ps_sd_notify_send("relative", "READY=1", 7), -EINVAL);
	assert_int_equal(ps_sd_notify_send("", "READY=1", 7), -EINVAL);
	assert_int_equal(ps_sd_notify_send("/nonexistent/sock", "READY=1", 7), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_keys),
		cmocka_unit_test(parse_tolerant),
		cmocka_unit_test(parse_rejects),
		cmocka_unit_test(build_words),
		cmocka_unit_test_setup_teardown(socket_roundtrip, deep_setup, deep_teardown),
		cmocka_unit_test_setup_teardown(socket_sender_check, deep_setup, deep_teardown),
		cmocka_unit_test(abstract_address),
	};
	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
