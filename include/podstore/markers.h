/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_MARKERS_H
#define PODSTORE_MARKERS_H

/*
 * The files inside a pod dir (see Documentation/devel/on-disk-format.md).
 * Each is a small JSON object written atomically; the ones marked durable
 * are also fsynced with their dir. Readers are tolerant: a missing marker
 * means "not yet" (-ENOENT, no error filled).
 *
 *   manifest            prepare   durable   the resolved pod manifest
 *   info                prepare   durable*  {"name","created"}
 *   apps/<app>/image    prepare   durable   {"image","digest","layers":[…]}
 *   pid                 stage1              {"pid","starttime"}
 *   apps/<app>/status   stage1              {"status","time","reason","readyBy"}
 *   apps/<app>/exit     stage1    durable   {"code","signal","time"}
 *   ready               stage1              {"time"}
 *   exit                stage1    durable   {"code","reason","time"}, written last
 *   wake                a waiter            a FIFO, poked when ready or exit is written
 *
 * (*) ps_info_write() fsyncs the file only; its caller fsyncs the pod dir
 * once after writing all of prepare's files. Under `podctl run` prepare's
 * files are not fsynced (ps_write_defer_sync): the pod's durable exit marker
 * makes the manifest and info durable first (ps_pod_record_sync).
 */

#include <stdbool.h>
#include <sys/types.h>
#include <podstore/error.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

#define PS_FILE_MANIFEST "manifest"
#define PS_FILE_INFO "info"
#define PS_FILE_PID "pid"
#define PS_FILE_READY "ready"
#define PS_FILE_EXIT "exit"
#define PS_FILE_GC_MARKED "gc-marked"
/* A FIFO that ps_pod_wait_ready() makes and opens for reading; writing the
 * ready or the exit marker opens it for writing and closes it at once, which
 * wakes every reader (POLLHUP). See wait.c for why not inotify. */
#define PS_FILE_WAKE "wake"
#define PS_DIR_APPS "apps"
#define PS_FILE_APP_STATUS "status"
#define PS_FILE_APP_EXIT "exit"
#define PS_FILE_APP_IMAGE "image"

typedef struct ps_info {
	char *name;
	long long created_ns;
} ps_info;

typedef struct ps_pid_marker {
	pid_t pid;
	unsigned long long starttime; /* /proc/<pid>/stat field 22, to tell pid reuse */
	long long time_ns;            /* when the pod started */
	pid_t stage1_pid;             /* the supervisor holding the pod lock (0 = unknown) */
	unsigned long long stage1_starttime;
} ps_pid_marker;

typedef struct ps_exit_marker {
	int code;
	int signal;         /* for an app killed by a signal, else 0 */
	char *reason;       /* pod: ok, app-failed, goal-timeout, stopped, killed */
	char *app;          /* pod: the app the reason is about, if any */
	long long time_ns;
} ps_exit_marker;

typedef struct ps_status_marker {
	char *status;       /* INSTALLED … STOPPED, EXITED, FAILED */
	char *reason;
	char *ready_by;     /* READY: what made it ready: sd_notify, pantavisor, lxd,
	                       readinessProbe; NULL otherwise */
	long long time_ns;
} ps_status_marker;

/* The info file of the pod dir pod_fd (see (*) above); read: missing → -ENOENT,
 * free with ps_info_clear(). */
int ps_info_write(int pod_fd, const ps_info *info, ps_error **err);
int ps_info_read(int pod_fd, ps_info *ret, ps_error **err);
void ps_info_clear(ps_info *info);

/* The pid marker of the pod dir pod_fd: written by stage1 once the pod's
 * init exists; read: missing → -ENOENT (the pod has not started). */
int ps_pid_marker_write(int pod_fd, const ps_pid_marker *m, ps_error **err);
int ps_pid_marker_read(int pod_fd, ps_pid_marker *ret, ps_error **err);

/* dirfd is the pod dir for the pod's exit, apps/<app> for an app's; durable
 * fsyncs file and dir, after ps_pod_record_sync() of a pod dir (so a durable
 * exit marker implies a durable record). Read: missing → -ENOENT;
 * ps_exit_marker_clear() frees. */
int ps_exit_marker_write(int dirfd, const ps_exit_marker *m, bool durable, ps_error **err);
int ps_exit_marker_read(int dirfd, ps_exit_marker *ret, ps_error **err);
void ps_exit_marker_clear(ps_exit_marker *m);

/*
 * Make the record of the pod dir pod_fd durable: fsync its manifest and info
 * (their writeback started together), the state dir that holds it (its move
 * there) and pods/prepare (where run's pods come from). `podctl run` prepares without
 * fsyncs (fileio.h: ps_write_defer_sync); stage1 calls this, through the
 * durable exit marker, before the pod's exit is recorded. The pod dir's own
 * entries are covered by the exit marker's directory fsync that follows. A
 * dir with neither file (an app's) is left alone. Cheap when already durable
 * (a prepared pod's): the fsyncs find nothing to write.
 */
int ps_pod_record_sync(int pod_fd, ps_error **err);

/* An app's status marker in apps/<app> (app_dirfd), rewritten atomically at
 * every status change; read: missing → -ENOENT; ps_status_marker_clear() frees. */
int ps_status_marker_write(int app_dirfd, const ps_status_marker *m, ps_error **err);
/* The same through a spare file made ahead (ps_spare_file_new(app_dirfd,
 * 0644); -1: none), which is used up (ps_write_file_spare()). */
int ps_status_marker_write_spare(int app_dirfd, int *spare, const ps_status_marker *m,
                                 ps_error **err);
int ps_status_marker_read(int app_dirfd, ps_status_marker *ret, ps_error **err);
void ps_status_marker_clear(ps_status_marker *m);

/* The pod's ready marker: written with the time the pod became ready,
 * removed when readiness is lost (missing is not an error), read → the time
 * or -ENOENT. */
int ps_ready_marker_write(int pod_fd, long long time_ns, ps_error **err);
/* The same through a spare (ps_spare_file_new(pod_fd, 0644)), used up. */
int ps_ready_marker_write_spare(int pod_fd, int *spare, long long time_ns, ps_error **err);
int ps_ready_marker_remove(int pod_fd, ps_error **err);
int ps_ready_marker_read(int pod_fd, long long *ret_time_ns, ps_error **err);

/* When gc marked the pod (moved it to exited-garbage/): written by gc just
 * before the move, not durably (a lost mark only restarts the grace period). */
int ps_gc_mark_write(int pod_fd, long long time_ns, ps_error **err);
int ps_gc_mark_read(int pod_fd, long long *ret_time_ns, ps_error **err);

#pragma GCC visibility pop

#endif
