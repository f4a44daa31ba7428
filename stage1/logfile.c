/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An app's log file, apps/<name>/log, as stage1 writes it: what the app
 * wrote (from its pipe, main.c's log drain, or from its pty while nobody is
 * attached, tty.c), each line stamped with the time it was read (applog.h),
 * the file rotated to log.1 before it would pass the app's "logSize"
 * (default PS_APP_LOG_ROTATE_BYTES; podstore/app.h), so at most twice that
 * per app.
 */
#include "applog.h"
#include "stage1.h"
#include "util.h"

int app_log_open(struct app *a)
{
	int fd = ps_app_log_open_append(a->dirfd, &a->log_size);
	a->log_fd = fd < 0 ? -1 : fd;
	if (fd >= 0 && a->log_size == 0)
		a->log_bol = true; /* every file starts with a stamp */
	return fd < 0 ? fd : 0;
}

void app_log_append(struct app *a, const char *buf, size_t n)
{
	long long limit = a->m->log_size ? a->m->log_size : PS_APP_LOG_ROTATE_BYTES, now = ps_now_ns();

	for (size_t off = 0; off < n && a->log_fd >= 0;) {
		size_t used = 0;
		long long w = 0;
		/* A file never grows past the limit: rotate when the next
		 * stamped byte would not fit; a line cut there goes on in
		 * the new file, stamped again. */
		if (a->log_size + PS_APPLOG_STAMP_LEN + 1 > limit) {
			close(a->log_fd);
			a->log_fd = -1;
			ps_app_log_rotate(a->dirfd);
			if (app_log_open(a) < 0)
				return;
		}
		if (ps_applog_write(a->log_fd, &a->log_bol, now, buf + off, n - off, limit - a->log_size,
		                    &used, &w) < 0)
			return; /* a full disk: this output is lost, the next is tried */
		a->log_size += w;
		off += used;
		if (!used)
			return; /* cannot happen with room for a stamp and a byte */
	}
}
