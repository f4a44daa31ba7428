/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Waiting on several pods by event (see waitset.h). */
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>

#include <podstore/health.h>
#include <podstore/app.h>
#include "lockwaiter.h"
#include <podstore/manifest.h>
#include <podstore/markers.h>
#include "util.h"
#include <podstore/waitset.h>

enum verdict { PENDING, HOLDS, NEVER };

const char *ps_wait_cond_name(ps_wait_cond c)
{
	static const char *const names[] = { "ready", "healthy", "unhealthy", "exited" };
	return c <= PS_WAIT_EXITED ? names[c] : "?";
}

int ps_wait_cond_from_name(const char *s, ps_wait_cond *ret)
{
	for (int c = PS_WAIT_READY; c <= PS_WAIT_EXITED; c++)
		if (streq(s, ps_wait_cond_name((ps_wait_cond)c))) {
			*ret = (ps_wait_cond)c;
			return 0;
		}
	return -EINVAL;
}

struct member {
	ps_pod *pod;
	struct pod_watch pw;   /* ready: the wake FIFO; all: the pod's exit */
	enum verdict v;
	char *why;   /* for NEVER */
};

static bool is_live(const ps_pod *p)
{
	return p->state == PS_STATE_RUNNING || p->state == PS_STATE_PREPARING;
}

static char *exit_why(ps_pod *p, const char *what)
{
	ps_exit_marker m = { 0 };
	char *s;

	if (p->state == PS_STATE_PREPARED || p->state == PS_STATE_EMBRYO)
		return ps_strdup_printf("pod %s is %s, not running", p->uuid, ps_pod_state_name(p->state));
	if (ps_exit_marker_read(p->fd, &m, NULL) == 0) {
		s = ps_strdup_printf("pod %s exited without becoming %s (reason %s%s%s, code %d)", p->uuid,
		                     what, m.reason ? m.reason : "unknown", m.app ? ", app " : "",
		                     m.app ? m.app : "", m.code);
		ps_exit_marker_clear(&m);
		return s;
	}
	return ps_strdup_printf("pod %s is %s and never became %s (no exit marker: stage1 was killed)",
	                        p->uuid, ps_pod_state_name(p->state), what);
}

static bool exited_badly(ps_pod *p)
{
	ps_exit_marker m = { 0 };
	bool bad = true;

	if (ps_exit_marker_read(p->fd, &m, NULL) == 0) {
		bad = !m.reason || !(streq(m.reason, "ok") || streq(m.reason, "stopped"));
		ps_exit_marker_clear(&m);
	}
	return bad;
}

static enum verdict evaluate(struct member *mb, ps_wait_cond cond)
{
	ps_pod *p = mb->pod;
	bool ready = false, healthy = false;

	if (ps_pod_refresh(p, NULL) < 0)
		return PENDING;
	bool live = is_live(p);
	if (cond == PS_WAIT_EXITED) {
		if (live)
			return PENDING;
		if (p->state == PS_STATE_PREPARED || p->state == PS_STATE_EMBRYO) {
			mb->why = exit_why(p, "exited");
			return NEVER;
		}
		return HOLDS;
	}
	if (!live) {
		if (cond == PS_WAIT_UNHEALTHY && p->state != PS_STATE_PREPARED &&
		    p->state != PS_STATE_EMBRYO && exited_badly(p))
			return HOLDS;
		mb->why = exit_why(p, ps_wait_cond_name(cond));
		return NEVER;
	}
	if (p->state != PS_STATE_RUNNING)
		return PENDING; /* preparing */
	if (cond == PS_WAIT_READY) {
		long long t;
		return ps_ready_marker_read(p->fd, &t, NULL) == 0 ? HOLDS : PENDING;
	}
	if (ps_pod_health(p, &ready, &healthy, NULL, NULL) < 0)
		return PENDING;
	return (cond == PS_WAIT_HEALTHY) == healthy ? HOLDS : PENDING;
}

static void watch_pod(int ifd, ps_pod *p, bool apps)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", p->fd);
	inotify_add_watch(ifd, path, IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVE_SELF);
	if (!apps)
		return;
	ps_manifest *m = NULL;
	if (ps_manifest_load_at(p->fd, &m, NULL) < 0)
		return;
	_cleanup_close_ int apps_fd = ps_apps_dir_open(p->fd, NULL);
	for (size_t i = 0; apps_fd >= 0 && i < m->n_init_apps + m->n_apps; i++) {
		const ps_app *a = i < m->n_init_apps ? &m->init_apps[i] : &m->apps[i - m->n_init_apps];
		_cleanup_close_ int fd = openat(apps_fd, a->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		inotify_add_watch(ifd, path, IN_MOVED_TO | IN_CREATE | IN_DELETE);
	}
	ps_manifest_free(m);
}

static int remaining_ms(long long deadline_ns)
{
	if (deadline_ns < 0)
		return -1;
	long long left = deadline_ns - ps_monotonic_ns();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* 1 = decided (r set), 0 = keep waiting. */
static int decide(struct member *mbs, size_t n, bool any, size_t *ret_index, int *r, ps_error **err)
{
	size_t holds = 0, nevers = 0, first_never = n, last_hold = n;

	for (size_t i = 0; i < n; i++) {
		if (mbs[i].v == HOLDS) {
			holds++;
			last_hold = i;
			if (any)
				break;
		} else if (mbs[i].v == NEVER) {
			nevers++;
			if (first_never == n)
				first_never = i;
		}
	}
	if ((any && holds > 0) || (!any && holds == n)) {
		if (ret_index)
			*ret_index = last_hold;
		*r = 0;
		return 1;
	}
	if ((!any && nevers > 0) || (any && nevers == n)) {
		if (ret_index)
			*ret_index = first_never;
		*r = ps_error_set(err, PS_ERR_STATE, 0, "%s",
		                  mbs[first_never].why ? mbs[first_never].why : "condition cannot hold");
		return 1;
	}
	return 0;
}

/*
 * Watch first, then look: nothing can slip between. "ready" is watched
 * with each pod's wake FIFO (inotify when it cannot be had), as
 * ps_pod_wait_ready() does, and so is every pod's exit: no inotify, whose
 * close costs an SRCU grace period (5-15 ms), on that path. "healthy" and
 * "unhealthy" (health markers, which poke nobody) keep an inotify watch on
 * the pod and app dirs.
 */
int ps_pods_wait(ps_pod *const *pods, size_t n, ps_wait_cond cond, bool any, long long timeout_ms,
                 size_t *ret_index, ps_error **err)
{
	long long deadline = timeout_ms < 0 ? -1 : ps_monotonic_ns() + timeout_ms * 1000000LL;
	bool apps = cond == PS_WAIT_HEALTHY || cond == PS_WAIT_UNHEALTHY;
	_cleanup_close_ int ifd = -1;
	int r = 0, k;

	if (n == 0)
		return ps_error_set(err, PS_ERR_INVALID, 0, "no pods to wait for");
	_cleanup_free_ struct member *mbs = calloc(n, sizeof(*mbs));
	_cleanup_free_ struct pollfd *pfds = calloc(2 * n + 1, sizeof(*pfds));
	if (!mbs || !pfds)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "wait");
	for (size_t i = 0; i < n; i++)
		mbs[i] = (struct member){ .pod = pods[i], .pw = POD_WATCH_INIT };
	if (apps && (ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) < 0)
		return ps_error_errno(err, "wait: inotify");
	for (size_t i = 0; i < n; i++) {
		if (apps)
			watch_pod(ifd, pods[i], true);
		else if (cond == PS_WAIT_READY && (k = ps_pod_watch_markers(pods[i], &mbs[i].pw)) < 0) {
			r = ps_error_set(err, PS_ERR_FAILED, -k, "wait for pod %s", pods[i]->uuid);
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		mbs[i].v = evaluate(&mbs[i], cond);
		if (mbs[i].v != PENDING)
			ps_pod_watch_stop(&mbs[i].pw);
		else if (is_live(mbs[i].pod) && (k = ps_pod_watch_exit(mbs[i].pod, &mbs[i].pw)) < 0) {
			r = ps_error_set(err, PS_ERR_FAILED, -k, "wait for pod %s", mbs[i].pod->uuid);
			goto out;
		}
	}
	while (!decide(mbs, n, any, ret_index, &r, err)) {
		/* pfds[0]: the inotify fd (or -1); 1 + 2i, 2 + 2i: member i's watch */
		pfds[0] = (struct pollfd){ .fd = ifd, .events = POLLIN };
		for (size_t i = 0; i < n; i++) {
			ps_pod_watch_fds(&mbs[i].pw, &pfds[1 + 2 * i]);
			if (mbs[i].v != PENDING)
				pfds[1 + 2 * i].fd = pfds[2 + 2 * i].fd = -1;
		}
		k = poll(pfds, 2 * n + 1, remaining_ms(deadline));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = ps_error_errno(err, "wait");
			break;
		}
		if (k == 0) {
			r = ps_error_set(err, PS_ERR_TIMEOUT, 0, "timed out waiting for %s to be %s",
			                 n == 1 ? mbs[0].pod->uuid : any ? "any of the pods" : "all the pods",
			                 ps_wait_cond_name(cond));
			break;
		}
		if (ifd >= 0 && pfds[0].revents) {
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			while (read(ifd, buf, sizeof(buf)) > 0)
				; /* drain; the markers themselves are the truth */
		}
		for (size_t i = 0; i < n; i++) {
			if (mbs[i].v != PENDING)
				continue;
			/* What fired is re-armed (a fresh FIFO open before the look;
			 * stage1's end handed to the lock); the markers decide. */
			if ((k = ps_pod_watch_rearm(mbs[i].pod, &mbs[i].pw, &pfds[1 + 2 * i])) < 0) {
				r = ps_error_set(err, PS_ERR_FAILED, -k, "wait for pod %s", mbs[i].pod->uuid);
				goto out;
			}
			mbs[i].v = evaluate(&mbs[i], cond);
			if (mbs[i].v != PENDING)
				ps_pod_watch_stop(&mbs[i].pw);
			else if (is_live(mbs[i].pod) && (k = ps_pod_watch_exit(mbs[i].pod, &mbs[i].pw)) < 0) {
				r = ps_error_set(err, PS_ERR_FAILED, -k, "wait for pod %s", mbs[i].pod->uuid);
				goto out;
			}
		}
	}
out:
	for (size_t i = 0; i < n; i++) {
		ps_pod_watch_stop(&mbs[i].pw);
		free(mbs[i].why);
	}
	return r;
}
