/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pantavisor / LXD ready protocols over HTTP on per-app sockets: see readyproto.h. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "httpreq.h"
#include "readyproto.h"
#include "util.h"

/* Room one answer needs: the next pipelined request is taken only when
 * the output buffer has this much free. */
#define RP_RESP_MAX 1024
#define RP_IN_MAX (PS_HTTP_HEAD_MAX + RP_BODY_MAX + 16)

enum src_kind { SRC_LISTENER = 1, SRC_CONN, SRC_TIMER };

struct rp_listener {
	enum src_kind kind; /* first: epoll data.ptr points here */
	int fd;
	unsigned app_idx;
	enum rp_protocol proto;
};

struct rp_conn {
	enum src_kind kind;
	int fd;
	unsigned app_idx;
	enum rp_protocol proto;
	long long deadline_ns;
	uint32_t events;     /* registered with epoll */
	bool peer_eof;       /* the client shut its side: answer what came, then close */
	bool close_after;    /* close once out is flushed */
	bool dead;           /* freed at the end of this dispatch */
	bool draining;       /* answered and half-closed: input is read and dropped until EOF */
	size_t in_len, out_len, out_off;
	char in[RP_IN_MAX];
	char out[RP_OUT_MAX];
};

struct rp_server {
	int epfd;
	struct { enum src_kind kind; int fd; } timer;
	const struct rp_ops *ops;
	void *ctx;
	char *location;
	struct rp_listener **ls;
	size_t n_ls;
	struct rp_conn **conns;
	size_t n_conns;
	long long timeout_ns;
	bool have_pidns;
	dev_t pidns_dev;
	ino_t pidns_ino;
	struct rp_stats st;
};

static const char *const proto_names[] = { "pantavisor", "lxd" };
static const char *const sock_names[] = { "pv-ctrl", "lxd-sock" };
static const char *const app_paths[] = { "/pantavisor/pv-ctrl", "/dev/lxd/sock" };

const char *rp_protocol_name(enum rp_protocol p)
{
	return p < RP_N_PROTOCOLS ? proto_names[p] : "?";
}

const char *rp_socket_name(enum rp_protocol p)
{
	return p < RP_N_PROTOCOLS ? sock_names[p] : NULL;
}

const char *rp_path_in_app(enum rp_protocol p)
{
	return p < RP_N_PROTOCOLS ? app_paths[p] : NULL;
}

const char *rp_event_name(enum rp_event e)
{
	switch (e) {
	case RP_EV_READY: return "ready";
	case RP_EV_ALIVE: return "alive";
	case RP_EV_NOT_READY: return "not-ready";
	}
	return "?";
}

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int rp_server_new(const struct rp_ops *ops, void *ctx, const char *location, struct rp_server **ret)
{
	struct rp_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->ctx = ctx;
	s->timer.kind = SRC_TIMER;
	s->timeout_ns = RP_CONN_TIMEOUT_MS * 1000000LL;
	s->location = strdup(location ? location : "");
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int r = -errno;
	if (s->epfd >= 0 && s->timer.fd >= 0 && s->location) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->timer };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timer.fd, &ev) == 0) {
			*ret = s;
			return 0;
		}
		r = -errno;
	}
	if (!s->location)
		r = -ENOMEM;
	rp_server_free(s);
	return r < 0 ? r : -EIO;
}

static void conn_free(struct rp_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

void rp_server_free(struct rp_server *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_conns; i++)
		conn_free(s->conns[i]);
	free(s->conns);
	for (size_t i = 0; i < s->n_ls; i++) {
		close(s->ls[i]->fd);
		free(s->ls[i]);
	}
	free(s->ls);
	if (s->timer.fd >= 0)
		close(s->timer.fd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->location);
	free(s);
}

void rp_server_set_timeout(struct rp_server *s, long long ms)
{
	s->timeout_ns = ms * 1000000LL;
}

int rp_server_fd(const struct rp_server *s)
{
	return s->epfd;
}

size_t rp_server_n_conns(const struct rp_server *s)
{
	return s->n_conns;
}

void rp_server_stats(const struct rp_server *s, struct rp_stats *ret)
{
	*ret = s->st;
}

int rp_server_set_pidns(struct rp_server *s, pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	if (stat(path, &st) < 0)
		return -errno;
	s->have_pidns = true;
	s->pidns_dev = st.st_dev;
	s->pidns_ino = st.st_ino;
	return 0;
}

int rp_server_listen(struct rp_server *s, unsigned app_idx, enum rp_protocol p, int app_dirfd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (p >= RP_N_PROTOCOLS)
		return -EINVAL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", app_dirfd, sock_names[p]);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (unlinkat(app_dirfd, sock_names[p], 0) < 0 && errno != ENOENT)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, RP_CONNS_MAX) < 0)
		return -errno;
	/* Any user of the app may signal, as with the notify socket. */
	if (fchmodat(app_dirfd, sock_names[p], 0666, 0) < 0)
		return -errno;
	struct rp_listener *l = calloc(1, sizeof(*l));
	struct rp_listener **nls = realloc(s->ls, (s->n_ls + 1) * sizeof(*nls));
	if (!l || !nls) {
		free(l);
		if (nls)
			s->ls = nls;
		return -ENOMEM;
	}
	s->ls = nls;
	*l = (struct rp_listener){ .kind = SRC_LISTENER, .fd = fd, .app_idx = app_idx, .proto = p };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(l);
		return -errno;
	}
	TAKE_FD(fd);
	s->ls[s->n_ls++] = l;
	return 0;
}

static unsigned conns_of(const struct rp_server *s, unsigned app_idx, enum rp_protocol p)
{
	unsigned n = 0;
	for (size_t i = 0; i < s->n_conns; i++)
		n += !s->conns[i]->dead && s->conns[i]->app_idx == app_idx && s->conns[i]->proto == p;
	return n;
}

int rp_server_adopt(struct rp_server *s, unsigned app_idx, enum rp_protocol p, int fd)
{
	if (p >= RP_N_PROTOCOLS) {
		close(fd);
		return -EINVAL;
	}
	if (conns_of(s, app_idx, p) >= RP_CONNS_MAX) {
		close(fd);
		return -EMFILE;
	}
	struct rp_conn *c = malloc(sizeof(*c));
	struct rp_conn **nc = realloc(s->conns, (s->n_conns + 1) * sizeof(*nc));
	if (nc)
		s->conns = nc;
	if (!c || !nc) {
		free(c);
		close(fd);
		return -ENOMEM;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		int r = -errno;
		free(c);
		close(fd);
		return r;
	}
	c->kind = SRC_CONN;
	c->fd = fd;
	c->app_idx = app_idx;
	c->proto = p;
	c->deadline_ns = mono_ns() + s->timeout_ns;
	c->events = EPOLLIN;
	c->peer_eof = c->close_after = c->dead = c->draining = false;
	c->in_len = c->out_len = c->out_off = 0;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int r = -errno;
		conn_free(c);
		return r;
	}
	s->conns[s->n_conns++] = c;
	return 0;
}

/* A connection from a live process in another pid namespace is not one of
 * the app's (root on the host reaching the socket in the pod dir, say). */
static bool peer_ok(const struct rp_server *s, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	char path[64];
	struct stat st;

	if (!s->have_pidns)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 || uc.pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)uc.pid);
	if (stat(path, &st) < 0)
		return errno == ENOENT || errno == ESRCH; /* gone already: the socket's reach decides */
	return st.st_dev == s->pidns_dev && st.st_ino == s->pidns_ino;
}

static void accept_all(struct rp_server *s, struct rp_listener *l)
{
	for (int i = 0; i < RP_CONNS_MAX; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return; /* EAGAIN, or the client gave up already */
		if (!peer_ok(s, fd)) {
			s->st.rejected++;
			close(fd);
			continue;
		}
		if (conns_of(s, l->app_idx, l->proto) >= RP_CONNS_MAX) {
			static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
			                           "Content-Type: application/json\r\nContent-Length: 42\r\n"
			                           "Connection: close\r\n\r\n"
			                           "{\"error\":\"too many connections\",\"code\":503}";
			s->st.rejected++;
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* it will see the close */
			}
			close(fd);
			continue;
		}
		rp_server_adopt(s, l->app_idx, l->proto, fd);
	}
}

/* --- answers ------------------------------------------------------------- */

static void respond(struct rp_server *s, struct rp_conn *c, int status, const char *extra,
                    const char *body, bool keep, int minor)
{
	size_t room = sizeof(c->out) - c->out_len;
	size_t blen = strlen(body);
	int n = snprintf(c->out + c->out_len, room,
	                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s%s\r\n%s",
	                 status, ps_http_reason(status), blen, extra ? extra : "",
	                 !keep ? "Connection: close\r\n" : minor == 0 ? "Connection: keep-alive\r\n" : "", body);
	if (n < 0 || (size_t)n >= room) {
		/* cannot happen (answers are small and room was checked): give up on it */
		c->close_after = true;
		return;
	}
	c->out_len += (size_t)n;
	if (status >= 400)
		s->st.errors++;
	if (!keep)
		c->close_after = true;
}

static void respond_error(struct rp_server *s, struct rp_conn *c, int status, const char *extra,
                          const char *msg, bool keep, int minor)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"error\":\"%s\",\"error_code\":%d}", msg, status);
	respond(s, c, status, extra, body, keep, minor);
}

/* A JSON object body's string member, or NULL (bad JSON, not an object,
 * missing, not a string). *ret_obj must be put by the caller. */
static const char *body_string(const ps_http_request *rq, const char *key, json_object **ret_obj)
{
	*ret_obj = NULL;
	if (!rq->body_len)
		return NULL;
	struct json_tokener *tok = json_tokener_new_ex(8);
	if (!tok)
		return NULL;
	json_object *o = json_tokener_parse_ex(tok, rq->body, (int)rq->body_len);
	size_t end = json_tokener_get_parse_end(tok);
	enum json_tokener_error e = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!o || e != json_tokener_success) {
		json_object_put(o);
		return NULL;
	}
	for (size_t i = end; i < rq->body_len; i++) {
		if (!strchr(" \t\r\n", rq->body[i])) {
			json_object_put(o);
			return NULL;
		}
	}
	*ret_obj = o;
	json_object *v;
	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool path_is(const char *path, const char *want)
{
	size_t n = strcspn(path, "?");
	return strlen(want) == n && strncmp(path, want, n) == 0;
}

static void signal_app(struct rp_server *s, struct rp_conn *c, enum rp_event e)
{
	s->st.signals++;
	if (s->ops && s->ops->signal)
		s->ops->signal(s->ctx, c->app_idx, c->proto, e);
}

static void handle_pantavisor(struct rp_server *s, struct rp_conn *c, const ps_http_request *rq)
{
	bool keep = rq->keep_alive;

	if (!path_is(rq->path, "/signal")) {
		respond_error(s, c, 404, NULL, "not found", keep, rq->minor);
		return;
	}
	if (strcmp(rq->method, "POST") != 0) {
		respond_error(s, c, 405, "Allow: POST\r\n", "method not allowed", keep, rq->minor);
		return;
	}
	json_object *o;
	const char *type = body_string(rq, "type", &o);
	if (type && strcmp(type, "ready") == 0) {
		signal_app(s, c, RP_EV_READY);
		respond(s, c, 200, NULL, "{}", keep, rq->minor);
	} else if (type && strcmp(type, "alive") == 0) {
		signal_app(s, c, RP_EV_ALIVE);
		respond(s, c, 200, NULL, "{}", keep, rq->minor);
	} else {
		respond_error(s, c, 400, NULL,
		              type ? "unknown signal type" : "expected a JSON object with a \\\"type\\\"",
		              keep, rq->minor);
	}
	json_object_put(o);
}

static void handle_lxd(struct rp_server *s, struct rp_conn *c, const ps_http_request *rq)
{
	bool keep = rq->keep_alive;

	if (!path_is(rq->path, "/1.0") && !path_is(rq->path, "/1.0/")) {
		respond_error(s, c, 404, NULL, "not found", keep, rq->minor);
		return;
	}
	if (strcmp(rq->method, "GET") == 0) {
		bool ready = s->ops && s->ops->is_ready && s->ops->is_ready(s->ctx, c->app_idx);
		json_object *o = json_object_new_object();
		if (!o) {
			respond_error(s, c, 500, NULL, "out of memory", false, rq->minor);
			return;
		}
		json_object_object_add(o, "api_version", json_object_new_string("1.0"));
		json_object_object_add(o, "instance_type", json_object_new_string("container"));
		json_object_object_add(o, "location", json_object_new_string(s->location));
		json_object_object_add(o, "state", json_object_new_string(ready ? "Ready" : "Started"));
		const char *js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		if (js && strlen(js) < RP_RESP_MAX - 200)
			respond(s, c, 200, NULL, js, keep, rq->minor);
		else
			respond_error(s, c, 500, NULL, "answer too long", false, rq->minor);
		json_object_put(o);
		return;
	}
	if (strcmp(rq->method, "PATCH") != 0) {
		respond_error(s, c, 405, "Allow: GET, PATCH\r\n", "method not allowed", keep, rq->minor);
		return;
	}
	json_object *o;
	const char *state = body_string(rq, "state", &o);
	if (state && strcmp(state, "Ready") == 0) {
		signal_app(s, c, RP_EV_READY);
		respond(s, c, 200, NULL, "{}", keep, rq->minor);
	} else if (state && strcmp(state, "Started") == 0) {
		signal_app(s, c, RP_EV_NOT_READY);
		respond(s, c, 200, NULL, "{}", keep, rq->minor);
	} else {
		respond_error(s, c, 400, NULL,
		              state ? "state must be Ready or Started" : "expected a JSON object with a \\\"state\\\"",
		              keep, rq->minor);
	}
	json_object_put(o);
}

/* --- connections ---------------------------------------------------------- */

static void conn_kill(struct rp_conn *c)
{
	c->dead = true;
}

/* Answer each whole request in the input, in order, while there is room
 * for the answer. */
static void conn_process(struct rp_server *s, struct rp_conn *c)
{
	while (!c->close_after && !c->dead && sizeof(c->out) - c->out_len >= RP_RESP_MAX) {
		ps_http_request rq;
		int status = 0;
		if (c->in_len == 0)
			return;
		int r = ps_http_parse_request(c->in, c->in_len, RP_BODY_MAX, &rq, &status);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			respond_error(s, c, status, NULL, ps_http_reason(status), false, 1);
			c->in_len = 0;
			return;
		}
		s->st.requests++;
		if (c->proto == RP_PANTAVISOR)
			handle_pantavisor(s, c, &rq);
		else
			handle_lxd(s, c, &rq);
		memmove(c->in, c->in + rq.consumed, c->in_len - rq.consumed);
		c->in_len -= rq.consumed;
		c->deadline_ns = mono_ns() + s->timeout_ns;
	}
}

static void conn_flush(struct rp_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				conn_kill(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
}

static void conn_read(struct rp_conn *c)
{
	while (!c->peer_eof && c->in_len < sizeof(c->in)) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				conn_kill(c);
			return;
		}
		if (n == 0) {
			c->peer_eof = true;
			return;
		}
		c->in_len += (size_t)n;
	}
}

/* Read and drop what the client still sends after its last answer. */
static void conn_drain(struct rp_conn *c)
{
	for (int i = 0; i < 4 && !c->peer_eof && !c->dead; i++) {
		c->in_len = 0;
		conn_read(c);
	}
	c->in_len = 0;
}

static void conn_io(struct rp_server *s, struct rp_conn *c, uint32_t events)
{
	if (c->dead)
		return;
	if (events & EPOLLOUT)
		conn_flush(c);
	if (c->draining) {
		conn_drain(c);
		if (c->peer_eof)
			conn_kill(c);
		return;
	}
	/* Reading waits while answers are pending: a client that does not
	 * read them is not read from (its requests stay in the kernel). Each
	 * whole request already read is answered now (nothing else would wake
	 * us for it); reads are bounded per wake-up, the rest comes on the
	 * next one (level-triggered). */
	int reads = 0;
	for (;;) {
		if (c->out_len == 0 && !c->peer_eof && reads < 4 &&
		    (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
			conn_read(c);
			reads++;
		}
		size_t before = c->in_len;
		conn_process(s, c);
		conn_flush(c);
		if (c->dead || c->out_len || c->close_after)
			break;
		if (c->in_len == before)
			break; /* nothing whole left: wait for more */
	}
	if (c->dead)
		return;
	if (c->out_len == 0 && c->close_after && !c->peer_eof) {
		/* A closing answer (an error such as 431) can go out while the
		 * client is still sending. Closing a unix socket with unread
		 * input resets the connection and the client may never read the
		 * answer: half-close instead and drop its input until its EOF,
		 * bounded by the connection's deadline. */
		shutdown(c->fd, SHUT_WR);
		c->draining = true;
		conn_drain(c);
		if (c->peer_eof) {
			conn_kill(c);
			return;
		}
	} else if (c->out_len == 0 && (c->close_after || c->peer_eof)) {
		/* Whole requests before the client's EOF were answered; a
		 * partial one is dropped. */
		conn_kill(c);
		return;
	}
	uint32_t want = c->out_len ? EPOLLOUT : (c->peer_eof ? 0 : EPOLLIN);
	if (want != c->events) {
		struct epoll_event ev = { .events = want, .data.ptr = c };
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			conn_kill(c);
		c->events = want;
	}
}

static void expire(struct rp_server *s)
{
	long long now = mono_ns();
	uint64_t x;

	if (read(s->timer.fd, &x, sizeof(x)) < 0) {
		/* spurious: the deadlines are the truth */
	}
	for (size_t i = 0; i < s->n_conns; i++) {
		struct rp_conn *c = s->conns[i];
		if (c->dead || c->deadline_ns > now)
			continue;
		if (c->draining) {
			conn_kill(c); /* answered already: not a timeout */
			continue;
		}
		s->st.timeouts++;
		if (c->in_len > 0 && c->out_len == 0) {
			/* Half a request: say why, best effort, then close. */
			respond_error(s, c, 408, NULL, "request timeout", false, 1);
			conn_flush(c);
		}
		conn_kill(c);
	}
}

static void reap_and_arm(struct rp_server *s)
{
	long long next = 0;
	size_t k = 0;

	for (size_t i = 0; i < s->n_conns; i++) {
		struct rp_conn *c = s->conns[i];
		if (c->dead) {
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			conn_free(c);
			continue;
		}
		if (!next || c->deadline_ns < next)
			next = c->deadline_ns;
		s->conns[k++] = c;
	}
	s->n_conns = k;
	struct itimerspec its = { 0 };
	if (next) {
		its.it_value.tv_sec = next / 1000000000LL;
		its.it_value.tv_nsec = next % 1000000000LL;
	}
	timerfd_settime(s->timer.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

void rp_server_dispatch(struct rp_server *s)
{
	struct epoll_event evs[16];
	int n;

	do
		n = epoll_wait(s->epfd, evs, 16, 0);
	while (n < 0 && errno == EINTR);
	for (int i = 0; i < n; i++) {
		enum src_kind *k = evs[i].data.ptr;
		switch (*k) {
		case SRC_LISTENER:
			accept_all(s, (struct rp_listener *)k);
			break;
		case SRC_CONN:
			conn_io(s, (struct rp_conn *)k, evs[i].events);
			break;
		case SRC_TIMER:
			expire(s);
			break;
		}
	}
	reap_and_arm(s);
}
