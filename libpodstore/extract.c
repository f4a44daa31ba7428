/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Safe extraction of untrusted archives: see extract.h for the rules. */

#include "archive-dl.h"
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include "extract.h"
#include "openat-root.h"
#include <podstore/log.h>
#include "util.h"


#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

static inline void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}
#define _cleanup_archive_ _cleanup_(archive_freep)

struct dir_time {
	char *path;
	struct timespec mtime;
};

struct extractor {
	struct archive *a;
	int root_fd;
	const ps_extract_opts *opts;
	long long max_bytes, max_entries;
	ps_extract_stats stats;
	/* One cached parent dir: archives list siblings together. */
	char *cache_path;
	int cache_fd;
	struct dir_time *times;
	size_t n_times, cap_times;
	long long last_progress;
	bool is_root;
};

static void cache_drop(struct extractor *x)
{
	free(x->cache_path);
	x->cache_path = NULL;
	if (x->cache_fd >= 0)
		close(x->cache_fd);
	x->cache_fd = -1;
}

/*
 * Normalise an archive path: leading "/" and "./" dropped (an absolute path
 * means the image's root), empty and "." components dropped, ".." refused.
 * "" is the root itself.
 */
static int normalize_path(const char *in, char **ret, ps_error **err)
{
	_cleanup_free_ char *out = NULL;
	size_t len = strlen(in), o = 0;
	const char *p = in;

	if (len >= PATH_MAX)
		return ps_error_set(err, PS_ERR_INVALID, ENAMETOOLONG, "path %.64s…", in);
	out = malloc(len + 1);
	if (!out)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "normalise path");
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return ps_error_set(err, PS_ERR_INVALID, 0,
					    "%s: path with a \"..\" component refused", in);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p = *e ? e + 1 : e;
	}
	out[o] = '\0';
	*ret = TAKE_PTR(out);
	return 0;
}

/*
 * Open the dir at relative path under root without following any symlink,
 * by walking one component at a time. With create, missing dirs are made
 * (0755, like tar does for dirs an archive does not list).
 */
static int walk_dir(int root_fd, const char *path, bool create, int *ret_fd, ps_error **err)
{
	_cleanup_close_ int cur = -1;
	const char *p = path;

	cur = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return ps_error_errno(err, "open target");
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		char comp[NAME_MAX + 1];
		int fd;

		if (n > NAME_MAX)
			return ps_error_set(err, PS_ERR_INVALID, ENAMETOOLONG, "%s", path);
		memcpy(comp, p, n);
		comp[n] = '\0';
		for (int tries = 0;; tries++) {
			fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0 || errno != ENOENT || !create || tries > 0)
				break;
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST)
				return ps_error_errno(err, "%s: create parent dir %s", path, comp);
		}
		if (fd < 0) {
			struct stat st;
			int saved = errno;

			if ((saved == ELOOP || saved == ENOTDIR) &&
			    fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				return ps_error_set(err, PS_ERR_INVALID, ELOOP,
						    "%s: path goes through the symlink %.*s: refused",
						    path, (int)(e - path), path);
			errno = saved;
			return ps_error_errno(err, "%s: open %.*s", path, (int)(e - path), path);
		}
		close(cur);
		cur = fd;
		p = *e ? e + 1 : e;
	}
	*ret_fd = TAKE_FD(cur);
	return 0;
}

/* Open the dir at a normalised relative path: an owned fd. */
static int open_dir(int root_fd, const char *path, bool create, int *ret_fd, ps_error **err)
{
	int fd = ps_openat_in_root(root_fd, path, O_RDONLY | O_DIRECTORY, 0, PS_ROOT_NO_SYMLINKS);

	if (fd >= 0) {
		*ret_fd = fd;
		return 0;
	}
	if (fd != -ENOENT && fd != -ELOOP && fd != -ENOTDIR)
		return ps_error_set(err, PS_ERR_FAILED, -fd, "%s: open", path);
	/* ENOENT (create), ELOOP, ENOTDIR: the walk makes what is missing and
	 * says precisely why it cannot. */
	return walk_dir(root_fd, path, create, ret_fd, err);
}

/* The parent dir of an entry, borrowed (cached until the next call). */
static int parent_fd(struct extractor *x, const char *dir, int *ret_fd, ps_error **err)
{
	int fd, r;

	if (x->cache_path && streq(x->cache_path, dir)) {
		*ret_fd = x->cache_fd;
		return 0;
	}
	cache_drop(x);
	r = open_dir(x->root_fd, dir, true, &fd, err);
	if (r < 0)
		return r;
	x->cache_path = strdup(dir);
	if (!x->cache_path) {
		close(fd);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "extract");
	}
	x->cache_fd = fd;
	*ret_fd = fd;
	return 0;
}

/*
 * Make room for a new entry: a dir that is to stay a dir stays (returns 1);
 * anything else in the way is removed (archives may list a path twice, the
 * last one wins).
 */
static int make_room(struct extractor *x, int dfd, const char *base, bool keep_dir, ps_error **err)
{
	struct stat st;
	int r;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return ps_error_errno(err, "stat %s", base);
	}
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir)
			return 1;
		/* The cached parent is dfd itself, never below base: it stays valid. */
		r = ps_rm_rf_at(dfd, base);
		if (r < 0)
			return ps_error_set(err, PS_ERR_FAILED, -r, "remove %s", base);
		return 0;
	}
	if (unlinkat(dfd, base, 0) < 0)
		return ps_error_errno(err, "remove %s", base);
	return 0;
}

bool ps_xattr_allowed(const char *name)
{
	/* user.* and security.* (file capabilities, SELinux labels) are the
	 * image's; trusted.* could forge overlayfs whiteouts or redirects and
	 * system.* are ACLs libarchive hands over separately. */
	return strncmp(name, "user.", 5) == 0 || strncmp(name, "security.", 9) == 0;
}

static int apply_xattrs(struct archive_entry *e, int fd, const char *path, ps_error **err)
{
	const char *name;
	const void *value;
	size_t size;

	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (!name || !ps_xattr_allowed(name))
			continue;
		if (fsetxattr(fd, name, value, size, 0) < 0) {
			if (errno == ENOTSUP || errno == EOPNOTSUPP)
				continue; /* where the fs supports them */
			return ps_error_errno(err, "%s: set xattr %s", path, name);
		}
	}
	return 0;
}

/* Owner first: chown() clears setuid/setgid, which the image means to keep. */
static int apply_owner_mode(struct extractor *x, struct archive_entry *e, int fd, const char *path,
			    ps_error **err)
{
	if (fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0 &&
	    !(errno == EPERM && !x->is_root))
		return ps_error_errno(err, "%s: chown", path);
	if (fchmod(fd, archive_entry_mode(e) & 07777) < 0)
		return ps_error_errno(err, "%s: chmod", path);
	return 0;
}

/* Ownership, mode and the allowed xattrs of an entry, on what fd is. */
static int apply_meta(struct extractor *x, struct archive_entry *e, int fd, const char *path,
		      ps_error **err)
{
	int r = apply_owner_mode(x, e, fd, path, err);

	return r < 0 ? r : apply_xattrs(e, fd, path, err);
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[0].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = archive_entry_mtime_nsec(e);
	ts[1] = ts[0];
	if (!archive_entry_mtime_is_set(e))
		ts[0].tv_nsec = ts[1].tv_nsec = UTIME_NOW;
}

static void report_progress(struct extractor *x, bool force)
{
	long long n;

	if (!x->opts || !x->opts->progress)
		return;
	n = archive_filter_bytes(x->a, -1);
	if (force || n - x->last_progress >= (1 << 20)) {
		x->last_progress = n;
		x->opts->progress(n, x->opts->progress_data);
	}
}

static int write_file(struct extractor *x, struct archive_entry *e, int dfd, const char *base,
		      const char *path, ps_error **err)
{
	_cleanup_close_ int fd = -1;
	la_int64_t size = archive_entry_size(e);
	struct timespec ts[2];
	int r;

	if (size < 0 || size > x->max_bytes)
		return ps_error_set(err, PS_ERR_INVALID, EFBIG,
				    "%s: file of %lld bytes exceeds the limit of %lld bytes", path,
				    (long long)size, x->max_bytes);
	r = make_room(x, dfd, base, false, err);
	if (r < 0)
		return r;
	fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ps_error_errno(err, "%s: create", path);
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		const char *p;

		r = archive_read_data_block(x->a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return ps_error_set(err, PS_ERR_FAILED, archive_errno(x->a) > 0 ? archive_errno(x->a) : 0,
					    "%s: read archive: %s", path, archive_error_string(x->a));
		if (off < 0 || (long long)off + (long long)len > (long long)size)
			return ps_error_set(err, PS_ERR_INVALID, 0,
					    "%s: data beyond the file's size", path);
		x->stats.bytes += (long long)len;
		if (x->stats.bytes > x->max_bytes)
			return ps_error_set(err, PS_ERR_INVALID, EFBIG,
					    "%s: archive holds more than the limit of %lld bytes",
					    path, x->max_bytes);
		/* Holes between blocks stay holes: sparse files stay sparse. */
		for (p = buf; len > 0;) {
			ssize_t n = pwrite(fd, p, len, off);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return ps_error_errno(err, "%s: write", path);
			}
			p += n, off += n, len -= (size_t)n;
		}
		report_progress(x, false);
	}
	if (ftruncate(fd, size) < 0)
		return ps_error_errno(err, "%s: set size", path);
	r = apply_meta(x, e, fd, path, err);
	if (r < 0)
		return r;
	entry_times(e, ts);
	if (futimens(fd, ts) < 0)
		return ps_error_errno(err, "%s: set times", path);
	return 0;
}

static int make_dir(struct extractor *x, struct archive_entry *e, int dfd, const char *base,
		    const char *path, ps_error **err)
{
	_cleanup_close_ int fd = -1;
	struct dir_time *t;
	int r;

	if (*path) {
		r = make_room(x, dfd, base, true, err);
		if (r < 0)
			return r;
		if (r == 0 && mkdirat(dfd, base, 0700) < 0)
			return ps_error_errno(err, "%s: create dir", path);
		fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	} else {
		fd = openat(x->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return ps_error_errno(err, "%s: open dir", path);
	r = apply_meta(x, e, fd, path, err);
	if (r < 0)
		return r;
	/* Times last, after the dir's children are made. */
	if (!archive_entry_mtime_is_set(e))
		return 0;
	if (x->n_times == x->cap_times) {
		size_t cap = x->cap_times ? 2 * x->cap_times : 64;
		t = realloc(x->times, cap * sizeof(*t));
		if (!t)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "extract");
		x->times = t;
		x->cap_times = cap;
	}
	t = &x->times[x->n_times];
	t->path = strdup(path);
	if (!t->path)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "extract");
	t->mtime.tv_sec = archive_entry_mtime(e);
	t->mtime.tv_nsec = archive_entry_mtime_nsec(e);
	x->n_times++;
	return 0;
}

static int make_symlink(struct extractor *x, struct archive_entry *e, int dfd, const char *base,
			const char *path, ps_error **err)
{
	const char *target = archive_entry_symlink(e);
	struct timespec ts[2];
	int r;

	if (!target || !*target)
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s: symlink without a target", path);
	r = make_room(x, dfd, base, false, err);
	if (r < 0)
		return r;
	/* The target is stored as is: it is only ever resolved inside the
	 * pod's root, and extraction itself never follows a symlink. */
	if (symlinkat(target, dfd, base) < 0)
		return ps_error_errno(err, "%s: create symlink", path);
	if (fchownat(dfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0 &&
	    !(errno == EPERM && !x->is_root))
		return ps_error_errno(err, "%s: chown", path);
	entry_times(e, ts);
	if (utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return ps_error_errno(err, "%s: set times", path);
	return 0;
}

static int make_hardlink(struct extractor *x, const char *link, int dfd, const char *base,
			 const char *path, ps_error **err)
{
	_cleanup_free_ char *target = NULL;
	_cleanup_close_ int tfd = -1;
	const char *tbase, *slash;
	struct stat st;
	int r;

	r = normalize_path(link, &target, err);
	if (r < 0)
		return ps_error_prefix(err, r, "%s: hardlink", path);
	if (!*target || streq(target, path))
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s: hardlink to itself refused", path);
	slash = strrchr(target, '/');
	if (slash) {
		_cleanup_free_ char *tdir = strndup(target, (size_t)(slash - target));
		if (!tdir)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "extract");
		r = open_dir(x->root_fd, tdir, false, &tfd, err);
		if (r < 0) {
			if (r == -ENOENT || r == -ENOTDIR) {
				ps_error_free(err);
				goto not_extracted;
			}
			return ps_error_prefix(err, r, "%s: hardlink to %s", path, link);
		}
		tbase = slash + 1;
	} else {
		tfd = openat(x->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (tfd < 0)
			return ps_error_errno(err, "open target");
		tbase = target;
	}
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			goto not_extracted;
		return ps_error_errno(err, "%s: hardlink to %s", path, link);
	}
	if (S_ISDIR(st.st_mode))
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s: hardlink to the dir %s refused",
				    path, link);
	r = make_room(x, dfd, base, false, err);
	if (r < 0)
		return r;
	if (linkat(tfd, tbase, dfd, base, 0) < 0)
		return ps_error_errno(err, "%s: hardlink to %s", path, link);
	return 0;

not_extracted:
	return ps_error_set(err, PS_ERR_INVALID, 0,
			    "%s: hardlink to %s, which is not in the archive before it: refused",
			    path, link);
}

static int make_whiteout(struct extractor *x, int dfd, const char *base, const char *path,
			 ps_error **err)
{
	const char *name = base + strlen(WHITEOUT_PREFIX);
	struct stat st;

	if (streq(base, WHITEOUT_OPAQUE)) {
		_cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
			return ps_error_errno(err, "%s: mark dir opaque", path);
		return 0;
	}
	if (!*name || streq(name, ".") || streq(name, "..") ||
	    strncmp(name, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s: bad whiteout", path);
	/* The layer's own entry of that name, if any, already hides the lower one. */
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (mknodat(dfd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
		return ps_error_errno(err, "%s: create whiteout", path);
	return 0;
}

static int extract_entry(struct extractor *x, struct archive_entry *e, ps_error **err)
{
	_cleanup_free_ char *path = NULL;
	const char *raw = archive_entry_pathname(e), *base, *link;
	char *slash;
	mode_t type = archive_entry_filetype(e);
	int dfd, r;

	if (!raw)
		return ps_error_set(err, PS_ERR_INVALID, 0, "archive entry without a name");
	r = normalize_path(raw, &path, err);
	if (r < 0)
		return r;
	if (!*path && type != AE_IFDIR)
		return 0; /* "./" as anything but a dir: nothing to make */
	if (++x->stats.entries > x->max_entries)
		return ps_error_set(err, PS_ERR_INVALID, E2BIG,
				    "archive holds more than %lld entries", x->max_entries);

	/* Split into parent and base, and open the parent safely. */
	slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		r = parent_fd(x, path, &dfd, err);
		*slash = '/';
		base = slash + 1;
	} else {
		r = parent_fd(x, "", &dfd, err);
		base = path;
	}
	if (r < 0)
		return r;

	if (x->opts && x->opts->whiteouts &&
	    strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0)
		return make_whiteout(x, dfd, base, path, err);

	link = archive_entry_hardlink(e);
	if (link)
		return make_hardlink(x, link, dfd, base, path, err);

	switch (type) {
	case AE_IFREG:
		return write_file(x, e, dfd, base, path, err);
	case AE_IFDIR:
		return make_dir(x, e, dfd, base, path, err);
	case AE_IFLNK:
		return make_symlink(x, e, dfd, base, path, err);
	case AE_IFIFO:
		r = make_room(x, dfd, base, false, err);
		if (r < 0)
			return r;
		if (mkfifoat(dfd, base, archive_entry_perm(e) & 0777) < 0)
			return ps_error_errno(err, "%s: create fifo", path);
		return 0;
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFSOCK:
		/* A pod gets its /dev from stage1; nodes from an image are not trusted. */
		x->stats.skipped++;
		ps_log(PS_LOG_DEBUG, "extract: skipped device node or socket %s", path);
		return 0;
	default:
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s: unknown file type 0%o", path,
				    (unsigned)type);
	}
}

static int apply_dir_times(struct extractor *x, ps_error **err)
{
	/* Deepest first does not matter: setting a dir's time touches no parent. */
	for (size_t i = x->n_times; i-- > 0;) {
		_cleanup_close_ int fd = -1;
		struct timespec ts[2] = { x->times[i].mtime, x->times[i].mtime };
		int r = open_dir(x->root_fd, x->times[i].path, false, &fd, err);

		if (r < 0)
			return r;
		if (futimens(fd, ts) < 0)
			return ps_error_errno(err, "%s: set times", x->times[i].path);
	}
	return 0;
}

int ps_extract_fd(int archive_fd, int target_fd, const ps_extract_opts *opts,
		  ps_extract_stats *ret, ps_error **err)
{
	_cleanup_archive_ struct archive *a = NULL;
	struct extractor x = {
		.root_fd = target_fd,
		.opts = opts,
		.cache_fd = -1,
		.is_root = geteuid() == 0,
	};
	int r = 0;

	r = ps_archive_load(err);
	if (r < 0)
		return r;

	x.max_bytes = opts && opts->max_bytes > 0 ? opts->max_bytes : PS_EXTRACT_DEFAULT_MAX_BYTES;
	x.max_entries = opts && opts->max_entries > 0 ? opts->max_entries
						      : PS_EXTRACT_DEFAULT_MAX_ENTRIES;
	a = archive_read_new();
	if (!a)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "extract");
	x.a = a;
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_fd(a, archive_fd, 256 * 1024) != ARCHIVE_OK)
		return ps_error_set(err, PS_ERR_INVALID, 0, "read archive: %s",
				    archive_error_string(a));
	for (;;) {
		struct archive_entry *e;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF) {
			r = 0;
			break;
		}
		if (r < ARCHIVE_WARN) {
			r = ps_error_set(err, PS_ERR_INVALID, 0, "read archive: %s",
					 archive_error_string(a));
			break;
		}
		r = extract_entry(&x, e, err);
		if (r < 0)
			break;
		report_progress(&x, false);
	}
	cache_drop(&x);
	if (r >= 0)
		r = apply_dir_times(&x, err);
	for (size_t i = 0; i < x.n_times; i++)
		free(x.times[i].path);
	free(x.times);
	if (r < 0)
		return r;
	report_progress(&x, true);
	if (ret)
		*ret = x.stats;
	return 0;
}

int ps_extract_tree_at(int archive_fd, int dirfd, const char *name, const ps_extract_opts *opts,
		       ps_extract_stats *ret, ps_error **err)
{
	_cleanup_close_ int fd = -1;
	int r;

	r = ps_archive_load(err);
	if (r < 0)
		return r;

	if (mkdirat(dirfd, name, 0755) < 0)
		return ps_error_errno(err, "create %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = ps_error_errno(err, "open %s", name);
		unlinkat(dirfd, name, AT_REMOVEDIR);
		return r;
	}
	r = ps_extract_fd(archive_fd, fd, opts, ret, err);
	if (r < 0)
		ps_rm_rf_at(dirfd, name);
	return r;
}

int ps_open_in_root(int root_fd, const char *path, int flags, int *ret_fd, ps_error **err)
{
	_cleanup_free_ char *norm = NULL;
	_cleanup_close_ int dfd = -1;
	const char *base;
	char *slash;
	int r, fd;

	r = normalize_path(path, &norm, err);
	if (r < 0)
		return r;
	if (!*norm)
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s: not a file", path);
	slash = strrchr(norm, '/');
	if (slash) {
		*slash = '\0';
		r = open_dir(root_fd, norm, false, &dfd, err);
		if (r < 0)
			return r;
		base = slash + 1;
	} else {
		dfd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return ps_error_errno(err, "open");
		base = norm;
	}
	fd = openat(dfd, base, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ps_error_errno(err, "open %s", path);
	*ret_fd = fd;
	return 0;
}
