/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Merging layer trees onto a dir: the copy fallback when overlayfs cannot be
 * mounted (ps_tree_merge(), declared in extract.h). Whiteouts delete, opaque
 * dirs are emptied first, hardlinks inside a layer stay hardlinks.
 */

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include "extract.h"
#include "util.h"

struct inode_map {
	struct inode_path {
		dev_t dev;
		ino_t ino;
		char *path; /* relative to the merge's dst root */
	} *v;
	size_t n, cap;
};

struct merger {
	int dst_root;
	struct inode_map links;
};

static int copy_xattrs(int from, int to, const char *path, ps_error **err)
{
	char list[8192], value[8192];
	ssize_t n = flistxattr(from, list, sizeof(list));

	if (n < 0)
		return errno == ENOTSUP || errno == EOPNOTSUPP ? 0
							       : ps_error_errno(err, "%s: list xattrs", path);
	for (char *name = list; name < list + n; name += strlen(name) + 1) {
		ssize_t len;

		if (!ps_xattr_allowed(name))
			continue;
		len = fgetxattr(from, name, value, sizeof(value));
		if (len < 0)
			return ps_error_errno(err, "%s: get xattr %s", path, name);
		if (fsetxattr(to, name, value, (size_t)len, 0) < 0 && errno != ENOTSUP &&
		    errno != EOPNOTSUPP)
			return ps_error_errno(err, "%s: set xattr %s", path, name);
	}
	return 0;
}

static int copy_meta(int from, const struct stat *st, int to, const char *path, ps_error **err)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchown(to, st->st_uid, st->st_gid) < 0 && !(errno == EPERM && geteuid() != 0))
		return ps_error_errno(err, "%s: chown", path);
	if (fchmod(to, st->st_mode & 07777) < 0)
		return ps_error_errno(err, "%s: chmod", path);
	if (copy_xattrs(from, to, path, err) < 0)
		return -EIO;
	if (futimens(to, ts) < 0)
		return ps_error_errno(err, "%s: set times", path);
	return 0;
}

static int copy_data(int in, int out, off_t size, const char *path, ps_error **err)
{
	off_t done = 0;

	while (done < size) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(size - done), 0);
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
			char buf[65536];
			n = read(in, buf, sizeof(buf));
			if (n > 0 && ps_write_all(out, buf, (size_t)n) < 0)
				return ps_error_errno(err, "%s: write", path);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ps_error_errno(err, "%s: copy", path);
		}
		if (n == 0)
			break;
		done += n;
	}
	return 0;
}

static bool is_opaque(int fd)
{
	char v[2];
	ssize_t n = fgetxattr(fd, OVERLAY_OPAQUE_XATTR, v, sizeof(v));
	return n == 1 && v[0] == 'y';
}

static int empty_dir(int fd, const char *path, ps_error **err)
{
	_cleanup_close_ int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	int r = 0;

	if (!d)
		return ps_error_errno(err, "%s: open", path);
	dfd = -1;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		r = ps_rm_rf_at(fd, de->d_name);
		if (r < 0) {
			r = ps_error_set(err, PS_ERR_FAILED, -r, "%s: remove %s", path, de->d_name);
			break;
		}
	}
	closedir(d);
	return r;
}

static int merge_dir(struct merger *m, int src, int dst, const char *path, ps_error **err);

static int merge_entry(struct merger *m, int src, int dst, const char *name, const char *path,
		       ps_error **err)
{
	_cleanup_free_ char *sub = ps_strdup_printf("%s%s%s", path, *path ? "/" : "", name);
	struct stat st, dst_st;
	bool dst_is_dir;
	int r;

	if (!sub)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "merge");
	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return ps_error_errno(err, "%s: stat", sub);
	dst_is_dir = fstatat(dst, name, &dst_st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(dst_st.st_mode);

	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
		r = ps_rm_rf_at(dst, name); /* a whiteout */
		return r < 0 ? ps_error_set(err, PS_ERR_FAILED, -r, "%s: remove", sub) : 0;
	}
	if (!(S_ISDIR(st.st_mode) && dst_is_dir)) {
		r = ps_rm_rf_at(dst, name);
		if (r < 0)
			return ps_error_set(err, PS_ERR_FAILED, -r, "%s: remove", sub);
	}

	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int sfd = -1, dfd = -1;

		if (!dst_is_dir && mkdirat(dst, name, 0700) < 0)
			return ps_error_errno(err, "%s: create dir", sub);
		sfd = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		dfd = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0 || dfd < 0)
			return ps_error_errno(err, "%s: open dir", sub);
		if (dst_is_dir && is_opaque(sfd)) {
			r = empty_dir(dfd, sub, err);
			if (r < 0)
				return r;
		}
		r = merge_dir(m, sfd, dfd, sub, err);
		if (r < 0)
			return r;
		return copy_meta(sfd, &st, dfd, sub, err);
	}
	if (S_ISREG(st.st_mode)) {
		_cleanup_close_ int sfd = -1, dfd = -1;

		if (st.st_nlink > 1) {
			for (size_t i = 0; i < m->links.n; i++)
				if (m->links.v[i].dev == st.st_dev && m->links.v[i].ino == st.st_ino) {
					if (linkat(m->dst_root, m->links.v[i].path, dst, name, 0) < 0)
						return ps_error_errno(err, "%s: hardlink", sub);
					return 0;
				}
		}
		sfd = openat(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0)
			return ps_error_errno(err, "%s: open", sub);
		dfd = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (dfd < 0)
			return ps_error_errno(err, "%s: create", sub);
		r = copy_data(sfd, dfd, st.st_size, sub, err);
		if (r < 0)
			return r;
		r = copy_meta(sfd, &st, dfd, sub, err);
		if (r < 0)
			return r;
		if (st.st_nlink > 1) {
			if (m->links.n == m->links.cap) {
				size_t cap = m->links.cap ? 2 * m->links.cap : 32;
				void *v = realloc(m->links.v, cap * sizeof(*m->links.v));
				if (!v)
					return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "merge");
				m->links.v = v;
				m->links.cap = cap;
			}
			m->links.v[m->links.n] = (struct inode_path){ st.st_dev, st.st_ino, TAKE_PTR(sub) };
			m->links.n++;
		}
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX + 1];
		struct timespec ts[2] = { st.st_atim, st.st_mtim };
		ssize_t n = readlinkat(src, name, target, PATH_MAX);

		if (n < 0)
			return ps_error_errno(err, "%s: read symlink", sub);
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0)
			return ps_error_errno(err, "%s: create symlink", sub);
		if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
		    !(errno == EPERM && geteuid() != 0))
			return ps_error_errno(err, "%s: chown", sub);
		utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	if (S_ISFIFO(st.st_mode)) {
		if (mkfifoat(dst, name, st.st_mode & 0777) < 0)
			return ps_error_errno(err, "%s: create fifo", sub);
		return 0;
	}
	return 0; /* nothing else is ever extracted into a layer tree */
}

static int merge_dir(struct merger *m, int src, int dst, const char *path, ps_error **err)
{
	_cleanup_close_ int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int r = 0;

	if (!d)
		return ps_error_errno(err, "%s: open", *path ? path : "/");
	fd = -1;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		r = merge_entry(m, src, dst, de->d_name, path, err);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int ps_tree_merge(int layer_fd, int dst_fd, ps_error **err)
{
	struct merger m = { .dst_root = dst_fd };
	struct stat st;
	int r;

	if (is_opaque(layer_fd)) {
		r = empty_dir(dst_fd, "/", err);
		if (r < 0)
			return r;
	}
	r = merge_dir(&m, layer_fd, dst_fd, "", err);
	if (r >= 0 && fstat(layer_fd, &st) == 0)
		r = copy_meta(layer_fd, &st, dst_fd, "/", err);
	for (size_t i = 0; i < m.links.n; i++)
		free(m.links.v[i].path);
	free(m.links.v);
	return r;
}

