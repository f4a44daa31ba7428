/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stamped lines of an app's log (applog.c): what stage1 writes, what
 * podctl logs reads back, lines cut across writes and reads. */
#include <errno.h>
#include <sys/mman.h>

#include "fixture.h"
#include "applog.h"
#include "util.h"

#define T0 1796202000123456789LL /* 2026-12-02T09:00:00.123456789Z */
#define S0 "2026-12-02T09:00:00.123456789Z "
#define T1 (T0 + 1000000000LL)
#define S1 "2026-12-02T09:00:01.123456789Z "

struct seen {
	char data[512];
	size_t len;
	long long ts[16];
	off_t off[16];
	int n;
};

static void on_line(long long ts, off_t off, void *u)
{
	struct seen *s = u;
	assert_true(s->n < 16);
	s->ts[s->n] = ts;
	s->off[s->n++] = off;
}

static void on_data(const char *d, size_t n, void *u)
{
	struct seen *s = u;
	assert_true(s->len + n < sizeof(s->data));
	memcpy(s->data + s->len, d, n);
	s->len += n;
}

static char *read_back(int fd)
{
	static char buf[1024];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static void write_stamps_lines(void **state)
{
	(void)state;
	int fd = memfd_create("log", MFD_CLOEXEC);
	bool bol = true;
	long long w = 0;
	size_t used = 0;

	assert_true(fd >= 0);
	/* a line cut by the app: its stamp is the time of its start */
	assert_int_equal(ps_applog_write(fd, &bol, T0, "one\ntw", 6, 1 << 20, &used, &w), 0);
	assert_int_equal(w, 6 + 2 * (PS_APPLOG_STAMP_LEN));
	assert_int_equal(used, 6);
	assert_false(bol);
	assert_int_equal(ps_applog_write(fd, &bol, T1, "o\nthree\n", 8, 1 << 20, &used, &w), 0);
	assert_true(bol);
	assert_string_equal(read_back(fd), S0 "one\n" S0 "two\n" S1 "three\n");
	close(fd);
}

static void write_stops_at_max(void **state)
{
	(void)state;
	int fd = memfd_create("log", MFD_CLOEXEC);
	bool bol = true;
	long long w = 0;
	size_t used = 0;

	assert_true(fd >= 0);
	/* room for "one\n" and 3 bytes of the next line, stamps included */
	assert_int_equal(ps_applog_write(fd, &bol, T0, "one\nlonger\n", 11, 2 * PS_APPLOG_STAMP_LEN + 7, &used, &w), 0);
	assert_int_equal(used, 7);
	assert_int_equal(w, 2 * PS_APPLOG_STAMP_LEN + 7);
	assert_false(bol);
	assert_string_equal(read_back(fd), S0 "one\n" S0 "lon");
	/* no room for a stamp and a byte: nothing */
	bol = true;
	assert_int_equal(ps_applog_write(fd, &bol, T0, "x\n", 2, PS_APPLOG_STAMP_LEN, &used, &w), 0);
	assert_int_equal(used, 0);
	assert_int_equal(w, 0);
	close(fd);
}

static void parse_lines_and_pieces(void **state)
{
	(void)state;
	const char log[] = S0 "one\n" S1 "two\nno stamp\n" S1 "cut";
	struct seen whole = { 0 }, bytes = { 0 };
	ps_applog_parser p = { .line = on_line, .data = on_data, .userdata = &whole };

	ps_applog_parser_init(&p, 0);
	ps_applog_parser_feed(&p, log, sizeof(log) - 1);
	ps_applog_parser_flush(&p);
	assert_int_equal(whole.n, 4);
	assert_true(whole.ts[0] == T0 && whole.ts[1] == T1 && whole.ts[2] == -1 && whole.ts[3] == T1);
	assert_int_equal(whole.off[0], 0);
	assert_int_equal(whole.off[1], PS_APPLOG_STAMP_LEN + 4);
	assert_int_equal(whole.off[2], 2 * PS_APPLOG_STAMP_LEN + 8);
	whole.data[whole.len] = '\0';
	assert_string_equal(whole.data, "one\ntwo\nno stamp\ncut");

	/* byte by byte: the same */
	p.userdata = &bytes;
	ps_applog_parser_init(&p, 0);
	for (size_t i = 0; i < sizeof(log) - 1; i++)
		ps_applog_parser_feed(&p, log + i, 1);
	ps_applog_parser_flush(&p);
	assert_int_equal(bytes.n, whole.n);
	assert_memory_equal(bytes.ts, whole.ts, sizeof(whole.ts[0]) * 4);
	assert_memory_equal(bytes.off, whole.off, sizeof(whole.off[0]) * 4);
	assert_int_equal(bytes.len, whole.len);
}

static void stamp_parse(void **state)
{
	(void)state;
	long long ns;

	assert_int_equal(ps_applog_stamp_parse(S0, &ns), 0);
	assert_true(ns == T0);
	assert_int_equal(ps_applog_stamp_parse("2026-12-02T09:00:00.123456789Zx", &ns), -EINVAL);
	assert_int_equal(ps_applog_stamp_parse("2026-12-02 09:00:00.123456789Z ", &ns), -EINVAL);
	/* outside what nanoseconds since 1970 in a long long can hold */
	assert_int_equal(ps_applog_stamp_parse("2926-12-02T09:00:00.123456789Z ", &ns), -EINVAL);
	assert_int_equal(ps_applog_stamp_parse("1947-12-02T09:00:00.123456789Z ", &ns), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(write_stamps_lines),
		cmocka_unit_test(write_stops_at_max),
		cmocka_unit_test(parse_lines_and_pieces),
		cmocka_unit_test(stamp_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
