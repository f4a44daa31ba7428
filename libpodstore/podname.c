/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * $DIR/names/<name> -> <uuid>: the index that makes pod names unique and
 * lets every verb take a name where it takes a uuid (podname.h).
 */
#include <dirent.h>
#include <fcntl.h>

#include <podstore/pod.h>
#include <podstore/podname.h>
#include "lockdir.h"
#include "manifest-internal.h"
#include "util.h"

#define NAMES_DIR "names"

static int check_name(const char *name, ps_error **err)
{
	if (!ps_manifest_name_is_valid(name))
		return ps_error_set(err, PS_ERR_INVALID, 0,
		                    "bad pod name \"%s\" (expected [a-z0-9][a-z0-9-]*, at most 63 characters)",
		                    name);
	return 0;
}

/* The uuid the link says, or "" when there is no valid link. */
static void read_link(int names_fd, const char *name, char uuid[PS_UUID_LEN + 1])
{
	char buf[PS_UUID_LEN + 2];
	ssize_t n = readlinkat(names_fd, name, buf, sizeof(buf) - 1);

	uuid[0] = '\0';
	if (n != PS_UUID_LEN)
		return;
	buf[n] = '\0';
	if (ps_uuid_is_valid(buf))
		memcpy(uuid, buf, PS_UUID_LEN + 1);
}

/* Does the pod still hold its name? Collected, being collected, or an
 * aborted prepare: no. */
static bool pod_holds_name(ps_store *s, const char *uuid)
{
	ps_pod *p = NULL;
	ps_error *e = NULL;

	if (ps_pod_open(s, uuid, PS_DIR_EMBRYO, &p, &e) < 0) {
		bool gone = e->kind == PS_ERR_NOT_FOUND;
		ps_error_free(&e);
		return !gone; /* when in doubt, the name stays taken */
	}
	bool holds = p->state != PS_STATE_GARBAGE && p->state != PS_STATE_DELETING &&
	             p->state != PS_STATE_ABORTED_PREPARE;
	ps_pod_free(p);
	return holds;
}

int ps_pod_name_claim(ps_store *s, const char *name, const char *uuid, ps_error **err)
{
	char held[PS_UUID_LEN + 1];
	int r;

	r = check_name(name, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = ps_lockdir_open(s, NAMES_DIR, true, true, err);
	if (fd < 0)
		return fd;
	read_link(fd, name, held);
	if (held[0] && !streq(held, uuid) && pod_holds_name(s, held))
		return ps_error_set(err, PS_ERR_BUSY, 0,
		                    "pod name \"%s\" is taken by pod %s (podctl rm %s frees it)",
		                    name, held, name);
	if (held[0] && streq(held, uuid))
		return 0;
	/* Usually nothing stands there: link first, replace a stale one after. */
	if (symlinkat(uuid, fd, name) == 0)
		return 0;
	if (errno != EEXIST)
		return ps_error_errno(err, "claim pod name %s", name);
	if (unlinkat(fd, name, 0) < 0 && errno != ENOENT)
		return ps_error_errno(err, "remove stale name %s", name);
	if (symlinkat(uuid, fd, name) < 0)
		return ps_error_errno(err, "claim pod name %s", name);
	return 0;
}

int ps_pod_name_release(ps_store *s, const char *name, const char *uuid, ps_error **err)
{
	char held[PS_UUID_LEN + 1];
	ps_error *e = NULL;

	if (check_name(name, NULL) < 0)
		return 0; /* never claimed */
	_cleanup_close_ int fd = ps_lockdir_open(s, NAMES_DIR, false, true, &e);
	if (fd < 0) {
		bool none = e->kind == PS_ERR_NOT_FOUND;
		if (none) {
			ps_error_free(&e);
			return 0;
		}
		if (err && !*err)
			*err = e;
		else
			ps_error_free(&e);
		return fd;
	}
	read_link(fd, name, held);
	if (streq(held, uuid) && unlinkat(fd, name, 0) < 0 && errno != ENOENT)
		return ps_error_errno(err, "release pod name %s", name);
	return 0;
}

int ps_pod_name_resolve(ps_store *s, const char *name, char *ret, ps_error **err)
{
	char held[PS_UUID_LEN + 1];
	ps_error *e = NULL;

	if (check_name(name, NULL) < 0)
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no pod named \"%s\"", name);
	_cleanup_close_ int fd = ps_lockdir_open(s, NAMES_DIR, false, false, &e);
	if (fd < 0) {
		ps_error_free(&e);
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no pod named \"%s\"", name);
	}
	/* No lock: a link is created and removed whole. */
	read_link(fd, name, held);
	if (!held[0] || !pod_holds_name(s, held))
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no pod named \"%s\"", name);
	memcpy(ret, held, PS_UUID_LEN + 1);
	return 0;
}

int ps_pod_names_sweep(ps_store *s, ps_error **err)
{
	ps_error *e = NULL;
	_cleanup_close_ int fd = ps_lockdir_open(s, NAMES_DIR, false, true, &e);

	if (fd < 0) {
		bool none = e->kind == PS_ERR_NOT_FOUND;
		ps_error_free(&e);
		return none ? 0 : ps_error_errno(err, "open %s/%s", ps_store_path(s), NAMES_DIR);
	}
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return ps_error_errno(err, "read %s/%s", ps_store_path(s), NAMES_DIR);
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		char held[PS_UUID_LEN + 1];
		if (de->d_name[0] == '.')
			continue;
		read_link(fd, de->d_name, held);
		/* Anything that is not a link to a pod that exists goes. */
		if (!held[0] || !ps_lockdir_pod_exists(s, held))
			unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
	return 0;
}
