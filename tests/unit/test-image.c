/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The image store and its importers (image-*.c): OCI layout dir and tar,
 * docker-archive, rootfs tar; blob verification; names, lookup, remove, gc;
 * hostile layouts (FIFOs, symlinks, oversized JSON). Inputs are built here
 * byte by byte, so each test knows every digest it should see.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "fixture.h"
#include "sha256.h"
#include "util.h"

struct file {
	const char *path; /* "" ends a list */
	char *data;       /* owned */
	size_t len;
};

struct t {
	struct fx *f;
	char work[64];
	int work_fd;
	/* the image every test builds on */
	char *layer;      /* a tar: etc/hello */
	size_t layer_len;
	char layer_hex[PS_SHA256_HEX_LEN + 1];
	char config_hex[PS_SHA256_HEX_LEN + 1], manifest_hex[PS_SHA256_HEX_LEN + 1];
	struct file oci[8], docker[8];
};

static void hex_of(const void *data, size_t len, char out[PS_SHA256_HEX_LEN + 1])
{
	ps_sha256 c;

	ps_sha256_init(&c);
	ps_sha256_update(&c, data, len);
	ps_sha256_final_hex(&c, out);
}

static struct file file_of(const char *path, const void *data, size_t len)
{
	struct file f = { .path = path, .data = malloc(len + 1), .len = len };

	assert_non_null(f.data);
	memcpy(f.data, data, len);
	f.data[len] = '\0';
	return f;
}

static struct file file_printf(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static struct file file_printf(const char *path, const char *fmt, ...)
{
	struct file f = { .path = path };
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&f.data, fmt, ap) >= 0);
	va_end(ap);
	f.len = strlen(f.data);
	return f;
}

/* A tar in memory of the files (dirs made implicitly by the extractor). */
static char *tar_of(const struct file *files, size_t *ret_len)
{
	struct archive *a = archive_write_new();
	size_t cap = 1 << 20, used = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (const struct file *x = files; x->path && *x->path; x++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, x->path);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)x->len);
		archive_entry_set_mtime(e, 1000000000, 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, x->data, x->len), (la_ssize_t)x->len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*ret_len = used;
	return buf;
}

static void write_at(int dfd, const char *path, const void *data, size_t len)
{
	char dir[256];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash) {
		/* make the parents, one level at a time */
		for (const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
			snprintf(dir, sizeof(dir), "%.*s", (int)(p - path), path);
			assert_int_equal(ps_mkdirat_p(dfd, dir, 0755), 0);
		}
	}
	fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ps_write_all(fd, data, len), 0);
	close(fd);
}

/* Lay files out as a dir work/<name>; returns its path in out. */
static void make_dir(struct t *t, const char *name, const struct file *files, char *out, size_t len)
{
	assert_int_equal(ps_mkdirat_p(t->work_fd, name, 0755), 0);
	int dfd = openat(t->work_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	for (const struct file *x = files; x->path && *x->path; x++)
		write_at(dfd, x->path, x->data, x->len);
	close(dfd);
	snprintf(out, len, "%s/%s", t->work, name);
}

/* Write files as a tar work/<name>; returns its path in out. */
static void make_tar(struct t *t, const char *name, const struct file *files, char *out, size_t len)
{
	size_t n;
	char *tar = tar_of(files, &n);

	write_at(t->work_fd, name, tar, n);
	free(tar);
	snprintf(out, len, "%s/%s", t->work, name);
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct file layer_files[] = { file_of("etc/hello", "hello\n", 6), { .path = "" } };
	char blob_path[3][96];

	assert_non_null(t);
	assert_int_equal(fx_setup((void **)&t->f), 0);
	snprintf(t->work, sizeof(t->work), "/var/tmp/test-image.XXXXXX");
	assert_non_null(mkdtemp(t->work));
	t->work_fd = open(t->work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->work_fd >= 0);

	t->layer = tar_of(layer_files, &t->layer_len);
	free(layer_files[0].data);
	hex_of(t->layer, t->layer_len, t->layer_hex);

	/* OCI: layout, config, manifest, index (with a ref name). */
	struct file config = file_printf(
		"", "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"],"
		    "\"Env\":[\"A=1\"],\"WorkingDir\":\"/w\"},\"rootfs\":{\"type\":\"layers\","
		    "\"diff_ids\":[\"sha256:%s\"]}}",
		t->layer_hex);
	hex_of(config.data, config.len, t->config_hex);
	struct file manifest = file_printf(
		"", "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
		    "\"digest\":\"sha256:%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
		    "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:%s\",\"size\":%zu}]}",
		t->config_hex, config.len, t->layer_hex, t->layer_len);
	hex_of(manifest.data, manifest.len, t->manifest_hex);
	snprintf(blob_path[0], sizeof(blob_path[0]), "blobs/sha256/%s", t->layer_hex);
	snprintf(blob_path[1], sizeof(blob_path[1]), "blobs/sha256/%s", t->config_hex);
	snprintf(blob_path[2], sizeof(blob_path[2]), "blobs/sha256/%s", t->manifest_hex);
	t->oci[0] = file_printf("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
	t->oci[1] = file_printf("index.json",
				"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
				"\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:%s\","
				"\"size\":%zu,\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}",
				t->manifest_hex, manifest.len);
	t->oci[2] = file_of(strdup(blob_path[0]), t->layer, t->layer_len);
	t->oci[3] = file_of(strdup(blob_path[1]), config.data, config.len);
	t->oci[4] = file_of(strdup(blob_path[2]), manifest.data, manifest.len);
	t->oci[5] = (struct file){ .path = "" };

	/* docker-archive: manifest.json, <config hex>.json, <dir>/layer.tar. */
	char cpath[96], lpath[96];
	snprintf(cpath, sizeof(cpath), "%s.json", t->config_hex);
	snprintf(lpath, sizeof(lpath), "%.12s/layer.tar", t->layer_hex);
	t->docker[0] = file_printf("manifest.json",
				   "[{\"Config\":\"%s\",\"RepoTags\":[\"example/dock:v2\"],"
				   "\"Layers\":[\"%s\"]}]",
				   cpath, lpath);
	t->docker[1] = file_of(strdup(cpath), config.data, config.len);
	t->docker[2] = file_of(strdup(lpath), t->layer, t->layer_len);
	t->docker[3] = (struct file){ .path = "" };
	free(config.data);
	free(manifest.data);
	*state = t;
	return 0;
}

static void free_files(struct file *v, size_t from_owned_path)
{
	for (size_t i = 0; v[i].path && *v[i].path; i++) {
		if (i >= from_owned_path)
			free((char *)v[i].path);
		free(v[i].data);
	}
}

static int teardown(void **state)
{
	struct t *t = *state;

	free_files(t->oci, 2);
	free_files(t->docker, 1);
	free(t->layer);
	close(t->work_fd);
	ps_rm_rf_at(AT_FDCWD, t->work);
	fx_teardown((void **)&t->f);
	free(t);
	return 0;
}

/* The count of entries in images/<sub> (blobs/sha256, trees, index). */
static int count(struct t *t, const char *sub)
{
	char path[160];
	int n = 0;
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/images/%s", t->f->path, sub);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void assert_store_empty(struct t *t)
{
	assert_int_equal(count(t, "blobs/sha256"), 0);
	assert_int_equal(count(t, "trees"), 0);
	assert_int_equal(count(t, "index"), 0);
	assert_int_equal(count(t, "../tmp"), 0); /* no staging dir left */
}

static void assert_hello(struct t *t, const ps_image *img)
{
	char path[256], buf[16] = "";
	int fd;

	assert_int_equal(img->n_layers, 1);
	snprintf(path, sizeof(path), "%s/%s/etc/hello", t->f->path, img->layers[0]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
	close(fd);
	assert_string_equal(buf, "hello\n");
}

static ps_image *import(struct t *t, const char *path, const char *name)
{
	ps_image_import_opts o = { .name = name };
	ps_image *img = NULL;
	ps_error *err = NULL;
	int r = ps_image_import(t->f->store, path, &o, &img, &err);

	if (r < 0)
		fail_msg("import %s: %s", path, err ? err->msg : "?");
	assert_null(err);
	assert_non_null(img);
	return img;
}

static void test_import_oci_dir(void **state)
{
	struct t *t = *state;
	char path[128], digest[80];
	ps_image *img, *again;

	make_dir(t, "oci", t->oci, path, sizeof(path));
	img = import(t, path, "x/oci:v1");
	snprintf(digest, sizeof(digest), "sha256:%s", t->manifest_hex);
	assert_string_equal(img->digest, digest);
	assert_hello(t, img);
	assert_non_null(img->config.cmd);
	assert_string_equal(img->config.cmd[0], "/bin/sh");
	assert_string_equal(img->config.env[0], "A=1");
	assert_string_equal(img->config.working_dir, "/w");
	assert_string_equal(img->names[0], "x/oci:v1");
	/* layer, config and manifest blobs; one tree; one record */
	assert_int_equal(count(t, "blobs/sha256"), 3);
	assert_int_equal(count(t, "trees"), 1);
	assert_int_equal(count(t, "index"), 1);

	/* Re-import: same digest, nothing new. */
	again = import(t, path, NULL);
	assert_string_equal(again->digest, img->digest);
	assert_int_equal(count(t, "blobs/sha256"), 3);
	assert_int_equal(count(t, "trees"), 1);
	ps_image_free(again);
	ps_image_free(img);
}

static void test_import_oci_tar(void **state)
{
	struct t *t = *state;
	char path[128], digest[80];
	ps_image *img;

	make_tar(t, "oci.tar", t->oci, path, sizeof(path));
	img = import(t, path, NULL);
	snprintf(digest, sizeof(digest), "sha256:%s", t->manifest_hex);
	assert_string_equal(img->digest, digest);
	assert_hello(t, img);
	assert_null(img->names[0]); /* no name asked for, no containerd name given */
	assert_int_equal(count(t, "../tmp"), 0);
	ps_image_free(img);
}

static void test_import_docker_archive(void **state)
{
	struct t *t = *state;
	char path[128], digest[80];
	ps_image *img;

	make_tar(t, "docker.tar", t->docker, path, sizeof(path));
	img = import(t, path, NULL);
	/* Docker's image id: the config's digest. */
	snprintf(digest, sizeof(digest), "sha256:%s", t->config_hex);
	assert_string_equal(img->digest, digest);
	assert_hello(t, img);
	assert_string_equal(img->names[0], "example/dock:v2"); /* from RepoTags */
	assert_string_equal(img->config.working_dir, "/w");
	ps_image_free(img);
}

static void test_import_rootfs_tar(void **state)
{
	struct t *t = *state;
	char path[128], digest[80];
	ps_image *img;

	write_at(t->work_fd, "rootfs.tar", t->layer, t->layer_len);
	snprintf(path, sizeof(path), "%s/rootfs.tar", t->work);
	img = import(t, path, "plain");
	snprintf(digest, sizeof(digest), "sha256:%s", t->layer_hex);
	assert_string_equal(img->digest, digest);
	assert_string_equal(img->names[0], "plain:latest");
	assert_hello(t, img);
	assert_null(img->config.cmd);
	ps_image_free(img);
}

static void test_blob_verification(void **state)
{
	struct t *t = *state;
	char path[128];
	ps_image *img = NULL;
	ps_error *err = NULL;
	struct file *layer = &t->oci[2];

	/* Same size, one byte changed: the digest no longer matches. */
	layer->data[layer->len - 1] ^= 1;
	make_dir(t, "bad", t->oci, path, sizeof(path));
	layer->data[layer->len - 1] ^= 1;
	assert_int_equal(ps_image_import(t->f->store, path, NULL, &img, &err), -EINVAL);
	assert_null(img);
	assert_non_null(err);
	assert_int_equal(err->kind, PS_ERR_INVALID);
	assert_non_null(strstr(err->msg, "digest mismatch"));
	ps_error_free(&err);
	/* Config and manifest were stored before the layer failed: undone. */
	assert_store_empty(t);
}

static void test_names_lookup_remove(void **state)
{
	struct t *t = *state;
	char path[128], prefix[16];
	ps_image *a, *b, *r = NULL, **list = NULL;
	ps_error *err = NULL;
	size_t n = 0;

	make_dir(t, "oci", t->oci, path, sizeof(path));
	a = import(t, path, "app:1");
	b = import(t, path, "app:2");
	assert_string_equal(a->digest, b->digest);
	assert_int_equal(ps_strv_length(b->names), 2);

	/* By name, by full digest, by a digest prefix (with and without sha256:). */
	assert_int_equal(ps_image_resolve(t->f->store, "app:1", &r, NULL), 0);
	assert_string_equal(r->digest, a->digest);
	ps_image_free(r);
	assert_int_equal(ps_image_resolve(t->f->store, a->digest, &r, NULL), 0);
	ps_image_free(r);
	snprintf(prefix, sizeof(prefix), "%.12s", t->manifest_hex);
	assert_int_equal(ps_image_resolve(t->f->store, prefix, &r, NULL), 0);
	ps_image_free(r);
	assert_int_equal(ps_image_resolve(t->f->store, "app", &r, &err), -ENOENT); /* app:latest */
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
	assert_int_equal(ps_image_list(t->f->store, &list, &n, NULL), 0);
	assert_int_equal(n, 1);
	ps_image_list_free(list, n);

	/* rm by one of two names only untags. */
	assert_int_equal(ps_image_remove(t->f->store, "app:1", false, NULL), 0);
	assert_int_equal(ps_image_resolve(t->f->store, "app:1", &r, NULL), -ENOENT);
	assert_int_equal(ps_image_resolve(t->f->store, "app:2", &r, NULL), 0);
	ps_image_free(r);
	/* By the last name, the image goes; gc then frees blobs and trees. */
	assert_int_equal(ps_image_remove(t->f->store, "app:2", false, NULL), 0);
	assert_int_equal(ps_image_resolve(t->f->store, a->digest, &r, NULL), -ENOENT);
	assert_int_equal(count(t, "index"), 0);
	assert_int_equal(count(t, "trees"), 1);
	assert_int_equal(ps_image_gc(t->f->store, NULL), 0);
	assert_store_empty(t);
	ps_image_free(a);
	ps_image_free(b);
}

/* Every hostile layout fails at once, says which file, changes nothing. */
static void expect_refused(struct t *t, const char *path, const char *says)
{
	ps_image *img = NULL;
	ps_error *err = NULL;
	long long t0 = ps_monotonic_ns();
	int r = ps_image_import(t->f->store, path, NULL, &img, &err);

	assert_true(r < 0);
	assert_null(img);
	assert_non_null(err);
	if (!strstr(err->msg, says))
		fail_msg("\"%s\" does not say \"%s\"", err->msg, says);
	ps_error_free(&err);
	assert_true(ps_monotonic_ns() - t0 < 5000000000LL);
	assert_store_empty(t);
}

static void test_hostile_layouts(void **state)
{
	struct t *t = *state;
	char path[128], big[128];
	int fd;

	make_dir(t, "fifo", t->oci, path, sizeof(path));
	assert_int_equal(unlinkat(t->work_fd, "fifo/index.json", 0), 0);
	assert_int_equal(mkfifoat(t->work_fd, "fifo/index.json", 0644), 0);
	expect_refused(t, path, "index.json: not a regular file");

	make_dir(t, "fifoblob", t->oci, path, sizeof(path));
	snprintf(big, sizeof(big), "fifoblob/blobs/sha256/%s", t->layer_hex);
	assert_int_equal(unlinkat(t->work_fd, big, 0), 0);
	assert_int_equal(mkfifoat(t->work_fd, big, 0644), 0);
	expect_refused(t, path, "not a regular file");

	make_dir(t, "link", t->oci, path, sizeof(path));
	assert_int_equal(unlinkat(t->work_fd, "link/index.json", 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", t->work_fd, "link/index.json"), 0);
	expect_refused(t, path, "index.json");

	make_dir(t, "big", t->oci, path, sizeof(path));
	fd = openat(t->work_fd, "big/index.json", O_WRONLY | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (4 << 20) + 1), 0);
	close(fd);
	expect_refused(t, path, "index.json: 4194305 bytes, more than");

	/* The same FIFO inside an oci-archive. */
	{
		struct archive *a = archive_write_new();
		struct archive_entry *e;
		size_t used = 0, cap = 1 << 16;
		char *buf = malloc(cap);

		archive_write_set_format_pax_restricted(a);
		assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
		e = archive_entry_new();
		archive_entry_set_pathname(e, "oci-layout");
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)t->oci[0].len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		archive_write_data(a, t->oci[0].data, t->oci[0].len);
		archive_entry_clear(e);
		archive_entry_set_pathname(e, "index.json");
		archive_entry_set_filetype(e, AE_IFIFO);
		archive_entry_set_perm(e, 0644);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		archive_entry_free(e);
		archive_write_close(a);
		archive_write_free(a);
		write_at(t->work_fd, "fifo.tar", buf, used);
		free(buf);
		snprintf(path, sizeof(path), "%s/fifo.tar", t->work);
		expect_refused(t, path, "index.json: not a regular file");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_import_oci_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_oci_tar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_docker_archive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_rootfs_tar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_verification, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_lookup_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_layouts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
