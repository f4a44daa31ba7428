/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "openat-root.h"
#include "util.h"

#define MAX_SYMLINKS 40

bool ps_openat_force_fallback;

static bool use_fallback(void)
{
	static int from_env = -1;

	if (from_env < 0) {
		const char *e = getenv("PODSTORE_TEST_NO_OPENAT2");
		from_env = e && streq(e, "1");
	}
	return ps_openat_force_fallback || from_env;
}

/* Re-open the dir at the resolved components (real dirs, no symlinks)
 * under root: after a ".." the walk goes back down from the root instead
 * of trusting a ".." entry, which could lead out of a moved subtree. */
static int reopen(int root_fd, char **comps, size_t n)
{
	int cur = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	for (size_t i = 0; cur >= 0 && i < n; i++) {
		int fd = openat(cur, comps[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(cur);
		cur = fd;
	}
	return cur >= 0 ? cur : -errno;
}

static int walk(int root_fd, const char *path, int flags, mode_t mode, unsigned rflags)
{
	_cleanup_free_ char *todo = strdup(path);
	char **comps = NULL; /* the resolved components, owned */
	size_t n = 0, cap = 0;
	int cur, links = 0, r;

	if (!todo)
		return -ENOMEM;
	cur = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return -errno;
	for (char *p = todo;;) {
		char *e, *comp;
		bool last;
		struct stat st;
		int fd;

		while (*p == '/')
			p++;
		if (!*p) {
			/* The path ends at a dir: open it as asked. */
			r = openat(cur, ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
			r = r >= 0 ? r : -errno;
			goto out;
		}
		e = strchrnul(p, '/');
		last = !e[strspn(e, "/")];
		comp = p;
		p = *e ? e + 1 : e;
		*e = '\0';
		if (streq(comp, "."))
			continue;
		if (streq(comp, "..")) {
			if (n > 0) {
				free(comps[--n]);
				close(cur);
				cur = reopen(root_fd, comps, n);
				if (cur < 0) {
					r = cur;
					goto out;
				}
			}
			continue;
		}
		fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && (rflags & PS_ROOT_MKDIR) && !(last && (flags & O_CREAT))) {
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				r = -errno;
				goto out;
			}
			fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			r = -errno;
			if (r == -ENOENT && last && (flags & O_CREAT)) {
				r = openat(cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
				r = r >= 0 ? r : -errno;
			}
			goto out;
		}
		if (fstat(fd, &st) < 0) {
			r = -errno;
			close(fd);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t len;
			char *next;

			if ((rflags & PS_ROOT_NO_SYMLINKS) || (last && (flags & O_NOFOLLOW)) ||
			    ++links > MAX_SYMLINKS) {
				close(fd);
				r = -ELOOP;
				goto out;
			}
			len = readlinkat(fd, "", target, sizeof(target) - 1);
			close(fd);
			if (len < 0) {
				r = -errno;
				goto out;
			}
			target[len] = '\0';
			if (target[0] == '/') {
				while (n > 0)
					free(comps[--n]);
				close(cur);
				cur = reopen(root_fd, comps, 0);
				if (cur < 0) {
					r = cur;
					goto out;
				}
			}
			/* Go on with the link's target, then the rest of the path. */
			next = ps_strdup_printf("%s/%s", target, p);
			if (!next) {
				r = -ENOMEM;
				goto out;
			}
			free(todo);
			todo = next;
			p = todo;
			continue;
		}
		if (last) {
			/* Open the real thing; O_NOFOLLOW, in case it became a
			 * symlink since the O_PATH open. */
			close(fd);
			r = openat(cur, comp, (flags & ~O_CREAT) | O_NOFOLLOW | O_CLOEXEC);
			r = r >= 0 ? r : -errno;
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			r = -ENOTDIR;
			goto out;
		}
		if (n == cap) {
			char **nc = realloc(comps, (cap = cap ? 2 * cap : 16) * sizeof(char *));
			if (!nc) {
				close(fd);
				r = -ENOMEM;
				goto out;
			}
			comps = nc;
		}
		if (!(comps[n] = strdup(comp))) {
			close(fd);
			r = -ENOMEM;
			goto out;
		}
		n++;
		close(cur);
		cur = fd;
	}
out:
	close(cur);
	while (n > 0)
		free(comps[--n]);
	free(comps);
	return r;
}

int ps_openat_in_root(int root_fd, const char *path, int flags, mode_t mode, unsigned rflags)
{
	static bool no_openat2;
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	if (rflags & PS_ROOT_NO_SYMLINKS)
		how.resolve |= RESOLVE_NO_SYMLINKS;
	if (!*path)
		path = ".";
	if (!no_openat2 && !use_fallback()) {
		for (int tries = 0; tries < 8; tries++) {
			int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
			if (fd >= 0)
				return fd;
			/* Missing dirs to make: the walk makes them (inside the root). */
			if (errno == ENOENT && (rflags & PS_ROOT_MKDIR))
				return walk(root_fd, path, flags, mode, rflags);
			/* EAGAIN: a rename raced the lookup; the kernel asks us to retry. */
			if (errno != EAGAIN)
				break;
		}
		if (errno != ENOSYS && errno != EPERM && errno != E2BIG)
			return -errno;
		no_openat2 = true; /* old kernel or a seccomp filter */
	}
	return walk(root_fd, path, flags, mode, rflags);
}
