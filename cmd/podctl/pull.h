/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_PULL_H
#define PODCTL_PULL_H

/*
 * Pulling for `image pull`, `run` and `prepare`: options, the progress
 * display, and resolve-or-pull by the --pull policy (libpodstore's pull.h
 * does the work).
 */

#include "cli.h"

struct pull_cli_opts {
	const char *policy;     /* --pull: NULL = $PODCTL_PULL, else "missing" */
	const char *tls_verify; /* --tls-verify[=BOOL], NULL = skopeo's default */
	const char *creds;
	const char *authfile;
	const char *platform;
	bool quiet;             /* no progress, no summary line */
};

/* Option values of the pull options in getopt tables (run, prepare, image). */
enum {
	OPT_PULL = OPT_VERB_BASE + 300,
	OPT_TLS_VERIFY,
	OPT_CREDS,
	OPT_AUTHFILE,
	OPT_PLATFORM,
};

#define PULL_LONG_OPTIONS                                                 \
	{ "tls-verify", optional_argument, NULL, OPT_TLS_VERIFY },          \
	{ "creds", required_argument, NULL, OPT_CREDS },                    \
	{ "authfile", required_argument, NULL, OPT_AUTHFILE },              \
	{ "platform", required_argument, NULL, OPT_PLATFORM }

#define PULL_OPTIONS_HELP                                                                  \
	"      --tls-verify[=BOOL]    check the registry's TLS certificate (default true)\n"   \
	"      --creds=USER[:PASS]    registry credentials\n"                                   \
	"      --authfile=FILE        registry credentials file (auth.json)\n"                 \
	"      --platform=OS/ARCH[/VARIANT]  the image for that platform (default this one)\n"

/* Handle one of the options above (and --pull): true if it was one, with
 * *ret_code EXIT_OK or the exit code of a bad value (printed). */
bool pull_opts_handle(struct cli *cli, struct pull_cli_opts *o, int opt, const char *arg, int *ret_code);

/* The policy --pull or $PODCTL_PULL asks for (missing when neither, or
 * when $PODCTL_PULL is not a policy: cli_resolve_or_pull() then says so). */
ps_pull_policy cli_pull_policy(const struct pull_cli_opts *o);

/* Pull ref, drawing progress on stderr when it is a terminal and !o->quiet. */
int cli_pull(struct cli *cli, const char *ref, const struct pull_cli_opts *o, ps_image **ret,
             ps_pull_info *ret_info, ps_error **err);

/* The image ref names in the store, pulling it first as the policy says. */
int cli_resolve_or_pull(struct cli *cli, const char *ref, const struct pull_cli_opts *o,
                        ps_image **ret, ps_error **err);

#endif
