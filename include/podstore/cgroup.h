/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_CGROUP_H
#define PODSTORE_CGROUP_H

/*
 * A cgroup per pod and per app (Documentation/resources.md,
 * Documentation/devel/cgroups.md).
 *
 * The host's layout is found at run time under a root (normally
 * /sys/fs/cgroup): the unified hierarchy (cgroup v2, the root has
 * cgroup.controllers), or per-controller v1 hierarchies under root/<name>
 * (hybrid when a cgroup2 mount without controllers sits beside them, at
 * root/unified). A pod's cgroup is PARENT/UUID and an app's PARENT/UUID/APP,
 * the same relative path in every hierarchy.
 *
 * stage1 creates them before any app starts (ps_cgroup_create), applies the
 * device allowlist and the limits, and each app's process moves itself into
 * its cgroup before it execs (ps_cgroup_join_self). The pod dir's `cgroup`
 * marker names what was made, so gc and rm remove what a SIGKILLed stage1
 * left (ps_pod_cgroup_cleanup).
 *
 * Errors: negative errno and *err filled (the library never prints). Paths
 * given here are never taken from a pod's manifest unchecked: a parent is
 * checked by ps_cgroup_path_check().
 */

#include <stdbool.h>
#include <podstore/error.h>
#include <podstore/manifest.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

#define PS_CGROUP_ROOT_DEFAULT "/sys/fs/cgroup"
#define PS_CGROUP_PARENT_DEFAULT "podctl"
#define PS_CGROUP_PARENT_ENV "PODCTL_CGROUP_PARENT"
#define PS_FILE_CGROUP "cgroup" /* marker in the pod dir: {"root","path"} */

typedef enum ps_cgroup_mode {
	PS_CGROUP_NONE, /* no cgroup filesystem found */
	PS_CGROUP_V1,   /* per-controller hierarchies (also hybrid) */
	PS_CGROUP_V2,   /* the unified hierarchy only */
} ps_cgroup_mode;

typedef enum ps_cgroup_controller {
	PS_CG_CPU,     /* quota and shares/weight */
	PS_CG_CPUACCT, /* CPU time used (v2: cpu.stat, always there) */
	PS_CG_MEMORY,
	PS_CG_PIDS,
	PS_CG_DEVICES, /* v1 devices controller; v2: a BPF_CGROUP_DEVICE program */
	PS_CG_BLKIO,   /* v1 blkio, v2 io */
	PS_CG_N_CONTROLLERS
} ps_cgroup_controller;

typedef struct ps_cgroup_host ps_cgroup_host;
typedef struct ps_cgroup ps_cgroup;

/* Find the layout under root (NULL = PS_CGROUP_ROOT_DEFAULT). A root with no
 * cgroup filesystem is not an error: the mode is PS_CGROUP_NONE. */
int ps_cgroup_host_open(const char *root, ps_cgroup_host **ret, ps_error **err);
void ps_cgroup_host_free(ps_cgroup_host *h);
ps_cgroup_mode ps_cgroup_host_mode(const ps_cgroup_host *h);
bool ps_cgroup_host_hybrid(const ps_cgroup_host *h);
const char *ps_cgroup_host_root(const ps_cgroup_host *h);
/* The controller is there (v2: listed in the root's cgroup.controllers). */
bool ps_cgroup_host_has(const ps_cgroup_host *h, ps_cgroup_controller c);
/* "cpu", "cpuacct", "memory", "pids", "devices", "blkio" (v1 names). */
const char *ps_cgroup_controller_name(ps_cgroup_controller c);

/* A parent: components of [A-Za-z0-9_.@:-], no "." or "..", separated by
 * "/" (leading and trailing ones ignored), at most 255 chars. Always taken
 * from the hierarchy's root. */
int ps_cgroup_path_check(const char *parent, ps_error **err);

/* Make path (relative to each hierarchy's root; its parents as needed) in
 * every hierarchy; on v2 the controllers are enabled down to it through
 * cgroup.subtree_control (only where not already on: a delegated subtree's
 * top is not ours to write). Opens what ps_cgroup_join_self writes to. */
int ps_cgroup_create(ps_cgroup_host *h, const char *path, ps_cgroup **ret, ps_error **err);
/* Open an existing cgroup (for usage). -ENOENT with *err filled when gone. */
int ps_cgroup_open(ps_cgroup_host *h, const char *path, ps_cgroup **ret, ps_error **err);
/* Close it (the cgroup stays). */
void ps_cgroup_free(ps_cgroup *cg);
const char *ps_cgroup_path(const ps_cgroup *cg);

/* Move the calling process into cg in every hierarchy by writing "0" to the
 * fds opened at create (v2 cgroup.procs; v1 tasks, which moves the calling
 * thread without the RCU grace period cgroup.procs costs: the caller must be
 * single-threaded): no allocation, no path lookup, fit for a child between
 * clone and exec. 0 or -errno. */
int ps_cgroup_join_self(const ps_cgroup *cg);

/* The device allowlist: the OCI default set (null zero full random urandom
 * tty ptmx, pts; any mknod, no other read or write). v1: devices.deny "a"
 * then devices.allow; v2: a BPF_CGROUP_DEVICE program attached to cg (which
 * its descendants run too). Apply before children exist (v1 refuses to
 * change a parent's default later). */
int ps_cgroup_restrict_devices(ps_cgroup *cg, ps_error **err);

/* Write the limits set in r. A limit whose controller the host lacks is
 * PS_ERR_INVALID naming the controller. what names r in messages ("app web"). */
int ps_cgroup_set_resources(ps_cgroup *cg, const ps_resources *r, const char *what, ps_error **err);

/* What a cgroup holds and did. -1 in a field = not available here. */
typedef struct ps_cgroup_usage {
	long long memory_bytes;      /* memory.usage_in_bytes / memory.current */
	long long memory_limit;      /* bytes, 0 = none */
	long long cpu_ns;            /* cpuacct.usage / cpu.stat usage_usec */
	long long pids;              /* pids.current */
	long long pids_limit;        /* 0 = none */
	long long oom_kills;         /* memory.oom_control / memory.events oom_kill */
	long long pids_max_events;   /* pids.events max: forks refused */
} ps_cgroup_usage;
void ps_cgroup_usage_read(const ps_cgroup *cg, ps_cgroup_usage *ret);

/* What tells of a cgroup's events as they happen: on v2 its pids.events
 * and memory.events (kernfs signals a change as EPOLLPRI; read again to
 * re-arm); on v1 an eventfd registered on memory.oom_control (EPOLLIN on
 * an OOM; v1 signals no pids event). inotify would do on v2 too, but
 * closing an inotify fd with watches costs a ~15 ms SRCU grace period at
 * every pod's end. Fills up to max, returns how many. */
typedef struct ps_cgroup_event_fd {
	int fd;
	unsigned events; /* for epoll: EPOLLPRI or EPOLLIN */
} ps_cgroup_event_fd;
int ps_cgroup_events_open(const ps_cgroup *cg, ps_cgroup_event_fd *ret, size_t max);
/* After it fired: take the event (re-arm). True when it was v1's OOM
 * eventfd with an event: the OOM killer is at work, and the oom_kill
 * counter rises a moment later (the notice comes before the kill). */
bool ps_cgroup_event_consume(const ps_cgroup_event_fd *e);

/* Remove path and every cgroup below it in every hierarchy. Processes still
 * in them are SIGKILLed (through pidfds) and waited for, at most a second in
 * all. A path already gone is success. */
int ps_cgroup_remove(ps_cgroup_host *h, const char *path, ps_error **err);

/* The pod dir's marker, written by stage1 before it makes any cgroup. */
int ps_cgroup_marker_write(int pod_fd, const char *root, const char *path, ps_error **err);
int ps_cgroup_marker_read(int pod_fd, char **ret_root, char **ret_path, ps_error **err);
/* gc, rm and stage1's end: remove the cgroups the marker names, then the
 * marker. A pod without one is -ENOENT, *err untouched. */
int ps_pod_cgroup_cleanup(int pod_fd, ps_error **err);

/* Usage of a pod's cgroups, found through its marker: the pod's into
 * *ret_pod, each named app's into ret_apps[i] (caller's array of n; an app
 * without a cgroup has every field -1). A pod without cgroups is -ENOENT,
 * *err untouched. */
int ps_pod_cgroup_usage(int pod_fd, char *const *app_names, size_t n, ps_cgroup_usage *ret_pod,
                        ps_cgroup_usage *ret_apps, ps_error **err);

/* The parent for new pods: arg if set, else $PODCTL_CGROUP_PARENT, else
 * "podctl". */
const char *ps_cgroup_parent_default(const char *arg);

#pragma GCC visibility pop

#endif
