/* SPDX-License-Identifier: GPL-2.0-or-later */
/* image: import, list and remove images (the store is libpodstore's image-*.c). */
#include <getopt.h>
#include <json-c/json.h>
#include <unistd.h>

#include "cli.h"
#include "podview.h"
#include "pull.h"
#include "util.h"

enum { OPT_NAME = OPT_VERB_BASE, OPT_QUIET, OPT_NO_LEGEND, OPT_FORCE };

static void usage(FILE *f)
{
	fprintf(f, "Usage: podctl image import PATH [--name NAME[:TAG]] [--quiet] [--format=json|text]\n"
	           "       podctl image pull [--tls-verify=BOOL] [--creds=USER:PASS] [--authfile=F]\n"
	           "                         [--platform=OS/ARCH[/VARIANT]] [--quiet] [--format=json|text]\n"
	           "                         REFERENCE\n"
	           "       podctl image list [--format=json|text] [--no-legend]\n"
	           "       podctl image inspect [--format=json|text] REF\n"
	           "       podctl image tag REF NEW-NAME[:TAG]\n"
	           "       podctl image rm [--force] [--format=json|text] REF…\n\n"
	           "import takes an OCI image layout (dir or tar), a docker-archive tar, a rootfs\n"
	           "tarball (none, gzip, xz, zstd, bzip2) or a rootfs dir, and prints the image's\n"
	           "digest. A REF is NAME[:TAG], a digest, or a unique digest prefix. rm refuses an\n"
	           "image a prepared or running pod uses, unless --force, and then frees what no\n"
	           "image or pod uses any more.\n\n"
	           "pull fetches REFERENCE with skopeo: docker://HOST/NAME[:TAG|@sha256:…],\n"
	           "oci:DIR[:TAG], oci-archive:PATH, docker-archive:PATH, or NAME[:TAG] (docker://\n"
	           "with registries.conf's short names), names the image by it (without\n"
	           "docker://) and prints its digest. An image already stored is not copied again.\n\n"
	           "Options:\n"
	           "      --name=NAME[:TAG]      name the imported image (tag default: latest)\n"
	           "  -q, --quiet                no progress bar (there is none unless stdout and\n"
	           "                             stderr are terminals)\n"
	           "      --format=json|text     output format (default text); json: import and\n"
	           "                             pull print the image as list does, rm\n"
	           "                             {\"removed\": [REF…], \"failed\": [{\"ref\", \"error\"}]}\n"
	           "      --no-legend            no header line\n"
	           "  -f, --force                rm even when pods use it\n" PULL_OPTIONS_HELP
	           CLI_GLOBAL_HELP);
}

static void progress_bar(long long done, long long total, size_t layer, size_t n_layers,
                         void *userdata)
{
	int pct = total > 0 ? (int)(done * 100 / total) : 0;
	char bar[31];

	if (pct > 100)
		pct = 100;
	memset(bar, '#', (size_t)pct * 30 / 100);
	memset(bar + pct * 30 / 100, '.', 30 - (size_t)pct * 30 / 100);
	bar[30] = '\0';
	fprintf(stderr, "\rlayer %zu/%zu [%s] %3d%% %lld/%lld MiB", layer + 1, n_layers, bar, pct,
	        done >> 20, total >> 20);
}

static json_object *image_json(const ps_image *img);

static int image_import(struct cli *cli, const char *path, const char *name, bool quiet,
                        enum cli_format format)
{
	ps_image_import_opts io = { .name = name };
	ps_image *img = NULL;
	ps_error *err = NULL;
	/* On stderr, and only for a person watching: output to a file or a
	 * pipe (a script reading the digest) gets none. */
	bool bar = !quiet && isatty(STDERR_FILENO) && isatty(STDOUT_FILENO);

	if (bar)
		io.progress = progress_bar;
	int r = ps_image_import(cli->store, path, &io, &img, &err);
	if (bar)
		fputs("\r\033[K", stderr);
	if (r < 0)
		return cli_fail(cli, &err);
	if (format == FORMAT_JSON) {
		json_object *j = image_json(img);
		json_print(j);
		json_object_put(j);
	} else {
		printf("%s\n", img->digest);
	}
	ps_image_free(img);
	return EXIT_OK;
}

static json_object *image_json(const ps_image *img)
{
	json_object *o = json_object_new_object(), *names = json_object_new_array(),
	            *layers = json_object_new_array();
	char created[64];

	ps_format_time(img->created_ns, created, sizeof(created));
	json_object_object_add(o, "digest", json_object_new_string(img->digest));
	for (char **n = img->names; n && *n; n++)
		json_object_array_add(names, json_object_new_string(*n));
	json_object_object_add(o, "names", names);
	for (size_t i = 0; i < img->n_layers; i++)
		json_object_array_add(layers, json_object_new_string(img->layers[i]));
	json_object_object_add(o, "layers", layers);
	json_object_object_add(o, "size", json_object_new_int64(img->size));
	json_object_object_add(o, "created", json_object_new_string(created));
	return o;
}

static int image_list(struct cli *cli, enum cli_format format, bool legend)
{
	ps_image **v = NULL;
	size_t n = 0;
	ps_error *err = NULL;

	if (ps_image_list(cli->store, &v, &n, &err) < 0)
		return cli_fail(cli, &err);
	if (format == FORMAT_JSON) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, image_json(v[i]));
		json_print(a);
		json_object_put(a);
	} else {
		if (legend)
			printf("%-19s  %-32s %6s %10s  %s\n", "DIGEST", "NAME", "LAYERS", "SIZE",
			       "CREATED");
		for (size_t i = 0; i < n; i++) {
			char created[64];
			ps_format_time(v[i]->created_ns, created, sizeof(created));
			created[19] = '\0';
			/* One line per name, so scripts can grep a name. */
			size_t k = 0;
			do
				printf("%-19.19s  %-32s %6zu %8.1fMB  %s\n", v[i]->digest,
				       v[i]->names[k] ? v[i]->names[k] : "-", v[i]->n_layers,
				       (double)v[i]->size / 1e6, created);
			while (v[i]->names[k] && v[i]->names[++k]);
		}
	}
	ps_image_list_free(v, n);
	return EXIT_OK;
}

static int image_pull(struct cli *cli, const char *ref, const struct pull_cli_opts *po,
                      enum cli_format format)
{
	ps_image *img = NULL;
	ps_error *err = NULL;
	ps_pull_info info = { 0 };

	if (cli_pull(cli, ref, po, &img, &info, &err) < 0)
		return cli_fail(cli, &err);
	if (!po->quiet) {
		if (info.up_to_date)
			fprintf(stderr, "%s: %s is up to date: nothing transferred\n", ref, img->digest);
		else
			fprintf(stderr, "%s: %zu layer%s, %zu taken from the store, %.1f MiB transferred\n",
			        ref, info.n_layers, info.n_layers == 1 ? "" : "s", info.layers_reused,
			        (double)info.bytes_transferred / 1048576.0);
	}
	if (format == FORMAT_JSON) {
		/* The image as list prints it, and what the pull did. */
		json_object *j = image_json(img);
		json_object_object_add(j, "upToDate", json_object_new_boolean(info.up_to_date));
		json_object_object_add(j, "layersReused", json_object_new_int64((int64_t)info.layers_reused));
		json_object_object_add(j, "bytesTransferred", json_object_new_int64(info.bytes_transferred));
		json_print(j);
		json_object_put(j);
	} else {
		printf("%s\n", img->digest);
	}
	ps_image_free(img);
	return EXIT_OK;
}

static json_object *strv_json(char **v)
{
	json_object *a = json_object_new_array();
	for (; v && *v; v++)
		json_object_array_add(a, json_object_new_string(*v));
	return a;
}

/* "images/trees/sha256-<hex>" → "sha256:<hex>" */
static const char *layer_digest(const char *tree, char *buf, size_t size)
{
	const char *h = strstr(tree, "sha256-");
	if (!h)
		return tree;
	snprintf(buf, size, "sha256:%s", h + 7);
	return buf;
}

static int image_inspect(struct cli *cli, const char *ref, enum cli_format format)
{
	ps_image *img = NULL;
	ps_error *err = NULL;
	char created[64], d[96];

	if (ps_image_resolve(cli->store, ref, &img, &err) < 0)
		return cli_fail(cli, &err);
	ps_format_time(img->created_ns, created, sizeof(created));
	if (format == FORMAT_JSON) {
		json_object *o = json_object_new_object(), *layers = json_object_new_array(),
		            *c = json_object_new_object();
		json_object_object_add(o, "digest", json_object_new_string(img->digest));
		json_object_object_add(o, "names", strv_json(img->names));
		json_object_object_add(o, "size", json_object_new_int64(img->size));
		json_object_object_add(o, "created", json_object_new_string(created));
		for (size_t i = 0; i < img->n_layers; i++)
			json_object_array_add(layers, json_object_new_string(
				layer_digest(img->layers[i], d, sizeof(d))));
		json_object_object_add(o, "layers", layers);
		json_object_object_add(c, "entrypoint", strv_json(img->config.entrypoint));
		json_object_object_add(c, "cmd", strv_json(img->config.cmd));
		json_object_object_add(c, "env", strv_json(img->config.env));
		json_object_object_add(c, "workingDir", img->config.working_dir ?
			json_object_new_string(img->config.working_dir) : NULL);
		json_object_object_add(c, "user", img->config.user ?
			json_object_new_string(img->config.user) : NULL);
		json_object_object_add(o, "config", c);
		json_print(o);
		json_object_put(o);
	} else {
		printf("Digest:      %s\n", img->digest);
		for (size_t i = 0; img->names && img->names[i]; i++)
			printf("%-12s %s\n", i ? "" : "Names:", img->names[i]);
		printf("Size:        %lld bytes\n", img->size);
		printf("Created:     %s\n", created);
		for (size_t i = 0; i < img->n_layers; i++)
			printf("%-12s %s\n", i ? "" : "Layers:", layer_digest(img->layers[i], d, sizeof(d)));
		for (size_t i = 0; img->config.entrypoint && img->config.entrypoint[i]; i++)
			printf("%-12s %s\n", i ? "" : "Entrypoint:", img->config.entrypoint[i]);
		for (size_t i = 0; img->config.cmd && img->config.cmd[i]; i++)
			printf("%-12s %s\n", i ? "" : "Cmd:", img->config.cmd[i]);
		for (size_t i = 0; img->config.env && img->config.env[i]; i++)
			printf("%-12s %s\n", i ? "" : "Env:", img->config.env[i]);
		if (img->config.working_dir)
			printf("WorkingDir:  %s\n", img->config.working_dir);
		if (img->config.user)
			printf("User:        %s\n", img->config.user);
	}
	ps_image_free(img);
	return EXIT_OK;
}

static int image_tag(struct cli *cli, const char *ref, const char *name)
{
	ps_error *err = NULL;

	if (ps_image_tag(cli->store, ref, name, &err) < 0)
		return cli_fail(cli, &err);
	return EXIT_OK;
}

static int image_rm(struct cli *cli, int argc, char **argv, bool force, enum cli_format format)
{
	ps_error *err = NULL;
	int ret = EXIT_OK, r;
	json_object *removed = json_object_new_array(), *failed = json_object_new_array();

	for (int i = 0; i < argc; i++) {
		if (ps_image_remove(cli->store, argv[i], force, &err) == 0) {
			json_object_array_add(removed, json_object_new_string(argv[i]));
		} else {
			json_object *f = json_object_new_object();
			json_object_object_add(f, "ref", json_object_new_string(argv[i]));
			json_object_object_add(f, "error", json_object_new_string(err && err->msg ? err->msg : "failed"));
			json_object_array_add(failed, f);
			r = cli_fail(cli, &err);
			if (ret == EXIT_OK || r == EXIT_FAILED)
				ret = r;
		}
	}
	if (ps_image_gc(cli->store, &err) < 0) {
		r = cli_fail(cli, &err);
		if (ret == EXIT_OK)
			ret = r;
	}
	if (format == FORMAT_JSON) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "removed", json_object_get(removed));
		json_object_object_add(j, "failed", json_object_get(failed));
		json_print(j);
		json_object_put(j);
	}
	json_object_put(removed);
	json_object_put(failed);
	return ret;
}

int cmd_image(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "quiet", no_argument, NULL, 'q' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "no-legend", no_argument, NULL, OPT_NO_LEGEND },
		{ "force", no_argument, NULL, 'f' },
		PULL_LONG_OPTIONS,
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format format = FORMAT_TEXT;
	const char *name = NULL, *sub;
	bool quiet = false, legend = true, force = false;
	struct pull_cli_opts po = { 0 };
	int c, r;

	while ((c = getopt_long(argc, argv, "hqf", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_NAME:
			name = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case OPT_FORMAT:
			if ((r = cli_parse_format(cli, optarg, &format)))
				return r;
			break;
		case OPT_NO_LEGEND:
			legend = false;
			break;
		case 'f':
			force = true;
			break;
		default:
			if (!pull_opts_handle(cli, &po, c, optarg, &r))
				r = cli_handle_global(cli, c, optarg);
			if (r)
				return r;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "missing subcommand (import, pull, list, inspect, tag or rm)");
	sub = argv[optind++];
	if (streq(sub, "import")) {
		if (argc - optind != 1)
			return cli_usage_error(cli, "import takes one PATH");
		if ((r = cli_open_store(cli, true)))
			return r;
		return image_import(cli, argv[optind], name, quiet, format);
	}
	if (streq(sub, "pull")) {
		if (argc - optind != 1)
			return cli_usage_error(cli, "pull takes one REFERENCE");
		if ((r = cli_open_store(cli, true)))
			return r;
		po.quiet = quiet;
		return image_pull(cli, argv[optind], &po, format);
	}
	if (streq(sub, "inspect")) {
		if (argc - optind != 1)
			return cli_usage_error(cli, "inspect takes one REF");
		if ((r = cli_open_store(cli, true)))
			return r;
		return image_inspect(cli, argv[optind], format);
	}
	if (streq(sub, "tag")) {
		if (argc - optind != 2)
			return cli_usage_error(cli, "tag takes REF and NEW-NAME[:TAG]");
		if ((r = cli_open_store(cli, true)))
			return r;
		return image_tag(cli, argv[optind], argv[optind + 1]);
	}
	if (streq(sub, "list") || streq(sub, "ls")) {
		if (optind < argc)
			return cli_usage_error(cli, "unexpected argument \"%s\"", argv[optind]);
		if ((r = cli_open_store(cli, true)))
			return r;
		return image_list(cli, format, legend);
	}
	if (streq(sub, "rm")) {
		if (optind >= argc)
			return cli_usage_error(cli, "missing REF");
		if ((r = cli_open_store(cli, true)))
			return r;
		return image_rm(cli, argc - optind, argv + optind, force, format);
	}
	return cli_usage_error(cli, "unknown subcommand \"%s\" (import, pull, list, inspect, tag or rm)", sub);
}
