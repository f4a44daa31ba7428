/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Quantities: memory sizes and CPUs as Kubernetes manifests and Docker's
 * command line write them. Exact arithmetic on 128-bit integers: a decimal
 * fraction is kept as digits and a power of ten, never as a double, so
 * "0.1Gi" is the same number of bytes whatever the libc's rounding.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <podstore/quantity.h>

typedef __int128 i128;

/* A decimal number: mant × 10^exp10, with mant and exp10 in range. */
struct decimal {
	i128 mant;
	int exp10;
};

/* Digits, an optional fraction. Returns the end of the number, or NULL. */
static const char *parse_decimal(const char *s, struct decimal *d)
{
	int digits = 0, frac = 0;
	bool dot = false;

	d->mant = 0;
	d->exp10 = 0;
	for (;; s++) {
		if (*s >= '0' && *s <= '9') {
			if (d->mant == 0 && *s == '0' && !dot) {
				/* a leading zero adds nothing */
			} else if (++digits > 30) {
				return NULL; /* more precision than any quantity needs */
			}
			d->mant = d->mant * 10 + (*s - '0');
			if (dot)
				frac++;
		} else if (*s == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	/* "5", "5.5", "0.5"; not "", ".", ".5" nor "5." */
	if (s[-1] == '.' || (dot && frac == 0))
		return NULL;
	if (frac == 0 && digits == 0 && d->mant == 0) {
		/* only zeros: fine if there was at least one */
	}
	d->exp10 = -frac;
	return s;
}

/* mant × mult × 10^exp10 rounded up to an integer; -ERANGE past LLONG_MAX. */
static int decimal_scale(const struct decimal *d, long long mult, long long *ret)
{
	i128 v = d->mant * mult;
	int e = d->exp10;

	for (; e > 0; e--) {
		v *= 10;
		if (v > LLONG_MAX)
			return -ERANGE;
	}
	if (e < 0) {
		i128 div = 1;
		for (; e < 0; e++) {
			if (div > (i128)LLONG_MAX * 1000)
				break; /* whatever is left rounds up to 1 or 0 */
			div *= 10;
		}
		v = (v + div - 1) / div;
	}
	if (v > LLONG_MAX)
		return -ERANGE;
	*ret = (long long)v;
	return 0;
}

static bool starts_number(const char *s)
{
	return s && *s >= '0' && *s <= '9';
}

int ps_quantity_parse_bytes(const char *s, long long *ret)
{
	static const struct {
		const char *suffix;
		long long mult;
	} units[] = {
		{ "", 1 },
		{ "Ki", 1LL << 10 }, { "Mi", 1LL << 20 }, { "Gi", 1LL << 30 },
		{ "Ti", 1LL << 40 }, { "Pi", 1LL << 50 }, { "Ei", 1LL << 60 },
		{ "k", 1000LL }, { "M", 1000000LL }, { "G", 1000000000LL },
		{ "T", 1000000000000LL }, { "P", 1000000000000000LL }, { "E", 1000000000000000000LL },
	};
	struct decimal d;

	if (!starts_number(s))
		return -EINVAL;
	const char *end = parse_decimal(s, &d);
	if (!end)
		return -EINVAL;
	/* An exponent: "1e6", "5e-1" (lowercase, as "E" alone is exa). */
	if (*end == 'e' && (end[1] == '-' || end[1] == '+' || (end[1] >= '0' && end[1] <= '9'))) {
		const char *p = end + 1;
		bool neg = *p == '-';
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return -EINVAL;
		int e = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			e = e * 10 + (*p - '0');
			if (e > 40)
				return neg ? -EINVAL : -ERANGE;
		}
		if (*p)
			return -EINVAL;
		d.exp10 += neg ? -e : e;
		return decimal_scale(&d, 1, ret);
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].suffix) == 0)
			return decimal_scale(&d, units[i].mult, ret);
	return -EINVAL; /* "m" (milli), "MB", "mi", spaces, signs… */
}

int ps_size_parse_docker(const char *s, long long *ret)
{
	struct decimal d;
	long long mult = 1;

	if (!starts_number(s))
		return -EINVAL;
	const char *end = parse_decimal(s, &d);
	if (!end)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mult = 1LL << 10; end++; break;
	case 'm': case 'M': mult = 1LL << 20; end++; break;
	case 'g': case 'G': mult = 1LL << 30; end++; break;
	case 't': case 'T': mult = 1LL << 40; end++; break;
	case 'p': case 'P': mult = 1LL << 50; end++; break;
	default: break;
	}
	/* "64m", "64mb", "64MiB", "100b" */
	if (mult > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	return decimal_scale(&d, mult, ret);
}

int ps_cpu_parse_millis(const char *s, long long *ret)
{
	struct decimal d;
	long long v;
	int r;

	if (!starts_number(s))
		return -EINVAL;
	const char *end = parse_decimal(s, &d);
	if (!end)
		return -EINVAL;
	if (strcmp(end, "m") == 0) {
		if (d.exp10 != 0)
			return -EINVAL; /* "1.5m": less than a millicpu */
		r = decimal_scale(&d, 1, &v);
	} else if (*end == '\0') {
		if (d.exp10 < -3)
			return -EINVAL; /* finer than a millicpu */
		r = decimal_scale(&d, 1000, &v);
	} else {
		return -EINVAL;
	}
	if (r < 0)
		return r;
	if (v <= 0)
		return -EINVAL;
	if (v > 1000LL * 1000000) /* a million CPUs */
		return -ERANGE;
	*ret = v;
	return 0;
}
