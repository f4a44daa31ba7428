/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ready protocols' connection state machine (stage1/readyproto.c), over
 * socketpairs: answers per request, events, pipelining, split requests,
 * errors, caps, deadlines, and listening sockets. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fixture.h"
#include "httpreq.h"
#include "../../stage1/readyproto.h"
#include "util.h"

struct rec {
	unsigned n;
	unsigned app[32];
	enum rp_protocol proto[32];
	enum rp_event ev[32];
	bool ready;
};

static void on_signal(void *ctx, unsigned app_idx, enum rp_protocol p, enum rp_event e)
{
	struct rec *r = ctx;
	if (r->n < 32) {
		r->app[r->n] = app_idx;
		r->proto[r->n] = p;
		r->ev[r->n] = e;
	}
	r->n++;
	if (e == RP_EV_READY)
		r->ready = true;
	else if (e == RP_EV_NOT_READY)
		r->ready = false;
}

static bool on_is_ready(void *ctx, unsigned app_idx)
{
	return ((struct rec *)ctx)->ready;
}

static const struct rp_ops ops = { .signal = on_signal, .is_ready = on_is_ready };

struct rpfx {
	struct rp_server *s;
	struct rec rec;
	int cli; /* the client's end */
};

static int rpfx_setup(void **state)
{
	struct rpfx *f = calloc(1, sizeof(*f));
	int sv[2];

	assert_non_null(f);
	assert_int_equal(rp_server_new(&ops, &f->rec, "host1", &f->s), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->cli = sv[0];
	*state = f;
	return 0;
}

static int rpfx_teardown(void **state)
{
	struct rpfx *f = *state;
	rp_server_free(f->s);
	if (f->cli >= 0)
		close(f->cli);
	free(f);
	return 0;
}

/* The server's end of a fresh pair, adopted for app 3 on protocol p. */
static void rpfx_adopt(struct rpfx *f, enum rp_protocol p)
{
	int sv[2];
	if (f->cli >= 0)
		close(f->cli);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->cli = sv[0];
	assert_int_equal(rp_server_adopt(f->s, 3, p, sv[1]), 0);
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Dispatch whatever the server has, without waiting. */
static void pump(struct rpfx *f)
{
	struct pollfd p = { .fd = rp_server_fd(f->s), .events = POLLIN };
	while (poll(&p, 1, 0) > 0)
		rp_server_dispatch(f->s);
}

/* Count complete responses in buf. */
static int n_responses(const char *buf, size_t len)
{
	int n = 0;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *h = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		if (!h)
			break;
		const char *cl = memmem(p, (size_t)(h - p), "Content-Length: ", 16);
		if (!cl)
			break;
		size_t blen = strtoul(cl + 16, NULL, 10);
		if ((size_t)(end - (h + 4)) < blen)
			break;
		p = h + 4 + blen;
		n++;
	}
	return n;
}

/* Serve until `want` responses arrived (or the server closed): returns them. */
static char *exchange(struct rpfx *f, int want, bool *ret_closed)
{
	static char buf[1 << 17];
	size_t len = 0;
	bool closed = false;

	while (n_responses(buf, len) < want && !closed) {
		struct pollfd p[2] = { { .fd = rp_server_fd(f->s), .events = POLLIN },
			               { .fd = f->cli, .events = POLLIN } };
		assert_true(poll(p, 2, 5000) > 0);
		if (p[0].revents)
			rp_server_dispatch(f->s);
		if (p[1].revents) {
			ssize_t n = read(f->cli, buf + len, sizeof(buf) - 1 - len);
			assert_true(n >= 0);
			closed = n == 0;
			len += (size_t)n;
		}
	}
	buf[len] = '\0';
	if (ret_closed) {
		/* after the wanted answers, is the server's end closed? */
		pump(f);
		char c;
		ssize_t n = recv(f->cli, &c, 1, MSG_DONTWAIT);
		*ret_closed = closed || n == 0;
	}
	return buf;
}

static void pantavisor_signals(void **state)
{
	struct rpfx *f = *state;
	bool closed;

	rpfx_adopt(f, RP_PANTAVISOR);
	send_str(f->cli, "POST /signal HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	                 "Content-Length: 29\r\n\r\n{\"type\":\"ready\",\"payload\":\"\"}");
	char *r = exchange(f, 1, &closed);
	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(r, "\r\n\r\n{}"));
	assert_false(closed); /* keep-alive */
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.ev[0], RP_EV_READY);
	assert_int_equal(f->rec.app[0], 3);
	assert_int_equal(f->rec.proto[0], RP_PANTAVISOR);

	send_str(f->cli, "POST /signal HTTP/1.1\r\nContent-Length: 16\r\n\r\n{\"type\":\"alive\"}");
	r = exchange(f, 1, NULL);
	assert_non_null(strstr(r, "200 OK"));
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(f->rec.ev[1], RP_EV_ALIVE);

	/* wrong type, no JSON, other path, other method: no event, the connection lives */
	send_str(f->cli, "POST /signal HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"type\":\"reboot\"}"
	                 "POST /signal HTTP/1.1\r\nContent-Length: 3\r\n\r\n[1]"
	                 "POST /signal HTTP/1.1\r\nContent-Length: 5\r\n\r\n{\"a\":"
	                 "POST /signal HTTP/1.1\r\n\r\n"
	                 "POST /containers HTTP/1.1\r\n\r\n"
	                 "GET /signal HTTP/1.1\r\n\r\n");
	r = exchange(f, 6, &closed);
	const char *p = r;
	static const char *const want[] = { "400 Bad Request", "400 Bad Request", "400 Bad Request",
		                            "400 Bad Request", "404 Not Found", "405 Method Not Allowed" };
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		p = strstr(p, "HTTP/1.1 ");
		assert_non_null(p);
		assert_memory_equal(p + 9, want[i], strlen(want[i]));
		p++;
	}
	assert_non_null(strstr(r, "Allow: POST\r\n"));
	assert_non_null(strstr(r, "{\"error\":"));
	assert_false(closed);
	assert_int_equal(f->rec.n, 2);
}

static void lxd_states(void **state)
{
	struct rpfx *f = *state;

	rpfx_adopt(f, RP_LXD);
	send_str(f->cli, "GET /1.0 HTTP/1.1\r\nHost: lxd\r\n\r\n");
	char *r = exchange(f, 1, NULL);
	assert_non_null(strstr(r, "\r\n\r\n{\"api_version\":\"1.0\",\"instance_type\":\"container\","
	                          "\"location\":\"host1\",\"state\":\"Started\"}"));
	send_str(f->cli, "PATCH /1.0 HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"state\":\"Ready\"}");
	r = exchange(f, 1, NULL);
	assert_non_null(strstr(r, "200 OK"));
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.ev[0], RP_EV_READY);
	send_str(f->cli, "GET /1.0 HTTP/1.1\r\n\r\n");
	r = exchange(f, 1, NULL);
	assert_non_null(strstr(r, "\"state\":\"Ready\"}"));
	send_str(f->cli, "PATCH /1.0 HTTP/1.1\r\nContent-Length: 19\r\n\r\n{\"state\":\"Started\"}");
	r = exchange(f, 1, NULL);
	assert_int_equal(f->rec.ev[1], RP_EV_NOT_READY);
	assert_false(f->rec.ready);
	/* other states, other paths, other methods */
	send_str(f->cli, "PATCH /1.0 HTTP/1.1\r\nContent-Length: 19\r\n\r\n{\"state\":\"Stopped\"}"
	                 "GET /1.0/devices HTTP/1.1\r\n\r\n"
	                 "GET / HTTP/1.1\r\n\r\n"
	                 "DELETE /1.0 HTTP/1.1\r\n\r\n");
	r = exchange(f, 4, NULL);
	assert_non_null(strstr(r, "400 Bad Request"));
	assert_non_null(strstr(strstr(r, "404 Not Found") + 1, "404 Not Found"));
	assert_non_null(strstr(r, "405 Method Not Allowed\r\n"));
	assert_non_null(strstr(r, "Allow: GET, PATCH\r\n"));
	assert_int_equal(f->rec.n, 2);
}

static void pipelined_in_order(void **state)
{
	struct rpfx *f = *state;
	char req[8192];
	size_t k = 0;

	rpfx_adopt(f, RP_LXD);
	/* many more answers than the output buffer holds: all come, in order */
	for (int i = 0; i < 100; i++)
		k += (size_t)snprintf(req + k, sizeof(req) - k, "%s",
		                      i % 2 ? "GET /1.0 HTTP/1.1\r\n\r\n"
		                            : "PATCH /1.0 HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"state\":\"Ready\"}");
	assert_int_equal(write(f->cli, req, k), (ssize_t)k);
	char *r = exchange(f, 100, NULL);
	assert_int_equal(n_responses(r, strlen(r)), 100);
	assert_int_equal(f->rec.n, 50);
	/* each GET after a PATCH Ready says Ready */
	const char *p = r;
	int gets = 0;
	while ((p = strstr(p, "\"state\":\"Ready\"")))
		gets++, p++;
	assert_int_equal(gets, 50);
}

static void split_requests(void **state)
{
	struct rpfx *f = *state;
	const char *req = "POST /signal HTTP/1.1\r\nContent-Length: 16\r\n\r\n{\"type\":\"ready\"}";

	rpfx_adopt(f, RP_PANTAVISOR);
	/* byte by byte: nothing is answered or signalled before the last byte */
	for (size_t i = 0; i + 1 < strlen(req); i++) {
		assert_int_equal(write(f->cli, req + i, 1), 1);
		pump(f);
		char c;
		assert_int_equal(recv(f->cli, &c, 1, MSG_DONTWAIT), -1);
		assert_int_equal(f->rec.n, 0);
	}
	send_str(f->cli, req + strlen(req) - 1);
	char *r = exchange(f, 1, NULL);
	assert_non_null(strstr(r, "200 OK"));
	assert_int_equal(f->rec.n, 1);
	/* a request split in the body, with the next one glued to its end */
	send_str(f->cli, "POST /signal HTTP/1.1\r\nContent-Length: 16\r\n\r\n{\"type\":");
	pump(f);
	send_str(f->cli, "\"alive\"}POST /sig");
	pump(f);
	send_str(f->cli, "nal HTTP/1.1\r\nContent-Length: 16\r\n\r\n{\"type\":\"alive\"}");
	r = exchange(f, 2, NULL);
	assert_int_equal(f->rec.n, 3);
	assert_int_equal(f->rec.ev[2], RP_EV_ALIVE);
}

static void errors_close(void **state)
{
	struct rpfx *f = *state;
	bool closed;
	static const struct {
		const char *req;
		const char *status;
	} cases[] = {
		{ "HELLO\r\n\r\n", "400 Bad Request" },
		{ "PATCH /1.0 HTTP/1.1\r\nContent-Length: 4097\r\n\r\n", "413 Content Too Large" },
		{ "PATCH /1.0 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "501 Not Implemented" },
		{ "GET /1.0 HTTP/3.0\r\n\r\n", "505 HTTP Version Not Supported" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		rpfx_adopt(f, RP_LXD);
		send_str(f->cli, cases[i].req);
		char *r = exchange(f, 1, &closed);
		if (!strstr(r, cases[i].status) || !strstr(r, "Connection: close\r\n") || !closed)
			fail_msg("case %zu: %s (closed %d)", i, r, closed);
	}
	/* a head over the cap: 431, before the client has sent all of it */
	rpfx_adopt(f, RP_LXD);
	char big[PS_HTTP_HEAD_MAX + 100];
	int n = snprintf(big, sizeof(big), "GET /1.0 HTTP/1.1\r\nX: ");
	memset(big + n, 'x', sizeof(big) - (size_t)n);
	assert_int_equal(write(f->cli, big, sizeof(big)), (ssize_t)sizeof(big));
	char *r = exchange(f, 1, &closed);
	assert_non_null(strstr(r, "431 Request Header Fields Too Large"));
	assert_true(closed);
	/* HTTP/1.0 without keep-alive: answered, then closed */
	rpfx_adopt(f, RP_LXD);
	send_str(f->cli, "GET /1.0 HTTP/1.0\r\n\r\n");
	r = exchange(f, 1, &closed);
	assert_non_null(strstr(r, "200 OK"));
	assert_true(closed);
	/* the client shuts its side after its requests: all answered, then closed */
	rpfx_adopt(f, RP_LXD);
	send_str(f->cli, "GET /1.0 HTTP/1.1\r\n\r\nGET /1.0 HTTP/1.1\r\n\r\nGET /1.");
	shutdown(f->cli, SHUT_WR);
	r = exchange(f, 2, &closed);
	assert_int_equal(n_responses(r, strlen(r)), 2);
	assert_true(closed);
}

static void deadline(void **state)
{
	struct rpfx *f = *state;
	bool closed;

	rp_server_set_timeout(f->s, 50);
	/* half a request: 408, closed */
	rpfx_adopt(f, RP_LXD);
	send_str(f->cli, "PATCH /1.0 HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"st");
	char *r = exchange(f, 1, &closed);
	assert_non_null(strstr(r, "408 Request Timeout"));
	assert_true(closed);
	assert_int_equal(f->rec.n, 0);
	/* idle keep-alive: closed without a word, waking on the server's timer */
	rpfx_adopt(f, RP_LXD);
	send_str(f->cli, "GET /1.0 HTTP/1.1\r\n\r\n");
	r = exchange(f, 1, NULL);
	r = exchange(f, 1, &closed);
	assert_true(closed);
	assert_int_equal(rp_server_n_conns(f->s), 0);
	struct rp_stats st;
	rp_server_stats(f->s, &st);
	assert_int_equal(st.timeouts, 2);
}

static void conn_cap(void **state)
{
	struct rpfx *f = *state;
	int sv[2];

	for (int i = 0; i < RP_CONNS_MAX; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		assert_int_equal(rp_server_adopt(f->s, 1, RP_LXD, sv[1]), 0);
		close(sv[0]);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(rp_server_adopt(f->s, 1, RP_LXD, sv[1]), -EMFILE);
	close(sv[0]);
	/* another app or protocol has its own allowance */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(rp_server_adopt(f->s, 1, RP_PANTAVISOR, sv[1]), 0);
	close(sv[0]);
	/* closed peers are noticed and freed */
	pump(f);
	assert_int_equal(rp_server_n_conns(f->s), 0);
}

static void listen_socket(void **state)
{
	struct rpfx *f = *state;
	char dir[] = "/tmp/test-readyproto.XXXXXX";
	assert_non_null(mkdtemp(dir));
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(rp_server_listen(f->s, 0, RP_PANTAVISOR, dfd), 0);
	/* a stale socket is replaced */
	assert_int_equal(rp_server_listen(f->s, 1, RP_LXD, dfd), 0);
	assert_int_equal(rp_server_listen(f->s, 1, RP_LXD, dfd), 0);
	/* our own pid ns: a client of ours passes the check */
	assert_int_equal(rp_server_set_pidns(f->s, getpid()), 0);

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/pv-ctrl", dir);
	close(f->cli);
	f->cli = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(f->cli, (struct sockaddr *)&sa, sizeof(sa)), 0);
	send_str(f->cli, "POST /signal HTTP/1.1\r\nContent-Length: 16\r\n\r\n{\"type\":\"ready\"}");
	char *r = exchange(f, 1, NULL);
	assert_non_null(strstr(r, "200 OK"));
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.app[0], 0);
	assert_string_equal(rp_protocol_name(RP_LXD), "lxd");
	assert_string_equal(rp_path_in_app(RP_LXD), "/dev/lxd/sock");
	assert_string_equal(rp_path_in_app(RP_PANTAVISOR), "/pantavisor/pv-ctrl");
	unlinkat(dfd, "pv-ctrl", 0);
	unlinkat(dfd, "lxd-sock", 0);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(pantavisor_signals, rpfx_setup, rpfx_teardown),
		cmocka_unit_test_setup_teardown(lxd_states, rpfx_setup, rpfx_teardown),
		cmocka_unit_test_setup_teardown(pipelined_in_order, rpfx_setup, rpfx_teardown),
		cmocka_unit_test_setup_teardown(split_requests, rpfx_setup, rpfx_teardown),
		cmocka_unit_test_setup_teardown(errors_close, rpfx_setup, rpfx_teardown),
		cmocka_unit_test_setup_teardown(deadline, rpfx_setup, rpfx_teardown),
		cmocka_unit_test_setup_teardown(conn_cap, rpfx_setup, rpfx_teardown),
		cmocka_unit_test_setup_teardown(listen_socket, rpfx_setup, rpfx_teardown),
	};
	return cmocka_run_group_tests_name("readyproto", tests, NULL, NULL);
}
