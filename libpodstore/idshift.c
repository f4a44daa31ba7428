/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shifted copies of layer trees, for user namespaces without idmapped
 * mounts (idshift.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "extract.h"
#include "idshift.h"
#include "util.h"

struct shifter {
	const ps_idrange *r;
	int dst_root;
	struct link { dev_t dev; ino_t ino; char *path; } *links;
	size_t n_links, cap_links;
};

static uid_t shift_id(uint32_t base, uint32_t size, uint32_t id)
{
	return base + (id < size ? id : size - 1);
}

static int copy_xattrs(int from, int to, const char *path, ps_error **err)
{
	char list[8192], value[8192];
	ssize_t n = flistxattr(from, list, sizeof(list));

	if (n < 0)
		return errno == ENOTSUP ? 0 : ps_error_errno(err, "%s: list xattrs", path);
	for (char *name = list; name < list + n; name += strlen(name) + 1) {
		/* The image's own, and the opaque mark our extractor set (the
		 * source is a tree of the store, or a rootfs dir used in place
		 * whose overlay xattrs the overlay would have read anyway). */
		if (!ps_xattr_allowed(name) && !streq(name, OVERLAY_OPAQUE_XATTR))
			continue;
		ssize_t len = fgetxattr(from, name, value, sizeof(value));
		if (len < 0)
			return ps_error_errno(err, "%s: get xattr %s", path, name);
		if (fsetxattr(to, name, value, (size_t)len, 0) < 0 && errno != ENOTSUP)
			return ps_error_errno(err, "%s: set xattr %s", path, name);
	}
	return 0;
}

/* Owner, then mode (a chown clears set-id bits), xattrs, times. */
static int set_meta(struct shifter *s, int from, const struct stat *st, int to, const char *path,
                    ps_error **err)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchown(to, shift_id(s->r->uid, s->r->size, st->st_uid),
	           shift_id(s->r->gid, s->r->size, st->st_gid)) < 0)
		return ps_error_errno(err, "%s: chown", path);
	if (fchmod(to, st->st_mode & 07777) < 0)
		return ps_error_errno(err, "%s: chmod", path);
	if (from >= 0 && copy_xattrs(from, to, path, err) < 0)
		return -EIO;
	if (futimens(to, ts) < 0)
		return ps_error_errno(err, "%s: set times", path);
	return 0;
}

static int copy_data(int in, int out, const char *path, ps_error **err)
{
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
			char buf[65536];
			n = read(in, buf, sizeof(buf));
			if (n > 0 && ps_write_all(out, buf, (size_t)n) < 0)
				return ps_error_errno(err, "%s: write", path);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ps_error_errno(err, "%s: copy", path);
		if (n == 0)
			return 0;
	}
}

static int shift_dir(struct shifter *s, int src, int dst, const char *path, ps_error **err);

static int shift_entry(struct shifter *s, int src, int dst, const char *name, const char *path,
                       ps_error **err)
{
	_cleanup_free_ char *sub = ps_strdup_printf("%s%s%s", path, *path ? "/" : "", name);
	struct stat st;
	int r;

	if (!sub)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "shift");
	if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return ps_error_errno(err, "%s: stat", sub);
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(dst, name, 0700) < 0)
			return ps_error_errno(err, "%s: create dir", sub);
		_cleanup_close_ int sfd = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int dfd = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0 || dfd < 0)
			return ps_error_errno(err, "%s: open dir", sub);
		r = shift_dir(s, sfd, dfd, sub, err);
		return r < 0 ? r : set_meta(s, sfd, &st, dfd, sub, err);
	}
	if (S_ISREG(st.st_mode)) {
		if (st.st_nlink > 1)
			for (size_t i = 0; i < s->n_links; i++)
				if (s->links[i].dev == st.st_dev && s->links[i].ino == st.st_ino) {
					if (linkat(s->dst_root, s->links[i].path, dst, name, 0) < 0)
						return ps_error_errno(err, "%s: hardlink", sub);
					return 0;
				}
		_cleanup_close_ int sfd = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		_cleanup_close_ int dfd = -1;
		if (sfd < 0)
			return ps_error_errno(err, "%s: open", sub);
		dfd = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (dfd < 0)
			return ps_error_errno(err, "%s: create", sub);
		if ((r = copy_data(sfd, dfd, sub, err)) < 0 || (r = set_meta(s, sfd, &st, dfd, sub, err)) < 0)
			return r;
		if (st.st_nlink > 1) {
			if (s->n_links == s->cap_links) {
				size_t cap = s->cap_links ? 2 * s->cap_links : 32;
				void *v = realloc(s->links, cap * sizeof(*s->links));
				if (!v)
					return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "shift");
				s->links = v;
				s->cap_links = cap;
			}
			s->links[s->n_links++] = (struct link){ st.st_dev, st.st_ino, TAKE_PTR(sub) };
		}
		return 0;
	}
	uid_t uid = shift_id(s->r->uid, s->r->size, st.st_uid);
	gid_t gid = shift_id(s->r->gid, s->r->size, st.st_gid);
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX + 1];
		struct timespec ts[2] = { st.st_atim, st.st_mtim };
		ssize_t n = readlinkat(src, name, target, PATH_MAX);
		if (n < 0)
			return ps_error_errno(err, "%s: read symlink", sub);
		target[n] = '\0';
		if (symlinkat(target, dst, name) < 0 ||
		    fchownat(dst, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			return ps_error_errno(err, "%s: symlink", sub);
		utimensat(dst, name, ts, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	/* A whiteout (char 0/0) and FIFOs: the only other things a tree holds. */
	if ((S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) || S_ISFIFO(st.st_mode)) {
		if (mknodat(dst, name, st.st_mode & (S_IFMT | 0777), st.st_rdev) < 0 ||
		    fchownat(dst, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			return ps_error_errno(err, "%s: mknod", sub);
		return 0;
	}
	return 0;
}

static int shift_dir(struct shifter *s, int src, int dst, const char *path, ps_error **err)
{
	int fd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int r = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return ps_error_errno(err, "%s: open", *path ? path : "/");
	}
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		r = shift_entry(s, src, dst, de->d_name, path, err);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

int ps_tree_copy_shifted(int src_fd, int dst_fd, const ps_idrange *r, ps_error **err)
{
	struct shifter s = { .r = r, .dst_root = dst_fd };
	struct stat st;
	int ret = shift_dir(&s, src_fd, dst_fd, "", err);

	if (ret >= 0 && fstat(src_fd, &st) == 0)
		ret = set_meta(&s, src_fd, &st, dst_fd, "/", err);
	for (size_t i = 0; i < s.n_links; i++)
		free(s.links[i].path);
	free(s.links);
	return ret;
}

/* Inodes with more than one link already shifted (met again by another name). */
struct seen {
	struct { dev_t dev; ino_t ino; } *v;
	size_t n, cap;
};

/* Whether st's inode was met before; else remember it. -ENOMEM on failure. */
static int seen_before(struct seen *sn, const struct stat *st)
{
	for (size_t i = 0; i < sn->n; i++)
		if (sn->v[i].dev == st->st_dev && sn->v[i].ino == st->st_ino)
			return 1;
	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? 2 * sn->cap : 32;
		void *v = realloc(sn->v, cap * sizeof(*sn->v));
		if (!v)
			return -ENOMEM;
		sn->v = v;
		sn->cap = cap;
	}
	sn->v[sn->n].dev = st->st_dev;
	sn->v[sn->n].ino = st->st_ino;
	sn->n++;
	return 0;
}

static int shift_in_place(struct seen *sn, int dir, const ps_idrange *r, const char *path, ps_error **err)
{
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int rc = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return ps_error_errno(err, "%s: open", *path ? path : "/");
	}
	while ((de = readdir(d)) && rc >= 0) {
		struct stat st;
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = ps_error_errno(err, "%s/%s: stat", path, de->d_name);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_free_ char *sub = ps_strdup_printf("%s/%s", path, de->d_name);
			_cleanup_close_ int sfd = openat(dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (!sub || sfd < 0) {
				rc = ps_error_errno(err, "%s/%s: open", path, de->d_name);
				break;
			}
			rc = shift_in_place(sn, sfd, r, sub, err);
			if (rc < 0)
				break;
		}
		/* Hardlinked files are met more than once: shift each inode once. */
		if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
			int seen = seen_before(sn, &st);
			if (seen < 0) {
				rc = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "shift");
				break;
			}
			if (seen)
				continue;
		}
		if (fchownat(dir, de->d_name, shift_id(r->uid, r->size, st.st_uid),
		             shift_id(r->gid, r->size, st.st_gid), AT_SYMLINK_NOFOLLOW) < 0 ||
		    (!S_ISLNK(st.st_mode) && (st.st_mode & 06000) &&
		     fchmodat(dir, de->d_name, st.st_mode & 07777, 0) < 0)) {
			rc = ps_error_errno(err, "%s/%s: chown", path, de->d_name);
			break;
		}
	}
	closedir(d);
	return rc;
}

int ps_tree_shift_in_place(int dir_fd, const ps_idrange *r, ps_error **err)
{
	struct seen sn = { 0 };
	struct stat st;
	int rc = shift_in_place(&sn, dir_fd, r, "", err);

	free(sn.v);
	if (rc >= 0 && fstat(dir_fd, &st) == 0 &&
	    fchown(dir_fd, shift_id(r->uid, r->size, st.st_uid), shift_id(r->gid, r->size, st.st_gid)) < 0)
		rc = ps_error_errno(err, "/: chown");
	return rc;
}

int ps_shifted_tree_get(int data_fd, const char *layer, const ps_idrange *r, char **ret,
                        ps_error **err)
{
	static const char prefix[] = "images/trees/";
	const char *tree = strncmp(layer, prefix, strlen(prefix)) == 0 ? layer + strlen(prefix) : NULL;
	int rc;

	if (!tree || !*tree || strchr(tree, '/') || streq(tree, "..") || streq(tree, "."))
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "shifted copy: %s is not a tree of the store", layer);
	_cleanup_free_ char *rangedir = ps_strdup_printf(PS_SHIFTED_DIR "/%" PRIu32 "-%" PRIu32 "-%" PRIu32,
	                                                  r->uid, r->gid, r->size);
	_cleanup_free_ char *final = ps_strdup_printf("%s/%s", rangedir ? rangedir : "", tree);
	_cleanup_free_ char *tmp = ps_strdup_printf("tmp/shifted.%d", (int)getpid());
	if (!rangedir || !final || !tmp)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "shifted copy");
	struct stat st;
	if (fstatat(data_fd, final, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		*ret = TAKE_PTR(final);
		return 0; /* made once, by us or another pod of the range */
	}
	if (ps_mkdirat_p(data_fd, PS_SHIFTED_DIR, 0755) < 0 || ps_mkdirat_p(data_fd, rangedir, 0755) < 0)
		return ps_error_errno(err, "create %s", rangedir);
	ps_rm_rf_at(data_fd, tmp); /* ours, from an earlier failure */
	if (mkdirat(data_fd, tmp, 0755) < 0)
		return ps_error_errno(err, "create %s", tmp);
	_cleanup_close_ int src = openat(data_fd, layer, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int dst = openat(data_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 || dst < 0) {
		rc = ps_error_errno(err, "shifted copy of %s", layer);
		ps_rm_rf_at(data_fd, tmp);
		return rc;
	}
	rc = ps_tree_copy_shifted(src, dst, r, err);
	if (rc >= 0 && syncfs(dst) < 0)
		rc = ps_error_errno(err, "sync %s", tmp);
	if (rc < 0) {
		ps_rm_rf_at(data_fd, tmp);
		return ps_error_prefix(err, rc, "shifted copy of %s", layer);
	}
	if (renameat(data_fd, tmp, data_fd, final) < 0) {
		int e = errno;
		ps_rm_rf_at(data_fd, tmp);
		/* Another pod of the range made it first: use theirs. */
		if (e != EEXIST && e != ENOTEMPTY) {
			errno = e;
			return ps_error_errno(err, "rename %s to %s", tmp, final);
		}
	}
	*ret = TAKE_PTR(final);
	return 0;
}

int ps_shifted_trees_sweep(int data_fd, ps_error **err)
{
	int fd = openat(data_fd, PS_SHIFTED_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? 0 : ps_error_errno(err, "open %s", PS_SHIFTED_DIR);
	}
	_cleanup_close_ int trees = openat(data_fd, "images/trees", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int rfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *rd = rfd >= 0 ? fdopendir(rfd) : NULL;
		if (!rd) {
			if (rfd >= 0)
				close(rfd);
			continue;
		}
		struct dirent *te;
		struct stat st;
		while ((te = readdir(rd)))
			if (te->d_name[0] != '.' &&
			    (trees < 0 || fstatat(trees, te->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0))
				ps_rm_rf_at(dirfd(rd), te->d_name);
		closedir(rd);
		unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR); /* when empty */
	}
	closedir(d);
	return 0;
}
