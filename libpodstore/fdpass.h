/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_FDPASS_H
#define PODSTORE_FDPASS_H

/* One fd over a unix socket (SCM_RIGHTS), both ends: the control socket's
 * "attach" reply (control.c), stage1's pty masters (stage1/tty.c) and
 * podctl-oci's console socket.
 * Internal, not installed. Both return -errno on failure and print nothing. */

#include <stddef.h>
#include <sys/types.h>

/* Send len bytes of data (len >= 1: a stream or seqpacket peer must read
 * something) with fd attached; MSG_NOSIGNAL | flags (e.g. MSG_DONTWAIT),
 * retried on EINTR. 0, or -errno. */
int ps_fd_send(int sock, int fd, const void *data, size_t len, int flags);

/* Receive one message: at most len bytes into buf, and the first fd passed
 * with it into *ret_fd, close-on-exec (-1 when none came; any further fds
 * are closed). MSG_CMSG_CLOEXEC | flags, retried on EINTR. Returns the
 * number of bytes (0: the peer closed, when no fd came either), or -errno
 * with *ret_fd -1. */
ssize_t ps_fd_recv(int sock, void *buf, size_t len, int flags, int *ret_fd);

#endif
