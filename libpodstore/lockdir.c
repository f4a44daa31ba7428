/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The store's flocked index directories: see lockdir.h. */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <podstore/pod.h>
#include "lockdir.h"
#include "util.h"

int ps_lockdir_open(ps_store *s, const char *name, bool create, bool lock, ps_error **err)
{
	int fd = openat(ps_store_fd(s), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(ps_store_fd(s), name, 0700) < 0 && errno != EEXIST)
			return ps_error_errno(err, "create %s/%s", ps_store_path(s), name);
		fd = openat(ps_store_fd(s), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "no %s/%s", ps_store_path(s), name);
		return ps_error_errno(err, "open %s/%s", ps_store_path(s), name);
	}
	if (lock && flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return ps_error_errno(err, "lock %s/%s", ps_store_path(s), name);
	}
	return fd;
}

bool ps_lockdir_pod_exists(ps_store *s, const char *uuid)
{
	struct stat st;

	for (int d = 0; d < PS_DIR_COUNT; d++)
		if (fstatat(ps_store_dir_fd(s, (ps_pod_dir)d), uuid, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return true;
	return false;
}
