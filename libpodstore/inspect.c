/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A pod's full view (include/podstore/inspect.h): the one place ready and
 * healthy are computed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>

#include <podstore/app.h>
#include <podstore/fileio.h>
#include <podstore/inspect.h>

#include "markers-internal.h"
#include "peekcache.h"
#include "util.h"

/* The app's markers, from its dir (absent markers stay absent). */
static void load_markers(int app_fd, ps_app_view *av)
{
	av->have_status = ps_status_marker_read(app_fd, &av->status, NULL) == 0;
	av->have_exit = ps_exit_marker_read(app_fd, &av->exit, NULL) == 0;
	av->have_health = ps_health_marker_read(app_fd, &av->health, NULL) == 0;
	av->healthy = ps_app_is_healthy(av->have_status ? &av->status : NULL,
	                                av->have_exit ? &av->exit : NULL,
	                                av->have_health ? &av->health : NULL);
}

static void app_view_clear(ps_app_view *av)
{
	free(av->name);
	ps_status_marker_clear(&av->status);
	ps_exit_marker_clear(&av->exit);
	ps_health_marker_clear(&av->health);
	*av = (ps_app_view){ 0 };
}

static const char *unhealthy_what(const ps_app_view *av)
{
	if (av->have_health && av->health.liveness && streq(av->health.liveness, "failing"))
		return "liveness probe failing";
	if (av->have_status && av->status.status)
		return av->status.status;
	return "failed";
}

/* Health of one app: fold it into the pod's. */
static void note_health(ps_pod_view *v, const ps_app_view *av)
{
	if (av->healthy)
		return;
	v->healthy = false;
	if (!v->unhealthy_why)
		v->unhealthy_why = ps_strdup_printf("app %s: %s", av->name, unhealthy_what(av));
}

/* The apps in manifest order, init apps first. */
static int load_apps(ps_pod *p, ps_pod_view *v, bool health, ps_error **err)
{
	ps_manifest *m = NULL;
	ps_error *e = NULL;
	int r = ps_manifest_load_at(p->fd, &m, &e);

	/* An embryo, a pod being prepared or one whose prepare died has no
	 * manifest yet: it has no apps to show, and it is still a pod. */
	if (r == -ENOENT && p->state != PS_STATE_PREPARED && p->state != PS_STATE_RUNNING &&
	    p->state != PS_STATE_EXITED) {
		ps_error_free(&e);
		return 0;
	}
	if (r < 0) {
		/* A pod past prepare whose manifest a crash or power cut lost
		 * or tore: an error about this pod (not "no such pod"), which
		 * rm and gc remove all the same. */
		r = ps_error_set(err, PS_ERR_FAILED, 0, "pod %s: its apps are unknown: %s%s", p->uuid,
		                 e ? e->msg : "manifest unreadable",
		                 r == -ENOENT ? " (lost to a crash or power cut?)" : "");
		ps_error_free(&e);
		return r;
	}
	size_t n = m->n_init_apps + m->n_apps;
	v->apps = calloc(n + 1, sizeof(*v->apps));
	if (!v->apps) {
		ps_manifest_free(m);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pod %s", p->uuid);
	}
	_cleanup_close_ int apps_fd = ps_apps_dir_open(p->fd, NULL);
	for (size_t i = 0; i < n; i++) {
		bool init = i < m->n_init_apps;
		const ps_app *a = init ? &m->init_apps[i] : &m->apps[i - m->n_init_apps];
		ps_app_view *av = &v->apps[v->n_apps++];
		av->app = a;
		av->init = init;
		av->goal = a->goal;
		av->healthy = true;
		if (!(av->name = strdup(a->name))) {
			ps_manifest_free(m);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pod %s", p->uuid);
		}
		if (apps_fd < 0)
			continue;
		_cleanup_close_ int fd = openat(apps_fd, a->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0)
			load_markers(fd, av);
		if (health)
			note_health(v, av);
	}
	v->manifest = m; /* the apps borrow from it */
	return 0;
}

/* A running pod's cgroup usage, and its apps' when they are in the view. */
static void load_usage(ps_pod *p, ps_pod_view *v)
{
	_cleanup_free_ char **names = calloc(v->n_apps + 1, sizeof(char *));
	_cleanup_free_ ps_cgroup_usage *apps = calloc(v->n_apps + 1, sizeof(ps_cgroup_usage));

	if (!names || !apps)
		return;
	for (size_t i = 0; i < v->n_apps; i++)
		names[i] = v->apps[i].name;
	if (ps_pod_cgroup_usage(p->fd, names, v->n_apps, &v->usage, apps, NULL) < 0)
		return;
	v->have_usage = true;
	for (size_t i = 0; i < v->n_apps; i++) {
		v->apps[i].usage = apps[i];
		v->apps[i].have_usage = apps[i].memory_bytes >= 0 || apps[i].cpu_ns >= 0 || apps[i].pids >= 0;
	}
}

/* Healthy without the apps in the output: the app dirs as they come, no
 * manifest to parse. */
static int scan_health(ps_pod *p, ps_pod_view *v)
{
	int fd = ps_apps_dir_open(p->fd, NULL);
	if (fd < 0)
		return 0;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_close_ int afd = openat(dirfd(d), de->d_name,
		                                 O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (afd < 0)
			continue;
		ps_app_view av = { .name = strdup(de->d_name) };
		if (av.name) {
			load_markers(afd, &av);
			note_health(v, &av);
		}
		app_view_clear(&av);
	}
	closedir(d);
	return 0;
}

int ps_pod_inspect(ps_pod *p, unsigned what, ps_pod_view *ret, ps_error **err)
{
	ps_pod_view v = { .state = p->state };
	bool running = p->state == PS_STATE_RUNNING;
	int r;

	memcpy(v.uuid, p->uuid, sizeof(v.uuid));
	if (what & PS_VIEW_INFO)
		v.have_info = ps_info_read(p->fd, &v.info, NULL) == 0;
	if (what & PS_VIEW_RUNTIME) {
		v.have_pid = !(what & PS_VIEW_NO_PID) && ps_pid_marker_read(p->fd, &v.pid, NULL) == 0;
		v.have_exit = ps_exit_marker_read(p->fd, &v.exit, NULL) == 0;
		/* A ready marker left by a stage1 that died means nothing. */
		v.ready = running && ps_ready_marker_read(p->fd, &v.ready_ns, NULL) == 0;
		if (p->dir == PS_DIR_EXITED_GARBAGE && ps_gc_mark_read(p->fd, &v.gc_marked_ns, NULL) < 0)
			v.gc_marked_ns = 0;
	}
	/* Healthy only while running; the apps decide the rest. */
	v.healthy = running;
	if (!running && (what & (PS_VIEW_HEALTH | PS_VIEW_APPS)))
		v.unhealthy_why = ps_strdup_printf("pod is %s", ps_pod_state_name(p->state));
	if (what & PS_VIEW_APPS)
		r = load_apps(p, &v, running, err);
	else if ((what & PS_VIEW_HEALTH) && running)
		r = scan_health(p, &v);
	else
		r = 0;
	if (r < 0) {
		ps_pod_view_clear(&v);
		return r;
	}
	if ((what & PS_VIEW_USAGE) && running)
		load_usage(p, &v);
	*ret = v;
	return 0;
}

void ps_pod_view_clear(ps_pod_view *v)
{
	ps_info_clear(&v->info);
	ps_exit_marker_clear(&v->exit);
	for (size_t i = 0; i < v->n_apps; i++)
		app_view_clear(&v->apps[i]);
	free(v->apps);
	free(v->unhealthy_why);
	ps_manifest_free(v->manifest);
	v->manifest = NULL;
	v->apps = NULL;
	v->unhealthy_why = NULL;
	v->n_apps = 0;
}

int ps_pod_health(ps_pod *p, bool *ret_ready, bool *ret_healthy, char **ret_why, ps_error **err)
{
	ps_pod_view v;
	int r = ps_pod_inspect(p, PS_VIEW_HEALTH, &v, err);

	if (r < 0)
		return r;
	if (ret_ready) {
		long long t;
		*ret_ready = p->state == PS_STATE_RUNNING && ps_ready_marker_read(p->fd, &t, NULL) == 0;
	}
	*ret_healthy = v.healthy;
	if (ret_why)
		*ret_why = TAKE_PTR(v.unhealthy_why);
	ps_pod_view_clear(&v);
	return 0;
}

/* --- list's fast path ----------------------------------------------------- */

struct flock_id {
	dev_t dev;
	ino_t ino;
};

struct ps_flocks {
	struct flock_id *v;
	size_t n;
};

static int flock_id_cmp(const void *a, const void *b)
{
	const struct flock_id *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static bool flocks_has(const ps_flocks *f, dev_t dev, ino_t ino)
{
	struct flock_id k = { dev, ino };

	return f->n && bsearch(&k, f->v, f->n, sizeof(k), flock_id_cmp);
}

void ps_flocks_free(ps_flocks *f)
{
	if (!f)
		return;
	free(f->v);
	free(f);
}

int ps_flocks_load(ps_store *s, ps_flocks **ret, ps_error **err)
{
	_cleanup_free_ char *text = NULL;
	struct stat st;
	int r;

	/* Calibrate on a lock of our own: a shared one on a fresh fd of run/
	 * (nobody takes an exclusive lock on a state dir). */
	_cleanup_close_ int fd = openat(ps_store_dir_fd(s, PS_DIR_RUN), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return ps_error_errno(err, "open %s/pods/run", ps_store_path(s));
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return ps_error_errno(err, "lock %s/pods/run", ps_store_path(s));
	r = ps_read_file_at(AT_FDCWD, "/proc/locks", SIZE_MAX / 2, &text, NULL, err);
	flock(fd, LOCK_UN);
	if (r < 0)
		return r == -ENOENT ? ps_error_set(err, PS_ERR_FAILED, ENOENT, "read /proc/locks") : r;
	ps_flocks *f = calloc(1, sizeof(*f));
	size_t cap = 0;
	if (!f)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read /proc/locks");
	/* "1: FLOCK  ADVISORY  WRITE 123 08:01:4567 0 EOF"; a waiter's line
	 * has "->" where the type is, and is not a held lock. */
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		char type[16];
		unsigned maj, min;
		unsigned long long ino;
		if (sscanf(line, "%*d: %15s %*s %*s %*s %x:%x:%llu", type, &maj, &min, &ino) != 4 ||
		    !streq(type, "FLOCK"))
			continue;
		if (f->n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct flock_id *nv = realloc(f->v, nc * sizeof(*nv));
			if (!nv) {
				ps_flocks_free(f);
				return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read /proc/locks");
			}
			f->v = nv;
			cap = nc;
		}
		f->v[f->n++] = (struct flock_id){ makedev(maj, min), (ino_t)ino };
	}
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), flock_id_cmp);
	if (!flocks_has(f, st.st_dev, st.st_ino)) {
		ps_flocks_free(f);
		return ps_error_set(err, PS_ERR_FAILED, EOPNOTSUPP,
		                    "/proc/locks does not show our lock on %s/pods/run", ps_store_path(s));
	}
	*ret = f;
	return 0;
}

/* Is dir/uuid still the directory st describes? */
static bool still_at(int dfd, const char *uuid, const struct stat *st)
{
	struct stat now;

	return fstatat(dfd, uuid, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st->st_dev &&
	       now.st_ino == st->st_ino;
}

int ps_pod_peek(ps_store *s, const char *uuid, ps_pod_dir dir, const ps_flocks *held,
                unsigned what, ps_pod_view *ret, ps_error **err)
{
	return ps_pod_peek_cached(s, uuid, dir, held, NULL, what, ret, err);
}

/* A marker read by ps_pod_peek: there (*have), absent or not JSON (as
 * ps_pod_inspect shows it: not there), or a failure to read it (no openat2,
 * out of fds, I/O error): false, and the pod goes the full way. */
static bool peek_read(int r, bool *have)
{
	*have = r == 0;
	return r == 0 || r == -ENOENT || r == -EBADMSG;
}

int ps_pod_peek_cached(ps_store *s, const char *uuid, ps_pod_dir dir, const ps_flocks *held,
                       ps_peek_cache *cache, unsigned what, ps_pod_view *ret, ps_error **err)
{
	int dfd = ps_store_dir_fd(s, dir);
	struct stat st;
	bool ok = true, have_gc = true;

	(void)err;
	if (!held || (what & ~(PS_VIEW_INFO | PS_VIEW_RUNTIME | PS_VIEW_NO_PID)) ||
	    !ps_uuid_is_valid(uuid))
		return -EAGAIN;
	if (fstatat(dfd, uuid, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
	    ps_dir_check_trusted(&st, false) < 0 || flocks_has(held, st.st_dev, st.st_ino))
		return -EAGAIN;
	if (cache && ps_peek_cache_find(cache, uuid, dir, &st, what, ret))
		return 0;
	/* An entry for the cache has every marker; the view only what was asked. */
	bool keep = cache && ps_peek_cache_wants(cache, &st);
	unsigned rd = keep ? (what | PS_VIEW_INFO | PS_VIEW_RUNTIME) & ~PS_VIEW_NO_PID : what;
	ps_pod_view v = { .state = ps_pod_state_from(dir, false) };
	memcpy(v.uuid, uuid, sizeof(v.uuid));
	if (rd & PS_VIEW_INFO)
		ok &= peek_read(ps_info_read_in(dfd, uuid, &v.info, NULL), &v.have_info);
	if (rd & PS_VIEW_RUNTIME) {
		if (!(rd & PS_VIEW_NO_PID))
			ok &= peek_read(ps_pid_marker_read_in(dfd, uuid, &v.pid, NULL), &v.have_pid);
		ok &= peek_read(ps_exit_marker_read_in(dfd, uuid, &v.exit, NULL), &v.have_exit);
		/* Not running: a ready marker means nothing (ps_pod_inspect). */
		if (dir == PS_DIR_EXITED_GARBAGE)
			ok &= peek_read(ps_gc_mark_read_in(dfd, uuid, &v.gc_marked_ns, NULL), &have_gc);
		if (!have_gc)
			v.gc_marked_ns = 0;
	}
	bool missing = ((rd & PS_VIEW_INFO) && !v.have_info) ||
	               ((rd & PS_VIEW_RUNTIME) && (!v.have_exit || !have_gc ||
	                                          (!(rd & PS_VIEW_NO_PID) && !v.have_pid)));
	if (!ok) {
		ps_pod_view_clear(&v);
		return -EAGAIN;
	}
	/* A marker that was not there: absent, or the pod moved (or went)
	 * before we looked? Only the former is this pod's view. */
	if (missing && !still_at(dfd, uuid, &st)) {
		ps_pod_view_clear(&v);
		return -EAGAIN;
	}
	if (keep)
		ps_peek_cache_add(cache, uuid, dir, &st, &v);
	if (!(what & PS_VIEW_INFO)) {
		ps_info_clear(&v.info);
		v.have_info = false;
		v.info = (ps_info){ 0 };
	}
	if (!(what & PS_VIEW_RUNTIME)) {
		ps_exit_marker_clear(&v.exit);
		v.have_exit = false;
		v.exit = (ps_exit_marker){ 0 };
		v.gc_marked_ns = 0;
	}
	if (!(what & PS_VIEW_RUNTIME) || (what & PS_VIEW_NO_PID)) {
		v.have_pid = false;
		v.pid = (ps_pid_marker){ 0 };
	}
	v.healthy = false;
	*ret = v;
	return 0;
}
