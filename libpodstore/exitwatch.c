/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pod exit fd (include/podstore/exitwatch.h): an epoll set of pidfds of
 * the pod lock's possible holders and an inotify watch on the pod dir. See
 * Documentation/devel/decisions.md for why no flock()ing child any more.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <podstore/exitwatch.h>
#include <podstore/markers.h>

#include "procutil.h"
#include "util.h"

/* Enough for stage1, the pod's pid 1 and a few podctl processes that have
 * the pod dir open; more holders than this are watched a few at a time. */
#define MAX_HOLDERS 16

struct ps_exit_watch {
	ps_pod *pod;          /* borrowed */
	int epfd;
	int inotify_fd;
	int event_fd;         /* readable at once when the pod was not live */
	int holders[MAX_HOLDERS];  /* pidfds, -1 = free slot */
	bool marker_used;     /* the pid marker's processes were tried */
};

static bool is_live(const ps_pod *p)
{
	return p->state == PS_STATE_RUNNING || p->state == PS_STATE_PREPARING;
}

static size_t n_holders(const ps_exit_watch *w)
{
	size_t n = 0;
	for (size_t i = 0; i < MAX_HOLDERS; i++)
		n += w->holders[i] >= 0;
	return n;
}

/* Watch a pidfd (taken over). Returns 0, or -ENOSPC when full. */
static int add_holder(ps_exit_watch *w, int pidfd)
{
	for (size_t i = 0; i < MAX_HOLDERS; i++) {
		if (w->holders[i] >= 0)
			continue;
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = pidfd };
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0) {
			int r = -errno;
			close(pidfd);
			return r;
		}
		w->holders[i] = pidfd;
		return 0;
	}
	close(pidfd);
	return -ENOSPC;
}

/* Drop the holders that have exited (their pidfd is readable): a pidfd stays
 * readable, and would keep the epoll fd firing. */
static void drop_exited(ps_exit_watch *w)
{
	for (size_t i = 0; i < MAX_HOLDERS; i++) {
		if (w->holders[i] < 0)
			continue;
		struct pollfd p = { .fd = w->holders[i], .events = POLLIN };
		if (poll(&p, 1, 0) > 0) {
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->holders[i], NULL);
			close(w->holders[i]);
			w->holders[i] = -1;
		}
	}
}

/* stage1 and the pod's pid 1, from the pid marker: when both are gone, so is
 * every process of the pod (the kernel ends a pid namespace's processes
 * before its pid 1 is reported exited). */
static void add_marker_holders(ps_exit_watch *w)
{
	ps_pid_marker m = { 0 };

	if (w->marker_used || ps_pid_marker_read(w->pod->fd, &m, NULL) < 0)
		return;
	w->marker_used = true;
	int fd = ps_pidfd_open_verified(m.stage1_pid, m.stage1_starttime);
	if (fd >= 0)
		add_holder(w, fd);
	fd = ps_pidfd_open_verified(m.pid, m.starttime);
	if (fd >= 0)
		add_holder(w, fd);
}

/* Does /proc/<pid>/fd hold the pod dir (dev, ino)? */
static bool has_pod_dir_open(int proc_fd, const char *pid, const struct stat *dir)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/fd", pid);
	int fdd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdd < 0)
		return false;
	DIR *d = fdopendir(fdd);
	if (!d) {
		close(fdd);
		return false;
	}
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode) &&
		    st.st_dev == dir->st_dev && st.st_ino == dir->st_ino)
			found = true;
	}
	closedir(d);
	return found;
}

/* The rare case: the lock is held and no holder is known (a pod being
 * prepared has no pid marker; or stage1 and its pid 1 are gone and
 * something else still has the pod dir's open file). Every process that
 * has the pod dir open is a candidate: watch those, look again when one
 * ends. Costs a walk of /proc, once per such wake-up. */
static int add_proc_holders(ps_exit_watch *w)
{
	struct stat dir;
	char self[16];
	int added = 0;

	if (fstat(w->pod->fd, &dir) < 0)
		return -errno;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc_fd < 0)
		return -errno;
	DIR *d = fdopendir(proc_fd);
	if (!d) {
		close(proc_fd);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(d)) && n_holders(w) < MAX_HOLDERS) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || streq(de->d_name, self))
			continue;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		/* The pidfd first: it pins the process we then look into. */
		int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (fd < 0)
			continue;
		if (!has_pod_dir_open(dirfd(d), de->d_name, &dir)) {
			close(fd);
			continue;
		}
		if (add_holder(w, fd) == 0)
			added++;
	}
	closedir(d);
	return added;
}

/* Arm for the pod as it is now (refreshed by the caller): 1 when it is not
 * live, else 0 with at least one holder watched. */
static int arm(ps_exit_watch *w, ps_error **err)
{
	if (!is_live(w->pod))
		return 1;
	add_marker_holders(w);
	if (n_holders(w) == 0) {
		/* Known holders all gone, lock still held: who else has it open? */
		int r = add_proc_holders(w);
		if (r < 0)
			return ps_error_set(err, PS_ERR_FAILED, -r, "watch pod %s", w->pod->uuid);
	}
	/* Look again now that the holders are watched: one that let go before
	 * its pidfd was in the set (a holder dying during the /proc walk, while
	 * another process still had the dir open) gives no event. */
	if (ps_pod_refresh(w->pod, NULL) < 0 || !is_live(w->pod))
		return 1;
	if (n_holders(w) == 0)
		return ps_error_set(err, PS_ERR_FAILED, EDEADLK,
		                    "watch pod %s: its lock is held by no process in sight", w->pod->uuid);
	return 0;
}

int ps_exit_watch_new(ps_pod *p, ps_exit_watch **ret, ps_error **err)
{
	char path[64];
	int r;

	ps_exit_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "watch pod %s", p->uuid);
	w->pod = p;
	w->epfd = w->inotify_fd = w->event_fd = -1;
	for (size_t i = 0; i < MAX_HOLDERS; i++)
		w->holders[i] = -1;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->inotify_fd < 0 || w->event_fd < 0) {
		r = ps_error_errno(err, "watch pod %s", p->uuid);
		goto fail;
	}
	/* Watch first, then look: nothing slips between. The pid marker's
	 * arrival (its rename into place) and the dir moving to another state
	 * are the events besides the holders' pidfds. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->fd);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = w->inotify_fd };
	if (inotify_add_watch(w->inotify_fd, path, IN_MOVED_TO | IN_MOVE_SELF | IN_DELETE_SELF) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->inotify_fd, &ev) < 0) {
		r = ps_error_errno(err, "watch pod %s", p->uuid);
		goto fail;
	}
	ev.data.fd = w->event_fd;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->event_fd, &ev) < 0) {
		r = ps_error_errno(err, "watch pod %s", p->uuid);
		goto fail;
	}
	/* gone meanwhile (removed after it exited): it holds no lock either */
	r = ps_pod_refresh(p, NULL) < 0 ? 1 : arm(w, err);
	if (r < 0)
		goto fail;
	if (r == 1 && eventfd_write(w->event_fd, 1) < 0) {
		r = ps_error_errno(err, "watch pod %s", p->uuid);
		goto fail;
	}
	*ret = w;
	return 0;
fail:
	ps_exit_watch_free(w);
	return r;
}

int ps_exit_watch_fd(const ps_exit_watch *w)
{
	return w->epfd;
}

int ps_exit_watch_check(ps_exit_watch *w, ps_error **err)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(w->inotify_fd, buf, sizeof(buf)) > 0)
		; /* drain: the lock is the truth */
	drop_exited(w);
	int r = ps_pod_refresh(w->pod, NULL);
	if (r < 0 || !is_live(w->pod)) {
		eventfd_t v;
		eventfd_read(w->event_fd, &v);
		return 1; /* exited, or gone meanwhile (removed after it exited) */
	}
	return arm(w, err);
}

void ps_exit_watch_free(ps_exit_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < MAX_HOLDERS; i++)
		if (w->holders[i] >= 0)
			close(w->holders[i]);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->inotify_fd >= 0)
		close(w->inotify_fd);
	if (w->event_fd >= 0)
		close(w->event_fd);
	free(w);
}
