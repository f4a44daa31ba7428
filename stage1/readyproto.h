/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_READYPROTO_H
#define PODCTL_STAGE1_READYPROTO_H

/*
 * Ready protocols over HTTP (Documentation/readiness.md): Pantavisor's
 * `POST /signal` on /pantavisor/pv-ctrl and LXD devlxd's `PATCH /1.0` /
 * `GET /1.0` on /dev/lxd/sock, one unix stream socket per app and protocol
 * the app opted in to, bound in the app's dir and bind-mounted into that
 * app's root only (as the sd_notify socket is, notify.h).
 *
 * Self-contained: the server has an epoll fd of its own (rp_server_fd());
 * the caller watches it for EPOLLIN and calls rp_server_dispatch(), which
 * never blocks. Requests become events through struct rp_ops, called
 * synchronously from dispatch. Each connection has a deadline
 * (RP_CONN_TIMEOUT_MS from its accept or its last answer), a bounded input
 * buffer (head PS_HTTP_HEAD_MAX, body RP_BODY_MAX: 431 / 413 beyond) and is
 * answered in order; a client that does not read its answers is not read
 * from either. At most RP_CONNS_MAX connections per socket.
 *
 * Functions return 0 or a negative errno and never print.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum rp_protocol {
	RP_PANTAVISOR,
	RP_LXD,
	RP_N_PROTOCOLS,
};

enum rp_event {
	RP_EV_READY,      /* pantavisor {"type":"ready"}, lxd {"state":"Ready"} */
	RP_EV_ALIVE,      /* pantavisor {"type":"alive"}: a watchdog heartbeat */
	RP_EV_NOT_READY,  /* lxd {"state":"Started"} */
};

#define RP_BODY_MAX 4096
#define RP_CONNS_MAX 8
#define RP_CONN_TIMEOUT_MS 10000
#define RP_OUT_MAX 4096

/* "pantavisor", "lxd" */
const char *rp_protocol_name(enum rp_protocol p);
const char *rp_event_name(enum rp_event e);
/* Socket file in apps/<app>/ and where the app sees it. */
const char *rp_socket_name(enum rp_protocol p);     /* "pv-ctrl", "lxd-sock" */
const char *rp_path_in_app(enum rp_protocol p);     /* "/pantavisor/pv-ctrl", "/dev/lxd/sock" */

struct rp_ops {
	/* A signal from app app_idx. */
	void (*signal)(void *ctx, unsigned app_idx, enum rp_protocol p, enum rp_event e);
	/* Is the app READY now (for LXD's GET /1.0 "state")? */
	bool (*is_ready)(void *ctx, unsigned app_idx);
};

struct rp_server;

/* location: what LXD's GET /1.0 says in "location" (copied). */
int rp_server_new(const struct rp_ops *ops, void *ctx, const char *location, struct rp_server **ret);
void rp_server_free(struct rp_server *s);

/*
 * Listen for app app_idx on protocol p: a socket at rp_socket_name(p) in
 * app_dirfd (a stale one replaced), bound through /proc/self/fd so the
 * data dir's path length does not matter.
 */
int rp_server_listen(struct rp_server *s, unsigned app_idx, enum rp_protocol p, int app_dirfd);

/* Serve an already connected stream socket as app app_idx's (tests; accept
 * uses it too). Takes fd, also on failure. */
int rp_server_adopt(struct rp_server *s, unsigned app_idx, enum rp_protocol p, int fd);

/* Connections from a live process outside this pid namespace (pid: one
 * inside, e.g. the pod's pid 1) are closed unanswered. Without this call
 * only the socket's reachability counts. */
int rp_server_set_pidns(struct rp_server *s, pid_t pid);

/* The per-connection deadline (default RP_CONN_TIMEOUT_MS), for tests. */
void rp_server_set_timeout(struct rp_server *s, long long ms);

/* The fd to watch for EPOLLIN (an epoll fd). */
int rp_server_fd(const struct rp_server *s);

/* Handle whatever is ready: accepts, reads, writes, deadlines. Never blocks. */
void rp_server_dispatch(struct rp_server *s);

/* Open connections (tests). */
size_t rp_server_n_conns(const struct rp_server *s);

/* Stats for tests and debug output. */
struct rp_stats {
	unsigned long requests, signals, errors, rejected, timeouts;
};
void rp_server_stats(const struct rp_server *s, struct rp_stats *ret);

#endif
