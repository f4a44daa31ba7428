/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files read out of an untrusted image layout, docker-archive or their
 * unpacked tar: index.json, manifests, configs, layer blobs, manifest.json.
 * The layout may be hostile: a FIFO would block an open() or read()
 * forever, a device could be read without end, a symlink could point at
 * the host's /etc/shadow. So every file is opened with O_NONBLOCK, without
 * following any symlink and without leaving the layout dir (openat2 or
 * its fallback, ps_open_in_root()), then checked with fstat() to be a
 * regular file of a sane size before a byte is read.
 */

#include <fcntl.h>
#include <sys/stat.h>
#include "extract.h"
#include "image-internal.h"
#include "json-util.h"
#include "util.h"

int layout_open(int root, const char *path, long long max, int *ret_fd, long long *ret_size,
		ps_error **err)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	r = ps_open_in_root(root, path, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd, err);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return ps_error_errno(err, "stat %s", path);
	if (!S_ISREG(st.st_mode))
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s: not a regular file", path);
	if (max > 0 && st.st_size > max)
		return ps_error_set(err, PS_ERR_INVALID, EFBIG, "%s: %lld bytes, more than %lld", path,
				    (long long)st.st_size, max);
	*ret_fd = TAKE_FD(fd);
	if (ret_size)
		*ret_size = st.st_size;
	return 0;
}

int layout_read_json(struct import *im, int root, const char *path, const char *expect,
		     long long expect_size, char ret_hex[PS_SHA256_HEX_LEN + 1], json_object **ret,
		     ps_error **err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *data = NULL;
	_cleanup_json_ json_object *o = NULL;
	size_t len;
	long long size;
	int r;

	r = layout_open(root, path, IMAGE_MAX_JSON, &fd, NULL, err);
	if (r < 0)
		return r;
	/* The size was checked, but a file can grow while it is read. */
	r = ps_read_all(fd, IMAGE_MAX_JSON, &data, &len);
	if (r < 0)
		return ps_error_set(err, PS_ERR_INVALID, -r, "read %s", path);
	r = ps_json_parse(data, len, &o);
	if (r == -ENOMEM)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read %s", path);
	if (r < 0)
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s: not valid JSON", path);
	if (ret_hex) {
		if (lseek(fd, 0, SEEK_SET) < 0)
			return ps_error_errno(err, "read %s", path);
		r = import_store_blob(im, fd, expect, expect_size, ret_hex, &size, err);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(o);
	return 0;
}
