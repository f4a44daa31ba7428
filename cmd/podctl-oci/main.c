/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * podctl-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup]
 *            [--debug] VERB [OPTIONS] ID …
 *
 * The runc command line as containerd's io.containerd.runc.v2 shim calls it.
 * A container is a one-app pod in podctl's store at --root, run by stage1:
 *
 *   create   prepare the pod from config.json, start stage1 with
 *            --start-fifo: it sets the pod up and waits; the pid file gets
 *            stage1's pid (its exit status is the app's, and it becomes the
 *            shim's child when we exit)
 *   start    write a byte to the start FIFO
 *   state / kill / ps / pause / resume / update / exec / delete
 *
 * OCI's own records live in $ROOT/oci/<id>/: `pod` (a symlink to the pod's
 * uuid), `bundle` (to the bundle), `start` (the FIFO, gone once started).
 * Errors: one line "podctl-oci: …" on stderr and, with --log, a JSON line
 * {"level":"error","msg":…} there, which the shim reads; exit status 1.
 */
#include <dirent.h>
#include <libgen.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

#include "fdpass.h"
#include "oci.h"
#include "procutil.h"
#include "security.h"
#include "strv.h"
#include "util.h"

#define OCI_VERSION "1.0.2"
#define OCI_DIR "oci"

struct oci {
	const char *root;
	const char *log_path;
	bool log_json;
	bool debug;
	ps_store *store;
	int oci_fd;       /* $ROOT/oci */
};

/* --- errors and the log ------------------------------------------------------ */

static void log_line(struct oci *o, const char *level, const char *msg)
{
	if (!o->log_path)
		return;
	_cleanup_close_ int fd = open(o->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	char ts[64];
	ps_format_time(ps_now_ns(), ts, sizeof(ts));
	if (o->log_json) {
		json_object *j = json_object_new_object();
		json_object_object_add(j, "level", json_object_new_string(level));
		json_object_object_add(j, "msg", json_object_new_string(msg));
		json_object_object_add(j, "time", json_object_new_string(ts));
		const char *s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
		ps_write_all(fd, s, strlen(s));
		ps_write_all(fd, "\n", 1);
		json_object_put(j);
	} else {
		dprintf(fd, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
	}
}

static int fail(struct oci *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct oci *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "podctl-oci: %s\n", msg);
	log_line(o, "error", msg);
	return 1;
}

static int fail_err(struct oci *o, ps_error **err)
{
	int r = fail(o, "%s", err && *err ? (*err)->msg : "failed");
	ps_error_free(err);
	return r;
}

/* --- containers ------------------------------------------------------------------ */

struct ctr {
	char id[256];
	char uuid[PS_UUID_LEN + 1];
	char *bundle;
	ps_pod *pod;
	ps_pid_marker pm;        /* the pod's (stage1_pid) when running */
	ps_pid_marker app_pm;    /* the app's, once started */
	bool has_pm, has_app_pm;
	bool created;            /* waiting for start */
	bool running;            /* stage1 holds the lock */
	bool exited;             /* the app's exit marker is written */
};

static void ctr_clear(struct ctr *c)
{
	free(c->bundle);
	ps_pod_free(c->pod);
	*c = (struct ctr){ 0 };
}

static int open_store(struct oci *o, bool create)
{
	ps_error *err = NULL;

	if (o->store)
		return 0;
	if (create)
		(void)ps_mkdirat_p(AT_FDCWD, o->root, 0700);
	if (ps_store_open(o->root, create, &o->store, &err) < 0)
		return fail_err(o, &err);
	int sfd = ps_store_fd(o->store);
	if (mkdirat(sfd, OCI_DIR, 0700) < 0 && errno != EEXIST)
		return fail(o, "%s/%s: %s", o->root, OCI_DIR, strerror(errno));
	o->oci_fd = openat(sfd, OCI_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (o->oci_fd < 0)
		return fail(o, "%s/%s: %s", o->root, OCI_DIR, strerror(errno));
	return 0;
}

static bool id_valid(const char *id)
{
	return ps_name_is_valid(id, 200);
}

static char *read_link_at(int dirfd, const char *name)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/* Look a container up; "container does not exist" (the shim matches on it). */
static int ctr_load(struct oci *o, const char *id, struct ctr *c)
{
	ps_error *err = NULL;

	*c = (struct ctr){ 0 };
	if (!id_valid(id))
		return fail(o, "invalid container id %s", id);
	if (open_store(o, false) != 0)
		return fail(o, "container does not exist");
	snprintf(c->id, sizeof(c->id), "%s", id);
	_cleanup_close_ int dfd = openat(o->oci_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *uuid = dfd >= 0 ? read_link_at(dfd, "pod") : NULL;
	if (!uuid || !ps_uuid_is_valid(uuid))
		return fail(o, "container does not exist");
	snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
	c->bundle = read_link_at(dfd, "bundle");
	if (ps_pod_lookup(o->store, c->uuid, &c->pod, &err) < 0) {
		ps_error_free(&err);
		c->pod = NULL; /* the pod went (gc): the container is stopped */
		return 0;
	}
	c->running = c->pod->state == PS_STATE_RUNNING;
	c->has_pm = ps_pid_marker_read(c->pod->fd, &c->pm, NULL) == 0;
	_cleanup_close_ int afd = ps_app_dir_open(c->pod->fd, OCI_APP_NAME, NULL);
	if (afd >= 0) {
		c->has_app_pm = ps_pid_marker_read(afd, &c->app_pm, NULL) == 0;
		c->exited = faccessat(afd, PS_FILE_APP_EXIT, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	}
	c->created = c->running && !c->has_app_pm &&
	             faccessat(dfd, "start", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	return 0;
}

/* --- cgroups: pids of the pod, freezer --------------------------------------- */

/* Every process in the pod's pid namespace but its init (podctl-init). */
static int pod_pids(const struct ctr *c, pid_t **ret, size_t *n)
{
	struct stat want, st;
	char path[64];
	pid_t *v = NULL;
	size_t len = 0;

	*ret = NULL;
	*n = 0;
	if (!c->running || !c->has_pm)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)c->pm.pid);
	if (stat(path, &want) < 0)
		return 0;
	_cleanup_closedir_ DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == c->pm.pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/pid", pid);
		if (stat(path, &st) < 0 || st.st_ino != want.st_ino || st.st_dev != want.st_dev)
			continue;
		pid_t *nv = realloc(v, (len + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[len++] = (pid_t)pid;
	}
	*ret = v;
	*n = len;
	return 0;
}

/* The pod's freezer: v1 freezer/<pod path> (made here, since stage1 does not
 * use the controller), v2 the pod cgroup's cgroup.freeze. */
static int freezer_path(const struct ctr *c, bool make, char **ret)
{
	_cleanup_free_ char *root = NULL, *path = NULL;
	ps_cgroup_host *h = NULL;
	int r;

	*ret = NULL;
	if (!c->pod || ps_cgroup_marker_read(c->pod->fd, &root, &path, NULL) < 0)
		return -ENOENT;
	if ((r = ps_cgroup_host_open(root, &h, NULL)) < 0)
		return r;
	bool v2 = ps_cgroup_host_mode(h) == PS_CGROUP_V2;
	ps_cgroup_host_free(h);
	char *p = v2 ? ps_strdup_printf("%s/%s", root, path) : ps_strdup_printf("%s/freezer/%s", root, path);
	if (!p)
		return -ENOMEM;
	/* v1: mkdir -p below the freezer's root (the path was checked by the marker's reader) */
	for (char *q = p + strlen(root) + strlen("/freezer/"); !v2 && make && q;) {
		q = strchr(q + 1, '/');
		if (q)
			*q = '\0';
		r = mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
		if (q)
			*q = '/';
		if (r < 0) {
			free(p);
			return r;
		}
	}
	*ret = p;
	return v2 ? 2 : 1;
}

static int write_str(const char *dir, const char *file, const char *s)
{
	_cleanup_free_ char *p = ps_strdup_printf("%s/%s", dir, file);
	_cleanup_close_ int fd = p ? open(p, O_WRONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return -errno;
	return ps_write_all(fd, s, strlen(s));
}

static bool is_paused(const struct ctr *c)
{
	_cleanup_free_ char *p = NULL;
	int v = freezer_path(c, false, &p);
	if (v < 0)
		return false;
	_cleanup_free_ char *f = ps_strdup_printf("%s/%s", p, v == 2 ? "cgroup.freeze" : "freezer.state");
	char buf[32] = "";
	_cleanup_close_ int fd = f ? open(f, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
		return false;
	return v == 2 ? buf[0] == '1' : strncmp(buf, "FROZEN", 6) == 0 || strncmp(buf, "FREEZING", 8) == 0;
}

static const char *ctr_status(const struct ctr *c)
{
	if (!c->running || c->exited)
		return "stopped";
	if (c->created)
		return "created";
	return is_paused(c) ? "paused" : "running";
}

/* --- the console socket ------------------------------------------------------- */

/* A pty; the master goes to the shim over the console socket, the slave
 * (returned) becomes the container's stdio. */
static int console_setup(struct oci *o, const char *sock_path, int *ret_slave)
{
	_cleanup_close_ int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
		return fail(o, "console: open a pty: %s", strerror(errno));
	char name[128];
	if (ptsname_r(master, name, sizeof(name)) != 0)
		return fail(o, "console: ptsname: %s", strerror(errno));
	int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return fail(o, "console: open %s: %s", name, strerror(errno));
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		close(slave);
		return fail(o, "--console-socket: path too long");
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(slave);
		return fail(o, "--console-socket %s: %s", sock_path, strerror(errno));
	}
	/* the master, with the pty's name as the data (runc's console socket) */
	int r = ps_fd_send(s, master, name, strlen(name), 0);
	if (r < 0) {
		close(slave);
		return fail(o, "--console-socket %s: send: %s", sock_path, strerror(-r));
	}
	*ret_slave = slave;
	return 0;
}

/* --- pid files ---------------------------------------------------------------------- */

static int write_pid_file(struct oci *o, const char *path, pid_t pid)
{
	ps_error *err = NULL;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	_cleanup_free_ char *copy = strdup(path), *copy2 = strdup(path);
	if (!copy || !copy2)
		return fail(o, "pid file: %s", strerror(ENOMEM));
	_cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fail(o, "pid file %s: %s", path, strerror(errno));
	if (ps_write_file_at(dfd, basename(copy2), buf, (size_t)n, 0644, 0, &err) < 0)
		return fail_err(o, &err);
	return 0;
}

/* --- create ---------------------------------------------------------------------------- */

static int fd_keep(int fd)
{
	int fl = fcntl(fd, F_GETFD);
	return fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0 ? -errno : 0;
}

/* The pod in the store: manifest, info, the app's image (the bundle's rootfs
 * as the overlay's one lower layer: what the container writes goes to the
 * pod's upper dir, and stage1's /etc files never touch the bundle).
 * Returns it locked in run/, ready for stage1. */
static int make_pod(struct oci *o, const char *id, struct oci_spec *spec, ps_pod **ret, ps_error **err)
{
	ps_pod *p = NULL;
	_cleanup_free_ char *json = NULL;
	int r;

	if ((r = ps_pod_create(o->store, &p, err)) < 0)
		return r;
	if (spec->m->name && (r = ps_pod_name_claim(o->store, spec->m->name, p->uuid, err)) < 0)
		goto out;
	if (!spec->m->name && !(spec->m->name = ps_strdup_printf("pod-%.8s", p->uuid))) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "create");
		goto out;
	}
	if ((r = ps_manifest_to_json(spec->m, &json, err)) < 0 ||
	    (r = ps_write_file_at(p->fd, PS_FILE_MANIFEST, json, strlen(json), 0644, PS_WRITE_SYNC_DATA, err)) < 0 ||
	    (r = ps_info_write(p->fd, &(ps_info){ .name = spec->m->name, .created_ns = ps_now_ns() }, err)) < 0)
		goto out;
	if (ps_mkdirat_p(p->fd, PS_DIR_APPS, 0700) < 0) {
		r = ps_error_errno(err, "create apps");
		goto out;
	}
	{
		_cleanup_close_ int apps = ps_apps_dir_open(p->fd, err);
		if (apps < 0 || mkdirat(apps, OCI_APP_NAME, 0755) < 0) {
			r = apps < 0 ? apps : ps_error_errno(err, "create app dir");
			goto out;
		}
		_cleanup_close_ int afd = ps_app_dir_open(p->fd, OCI_APP_NAME, err);
		char *layers[] = { spec->rootfs, NULL };
		_cleanup_free_ char *ref = ps_strdup_printf("oci-bundle:%s", id);
		ps_app_image img = { .image = ref, .layers = layers };
		if (afd < 0 || (r = ps_app_image_write(afd, &img, err)) < 0) {
			r = afd < 0 ? afd : r;
			goto out;
		}
		if (ps_fsync(apps) < 0 || ps_fsync(p->fd) < 0) {
			r = ps_error_errno(err, "fsync pod dir");
			goto out;
		}
	}
	if ((r = ps_pod_transition(p, PS_DIR_RUN, err)) < 0)
		goto out;
	*ret = TAKE_PTR(p);
	return 0;
out:
	ps_error_prefix(err, r, "pod %s", p->uuid);
	if (p->lock == PS_LOCK_EXCLUSIVE && ps_pod_transition_lazy(p, PS_DIR_GARBAGE, NULL) == 0)
		ps_pod_destroy(p, NULL);
	if (spec->m->name)
		ps_pod_name_release(o->store, spec->m->name, p->uuid, NULL);
	ps_pod_free(p);
	return r;
}

static void remove_oci_dir(struct oci *o, const char *id)
{
	_cleanup_close_ int dfd = openat(o->oci_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0) {
		unlinkat(dfd, "pod", 0);
		unlinkat(dfd, "bundle", 0);
		unlinkat(dfd, "start", 0);
		unlinkat(dfd, "cgroup", 0);
		unlinkat(dfd, "freezer", 0);
	}
	unlinkat(o->oci_fd, id, AT_REMOVEDIR);
}

static void remove_cgroup_parent(const char *cg)
{
	/* The pod's cgroup is <cgroupsPath>/<uuid>; the cgroupsPath level is ours too. */
	_cleanup_closedir_ DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;
	_cleanup_free_ char *p2 = ps_strdup_printf("/sys/fs/cgroup/%s", cg);
	if (p2)
		rmdir(p2);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		_cleanup_free_ char *p = ps_strdup_printf("/sys/fs/cgroup/%s/%s", de->d_name, cg);
		if (p)
			rmdir(p);
	}
}

static int cmd_create(struct oci *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "console-socket", required_argument, NULL, 'c' },
		{ "no-pivot", no_argument, NULL, 'P' },
		{ "no-new-keyring", no_argument, NULL, 'K' },
		{ "preserve-fds", required_argument, NULL, 'f' },
		{ "detach", no_argument, NULL, 'd' },
		{}
	};
	const char *bundle = ".", *pid_file = NULL, *console = NULL;
	ps_error *err = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
		switch (c) {
		case 'b': bundle = optarg; break;
		case 'p': pid_file = optarg; break;
		case 'c': console = optarg; break;
		case 'P': case 'K': case 'd': break; /* pivot_root always; no keyring ns to skip */
		case 'f':
			if (!streq(optarg, "0"))
				return fail(o, "--preserve-fds: podctl passes no extra fds to a container");
			break;
		default: return 2;
		}
	}
	if (optind + 1 != argc)
		return fail(o, "create: expected one container id");
	const char *id = argv[optind];
	if (!id_valid(id))
		return fail(o, "invalid container id %s", id);
	/* config.json first: a refused one leaves no trace, not even a store */
	struct oci_spec spec = { 0 };
	if (oci_spec_load(bundle, id, &spec, &err) < 0)
		return fail_err(o, &err);
	if (open_store(o, true) != 0) {
		oci_spec_clear(&spec);
		return 1;
	}
	for (char **w = spec.warnings; w && *w; w++)
		log_line(o, "warning", *w);
	int ret = 1;
	ps_pod *p = NULL;
	pid_t pid = -1;
	int slave = -1, sp[2] = { -1, -1 };
	_cleanup_free_ char *stage1 = NULL, *fifo = NULL, *rbundle = realpath(bundle, NULL);
	_cleanup_close_ int dfd = -1;

	if (spec.terminal && !console) {
		fail(o, "config.json: process.terminal: a terminal needs --console-socket");
		goto out_spec;
	}
	if (!spec.terminal && console) {
		fail(o, "--console-socket given but process.terminal is false");
		goto out_spec;
	}
	if (mkdirat(o->oci_fd, id, 0700) < 0) {
		fail(o, errno == EEXIST ? "container with id exists: %s" : "create %s: %s", id, strerror(errno));
		goto out_spec;
	}
	dfd = openat(o->oci_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || !rbundle || symlinkat(rbundle, dfd, "bundle") < 0 || mkfifoat(dfd, "start", 0600) < 0 ||
	    (spec.cgroups_path && symlinkat(spec.cgroups_path, dfd, "cgroup") < 0)) {
		fail(o, "create %s/%s/%s: %s", o->root, OCI_DIR, id, strerror(errno));
		goto out_dir;
	}
	fifo = ps_strdup_printf("%s/%s/%s/start", ps_store_path(o->store), OCI_DIR, id);
	if (ps_stage1_path(&stage1, &err) < 0 || make_pod(o, id, &spec, &p, &err) < 0) {
		fail_err(o, &err);
		goto out_dir;
	}
	if (symlinkat(p->uuid, dfd, "pod") < 0) {
		fail(o, "create: %s", strerror(errno));
		goto out_pod;
	}
	if (console && console_setup(o, console, &slave) != 0)
		goto out_pod;
	if (pipe2(sp, O_CLOEXEC) < 0) {
		fail(o, "pipe: %s", strerror(errno));
		goto out_pod;
	}
	ps_stage1_args a = { .pod_fd = p->fd, .data_dir = ps_store_path(o->store), .uuid = p->uuid,
		             .sync_fd = sp[1], .interactive = true, .start_fifo = fifo, .debug = o->debug,
		             .join_ns = { spec.join_ns[0], spec.join_ns[1], spec.join_ns[2] } };
	char **s1argv = NULL;
	if (!fifo || ps_stage1_argv(&a, &s1argv, &err) < 0) {
		fail(o, "stage1 command line: %s", err ? err->msg : strerror(ENOMEM));
		ps_error_free(&err);
		goto out_pod;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		/* stage1: rlimits and oom_score_adj of the container are its own
		 * (the app inherits them); stdio the shim's, or the pty's slave. */
		char why[512] = "";
		for (int i = 0; i < spec.n_rlimits && !*why; i++)
			if (setrlimit(spec.rlimit_res[i], &spec.rlimits[i]) < 0)
				snprintf(why, sizeof(why), "config.json: process.rlimits[%d]: %s", i, strerror(errno));
		if (!*why && spec.has_oom_score_adj) {
			int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
			if (fd < 0 || dprintf(fd, "%d", spec.oom_score_adj) < 0)
				snprintf(why, sizeof(why), "config.json: process.oomScoreAdj: %s", strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		if (!*why && spec.cgroups_path && setenv(PS_CGROUP_PARENT_ENV, spec.cgroups_path, 1) < 0)
			snprintf(why, sizeof(why), "setenv: %s", strerror(errno));
		if (!*why && slave >= 0 && (setsid() < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0))
			snprintf(why, sizeof(why), "console: %s", strerror(errno));
		if (!*why && (fd_keep(p->fd) < 0 || fd_keep(sp[1]) < 0))
			snprintf(why, sizeof(why), "fds: %s", strerror(errno));
		if (!*why) {
			execv(stage1, s1argv);
			snprintf(why, sizeof(why), "exec %s: %s", stage1, strerror(errno));
		}
		ps_stage1_sync_error(sp[1], why);
		_exit(1);
	}
	ps_strv_free(s1argv);
	close(sp[1]);
	sp[1] = -1;
	if (pid < 0) {
		fail(o, "fork: %s", strerror(errno));
		goto out_pod;
	}
	p->lock = PS_LOCK_NONE; /* stage1's now (the same open file description) */
	_cleanup_free_ char *msg = NULL;
	if (ps_stage1_sync_read(sp[0], &msg) < 0) {
		fail(o, "pod %s: %s", p->uuid, msg ? msg : "stage1 exited before the pod was set up");
		waitpid(pid, NULL, 0);
		goto out_pod;
	}
	if (pid_file && write_pid_file(o, pid_file, pid) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out_pod;
	}
	ret = 0;
	goto out;
out_pod:
	if (p) {
		/* stage1 failed or never ran: the pod goes with the container */
		ps_pod *q = NULL;
		char uuid[PS_UUID_LEN + 1];
		snprintf(uuid, sizeof(uuid), "%s", p->uuid);
		ps_pod_free(TAKE_PTR(p));
		if (ps_pod_lookup(o->store, uuid, &q, NULL) == 0 && ps_pod_lock(q, PS_LOCK_EXCLUSIVE, true, NULL) == 0) {
			ps_pod_free(q);
			ps_pod_remove(o->store, uuid, NULL);
		} else {
			ps_pod_free(q);
		}
	}
out_dir:
	remove_oci_dir(o, id);
	if (spec.cgroups_path)
		remove_cgroup_parent(spec.cgroups_path);
out:
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	if (slave >= 0)
		close(slave);
	ps_pod_free(p);
out_spec:
	oci_spec_clear(&spec);
	return ret;
}

/* --- start, state, kill, ps ---------------------------------------------------------- */

static int one_id(struct oci *o, int argc, char **argv, const char *verb)
{
	if (optind + 1 != argc)
		return fail(o, "%s: expected one container id", verb);
	return 0;
}

static int no_options(int argc, char **argv)
{
	optind = 1;
	static const struct option opts[] = { {} };
	while (getopt_long(argc, argv, "+", opts, NULL) != -1)
		return 2;
	return 0;
}

static int cmd_start(struct oci *o, int argc, char **argv)
{
	struct ctr c;

	if (no_options(argc, argv) || one_id(o, argc, argv, "start"))
		return 1;
	if (ctr_load(o, argv[optind], &c) != 0)
		return 1;
	int r = 0;
	if (!c.created) {
		r = fail(o, "cannot start a container that is %s", ctr_status(&c));
	} else {
		_cleanup_close_ int dfd = openat(o->oci_fd, c.id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		_cleanup_close_ int fd = dfd < 0 ? -1 : openat(dfd, "start", O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || ps_write_all(fd, "s", 1) < 0)
			r = fail(o, "cannot start container %s: %s", c.id,
			         errno == ENXIO ? "it is not waiting to start" : strerror(errno));
		else
			unlinkat(dfd, "start", 0);
		/* Return once the app runs, as runc's start returns once the process
		 * is exec'd: an exec right after must find it. The ready marker is
		 * written when the app reached its goal, STARTED (or never, when it
		 * failed or the pod ended first: then there is nothing to wait for). */
		ps_pod *q = NULL;
		if (r == 0 && ps_pod_open(o->store, c.uuid, PS_DIR_RUN, &q, NULL) == 0)
			ps_pod_wait_ready(q, 10000, NULL);
		ps_pod_free(q);
	}
	ctr_clear(&c);
	return r;
}

static int cmd_state(struct oci *o, int argc, char **argv)
{
	struct ctr c;

	if (no_options(argc, argv) || one_id(o, argc, argv, "state"))
		return 1;
	if (ctr_load(o, argv[optind], &c) != 0)
		return 1;
	json_object *j = json_object_new_object();
	json_object_object_add(j, "ociVersion", json_object_new_string(OCI_VERSION));
	json_object_object_add(j, "id", json_object_new_string(c.id));
	json_object_object_add(j, "pid", json_object_new_int(c.running && c.has_pm && !c.exited ? c.pm.stage1_pid : 0));
	json_object_object_add(j, "status", json_object_new_string(ctr_status(&c)));
	json_object_object_add(j, "bundle", json_object_new_string(c.bundle ? c.bundle : ""));
	_cleanup_free_ char *rootfs = c.bundle ? ps_strdup_printf("%s/rootfs", c.bundle) : NULL;
	json_object_object_add(j, "rootfs", json_object_new_string(rootfs ? rootfs : ""));
	json_object *ann = json_object_new_object();
	ps_manifest *m = NULL;
	ps_info info = { 0 };
	if (c.pod && ps_manifest_load_at(c.pod->fd, &m, NULL) == 0)
		for (size_t i = 0; i < m->n_annotations; i++)
			json_object_object_add(ann, m->annotations[i].key,
			                       json_object_new_string(m->annotations[i].value));
	if (c.pod && ps_info_read(c.pod->fd, &info, NULL) == 0) {
		char ts[64];
		ps_format_time(info.created_ns, ts, sizeof(ts));
		json_object_object_add(j, "created", json_object_new_string(ts));
	}
	json_object_object_add(j, "owner", json_object_new_string(""));
	json_object_object_add(j, "annotations", ann);
	json_object_object_add(j, "pod", json_object_new_string(c.uuid));
	printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(j);
	ps_manifest_free(m);
	ps_info_clear(&info);
	ctr_clear(&c);
	return 0;
}

static int parse_signal(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s && !*end)
		return v > 0 && v < NSIG ? (int)v : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (int i = 1; i < NSIG; i++)
		if (sigabbrev_np(i) && strcasecmp(sigabbrev_np(i), s) == 0)
			return i;
	return -1;
}

static int signal_verified(pid_t pid, unsigned long long starttime, int sig)
{
	_cleanup_close_ int pfd = ps_pidfd_open_verified(pid, starttime);
	if (pfd < 0)
		return -ESRCH;
	return syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0 ? -errno : 0;
}

static int cmd_kill(struct oci *o, int argc, char **argv)
{
	static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, {} };
	bool all = false;
	struct ctr c;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
		if (ch != 'a')
			return 2;
		all = true;
	}
	if (optind >= argc || optind + 2 < argc)
		return fail(o, "kill: expected a container id and a signal");
	int sig = optind + 1 < argc ? parse_signal(argv[optind + 1]) : SIGTERM;
	if (sig < 0)
		return fail(o, "kill: unknown signal %s", argv[optind + 1]);
	if (ctr_load(o, argv[optind], &c) != 0)
		return 1;
	int r = 0;
	if (!c.running || c.exited || !c.has_pm) {
		r = fail(o, "container not running");
	} else if (c.created) {
		/* Nothing runs but stage1, waiting: it takes TERM/INT/HUP as a stop, KILL as is. */
		int s = sig == SIGKILL || sig == SIGINT || sig == SIGHUP ? sig : SIGTERM;
		if (signal_verified(c.pm.stage1_pid, c.pm.stage1_starttime, s) < 0)
			r = fail(o, "container not running");
	} else if (all) {
		pid_t *pids = NULL;
		size_t n = 0;
		pod_pids(&c, &pids, &n);
		for (size_t i = 0; i < n; i++)
			kill(pids[i], sig);
		free(pids);
	} else if (!c.has_app_pm || signal_verified(c.app_pm.pid, c.app_pm.starttime, sig) < 0) {
		r = fail(o, "container not running");
	}
	ctr_clear(&c);
	return r;
}

static int cmd_ps(struct oci *o, int argc, char **argv)
{
	static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, {} };
	const char *format = "table";
	struct ctr c;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (ch != 'f')
			return 2;
		format = optarg;
	}
	if (optind >= argc)
		return fail(o, "ps: expected a container id");
	if (!streq(format, "json"))
		return fail(o, "ps: only --format json is supported");
	if (ctr_load(o, argv[optind], &c) != 0)
		return 1;
	pid_t *pids = NULL;
	size_t n = 0;
	pod_pids(&c, &pids, &n);
	printf("[");
	for (size_t i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	printf("]\n");
	free(pids);
	ctr_clear(&c);
	return 0;
}

/* --- delete ------------------------------------------------------------------------------ */

static int cmd_delete(struct oci *o, int argc, char **argv)
{
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, {} };
	bool force = false;
	ps_error *err = NULL;
	struct ctr c;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (ch != 'f')
			return 2;
		force = true;
	}
	if (optind + 1 != argc)
		return fail(o, "delete: expected one container id");
	if (ctr_load(o, argv[optind], &c) != 0)
		return 1;
	const char *st = ctr_status(&c);
	if (c.running && !force && !streq(st, "stopped") && !streq(st, "created")) {
		int r = fail(o, "cannot delete container %s that is not stopped: %s", c.id, st);
		ctr_clear(&c);
		return r;
	}
	if (c.running && c.has_pm) {
		/* stage1 goes: its lock is released when it is gone (a created
		 * container's stage1 ends the pod without starting it) */
		if (streq(st, "paused")) {
			_cleanup_free_ char *fp = NULL;
			int v = freezer_path(&c, false, &fp);
			if (v > 0)
				write_str(fp, v == 2 ? "cgroup.freeze" : "freezer.state", v == 2 ? "0" : "THAWED");
		}
		signal_verified(c.pm.stage1_pid, c.pm.stage1_starttime, SIGKILL);
		if (c.has_app_pm)
			signal_verified(c.app_pm.pid, c.app_pm.starttime, SIGKILL);
	}
	if (c.pod) {
		/* wait for stage1 to be gone: the lock is free then */
		ps_pod *q = NULL;
		if (ps_pod_lookup(o->store, c.uuid, &q, NULL) == 0)
			ps_pod_lock(q, PS_LOCK_SHARED, true, NULL);
		ps_pod_free(q);
		if (ps_pod_remove(o->store, c.uuid, &err) < 0 && err && err->kind != PS_ERR_NOT_FOUND) {
			int r = fail_err(o, &err);
			ctr_clear(&c);
			return r;
		}
		ps_error_free(&err);
	}
	_cleanup_close_ int dfd = openat(o->oci_fd, c.id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *cg = dfd >= 0 ? read_link_at(dfd, "cgroup") : NULL;
	_cleanup_free_ char *fz = dfd >= 0 ? read_link_at(dfd, "freezer") : NULL;
	if (fz && strncmp(fz, "/sys/fs/cgroup/", 15) == 0 && !strstr(fz, "/../"))
		rmdir(fz);
	remove_oci_dir(o, c.id);
	if (cg && ps_cgroup_path_check(cg, NULL) == 0)
		remove_cgroup_parent(cg);
	ctr_clear(&c);
	return 0;
}

/* --- pause, resume, update -------------------------------------------------------------- */

static int freeze(struct oci *o, const char *id, bool on)
{
	struct ctr c;
	int r = 0;

	if (ctr_load(o, id, &c) != 0)
		return 1;
	const char *st = ctr_status(&c);
	if (on && !streq(st, "running"))
		r = fail(o, "container not running");
	else if (!on && !streq(st, "paused"))
		r = fail(o, "container not paused");
	_cleanup_free_ char *fp = NULL;
	int v = r ? 0 : freezer_path(&c, on, &fp);
	if (!r && v < 0)
		r = fail(o, "freezer of container %s: %s", id, strerror(-v));
	if (!r && on && v == 1) {
		/* remembered for delete: stage1 drops its cgroup marker when it ends */
		_cleanup_close_ int dfd = openat(o->oci_fd, c.id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd >= 0 && symlinkat(fp, dfd, "freezer") < 0 && errno != EEXIST)
			r = fail(o, "pause: record the freezer: %s", strerror(errno));
		/* v1: every process of the pod into its freezer cgroup, then freeze */
		pid_t *pids = NULL;
		size_t n = 0;
		pod_pids(&c, &pids, &n);
		for (size_t i = 0; i < n; i++) {
			char b[32];
			snprintf(b, sizeof(b), "%d", (int)pids[i]);
			write_str(fp, "cgroup.procs", b);
		}
		free(pids);
	}
	if (!r) {
		int w = write_str(fp, v == 2 ? "cgroup.freeze" : "freezer.state",
		                  v == 2 ? (on ? "1" : "0") : (on ? "FROZEN" : "THAWED"));
		if (w < 0)
			r = fail(o, "%s container %s: %s", on ? "pause" : "resume", id, strerror(-w));
	}
	ctr_clear(&c);
	return r;
}

static int cmd_pause(struct oci *o, int argc, char **argv)
{
	if (no_options(argc, argv) || one_id(o, argc, argv, "pause"))
		return 1;
	return freeze(o, argv[optind], true);
}

static int cmd_resume(struct oci *o, int argc, char **argv)
{
	if (no_options(argc, argv) || one_id(o, argc, argv, "resume"))
		return 1;
	return freeze(o, argv[optind], false);
}

static int cmd_update(struct oci *o, int argc, char **argv)
{
	static const struct option opts[] = { { "resources", required_argument, NULL, 'r' }, {} };
	const char *file = NULL;
	ps_error *err = NULL;
	struct ctr c;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+r:", opts, NULL)) != -1) {
		if (ch != 'r')
			return 2;
		file = optarg;
	}
	if (!file || optind + 1 != argc)
		return fail(o, "update: expected --resources FILE and a container id");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (streq(file, "-")) {
		if (ps_read_all(0, 1 << 20, &text, &len) < 0)
			return fail(o, "update: read stdin: %s", strerror(errno));
	} else {
		_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || ps_read_all(fd, 1 << 20, &text, &len) < 0)
			return fail(o, "update: %s: %s", file, strerror(errno));
	}
	json_object *res = json_tokener_parse(text);
	ps_resources rs = { 0 };
	if (!res || oci_resources_parse(res, "resources", &rs, &err) < 0) {
		json_object_put(res);
		return err ? fail_err(o, &err) : fail(o, "update: %s: not JSON", file);
	}
	json_object_put(res);
	if (ctr_load(o, argv[optind], &c) != 0)
		return 1;
	int r = 0;
	_cleanup_free_ char *root = NULL, *path = NULL, *apath = NULL;
	ps_cgroup_host *h = NULL;
	ps_cgroup *cg = NULL;
	if (!c.running || !c.pod || ps_cgroup_marker_read(c.pod->fd, &root, &path, &err) < 0 ||
	    !(apath = ps_strdup_printf("%s/%s", path, OCI_APP_NAME)) ||
	    ps_cgroup_host_open(root, &h, &err) < 0 || ps_cgroup_open(h, apath, &cg, &err) < 0 ||
	    ps_cgroup_set_resources(cg, &rs, "update", &err) < 0)
		r = err ? fail_err(o, &err) : fail(o, "container not running");
	ps_cgroup_free(cg);
	ps_cgroup_host_free(h);
	ctr_clear(&c);
	return r;
}

/* --- exec ---------------------------------------------------------------------------------- */

static int cmd_exec(struct oci *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, 'P' },
		{ "console-socket", required_argument, NULL, 'c' },
		{}
	};
	const char *process = NULL, *pid_file = NULL, *console = NULL;
	bool detach = false;
	ps_error *err = NULL;
	struct ctr c;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+p:d", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': process = optarg; break;
		case 'd': detach = true; break;
		case 'P': pid_file = optarg; break;
		case 'c': console = optarg; break;
		default: return 2;
		}
	}
	if (!process || optind + 1 != argc)
		return fail(o, "exec: expected --process FILE and a container id (podctl-oci takes a process.json only)");
	if (ctr_load(o, argv[optind], &c) != 0)
		return 1;
	int r = 1;
	ps_manifest *m = NULL;
	_cleanup_strv_ char **args = NULL;
	_cleanup_free_ char *stage1 = NULL;
	char **s1argv = NULL;
	bool terminal = false;
	int slave = -1;

	if (!streq(ctr_status(&c), "running")) {
		fail(o, "cannot exec in a container that is %s", ctr_status(&c));
		goto out;
	}
	if (ps_manifest_load_at(c.pod->fd, &m, &err) < 0 ||
	    oci_process_check_exec(process, &m->apps[0], &args, &terminal, &err) < 0 ||
	    ps_stage1_path(&stage1, &err) < 0) {
		fail_err(o, &err);
		goto out;
	}
	if (terminal != (console != NULL)) {
		fail(o, terminal ? "process.terminal: a terminal needs --console-socket"
		                 : "--console-socket given but process.terminal is false");
		goto out;
	}
	if (console && console_setup(o, console, &slave) != 0)
		goto out;
	ps_stage1_args a = { .pod_fd = c.pod->fd, .uuid = c.uuid, .sync_fd = -1, .enter_app = OCI_APP_NAME,
		             .cmd = args, .debug = o->debug };
	if (ps_stage1_argv(&a, &s1argv, &err) < 0) {
		fail_err(o, &err);
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = detach ? fork() : 0;
	if (pid < 0) {
		fail(o, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (slave >= 0 && (setsid() < 0 || dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0))
			_exit(125);
		if (!detach && pid_file && write_pid_file(o, pid_file, getpid()) != 0)
			_exit(125);
		if (fd_keep(c.pod->fd) == 0)
			execv(stage1, s1argv);
		fprintf(stderr, "podctl-oci: exec %s: %s\n", stage1, strerror(errno));
		_exit(125);
	}
	if (pid_file && write_pid_file(o, pid_file, pid) != 0) {
		kill(pid, SIGKILL);
		goto out;
	}
	r = 0;
out:
	if (slave >= 0)
		close(slave);
	ps_strv_free(s1argv);
	ps_manifest_free(m);
	ctr_clear(&c);
	return r;
}

/* --- list, features, version ---------------------------------------------------------- */

static int cmd_list(struct oci *o, int argc, char **argv)
{
	json_object *arr = json_object_new_array();
	bool json = false;
	for (int i = 1; i < argc; i++)
		json = json || strstr(argv[i], "json");
	if (open_store(o, false) == 0) {
		int dfd = fcntl(o->oci_fd, F_DUPFD_CLOEXEC, 3);
		_cleanup_closedir_ DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!d && dfd >= 0)
			close(dfd);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			struct ctr c;
			if (de->d_name[0] == '.' || !id_valid(de->d_name))
				continue;
			if (ctr_load(o, de->d_name, &c) != 0)
				continue;
			json_object *j = json_object_new_object();
			json_object_object_add(j, "id", json_object_new_string(c.id));
			json_object_object_add(j, "pid", json_object_new_int(c.running && !c.exited ? c.pm.stage1_pid : 0));
			json_object_object_add(j, "status", json_object_new_string(ctr_status(&c)));
			json_object_object_add(j, "bundle", json_object_new_string(c.bundle ? c.bundle : ""));
			json_object_array_add(arr, j);
			ctr_clear(&c);
		}
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	} else {
		printf("ID\tPID\tSTATUS\tBUNDLE\n");
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *j = json_object_array_get_idx(arr, i), *v;
			json_object_object_get_ex(j, "id", &v);
			printf("%s\t", json_object_get_string(v));
			json_object_object_get_ex(j, "pid", &v);
			printf("%d\t", json_object_get_int(v));
			json_object_object_get_ex(j, "status", &v);
			printf("%s\t", json_object_get_string(v));
			json_object_object_get_ex(j, "bundle", &v);
			printf("%s\n", json_object_get_string(v));
		}
	}
	json_object_put(arr);
	return 0;
}

static int cmd_features(struct oci *o, int argc, char **argv)
{
	printf("{\n"
	       "  \"ociVersionMin\": \"1.0.0\",\n"
	       "  \"ociVersionMax\": \"%s\",\n"
	       "  \"hooks\": [],\n"
	       "  \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rw\", \"private\", \"rprivate\", "
	       "\"nosuid\", \"nodev\", \"suid\", \"dev\", \"noexec\", \"mode\"],\n"
	       "  \"linux\": {\n"
	       "    \"namespaces\": [\"pid\", \"network\", \"ipc\", \"uts\", \"mount\", \"cgroup\"],\n"
	       "    \"capabilities\": [",
	       OCI_VERSION);
	for (int cap = 0; cap <= PS_CAP_LAST; cap++)
		printf("%s\"%s\"", cap ? ", " : "", ps_cap_name(cap));
	printf("],\n"
	       "    \"cgroup\": { \"v1\": true, \"v2\": true, \"systemd\": false, \"systemdUser\": false },\n"
	       "    \"seccomp\": { \"enabled\": true },\n"
	       "    \"apparmor\": { \"enabled\": false },\n"
	       "    \"selinux\": { \"enabled\": false }\n"
	       "  },\n"
	       "  \"annotations\": { \"org.podctl.version\": \"%s\" }\n"
	       "}\n",
	       PODCTL_VERSION);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: podctl-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup]\n"
	           "                  [--debug] COMMAND [OPTIONS] ID …\n\n"
	           "runc's command line (as containerd's io.containerd.runc.v2 shim uses it) over\n"
	           "podctl's store and stage1: each container is a one-app pod in the store at --root.\n\n"
	           "Commands: create --bundle DIR [--pid-file F] [--console-socket S] ID, start ID,\n"
	           "  state ID, kill [--all] ID [SIGNAL], delete [--force] ID, ps --format json ID,\n"
	           "  exec --process FILE [--detach] [--pid-file F] [--console-socket S] ID,\n"
	           "  pause ID, resume ID, update --resources FILE|- ID, list [--format json], features\n\n"
	           "  --root DIR          podctl's data dir (default /run/podctl-oci)\n"
	           "  --log FILE          also write errors and warnings there\n"
	           "  --log-format FMT    text or json (the shim asks for json)\n"
	           "  --systemd-cgroup    accepted; podctl manages cgroupfs itself, without systemd\n"
	           "  --debug             stage1 says more on stderr\n"
	           "  -h, --help          this help;  -v, --version  the version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "log", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'F' },
		{ "systemd-cgroup", no_argument, NULL, 's' },
		{ "debug", no_argument, NULL, 'D' },
		{ "criu", required_argument, NULL, 'C' },
		{ "rootless", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{}
	};
	struct oci o = { .root = "/run/podctl-oci", .oci_fd = -1 };
	int c;

	while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case 'r': o.root = optarg; break;
		case 'l': o.log_path = optarg; break;
		case 'F':
			if (!streq(optarg, "json") && !streq(optarg, "text"))
				return fail(&o, "--log-format: expected text or json");
			o.log_json = streq(optarg, "json");
			break;
		case 's': break; /* no systemd: cgroupfs it is (documented) */
		case 'D': o.debug = true; break;
		case 'C': break;
		case 'R':
			if (!streq(optarg, "false") && !streq(optarg, "auto"))
				return fail(&o, "--rootless: podctl-oci runs as root");
			break;
		case 'h': usage(stdout); return 0;
		case 'v':
			printf("podctl-oci version %s\ncommit: %s\nspec: %s\n", PODCTL_VERSION, "podctl", OCI_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	static const struct {
		const char *name;
		int (*fn)(struct oci *, int, char **);
	} verbs[] = {
		{ "create", cmd_create }, { "start", cmd_start },   { "state", cmd_state },
		{ "kill", cmd_kill },     { "delete", cmd_delete }, { "ps", cmd_ps },
		{ "exec", cmd_exec },     { "pause", cmd_pause },   { "resume", cmd_resume },
		{ "update", cmd_update }, { "list", cmd_list },     { "features", cmd_features },
	};
	const char *verb = argv[optind];
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (streq(verbs[i].name, verb)) {
			int r = verbs[i].fn(&o, argc - optind, argv + optind);
			if (o.oci_fd >= 0)
				close(o.oci_fd);
			ps_store_close(o.store);
			return r;
		}
	}
	return fail(&o, "unknown command %s (podctl-oci --help lists them)", verb);
}
