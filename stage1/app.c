/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One app's process between fork() and execve(): its own mount ns, the
 * API filesystems, volumes, pivot_root into the app's rootfs, identity,
 * seccomp, and exec. It runs in the pod's pid ns (stage1 unshared it before
 * forking), so the /proc it mounts is the pod's.
 *
 * Every failure is reported to stage1 as a struct child_error on errfd
 * (O_CLOEXEC: a clean EOF means execve() succeeded) and ends the child.
 */
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "stage1.h"
#include "util.h"
#include "notify.h"
#include "readiness.h"
#include "cgroups.h"
#include "readyproto.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

static int child_errfd = -1;

static void __attribute__((noreturn, format(printf, 3, 4)))
child_fail(int errnum, int code, const char *fmt, ...)
{
	struct child_error ce = { .errnum = errnum, .code = code };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ce.msg, sizeof(ce.msg), fmt, ap);
	va_end(ap);
	if (write(child_errfd, &ce, sizeof(ce)) < 0) {
		/* nothing more we can do */
	}
	_exit(code);
}

/* Open (creating dirs on the way) path inside rootfd, as O_PATH, resolving
 * symlinks as if rootfd were /. Returns an fd or -errno. */
static int open_mkdir_in_root(int rootfd, const char *path, bool file)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;

	/* Walk it one component at a time, creating what is missing. */
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	int dirfd = dup(rootfd);
	if (dirfd < 0)
		return -errno;
	char *save = NULL;
	char *comp = strtok_r(buf, "/", &save);
	while (comp) {
		char *next = strtok_r(NULL, "/", &save);
		struct open_how h = { .flags = O_PATH | O_CLOEXEC,
			              .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
		/* Resolve from the rootfs each time: dirfd is only the parent. */
		int nfd = (int)syscall(SYS_openat2, dirfd, comp, &h, sizeof(h));
		if (nfd < 0 && errno == ENOENT) {
			/* mkdirat needs a real directory fd, not O_PATH of a symlink */
			int parent = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (parent < 0) {
				int e = -errno;
				close(dirfd);
				return e;
			}
			int mr;
			if (!next && file)
				mr = openat(parent, comp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
			else
				mr = mkdirat(parent, comp, 0755);
			if (mr < 0 && errno != EEXIST) {
				int e = -errno;
				close(parent);
				close(dirfd);
				return e;
			}
			if (!next && file && mr >= 0)
				close(mr);
			close(parent);
			nfd = (int)syscall(SYS_openat2, dirfd, comp, &h, sizeof(h));
		}
		close(dirfd);
		if (nfd < 0)
			return -errno;
		dirfd = nfd;
		comp = next;
	}
	return dirfd;
}

static int open_in_root_dir(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* Make cwd (the new root, a mount point) the root of this mount ns and
 * drop the old root, without needing a directory to put it in. */
static int pivot_root_dot(void)
{
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return -1;
	if (umount2(".", MNT_DETACH) < 0)
		return -1;
	return chdir("/");
}

static void mount_in_root(int rootfd, const char *path, const char *src, const char *type,
                          unsigned long flags, const char *data, bool file)
{
	char proc[64];
	int fd = open_mkdir_in_root(rootfd, path, file);

	if (fd < 0)
		child_fail(-fd, 125, "mount %s: open target: %s", path, strerror(-fd));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (mount(src, proc, type, flags, data) < 0)
		child_fail(errno, 125, "mount %s on %s: %s", type ? type : src, path, strerror(errno));
	close(fd);
	if ((flags & MS_BIND) && (flags & MS_RDONLY)) {
		/* A bind ignores MS_RDONLY: remount it, through a fresh fd, since
		 * the old one names what is now under the mount. */
		fd = open_mkdir_in_root(rootfd, path, file);
		if (fd < 0)
			child_fail(-fd, 125, "remount %s: %s", path, strerror(-fd));
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (mount(NULL, proc, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
			child_fail(errno, 125, "remount %s read-only: %s", path, strerror(errno));
		close(fd);
	}
}

/*
 * The pod's own /proc still shows the host's kernel: hide what tells too much
 * or lets a root app poke the kernel (the set runc and Docker use). Masked
 * files become /dev/null, masked dirs an empty read-only tmpfs; the
 * read-only ones are bound onto themselves read-only. Paths this kernel
 * does not have are skipped.
 */
static const char *const proc_masked[] = {
	"proc/acpi", "proc/asound", "proc/kcore", "proc/keys", "proc/latency_stats",
	"proc/timer_list", "proc/timer_stats", "proc/sched_debug", "proc/scsi",
};
static const char *const proc_readonly[] = {
	"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

static void remount_readonly(int rootfd, const char *path)
{
	char fdpath[64];
	/* A fresh fd: the old one names what is now under the mount. */
	int fd = openat(rootfd, path, O_PATH | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		child_fail(errno, 125, "remount %s: %s", path, strerror(errno));
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (mount(NULL, fdpath, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          NULL) < 0)
		child_fail(errno, 125, "remount %s read-only: %s", path, strerror(errno));
	close(fd);
}

static void mask_proc(int rootfd)
{
	char fdpath[64];
	struct stat st;

	/* Paths inside the procfs we just mounted: no untrusted symlinks there. */
	for (size_t i = 0; i < ARRAY_SIZE(proc_masked); i++) {
		int fd = openat(rootfd, proc_masked[i], O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", fdpath, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			          "size=0,mode=0555") < 0)
				child_fail(errno, 125, "mask /%s: %s", proc_masked[i], strerror(errno));
		} else if (mount("/dev/null", fdpath, NULL, MS_BIND, NULL) < 0) {
			child_fail(errno, 125, "mask /%s: %s", proc_masked[i], strerror(errno));
		}
		close(fd);
	}
	for (size_t i = 0; i < ARRAY_SIZE(proc_readonly); i++) {
		int fd = openat(rootfd, proc_readonly[i], O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
		if (mount(fdpath, fdpath, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(errno, 125, "bind /%s: %s", proc_readonly[i], strerror(errno));
		close(fd);
		remount_readonly(rootfd, proc_readonly[i]);
	}
}

static void setup_dev(int rootfd)
{
	static const struct {
		const char *name;
		unsigned maj, min;
	} nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },     { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
		{ "pts/ptmx", "ptmx" },
	};

	mount_in_root(rootfd, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
	              "mode=755,size=65536k", false);
	/* The tmpfs is ours: plain *at() calls are safe inside it. */
	int dev = open_in_root_dir(rootfd, "dev");
	if (dev < 0)
		child_fail(-dev, 125, "open /dev: %s", strerror(-dev));
	/* We are real root: mknod is cheaper than bind-mounting the host's nodes. */
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
		if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
			child_fail(errno, 125, "mknod /dev/%s: %s", nodes[i].name, strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][0], dev, links[i][1]) < 0)
			child_fail(errno, 125, "symlink /dev/%s: %s", links[i][1], strerror(errno));
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0 ||
	    mkdirat(dev, "mqueue", 0755) < 0)
		child_fail(errno, 125, "mkdir in /dev: %s", strerror(errno));
	close(dev);
	mount_in_root(rootfd, "dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
	              "newinstance,ptmxmode=0666,mode=0620,gid=5", false);
	mount_in_root(rootfd, "dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	              "mode=1777,size=65536k", false);
	mount_in_root(rootfd, "dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	              NULL, false);
}

static const ps_volume *find_volume(const ps_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_volumes; i++)
		if (streq(m->volumes[i].name, name))
			return &m->volumes[i];
	return NULL;
}

static void setup_volumes(struct pod *pod, struct app *a, int rootfd)
{
	for (size_t i = 0; i < a->m->n_mounts; i++) {
		const ps_mount *mt = &a->m->mounts[i];
		const ps_volume *v = find_volume(pod->manifest, mt->volume);
		char src[PATH_MAX];

		if (!v)
			child_fail(ENOENT, 125, "mount %s: no volume %s", mt->path, mt->volume);
		if (v->kind && streq(v->kind, "host"))
			snprintf(src, sizeof(src), "%s", v->source);
		else
			/* empty: a dir in the pod dir, made by stage1 */
			snprintf(src, sizeof(src), "%s/pods/run/%s/volumes/%s", pod->data_path, pod->uuid,
			         v->name);
		struct stat st;
		if (stat(src, &st) < 0)
			child_fail(errno, 125, "volume %s: %s: %s", v->name, src, strerror(errno));
		const char *target = mt->path;
		while (*target == '/')
			target++;
		bool ro = mt->read_only || v->read_only;
		mount_in_root(rootfd, target, src, NULL, MS_BIND | MS_REC | (ro ? MS_RDONLY : 0), NULL,
		              !S_ISDIR(st.st_mode));
	}
}

/* "uid[:gid]" or names from the rootfs's /etc/passwd and /etc/group
 * (read after pivot_root, so they are the image's). */
static bool lookup_db(const char *file, const char *name, unsigned long *id, unsigned long *gid)
{
	FILE *f = fopen(file, "re");
	char line[1024];
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *fields[4];
		int n = 0;
		for (char *t = strtok_r(line, ":", &save); t && n < 4; t = strtok_r(NULL, ":", &save))
			fields[n++] = t;
		if (n >= 3 && streq(fields[0], name)) {
			*id = strtoul(fields[2], NULL, 10);
			if (gid && n >= 4)
				*gid = strtoul(fields[3], NULL, 10);
			found = true;
			break;
		}
	}
	fclose(f);
	return found;
}

static bool parse_id(const char *s, unsigned long *ret)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*ret = v;
	return true;
}

static void set_identity(const ps_app *m)
{
	unsigned long uid = 0, gid = 0;
	bool gid_set = false;
	char user[256] = "", group[256] = "";

	if (m->user)
		snprintf(user, sizeof(user), "%s", m->user);
	char *colon = strchr(user, ':');
	if (colon) {
		*colon = '\0';
		snprintf(group, sizeof(group), "%s", colon + 1);
	}
	if (m->group)
		snprintf(group, sizeof(group), "%s", m->group);
	if (*user && !parse_id(user, &uid)) {
		if (!lookup_db("/etc/passwd", user, &uid, &gid))
			child_fail(ENOENT, 125, "user %s: not in the image's /etc/passwd", user);
		gid_set = true;
	}
	if (*group) {
		if (!parse_id(group, &gid) && !lookup_db("/etc/group", group, &gid, NULL))
			child_fail(ENOENT, 125, "group %s: not in the image's /etc/group", group);
	}
	/* A numeric user without a group runs with gid 0, as in Docker. */
	(void)gid_set;
	gid_t g = (gid_t)gid;
	if (setgroups(1, &g) < 0)
		child_fail(errno, 125, "setgroups: %s", strerror(errno));
	if (setresgid(g, g, g) < 0)
		child_fail(errno, 125, "setgid %lu: %s", gid, strerror(errno));
	if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
		child_fail(errno, 125, "setuid %lu: %s", uid, strerror(errno));
}

void app_child(struct pod *pod, struct app *a, int errfd, int logfd)
{
	sigset_t all;

	child_errfd = errfd;
	s1_debug("child: forked");
	/* Into the app's cgroup before anything else runs in this process. */
	int cr = s1_cgroups_child_join(a);
	if (cr < 0)
		child_fail(-cr, 125, "join the app's cgroup: %s", strerror(-cr));
	/* Undo stage1's signal setup: blocked for signalfd, SIGPIPE ignored. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* If stage1 dies, so do we (the pod's init dying would kill us too,
	 * a moment later). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);

	/* stdio */
	if (!(pod->interactive && !a->init) && dup2(pod->devnull, 0) < 0)
		child_fail(errno, 125, "stdin: %s", strerror(errno));
	if (logfd >= 0 && (dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0))
		child_fail(errno, 125, "stdout: %s", strerror(errno));

	/* An own mount ns, since pivot_root changes the root of the whole ns.
	 * fds opened before unshare() point into stage1's ns, but cwd is
	 * moved to the copy: enter the rootfs first, then reopen it as ".". */
	if (fchdir(a->rootfd) < 0)
		child_fail(errno, 125, "chdir rootfs: %s", strerror(errno));
	if (unshare(CLONE_NEWNS) < 0)
		child_fail(errno, 125, "unshare mount ns: %s", strerror(errno));
	s1_debug("child: unshared mount ns");
	int rootfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		child_fail(errno, 125, "open rootfs: %s", strerror(errno));
	umask(0);

	mount_in_root(rootfd, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, false);
	mask_proc(rootfd);
	s1_debug("child: proc mounted and masked");
	setup_dev(rootfd);
	s1_debug("child: dev done");
	/* sysfs of our net ns; read-only. Falls back to a ro bind of the host's. */
	{
		int fd = open_mkdir_in_root(rootfd, "sys", false);
		char proc[64];
		if (fd < 0)
			child_fail(-fd, 125, "mount /sys: %s", strerror(-fd));
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (mount("sysfs", proc, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
			if (mount("/sys", proc, NULL, MS_BIND | MS_REC, NULL) < 0 ||
			    mount(NULL, proc, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
				child_fail(errno, 125, "mount /sys: %s", strerror(errno));
		}
		close(fd);
	}
	s1_debug("child: sys mounted");
	setup_volumes(pod, a, rootfd);
	/* readiness: the app's own notify socket, and a static sd_notify client */
	if (readiness_notify_source(a))
		mount_in_root(rootfd, NOTIFY_PATH_IN_APP + 1, readiness_notify_source(a), NULL, MS_BIND,
		              NULL, true);
	if (readiness_client_path())
		mount_in_root(rootfd, NOTIFY_CLIENT_IN_APP + 1, readiness_client_path(), NULL,
		              MS_BIND | MS_RDONLY, NULL, true);
	/* the ready protocols it opted in to: /pantavisor/pv-ctrl, /dev/lxd/sock */
	for (int p = 0; p < RP_N_PROTOCOLS; p++) {
		const char *in_app, *src = readiness_proto_source(a, p, &in_app);
		if (src)
			mount_in_root(rootfd, in_app + 1, src, NULL, MS_BIND, NULL, true);
	}

	s1_debug("child: volumes done");
	if (confine_rootfs_readonly(a, rootfd) < 0)
		child_fail(errno, 125, "read-only rootfs: %s", strerror(errno));
	if (pivot_root_dot() < 0)
		child_fail(errno, 125, "pivot_root: %s", strerror(errno));
	s1_debug("child: pivoted");
	umask(022);

	const char *wd = a->m->working_dir && *a->m->working_dir ? a->m->working_dir : "/";
	if (chdir(wd) < 0)
		child_fail(errno, 125, "chdir %s: %s", wd, strerror(errno));

	/* no_new_privs; the filter now only without it (loading one then
	 * needs CAP_SYS_ADMIN, which we are about to drop), else just before
	 * exec, so a profile need allow little of our own setup. */
	cr = confine_seccomp(a, false);
	if (cr < 0)
		child_fail(-cr, 125, "seccomp: cannot load filter: %s", strerror(-cr));
	if ((cr = confine_caps(a)) < 0) /* keeps CAP_SETUID/SETGID for: */
		child_fail(-cr, 125, "capabilities: %s", strerror(-cr));
	set_identity(a->m);

	/* Only stdio crosses exec: everything else (pod fd, epoll, pipes, the
	 * error pipe itself) is marked close-on-exec. */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

	s1_debug("child: exec");
	if ((cr = confine_seccomp(a, true)) < 0)
		child_fail(-cr, 125, "seccomp: cannot load filter: %s", strerror(-cr));
	environ = a->envp;
	execvp(a->argv[0], a->argv);
	int e = errno;
	child_fail(e, e == ENOENT ? 127 : 126, "exec %s: %s", a->argv[0], strerror(e));
}

void app_exec_probe(struct pod *pod, struct app *a, char *const *argv)
{
	/* The probe process is a fork of stage1: forget its error pipe, and
	 * undo its signal setup (the mask was reset by probe.c). */
	child_errfd = -1;
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	const char *wd = a->m->working_dir && *a->m->working_dir ? a->m->working_dir : "/";
	if (chdir(wd) < 0 && chdir("/") < 0)
		_exit(126);
	if (confine_seccomp(a, false) < 0 || confine_caps(a) < 0)
		_exit(126);
	set_identity(a->m);
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	if (confine_seccomp(a, true) < 0)
		_exit(126);
	environ = a->envp;
	execvp(argv[0], argv);
	_exit(errno == ENOENT ? 127 : 126);
}

static char **strv_push(char **v, size_t *n, char *s, bool *oom)
{
	char **nv = realloc(v, (*n + 2) * sizeof(char *));
	if (!nv || !s) {
		free(s);
		*oom = true;
		return nv ? nv : v;
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	return nv;
}

static bool env_has(char *const *env, const char *key)
{
	size_t kl = strlen(key);
	for (; env && *env; env++)
		if (strncmp(*env, key, kl) == 0 && (*env)[kl] == '=')
			return true;
	return false;
}

int app_build_exec(struct pod *pod, struct app *a, ps_error **err)
{
	const ps_app *m = a->m;
	size_t n = 0, ne = 0;
	char **argv = NULL, **envp = NULL;
	bool oom = false;

	if (!m->exec || !m->exec[0])
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "app %s: nothing to exec", m->name);
	for (char *const *s = m->exec; *s; s++)
		argv = strv_push(argv, &n, strdup(*s), &oom);
	for (char *const *s = m->env; s && *s; s++)
		envp = strv_push(envp, &ne, strdup(*s), &oom);
	if (!env_has(m->env, "PATH"))
		envp = strv_push(envp, &ne,
		                 strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), &oom);
	if (!env_has(m->env, "HOSTNAME"))
		envp = strv_push(envp, &ne, ps_strdup_printf("HOSTNAME=%s", pod->name), &oom);
	if (!env_has(m->env, "HOME"))
		envp = strv_push(envp, &ne, strdup("HOME=/root"), &oom);
	envp = strv_push(envp, &ne, strdup("container=podctl"), &oom);
	if (pod->interactive && !a->init && !env_has(m->env, "TERM") && getenv("TERM") &&
	    isatty(0))
		envp = strv_push(envp, &ne, ps_strdup_printf("TERM=%s", getenv("TERM")), &oom);
	if (oom || !argv || !envp) {
		ps_strv_free(argv);
		ps_strv_free(envp);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", m->name);
	}
	a->argv = argv;
	a->envp = envp;
	return 0;
}
