/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "cli.h"
#include "util.h"

int cli_handle_global(struct cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case OPT_DIR:
		cli->dir = arg;
		return 0;
	case OPT_DEBUG:
		cli->debug = true;
		return 0;
	case '?':
		/* getopt already said what was wrong. */
		fprintf(stderr, "Try 'podctl %s --help'.\n", cli->verb);
		return EXIT_USAGE;
	default:
		return cli_usage_error(cli, "unhandled option");
	}
}

int cli_open_store(struct cli *cli, bool create)
{
	ps_error *err = NULL;

	if (cli->store)
		return 0;
	if (ps_store_open(cli->dir, create, &cli->store, &err) < 0)
		return cli_fail(cli, &err);
	return 0;
}

int cli_fail(struct cli *cli, ps_error **err)
{
	int code = EXIT_FAILED;

	if (!err || !*err) {
		fprintf(stderr, "podctl %s: failed\n", cli->verb);
		return EXIT_FAILED;
	}
	switch ((*err)->kind) {
	case PS_ERR_NOT_FOUND:
	case PS_ERR_AMBIGUOUS:
		code = EXIT_NOT_FOUND;
		break;
	case PS_ERR_TIMEOUT:
		code = EXIT_TIMEOUT;
		break;
	default:
		code = EXIT_FAILED;
		break;
	}
	fprintf(stderr, "podctl %s: %s\n", cli->verb,
	        (*err)->msg ? (*err)->msg : strerror((*err)->errnum ? (*err)->errnum : EIO));
	ps_error_free(err);
	return code;
}

int cli_usage_error(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "podctl %s: ", cli->verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'podctl %s --help')\n", cli->verb);
	return EXIT_USAGE;
}

int cli_parse_format(struct cli *cli, const char *arg, enum cli_format *ret)
{
	if (streq(arg, "json"))
		*ret = FORMAT_JSON;
	else if (streq(arg, "text") || streq(arg, "human"))
		*ret = FORMAT_TEXT;
	else
		return cli_usage_error(cli, "--format: expected json or text, not \"%s\"", arg);
	return 0;
}

const char *cli_stage1_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("PODCTL_STAGE1");

	if (env && *env)
		return env;
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n > 0) {
		path[n] = '\0';
		char *slash = strrchr(path, '/');
		if (slash) {
			strcpy(slash + 1, "podctl-stage1"); /* fits: 32 bytes were kept free */
			if (access(path, X_OK) == 0)
				return path;
		}
	}
	return LIBEXECDIR "/podctl/podctl-stage1";
}
