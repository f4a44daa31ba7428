/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_FILEIO_H
#define PODSTORE_FILEIO_H

/*
 * The one way the library writes a file (atomically, optionally durably) and
 * reads a small one. Everything is relative to a dir fd the caller owns;
 * errors follow error.h, with "missing" (-ENOENT) left unfilled for readers.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <podstore/error.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

enum ps_write_flags {
	PS_WRITE_DURABLE = 1 << 0, /* fsync the file before and the dir after the rename */
	/* fsync the file only: for several files in one dir, whose caller
	 * fsyncs the dir once after the last (one journal commit, not one each). */
	PS_WRITE_SYNC_DATA = 1 << 1,
	/* A runtime marker, meaningless after a reboot (BRIEF §2): an existing
	 * file is replaced by renameat2(RENAME_EXCHANGE) and the old one then
	 * unlinked, instead of a rename over it. Same atomicity for readers, but
	 * ext4 (auto_da_alloc) starts no writeback of the new data, which a
	 * rename over a file does (0.2-0.3 ms). After a power cut the file may
	 * be empty. Ignored with the two flags above. */
	PS_WRITE_RUNTIME = 1 << 2,
};

/*
 * Write a file atomically: a tmp file in the same dir, written fully, then
 * renameat() over name. A reader sees the old or the new content, never a
 * torn one. With PS_WRITE_DURABLE the content and the rename survive a power
 * cut. On failure the tmp file is removed and name is unchanged.
 * name must not be a directory (EISDIR, name unchanged).
 */
int ps_write_file_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                     unsigned flags, ps_error **err);

/* A file made ahead of time for ps_write_file_spare(): an unnamed file in
 * dirfd (O_TMPFILE) with mode, so that the write skips the inode
 * allocation on its path (0.1-0.5 ms here, more in a fresh dir than the
 * rest of the write). An fd, or -errno (no O_TMPFILE: then none). */
int ps_spare_file_new(int dirfd, mode_t mode);

/* ps_write_file_at() with the tmp file from *spare (ps_spare_file_new() of
 * the same dirfd; -1: none, as ps_write_file_at()). The spare is used up:
 * *spare is closed and set to -1 whatever the outcome. */
int ps_write_file_spare(int dirfd, const char *name, int *spare, const void *data, size_t len,
                        mode_t mode, unsigned flags, ps_error **err);

/* Read a whole small file (at most max bytes) NUL-terminated. A missing file
 * is -ENOENT with *err left NULL: for markers, missing means "not yet". */
int ps_read_file_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
                    ps_error **err);

/*
 * Defer PS_WRITE_SYNC_DATA for this process (defer true) or stop deferring:
 * while deferred, those writes are atomic but not fsynced, and callers that
 * batch them with one directory fsync skip it too (ps_write_sync_deferred()).
 * PS_WRITE_DURABLE is never deferred. For `podctl run`, whose pod is handed
 * to stage1 at once: ps_pod_record_sync() (markers.h), called before the
 * pod's durable exit marker, makes its record durable instead.
 */
void ps_write_defer_sync(bool defer);
bool ps_write_sync_deferred(void);

/* fsync(2) that retries when interrupted (EINTR never reaches a caller).
 * Returns 0 or a negative errno, with errno set too. */
int ps_fsync(int fd);

/* fsync a directory by fd or by name relative to dirfd. */
int ps_fsync_dir_at(int dirfd, const char *name, ps_error **err);

#pragma GCC visibility pop

#endif
