/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ps_image_pull(): skopeo fetches, the image store verifies and keeps.
 *
 *   1. `skopeo inspect --raw REF`: the source's manifest (an index is
 *      followed to this platform's manifest). Its digest names the image we
 *      would get: if the store has it (by that digest, or through the
 *      images/pulled/ record of an earlier pull that converted the manifest),
 *      the image is only named and nothing is copied.
 *   2. Otherwise a layout tmp/pull-<n>.<pid>/oci is seeded with hard links to
 *      the blobs the store already has, so skopeo reuses them instead of
 *      copying them ("skipped: already exists"), and `skopeo copy REF
 *      oci:LAYOUT` fetches the rest. skopeo's own scratch files go to the
 *      same dir (TMPDIR).
 *   3. ps_image_import() of the layout (hashes every blob against the
 *      manifest) and the name; the layout is removed.
 *
 * skopeo runs with PR_SET_PDEATHSIG: if we are killed it dies too, and the
 * pid in the tmp dir's name lets ps_gc() remove what is left.
 */

#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <podstore/fileio.h>
#include <podstore/pull.h>
#include "image-internal.h"
#include "json-util.h"
#include "sha256.h"
#include "util.h"

extern char **environ;

#define MAX_MANIFEST (4u << 20)
#define MAX_STDERR (16u << 10)

int ps_pull_policy_from_name(const char *name, ps_pull_policy *ret)
{
	static const char *const names[] = { "missing", "always", "never" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (name && streq(name, names[i])) {
			*ret = (ps_pull_policy)i;
			return 0;
		}
	return -EINVAL;
}

/* --- references ------------------------------------------------------------------ */

static const char *const transports[] = { "docker://", "oci:", "oci-archive:", "docker-archive:" };

bool ps_image_ref_has_transport(const char *ref)
{
	for (size_t i = 0; i < ARRAY_SIZE(transports); i++)
		if (strncmp(ref, transports[i], strlen(transports[i])) == 0)
			return true;
	return false;
}

int ps_image_pull_name(const char *ref, char **ret, ps_error **err)
{
	const char *name = strncmp(ref, "docker://", 9) == 0 ? ref + 9 : ref;
	char *n;

	if (!*name)
		return ps_error_set(err, PS_ERR_INVALID, 0, "empty image reference \"%s\"", ref);
	n = strdup(name);
	if (!n)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "image reference");
	*ret = n;
	return 0;
}

struct ref {
	char *skopeo_ref; /* what skopeo is given */
	char *name;       /* what the store calls it */
	char *repo;       /* docker: "docker://HOST/NAME" without tag or digest; else NULL */
};

static void ref_clear(struct ref *r)
{
	free(r->skopeo_ref);
	free(r->name);
	free(r->repo);
}

static int ref_parse(const char *in, struct ref *r, ps_error **err)
{
	int k = ps_image_pull_name(in, &r->name, err);

	if (k < 0)
		return k;
	for (const char *p = in; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return ps_error_set(err, PS_ERR_INVALID, 0,
			                    "image reference \"%s\": blanks or control characters", in);
	if (ps_image_ref_has_transport(in) && strncmp(in, "docker://", 9) != 0) {
		r->skopeo_ref = strdup(in);
		return r->skopeo_ref ? 0 : ps_error_set(err, PS_ERR_FAILED, ENOMEM, "reference");
	}
	r->skopeo_ref = ps_strdup_printf("docker://%s", r->name);
	r->repo = ps_strdup_printf("docker://%s", r->name);
	if (!r->skopeo_ref || !r->repo)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "reference");
	/* Cut ":tag" (a ':' after the last '/') or "@digest". */
	char *at = strchr(r->repo + 9, '@'), *slash = strrchr(r->repo + 9, '/');
	char *colon = strrchr(r->repo + 9, ':');
	if (at)
		*at = '\0';
	else if (colon && (!slash || colon > slash))
		*colon = '\0';
	return 0;
}

/* --- running skopeo ---------------------------------------------------------- */

static int find_skopeo(const ps_image_pull_opts *o, char **ret, ps_error **err)
{
	const char *want = o && o->skopeo ? o->skopeo : getenv("PODCTL_SKOPEO");
	const char *path = getenv("PATH");

	if (want && *want) {
		if (access(want, X_OK) == 0)
			return (*ret = strdup(want)) ? 0 : -ENOMEM;
		return ps_error_set(err, PS_ERR_FAILED, 0,
		                    "skopeo is not installed (%s is not executable): pulling "
		                    "images needs it (apt-get install skopeo)", want);
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	_cleanup_free_ char *dirs = strdup(path);
	if (!dirs)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "find skopeo");
	/* Empty and relative entries are skipped below (*d == '/'). */
	for (char *rest = dirs, *d; (d = strsep(&rest, ":"));) {
		_cleanup_free_ char *p = ps_strdup_printf("%s/skopeo", d);
		if (p && *d == '/' && access(p, X_OK) == 0) {
			*ret = TAKE_PTR(p);
			return 0;
		}
	}
	return ps_error_set(err, PS_ERR_FAILED, 0,
	                    "skopeo is not installed: pulling images needs it "
	                    "(apt-get install skopeo, or set PODCTL_SKOPEO)");
}

struct argv {
	char **v;
	size_t n;
	bool oom;
};

static void argv_add(struct argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void argv_add(struct argv *a, const char *fmt, ...)
{
	char **nv;
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	nv = s ? realloc(a->v, (a->n + 2) * sizeof(char *)) : NULL;
	if (!nv) {
		free(s);
		a->oom = true;
		return;
	}
	a->v = nv;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void argv_free(struct argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* skopeo's global options: the platform, if asked for. */
static int add_platform(struct argv *a, const char *platform, ps_error **err)
{
	_cleanup_free_ char *p = platform ? strdup(platform) : NULL;
	char *arch, *variant;

	if (!platform)
		return 0;
	if (!p)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "platform");
	arch = strchr(p, '/');
	if (!arch || arch == p || !arch[1])
		return ps_error_set(err, PS_ERR_INVALID, 0,
		                    "platform \"%s\": expected OS/ARCH[/VARIANT]", platform);
	*arch++ = '\0';
	variant = strchr(arch, '/');
	if (variant)
		*variant++ = '\0';
	argv_add(a, "--override-os=%s", p);
	argv_add(a, "--override-arch=%s", arch);
	if (variant && *variant)
		argv_add(a, "--override-variant=%s", variant);
	return 0;
}

/* Source options; prefix "" for inspect, "src-" for copy. */
static void add_source_opts(struct argv *a, const ps_image_pull_opts *o, const char *prefix)
{
	if (!o)
		return;
	if (o->tls_verify >= 0)
		argv_add(a, "--%stls-verify=%s", prefix, o->tls_verify ? "true" : "false");
	if (o->creds)
		argv_add(a, "--%screds=%s", prefix, o->creds);
	if (o->authfile)
		argv_add(a, "--%sauthfile=%s", prefix, o->authfile);
}

struct watch {
	int layout_fd;          /* the layout being written */
	int blobs_fd;           /* its blobs/sha256 */
	ps_pull_layer *layers;
	size_t n;
	char **inflight;        /* temp files, in the order first seen */
	const ps_image_pull_opts *o;
	long long last_ns;
};

struct child_out {
	char *out;              /* stdout, when captured */
	size_t out_len;
	char err[MAX_STDERR + 1];
	size_t err_len;
	int status;
};

static void watch_scan(struct watch *w, bool final);

static int drain(int fd, struct child_out *co, bool is_out, size_t max_out)
{
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	if (is_out) {
		if (co->out_len + (size_t)n > max_out)
			return -EFBIG;
		char *nb = realloc(co->out, co->out_len + (size_t)n + 1);
		if (!nb)
			return -ENOMEM;
		co->out = nb;
		memcpy(co->out + co->out_len, buf, (size_t)n);
		co->out_len += (size_t)n;
		co->out[co->out_len] = '\0';
	} else {
		/* Keep the tail: skopeo's fatal message is its last line. */
		_Static_assert(sizeof(buf) <= MAX_STDERR, "a read fits the tail buffer");
		if (co->err_len + (size_t)n > MAX_STDERR) {
			size_t drop = co->err_len + (size_t)n - MAX_STDERR;
			memmove(co->err, co->err + drop, co->err_len - drop);
			co->err_len -= drop;
		}
		memcpy(co->err + co->err_len, buf, (size_t)n);
		co->err_len += (size_t)n;
		co->err[co->err_len] = '\0';
	}
	return 1;
}

/*
 * Run skopeo with argv, stdin from /dev/null, stderr captured, stdout
 * captured (up to max_out) when capture_out, else discarded. With tmpdir,
 * its TMPDIR. With w, report progress on inotify events of w's layout.
 */
static int run_skopeo(char *const *argv, bool capture_out, size_t max_out, const char *tmpdir,
                      struct watch *w, struct child_out *co, ps_error **err)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	_cleanup_close_ int ino = -1, devnull = -1;
	_cleanup_free_ char *tmpenv = tmpdir ? ps_strdup_printf("TMPDIR=%s", tmpdir) : NULL;
	_cleanup_free_ char **envp = NULL;
	size_t ne = 0;
	pid_t pid;
	int r = 0;

	while (environ && environ[ne])
		ne++;
	envp = calloc(ne + 2, sizeof(char *));
	if (!envp || (tmpdir && !tmpenv))
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "run skopeo");
	for (size_t i = 0, k = 0; i < ne; i++)
		if (!tmpdir || strncmp(environ[i], "TMPDIR=", 7) != 0)
			envp[k++] = environ[i];
	if (tmpdir)
		for (size_t k = 0;; k++)
			if (!envp[k]) {
				envp[k] = tmpenv;
				break;
			}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(errp, O_CLOEXEC) < 0 || (capture_out && pipe2(outp, O_CLOEXEC) < 0)) {
		r = ps_error_errno(err, "run skopeo");
		goto out;
	}
	if (w) {
		ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (ino >= 0) {
			char self[64];
			snprintf(self, sizeof(self), "/proc/self/fd/%d", w->layout_fd);
			inotify_add_watch(ino, self, IN_CREATE | IN_MODIFY | IN_MOVED_FROM | IN_DELETE);
			snprintf(self, sizeof(self), "/proc/self/fd/%d", w->blobs_fd);
			inotify_add_watch(ino, self, IN_CREATE | IN_MODIFY | IN_MOVED_TO);
		}
	}
	pid_t parent = getpid();
	pid = fork();
	if (pid < 0) {
		r = ps_error_errno(err, "run skopeo: fork");
		goto out;
	}
	if (pid == 0) {
		/* Die with the caller: a killed pull must not go on writing. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (dup2(devnull, 0) < 0 || dup2(capture_out ? outp[1] : devnull, 1) < 0 ||
		    dup2(errp[1], 2) < 0)
			_exit(127);
		execve(argv[0], argv, envp);
		dprintf(2, "level=fatal msg=\"exec %s: %s\"\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(errp[1]);
	errp[1] = -1;
	if (capture_out) {
		close(outp[1]);
		outp[1] = -1;
	}
	bool out_open = capture_out, err_open = true;
	while (out_open || err_open) {
		struct pollfd p[3] = {
			{ .fd = out_open ? outp[0] : -1, .events = POLLIN },
			{ .fd = err_open ? errp[0] : -1, .events = POLLIN },
			{ .fd = ino, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (p[0].revents) {
			int k = drain(outp[0], co, true, max_out);
			if (k <= 0)
				out_open = false;
			if (k < 0 && r == 0)
				r = k;
		}
		if (p[1].revents) {
			int k = drain(errp[0], co, false, 0);
			if (k <= 0)
				err_open = false;
		}
		if (p[2].revents) {
			char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			while (read(ino, buf, sizeof(buf)) > 0)
				;
			watch_scan(w, false);
		}
	}
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &co->status, 0) < 0)
		if (errno != EINTR) {
			co->status = -1;
			break;
		}
	if (r < 0)
		r = ps_error_set(err, PS_ERR_FAILED, -r, "run skopeo");
out:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return r;
}

/* skopeo's last fatal message, unquoted, without its "Error …: " wrappers. */
static void last_message(const char *err, char *buf, size_t size)
{
	const char *line = err, *p, *m;
	size_t n = 0;

	/* The last non-empty line. */
	for (p = err; *p; p++)
		if (*p == '\n' && p[1] && p[1] != '\n')
			line = p + 1;
	m = strstr(line, "msg=\"");
	if (m) {
		m += 5;
		for (; *m && n + 1 < size; m++) {
			if (*m == '\\' && m[1]) {
				m++;
			} else if (*m == '"') {
				break;
			}
			buf[n++] = *m;
		}
	} else {
		for (; *line && *line != '\n' && n + 1 < size; line++)
			buf[n++] = *line;
	}
	buf[n] = '\0';
}

/* The cause of skopeo's failure, in a few words, and whether it means "no such image". */
static int skopeo_error(const struct child_out *co, ps_error **err)
{
	static const struct {
		const char *needle;
		bool not_found;
		const char *say;
	} causes[] = {
		{ "manifest unknown", true, "manifest unknown (no such tag or digest)" },
		{ "name unknown", true, "no such repository" },
		{ "repository name not known", true, "no such repository" },
		{ "requested access to the resource is denied", false, "access denied (403)" },
		{ "denied", false, "access denied (403)" },
		{ "unauthorized", false, "authentication required or refused (401)" },
		{ "authentication required", false, "authentication required or refused (401)" },
		{ "server gave HTTP response to HTTPS client", false,
		  "TLS: the registry speaks plain HTTP (use --tls-verify=false)" },
		{ "x509:", false, "TLS: the registry's certificate is not trusted" },
		{ "tls:", false, "TLS handshake failed" },
		{ "connection refused", false, "connection refused (is the registry up?)" },
		{ "no such host", false, "unknown host" },
		{ "i/o timeout", false, "timed out" },
		{ "network is unreachable", false, "network unreachable" },
		{ "no such file or directory", true, "no such file" },
		{ "short-name", false, NULL },
		{ "no image found in manifest list for architecture", true,
		  "no image for this platform (see --platform)" },
		{ "choosing image instance", true, "no image for this platform (see --platform)" },
	};
	char msg[1024];

	last_message(co->err, msg, sizeof(msg));
	if (!*msg)
		snprintf(msg, sizeof(msg), "skopeo exited with status %d",
		         WIFEXITED(co->status) ? WEXITSTATUS(co->status) : 128 + WTERMSIG(co->status));
	for (size_t i = 0; i < ARRAY_SIZE(causes); i++) {
		if (!strcasestr(msg, causes[i].needle))
			continue;
		if (!causes[i].say)
			break;
		return ps_error_set(err, causes[i].not_found ? PS_ERR_NOT_FOUND : PS_ERR_FAILED, 0,
		                    "%s", causes[i].say);
	}
	/* Unknown: skopeo's own words, without the wrapper it adds. */
	const char *m = msg, *q;
	if (strncmp(m, "Error parsing image name \"", 26) == 0 && (q = strstr(m + 26, "\": ")))
		m = q + 3;
	return ps_error_set(err, PS_ERR_FAILED, 0, "%s", m);
}

/* skopeo inspect --raw of ref: the manifest bytes. */
static int inspect_raw(const char *skopeo, const ps_image_pull_opts *o, const char *ref,
                       char **ret, size_t *ret_len, ps_error **err)
{
	struct argv a = { 0 };
	struct child_out co = { 0 };
	int r;

	argv_add(&a, "%s", skopeo);
	r = add_platform(&a, o ? o->platform : NULL, err);
	if (r < 0)
		goto out;
	argv_add(&a, "inspect");
	argv_add(&a, "--raw");
	add_source_opts(&a, o, "");
	argv_add(&a, "%s", ref);
	if (a.oom) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "inspect");
		goto out;
	}
	r = run_skopeo(a.v, true, MAX_MANIFEST, NULL, NULL, &co, err);
	if (r < 0)
		goto out;
	if (co.status != 0) {
		r = skopeo_error(&co, err);
		goto out;
	}
	if (!co.out) {
		r = ps_error_set(err, PS_ERR_FAILED, 0, "empty manifest");
		goto out;
	}
	*ret = TAKE_PTR(co.out);
	*ret_len = co.out_len;
out:
	free(co.out);
	argv_free(&a);
	return r;
}

/* --- manifests ---------------------------------------------------------------- */

/* From an index, the digest of the manifest for the platform. */
static const char *pick_platform(json_object *index, const char *platform)
{
	json_object *m = ps_json_array(index, "manifests"); /* untrusted: a registry's */
	char os[32] = "linux", arch[32], variant[32] = "";

	snprintf(arch, sizeof(arch), "%s", image_host_arch());
	if (platform)
		sscanf(platform, "%31[^/]/%31[^/]/%31s", os, arch, variant);
	for (size_t i = 0; m && i < json_object_array_length(m); i++) {
		json_object *d = json_object_array_get_idx(m, i), *p = ps_json_get(d, "platform");
		if (!streq(ps_json_str(p, "os") ?: "", os) || !streq(ps_json_str(p, "architecture") ?: "", arch))
			continue;
		if (*variant && !streq(ps_json_str(p, "variant") ?: "", variant))
			continue;
		return image_digest_hex(ps_json_str(d, "digest"));
	}
	return NULL;
}

static int layers_from(json_object *manifest, ps_pull_layer **ret, size_t *ret_n,
                       char config_hex[PS_SHA256_HEX_LEN + 1])
{
	json_object *l = ps_json_get(manifest, "layers");
	size_t n = l && json_object_is_type(l, json_type_array) ? json_object_array_length(l) : 0;
	ps_pull_layer *v = calloc(n + 1, sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_object *d = json_object_array_get_idx(l, i);
		const char *hex = image_digest_hex(ps_json_str(d, "digest"));
		if (!hex)
			continue;
		snprintf(v[k].digest, sizeof(v[k].digest), "sha256:%s", hex);
		v[k].size = json_object_get_int64(ps_json_get(d, "size"));
		k++;
	}
	const char *c = image_digest_hex(ps_json_str(ps_json_get(manifest, "config"), "digest"));
	if (c)
		memcpy(config_hex, c, PS_SHA256_HEX_LEN + 1);
	*ret = v;
	*ret_n = k;
	return 0;
}

/* --- what the store has ------------------------------------------------------------ */

/* The store digest of the image whose source manifest is hex, if stored. */
static int stored_image(ps_store *s, const char *hex, char ret[80])
{
	int images = ps_store_images_fd(s, NULL);
	char path[128];
	_cleanup_free_ char *data = NULL;
	struct stat st;

	if (images < 0)
		return 0;
	snprintf(path, sizeof(path), "index/sha256-%s.json", hex);
	if (fstatat(images, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(ret, 80, "sha256:%s", hex);
		return 1;
	}
	/* An earlier pull whose manifest skopeo converted (docker → OCI). */
	snprintf(path, sizeof(path), "pulled/sha256-%s", hex);
	_cleanup_close_ int dfd = openat(images, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || ps_read_file_at(dfd, path, 256, &data, NULL, NULL) < 0)
		return 0;
	data[strcspn(data, "\n")] = '\0';
	const char *local = image_digest_hex(data);
	if (!local)
		return 0;
	snprintf(path, sizeof(path), "index/sha256-%s.json", local);
	if (fstatat(images, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	snprintf(ret, 80, "sha256:%s", local);
	return 1;
}

/* Remember that source manifest hex became the store's image digest. */
static void record_pulled(ps_store *s, const char *hex, const char *digest)
{
	int images = ps_store_images_fd(s, NULL);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *line = ps_strdup_printf("%s\n", digest), *name = NULL;

	if (images < 0 || !line || (image_digest_hex(digest) && streq(image_digest_hex(digest), hex)))
		return;
	if (ps_mkdirat_p(images, "pulled", 0700) < 0)
		return;
	fd = openat(images, "pulled", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	name = ps_strdup_printf("sha256-%s", hex);
	if (fd >= 0 && name)
		ps_write_file_at(fd, name, line, strlen(line), 0600, PS_WRITE_DURABLE, NULL);
}

/* --- progress ----------------------------------------------------------------- */

static bool is_blob_name(const char *n)
{
	return ps_sha256_hex_is_valid(n);
}

static void watch_scan(struct watch *w, bool final)
{
	struct stat st;
	long long now = ps_monotonic_ns();

	if (!w || !w->o || !w->o->progress)
		return;
	if (!final && now - w->last_ns < 100000000LL)
		return;
	w->last_ns = now;
	for (size_t i = 0; i < w->n; i++) {
		if (w->layers[i].state == PS_LAYER_STORED)
			continue;
		if (fstatat(w->blobs_fd, w->layers[i].digest + 7, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
		    final) {
			w->layers[i].state = PS_LAYER_DONE;
			w->layers[i].done = w->layers[i].size;
		}
	}
	/* Files being written: anything in the layout that is not yet a blob
	 * or the layout's own files. Matched to the unfinished layers in
	 * order: skopeo starts layers in the manifest's order, several at once,
	 * so a byte count is exact for a single layer and an estimate else. */
	long long sizes[16];
	size_t n_tmp = 0;
	int dirs[2] = { w->layout_fd, w->blobs_fd };
	for (int k = 0; k < 2 && !final; k++) {
		int fd = openat(dirs[k], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;
		if (!d) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((de = readdir(d)) && n_tmp < ARRAY_SIZE(sizes)) {
			if (de->d_name[0] == '.' || streq(de->d_name, "oci-layout") ||
			    streq(de->d_name, "index.json") || streq(de->d_name, "blobs") ||
			    is_blob_name(de->d_name))
				continue;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				sizes[n_tmp++] = st.st_size;
		}
		closedir(d);
	}
	for (size_t i = 0, t = 0; i < w->n; i++) {
		ps_pull_layer *l = &w->layers[i];
		if (l->state == PS_LAYER_DONE || l->state == PS_LAYER_STORED)
			continue;
		if (t < n_tmp) {
			l->state = PS_LAYER_COPYING;
			l->done = sizes[t++];
			if (l->size > 0 && l->done > l->size)
				l->done = l->size;
		} else {
			l->state = PS_LAYER_WAITING;
			l->done = 0;
		}
	}
	w->o->progress(w->layers, w->n, final, w->o->progress_data);
}

/* --- the pull --------------------------------------------------------------------- */

/* Hard-link the store's blobs the manifest names into the layout, so skopeo
 * finds them there and copies only the rest. Returns how many layers. */
static size_t seed_blobs(ps_store *s, int blobs_fd, ps_pull_layer *layers, size_t n,
                         const char *config_hex)
{
	int images = ps_store_images_fd(s, NULL);
	_cleanup_close_ int store_blobs = images >= 0 ?
		openat(images, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	size_t seeded = 0;

	if (store_blobs < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (linkat(store_blobs, layers[i].digest + 7, blobs_fd, layers[i].digest + 7, 0) == 0) {
			layers[i].state = PS_LAYER_STORED;
			layers[i].done = layers[i].size;
			seeded++;
		}
	if (*config_hex)
		if (linkat(store_blobs, config_hex, blobs_fd, config_hex, 0) < 0) {
			/* not stored: skopeo copies it */
		}
	return seeded;
}

int ps_image_pull(ps_store *s, const char *ref, const ps_image_pull_opts *opts, ps_image **ret,
                  ps_pull_info *ret_info, ps_error **err)
{
	struct ref rf = { 0 };
	_cleanup_free_ char *skopeo = NULL, *raw = NULL, *raw2 = NULL, *dir = NULL;
	_cleanup_free_ char *layout = NULL, *dest = NULL, *blobs_rel = NULL, *layout_rel = NULL;
	_cleanup_free_ char *scratch = NULL;
	json_object *m = NULL, *m2 = NULL;
	ps_pull_layer *layers = NULL;
	ps_pull_info info = { 0 };
	char src_hex[PS_SHA256_HEX_LEN + 1], config_hex[PS_SHA256_HEX_LEN + 1] = "", local[80];
	size_t raw_len = 0, raw2_len = 0, n_layers = 0;
	int tmp_fd = ps_store_tmp_fd(s), r;
	struct watch w = { .layout_fd = -1, .blobs_fd = -1, .o = opts };
	struct argv a = { 0 };
	struct child_out co = { 0 };
	ps_image *img = NULL;

	r = ref_parse(ref, &rf, err);
	if (r < 0)
		goto out;
	r = find_skopeo(opts, &skopeo, err);
	if (r < 0)
		goto out;

	/* 1. What would we get? */
	r = inspect_raw(skopeo, opts, rf.skopeo_ref, &raw, &raw_len, err);
	if (r < 0)
		goto out;
	{
		ps_sha256 c;
		ps_sha256_init(&c);
		ps_sha256_update(&c, raw, raw_len);
		ps_sha256_final_hex(&c, src_hex);
	}
	m = json_tokener_parse(raw);
	if (!m) {
		r = ps_error_set(err, PS_ERR_FAILED, EBADMSG, "the manifest is not JSON");
		goto out;
	}
	if (ps_json_get(m, "manifests")) {
		const char *child = pick_platform(m, opts ? opts->platform : NULL);
		if (!child) {
			r = ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no image for %s",
			                 opts && opts->platform ? opts->platform : "this platform");
			goto out;
		}
		memcpy(src_hex, child, sizeof(src_hex));
		if (rf.repo) {
			_cleanup_free_ char *cref = ps_strdup_printf("%s@sha256:%s", rf.repo, src_hex);
			if (!cref) {
				r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pull");
				goto out;
			}
			r = inspect_raw(skopeo, opts, cref, &raw2, &raw2_len, err);
			if (r < 0)
				goto out;
			m2 = json_tokener_parse(raw2);
		}
	}
	snprintf(info.source_digest, sizeof(info.source_digest), "sha256:%s", src_hex);
	if (layers_from(m2 ? m2 : ps_json_get(m, "manifests") ? NULL : m, &layers, &n_layers,
	                config_hex) < 0) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pull");
		goto out;
	}
	info.n_layers = n_layers;

	/* Stored already: only the name is new. */
	if (stored_image(s, src_hex, local)) {
		r = ps_image_tag(s, local, rf.name, err);
		if (r >= 0)
			r = ps_image_resolve(s, local, &img, err);
		if (r < 0)
			goto out;
		info.up_to_date = true;
		info.layers_reused = n_layers;
		goto done;
	}

	/* 2. A layout in tmp/, seeded with what the store has. */
	dir = ps_strdup_printf("pull-%llx.%d", (unsigned long long)ps_monotonic_ns(), (int)getpid());
	if (!dir || mkdirat(tmp_fd, dir, 0700) < 0) {
		r = dir ? ps_error_errno(err, "create tmp/%s", dir)
		        : ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pull");
		free(TAKE_PTR(dir));
		goto out;
	}
	layout = ps_strdup_printf("%s/tmp/%s/oci", ps_store_path(s), dir);
	dest = ps_strdup_printf("oci:%s", layout ? layout : "");
	blobs_rel = ps_strdup_printf("%s/oci/blobs/sha256", dir);
	layout_rel = ps_strdup_printf("%s/oci", dir);
	scratch = ps_strdup_printf("%s/tmp/%s", ps_store_path(s), dir);
	if (!layout || !dest || !blobs_rel || !layout_rel || !scratch) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pull");
		goto out;
	}
	{
		_cleanup_free_ char *blobs_top = ps_strdup_printf("%s/oci/blobs", dir);
		const char *mk[] = { layout_rel, blobs_top, blobs_rel };
		for (size_t i = 0; i < ARRAY_SIZE(mk); i++) {
			int k = mk[i] ? ps_mkdirat_p(tmp_fd, mk[i], 0700) : -ENOMEM;
			if (k < 0) {
				r = ps_error_set(err, PS_ERR_FAILED, -k, "create tmp/%s", blobs_rel);
				goto out;
			}
		}
	}
	w.layout_fd = openat(tmp_fd, layout_rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	w.blobs_fd = openat(tmp_fd, blobs_rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (w.layout_fd < 0 || w.blobs_fd < 0) {
		r = ps_error_errno(err, "open tmp/%s", layout_rel);
		goto out;
	}
	info.layers_reused = seed_blobs(s, w.blobs_fd, layers, n_layers, config_hex);
	w.layers = layers;
	w.n = n_layers;

	/* skopeo copy. By digest when the tag could have moved since we looked. */
	argv_add(&a, "%s", skopeo);
	r = add_platform(&a, opts ? opts->platform : NULL, err);
	if (r < 0)
		goto out;
	argv_add(&a, "copy");
	argv_add(&a, "--quiet");
	add_source_opts(&a, opts, "src-");
	if (rf.repo)
		argv_add(&a, "%s@sha256:%s", rf.repo, src_hex);
	else
		argv_add(&a, "%s", rf.skopeo_ref);
	argv_add(&a, "%s", dest);
	if (a.oom) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "pull");
		goto out;
	}
	watch_scan(&w, false);
	r = run_skopeo(a.v, false, 0, scratch, &w, &co, err);
	if (r < 0)
		goto out;
	if (co.status != 0) {
		r = skopeo_error(&co, err);
		goto out;
	}
	w.last_ns = 0;
	watch_scan(&w, true);
	for (size_t i = 0; i < n_layers; i++)
		if (layers[i].state != PS_LAYER_STORED)
			info.bytes_transferred += layers[i].size;

	/* 3. Verify and keep. */
	ps_image_import_opts io = {
		.name = rf.name,
		.progress = opts ? opts->import_progress : NULL,
		.progress_data = opts ? opts->import_progress_data : NULL,
	};
	r = ps_image_import(s, layout, &io, &img, err);
	if (r < 0)
		goto out;
	record_pulled(s, src_hex, img->digest);
done:
	if (ret_info)
		*ret_info = info;
	if (ret)
		*ret = TAKE_PTR(img);
	r = 0;
out:
	if (w.layout_fd >= 0)
		close(w.layout_fd);
	if (w.blobs_fd >= 0)
		close(w.blobs_fd);
	if (dir)
		ps_rm_rf_at(tmp_fd, dir);
	argv_free(&a);
	free(layers);
	free(co.out);
	json_object_put(m);
	json_object_put(m2);
	ps_image_free(img);
	ref_clear(&rf);
	if (r < 0)
		ps_error_prefix(err, r, "pull %s", ref);
	return r;
}
