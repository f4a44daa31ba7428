/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* uuids, prefixes and durations. */
#include <time.h>
#include "fixture.h"
#include <fcntl.h>
#include <sys/stat.h>

#include "util.h"

static void uuid_generate_is_valid_v4(void **state)
{
	char a[PS_UUID_LEN + 1], b[PS_UUID_LEN + 1];

	ps_uuid_generate(a);
	ps_uuid_generate(b);
	assert_true(ps_uuid_is_valid(a));
	assert_string_not_equal(a, b);
	assert_int_equal(a[14], '4'); /* version nibble */
}

static void uuid_validation(void **state)
{
	assert_true(ps_uuid_is_valid("3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab"));
	assert_false(ps_uuid_is_valid("3F2A0C1E-9B7D-4C2A-8E1F-0123456789AB")); /* upper case */
	assert_false(ps_uuid_is_valid("3f2a0c1e-9b7d-4c2a-8e1f-0123456789a"));
	assert_false(ps_uuid_is_valid("3f2a0c1e99b7d-4c2a-8e1f-0123456789ab"));
	assert_false(ps_uuid_is_valid("../../../etc/passwd-xxxxxxxxxxxxxxxx"));
	assert_false(ps_uuid_is_valid(""));
	assert_true(ps_uuid_prefix_is_valid("3f"));
	assert_true(ps_uuid_prefix_is_valid("3f2a0c1e-9b"));
	assert_false(ps_uuid_prefix_is_valid(""));
	assert_false(ps_uuid_prefix_is_valid("3f2a-"));   /* dash in the wrong place */
	assert_false(ps_uuid_prefix_is_valid("../x"));
	assert_false(ps_uuid_prefix_is_valid("zz"));
	assert_false(ps_uuid_prefix_is_valid("3f2a0c1e-9b7d-4c2a-8e1f-0123456789abc"));
}

static void prefix_lookup(void **state)
{
	struct fx *f = *state;
	ps_error *err = NULL;
	ps_pod *p = NULL;
	const char *a = "aaaa1111-0000-4000-8000-000000000001";
	const char *b = "aaaa2222-0000-4000-8000-000000000002";

	assert_int_equal(mkdirat(ps_store_dir_fd(f->store, PS_DIR_PREPARED), a, 0700), 0);
	assert_int_equal(mkdirat(ps_store_dir_fd(f->store, PS_DIR_RUN), b, 0700), 0);

	assert_int_equal(ps_pod_lookup(f->store, "aaaa1", &p, &err), 0);
	assert_string_equal(p->uuid, a);
	assert_int_equal(p->state, PS_STATE_PREPARED);
	ps_pod_free(p);

	assert_int_equal(ps_pod_lookup(f->store, b, &p, &err), 0);
	assert_int_equal(p->state, PS_STATE_EXITED);
	ps_pod_free(p);

	assert_true(ps_pod_lookup(f->store, "aaaa", &p, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_AMBIGUOUS);
	assert_non_null(strstr(err->msg, a));
	assert_non_null(strstr(err->msg, b));
	ps_error_free(&err);

	assert_true(ps_pod_lookup(f->store, "bbbb", &p, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);

	assert_true(ps_pod_lookup(f->store, "../prepared", &p, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
}

static void duration_parse_good(void **state)
{
	static const struct {
		const char *s;
		long long ms;
	} good[] = {
		{ "500ms", 500 }, { "10s", 10000 }, { "30m", 1800000 }, { "2h", 7200000 },
		{ "1h30m", 5400000 }, { "0", 0 }, { "15", 15000 }, { "1d", 86400000 },
		{ "1m500ms", 60500 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		long long ms = -1;
		ps_error *err = NULL;
		assert_int_equal(ps_duration_parse(good[i].s, &ms, &err), 0);
		assert_int_equal(ms, good[i].ms);
		assert_null(err);
	}
}

static void duration_parse_bad(void **state)
{
	static const char *const bad[] = { "", "-1s", "10x", "s", "1.5s", "10 s", "99999999999999999999h", "1hh" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		long long ms = 42;
		ps_error *err = NULL;
		assert_true(ps_duration_parse(bad[i], &ms, &err) < 0);
		assert_non_null(err);
		assert_int_equal(err->kind, PS_ERR_INVALID);
		assert_non_null(strstr(err->msg, "duration"));
		assert_int_equal(ms, 42); /* untouched on failure */
		ps_error_free(&err);
	}
}

static void duration_format(void **state)
{
	char buf[32];

	ps_duration_format(5400000, buf, sizeof(buf));
	assert_string_equal(buf, "1h30m");
	ps_duration_format(500, buf, sizeof(buf));
	assert_string_equal(buf, "500ms");
	ps_duration_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
}

static void time_round_trip(void **state)
{
	char buf[64];
	long long ns = 1764080000123456789LL, back = 0;

	ps_format_time(ns, buf, sizeof(buf));
	assert_string_equal(buf, "2025-11-25T14:13:20.123456789Z");
	assert_int_equal(ps_parse_time(buf, &back), 0);
	assert_int_equal(back, ns);
	assert_true(ps_parse_time("yesterday", &back) < 0);
}

/* ps_format_time() computes the date itself (no gmtime_r, which loads the
 * local time zone): the same as gmtime_r's over leap years, centuries,
 * month ends and before 1970. */
static void check_against_gmtime(long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char want[64], got[64];

	gmtime_r(&tt, &tm);
	snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.000000007Z", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	ps_format_time(t * 1000000000LL + 7, got, sizeof(got));
	assert_string_equal(got, want);
	/* and back, without timegm (which loads the time zone as well) */
	long long back;
	assert_int_equal(ps_parse_time(want, &back), 0);
	assert_int_equal(back, t * 1000000000LL + 7);
	/* a leap second as strptime takes it: timegm's next minute */
	if (tm.tm_sec == 59) {
		char leap[64];
		snprintf(leap, sizeof(leap), "%.17s60Z", want);
		assert_int_equal(ps_parse_time(leap, &back), 0);
		assert_int_equal(back, (t + 1) * 1000000000LL);
	}
}

static void time_format_matches_gmtime(void **state)
{
	static const long long secs[] = { 0, -1, 59, 86399, 86400, 951782400 /* 2000-02-29 */,
		                          951868799, 4107542399LL /* 2100-02-28T23:59:59 */,
		                          4107542400LL, -2208988800LL /* 1900-01-01 */, 9214646399LL /* 2261-12-31T23:59:59 */,
		                          1764080000, 1709164800 /* 2024-02-29 */ };
	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		check_against_gmtime(secs[i]);
	/* 1700 to 2260 (what nanoseconds in a long long reach), in steps of
	 * 37 days, an hour and 7 s */
	for (long long t = -8520336000LL; t < 9183110400LL; t += 86400LL * 37 + 3607)
		check_against_gmtime(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uuid_generate_is_valid_v4),
		cmocka_unit_test(uuid_validation),
		cmocka_unit_test_setup_teardown(prefix_lookup, fx_setup, fx_teardown),
		cmocka_unit_test(duration_parse_good),
		cmocka_unit_test(duration_parse_bad),
		cmocka_unit_test(duration_format),
		cmocka_unit_test(time_round_trip),
		cmocka_unit_test(time_format_matches_gmtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
