/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_HTTPREQ_H
#define PODSTORE_HTTPREQ_H

/*
 * A small HTTP/1.x request parser for stage1's ready-protocol endpoints
 * (Pantavisor's pv-ctrl and LXD's devlxd, Documentation/readiness.md).
 * Internal, not installed. Why our own and not a library:
 * Documentation/devel/decisions.md.
 *
 * Stateless: it is given everything received so far on a connection and
 * either finds one whole request at its start, says more bytes are needed,
 * or says which error status to answer. Requests that follow (pipelining)
 * start at ret->consumed. Only what the ready protocols need is kept:
 * method, target, version, Content-Length, Connection and the body. No
 * Transfer-Encoding (501), no header folding (400).
 *
 * The caller holds the bytes: ret->body points into buf. No allocation.
 */

#include <stdbool.h>
#include <stddef.h>

#define PS_HTTP_HEAD_MAX 4096      /* request line + headers + blank line */
#define PS_HTTP_HEADERS_MAX 64
#define PS_HTTP_METHOD_MAX 16
#define PS_HTTP_TARGET_MAX 1024

typedef struct ps_http_request {
	char method[PS_HTTP_METHOD_MAX + 1];
	char path[PS_HTTP_TARGET_MAX + 1]; /* origin-form path (scheme and host
	                                      of an absolute-form target dropped),
	                                      query included */
	int minor;                 /* HTTP/1.<minor>: 0 or 1 */
	bool keep_alive;           /* the connection stays open after the answer */
	bool has_body_length;      /* Content-Length was given */
	const char *body;          /* into buf; NULL when body_len is 0 */
	size_t body_len;
	size_t head_len;           /* bytes of request line and headers */
	size_t consumed;           /* head_len + body_len: where the next request starts */
} ps_http_request;

/*
 * Parse the request at the start of buf[0, len). max_body caps
 * Content-Length. Returns:
 *   0        a whole request: *ret filled;
 *   -EAGAIN  not complete yet (and within the caps): read more;
 *   -EBADMSG and the like: *ret_status is the status to answer before
 *            closing: 400 malformed, 413 body over max_body, 431 head over
 *            PS_HTTP_HEAD_MAX or too many headers, 414 target too long,
 *            501 a Transfer-Encoding, 505 not HTTP/1.x.
 * ret is untouched unless 0 is returned.
 */
int ps_http_parse_request(const char *buf, size_t len, size_t max_body, ps_http_request *ret,
                          int *ret_status);

/* The reason phrase of a status we answer ("OK", "Not Found", ...). */
const char *ps_http_reason(int status);

#endif
