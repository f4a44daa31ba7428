/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_APPLOG_H
#define PODSTORE_APPLOG_H

/*
 * The lines of apps/<app>/log and log.1 (podstore/app.h): stage1 writes
 * each line of the app's output after a stamp of when its first byte was
 * read, "2026-12-02T09:00:00.123456789Z " (RFC 3339, UTC, nanoseconds, one
 * space: PS_APPLOG_STAMP_LEN bytes); every file starts with a stamp, so a
 * line cut by rotation carries one on both sides. This module is the only
 * writer (stage1) and the only parser (podctl logs) of that form. A line
 * without a stamp (a log of an older stage1) is passed on as it is, with
 * no time.
 * Internal (stage1 and the CLI link the static library).
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PS_APPLOG_STAMP_LEN 31

/* Append buf to the log fd, stamping with now_ns each line that starts in
 * it, writing at most max_out bytes (stamps included): the lines that fit,
 * then what fits of the next one (its rest goes to the next file, stamped
 * again there). *bol says whether the file is at the start of a line (true
 * for an empty file) and is updated; *ret_used gets the bytes of buf
 * written, *ret_written the bytes written to fd. A call with max_out >
 * PS_APPLOG_STAMP_LEN and n > 0 uses at least one byte. Returns 0 or -errno. */
int ps_applog_write(int fd, bool *bol, long long now_ns, const char *buf, size_t n, long long max_out,
                    size_t *ret_used, long long *ret_written);

/* A streaming parser of one log file: feed it what was read, in order,
 * from offset 0 (or from a line start, with ps_applog_parser_init(p, off)). */
typedef struct ps_applog_parser {
	/* called at each line's start: its time (-1 when it has no stamp) and
	 * the offset of its stamp in the file */
	void (*line)(long long ts_ns, off_t offset, void *userdata);
	/* called with the line's bytes, in pieces, the '\n' included */
	void (*data)(const char *s, size_t n, void *userdata);
	void *userdata;
	/* state */
	off_t offset;
	int state;
	size_t stamp_len;
	char stamp[PS_APPLOG_STAMP_LEN];
} ps_applog_parser;

void ps_applog_parser_init(ps_applog_parser *p, off_t offset);
void ps_applog_parser_feed(ps_applog_parser *p, const char *buf, size_t n);
/* End of the file: a stamp cut short is passed on as data. */
void ps_applog_parser_flush(ps_applog_parser *p);

/* Parse exactly the PS_APPLOG_STAMP_LEN bytes of a stamp; -EINVAL if s is
 * not one. */
int ps_applog_stamp_parse(const char *s, long long *ret_ns);

/* The files of such a log, name and its rotated part old, in dirfd (an
 * app's dir: PS_FILE_APP_LOG; the pod dir: PS_FILE_STAGE1_LOG; podstore/app.h),
 * never through a symlink. Open name for appending (created 0640), its size
 * in *ret_size; rename name to old; open one read-only. The fd or 0, or
 * -errno (-ENOENT: there is none). */
int ps_applog_open_append(int dirfd, const char *name, long long *ret_size);
int ps_applog_rotate(int dirfd, const char *name, const char *old);
int ps_applog_open_read(int dirfd, const char *name);

#endif
