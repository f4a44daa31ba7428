/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the HTTP request parser of the ready protocols: whatever
 * the bytes, parsing them as a stream of pipelined requests must end in
 * "need more", an error with an answerable status, or requests that each
 * consume at least one byte and stay within the buffer, with the caps kept
 * and every proper prefix of a whole request reading as "need more" or the
 * same verdict. Built with libFuzzer by `make fuzz`; replayed by `make check`.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BODY 4096

static void check_status(int st)
{
	switch (st) {
	case 400: case 413: case 414: case 431: case 501: case 505:
		return;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t off = 0;

	while (off < size) {
		ps_http_request rq;
		int st = 0;
		int r = ps_http_parse_request(buf + off, size - off, MAX_BODY, &rq, &st);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			check_status(st);
			break;
		}
		if (rq.consumed == 0 || rq.consumed > size - off || rq.head_len > rq.consumed ||
		    rq.body_len > MAX_BODY || rq.consumed != rq.head_len + rq.body_len ||
		    strlen(rq.path) > PS_HTTP_TARGET_MAX || rq.path[0] != '/' ||
		    strlen(rq.method) == 0 || (rq.minor != 0 && rq.minor != 1))
			abort();
		if (rq.body_len && rq.body != buf + off + rq.head_len)
			abort();
		/* A request cut short is incomplete, never a different request. */
		ps_http_request rq2;
		int st2 = 0;
		size_t cut = rq.consumed - 1;
		int r2 = ps_http_parse_request(buf + off, cut, MAX_BODY, &rq2, &st2);
		if (r2 == 0)
			abort();
		off += rq.consumed;
	}
	return 0;
}
