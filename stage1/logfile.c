/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A log file as stage1 writes it (stage1.h "logfile.c"): an app's
 * apps/<name>/log (what the app wrote, from its pipe in main.c's log drain
 * or from its pty while nobody is attached, tty.c) and the pod's stage1.log
 * (what a detached stage1 says itself, log.c). Each line is stamped with
 * the time it was read (applog.h); the file is rotated to its ".1" before it
 * would pass its limit (an app's "logSize", default PS_APP_LOG_ROTATE_BYTES;
 * PS_STAGE1_LOG_ROTATE_BYTES; podstore/app.h), so at most twice that.
 */
#include "applog.h"
#include "stage1.h"
#include "util.h"

int logfile_open(struct logfile *l)
{
	int fd = ps_applog_open_append(l->dirfd, l->name, &l->size);
	l->fd = fd < 0 ? -1 : fd;
	if (fd >= 0 && l->size == 0)
		l->bol = true; /* every file starts with a stamp */
	return fd < 0 ? fd : 0;
}

void logfile_close(struct logfile *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

void logfile_append(struct logfile *l, const char *buf, size_t n)
{
	long long now = ps_now_ns();

	for (size_t off = 0; off < n && l->fd >= 0;) {
		size_t used = 0;
		long long w = 0;
		/* A file never grows past the limit: rotate when the next
		 * stamped byte would not fit; a line cut there goes on in
		 * the new file, stamped again. */
		if (l->size + PS_APPLOG_STAMP_LEN + 1 > l->limit) {
			logfile_close(l);
			ps_applog_rotate(l->dirfd, l->name, l->old);
			if (logfile_open(l) < 0)
				return;
		}
		if (ps_applog_write(l->fd, &l->bol, now, buf + off, n - off, l->limit - l->size, &used, &w) < 0)
			return; /* a full disk: this output is lost, the next is tried */
		l->size += w;
		off += used;
		if (!used)
			return; /* cannot happen with room for a stamp and a byte */
	}
}
