/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_IMAGE_INTERNAL_H
#define PODSTORE_IMAGE_INTERNAL_H

/*
 * The image store's internals (not installed). One file per job:
 *
 *   image-store.c    the store's dirs and locks, names, records; resolve, list
 *   image-import.c   ps_image_import(): sniffing, blobs, layer trees, records
 *   image-layout.c   reading files out of an untrusted layout or archive
 *   image-oci.c      OCI image layouts (dir or tar)
 *   image-docker.c   docker-archives (docker save)
 *   image-rootfs.c   plain rootfs tarballs and dirs
 *   image-gc.c       what pods use; remove and gc
 *   image-mount.c    what prepare uses to build a rootfs (overlay probe, copy)
 *   image-pull.c     ps_image_pull(): skopeo into tmp/, then a verified import
 *
 * The parsers (image_config_parse, oci_*, docker_*) take a parsed JSON
 * document and never touch the file system, so they can be fuzzed alone
 * (tests/fuzz/fuzz-oci-*.c, fuzz-docker-manifest.c). Layout in
 * Documentation/devel/library.md.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <podstore/image.h>
#include "sha256.h"

#define BLOB_DIR "blobs/sha256"
/* Any JSON document of an image or of the store: index.json, manifests,
 * configs, docker's manifest.json, names.json, records. Real ones are a few
 * KiB; a config with a long history some hundred KiB. */
#define IMAGE_MAX_JSON (4u << 20)

/* --- the store (image-store.c) --- */

struct imgstore {
	ps_store *s;
	int images_fd; /* borrowed from the store */
	int blobs_fd, trees_fd, index_fd;
};
#define IMGSTORE_INIT { .blobs_fd = -1, .trees_fd = -1, .index_fd = -1 }

int imgstore_open(ps_store *s, struct imgstore *st, ps_error **err);
void imgstore_close(struct imgstore *st);
#define _cleanup_imgstore_ __attribute__((cleanup(imgstore_close)))

/* flock images/<name>; returns the fd, or -EWOULDBLOCK without filling err
 * when op has LOCK_NB and it is held. */
int imgstore_lock(struct imgstore *st, const char *name, int op, ps_error **err);

/* "sha256:<64 hex>" → the hex, or NULL. Nothing else may become a path. */
const char *image_digest_hex(const char *digest);

/* "name[:tag]" → "name:tag" (default tag latest). PS_ERR_INVALID. */
int image_normalize_name(const char *in, char **ret, ps_error **err);

int image_names_load(struct imgstore *st, json_object **ret, ps_error **err);

/* imgstore_open(), then (with lock_name) flock images/<lock_name> exclusively
 * into *ret_lock, then load the names. */
int imgstore_open_names(ps_store *s, struct imgstore *st, const char *lock_name, int *ret_lock,
                        json_object **ret_names, ps_error **err);
int image_names_save(struct imgstore *st, json_object *names, ps_error **err);

/* Load the record images/index/sha256-<hex>.json; PS_ERR_NOT_FOUND. */
int image_load(struct imgstore *st, const char *hex, json_object *names, ps_image **ret,
               ps_error **err);

/* Hex digests of every record in the index. */
int image_index_list(struct imgstore *st, char ***ret, ps_error **err);

/* A name, a full digest or a unique digest prefix → the hex of a record. */
int image_resolve_hex(struct imgstore *st, json_object *names, const char *ref,
                      char ret[PS_SHA256_HEX_LEN + 1], ps_error **err);

/* Fill cfg from an image config document's "config" object (OCI and docker
 * alike); a missing or non-object "config" leaves cfg empty. -ENOMEM. */
int image_config_parse(json_object *config_doc, ps_image_config *cfg);
void image_config_clear(ps_image_config *cfg);

/* --- an import in progress (image-import.c) --- */

struct import {
	struct imgstore st;
	const ps_image_import_opts *opts;
	long long done, total; /* progress */
	size_t layer, n_layers;
	/* What this import added, undone on failure so the store is as before. */
	char **new_blobs, **new_trees;
};

struct layer {
	char hex[PS_SHA256_HEX_LEN + 1];
	long long size;
};

/* What an import writes into images/index/. */
struct image_rec {
	char digest_hex[PS_SHA256_HEX_LEN + 1]; /* the image's identity */
	const char *format;
	struct layer *layers;
	size_t n_layers;
	char **blobs;        /* every blob hex the image refers to */
	json_object *config; /* the "config" object of the image config, a reference */
	char **names;        /* normalised */
	long long size;
};

/* Keep a reference to the "config" object of the image config document
 * config_doc in rec (nothing when it is missing or not an object). */
void import_rec_set_config(struct image_rec *rec, json_object *config_doc);

/*
 * Store the blob read from in under blobs/sha256/<hex>. With expect (a hex
 * digest), a mismatch is PS_ERR_INVALID and nothing is stored; with
 * expect_size >= 0 so is a size mismatch.
 */
int import_store_blob(struct import *im, int in, const char *expect, long long expect_size,
                      char ret_hex[PS_SHA256_HEX_LEN + 1], long long *ret_size, ps_error **err);

/* Open layer i of rec for import_layers(): an owned fd, the digest it must
 * have (or NULL) and its size (or -1). */
typedef int (*open_layer_fn)(void *ctx, size_t i, int *ret_fd, const char **ret_expect,
                             long long *ret_size, ps_error **err);

/* Store rec's n_layers layers and extract each into its tree. */
int import_layers(struct import *im, struct image_rec *rec, open_layer_fn open_layer, void *ctx,
                  ps_error **err);

/* --- files of an untrusted layout (image-layout.c) --- */

/*
 * Open path inside the layout dir root for reading: no symlink followed, not
 * even inside root, nothing outside root reachable, and only a regular file
 * accepted (a FIFO, device, dir or socket is refused with PS_ERR_INVALID
 * before anything is read, so a hostile layout cannot hang the import).
 * With max > 0, a larger file is refused with EFBIG. *ret_size is its size.
 */
int layout_open(int root, const char *path, long long max, int *ret_fd, long long *ret_size,
                ps_error **err);

/* Read the JSON document at path inside root (at most IMAGE_MAX_JSON),
 * storing it as a blob too when ret_hex is given (verified against expect
 * and expect_size when given). */
int layout_read_json(struct import *im, int root, const char *path, const char *expect,
                     long long expect_size, char ret_hex[PS_SHA256_HEX_LEN + 1],
                     json_object **ret, ps_error **err);

/* --- the formats --- */

/* A descriptor's digest (hex) and size (-1 when absent). PS_ERR_INVALID on a
 * digest that is not "sha256:<64 hex>" or a negative or non-integer size. */
int oci_descriptor(json_object *d, const char **ret_hex, long long *ret_size, ps_error **err);

/* The host's architecture as OCI platforms spell it ("amd64", "arm64", …). */
const char *image_host_arch(void);

/* Whether a parsed manifest is really an index (a multi-platform image). */
bool oci_is_index(json_object *manifest);

/* Pick a manifest descriptor from an index: by ref name (the tag of
 * want_name, or the whole name), the only one, or the host's platform.
 * *ret is borrowed from index. PS_ERR_INVALID, PS_ERR_AMBIGUOUS. */
int oci_index_pick(json_object *index, const char *want_name, json_object **ret,
                   ps_error **err);

/* A manifest's layer descriptors (an array, borrowed), each checked with
 * oci_descriptor(). PS_ERR_INVALID. */
int oci_manifest_layers(json_object *manifest, json_object **ret, ps_error **err);

int import_oci(struct import *im, int root, const char *want_name, struct image_rec *rec,
               ps_error **err);

/* The entry of docker's manifest.json to import: the one tagged want_name,
 * else the only one; borrowed. PS_ERR_INVALID, PS_ERR_AMBIGUOUS. */
int docker_manifest_pick(json_object *manifest, const char *want_name, json_object **ret,
                         ps_error **err);

/* An entry's "Layers" (an array of strings, borrowed). PS_ERR_INVALID. */
int docker_entry_layers(json_object *entry, json_object **ret, ps_error **err);

/* The normalised names of an entry's "RepoTags" (invalid ones skipped). */
int docker_entry_names(json_object *entry, char ***ret);

/* "blobs/sha256/<hex>" or "<hex>.tar" / "<hex>.json": the hex the name promises. */
bool docker_hex_from_path(const char *path, char out[PS_SHA256_HEX_LEN + 1]);

int import_docker(struct import *im, int root, const char *want_name, struct image_rec *rec,
                  ps_error **err);

/* Import a rootfs tarball read from fd (consumed). */
int import_rootfs_fd(struct import *im, int fd, struct image_rec *rec, ps_error **err);

/* Pack the rootfs dir at path into a tar in an unnamed tmp file. */
int import_pack_dir(struct import *im, const char *path, int *ret_fd, ps_error **err);

#endif
