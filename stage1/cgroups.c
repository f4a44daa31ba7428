/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pod's cgroups, seen from stage1 (see cgroups.h). The per-pod state
 * lives in struct s1_cgroups, hung off struct pod.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <podstore/cgroup.h>
#include "cgroup-internal.h"
#include "cgroups.h"
#include "readiness.h"
#include "util.h"

struct s1_cgroups {
	ps_cgroup_host *host;
	char *path;            /* PARENT/UUID */
	ps_cgroup *pod;
	ps_cgroup **apps;      /* by index in pod->apps */
	/* OOM kills and refused forks, read on fds kept open: the pod's,
	 * then each app's by index in pod->apps */
	ps_cgroup_counters *counters;
	long long *oom_base;   /* oom_kill counters when the app last started */
	long long *oom_seen;   /* oom_kill counters already told as events */
	long long *pids_base;  /* pids.events max seen so far */
	long long pod_pids_base;
	ps_cgroup_event_fd *event_fds; /* cgroups.h: what signals OOMs, refused forks */
	size_t n_event_fds;
	/* v1 tells of an OOM before the kill: look again a moment later */
	int recheck_fd;
	int rechecks_left;
};

static bool any_limits(const struct pod *pod)
{
	if (ps_resources_any(&pod->manifest->resources))
		return true;
	for (size_t i = 0; i < pod->n_apps; i++)
		if (ps_resources_any(&pod->apps[i].m->resources))
			return true;
	return false;
}

int s1_cgroups_setup(struct pod *pod, ps_error **err)
{
	const char *parent = ps_cgroup_parent_default(NULL);
	struct s1_cgroups *c;
	int r;

	if ((r = ps_cgroup_path_check(parent, err)) < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->apps = calloc(pod->n_apps, sizeof(*c->apps))) ||
	    !(c->oom_base = calloc(pod->n_apps, sizeof(long long))) ||
	    !(c->oom_seen = calloc(pod->n_apps, sizeof(long long))) ||
	    !(c->pids_base = calloc(pod->n_apps, sizeof(long long))) ||
	    !(c->counters = calloc(pod->n_apps + 1, sizeof(*c->counters)))) {
		if (c) {
			free(c->apps);
			free(c->oom_base);
			free(c->oom_seen);
			free(c->pids_base);
		}
		free(c);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroups");
	}
	c->recheck_fd = -1;
	for (size_t i = 0; i <= pod->n_apps; i++)
		c->counters[i].oom_fd = c->counters[i].pids_fd = -1;
	pod->cgroups = c;
	if ((r = ps_cgroup_host_open(NULL, &c->host, err)) < 0)
		return r;
	if (ps_cgroup_host_mode(c->host) == PS_CGROUP_NONE) {
		if (any_limits(pod))
			return ps_error_set(err, PS_ERR_INVALID, ENOTSUP,
			                    "resource limits: no cgroup filesystem under %s",
			                    ps_cgroup_host_root(c->host));
		s1_warn("no cgroups under %s: no device allowlist, no usage figures",
		        ps_cgroup_host_root(c->host));
		return 0;
	}
	while (*parent == '/')
		parent++;
	char *path = c->path = ps_strdup_printf("%s%s%s", parent, *parent ? "/" : "", pod->uuid);
	if (!path)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroups");
	/* The marker first: whatever we make from here on, gc finds. */
	if ((r = ps_cgroup_marker_write(pod->pod_fd, ps_cgroup_host_root(c->host), path, err)) < 0)
		return r;
	/* In every hierarchy, also on a v1 host where the pod has no limit to
	 * set in one (cpu, blkio): an app left in stage1's cgroup there would
	 * escape whatever an admin set on the pods' parent (a CPU quota, blkio
	 * throttles on --cgroup-parent). */
	if ((r = ps_cgroup_create_in(c->host, path, ~0u, &c->pod, err)) < 0)
		return r;
	/* Devices before any child cgroup exists (v1 copies them down at
	 * mkdir; v2's program on the pod's cgroup runs for those below). */
	if (ps_cgroup_host_has(c->host, PS_CG_DEVICES)) {
		if ((r = ps_cgroup_restrict_devices(c->pod, err)) < 0)
			return r;
	} else {
		s1_warn("no devices cgroup controller: the device allowlist is not enforced");
	}
	if ((r = ps_cgroup_set_resources(c->pod, &pod->manifest->resources, "pod", err)) < 0)
		return r;
	long long oom;
	ps_cgroup_counters_open(c->pod, &c->counters[0]);
	ps_cgroup_counters_read(&c->counters[0], &oom, &c->pod_pids_base);
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		_cleanup_free_ char *what = ps_strdup_printf("app %s", a->m->name);
		if (!what)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroups");
		/* below the pod's, from its open dirs */
		if ((r = ps_cgroup_create_child(c->pod, a->m->name, &c->apps[i], err)) < 0 ||
		    (r = ps_cgroup_set_resources(c->apps[i], &a->m->resources, what, err)) < 0)
			return r;
		ps_cgroup_counters_open(c->apps[i], &c->counters[i + 1]);
	}
	/* Refused forks (and, on v2, OOM kills of any process) as events. */
	c->event_fds = calloc(2 * (pod->n_apps + 1), sizeof(*c->event_fds));
	if (c->event_fds) {
		c->n_event_fds = (size_t)ps_cgroup_events_open(c->pod, c->event_fds, 2);
		for (size_t i = 0; i < pod->n_apps; i++)
			c->n_event_fds += (size_t)ps_cgroup_events_open(c->apps[i], c->event_fds + c->n_event_fds, 2);
	}
	s1_debug("cgroups: %s made (%s)", path,
	         ps_cgroup_host_mode(c->host) == PS_CGROUP_V2 ? "v2"
	         : ps_cgroup_host_hybrid(c->host)             ? "v1, hybrid"
	                                                      : "v1");
	return 0;
}

static ps_cgroup *app_cgroup(const struct pod *pod, const struct app *a)
{
	const struct s1_cgroups *c = pod->cgroups;
	return c && c->apps ? c->apps[a - pod->apps] : NULL;
}

int s1_cgroups_child_join(struct app *a)
{
	if (a->cgroup && ps_cgroup_join_self(a->cgroup) < 0)
		return -errno;
	/* Its cgroup is the app's / (and the pod's are out of its sight). */
	if (unshare(CLONE_NEWCGROUP) < 0)
		return -errno;
	return 0;
}

void s1_cgroups_app_starting(struct pod *pod, struct app *a)
{
	struct s1_cgroups *c = pod->cgroups;
	ps_cgroup *cg = app_cgroup(pod, a);

	a->cgroup = cg;
	if (!cg)
		return;
	size_t i = (size_t)(a - pod->apps);
	ps_cgroup_counters_read(&c->counters[i + 1], &c->oom_base[i], &c->pids_base[i]);
	c->oom_seen[i] = c->oom_base[i];
}

bool s1_cgroups_app_ended(struct pod *pod, struct app *a, int sig)
{
	struct s1_cgroups *c = pod->cgroups;
	ps_cgroup *cg = app_cgroup(pod, a);
	size_t i = (size_t)(a - pod->apps);
	long long oom_kills, pids_events;
	bool oom = false;

	if (!cg)
		return false;
	ps_cgroup_counters_read(&c->counters[i + 1], &oom_kills, &pids_events);
	if (sig == SIGKILL && c->oom_base[i] >= 0 && oom_kills > c->oom_base[i]) {
		/* the app's own process: told by its status and exit, not again
		 * as "a process of the app" */
		oom = true;
		c->oom_base[i] = c->oom_seen[i] = oom_kills;
	}
	/* what else the cgroups saw (v1 signals no pids event: look now) */
	s1_cgroups_event(pod);
	return oom;
}

int s1_cgroups_loop_add(struct pod *pod, int epfd, uint64_t tag)
{
	struct s1_cgroups *c = pod->cgroups;

	if (!c || c->n_event_fds == 0)
		return 0;
	for (size_t i = 0; i < c->n_event_fds; i++) {
		struct epoll_event ev = { .events = c->event_fds[i].events, .data.u64 = tag };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->event_fds[i].fd, &ev) < 0)
			return -errno;
	}
	c->recheck_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->recheck_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->recheck_fd, &ev) < 0)
			return -errno;
	}
	return 0;
}

/* Is the app's own process dead or about to die of SIGKILL (an OOM kill
 * of it, which its reap will tell)? It is our unreaped child: its pid is
 * its own. */
static bool main_process_killed(const struct app *a)
{
	char path[64], buf[4096];
	int fd;

	if (a->pid <= 0 || a->ended)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)a->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return true;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	const char *st = strstr(buf, "\nState:\t");
	if (st && (st[8] == 'Z' || st[8] == 'X'))
		return true;
	/* SIGKILL (bit 8) pending for the process or the thread */
	static const char *const keys[] = { "\nShdPnd:\t", "\nSigPnd:\t" };
	for (size_t k = 0; k < 2; k++) {
		const char *p = strstr(buf, keys[k]);
		if (p && (strtoull(p + strlen(keys[k]), NULL, 16) & (1ULL << (SIGKILL - 1))))
			return true;
	}
	return false;
}

/* A *.events file changed: say what is new. */
void s1_cgroups_event(struct pod *pod)
{
	struct s1_cgroups *c = pod->cgroups;
	ps_cgroup_usage u;

	if (!c || !c->pod)
		return;
	/* Re-arm them all. Which one fired does not matter: look at every
	 * counter. */
	bool oom_notice = false, told = false;
	uint64_t ticks;
	for (size_t i = 0; i < c->n_event_fds; i++)
		oom_notice |= ps_cgroup_event_consume(&c->event_fds[i]);
	bool recheck = c->recheck_fd >= 0 && read(c->recheck_fd, &ticks, sizeof(ticks)) == sizeof(ticks);
	for (size_t i = 0; i < pod->n_apps; i++) {
		long long oom_kills, pids_events;
		if (!c->apps[i])
			continue;
		ps_cgroup_counters_read(&c->counters[i + 1], &oom_kills, &pids_events);
		if (c->oom_seen[i] >= 0 && oom_kills > c->oom_seen[i] &&
		    !(oom_kills == c->oom_seen[i] + 1 && main_process_killed(&pod->apps[i]))) {
			char why[128];
			snprintf(why, sizeof(why), "a process of the app was killed by the OOM killer (%lld so far)",
			         oom_kills);
			c->oom_seen[i] = oom_kills;
			told = true;
			readiness_log_event(pod, pod->apps[i].m->name, "oom", NULL, NULL, why);
		}
		if (pids_events > c->pids_base[i]) {
			char why[128];
			/* the limit hit may be the app's or the pod's */
			ps_cgroup_usage pu;
			ps_cgroup_usage_read(c->apps[i], &u);
			ps_cgroup_usage_read(c->pod, &pu);
			long long limit = u.pids_limit > 0 ? u.pids_limit : pu.pids_limit;
			snprintf(why, sizeof(why), "fork refused: pids limit %lld reached (%lld times)", limit,
			         pids_events);
			c->pids_base[i] = pids_events;
			readiness_log_event(pod, pod->apps[i].m->name, "pids-limit", NULL, NULL, why);
		}
	}
	long long pod_oom, pod_pids_events;
	ps_cgroup_counters_read(&c->counters[0], &pod_oom, &pod_pids_events);
	if (pod_pids_events > c->pod_pids_base) {
		char why[128];
		ps_cgroup_usage_read(c->pod, &u);
		snprintf(why, sizeof(why), "fork refused: the pod's pids limit %lld reached (%lld times)",
		         u.pids_limit, pod_pids_events);
		c->pod_pids_base = pod_pids_events;
		readiness_log_event(pod, NULL, "pids-limit", NULL, NULL, why);
	}
	/* An OOM notice with no kill counted yet: the kill is a moment away.
	 * Look again in 20 ms, a few times at most (a bounded re-check after
	 * an event, not a polling loop). */
	if (oom_notice)
		c->rechecks_left = 5;
	if (!told && (oom_notice || recheck) && c->rechecks_left > 0 && c->recheck_fd >= 0) {
		struct itimerspec its = { .it_value = { .tv_nsec = 20 * 1000000L } };
		c->rechecks_left--;
		timerfd_settime(c->recheck_fd, 0, &its, NULL);
	} else if (told) {
		c->rechecks_left = 0;
	}
}

void s1_cgroups_teardown(struct pod *pod)
{
	struct s1_cgroups *c = pod->cgroups;
	ps_error *err = NULL;

	if (!c)
		return;
	s1_cgroups_event(pod); /* what happened since the last notification */
	bool made = c->pod != NULL;
	for (size_t i = 0; c->counters && i <= pod->n_apps; i++)
		ps_cgroup_counters_close(&c->counters[i]);
	for (size_t i = 0; c->apps && i < pod->n_apps; i++) {
		ps_cgroup_free(c->apps[i]);
		c->apps[i] = NULL;
		pod->apps[i].cgroup = NULL;
	}
	ps_cgroup_free(c->pod);
	c->pod = NULL;
	for (size_t i = 0; i < c->n_event_fds; i++)
		close(c->event_fds[i].fd);
	c->n_event_fds = 0;
	if (c->recheck_fd >= 0)
		close(c->recheck_fd);
	c->recheck_fd = -1;
	free(c->event_fds);
	c->event_fds = NULL;
	/* What we made, one rmdir each, through the hierarchies we hold
	 * open; then the marker. Without a pod cgroup (a setup that failed
	 * half-way), what the marker names, found again. */
	int r;
	if (made && c->host && c->path) {
		const char **names = calloc(pod->n_apps + 1, sizeof(*names));
		for (size_t i = 0; names && i < pod->n_apps; i++)
			names[i] = pod->apps[i].m->name;
		r = names ? ps_cgroup_remove_made(c->host, c->path, names, pod->n_apps, &err)
		          : ps_pod_cgroup_cleanup(pod->pod_fd, &err);
		if (names && r == 0 && unlinkat(pod->pod_fd, PS_FILE_CGROUP, 0) < 0 && errno != ENOENT)
			r = ps_error_errno(&err, "remove marker %s", PS_FILE_CGROUP);
		free(names);
	} else {
		r = ps_pod_cgroup_cleanup(pod->pod_fd, &err);
	}
	if (r < 0 && err) {
		s1_warn("%s", err->msg);
		ps_error_free(&err);
	}
	ps_cgroup_host_free(c->host);
	c->host = NULL;
	s1_debug("cgroups removed");
}

int s1_cgroups_enter_app(int pod_fd, const char *app_name, ps_error **err)
{
	_cleanup_free_ char *root = NULL, *path = NULL, *apath = NULL;
	ps_cgroup_host *h = NULL;
	ps_cgroup *cg = NULL;
	int r = ps_cgroup_marker_read(pod_fd, &root, &path, err);

	if (r == -ENOENT && !*err)
		return 0; /* a pod without cgroups */
	if (r < 0)
		return r;
	if (!(apath = ps_strdup_printf("%s/%s", path, app_name)))
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroups");
	if ((r = ps_cgroup_host_open(root, &h, err)) < 0)
		return r;
	r = ps_cgroup_open(h, apath, &cg, err);
	if (r >= 0) {
		r = ps_cgroup_join_self(cg);
		if (r < 0)
			ps_error_set(err, PS_ERR_FAILED, -r, "join cgroup %s", apath);
		ps_cgroup_free(cg);
	}
	ps_cgroup_host_free(h);
	return r;
}
