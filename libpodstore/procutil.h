/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_PROCUTIL_H
#define PODSTORE_PROCUTIL_H

/* Process identity helpers shared by stage1 and the CLI (internal, not
 * installed). A pid alone is not an identity: pair it with its start time. */

#include <sys/types.h>

/* Field 22 of /proc/<pid>/stat (start time in clock ticks since boot).
 * -ENOENT (or -ESRCH) when the process is gone. */
int ps_proc_starttime(pid_t pid, unsigned long long *ret);

/* A pidfd for pid, but only if it is still the process that started at
 * starttime (checked after the pidfd is open, so a reused pid is refused
 * with -ESRCH). O_CLOEXEC. Returns the fd or -errno. */
int ps_pidfd_open_verified(pid_t pid, unsigned long long starttime);

#endif
