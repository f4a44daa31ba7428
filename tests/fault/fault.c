/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A test-only LD_PRELOAD shim that makes the Nth call of one libc function
 * fail with a chosen errno (tests/functional/test-faults.sh walks N).
 *
 *   PODCTL_FAULT=NAME:N:ERRNO   fail the Nth call of NAME (1-based) with
 *                               ERRNO (ENOSPC, EIO, EINTR, ENOMEM, …); every
 *                               other call goes through
 *   PODCTL_FAULT_COUNT=FILE     append "NAME COUNT" per function at exit, so
 *                               a walker knows how far N goes
 *
 * NAME is one of write, fsync, fdatasync, rename, renameat, renameat2,
 * mkdir, mkdirat, open, openat, mount. Only the process it is preloaded in is
 * affected (podctl; the static stage1 ignores LD_PRELOAD). Never built into
 * anything that ships.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

enum fn { F_WRITE, F_FSYNC, F_FDATASYNC, F_RENAME, F_RENAMEAT, F_RENAMEAT2, F_MKDIR, F_MKDIRAT,
	  F_OPEN, F_OPENAT, F_MOUNT, F_COUNT };

static const char *const names[F_COUNT] = {
	"write", "fsync", "fdatasync", "rename", "renameat", "renameat2",
	"mkdir", "mkdirat", "open", "openat", "mount",
};

static unsigned long calls[F_COUNT];
static int active;
static int target = -1;
static unsigned long target_n;
static int target_errno;

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EINTR", EINTR }, { "ENOMEM", ENOMEM },
	{ "EDQUOT", EDQUOT }, { "EACCES", EACCES }, { "EROFS", EROFS },
};

static void report(void)
{
	const char *path = getenv("PODCTL_FAULT_COUNT");
	if (!path)
		return;
	FILE *f = fopen(path, "ae");
	if (!f)
		return;
	for (int i = 0; i < F_COUNT; i++)
		if (calls[i])
			fprintf(f, "%s %lu\n", names[i], calls[i]);
	fclose(f);
}

__attribute__((constructor)) static void fault_init(void)
{
	const char *spec = getenv("PODCTL_FAULT");
	char name[32], err[16];
	unsigned long n;

	/* Only podctl itself: not a wrapper such as timeout(1) that the test
	 * runs it under, and not what podctl execs (the preload is dropped). */
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return;
	exe[len] = '\0';
	const char *base = strrchr(exe, '/');
	if (strcmp(base ? base + 1 : exe, "podctl") != 0)
		return;
	unsetenv("LD_PRELOAD");
	active = 1;
	atexit(report);
	if (!spec || sscanf(spec, "%31[a-z0-9]:%lu:%15[A-Z]", name, &n, err) != 3)
		return;
	for (int i = 0; i < F_COUNT; i++)
		if (strcmp(names[i], name) == 0)
			target = i;
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(errnos[i].name, err) == 0)
			target_errno = errnos[i].value;
	target_n = n;
	if (!target_errno)
		target = -1;
}

/* Count the call; true when this one must fail. */
static int hit(enum fn f)
{
	if (!active)
		return 0;
	calls[f]++;
	if ((int)f == target && calls[f] == target_n) {
		errno = target_errno;
		return 1;
	}
	return 0;
}

#define REAL(type, name, ...)                                         \
	static type (*real_##name)(__VA_ARGS__);                      \
	if (!real_##name)                                             \
		real_##name = (type(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(ssize_t, write, int, const void *, size_t);
	/* The test's own stderr stays writable: the one-line error must get out. */
	if (fd != STDERR_FILENO && hit(F_WRITE))
		return -1;
	return real_write(fd, buf, len);
}

int fsync(int fd)
{
	REAL(int, fsync, int);
	if (hit(F_FSYNC))
		return -1;
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	if (hit(F_FDATASYNC))
		return -1;
	return real_fdatasync(fd);
}

int rename(const char *a, const char *b)
{
	REAL(int, rename, const char *, const char *);
	if (hit(F_RENAME))
		return -1;
	return real_rename(a, b);
}

int renameat(int ad, const char *a, int bd, const char *b)
{
	REAL(int, renameat, int, const char *, int, const char *);
	if (hit(F_RENAMEAT))
		return -1;
	return real_renameat(ad, a, bd, b);
}

int renameat2(int ad, const char *a, int bd, const char *b, unsigned flags)
{
	REAL(int, renameat2, int, const char *, int, const char *, unsigned);
	if (hit(F_RENAMEAT2))
		return -1;
	return real_renameat2(ad, a, bd, b, flags);
}

int mkdir(const char *p, mode_t m)
{
	REAL(int, mkdir, const char *, mode_t);
	if (hit(F_MKDIR))
		return -1;
	return real_mkdir(p, m);
}

int mkdirat(int d, const char *p, mode_t m)
{
	REAL(int, mkdirat, int, const char *, mode_t);
	if (hit(F_MKDIRAT))
		return -1;
	return real_mkdirat(d, p, m);
}

int open(const char *p, int flags, ...)
{
	REAL(int, open, const char *, int, ...);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (hit(F_OPEN))
		return -1;
	return real_open(p, flags, mode);
}

int open64(const char *p, int flags, ...) __attribute__((alias("open")));

int openat(int d, const char *p, int flags, ...)
{
	REAL(int, openat, int, const char *, int, ...);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (hit(F_OPENAT))
		return -1;
	return real_openat(d, p, flags, mode);
}

int openat64(int d, const char *p, int flags, ...) __attribute__((alias("openat")));

int mount(const char *src, const char *dst, const char *type, unsigned long flags, const void *data)
{
	REAL(int, mount, const char *, const char *, const char *, unsigned long, const void *);
	if (hit(F_MOUNT))
		return -1;
	return real_mount(src, dst, type, flags, data);
}

/* podctl run execs stage1: report the counts before the image is replaced. */
int execv(const char *path, char *const argv[])
{
	REAL(int, execv, const char *, char *const[]);
	if (active)
		report();
	return real_execv(path, argv);
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	REAL(int, execve, const char *, char *const[], char *const[]);
	if (active)
		report();
	return real_execve(path, argv, envp);
}
