/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "cli.h"
#include "paths.h" /* build/paths.h: LIBEXECDIR */
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

int cli_parse_duration(struct cli *cli, const char *opt, const char *arg, long long *ret)
{
	ps_error *err = NULL;

	if (!arg) {
		*ret = -1;
		return 0;
	}
	if (ps_duration_parse(arg, ret, &err) < 0) {
		int r = cli_usage_error(cli, "--%s: %s", opt, err->msg);
		ps_error_free(&err);
		return r;
	}
	return 0;
}

int cli_open_app(struct cli *cli, ps_pod *p, const ps_manifest *m, const char *name,
                 const char **ret_name)
{
	char rel[80];

	if (!name) {
		if (m->n_apps != 1) {
			fprintf(stderr, "podctl %s: pod %s has %zu apps, choose one with --app:", cli->verb,
			        p->uuid, m->n_apps);
			for (size_t i = 0; i < m->n_apps; i++)
				fprintf(stderr, " %s", m->apps[i].name);
			fputc('\n', stderr);
			return -EXIT_USAGE;
		}
		name = m->apps[0].name;
	}
	if (!ps_name_is_valid(name, 64))
		return -cli_usage_error(cli, "bad app name %s", name);
	snprintf(rel, sizeof(rel), "apps/%s", name);
	int fd = openat(p->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "podctl %s: pod %s: no app %s\n", cli->verb, p->uuid, name);
		return -EXIT_NOT_FOUND;
	}
	*ret_name = name;
	return fd;
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
