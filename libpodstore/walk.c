/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Walking the pod dirs without a lock.
 *
 * The dirs are read in lifecycle order. A pod that moves forward while we
 * walk is either seen once, or twice (in a dir already read and in one read
 * later); the second sighting is where it went, so duplicates keep the later
 * dir. Since pods never move backward, none that exists throughout is missed.
 */
#include <fcntl.h>

#include <podstore/pod.h>
#include "util.h"

struct walk_entry {
	char uuid[PS_UUID_LEN + 1];
	unsigned char dir;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct walk_entry *x = a, *y = b;
	int c = memcmp(x->uuid, y->uuid, PS_UUID_LEN);

	return c ? c : (int)x->dir - (int)y->dir;
}

static int read_dir(ps_store *s, ps_pod_dir d, struct walk_entry **v, size_t *n, size_t *cap)
{
	/* A fresh open file description: readdir state is not shared with the
	 * store's long-lived fd. */
	int fd = openat(ps_store_dir_fd(s, d), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		int r = -errno;
		close(fd);
		return r;
	}
	struct dirent *de;
	int r = 0;
	while ((errno = 0, de = readdir(dir))) {
		if (de->d_name[0] == '.' || !ps_uuid_is_valid(de->d_name))
			continue;
		if (*n == *cap) {
			size_t nc = *cap ? *cap * 2 : 256;
			struct walk_entry *nv = realloc(*v, nc * sizeof(**v));
			if (!nv) {
				r = -ENOMEM;
				break;
			}
			*v = nv;
			*cap = nc;
		}
		memcpy((*v)[*n].uuid, de->d_name, PS_UUID_LEN + 1);
		(*v)[*n].dir = (unsigned char)d;
		(*n)++;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(dir);
	return r;
}

int ps_walk_pods(ps_store *s, unsigned mask, ps_walk_fn fn, void *userdata, ps_error **err)
{
	_cleanup_free_ struct walk_entry *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	for (int d = 0; d < PS_DIR_COUNT; d++) {
		if (!(mask & PS_DIR_BIT(d)))
			continue;
		r = read_dir(s, (ps_pod_dir)d, &v, &n, &cap);
		if (r < 0)
			return ps_error_set(err, PS_ERR_FAILED, -r, "read %s/pods/%s", ps_store_path(s),
			                    ps_pod_dir_name((ps_pod_dir)d));
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), entry_cmp);
	for (size_t i = 0; i < n; i++) {
		/* Sorted by uuid then dir: the last of a run is the latest sighting. */
		if (i + 1 < n && memcmp(v[i].uuid, v[i + 1].uuid, PS_UUID_LEN) == 0)
			continue;
		r = fn(s, v[i].uuid, (ps_pod_dir)v[i].dir, userdata);
		if (r != 0)
			return r;
	}
	return 0;
}
