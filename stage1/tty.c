/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Terminals: a pty of the pod's own devpts for an app run with --tty, its
 * master handed to the front (foreground) or kept by stage1 for podctl
 * attach (detached), and the client end of attach. See tty.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stage1.h"
#include "tty.h"
#include "front.h"
#include "util.h"
#include "fdpass.h"

/* --- the plumbing ------------------------------------------------------------ */

int pty_open(const char *ptmx, const struct winsize *ws, int *ret_master, int *ret_slave)
{
	int unlock = 0;
	struct stat st;
	/* O_NONBLOCK: whatever is found there (a FIFO) cannot hold us */
	int m = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

	if (m < 0)
		return -errno;
	if (fstat(m, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) {
		close(m);
		return -ENOTTY; /* not a pty multiplexer */
	}
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) & ~O_NONBLOCK);
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0) {
		int e = -errno;
		close(m);
		return e;
	}
	/* The slave of this master, from the same devpts instance: no path
	 * lookup that a /dev/pts of someone else's could answer. */
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		int e = -errno;
		close(m);
		return e;
	}
	if (ws && ws->ws_row && ws->ws_col)
		ioctl(m, TIOCSWINSZ, ws);
	*ret_master = m;
	*ret_slave = s;
	return 0;
}

int pty_make_stdio(int slave)
{
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return -errno;
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return -errno;
	if (slave > 2)
		close(slave);
	return 0;
}

int fd_send(int sock, int fd)
{
	return fd_send_with(sock, fd, "F", 1);
}

int fd_send_with(int sock, int fd, const void *data, size_t len)
{
	return ps_fd_send(sock, fd, data, len, 0);
}

int fd_recv(int sock, bool nonblock)
{
	char byte;
	int fd;
	ssize_t n = ps_fd_recv(sock, &byte, 1, nonblock ? MSG_DONTWAIT : 0, &fd);

	if (n < 0)
		return (int)n;
	if (fd < 0)
		return n == 0 ? -ECONNRESET : -EBADMSG;
	return fd;
}

bool fd_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, -1);
			continue;
		}
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

void fd_pump(int *from, int to, bool drain)
{
	char buf[16384];

	for (int rounds = 0; *from >= 0 && (drain || rounds < 4); rounds++) {
		ssize_t n = read(*from, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(*from);
			*from = -1;
			return;
		}
		/* a reader who went away (EPIPE, a hung-up terminal) loses
		 * the output; the copying goes on */
		fd_write_all(to, buf, (size_t)n);
	}
}

int console_raw(int fd, struct termios *saved)
{
	struct termios t;

	if (tcgetattr(fd, saved) < 0)
		return -errno;
	t = *saved;
	cfmakeraw(&t);
	/* output processing stays: "\n" still starts a line for whatever stage1
	 * or podctl prints meanwhile */
	t.c_oflag |= OPOST;
	if (tcsetattr(fd, TCSADRAIN, &t) < 0)
		return -errno;
	return 0;
}

int console_restore(int fd, const struct termios *saved)
{
	/* TCSADRAIN would block on output stopped with ctrl-s */
	return tcsetattr(fd, TCSANOW, saved) < 0 ? -errno : 0;
}

int console_resize(int win_fd, int master)
{
	struct winsize ws;

	if (ioctl(win_fd, TIOCGWINSZ, &ws) < 0)
		return -errno;
	if (ioctl(master, TIOCSWINSZ, &ws) < 0)
		return -errno;
	return 0;
}

#define KEY_CTRL_P 0x10
#define KEY_CTRL_Q 0x11

bool console_detach_keys(int *state, char *buf, size_t *len)
{
	size_t out = 0;

	for (size_t i = 0; i < *len; i++) {
		char c = buf[i];
		if (*state == 1) {
			*state = 0;
			if (c == KEY_CTRL_Q) {
				*len = out;
				return true;
			}
			/* the held-back ctrl-p goes on after all: when it came in
			 * an earlier read, it takes the one byte of room the
			 * caller leaves after *len (tty.h) */
			buf[out++] = KEY_CTRL_P;
		}
		if (c == KEY_CTRL_P) {
			*state = 1;
			continue;
		}
		buf[out++] = c;
	}
	*len = out;
	return false;
}

bool relay_signals(int sigfd, pid_t child, bool group, int win_fd, int master, int *status)
{
	struct signalfd_siginfo si;
	bool reaped = false;

	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGCHLD) {
			if (waitpid(child, status, WNOHANG) == child)
				reaped = true;
		} else if (sig == SIGWINCH) {
			if (master >= 0)
				console_resize(win_fd, master);
		} else if (!group || kill(-child, sig) < 0) {
			kill(child, sig); /* (with group: not its own group yet) */
		}
	}
	return reaped;
}

/* --- stage1's side ----------------------------------------------------------- */

/* foreground: our copy of the app's pty master (tty_app_started) */
static int fg_master_hold = -1;

static struct {
	int pass[2];        /* setup child → stage1: the master */
	int master;         /* detached: the running app's master */
	int conn;           /* the attached client's control connection */
	int epfd;
	uint32_t kind;
	struct app *app;    /* whose master it is */
} T = { .pass = { -1, -1 }, .master = -1, .conn = -1, .epfd = -1 };

enum { TTY_IDX_MASTER = 0, TTY_IDX_CONN = 1 };

int tty_setup(struct pod *pod, ps_error **err)
{
	if (!pod->tty)
		return 0;
	if (pod->manifest->n_apps != 1)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "--tty needs exactly one app");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, T.pass) < 0)
		return ps_error_errno(err, "terminal socket");
	return 0;
}

int tty_child_fd(void)
{
	return T.pass[1];
}

int tty_child(struct pod *pod, struct app *a)
{
	struct winsize ws = { 0 };
	int m, s, r;

	if (!pod->tty || a->init)
		return 0;
	front_winsize(&ws);
	/* Our root is the app's now: this is the devpts we mounted on its /dev/pts. */
	r = pty_open("/dev/pts/ptmx", &ws, &m, &s);
	if (r < 0)
		return r;
	/* The app's user owns its terminal, as login does it. */
	if (fchown(s, a->uid, (gid_t)-1) < 0) {
		/* not fatal: root's terminal still works for the app */
	}
	r = fd_send(T.pass[1], m);
	close(m);
	if (r < 0) {
		close(s);
		return r;
	}
	close(T.pass[1]);
	return pty_make_stdio(s);
}

static void master_watch(bool on)
{
	if (T.master < 0 || T.epfd < 0)
		return;
	if (on) {
		struct epoll_event ev = { .events = EPOLLIN,
			                  .data.u64 = ((uint64_t)T.kind << 32) | TTY_IDX_MASTER };
		epoll_ctl(T.epfd, EPOLL_CTL_ADD, T.master, &ev);
	} else {
		epoll_ctl(T.epfd, EPOLL_CTL_DEL, T.master, NULL);
	}
}

static void master_close(void)
{
	if (T.master < 0)
		return;
	master_watch(false);
	close(T.master);
	T.master = -1;
}

void tty_app_started(struct pod *pod, struct app *a)
{
	if (!pod->tty || a->init || T.pass[0] < 0)
		return;
	/* The last one sent: an earlier start that failed after making its
	 * pty may have left one behind. */
	int m = -EAGAIN;
	for (int f; (f = fd_recv(T.pass[0], true)) >= 0;) {
		if (m >= 0)
			close(m);
		m = f;
	}
	if (m < 0) {
		s1_warn("app %s: no terminal from its setup: %s", a->m->name, strerror(-m));
		return;
	}
	if (front_console_fd() >= 0) {
		/* foreground: the front copies it to the caller's terminal */
		int r = fd_send(front_console_fd(), m);
		if (r < 0)
			s1_warn("app %s: terminal to podctl: %s", a->m->name, strerror(-r));
		/* Our copy stays open, never read: a front killed with SIGKILL
		 * must not hang up the app's terminal (SIGHUP, an app-failed
		 * end) before we stop the pod and record it as stopped. */
		if (fg_master_hold >= 0)
			close(fg_master_hold);
		fg_master_hold = m;
		return;
	}
	/* detached: ours until someone attaches; a restart brings a new one */
	master_close();
	T.master = m;
	T.app = a;
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	if (T.conn < 0)
		master_watch(true);
}

int tty_loop_add(struct pod *pod, int epfd, uint32_t ev_kind)
{
	(void)pod;
	T.epfd = epfd;
	T.kind = ev_kind;
	return 0;
}

static void master_drain(void)
{
	char buf[16384];

	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t n = read(T.master, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* EIO: every slave fd is closed, the app is gone */
			master_close();
			return;
		}
		if (T.app)
			/* nobody attached: to the app's log, as a pipe's output */
			logfile_append(&T.app->log, buf, (size_t)n);
	}
}

static void detach(void)
{
	if (T.conn < 0)
		return;
	epoll_ctl(T.epfd, EPOLL_CTL_DEL, T.conn, NULL);
	close(T.conn);
	T.conn = -1;
	master_watch(true);
}

void tty_event(struct pod *pod, uint32_t idx)
{
	(void)pod;
	if (idx == TTY_IDX_MASTER && T.master >= 0)
		master_drain();
	else if (idx == TTY_IDX_CONN)
		detach(); /* the client closed its end (or wrote: nothing is expected) */
}

bool tty_attach(struct pod *pod, int conn)
{
	const char *why = NULL;

	if (!pod->tty)
		why = "pod has no terminal (run it with --tty)";
	else if (front_console_fd() >= 0)
		why = "pod runs in the foreground: its terminal is that podctl's";
	else if (T.master < 0)
		why = "the app's terminal is closed (not started, or exited)";
	else if (T.conn >= 0)
		why = "already attached";
	if (why) {
		ps_control_reply_msg(conn, why);
		return false;
	}
	if (ps_control_reply_fd(conn, T.master) < 0)
		return false;
	master_watch(false);
	T.conn = conn;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP,
		                  .data.u64 = ((uint64_t)T.kind << 32) | TTY_IDX_CONN };
	epoll_ctl(T.epfd, EPOLL_CTL_MOD, conn, &ev);
	return true;
}

/* --- podctl enter -------------------------------------------------------------- */

int tty_relay_prepare(struct tty_relay *rl, bool tty)
{
	int p[2];

	*rl = (struct tty_relay){ .master = -1, .slave = -1, .ours = { -1, -1, -1 },
		                  .theirs = { -1, -1, -1 } };
	if (tty) {
		struct winsize ws = { 0 };
		if (ioctl(isatty(0) ? 0 : 1, TIOCGWINSZ, &ws) < 0)
			memset(&ws, 0, sizeof(ws));
		/* We joined the app's mount ns: its root is ours, so this is the
		 * devpts instance of the app's own /dev (checked to be a ptmx). */
		int r = pty_open("/dev/pts/ptmx", &ws, &rl->master, &rl->slave);
		if (r < 0)
			return r;
		rl->active = true;
		return 0;
	}
	for (int fd = 0; fd < 3; fd++) {
		if (!isatty(fd))
			continue;
		if (pipe2(p, O_CLOEXEC) < 0) {
			int e = -errno;
			tty_relay_close(rl);
			return e;
		}
		rl->ours[fd] = fd == 0 ? p[1] : p[0];
		rl->theirs[fd] = fd == 0 ? p[0] : p[1];
		rl->active = true;
	}
	return 0;
}

void tty_relay_close(struct tty_relay *rl)
{
	int *fds[] = { &rl->master, &rl->slave, &rl->ours[0], &rl->ours[1], &rl->ours[2],
		       &rl->theirs[0], &rl->theirs[1], &rl->theirs[2] };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
}

int tty_relay_child(struct tty_relay *rl)
{
	if (rl->master >= 0) {
		close(rl->master);
		if (setsid() < 0)
			return -errno;
		return pty_make_stdio(rl->slave);
	}
	for (int fd = 0; fd < 3; fd++) {
		if (rl->ours[fd] >= 0)
			close(rl->ours[fd]);
		if (rl->theirs[fd] >= 0 && dup2(rl->theirs[fd], fd) < 0)
			return -errno;
	}
	return 0;
}

int tty_relay_run(struct tty_relay *rl, pid_t child)
{
	sigset_t mask;
	struct termios saved;
	int status = 0;
	bool raw = false, in_open = true, done = false;
	int win_fd = isatty(0) ? 0 : 1;

	if (rl->slave >= 0) {
		close(rl->slave);
		rl->slave = -1;
	}
	for (int fd = 0; fd < 3; fd++)
		if (rl->theirs[fd] >= 0) {
			close(rl->theirs[fd]);
			rl->theirs[fd] = -1;
		}
	sigemptyset(&mask);
	front_forwarded_signals(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	/* A command that ended before SIGCHLD was blocked above lost its
	 * signal (ignored by default), not its zombie: look once now. */
	if (waitpid(child, &status, WNOHANG) == child)
		done = true;
	if (rl->master >= 0 && isatty(0))
		raw = console_raw(0, &saved) == 0;
	int to_cmd = rl->master >= 0 ? rl->master : rl->ours[0];
	const int readers[] = { rl->master, rl->ours[1], rl->ours[2] };
	for (size_t i = 0; i < ARRAY_SIZE(readers); i++)
		if (readers[i] >= 0)
			fcntl(readers[i], F_SETFL, fcntl(readers[i], F_GETFL) | O_NONBLOCK);
	while (!done) {
		struct pollfd p[5] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = rl->master, .events = POLLIN },
			{ .fd = rl->ours[1], .events = POLLIN },
			{ .fd = rl->ours[2], .events = POLLIN },
			{ .fd = in_open && to_cmd >= 0 ? 0 : -1, .events = POLLIN },
		};
		if (poll(p, 5, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && relay_signals(sigfd, child, true, win_fd, rl->master, &status))
			done = true;
		if (p[1].revents) {
			char buf[16384];
			ssize_t n = read(rl->master, buf, sizeof(buf));
			if (n > 0)
				fd_write_all(1, buf, (size_t)n);
			else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* EIO: the command's side is closed; wait for it */
				close(rl->master);
				rl->master = to_cmd = -1;
			}
		}
		if (p[2].revents)
			fd_pump(&rl->ours[1], 1, false);
		if (p[3].revents)
			fd_pump(&rl->ours[2], 2, false);
		if (p[4].revents) {
			char buf[4096];
			ssize_t n = read(0, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0 || !fd_write_all(to_cmd, buf, (size_t)n)) {
				in_open = false;
				if (n == 0 && rl->master >= 0)
					fd_write_all(rl->master, "\x04", 1); /* the pty's EOF */
				if (rl->ours[0] >= 0) {
					close(rl->ours[0]); /* the command reads EOF */
					rl->ours[0] = to_cmd = -1;
				}
			}
		}
	}
	if (!done)
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
	/* what is left; a process the command left behind may keep a pipe
	 * open: drain, do not wait for EOF */
	fd_pump(&rl->master, 1, true);
	fd_pump(&rl->ours[1], 1, true);
	fd_pump(&rl->ours[2], 2, true);
	if (raw)
		console_restore(0, &saved);
	tty_relay_close(rl);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --- podctl attach ----------------------------------------------------------- */

int stage1_attach(int pod_fd, const char *uuid)
{
	ps_error *err = NULL;
	int master = -1, conn = -1;
	struct termios saved;
	bool raw = false;

	if (ps_control_attach(pod_fd, &master, &conn, &err) < 0) {
		fprintf(stderr, "podctl attach: pod %s: %s\n", uuid, err->msg);
		ps_error_free(&err);
		return 1;
	}
	close(pod_fd);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGWINCH);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGQUIT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	bool in_tty = isatty(0);
	if (in_tty) {
		console_resize(0, master);
		raw = console_raw(0, &saved) == 0;
	}
	/* The master is stage1's open file: non-blocking already (tty_app_started) */
	int code = 0, state = 0;
	bool in_open = true;
	const char *bye = NULL;
	for (;;) {
		struct pollfd p[4] = {
			{ .fd = master, .events = POLLIN },
			{ .fd = in_open ? 0 : -1, .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = conn, .events = POLLRDHUP },
		};
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			code = 1;
			break;
		}
		if (p[0].revents) {
			char buf[16384];
			ssize_t n = read(master, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				bye = "the app's terminal closed";
				break;
			}
			if (!fd_write_all(1, buf, (size_t)n)) {
				code = 1;
				break;
			}
		}
		/* signals first: a resize takes effect before what was typed after it */
		if (p[2].revents) {
			struct signalfd_siginfo si;
			bool quit = false;
			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH)
					console_resize(in_tty ? 0 : 1, master);
				else
					quit = true;
			}
			if (quit) {
				bye = "detached";
				code = 0;
				break;
			}
		}
		if (p[1].revents) {
			char buf[4096];
			/* one byte of room for a ctrl-p held back from the last read */
			ssize_t n = read(0, buf, sizeof(buf) - 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				in_open = false; /* stdin closed: output still flows */
			} else {
				size_t len = (size_t)n;
				bool det = console_detach_keys(&state, buf, &len);
				if (len && !fd_write_all(master, buf, len)) {
					code = 1;
					break;
				}
				if (det) {
					bye = "detached";
					break;
				}
			}
		}
		if (p[3].revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			bye = "the pod exited";
			break;
		}
	}
	if (raw)
		console_restore(0, &saved);
	if (bye && in_tty)
		fprintf(stderr, "\r\npodctl attach: %s\n", bye);
	close(master);
	close(conn);
	return code;
}
