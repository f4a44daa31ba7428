/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_LAUNCH_H
#define PODSTORE_LAUNCH_H

/*
 * Starting stage1: where podctl's helper programs are, and stage1's command
 * line. This module owns that command line; podctl run, run-prepared and
 * enter build it here, stage1/main.c parses it:
 *
 *   podctl-stage1 --pod-fd=N --dir=DATA_DIR [--sync-fd=M] [--interactive]
 *                 [--start-fifo=PATH] [--join-ns=net|ipc|uts:PATH]… [--debug] UUID
 *   podctl-stage1 --enter=APP --pod-fd=N [--debug] UUID CMD…
 *
 * The pod fd (locked, for a run) and the sync fd must survive the exec: the
 * caller clears their FD_CLOEXEC. Errors: negative errno and *err filled.
 */

#include <stdbool.h>
#include <podstore/error.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

/*
 * Where the helper program `name` is: $env when that is set and not empty
 * (env may be NULL), else next to the running program (/proc/self/exe) when
 * it is executable there, else fallback. Allocated. It is not checked that
 * the result exists: the caller says what was missing when it runs it.
 */
int ps_sibling_path(const char *env, const char *name, const char *fallback, char **ret,
                    ps_error **err);

/* podctl-stage1: $PODCTL_STAGE1, next to us, or LIBEXECDIR/podctl/. */
int ps_stage1_path(char **ret, ps_error **err);

typedef struct ps_stage1_args {
	int pod_fd;               /* the pod dir fd (locked for a run) */
	const char *data_dir;     /* run: the store's path */
	const char *uuid;
	int sync_fd;              /* run --detach: "ok"/"error: …" line; -1 for none */
	bool interactive;         /* run: stdin to the single app */
	const char *start_fifo;   /* podctl-oci create: stdio stays the app's (no log), and
	                             the apps start once a byte arrives on this FIFO */
	const char *join_ns[3];   /* podctl-oci: the net, ipc, uts namespace (a path) to
	                             join instead of making one; NULL: a new one */
	bool debug;
	const char *enter_app;    /* enter: the app to run cmd in (NULL for a run) */
	char *const *cmd;         /* enter: the command and its arguments */
} ps_stage1_args;

/* Stage1's argv (argv[0] "podctl-stage1"), NULL-terminated, every string
 * allocated: free with ps_strv_free(). -EINVAL for missing fields. */
int ps_stage1_argv(const ps_stage1_args *a, char ***ret, ps_error **err);

/*
 * The --sync-fd line: stage1 tells `podctl run --detach` that the pod runs
 * (its pid marker is written) with "ok\n", or why it could not start with
 * "error: MESSAGE\n", then closes its end.
 */
/* stage1: say the pod runs. */
int ps_stage1_sync_ok(int sync_fd);
/* stage1: say why it failed (one line; newlines in msg become spaces). */
int ps_stage1_sync_error(int sync_fd, const char *msg);
/* podctl: read stage1's line from the pipe's read end (blocks until the line
 * or EOF). 0 when it said "ok"; -EPROTO with *ret_msg (allocated) set to its
 * message when it said "error: …"; -ECONNRESET (*ret_msg NULL) when it ended
 * without a word. */
int ps_stage1_sync_read(int sync_fd, char **ret_msg);

#pragma GCC visibility pop

#endif
