/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_PREPARE_H
#define PODCTL_PREPARE_H

/*
 * What `prepare` and `run` share: their options and the making of a
 * prepared pod from an image or a manifest.
 */

#include <getopt.h>
#include "cli.h"
#include "pull.h"

struct prepare_opts {
	const char *manifest_path;    /* --manifest FILE */
	const char *image;            /* IMAGE argument */
	char **args;                  /* after "--": the app's exec (borrowed from argv) */
	const char *name;             /* --name */
	const char *net;              /* --net=none|host */
	const char *status_goal;      /* --status-goal */
	long long goal_timeout_ms;    /* --goal-timeout, -1 = manifest/default */
	char **volumes;               /* --volume specs, NULL-terminated (owned) */
	size_t n_volumes;
	const char *uuid_file;        /* --uuid-file-save */
	/* confinement, for every app (Documentation/security.md) */
	char **cap_add, **cap_drop;   /* --cap-add, --cap-drop (owned arrays, borrowed strings) */
	size_t n_cap_add, n_cap_drop;
	const char *seccomp;          /* --security-opt seccomp=default|unconfined|PATH */
	int no_new_privs;             /* --security-opt no-new-privileges[=BOOL]: -1 unset */
	bool read_only;               /* --read-only */
	bool private_users;           /* --private-users: a user namespace */
	ps_resources resources;       /* --memory, --cpus…: the pod's limits (0 = unset) */
	unsigned ready_protocols;     /* --ready-protocol (repeatable): PS_READY_* bits
	                                 added to every app */
	struct pull_cli_opts pull;    /* --pull, --tls-verify… for images not yet here */
	bool for_run;                 /* run: leave the pod locked in prepare/, to move it
	                                 straight to run/ (one durable move, not two) */
};

/* getopt_long options shared by prepare and run; `flag` values start at 1000. */
extern const struct option prepare_long_options[];
#define PREPARE_OPTIONS_HELP                                                              \
	"      --manifest=FILE        a pod manifest instead of IMAGE\n"                        \
	"      --name=NAME            pod name (hostname)\n"                                    \
	"      --net=none|host        network: own namespace with loopback (default), or host's\n" \
	"  -v, --volume=SPEC          /HOST/PATH:/POD/PATH[:ro], or\n"                          \
	"                             NAME,kind=host,source=PATH[,readOnly=true][,target=PATH]\n" \
	"      --status-goal=GOAL     MOUNTED, STARTED (default) or READY\n"                    \
	"      --goal-timeout=DUR     time to reach the goal (default 30s)\n"                  \
	"      --ready-protocol=P     also take readiness over pantavisor or lxd (repeatable)\n" \
	"      --uuid-file-save=FILE  write the pod's uuid to FILE\n"                           \
	"      --pull=POLICY          missing (default, or $PODCTL_PULL), always or never:\n"  \
	"                             pull an image that is not in the store with skopeo\n"   \
	PULL_OPTIONS_HELP \
	"      --cap-add=CAP          give every app CAP (e.g. NET_ADMIN, or ALL)\n"            \
	"      --cap-drop=CAP         take CAP (or ALL) from every app\n"                       \
	"      --security-opt=OPT     seccomp=default|unconfined|PROFILE.json,\n"               \
	"                             no-new-privileges[=true|false]\n"                         \
	"      --read-only            every app's rootfs read-only\n"                          \
	"      --private-users        a user namespace: the pod's root is an unprivileged host uid\n" \
	"      --memory=SIZE          the pod's memory limit (64m, 1g: k m g are KiB MiB GiB)\n" \
	"      --memory-swap=SIZE     memory + swap limit, -1 for unlimited swap\n"             \
	"      --cpus=N               CPU bandwidth in CPUs (0.5) or millicpus (500m)\n"        \
	"      --cpu-shares=N         relative CPU weight (2-262144, default 1024)\n"          \
	"      --pids-limit=N         at most N tasks in the pod\n"                             \
	"      --blkio-weight=N       relative block IO weight (10-1000)\n"

/* Handle one option of prepare_long_options (opt = getopt's return).
 * Returns 1 if it was ours, 0 if not, or an exit code < 0 → -(code). */
bool prepare_opts_handle(struct cli *cli, struct prepare_opts *o, int opt, const char *arg, int *ret_code);

/* Take IMAGE [-- ARGS…] from the remaining argv. Returns an exit code (0 ok). */
int prepare_opts_positional(struct cli *cli, struct prepare_opts *o, int argc, char **argv);

/* IMAGE xor --manifest, and what needs both options and positionals
 * (volume targets). Returns an exit code (0 ok). */
int prepare_opts_validate(struct cli *cli, const struct prepare_opts *o);

/* Make a prepared pod; *ret is left unlocked, in prepared/ — or with
 * o->for_run, locked in prepare/ with everything in it durable. Prints nothing. */
int prepare_pod(struct cli *cli, const struct prepare_opts *o, ps_pod **ret, ps_error **err);

void prepare_opts_clear(struct prepare_opts *o);

/* Fill out[] (cap entries) with prepare_long_options, the global options and
 * extra (may be NULL), terminated, for a verb's getopt_long. */
int prepare_build_options(struct option *out, size_t cap, const struct option *extra);

#endif
