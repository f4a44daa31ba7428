/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sd_notify sender (libc only; see sdnotify.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

static int notify_addr(const char *addr, struct sockaddr_un *sa, socklen_t *salen)
{
	size_t alen = addr ? strlen(addr) : 0;

	if (alen == 0 || alen >= sizeof(sa->sun_path))
		return -EINVAL;
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (addr[0] == '@') {
		/* Abstract: a leading NUL, and the length says where it ends. */
		sa->sun_path[0] = '\0';
		memcpy(sa->sun_path + 1, addr + 1, alen - 1);
		*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen);
	} else if (addr[0] == '/') {
		memcpy(sa->sun_path, addr, alen);
		*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen + 1);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int send_msg(int fd, const struct sockaddr_un *sa, socklen_t salen, const char *msg, size_t len,
                    int pass_fd)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr mh = { .msg_name = (void *)sa, .msg_namelen = salen, .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (pass_fd >= 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = &control;
		mh.msg_controllen = sizeof(control);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
}

static int notify(const char *addr, const char *msg, size_t len, int timeout_ms)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int r = notify_addr(addr, &sa, &salen);

	if (r < 0)
		return r;
	if (len == 0 || len > PS_NOTIFY_MSG_MAX)
		return -EINVAL;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = send_msg(fd, &sa, salen, msg, len, -1);
	if (r == 0 && timeout_ms >= 0) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0) {
			r = -errno;
		} else {
			r = send_msg(fd, &sa, salen, "BARRIER=1", 9, p[1]);
			close(p[1]);
			if (r == 0) {
				struct pollfd pfd = { .fd = p[0], .events = POLLIN };
				int k;
				do
					k = poll(&pfd, 1, timeout_ms);
				while (k < 0 && errno == EINTR);
				r = k < 0 ? -errno : k == 0 ? -ETIMEDOUT : 0;
			}
			close(p[0]);
		}
	}
	close(fd);
	return r;
}

int ps_sd_notify_send(const char *addr, const char *msg, size_t len)
{
	return notify(addr, msg, len, -1);
}

int ps_sd_notify_send_wait(const char *addr, const char *msg, size_t len, int timeout_ms)
{
	return notify(addr, msg, len, timeout_ms < 0 ? 0 : timeout_ms);
}

int ps_sd_notify_env(const char *msg)
{
	const char *addr = getenv("NOTIFY_SOCKET");

	if (!addr || !*addr)
		return -ENXIO;
	return ps_sd_notify_send(addr, msg, strlen(msg));
}

static bool is_raw_key(const char *w)
{
	const char *eq = strchr(w, '=');

	if (!eq || eq == w)
		return false;
	for (const char *c = w; c < eq; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return true;
}

int ps_sd_notify_build(int argc, char *const *argv, char **ret, size_t *ret_len,
                       const char **ret_bad)
{
	static const struct {
		const char *word, *line;
	} fixed[] = {
		{ "ready", "READY=1" },         { "stopping", "STOPPING=1" },
		{ "reloading", "RELOADING=1" }, { "watchdog", "WATCHDOG=1" },
	};
	char *buf = malloc(PS_NOTIFY_MSG_MAX + 1);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i], *prefix = "", *rest = NULL;
		for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]); k++)
			if (strcmp(w, fixed[k].word) == 0)
				rest = fixed[k].line;
		if (!rest && strncmp(w, "status=", 7) == 0)
			prefix = "STATUS=", rest = w + 7;
		else if (!rest && strncmp(w, "mainpid=", 8) == 0)
			prefix = "MAINPID=", rest = w + 8;
		else if (!rest && is_raw_key(w))
			rest = w;
		if (!rest || strchr(w, '\n')) {
			free(buf);
			if (ret_bad)
				*ret_bad = w;
			return -EINVAL;
		}
		size_t add = strlen(prefix) + strlen(rest) + 1;
		if (len + add > PS_NOTIFY_MSG_MAX) {
			free(buf);
			if (ret_bad)
				*ret_bad = w;
			return -E2BIG;
		}
		memcpy(buf + len, prefix, strlen(prefix));
		len += strlen(prefix);
		memcpy(buf + len, rest, strlen(rest));
		len += strlen(rest);
		buf[len++] = '\n';
	}
	if (len == 0) {
		free(buf);
		if (ret_bad)
			*ret_bad = "";
		return -EINVAL;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}
