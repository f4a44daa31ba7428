/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One fd over a unix socket, both ends (fdpass.c). */
#include <fcntl.h>
#include <sys/socket.h>

#include "fixture.h"
#include "fdpass.h"
#include "util.h"

#include <dirent.h>

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void one_fd_with_data(void **state)
{
	int sp[2], p[2], got;
	char buf[8];
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(pipe2(p, 0), 0); /* not close-on-exec: the passed copy must be */
	assert_int_equal(ps_fd_recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT, &got), -EAGAIN);
	assert_int_equal(got, -1);
	assert_int_equal(ps_fd_send(sp[0], p[1], "ok\n", 3, 0), 0);
	assert_int_equal(ps_fd_recv(sp[1], buf, sizeof(buf), 0, &got), 3);
	assert_memory_equal(buf, "ok\n", 3);
	assert_true(got >= 0);
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	/* the same pipe */
	assert_int_equal(write(got, "x", 1), 1);
	assert_int_equal(read(p[0], buf, 1), 1);
	close(got);
	/* data without an fd: *ret_fd -1 */
	assert_int_equal(send(sp[0], "hi", 2, 0), 2);
	assert_int_equal(ps_fd_recv(sp[1], buf, sizeof(buf), 0, &got), 2);
	assert_int_equal(got, -1);
	/* the peer closed: 0, no fd */
	close(sp[0]);
	assert_int_equal(ps_fd_recv(sp[1], buf, sizeof(buf), 0, &got), 0);
	assert_int_equal(got, -1);
	/* nobody to send to: -EPIPE, not SIGPIPE */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	close(sp[1]);
	assert_int_equal(ps_fd_send(sp[0], p[1], "F", 1, 0), -EPIPE);
	close(sp[0]);
	close(p[0]);
	close(p[1]);
}

/* A peer that passes several fds at once: the first is ours, the others
 * are closed, not leaked into the receiver. */
static void extra_fds_closed(void **state)
{
	int sp[2], p[2], q[2], got;
	char buf[4], byte = 'F';
	(void)state;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(q, O_CLOEXEC), 0);
	union {
		char buf[CMSG_SPACE(sizeof(int) * 2)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
		             .msg_controllen = sizeof(u.buf) };
	memset(&u, 0, sizeof(u));
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * 2);
	int two[2] = { p[1], q[1] };
	memcpy(CMSG_DATA(c), two, sizeof(two));
	assert_int_equal(sendmsg(sp[0], &mh, 0), 1);
	int before = open_fds();
	assert_int_equal(ps_fd_recv(sp[1], buf, sizeof(buf), 0, &got), 1);
	assert_true(got >= 0);
	assert_int_equal(open_fds(), before + 1);
	close(got);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(sp[0]);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_fd_with_data),
		cmocka_unit_test(extra_fds_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
