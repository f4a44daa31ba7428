/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What prepare uses to build an app's rootfs from an image: whether
 * overlayfs can be mounted, and the copy fallback when it cannot.
 */

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "extract.h"
#include <podstore/image.h>
#include "util.h"

bool ps_overlay_supported(ps_store *s)
{
	static int cached = -1;
	_cleanup_free_ char *base = NULL, *opts = NULL, *merged = NULL;
	int tmp_fd = ps_store_tmp_fd(s);
	const char *sub[] = { "l", "u", "w", "m" };
	char name[64];

	if (cached >= 0)
		return cached;
	/* Listed means registered with the kernel: every prepare asks, so skip
	 * the test mount (~1-2 ms) then. Unlisted may still be a module that
	 * the mount below loads. */
	{
		_cleanup_close_ int fd = open("/proc/filesystems", O_RDONLY | O_CLOEXEC);
		_cleanup_free_ char *buf = NULL;
		if (fd >= 0 && ps_read_all(fd, 64 * 1024, &buf, NULL) == 0 && strstr(buf, "\toverlay\n"))
			return (cached = 1);
	}
	snprintf(name, sizeof(name), "overlay-probe.%d", (int)getpid());
	base = ps_strdup_printf("%s/tmp/%s", ps_store_path(s), name);
	if (!base || mkdirat(tmp_fd, name, 0700) < 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		char p[96];
		snprintf(p, sizeof(p), "%s/%s", name, sub[i]);
		mkdirat(tmp_fd, p, 0700);
	}
	opts = ps_strdup_printf("lowerdir=%s/l,upperdir=%s/u,workdir=%s/w", base, base, base);
	merged = ps_strdup_printf("%s/m", base);
	cached = opts && merged && mount("overlay", merged, "overlay", 0, opts) == 0;
	if (cached)
		umount2(merged, MNT_DETACH);
	ps_rm_rf_at(tmp_fd, name);
	return cached;
}

int ps_image_copy_rootfs(ps_store *s, const ps_image *img, int target_dirfd, ps_error **err)
{
	for (size_t i = 0; i < img->n_layers; i++) {
		_cleanup_close_ int fd = -1;
		int r;

		if (strstr(img->layers[i], ".."))
			return ps_error_set(err, PS_ERR_INVALID, 0, "bad layer path %s", img->layers[i]);
		fd = openat(ps_store_fd(s), img->layers[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return ps_error_errno(err, "open %s", img->layers[i]);
		r = ps_tree_merge(fd, target_dirfd, err);
		if (r < 0)
			return ps_error_prefix(err, r, "copy layer %s", img->layers[i]);
	}
	return 0;
}
