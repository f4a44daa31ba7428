/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>

#include <podstore/store.h>
#include "util.h"

struct ps_store {
	char *path;
	int fd;
	int pods_fd;
	int dir_fd[PS_DIR_COUNT];
	int tmp_fd;
	int images_fd;
};

static const char *const dir_names[PS_DIR_COUNT] = {
	[PS_DIR_EMBRYO] = "embryo",
	[PS_DIR_PREPARE] = "prepare",
	[PS_DIR_PREPARED] = "prepared",
	[PS_DIR_RUN] = "run",
	[PS_DIR_EXITED_GARBAGE] = "exited-garbage",
	[PS_DIR_GARBAGE] = "garbage",
};

const char *ps_pod_dir_name(ps_pod_dir d)
{
	return d < PS_DIR_COUNT ? dir_names[d] : "?";
}

/* mkdir -p of an absolute or relative path, each component 0700 when new. */
static int mkdir_parents(const char *path)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0711) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int open_dir_at(int dirfd, const char *name, bool create, mode_t mode)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0 || errno != ENOENT || !create)
		return fd;
	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return -1;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

void ps_store_close(ps_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < PS_DIR_COUNT; i++)
		if (s->dir_fd[i] >= 0)
			close(s->dir_fd[i]);
	if (s->pods_fd >= 0)
		close(s->pods_fd);
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	if (s->images_fd >= 0)
		close(s->images_fd);
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s);
}

static void store_closep(ps_store **s)
{
	ps_store_close(*s);
}

int ps_store_open(const char *path, bool create, ps_store **ret, ps_error **err)
{
	__attribute__((cleanup(store_closep))) ps_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "open data dir %s", path);
	s->fd = s->pods_fd = s->tmp_fd = s->images_fd = -1;
	for (int i = 0; i < PS_DIR_COUNT; i++)
		s->dir_fd[i] = -1;
	s->path = strdup(path);
	if (!s->path)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "open data dir %s", path);

	s->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->fd < 0 && errno == ENOENT && create) {
		r = mkdir_parents(path);
		if (r < 0)
			return ps_error_set(err, PS_ERR_FAILED, -r, "create data dir %s", path);
		s->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (s->fd < 0) {
		if (errno == ENOENT)
			return ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "open data dir %s", path);
		return ps_error_errno(err, "open data dir %s", path);
	}

	s->pods_fd = open_dir_at(s->fd, "pods", create, 0700);
	if (s->pods_fd < 0) {
		if (errno == ENOENT)
			return ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "open data dir %s/pods", path);
		return ps_error_errno(err, "open data dir %s/pods", path);
	}
	for (int i = 0; i < PS_DIR_COUNT; i++) {
		s->dir_fd[i] = open_dir_at(s->pods_fd, dir_names[i], create, 0700);
		if (s->dir_fd[i] < 0)
			return ps_error_errno(err, "open %s/pods/%s", path, dir_names[i]);
	}
	s->tmp_fd = open_dir_at(s->fd, "tmp", create, 0700);
	if (s->tmp_fd < 0)
		return ps_error_errno(err, "open %s/tmp", path);
	*ret = TAKE_PTR(s);
	return 0;
}

const char *ps_store_path(const ps_store *s)
{
	return s->path;
}

int ps_store_fd(const ps_store *s)
{
	return s->fd;
}

int ps_store_dir_fd(const ps_store *s, ps_pod_dir d)
{
	return d < PS_DIR_COUNT ? s->dir_fd[d] : -1;
}

int ps_store_tmp_fd(const ps_store *s)
{
	return s->tmp_fd;
}

int ps_store_images_fd(ps_store *s, ps_error **err)
{
	if (s->images_fd < 0) {
		s->images_fd = open_dir_at(s->fd, "images", true, 0700);
		if (s->images_fd < 0)
			return ps_error_errno(err, "open %s/images", s->path);
	}
	return s->images_fd;
}
