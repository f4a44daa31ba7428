/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * docker-archives (docker save): manifest.json names each image's config
 * and layer tars. The image's id is its config's digest; an uncompressed
 * layer is verified against the config's diff_ids, a compressed one
 * against the digest its name promises, if any.
 */

#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>
#include "image-internal.h"
#include "json-util.h"
#include "strv.h"
#include "util.h"

struct docker_ctx {
	int root;
	json_object *layers; /* paths */
	json_object *diff_ids;
	char expect[PS_SHA256_HEX_LEN + 1];
};

bool docker_hex_from_path(const char *path, char out[PS_SHA256_HEX_LEN + 1])
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

static const char *array_str(json_object *a, size_t i)
{
	json_object *e = a && i < json_object_array_length(a) ? json_object_array_get_idx(a, i) : NULL;

	return e && json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
}

int docker_manifest_pick(json_object *manifest, const char *want_name, json_object **ret,
			 ps_error **err)
{
	json_object *entry = NULL;
	size_t n;

	if (!manifest || !json_object_is_type(manifest, json_type_array) ||
	    !(n = json_object_array_length(manifest)))
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json lists no images");
	for (size_t i = 0; want_name && i < n && !entry; i++) {
		json_object *e = json_object_array_get_idx(manifest, i);
		json_object *tags = ps_json_array(e, "RepoTags");

		for (size_t k = 0; tags && k < json_object_array_length(tags); k++) {
			_cleanup_free_ char *t = NULL;
			const char *tag = array_str(tags, k);

			if (tag && image_normalize_name(tag, &t, NULL) == 0 && streq(t, want_name))
				entry = e;
		}
	}
	if (!entry && n == 1)
		entry = json_object_array_get_idx(manifest, 0);
	if (!entry)
		return ps_error_set(err, PS_ERR_AMBIGUOUS, 0,
				    "the archive holds %zu images: choose one with --name NAME:TAG", n);
	if (!json_object_is_type(entry, json_type_object))
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json: an entry is not an object");
	*ret = entry;
	return 0;
}

int docker_entry_layers(json_object *entry, json_object **ret, ps_error **err)
{
	json_object *layers = ps_json_array(entry, "Layers");

	if (!layers)
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json: no Layers");
	for (size_t i = 0; i < json_object_array_length(layers); i++)
		if (!array_str(layers, i) || !*array_str(layers, i))
			return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json: bad layer %zu", i + 1);
	*ret = layers;
	return 0;
}

int docker_entry_names(json_object *entry, char ***ret)
{
	json_object *tags = ps_json_array(entry, "RepoTags");
	char **v = NULL;

	for (size_t k = 0; tags && k < json_object_array_length(tags); k++) {
		_cleanup_free_ char *t = NULL;
		const char *tag = array_str(tags, k);

		if (!tag || image_normalize_name(tag, &t, NULL) < 0)
			continue;
		if (ps_strv_push(&v, t) < 0) {
			ps_strv_free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

static int docker_open_layer(void *ctx, size_t i, int *ret_fd, const char **ret_expect,
			     long long *ret_size, ps_error **err)
{
	struct docker_ctx *c = ctx;
	const char *path = array_str(c->layers, i);
	const char *diff = image_digest_hex(array_str(c->diff_ids, i));
	unsigned char magic[6] = { 0 };
	bool compressed;
	int r;

	if (!path)
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json: bad layer %zu", i + 1);
	r = layout_open(c->root, path, 0, ret_fd, NULL, err);
	if (r < 0)
		return r;
	*ret_expect = NULL;
	*ret_size = -1;
	/* An uncompressed layer's digest is its diff_id: verify it. Compressed
	 * ones are checked against the name they are stored under, if any. */
	if (pread(*ret_fd, magic, sizeof(magic), 0) < 0)
		return ps_error_errno(err, "read %s", path);
	compressed = (magic[0] == 0x1f && magic[1] == 0x8b) || !memcmp(magic, "\xfd" "7zXZ", 5) ||
		     !memcmp(magic, "\x28\xb5\x2f\xfd", 4) || !memcmp(magic, "BZh", 3);
	if (diff && !compressed) {
		memcpy(c->expect, diff, PS_SHA256_HEX_LEN + 1);
		*ret_expect = c->expect;
	} else if (strstr(path, "blobs/sha256/") && docker_hex_from_path(path, c->expect)) {
		*ret_expect = c->expect;
	}
	return 0;
}

int import_docker(struct import *im, int root, const char *want_name, struct image_rec *rec,
		  ps_error **err)
{
	_cleanup_json_ json_object *manifest = NULL, *config = NULL;
	struct docker_ctx c = { .root = root };
	json_object *entry = NULL;
	const char *cpath;
	char expect[PS_SHA256_HEX_LEN + 1], chex[PS_SHA256_HEX_LEN + 1];
	int r;

	r = layout_read_json(im, root, "manifest.json", NULL, -1, NULL, &manifest, err);
	if (r < 0)
		return r;
	r = docker_manifest_pick(manifest, want_name, &entry, err);
	if (r < 0)
		return r;
	cpath = ps_json_str(entry, "Config");
	if (!cpath || !*cpath)
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest.json: no Config");
	r = docker_entry_layers(entry, &c.layers, err);
	if (r < 0)
		return r;
	r = layout_read_json(im, root, cpath, docker_hex_from_path(cpath, expect) ? expect : NULL, -1,
			     chex, &config, err);
	if (r < 0)
		return ps_error_prefix(err, r, "config");
	/* Docker's image id is the digest of its config. */
	memcpy(rec->digest_hex, chex, sizeof(chex));
	rec->format = "docker-archive";
	if (ps_strv_push(&rec->blobs, chex) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	c.diff_ids = ps_json_array(ps_json_get(config, "rootfs"), "diff_ids");
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
		_cleanup_close_ int fd = -1;
		long long size;

		if (layout_open(root, array_str(c.layers, i), 0, &fd, &size, NULL) == 0)
			im->total += 2 * size;
	}
	r = import_layers(im, rec, docker_open_layer, &c, err);
	if (r < 0)
		return r;
	import_rec_set_config(rec, config);
	if (!want_name && docker_entry_names(entry, &rec->names) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	return 0;
}
