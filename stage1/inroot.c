/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Paths inside an app's root (an untrusted tree) and the files stage1 reads
 * from it, resolved by the library's ps_openat_in_root(): openat2(
 * RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) when the kernel has it (5.6+),
 * otherwise its user-space walk that resolves symlinks inside the root and
 * never lets the kernel follow one. Setting PODCTL_STAGE1_NO_OPENAT2=1 in
 * stage1's environment forces the walk, so the tests exercise it on kernels
 * that have openat2.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "openat-root.h"
#include "passwd.h"
#include "stage1.h"
#include "util.h"

bool s1_no_openat2;

/* One resolver for the whole project: the library's openat2 wrapper and
 * its user-space fallback (libpodstore/openat-root.c). */
int s1_open_in_root(int rootfd, const char *path, int flags)
{
	ps_openat_force_fallback = s1_no_openat2;
	return ps_openat_in_root(rootfd, path, flags, 0, 0);
}

int s1_read_image_file(int rootfd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO opens at once (and is refused below) instead of
	 * waiting for a writer; O_NOFOLLOW: the file itself is no symlink. */
	_cleanup_close_ int fd =
		s1_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((unsigned long long)st.st_size > max)
		return -EFBIG;
	return ps_read_all(fd, max, ret, ret_len);
}

/*
 * The working dir, resolved inside the root we run in (after pivot_root or
 * setns into the app's mount ns): no magic links (/proc/self/fd/N,
 * /proc/PID/cwd), no way above "/". Then, as runc does, the kernel is asked
 * where we ended up: a cwd outside our root reads as "(unreachable)…", which
 * getcwd() turns into ENOENT.
 */
int s1_chdir_in_root(const char *wd)
{
	char buf[PATH_MAX];

	if (!wd || !*wd)
		wd = "/";
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return -errno;
	int wfd = s1_open_in_root(root, wd, O_PATH | O_DIRECTORY);
	if (wfd < 0)
		return wfd;
	int r = fchdir(wfd);
	int e = errno;
	close(wfd);
	if (r < 0)
		return -e;
	if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
		return -EXDEV;
	return 0;
}

/* "uid[:gid]" / names, as Docker reads them: a name is looked up in the
 * image's files (regular files only, size-capped, never blocking); a numeric
 * user without a group runs with gid 0, a named one with its passwd gid. */
int s1_resolve_identity(int rootfd, const ps_app *m, uid_t *ret_uid, gid_t *ret_gid, ps_error **err)
{
	_cleanup_free_ char *user = strdup(m->user ? m->user : "");
	const char *group = NULL;
	unsigned id;
	uid_t uid = 0;
	gid_t gid = 0;
	int r;

	if (!user)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "user");
	char *colon = strchr(user, ':');
	if (colon) {
		*colon = '\0';
		group = colon + 1;
	}
	if (m->group && *m->group)
		group = m->group;
	if (*user) {
		if (ps_id_parse(user, strlen(user), &id) == 0) {
			uid = id;
		} else {
			_cleanup_free_ char *buf = NULL;
			size_t len = 0;
			r = s1_read_image_file(rootfd, "/etc/passwd", PS_PASSWD_FILE_MAX, &buf, &len);
			if (r >= 0)
				r = ps_passwd_find(buf, len, user, &uid, &gid);
			if (r == -ENOENT)
				return ps_error_set(err, PS_ERR_FAILED, ENOENT,
				                    "user %s: not in the image's /etc/passwd", user);
			if (r < 0)
				return ps_error_set(err, PS_ERR_FAILED, -r, "user %s: image's /etc/passwd%s",
				                    user, r == -EINVAL ? ": not a regular file" : "");
		}
	}
	if (group && *group) {
		if (ps_id_parse(group, strlen(group), &id) == 0) {
			gid = id;
		} else {
			_cleanup_free_ char *buf = NULL;
			size_t len = 0;
			r = s1_read_image_file(rootfd, "/etc/group", PS_PASSWD_FILE_MAX, &buf, &len);
			if (r >= 0)
				r = ps_group_find(buf, len, group, &gid);
			if (r == -ENOENT)
				return ps_error_set(err, PS_ERR_FAILED, ENOENT,
				                    "group %s: not in the image's /etc/group", group);
			if (r < 0)
				return ps_error_set(err, PS_ERR_FAILED, -r, "group %s: image's /etc/group%s",
				                    group, r == -EINVAL ? ": not a regular file" : "");
		}
	}
	*ret_uid = uid;
	*ret_gid = gid;
	return 0;
}

/* close_range(2) is 5.9+: before that, one close() per possible fd. */
static void close_from_to(unsigned from, unsigned to)
{
	if (syscall(SYS_close_range, from, to, 0U) == 0 || errno != ENOSYS)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 1 << 20)
		max = 1 << 20;
	for (unsigned fd = from; fd <= to && fd < (unsigned)max; fd++)
		close((int)fd);
}

void s1_close_fds_except(const int *keep, size_t n)
{
	int k[8];
	size_t m = 0;

	for (size_t i = 0; i < n && m < ARRAY_SIZE(k); i++)
		if (keep[i] >= 3)
			k[m++] = keep[i];
	/* sort (tiny n) */
	for (size_t i = 1; i < m; i++)
		for (size_t j = i; j > 0 && k[j - 1] > k[j]; j--) {
			int t = k[j];
			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	unsigned from = 3;
	for (size_t i = 0; i < m; i++) {
		if ((unsigned)k[i] > from)
			close_from_to(from, (unsigned)k[i] - 1);
		from = (unsigned)k[i] + 1;
	}
	close_from_to(from, ~0U);
}
