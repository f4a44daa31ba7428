/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_TTY_H
#define PODCTL_STAGE1_TTY_H

/*
 * Terminals (stage1/tty.c, Documentation/devel/stage1.md "Terminals").
 *
 * The plumbing, free of stage1's structures so another runtime (podctl-oci's
 * console socket) can link it as it is; every function returns 0 or an fd,
 * else -errno, and prints nothing:
 *
 *   pty_open()        a pty of the devpts instance whose ptmx is given (the
 *                     app's own /dev/pts/ptmx, opened after pivot_root): the
 *                     slave comes from TIOCGPTPEER, never a path lookup
 *   pty_make_stdio()  make the slave the caller's controlling terminal and
 *                     its stdin/stdout/stderr (the caller is a session leader)
 *   fd_send/fd_recv() one fd over a unix socket (SCM_RIGHTS), with a byte
 *                     (libpodstore's fdpass.h underneath)
 *   fd_write_all()    all of a buffer, through EAGAIN and EINTR
 *   fd_pump()         copy what is readable from one fd to another
 *   relay_signals()   a relay's signalfd: reap, resize, pass on
 *   console_raw()     raw mode on the caller's terminal, the old modes saved
 *   console_restore() and back
 *   console_resize()  the caller's window size onto the pty (SIGWINCH)
 *   console_detach_keys()  ctrl-p ctrl-q in typed input
 *
 * And stage1's use of it (struct pod):
 *
 *   tty_setup()        --tty: the socket the app's setup child passes the
 *                      master on
 *   tty_child()        in the setup child after pivot_root: the pty, passed
 *                      to stage1, the slave as stdio
 *   tty_app_started()  in stage1 once the app exec'd: the master goes to the
 *                      front (foreground run, front.c) or stays with stage1,
 *                      which copies its output to the app's log until
 *                      someone attaches (tty_attach(): the "attach" request
 *                      of the control socket)
 *   stage1_attach()    podctl-stage1 --attach: the client of podctl attach
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>
#include <sys/types.h>
#include <sys/ioctl.h>

#include <podstore/podstore.h>

struct pod;
struct app;

int pty_open(const char *ptmx, const struct winsize *ws, int *ret_master, int *ret_slave);
int pty_make_stdio(int slave);
int fd_send(int sock, int fd);
/* The same with data of one's own (len >= 1), e.g. the pty's name, as an
 * OCI console socket's reader expects. */
int fd_send_with(int sock, int fd, const void *data, size_t len);
int fd_recv(int sock, bool nonblock);
/* Write all n bytes, waiting in poll() when fd is non-blocking and full:
 * false when it fails (EPIPE, a hung-up terminal). */
bool fd_write_all(int fd, const void *buf, size_t n);
/* Copy what is there from *from (non-blocking) to to, a few reads at most,
 * or with drain until nothing is left; on EOF or an error (EIO of a pty
 * whose other side closed) close *from and set it to -1. What to cannot
 * take is lost: the copying goes on. */
void fd_pump(int *from, int to, bool drain);
/* A relay's signals (the front, the enter relay): read what sigfd holds.
 * SIGCHLD reaps child into *status (true once it is reaped); SIGWINCH
 * copies win_fd's window size to master (when >= 0); any other goes on to
 * child, with group to its process group (the child itself when it has
 * none yet). */
bool relay_signals(int sigfd, pid_t child, bool group, int win_fd, int master, int *status);
int console_raw(int fd, struct termios *saved);
int console_restore(int fd, const struct termios *saved);

/* Copy win_fd's window size to the master (0, or -errno). */
int console_resize(int win_fd, int master);
/* Typed input on its way to the pod: the detach keys (ctrl-p ctrl-q) are
 * looked for across reads in *state (start at 0); buf is rewritten in place
 * without them, *len updated; buf must have room for *len + 1 bytes (a
 * ctrl-p held back from the last read may be put back in front). Returns
 * true when they were typed. A ctrl-p not followed by ctrl-q is passed on. */
bool console_detach_keys(int *state, char *buf, size_t *len);

/* stage1 (struct pod): */
int tty_setup(struct pod *pod, ps_error **err);
/* The setup child's end of the socket, kept through its fd cleanup (-1). */
int tty_child_fd(void);
int tty_child(struct pod *pod, struct app *a);
void tty_app_started(struct pod *pod, struct app *a);
int tty_loop_add(struct pod *pod, int epfd, uint32_t ev_kind);
void tty_event(struct pod *pod, uint32_t idx);
/* The "attach" request: true when conn was kept (it is the attachment). */
bool tty_attach(struct pod *pod, int conn);

int stage1_attach(int pod_fd, const char *uuid);

/* podctl enter (enter.c), after joining the app's namespaces: the command's
 * stdio. With tty, a pty of the app's devpts sized as our terminal; else a
 * pipe for each of our fds 0-2 that is a terminal (the others are passed as
 * they are). active says a relay is needed. In the child (after fork):
 * tty_relay_child() before exec. In us: tty_relay_run() copies until the
 * child exits (raw mode on a terminal stdin with a pty, SIGWINCH, every
 * forwarded signal to the child's process group), and returns its exit
 * code. So the caller's terminal never reaches the pod. */
struct tty_relay {
	bool active;
	int master, slave;
	int ours[3], theirs[3];  /* pipes: ours the relay's ends, theirs the command's */
};
int tty_relay_prepare(struct tty_relay *rl, bool tty);
int tty_relay_child(struct tty_relay *rl);
int tty_relay_run(struct tty_relay *rl, pid_t child);
void tty_relay_close(struct tty_relay *rl);

#endif
