/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The front of a foreground run: see front.h. The front holds the caller's
 * terminal so that no process of the pod does: an app writes to a pipe or
 * to its own pty, and the front copies that to the caller's stdout/stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stage1.h"
#include "front.h"
#include "tty.h"
#include "util.h"

/* The supervisor's view (set in the child of the fork). */
static int console_sock = -1;
static struct winsize start_ws;
static pid_t front_pid;
static int term_fd = -1;          /* the caller's terminal, to restore if the front dies */
static struct termios term_saved;

int front_console_fd(void)
{
	return console_sock;
}

void front_winsize(struct winsize *ws)
{
	*ws = start_ws;
}

void front_forwarded_signals(sigset_t *set)
{
	static const int sigs[] = { SIGHUP,  SIGINT,    SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
		                    SIGSTKFLT, SIGVTALRM, SIGPROF, SIGIO,   SIGPWR,  SIGXCPU, SIGXFSZ };

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(set, sigs[i]);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(set, s);
}

void front_check(void)
{
	if (front_pid > 0 && term_fd >= 0 && getppid() != front_pid) {
		console_restore(term_fd, &term_saved);
		close(term_fd);
		term_fd = -1;
	}
}

const char *signal_apps(struct pod *pod, int sig, const char *name)
{
	static char msg[PS_CONTROL_MSG_MAX];
	bool found = false, sent = false;

	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		if (name && *name && !streq(a->m->name, name))
			continue;
		found = true;
		if (app_is_running(a) && !a->failed && kill(a->pid, sig) == 0) {
			s1_debug("app %s: signal %d", a->m->name, sig);
			sent = true;
		}
	}
	if (name && *name && !found)
		snprintf(msg, sizeof(msg), "no app %s", name);
	else if (!sent && name && *name)
		snprintf(msg, sizeof(msg), "app %s is not running", name);
	else if (!sent)
		snprintf(msg, sizeof(msg), "no app is running");
	else
		return NULL;
	return msg;
}

/* --- the front ---------------------------------------------------------------- */

struct front {
	pid_t child;
	const char *uuid;
	int pod_fd;
	int sock;              /* pty masters arrive here */
	int master;
	int out, err, in;      /* pipes from/to the supervisor, -1 when not used */
	bool tty_in;           /* typed input goes to the master */
	bool in_open;
	bool raw;
	struct termios saved;
};

static void nonblock(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int __attribute__((noreturn)) front_main(struct front *f, const sigset_t *mask)
{
	int sigfd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
	int status = 0, win_fd = isatty(0) ? 0 : 1;
	bool done = false;

	signal(SIGPIPE, SIG_IGN);
	nonblock(f->out);
	nonblock(f->err);
	while (!done) {
		struct pollfd p[6] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = f->sock, .events = POLLIN },
			{ .fd = f->master, .events = POLLIN },
			{ .fd = f->out, .events = POLLIN },
			{ .fd = f->err, .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
		};
		if (f->in_open && ((f->tty_in && f->master >= 0) || f->in >= 0))
			p[5].fd = 0;
		if (poll(p, 6, -1) < 0) {
			if (errno == EINTR)
				continue;
			/* cannot wait: stop copying, wait for the pod */
			break;
		}
		if (p[0].revents && relay_signals(sigfd, f->child, false, win_fd, f->master, &status))
			done = true;
		if (p[1].revents) {
			int m = fd_recv(f->sock, true);
			if (m >= 0) {
				/* a new run of the app (restart): a new pty */
				if (f->master >= 0)
					fd_pump(&f->master, 1, true);
				if (f->master >= 0)
					close(f->master);
				f->master = m;
				nonblock(m);
				console_resize(win_fd, m);
			} else if (m != -EAGAIN) {
				close(f->sock);
				f->sock = -1;
			}
		}
		if (p[2].revents)
			fd_pump(&f->master, 1, false);
		if (p[3].revents)
			fd_pump(&f->out, 1, false);
		if (p[4].revents)
			fd_pump(&f->err, 2, false);
		if (p[5].revents) {
			char buf[4096];
			ssize_t n = read(0, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			int to = f->tty_in ? f->master : f->in;
			if (n <= 0 || !fd_write_all(to, buf, (size_t)n)) {
				/* our stdin ended (not a terminal: `… | podctl run -it`):
				 * the pty's end-of-file character, so the app reads EOF */
				if (n == 0 && f->tty_in)
					fd_write_all(f->master, "\x04", 1);
				f->in_open = false;
				if (f->in >= 0) {
					close(f->in); /* the app reads EOF */
					f->in = -1;
				}
			}
		}
	}
	if (!done)
		while (waitpid(f->child, &status, 0) < 0 && errno == EINTR)
			;
	/* Everything the pod wrote is in the pipes and the pty by now. */
	nonblock(f->master);
	fd_pump(&f->master, 1, true);
	fd_pump(&f->out, 1, true);
	fd_pump(&f->err, 2, true);
	if (f->raw)
		console_restore(0, &f->saved);
	int code;
	if (WIFSIGNALED(status)) {
		/* The supervisor was killed: the pod went with it (its init and
		 * apps die with it), and we still hold the pod's lock. Record the
		 * end it could not. */
		ps_exit_marker em = { 0 };
		code = 128 + WTERMSIG(status);
		if (ps_exit_marker_read(f->pod_fd, &em, NULL) == -ENOENT) {
			ps_exit_marker rec = { .code = code, .signal = WTERMSIG(status),
				               .reason = "stage1-killed", .time_ns = ps_now_ns() };
			ps_exit_marker_write(f->pod_fd, &rec, true, NULL);
		} else {
			ps_exit_marker_clear(&em);
		}
		fprintf(stderr, "podctl: pod %s: stage1 was killed by signal %d (%s)\n", f->uuid, WTERMSIG(status),
		        sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	} else {
		code = WEXITSTATUS(status);
	}
	exit(code);
}

void front_split(struct pod *pod)
{
	bool in_tty = isatty(0), out_tty = isatty(1), err_tty = isatty(2);
	int sp[2] = { -1, -1 }, outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	struct front f = { .uuid = pod->uuid, .pod_fd = pod->pod_fd, .sock = -1, .master = -1, .out = -1, .err = -1,
		           .in = -1 };
	sigset_t mask, old;

	/* detached, or started by podctl-oci (a sync fd, stdio as given):
	 * no front */
	if (pod->detached || pod->sync_fd >= 0)
		return;
	if (ioctl(in_tty ? 0 : 1, TIOCGWINSZ, &start_ws) < 0)
		memset(&start_ws, 0, sizeof(start_ws));
	bool raw = pod->tty && pod->interactive && in_tty;
	if (raw && tcgetattr(0, &f.saved) < 0)
		raw = false;
	if ((pod->tty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) ||
	    (out_tty && pipe2(outp, O_CLOEXEC) < 0) || (err_tty && pipe2(errp, O_CLOEXEC) < 0) ||
	    (!pod->tty && pod->interactive && in_tty && pipe2(inp, O_CLOEXEC) < 0)) {
		s1_warn("foreground: %s; running without a front", strerror(errno));
		return;
	}
	sigemptyset(&mask);
	front_forwarded_signals(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	sigprocmask(SIG_BLOCK, &mask, &old);
	pid_t me = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		s1_warn("foreground: fork: %s; running without a front", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	if (pid == 0) {
		/* The supervisor: no terminal of the caller's (its own session,
		 * pipes or /dev/null as stdio); SIGTERM, so a stop, when the front
		 * dies. */
		front_pid = me;
		if (raw) {
			term_fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
			term_saved = f.saved;
		}
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (inp[0] >= 0)
			dup2(inp[0], 0);
		else if ((in_tty || pod->tty) && null >= 0)
			dup2(null, 0);
		if (outp[1] >= 0)
			dup2(outp[1], 1);
		if (errp[1] >= 0)
			dup2(errp[1], 2);
		const int ends[] = { inp[0], inp[1], outp[0], outp[1], errp[0], errp[1], sp[0], null };
		for (size_t i = 0; i < ARRAY_SIZE(ends); i++)
			if (ends[i] >= 0)
				close(ends[i]);
		console_sock = sp[1];
		setsid();
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != me)
			kill(getpid(), SIGTERM); /* read from the signalfd once set up */
		sigset_t winch;
		sigemptyset(&winch);
		sigaddset(&winch, SIGWINCH);
		sigprocmask(SIG_UNBLOCK, &winch, NULL);
		return;
	}
	/* The front. */
	f.child = pid;
	f.sock = sp[0];
	f.out = outp[0];
	f.err = errp[0];
	f.in = inp[1];
	f.tty_in = pod->tty && pod->interactive;
	f.in_open = pod->interactive;
	const int theirs[] = { sp[1], outp[1], errp[1], inp[0] };
	for (size_t i = 0; i < ARRAY_SIZE(theirs); i++)
		if (theirs[i] >= 0)
			close(theirs[i]);
	if (raw)
		f.raw = console_raw(0, &f.saved) == 0;
	front_main(&f, &mask);
}
