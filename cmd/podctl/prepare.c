/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Making a prepared pod: build or read the manifest, resolve every app's
 * image (merging the image's config under the app's own fields), then lay
 * the pod dir out under the pod's exclusive lock and move it to prepared/.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <sys/stat.h>

#include "prepare.h"
#include "util.h"

enum {
	OPT_MANIFEST = OPT_VERB_BASE + 100,
	OPT_NAME,
	OPT_NET,
	OPT_VOLUME,
	OPT_STATUS_GOAL,
	OPT_GOAL_TIMEOUT,
	OPT_UUID_FILE,
};

const struct option prepare_long_options[] = {
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "net", required_argument, NULL, OPT_NET },
	{ "volume", required_argument, NULL, OPT_VOLUME },
	{ "status-goal", required_argument, NULL, OPT_STATUS_GOAL },
	{ "goal-timeout", required_argument, NULL, OPT_GOAL_TIMEOUT },
	{ "uuid-file-save", required_argument, NULL, OPT_UUID_FILE },
	{ NULL, 0, NULL, 0 },
};

int prepare_opts_handle(struct cli *cli, struct prepare_opts *o, int opt, const char *arg)
{
	int r;
	ps_status_goal g;

	switch (opt) {
	case OPT_MANIFEST:
		o->manifest_path = arg;
		return 1;
	case OPT_NAME:
		o->name = arg;
		return 1;
	case OPT_NET:
		if (!streq(arg, "none") && !streq(arg, "host"))
			return -cli_usage_error(cli, "--net: expected none or host, not \"%s\"", arg);
		o->net = arg;
		return 1;
	case OPT_VOLUME: {
		char **nv = realloc(o->volumes, (o->n_volumes + 2) * sizeof(char *));
		if (!nv)
			return -EXIT_FAILED;
		o->volumes = nv;
		o->volumes[o->n_volumes++] = (char *)arg;
		o->volumes[o->n_volumes] = NULL;
		return 1;
	}
	case OPT_STATUS_GOAL:
		if (ps_status_goal_from_name(arg, &g) < 0)
			return -cli_usage_error(cli, "--status-goal: expected MOUNTED, STARTED or READY, not \"%s\"", arg);
		o->status_goal = arg;
		return 1;
	case OPT_GOAL_TIMEOUT:
		r = cli_parse_duration(cli, "goal-timeout", arg, &o->goal_timeout_ms);
		return r ? -r : 1;
	case OPT_UUID_FILE:
		o->uuid_file = arg;
		return 1;
	default:
		return 0;
	}
}

int prepare_opts_positional(struct cli *cli, struct prepare_opts *o, int argc, char **argv)
{
	/* getopt_long permutes, but stops at "--": what follows is the app's. */
	if (optind < argc && !streq(argv[optind - 1], "--")) {
		o->image = argv[optind++];
	}
	if (optind < argc) {
		if (!o->image)
			o->image = argv[optind++];
		if (optind < argc)
			o->args = argv + optind;
	}
	if (o->manifest_path && o->image)
		return cli_usage_error(cli, "give an IMAGE or --manifest, not both");
	if (!o->manifest_path && !o->image)
		return cli_usage_error(cli, "missing IMAGE (or --manifest FILE)");
	return 0;
}

void prepare_opts_clear(struct prepare_opts *o)
{
	free(o->volumes);
	o->volumes = NULL;
	o->n_volumes = 0;
}

/* --- building the manifest ------------------------------------------------ */

static int read_manifest_file(const char *path, ps_manifest **ret, ps_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	/* The user's own file: symlinks and /dev/stdin are fine here. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ps_error_errno(err, "read manifest %s", path);
	r = ps_read_all(fd, 1 << 20, &buf, &len);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "read manifest %s", path);
	r = ps_manifest_parse(buf, len, ret, err);
	if (r < 0)
		return ps_error_prefix(err, "manifest %s", path);
	return 0;
}

/* An app name from an image reference: its last path component, lowered,
 * with anything outside [a-z0-9-] turned into '-'. */
static char *app_name_from_image(const char *ref)
{
	const char *base = strrchr(ref, '/');
	char buf[64];
	size_t n = 0;

	base = base && base[1] ? base + 1 : ref;
	for (const char *p = base; *p && *p != ':' && *p != '@' && n < sizeof(buf) - 1; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '-';
		if (n == 0 && c == '-')
			continue;
		buf[n++] = c;
	}
	/* Drop tarball suffixes and trailing dashes. */
	buf[n] = '\0';
	for (const char *suf = NULL; (suf = strstr(buf, "-tar")) || (suf = strstr(buf, "-tgz"));)
		buf[suf - buf] = '\0';
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '-')
		buf[--n] = '\0';
	return strdup(n ? buf : "app");
}

/* Cut s at the next ',' (empty pieces are skipped): the piece, or NULL at the end. */
static char *next_piece(char **s)
{
	while (*s && **s == ',')
		(*s)++;
	if (!*s || !**s)
		return NULL;
	char *piece = *s, *comma = strchr(piece, ',');
	if (comma) {
		*comma = '\0';
		*s = comma + 1;
	} else {
		*s = NULL;
	}
	return piece;
}

/* --volume name,kind=host,source=PATH[,readOnly=true][,suid=true][,dev=true][,target=PATH] */
static int parse_volume(struct cli *cli, ps_manifest *m, const char *spec, ps_error **err)
{
	_cleanup_free_ char *copy = strdup(spec);
	char *rest, *tok;
	ps_volume v = { 0 };
	const char *target = NULL;

	if (!copy)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
	rest = copy;
	tok = next_piece(&rest);
	if (!tok || strchr(tok, '='))
		return ps_error_set(err, PS_ERR_INVALID, 0, "--volume %s: must start with a name", spec);
	v.name = tok;
	v.kind = (char *)"host";
	while ((tok = next_piece(&rest))) {
		char *eq = strchr(tok, '=');
		if (!eq)
			return ps_error_set(err, PS_ERR_INVALID, 0, "--volume %s: expected key=value, not \"%s\"", spec, tok);
		*eq = '\0';
		const char *val = eq + 1;
		if (streq(tok, "kind"))
			v.kind = (char *)val;
		else if (streq(tok, "source"))
			v.source = (char *)val;
		else if (streq(tok, "readOnly"))
			v.read_only = streq(val, "true");
		else if (streq(tok, "suid"))
			v.allow_suid = streq(val, "true");
		else if (streq(tok, "dev"))
			v.allow_dev = streq(val, "true");
		else if (streq(tok, "target"))
			target = val;
		else
			return ps_error_set(err, PS_ERR_INVALID, 0, "--volume %s: unknown key \"%s\"", spec, tok);
	}
	ps_volume *nv = realloc(m->volumes, (m->n_volumes + 1) * sizeof(*nv));
	if (!nv)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
	m->volumes = nv;
	ps_volume *dst = &m->volumes[m->n_volumes++];
	*dst = (ps_volume){
		.name = strdup(v.name),
		.kind = strdup(v.kind),
		.source = v.source ? strdup(v.source) : NULL,
		.read_only = v.read_only,
		.allow_suid = v.allow_suid,
		.allow_dev = v.allow_dev,
	};
	if (!dst->name || !dst->kind || (v.source && !dst->source))
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
	if (!target)
		return 0; /* a manifest's apps mount it themselves */
	for (size_t i = 0; i < m->n_apps; i++) {
		ps_app *a = &m->apps[i];
		ps_mount *nm = realloc(a->mounts, (a->n_mounts + 1) * sizeof(*nm));
		if (!nm)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
		a->mounts = nm;
		a->mounts[a->n_mounts] = (ps_mount){ .volume = strdup(v.name), .path = strdup(target),
			                             .read_only = v.read_only };
		if (!a->mounts[a->n_mounts].volume || !a->mounts[a->n_mounts].path)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
		a->n_mounts++;
	}
	return 0;
}

static char **strv_dup(char *const *v)
{
	size_t n = ps_strv_length(v);
	char **r = calloc(n + 1, sizeof(char *));

	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		r[i] = strdup(v[i]);
		if (!r[i]) {
			ps_strv_free(r);
			return NULL;
		}
	}
	return r;
}

static int build_manifest(struct cli *cli, const struct prepare_opts *o, ps_manifest **ret,
                          ps_error **err)
{
	ps_manifest *m = NULL;
	int r;

	if (o->manifest_path) {
		r = read_manifest_file(o->manifest_path, &m, err);
		if (r < 0)
			return r;
		if (o->args) {
			ps_manifest_free(m);
			return ps_error_set(err, PS_ERR_INVALID, 0,
			                    "arguments after -- need an IMAGE, not --manifest");
		}
	} else {
		r = ps_manifest_new(&m, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *name = app_name_from_image(o->image);
		ps_app *a = name ? ps_manifest_add_app(m, false, name) : NULL;
		if (!a || !(a->image = strdup(o->image)) || (o->args && !(a->exec = strv_dup(o->args)))) {
			ps_manifest_free(m);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "build manifest");
		}
	}
	if (o->name && !(free(m->name), m->name = strdup(o->name)))
		goto oom;
	if (o->net && !(free(m->net), m->net = strdup(o->net)))
		goto oom;
	for (size_t i = 0; i < m->n_apps; i++) {
		if (o->status_goal)
			ps_status_goal_from_name(o->status_goal, &m->apps[i].goal);
		if (o->goal_timeout_ms >= 0)
			m->apps[i].goal_timeout_ms = o->goal_timeout_ms;
	}
	for (size_t i = 0; i < o->n_volumes; i++) {
		r = parse_volume(cli, m, o->volumes[i], err);
		if (r < 0) {
			ps_manifest_free(m);
			return r;
		}
	}
	*ret = m;
	return 0;
oom:
	ps_manifest_free(m);
	return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "build manifest");
}

/* --- images --------------------------------------------------------------- */

/* What an app runs on: the layer trees (bottom first) and the image config. */
struct app_root {
	char *digest;       /* NULL for a rootfs dir used in place */
	char **layers;      /* absolute, or relative to the data dir */
	ps_image *image;    /* config source, may be NULL */
};

static void app_root_clear(struct app_root *ar)
{
	free(ar->digest);
	ps_strv_free(ar->layers);
	if (ar->image)
		ps_image_free(ar->image);
	*ar = (struct app_root){ 0 };
}

/* An OCI layout dir is imported, any other dir is a rootfs. */
static bool is_image_layout(const char *dir)
{
	_cleanup_free_ char *p = ps_strdup_printf("%s/oci-layout", dir);

	return p && access(p, F_OK) == 0;
}

static int resolve_root(struct cli *cli, const char *ref, struct app_root *ret, ps_error **err)
{
	struct stat st;
	int r;

	/* A rootfs directory is used in place, read-only, as the pod's lower
	 * layer: no copy, but it must outlive the pods made from it. */
	bool is_path = strchr(ref, '/') || stat(ref, &st) == 0;

	if (is_path && stat(ref, &st) < 0)
		return ps_error_errno(err, "image %s", ref);
	if (is_path && S_ISDIR(st.st_mode) && !is_image_layout(ref)) {
		char real[PATH_MAX];
		if (!realpath(ref, real))
			return ps_error_errno(err, "image %s", ref);
		ret->layers = calloc(2, sizeof(char *));
		if (!ret->layers || !(ret->layers[0] = strdup(real)))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "image %s", ref);
		return 0;
	}
	ps_image *img = NULL;
	if (is_path) {
		ps_image_import_opts io = { 0 };
		r = ps_image_import(cli->store, ref, &io, &img, err);
	} else {
		r = ps_image_resolve(cli->store, ref, &img, err);
	}
	if (r < 0)
		return r;
	ret->image = img;
	ret->digest = strdup(img->digest);
	ret->layers = calloc(img->n_layers + 1, sizeof(char *));
	if (!ret->digest || !ret->layers)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "image %s", ref);
	for (size_t i = 0; i < img->n_layers; i++)
		if (!(ret->layers[i] = strdup(img->layers[i])))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "image %s", ref);
	return 0;
}

/* Image config under the app's own fields: the app wins where it says something. */
static int merge_image_config(ps_app *a, const ps_image *img, ps_error **err)
{
	const ps_image_config *c = img ? &img->config : NULL;

	if (!a->exec && c) {
		size_t ne = ps_strv_length(c->entrypoint), nc = ps_strv_length(c->cmd);
		if (ne + nc > 0) {
			a->exec = calloc(ne + nc + 1, sizeof(char *));
			if (!a->exec)
				goto oom;
			for (size_t i = 0; i < ne; i++)
				if (!(a->exec[i] = strdup(c->entrypoint[i])))
					goto oom;
			for (size_t i = 0; i < nc; i++)
				if (!(a->exec[ne + i] = strdup(c->cmd[i])))
					goto oom;
		}
	}
	if (!a->exec)
		return ps_error_set(err, PS_ERR_INVALID, 0,
		                    "app %s: no command: give one after -- or use an image with an "
		                    "Entrypoint or Cmd", a->name);
	if (c && c->env) {
		size_t ni = ps_strv_length(c->env), na = ps_strv_length(a->env), n = 0;
		char **env = calloc(ni + na + 1, sizeof(char *));
		if (!env)
			goto oom;
		for (size_t i = 0; i < ni; i++) {
			size_t klen = strcspn(c->env[i], "=");
			bool overridden = false;
			for (size_t j = 0; j < na; j++)
				if (strncmp(a->env[j], c->env[i], klen) == 0 && a->env[j][klen] == '=')
					overridden = true;
			if (!overridden && !(env[n++] = strdup(c->env[i]))) {
				ps_strv_free(env);
				goto oom;
			}
		}
		for (size_t j = 0; j < na; j++)
			env[n++] = TAKE_PTR(a->env[j]);
		free(a->env);
		a->env = env;
	}
	if (!a->working_dir && c && c->working_dir && *c->working_dir &&
	    !(a->working_dir = strdup(c->working_dir)))
		goto oom;
	if (!a->user && c && c->user && *c->user && !(a->user = strdup(c->user)))
		goto oom;
	return 0;
oom:
	return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s: merge image config", a->name);
}

/* apps/<app>/image: what the app runs on. "layers" (bottom first) for
 * stage1's overlay, or, when the image was copied into apps/<app>/rootfs
 * because overlayfs is unavailable, "rootfs": "copy" and no layers (the
 * copy needs no tree, so gc need not keep any for it). */
static int write_app_image(int app_fd, const char *ref, const struct app_root *ar, bool copied,
                           ps_error **err)
{
	json_object *o = json_object_new_object(), *layers = json_object_new_array();
	int r;

	if (!o || !layers) {
		json_object_put(o);
		json_object_put(layers);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write image");
	}
	json_object_object_add(o, "image", json_object_new_string(ref));
	json_object_object_add(o, "digest", ar->digest ? json_object_new_string(ar->digest) : NULL);
	for (char **l = ar->layers; !copied && l && *l; l++)
		json_object_array_add(layers, json_object_new_string(*l));
	json_object_object_add(o, "layers", layers);
	if (copied)
		json_object_object_add(o, "rootfs", json_object_new_string("copy"));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
	r = ps_write_file_at(app_fd, PS_FILE_APP_IMAGE, s, strlen(s), 0644, PS_WRITE_SYNC_DATA, err);
	json_object_put(o);
	return r;
}

/*
 * Whether apps get a copy of their image instead of an overlay: when
 * overlayfs cannot be mounted here, or PODCTL_NO_OVERLAY=1 asks for it (for
 * tests of the fallback, on hosts that have overlayfs). Said once on stderr.
 */
static bool use_copy(struct cli *cli)
{
	static int copy = -1;
	const char *env = getenv("PODCTL_NO_OVERLAY");

	if (copy < 0) {
		copy = (env && streq(env, "1")) || !ps_overlay_supported(cli->store);
		if (copy)
			fprintf(stderr, "podctl: overlayfs unavailable: copying the image\n");
	}
	return copy;
}

static int copy_rootfs(struct cli *cli, int app_fd, const ps_app *a, const struct app_root *ar,
                       ps_error **err)
{
	/* Layers are store-relative paths or, for a rootfs dir used in
	 * place, one absolute path: ps_image_copy_rootfs() opens either. */
	ps_image img = { .layers = ar->layers, .n_layers = ps_strv_length(ar->layers) };
	_cleanup_close_ int fd = openat(app_fd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return ps_error_errno(err, "open apps/%s/rootfs", a->name);
	if (ps_image_copy_rootfs(cli->store, &img, fd, err) < 0)
		return ps_error_prefix(err, "apps/%s: copy the image", a->name);
	if (syncfs(fd) < 0)
		return ps_error_errno(err, "apps/%s: sync the copied image", a->name);
	return 0;
}

static int layout_app(struct cli *cli, int apps_fd, const ps_app *a, const struct app_root *ar,
                      ps_error **err)
{
	bool copy = use_copy(cli);
	int r;

	if (ps_mkdirat_p(apps_fd, a->name, 0700) < 0)
		return ps_error_errno(err, "create apps/%s", a->name);
	_cleanup_close_ int fd = openat(apps_fd, a->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ps_error_errno(err, "open apps/%s", a->name);
	/* upper and work for the app's overlay, rootfs its mount point (or
	 * the copy of the image, bind-mounted by stage1). */
	static const char *const dirs[] = { "rootfs", "upper", "work" };
	for (size_t i = 0; i < (copy ? 1 : ARRAY_SIZE(dirs)); i++)
		if (ps_mkdirat_p(fd, dirs[i], 0755) < 0)
			return ps_error_errno(err, "create apps/%s/%s", a->name, dirs[i]);
	if (copy && (r = copy_rootfs(cli, fd, a, ar, err)) < 0)
		return r;
	r = write_app_image(fd, a->image, ar, copy, err);
	if (r < 0)
		return ps_error_prefix(err, "apps/%s", a->name);
	if (fsync(fd) < 0)
		return ps_error_errno(err, "fsync apps/%s", a->name);
	return 0;
}

static int resolve_apps(struct cli *cli, ps_app *apps, size_t n, struct app_root *roots,
                        ps_error **err)
{
	for (size_t i = 0; i < n; i++) {
		int r = resolve_root(cli, apps[i].image, &roots[i], err);
		if (r < 0)
			return ps_error_prefix(err, "app %s", apps[i].name);
		r = merge_image_config(&apps[i], roots[i].image, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int write_uuid_file(const char *path, const char *uuid, ps_error **err)
{
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_free_ char *line = ps_strdup_printf("%s\n", uuid);

	if (!dir || !line)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write uuid file %s", path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : path;
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	_cleanup_close_ int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ps_error_errno(err, "write uuid file %s", path);
	if (ps_write_file_at(dfd, name, line, strlen(line), 0644, 0, err) < 0)
		return ps_error_prefix(err, "uuid file %s", path);
	return 0;
}

int prepare_pod(struct cli *cli, const struct prepare_opts *o, ps_pod **ret, ps_error **err)
{
	ps_manifest *m = NULL;
	struct app_root *roots = NULL;
	size_t n_roots = 0;
	ps_pod *p = NULL;
	_cleanup_free_ char *json = NULL;
	int r;

	r = build_manifest(cli, o, &m, err);
	if (r < 0)
		return r;
	/* Keep image gc off the trees we resolve until the pod records them. */
	_cleanup_close_ int pin = -1;
	r = ps_image_pin(cli->store, &pin, err);
	if (r < 0)
		goto out;
	n_roots = m->n_init_apps + m->n_apps;
	roots = calloc(n_roots + 1, sizeof(*roots));
	if (!roots) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "prepare");
		goto out;
	}
	/* Everything that can fail on bad input fails before the store changes. */
	r = resolve_apps(cli, m->init_apps, m->n_init_apps, roots, err);
	if (r >= 0)
		r = resolve_apps(cli, m->apps, m->n_apps, roots + m->n_init_apps, err);
	if (r < 0)
		goto out;

	r = ps_manifest_validate(m, err);
	if (r < 0)
		goto out;
	r = ps_pod_create(cli->store, &p, err);
	if (r < 0)
		goto out;
	if (!m->name) {
		m->name = ps_strdup_printf("pod-%.8s", p->uuid);
		if (!m->name) {
			r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "prepare");
			goto out;
		}
	}
	r = ps_manifest_to_json(m, &json, err);
	if (r < 0)
		goto out;
	/* Each file's data now, the dirs once at the end: durable before the
	 * pod appears in prepared/, at one journal commit per file. */
	r = ps_write_file_at(p->fd, PS_FILE_MANIFEST, json, strlen(json), 0644, PS_WRITE_SYNC_DATA, err);
	if (r < 0)
		goto out;
	r = ps_info_write(p->fd, &(ps_info){ .name = m->name, .created_ns = ps_now_ns() }, err);
	if (r < 0)
		goto out;
	if (ps_mkdirat_p(p->fd, PS_DIR_APPS, 0700) < 0) {
		r = ps_error_errno(err, "create apps");
		goto out;
	}
	{
		_cleanup_close_ int apps_fd = openat(p->fd, PS_DIR_APPS, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (apps_fd < 0) {
			r = ps_error_errno(err, "open apps");
			goto out;
		}
		for (size_t i = 0; i < n_roots && r >= 0; i++) {
			const ps_app *a = i < m->n_init_apps ? &m->init_apps[i] : &m->apps[i - m->n_init_apps];
			r = layout_app(cli, apps_fd, a, &roots[i], err);
		}
		if (r < 0)
			goto out;
		if (fsync(apps_fd) < 0 || fsync(p->fd) < 0) {
			r = ps_error_errno(err, "fsync pod dir");
			goto out;
		}
	}
	if (!o->for_run) {
		r = ps_pod_transition(p, PS_DIR_PREPARED, err);
		if (r < 0)
			goto out;
	}
	if (o->uuid_file) {
		r = write_uuid_file(o->uuid_file, p->uuid, err);
		if (r < 0)
			goto out;
	}
	if (!o->for_run)
		ps_pod_unlock(p);
	*ret = TAKE_PTR(p);
out:
	if (r < 0 && p) {
		ps_error_prefix(err, "prepare pod %s", p->uuid);
		/* Leave nothing behind. Should even this fail (or should we be
		 * killed), the pod stays in prepare/ unlocked: an aborted prepare,
		 * which gc collects. */
		if (p->lock == PS_LOCK_EXCLUSIVE && ps_pod_transition_lazy(p, PS_DIR_GARBAGE, NULL) == 0)
			ps_pod_destroy(p, NULL);
	}
	ps_pod_free(p);
	for (size_t i = 0; roots && i < n_roots; i++)
		app_root_clear(&roots[i]);
	free(roots);
	ps_manifest_free(m);
	return r < 0 ? r : 0;
}
