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
	if (mount(target, target, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV, NULL) < 0)
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
		return ps_error_prefix(err, "app %s", name);
	if (img->copied) {
		ps_app_image_free(img);
		return mount_copied_rootfs(pod, a, err);
	}
	_cleanup_free_ char *lower = NULL;
	r = ps_app_image_lowerdir(img, &lower, err);
	ps_app_image_free(img);
	if (r < 0)
		return ps_error_prefix(err, "app %s", name);

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

/* openat2 inside an untrusted tree: symlinks resolve as if root were the rootfs. */
static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (unsigned long long)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

static int write_small(int dirfd, const char *name, const char *content)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == ELOOP) {
		/* a symlink in the image: replace it, never write through it */
		if (unlinkat(dirfd, name, 0) < 0)
			return -errno;
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	}
	if (fd < 0)
		return -errno;
	int r = ps_write_all(fd, content, strlen(content));
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

int rootfs_write_etc(struct pod *pod, struct app *a, ps_error **err)
{
	bool host_net = pod->manifest->net && streq(pod->manifest->net, "host");
	int r;

	int etc = open_in_root(a->rootfd, "etc", O_RDONLY | O_DIRECTORY);
	if (etc == -ENOENT) {
		if (mkdirat(a->rootfd, "etc", 0755) < 0 && errno != EEXIST)
			return ps_error_errno(err, "app %s: mkdir /etc", a->m->name);
		etc = open_in_root(a->rootfd, "etc", O_RDONLY | O_DIRECTORY);
	}
	if (etc < 0)
		return ps_error_set(err, PS_ERR_FAILED, -etc, "app %s: open /etc", a->m->name);
	_cleanup_close_ int etcfd = etc;

	_cleanup_free_ char *hostname = ps_strdup_printf("%s\n", pod->name);
	_cleanup_free_ char *hosts = NULL, *resolv = NULL;
	if (host_net) {
		hosts = read_host_file("/etc/hosts");
		resolv = read_host_file("/etc/resolv.conf");
	}
	if (!hosts)
		hosts = ps_strdup_printf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
		                         "ip6-loopback\n127.0.1.1\t%s\n",
		                         pod->name);
	if (!resolv)
		resolv = strdup("");
	if (!hostname || !hosts || !resolv)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", a->m->name);
	if ((r = write_small(etcfd, "hostname", hostname)) < 0 ||
	    (r = write_small(etcfd, "hosts", hosts)) < 0 ||
	    (r = write_small(etcfd, "resolv.conf", resolv)) < 0)
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
