/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_OPENAT_ROOT_H
#define PODSTORE_OPENAT_ROOT_H

/*
 * Opening a path inside an untrusted tree (internal): a rootfs, an image
 * layout, an archive being extracted. The path resolves as if root_fd were
 * "/": ".." stops at the root, absolute symlinks restart at the root, and
 * nothing outside the root is reachable whatever the tree holds.
 *
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) does it in the kernel.
 * Where openat2 is missing (kernels before 5.6, or a seccomp filter that
 * refuses it) the same is done in user space: one component at a time with
 * O_PATH|O_NOFOLLOW, symlinks read with readlinkat() and resolved by us
 * inside the root. The fallback never lets the kernel follow a link, so
 * magic links (/proc/self/fd/N, /proc/PID/root) are only text to it,
 * resolved inside the root like any symlink.
 */

#include <stdbool.h>
#include <sys/types.h>

/* Refuse any symlink on the way (-ELOOP), not only those leaving the root. */
#define PS_ROOT_NO_SYMLINKS 0x1u
/* Create missing dirs on the way (mode 0755), inside the root; the last
 * component too, as a dir, unless flags has O_CREAT (then it is the file). */
#define PS_ROOT_MKDIR 0x2u

/*
 * Open path (relative or absolute; "" and "/" are the root itself) inside
 * root_fd with open(2) flags (O_CLOEXEC is always added; O_NOFOLLOW applies
 * to the last component as with openat; O_CREAT creates the last component
 * inside the root) and mode. Returns the fd, or a negative errno: -ELOOP for
 * a symlink refused or more than 40 followed, -ENOENT, -ENOTDIR, ...
 */
int ps_openat_in_root(int root_fd, const char *path, int flags, mode_t mode, unsigned rflags);

/* Tests only: use the user-space walk even where openat2 works. Also set
 * when the environment has PODSTORE_TEST_NO_OPENAT2=1 at the first call. */
extern bool ps_openat_force_fallback;

#endif
