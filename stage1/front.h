/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_FRONT_H
#define PODCTL_STAGE1_FRONT_H

/*
 * The front of a foreground run (stage1/front.c): stage1 forks before it
 * sets the pod up. The parent, the process `podctl run` started as, stays
 * with the caller: it keeps the terminal (raw mode for -it, restored on the
 * way out), copies the app's pty or the apps' output to it, forwards every
 * signal it gets to the supervisor, and exits with the pod's code; if the
 * supervisor is killed it records the pod's end itself. The child, in a
 * session of its own, is the supervisor and returns from front_split(); if
 * the front dies (even by SIGKILL) it gets SIGTERM and stops the pod, which
 * records its end, and restores the terminal the front had made raw.
 */

#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>

struct pod;

/* Fork; returns in the supervisor only. */
void front_split(struct pod *pod);
/* The supervisor's socket to the front (a pty master goes there), or -1
 * (detached, or no front). */
int front_console_fd(void);
/* The caller's window size at the start (zero when not a terminal). */
void front_winsize(struct winsize *ws);
/* The signals passed on to the apps: everything catchable but the stop
 * signals' own meaning (SIGINT, SIGTERM stop the pod), job control, and
 * faults. Added to set. */
void front_forwarded_signals(sigset_t *set);
/* Send sig to the named app's main process (every running app when name is
 * NULL or ""): NULL when sent, else why not ("no app X", "app X is not
 * running", "no app is running"), a static string. */
const char *signal_apps(struct pod *pod, int sig, const char *name);
/* Supervisor: called on SIGINT/SIGTERM; when the front is gone, put the
 * caller's terminal back as the front found it. */
void front_check(void);

#endif
