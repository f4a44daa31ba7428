/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Cgroups of pods and apps, on v1 (per-controller hierarchies, hybrid) and
 * v2 (unified) hosts. See include/podstore/cgroup.h for the contract and
 * Documentation/devel/cgroups.md for the choices.
 *
 * Every access is relative to a directory fd of a hierarchy's root, opened
 * once: the root (/sys/fs/cgroup, or a fake tree in the unit tests) is the
 * only path we take from the outside.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/bpf.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <podstore/cgroup.h>
#include <podstore/fileio.h>
#include "cgroup-internal.h"
#include "util.h"

#define MAX_HIER 8
#define CG_BIT(c) (1u << (c))

struct hier {
	int fd;          /* root of the hierarchy */
	unsigned ctrls;  /* CG_BIT()s it carries */
	char name[32];   /* v1: its dir under the root ("memory"); v2: "" */
	dev_t dev;       /* of its root, to tell hierarchies apart */
	ino_t ino;
};

struct ps_cgroup_host {
	char *root;
	ps_cgroup_mode mode;
	bool hybrid;
	struct hier h[MAX_HIER];
	size_t n;
	unsigned ctrls;
};

struct ps_cgroup {
	ps_cgroup_host *host;  /* borrowed */
	char *path;
	size_t n;
	int dir[MAX_HIER];     /* the cgroup's dir in each hierarchy, -1 = none */
	int procs[MAX_HIER];   /* what join writes "0" to (v2 cgroup.procs, v1 tasks) */
};

static const char *const v1_names[PS_CG_N_CONTROLLERS] = {
	[PS_CG_CPU] = "cpu",         [PS_CG_CPUACCT] = "cpuacct", [PS_CG_MEMORY] = "memory",
	[PS_CG_PIDS] = "pids",       [PS_CG_DEVICES] = "devices", [PS_CG_BLKIO] = "blkio",
};

/* v2 names of what cgroup.subtree_control enables; cpuacct and devices are
 * not controllers there (cpu.stat is core, devices are a BPF program). */
static const char *const v2_names[PS_CG_N_CONTROLLERS] = {
	[PS_CG_CPU] = "cpu", [PS_CG_MEMORY] = "memory", [PS_CG_PIDS] = "pids", [PS_CG_BLKIO] = "io",
};

const char *ps_cgroup_controller_name(ps_cgroup_controller c)
{
	return (unsigned)c < PS_CG_N_CONTROLLERS ? v1_names[c] : "?";
}

/* --- small file helpers -------------------------------------------------- */

/* Write val to dirfd/file; 0 or -errno. One write(2): cgroup files take a
 * value per write. */
static int knob_write(int dirfd, const char *file, const char *val)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	size_t len = strlen(val);
	ssize_t n = write(fd, val, len);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Read dirfd/file into buf (NUL-terminated); bytes read or -errno. */
static ssize_t knob_read_any(int dirfd, const char *file, char *buf, size_t size, bool one_record)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got + 1 < size) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
		/* A single-record knob (a number, a few keyed lines) comes
		 * whole in the first read that has room: a short read is its
		 * end (no second read to see 0; status reads 14 of them). A
		 * list like cgroup.procs comes a page per read: read on. */
		if (one_record && got + 1 < size)
			break;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

static ssize_t knob_read(int dirfd, const char *file, char *buf, size_t size)
{
	return knob_read_any(dirfd, file, buf, size, false);
}

/* A single-record knob (knob_read_any) */
static ssize_t knob_read_one(int dirfd, const char *file, char *buf, size_t size)
{
	return knob_read_any(dirfd, file, buf, size, true);
}

static bool file_exists(int dirfd, const char *file)
{
	return faccessat(dirfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A number, or "max" → max_value. -1 when unreadable. */
static long long knob_read_ll(int dirfd, const char *file, long long max_value)
{
	char buf[64];
	if (dirfd < 0 || knob_read_one(dirfd, file, buf, sizeof(buf)) <= 0)
		return -1;
	if (strncmp(buf, "max", 3) == 0)
		return max_value;
	char *end;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	return errno || end == buf ? -1 : v;
}

/* The value of "key N" in the text of a flat-keyed file. */
static long long keyed_parse(const char *buf, const char *key)
{
	size_t klen = strlen(key);
	for (const char *line = buf; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtoll(line + klen + 1, NULL, 10);
	}
	return -1;
}

/* The value of "key N" in a flat-keyed file (memory.events, cpu.stat…). */
static long long keyed_read(int dirfd, const char *file, const char *key)
{
	char buf[4096];
	if (dirfd < 0 || knob_read_one(dirfd, file, buf, sizeof(buf)) < 0)
		return -1;
	return keyed_parse(buf, key);
}

/* Is word in the space-separated list s? */
static bool word_in(const char *s, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = s; (p = strstr(p, word)); p += len) {
		bool start = p == s || p[-1] == ' ' || p[-1] == '+';
		bool end = p[len] == '\0' || p[len] == ' ' || p[len] == '\n';
		if (start && end)
			return true;
	}
	return false;
}

/* --- the host ------------------------------------------------------------- */

static void host_add(ps_cgroup_host *h, int fd, unsigned ctrls, const char *name)
{
	struct stat st;

	/* v1 controllers mounted together (cpu,cpuacct) are one hierarchy,
	 * reached by several names: keep it once, with all its controllers. */
	if (fstat(fd, &st) == 0) {
		for (size_t i = 0; i < h->n; i++) {
			if (h->h[i].dev == st.st_dev && h->h[i].ino == st.st_ino) {
				h->h[i].ctrls |= ctrls;
				close(fd);
				return;
			}
		}
	} else {
		st.st_dev = 0;
		st.st_ino = 0;
	}
	if (h->n == MAX_HIER) {
		close(fd);
		return;
	}
	h->h[h->n].dev = st.st_dev;
	h->h[h->n].ino = st.st_ino;
	h->h[h->n].fd = fd;
	h->h[h->n].ctrls = ctrls;
	snprintf(h->h[h->n].name, sizeof(h->h[h->n].name), "%s", name);
	h->n++;
}

int ps_cgroup_host_open(const char *root, ps_cgroup_host **ret, ps_error **err)
{
	ps_cgroup_host *h = calloc(1, sizeof(*h));

	if (!root)
		root = PS_CGROUP_ROOT_DEFAULT;
	if (!h || !(h->root = strdup(root))) {
		free(h);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroups");
	}
	_cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		if (errno == ENOENT) {
			*ret = h; /* no cgroups at all */
			return 0;
		}
		int r = ps_error_errno(err, "cgroups: open %s", root);
		ps_cgroup_host_free(h);
		return r;
	}
	if (file_exists(rootfd, "cgroup.controllers")) {
		/* The unified hierarchy. */
		char buf[512];
		h->mode = PS_CGROUP_V2;
		unsigned ctrls = CG_BIT(PS_CG_CPUACCT) | CG_BIT(PS_CG_DEVICES);
		if (knob_read(rootfd, "cgroup.controllers", buf, sizeof(buf)) >= 0)
			for (int c = 0; c < PS_CG_N_CONTROLLERS; c++)
				if (v2_names[c] && word_in(buf, v2_names[c]))
					ctrls |= CG_BIT(c);
		h->ctrls = ctrls;
		host_add(h, TAKE_FD(rootfd), ctrls, "");
		*ret = h;
		return 0;
	}
	for (int c = 0; c < PS_CG_N_CONTROLLERS; c++) {
		int fd = openat(rootfd, v1_names[c], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* a v1 hierarchy has tasks; a cgroup2 mount would have cgroup.controllers */
		if (!file_exists(fd, "tasks") || file_exists(fd, "cgroup.controllers")) {
			close(fd);
			continue;
		}
		h->ctrls |= CG_BIT(c);
		host_add(h, fd, CG_BIT(c), v1_names[c]);
	}
	if (h->n > 0) {
		h->mode = PS_CGROUP_V1;
		_cleanup_close_ int ufd = openat(rootfd, "unified", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		h->hybrid = ufd >= 0 && file_exists(ufd, "cgroup.controllers");
	}
	*ret = h;
	return 0;
}

void ps_cgroup_host_free(ps_cgroup_host *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		close(h->h[i].fd);
	free(h->root);
	free(h);
}

ps_cgroup_mode ps_cgroup_host_mode(const ps_cgroup_host *h)
{
	return h->mode;
}

bool ps_cgroup_host_hybrid(const ps_cgroup_host *h)
{
	return h->hybrid;
}

const char *ps_cgroup_host_root(const ps_cgroup_host *h)
{
	return h->root;
}

bool ps_cgroup_host_has(const ps_cgroup_host *h, ps_cgroup_controller c)
{
	return (h->ctrls & CG_BIT(c)) != 0;
}

/* The hierarchy of a controller, or -1. */
static int hier_of(const ps_cgroup_host *h, ps_cgroup_controller c)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->h[i].ctrls & CG_BIT(c))
			return (int)i;
	return -1;
}

/* --- paths ---------------------------------------------------------------- */

int ps_cgroup_path_check(const char *parent, ps_error **err)
{
	if (!parent || strlen(parent) > 255)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "cgroup parent: too long");
	const char *p = parent;
	while (*p) {
		while (*p == '/')
			p++;
		const char *start = p;
		for (; *p && *p != '/'; p++) {
			char ch = *p;
			if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			      strchr("_.@:-", ch)))
				return ps_error_set(err, PS_ERR_INVALID, EINVAL,
				                    "cgroup parent \"%s\": character '%c' not allowed", parent, ch);
		}
		size_t len = (size_t)(p - start);
		if ((len == 1 && start[0] == '.') || (len == 2 && start[0] == '.' && start[1] == '.'))
			return ps_error_set(err, PS_ERR_INVALID, EINVAL,
			                    "cgroup parent \"%s\": \".\" and \"..\" are not allowed", parent);
	}
	return 0;
}

const char *ps_cgroup_parent_default(const char *arg)
{
	if (arg && *arg)
		return arg;
	const char *env = getenv(PS_CGROUP_PARENT_ENV);
	return env && *env ? env : PS_CGROUP_PARENT_DEFAULT;
}

/* --- create / open ---------------------------------------------------------- */

static ps_cgroup *cgroup_new(ps_cgroup_host *h, const char *path)
{
	ps_cgroup *cg = calloc(1, sizeof(*cg));
	if (!cg)
		return NULL;
	while (*path == '/')
		path++;
	cg->path = strdup(path);
	if (!cg->path) {
		free(cg);
		return NULL;
	}
	cg->host = h;
	cg->n = h->n;
	for (size_t i = 0; i < MAX_HIER; i++)
		cg->dir[i] = cg->procs[i] = -1;
	return cg;
}

void ps_cgroup_free(ps_cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < MAX_HIER; i++) {
		if (cg->dir[i] >= 0)
			close(cg->dir[i]);
		if (cg->procs[i] >= 0)
			close(cg->procs[i]);
	}
	free(cg->path);
	free(cg);
}

const char *ps_cgroup_path(const ps_cgroup *cg)
{
	return cg->path;
}

/* v2: turn on in dirfd's cgroup.subtree_control what the host has and it
 * lacks, all in one write (the kernel takes "+a +b"), else one by one so
 * that one refused controller does not cost the others. */
static int v2_enable(ps_cgroup_host *h, int dirfd, const char *where, ps_error **err)
{
	char have[512] = "", want[128] = "";

	if (knob_read(dirfd, "cgroup.subtree_control", have, sizeof(have)) < 0)
		have[0] = '\0';
	for (int c = 0; c < PS_CG_N_CONTROLLERS; c++) {
		if (!v2_names[c] || !(h->ctrls & CG_BIT(c)) || word_in(have, v2_names[c]))
			continue;
		size_t l = strlen(want);
		snprintf(want + l, sizeof(want) - l, "%s+%s", l ? " " : "", v2_names[c]);
	}
	if (!want[0])
		return 0;
	int r = knob_write(dirfd, "cgroup.subtree_control", want);
	if (r == 0)
		return 0;
	if (r == -EBUSY)
		return ps_error_set(err, PS_ERR_FAILED, EBUSY,
		                    "cgroup %s: enable controllers (%s): it has processes of its own, and "
		                    "a v2 cgroup that delegates controllers may not",
		                    where, want);
	for (int c = 0; c < PS_CG_N_CONTROLLERS; c++) {
		if (!v2_names[c] || !(h->ctrls & CG_BIT(c)) || word_in(have, v2_names[c]))
			continue;
		char one[32];
		snprintf(one, sizeof(one), "+%s", v2_names[c]);
		knob_write(dirfd, "cgroup.subtree_control", one);
	}
	return 0;
}

/* mkdir -p path under the hierarchy's root; returns the leaf's dir fd. */
static int hier_mkdir_p(ps_cgroup_host *h, size_t i, const char *path, bool create, ps_error **err)
{
	bool v2 = h->mode == PS_CGROUP_V2;
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroup %s", path);
	int fd = dup(h->h[i].fd);
	if (fd < 0)
		return ps_error_errno(err, "cgroup %s", path);
	for (char *rest = copy, *comp; (comp = strsep(&rest, "/"));) {
		if (!*comp)
			continue; /* "a//b", a leading or a trailing "/" */
		if (create) {
			int r = v2 ? v2_enable(h, fd, path, err) : 0;
			if (r < 0) {
				close(fd);
				return r;
			}
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				r = ps_error_errno(err, "cgroup %s/%s: mkdir %s", h->h[i].name[0] ? h->h[i].name : "(v2)",
				                       path, comp);
				close(fd);
				return r;
			}
		}
		int nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (nfd < 0) {
			int r = errno == ENOENT && !create
			                ? ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "cgroup %s: not found", path)
			                : ps_error_errno(err, "cgroup %s: open %s", path, comp);
			close(fd);
			return r;
		}
		close(fd);
		fd = nfd;
	}
	return fd;
}

/* create: in the hierarchies that carry one of ctrls (CG_BIT()s); open:
 * wherever it is (a hierarchy without it is skipped, -ENOENT when none has
 * it). */
static int cgroup_make(ps_cgroup_host *h, const char *path, bool create, unsigned ctrls, ps_cgroup **ret,
                       ps_error **err)
{
	size_t found = 0;

	if (h->mode == PS_CGROUP_NONE)
		return ps_error_set(err, PS_ERR_INVALID, ENOTSUP, "cgroups: no cgroup filesystem under %s",
		                    h->root);
	ps_cgroup *cg = cgroup_new(h, path);
	if (!cg)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroup %s", path);
	for (size_t i = 0; i < h->n; i++) {
		if (create && !(h->h[i].ctrls & ctrls))
			continue;
		int fd = hier_mkdir_p(h, i, cg->path, create, create ? err : NULL);
		if (fd == -ENOENT && !create)
			continue; /* not made in this hierarchy (nothing to do there) */
		if (fd < 0) {
			ps_cgroup_free(cg);
			if (!create)
				ps_error_set(err, PS_ERR_FAILED, -fd, "cgroup %s: open", path);
			return fd; /* err may be NULL: the code, not *err */
		}
		cg->dir[i] = fd;
		found++;
		/*
		 * v1: `tasks`, not `cgroup.procs`. Writing a pid to cgroup.procs
		 * takes the global cgroup_threadgroup_rwsem for writing, which
		 * waits for an RCU grace period: 10-19 ms on the 2-core CI
		 * machines, the largest single cost of `run` (performance.md).
		 * Writing "0" to `tasks` moves only the writing thread and the
		 * kernel skips that lock for it (cgroup_procs_write_start: pid 0,
		 * not threadgroup): 0.09 ms for six hierarchies. The joiners
		 * (stage1's app, probe and enter children) are single-threaded,
		 * so the thread is the whole process, and what it forks later is
		 * born in the same cgroups. v2 has no such file (cgroup.threads
		 * needs threaded mode): cgroup.procs.
		 */
		const char *jf = h->mode == PS_CGROUP_V1 ? "tasks" : "cgroup.procs";
		cg->procs[i] = openat(fd, jf, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (create) {
			if (cg->procs[i] < 0) {
				int r = ps_error_errno(err, "cgroup %s: open %s", cg->path, jf);
				ps_cgroup_free(cg);
				return r;
			}
		}
	}
	if (!create && found == 0) {
		ps_cgroup_free(cg);
		return ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "cgroup %s: not found", path);
	}
	*ret = cg;
	return 0;
}

int ps_cgroup_create(ps_cgroup_host *h, const char *path, ps_cgroup **ret, ps_error **err)
{
	return cgroup_make(h, path, true, ~0u, ret, err);
}

int ps_cgroup_create_in(ps_cgroup_host *h, const char *path, unsigned controllers, ps_cgroup **ret,
                        ps_error **err)
{
	return cgroup_make(h, path, true, controllers, ret, err);
}

int ps_cgroup_open(ps_cgroup_host *h, const char *path, ps_cgroup **ret, ps_error **err)
{
	return cgroup_make(h, path, false, ~0u, ret, err);
}

int ps_cgroup_create_child(const ps_cgroup *parent, const char *name, ps_cgroup **ret, ps_error **err)
{
	ps_cgroup_host *h = parent->host;
	const char *jf = h->mode == PS_CGROUP_V1 ? "tasks" : "cgroup.procs";

	if (!*name || strchr(name, '/') || streq(name, ".") || streq(name, ".."))
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "cgroup %s: bad name %s", parent->path, name);
	_cleanup_free_ char *path = ps_strdup_printf("%s/%s", parent->path, name);
	ps_cgroup *cg = path ? cgroup_new(h, path) : NULL;
	if (!cg)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroup %s/%s", parent->path, name);
	for (size_t i = 0; i < h->n; i++) {
		int r = 0;
		if (parent->dir[i] < 0)
			continue; /* the parent is not in this hierarchy: nor is its child */
		if (h->mode == PS_CGROUP_V2)
			r = v2_enable(h, parent->dir[i], cg->path, err);
		if (r == 0 && mkdirat(parent->dir[i], name, 0755) < 0 && errno != EEXIST)
			r = ps_error_errno(err, "cgroup %s/%s: mkdir", h->h[i].name[0] ? h->h[i].name : "(v2)",
			                   cg->path);
		if (r == 0 && (cg->dir[i] = openat(parent->dir[i], name,
		                                   O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
			r = ps_error_errno(err, "cgroup %s: open", cg->path);
		if (r == 0 && (cg->procs[i] = openat(cg->dir[i], jf, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
			r = ps_error_errno(err, "cgroup %s: open %s", cg->path, jf);
		if (r < 0) {
			ps_cgroup_free(cg);
			return r;
		}
	}
	*ret = cg;
	return 0;
}

int ps_cgroup_join_self(const ps_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (cg->procs[i] < 0)
			continue;
		/* "0" is the writer itself, in v1 (tasks) and v2 (cgroup.procs) alike. */
		if (write(cg->procs[i], "0", 1) != 1)
			return -errno;
	}
	return 0;
}

/* --- devices ---------------------------------------------------------------- */

/* The OCI default set: char devices that any program may read and write. */
static const struct {
	unsigned major;
	int minor; /* -1 = any */
} allowed_devices[] = {
	{ 1, 3 },  /* null */
	{ 1, 5 },  /* zero */
	{ 1, 7 },  /* full */
	{ 1, 8 },  /* random */
	{ 1, 9 },  /* urandom */
	{ 5, 0 },  /* tty */
	{ 5, 2 },  /* ptmx */
	{ 136, -1 }, /* pts */
};

static int devices_v1(ps_cgroup *cg, int dirfd, ps_error **err)
{
	int r = knob_write(dirfd, "devices.deny", "a");
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "cgroup %s: devices.deny", cg->path);
	/* One rule per write(2), all through one open of devices.allow (the
	 * kernel strips the newline; a fake tree in the tests keeps a list). */
	_cleanup_close_ int afd = openat(dirfd, "devices.allow", O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	if (afd < 0)
		return ps_error_errno(err, "cgroup %s: devices.allow", cg->path);
	/* mknod of anything stays allowed (the node is useless without r/w);
	 * images' postinst scripts and the like expect it. */
	static const char *const any_mknod[] = { "c *:* m", "b *:* m" };
	for (size_t i = 0; i < ARRAY_SIZE(any_mknod) + ARRAY_SIZE(allowed_devices); i++) {
		char rule[48];
		size_t d = i - ARRAY_SIZE(any_mknod);
		if (i < ARRAY_SIZE(any_mknod))
			snprintf(rule, sizeof(rule), "%s\n", any_mknod[i]);
		else if (allowed_devices[d].minor < 0)
			snprintf(rule, sizeof(rule), "c %u:* rwm\n", allowed_devices[d].major);
		else
			snprintf(rule, sizeof(rule), "c %u:%d rwm\n", allowed_devices[d].major, allowed_devices[d].minor);
		ssize_t n = write(afd, rule, strlen(rule));
		if (n != (ssize_t)strlen(rule))
			return ps_error_set(err, PS_ERR_FAILED, n < 0 ? errno : EIO, "cgroup %s: devices.allow %.*s",
			                    cg->path, (int)strlen(rule) - 1, rule);
	}
	return 0;
}

/*
 * v2: a BPF_CGROUP_DEVICE program, written as raw instructions (no
 * libbpf, no compiler at run time). Its context is struct
 * bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major;
 * u32 minor; }; it returns 1 to allow, 0 to deny:
 *
 *	r2 = ctx->access_type; r3 = r2 & 0xffff (type); r2 >>= 16 (access)
 *	r4 = ctx->major; r5 = ctx->minor
 *	if r2 == MKNOD goto allow          mknod alone, of anything
 *	if r3 != CHAR goto deny
 *	for each allowed (maj, min):
 *		if r4 != maj goto next; [if r5 != min goto next;] goto allow
 *	deny:  r0 = 0; exit
 *	allow: r0 = 1; exit
 */
#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

enum { LABEL_NONE, LABEL_DENY, LABEL_ALLOW };

size_t ps_cgroup_device_prog(struct bpf_insn *out, size_t cap);
size_t ps_cgroup_device_prog(struct bpf_insn *out, size_t cap)
{
	struct bpf_insn p[64];
	int target[64] = { 0 }; /* jumps to fix up: LABEL_* */
	size_t n = 0;

	p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
	p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
	p[n++] = INSN(BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff);
	p[n++] = INSN(BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_2, 0, 0, 16);
	p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
	p[n++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
	target[n] = LABEL_ALLOW;
	p[n++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_2, 0, 0, BPF_DEVCG_ACC_MKNOD);
	target[n] = LABEL_DENY;
	p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, 0, BPF_DEVCG_DEV_CHAR);
	for (size_t i = 0; i < ARRAY_SIZE(allowed_devices); i++) {
		bool any = allowed_devices[i].minor < 0;
		/* skip to the next rule: past the minor test (if any) and the goto */
		p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, any ? 1 : 2, (int)allowed_devices[i].major);
		if (!any)
			p[n++] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 1, allowed_devices[i].minor);
		target[n] = LABEL_ALLOW;
		p[n++] = INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0);
	}
	size_t deny = n;
	p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	size_t allow = n;
	p[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	p[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (size_t i = 0; i < n; i++)
		if (target[i])
			p[i].off = (short)((target[i] == LABEL_ALLOW ? allow : deny) - i - 1);
	if (n > cap)
		return 0;
	memcpy(out, p, n * sizeof(*p));
	return n;
}

static int devices_v2(ps_cgroup *cg, int dirfd, ps_error **err)
{
	struct bpf_insn prog[64];
	size_t n = ps_cgroup_device_prog(prog, ARRAY_SIZE(prog));
	static char license[] = "GPL";
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (unsigned long)prog;
	attr.insn_cnt = (unsigned)n;
	attr.license = (unsigned long)license;
	_cleanup_close_ int pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (pfd < 0 && errno == EINVAL) {
		/* Again with the verifier's log, for the message. */
		char log[2048] = "";
		attr.log_level = 1;
		attr.log_buf = (unsigned long)log;
		attr.log_size = sizeof(log);
		pfd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
		if (pfd < 0) {
			int e = errno;
			for (char *p = log; *p; p++)
				if (*p == '\n')
					*p = ' ';
			return ps_error_set(err, PS_ERR_FAILED, e,
			                    "cgroup %s: load the device allowlist (BPF_PROG_LOAD: %.400s)", cg->path, log);
		}
	}
	if (pfd < 0)
		return ps_error_errno(err, "cgroup %s: load the device allowlist (BPF_PROG_LOAD)", cg->path);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (unsigned)dirfd;
	attr.attach_bpf_fd = (unsigned)pfd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	/* The attachment holds the program: it lives as long as the cgroup. */
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof(attr)) < 0)
		return ps_error_errno(err, "cgroup %s: attach the device allowlist (BPF_PROG_ATTACH)", cg->path);
	return 0;
}

int ps_cgroup_restrict_devices(ps_cgroup *cg, ps_error **err)
{
	int i = hier_of(cg->host, PS_CG_DEVICES);

	if (i < 0 || cg->dir[i] < 0)
		return ps_error_set(err, PS_ERR_INVALID, ENOTSUP,
		                    "cgroup %s: the devices controller is not available", cg->path);
	if (cg->host->mode == PS_CGROUP_V2)
		return devices_v2(cg, cg->dir[i], err);
	return devices_v1(cg, cg->dir[i], err);
}

/* --- limits ----------------------------------------------------------------- */

static int limit_dir(ps_cgroup *cg, ps_cgroup_controller c, const char *what, const char *limit, ps_error **err)
{
	int i = hier_of(cg->host, c);
	if (i < 0 || cg->dir[i] < 0)
		return ps_error_set(err, PS_ERR_INVALID, ENOTSUP,
		                    "%s: %s: the %s cgroup controller is not available on this host", what, limit,
		                    cg->host->mode == PS_CGROUP_V2 && v2_names[c] ? v2_names[c]
		                                                                   : v1_names[c]);
	return cg->dir[i];
}

static int set_knob(ps_cgroup *cg, int dirfd, const char *file, const char *val, const char *what,
                    const char *limit, ps_error **err)
{
	int r = knob_write(dirfd, file, val);
	if (r == -ENOENT)
		return ps_error_set(err, PS_ERR_INVALID, ENOTSUP, "%s: %s: the host has no %s (cgroup %s)", what,
		                    limit, file, cg->path);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "%s: %s: write %s=%s (cgroup %s)", what, limit, file,
		                    val, cg->path);
	return 0;
}

int ps_cgroup_set_resources(ps_cgroup *cg, const ps_resources *res, const char *what, ps_error **err)
{
	bool v2 = cg->host->mode == PS_CGROUP_V2;
	char val[64];
	int fd, r;

	if (!ps_resources_any(res))
		return 0;
	if (res->memory || res->memory_swap) {
		if ((fd = limit_dir(cg, PS_CG_MEMORY, what, "memory", err)) < 0)
			return fd;
		if (res->memory) {
			snprintf(val, sizeof(val), "%lld", res->memory);
			if ((r = set_knob(cg, fd, v2 ? "memory.max" : "memory.limit_in_bytes", val, what, "memory",
			                  err)) < 0)
				return r;
		}
		if (res->memory_swap) {
			/* Docker's meaning: memory + swap. v1 limits the sum (memsw,
			 * needs swap accounting); v2 limits swap alone. */
			if (res->memory_swap < 0)
				snprintf(val, sizeof(val), v2 ? "max" : "-1");
			else if (v2)
				snprintf(val, sizeof(val), "%lld", res->memory_swap - res->memory);
			else
				snprintf(val, sizeof(val), "%lld", res->memory_swap);
			if ((r = set_knob(cg, fd, v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes", val, what,
			                  "memorySwap", err)) < 0)
				return r;
		}
	}
	if (res->cpu_millis || res->cpu_shares) {
		if ((fd = limit_dir(cg, PS_CG_CPU, what, res->cpu_millis ? "cpu" : "cpuShares", err)) < 0)
			return fd;
		/* a period of 100 ms, the quota that fraction of it (at least 1 ms) */
		long long quota = res->cpu_millis * 100;
		if (res->cpu_millis && quota < 1000)
			quota = 1000;
		if (res->cpu_millis && v2) {
			snprintf(val, sizeof(val), "%lld 100000", quota);
			if ((r = set_knob(cg, fd, "cpu.max", val, what, "cpu", err)) < 0)
				return r;
		} else if (res->cpu_millis) {
			snprintf(val, sizeof(val), "%lld", quota);
			if ((r = set_knob(cg, fd, "cpu.cfs_period_us", "100000", what, "cpu", err)) < 0 ||
			    (r = set_knob(cg, fd, "cpu.cfs_quota_us", val, what, "cpu", err)) < 0)
				return r;
		}
		if (res->cpu_shares) {
			/* v2's weight from v1's shares: [2, 262144] onto [1, 10000] */
			long long w = 1 + ((res->cpu_shares - 2) * 9999) / 262142;
			snprintf(val, sizeof(val), "%lld", v2 ? w : res->cpu_shares);
			if ((r = set_knob(cg, fd, v2 ? "cpu.weight" : "cpu.shares", val, what, "cpuShares", err)) < 0)
				return r;
		}
	}
	if (res->pids) {
		if ((fd = limit_dir(cg, PS_CG_PIDS, what, "pids", err)) < 0)
			return fd;
		snprintf(val, sizeof(val), "%lld", res->pids);
		if ((r = set_knob(cg, fd, "pids.max", val, what, "pids", err)) < 0)
			return r;
	}
	if (res->blkio_weight) {
		if ((fd = limit_dir(cg, PS_CG_BLKIO, what, "blkioWeight", err)) < 0)
			return fd;
		/* Weights need a scheduler that has them: BFQ's file, else the
		 * generic one (CFQ's on v1, io.weight on v2). */
		const char *bfq = v2 ? "io.bfq.weight" : "blkio.bfq.weight";
		const char *plain = v2 ? "io.weight" : "blkio.weight";
		if (file_exists(fd, bfq)) {
			snprintf(val, sizeof(val), "%lld", res->blkio_weight);
			r = set_knob(cg, fd, bfq, val, what, "blkioWeight", err);
		} else if (file_exists(fd, plain)) {
			long long w = v2 ? 1 + ((res->blkio_weight - 10) * 9999) / 990 : res->blkio_weight;
			snprintf(val, sizeof(val), v2 ? "default %lld" : "%lld", w);
			r = set_knob(cg, fd, plain, val, what, "blkioWeight", err);
		} else {
			r = ps_error_set(err, PS_ERR_INVALID, ENOTSUP,
			                 "%s: blkioWeight: the %s controller has no weight here (%s or %s: the "
			                 "disks' IO scheduler has no weights)",
			                 what, v2 ? "io" : "blkio", bfq, plain);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- usage ------------------------------------------------------------------- */

/* The usage files of one cgroup, from the dirs of its memory, cpuacct and
 * pids controllers (-1: not there). */
static void usage_read_dirs(int mem, int acct, int pids, bool v2, ps_cgroup_usage *u)
{
	u->memory_bytes = knob_read_ll(mem, v2 ? "memory.current" : "memory.usage_in_bytes", -1);
	u->memory_limit = knob_read_ll(mem, v2 ? "memory.max" : "memory.limit_in_bytes", 0);
	if (u->memory_limit >= (1LL << 62)) /* v1's "unlimited" */
		u->memory_limit = 0;
	u->oom_kills = v2 ? keyed_read(mem, "memory.events", "oom_kill")
	                  : keyed_read(mem, "memory.oom_control", "oom_kill");
	if (v2) {
		long long us = keyed_read(acct, "cpu.stat", "usage_usec");
		u->cpu_ns = us < 0 ? -1 : us * 1000;
	} else {
		u->cpu_ns = knob_read_ll(acct, "cpuacct.usage", -1);
	}
	u->pids = knob_read_ll(pids, "pids.current", -1);
	u->pids_limit = knob_read_ll(pids, "pids.max", 0);
	u->pids_max_events = keyed_read(pids, "pids.events", "max");
}

void ps_cgroup_usage_read(const ps_cgroup *cg, ps_cgroup_usage *u)
{
	int i;
	int mem = (i = hier_of(cg->host, PS_CG_MEMORY)) >= 0 ? cg->dir[i] : -1;
	int acct = (i = hier_of(cg->host, PS_CG_CPUACCT)) >= 0 ? cg->dir[i] : -1;
	int pids = (i = hier_of(cg->host, PS_CG_PIDS)) >= 0 ? cg->dir[i] : -1;

	usage_read_dirs(mem, acct, pids, cg->host->mode == PS_CGROUP_V2, u);
}

void ps_cgroup_counters_open(const ps_cgroup *cg, ps_cgroup_counters *c)
{
	bool v2 = cg->host->mode == PS_CGROUP_V2;
	int i;
	int mem = (i = hier_of(cg->host, PS_CG_MEMORY)) >= 0 ? cg->dir[i] : -1;
	int pids = (i = hier_of(cg->host, PS_CG_PIDS)) >= 0 ? cg->dir[i] : -1;

	c->oom_fd = mem < 0 ? -1 : openat(mem, v2 ? "memory.events" : "memory.oom_control",
	                                  O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	c->pids_fd = pids < 0 ? -1 : openat(pids, "pids.events", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

static long long keyed_pread(int fd, const char *key)
{
	char buf[4096];
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = pread(fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return keyed_parse(buf, key);
}

void ps_cgroup_counters_read(const ps_cgroup_counters *c, long long *oom_kills, long long *pids_max_events)
{
	/* the same files and keys as ps_cgroup_usage_read() */
	*oom_kills = keyed_pread(c->oom_fd, "oom_kill");
	*pids_max_events = keyed_pread(c->pids_fd, "max");
}

void ps_cgroup_counters_close(ps_cgroup_counters *c)
{
	if (c->oom_fd >= 0)
		close(c->oom_fd);
	if (c->pids_fd >= 0)
		close(c->pids_fd);
	c->oom_fd = c->pids_fd = -1;
}

int ps_cgroup_events_open(const ps_cgroup *cg, ps_cgroup_event_fd *ret, size_t max)
{
	static const struct {
		ps_cgroup_controller c;
		const char *file;
	} files[] = { { PS_CG_PIDS, "pids.events" }, { PS_CG_MEMORY, "memory.events" } };
	size_t n = 0;

	if (cg->host->mode == PS_CGROUP_V1) {
		/* v1 signals neither file; it signals an OOM through an eventfd
		 * registered on memory.oom_control (cgroup.event_control). */
		int i = hier_of(cg->host, PS_CG_MEMORY);
		if (i < 0 || cg->dir[i] < 0 || max < 1)
			return 0;
		_cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		_cleanup_close_ int ofd = openat(cg->dir[i], "memory.oom_control", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		char line[32];
		if (efd < 0 || ofd < 0)
			return 0;
		snprintf(line, sizeof(line), "%d %d", efd, ofd);
		if (knob_write(cg->dir[i], "cgroup.event_control", line) < 0)
			return 0;
		ret[0] = (ps_cgroup_event_fd){ .fd = TAKE_FD(efd), .events = EPOLLIN };
		return 1;
	}
	for (size_t k = 0; k < ARRAY_SIZE(files) && n < max; k++) {
		int i = hier_of(cg->host, files[k].c);
		if (i < 0 || cg->dir[i] < 0)
			continue;
		int fd = openat(cg->dir[i], files[k].file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0)
			ret[n++] = (ps_cgroup_event_fd){ .fd = fd, .events = EPOLLPRI };
	}
	return (int)n;
}

bool ps_cgroup_event_consume(const ps_cgroup_event_fd *e)
{
	char buf[512];

	/* an eventfd's counter, or a kernfs file read again to re-arm it */
	if (e->events == EPOLLIN)
		return read(e->fd, buf, 8) == 8;
	if (pread(e->fd, buf, sizeof(buf), 0) < 0)
		return false;
	return false;
}

/* --- removal ------------------------------------------------------------------ */

/* SIGKILL what is left in the cgroup at dirfd and wait (through pidfds) for
 * it to be gone, until deadline_ns (monotonic). */
static void kill_members(int dirfd, long long deadline_ns)
{
	char buf[8192];
	struct pollfd pfd[256];
	size_t n = 0;

	if (knob_read(dirfd, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return;
	for (char *p = buf; *p && n < ARRAY_SIZE(pfd);) {
		char *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		p = end;
		while (*p == '\n')
			p++;
		/* The pid was in our cgroup a moment ago; a pidfd pins it from now. */
		int fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (fd < 0)
			continue;
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
		pfd[n].fd = fd;
		pfd[n].events = POLLIN;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		long long left = (deadline_ns - ps_monotonic_ns()) / 1000000;
		if (left > 0)
			poll(&pfd[i], 1, (int)left);
		close(pfd[i].fd);
	}
}

/* rmdir name under parentfd, its sub-cgroups first. */
static int rmdir_tree(int parentfd, const char *name, long long deadline_ns, int depth)
{
	if (depth > 16)
		return -ELOOP;
	int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		int rr = rmdir_tree(dirfd(d), de->d_name, deadline_ns, depth + 1);
		if (rr < 0 && r == 0)
			r = rr;
	}
	if (unlinkat(parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		if (errno == EBUSY) {
			/* Processes left (a stage1 that was SIGKILLed: its apps die
			 * of PDEATHSIG a moment later). */
			kill_members(dirfd(d), deadline_ns);
			if (unlinkat(parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
				r = -errno;
		} else if (r == 0) {
			r = -errno;
		}
	}
	closedir(d);
	return r;
}

/* Remove path (dir/leaf, dir NULL when path is a single name) and what is
 * below it in hierarchy i. */
static int hier_remove(ps_cgroup_host *h, size_t i, const char *path, const char *dir, const char *leaf,
                       long long deadline, ps_error **err)
{
	_cleanup_close_ int pfd = dir ? openat(h->h[i].fd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
	                              : dup(h->h[i].fd);
	if (pfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0; /* never made here: nothing of ours to remove */
		return ps_error_errno(err, "cgroup %s: remove", path);
	}
	int r = rmdir_tree(pfd, leaf, deadline, 0);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "cgroup %s%s%s: remove", h->h[i].name,
		                    h->h[i].name[0] ? ":" : "", path);
	return 0;
}

int ps_cgroup_remove_made(ps_cgroup_host *h, const char *path, const char *const *children, size_t n,
                          ps_error **err)
{
	long long deadline = ps_monotonic_ns() + 1000000000LL;
	int ret = 0;

	while (*path == '/')
		path++;
	if (!*path)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "cgroup: will not remove a root");
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroup %s", path);
	char *slash = strrchr(dir, '/');
	const char *leaf = slash ? slash + 1 : dir;
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < h->n; i++) {
		/* One rmdir each, by a path below the hierarchy's root. */
		bool walk = false;
		for (size_t k = 0; k < n && !walk; k++) {
			char p[PATH_MAX];
			if (snprintf(p, sizeof(p), "%s/%s", path, children[k]) >= (int)sizeof(p) ||
			    (unlinkat(h->h[i].fd, p, AT_REMOVEDIR) < 0 && errno != ENOENT))
				walk = true;
		}
		if (!walk && unlinkat(h->h[i].fd, path, AT_REMOVEDIR) < 0 && errno != ENOENT)
			walk = true;
		if (!walk)
			continue;
		/* Busy, or with cgroups below ours: the whole walk, with kills. */
		int r = hier_remove(h, i, path, slash ? dir : NULL, leaf, deadline, err);
		if (r < 0 && !ret)
			ret = r;
	}
	return ret;
}

/* With no children named, ps_cgroup_remove_made() tries one rmdir of the
 * cgroup per hierarchy and walks (killing what is left) where that fails. */
int ps_cgroup_remove(ps_cgroup_host *h, const char *path, ps_error **err)
{
	return ps_cgroup_remove_made(h, path, NULL, 0, err);
}

/* --- the pod's marker -------------------------------------------------------- */

int ps_cgroup_marker_write(int pod_fd, const char *root, const char *path, ps_error **err)
{
	json_object *o = json_object_new_object();
	if (!o)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write %s", PS_FILE_CGROUP);
	json_object_object_add(o, "root", json_object_new_string(root));
	json_object_object_add(o, "path", json_object_new_string(path));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	_cleanup_free_ char *line = s ? ps_strdup_printf("%s\n", s) : NULL;
	json_object_put(o);
	if (!line)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write %s", PS_FILE_CGROUP);
	return ps_write_file_at(pod_fd, PS_FILE_CGROUP, line, strlen(line), 0644, 0, err);
}

int ps_cgroup_marker_read(int pod_fd, char **ret_root, char **ret_path, ps_error **err)
{
	_cleanup_free_ char *buf = NULL;
	int r = ps_read_file_at(pod_fd, PS_FILE_CGROUP, 4096, &buf, NULL, err);
	if (r < 0)
		return r;
	json_object *o = json_tokener_parse(buf), *jr, *jp;
	if (!o || !json_object_object_get_ex(o, "root", &jr) || !json_object_object_get_ex(o, "path", &jp) ||
	    !json_object_is_type(jr, json_type_string) || !json_object_is_type(jp, json_type_string)) {
		if (o)
			json_object_put(o);
		return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "read marker %s", PS_FILE_CGROUP);
	}
	char *root = strdup(json_object_get_string(jr));
	char *path = strdup(json_object_get_string(jp));
	json_object_put(o);
	if (!root || !path) {
		free(root);
		free(path);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read marker %s", PS_FILE_CGROUP);
	}
	/* The marker is ours, but a path with ".." must never reach rmdir. */
	if (root[0] != '/' || ps_cgroup_path_check(path, NULL) < 0 || !path[strspn(path, "/")]) {
		free(root);
		free(path);
		return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "marker %s: bad path", PS_FILE_CGROUP);
	}
	*ret_root = root;
	*ret_path = path;
	return 0;
}

int ps_pod_cgroup_cleanup(int pod_fd, ps_error **err)
{
	_cleanup_free_ char *root = NULL, *path = NULL;
	ps_cgroup_host *h = NULL;
	int r = ps_cgroup_marker_read(pod_fd, &root, &path, err);

	if (r < 0)
		return r;
	r = ps_cgroup_host_open(root, &h, err);
	if (r < 0)
		return r;
	r = ps_cgroup_remove(h, path, err);
	ps_cgroup_host_free(h);
	if (r < 0)
		return r;
	if (unlinkat(pod_fd, PS_FILE_CGROUP, 0) < 0 && errno != ENOENT)
		return ps_error_errno(err, "remove marker %s", PS_FILE_CGROUP);
	return 0;
}

/* The usage of the cgroup at path (relative) under the root, read straight
 * from its controllers' dirs: no scan of the host's hierarchies and no
 * write fds, which ps_cgroup_open() makes for a join. status pays this on
 * every call (a --wait-ready waiter after its wake-up, too). False when
 * the cgroup is in none of them. */
static bool usage_read_path(int rootfd, bool v2, const char *path, ps_cgroup_usage *u)
{
	static const ps_cgroup_usage none = { -1, -1, -1, -1, -1, -1, -1 };
	static const char *const v1[] = { "memory", "cpuacct", "pids" };
	int fd[3] = { -1, -1, -1 };
	bool any = false;

	*u = none;
	for (size_t i = 0; i < (v2 ? 1 : 3); i++) {
		_cleanup_free_ char *p = v2 ? strdup(path) : ps_strdup_printf("%s/%s", v1[i], path);
		if (p && (fd[i] = openat(rootfd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) >= 0)
			any = true;
	}
	if (any)
		usage_read_dirs(fd[0], v2 ? fd[0] : fd[1], v2 ? fd[0] : fd[2], v2, u);
	for (size_t i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return any;
}

int ps_pod_cgroup_usage(int pod_fd, char *const *app_names, size_t n, ps_cgroup_usage *ret_pod,
                        ps_cgroup_usage *ret_apps, ps_error **err)
{
	_cleanup_free_ char *root = NULL, *path = NULL;
	int r = ps_cgroup_marker_read(pod_fd, &root, &path, err);

	if (r < 0)
		return r;
	_cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return errno == ENOENT ? -ENOENT : ps_error_errno(err, "cgroups: open %s", root);
	bool v2 = file_exists(rootfd, "cgroup.controllers");
	const char *rel = path + strspn(path, "/"); /* checked by the marker's reader */
	if (!usage_read_path(rootfd, v2, rel, ret_pod))
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		const char *name = app_names[i];
		_cleanup_free_ char *apath = NULL;
		if (!name || !*name || strchr(name, '/') || streq(name, ".") || streq(name, "..") ||
		    !(apath = ps_strdup_printf("%s/%s", rel, name)) || !usage_read_path(rootfd, v2, apath, &ret_apps[i]))
			ret_apps[i] = (ps_cgroup_usage){ -1, -1, -1, -1, -1, -1, -1 };
	}
	return 0;
}
