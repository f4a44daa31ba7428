/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_PASSWD_H
#define PODSTORE_PASSWD_H

/*
 * Users and groups of an image, from the text of its /etc/passwd and
 * /etc/group (internal: stage1 reads the files, this parses them). Lines
 * are split on ':' keeping empty fields, so "app::1000:2000:…" has an empty
 * password, uid 1000 and gid 2000; an id must be plain decimal digits and
 * fit a uid_t/gid_t other than (uid_t)-1, anything else is -EBADMSG, never
 * uid 0. Lines of any length are handled whole. Functions return 0 or a
 * negative errno and never print.
 */

#include <stddef.h>
#include <sys/types.h>

/* Largest /etc/passwd or /etc/group stage1 reads from an image. */
#define PS_PASSWD_FILE_MAX (4 * 1024 * 1024)

/* A decimal id ("0".."4294967294"), len bytes of s: 0 or -EINVAL. */
int ps_id_parse(const char *s, size_t len, unsigned *ret);

/* The entry of user name in passwd text: 0 with uid and gid; -ENOENT when
 * no line names it; -EBADMSG when the first line naming it is malformed. */
int ps_passwd_find(const char *buf, size_t len, const char *name, uid_t *ret_uid, gid_t *ret_gid);

/* The gid of group name in group text: as ps_passwd_find(). */
int ps_group_find(const char *buf, size_t len, const char *name, gid_t *ret_gid);

#endif
