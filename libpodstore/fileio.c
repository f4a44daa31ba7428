/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h> /* renameat2 */
#include <sys/stat.h>

#include <podstore/fileio.h>
#include "util.h"

static bool defer_sync;

void ps_write_defer_sync(bool defer)
{
	defer_sync = defer;
}

bool ps_write_sync_deferred(void)
{
	return defer_sync;
}

int ps_fsync(int fd)
{
	while (fsync(fd) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int ps_fsync_dir_at(int dirfd, const char *name, ps_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name ? name : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return ps_error_errno(err, "open %s", name ? name : "directory");
	if (ps_fsync(fd) < 0)
		return ps_error_errno(err, "fsync %s", name ? name : "directory");
	return 0;
}

int ps_spare_file_new(int dirfd, mode_t mode)
{
	int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	return fd < 0 ? -errno : fd;
}

/* Give the spare fd the name tmp: linkat(AT_EMPTY_PATH) (CAP_DAC_READ_SEARCH),
 * else through /proc. 0 or -1 (errno). */
static int spare_link(int fd, int dirfd, const char *tmp)
{
	char proc[64];

	if (linkat(fd, "", dirfd, tmp, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno == EEXIST) {
		/* a leftover of ours (this pid): ours to replace */
		if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
			return -1;
		if (linkat(fd, "", dirfd, tmp, AT_EMPTY_PATH) == 0)
			return 0;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW);
}

int ps_write_file_spare(int dirfd, const char *name, int *spare, const void *data, size_t len,
                        mode_t mode, unsigned flags, ps_error **err)
{
	char tmp[256];
	int fd = -1, r;

	/* The tmp name starts with '.' and ends with the pid, so gc can tell
	 * leftovers of dead writers; it lives in the same dir so the rename is
	 * atomic and never crosses a filesystem. */
	r = snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", name, (int)getpid());
	if (r < 0 || (size_t)r >= sizeof(tmp)) {
		if (spare && *spare >= 0) {
			close(*spare);
			*spare = -1;
		}
		return ps_error_set(err, PS_ERR_INVALID, ENAMETOOLONG, "write %s", name);
	}
	if (spare && *spare >= 0) {
		/* The spare: written, then named tmp (a failed link: the usual way) */
		fd = *spare;
		*spare = -1;
		if (ps_write_all(fd, data, len) < 0 || spare_link(fd, dirfd, tmp) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd < 0)
			return ps_error_errno(err, "write %s: create temporary file", name);
		r = ps_write_all(fd, data, len);
		if (r < 0) {
			errno = -r;
			goto fail;
		}
	}
	bool sync_data = (flags & PS_WRITE_DURABLE) || ((flags & PS_WRITE_SYNC_DATA) && !defer_sync);
	if (sync_data && ps_fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if ((flags & PS_WRITE_RUNTIME) && !(flags & (PS_WRITE_DURABLE | PS_WRITE_SYNC_DATA))) {
		/* Exchange, then unlink the old content (now under tmp). A dir at
		 * name goes back: rename(2) would not replace one either. Without
		 * a file at name, or without RENAME_EXCHANGE, a plain rename. */
		if (renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
			if (unlinkat(dirfd, tmp, 0) == 0 || errno == ENOENT)
				return 0;
			r = errno;
			if (r == EISDIR && renameat2(dirfd, tmp, dirfd, name, RENAME_EXCHANGE) == 0) {
				unlinkat(dirfd, tmp, 0);
				return ps_error_set(err, PS_ERR_FAILED, EISDIR, "write %s", name);
			}
			/* the new content is in place; the old one stays under tmp (gc) */
			return 0;
		}
		/* Any other refusal (a FUSE server's EOPNOTSUPP or EPERM, an
		 * older kernel's EINVAL): the plain rename, which replaces. */
		if (errno == EISDIR || errno == ENOTDIR)
			goto fail;
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	if ((flags & PS_WRITE_DURABLE) && ps_fsync(dirfd) < 0)
		return ps_error_errno(err, "write %s: fsync directory", name);
	return 0;
fail:
	r = ps_error_errno(err, "write %s", name);
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return r;
}

int ps_write_file_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                     unsigned flags, ps_error **err)
{
	return ps_write_file_spare(dirfd, name, NULL, data, len, mode, flags, err);
}

int ps_read_file_at(int dirfd, const char *name, size_t max, char **ret, size_t *ret_len,
                    ps_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int r;

	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return ps_error_errno(err, "open %s", name);
	}
	r = ps_read_all(fd, max, ret, ret_len);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "read %s", name);
	return 0;
}
