/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_IDSHIFT_H
#define PODSTORE_IDSHIFT_H

/*
 * The fallback for user namespaces where idmapped mounts are not available
 * (the layer's filesystem or the kernel cannot): a copy of a layer tree with
 * every owner moved into a pod's id range, made once per tree and range
 * under images/shifted/<uid>-<gid>-<size>/<tree>, and shared read-only by
 * the overlays of every pod of that range. Internal (stage1 and gc).
 */

#include <podstore/error.h>
#include <podstore/uidrange.h>

#define PS_SHIFTED_DIR "images/shifted"

/* Copy the tree src_fd into the empty dir dst_fd, owners shifted: id i
 * becomes base + i (ids past the range become its last id), set-id bits,
 * times, hardlinks, whiteouts and overlay xattrs kept. */
int ps_tree_copy_shifted(int src_fd, int dst_fd, const ps_idrange *r, ps_error **err);

/* The shifted copy of layer (a data-dir-relative images/trees/… path) for
 * range r, made when missing (in tmp/, then renamed into place: racing
 * makers keep the first). *ret is the data-dir-relative path (allocated). */
int ps_shifted_tree_get(int data_fd, const char *layer, const ps_idrange *r, char **ret,
                        ps_error **err);

/* Shift the owners of the tree dir_fd in place (a pod's private copy of
 * its image, "rootfs": "copy"), as ps_tree_copy_shifted() would. */
int ps_tree_shift_in_place(int dir_fd, const ps_idrange *r, ps_error **err);

/* Remove shifted copies whose tree is gone from images/trees. */
int ps_shifted_trees_sweep(int data_fd, ps_error **err);

#endif
