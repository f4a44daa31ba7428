/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OCI image layouts (a dir, or an oci-archive unpacked by image-import.c):
 * index.json → (nested indexes →) manifest → config and layers, every blob
 * verified against its descriptor's digest and size.
 */

#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include "image-internal.h"
#include "json-util.h"
#include "strv.h"
#include "util.h"

struct oci_ctx {
	int root;
	json_object *layers; /* the manifest's layer descriptors */
	char path[96];
};

int oci_descriptor(json_object *d, const char **ret_hex, long long *ret_size, ps_error **err)
{
	const char *digest = ps_json_str(d, "digest");
	json_object *size = ps_json_get(d, "size");
	const char *hex = image_digest_hex(digest);
	long long n = -1;

	if (!hex)
		return ps_error_set(err, PS_ERR_INVALID, 0, "unsupported or bad digest \"%s\"",
				    digest ? digest : "");
	if (size) {
		if (!json_object_is_type(size, json_type_int) ||
		    (n = json_object_get_int64(size)) < 0 || n == INT64_MAX)
			return ps_error_set(err, PS_ERR_INVALID, 0, "blob %s: bad size", digest);
	}
	*ret_hex = hex;
	*ret_size = n;
	return 0;
}

static int oci_open_layer(void *ctx, size_t i, int *ret_fd, const char **ret_expect,
			  long long *ret_size, ps_error **err)
{
	struct oci_ctx *c = ctx;
	int r = oci_descriptor(json_object_array_get_idx(c->layers, i), ret_expect, ret_size, err);

	if (r < 0)
		return r;
	snprintf(c->path, sizeof(c->path), "blobs/sha256/%s", *ret_expect);
	return layout_open(c->root, c->path, 0, ret_fd, NULL, err);
}

const char *image_host_arch(void)
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

bool oci_is_index(json_object *manifest)
{
	return is_index_type(ps_json_str(manifest, "mediaType")) || ps_json_get(manifest, "manifests");
}

int oci_index_pick(json_object *index, const char *want_name, json_object **ret, ps_error **err)
{
	json_object *m = ps_json_array(index, "manifests"), *only = NULL, *plat = NULL;
	const char *tag = NULL;
	char refs[256] = "";
	size_t n;

	if (!m || !(n = json_object_array_length(m)))
		return ps_error_set(err, PS_ERR_INVALID, 0, "index.json lists no manifests");
	if (want_name) {
		const char *slash = strrchr(want_name, '/'), *colon = strrchr(want_name, ':');
		if (colon && (!slash || colon > slash))
			tag = colon + 1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(m, i), *p = ps_json_get(d, "platform");
		const char *ref = ps_json_str(ps_json_get(d, "annotations"),
					      "org.opencontainers.image.ref.name");

		if (ref && want_name && (streq(ref, want_name) || (tag && streq(ref, tag)))) {
			*ret = d;
			return 0;
		}
		if (ref) {
			size_t l = strlen(refs);
			snprintf(refs + l, sizeof(refs) - l, "%s%s", l ? ", " : "", ref);
		}
		if (p && streq(ps_json_str(p, "os") ?: "", "linux") &&
		    streq(ps_json_str(p, "architecture") ?: "", image_host_arch()) && !plat)
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

int oci_manifest_layers(json_object *manifest, json_object **ret, ps_error **err)
{
	json_object *layers = ps_json_array(manifest, "layers");

	if (!layers)
		return ps_error_set(err, PS_ERR_INVALID, 0, "manifest without layers");
	for (size_t i = 0; i < json_object_array_length(layers); i++) {
		const char *hex;
		long long size;
		int r = oci_descriptor(json_object_array_get_idx(layers, i), &hex, &size, err);

		if (r < 0)
			return ps_error_prefix(err, r, "layer %zu", i + 1);
	}
	*ret = layers;
	return 0;
}

int import_oci(struct import *im, int root, const char *want_name, struct image_rec *rec,
	       ps_error **err)
{
	_cleanup_json_ json_object *index = NULL, *manifest = NULL, *config = NULL;
	struct oci_ctx c = { .root = root };
	json_object *d;
	const char *hex, *ref_name = NULL;
	char mhex[PS_SHA256_HEX_LEN + 1], chex[PS_SHA256_HEX_LEN + 1], path[96];
	long long size;
	int r;

	r = layout_read_json(im, root, "index.json", NULL, -1, NULL, &index, err);
	if (r < 0)
		return r;
	r = oci_index_pick(index, want_name, &d, err);
	if (r < 0)
		return r;
	ref_name = ps_json_str(ps_json_get(d, "annotations"), "io.containerd.image.name");
	/* Nested indexes (multi-platform): descend to this platform's manifest. */
	for (int depth = 0;; depth++) {
		r = oci_descriptor(d, &hex, &size, err);
		if (r < 0)
			return ps_error_prefix(err, r, "index.json");
		snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
		json_object_put(TAKE_PTR(manifest));
		r = layout_read_json(im, root, path, hex, size, mhex, &manifest, err);
		if (r < 0)
			return ps_error_prefix(err, r, "manifest");
		if (!oci_is_index(manifest))
			break;
		if (depth > 4)
			return ps_error_set(err, PS_ERR_INVALID, 0, "indexes nested too deep");
		if (ps_strv_push(&rec->blobs, mhex) < 0)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
		r = oci_index_pick(manifest, NULL, &d, err);
		if (r < 0)
			return r;
	}
	memcpy(rec->digest_hex, mhex, sizeof(mhex));
	rec->format = "oci";
	if (ps_strv_push(&rec->blobs, mhex) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	r = oci_descriptor(ps_json_get(manifest, "config"), &hex, &size, err);
	if (r < 0)
		return ps_error_prefix(err, r, "manifest config");
	r = oci_manifest_layers(manifest, &c.layers, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "blobs/sha256/%s", hex);
	r = layout_read_json(im, root, path, hex, size, chex, &config, err);
	if (r < 0)
		return ps_error_prefix(err, r, "config");
	if (ps_strv_push(&rec->blobs, chex) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	rec->n_layers = json_object_array_length(c.layers);
	rec->layers = calloc(rec->n_layers + 1, sizeof(*rec->layers));
	if (!rec->layers)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	im->n_layers = rec->n_layers;
	for (size_t i = 0; i < rec->n_layers; i++) {
		const char *h;
		if (oci_descriptor(json_object_array_get_idx(c.layers, i), &h, &size, NULL) == 0 &&
		    size > 0)
			im->total += 2 * size;
	}
	r = import_layers(im, rec, oci_open_layer, &c, err);
	if (r < 0)
		return r;
	import_rec_set_config(rec, config);
	if (!want_name && ref_name) {
		_cleanup_free_ char *n = NULL;
		if (image_normalize_name(ref_name, &n, NULL) == 0 && ps_strv_push(&rec->names, n) < 0)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	}
	return 0;
}
