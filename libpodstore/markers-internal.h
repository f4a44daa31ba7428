/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PS_MARKERS_INTERNAL_H
#define PS_MARKERS_INTERNAL_H

#include <podstore/markers.h>

/* Marker reads of the pod SUB (its uuid) in the state dir dirfd, through
 * one openat2 that follows no symlink (markers.c); sub NULL: dirfd is the
 * pod's (or app's) own dir, as ps_info_read() and the others. */
int ps_info_read_in(int dirfd, const char *sub, ps_info *ret, ps_error **err);
int ps_pid_marker_read_in(int dirfd, const char *sub, ps_pid_marker *ret, ps_error **err);
int ps_exit_marker_read_in(int dirfd, const char *sub, ps_exit_marker *ret, ps_error **err);
int ps_gc_mark_read_in(int dirfd, const char *sub, long long *ret_time_ns, ps_error **err);

#endif
