/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* HTTP/1.x request parsing for the ready-protocol endpoints: see httpreq.h. */
#include <errno.h>
#include <string.h>

#include "httpreq.h"

/* RFC 9110 tchar */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible ASCII, as a request target may hold. */
static bool is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* Field values: visible, space, tab, obs-text; no controls. */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool name_is(const char *s, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(s, want, n) == 0;
}

/*
 * Find the end of the head: the blank line after the last header. Lines
 * end in CRLF, a bare LF is tolerated (RFC 9112 2.2). Returns the head's
 * length including the blank line, or 0 when it is not all here.
 */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* One line of the head: [*p, eol) without its CR; *p moves past the LF. */
static bool next_line(const char **p, const char *end, const char **ret_s, size_t *ret_n)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (!nl)
		return false;
	const char *e = nl;
	if (e > *p && e[-1] == '\r')
		e--;
	*ret_s = *p;
	*ret_n = (size_t)(e - *p);
	*p = nl + 1;
	return true;
}

static int fail(int *ret_status, int status)
{
	if (ret_status)
		*ret_status = status;
	return -EBADMSG;
}

static int parse_request_line(const char *s, size_t n, ps_http_request *rq, int *ret_status)
{
	const char *end = s + n, *p = s;
	size_t k;

	/* method */
	for (k = 0; p < end && is_tchar((unsigned char)*p); p++, k++)
		;
	if (k == 0 || p == end || *p != ' ')
		return fail(ret_status, 400);
	if (k > PS_HTTP_METHOD_MAX)
		return fail(ret_status, 501);
	memcpy(rq->method, s, k);
	rq->method[k] = '\0';
	p++;

	/* target */
	const char *t = p;
	while (p < end && is_vchar((unsigned char)*p))
		p++;
	if (p == t || p == end || *p != ' ')
		return fail(ret_status, 400);
	size_t tn = (size_t)(p - t);
	p++;
	if (*t != '/') {
		/* absolute-form, "http://host/path": keep the path */
		const char *sep = tn > 3 ? memmem(t, tn, "://", 3) : NULL;
		if (!sep)
			return fail(ret_status, 400);
		for (const char *c = t; c < sep; c++)
			if (!is_tchar((unsigned char)*c))
				return fail(ret_status, 400);
		const char *host = sep + 3, *slash = memchr(host, '/', (size_t)(t + tn - host));
		if (slash) {
			tn -= (size_t)(slash - t);
			t = slash;
		} else {
			t = "/";
			tn = 1;
		}
	}
	if (tn > PS_HTTP_TARGET_MAX)
		return fail(ret_status, 414);
	memcpy(rq->path, t, tn);
	rq->path[tn] = '\0';

	/* version */
	if ((size_t)(end - p) != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' ||
	    p[5] > '9' || p[7] < '0' || p[7] > '9')
		return fail(ret_status, 400);
	if (p[5] != '1')
		return fail(ret_status, 505);
	/* HTTP/1.2 and up read as 1.1, the highest we speak (RFC 9110 6.2) */
	rq->minor = p[7] == '0' ? 0 : 1;
	return 0;
}

/* Content-Length: digits only; the same value if repeated. */
static int parse_length(const char *v, size_t n, long long *cl, int *ret_status)
{
	long long x = 0;

	if (n == 0)
		return fail(ret_status, 400);
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(ret_status, 400);
		if (x > 1000000000LL)
			x = 1000000000LL + 1; /* saturate: over any cap */
		else
			x = x * 10 + (v[i] - '0');
	}
	if (*cl >= 0 && *cl != x)
		return fail(ret_status, 400);
	*cl = x;
	return 0;
}

/* Connection: a comma-separated token list. */
static void parse_connection(const char *v, size_t n, bool *close, bool *keep)
{
	const char *end = v + n;
	while (v < end) {
		while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
			v++;
		const char *t = v;
		while (v < end && *v != ',' && *v != ' ' && *v != '\t')
			v++;
		if (name_is(t, (size_t)(v - t), "close"))
			*close = true;
		else if (name_is(t, (size_t)(v - t), "keep-alive"))
			*keep = true;
	}
}

int ps_http_parse_request(const char *buf, size_t len, size_t max_body, ps_http_request *ret,
                          int *ret_status)
{
	ps_http_request rq = { 0 };
	long long cl = -1;
	bool conn_close = false, conn_keep = false;
	size_t nheaders = 0;
	int r;

	/* RFC 9112 2.2: ignore empty lines before a request line. */
	size_t skip = 0;
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n') && skip < 8)
		skip++;
	const char *b = buf + skip;
	size_t blen = len - skip;

	size_t hlen = head_end(b, blen);
	if (hlen == 0) {
		if (blen >= PS_HTTP_HEAD_MAX)
			return fail(ret_status, 431);
		/* A request line that already cannot be one: say so now, not
		 * after the client has filled the head. */
		for (size_t i = 0; i < blen; i++) {
			unsigned char c = (unsigned char)b[i];
			if (c == '\n')
				break;
			if (c != '\r' && !is_field_char(c))
				return fail(ret_status, 400);
		}
		return -EAGAIN;
	}
	if (hlen > PS_HTTP_HEAD_MAX)
		return fail(ret_status, 431);

	const char *p = b, *end = b + hlen, *s;
	size_t n;
	if (!next_line(&p, end, &s, &n))
		return fail(ret_status, 400);
	r = parse_request_line(s, n, &rq, ret_status);
	if (r < 0)
		return r;
	while (next_line(&p, end, &s, &n)) {
		if (n == 0)
			break; /* the blank line */
		if (++nheaders > PS_HTTP_HEADERS_MAX)
			return fail(ret_status, 431);
		if (*s == ' ' || *s == '\t')
			return fail(ret_status, 400); /* obs-fold */
		const char *colon = memchr(s, ':', n);
		if (!colon || colon == s)
			return fail(ret_status, 400);
		for (const char *c = s; c < colon; c++)
			if (!is_tchar((unsigned char)*c))
				return fail(ret_status, 400); /* also "Name :" */
		const char *v = colon + 1, *ve = s + n;
		for (const char *c = v; c < ve; c++)
			if (!is_field_char((unsigned char)*c))
				return fail(ret_status, 400);
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		size_t kn = (size_t)(colon - s), vn = (size_t)(ve - v);
		if (name_is(s, kn, "Content-Length")) {
			r = parse_length(v, vn, &cl, ret_status);
			if (r < 0)
				return r;
		} else if (name_is(s, kn, "Transfer-Encoding")) {
			return fail(ret_status, 501);
		} else if (name_is(s, kn, "Connection")) {
			parse_connection(v, vn, &conn_close, &conn_keep);
		}
	}
	if (cl > (long long)max_body)
		return fail(ret_status, 413);

	rq.head_len = skip + hlen;
	rq.has_body_length = cl >= 0;
	rq.body_len = cl > 0 ? (size_t)cl : 0;
	if (len - rq.head_len < rq.body_len)
		return -EAGAIN;
	rq.body = rq.body_len ? buf + rq.head_len : NULL;
	rq.consumed = rq.head_len + rq.body_len;
	rq.keep_alive = rq.minor >= 1 ? !conn_close : (conn_keep && !conn_close);
	*ret = rq;
	return 0;
}

const char *ps_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
