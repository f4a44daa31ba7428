/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pull options, the progress display, and resolve-or-pull for run/prepare. */
#include <getopt.h>
#include <unistd.h>

#include "pull.h"
#include "util.h"

bool pull_opts_handle(struct cli *cli, struct pull_cli_opts *o, int opt, const char *arg, int *ret_code)
{
	ps_pull_policy p;

	*ret_code = EXIT_OK;
	switch (opt) {
	case OPT_PULL:
		if (ps_pull_policy_from_name(arg, &p) < 0)
			*ret_code = cli_usage_error(cli, "--pull: expected missing, always or never, not \"%s\"",
			                            arg);
		else
			o->policy = arg;
		return true;
	case OPT_TLS_VERIFY:
		if (!arg)
			arg = "true";
		if (!streq(arg, "true") && !streq(arg, "false"))
			*ret_code = cli_usage_error(cli, "--tls-verify: expected true or false, not \"%s\"", arg);
		else
			o->tls_verify = arg;
		return true;
	case OPT_CREDS:
		o->creds = arg;
		return true;
	case OPT_AUTHFILE:
		o->authfile = arg;
		return true;
	case OPT_PLATFORM:
		if (!strchr(arg, '/'))
			*ret_code = cli_usage_error(cli, "--platform: expected OS/ARCH[/VARIANT], not \"%s\"", arg);
		else
			o->platform = arg;
		return true;
	default:
		return false;
	}
}

/* --- progress on a terminal ------------------------------------------------------ */

struct display {
	size_t lines; /* drawn last time, to go back up over */
	bool importing;
};

static void bar(char *buf, size_t width, long long done, long long total)
{
	size_t fill = total > 0 ? (size_t)((double)done / (double)total * (double)width) : 0;

	if (fill > width)
		fill = width;
	memset(buf, '#', fill);
	memset(buf + fill, '.', width - fill);
	buf[width] = '\0';
}

static void draw_layers(const ps_pull_layer *layers, size_t n, bool final, void *userdata)
{
	struct display *d = userdata;
	char b[31];

	if (d->lines)
		fprintf(stderr, "\033[%zuA", d->lines);
	for (size_t i = 0; i < n; i++) {
		const ps_pull_layer *l = &layers[i];
		fprintf(stderr, "\r\033[K%.19s  ", l->digest);
		switch (l->state) {
		case PS_LAYER_STORED:
			fprintf(stderr, "already in the store\n");
			break;
		case PS_LAYER_WAITING:
			fprintf(stderr, "waiting %10.1f MiB\n", (double)l->size / 1048576.0);
			break;
		default:
			bar(b, 30, l->done, l->size);
			fprintf(stderr, "[%s] %7.1f / %.1f MiB%s\n", b, (double)l->done / 1048576.0,
			        (double)l->size / 1048576.0, l->state == PS_LAYER_DONE ? " done" : "");
		}
	}
	d->lines = n;
	(void)final;
	fflush(stderr);
}

static void draw_import(long long done, long long total, size_t layer, size_t n_layers,
                        void *userdata)
{
	struct display *d = userdata;
	char b[31];
	int pct = total > 0 ? (int)(done * 100 / total) : 0;

	d->importing = true;
	bar(b, 30, done, total);
	fprintf(stderr, "\r\033[Kverify and extract layer %zu/%zu [%s] %3d%%", layer + 1, n_layers, b,
	        pct > 100 ? 100 : pct);
	fflush(stderr);
}

int cli_pull(struct cli *cli, const char *ref, const struct pull_cli_opts *o, ps_image **ret,
             ps_pull_info *ret_info, ps_error **err)
{
	struct display d = { 0 };
	bool tty = !o->quiet && isatty(STDERR_FILENO);
	ps_image_pull_opts po = {
		.tls_verify = o->tls_verify ? streq(o->tls_verify, "true") : -1,
		.creds = o->creds,
		.authfile = o->authfile,
		.platform = o->platform,
	};
	int r;

	if (tty) {
		fprintf(stderr, "pulling %s\n", ref);
		po.progress = draw_layers;
		po.progress_data = &d;
		po.import_progress = draw_import;
		po.import_progress_data = &d;
	}
	r = ps_image_pull(cli->store, ref, &po, ret, ret_info, err);
	if (d.importing)
		fputs("\r\033[K", stderr);
	return r;
}

/* --- resolve, or pull ------------------------------------------------------------- */

/* A digest or digest prefix names a stored image only: nothing to pull. */
static bool is_digest_like(const char *ref)
{
	const char *p = strncmp(ref, "sha256:", 7) == 0 ? ref + 7 : ref;

	if (!*p)
		return false;
	for (; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

ps_pull_policy cli_pull_policy(const struct pull_cli_opts *o)
{
	const char *env = getenv("PODCTL_PULL");
	ps_pull_policy p = PS_PULL_MISSING;

	if (ps_pull_policy_from_name(o->policy ? o->policy : env && *env ? env : "missing", &p) < 0)
		p = PS_PULL_MISSING;
	return p;
}

int cli_resolve_or_pull(struct cli *cli, const char *ref, const struct pull_cli_opts *o,
                        ps_image **ret, ps_error **err)
{
	const char *env = getenv("PODCTL_PULL");
	const char *pname = o->policy ? o->policy : env && *env ? env : "missing";
	_cleanup_free_ char *name = NULL;
	ps_pull_policy policy;
	int r;

	if (ps_pull_policy_from_name(pname, &policy) < 0)
		return ps_error_set(err, PS_ERR_INVALID, 0,
		                    "PODCTL_PULL=%s: expected missing, always or never", pname);
	if (is_digest_like(ref))
		return ps_image_resolve(cli->store, ref, ret, err);
	r = ps_image_pull_name(ref, &name, err);
	if (r < 0)
		return r;
	if (policy != PS_PULL_ALWAYS) {
		ps_error *e = NULL;
		r = ps_image_resolve(cli->store, name, ret, &e);
		if (r >= 0)
			return r;
		if (e->kind != PS_ERR_NOT_FOUND || policy == PS_PULL_NEVER) {
			r = ps_error_set(err, e->kind, 0, "%s%s", e->msg,
			                 e->kind == PS_ERR_NOT_FOUND ? " (not pulled: --pull=never)" : "");
			ps_error_free(&e);
			return r;
		}
		ps_error_free(&e);
	}
	ps_pull_info info;
	return cli_pull(cli, ref, o, ret, &info, err);
}
