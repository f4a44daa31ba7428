/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stage1/tty.c's plumbing: the detach keys, a pty of a given ptmx, fd passing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../../stage1/tty.h"
#include <cmocka.h>

static void keys(const char *in, size_t n, int *st, const char *want, size_t wn, bool det)
{
	char buf[64];
	size_t len = n;

	memcpy(buf, in, n);
	assert_int_equal(console_detach_keys(st, buf, &len), det);
	assert_int_equal(len, wn);
	assert_memory_equal(buf, want, wn);
}

static void detach_keys(void **state)
{
	int st = 0;
	(void)state;

	keys("abc", 3, &st, "abc", 3, false);
	keys("ab\x10\x11zz", 6, &st, "ab", 2, true);
	st = 0;
	/* split across reads */
	keys("x\x10", 2, &st, "x", 1, false);
	assert_int_equal(st, 1);
	keys("\x11", 1, &st, "", 0, true);
	st = 0;
	/* ctrl-p then something else: both go on */
	keys("\x10y", 2, &st, "\x10y", 2, false);
	keys("\x10", 1, &st, "", 0, false);
	keys("q", 1, &st, "\x10q", 2, false); /* (the buffer had room: ctrl-p was held) */
	st = 0;
	keys("\x10\x10\x11", 3, &st, "\x10", 1, true);
}

static void pty_and_pass(void **state)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 99 }, got;
	int m, s, sp[2];
	(void)state;

	if (pty_open("/dev/ptmx", &ws, &m, &s) < 0)
		skip();
	assert_int_equal(ioctl(s, TIOCGWINSZ, &got), 0);
	assert_int_equal(got.ws_row, 33);
	assert_int_equal(got.ws_col, 99);
	assert_true(fcntl(m, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(s, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(pty_open("/nonexistent/ptmx", NULL, &m, &s) < 0, true);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(fd_recv(sp[1], true), -EAGAIN);
	assert_int_equal(fd_send(sp[0], m), 0);
	int r = fd_recv(sp[1], true);
	assert_true(r >= 0);
	/* the same pty: writing to the passed master reaches the slave */
	assert_int_equal(write(r, "hi\n", 3), 3);
	char b[8];
	assert_true(read(s, b, sizeof(b)) >= 2);
	assert_memory_equal(b, "hi", 2);
	close(r);
	close(m);
	close(s);
	close(sp[0]);
	assert_int_equal(fd_recv(sp[1], true), -ECONNRESET);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(detach_keys),
		cmocka_unit_test(pty_and_pass),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
