/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_IMAGE_H
#define PODSTORE_IMAGE_H

/*
 * Images (Documentation/images.md): a content-addressed store under
 * $DIR/images. Blobs are kept by sha256 and verified on import; each layer
 * is extracted once into a tree that pods share read-only through overlayfs.
 *
 *   images/blobs/sha256/<hex>       verified blobs: manifests, configs, layers
 *   images/trees/sha256-<hex>/      one extracted tree per layer blob, read-only
 *   images/index/sha256-<hex>.json  one record per image (layers, config, size)
 *   images/names.json               "name:tag" -> "sha256:<hex>"
 *   images/lock, images/names.lock  flock files (see ps_image_pin())
 *
 * Errors follow error.h; a ps_image is owned by the caller (ps_image_free()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <podstore/error.h>
#include <podstore/store.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef struct ps_image_config {
	char **entrypoint;
	char **cmd;
	char **env;
	char *working_dir;
	char *user;
} ps_image_config;

typedef struct ps_image {
	char *digest;        /* "sha256:<hex>" */
	char **names;        /* "name:tag", NULL-terminated */
	char **layers;       /* extracted trees, paths relative to the store root, bottom first */
	size_t n_layers;
	ps_image_config config;
	long long size;      /* bytes of blobs */
	long long created_ns;
} ps_image;

typedef void (*ps_progress_fn)(long long bytes_done, long long bytes_total, size_t layer,
                               size_t n_layers, void *userdata);

typedef struct ps_image_import_opts {
	const char *name;        /* "name[:tag]", may be NULL */
	ps_progress_fn progress; /* may be NULL */
	void *progress_data;
	long long max_bytes;     /* cap on the data bytes of one layer; 0 = 32 GiB */
} ps_image_import_opts;

/* Import an OCI layout dir or tar, a docker-archive tar, a rootfs tarball or
 * a rootfs dir. On any failure the store is as before. Importing an image
 * already stored only checks digests: nothing is extracted or written again.
 * progress is called with bytes of the input done / total, each byte counted
 * once though it is read twice (hashed and stored, then extracted). */
int ps_image_import(ps_store *s, const char *path, const ps_image_import_opts *opts,
                    ps_image **ret, ps_error **err);

/* By name[:tag], full digest, or unique digest prefix. */
int ps_image_resolve(ps_store *s, const char *ref, ps_image **ret, ps_error **err);

/* Every image in the store, newest first; an image removed meanwhile is left
 * out. Free with ps_image_list_free(). */
int ps_image_list(ps_store *s, ps_image ***ret, size_t *ret_n, ps_error **err);

/* Refused (PS_ERR_BUSY) while a prepared or running pod uses it, unless force. */
int ps_image_remove(ps_store *s, const char *ref, bool force, ps_error **err);

/* Give the image ref resolves to the name new_name ("name[:tag]") too; a
 * name another image had moves to this one. */
int ps_image_tag(ps_store *s, const char *ref, const char *new_name, ps_error **err);

/* Remove trees and blobs that no image and no pod uses. */
int ps_image_gc(ps_store *s, ps_error **err);

/*
 * Hold off ps_image_gc() (a shared flock on images/lock) while a pod is made
 * from an image: take it before ps_image_resolve() and close *ret_fd once the
 * pod's apps/<app>/image record is written. gc never removes what such a
 * record, or an image in the index, refers to.
 */
int ps_image_pin(ps_store *s, int *ret_fd, ps_error **err);

/* Whether an overlay can be mounted here: overlay is in /proc/filesystems,
 * or else a test mount in $DIR/tmp works (which may load the module). Asked
 * once per process; the test mount needs CAP_SYS_ADMIN. */
bool ps_overlay_supported(ps_store *s);

/* The fallback without overlayfs: copy the image's layers, bottom first, into
 * the dir target_dirfd, applying whiteouts and opaque dirs. */
int ps_image_copy_rootfs(ps_store *s, const ps_image *img, int target_dirfd, ps_error **err);

/* Free an image from resolve/import; NULL is fine. */
void ps_image_free(ps_image *img);
/* Free the n images of a ps_image_list() and the array. */
void ps_image_list_free(ps_image **v, size_t n);

#pragma GCC visibility pop

#endif
