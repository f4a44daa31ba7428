/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_UTIL_H
#define PODSTORE_UTIL_H

/* Internal helpers shared by the library, stage1 and the CLI (not installed). */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand ownership out of a cleanup-scoped variable. */
#define TAKE_PTR(p)                          \
	({                                   \
		__typeof__(p) _taken = (p);  \
		(p) = NULL;                  \
		_taken;                      \
	})
#define TAKE_FD(fd)                   \
	({                            \
		int _taken = (fd);    \
		(fd) = -1;            \
		_taken;               \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define streq(a, b) (strcmp((a), (b)) == 0)

/* malloc-family wrappers that abort on OOM are not allowed in the library;
 * these return NULL and let the caller report ENOMEM. */
char *ps_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write all of buf, retrying on EINTR and short writes. -errno on failure. */
int ps_write_all(int fd, const void *buf, size_t len);

/* Read a whole fd into a NUL-terminated buffer; at most max bytes. */
int ps_read_all(int fd, size_t max, char **ret, size_t *ret_len);

/* Remove a directory tree relative to dirfd without following symlinks and
 * without crossing into other mounts. Missing is success. */
int ps_rm_rf_at(int dirfd, const char *name);

/* A directory of the store may be trusted (store.c): owned by root or the
 * effective uid, not writable by group or others (an ancestor may be sticky
 * and world-writable, like /tmp). 0, -EPERM (owner) or -EACCES (mode). */
struct stat;
int ps_dir_check_trusted(const struct stat *st, bool ancestor);

/* The writer's pid in the name of a temporary entry, "<what>.<pid>" (the
 * atomic writes' ".<name>.tmp.<pid>", $DIR/tmp's entries); 0 when the name
 * ends in no pid. */
pid_t ps_tmp_name_owner(const char *name);
/* Is pid a live process (ours to signal or not)? A reused pid says yes. */
bool ps_pid_alive(pid_t pid);

/* mkdirat() that treats EEXIST as success. */
int ps_mkdirat_p(int dirfd, const char *name, mode_t mode);

/* The current CLOCK_REALTIME time in nanoseconds. */
long long ps_now_ns(void);
/* CLOCK_MONOTONIC in nanoseconds. */
long long ps_monotonic_ns(void);

/* Format ns since the epoch as RFC 3339 with nanoseconds, UTC ("Z"). buf >= 40. */
void ps_format_time(long long ns, char *buf, size_t len);
/* Parse what ps_format_time() wrote. */
int ps_parse_time(const char *s, long long *ret_ns);

/* A name is safe as a single path component: [A-Za-z0-9._-], 1..max chars, not . or .. */
bool ps_name_is_valid(const char *name, size_t max);

#endif
