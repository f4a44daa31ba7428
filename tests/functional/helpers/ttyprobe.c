/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ttyprobe: what an app can do to the terminals it holds. Built static by
 * tests/functional/test-tty.sh and copied into a busybox rootfs.
 *
 *   ttyprobe sti TEXT   TIOCSTI TEXT (and a newline) into every fd 0-2 that is
 *                       a terminal; prints "fd N: ok" or "fd N: ERRNO" for each
 *   ttyprobe fds        for fds 0-9: "fd N: tty PATH" or "fd N: not a tty"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "sti") == 0) {
		for (int fd = 0; fd < 3; fd++) {
			if (!isatty(fd))
				continue;
			int ok = 1;
			for (const char *c = argv[2]; *c && ok; c++)
				ok = ioctl(fd, TIOCSTI, c) == 0;
			ok = ok && ioctl(fd, TIOCSTI, "\n") == 0;
			printf("fd %d: %s\n", fd, ok ? "ok" : strerrorname_np(errno));
		}
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "fds") == 0) {
		for (int fd = 0; fd < 10; fd++) {
			char *n = isatty(fd) ? ttyname(fd) : NULL;
			if (isatty(fd))
				printf("fd %d: tty %s\n", fd, n ? n : "?");
			else
				printf("fd %d: not a tty\n", fd);
		}
		return 0;
	}
	fprintf(stderr, "usage: ttyprobe sti TEXT | fds\n");
	return 2;
}
