/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_EXTRACT_H
#define PODSTORE_EXTRACT_H

/*
 * Safe extraction of untrusted archives (internal; Documentation/images.md).
 *
 * Every write is relative to an fd of the target dir. Parent dirs are opened
 * with ps_openat_in_root(PS_ROOT_NO_SYMLINKS) (openat2, or its fallback
 * walk; openat-root.h), missing ones made by walking with O_NOFOLLOW; final
 * components are created with O_EXCL/O_NOFOLLOW. So nothing is ever written outside the
 * target, whatever the archive says:
 *
 *   absolute paths        neutralised: "/etc/x" is extracted as "etc/x"
 *   ".." components       refused
 *   a symlink in a path   refused (the write would go through the symlink)
 *   hardlinks             only to a non-dir already extracted in the target
 *   char/block devices    skipped (counted in stats), sockets skipped
 *   trusted.* xattrs      dropped (they could forge overlayfs metadata)
 *   data bytes            capped (max_bytes); sparse files stay sparse
 *
 * Setuid/setgid bits, ownership, user.* and security.* xattrs and hardlinks
 * inside the archive are kept. With whiteouts, OCI whiteouts are translated to
 * overlayfs form: ".wh.x" becomes a 0/0 char device "x", ".wh..wh..opq" the
 * xattr trusted.overlay.opaque=y on its dir.
 */

#include <stdbool.h>
#include <podstore/error.h>
#include "openat-root.h"

/* The xattr overlayfs reads an opaque dir from (written by extraction,
 * honoured by the copy fallback). */
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

#define PS_EXTRACT_DEFAULT_MAX_BYTES (32LL << 30) /* 32 GiB of file data */
#define PS_EXTRACT_DEFAULT_MAX_ENTRIES 4000000LL

typedef void (*ps_extract_progress_fn)(long long archive_bytes_read, void *userdata);

typedef struct ps_extract_opts {
	long long max_bytes;   /* data bytes written, and any one file's size; 0 = default */
	long long max_entries; /* 0 = default */
	bool whiteouts;        /* translate OCI whiteouts to overlayfs form */
	ps_extract_progress_fn progress; /* may be NULL; called about every MiB read */
	void *progress_data;
} ps_extract_opts;

typedef struct ps_extract_stats {
	long long bytes;       /* file data written */
	long long entries;
	long long skipped;     /* device nodes and sockets not created */
} ps_extract_stats;

/* Extract the archive read from archive_fd (any format and compression
 * libarchive reads) into the dir target_fd. On failure the target may hold a
 * partial tree: use ps_extract_tree_at() to get it removed. */
int ps_extract_fd(int archive_fd, int target_fd, const ps_extract_opts *opts,
                  ps_extract_stats *ret, ps_error **err);

/* Create dirfd/name (which must not exist), extract into it, and remove it
 * again on any failure. */
int ps_extract_tree_at(int archive_fd, int dirfd, const char *name, const ps_extract_opts *opts,
                       ps_extract_stats *ret, ps_error **err);

/* Whether an xattr of an archive or a layer may be set on what we create:
 * user.* and security.*, never trusted.* (could forge overlayfs metadata). */
bool ps_xattr_allowed(const char *name);

/* (tree-copy.c) Merge one layer tree in overlayfs form (as extracted with whiteouts) onto
 * the dir dst_fd: whiteouts delete, opaque dirs are emptied first, everything
 * else is copied (with hardlinks inside the layer kept). The fallback when
 * overlayfs is not available. */
int ps_tree_merge(int layer_fd, int dst_fd, ps_error **err);

/* Open path (an untrusted relative or absolute path, normalised as for
 * archive entries; ".." refused) inside root_fd without following any
 * symlink. flags are openat() flags; O_NOFOLLOW and O_CLOEXEC are added. */
int ps_open_in_root(int root_fd, const char *path, int flags, int *ret_fd, ps_error **err);


#endif
