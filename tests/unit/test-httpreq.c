/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP/1.x request parser of the ready protocols (libpodstore/httpreq.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "httpreq.h"
#include "util.h"

static int parse(const char *s, ps_http_request *rq, int *status)
{
	*status = 0;
	return ps_http_parse_request(s, strlen(s), 4096, rq, status);
}

static void request_curl_sends(void **state)
{
	/* pvcontrol's curl, byte for byte as curl 7.88 sends it */
	const char *s = "POST /signal HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\n"
	                "Accept: */*\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n"
	                "{\"type\":\"ready\",\"payload\":\"\"}";
	ps_http_request rq;
	int st;

	assert_int_equal(parse(s, &rq, &st), 0);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.path, "/signal");
	assert_int_equal(rq.minor, 1);
	assert_true(rq.keep_alive);
	assert_true(rq.has_body_length);
	assert_int_equal(rq.body_len, 29);
	assert_memory_equal(rq.body, "{\"type\":\"ready\",\"payload\":\"\"}", 29);
	assert_int_equal(rq.consumed, strlen(s));
}

static void incomplete(void **state)
{
	const char *s = "PATCH /1.0 HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"state\":\"Ready\"}";
	ps_http_request rq;
	int st = 0;

	/* every proper prefix asks for more, the whole is one request */
	for (size_t n = 0; n < strlen(s); n++)
		assert_int_equal(ps_http_parse_request(s, n, 4096, &rq, &st), -EAGAIN);
	assert_int_equal(ps_http_parse_request(s, strlen(s), 4096, &rq, &st), 0);
	assert_int_equal(rq.body_len, 17);
}

static void pipelined(void **state)
{
	const char *s = "GET /1.0 HTTP/1.1\r\n\r\nGET /1.0?x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
	                "GET /x HTTP/1.0\n\n";
	ps_http_request rq;
	int st;
	size_t off = 0;

	assert_int_equal(ps_http_parse_request(s, strlen(s), 4096, &rq, &st), 0);
	assert_string_equal(rq.path, "/1.0");
	assert_null(rq.body);
	off += rq.consumed;
	assert_int_equal(ps_http_parse_request(s + off, strlen(s) - off, 4096, &rq, &st), 0);
	assert_string_equal(rq.path, "/1.0?x");
	assert_int_equal(rq.minor, 0);
	assert_true(rq.keep_alive); /* 1.0 with keep-alive */
	off += rq.consumed;
	assert_int_equal(ps_http_parse_request(s + off, strlen(s) - off, 4096, &rq, &st), 0);
	assert_false(rq.keep_alive); /* 1.0 without: closes; bare LF tolerated */
	assert_int_equal(off + rq.consumed, strlen(s));
}

static void forms(void **state)
{
	ps_http_request rq;
	int st;

	assert_int_equal(parse("GET http://localhost/1.0 HTTP/1.1\r\n\r\n", &rq, &st), 0);
	assert_string_equal(rq.path, "/1.0"); /* absolute-form */
	assert_int_equal(parse("GET http://lxd HTTP/1.1\r\n\r\n", &rq, &st), 0);
	assert_string_equal(rq.path, "/");
	assert_int_equal(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", &rq, &st), 0);
	assert_false(rq.keep_alive);
	assert_int_equal(parse("\r\nGET / HTTP/1.1\r\n\r\n", &rq, &st), 0); /* leading CRLF */
	assert_int_equal(parse("GET / HTTP/1.9\r\n\r\n", &rq, &st), 0);
	assert_int_equal(rq.minor, 1);
	assert_int_equal(parse("GET / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", &rq, &st), 0);
}

static void errors(void **state)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		{ "HELLO\r\n\r\n", 400 },
		{ "GET  / HTTP/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1 \r\n\r\n", 400 },
		{ "GET / HTTX/1.1\r\n\r\n", 400 },
		{ "GET / HTTP/2.0\r\n\r\n", 505 },
		{ "GET / HTTP/1.1\r\nX : y\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nX: y\r\n folded\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", 413 },
		{ "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413 },
		{ "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501 },
		{ "GETTINGVERYLONGMETHODNAME / HTTP/1.1\r\n\r\n", 501 },
		{ "GET relative HTTP/1.1\r\n\r\n", 400 },
		{ "\x16\x03\x01\x02", 400 }, /* TLS hello: refused before the head ends */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ps_http_request rq;
		int st = 0;
		int r = parse(cases[i].req, &rq, &st);
		if (r != -EBADMSG || st != cases[i].status)
			fail_msg("case %zu (%s): r %d status %d, want %d", i, cases[i].req, r, st, cases[i].status);
	}
}

static void caps(void **state)
{
	char big[PS_HTTP_HEAD_MAX + 64];
	ps_http_request rq;
	int st = 0;

	/* a head that never ends: 431 once it passes the cap */
	int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
	memset(big + n, 'a', sizeof(big) - (size_t)n);
	assert_int_equal(ps_http_parse_request(big, PS_HTTP_HEAD_MAX - 1, 4096, &rq, &st), -EAGAIN);
	assert_int_equal(ps_http_parse_request(big, sizeof(big), 4096, &rq, &st), -EBADMSG);
	assert_int_equal(st, 431);
	/* too many headers */
	char many[PS_HTTP_HEAD_MAX];
	size_t k = (size_t)snprintf(many, sizeof(many), "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= PS_HTTP_HEADERS_MAX; i++)
		k += (size_t)snprintf(many + k, sizeof(many) - k, "X%d: y\r\n", i);
	k += (size_t)snprintf(many + k, sizeof(many) - k, "\r\n");
	assert_int_equal(ps_http_parse_request(many, k, 4096, &rq, &st), -EBADMSG);
	assert_int_equal(st, 431);
	/* a target over the cap */
	char *lt = malloc(PS_HTTP_TARGET_MAX + 64);
	assert_non_null(lt);
	k = (size_t)snprintf(lt, 16, "GET /");
	memset(lt + k, 'p', PS_HTTP_TARGET_MAX + 1);
	k += PS_HTTP_TARGET_MAX + 1;
	k += (size_t)snprintf(lt + k, 32, " HTTP/1.1\r\n\r\n");
	assert_int_equal(ps_http_parse_request(lt, k, 4096, &rq, &st), -EBADMSG);
	assert_int_equal(st, 414);
	free(lt);
	assert_string_equal(ps_http_reason(413), "Content Too Large");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_curl_sends),
		cmocka_unit_test(incomplete),
		cmocka_unit_test(pipelined),
		cmocka_unit_test(forms),
		cmocka_unit_test(errors),
		cmocka_unit_test(caps),
	};
	return cmocka_run_group_tests_name("httpreq", tests, NULL, NULL);
}
