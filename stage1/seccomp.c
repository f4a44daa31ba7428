/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What confines an app (Documentation/security.md): its seccomp filter, its
 * capability sets, no_new_privs and a read-only rootfs.
 *
 * Filters are built with libseccomp from a resolved profile (the built-in
 * default, or the app's Docker/OCI profile; libpodstore/security.h), but
 * not at every start: compiling the ~400-name allowlist for three x86
 * arches costs tens of milliseconds. The BPF program is exported once into
 *   $DIR/cache/seccomp/<sha256(profile digest, arch, libseccomp version, cut version)>.bpf
 * (written atomically; libpodstore/security.h names it, and gc prunes
 * what is not used) and later runs only read it. A cache file is
 * checked before use (magic, size, first instruction); one that fails is
 * compiled again and replaced. The kernel checks the program once more
 * when it is loaded.
 */
#include <fcntl.h>
#include <stddef.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <seccomp.h>

#include <podstore/fileio.h>
#include "seccomp-tree.h"
#include "security.h"
#include "sha256.h"
#include "stage1.h"
#include "util.h"

#define BPF_MAGIC "PSBPF001"
#define BPF_MAGIC_LEN 8

static inline void profile_freep(ps_sc_profile **p)
{
	ps_sc_profile_free(*p);
}

static uint32_t scmp_action(ps_sc_action a, int errno_ret)
{
	switch (a) {
	case PS_SC_ALLOW:
		return SCMP_ACT_ALLOW;
	case PS_SC_ERRNO:
		return SCMP_ACT_ERRNO((uint32_t)errno_ret);
	case PS_SC_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;
	case PS_SC_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case PS_SC_TRAP:
		return SCMP_ACT_TRAP;
	case PS_SC_LOG:
		return SCMP_ACT_LOG;
	}
	return SCMP_ACT_ERRNO(EPERM);
}

static bool index_repeats(const ps_sc_rule *r)
{
	for (size_t i = 0; i < r->n_args; i++)
		for (size_t j = i + 1; j < r->n_args; j++)
			if (r->args[i].index == r->args[j].index)
				return true;
	return false;
}

static struct scmp_arg_cmp arg_cmp(const ps_sc_arg *a)
{
	return (struct scmp_arg_cmp){ .arg = a->index, .op = (enum scmp_compare)a->op,
		                      .datum_a = a->value, .datum_b = a->value_two };
}

static int add_rule(scmp_filter_ctx ctx, uint32_t default_action, const ps_sc_rule *r, int nr,
                    ps_error **err)
{
	uint32_t act = scmp_action(r->action, r->errno_ret);
	struct scmp_arg_cmp cmp[PS_SC_MAX_ARGS];
	int rc = 0;

	if (act == default_action)
		return 0; /* libseccomp refuses a rule that changes nothing */
	if (index_repeats(r)) {
		/* Docker's meaning: one rule per condition, any of them matches. */
		for (size_t i = 0; i < r->n_args && rc >= 0; i++) {
			cmp[0] = arg_cmp(&r->args[i]);
			rc = seccomp_rule_add_array(ctx, act, nr, 1, cmp);
		}
	} else {
		for (size_t i = 0; i < r->n_args; i++)
			cmp[i] = arg_cmp(&r->args[i]);
		rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)r->n_args, cmp);
	}
	if (rc < 0 && rc != -EEXIST) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		ps_error_set(err, PS_ERR_INVALID, -rc, "seccomp rule for %s", name ? name : "?");
		free(name);
		return rc;
	}
	return 0;
}

/* Compile p into a BPF program (without the magic): *ret malloc'd. */
static int compile(const ps_sc_profile *p, bool shrink, struct sock_filter **ret, size_t *ret_n, ps_error **err)
{
	uint32_t def = scmp_action(p->default_action, p->default_errno);
	scmp_filter_ctx ctx = seccomp_init(def);
	int rc = 0;

	if (!ctx)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "seccomp: init");
	/* no_new_privs is ours to set (noNewPrivileges), not libseccomp's. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* A tree of syscall numbers, not a row of compares: ~400 names. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; i < p->n_arches && rc >= 0; i++) {
		uint32_t arch = seccomp_arch_resolve_name(p->arches[i]);
		if (!arch)
			continue; /* this libseccomp does not know it */
		rc = seccomp_arch_add(ctx, arch);
		if (rc == -EEXIST)
			rc = 0;
	}
	if (rc < 0) {
		seccomp_release(ctx);
		return ps_error_set(err, PS_ERR_FAILED, -rc, "seccomp: add architecture");
	}
	for (size_t i = 0; i < p->n_rules && rc >= 0; i++)
		for (size_t j = 0; j < p->rules[i].n_names && rc >= 0; j++) {
			int nr = seccomp_syscall_resolve_name(p->rules[i].names[j]);
			if (nr == __NR_SCMP_ERROR)
				continue; /* not a syscall on any of these arches */
			rc = add_rule(ctx, def, &p->rules[i], nr, err);
		}
	if (rc < 0) {
		seccomp_release(ctx);
		return ps_error_prefix(err, rc, "seccomp");
	}

	_cleanup_close_ int mfd = (int)syscall(SYS_memfd_create, "seccomp-bpf", MFD_CLOEXEC);
	if (mfd < 0) {
		seccomp_release(ctx);
		return ps_error_errno(err, "seccomp: memfd");
	}
	rc = seccomp_export_bpf(ctx, mfd);
	seccomp_release(ctx);
	if (rc < 0)
		return ps_error_set(err, PS_ERR_FAILED, -rc, "seccomp: export filter");
	if (lseek(mfd, 0, SEEK_SET) < 0)
		return ps_error_errno(err, "seccomp: export filter");
	char *buf = NULL;
	size_t len = 0;
	rc = ps_read_all(mfd, BPF_MAXINSNS * sizeof(struct sock_filter) + 1, &buf, &len);
	if (rc < 0)
		return ps_error_set(err, PS_ERR_FAILED, -rc, "seccomp: export filter");
	if (len == 0 || len % sizeof(struct sock_filter) || len > BPF_MAXINSNS * sizeof(struct sock_filter)) {
		free(buf);
		return ps_error_set(err, PS_ERR_FAILED, E2BIG, "seccomp: filter of %zu bytes", len);
	}
	/* The same verdicts in about half the instructions, which the kernel
	 * converts and JITs at each app's start (seccomp-tree.h); only for a
	 * program that goes to the cache: the cut (~20 ms) costs more than the
	 * one load it would speed up (~0.1 ms). */
	struct sock_filter *small = NULL;
	size_t n_small = 0;
	if (shrink && s1_bpf_shrink((struct sock_filter *)(void *)buf, len / sizeof(struct sock_filter), &small,
	                            &n_small) == 0) {
		s1_debug("seccomp: %zu instructions from libseccomp, %zu as ranges", len / sizeof(struct sock_filter),
		         n_small);
		free(buf);
		*ret = small;
		*ret_n = n_small;
		return 0;
	}
	if (shrink)
		s1_debug("seccomp: libseccomp's program kept as it is (not cut into ranges)");
	*ret = (struct sock_filter *)(void *)buf;
	*ret_n = len / sizeof(struct sock_filter);
	return 0;
}

/* A cached program, if it looks like one of ours: magic, whole
 * instructions within the kernel's limit, and libseccomp's first step
 * (load the architecture). */
static bool cache_read(int dirfd, const char *name, struct sock_filter **ret, size_t *ret_n)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	size_t len = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	size_t max = BPF_MAGIC_LEN + BPF_MAXINSNS * sizeof(struct sock_filter);
	if (ps_read_all(fd, max + 1, &buf, &len) < 0)
		return false;
	size_t n = (len - BPF_MAGIC_LEN) / sizeof(struct sock_filter);
	struct sock_filter first;
	if (len > max || len < BPF_MAGIC_LEN + sizeof(struct sock_filter) ||
	    (len - BPF_MAGIC_LEN) % sizeof(struct sock_filter) || memcmp(buf, BPF_MAGIC, BPF_MAGIC_LEN)) {
		free(buf);
		return false;
	}
	memcpy(&first, buf + BPF_MAGIC_LEN, sizeof(first));
	if (first.code != (BPF_LD | BPF_W | BPF_ABS) || first.k != offsetof(struct seccomp_data, arch)) {
		free(buf);
		return false;
	}
	memmove(buf, buf + BPF_MAGIC_LEN, len - BPF_MAGIC_LEN);
	*ret = (struct sock_filter *)(void *)buf;
	*ret_n = n;
	return true;
}

/* Like every dir of the store, the cache must be ours alone (store.c). */
static int trusted(int fd, const char *what, ps_error **err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return ps_error_errno(err, "%s", what);
	if (ps_dir_check_trusted(&st, false) < 0)
		return ps_error_set(err, PS_ERR_FAILED, 0, "%s is owned by uid %u or writable by others (mode %04o)",
		                    what, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* dirfd/name as a directory, made (0700) when missing. */
static int open_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0 || errno != ENOENT)
		return fd;
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

static int cache_dir(int data_fd, ps_error **err)
{
	_cleanup_close_ int cfd = open_dir(data_fd, PS_SC_CACHE_DIR);
	if (cfd < 0)
		return ps_error_errno(err, "open cache dir");
	if (trusted(cfd, PS_SC_CACHE_DIR, err) < 0)
		return -EPERM;
	_cleanup_close_ int fd = open_dir(cfd, PS_SC_CACHE_SUBDIR);
	if (fd < 0)
		return ps_error_errno(err, "open " PS_SC_CACHE_DIR "/" PS_SC_CACHE_SUBDIR);
	if (trusted(fd, PS_SC_CACHE_DIR "/" PS_SC_CACHE_SUBDIR, err) < 0)
		return -EPERM;
	return TAKE_FD(fd);
}

/* The program for the profile with this digest: from the cache when
 * there, else compiled from p — or, when p is NULL, from the default
 * profile for caps, built only then — and cached. */
static int filter_for(int data_fd, const ps_sc_profile *p, uint64_t caps, const char *digest,
                      struct sock_filter **ret, size_t *ret_n, ps_error **err)
{
	__attribute__((cleanup(profile_freep))) ps_sc_profile *def = NULL;
	const struct scmp_version *v = seccomp_version();
	char key[PS_SHA256_HEX_LEN + 1], name[PS_SHA256_HEX_LEN + 8];
	ps_sha256 h;
	int r;

	/* The same profile compiles differently per arch and libseccomp, and
	 * since the programs are cut into ranges (seccomp-tree.h), a "ranges N"
	 * line keeps them apart from the files of a podctl before; N is the
	 * version of that cut (S1_BPF_SHRINK_VERSION): a change to it must not
	 * find the programs the old one made. */
	ps_sha256_init_portable(&h);
	ps_sha256_update(&h, digest, strlen(digest));
	char extra[96];
	int n = snprintf(extra, sizeof(extra), "\n%s\n%u.%u.%u\nranges %d\n", ps_sc_native_arch(),
	                 v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0, S1_BPF_SHRINK_VERSION);
	ps_sha256_update(&h, extra, (size_t)n);
	ps_sha256_final_hex(&h, key);
	snprintf(name, sizeof(name), "%s" PS_SC_CACHE_SUFFIX, key);

	_cleanup_close_ int dfd = data_fd >= 0 ? cache_dir(data_fd, err) : -1;
	if (data_fd >= 0 && dfd < 0) {
		/* No cache (a read-only store, or one not ours alone): compile
		 * every time, and never read a program from it. */
		s1_warn("seccomp cache: %s: compiling the filter", (*err)->msg);
		ps_error_free(err);
	}
	if (dfd >= 0 && cache_read(dfd, name, ret, ret_n)) {
		s1_debug("seccomp: cached %s", name);
		return 0;
	}
	struct sock_filter *prog = NULL;
	size_t len = 0;
	if (!p) {
		r = ps_sc_profile_default(caps, &def, err);
		if (r < 0)
			return r;
		p = def;
	}
	r = compile(p, dfd >= 0, &prog, &len, err);
	if (r < 0)
		return r;
	s1_debug("seccomp: compiled %zu instructions", len);
	if (dfd >= 0) {
		size_t bytes = BPF_MAGIC_LEN + len * sizeof(*prog);
		_cleanup_free_ char *buf = malloc(bytes);
		ps_error *werr = NULL;
		if (buf) {
			memcpy(buf, BPF_MAGIC, BPF_MAGIC_LEN);
			memcpy(buf + BPF_MAGIC_LEN, prog, len * sizeof(*prog));
			if (ps_write_file_at(dfd, name, buf, bytes, 0600, PS_WRITE_SYNC_DATA, &werr) < 0) {
				s1_warn("seccomp cache: %s", werr->msg);
				ps_error_free(&werr);
			}
		}
	}
	*ret = prog;
	*ret_n = len;
	return 0;
}

int confine_prepare(struct pod *pod, struct app *a, ps_error **err)
{
	const ps_app *m = a->m;
	__attribute__((cleanup(profile_freep))) ps_sc_profile *p = NULL;
	int r;

	a->caps = ps_app_caps(m);
	if (m->seccomp && streq(m->seccomp, "unconfined")) {
		snprintf(a->seccomp_digest, sizeof(a->seccomp_digest), "unconfined");
		return 0;
	}
	if (m->seccomp_profile) {
		r = ps_sc_profile_parse(m->seccomp_profile, strlen(m->seccomp_profile), a->caps, NULL, &p, err);
		if (r < 0)
			return ps_error_prefix(err, r, "app %s: seccomp profile", m->name);
		r = ps_sc_profile_digest(p, a->seccomp_digest, err);
		if (r < 0)
			return r;
	} else if (m->seccomp && !streq(m->seccomp, "default")) {
		return ps_error_set(err, PS_ERR_INVALID, ENOENT,
		                    "app %s: seccomp profile %s was not read at prepare", m->name, m->seccomp);
	} else {
		/* The common case: no profile built unless the cache lacks it. */
		ps_sc_default_digest(a->caps, a->seccomp_digest);
	}
	r = filter_for(pod->data_fd, p, a->caps, a->seccomp_digest, &a->seccomp_prog, &a->seccomp_len, err);
	if (r < 0)
		return ps_error_prefix(err, r, "app %s", m->name);
	return 0;
}

int confine_seccomp(const struct app *a, bool late)
{
	bool nnp = a->m->no_new_privileges;

	if (!late && nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* With no_new_privs, anyone may load a filter: as late as possible.
	 * Without, it takes CAP_SYS_ADMIN: while we are still root. */
	if (late != nnp || !a->seccomp_prog)
		return 0;
	struct sock_fprog prog = { .len = (unsigned short)a->seccomp_len, .filter = a->seccomp_prog };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

int confine_caps(const struct app *a)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct have[2] = { 0 }, data[2] = { 0 };

	/* The bounding set becomes the app's set: no exec, setuid binary or
	 * file capability brings anything else back. */
	for (int cap = 0; cap <= 63; cap++) {
		if (cap < 64 && (a->caps & (UINT64_C(1) << cap)))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno != EINVAL)
				return -errno;
			break; /* past this kernel's last capability: so are the rest */
		}
	}
	/* What we hold ourselves bounds what we can give (this host's root
	 * lacks CAP_SYS_RESOURCE, say). Inheritable and ambient: empty. */
	if (syscall(SYS_capget, &hdr, have) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		data[i].effective = data[i].permitted =
			(uint32_t)(a->caps >> (32 * i)) & have[i].permitted;
		data[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int confine_rootfs_readonly(const struct app *a, int rootfd)
{
	char path[64];

	if (!a->m->read_only_rootfs)
		return 0;
	/* The app's rootfs is a mount of its own (overlay, or a bind) in the
	 * child's mount ns: remount just that one read-only. Mounts on it
	 * (/proc, /dev, volumes) keep their own flags. */
	struct statvfs sv;
	unsigned long keep = 0;
	if (fstatvfs(rootfd, &sv) == 0)
		keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", rootfd);
	if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) < 0)
		return -errno;
	return 0;
}
