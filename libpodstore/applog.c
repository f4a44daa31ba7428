/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stamped lines of an app's log (applog.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include "applog.h"
#include "util.h"

enum { AT_BOL, IN_STAMP, IN_LINE };

static int stamp_format(long long ns, char out[PS_APPLOG_STAMP_LEN + 1])
{
	char buf[64];

	ps_format_time(ns, buf, sizeof(buf));
	if (strlen(buf) != PS_APPLOG_STAMP_LEN - 1)
		return -ERANGE; /* a year outside 0000..9999 */
	memcpy(out, buf, PS_APPLOG_STAMP_LEN - 1);
	out[PS_APPLOG_STAMP_LEN - 1] = ' ';
	out[PS_APPLOG_STAMP_LEN] = '\0';
	return 0;
}

static int writev_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int ps_applog_write(int fd, bool *bol, long long now_ns, const char *buf, size_t n, long long max_out,
                    size_t *ret_used, long long *ret_written)
{
	char stamp[PS_APPLOG_STAMP_LEN + 1];
	struct iovec iov[64];
	long long written = 0, room = max_out;
	size_t used = 0;
	bool at_bol = *bol, full = false;
	int r = stamp_format(now_ns, stamp);

	if (r < 0)
		return r;
	while (n > 0 && !full) {
		int k = 0;
		size_t batch_in = 0;
		long long batch_out = 0;
		bool batch_bol = at_bol;
		/* Up to 32 lines per writev: a stamp and the line's bytes each. */
		while (n > 0 && k + 2 <= (int)ARRAY_SIZE(iov)) {
			const char *nl = memchr(buf, '\n', n);
			size_t len = nl ? (size_t)(nl - buf) + 1 : n;
			long long stamp_len = batch_bol ? PS_APPLOG_STAMP_LEN : 0;
			if (stamp_len + (long long)len > room) {
				/* the file is full: what fits of this line, then stop */
				full = true;
				if (room <= stamp_len)
					break;
				len = (size_t)(room - stamp_len);
				nl = NULL;
			}
			if (batch_bol)
				iov[k++] = (struct iovec){ stamp, PS_APPLOG_STAMP_LEN };
			iov[k++] = (struct iovec){ (void *)buf, len };
			batch_in += len;
			batch_out += stamp_len + (long long)len;
			room -= stamp_len + (long long)len;
			batch_bol = nl != NULL;
			buf += len;
			n -= len;
			if (full)
				break;
		}
		if (k == 0)
			break;
		r = writev_all(fd, iov, k);
		if (r < 0)
			return r;
		written += batch_out;
		used += batch_in;
		at_bol = batch_bol;
		*bol = at_bol;
	}
	*ret_used = used;
	*ret_written = written;
	return 0;
}

static const char stamp_shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ ";

/* Can c be byte i of a stamp? */
static bool stamp_byte_ok(size_t i, char c)
{
	return stamp_shape[i] == 'd' ? c >= '0' && c <= '9' : c == stamp_shape[i];
}

int ps_applog_stamp_parse(const char *s, long long *ret_ns)
{
	char buf[PS_APPLOG_STAMP_LEN];

	for (size_t i = 0; i < PS_APPLOG_STAMP_LEN; i++)
		if (!stamp_byte_ok(i, s[i]))
			return -EINVAL;
	/* nanoseconds since 1970 in a long long end in 2262; before 1970
	 * is no stamp of ours either (times are >= 0) */
	if (memcmp(s, "2262", 4) >= 0 || memcmp(s, "1970", 4) < 0)
		return -EINVAL;
	memcpy(buf, s, PS_APPLOG_STAMP_LEN - 1);
	buf[PS_APPLOG_STAMP_LEN - 1] = '\0';
	return ps_parse_time(buf, ret_ns);
}

void ps_applog_parser_init(ps_applog_parser *p, off_t offset)
{
	p->offset = offset;
	p->state = AT_BOL;
	p->stamp_len = 0;
}

/* The collected bytes were not a stamp: a line without time, starting
 * with them. Only their last byte can be the line's '\n'. */
static void stamp_fail(ps_applog_parser *p)
{
	size_t len = p->stamp_len;

	p->line(-1, p->offset - (off_t)len, p->userdata);
	p->stamp_len = 0;
	p->data(p->stamp, len, p->userdata);
	p->state = p->stamp[len - 1] == '\n' ? AT_BOL : IN_LINE;
}

void ps_applog_parser_feed(ps_applog_parser *p, const char *buf, size_t n)
{
	while (n > 0) {
		if (p->state == AT_BOL) {
			p->state = IN_STAMP;
			p->stamp_len = 0;
		}
		if (p->state == IN_STAMP) {
			bool broke = false;
			size_t i = 0;
			while (i < n && p->stamp_len + i < PS_APPLOG_STAMP_LEN) {
				p->stamp[p->stamp_len + i] = buf[i];
				broke = !stamp_byte_ok(p->stamp_len + i, buf[i]);
				i++;
				if (broke)
					break;
			}
			p->stamp_len += i;
			p->offset += (off_t)i;
			buf += i;
			n -= i;
			if (broke) {
				stamp_fail(p);
				continue;
			}
			if (p->stamp_len < PS_APPLOG_STAMP_LEN)
				return;
			long long ts;
			if (ps_applog_stamp_parse(p->stamp, &ts) < 0) {
				stamp_fail(p);
				continue;
			}
			p->line(ts, p->offset - PS_APPLOG_STAMP_LEN, p->userdata);
			p->stamp_len = 0;
			p->state = IN_LINE;
			continue;
		}
		const char *nl = memchr(buf, '\n', n);
		size_t len = nl ? (size_t)(nl - buf) + 1 : n;
		p->data(buf, len, p->userdata);
		p->offset += (off_t)len;
		buf += len;
		n -= len;
		if (nl)
			p->state = AT_BOL;
	}
}

void ps_applog_parser_flush(ps_applog_parser *p)
{
	if (p->state == IN_STAMP && p->stamp_len > 0) {
		size_t len = p->stamp_len;
		p->line(-1, p->offset - (off_t)len, p->userdata);
		p->stamp_len = 0;
		p->data(p->stamp, len, p->userdata);
	}
	p->state = AT_BOL;
}

int ps_applog_open_append(int dirfd, const char *name, long long *ret_size)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return -errno;
	struct stat st;
	*ret_size = fstat(fd, &st) == 0 ? st.st_size : 0;
	return fd;
}

int ps_applog_rotate(int dirfd, const char *name, const char *old)
{
	return renameat(dirfd, name, dirfd, old) < 0 ? -errno : 0;
}

int ps_applog_open_read(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

