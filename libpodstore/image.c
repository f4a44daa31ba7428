/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The image store: import, resolve, list, remove and gc of images, and the
 * rootfs helpers pods use (lowerdir string, copy fallback). Layout in
 * image.h and Documentation/images.md.
 *
 * Locking: an import holds images/lock shared from its first blob to its
 * last record; ps_image_gc() takes it exclusive (without waiting), so gc never
 * removes a blob or tree an import is about to reference. A layer is
 * extracted under an exclusive flock on its blob, so concurrent imports of
 * the same layer extract it once. names.json and the index are changed under
 * images/names.lock.
 */

#include "archive-dl.h"
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include "extract.h"
#include <podstore/app.h>
#include <podstore/fileio.h>
#include <podstore/image.h>
#include <podstore/log.h>
#include <podstore/pod.h>
#include "sha256.h"
#include "util.h"

#define BLOB_DIR "blobs/sha256"
#define MAX_JSON (4u << 20)

static inline void json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

static size_t strv_len(char **v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

static int strv_push(char ***v, const char *s)
{
	size_t n = strv_len(*v);
	char **nv = realloc(*v, (n + 2) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[n] = strdup(s);
	nv[n + 1] = NULL;
	return nv[n] ? 0 : -ENOMEM;
}

void ps_image_free(ps_image *img)
{
	if (!img)
		return;
	free(img->digest);
	strv_free(img->names);
	for (size_t i = 0; i < img->n_layers; i++)
		free(img->layers[i]);
	free(img->layers);
	strv_free(img->config.entrypoint);
	strv_free(img->config.cmd);
	strv_free(img->config.env);
	free(img->config.working_dir);
	free(img->config.user);
	free(img);
}

void ps_image_list_free(ps_image **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ps_image_free(v[i]);
	free(v);
}

static void image_freep(ps_image **p)
{
	ps_image_free(*p);
}
#define _cleanup_image_ _cleanup_(image_freep)

/* --- the store's dirs and locks --------------------------------------------- */

struct imgstore {
	ps_store *s;
	int images_fd; /* borrowed from the store */
	int blobs_fd, trees_fd, index_fd;
};

static void imgstore_close(struct imgstore *st)
{
	if (st->blobs_fd >= 0)
		close(st->blobs_fd);
	if (st->trees_fd >= 0)
		close(st->trees_fd);
	if (st->index_fd >= 0)
		close(st->index_fd);
}
#define _cleanup_imgstore_ _cleanup_(imgstore_close)

static int imgstore_open(ps_store *s, struct imgstore *st, ps_error **err)
{
	static const char *const dirs[] = { "blobs", BLOB_DIR, "trees", "index" };

	st->s = s;
	st->blobs_fd = st->trees_fd = st->index_fd = -1;
	st->images_fd = ps_store_images_fd(s, err);
	if (st->images_fd < 0)
		return st->images_fd;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int r = ps_mkdirat_p(st->images_fd, dirs[i], 0700);
		if (r < 0)
			return ps_error_set(err, PS_ERR_FAILED, -r, "create images/%s", dirs[i]);
	}
	st->blobs_fd = openat(st->images_fd, BLOB_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	st->trees_fd = openat(st->images_fd, "trees", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	st->index_fd = openat(st->images_fd, "index", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->blobs_fd < 0 || st->trees_fd < 0 || st->index_fd < 0)
		return ps_error_errno(err, "open the image store");
	return 0;
}

/* flock a lock file under images/; returns the fd, or -EWOULDBLOCK without
 * filling err when nonblock and it is held. */
static int lock_file(struct imgstore *st, const char *name, int op, ps_error **err)
{
	_cleanup_close_ int fd = openat(st->images_fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return ps_error_errno(err, "open images/%s", name);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return -EWOULDBLOCK;
		return ps_error_errno(err, "lock images/%s", name);
	}
	return TAKE_FD(fd);
}

int ps_image_pin(ps_store *s, int *ret_fd, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = { .blobs_fd = -1, .trees_fd = -1, .index_fd = -1 };
	int r = imgstore_open(s, &st, err);

	if (r < 0)
		return r;
	r = lock_file(&st, "lock", LOCK_SH, err);
	if (r < 0)
		return r;
	*ret_fd = r;
	return 0;
}

/* --- digests and names ---------------------------------------------------------- */

/* "sha256:<64 hex>" → pointer to the hex, or NULL. Nothing else may become a path. */
static const char *digest_hex(const char *digest)
{
	if (!digest || strncmp(digest, "sha256:", 7) != 0 || !ps_sha256_hex_is_valid(digest + 7))
		return NULL;
	return digest + 7;
}

static bool is_hex_prefix(const char *s)
{
	if (!*s || strlen(s) > PS_SHA256_HEX_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* "name[:tag]" → "name:tag" (default tag latest). A ':' before the last '/'
 * is a registry port, not a tag. */
static int normalize_name(const char *in, char **ret, ps_error **err)
{
	const char *slash = strrchr(in, '/'), *colon = strrchr(in, ':');
	size_t len = strlen(in);

	if (len == 0 || len > 255)
		return ps_error_set(err, PS_ERR_INVALID, 0, "image name \"%s\": 1 to 255 characters",
				    in);
	for (const char *p = in; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._-/:@", *p)))
			return ps_error_set(err, PS_ERR_INVALID, 0,
					    "image name \"%s\": character '%c' not allowed", in, *p);
	if (colon && (!slash || colon > slash)) {
		if (colon == in || !colon[1])
			return ps_error_set(err, PS_ERR_INVALID, 0, "image name \"%s\": empty name or tag", in);
		*ret = strdup(in);
	} else {
		*ret = ps_strdup_printf("%s:latest", in);
	}
	return *ret ? 0 : ps_error_set(err, PS_ERR_FAILED, ENOMEM, "image name");
}

static int names_load(struct imgstore *st, json_object **ret, ps_error **err)
{
	_cleanup_free_ char *data = NULL;
	json_object *o;
	int r = ps_read_file_at(st->images_fd, "names.json", MAX_JSON, &data, NULL, err);

	if (r == -ENOENT) {
		*ret = json_object_new_object();
		return *ret ? 0 : ps_error_set(err, PS_ERR_FAILED, ENOMEM, "names");
	}
	if (r < 0)
		return r;
	o = json_tokener_parse(data);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "images/names.json");
	}
	*ret = o;
	return 0;
}

static int names_save(struct imgstore *st, json_object *names, ps_error **err)
{
	const char *s = json_object_to_json_string_ext(names, JSON_C_TO_STRING_PRETTY |
								      JSON_C_TO_STRING_NOSLASHESCAPE);
	return ps_write_file_at(st->images_fd, "names.json", s, strlen(s), 0600, PS_WRITE_DURABLE,
				err);
}

/* --- loading records ------------------------------------------------------------ */

static int json_strv(json_object *arr, char ***ret)
{
	char **v = NULL;
	size_t n;

	if (!arr || !json_object_is_type(arr, json_type_array)) {
		*ret = NULL;
		return 0;
	}
	n = json_object_array_length(arr);
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
		v[i] = strdup(s ? s : "");
		if (!v[i]) {
			strv_free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

static const char *json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *json_get(json_object *o, const char *key)
{
	json_object *v;
	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* Fill config from an image config's "config" object (OCI and docker alike). */
static int parse_config(json_object *c, ps_image_config *cfg)
{
	const char *s;

	if (!c)
		return 0;
	if (json_strv(json_get(c, "Entrypoint"), &cfg->entrypoint) < 0 ||
	    json_strv(json_get(c, "Cmd"), &cfg->cmd) < 0 || json_strv(json_get(c, "Env"), &cfg->env) < 0)
		return -ENOMEM;
	if ((s = json_str(c, "WorkingDir")) && *s && !(cfg->working_dir = strdup(s)))
		return -ENOMEM;
	if ((s = json_str(c, "User")) && *s && !(cfg->user = strdup(s)))
		return -ENOMEM;
	return 0;
}

static int load_image(struct imgstore *st, const char *hex, json_object *names, ps_image **ret,
		      ps_error **err)
{
	_cleanup_free_ char *file = ps_strdup_printf("sha256-%s.json", hex), *data = NULL;
	_cleanup_json_ json_object *o = NULL;
	_cleanup_image_ ps_image *img = calloc(1, sizeof(*img));
	json_object *layers;
	const char *created;
	int r;

	if (!file || !img)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
	r = ps_read_file_at(st->index_fd, file, MAX_JSON, &data, NULL, err);
	if (r == -ENOENT)
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no image sha256:%s", hex);
	if (r < 0)
		return r;
	o = json_tokener_parse(data);
	layers = json_get(o, "layers");
	if (!o || !layers || !json_object_is_type(layers, json_type_array))
		return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "images/index/%s", file);
	img->digest = ps_strdup_printf("sha256:%s", hex);
	img->n_layers = json_object_array_length(layers);
	img->layers = calloc(img->n_layers + 1, sizeof(char *));
	if (!img->digest || !img->layers)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *t = json_str(json_object_array_get_idx(layers, i), "tree");
		if (!t)
			return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "images/index/%s", file);
		if (!(img->layers[i] = strdup(t)))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
	}
	if (parse_config(json_get(o, "config"), &img->config) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
	img->size = json_object_get_int64(json_get(o, "size"));
	created = json_str(o, "created");
	if (created)
		ps_parse_time(created, &img->created_ns);
	img->names = calloc(1, sizeof(char *));
	if (!img->names)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
	if (names) {
		json_object_object_foreach(names, k, v)
		{
			if (streq(json_object_get_string(v), img->digest) && strv_push(&img->names, k) < 0)
				return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
		}
	}
	*ret = TAKE_PTR(img);
	return 0;
}

/* Hex digests of every image in the index. */
static int index_list(struct imgstore *st, char ***ret, ps_error **err)
{
	_cleanup_close_ int fd = openat(st->index_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **v = calloc(1, sizeof(char *));

	if (!d || !v) {
		free(v);
		return ps_error_errno(err, "read images/index");
	}
	fd = -1;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char hex[PS_SHA256_HEX_LEN + 1];

		if (n != 7 + PS_SHA256_HEX_LEN + 5 || strncmp(de->d_name, "sha256-", 7) != 0 ||
		    strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		memcpy(hex, de->d_name + 7, PS_SHA256_HEX_LEN);
		hex[PS_SHA256_HEX_LEN] = '\0';
		if (ps_sha256_hex_is_valid(hex) && strv_push(&v, hex) < 0) {
			closedir(d);
			strv_free(v);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read images/index");
		}
	}
	closedir(d);
	*ret = v;
	return 0;
}

/* Resolve ref to the hex digest of an image in the index. */
static int resolve_hex(struct imgstore *st, json_object *names, const char *ref,
		       char ret[PS_SHA256_HEX_LEN + 1], ps_error **err)
{
	_cleanup_free_ char *name = NULL;
	char **all = NULL;
	const char *prefix = NULL, *target;
	size_t matches = 0, listed = 0;
	char list[512] = "";
	int r;

	/* A name first: names win over digest prefixes that look alike. */
	if (normalize_name(ref, &name, NULL) == 0 && (target = json_str(names, name)) &&
	    digest_hex(target)) {
		memcpy(ret, digest_hex(target), PS_SHA256_HEX_LEN + 1);
		return 0;
	}
	if (strncmp(ref, "sha256:", 7) == 0)
		prefix = ref + 7;
	else if (is_hex_prefix(ref))
		prefix = ref;
	if (!prefix || !is_hex_prefix(prefix))
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no such image: %s", ref);
	r = index_list(st, &all, err);
	if (r < 0)
		return r;
	for (char **p = all; *p; p++) {
		if (strncmp(*p, prefix, strlen(prefix)) != 0)
			continue;
		if (++matches == 1)
			memcpy(ret, *p, PS_SHA256_HEX_LEN + 1);
		if (listed++ < 8) {
			size_t l = strlen(list);
			snprintf(list + l, sizeof(list) - l, "%ssha256:%.12s", l ? ", " : "", *p);
		}
	}
	strv_free(all);
	if (matches == 0)
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no such image: %s", ref);
	if (matches > 1)
		return ps_error_set(err, PS_ERR_AMBIGUOUS, 0,
				    "image digest prefix %s is ambiguous: %s%s", ref, list,
				    matches > 8 ? ", …" : "");
	return 0;
}

int ps_image_resolve(ps_store *s, const char *ref, ps_image **ret, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = { .blobs_fd = -1, .trees_fd = -1, .index_fd = -1 };
	_cleanup_json_ json_object *names = NULL;
	char hex[PS_SHA256_HEX_LEN + 1];
	int r;

	r = imgstore_open(s, &st, err);
	if (r < 0)
		return r;
	r = names_load(&st, &names, err);
	if (r < 0)
		return r;
	r = resolve_hex(&st, names, ref, hex, err);
	if (r < 0)
		return r;
	return load_image(&st, hex, names, ret, err);
}

static int cmp_created(const void *a, const void *b)
{
	const ps_image *x = *(ps_image *const *)a, *y = *(ps_image *const *)b;
	if (x->created_ns != y->created_ns)
		return x->created_ns > y->created_ns ? -1 : 1;
	return strcmp(x->digest, y->digest);
}

int ps_image_list(ps_store *s, ps_image ***ret, size_t *ret_n, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = { .blobs_fd = -1, .trees_fd = -1, .index_fd = -1 };
	_cleanup_json_ json_object *names = NULL;
	char **hexes = NULL;
	ps_image **v;
	size_t n, k = 0;
	int r;

	r = imgstore_open(s, &st, err);
	if (r < 0)
		return r;
	r = names_load(&st, &names, err);
	if (r < 0)
		return r;
	r = index_list(&st, &hexes, err);
	if (r < 0)
		return r;
	n = strv_len(hexes);
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		strv_free(hexes);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "list images");
	}
	for (size_t i = 0; i < n; i++) {
		r = load_image(&st, hexes[i], names, &v[k], err);
		if (r == -EINVAL && err && *err && (*err)->kind == PS_ERR_NOT_FOUND) {
			ps_error_free(err); /* removed while we listed */
			continue;
		}
		if (r < 0) {
			strv_free(hexes);
			ps_image_list_free(v, k);
			return r;
		}
		k++;
	}
	strv_free(hexes);
	qsort(v, k, sizeof(*v), cmp_created);
	*ret = v;
	*ret_n = k;
	return 0;
}

/* --- storing blobs ----------------------------------------------------------- */

struct import {
	struct imgstore st;
	const ps_image_import_opts *opts;
	long long done, total; /* progress */
	size_t layer, n_layers;
	/* What this import added, undone on failure so the store is as before.
	 * (A concurrent import of the same content that found them meanwhile
	 * fails cleanly and can be retried.) */
	char **new_blobs, **new_trees;
};

static void progress(struct import *im)
{
	if (im->opts && im->opts->progress)
		im->opts->progress(im->done, im->total, im->layer, im->n_layers,
				   im->opts->progress_data);
}

/* Read all of in, hashing it, and copying it to out when out >= 0. */
static int hash_copy(struct import *im, int in, int out, char hex[PS_SHA256_HEX_LEN + 1],
		     long long *ret_size, ps_error **err)
{
	static const size_t bufsize = 1 << 20;
	_cleanup_free_ char *buf = malloc(bufsize);
	ps_sha256 c;
	long long size = 0, last = 0;

	if (!buf)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "hash");
	ps_sha256_init(&c);
	for (;;) {
		ssize_t n = read(in, buf, bufsize);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ps_error_errno(err, "read");
		}
		if (n == 0)
			break;
		ps_sha256_update(&c, buf, (size_t)n);
		if (out >= 0) {
			int r = ps_write_all(out, buf, (size_t)n);
			if (r < 0)
				return ps_error_set(err, PS_ERR_FAILED, -r, "write blob");
		}
		size += n;
		im->done += n;
		if (size - last >= (8 << 20)) {
			last = size;
			progress(im);
		}
	}
	ps_sha256_final_hex(&c, hex);
	*ret_size = size;
	return 0;
}

/*
 * Store the blob read from in under blobs/sha256/<hex>. With expect (a hex
 * digest from a manifest), a mismatch is an error and nothing is stored; a
 * blob already stored is only hashed, not copied. The new blob is written
 * into an unnamed O_TMPFILE in tmp/ and linked into place once verified, so
 * a failure or a crash leaves nothing behind.
 */
static int store_blob(struct import *im, int in, const char *expect, long long expect_size,
		      char ret_hex[PS_SHA256_HEX_LEN + 1], long long *ret_size, ps_error **err)
{
	_cleanup_close_ int tmp = -1;
	char hex[PS_SHA256_HEX_LEN + 1], proc[64];
	long long size = 0;
	struct stat st;
	int r;

	if (!expect || fstatat(im->st.blobs_fd, expect, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		tmp = openat(ps_store_tmp_fd(im->st.s), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0400);
		if (tmp < 0)
			return ps_error_errno(err, "create a blob in tmp/");
	}
	r = hash_copy(im, in, tmp, hex, &size, err);
	if (r < 0)
		return r;
	if (expect && !streq(hex, expect))
		return ps_error_set(err, PS_ERR_INVALID, 0,
				    "blob sha256:%s: digest mismatch, the content is sha256:%s", expect,
				    hex);
	if (expect_size >= 0 && size != expect_size)
		return ps_error_set(err, PS_ERR_INVALID, 0,
				    "blob sha256:%s: size %lld, the manifest says %lld", hex, size,
				    expect_size);
	if (tmp >= 0 && fstatat(im->st.blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (fsync(tmp) < 0)
			return ps_error_errno(err, "blob sha256:%s: fsync", hex);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tmp);
		if (linkat(AT_FDCWD, proc, im->st.blobs_fd, hex, AT_SYMLINK_FOLLOW) < 0) {
			if (errno != EEXIST)
				return ps_error_errno(err, "store blob sha256:%s", hex);
		} else if (strv_push(&im->new_blobs, hex) < 0) {
			unlinkat(im->st.blobs_fd, hex, 0);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "store blob");
		}
	}
	memcpy(ret_hex, hex, sizeof(hex));
	*ret_size = size;
	return 0;
}

struct xprogress {
	struct import *im;
	long long base;
};

static void xprogress_fn(long long n, void *userdata)
{
	struct xprogress *xp = userdata;

	xp->im->done = xp->base + n;
	progress(xp->im);
}

/* Extract the layer blob <hex> into trees/sha256-<hex> unless it is there. */
static int ensure_tree(struct import *im, const char *hex, long long size, ps_error **err)
{
	_cleanup_close_ int blob = -1;
	_cleanup_free_ char *tree = ps_strdup_printf("sha256-%s", hex);
	_cleanup_free_ char *tmpname = ps_strdup_printf("tree-%s.%d", hex, (int)getpid());
	struct xprogress xp = { im, im->done };
	ps_extract_opts xo = {
		.max_bytes = im->opts ? im->opts->max_bytes : 0,
		.whiteouts = true,
		.progress = xprogress_fn,
		.progress_data = &xp,
	};
	int tmp_fd = ps_store_tmp_fd(im->st.s);
	struct stat st;
	int r;

	if (!tree || !tmpname)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "extract");
	if (fstatat(im->st.trees_fd, tree, &st, AT_SYMLINK_NOFOLLOW) == 0)
		goto done; /* the cache: extracted once, shared by every image */
	blob = openat(im->st.blobs_fd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (blob < 0)
		return ps_error_errno(err, "open blob sha256:%s", hex);
	/* One extraction per layer at a time; whoever waited finds it done. */
	while (flock(blob, LOCK_EX) < 0)
		if (errno != EINTR)
			return ps_error_errno(err, "lock blob sha256:%s", hex);
	if (fstatat(im->st.trees_fd, tree, &st, AT_SYMLINK_NOFOLLOW) == 0)
		goto done;
	ps_rm_rf_at(tmp_fd, tmpname); /* a leftover of a dead import with our pid */
	r = ps_extract_tree_at(blob, tmp_fd, tmpname, &xo, NULL, err);
	if (r < 0)
		return ps_error_prefix(err, "extract layer sha256:%.12s", hex);
	/* One syncfs() instead of an fsync per file: the tree is durable
	 * before its name appears. */
	if (syncfs(tmp_fd) < 0 || renameat(tmp_fd, tmpname, im->st.trees_fd, tree) < 0) {
		r = ps_error_errno(err, "publish layer sha256:%.12s", hex);
		ps_rm_rf_at(tmp_fd, tmpname);
		return r;
	}
	if (strv_push(&im->new_trees, hex) < 0) {
		ps_rm_rf_at(im->st.trees_fd, tree);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "extract");
	}
	r = ps_fsync_dir_at(im->st.trees_fd, NULL, err);
	if (r < 0)
		return r;
done:
	im->done = xp.base + size;
	progress(im);
	return 0;
}

/* --- the records of an import ------------------------------------------------ */

struct layer {
	char hex[PS_SHA256_HEX_LEN + 1];
	long long size;
};

struct image_rec {
	char digest_hex[PS_SHA256_HEX_LEN + 1]; /* the image's identity */
	const char *format;
	struct layer *layers;
	size_t n_layers;
	char **blobs;             /* every blob hex the image refers to */
	json_object *config;      /* the "config" object of the image config, borrowed */
	char **names;             /* normalised */
	long long size;
};

static void image_rec_clear(struct image_rec *r)
{
	free(r->layers);
	strv_free(r->blobs);
	strv_free(r->names);
}

static int write_records(struct import *im, struct image_rec *rec, ps_image **ret, ps_error **err)
{
	_cleanup_free_ char *file = ps_strdup_printf("sha256-%s.json", rec->digest_hex);
	_cleanup_json_ json_object *names = NULL;
	_cleanup_close_ int lock = -1;
	struct stat st;
	bool changed = false;
	int r;

	if (!file)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	lock = lock_file(&im->st, "names.lock", LOCK_EX, err);
	if (lock < 0)
		return lock;
	/* A re-import writes nothing: the record is content-addressed. */
	if (fstatat(im->st.index_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		_cleanup_json_ json_object *o = json_object_new_object();
		json_object *layers = json_object_new_array(), *blobs = json_object_new_array();
		char created[64], digest[80];
		const char *s;

		snprintf(digest, sizeof(digest), "sha256:%s", rec->digest_hex);
		ps_format_time(ps_now_ns(), created, sizeof(created));
		json_object_object_add(o, "digest", json_object_new_string(digest));
		json_object_object_add(o, "format", json_object_new_string(rec->format));
		for (size_t i = 0; i < rec->n_layers; i++) {
			json_object *l = json_object_new_object();
			char d[80], t[96];

			snprintf(d, sizeof(d), "sha256:%s", rec->layers[i].hex);
			snprintf(t, sizeof(t), "images/trees/sha256-%s", rec->layers[i].hex);
			json_object_object_add(l, "digest", json_object_new_string(d));
			json_object_object_add(l, "tree", json_object_new_string(t));
			json_object_object_add(l, "size", json_object_new_int64(rec->layers[i].size));
			json_object_array_add(layers, l);
		}
		json_object_object_add(o, "layers", layers);
		for (char **b = rec->blobs; b && *b; b++)
			json_object_array_add(blobs, json_object_new_string(*b));
		json_object_object_add(o, "blobs", blobs);
		if (rec->config)
			json_object_object_add(o, "config", json_object_get(rec->config));
		json_object_object_add(o, "size", json_object_new_int64(rec->size));
		json_object_object_add(o, "created", json_object_new_string(created));
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		r = ps_write_file_at(im->st.index_fd, file, s, strlen(s), 0600, PS_WRITE_DURABLE, err);
		if (r < 0)
			return r;
	}
	r = names_load(&im->st, &names, err);
	if (r < 0)
		return r;
	for (char **n = rec->names; n && *n; n++) {
		char digest[80];
		const char *old = json_str(names, *n);

		snprintf(digest, sizeof(digest), "sha256:%s", rec->digest_hex);
		if (old && streq(old, digest))
			continue;
		/* A name moves to the newest image that claims it. */
		json_object_object_add(names, *n, json_object_new_string(digest));
		changed = true;
	}
	if (changed) {
		r = names_save(&im->st, names, err);
		if (r < 0)
			return r;
	}
	return ret ? load_image(&im->st, rec->digest_hex, names, ret, err) : 0;
}

/* Store the layers (already opened by the caller through open_layer) and
 * extract each into its tree. */
typedef int (*open_layer_fn)(void *ctx, size_t i, int *ret_fd, const char **ret_expect,
			     long long *ret_size, ps_error **err);

static int import_layers(struct import *im, struct image_rec *rec, open_layer_fn open_layer,
			 void *ctx, ps_error **err)
{
	for (size_t i = 0; i < rec->n_layers; i++) {
		_cleanup_close_ int fd = -1;
		const char *expect = NULL;
		long long want = -1;
		int r;

		im->layer = i;
		r = open_layer(ctx, i, &fd, &expect, &want, err);
		if (r < 0)
			return r;
		r = store_blob(im, fd, expect, want, rec->layers[i].hex, &rec->layers[i].size, err);
		if (r < 0)
			return ps_error_prefix(err, "layer %zu", i + 1);
		r = ensure_tree(im, rec->layers[i].hex, rec->layers[i].size, err);
		if (r < 0)
			return r;
		if (strv_push(&rec->blobs, rec->layers[i].hex) < 0)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
		rec->size += rec->layers[i].size;
	}
	return 0;
}

/* --- a JSON blob from an untrusted dir ----------------------------------------- */

/* Read a small JSON file at path inside root, storing it as a blob too
 * (verified against expect when given). */
static int read_json_blob(struct import *im, int root, const char *path, const char *expect,
			  long long expect_size, char ret_hex[PS_SHA256_HEX_LEN + 1],
			  json_object **ret, ps_error **err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *data = NULL;
	long long size;
	json_object *o;
	int r;

	r = ps_open_in_root(root, path, O_RDONLY, &fd, err);
	if (r < 0)
		return r;
	r = ps_read_all(fd, MAX_JSON, &data, NULL);
	if (r < 0)
		return ps_error_set(err, PS_ERR_INVALID, -r, "read %s", path);
	o = json_tokener_parse(data);
	if (!o)
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s: not valid JSON", path);
	if (ret_hex) {
		if (lseek(fd, 0, SEEK_SET) < 0 ||
		    (r = store_blob(im, fd, expect, expect_size, ret_hex, &size, err)) < 0) {
			json_object_put(o);
			return r < 0 ? r : ps_error_errno(err, "read %s", path);
		}
	}
	*ret = o;
	return 0;
}

/* --- OCI image layout --------------------------------------------------------- */

struct oci_ctx {
	int root;
	json_object *layers; /* the manifest's layer descriptors */
	char path[96];
};

static int descriptor(json_object *d, const char **ret_hex, long long *ret_size, ps_error **err)
{
	const char *digest = json_str(d, "digest");
	json_object *size = json_get(d, "size");

	*ret_hex = digest_hex(digest);
	if (!*ret_hex)
		return ps_error_set(err, PS_ERR_INVALID, 0, "unsupported or bad digest \"%s\"",
				    digest ? digest : "");
	*ret_size = size ? json_object_get_int64(size) : -1;
	return 0;
}

static int oci_open_layer(void *ctx, size_t i, int *ret_fd, const char **ret_expect,
			  long long *ret_size, ps_error **err)
{
	struct oci_ctx *c = ctx;
	int r = descriptor(json_object_array_get_idx(c->layers, i), ret_expect, ret_size, err);

	if (r < 0)
		return r;
	snprintf(c->path, sizeof(c->path), "blobs/sha256/%s", *ret_expect);
	return ps_open_in_root(c->root, c->path, O_RDONLY, ret_fd, err);
}

static const char *host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__)
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv)
	return "riscv64";
#else
	return "";
#endif
}

static bool is_index_type(const char *mt)
{
	return mt && (strstr(mt, "image.index") || strstr(mt, "manifest.list"));
}

/* Pick a manifest descriptor from an index: by ref name (the tag of the
 * requested name, or the whole name), or the only one, or by platform. */
static int oci_pick(json_object *index, const char *want_name, json_object **ret, ps_error **err)
{
	json_object *m = json_get(index, "manifests"), *only = NULL, *plat = NULL;
	const char *tag = NULL;
	char refs[256] = "";
	size_t n;

	if (!m || !json_object_is_type(m, json_type_array) || !(n = json_object_array_length(m)))
		return ps_error_set(err, PS_ERR_INVALID, 0, "index.json lists no manifests");
	if (want_name) {
		const char *slash = strrchr(want_name, '/'), *colon = strrchr(want_name, ':');
		if (colon && (!slash || colon > slash))
			tag = colon + 1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(m, i), *p = json_get(d, "platform");
		const char *ref = json_str(json_get(d, "annotations"), "org.opencontainers.image.ref.name");

		if (ref && want_name && (streq(ref, want_name) || (tag && streq(ref, tag)))) {
			*ret = d;
			return 0;
		}
		if (ref) {
			size_t l = strlen(refs);
			snprintf(refs + l, sizeof(refs) - l, "%s%s", l ? ", " : "", ref);
		}
		if (p && streq(json_str(p, "os") ?: "", "linux") &&
		    streq(json_str(p, "architecture") ?: "", host_arch()) && !plat)
			plat = d;
		only = d;
	}
	if (n == 1) {
		*ret = only;
		return 0;
	}
	if (plat && !refs[0]) {
		*ret = plat;
		return 0;
	}
	return ps_error_set(err, PS_ERR_AMBIGUOUS, 0,
			    "the layout holds %zu images (%s): choose one with --name NAME:REF", n,
			    refs[0] ? refs : "no ref names");
}

static int import_oci(struct import *im, int root, const char *want_name, struct image_rec *rec,
		      ps_error **err)
{
	_cleanup_json_ json_object *index = NULL, *manifest = NULL, *config = NULL;
	struct oci_ctx c = { .root = root };
	json_object *d;
	const char *hex, *ref_name = NULL;
	char mhex[PS_SHA256_HEX_LEN + 1], chex[PS_SHA256_HEX_LEN + 1], path[96];
	long long size;
	int r;

	r = read_json_blob(im, root, "index.json", NULL, -1, NULL, &index, err);
	if (r < 0)
		return r;
	r = oci_pick(index, want_name, &d, err);
	if (r < 0)
		return r;
	ref_name = json_str(json_get(d, "annotations"), "io.containerd.image.name");
	/* Nested indexes (multi-platform): descend to this platform's manifest. */
	for (int depth = 0;; depth++) {
		r = descriptor(d, &hex, &size, err);
		if (r < 0)
			return ps_error_prefix(err, "index.json");
		snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
		json_object_put(manifest);
		manifest = NULL;
		r = read_json_blob(im, root, path, hex, size, mhex, &manifest, err);
		if (r < 0)
			return ps_error_prefix(err, "manifest");
		if (!is_index_type(json_str(manifest, "mediaType")) && !json_get(manifest, "manifests"))
			break;
		if (depth > 4)
			return ps_error_set(err, PS_ERR_INVALID, 0, "indexes nested too deep");
		r = strv_push(&rec->blobs, mhex);
		if (r < 0)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
		r = oci_pick(manifest, NULL, &d, err);
		if (r < 0)
			return r;
	}
	memcpy(rec->digest_hex, mhex, sizeof(mhex));
	rec->format = "oci";
	if (strv_push(&rec->blobs, mhex) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	r = descriptor(json_get(manifest, "config"), &hex, &size, err);
	if (r < 0)
		return ps_error_prefix(err, "manifest config");
	snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
	r = read_json_blob(im, root, path, hex, size, chex, &config, err);
	if (r < 0)
		return ps_error_prefix(err, "config");
	if (strv_push(&rec->blobs, chex) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	c.layers = json_get(manifest, "layers");
	if (!c.layers || !json_object_is_type(c.layers, json_type_array))
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest without layers");
	rec->n_layers = json_object_array_length(c.layers);
	rec->layers = calloc(rec->n_layers + 1, sizeof(*rec->layers));
	if (!rec->layers)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	im->n_layers = rec->n_layers;
	for (size_t i = 0; i < rec->n_layers; i++)
		im->total += 2 * json_object_get_int64(json_get(json_object_array_get_idx(c.layers, i), "size"));
	r = import_layers(im, rec, oci_open_layer, &c, err);
	if (r < 0)
		return r;
	rec->config = json_get(config, "config");
	if (rec->config)
		json_object_get(rec->config);
	if (!want_name && ref_name) {
		_cleanup_free_ char *n = NULL;
		if (normalize_name(ref_name, &n, NULL) == 0 && strv_push(&rec->names, n) < 0)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	}
	return 0;
}

/* --- docker-archive (docker save) ------------------------------------------- */

struct docker_ctx {
	int root;
	json_object *layers; /* paths */
	json_object *diff_ids;
	char expect[PS_SHA256_HEX_LEN + 1];
};

/* "blobs/sha256/<hex>" or "<hex>.tar" / "<hex>.json": the hex the name promises. */
static bool hex_from_path(const char *path, char out[PS_SHA256_HEX_LEN + 1])
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strlen(base) < PS_SHA256_HEX_LEN)
		return false;
	memcpy(out, base, PS_SHA256_HEX_LEN);
	out[PS_SHA256_HEX_LEN] = '\0';
	if (!ps_sha256_hex_is_valid(out))
		return false;
	return streq(base + PS_SHA256_HEX_LEN, "") || streq(base + PS_SHA256_HEX_LEN, ".tar") ||
	       streq(base + PS_SHA256_HEX_LEN, ".json");
}

static int docker_open_layer(void *ctx, size_t i, int *ret_fd, const char **ret_expect,
			     long long *ret_size, ps_error **err)
{
	struct docker_ctx *c = ctx;
	const char *path = json_object_get_string(json_object_array_get_idx(c->layers, i));
	const char *diff = digest_hex(json_object_get_string(json_object_array_get_idx(c->diff_ids, i)));
	unsigned char magic[6] = { 0 };
	int r;

	if (!path)
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json: bad layer %zu", i + 1);
	r = ps_open_in_root(c->root, path, O_RDONLY, ret_fd, err);
	if (r < 0)
		return r;
	*ret_expect = NULL;
	*ret_size = -1;
	/* An uncompressed layer's digest is its diff_id: verify it. Compressed
	 * ones are checked against the name they are stored under, if any. */
	if (pread(*ret_fd, magic, sizeof(magic), 0) < 0)
		return ps_error_errno(err, "read %s", path);
	bool compressed = (magic[0] == 0x1f && magic[1] == 0x8b) || !memcmp(magic, "\xfd" "7zXZ", 5) ||
			  !memcmp(magic, "\x28\xb5\x2f\xfd", 4) || !memcmp(magic, "BZh", 3);
	if (diff && !compressed) {
		memcpy(c->expect, diff, PS_SHA256_HEX_LEN + 1);
		*ret_expect = c->expect;
	} else if (strstr(path, "blobs/sha256/") && hex_from_path(path, c->expect)) {
		*ret_expect = c->expect;
	}
	return 0;
}

static int import_docker(struct import *im, int root, const char *want_name,
			 struct image_rec *rec, ps_error **err)
{
	_cleanup_json_ json_object *manifest = NULL, *config = NULL;
	struct docker_ctx c = { .root = root };
	json_object *entry = NULL, *tags;
	const char *cpath;
	char expect[PS_SHA256_HEX_LEN + 1], chex[PS_SHA256_HEX_LEN + 1];
	size_t n;
	int r;

	r = read_json_blob(im, root, "manifest.json", NULL, -1, NULL, &manifest, err);
	if (r < 0)
		return r;
	if (!json_object_is_type(manifest, json_type_array) || !(n = json_object_array_length(manifest)))
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json lists no images");
	for (size_t i = 0; i < n && !entry; i++) {
		json_object *e = json_object_array_get_idx(manifest, i);
		tags = json_get(e, "RepoTags");
		for (size_t k = 0; want_name && tags && k < json_object_array_length(tags); k++) {
			_cleanup_free_ char *t = NULL;
			if (normalize_name(json_object_get_string(json_object_array_get_idx(tags, k)), &t, NULL) == 0 &&
			    streq(t, want_name))
				entry = e;
		}
	}
	if (!entry && n == 1)
		entry = json_object_array_get_idx(manifest, 0);
	if (!entry)
		return ps_error_set(err, PS_ERR_AMBIGUOUS, 0,
				    "the archive holds %zu images: choose one with --name NAME:TAG", n);
	cpath = json_str(entry, "Config");
	if (!cpath)
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json: no Config");
	r = read_json_blob(im, root, cpath, hex_from_path(cpath, expect) ? expect : NULL, -1, chex,
			   &config, err);
	if (r < 0)
		return ps_error_prefix(err, "config");
	/* Docker's image id is the digest of its config. */
	memcpy(rec->digest_hex, chex, sizeof(chex));
	rec->format = "docker-archive";
	if (strv_push(&rec->blobs, chex) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	c.layers = json_get(entry, "Layers");
	c.diff_ids = json_get(json_get(config, "rootfs"), "diff_ids");
	if (!c.layers || !json_object_is_type(c.layers, json_type_array))
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json: no Layers");
	rec->n_layers = json_object_array_length(c.layers);
	if (c.diff_ids && json_object_array_length(c.diff_ids) != rec->n_layers)
		return ps_error_set(err, PS_ERR_INVALID, 0,
				    "manifest.json lists %zu layers, the config %zu", rec->n_layers,
				    json_object_array_length(c.diff_ids));
	rec->layers = calloc(rec->n_layers + 1, sizeof(*rec->layers));
	if (!rec->layers)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	im->n_layers = rec->n_layers;
	for (size_t i = 0; i < rec->n_layers; i++) {
		struct stat st;
		_cleanup_close_ int fd = -1;
		const char *p = json_object_get_string(json_object_array_get_idx(c.layers, i));
		if (p && ps_open_in_root(root, p, O_RDONLY, &fd, NULL) == 0 && fstat(fd, &st) == 0)
			im->total += 2 * st.st_size;
	}
	r = import_layers(im, rec, docker_open_layer, &c, err);
	if (r < 0)
		return r;
	rec->config = json_get(config, "config");
	if (rec->config)
		json_object_get(rec->config);
	tags = json_get(entry, "RepoTags");
	for (size_t k = 0; !want_name && tags && k < json_object_array_length(tags); k++) {
		_cleanup_free_ char *t = NULL;
		if (normalize_name(json_object_get_string(json_object_array_get_idx(tags, k)), &t, NULL) == 0 &&
		    strv_push(&rec->names, t) < 0)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	}
	return 0;
}

/* --- rootfs tarballs and dirs ------------------------------------------------- */

static int rootfs_open_layer(void *ctx, size_t i, int *ret_fd, const char **ret_expect,
			     long long *ret_size, ps_error **err)
{
	int *fd = ctx;

	*ret_fd = TAKE_FD(*fd);
	*ret_expect = NULL;
	*ret_size = -1;
	return 0;
}

static int import_rootfs_fd(struct import *im, int fd, struct image_rec *rec, ps_error **err)
{
	struct stat st;
	int r;

	rec->format = "rootfs";
	rec->n_layers = 1;
	rec->layers = calloc(2, sizeof(*rec->layers));
	if (!rec->layers)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	im->n_layers = 1;
	if (fstat(fd, &st) == 0)
		im->total = 2 * st.st_size;
	r = import_layers(im, rec, rootfs_open_layer, &fd, err);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return r;
	memcpy(rec->digest_hex, rec->layers[0].hex, sizeof(rec->digest_hex));
	return 0;
}

struct pack {
	int fd;
	int err;
};

static la_ssize_t pack_write(struct archive *a, void *userdata, const void *buf, size_t len)
{
	struct pack *p = userdata;
	int r = ps_write_all(p->fd, buf, len);

	if (r < 0) {
		p->err = -r;
		archive_set_error(a, -r, "write");
		return -1;
	}
	return (la_ssize_t)len;
}

/*
 * Pack a rootfs dir into a tar (pax) in an unnamed tmp file, so it gets a
 * digest and a blob like any tarball. Deterministic for an unchanged tree
 * (no atime/ctime, numeric owners only), so a re-import finds its blob.
 */
static int pack_dir(struct import *im, const char *path, int *ret_fd, ps_error **err)
{
	struct archive *disk = NULL, *out = NULL;
	struct archive_entry_linkresolver *lr = NULL;
	struct pack p = { .fd = -1 };
	size_t plen = strlen(path);
	char buf[65536];
	int r = 0;

	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	p.fd = openat(ps_store_tmp_fd(im->st.s), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (p.fd < 0)
		return ps_error_errno(err, "create a tarball in tmp/");
	disk = archive_read_disk_new();
	out = archive_write_new();
	lr = archive_entry_linkresolver_new();
	if (!disk || !out || !lr) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pack %s", path);
		goto out;
	}
	archive_read_disk_set_symlink_physical(disk);
	archive_read_disk_set_behavior(disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS |
						     ARCHIVE_READDISK_NO_ACL |
						     ARCHIVE_READDISK_NO_FFLAGS);
	archive_write_set_format_pax_restricted(out);
	archive_entry_linkresolver_set_strategy(lr, archive_format(out));
	if (archive_write_open2(out, &p, NULL, pack_write, NULL, NULL) != ARCHIVE_OK ||
	    archive_read_disk_open(disk, path) != ARCHIVE_OK) {
		r = ps_error_set(err, PS_ERR_FAILED, archive_errno(disk) > 0 ? archive_errno(disk) : 0,
				 "pack %s: %s", path, archive_error_string(disk));
		goto out;
	}
	for (;;) {
		struct archive_entry *e = archive_entry_new(), *spare = NULL;
		const char *name;
		_cleanup_free_ char *rel = NULL;

		r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			r = 0;
			break;
		}
		if (r < ARCHIVE_WARN) {
			r = ps_error_set(err, PS_ERR_FAILED, 0, "pack %s: %s", path,
					 archive_error_string(disk));
			archive_entry_free(e);
			goto out;
		}
		archive_read_disk_descend(disk);
		name = archive_entry_pathname(e);
		if (strncmp(name, path, plen) == 0 && (name[plen] == '/' || !name[plen]))
			name += plen;
		while (*name == '/')
			name++;
		rel = ps_strdup_printf("./%s", name);
		if (!rel) {
			archive_entry_free(e);
			r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pack");
			goto out;
		}
		archive_entry_copy_pathname(e, rel);
		archive_entry_unset_atime(e);
		archive_entry_unset_ctime(e);
		archive_entry_unset_birthtime(e);
		archive_entry_set_uname(e, NULL);
		archive_entry_set_gname(e, NULL);
		archive_entry_linkify(lr, &e, &spare);
		if (e) {
			bool data = archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0;
			if (archive_write_header(out, e) < ARCHIVE_WARN) {
				r = ps_error_set(err, PS_ERR_FAILED, p.err, "pack %s: %s", rel,
						 archive_error_string(out));
				archive_entry_free(e);
				goto out;
			}
			for (ssize_t n; data && (n = archive_read_data(disk, buf, sizeof(buf))) != 0;) {
				if (n < 0 || archive_write_data(out, buf, (size_t)n) < 0) {
					r = ps_error_set(err, PS_ERR_FAILED, p.err, "pack %s: %s", rel,
							 n < 0 ? archive_error_string(disk)
							       : archive_error_string(out));
					archive_entry_free(e);
					goto out;
				}
			}
			archive_entry_free(e);
		}
		archive_entry_free(spare);
	}
	if (archive_write_close(out) != ARCHIVE_OK) {
		r = ps_error_set(err, PS_ERR_FAILED, p.err, "pack %s: %s", path,
				 archive_error_string(out));
		goto out;
	}
	if (lseek(p.fd, 0, SEEK_SET) < 0) {
		r = ps_error_errno(err, "pack %s", path);
		goto out;
	}
	*ret_fd = TAKE_FD(p.fd);
out:
	archive_entry_linkresolver_free(lr);
	if (disk)
		archive_read_free(disk);
	if (out)
		archive_write_free(out);
	if (p.fd >= 0)
		close(p.fd);
	return r;
}

/* --- sniffing a file ------------------------------------------------------------ */

enum kind { KIND_ROOTFS, KIND_OCI_ARCHIVE, KIND_DOCKER_ARCHIVE };

/* Whether a top-level name could belong to an image archive's outer tar. */
static bool layout_name(const char *top)
{
	size_t n = strlen(top);
	char hex[PS_SHA256_HEX_LEN + 1];

	return !*top || streq(top, ".") || streq(top, "oci-layout") || streq(top, "index.json") ||
	       streq(top, "blobs") || streq(top, "manifest.json") || streq(top, "repositories") ||
	       (n > 5 && (streq(top + n - 5, ".json") || streq(top + n - 4, ".tar"))) ||
	       hex_from_path(top, hex) || (n == PS_SHA256_HEX_LEN && ps_sha256_hex_is_valid(top));
}

/* Read headers until the kind is clear: a rootfs shows a name no image
 * archive has (bin, etc, …) within its first entries. */
static int sniff(int fd, enum kind *ret, ps_error **err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool oci = false, docker = false;
	int r = 0;

	if (!a)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read archive");
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		r = ps_error_set(err, PS_ERR_INVALID, 0, "not an image or archive: %s",
				 archive_error_string(a));
		goto out;
	}
	*ret = KIND_ROOTFS;
	while ((r = archive_read_next_header(a, &e)) >= ARCHIVE_WARN && r != ARCHIVE_EOF) {
		char top[NAME_MAX + 1];
		const char *p = archive_entry_pathname(e) ?: "";

		while (*p == '/' || (p[0] == '.' && p[1] == '/'))
			p += *p == '/' ? 1 : 2;
		snprintf(top, sizeof(top), "%.*s", (int)strcspn(p, "/"), p);
		if (!layout_name(top))
			break;
		oci |= streq(top, "oci-layout") && !strchr(p, '/');
		docker |= streq(top, "manifest.json") && !strchr(p, '/');
	}
	if (r < ARCHIVE_WARN && r != ARCHIVE_EOF) {
		r = ps_error_set(err, PS_ERR_INVALID, 0, "read archive: %s", archive_error_string(a));
		goto out;
	}
	r = 0;
	*ret = oci ? KIND_OCI_ARCHIVE : docker ? KIND_DOCKER_ARCHIVE : KIND_ROOTFS;
out:
	archive_read_free(a);
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		return ps_error_errno(err, "rewind");
	return r;
}

/* --- ps_image_import ------------------------------------------------------------ */

int ps_image_import(ps_store *s, const char *path, const ps_image_import_opts *opts,
		    ps_image **ret, ps_error **err)
{
	struct import im = { .opts = opts };
	struct image_rec rec = { 0 };
	_cleanup_close_ int lock = -1, fd = -1, staged = -1;
	_cleanup_free_ char *name = NULL, *stage = NULL;
	int tmp_fd = ps_store_tmp_fd(s);
	struct stat st;
	int r;

	r = ps_archive_load(err);
	if (r < 0)
		return r;

	im.st.blobs_fd = im.st.trees_fd = im.st.index_fd = -1;
	if (opts && opts->name) {
		r = normalize_name(opts->name, &name, err);
		if (r < 0)
			return r;
	}
	r = imgstore_open(s, &im.st, err);
	if (r < 0)
		goto fail;
	r = lock = lock_file(&im.st, "lock", LOCK_SH, err);
	if (r < 0)
		goto fail;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = ps_error_set(err, errno == ENOENT ? PS_ERR_NOT_FOUND : PS_ERR_FAILED, errno,
				 "open %s", path);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		if (faccessat(fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			r = import_oci(&im, fd, name, &rec, err);
		} else if (faccessat(fd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			r = import_docker(&im, fd, name, &rec, err);
		} else {
			int packed = -1;
			r = pack_dir(&im, path, &packed, err);
			if (r >= 0)
				r = import_rootfs_fd(&im, packed, &rec, err);
		}
	} else if (S_ISREG(st.st_mode)) {
		enum kind kind = KIND_ROOTFS;

		r = sniff(fd, &kind, err);
		if (r < 0)
			goto fail;
		if (kind == KIND_ROOTFS) {
			r = import_rootfs_fd(&im, TAKE_FD(fd), &rec, err);
		} else {
			/* Unpack the outer tar (safely, like any archive) into a
			 * private staging dir, then read it as a layout dir. */
			stage = ps_strdup_printf("import-%llx.%d",
						 (unsigned long long)ps_monotonic_ns(), (int)getpid());
			if (!stage) {
				r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
				goto fail;
			}
			r = ps_extract_tree_at(fd, tmp_fd, stage, NULL, NULL, err);
			if (r < 0) {
				free(TAKE_PTR(stage));
				goto fail;
			}
			staged = openat(tmp_fd, stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (staged < 0) {
				r = ps_error_errno(err, "open %s", stage);
				goto fail;
			}
			r = kind == KIND_OCI_ARCHIVE ? import_oci(&im, staged, name, &rec, err)
						     : import_docker(&im, staged, name, &rec, err);
		}
	} else {
		r = ps_error_set(err, PS_ERR_INVALID, 0, "%s: not a file or dir", path);
	}
	if (r < 0)
		goto fail;
	if (name && strv_push(&rec.names, name) < 0) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
		goto fail;
	}
	r = ps_fsync_dir_at(im.st.blobs_fd, NULL, err);
	if (r >= 0)
		r = write_records(&im, &rec, ret, err);
fail:
	if (r < 0 && im.st.trees_fd >= 0) {
		for (char **h = im.new_trees; h && *h; h++) {
			_cleanup_free_ char *t = ps_strdup_printf("sha256-%s", *h);
			if (t)
				ps_rm_rf_at(im.st.trees_fd, t);
		}
		for (char **h = im.new_blobs; h && *h; h++)
			unlinkat(im.st.blobs_fd, *h, 0);
		fsync(im.st.trees_fd);
		fsync(im.st.blobs_fd);
	}
	strv_free(im.new_trees);
	strv_free(im.new_blobs);
	if (stage)
		ps_rm_rf_at(tmp_fd, stage);
	if (rec.config)
		json_object_put(rec.config);
	image_rec_clear(&rec);
	imgstore_close(&im.st);
	if (r < 0)
		return ps_error_prefix(err, "import %s", path);
	return 0;
}

/* --- what pods use ------------------------------------------------------------ */

struct pod_refs {
	char **digests; /* image digests ("sha256:…") of pods */
	char **trees;   /* tree paths of pods */
	bool busy_only; /* only pods that are preparing, prepared or running */
};

static int collect_pod(ps_store *s, const char *uuid, ps_pod_dir dir, void *userdata)
{
	struct pod_refs *refs = userdata;
	_cleanup_close_ int apps = -1;
	ps_pod *p = NULL;
	DIR *d;
	struct dirent *de;

	if (ps_pod_open(s, uuid, dir, &p, NULL) < 0)
		return 0; /* gone meanwhile */
	if (refs->busy_only && p->state != PS_STATE_PREPARING && p->state != PS_STATE_PREPARED &&
	    p->state != PS_STATE_RUNNING) {
		ps_pod_free(p);
		return 0;
	}
	apps = ps_apps_dir_open(p->fd, NULL);
	ps_pod_free(p);
	if (apps < 0 || !(d = fdopendir(apps)))
		return 0;
	apps = -1;
	while ((de = readdir(d))) {
		_cleanup_close_ int app_fd = -1;
		ps_app_image *img = NULL;

		if (de->d_name[0] == '.')
			continue;
		app_fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (app_fd < 0 || ps_app_image_read(app_fd, &img, NULL) < 0)
			continue;
		if (img->digest)
			strv_push(&refs->digests, img->digest);
		for (char **l = img->layers; l && *l; l++)
			strv_push(&refs->trees, *l);
		ps_app_image_free(img);
	}
	closedir(d);
	return 0;
}

static bool strv_contains(char **v, const char *s)
{
	for (; v && *v; v++)
		if (streq(*v, s))
			return true;
	return false;
}

int ps_image_remove(ps_store *s, const char *ref, bool force, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = { .blobs_fd = -1, .trees_fd = -1, .index_fd = -1 };
	_cleanup_json_ json_object *names = NULL;
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *name = NULL, *file = NULL;
	char hex[PS_SHA256_HEX_LEN + 1], digest[80];
	struct pod_refs refs = { .busy_only = true };
	size_t n_names = 0;
	int r;

	r = imgstore_open(s, &st, err);
	if (r < 0)
		return r;
	r = lock = lock_file(&st, "names.lock", LOCK_EX, err);
	if (r < 0)
		return r;
	r = names_load(&st, &names, err);
	if (r < 0)
		return r;
	r = resolve_hex(&st, names, ref, hex, err);
	if (r < 0)
		return r;
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	json_object_object_foreach(names, k, v)
	{
		(void)k;
		if (streq(json_object_get_string(v), digest))
			n_names++;
	}
	/* By one of several names: only that name goes (an untag). */
	if (normalize_name(ref, &name, NULL) == 0 && json_str(names, name) && n_names > 1) {
		json_object_object_del(names, name);
		return names_save(&st, names, err);
	}
	r = ps_walk_pods(s, PS_DIR_BIT(PS_DIR_PREPARE) | PS_DIR_BIT(PS_DIR_PREPARED) | PS_DIR_BIT(PS_DIR_RUN),
			 collect_pod, &refs, err);
	if (r >= 0 && !force && strv_contains(refs.digests, digest))
		r = ps_error_set(err, PS_ERR_BUSY, EBUSY,
				 "image %s is used by a prepared or running pod (use --force)", ref);
	strv_free(refs.digests);
	strv_free(refs.trees);
	if (r < 0)
		return r;
	/* Names first, then the record: a crash between leaves an unnamed
	 * image, never a name pointing nowhere. */
	for (bool again = true; again;) {
		again = false;
		json_object_object_foreach(names, k2, v2)
		{
			if (streq(json_object_get_string(v2), digest)) {
				json_object_object_del(names, k2);
				again = true;
				break;
			}
		}
	}
	r = names_save(&st, names, err);
	if (r < 0)
		return r;
	file = ps_strdup_printf("sha256-%s.json", hex);
	if (!file)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "remove");
	if (unlinkat(st.index_fd, file, 0) < 0 && errno != ENOENT)
		return ps_error_errno(err, "remove images/index/%s", file);
	return ps_fsync_dir_at(st.index_fd, NULL, err);
}

int ps_image_tag(ps_store *s, const char *ref, const char *new_name, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = { .blobs_fd = -1, .trees_fd = -1, .index_fd = -1 };
	_cleanup_json_ json_object *names = NULL;
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *name = NULL;
	char hex[PS_SHA256_HEX_LEN + 1], digest[80];
	const char *old;
	int r;

	r = normalize_name(new_name, &name, err);
	if (r < 0)
		return r;
	r = imgstore_open(s, &st, err);
	if (r < 0)
		return r;
	r = lock = lock_file(&st, "names.lock", LOCK_EX, err);
	if (r < 0)
		return r;
	r = names_load(&st, &names, err);
	if (r < 0)
		return r;
	r = resolve_hex(&st, names, ref, hex, err);
	if (r < 0)
		return r;
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	old = json_str(names, name);
	if (old && streq(old, digest))
		return 0;
	/* Like an import's name: it moves from the image that had it. */
	json_object_object_add(names, name, json_object_new_string(digest));
	return names_save(&st, names, err);
}

/* Remove entries of dirfd named <prefix><hex><suffix> whose hex is not in keep. */
static int sweep(int dir_fd, const char *prefix, char **keep, ps_error **err)
{
	_cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t pl = strlen(prefix);
	int r = 0;

	if (!d)
		return ps_error_errno(err, "read image store");
	fd = -1;
	while ((de = readdir(d))) {
		const char *hex = de->d_name + pl;

		if (strncmp(de->d_name, prefix, pl) != 0 || !ps_sha256_hex_is_valid(hex) ||
		    strv_contains(keep, hex))
			continue;
		r = ps_rm_rf_at(dirfd(d), de->d_name);
		if (r < 0) {
			r = ps_error_set(err, PS_ERR_FAILED, -r, "remove %s", de->d_name);
			break;
		}
	}
	closedir(d);
	return r;
}

int ps_image_gc(ps_store *s, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = { .blobs_fd = -1, .trees_fd = -1, .index_fd = -1 };
	_cleanup_close_ int lock = -1, names_lock = -1;
	struct pod_refs refs = { .busy_only = false };
	char **hexes = NULL, **keep_blobs = NULL, **keep_trees = NULL;
	int r;

	/* No image store yet: nothing to collect, and nothing to create. */
	if (faccessat(ps_store_fd(s), "images", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return 0;
	r = imgstore_open(s, &st, err);
	if (r < 0)
		return r;
	lock = lock_file(&st, "lock", LOCK_EX | LOCK_NB, err);
	if (lock == -EWOULDBLOCK) {
		/* The next gc will do it; not worth a line in a cron job's mail. */
		ps_log(PS_LOG_DEBUG, "image gc skipped: an import or prepare is in progress");
		return 0;
	}
	if (lock < 0)
		return lock;
	r = names_lock = lock_file(&st, "names.lock", LOCK_EX, err);
	if (r < 0)
		return r;
	r = index_list(&st, &hexes, err);
	if (r < 0)
		return r;
	for (char **h = hexes; *h && r >= 0; h++) {
		_cleanup_free_ char *file = ps_strdup_printf("sha256-%s.json", *h), *data = NULL;
		_cleanup_json_ json_object *o = NULL;
		json_object *a;

		if (!file || ps_read_file_at(st.index_fd, file, MAX_JSON, &data, NULL, err) < 0) {
			r = file ? -EIO : ps_error_set(err, PS_ERR_FAILED, ENOMEM, "gc");
			break;
		}
		o = json_tokener_parse(data);
		a = json_get(o, "blobs");
		for (size_t i = 0; a && i < json_object_array_length(a); i++)
			strv_push(&keep_blobs, json_object_get_string(json_object_array_get_idx(a, i)));
		a = json_get(o, "layers");
		for (size_t i = 0; a && i < json_object_array_length(a); i++) {
			const char *hex = digest_hex(json_str(json_object_array_get_idx(a, i), "digest"));
			if (hex && strv_push(&keep_trees, hex) < 0)
				r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "gc");
		}
	}
	if (r >= 0)
		r = ps_walk_pods(s, PS_DIR_BIT(PS_DIR_PREPARE) | PS_DIR_BIT(PS_DIR_PREPARED) |
					    PS_DIR_BIT(PS_DIR_RUN),
				 collect_pod, &refs, err);
	for (char **t = refs.trees; r >= 0 && t && *t; t++) {
		const char *hex = strstr(*t, "trees/sha256-");
		if (hex && strv_push(&keep_trees, hex + strlen("trees/sha256-")) < 0)
			r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "gc");
	}
	if (r >= 0)
		r = sweep(st.trees_fd, "sha256-", keep_trees, err);
	if (r >= 0)
		r = sweep(st.blobs_fd, "", keep_blobs, err);
	strv_free(hexes);
	strv_free(keep_blobs);
	strv_free(keep_trees);
	strv_free(refs.digests);
	strv_free(refs.trees);
	return r < 0 ? ps_error_prefix(err, "image gc") : 0;
}

/* --- rootfs helpers ------------------------------------------------------------- */

int ps_image_lowerdir_string(ps_store *s, const ps_image *img, char **ret, ps_error **err)
{
	const char *root = ps_store_path(s);
	size_t len = 0, rl = strlen(root);
	char *out, *p;

	if (strpbrk(root, ":,\\"))
		return ps_error_set(err, PS_ERR_INVALID, EINVAL,
				    "store path %s has ':', ',' or '\\' in it: overlayfs cannot use it",
				    root);
	if (img->n_layers == 0)
		return ps_error_set(err, PS_ERR_INVALID, 0, "image %s has no layers", img->digest);
	for (size_t i = 0; i < img->n_layers; i++) {
		if (strpbrk(img->layers[i], ":,\\") || strstr(img->layers[i], ".."))
			return ps_error_set(err, PS_ERR_INVALID, EINVAL, "bad layer path %s",
					    img->layers[i]);
		len += rl + 1 + strlen(img->layers[i]) + 1;
	}
	if (len > 3072)
		return ps_error_set(err, PS_ERR_INVALID, E2BIG,
				    "image %s: %zu layers make a lowerdir= of %zu bytes", img->digest,
				    img->n_layers, len);
	p = out = malloc(len + 1);
	if (!out)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "lowerdir");
	for (size_t i = img->n_layers; i-- > 0;)
		p += sprintf(p, "%s%s/%s", p == out ? "" : ":", root, img->layers[i]);
	*ret = out;
	return 0;
}

bool ps_overlay_supported(ps_store *s)
{
	static int cached = -1;
	_cleanup_free_ char *base = NULL, *opts = NULL, *merged = NULL;
	int tmp_fd = ps_store_tmp_fd(s);
	const char *sub[] = { "l", "u", "w", "m" };
	char name[64];

	if (cached >= 0)
		return cached;
	/* Listed means registered with the kernel: every prepare asks, so skip
	 * the test mount (~1-2 ms) then. Unlisted may still be a module that
	 * the mount below loads. */
	{
		_cleanup_close_ int fd = open("/proc/filesystems", O_RDONLY | O_CLOEXEC);
		_cleanup_free_ char *buf = NULL;
		if (fd >= 0 && ps_read_all(fd, 64 * 1024, &buf, NULL) == 0 && strstr(buf, "\toverlay\n"))
			return (cached = 1);
	}
	snprintf(name, sizeof(name), "overlay-probe.%d", (int)getpid());
	base = ps_strdup_printf("%s/tmp/%s", ps_store_path(s), name);
	if (!base || mkdirat(tmp_fd, name, 0700) < 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		char p[96];
		snprintf(p, sizeof(p), "%s/%s", name, sub[i]);
		mkdirat(tmp_fd, p, 0700);
	}
	opts = ps_strdup_printf("lowerdir=%s/l,upperdir=%s/u,workdir=%s/w", base, base, base);
	merged = ps_strdup_printf("%s/m", base);
	cached = opts && merged && mount("overlay", merged, "overlay", 0, opts) == 0;
	if (cached)
		umount2(merged, MNT_DETACH);
	ps_rm_rf_at(tmp_fd, name);
	return cached;
}

int ps_image_copy_rootfs(ps_store *s, const ps_image *img, int target_dirfd, ps_error **err)
{
	for (size_t i = 0; i < img->n_layers; i++) {
		_cleanup_close_ int fd = -1;
		int r;

		if (strstr(img->layers[i], ".."))
			return ps_error_set(err, PS_ERR_INVALID, 0, "bad layer path %s", img->layers[i]);
		fd = openat(ps_store_fd(s), img->layers[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return ps_error_errno(err, "open %s", img->layers[i]);
		r = ps_tree_merge(fd, target_dirfd, err);
		if (r < 0)
			return ps_error_prefix(err, "copy layer %s", img->layers[i]);
	}
	return 0;
}
