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
#include <signal.h>
#include <stdarg.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <linux/magic.h>

#include "openat-root.h"
#include "stage1.h"
#include "tty.h"
#include "strv.h"
#include "util.h"
#include "notify.h"
#include "readiness.h"
#include "cgroups.h"
#include "readyproto.h"

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif
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

/* Open (creating what is missing on the way) path inside rootfd, as O_PATH,
 * resolving symlinks as if rootfd were /. A missing file is created empty
 * (O_EXCL: nothing the image put there is ever opened for real). Returns an
 * fd or -errno. */
static int open_mkdir_in_root(int rootfd, const char *path, bool file)
{
	int fd = s1_open_in_root(rootfd, path, O_PATH);
	if (fd != -ENOENT)
		return fd;
	if (!file)
		return ps_openat_in_root(rootfd, path, O_PATH, 0, PS_ROOT_MKDIR);
	fd = ps_openat_in_root(rootfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644,
	                       PS_ROOT_MKDIR);
	if (fd < 0 && fd != -EEXIST)
		return fd;
	if (fd >= 0)
		close(fd);
	return s1_open_in_root(rootfd, path, O_PATH);
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
 * does not have are skipped. All of it relative to an fd of the procfs or
 * sysfs we mounted ourselves (its magic checked): never a path of the image.
 */
static const char *const proc_masked[] = {
	"acpi", "asound", "interrupts", "kcore", "keys", "latency_stats",
	"timer_list", "timer_stats", "sched_debug", "scsi",
};
static const char *const proc_readonly[] = {
	"bus", "fs", "irq", "sys", "sysrq-trigger",
};
static const char *const sys_masked[] = {
	"firmware", "devices/virtual/powercap",
};

#ifndef MOUNT_ATTR_RDONLY
struct mount_attr {
	unsigned long long attr_set, attr_clr, propagation, userns_fd;
};
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef MOUNT_ATTR_NOEXEC
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

static void fd_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/*
 * Where an API filesystem goes: a directory right under the rootfs, made
 * when missing. A symlink there (CVE-2019-16884/19921: /proc -> /pp would
 * put procfs where the masks do not reach) is refused, so is anything not a
 * directory. O_NOFOLLOW | O_DIRECTORY on the open is the guarantee; the
 * fstatat only makes the message clear.
 */
static int api_mountpoint(int rootfd, const char *name)
{
	struct stat st;

	if (fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			child_fail(errno, 125, "/%s: %s", name, strerror(errno));
		if (mkdirat(rootfd, name, 0755) < 0 && errno != EEXIST)
			child_fail(errno, 125, "mkdir /%s: %s", name, strerror(errno));
	} else if (S_ISLNK(st.st_mode)) {
		child_fail(ELOOP, 125, "the image's /%s is a symlink: refused", name);
	} else if (!S_ISDIR(st.st_mode)) {
		child_fail(ENOTDIR, 125, "the image's /%s is not a directory: refused", name);
	}
	int fd = openat(rootfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		child_fail(errno, 125, "the image's /%s: %s", name, errno == ENOTDIR ? "not a directory: refused" : strerror(errno));
	return fd;
}

/* The filesystem now on rootfs/name, which must be of type magic. */
static int open_mounted(int rootfd, const char *name, unsigned long magic)
{
	struct statfs sf;
	int fd = openat(rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		child_fail(errno, 125, "open /%s: %s", name, strerror(errno));
	if (fstatfs(fd, &sf) < 0)
		child_fail(errno, 125, "statfs /%s: %s", name, strerror(errno));
	if ((unsigned long)sf.f_type != magic)
		child_fail(EXDEV, 125, "/%s: not the filesystem we mounted there", name);
	return fd;
}

static void remount_readonly(int basefd, const char *path)
{
	char fdpath[64];
	/* A fresh fd: the old one names what is now under the mount. */
	int fd = openat(basefd, path, O_PATH | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		child_fail(errno, 125, "remount %s: %s", path, strerror(errno));
	fd_path(fdpath, sizeof(fdpath), fd);
	if (mount(NULL, fdpath, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          NULL) < 0)
		child_fail(errno, 125, "remount %s read-only: %s", path, strerror(errno));
	close(fd);
}

static void mask_paths(int basefd, const char *fsname, const char *const *paths, size_t n)
{
	char fdpath[64];
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		int fd = openat(basefd, paths[i], O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		fd_path(fdpath, sizeof(fdpath), fd);
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", fdpath, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			          "size=0,mode=0555") < 0)
				child_fail(errno, 125, "mask /%s/%s: %s", fsname, paths[i], strerror(errno));
		} else if (mount("/dev/null", fdpath, NULL, MS_BIND, NULL) < 0) {
			child_fail(errno, 125, "mask /%s/%s: %s", fsname, paths[i], strerror(errno));
		}
		close(fd);
	}
}

static void setup_proc(int rootfd)
{
	char fdpath[64];
	int mp = api_mountpoint(rootfd, "proc");

	fd_path(fdpath, sizeof(fdpath), mp);
	if (mount("proc", fdpath, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		child_fail(errno, 125, "mount proc: %s", strerror(errno));
	close(mp);
	int procfd = open_mounted(rootfd, "proc", PROC_SUPER_MAGIC);
	mask_paths(procfd, "proc", proc_masked, ARRAY_SIZE(proc_masked));
	for (size_t i = 0; i < ARRAY_SIZE(proc_readonly); i++) {
		int fd = openat(procfd, proc_readonly[i], O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		fd_path(fdpath, sizeof(fdpath), fd);
		if (mount(fdpath, fdpath, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(errno, 125, "bind /proc/%s: %s", proc_readonly[i], strerror(errno));
		close(fd);
		remount_readonly(procfd, proc_readonly[i]);
	}
	close(procfd);
}

/* sysfs of our net ns, read-only; falls back to a read-only bind of the host's. */
static void setup_sys(int rootfd)
{
	char fdpath[64];
	int mp = api_mountpoint(rootfd, "sys");

	fd_path(fdpath, sizeof(fdpath), mp);
	if (mount("sysfs", fdpath, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		if (mount("/sys", fdpath, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(errno, 125, "mount /sys: %s", strerror(errno));
		close(mp);
		/* read-only down to the host's mounts under /sys (cgroup, debugfs…) */
		mp = openat(rootfd, "sys", O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
			                               MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
		if (mp < 0 || syscall(SYS_mount_setattr, mp, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
		                      sizeof(attr)) < 0)
			remount_readonly(rootfd, "sys");
		if (mp >= 0)
			close(mp);
	} else {
		close(mp);
	}
	int sysfd = open_mounted(rootfd, "sys", SYSFS_MAGIC);
	mask_paths(sysfd, "sys", sys_masked, ARRAY_SIZE(sys_masked));
	close(sysfd);
}

/*
 * /dev: a tmpfs mounted nodev, so no device node made in it (by an app given
 * CAP_MKNOD) can be opened; the default nodes are bind mounts of the ones
 * stage1 made in its own tmpfs (rootfs_make_devices()), and a bind keeps the
 * flags of its source mount, which allows devices.
 */
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

static void setup_dev(struct pod *pod, int rootfd)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" },     { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
		{ "pts/ptmx", "ptmx" },
	};
	char fdpath[64], src[PATH_MAX];
	int mp = api_mountpoint(rootfd, "dev");

	fd_path(fdpath, sizeof(fdpath), mp);
	if (mount("tmpfs", fdpath, "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=755,size=65536k") < 0)
		child_fail(errno, 125, "mount /dev: %s", strerror(errno));
	close(mp);
	/* The tmpfs is ours: plain *at() calls are safe inside it. */
	int dev = open_mounted(rootfd, "dev", TMPFS_MAGIC);
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		int fd = openat(dev, dev_nodes[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0)
			child_fail(errno, 125, "create /dev/%s: %s", dev_nodes[i], strerror(errno));
		close(fd);
		fd = openat(dev, dev_nodes[i], O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			child_fail(errno, 125, "open /dev/%s: %s", dev_nodes[i], strerror(errno));
		if (pod->devices_fd >= 0) {
			/* a clone of the node's mount in the pod's detached tmpfs */
			int t = open_tree(pod->devices_fd, dev_nodes[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
			if (t < 0 || move_mount(t, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
				child_fail(errno, 125, "bind /dev/%s: %s", dev_nodes[i], strerror(errno));
			close(t);
		} else {
			fd_path(fdpath, sizeof(fdpath), fd);
			snprintf(src, sizeof(src), "%s/%s", pod->devices_path, dev_nodes[i]);
			if (mount(src, fdpath, NULL, MS_BIND, NULL) < 0)
				child_fail(errno, 125, "bind /dev/%s: %s", dev_nodes[i], strerror(errno));
		}
		close(fd);
	}
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

/*
 * A volume: bind src (recursively) at target, then nosuid and nodev (unless
 * the volume opts into "suid" / "dev") and read-only as asked, on every mount
 * of the tree at once with mount_setattr(AT_RECURSIVE). Without it (before
 * 5.12) the top mount is remounted keeping the flags it had, and the mounts
 * under a host source keep theirs.
 */
static void bind_volume(int rootfd, const char *target, const char *src, bool file, bool ro,
                        bool allow_suid, bool allow_dev)
{
	char fdpath[64];
	int fd = open_mkdir_in_root(rootfd, target, file);

	if (fd < 0)
		child_fail(-fd, 125, "mount %s: open target: %s", target, strerror(-fd));
	fd_path(fdpath, sizeof(fdpath), fd);
	if (mount(src, fdpath, NULL, MS_BIND | MS_REC, NULL) < 0)
		child_fail(errno, 125, "bind %s on %s: %s", src, target, strerror(errno));
	close(fd);
	/* A fresh fd: the old one names what is now under the mount. */
	fd = open_mkdir_in_root(rootfd, target, file);
	if (fd < 0)
		child_fail(-fd, 125, "mount %s: %s", target, strerror(-fd));
	struct mount_attr attr = {
		.attr_set = (ro ? MOUNT_ATTR_RDONLY : 0) | (allow_suid ? 0 : MOUNT_ATTR_NOSUID) |
		            (allow_dev ? 0 : MOUNT_ATTR_NODEV),
	};
	if (attr.attr_set &&
	    syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		if (errno != ENOSYS)
			child_fail(errno, 125, "mount %s: set flags: %s", target, strerror(errno));
		struct statvfs sv;
		if (fstatvfs(fd, &sv) < 0)
			child_fail(errno, 125, "mount %s: %s", target, strerror(errno));
		unsigned long flags = MS_REMOUNT | MS_BIND;
		flags |= (sv.f_flag & ST_RDONLY) || ro ? MS_RDONLY : 0;
		flags |= (sv.f_flag & ST_NOSUID) || !allow_suid ? MS_NOSUID : 0;
		flags |= (sv.f_flag & ST_NODEV) || !allow_dev ? MS_NODEV : 0;
		flags |= sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0;
		flags |= sv.f_flag & ST_NOATIME ? MS_NOATIME : 0;
		flags |= sv.f_flag & ST_NODIRATIME ? MS_NODIRATIME : 0;
		flags |= sv.f_flag & ST_RELATIME ? MS_RELATIME : 0;
		fd_path(fdpath, sizeof(fdpath), fd);
		if (mount(NULL, fdpath, NULL, flags, NULL) < 0)
			child_fail(errno, 125, "remount %s: %s", target, strerror(errno));
	}
	close(fd);
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
		bind_volume(rootfd, target, src, !S_ISDIR(st.st_mode), ro, v->allow_suid, v->allow_dev);
	}
}

/* The user and group stage1 resolved before starting us (s1_resolve_identity):
 * nothing of the image is read here. One group, the primary. */
static void set_identity(const struct app *a)
{
	gid_t g = a->gid;

	if (setgroups(1, &g) < 0)
		child_fail(errno, 125, "setgroups: %s", strerror(errno));
	if (setresgid(g, g, g) < 0)
		child_fail(errno, 125, "setgid %u: %s", (unsigned)g, strerror(errno));
	if (setresuid(a->uid, a->uid, a->uid) < 0)
		child_fail(errno, 125, "setuid %u: %s", (unsigned)a->uid, strerror(errno));
	/* A uid change resets dumpable to the suid_dumpable sysctl: not us. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

void app_child(struct pod *pod, struct app *a, int errfd, int logfd)
{
	sigset_t all;

	/* Not dumpable since our first instruction (stage1 is not, and that is
	 * inherited): nothing in the pod can ptrace us or open our
	 * /proc/PID/{fd,mem,root,cwd} while we hold stage1's fds. */
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
	/* A session of our own: no app holds the caller's terminal as its
	 * controlling tty, so TIOCSTI cannot type into the caller's shell. */
	if (setsid() < 0)
		child_fail(errno, 125, "setsid: %s", strerror(errno));

	/* stdio */
	if (!(pod->interactive && !a->init) && dup2(pod->devnull, 0) < 0)
		child_fail(errno, 125, "stdin: %s", strerror(errno));
	if (logfd >= 0 && (dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0))
		child_fail(errno, 125, "stdout: %s", strerror(errno));
	/* Every other fd of stage1 (data dir, pod dir, app dirs, the lock,
	 * sockets, pipes) is closed now, before anything of the rootfs is
	 * looked up: close-on-exec is not enough (CVE-2024-21626: a workingDir
	 * of /proc/self/fd/N reached the host through one). */
	{
		const int keep[] = { errfd, a->rootfd, pod->userns_fd, tty_child_fd(), pod->devices_fd, s1_log_fd() };
		s1_close_fds_except(keep, ARRAY_SIZE(keep));
	}

	/* An own mount ns, since pivot_root changes the root of the whole ns.
	 * fds opened before unshare() point into stage1's ns, but cwd is
	 * moved to the copy: enter the rootfs first, then reopen it as ".". */
	if (fchdir(a->rootfd) < 0)
		child_fail(errno, 125, "chdir rootfs: %s", strerror(errno));
	close(a->rootfd);
	if (unshare(CLONE_NEWNS) < 0)
		child_fail(errno, 125, "unshare mount ns: %s", strerror(errno));
	s1_debug("child: unshared mount ns");
	int rootfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		child_fail(errno, 125, "open rootfs: %s", strerror(errno));
	umask(0);

	setup_proc(rootfd);
	s1_debug("child: proc mounted and masked");
	setup_dev(pod, rootfd);
	if (pod->devices_fd >= 0)
		close(pod->devices_fd); /* nothing of stage1's but the rootfs fd from here on */
	s1_debug("child: dev done");
	setup_sys(rootfd);
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
	close(rootfd);
	if (pivot_root_dot() < 0)
		child_fail(errno, 125, "pivot_root: %s", strerror(errno));
	s1_debug("child: pivoted");
	umask(022);
	if ((cr = tty_child(pod, a)) < 0)
		child_fail(-cr, 125, "terminal: %s", strerror(-cr));

	const char *wd = a->m->working_dir && *a->m->working_dir ? a->m->working_dir : "/";
	int r = s1_chdir_in_root(wd);
	if (r < 0)
		child_fail(-r, 125, "working dir %s: %s", wd,
		           r == -EXDEV ? "outside the app's root" : strerror(-r));

	if (pod->userns_fd >= 0 && (cr = s1_userns_join(pod->userns_fd)) < 0)
		child_fail(-cr, 125, "join the pod's user namespace: %s", strerror(-cr));
	/* no_new_privs; the filter now only without it (loading one then
	 * needs CAP_SYS_ADMIN, which we are about to drop), else just before
	 * exec, so a profile need allow little of our own setup. */
	cr = confine_seccomp(a, false);
	if (cr < 0)
		child_fail(-cr, 125, "seccomp: cannot load filter: %s", strerror(-cr));
	if ((cr = confine_caps(a)) < 0) /* keeps CAP_SETUID/SETGID for: */
		child_fail(-cr, 125, "capabilities: %s", strerror(-cr));
	set_identity(a);

	/* Only stdio and the error pipe (close-on-exec) are left. */
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
	/* The probe process is a fork of stage1, already in the app's mount ns
	 * (root and cwd are its root) with only stdio open: forget the error
	 * pipe, undo the signal setup (the mask was reset by probe.c). */
	child_errfd = -1;
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	if (setsid() < 0 && getsid(0) != getpid())
		_exit(126);
	const char *wd = a->m->working_dir && *a->m->working_dir ? a->m->working_dir : "/";
	if (s1_chdir_in_root(wd) < 0 && s1_chdir_in_root("/") < 0)
		_exit(126);
	if (confine_seccomp(a, false) < 0 || confine_caps(a) < 0)
		_exit(126);
	set_identity(a);
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	if (confine_seccomp(a, true) < 0)
		_exit(126);
	environ = a->envp;
	execvp(argv[0], argv);
	_exit(errno == ENOENT ? 127 : 126);
}

/* Append s (taken, may be NULL: out of memory) to *v; false on failure. */
static bool strv_take(char ***v, char *s)
{
	bool ok = s && ps_strv_push(v, s) == 0;
	free(s);
	return ok;
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
	char **argv = NULL, **envp = NULL;
	bool ok = true;

	if (!m->exec || !m->exec[0])
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "app %s: nothing to exec", m->name);
	for (char *const *s = m->exec; *s; s++)
		ok = ok && ps_strv_push(&argv, *s) == 0;
	for (char *const *s = m->env; s && *s; s++)
		ok = ok && ps_strv_push(&envp, *s) == 0;
	if (!env_has(m->env, "PATH"))
		ok = ok && ps_strv_push(&envp, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") == 0;
	if (!env_has(m->env, "HOSTNAME"))
		ok = ok && strv_take(&envp, ps_strdup_printf("HOSTNAME=%s", pod->name));
	if (!env_has(m->env, "HOME"))
		ok = ok && ps_strv_push(&envp, "HOME=/root") == 0;
	ok = ok && ps_strv_push(&envp, "container=podctl") == 0;
	if (pod->tty && !a->init && !env_has(m->env, "TERM"))
		ok = ok && strv_take(&envp, ps_strdup_printf("TERM=%s", getenv("TERM") && *getenv("TERM") ?
		                                                            getenv("TERM") : "xterm"));
	if (!ok || !argv || !envp) {
		ps_strv_free(argv);
		ps_strv_free(envp);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", m->name);
	}
	a->argv = argv;
	a->envp = envp;
	return 0;
}
