/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Garbage collection. One walk over every pod; each candidate is locked
 * without blocking (a held lock means someone is using it: skip and say so),
 * moved toward garbage/ and deleted. Moves toward deletion are not fsynced
 * one by one: a move lost to a power cut is only made again by the next gc.
 * Linear in the number of pods, and never waits on anyone.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <podstore/cni.h>
#include <podstore/cgroup.h>
#include <podstore/fileio.h>
#include <podstore/gc.h>
#include <podstore/image.h>
#include <podstore/log.h>
#include <podstore/markers.h>
#include <podstore/pod.h>
#include <podstore/podname.h>
#include <podstore/uidrange.h>
#include "idshift.h"
#include "security.h"
#include "util.h"

/* Entries in $DIR/tmp younger than this are left alone: their writer may be
 * between creating and locking them. */
#define TMP_GRACE_NS (10LL * 1000000000LL)

struct gc_ctx {
	const ps_gc_opts *opts;
	ps_gc_report *report;
	long long now_ns;
	ps_error **err;
};

static long long dir_mtime_ns(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return 0;
	return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* When gc marked it: its gc-marked marker, else (the marker was lost, or
 * the pod was moved by an older podctl) the dir's ctime, which the move set. */
static long long marked_at_ns(ps_pod *p)
{
	long long t = 0;
	struct stat st;

	if (ps_gc_mark_read(p->fd, &t, NULL) == 0 && t)
		return t;
	if (fstat(p->fd, &st) < 0)
		return 0;
	return (long long)st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
}

static long long created_at_ns(ps_pod *p)
{
	ps_info info = { 0 };

	if (ps_info_read(p->fd, &info, NULL) == 0 && info.created_ns) {
		ps_info_clear(&info);
		return info.created_ns;
	}
	ps_info_clear(&info);
	return dir_mtime_ns(p->fd);
}

static bool grace_over(struct gc_ctx *c, long long marked_ns)
{
	return c->now_ns - marked_ns >= c->opts->grace_period_ms * 1000000LL;
}

/* Has gc something to do with the pod, by where it is and how old it is?
 * (Whether someone holds its lock is a separate question.) An exited pod is
 * marked by the first gc that sees it (rkt's GCMarkedTime), and deleted by
 * a gc once it has been marked for longer than the grace period. */
static bool due(struct gc_ctx *c, ps_pod *p)
{
	switch (p->dir) {
	case PS_DIR_PREPARED:
		return c->now_ns - created_at_ns(p) >= c->opts->expire_prepared_ms * 1000000LL;
	case PS_DIR_EXITED_GARBAGE:
		return !c->opts->mark_only && grace_over(c, marked_at_ns(p));
	default:
		return true; /* exited, embryo, aborted prepare, garbage */
	}
}

/* The cgroups a pod's stage1 left (it was SIGKILLed: it could not remove
 * them). Needs the pod's lock; a failure is reported and gc goes on. */
static void cgroup_leftovers(ps_pod *p)
{
	if (faccessat(p->fd, PS_FILE_CGROUP, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return; /* the common case: stage1 removed them */
	ps_error *e = NULL;

	if (ps_pod_cgroup_cleanup(p->fd, &e) < 0 && e) {
		ps_log(PS_LOG_WARNING, "gc: pod %s: %s", p->uuid, e->msg);
		ps_error_free(&e);
	}
}

/* A pod whose stage1 died attached to a CNI network: DEL from what its dir
 * recorded, so its IP lease and iptables rules go (podstore/cni.h). A
 * failure keeps the pod, to try again next time. */
static int net_leftovers(ps_pod *p, ps_error **err)
{
	if (faccessat(p->fd, PS_CNI_DIR, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	int r = ps_cni_detach(p->fd, p->uuid, err);
	return r < 0 ? ps_error_prefix(err, r, "pod %s: network", p->uuid) : 0;
}

static void tell(struct gc_ctx *c, const ps_pod *p, ps_gc_action action, const char *what)
{
	if (c->opts->on_pod)
		c->opts->on_pod(p->uuid, action, what, c->opts->userdata);
}

/* A pod we hold exclusively: mark it, and delete it when that is due. */
static int collect(struct gc_ctx *c, ps_pod *p)
{
	int r;

	/* First, whatever the pod's fate this time: it cannot run again. */
	cgroup_leftovers(p);
	if ((r = net_leftovers(p, c->err)) < 0)
		return r;
	if (p->dir == PS_DIR_RUN) {
		bool stays = c->opts->mark_only || !grace_over(c, c->now_ns);
		/* The mark is when its grace period began; should it not be
		 * written (a full disk), the move's ctime stands for it. A pod
		 * deleted right away gets none: should this gc be killed before
		 * the delete, the ctime is as good, and a file made while
		 * thousands are deleted is what an ext4 without a journal
		 * allocates slowest (it steps over every inode freed in the
		 * last minutes). */
		if (stays)
			ps_gc_mark_write(p->fd, c->now_ns, NULL);
		/* One move: to exited-garbage/ to wait out its grace period, or
		 * straight to garbage/ when its deletion follows at once (a gc
		 * killed before it leaves the pod to the next gc to delete). */
		r = ps_pod_transition_lazy(p, stays ? PS_DIR_EXITED_GARBAGE : PS_DIR_GARBAGE, c->err);
		if (r < 0)
			return r;
		c->report->marked++;
		tell(c, p, PS_GC_MARKED, "exited");
		if (stays)
			return 0;
	}
	if (p->dir != PS_DIR_GARBAGE) {
		ps_pod_dir from = p->dir;
		r = ps_pod_transition_lazy(p, PS_DIR_GARBAGE, c->err);
		if (r < 0)
			return r;
		if (from != PS_DIR_EXITED_GARBAGE) {
			c->report->marked++;
			tell(c, p, PS_GC_MARKED, ps_pod_dir_name(from));
		}
	}
	if (c->opts->mark_only)
		return 0;
	r = ps_pod_destroy(p, c->err);
	if (r < 0)
		return r;
	c->report->removed++;
	tell(c, p, PS_GC_REMOVED, NULL);
	return 0;
}

static int gc_one(ps_store *s, const char *uuid, ps_pod_dir dir, void *userdata)
{
	struct gc_ctx *c = userdata;
	ps_pod *p = NULL;
	ps_error *e = NULL;
	int r = 0;

	if (ps_pod_open(s, uuid, dir, &p, &e) < 0) {
		/* Gone since the walk read it: nothing to collect. */
		bool gone = e->kind == PS_ERR_NOT_FOUND;
		if (!gone)
			ps_log(PS_LOG_WARNING, "gc: %s", e->msg);
		ps_error_free(&e);
		return 0;
	}
	switch (p->state) {
	case PS_STATE_PREPARING:
	case PS_STATE_RUNNING:
	case PS_STATE_EXITED_DELETING:
	case PS_STATE_DELETING:
		/* In use: never wait for it. Preparing and running pods are not
		 * garbage at all; the others are, and we say we left them. */
		if (p->state == PS_STATE_EXITED_DELETING || p->state == PS_STATE_DELETING) {
			c->report->skipped++;
			ps_log(PS_LOG_INFO, "gc: skipping pod %s: locked (%s)", p->uuid,
			       ps_pod_state_name(p->state));
			tell(c, p, PS_GC_SKIPPED, "locked");
		}
		goto out;
	default:
		break;
	}
	/* Only lock what is due: a lock taken for nothing could make a
	 * concurrent run-prepared of that pod fail as busy. */
	if (!due(c, p))
		goto out;
	ps_pod_dir seen_in = p->dir;
	if (ps_pod_lock(p, PS_LOCK_EXCLUSIVE, false, &e) < 0) {
		if (e->kind == PS_ERR_BUSY) {
			c->report->skipped++;
			ps_log(PS_LOG_INFO, "gc: skipping pod %s: locked", p->uuid);
			tell(c, p, PS_GC_SKIPPED, "locked");
		} else if (e->kind != PS_ERR_NOT_FOUND) {
			c->report->failed++;
			if (c->opts->on_pod)
				tell(c, p, PS_GC_FAILED, e->msg);
			else
				ps_log(PS_LOG_WARNING, "gc: %s", e->msg);
		}
		ps_error_free(&e);
		goto out;
	}
	/* Locked: the pod may have moved since we looked (a prepare that
	 * finished, a pod that started and exited). If so, decide again from
	 * where it is now; if not, its age has not changed (created and exit
	 * times are written once), so the markers need not be read again. */
	if (p->dir != seen_in && !due(c, p))
		goto out;
	r = collect(c, p);
	if (r < 0) {
		/* Report and carry on with the others. */
		c->report->failed++;
		if (c->opts->on_pod)
			tell(c, p, PS_GC_FAILED, (*c->err)->msg);
		else
			ps_log(PS_LOG_WARNING, "gc: %s", (*c->err)->msg);
		ps_error_free(c->err);
		r = 0;
	}
out:
	ps_pod_free(p);
	return r;
}

/*
 * Leftovers in $DIR/tmp whose writer is gone. Writers name their entries
 * "<what>.<pid>" (see on-disk-format.md): such an entry goes as soon as that
 * process is dead, whatever its age — a long extraction is never cut short,
 * and a crashed one is cleaned at once. (A reused pid only delays the
 * cleanup.) Anything else goes once older than TMP_GRACE_NS. Either way an
 * entry whose writer holds an flock on it stays.
 */
static void gc_tmp(ps_store *s, struct gc_ctx *c)
{
	int fd = openat(ps_store_tmp_fd(s), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		long long mt = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
		pid_t owner = ps_tmp_name_owner(de->d_name);
		if (owner > 0 && ps_pid_alive(owner))
			continue;
		if (owner <= 0 && c->now_ns - mt < TMP_GRACE_NS)
			continue;
		/* Whatever its name, an entry its writer holds locked stays. */
		if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
			_cleanup_close_ int efd = openat(dirfd(d), de->d_name,
			                                 O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
			if (efd < 0)
				continue;
			if (flock(efd, LOCK_EX | LOCK_NB) < 0)
				continue;
		}
		if (ps_rm_rf_at(dirfd(d), de->d_name) == 0)
			c->report->tmp_removed++;
	}
	closedir(d);
}

int ps_gc(ps_store *s, const ps_gc_opts *opts, ps_gc_report *ret, ps_error **err)
{
	ps_gc_report report = { 0 };
	ps_error *e = NULL;
	struct gc_ctx c = { .opts = opts, .report = &report, .now_ns = ps_now_ns(), .err = &e };
	int r;

	r = ps_walk_pods(s, PS_DIR_ALL, gc_one, &c, err);
	if (r < 0)
		return r;
	/* The lazy moves above become durable together. */
	for (int d = PS_DIR_RUN; d < PS_DIR_COUNT; d++)
		ps_fsync(ps_store_dir_fd(s, (ps_pod_dir)d));
	gc_tmp(s, &c);
	ps_pod_names_sweep(s, NULL);
	ps_idrange_sweep(s, NULL, NULL); /* ranges of pods that are gone */
	if (!opts->mark_only) {
		r = ps_image_gc(s, err);
		if (r < 0)
			return ps_error_prefix(err, r, "gc images");
		ps_shifted_trees_sweep(ps_store_fd(s), NULL); /* copies of trees now gone */
		unsigned pruned = ps_sc_cache_prune(ps_store_fd(s), c.now_ns);
		if (pruned)
			ps_log(PS_LOG_DEBUG, "gc: %u seccomp cache entries removed", pruned);
	}
	if (ret)
		*ret = report;
	return 0;
}

int ps_pod_remove(ps_store *s, const char *arg, ps_error **err)
{
	ps_pod *p = NULL;
	int r;

	r = ps_pod_lookup(s, arg, &p, err);
	if (r < 0)
		return r;
	if (p->state == PS_STATE_RUNNING || p->state == PS_STATE_PREPARING) {
		r = ps_error_set(err, PS_ERR_BUSY, 0, "pod %s is %s: stop it first", p->uuid,
		                 ps_pod_state_name(p->state));
		goto out;
	}
	/* Once we hold the lock nobody runs or prepares it; a lock held by
	 * someone else (a pod that started meanwhile) is refused, not waited for. */
	r = ps_pod_lock(p, PS_LOCK_EXCLUSIVE, false, err);
	if (r < 0)
		goto out;
	if (p->dir == PS_DIR_RUN)
		r = ps_pod_transition_lazy(p, PS_DIR_EXITED_GARBAGE, err);
	if (r >= 0 && p->dir != PS_DIR_GARBAGE)
		r = ps_pod_transition_lazy(p, PS_DIR_GARBAGE, err);
	if (r >= 0)
		cgroup_leftovers(p);
	if (r >= 0)
		r = net_leftovers(p, err);
	if (r >= 0)
		r = ps_pod_destroy(p, err);
out:
	ps_pod_free(p);
	return r;
}
