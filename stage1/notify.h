/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_NOTIFY_H
#define PODCTL_STAGE1_NOTIFY_H

/*
 * The receiving side of sd_notify (Documentation/devel/readiness.md).
 *
 * One SOCK_DGRAM socket per app, bound at apps/<app>/notify in the pod dir
 * and bind-mounted into that app only, at NOTIFY_PATH_IN_APP. Reachable
 * from that app's rootfs only, but another app of the pod (root like it)
 * can still reach it through /proc/PID/root/… of the first. So a datagram
 * counts only when its sender is alive and in the app's own mount
 * namespace (which exec probes and enter join too): the sender is taken
 * from SCM_PIDFD (SO_PASSPIDFD, 6.5+: the exact sending process) or else a
 * pidfd opened on SCM_CREDENTIALS's pid, and its mount ns read through the
 * pidfd (PIDFD_GET_MNT_NAMESPACE, 6.11+) or /proc/PID/ns/mnt checked
 * against the pidfd afterwards (no pid-reuse race either way). A sender
 * that already exited cannot be checked and is dropped: senders wait until
 * the message was handled (BARRIER=1, as systemd-notify and podctl-notify
 * do). Before the app runs, senders must be in the pod's pid ns.
 *
 * Functions return 0 or a negative errno and never print.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "sdnotify.h"

#define NOTIFY_SOCKET_NAME "notify"              /* in apps/<app>/ */
#define NOTIFY_PATH_IN_APP "/run/podctl/notify"  /* where the app sees it */
#define NOTIFY_CLIENT_IN_APP "/.podctl/notify"   /* the static client, bound read-only */

/* One parsed datagram. Unknown keys are counted and otherwise ignored. */
struct notify_msg {
	bool ready;                /* READY=1 */
	bool stopping;             /* STOPPING=1 */
	bool reloading;            /* RELOADING=1 */
	bool watchdog;             /* WATCHDOG=1 */
	bool watchdog_trigger;     /* WATCHDOG=trigger: act as if the watchdog expired */
	char *status;              /* STATUS=…, malloc'd; NULL when absent */
	pid_t mainpid;             /* MAINPID=, 0 when absent */
	long long watchdog_usec;   /* WATCHDOG_USEC=, -1 when absent */
	long long extend_usec;     /* EXTEND_TIMEOUT_USEC=, -1 when absent */
	int errnum;                /* ERRNO=, -1 when absent */
	unsigned n_unknown;        /* keys we do not know, or lines without '=' */
	unsigned n_invalid;        /* known keys with a value we could not use */
};

/*
 * Parse a datagram of "KEY=VALUE" lines (newline-separated, last newline
 * optional). -EMSGSIZE when longer than PS_NOTIFY_MSG_MAX, -EBADMSG when it
 * holds a NUL byte, -ENOMEM. ret is untouched on failure.
 */
int notify_parse(const char *buf, size_t len, struct notify_msg *ret);
void notify_msg_clear(struct notify_msg *m);

struct notify_sock {
	int fd;                    /* non-blocking, -1 when closed */
	bool have_pidns;
	dev_t pidns_dev;           /* the pid namespace its senders must be in */
	ino_t pidns_ino;
	bool have_mntns;
	dev_t mntns_dev;           /* the app's mount namespace, once it runs */
	ino_t mntns_ino;
	unsigned long accepted;
	unsigned long rejected;    /* wrong sender, no credentials, oversized, malformed */
	unsigned long rejected_sender; /* of those: not (or no longer) in the app */
};

/*
 * Create the app's socket at apps/<app>/notify (replacing a stale one),
 * binding through "/proc/self/fd/<app_dirfd>/notify" so the length of the
 * data dir's path never meets sun_path's 108 bytes. SO_PASSCRED is on.
 */
int notify_sock_open(int app_dirfd, struct notify_sock *ret);

/* Senders still alive must be in the pid namespace of pid (the app's or
 * the pod's pid 1). Without this call only the socket's reachability counts. */
int notify_sock_set_pidns(struct notify_sock *s, pid_t pid);

/* From now on senders must be in the mount namespace of pid (the app's
 * process, just exec'd). */
int notify_sock_set_mntns(struct notify_sock *s, pid_t pid);

/* A path naming the socket that mount(2) can take as a bind source
 * ("/proc/self/fd/<app_dirfd>/notify"); buf >= 64. */
int notify_sock_bind_source(int app_dirfd, char *buf, size_t len);

/*
 * Receive one datagram. 0 with *ret filled (and *ret_pid the sender's pid)
 * for an accepted one; -EAGAIN when none is waiting; -EPERM for a sender
 * outside the app, -EMSGSIZE / -EBADMSG for a bad datagram: those are
 * counted in s->rejected and dropped, and the caller should simply call
 * again. File descriptors sent along (FDSTORE) are closed.
 */
int notify_sock_receive(struct notify_sock *s, struct notify_msg *ret, pid_t *ret_pid);

/* Close the socket and remove its file (app_dirfd may be -1: close only). */
void notify_sock_close(struct notify_sock *s, int app_dirfd);

#endif
