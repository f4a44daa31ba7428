/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for the stamped lines of an app's log (libpodstore/applog.c):
 * podctl logs parses files whose bytes are the app's, and a log of an
 * older stage1 has no stamps at all. Whatever the file:
 *  - fed in one piece or cut anywhere, the parser reports the same lines
 *    (offsets, times) and the same bytes;
 *  - line offsets grow and every byte is either a stamp or reported data;
 *  - the input written through ps_applog_write() (as stage1 does, rotating
 *    files at a size limit) parses back to exactly the input, each line
 *    with the writer's time, and no file passes the limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "applog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
	char *data;
	size_t len, cap;
	long long ts[4096];
	off_t off[4096];
	size_t n_lines;
	size_t stamped; /* lines with a time */
	bool in_file;   /* a line of the current file was seen */
	off_t last;     /* its offset */
};

static void on_line(long long ts, off_t offset, void *userdata)
{
	struct rec *r = userdata;
	if (r->in_file && offset <= r->last)
		abort();
	r->in_file = true;
	r->last = offset;
	if (r->n_lines < 4096) {
		r->ts[r->n_lines] = ts;
		r->off[r->n_lines] = offset;
	}
	r->n_lines++;
	if (ts >= 0)
		r->stamped++;
}

static void on_data(const char *s, size_t n, void *userdata)
{
	struct rec *r = userdata;
	if (r->len + n > r->cap) {
		r->cap = (r->len + n) * 2;
		r->data = realloc(r->data, r->cap);
		if (!r->data)
			abort();
	}
	memcpy(r->data + r->len, s, n);
	r->len += n;
}

static void parse(const uint8_t *data, size_t size, size_t cut, struct rec *r)
{
	ps_applog_parser p = { .line = on_line, .data = on_data, .userdata = r };
	ps_applog_parser_init(&p, 0);
	r->in_file = false;
	if (cut > size)
		cut = size;
	/* in pieces of cut bytes (0: one piece) */
	for (size_t at = 0; at < size;) {
		size_t n = cut ? cut : size;
		if (n > size - at)
			n = size - at;
		ps_applog_parser_feed(&p, (const char *)data + at, n);
		at += n;
	}
	ps_applog_parser_flush(&p);
}

static void check_same(const struct rec *a, const struct rec *b)
{
	if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len)) || a->n_lines != b->n_lines ||
	    a->stamped != b->stamped)
		abort();
	for (size_t i = 0; i < a->n_lines && i < 4096; i++)
		if (a->ts[i] != b->ts[i] || a->off[i] != b->off[i])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec whole = { 0 }, cut1 = { 0 }, cut7 = { 0 };

	parse(data, size, 0, &whole);
	parse(data, size, 1, &cut1);
	parse(data, size, 7, &cut7);
	check_same(&whole, &cut1);
	check_same(&whole, &cut7);
	/* every byte is data or one of the stamps */
	if (whole.len + whole.stamped * PS_APPLOG_STAMP_LEN != size)
		abort();

	/* round trip through the writer, as stage1 writes: in two reads cut
	 * at the middle, into files of at most max bytes (max from the first
	 * byte: 32 to 287), each a new one when the next stamp and byte do not
	 * fit. The files' data, in order, is the input; every line has the
	 * writer's time. */
	const long long now = 1796202000123456789LL;
	const long long max = PS_APPLOG_STAMP_LEN + 1 + (size ? data[0] : 64);
	struct rec back = { 0 };
	int fd = -1;
	long long fsize = 0;
	bool bol = true;
	for (int half = 0; half < 2; half++) {
		size_t from = half ? size / 2 : 0, to = half ? size : size / 2;
		while (from < to) {
			if (fd < 0 || fsize + PS_APPLOG_STAMP_LEN + 1 > max) {
				if (fd >= 0) {
					uint8_t *buf = malloc((size_t)fsize + 1);
					if (!buf || pread(fd, buf, (size_t)fsize, 0) != fsize)
						abort();
					parse(buf, (size_t)fsize, 0, &back);
					free(buf);
					close(fd);
				}
				fd = memfd_create("applog", MFD_CLOEXEC);
				if (fd < 0)
					abort();
				fsize = 0;
				bol = true;
			}
			size_t used = 0;
			long long w = 0;
			if (ps_applog_write(fd, &bol, now, (const char *)data + from, to - from, max - fsize, &used, &w) < 0 ||
			    used == 0 || w > max - fsize)
				abort();
			fsize += w;
			from += used;
			if (lseek(fd, 0, SEEK_CUR) != fsize)
				abort();
		}
	}
	if (fd >= 0) {
		uint8_t *buf = malloc((size_t)fsize + 1);
		if (!buf || pread(fd, buf, (size_t)fsize, 0) != fsize)
			abort();
		parse(buf, (size_t)fsize, 0, &back);
		free(buf);
		close(fd);
	}
	if (back.len != size || (size && memcmp(back.data, data, size)) || back.stamped != back.n_lines)
		abort();
	for (size_t i = 0; i < back.n_lines && i < 4096; i++)
		if (back.ts[i] != now)
			abort();
	free(back.data);
	free(whole.data);
	free(cut1.data);
	free(cut7.data);
	return 0;
}
