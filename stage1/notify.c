/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sd_notify receiver: per-app sockets, credentials check, parser. */
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <poll.h>

#include "notify.h"
#include "util.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif
#ifndef PIDFD_GET_MNT_NAMESPACE
#define PIDFD_GET_MNT_NAMESPACE _IO(0xFF, 3)
#endif

void notify_msg_clear(struct notify_msg *m)
{
	free(m->status);
	m->status = NULL;
}

static int parse_ull(const char *s, size_t n, long long *ret)
{
	char buf[32];
	char *end;

	if (n == 0 || n >= sizeof(buf) || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || *end || v > LLONG_MAX)
		return -EINVAL;
	*ret = (long long)v;
	return 0;
}

static bool key_is(const char *line, size_t klen, const char *key)
{
	return strlen(key) == klen && memcmp(line, key, klen) == 0;
}

static bool val_is(const char *v, size_t vlen, const char *want)
{
	return strlen(want) == vlen && memcmp(v, want, vlen) == 0;
}

int notify_parse(const char *buf, size_t len, struct notify_msg *ret)
{
	struct notify_msg m = { .watchdog_usec = -1, .extend_usec = -1, .errnum = -1 };

	if (len > PS_NOTIFY_MSG_MAX)
		return -EMSGSIZE;
	if (memchr(buf, '\0', len))
		return -EBADMSG;
	for (const char *p = buf, *end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *eq = memchr(p, '=', (size_t)(le - p));
		if (le == p) {
			p = le + 1;
			continue;
		}
		if (!eq) {
			m.n_unknown++;
			p = le + 1;
			continue;
		}
		size_t klen = (size_t)(eq - p), vlen = (size_t)(le - eq - 1);
		const char *v = eq + 1;
		long long n;
		if (key_is(p, klen, "READY")) {
			if (val_is(v, vlen, "1"))
				m.ready = true;
			else
				m.n_invalid++;
		} else if (key_is(p, klen, "STOPPING")) {
			if (val_is(v, vlen, "1"))
				m.stopping = true;
			else
				m.n_invalid++;
		} else if (key_is(p, klen, "RELOADING")) {
			if (val_is(v, vlen, "1"))
				m.reloading = true;
			else
				m.n_invalid++;
		} else if (key_is(p, klen, "WATCHDOG")) {
			if (val_is(v, vlen, "1"))
				m.watchdog = true;
			else if (val_is(v, vlen, "trigger"))
				m.watchdog_trigger = true;
			else
				m.n_invalid++;
		} else if (key_is(p, klen, "STATUS")) {
			char *s = strndup(v, vlen);
			if (!s) {
				notify_msg_clear(&m);
				return -ENOMEM;
			}
			free(m.status); /* the last STATUS= wins */
			m.status = s;
		} else if (key_is(p, klen, "MAINPID")) {
			if (parse_ull(v, vlen, &n) == 0 && n > 0 && n <= INT_MAX)
				m.mainpid = (pid_t)n;
			else
				m.n_invalid++;
		} else if (key_is(p, klen, "WATCHDOG_USEC")) {
			if (parse_ull(v, vlen, &n) == 0)
				m.watchdog_usec = n;
			else
				m.n_invalid++;
		} else if (key_is(p, klen, "EXTEND_TIMEOUT_USEC")) {
			if (parse_ull(v, vlen, &n) == 0)
				m.extend_usec = n;
			else
				m.n_invalid++;
		} else if (key_is(p, klen, "ERRNO")) {
			if (parse_ull(v, vlen, &n) == 0 && n <= INT_MAX)
				m.errnum = (int)n;
			else
				m.n_invalid++;
		} else {
			m.n_unknown++;
		}
		p = le + 1;
	}
	*ret = m;
	return 0;
}

int notify_sock_bind_source(int app_dirfd, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/proc/self/fd/%d/" NOTIFY_SOCKET_NAME, app_dirfd);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int notify_sock_open(int app_dirfd, struct notify_sock *ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1, r;

	r = notify_sock_bind_source(app_dirfd, sa.sun_path, sizeof(sa.sun_path));
	if (r < 0)
		return r;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;
	/* The sender's pidfd with each datagram, where the kernel has it. */
	(void)setsockopt(fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one));
	/* A stale socket from an earlier run of this pod would make bind() fail. */
	if (unlinkat(app_dirfd, NOTIFY_SOCKET_NAME, 0) < 0 && errno != ENOENT)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	*ret = (struct notify_sock){ .fd = TAKE_FD(fd) };
	return 0;
}

static int pidns_of(pid_t pid, struct stat *st)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	return stat(path, st) < 0 ? -errno : 0;
}

int notify_sock_set_pidns(struct notify_sock *s, pid_t pid)
{
	struct stat st;
	int r = pidns_of(pid, &st);

	if (r < 0)
		return r;
	s->have_pidns = true;
	s->pidns_dev = st.st_dev;
	s->pidns_ino = st.st_ino;
	return 0;
}

int notify_sock_set_mntns(struct notify_sock *s, pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	s->have_mntns = true;
	if (stat(path, &st) < 0) {
		/* gone already: then nothing of it can send; match no one */
		s->mntns_dev = 0;
		s->mntns_ino = 0;
		return -errno;
	}
	s->mntns_dev = st.st_dev;
	s->mntns_ino = st.st_ino;
	return 0;
}

/* The mount ns of the process behind pidfd (pid its pid in our pid ns):
 * 0 with st filled, or -errno (-ESRCH: it has exited). */
static int mntns_of_pidfd(int pidfd, pid_t pid, struct stat *st)
{
	int nsfd = ioctl(pidfd, PIDFD_GET_MNT_NAMESPACE, 0);
	if (nsfd >= 0) {
		int r = fstat(nsfd, st) < 0 ? -errno : 0;
		close(nsfd);
		return r;
	}
	if (errno == ESRCH)
		return -ESRCH;
	/* Older kernel: by pid, then make sure it was still the same process. */
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	if (stat(path, st) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return -ESRCH;
	return 0;
}

/* Is the sender one of the app's? See the header. A sender still alive
 * must be in the app's mount ns; before the app runs, in the pod's pid ns. */
static bool sender_ok(const struct notify_sock *s, const struct ucred *uc, int sender_pidfd)
{
	struct stat st;

	if (!uc || uc->pid <= 0)
		return false;
	if (!s->have_mntns) {
		if (!s->have_pidns)
			return true;
		if (pidns_of(uc->pid, &st) < 0)
			return false;
		return st.st_dev == s->pidns_dev && st.st_ino == s->pidns_ino;
	}
	int pidfd = sender_pidfd >= 0 ? sender_pidfd : (int)syscall(SYS_pidfd_open, uc->pid, 0);
	if (pidfd < 0)
		return false;
	int r = mntns_of_pidfd(pidfd, uc->pid, &st);
	if (pidfd != sender_pidfd)
		close(pidfd);
	return r == 0 && st.st_dev == s->mntns_dev && st.st_ino == s->mntns_ino;
}

#define PASSED_MAX 16

/* One datagram; the fds passed along are left in passed[] for the caller
 * to close once the sender has been checked (see notify_sock_receive()). */
static int receive(struct notify_sock *s, struct notify_msg *ret, pid_t *ret_pid, int *passed,
                   size_t *npassed)
{
	char buf[PS_NOTIFY_MSG_MAX + 1];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int)) +
		         CMSG_SPACE(sizeof(int) * 16)];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = &control,
		.msg_controllen = sizeof(control),
	};
	const struct ucred *uc = NULL;
	_cleanup_close_ int pidfd = -1;
	ssize_t n;

	do
		n = recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
			uc = (const struct ucred *)CMSG_DATA(c);
		else if (c->cmsg_type == SCM_PIDFD && c->cmsg_len == CMSG_LEN(sizeof(int)) && pidfd < 0)
			memcpy(&pidfd, CMSG_DATA(c), sizeof(int));
		else if (c->cmsg_type == SCM_RIGHTS) {
			/* We keep no fd store: what was passed is closed, after the
			 * check (a BARRIER=1's pipe keeps its sender alive until then). */
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < nfd; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*npassed < PASSED_MAX)
					passed[(*npassed)++] = fd;
				else
					close(fd);
			}
		}
	}
	if (!sender_ok(s, uc, pidfd)) {
		s->rejected++;
		s->rejected_sender++;
		if (ret_pid)
			*ret_pid = uc ? uc->pid : 0;
		return -EPERM;
	}
	if ((size_t)n > PS_NOTIFY_MSG_MAX || (mh.msg_flags & MSG_TRUNC)) {
		s->rejected++;
		return -EMSGSIZE;
	}
	struct notify_msg m;
	int r = notify_parse(buf, (size_t)n, &m);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		s->rejected++;
		return r;
	}
	s->accepted++;
	*ret = m;
	if (ret_pid)
		*ret_pid = uc->pid;
	return 0;
}

int notify_sock_receive(struct notify_sock *s, struct notify_msg *ret, pid_t *ret_pid)
{
	int passed[PASSED_MAX];
	size_t npassed = 0;
	int r = receive(s, ret, ret_pid, passed, &npassed);

	for (size_t i = 0; i < npassed; i++)
		close(passed[i]);
	return r;
}

void notify_sock_close(struct notify_sock *s, int app_dirfd)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (app_dirfd >= 0)
		unlinkat(app_dirfd, NOTIFY_SOCKET_NAME, 0);
}
