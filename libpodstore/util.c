/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

char *ps_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? NULL : s;
}

int ps_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ps_read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
	size_t cap = 512, len = 0;
	_cleanup_free_ char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max)
				return -EFBIG;
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

static int rm_rf_children(int dfd, dev_t dev)
{
	DIR *d = fdopendir(dfd);
	int r = 0;

	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	struct dirent *de;
	while ((errno = 0, de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
				if (errno != ENOENT && r == 0)
					r = -errno;
				continue;
			}
			if (S_ISDIR(st.st_mode)) {
				if (st.st_dev != dev) {
					/* A mount point: never descend into another fs. */
					if (r == 0)
						r = -EBUSY;
					continue;
				}
				int cfd = openat(dirfd(d), de->d_name,
				                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (cfd < 0) {
					if (errno != ENOENT && r == 0)
						r = -errno;
					continue;
				}
				int k = rm_rf_children(cfd, dev);
				if (k < 0 && r == 0)
					r = k;
				if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT &&
				    r == 0)
					r = -errno;
				continue;
			}
		}
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
			r = -errno;
	}
	closedir(d);
	return r;
}

int ps_rm_rf_at(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	int r = rm_rf_children(fd, st.st_dev);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
		r = -errno;
	return r;
}

int ps_mkdirat_p(int dirfd, const char *name, mode_t mode)
{
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

long long ps_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long ps_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
 * days_from_civil, inverted). */
static void civil_from_days(long long z, long long *ret_y, unsigned *ret_m, unsigned *ret_d)
{
	z += 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*ret_d = doy - (153 * mp + 2) / 5 + 1;
	*ret_m = mp < 10 ? mp + 3 : mp - 9;
	*ret_y = (long long)yoe + era * 400 + (*ret_m <= 2);
}

/* The day count since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil); m may be out of 1..12 by a year either way, d any
 * count: the result is normalized as timegm() would. */
static long long days_from_civil(long long y, int m, long long d)
{
	y += (m - 1) / 12 - (m < 1);
	m = ((m - 1) % 12 + 12) % 12 + 1;
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void ps_format_time(long long ns, char *buf, size_t len)
{
	long long secs = ns / 1000000000LL;
	long frac = (long)(ns % 1000000000LL);

	if (frac < 0) {
		frac += 1000000000L;
		secs--;
	}
	/* Not gmtime_r() and strftime(): glibc loads the local time zone
	 * (/etc/localtime, seven syscalls) on their first call, for a UTC
	 * string. */
	long long days = secs / 86400, sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	long long y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ", y, m, d, sod / 3600,
	         sod / 60 % 60, sod % 60, frac);
}

int ps_parse_time(const char *s, long long *ret_ns)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	long long frac = 0;
	int digits = 0;

	if (!p)
		return -EINVAL;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 9) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (!streq(p, "Z"))
		return -EINVAL;
	/* Not timegm(): it loads the local time zone too (above). */
	long long secs = days_from_civil(tm.tm_year + 1900LL, tm.tm_mon + 1, tm.tm_mday) * 86400LL +
	                 tm.tm_hour * 3600LL + tm.tm_min * 60LL + tm.tm_sec;
	*ret_ns = secs * 1000000000LL + frac;
	return 0;
}

bool ps_name_is_valid(const char *name, size_t max)
{
	size_t n = 0;

	if (!name || !*name || streq(name, ".") || streq(name, ".."))
		return false;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n <= max;
}

pid_t ps_tmp_name_owner(const char *name)
{
	const char *dot = strrchr(name, '.');
	char *end;

	if (!dot || dot == name || !dot[1] || dot[1] == '0')
		return 0;
	long v = strtol(dot + 1, &end, 10);
	if (*end || v <= 0 || v > INT_MAX)
		return 0;
	return (pid_t)v;
}

bool ps_pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}
