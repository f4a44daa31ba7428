/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_STORE_H
#define PODSTORE_STORE_H

/*
 * The data dir:
 *
 *   $DIR/pods/{embryo,prepare,prepared,run,exited-garbage,garbage}/<uuid>/
 *   $DIR/images/   content-addressed image store and tree cache
 *   $DIR/tmp/      scratch on the same filesystem, for atomic writes
 *
 * A ps_store holds an O_PATH-free, O_DIRECTORY fd of the root and of every
 * state dir, opened once; every other access is relative to them.
 */

#include <stdbool.h>
#include <podstore/error.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

#define PS_DEFAULT_DIR "/var/lib/podctl"

typedef enum ps_pod_dir {
	PS_DIR_EMBRYO,
	PS_DIR_PREPARE,
	PS_DIR_PREPARED,
	PS_DIR_RUN,
	PS_DIR_EXITED_GARBAGE,
	PS_DIR_GARBAGE,
	PS_DIR_COUNT,
} ps_pod_dir;

/* Bit for a ps_walk_pods() / lookup mask. */
#define PS_DIR_BIT(d) (1u << (d))
#define PS_DIR_ALL ((1u << PS_DIR_COUNT) - 1)

typedef struct ps_store ps_store;

/* Open the data dir at path. With create, make it (and its layout, mode 0700
 * for the root) when missing; without, a missing dir is PS_ERR_NOT_FOUND. */
int ps_store_open(const char *path, bool create, ps_store **ret, ps_error **err);
/* Close the store's fds and free it; NULL is fine. Pods opened from it must
 * be freed first. */
void ps_store_close(ps_store *s);

/* The path the store was opened with (borrowed, lives as long as s). */
const char *ps_store_path(const ps_store *s);
/* The store root's O_DIRECTORY fd (borrowed: do not close). */
int ps_store_fd(const ps_store *s);
/* The fd of pods/<dir> (borrowed). */
int ps_store_dir_fd(const ps_store *s, ps_pod_dir d);
/* $DIR/tmp, for atomic writes of files that end up outside a pod dir. */
int ps_store_tmp_fd(const ps_store *s);
/* $DIR/images, created on first use. */
int ps_store_images_fd(ps_store *s, ps_error **err);

/* "embryo", "prepare", … */
const char *ps_pod_dir_name(ps_pod_dir d);

#pragma GCC visibility pop

#endif
