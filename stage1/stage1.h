/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_H
#define PODCTL_STAGE1_H

/*
 * podctl-stage1: one process per running pod (Documentation/devel/stage1.md).
 *
 *   stage1 (host pid ns, supervisor; own mount/uts/ipc/net ns; apps have
 *           a cgroup and cgroup ns each, cgroups.h)
 *    ├── reaper   pid 1 of the pod's pid ns, reaps orphans, dies with stage1
 *    └── app…     direct children (exact exit statuses), each in its own
 *                 mount ns with the app's rootfs pivoted to /
 *
 * The code is a tree: main.c owns the supervisor (the event loop, the
 * phases, stop and exit) and hands every module the one struct pod below.
 * A module never calls into main.c: what it decides for the pod goes back
 * through the pod's hooks (pod->ops, called through the pod_* inlines at
 * the end). `make check` verifies it (scripts/check-stage1-tree).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#include <podstore/podstore.h>

enum app_status {
	APP_INSTALLED,
	APP_MOUNTED,
	APP_BLOCKED,
	APP_STARTING,
	APP_STARTED,
	APP_READY,
	APP_STOPPING,
	APP_STOPPED,
	APP_EXITED,
	APP_FAILED,
};

/* log.c: "INSTALLED" … "FAILED", as the markers and events spell them. */
const char *app_status_name(enum app_status s);

/* A stamped log file of stage1's (logfile.c). */
struct logfile {
	int dirfd;           /* the dir it is in */
	const char *name, *old; /* PS_FILE_APP_LOG(_OLD), PS_FILE_STAGE1_LOG(_OLD) */
	long long limit;     /* bytes per file */
	int fd;              /* -1 when closed */
	long long size;
	bool bol;            /* it ends at a line's end (applog.h) */
};

struct app {
	const ps_app *m;     /* borrowed from pod->manifest */
	bool init;           /* an init app */
	int dirfd;           /* apps/<name> */
	int rootfd;          /* apps/<name>/rootfs once mounted (stage1's mount ns) */
	enum app_status status;
	pid_t pid;           /* while running */
	bool ended;          /* started and reaped, or failed before exec */
	bool signalled;      /* we sent it a stop signal */
	bool failed;         /* failed before exec: exiting on its own, reason recorded */
	bool probe_killed;   /* killed for a failed liveness/startup probe or watchdog:
	                        not a stop, restartPolicy applies */
	bool restart_pending; /* ended; the restart timer is armed */
	long long started_mono_ns; /* when it last started, for the back-off */
	int code;            /* exit code (128+N for a signal) */
	int signal;
	int log_rfd;         /* detached: read end of the app's stdout/stderr pipe */
	struct logfile log;  /* apps/<name>/log (detached) */
	struct ps_cgroup *cgroup; /* its cgroup (cgroups.c), NULL without cgroups */
	const char *ready_by; /* what made it READY last (sd_notify, pantavisor, lxd,
	                         readinessProbe): static string */
	char **argv;         /* built before fork */
	char **envp;
	uid_t uid;           /* resolved by stage1 from the image before each start */
	gid_t gid;
	/* confinement, worked out before fork (seccomp.c) */
	uint64_t caps;                  /* bounding, permitted and effective set */
	struct sock_filter *seccomp_prog; /* NULL: unconfined */
	size_t seccomp_len;             /* instructions */
	char seccomp_digest[65];        /* the resolved profile's sha256, or "unconfined" */
};

struct pod;

/* What modules may ask of the supervisor (main.c fills these in). */
struct pod_ops {
	/* Record an app's new status (memory, apps/<app>/status, readiness). */
	void (*set_status)(struct pod *pod, struct app *a, enum app_status st, const char *reason);
	/* An app missed its goal: it is FAILED and the pod stops with reason. */
	void (*fail)(struct pod *pod, struct app *a, const char *reason, int code);
	/* Kill the app for a failed liveness/startup probe or watchdog; its
	 * restartPolicy then applies (not a stop). */
	void (*app_kill)(struct pod *pod, struct app *a, const char *why);
	/* The app's restart back-off is over: start it again. */
	void (*app_restart)(struct pod *pod, struct app *a);
};

/* The supervisor object every module is handed (main.c embeds it in its
 * own private state). */
struct pod {
	const struct pod_ops *ops;
	const char *uuid;
	char *name;
	char *data_path;     /* absolute */
	int pod_fd;          /* locked pod dir: never closed while we run */
	int data_fd;
	ps_manifest *manifest;
	struct app *apps;    /* init apps first, then apps in manifest order */
	size_t n_apps, n_init;
	bool detached, interactive;
	bool tty;            /* --tty: the (single) app's stdio is a pty of the pod (tty.c) */
	int sync_fd;
	int devnull;
	pid_t reaper;
	struct s1_cgroups *cgroups; /* cgroups.c */
	char *devices_path;  /* absolute: the pod's device nodes (rootfs.c), bound into each /dev */
	int devices_fd;      /* or, when >= 0, a detached tmpfs that holds them (rootfs.c) */
	ps_idrange idrange;  /* --private-users: the pod's id range (size 0: none) */
	int userns_fd;       /* the pod's user ns (userns.c), -1 without one */
	struct s1_net *net;  /* net.c: a CNI network, else NULL */
};

static inline void pod_set_status(struct pod *pod, struct app *a, enum app_status st,
                                  const char *reason)
{
	pod->ops->set_status(pod, a, st, reason);
}
static inline void pod_fail(struct pod *pod, struct app *a, const char *reason, int code)
{
	pod->ops->fail(pod, a, reason, code);
}
static inline void pod_app_kill(struct pod *pod, struct app *a, const char *why)
{
	pod->ops->app_kill(pod, a, why);
}
static inline void pod_app_restart(struct pod *pod, struct app *a)
{
	pod->ops->app_restart(pod, a);
}

/* The app's process runs (started, not yet reaped). */
static inline bool app_is_running(const struct app *a)
{
	return a->pid > 0 && !a->ended;
}

/* logfile.c: a log file stage1 writes (an app's log, stage1.log), each
 * line stamped (applog.h), rotated before it passes limit. logfile_open():
 * open it for appending into l->fd (0, or -errno with l->fd -1);
 * logfile_append(): what was read or said; what a full disk refuses is
 * lost. */
int logfile_open(struct logfile *l);
void logfile_append(struct logfile *l, const char *buf, size_t n);
void logfile_close(struct logfile *l);

/* log.c: messages of stage1 itself, to its stderr (stage1.log when
 * detached). s1_log_init() once, with the pod's uuid, before the first. */
void s1_log_init(const char *uuid, bool debug);
/* The fd of stage1.log, or -1: children that close every other fd keep it
 * (O_CLOEXEC: gone at their exec), so their messages still go there. */
int s1_log_fd(void);
/* A detached pod: from now on they go to the pod's stage1.log (made when
 * missing; podstore/app.h). 0, or -errno with stderr kept. */
int s1_log_to_file(int pod_fd);
void s1_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void s1_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* rootfs.c: done in stage1's mount ns before any app starts. */
int rootfs_mount_app(struct pod *pod, struct app *a, ps_error **err);
int rootfs_write_etc(struct pod *pod, struct app *a, ps_error **err);
int net_loopback_up(ps_error **err);

/* net.c: a CNI network ("net" neither none nor host). net_attach() before
 * the other namespaces: leaves stage1 in the pod's new net ns, attached
 * (ADD). net_detach() runs DEL (any time after; a no-op without a network).
 * The texts of /etc/hosts and /etc/resolv.conf from the result (NULL: ENOMEM). */
bool net_is_cni(const struct pod *pod);
int net_attach(struct pod *pod, ps_error **err);
void net_detach(struct pod *pod);
char *net_hosts_text(const struct pod *pod);
char *net_resolv_text(const struct pod *pod, const char *host_resolv);

/* userns.c: --private-users. s1_userns_setup() reads the pod's range and,
 * when it has one, creates its user ns with the uts/ipc/net namespaces of
 * *flags owned by it, joins those and clears them from *flags (a no-op
 * without a range). s1_userns_lowerdir(): the app's overlay lowerdir, its
 * layers idmapped into the range (else chown'ed copies); the plain one
 * without a user ns. s1_userns_join(): in an app's child (or a probe's,
 * enter's), last before dropping capabilities: into the pod's user ns (fd
 * of it, or a pidfd of a process in it) as its root; 0 or -errno. */
int s1_userns_setup(struct pod *pod, int *flags, ps_error **err);
int s1_userns_lowerdir(struct pod *pod, struct app *a, const ps_app_image *img, char **ret,
                       ps_error **err);
int s1_userns_join(int fd);
/* rootfs_write_etc() as the pod's root (file system ids) with a user ns:
 * what it writes is the pod root's, and an idmapped mount takes it. */
int s1_userns_write_etc(struct pod *pod, struct app *a, ps_error **err);
/* The app's copied rootfs (no overlayfs) at target (relative to the data
 * dir, our cwd) made the pod root's: its owners shifted in place, then
 * bound on itself nosuid, nodev. */
int s1_userns_bind_copied(struct pod *pod, struct app *a, const char *target, ps_error **err);

/* rootfs.c: a tmpfs of stage1's mount ns holding the pod's device nodes. */
int rootfs_make_devices(struct pod *pod, ps_error **err);

/* inroot.c: paths inside an app's root, through the library's
 * ps_openat_in_root() (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, else
 * its user-space walk). */
extern bool s1_no_openat2;   /* PODCTL_STAGE1_NO_OPENAT2=1: force the fallback */
int s1_open_in_root(int rootfd, const char *path, int flags);
/* A regular file of the image (O_NONBLOCK, O_NOFOLLOW, at most max bytes);
 * -EINVAL when it is not a regular file, -EFBIG when too large. */
int s1_read_image_file(int rootfd, const char *path, size_t max, char **ret, size_t *ret_len);
/* chdir to wd inside the current root, then check that getcwd() is inside it. */
int s1_chdir_in_root(const char *wd);
/* The app's user and group as numbers, names looked up in the image. */
int s1_resolve_identity(int rootfd, const ps_app *m, uid_t *ret_uid, gid_t *ret_gid, ps_error **err);
/* Close every fd >= 3 except those in keep (any order, n <= 8). */
void s1_close_fds_except(const int *keep, size_t n);

/* seccomp.c: confinement. confine_prepare() in stage1 before the app's
 * child exists (capability set; the seccomp program, from the store's
 * cache or compiled into it); the rest in the child, each returning 0 or
 * -errno: confine_seccomp(a, false) before dropping capabilities sets
 * no_new_privs, and loads the filter when no_new_privs is off (that needs
 * CAP_SYS_ADMIN); confine_seccomp(a, true) just before exec loads it
 * otherwise. confine_caps() sets the capability sets; a read-only rootfs
 * is made before pivot_root (rootfd = the new root). */
int confine_prepare(struct pod *pod, struct app *a, ps_error **err);
int confine_seccomp(const struct app *a, bool late);
int confine_caps(const struct app *a);
int confine_rootfs_readonly(const struct app *a, int rootfd);

/* app.c: the child between fork() and execve(); never returns.
 * errfd gets a struct child_error on failure (O_CLOEXEC: EOF = exec ok). */
struct child_error {
	int errnum;
	int code;
	char msg[240];
};
void app_child(struct pod *pod, struct app *a, int errfd, int logfd) __attribute__((noreturn));
int app_build_exec(struct pod *pod, struct app *a, ps_error **err);
/* An exec probe's command, already in the app's namespaces and root: the
 * app's working dir, seccomp, capabilities, user and environment; exec. */
void app_exec_probe(struct pod *pod, struct app *a, char *const *argv) __attribute__((noreturn));

/* enter.c: --enter=APP, run cmd in the running app as the app runs; returns
 * the command's exit status (125 when it could not be started). */
int stage1_enter(int pod_fd, const char *uuid, const char *app_name, char **cmd, bool tty);

#endif
