/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parser of /etc/passwd and /etc/group text: see passwd.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "passwd.h"

int ps_id_parse(const char *s, size_t len, unsigned *ret)
{
	unsigned long long v = 0;

	if (len == 0 || len > 10)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	/* (uid_t)-1 means "unchanged" to setresuid(): never an identity. */
	if (v >= 0xffffffffULL)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* Split one line into at most max fields at ':', keeping empty ones.
 * Returns the number of fields; starts and lengths in f and fl. */
static size_t split_fields(const char *line, size_t len, const char **f, size_t *fl, size_t max)
{
	size_t n = 0;
	const char *p = line, *end = line + len;

	while (n < max) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		const char *fe = c ? c : end;
		f[n] = p;
		fl[n] = (size_t)(fe - p);
		n++;
		if (!c)
			break;
		p = c + 1;
	}
	return n;
}

/* Find the first line whose first field is name; its fields in f/fl. */
static int find_line(const char *buf, size_t len, const char *name, const char **f, size_t *fl,
                     size_t max, size_t *ret_n)
{
	size_t nlen = strlen(name);

	if (nlen == 0 || memchr(name, ':', nlen) || memchr(name, '\n', nlen))
		return -ENOENT;
	for (const char *p = buf, *end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t ll = (size_t)(le - p);
		if (ll > nlen && p[nlen] == ':' && memcmp(p, name, nlen) == 0) {
			*ret_n = split_fields(p, ll, f, fl, max);
			return 0;
		}
		p = le + 1;
	}
	return -ENOENT;
}

int ps_passwd_find(const char *buf, size_t len, const char *name, uid_t *ret_uid, gid_t *ret_gid)
{
	const char *f[7];
	size_t fl[7], n;
	unsigned uid, gid;
	int r = find_line(buf, len, name, f, fl, 7, &n);

	if (r < 0)
		return r;
	/* name:password:uid:gid[:gecos:home:shell] */
	if (n < 4 || ps_id_parse(f[2], fl[2], &uid) < 0 || ps_id_parse(f[3], fl[3], &gid) < 0)
		return -EBADMSG;
	*ret_uid = (uid_t)uid;
	*ret_gid = (gid_t)gid;
	return 0;
}

int ps_group_find(const char *buf, size_t len, const char *name, gid_t *ret_gid)
{
	const char *f[4];
	size_t fl[4], n;
	unsigned gid;
	int r = find_line(buf, len, name, f, fl, 4, &n);

	if (r < 0)
		return r;
	/* name:password:gid[:members] */
	if (n < 3 || ps_id_parse(f[2], fl[2], &gid) < 0)
		return -EBADMSG;
	*ret_gid = (gid_t)gid;
	return 0;
}
