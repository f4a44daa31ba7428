/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_CNI_INTERNAL_H
#define PODSTORE_CNI_INTERNAL_H

/* Shared by cni.c (plugin calls, attach, detach), cni-conf.c (conflists)
 * and cni-result.c (results). Not installed. */

#include <podstore/cni.h>

#define CONFLIST_MAX (1024 * 1024)
#define RESULT_MAX (1024 * 1024)

static inline void resultp(ps_cni_result **r)
{
	ps_cni_result_free(*r);
}

/* The executable dir/type for the first dir of path (colon-separated)
 * holding it: 0 and *ret, -ENOENT, -ENOMEM. */
int cni_plugin_find(const char *path, const char *type, char **ret);
/* Cut s to its first line, at most 300 bytes, control bytes blanked. */
void cni_one_line(char *s);
/* pod_fd's net/ dir: an fd, -ENOENT (no network) without *err, or an error. */
int cni_net_dir_open(int pod_fd, ps_error **err);

#endif
