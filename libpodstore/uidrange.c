/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * $DIR/userns/<uuid>: the table of user-namespace id ranges, one record per
 * pod, changed only under an exclusive flock on $DIR/userns (uidrange.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>

#include <podstore/fileio.h>
#include <podstore/uidrange.h>
#include <podstore/uuid.h>
#include "lockdir.h"
#include "util.h"

#define USERNS_DIR "userns"
#define POD_USERNS_FILE "userns"
#define RECORD_MAX 64

bool ps_idrange_overlaps(const ps_idrange *a, const ps_idrange *b)
{
	uint64_t ae = (uint64_t)a->uid + a->size, be = (uint64_t)b->uid + b->size;
	uint64_t ag = (uint64_t)a->gid + a->size, bg = (uint64_t)b->gid + b->size;

	if (!a->size || !b->size)
		return false;
	return (a->uid < be && b->uid < ae) || (a->gid < bg && b->gid < ag);
}

int ps_idrange_check(const ps_idrange *r, ps_error **err)
{
	if (r->size == 0)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "id range: size must be at least 1");
	if (r->uid == 0 || r->gid == 0)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL,
		                    "id range: uid and gid must not be 0 (the pod's root would be the host's)");
	/* 2^32-1 is (uid_t)-1, never a valid id. */
	if ((uint64_t)r->uid + r->size > UINT32_MAX || (uint64_t)r->gid + r->size > UINT32_MAX)
		return ps_error_set(err, PS_ERR_INVALID, ERANGE, "id range: past the last id");
	return 0;
}

int ps_idrange_pick(const ps_idrange *taken, size_t n, ps_idrange *ret)
{
	for (uint64_t base = PS_IDRANGE_FIRST; base + PS_IDRANGE_SIZE <= PS_IDRANGE_LAST;
	     base += PS_IDRANGE_SIZE) {
		ps_idrange c = { (uint32_t)base, (uint32_t)base, PS_IDRANGE_SIZE };
		bool free_ = true;
		for (size_t i = 0; i < n && free_; i++)
			free_ = !ps_idrange_overlaps(&c, &taken[i]);
		if (free_) {
			*ret = c;
			return 0;
		}
	}
	return -ENOSPC;
}

void ps_idrange_format(const ps_idrange *r, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", r->uid, r->gid, r->size);
}

static int parse_u32(const char **s, uint32_t *ret)
{
	char *end;
	if (**s < '0' || **s > '9')
		return -EBADMSG;
	errno = 0;
	unsigned long long v = strtoull(*s, &end, 10);
	if (errno || v > UINT32_MAX)
		return -EBADMSG;
	*ret = (uint32_t)v;
	*s = end;
	return 0;
}

int ps_idrange_parse(const char *s, ps_idrange *ret)
{
	ps_idrange r;

	if (parse_u32(&s, &r.uid) < 0 || *s++ != ' ' || parse_u32(&s, &r.gid) < 0 || *s++ != ' ' ||
	    parse_u32(&s, &r.size) < 0 || (*s && !(s[0] == '\n' && !s[1])))
		return -EBADMSG;
	if (ps_idrange_check(&r, NULL) < 0)
		return -EBADMSG;
	*ret = r;
	return 0;
}

static int record_read(int dirfd, const char *name, ps_idrange *ret)
{
	_cleanup_free_ char *buf = NULL;
	int r = ps_read_file_at(dirfd, name, RECORD_MAX, &buf, NULL, NULL);
	if (r < 0)
		return r;
	return ps_idrange_parse(buf, ret);
}

/* A record's name, "<uuid>.<uid>-<gid>-<size>": the table is read with one
 * readdir and no file opened. Its content says the same (for people). */
static int record_name(const char *uuid, const ps_idrange *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s.%" PRIu32 "-%" PRIu32 "-%" PRIu32, uuid, r->uid, r->gid, r->size);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int record_name_parse(const char *name, char uuid[PS_UUID_LEN + 1], ps_idrange *ret)
{
	char line[64];

	if (strlen(name) <= PS_UUID_LEN + 1 || name[PS_UUID_LEN] != '.')
		return -EBADMSG;
	memcpy(uuid, name, PS_UUID_LEN);
	uuid[PS_UUID_LEN] = '\0';
	if (!ps_uuid_is_valid(uuid))
		return -EBADMSG;
	snprintf(line, sizeof(line), "%s", name + PS_UUID_LEN + 1);
	for (char *c = line; *c; c++)
		if (*c == '-')
			*c = ' ';
	return ps_idrange_parse(line, ret);
}

/* Each record of the locked table: fn(dirfd, name, uuid, range, data).
 * Entries that are not records (the atomic writes' tmp files) are skipped. */
typedef int (*record_fn)(int dirfd, const char *name, const char *uuid, const ps_idrange *r,
                         void *data);

static int table_each(int dirfd, record_fn fn, void *data, ps_error **err)
{
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	int r = 0;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return ps_error_errno(err, "read the id range table");
	}
	while ((de = readdir(d))) {
		char uuid[PS_UUID_LEN + 1];
		ps_idrange rg;
		if (record_name_parse(de->d_name, uuid, &rg) < 0)
			continue;
		r = fn(dirfd, de->d_name, uuid, &rg, data);
		if (r < 0)
			break;
	}
	closedir(d);
	return r;
}

struct collect {
	const char *skip;   /* the allocating pod's own record */
	ps_idrange *v;
	size_t n, cap;
	bool own_found;
	ps_idrange own;
};

static int collect_one(int dirfd, const char *name, const char *uuid, const ps_idrange *r, void *data)
{
	struct collect *c = data;

	(void)dirfd;
	(void)name;
	if (c->skip && streq(uuid, c->skip)) {
		c->own_found = true;
		c->own = *r;
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		ps_idrange *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *r;
	return 0;
}

int ps_idrange_allocate(ps_store *s, const char *uuid, const ps_idrange *want, ps_idrange *ret,
                        ps_error **err)
{
	struct collect c = { .skip = uuid };
	ps_idrange got;
	char buf[RECORD_MAX], name[RECORD_MAX + PS_UUID_LEN];
	int r;

	if (!ps_uuid_is_valid(uuid))
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "allocate id range: bad uuid");
	if (want && (r = ps_idrange_check(want, err)) < 0)
		return r;
	_cleanup_close_ int fd = ps_lockdir_open(s, USERNS_DIR, true, true, err);
	if (fd < 0)
		return fd;
	if (!ps_lockdir_pod_exists(s, uuid))
		return ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "allocate id range: no pod %s", uuid);
	r = table_each(fd, collect_one, &c, err);
	if (r < 0) {
		free(c.v);
		return r == -ENOMEM ? ps_error_set(err, PS_ERR_FAILED, ENOMEM, "allocate id range") : r;
	}
	if (c.own_found && (!want || (want->uid == c.own.uid && want->gid == c.own.gid &&
	                              want->size == c.own.size))) {
		free(c.v);
		*ret = c.own;
		return 0;
	}
	if (want) {
		got = *want;
		for (size_t i = 0; i < c.n; i++)
			if (ps_idrange_overlaps(&got, &c.v[i])) {
				ps_idrange o = c.v[i];
				free(c.v);
				return ps_error_set(err, PS_ERR_BUSY, EBUSY,
				                    "id range uid %" PRIu32 " gid %" PRIu32 " size %" PRIu32
				                    " overlaps another pod's (uid %" PRIu32 " gid %" PRIu32
				                    " size %" PRIu32 ")",
				                    got.uid, got.gid, got.size, o.uid, o.gid, o.size);
			}
	} else if (ps_idrange_pick(c.v, c.n, &got) < 0) {
		free(c.v);
		return ps_error_set(err, PS_ERR_BUSY, ENOSPC, "no free id range for a user namespace");
	}
	free(c.v);
	/* A pod asking for another range than it has: that one goes. */
	if (c.own_found && record_name(uuid, &c.own, name, sizeof(name)) == 0)
		unlinkat(fd, name, 0);
	ps_idrange_format(&got, buf, sizeof(buf));
	if (record_name(uuid, &got, name, sizeof(name)) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENAMETOOLONG, "record id range");
	r = ps_write_file_at(fd, name, buf, strlen(buf), 0644, PS_WRITE_DURABLE, err);
	if (r < 0)
		return ps_error_prefix(err, r, "record id range");
	*ret = got;
	return 0;
}

static int release_one(int dirfd, const char *name, const char *uuid, const ps_idrange *r, void *data)
{
	(void)r;
	if (streq(uuid, (const char *)data))
		unlinkat(dirfd, name, 0);
	return 0;
}

int ps_idrange_release(ps_store *s, const char *uuid, const ps_idrange *rg, ps_error **err)
{
	char name[RECORD_MAX + PS_UUID_LEN];

	ps_error *e = NULL;

	if (!ps_uuid_is_valid(uuid))
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "release id range: bad uuid");
	_cleanup_close_ int fd = ps_lockdir_open(s, USERNS_DIR, false, true, &e);
	if (fd < 0) {
		bool none = e->kind == PS_ERR_NOT_FOUND;
		if (none) {
			ps_error_free(&e);
			return 0;
		}
		if (err)
			*err = e;
		else
			ps_error_free(&e);
		return fd;
	}
	if (rg && record_name(uuid, rg, name, sizeof(name)) == 0) {
		if (unlinkat(fd, name, 0) < 0 && errno != ENOENT)
			return ps_error_errno(err, "release id range of pod %s", uuid);
		return 0;
	}
	return table_each(fd, release_one, (void *)uuid, err);
}

struct sweep {
	ps_store *s;
	unsigned removed;
};

static int sweep_one(int dirfd, const char *name, const char *uuid, const ps_idrange *r, void *data)
{
	struct sweep *sw = data;

	(void)r;
	if (!ps_lockdir_pod_exists(sw->s, uuid) && unlinkat(dirfd, name, 0) == 0)
		sw->removed++;
	return 0;
}

/* ".<record>.tmp.<pid>" of an atomic write whose writer is dead (a prepare
 * killed between writing its record and renaming it into place). */
static void sweep_tmp(int dirfd)
{
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		pid_t owner = de->d_name[0] == '.' && strstr(de->d_name, ".tmp.") ? ps_tmp_name_owner(de->d_name) : 0;
		if (owner > 0 && !ps_pid_alive(owner))
			unlinkat(dirfd, de->d_name, 0);
	}
	closedir(d);
}

int ps_idrange_sweep(ps_store *s, unsigned *ret_removed, ps_error **err)
{
	struct sweep sw = { .s = s };
	ps_error *e = NULL;

	if (ret_removed)
		*ret_removed = 0;
	_cleanup_close_ int fd = ps_lockdir_open(s, USERNS_DIR, false, true, &e);
	if (fd < 0) {
		bool none = e->kind == PS_ERR_NOT_FOUND;
		ps_error_free(&e);
		return none ? 0 : ps_error_errno(err, "open %s/%s", ps_store_path(s), USERNS_DIR);
	}
	int r = table_each(fd, sweep_one, &sw, err);
	sweep_tmp(fd);
	if (ret_removed)
		*ret_removed = sw.removed;
	return r;
}

int ps_idrange_list(ps_store *s, ps_idrange **ret, size_t *ret_n, ps_error **err)
{
	struct collect c = { 0 };
	ps_error *e = NULL;

	_cleanup_close_ int fd = ps_lockdir_open(s, USERNS_DIR, false, true, &e);
	if (fd < 0) {
		bool none = e->kind == PS_ERR_NOT_FOUND;
		ps_error_free(&e);
		if (!none)
			return ps_error_errno(err, "open %s/%s", ps_store_path(s), USERNS_DIR);
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	int r = table_each(fd, collect_one, &c, err);
	if (r < 0) {
		free(c.v);
		return r == -ENOMEM ? ps_error_set(err, PS_ERR_FAILED, ENOMEM, "list id ranges") : r;
	}
	*ret = c.v;
	*ret_n = c.n;
	return 0;
}

int ps_idrange_pod_write(int pod_fd, const ps_idrange *rg, ps_error **err)
{
	char buf[RECORD_MAX];
	int r = ps_idrange_check(rg, err);

	if (r < 0)
		return r;
	ps_idrange_format(rg, buf, sizeof(buf));
	return ps_write_file_at(pod_fd, POD_USERNS_FILE, buf, strlen(buf), 0644, PS_WRITE_SYNC_DATA, err);
}

int ps_idrange_pod_read(int pod_fd, ps_idrange *ret, ps_error **err)
{
	int r = record_read(pod_fd, POD_USERNS_FILE, ret);

	if (r == -ENOENT)
		return r;
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "read %s", POD_USERNS_FILE);
	return 0;
}
