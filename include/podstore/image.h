/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_IMAGE_H
#define PODSTORE_IMAGE_H

/*
 * Images (Documentation/images.md): a content-addressed store under
 * $DIR/images. Blobs are kept by sha256 and verified on import; each layer
 * is extracted once into a tree that pods share read-only through overlayfs.
 */

#include <stdbool.h>
#include <stddef.h>
#include "error.h"
#include "store.h"

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
} ps_image_import_opts;

/* Import an OCI layout dir or tar, a docker-archive tar, a rootfs tarball or
 * a rootfs dir. On any failure the store is as before. */
int ps_image_import(ps_store *s, const char *path, const ps_image_import_opts *opts,
                    ps_image **ret, ps_error **err);

/* By name[:tag], full digest, or unique digest prefix. */
int ps_image_resolve(ps_store *s, const char *ref, ps_image **ret, ps_error **err);

int ps_image_list(ps_store *s, ps_image ***ret, size_t *ret_n, ps_error **err);

/* Refused (PS_ERR_BUSY) while a prepared or running pod uses it, unless force. */
int ps_image_remove(ps_store *s, const char *ref, bool force, ps_error **err);

/* Remove trees and blobs that no image and no pod uses. */
int ps_image_gc(ps_store *s, ps_error **err);

void ps_image_free(ps_image *img);
void ps_image_list_free(ps_image **v, size_t n);

#endif
