/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PS_PEEKCACHE_H
#define PS_PEEKCACHE_H

/* The cache of ps_pod_peek_cached() (peekcache.c), as inspect.c uses it. */

#include <sys/stat.h>
#include <podstore/inspect.h>

/* The entry of uuid in dir whose pod dir is exactly st (device, inode,
 * ctime, mtime, size): fill *v with what `what` asks (as ps_pod_peek would)
 * and note it for the next save. false: not there, or stale. */
bool ps_peek_cache_find(ps_peek_cache *c, const char *uuid, ps_pod_dir dir, const struct stat *st,
                        unsigned what, ps_pod_view *v);

/* May a view read now for the pod dir st be kept? Only when the dir last
 * changed well before the cache was loaded (see peekcache.c). */
bool ps_peek_cache_wants(const ps_peek_cache *c, const struct stat *st);

/* Keep v (every marker read: info, pid, exit, and gc-marked in
 * exited-garbage/) as the entry of uuid in dir, for the dir st. */
void ps_peek_cache_add(ps_peek_cache *c, const char *uuid, ps_pod_dir dir, const struct stat *st,
                       const ps_pod_view *v);

#endif
