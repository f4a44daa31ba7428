/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pods: lookup, state derivation, locking and transitions.
 *
 * Two invariants make lock-free readers safe:
 *  - a pod only moves forward through the state dirs (embryo, prepare,
 *    prepared, run, exited-garbage, garbage), so a reader that searches in
 *    that order and re-checks where it found the pod cannot miss one that
 *    exists throughout;
 *  - every move is made by the holder of the exclusive flock on the pod
 *    dir's fd, and the mover checks by inode that the dir it locked is the
 *    one it renames.
 */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <podstore/fileio.h>
#include <podstore/log.h>
#include <podstore/markers.h>
#include <podstore/pod.h>
#include <podstore/podname.h>
#include <podstore/uidrange.h>
#include "util.h"

/* How often a reader re-searches when the pod moved under it. Each retry
 * only happens after an observed forward move, and a pod makes at most five. */
#define LOOKUP_RETRIES 16

static const char *const state_names[] = {
	[PS_STATE_EMBRYO] = "embryo",
	[PS_STATE_PREPARING] = "preparing",
	[PS_STATE_ABORTED_PREPARE] = "aborted-prepare",
	[PS_STATE_PREPARED] = "prepared",
	[PS_STATE_RUNNING] = "running",
	[PS_STATE_EXITED] = "exited",
	[PS_STATE_EXITED_DELETING] = "exited-deleting",
	[PS_STATE_EXITED_GARBAGE] = "exited-garbage",
	[PS_STATE_DELETING] = "deleting",
	[PS_STATE_GARBAGE] = "garbage",
};

const char *ps_pod_state_name(ps_pod_state st)
{
	return (size_t)st < ARRAY_SIZE(state_names) ? state_names[st] : "unknown";
}

ps_pod_state ps_pod_state_from(ps_pod_dir dir, bool held)
{
	switch (dir) {
	case PS_DIR_EMBRYO:
		return PS_STATE_EMBRYO;
	case PS_DIR_PREPARE:
		return held ? PS_STATE_PREPARING : PS_STATE_ABORTED_PREPARE;
	case PS_DIR_PREPARED:
		return PS_STATE_PREPARED;
	case PS_DIR_RUN:
		return held ? PS_STATE_RUNNING : PS_STATE_EXITED;
	case PS_DIR_EXITED_GARBAGE:
		return held ? PS_STATE_EXITED_DELETING : PS_STATE_EXITED_GARBAGE;
	case PS_DIR_GARBAGE:
	default:
		return held ? PS_STATE_DELETING : PS_STATE_GARBAGE;
	}
}

void ps_pod_free(ps_pod *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd); /* drops any lock we hold */
	free(p);
}

static void pod_freep(ps_pod **p)
{
	ps_pod_free(*p);
}
#define _cleanup_pod_ _cleanup_(pod_freep)

/* Is the lock held by someone other than us? */
static int lock_held_by_other(const ps_pod *p)
{
	if (p->lock == PS_LOCK_EXCLUSIVE)
		return 1; /* by us, which for the state is the same */
	if (p->lock == PS_LOCK_SHARED)
		return 0; /* nobody can hold it exclusively */
	if (flock(p->fd, LOCK_SH | LOCK_NB) == 0) {
		flock(p->fd, LOCK_UN);
		return 0;
	}
	if (errno == EWOULDBLOCK)
		return 1;
	return -errno;
}

/* Is the entry dir/uuid the very directory p->fd refers to? */
static int pod_is_at(const ps_pod *p, ps_pod_dir dir)
{
	struct stat a, b;

	if (fstat(p->fd, &a) < 0)
		return -errno;
	if (fstatat(ps_store_dir_fd(p->store, dir), p->uuid, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Where is our open pod now? Searches forward from p->dir. */
static int pod_locate(ps_pod *p)
{
	for (int d = p->dir; d < PS_DIR_COUNT; d++) {
		int r = pod_is_at(p, (ps_pod_dir)d);
		if (r < 0)
			return r;
		if (r) {
			p->dir = (ps_pod_dir)d;
			return 0;
		}
	}
	return -ENOENT; /* deleted */
}

static int derive_state(ps_pod *p)
{
	for (int tries = 0; tries < LOOKUP_RETRIES; tries++) {
		ps_pod_dir before = p->dir;
		int held = lock_held_by_other(p);
		if (held < 0)
			return held;
		/* The probe means something only if the pod did not move around it. */
		int r = pod_locate(p);
		if (r < 0)
			return r;
		if (p->dir == before) {
			p->state = ps_pod_state_from(p->dir, held);
			return 0;
		}
	}
	return -EAGAIN;
}

static int pod_new(ps_store *s, const char *uuid, ps_pod **ret)
{
	ps_pod *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->store = s;
	p->fd = -1;
	snprintf(p->uuid, sizeof(p->uuid), "%s", uuid);
	*ret = p;
	return 0;
}

/* Open uuid in the first dir at or after `from` that has it. */
static int pod_open_from(ps_store *s, const char *uuid, ps_pod_dir from, ps_pod **ret,
                         struct stat *ret_bad, ps_pod_dir *ret_bad_dir)
{
	_cleanup_pod_ ps_pod *p = NULL;
	int r = pod_new(s, uuid, &p);

	if (r < 0)
		return r;
	for (int d = from; d < PS_DIR_COUNT; d++) {
		p->fd = openat(ps_store_dir_fd(s, (ps_pod_dir)d), uuid,
		               O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (p->fd < 0) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		p->dir = (ps_pod_dir)d;
		/* Another user's pod dir (planted before the store was ours, or
		 * made writable since) is never used. */
		*ret_bad_dir = p->dir;
		if (fstat(p->fd, ret_bad) < 0)
			return -errno;
		r = ps_dir_check_trusted(ret_bad, false);
		if (r < 0)
			return r;
		r = derive_state(p);
		if (r == -ENOENT) {
			/* Deleted between open and check: look no further. */
			return -ENOENT;
		}
		if (r < 0)
			return r;
		*ret = TAKE_PTR(p);
		return 0;
	}
	return -ENOENT;
}

int ps_pod_open(ps_store *s, const char *uuid, ps_pod_dir dir, ps_pod **ret, ps_error **err)
{
	int r;

	if (!ps_uuid_is_valid(uuid))
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no pod %s: not a uuid", uuid);
	struct stat st = { 0 };
	ps_pod_dir bad = dir;
	r = pod_open_from(s, uuid, dir, ret, &st, &bad);
	if (r == -ENOENT)
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no pod %s", uuid);
	if (r == -EPERM)
		return ps_error_set(err, PS_ERR_FAILED, 0,
		                    "pod %s: %s/pods/%s/%s is owned by uid %u, not root or us: refusing to use it",
		                    uuid, ps_store_path(s), ps_pod_dir_name(bad), uuid, (unsigned)st.st_uid);
	if (r == -EACCES)
		return ps_error_set(err, PS_ERR_FAILED, 0,
		                    "pod %s: %s/pods/%s/%s is writable by group or others (mode %04o): refusing to use it",
		                    uuid, ps_store_path(s), ps_pod_dir_name(bad), uuid, (unsigned)(st.st_mode & 07777));
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "open pod %s", uuid);
	return 0;
}

struct prefix_match {
	const char *prefix;
	size_t len;
	char found[8][PS_UUID_LEN + 1];
	size_t n;
};

static int match_prefix(ps_store *s, const char *uuid, ps_pod_dir dir, void *userdata)
{
	struct prefix_match *m = userdata;

	if (strncmp(uuid, m->prefix, m->len) != 0)
		return 0;
	if (m->n < ARRAY_SIZE(m->found))
		snprintf(m->found[m->n], sizeof(m->found[0]), "%s", uuid);
	m->n++;
	return 0;
}

int ps_pod_lookup(ps_store *s, const char *arg, ps_pod **ret, ps_error **err)
{
	char uuid[PS_UUID_LEN + 1];
	int r;

	/* A full uuid, else a name (an exact name wins over a uuid prefix, as
	 * with Docker's names and ids), else a unique uuid prefix. */
	if (strlen(arg) != PS_UUID_LEN && ps_pod_name_resolve(s, arg, uuid, NULL) == 0)
		return ps_pod_open(s, uuid, PS_DIR_EMBRYO, ret, err);
	if (!ps_uuid_prefix_is_valid(arg))
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0,
		                    "no pod \"%s\": not a pod name, a uuid or a uuid prefix", arg);
	if (strlen(arg) == PS_UUID_LEN) {
		snprintf(uuid, sizeof(uuid), "%s", arg);
	} else {
		struct prefix_match m = { .prefix = arg, .len = strlen(arg) };
		r = ps_walk_pods(s, PS_DIR_ALL, match_prefix, &m, err);
		if (r < 0)
			return r;
		if (m.n == 0)
			return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no pod named or matching %s", arg);
		if (m.n > 1) {
			char list[8 * (PS_UUID_LEN + 2) + 16] = "";
			size_t off = 0;
			for (size_t i = 0; i < m.n && i < ARRAY_SIZE(m.found); i++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
				                        i ? ", " : "", m.found[i]);
			if (m.n > ARRAY_SIZE(m.found))
				snprintf(list + off, sizeof(list) - off, ", …");
			return ps_error_set(err, PS_ERR_AMBIGUOUS, 0,
			                    "pod uuid prefix %s is ambiguous: %zu pods match (%s)", arg,
			                    m.n, list);
		}
		snprintf(uuid, sizeof(uuid), "%s", m.found[0]);
	}
	return ps_pod_open(s, uuid, PS_DIR_EMBRYO, ret, err);
}

int ps_pod_refresh(ps_pod *p, ps_error **err)
{
	int r = derive_state(p);

	if (r == -ENOENT)
		return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "pod %s is gone", p->uuid);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "pod %s: derive state", p->uuid);
	return 0;
}

int ps_pod_lock(ps_pod *p, ps_lock_mode mode, bool wait, ps_error **err)
{
	int op = mode == PS_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;

	if (mode == PS_LOCK_NONE) {
		ps_pod_unlock(p);
		return 0;
	}
	if (!wait)
		op |= LOCK_NB;
	while (flock(p->fd, op) < 0) {
		if (errno == EINTR && wait)
			return ps_error_set(err, PS_ERR_TIMEOUT, EINTR, "lock pod %s", p->uuid);
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return ps_error_set(err, PS_ERR_BUSY, 0, "pod %s is in use (%s)", p->uuid,
			                    ps_pod_state_name(p->state));
		return ps_error_errno(err, "lock pod %s", p->uuid);
	}
	p->lock = mode;
	/* It may have moved (or gone) while we waited for the lock. */
	int r = derive_state(p);
	if (r < 0) {
		ps_pod_unlock(p);
		if (r == -ENOENT)
			return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "pod %s is gone", p->uuid);
		return ps_error_set(err, PS_ERR_FAILED, -r, "lock pod %s", p->uuid);
	}
	return 0;
}

void ps_pod_unlock(ps_pod *p)
{
	if (p->lock != PS_LOCK_NONE) {
		flock(p->fd, LOCK_UN);
		p->lock = PS_LOCK_NONE;
	}
}

/* checked: the caller has just seen (pod_is_at) that p is in p->dir. */
static int pod_move_at(ps_pod *p, ps_pod_dir to, bool durable, bool checked, ps_error **err)
{
	ps_store *s = p->store;
	ps_pod_dir from = p->dir;
	int r;

	if (p->lock != PS_LOCK_EXCLUSIVE)
		return ps_error_set(err, PS_ERR_STATE, EPERM, "move pod %s to %s: not locked", p->uuid,
		                    ps_pod_dir_name(to));
	if (to <= from || to >= PS_DIR_COUNT)
		return ps_error_set(err, PS_ERR_STATE, 0, "move pod %s from %s to %s: not allowed",
		                    p->uuid, ps_pod_dir_name(from), ps_pod_dir_name(to));
	r = checked ? 1 : pod_is_at(p, from);
	if (r <= 0)
		return ps_error_set(err, PS_ERR_STATE, r < 0 ? -r : 0,
		                    "move pod %s: no longer in %s", p->uuid, ps_pod_dir_name(from));
	if (renameat2(ps_store_dir_fd(s, from), p->uuid, ps_store_dir_fd(s, to), p->uuid,
	              RENAME_NOREPLACE) < 0)
		return ps_error_errno(err, "move pod %s from %s to %s", p->uuid, ps_pod_dir_name(from),
		                      ps_pod_dir_name(to));
	p->dir = to;
	p->state = ps_pod_state_from(to, true);
	/* Durable: both dirs changed. Out of prepare/, embryo/ too: its move
	 * to prepare/ was not synced, and on a filesystem without a journal a
	 * rename is not atomic across a power cut: a stale embryo/ entry of
	 * the pod would be collected by gc, with the pod's files. */
	if (durable && (ps_fsync(ps_store_dir_fd(s, to)) < 0 || ps_fsync(ps_store_dir_fd(s, from)) < 0 ||
	                (from == PS_DIR_PREPARE && ps_fsync(ps_store_dir_fd(s, PS_DIR_EMBRYO)) < 0)))
		return ps_error_errno(err, "move pod %s to %s: fsync", p->uuid, ps_pod_dir_name(to));
	return 0;
}

int ps_pod_transition(ps_pod *p, ps_pod_dir to, ps_error **err)
{
	return pod_move_at(p, to, true, false, err);
}

int ps_pod_transition_lazy(ps_pod *p, ps_pod_dir to, ps_error **err)
{
	return pod_move_at(p, to, false, false, err);
}

int ps_pod_create(ps_store *s, ps_pod **ret, ps_error **err)
{
	int embryo_fd = ps_store_dir_fd(s, PS_DIR_EMBRYO);

	for (int attempt = 0; attempt < 8; attempt++) {
		_cleanup_pod_ ps_pod *p = NULL;
		char uuid[PS_UUID_LEN + 1];

		ps_uuid_generate(uuid);
		if (pod_new(s, uuid, &p) < 0)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "create pod");
		if (mkdirat(embryo_fd, uuid, 0700) < 0) {
			if (errno == EEXIST)
				continue;
			return ps_error_errno(err, "create pod %s in %s/pods/embryo", uuid,
			                      ps_store_path(s));
		}
		p->fd = openat(embryo_fd, uuid, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (p->fd < 0) {
			if (errno == ENOENT)
				continue; /* a gc took the unlocked embryo: try another */
			return ps_error_errno(err, "open new pod %s", uuid);
		}
		/* gc may have locked the bare embryo first; then it is gc's. */
		if (flock(p->fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK)
				continue;
			return ps_error_errno(err, "lock new pod %s", uuid);
		}
		p->lock = PS_LOCK_EXCLUSIVE;
		p->dir = PS_DIR_EMBRYO;
		p->state = PS_STATE_EMBRYO;
		if (pod_is_at(p, PS_DIR_EMBRYO) <= 0)
			continue;
		/* Not fsynced: lost to a power cut, it is an embryo again, which
		 * gc collects; prepare's move to prepared/ is the durable one. */
		int r = pod_move_at(p, PS_DIR_PREPARE, false, true, err);
		if (r < 0)
			return r;
		*ret = TAKE_PTR(p);
		return 0;
	}
	return ps_error_set(err, PS_ERR_FAILED, EAGAIN, "create pod: no free uuid");
}

int ps_pod_destroy(ps_pod *p, ps_error **err)
{
	int r;

	if (p->lock != PS_LOCK_EXCLUSIVE || p->dir != PS_DIR_GARBAGE)
		return ps_error_set(err, PS_ERR_STATE, 0, "remove pod %s: not locked in garbage",
		                    p->uuid);
	/* Its name is free again. Should this fail, the link is stale once the
	 * pod is gone, and the next claim of the name replaces it. */
	ps_info info = { 0 };
	if (ps_info_read(p->fd, &info, NULL) == 0 && info.name)
		ps_pod_name_release(p->store, info.name, p->uuid, NULL);
	ps_info_clear(&info);
	ps_idrange range;
	bool userns = ps_idrange_pod_read(p->fd, &range, NULL) == 0;
	r = ps_rm_rf_at(ps_store_dir_fd(p->store, PS_DIR_GARBAGE), p->uuid);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "remove %s/pods/garbage/%s",
		                    ps_store_path(p->store), p->uuid);
	/* Its user-namespace range is free again (a record the pod's file does
	 * not name, or a failure here: gc's sweep). */
	if (userns)
		ps_idrange_release(p->store, p->uuid, &range, NULL);
	return 0;
}

int ps_pod_relpath(const ps_pod *p, char **ret)
{
	char *s = ps_strdup_printf("pods/%s/%s", ps_pod_dir_name(p->dir), p->uuid);

	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}
