/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The apps' root filesystems, made in stage1's private mount ns: an overlay
 * of the image's layers with a per-app upper dir, plus the few files of /etc
 * a pod needs. Nothing here is visible on the host, and all of it goes away
 * with the last process of the pod.
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "stage1.h"
#include "util.h"

/* Without overlayfs, prepare copied the image into apps/<app>/rootfs: bind it
 * on itself (pivot_root wants a mount point), nosuid and nodev like the
 * overlay. By path from our cwd, the data dir, as below. */
static int mount_copied_rootfs(struct pod *pod, struct app *a, ps_error **err)
{
	const char *name = a->m->name;
	_cleanup_free_ char *target = ps_strdup_printf("pods/run/%s/apps/%s/rootfs", pod->uuid, name);

	if (!target)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", name);
	s1_debug("bind copied rootfs %s", target);
	int r = pod->userns_fd >= 0 ? s1_userns_bind_copied(pod, a, target, err) : 0;
	if (r < 0)
		return ps_error_prefix(err, r, "app %s", name);
	if (pod->userns_fd < 0 && (mount(target, target, NULL, MS_BIND, NULL) < 0 ||
	                           mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL) < 0))
		return ps_error_errno(err, "app %s: bind copied rootfs", name);
	a->rootfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->rootfd < 0)
		return ps_error_errno(err, "app %s: open rootfs", name);
	return 0;
}

int rootfs_mount_app(struct pod *pod, struct app *a, ps_error **err)
{
	const char *name = a->m->name;
	ps_app_image *img = NULL;
	int r;

	r = ps_app_image_read(a->dirfd, &img, err);
	if (r < 0)
		return ps_error_prefix(err, r, "app %s", name);
	if (img->copied) {
		ps_app_image_free(img);
		return mount_copied_rootfs(pod, a, err);
	}
	_cleanup_free_ char *lower = NULL;
	r = s1_userns_lowerdir(pod, a, img, &lower, err); /* idmapped with --private-users */
	ps_app_image_free(img);
	if (r < 0)
		return ps_error_prefix(err, r, "app %s", name);

	/* "volatile": no syncs to the upper fs. Without it the overlay's
	 * umount, when the pod's mount ns goes away, syncs the whole upper
	 * filesystem (a journal commit): measured ~10-20 ms per pod here. A
	 * pod's rootfs changes need no durability (a pod never runs twice;
	 * volumes are binds of their own and unaffected); the price is that
	 * an app's fsync() inside its rootfs is a no-op.
	 *
	 * lowerdir (ps_app_image_lowerdir: top first). Relative layer paths are relative to the data dir, which is our cwd, and so are
	 * upper and work: that keeps the option string short. */
	size_t cap = 256 + strlen(lower);
	cap += 3 * (strlen("pods/run/") + PS_UUID_LEN + strlen("/apps/") + strlen(name) + 16);
	_cleanup_free_ char *opts = malloc(cap);
	if (!opts)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", name);
	size_t len = (size_t)snprintf(opts, cap, "volatile,lowerdir=%s", lower);
	const char *base = "pods/run/";
	snprintf(opts + len, cap - len, ",upperdir=%s%s/apps/%s/upper,workdir=%s%s/apps/%s/work",
	         base, pod->uuid, name, base, pod->uuid, name);

	if (ps_mkdirat_p(a->dirfd, "upper", 0755) < 0 || ps_mkdirat_p(a->dirfd, "work", 0700) < 0 ||
	    ps_mkdirat_p(a->dirfd, "rootfs", 0755) < 0)
		return ps_error_errno(err, "app %s: create overlay dirs", name);

	_cleanup_free_ char *target = ps_strdup_printf("%s%s/apps/%s/rootfs", base, pod->uuid, name);
	if (!target)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", name);
	s1_debug("mount overlay %s on %s", opts, target);
	if (mount("overlay", target, "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
		return ps_error_errno(err, "app %s: mount overlay", name);
	/* By path from our cwd (the data dir): cwd moved into our new mount ns
	 * with unshare(), while fds opened before it (a->dirfd) still resolve
	 * in the host's, where the overlay is not mounted. */
	a->rootfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->rootfd < 0)
		return ps_error_errno(err, "app %s: open rootfs", name);
	return 0;
}

/*
 * Write one small file of the image's /etc (hostname, hosts, resolv.conf).
 * Whatever the image has there is never followed nor waited on: an existing
 * regular file is opened O_NONBLOCK|O_NOFOLLOW (a FIFO would open at once,
 * or fail with ENXIO, instead of blocking us until a reader comes) and
 * rewritten; a symlink, FIFO, socket or device is replaced by a fresh file.
 */
static int write_small(int dirfd, const char *name, const char *content)
{
	struct stat st;
	int fd = openat(dirfd, name, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
	if (fd < 0 && errno != ENOENT) {
		/* not a regular file we may write: replace it */
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return -errno;
	}
	/* A file we make is empty: no ftruncate, which on ext4 (the upper
	 * dir's) marks it for block allocation and writeback at close
	 * (auto_da_alloc), three times per pod for nothing. */
	bool made = false;
	if (fd < 0) {
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		made = fd >= 0;
	}
	if (fd < 0)
		return -errno;
	int r = !made && ftruncate(fd, 0) < 0 ? -errno : ps_write_all(fd, content, strlen(content));
	close(fd);
	return r;
}

static char *read_host_file(const char *path)
{
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ps_read_all(fd, 64 * 1024, &buf, NULL) < 0)
		buf = NULL;
	close(fd);
	return buf;
}

/*
 * The pod's device nodes (the OCI default set but ptmx, which each /dev gets
 * from its own devpts), made once in a small tmpfs of stage1's: a detached
 * one (pod->devices_fd), else one mounted in our mount ns at devices/ in
 * the pod dir (on the host it stays an empty dir). Each app's /dev is a
 * nodev tmpfs into which these are bound: a bind keeps the flags of this
 * mount, which allows devices, while a node an app makes in its /dev cannot
 * be opened.
 */
/* A detached tmpfs (fsopen/fsmount) for the device nodes: its fd, or -errno. */
static int devices_detached(void)
{
	int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	int r = 0;

	if (fsfd < 0)
		return -errno;
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "size", "4k", 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "nr_inodes", "16", 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		r = -errno;
	int mfd = r < 0 ? -1 : fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	if (r == 0 && mfd < 0)
		r = -errno;
	close(fsfd);
	return r < 0 ? r : mfd;
}

int rootfs_make_devices(struct pod *pod, ps_error **err)
{
	static const struct {
		const char *name;
		unsigned maj, min;
	} nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	mode_t old;

	/* A tmpfs of its own, not attached anywhere: no directory made for
	 * it in the pod dir (a new inode costs 0.1-0.6 ms on a busy ext4).
	 * The apps' children clone its nodes with open_tree(); a kernel that
	 * cannot (before 5.2, or no clone of a detached mount) gets the
	 * mount on devices/ below. */
	pod->devices_fd = devices_detached();
	if (pod->devices_fd >= 0) {
		old = umask(0);
		for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
			if (mknodat(pod->devices_fd, nodes[i].name, S_IFCHR | 0666,
			            makedev(nodes[i].maj, nodes[i].min)) < 0) {
				umask(old);
				return ps_error_errno(err, "mknod %s", nodes[i].name);
			}
		umask(old);
		int t = open_tree(pod->devices_fd, nodes[0].name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (t >= 0) {
			close(t);
			return 0;
		}
		close(pod->devices_fd);
		pod->devices_fd = -1;
	}

	_cleanup_free_ char *rel = ps_strdup_printf("pods/run/%s/devices", pod->uuid);
	pod->devices_path = ps_strdup_printf("%s/pods/run/%s/devices", pod->data_path, pod->uuid);
	if (!rel || !pod->devices_path)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "devices");
	if (ps_mkdirat_p(pod->pod_fd, "devices", 0700) < 0)
		return ps_error_errno(err, "mkdir devices");
	/* By path from our cwd (the data dir), as the overlays: see rootfs_mount_app(). */
	if (mount("tmpfs", rel, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=4k,nr_inodes=16") < 0)
		return ps_error_errno(err, "mount the pod's devices tmpfs");
	_cleanup_close_ int fd = open(rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ps_error_errno(err, "open devices");
	old = umask(0);
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
		if (mknodat(fd, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0) {
			umask(old);
			return ps_error_errno(err, "mknod %s", nodes[i].name);
		}
	umask(old);
	return 0;
}

/* "keepEtcFiles": what the image has stays (a symlink too: it is not followed). */
static int write_etc(struct pod *pod, int etcfd, const char *name, const char *text)
{
	if (pod->manifest->keep_etc_files && faccessat(etcfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	return write_small(etcfd, name, text);
}

int rootfs_write_etc(struct pod *pod, struct app *a, ps_error **err)
{
	bool host_net = pod->manifest->net && streq(pod->manifest->net, "host");
	int r;

	int etc = s1_open_in_root(a->rootfd, "etc", O_RDONLY | O_DIRECTORY);
	if (etc == -ENOENT) {
		if (mkdirat(a->rootfd, "etc", 0755) < 0 && errno != EEXIST)
			return ps_error_errno(err, "app %s: mkdir /etc", a->m->name);
		etc = s1_open_in_root(a->rootfd, "etc", O_RDONLY | O_DIRECTORY);
	}
	if (etc < 0)
		return ps_error_set(err, PS_ERR_FAILED, -etc, "app %s: open /etc", a->m->name);
	_cleanup_close_ int etcfd = etc;

	_cleanup_free_ char *hostname = ps_strdup_printf("%s\n", pod->name);
	_cleanup_free_ char *hosts = NULL, *resolv = NULL;
	if (host_net) {
		hosts = read_host_file("/etc/hosts");
		resolv = read_host_file("/etc/resolv.conf");
	} else if (net_is_cni(pod)) {
		_cleanup_free_ char *host_resolv = read_host_file("/etc/resolv.conf");
		hosts = net_hosts_text(pod);
		resolv = net_resolv_text(pod, host_resolv);
	}
	if (!hosts)
		hosts = ps_strdup_printf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
		                         "ip6-loopback\n127.0.1.1\t%s\n",
		                         pod->name);
	if (!resolv)
		resolv = strdup("");
	if (!hostname || !hosts || !resolv)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", a->m->name);
	if ((r = write_etc(pod, etcfd, "hostname", hostname)) < 0 ||
	    (r = write_etc(pod, etcfd, "hosts", hosts)) < 0 ||
	    (r = write_etc(pod, etcfd, "resolv.conf", resolv)) < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "app %s: write /etc", a->m->name);
	return 0;
}

int net_loopback_up(ps_error **err)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return ps_error_errno(err, "loopback: socket");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return ps_error_errno(err, "loopback: get flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return ps_error_errno(err, "loopback: bring up");
	return 0;
}
