/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
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

/*
 * Trust (Documentation/security.md, "The data dir"). A directory podctl
 * uses is trusted when it is owned by root or by the effective uid and is
 * not writable by group or others: nobody else can plant a manifest or
 * swap a pod dir. Ancestors of the data dir are held to the same rule, as
 * ssh holds the path to authorized_keys, except that a sticky
 * world-writable ancestor such as /tmp is accepted: others cannot rename
 * or remove what we own in it, and the next component is checked.
 */
int ps_dir_check_trusted(const struct stat *st, bool ancestor)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return -EPERM;
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(ancestor && (st->st_mode & S_ISVTX)))
		return -EACCES;
	return 0;
}

static int untrusted(ps_error **err, const char *what, const char *path, const struct stat *st, int r)
{
	if (r == -EPERM)
		return ps_error_set(err, PS_ERR_FAILED, 0,
		                    "%s: %s is owned by uid %u, not root or us: refusing to use it", what,
		                    path, (unsigned)st->st_uid);
	return ps_error_set(err, PS_ERR_FAILED, 0,
	                    "%s: %s is writable by group or others (mode %04o): refusing to use it", what,
	                    path, (unsigned)(st->st_mode & 07777));
}

/* fd (a directory in the store, shown as path) is trusted. */
static int check_fd(int fd, const char *what, const char *path, ps_error **err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return ps_error_errno(err, "%s: %s", what, path);
	int r = ps_dir_check_trusted(&st, false);
	return r < 0 ? untrusted(err, what, path, &st, r) : 0;
}

/* Every ancestor of the directory open at fd, by its real path, from / down. */
static int check_ancestors(int fd, const char *what, ps_error **err)
{
	char proc[64], real[PATH_MAX];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, real, sizeof(real) - 1);
	if (n <= 0 || real[0] != '/')
		return 0; /* no /proc: the data dir itself was still checked */
	real[n] = '\0';
	_cleanup_close_ int dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ps_error_errno(err, "%s: open /", what);
	struct stat st;
	for (char *s = real;;) {
		char saved;

		if (fstat(dfd, &st) < 0)
			return ps_error_errno(err, "%s: stat", what);
		while (*s == '/')
			s++;
		char *e = strchrnul(s, '/');
		if (*s == '\0' || *e == '\0')
			break; /* dfd is the data dir's parent */
		int r = ps_dir_check_trusted(&st, true);
		if (r < 0) {
			saved = *s;
			*s = '\0';
			r = untrusted(err, what, s == real + 1 ? "/" : real, &st, r);
			*s = saved;
			return r;
		}
		saved = *e;
		*e = '\0';
		int nfd = openat(dfd, s, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (nfd < 0) {
			r = ps_error_errno(err, "%s: %s", what, real);
			*e = saved;
			return r;
		}
		*e = saved;
		close(dfd);
		dfd = nfd;
		s = e;
	}
	/* dfd: the parent, checked as an ancestor (st: the loop's fstat). */
	{
		int r = ps_dir_check_trusted(&st, true);
		if (r < 0) {
			char *slash = strrchr(real, '/');
			if (slash == real)
				slash++;
			*slash = '\0';
			return untrusted(err, what, real, &st, r);
		}
	}
	return 0;
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

	r = check_fd(s->fd, "data dir", path, err);
	if (r >= 0)
		r = check_ancestors(s->fd, "data dir", err);
	if (r < 0)
		return r;

	_cleanup_free_ char *sub = NULL;
	s->pods_fd = open_dir_at(s->fd, "pods", create, 0700);
	if (s->pods_fd < 0) {
		if (errno == ENOENT)
			return ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "open data dir %s/pods", path);
		return ps_error_errno(err, "open data dir %s/pods", path);
	}
	if (!(sub = ps_strdup_printf("%s/pods", path)))
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "open data dir %s", path);
	r = check_fd(s->pods_fd, "data dir", sub, err);
	if (r < 0)
		return r;
	for (int i = 0; i < PS_DIR_COUNT; i++) {
		s->dir_fd[i] = open_dir_at(s->pods_fd, dir_names[i], create, 0700);
		if (s->dir_fd[i] < 0)
			return ps_error_errno(err, "open %s/pods/%s", path, dir_names[i]);
		free(sub);
		if (!(sub = ps_strdup_printf("%s/pods/%s", path, dir_names[i])))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "open data dir %s", path);
		r = check_fd(s->dir_fd[i], "data dir", sub, err);
		if (r < 0)
			return r;
	}
	s->tmp_fd = open_dir_at(s->fd, "tmp", create, 0700);
	if (s->tmp_fd < 0)
		return ps_error_errno(err, "open %s/tmp", path);
	free(sub);
	if (!(sub = ps_strdup_printf("%s/tmp", path)))
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "open data dir %s", path);
	r = check_fd(s->tmp_fd, "data dir", sub, err);
	if (r < 0)
		return r;
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
		_cleanup_free_ char *sub = ps_strdup_printf("%s/images", s->path);
		if (!sub)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "open %s/images", s->path);
		int r = check_fd(s->images_fd, "data dir", sub, err);
		if (r < 0) {
			close(s->images_fd);
			s->images_fd = -1;
			return r;
		}
	}
	return s->images_fd;
}
