/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_PULL_H
#define PODSTORE_PULL_H

/*
 * Pulling images from registries and other transports through skopeo
 * (Documentation/images.md, "Pulling"). The library runs skopeo as a child
 * process (Documentation/devel/decisions.md): its output is captured, never
 * printed, and its failure becomes one ps_error naming the reference and the
 * cause. skopeo copies into a temporary OCI layout under $DIR/tmp, which is
 * then imported through ps_image_import() (every blob verified) and removed.
 *
 * A reference is docker://HOST/NAME[:TAG|@sha256:…], oci:DIR[:TAG],
 * oci-archive:PATH[:TAG], docker-archive:PATH[:TAG], or a bare NAME[:TAG] or
 * NAME@sha256:… meaning docker:// (skopeo resolves short names with
 * registries.conf). The image is named by the reference without "docker://".
 */

#include <stdbool.h>
#include <podstore/image.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef enum ps_pull_policy {
	PS_PULL_MISSING, /* pull only what the store does not have (default) */
	PS_PULL_ALWAYS,  /* ask the source every time; transfer only what changed */
	PS_PULL_NEVER,   /* the store only */
} ps_pull_policy;

/* "missing", "always", "never"; -EINVAL for anything else. */
int ps_pull_policy_from_name(const char *name, ps_pull_policy *ret);

typedef enum ps_pull_layer_state {
	PS_LAYER_WAITING,  /* not started */
	PS_LAYER_COPYING,  /* bytes arriving */
	PS_LAYER_DONE,     /* transferred */
	PS_LAYER_STORED,   /* already in the store: not transferred */
} ps_pull_layer_state;

typedef struct ps_pull_layer {
	char digest[72]; /* "sha256:<hex>" */
	long long size;  /* from the manifest */
	long long done;  /* bytes so far (an estimate while several copy at once) */
	ps_pull_layer_state state;
} ps_pull_layer;

/* Called while skopeo copies (at most every 100 ms, and once with final set). */
typedef void (*ps_pull_progress_fn)(const ps_pull_layer *layers, size_t n, bool final,
                                    void *userdata);

typedef struct ps_image_pull_opts {
	const char *skopeo;      /* NULL: $PODCTL_SKOPEO, else "skopeo" in $PATH */
	int tls_verify;          /* -1: skopeo's default; 0 or 1: --tls-verify=false/true */
	const char *creds;       /* USER[:PASS], may be NULL */
	const char *authfile;    /* may be NULL */
	const char *platform;    /* OS/ARCH[/VARIANT], may be NULL (this machine's) */
	ps_pull_progress_fn progress;        /* may be NULL */
	void *progress_data;
	ps_progress_fn import_progress;      /* passed to ps_image_import() */
	void *import_progress_data;
} ps_image_pull_opts;

typedef struct ps_pull_info {
	bool up_to_date;          /* the image was in the store: skopeo copied nothing */
	size_t n_layers;          /* layers of the image */
	size_t layers_reused;     /* of them, taken from the store, not transferred */
	long long bytes_transferred;
	char source_digest[72];   /* the source's manifest digest ("" if unknown) */
} ps_pull_info;

/*
 * Pull ref into the store and name it. Asks the source for its manifest
 * first: an image whose manifest is already stored is only named (nothing
 * copied, info->up_to_date); otherwise the blobs the store has are handed to
 * skopeo so that it copies only the others. On failure the store is as before
 * and the temporary layout is gone; if the process is killed, the layout
 * ("tmp/pull-….<pid>") is removed by the next ps_gc().
 * ret and ret_info may be NULL.
 * Errors: PS_ERR_NOT_FOUND for no such image, tag, digest or archive;
 * PS_ERR_FAILED for the rest (skopeo missing, unreachable, 401/403, TLS…).
 */
int ps_image_pull(ps_store *s, const char *ref, const ps_image_pull_opts *opts, ps_image **ret,
                  ps_pull_info *ret_info, ps_error **err);

/* The name ps_image_pull() gives ref: ref without "docker://". */
int ps_image_pull_name(const char *ref, char **ret, ps_error **err);

/* Whether ref starts with a transport this module knows ("docker://", "oci:"…). */
bool ps_image_ref_has_transport(const char *ref);

#pragma GCC visibility pop

#endif
