/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The image store: its dirs and locks, names and records; resolve and list.
 * Layout in image.h, the split of the image code in image-internal.h.
 *
 * Locking: an import holds images/lock shared from its first blob to its
 * last record; ps_image_gc() takes it exclusive (without waiting), so gc never
 * removes a blob or tree an import is about to reference. A layer is
 * extracted under an exclusive flock on its blob, so concurrent imports of
 * the same layer extract it once. names.json and the index are changed under
 * images/names.lock.
 */

#include <fcntl.h>
#include <json-c/json.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <podstore/fileio.h>
#include "image-internal.h"
#include "json-util.h"
#include "strv.h"
#include "util.h"

void ps_image_free(ps_image *img)
{
	if (!img)
		return;
	free(img->digest);
	ps_strv_free(img->names);
	for (size_t i = 0; i < img->n_layers; i++)
		free(img->layers[i]);
	free(img->layers);
	image_config_clear(&img->config);
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

void imgstore_close(struct imgstore *st)
{
	if (st->blobs_fd >= 0)
		close(st->blobs_fd);
	if (st->trees_fd >= 0)
		close(st->trees_fd);
	if (st->index_fd >= 0)
		close(st->index_fd);
}

int imgstore_open(ps_store *s, struct imgstore *st, ps_error **err)
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

int imgstore_lock(struct imgstore *st, const char *name, int op, ps_error **err)
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
	/* The lock is all a pin needs: not the store's subdirs (every `run`
	 * pins, most use no stored image). */
	struct imgstore st = IMGSTORE_INIT;
	int r;

	st.images_fd = ps_store_images_fd(s, err);
	if (st.images_fd < 0)
		return st.images_fd;
	r = imgstore_lock(&st, "lock", LOCK_SH, err);
	if (r < 0)
		return r;
	*ret_fd = r;
	return 0;
}

/* --- digests and names ---------------------------------------------------------- */


const char *image_digest_hex(const char *digest)
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
int image_normalize_name(const char *in, char **ret, ps_error **err)
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

int image_names_load(struct imgstore *st, json_object **ret, ps_error **err)
{
	_cleanup_free_ char *data = NULL;
	json_object *o;
	int r = ps_read_file_at(st->images_fd, "names.json", IMAGE_MAX_JSON, &data, NULL, err);

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

int image_names_save(struct imgstore *st, json_object *names, ps_error **err)
{
	const char *s = json_object_to_json_string_ext(names, JSON_C_TO_STRING_PRETTY |
								      JSON_C_TO_STRING_NOSLASHESCAPE);
	return ps_write_file_at(st->images_fd, "names.json", s, strlen(s), 0600, PS_WRITE_DURABLE,
				err);
}

/* --- loading records ------------------------------------------------------------ */

void image_config_clear(ps_image_config *cfg)
{
	ps_strv_free(cfg->entrypoint);
	ps_strv_free(cfg->cmd);
	ps_strv_free(cfg->env);
	free(cfg->working_dir);
	free(cfg->user);
	*cfg = (ps_image_config){ 0 };
}

int image_config_parse(json_object *config_doc, ps_image_config *cfg)
{
	json_object *c = ps_json_get(config_doc, "config");
	const char *s;

	if (!c || !json_object_is_type(c, json_type_object))
		return 0;
	if (ps_json_strv(ps_json_get(c, "Entrypoint"), &cfg->entrypoint) < 0 ||
	    ps_json_strv(ps_json_get(c, "Cmd"), &cfg->cmd) < 0 || ps_json_strv(ps_json_get(c, "Env"), &cfg->env) < 0)
		return -ENOMEM;
	if ((s = ps_json_str(c, "WorkingDir")) && *s && !(cfg->working_dir = strdup(s)))
		return -ENOMEM;
	if ((s = ps_json_str(c, "User")) && *s && !(cfg->user = strdup(s)))
		return -ENOMEM;
	return 0;
}

int image_load(struct imgstore *st, const char *hex, json_object *names, ps_image **ret,
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
	r = ps_read_file_at(st->index_fd, file, IMAGE_MAX_JSON, &data, NULL, err);
	if (r == -ENOENT)
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no image sha256:%s", hex);
	if (r < 0)
		return r;
	o = json_tokener_parse(data);
	layers = ps_json_get(o, "layers");
	if (!o || !layers || !json_object_is_type(layers, json_type_array))
		return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "images/index/%s", file);
	img->digest = ps_strdup_printf("sha256:%s", hex);
	img->n_layers = json_object_array_length(layers);
	img->layers = calloc(img->n_layers + 1, sizeof(char *));
	if (!img->digest || !img->layers)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
	for (size_t i = 0; i < img->n_layers; i++) {
		const char *t = ps_json_str(json_object_array_get_idx(layers, i), "tree");
		if (!t)
			return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "images/index/%s", file);
		if (!(img->layers[i] = strdup(t)))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
	}
	if (image_config_parse(o, &img->config) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
	img->size = json_object_get_int64(ps_json_get(o, "size"));
	created = ps_json_str(o, "created");
	if (created)
		ps_parse_time(created, &img->created_ns);
	img->names = calloc(1, sizeof(char *));
	if (!img->names)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
	if (names) {
		json_object_object_foreach(names, k, v)
		{
			if (streq(json_object_get_string(v), img->digest) && ps_strv_push(&img->names, k) < 0)
				return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "load image");
		}
	}
	*ret = TAKE_PTR(img);
	return 0;
}

/* Hex digests of every image in the index. */
int image_index_list(struct imgstore *st, char ***ret, ps_error **err)
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
		if (ps_sha256_hex_is_valid(hex) && ps_strv_push(&v, hex) < 0) {
			closedir(d);
			ps_strv_free(v);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read images/index");
		}
	}
	closedir(d);
	*ret = v;
	return 0;
}

/* Resolve ref to the hex digest of an image in the index. */
int image_resolve_hex(struct imgstore *st, json_object *names, const char *ref,
		       char ret[PS_SHA256_HEX_LEN + 1], ps_error **err)
{
	_cleanup_free_ char *name = NULL;
	char **all = NULL;
	const char *prefix = NULL, *target;
	size_t matches = 0, listed = 0;
	char list[512] = "";
	int r;

	/* A name first: names win over digest prefixes that look alike. */
	if (image_normalize_name(ref, &name, NULL) == 0 && (target = ps_json_str(names, name)) &&
	    image_digest_hex(target)) {
		memcpy(ret, image_digest_hex(target), PS_SHA256_HEX_LEN + 1);
		return 0;
	}
	if (strncmp(ref, "sha256:", 7) == 0)
		prefix = ref + 7;
	else if (is_hex_prefix(ref))
		prefix = ref;
	if (!prefix || !is_hex_prefix(prefix))
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no such image: %s", ref);
	r = image_index_list(st, &all, err);
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
	ps_strv_free(all);
	if (matches == 0)
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no such image: %s", ref);
	if (matches > 1)
		return ps_error_set(err, PS_ERR_AMBIGUOUS, 0,
				    "image digest prefix %s is ambiguous: %s%s", ref, list,
				    matches > 8 ? ", …" : "");
	return 0;
}

int imgstore_open_names(ps_store *s, struct imgstore *st, const char *lock_name, int *ret_lock,
			json_object **ret_names, ps_error **err)
{
	int r = imgstore_open(s, st, err);

	if (r < 0)
		return r;
	if (lock_name) {
		r = imgstore_lock(st, lock_name, LOCK_EX, err);
		if (r < 0)
			return r;
		*ret_lock = r;
	}
	return image_names_load(st, ret_names, err);
}

int ps_image_resolve(ps_store *s, const char *ref, ps_image **ret, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = IMGSTORE_INIT;
	_cleanup_json_ json_object *names = NULL;
	char hex[PS_SHA256_HEX_LEN + 1];
	int r;

	r = imgstore_open_names(s, &st, NULL, NULL, &names, err);
	if (r < 0)
		return r;
	r = image_resolve_hex(&st, names, ref, hex, err);
	if (r < 0)
		return r;
	return image_load(&st, hex, names, ret, err);
}

int ps_image_tag(ps_store *s, const char *ref, const char *new_name, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = IMGSTORE_INIT;
	_cleanup_json_ json_object *names = NULL;
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *name = NULL;
	char hex[PS_SHA256_HEX_LEN + 1], digest[80];
	const char *old;
	int r;

	r = image_normalize_name(new_name, &name, err);
	if (r < 0)
		return r;
	r = imgstore_open_names(s, &st, "names.lock", &lock, &names, err);
	if (r < 0)
		return r;
	r = image_resolve_hex(&st, names, ref, hex, err);
	if (r < 0)
		return r;
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	old = ps_json_str(names, name);
	if (old && streq(old, digest))
		return 0;
	/* Like an import's name: it moves from the image that had it. */
	json_object_object_add(names, name, json_object_new_string(digest));
	return image_names_save(&st, names, err);
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
	_cleanup_imgstore_ struct imgstore st = IMGSTORE_INIT;
	_cleanup_json_ json_object *names = NULL;
	char **hexes = NULL;
	ps_image **v;
	size_t n, k = 0;
	int r;

	r = imgstore_open_names(s, &st, NULL, NULL, &names, err);
	if (r < 0)
		return r;
	r = image_index_list(&st, &hexes, err);
	if (r < 0)
		return r;
	n = ps_strv_length(hexes);
	v = calloc(n + 1, sizeof(*v));
	if (!v) {
		ps_strv_free(hexes);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "list images");
	}
	for (size_t i = 0; i < n; i++) {
		r = image_load(&st, hexes[i], names, &v[k], err);
		if (r == -ENOENT) {
			ps_error_free(err); /* removed while we listed */
			continue;
		}
		if (r < 0) {
			ps_strv_free(hexes);
			ps_image_list_free(v, k);
			return r;
		}
		k++;
	}
	ps_strv_free(hexes);
	qsort(v, k, sizeof(*v), cmp_created);
	*ret = v;
	*ret_n = k;
	return 0;
}
