/* SPDX-License-Identifier: GPL-2.0-or-later */
/* image: import, list and remove images (the store is libpodstore's image.c). */
#include <getopt.h>
#include <json-c/json.h>
#include <unistd.h>

#include "cli.h"
#include "podview.h"
#include "util.h"

enum { OPT_NAME = OPT_VERB_BASE, OPT_QUIET, OPT_NO_LEGEND, OPT_FORCE };

static void usage(FILE *f)
{
	fprintf(f, "Usage: podctl image import PATH [--name NAME[:TAG]] [--quiet] [--format=json|text]\n"
	           "       podctl image list [--format=json|text] [--no-legend]\n"
	           "       podctl image rm [--force] [--format=json|text] REF…\n\n"
	           "import takes an OCI image layout (dir or tar), a docker-archive tar, a rootfs\n"
	           "tarball (none, gzip, xz, zstd, bzip2) or a rootfs dir, and prints the image's\n"
	           "digest. A REF is NAME[:TAG], a digest, or a unique digest prefix. rm refuses an\n"
	           "image a prepared or running pod uses, unless --force, and then frees what no\n"
	           "image or pod uses any more.\n\n"
	           "Options:\n"
	           "      --name=NAME[:TAG]      name the imported image (tag default: latest)\n"
	           "  -q, --quiet                no progress bar (there is none unless stdout and\n"
	           "                             stderr are terminals)\n"
	           "      --format=json|text     output format (default text); json: import prints\n"
	           "                             the image as list does, rm {\"removed\": [REF…],\n"
	           "                             \"failed\": [{\"ref\", \"error\"}]}\n"
	           "      --no-legend            no header line\n"
	           "  -f, --force                rm even when pods use it\n" CLI_GLOBAL_HELP);
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
	fprintf(stderr, "\rlayer %zu/%zu [%s] %3d%% %lld MiB", layer + 1, n_layers, bar, pct,
	        done >> 20);
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
		CLI_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	enum cli_format format = FORMAT_TEXT;
	const char *name = NULL, *sub;
	bool quiet = false, legend = true, force = false;
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
			if ((r = cli_handle_global(cli, c, optarg)))
				return r;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli, "missing subcommand (import, list or rm)");
	sub = argv[optind++];
	if (streq(sub, "import")) {
		if (argc - optind != 1)
			return cli_usage_error(cli, "import takes one PATH");
		if ((r = cli_open_store(cli, true)))
			return r;
		return image_import(cli, argv[optind], name, quiet, format);
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
	return cli_usage_error(cli, "unknown subcommand \"%s\" (import, list or rm)", sub);
}
