/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_CLI_H
#define PODCTL_CLI_H

/*
 * Shared by the verbs of podctl. Each verb lives in cmd-<verb>.c as
 *
 *     int cmd_<verb>(struct cli *cli, int argc, char **argv);
 *
 * parses its own options with getopt_long (argv[0] is the verb), prints
 * --help to stdout and returns 0, and returns one of the exit codes below.
 * Errors are printed once, as one line, through cli_fail().
 */

#include <stdbool.h>
#include <stdio.h>
#include <podstore/podstore.h>

enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_NOT_FOUND = 3,
	EXIT_TIMEOUT = 4,
};

enum cli_format { FORMAT_TEXT, FORMAT_JSON };

struct cli {
	const char *dir;      /* --dir, $PODCTL_DIR, or PS_DEFAULT_DIR */
	bool debug;           /* --debug */
	const char *verb;     /* for messages */
	ps_store *store;      /* opened by cli_open_store() */
};

/* Options every verb takes; add CLI_GLOBAL_OPTIONS to a verb's option table
 * and pass unknown getopt results to cli_handle_global(). */
enum { OPT_DIR = 900, OPT_DEBUG, OPT_FORMAT, OPT_VERB_BASE = 1000 };
#define CLI_GLOBAL_OPTIONS                                \
	{ "dir", required_argument, NULL, OPT_DIR },      \
	{ "debug", no_argument, NULL, OPT_DEBUG },        \
	{ "help", no_argument, NULL, 'h' }
#define CLI_GLOBAL_HELP                                                    \
	"      --dir=DIR              data dir (default $PODCTL_DIR or " PS_DEFAULT_DIR ")\n" \
	"      --debug                say more on stderr\n"                      \
	"  -h, --help                 show this help\n"

/* Handle --dir/--debug; for '?' (bad option) print nothing more and return
 * EXIT_USAGE. Returns 0 when handled, EXIT_USAGE for an unknown option. */
int cli_handle_global(struct cli *cli, int opt, const char *arg);

/* Open (creating when create) the data dir; prints and returns an exit code on failure. */
int cli_open_store(struct cli *cli, bool create);

/*
 * Failures: every one is printed once, as one line "podctl <verb>: <what>",
 * through the functions below, and the verb returns their exit code.
 */
/* The exit code for err: NOT_FOUND/AMBIGUOUS → 3, TIMEOUT (or errno
 * ETIMEDOUT) → 4, everything else → 1. */
int cli_exit_code(const ps_error *err);
/* Print err's message (freeing it) and return cli_exit_code(err). */
int cli_fail(struct cli *cli, ps_error **err);
/* The same with " (hint)" after the message. */
int cli_fail_hint(struct cli *cli, ps_error **err, const char *hint);
/* A failure found by the CLI itself (no ps_error): print it, return code. */
int cli_failf(struct cli *cli, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A pod's manifest failed to load (ps_manifest_load_at's *err, freed): one
 * line naming the pod, exit 1 — the pod exists; a power cut can lose or
 * empty the manifest of a pod `run` made (Documentation/devel/decisions.md). */
int cli_fail_manifest(struct cli *cli, const char *uuid, ps_error **err);
/* Not a failure: one line of note on stderr (e.g. "already exited"). */
void cli_note(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Print "podctl <verb>: <fmt…>" and return EXIT_USAGE, with a hint to --help. */
int cli_usage_error(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse the duration value of option --opt (NULL arg → -1, "no limit").
 * Prints a usage error and returns EXIT_USAGE when it is not one. */
int cli_parse_duration(struct cli *cli, const char *opt, const char *arg, long long *ret);

/* The app --app names (or the pod's only app when name is NULL), opened:
 * sets *ret_fd to its apps/<app> dir fd and *ret_name (borrowed from m or
 * name) and returns EXIT_OK, or prints one line and returns the exit code. */
int cli_open_app(struct cli *cli, ps_pod *p, const ps_manifest *m, const char *name,
                 const char **ret_name, int *ret_fd);

/* Open the store (creating it when create) and look up the pod id names
 * (uuid, prefix or name): EXIT_OK with *ret set (ps_pod_free() it), or the
 * failure printed and its exit code. */
int cli_lookup_pod(struct cli *cli, const char *id, bool create, ps_pod **ret);
/* The same for a verb that takes exactly one pod, argv[optind] (else the
 * usage error "expected one UUID"); the store is not created. */
int cli_lookup_one(struct cli *cli, int argc, char **argv, ps_pod **ret);

/* The verbs that act on each pod named (argv[optind..], at least one, else
 * a usage error): look each up and call one(cli, pod, data); the pod is
 * freed after. Returns the worst exit code of them all (a pod that cannot
 * be found does not stop the others). */
int cli_each_pod(struct cli *cli, int argc, char **argv, int (*one)(struct cli *cli, ps_pod *p, void *data),
                 void *data);

/* A verb whose work is stage1's (enter, attach): exec podctl-stage1 with
 * the arguments a, the pod's dir fd (a->pod_fd) passed on. Returns only on
 * failure, printed, with its exit code. */
int cli_exec_stage1(struct cli *cli, const ps_stage1_args *a);

/* EXIT_OK when the pod is running, else "pod X is not running (state)"
 * printed and EXIT_FAILED. */
int cli_check_running(struct cli *cli, const ps_pod *p);

/* Parse --format's value. */
int cli_parse_format(struct cli *cli, const char *arg, enum cli_format *ret);


/* Verbs. */
int cmd_prepare(struct cli *cli, int argc, char **argv);
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_run_prepared(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_list(struct cli *cli, int argc, char **argv);
int cmd_stop(struct cli *cli, int argc, char **argv);
int cmd_rm(struct cli *cli, int argc, char **argv);
int cmd_gc(struct cli *cli, int argc, char **argv);
int cmd_logs(struct cli *cli, int argc, char **argv);
int cmd_enter(struct cli *cli, int argc, char **argv);
int cmd_attach(struct cli *cli, int argc, char **argv);
int cmd_kill(struct cli *cli, int argc, char **argv);
int cmd_cat_manifest(struct cli *cli, int argc, char **argv);
int cmd_port(struct cli *cli, int argc, char **argv);
int cmd_image(struct cli *cli, int argc, char **argv);
int cmd_version(struct cli *cli, int argc, char **argv);
int cmd_notify(struct cli *cli, int argc, char **argv);
int cmd_events(struct cli *cli, int argc, char **argv);
int cmd_wait(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);

#endif
