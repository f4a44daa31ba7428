/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include <podstore/duration.h>
#include "util.h"

static const struct {
	const char *suffix;
	long long ms;
} units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
	{ "d", 24 * 60 * 60 * 1000 },
};

int ps_duration_parse(const char *s, long long *ret_ms, ps_error **err)
{
	long long total = 0;
	const char *p = s;

	if (!s || !*s)
		return ps_error_set(err, PS_ERR_INVALID, 0, "invalid duration \"\": empty");
	/* A bare number means seconds. */
	if (strspn(s, "0123456789") == strlen(s)) {
		if (strlen(s) > 12)
			return ps_error_set(err, PS_ERR_INVALID, 0, "invalid duration \"%s\": too large", s);
		*ret_ms = strtoll(s, NULL, 10) * 1000;
		return 0;
	}
	while (*p) {
		long long v = 0;
		size_t digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (v > (LLONG_MAX - 9) / 10)
				return ps_error_set(err, PS_ERR_INVALID, 0, "invalid duration \"%s\": too large", s);
			v = v * 10 + (*p++ - '0');
			digits++;
		}
		if (digits == 0)
			return ps_error_set(err, PS_ERR_INVALID, 0,
			                    "invalid duration \"%s\": expected a number (like 500ms, 10s, 30m, 2h)", s);
		long long unit = 0;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t n = strlen(units[i].suffix);
			if (strncmp(p, units[i].suffix, n) == 0 &&
			    !(n == 1 && units[i].suffix[0] == 'm' && p[1] == 's')) {
				unit = units[i].ms;
				p += n;
				break;
			}
		}
		if (!unit)
			return ps_error_set(err, PS_ERR_INVALID, 0,
			                    "invalid duration \"%s\": unknown unit (use ms, s, m, h, d)", s);
		if (v > (LLONG_MAX - total) / unit)
			return ps_error_set(err, PS_ERR_INVALID, 0, "invalid duration \"%s\": too large", s);
		total += v * unit;
	}
	*ret_ms = total;
	return 0;
}

void ps_duration_format(long long ms, char *buf, size_t len)
{
	size_t off = 0;

	if (ms <= 0) {
		snprintf(buf, len, "0s");
		return;
	}
	if (ms % 1000) {
		snprintf(buf, len, "%lldms", ms);
		return;
	}
	long long s = ms / 1000;
	buf[0] = '\0';
	if (s >= 3600) {
		off += (size_t)snprintf(buf + off, len - off, "%lldh", s / 3600);
		s %= 3600;
	}
	if (s >= 60 && off < len) {
		off += (size_t)snprintf(buf + off, len - off, "%lldm", s / 60);
		s %= 60;
	}
	if (s > 0 && off < len)
		snprintf(buf + off, len - off, "%llds", s);
}
