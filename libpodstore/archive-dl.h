/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_ARCHIVE_DL_H
#define PODSTORE_ARCHIVE_DL_H

/*
 * libarchive, loaded on first use with dlopen().
 *
 * libarchive drags in libxml2, ICU and libstdc++ as it is packaged, which
 * cost every podctl invocation ~7 ms at exec time — more than the whole of
 * `podctl run` may take. Only image import and extraction need it, so the
 * code that does includes this header (after <archive.h>), calls
 * ps_archive_load() at its entry points, and its archive_*() calls go through
 * a table of pointers filled by dlsym().
 */

#include <archive.h>
#include <archive_entry.h>
#include <podstore/error.h>

#define PS_ARCHIVE_FUNCS(X) \
	X(archive_entry_copy_pathname) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_gid) \
	X(archive_entry_hardlink) \
	X(archive_entry_linkify) \
	X(archive_entry_linkresolver_free) \
	X(archive_entry_linkresolver_new) \
	X(archive_entry_linkresolver_set_strategy) \
	X(archive_entry_mode) \
	X(archive_entry_mtime) \
	X(archive_entry_mtime_is_set) \
	X(archive_entry_mtime_nsec) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_perm) \
	X(archive_entry_set_gname) \
	X(archive_entry_set_uname) \
	X(archive_entry_size) \
	X(archive_entry_symlink) \
	X(archive_entry_uid) \
	X(archive_entry_unset_atime) \
	X(archive_entry_unset_birthtime) \
	X(archive_entry_unset_ctime) \
	X(archive_entry_xattr_next) \
	X(archive_entry_xattr_reset) \
	X(archive_errno) \
	X(archive_error_string) \
	X(archive_filter_bytes) \
	X(archive_format) \
	X(archive_read_data) \
	X(archive_read_data_block) \
	X(archive_read_disk_descend) \
	X(archive_read_disk_new) \
	X(archive_read_disk_open) \
	X(archive_read_disk_set_behavior) \
	X(archive_read_disk_set_symlink_physical) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_next_header2) \
	X(archive_read_open_fd) \
	X(archive_read_support_filter_all) \
	X(archive_read_support_format_all) \
	X(archive_set_error) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open2) \
	X(archive_write_set_format_pax_restricted) \

struct ps_archive_api {
#define PS_ARCHIVE_PTR(f) __typeof__(f) *f;
	PS_ARCHIVE_FUNCS(PS_ARCHIVE_PTR)
#undef PS_ARCHIVE_PTR
};

extern struct ps_archive_api ps_archive;

/* Load libarchive once per process; PS_ERR_FAILED naming what is missing. */
int ps_archive_load(ps_error **err);

#ifndef PS_ARCHIVE_DL_IMPL
#define archive_entry_copy_pathname (ps_archive.archive_entry_copy_pathname)
#define archive_entry_filetype (ps_archive.archive_entry_filetype)
#define archive_entry_free (ps_archive.archive_entry_free)
#define archive_entry_gid (ps_archive.archive_entry_gid)
#define archive_entry_hardlink (ps_archive.archive_entry_hardlink)
#define archive_entry_linkify (ps_archive.archive_entry_linkify)
#define archive_entry_linkresolver_free (ps_archive.archive_entry_linkresolver_free)
#define archive_entry_linkresolver_new (ps_archive.archive_entry_linkresolver_new)
#define archive_entry_linkresolver_set_strategy (ps_archive.archive_entry_linkresolver_set_strategy)
#define archive_entry_mode (ps_archive.archive_entry_mode)
#define archive_entry_mtime (ps_archive.archive_entry_mtime)
#define archive_entry_mtime_is_set (ps_archive.archive_entry_mtime_is_set)
#define archive_entry_mtime_nsec (ps_archive.archive_entry_mtime_nsec)
#define archive_entry_new (ps_archive.archive_entry_new)
#define archive_entry_pathname (ps_archive.archive_entry_pathname)
#define archive_entry_perm (ps_archive.archive_entry_perm)
#define archive_entry_set_gname (ps_archive.archive_entry_set_gname)
#define archive_entry_set_uname (ps_archive.archive_entry_set_uname)
#define archive_entry_size (ps_archive.archive_entry_size)
#define archive_entry_symlink (ps_archive.archive_entry_symlink)
#define archive_entry_uid (ps_archive.archive_entry_uid)
#define archive_entry_unset_atime (ps_archive.archive_entry_unset_atime)
#define archive_entry_unset_birthtime (ps_archive.archive_entry_unset_birthtime)
#define archive_entry_unset_ctime (ps_archive.archive_entry_unset_ctime)
#define archive_entry_xattr_next (ps_archive.archive_entry_xattr_next)
#define archive_entry_xattr_reset (ps_archive.archive_entry_xattr_reset)
#define archive_errno (ps_archive.archive_errno)
#define archive_error_string (ps_archive.archive_error_string)
#define archive_filter_bytes (ps_archive.archive_filter_bytes)
#define archive_format (ps_archive.archive_format)
#define archive_read_data (ps_archive.archive_read_data)
#define archive_read_data_block (ps_archive.archive_read_data_block)
#define archive_read_disk_descend (ps_archive.archive_read_disk_descend)
#define archive_read_disk_new (ps_archive.archive_read_disk_new)
#define archive_read_disk_open (ps_archive.archive_read_disk_open)
#define archive_read_disk_set_behavior (ps_archive.archive_read_disk_set_behavior)
#define archive_read_disk_set_symlink_physical (ps_archive.archive_read_disk_set_symlink_physical)
#define archive_read_free (ps_archive.archive_read_free)
#define archive_read_new (ps_archive.archive_read_new)
#define archive_read_next_header (ps_archive.archive_read_next_header)
#define archive_read_next_header2 (ps_archive.archive_read_next_header2)
#define archive_read_open_fd (ps_archive.archive_read_open_fd)
#define archive_read_support_filter_all (ps_archive.archive_read_support_filter_all)
#define archive_read_support_format_all (ps_archive.archive_read_support_format_all)
#define archive_set_error (ps_archive.archive_set_error)
#define archive_write_close (ps_archive.archive_write_close)
#define archive_write_data (ps_archive.archive_write_data)
#define archive_write_free (ps_archive.archive_write_free)
#define archive_write_header (ps_archive.archive_write_header)
#define archive_write_new (ps_archive.archive_write_new)
#define archive_write_open2 (ps_archive.archive_write_open2)
#define archive_write_set_format_pax_restricted (ps_archive.archive_write_set_format_pax_restricted)
#endif

#endif
