/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <getopt.h>
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

int cli_exit_code(const ps_error *err)
{
	if (!err)
		return EXIT_FAILED;
	switch (err->kind) {
	case PS_ERR_NOT_FOUND:
	case PS_ERR_AMBIGUOUS:
		return EXIT_NOT_FOUND;
	case PS_ERR_TIMEOUT:
		return EXIT_TIMEOUT;
	default:
		break;
	}
	/* A failure that carries "timed out" from below it is one too. */
	if (err->errnum == ETIMEDOUT)
		return EXIT_TIMEOUT;
	return EXIT_FAILED;
}

static void vprint_line(struct cli *cli, const char *fmt, va_list ap)
{
	fprintf(stderr, "podctl %s: ", cli->verb);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_fail_manifest(struct cli *cli, const char *uuid, ps_error **err)
{
	bool missing = err && *err && (*err)->kind == PS_ERR_NOT_FOUND;
	int r = cli_failf(cli, EXIT_FAILED, "pod %s: %s%s", uuid, err && *err ? (*err)->msg : "manifest",
	                  missing ? " (lost to a crash or power cut?)" : "");
	ps_error_free(err);
	return r;
}

int cli_fail_hint(struct cli *cli, ps_error **err, const char *hint)
{
	if (!err || !*err) {
		fprintf(stderr, "podctl %s: failed\n", cli->verb);
		return EXIT_FAILED;
	}
	int code = cli_exit_code(*err);
	const char *msg = (*err)->msg ? (*err)->msg : strerror((*err)->errnum ? (*err)->errnum : EIO);
	if (hint)
		fprintf(stderr, "podctl %s: %s (%s)\n", cli->verb, msg, hint);
	else
		fprintf(stderr, "podctl %s: %s\n", cli->verb, msg);
	ps_error_free(err);
	return code;
}

int cli_fail(struct cli *cli, ps_error **err)
{
	return cli_fail_hint(cli, err, NULL);
}

int cli_failf(struct cli *cli, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_line(cli, fmt, ap);
	va_end(ap);
	return code;
}

void cli_note(struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_line(cli, fmt, ap);
	va_end(ap);
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
                 const char **ret_name, int *ret_fd)
{
	ps_error *err = NULL;

	if (!name) {
		if (m->n_apps != 1) {
			/* one line: the choices after the question */
			size_t len = 0;
			for (size_t i = 0; i < m->n_apps; i++)
				len += strlen(m->apps[i].name) + 1;
			_cleanup_free_ char *names = calloc(1, len + 1);
			for (size_t i = 0, at = 0; names && i < m->n_apps; i++) {
				size_t l = strlen(m->apps[i].name);
				names[at++] = ' ';
				memcpy(names + at, m->apps[i].name, l + 1);
				at += l;
			}
			return cli_failf(cli, EXIT_USAGE, "pod %s has %zu apps, choose one with --app:%s",
			                 p->uuid, m->n_apps, names ? names : "");
		}
		name = m->apps[0].name;
	}
	int fd = ps_app_dir_open(p->fd, name, &err);
	if (fd < 0) {
		int code = err && err->kind == PS_ERR_INVALID ? EXIT_USAGE : EXIT_NOT_FOUND;
		if (code == EXIT_USAGE) {
			ps_error_free(&err);
			return cli_usage_error(cli, "bad app name %s", name);
		}
		ps_error_free(&err);
		return cli_failf(cli, code, "pod %s: no app %s", p->uuid, name);
	}
	*ret_name = name;
	*ret_fd = fd;
	return EXIT_OK;
}

int cli_lookup_pod(struct cli *cli, const char *id, bool create, ps_pod **ret)
{
	ps_error *err = NULL;
	int r = cli_open_store(cli, create);

	if (r)
		return r;
	if (ps_pod_lookup(cli->store, id, ret, &err) < 0)
		return cli_fail(cli, &err);
	return EXIT_OK;
}

int cli_lookup_one(struct cli *cli, int argc, char **argv, ps_pod **ret)
{
	if (optind + 1 != argc)
		return cli_usage_error(cli, "expected one UUID");
	return cli_lookup_pod(cli, argv[optind], false, ret);
}

int cli_each_pod(struct cli *cli, int argc, char **argv, int (*one)(struct cli *cli, ps_pod *p, void *data),
                 void *data)
{
	int worst = EXIT_OK;

	if (optind >= argc)
		return cli_usage_error(cli, "expected at least one UUID");
	int r = cli_open_store(cli, false);
	if (r)
		return r;
	for (int i = optind; i < argc; i++) {
		ps_pod *p = NULL;
		r = cli_lookup_pod(cli, argv[i], false, &p);
		if (r == EXIT_OK) {
			r = one(cli, p, data);
			ps_pod_free(p);
		}
		if (r > worst)
			worst = r;
	}
	return worst;
}

int cli_exec_stage1(struct cli *cli, const ps_stage1_args *a)
{
	ps_error *err = NULL;
	_cleanup_free_ char *stage1 = NULL;
	char **av = NULL;

	if (ps_stage1_path(&stage1, &err) < 0 || ps_stage1_argv(a, &av, &err) < 0)
		return cli_fail(cli, &err);
	int flags = fcntl(a->pod_fd, F_GETFD);
	if (flags >= 0 && fcntl(a->pod_fd, F_SETFD, flags & ~FD_CLOEXEC) == 0) {
		fflush(stdout);
		fflush(stderr);
		execv(stage1, av);
	}
	int code = cli_failf(cli, EXIT_FAILED, "exec %s: %s", stage1, strerror(errno));
	ps_strv_free(av);
	return code;
}

int cli_check_running(struct cli *cli, const ps_pod *p)
{
	if (p->state == PS_STATE_RUNNING)
		return EXIT_OK;
	return cli_failf(cli, EXIT_FAILED, "pod %s is not running (%s)", p->uuid, ps_pod_state_name(p->state));
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
