/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --private-users: the pod's user namespace (Documentation/devel/stage1.md,
 * "User namespace").
 *
 * stage1 itself stays in the host's user namespace (it needs host root for
 * cgroups, mounts on the data dir and the pod's markers). It creates the
 * pod's user namespace through a short-lived child cloned with
 * CLONE_NEWUSER together with the uts, ipc and net namespaces, so those are
 * owned by the pod's user ns (root in the pod may bind port 80 and set its
 * hostname, nothing outside), writes the child's uid_map and gid_map, and
 * joins the child's uts/ipc/net namespaces. Mount, pid and cgroup
 * namespaces stay owned by the host's user ns: root in the pod cannot
 * mount, unmount (uncovering what the masks hide) or remount anything.
 *
 * Each app's child does all of its setup as host root, then joins the user
 * ns (s1_userns_join) as the last step before dropping capabilities.
 *
 * The image's files: every layer is bound through an idmapped mount (host
 * id i shows as range base + i) under the overlay; the overlay's upper dir
 * is not idmapped, so what the pod writes is stored with its host ids
 * (base + i), and a copied-up file keeps the owner it showed. Where the
 * layer's filesystem cannot be idmapped, a chown'ed copy of the tree per
 * range (libpodstore/idshift.c) is used instead, made once.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "idshift.h"
#include "notify.h"
#include "stage1.h"
#include "util.h"

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

struct idmap_attr {
	unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

static int write_map(pid_t pid, const char *file, uint32_t base, uint32_t size)
{
	char path[64], line[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	snprintf(line, sizeof(line), "0 %" PRIu32 " %" PRIu32 "\n", base, size);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return ps_write_all(fd, line, strlen(line));
}

static int open_ns(pid_t pid, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* What the pod's processes must reach in the pod dir, owned by host root
 * until now: empty volumes become the pod root's; the sd_notify sockets
 * writable by anyone who can reach them (only their own app can). */
static int hand_over_files(struct pod *pod, ps_error **err)
{
	const ps_manifest *m = pod->manifest;
	uid_t uid = pod->idrange.uid;
	gid_t gid = pod->idrange.gid;

	for (size_t i = 0; i < m->n_volumes; i++) {
		const ps_volume *v = &m->volumes[i];
		if (v->kind && streq(v->kind, "host"))
			continue; /* host volumes keep their host owners */
		_cleanup_free_ char *p = ps_strdup_printf("volumes/%s", v->name);
		if (!p)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "volumes");
		if (fchownat(pod->pod_fd, p, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
			return ps_error_errno(err, "volume %s: chown to the pod's root", v->name);
	}
	for (size_t i = 0; i < pod->n_apps; i++) {
		struct app *a = &pod->apps[i];
		if (fchmodat(a->dirfd, NOTIFY_SOCKET_NAME, 0666, 0) < 0 && errno != ENOENT)
			return ps_error_errno(err, "app %s: notify socket", a->m->name);
	}
	return 0;
}

int s1_userns_setup(struct pod *pod, int *flags, ps_error **err)
{
	int r = ps_idrange_pod_read(pod->pod_fd, &pod->idrange, err);
	int p[2];

	if (r == -ENOENT) {
		pod->idrange.size = 0;
		return 0; /* no --private-users */
	}
	if (r < 0)
		return r;
	const int owned = *flags & (CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET);
	static const struct { int flag; const char *name; } nss[] = {
		{ CLONE_NEWUTS, "uts" }, { CLONE_NEWIPC, "ipc" }, { CLONE_NEWNET, "net" },
	};

	s1_debug("user ns: uid %" PRIu32 " gid %" PRIu32 " size %" PRIu32, pod->idrange.uid,
	         pod->idrange.gid, pod->idrange.size);
	if (pipe2(p, O_CLOEXEC) < 0)
		return ps_error_errno(err, "user ns: pipe");
	/* A fork without a new stack: the child only waits for EOF and exits.
	 * If we die, the pipe closes and it goes too. */
	pid_t pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | owned | SIGCHLD), NULL,
	                           NULL, NULL, 0UL);
	if (pid == 0) {
		char c;
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return ps_error_errno(err, "user ns: clone");
	}
	/* Written by us, host root: no setgroups "deny" needed, and the host
	 * ids must be ours to give (they are: we are root). */
	r = write_map(pid, "uid_map", pod->idrange.uid, pod->idrange.size);
	if (r >= 0)
		r = write_map(pid, "gid_map", pod->idrange.gid, pod->idrange.size);
	if (r < 0) {
		ps_error_set(err, PS_ERR_FAILED, -r, "user ns: write id map");
		goto out;
	}
	r = open_ns(pid, "user");
	if (r < 0) {
		ps_error_set(err, PS_ERR_FAILED, -r, "user ns: open");
		goto out;
	}
	pod->userns_fd = r;
	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		if (!(owned & nss[i].flag))
			continue;
		_cleanup_close_ int fd = open_ns(pid, nss[i].name);
		if (fd < 0 || setns(fd, nss[i].flag) < 0) {
			r = ps_error_errno(err, "user ns: join the pod's %s ns", nss[i].name);
			goto out;
		}
	}
	*flags &= ~owned;
	r = hand_over_files(pod, err);
out:
	close(p[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : 0;
}

/* Whether idmapped mounts are refused for this pod (for tests of the
 * fallback on hosts that have them). */
static bool no_idmap(void)
{
	const char *e = getenv("PODCTL_STAGE1_NO_IDMAP");
	return e && streq(e, "1");
}

/* Layer i of the app, idmapped into the pod's range, mounted (in our
 * private mount ns) on apps/<app>/idmap/<i>: -EOPNOTSUPP style errors (the
 * filesystem or kernel cannot) come back as they are for the fallback. */
static int idmap_layer(struct pod *pod, struct app *a, const char *layer, size_t i, char **ret)
{
	_cleanup_free_ char *target = ps_strdup_printf("pods/run/%s/apps/%s/idmap/%zu", pod->uuid,
	                                               a->m->name, i);
	_cleanup_free_ char *rel = ps_strdup_printf("idmap/%zu", i);
	if (!target || !rel)
		return -ENOMEM;
	if (no_idmap())
		return -EOPNOTSUPP;
	_cleanup_close_ int t = (int)syscall(SYS_open_tree, AT_FDCWD, layer,
	                                     OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (t < 0)
		return -errno;
	struct idmap_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned)pod->userns_fd };
	if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return -errno;
	if (ps_mkdirat_p(a->dirfd, "idmap", 0700) < 0 || ps_mkdirat_p(a->dirfd, rel, 0700) < 0)
		return -errno;
	if (syscall(SYS_move_mount, t, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -errno;
	*ret = TAKE_PTR(target);
	return 0;
}

/* The fallback for a layer that cannot be idmapped: a chown'ed copy, per
 * range for a tree of the store; per app for a rootfs dir used in place
 * (outside the store, it may change under us: no cache). */
static int shifted_layer(struct pod *pod, struct app *a, const char *layer, size_t i, char **ret,
                         ps_error **err)
{
	if (layer[0] != '/')
		return ps_shifted_tree_get(pod->data_fd, layer, &pod->idrange, ret, err);
	_cleanup_free_ char *rel = ps_strdup_printf("shifted/%zu", i);
	_cleanup_free_ char *path = ps_strdup_printf("pods/run/%s/apps/%s/%s", pod->uuid, a->m->name,
	                                             rel ? rel : "");
	if (!rel || !path)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "shifted copy");
	ps_rm_rf_at(a->dirfd, rel);
	if (ps_mkdirat_p(a->dirfd, "shifted", 0700) < 0 || ps_mkdirat_p(a->dirfd, rel, 0755) < 0)
		return ps_error_errno(err, "create %s", rel);
	_cleanup_close_ int src = open(layer, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int dst = openat(a->dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0 || dst < 0)
		return ps_error_errno(err, "shifted copy of %s", layer);
	int r = ps_tree_copy_shifted(src, dst, &pod->idrange, err);
	if (r < 0)
		return ps_error_prefix(err, r, "shifted copy of %s", layer);
	*ret = TAKE_PTR(path);
	return 0;
}

int s1_userns_lowerdir(struct pod *pod, struct app *a, const ps_app_image *img, char **ret,
                       ps_error **err)
{
	const char *name = a->m->name;
	size_t n = 0, len = 0;
	int r;

	if (pod->userns_fd < 0)
		return ps_app_image_lowerdir(img, ret, err);
	/* The overlay's root shows the upper dir's owner: the pod's root. */
	if (ps_mkdirat_p(a->dirfd, "upper", 0755) < 0 ||
	    fchownat(a->dirfd, "upper", pod->idrange.uid, pod->idrange.gid, AT_SYMLINK_NOFOLLOW) < 0)
		return ps_error_errno(err, "upper dir for the pod's root");
	while (img->layers && img->layers[n])
		n++;
	char **paths = calloc(n + 1, sizeof(char *));
	if (!paths)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "lowerdir");
	for (size_t i = 0; i < n; i++) {
		r = idmap_layer(pod, a, img->layers[i], i, &paths[i]);
		if (r == -ENOMEM) {
			r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "lowerdir");
			goto out;
		}
		if (r < 0) {
			/* EINVAL: this filesystem cannot be idmapped; ENOSYS,
			 * EPERM: nor this kernel. Anything else is an error. */
			if (r != -EINVAL && r != -ENOSYS && r != -EPERM && r != -EOPNOTSUPP) {
				r = ps_error_set(err, PS_ERR_FAILED, -r, "idmapped mount of %s",
				                 img->layers[i]);
				goto out;
			}
			s1_debug("app %s: layer %s: no idmapped mount (%s): shifted copy", name,
			         img->layers[i], strerror(-r));
			r = shifted_layer(pod, a, img->layers[i], i, &paths[i], err);
			if (r < 0)
				goto out;
		}
		len += strlen(paths[i]) + 1;
	}
	/* top first, as overlayfs wants */
	char *s = malloc(len + 1);
	if (!s) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "lowerdir");
		goto out;
	}
	size_t at = 0;
	for (size_t i = n; i-- > 0;) {
		size_t l = strlen(paths[i]);
		memcpy(s + at, paths[i], l);
		at += l;
		if (i)
			s[at++] = ':';
	}
	s[at] = '\0';
	*ret = s;
	r = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return r;
}

int s1_userns_bind_copied(struct pod *pod, struct app *a, const char *target, ps_error **err)
{
	(void)a;
	/* The copy is the pod's own: shift its owners where it lies. Not an
	 * idmapped bind: stage1 and the app's setup create files in it (the
	 * /etc files, mount points) as host root, which an idmapped mount
	 * refuses (EOVERFLOW: host uid 0 has no id there). */
	s1_debug("copied rootfs %s: chown into the pod's range", target);
	_cleanup_close_ int fd = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ps_error_errno(err, "open copied rootfs");
	int r = ps_tree_shift_in_place(fd, &pod->idrange, err);
	if (r < 0)
		return ps_error_prefix(err, r, "copied rootfs");
	if (mount(target, target, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL) < 0)
		return ps_error_errno(err, "bind copied rootfs");
	return 0;
}

int s1_userns_write_etc(struct pod *pod, struct app *a, ps_error **err)
{
	if (pod->userns_fd < 0)
		return rootfs_write_etc(pod, a, err);
	/* Our capabilities over files go while fsuid is not 0: we write as
	 * the pod's root would, and the owner is the pod root's. */
	setfsgid(pod->idrange.gid);
	setfsuid(pod->idrange.uid);
	int r = rootfs_write_etc(pod, a, err);
	setfsuid(0);
	setfsgid(0);
	return r;
}

int s1_userns_join(int fd)
{
	/* fd: the user ns, or a pidfd of a process in it. All our setup is
	 * done; from here root is the pod's root (host uid = range base). */
	if (setns(fd, CLONE_NEWUSER) < 0)
		return -errno;
	/* Become the namespace's root before anything else: a later change to
	 * a non-root user then clears the capabilities as it does on the host
	 * (from the host's uid 0, unmapped here, it would not). */
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return -errno;
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}
