/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_CGROUP_INTERNAL_H
#define PODSTORE_CGROUP_INTERNAL_H

/*
 * What stage1 alone needs of libpodstore/cgroup.c (internal, not installed,
 * not exported): the cheap paths of a pod's life, where the public calls
 * would walk from each hierarchy's root again or read every usage file.
 */

#include <podstore/cgroup.h>

/* Like ps_cgroup_create(), but only in the hierarchies that carry one of
 * controllers (bits 1 << ps_cgroup_controller): on v1, a hierarchy with
 * nothing to do for the pod (cpu without a CPU limit, blkio without a
 * weight) gets no cgroup. v2 has one hierarchy, which carries them all. */
int ps_cgroup_create_in(ps_cgroup_host *h, const char *path, unsigned controllers, ps_cgroup **ret,
                        ps_error **err);

/* parent/name in every hierarchy parent is in: like ps_cgroup_create(h,
 * "PARENT_PATH/name") (v2: controllers enabled in parent first), but from
 * parent's open dirs, with no walk from the roots. */
int ps_cgroup_create_child(const ps_cgroup *parent, const char *name, ps_cgroup **ret, ps_error **err);

/* The two counters stage1 watches, on fds kept open (a cgroup file read
 * again from offset 0 shows the current values): OOM kills (v1
 * memory.oom_control, v2 memory.events) and refused forks (pids.events
 * max). -1 in an fd or a value: not available here. */
typedef struct ps_cgroup_counters {
	int oom_fd;
	int pids_fd;
} ps_cgroup_counters;
void ps_cgroup_counters_open(const ps_cgroup *cg, ps_cgroup_counters *ret);
void ps_cgroup_counters_read(const ps_cgroup_counters *c, long long *oom_kills, long long *pids_max_events);
void ps_cgroup_counters_close(ps_cgroup_counters *c);

/* Remove what stage1 made: path/children[i] for each i, then path, one
 * rmdir each in every hierarchy; in a hierarchy where one of them will not
 * go (processes left, cgroups an app made below its own),
 * ps_cgroup_remove()'s depth-first walk does the rest. A path already gone
 * is success. */
int ps_cgroup_remove_made(ps_cgroup_host *h, const char *path, const char *const *children, size_t n,
                          ps_error **err);

#endif
