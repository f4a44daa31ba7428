/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_APP_H
#define PODSTORE_APP_H

/*
 * An app's directory inside a pod dir, apps/<name>/, and the one file of it
 * that prepare writes for stage1: apps/<name>/image, what the app runs on.
 * This module is the only writer and the only reader of that file
 * (podctl prepare writes it, stage1 mounts from it, image gc keeps what it
 * names). Stage1's runtime markers in the same dir are markers.h's.
 *
 * The file is a JSON object:
 *   {"image": REF, "digest": "sha256:…"|null, "layers": [TREE…]}
 *   {"image": REF, "digest": …, "layers": [], "rootfs": "copy"}
 * where each TREE is a path relative to the data dir ("images/trees/…") or
 * an absolute rootfs dir used in place, bottom layer first; "rootfs": "copy"
 * says the image was copied into apps/<name>/rootfs (no overlayfs) and no
 * layer is used.
 *
 * Errors: negative errno and *err filled; a missing image file is -ENOENT
 * with *err filled too (for stage1 it is an error, not "not yet").
 */

#include <stdbool.h>
#include <podstore/error.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef struct ps_app_image {
	char *image;    /* the reference the user gave (name or digest) */
	char *digest;   /* "sha256:…" of the image, or NULL */
	char **layers;  /* NULL-terminated tree paths, bottom first; empty when copied */
	bool copied;    /* the image was copied into apps/<name>/rootfs */
} ps_app_image;

/* Open the pod's apps/ dir (O_DIRECTORY, no symlink followed) from the pod dir
 * fd; returns the fd. */
int ps_apps_dir_open(int pod_fd, ps_error **err);
/* Open apps/<name>/ of the pod; name is checked to be a plain app name first
 * (PS_ERR_INVALID), a missing app is PS_ERR_NOT_FOUND / -ENOENT. */
int ps_app_dir_open(int pod_fd, const char *name, ps_error **err);

/* Write apps/<name>/image into the app dir app_fd, atomically, its data
 * fsynced (the caller fsyncs the dir once for all apps). */
int ps_app_image_write(int app_fd, const ps_app_image *img, ps_error **err);
/* Read and check apps/<name>/image: layer paths must be under images/trees/
 * or absolute, without ".." and a non-copied image needs at least one layer
 * (-EBADMSG otherwise). *ret is allocated; free with ps_app_image_free(). */
int ps_app_image_read(int app_fd, ps_app_image **ret, ps_error **err);
void ps_app_image_free(ps_app_image *img);

/*
 * apps/<name>/log and log.1: a detached app's stdout and stderr, in the order
 * written, each line after a stamp of when it was read (libpodstore/applog.h).
 * stage1 creates log before the app's first status marker and appends to it;
 * before log would pass the app's logSize (default PS_APP_LOG_ROTATE_BYTES)
 * it renames log to log.1 (replacing an older one) and starts a new log, so
 * an app keeps at most twice that. podctl logs prints log.1, then log.
 */
#define PS_FILE_APP_LOG "log"
#define PS_FILE_APP_LOG_OLD "log.1"
#define PS_APP_LOG_ROTATE_BYTES (1024 * 1024)

/* stage1: open log for appending (created 0640); *ret_size gets its size.
 * Returns the fd or -errno. */
int ps_app_log_open_append(int app_fd, long long *ret_size);
/* stage1: log becomes log.1. */
int ps_app_log_rotate(int app_fd);
/* readers: open log (old: log.1) read-only; -ENOENT when there is none. */
int ps_app_log_open_read(int app_fd, bool old);

/*
 * stage1.log and stage1.log.1 in the pod dir: what a detached pod's stage1
 * says itself (its warnings, and its --debug lines), whose stderr is
 * /dev/null. The same stamped lines as an app's log, rotated the same way
 * before stage1.log would pass PS_STAGE1_LOG_ROTATE_BYTES. stage1 creates
 * it at its start; a foreground stage1 prints to the terminal instead.
 * podctl logs --stage1 prints stage1.log.1, then stage1.log. (Read them as
 * an app's log files: the same form.)
 */
#define PS_FILE_STAGE1_LOG "stage1.log"
#define PS_FILE_STAGE1_LOG_OLD "stage1.log.1"
#define PS_STAGE1_LOG_ROTATE_BYTES (256 * 1024)

/* The overlayfs lowerdir value for img: its layers joined by ':' top first
 * (relative paths, as stored). Allocated; -EINVAL for a copied image. */
int ps_app_image_lowerdir(const ps_app_image *img, char **ret, ps_error **err);

#pragma GCC visibility pop

#endif
