/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ps_image_import(): what kind of input it is, then the format's importer
 * (image-oci.c, image-docker.c, image-rootfs.c) calls back here to store
 * blobs, extract layer trees and, last, write the image's record and names.
 * Everything an import added is undone when it fails.
 */

#include "archive-dl.h"
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "extract.h"
#include <podstore/fileio.h>
#include "image-internal.h"
#include "json-util.h"
#include "strv.h"
#include "util.h"

static void image_rec_clear(struct image_rec *r)
{
	free(r->layers);
	ps_strv_free(r->blobs);
	ps_strv_free(r->names);
}

void import_rec_set_config(struct image_rec *rec, json_object *config_doc)
{
	json_object *c = ps_json_get(config_doc, "config");

	rec->config = c && json_object_is_type(c, json_type_object) ? json_object_get(c) : NULL;
}

/* --- storing blobs ----------------------------------------------------------- */

/* done and total count each input byte twice (hashed and stored, then
 * extracted); the caller is told bytes of the input, each once. */
static void progress(struct import *im)
{
	if (im->opts && im->opts->progress)
		im->opts->progress(im->done / 2, im->total / 2, im->layer, im->n_layers,
				   im->opts->progress_data);
}

/* Read all of in, hashing it, and copying it to out when out >= 0. */
static int hash_copy(struct import *im, int in, int out, char hex[PS_SHA256_HEX_LEN + 1],
		     long long *ret_size, ps_error **err)
{
	static const size_t bufsize = 1 << 20;
	_cleanup_free_ char *buf = malloc(bufsize);
	ps_sha256 c;
	long long size = 0, last = 0;

	if (!buf)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "hash");
	ps_sha256_init(&c);
	for (;;) {
		ssize_t n = read(in, buf, bufsize);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ps_error_errno(err, "read");
		}
		if (n == 0)
			break;
		ps_sha256_update(&c, buf, (size_t)n);
		if (out >= 0) {
			int r = ps_write_all(out, buf, (size_t)n);
			if (r < 0)
				return ps_error_set(err, PS_ERR_FAILED, -r, "write blob");
		}
		size += n;
		im->done += n;
		if (size - last >= (8 << 20)) {
			last = size;
			progress(im);
		}
	}
	ps_sha256_final_hex(&c, hex);
	*ret_size = size;
	return 0;
}

/*
 * Store the blob read from in under blobs/sha256/<hex>. With expect (a hex
 * digest from a manifest), a mismatch is an error and nothing is stored; a
 * blob already stored is only hashed, not copied. The new blob is written
 * into an unnamed O_TMPFILE in tmp/ and linked into place once verified, so
 * a failure or a crash leaves nothing behind.
 */
int import_store_blob(struct import *im, int in, const char *expect, long long expect_size,
		      char ret_hex[PS_SHA256_HEX_LEN + 1], long long *ret_size, ps_error **err)
{
	_cleanup_close_ int tmp = -1;
	char hex[PS_SHA256_HEX_LEN + 1], proc[64];
	long long size = 0;
	struct stat st;
	int r;

	if (!expect || fstatat(im->st.blobs_fd, expect, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		tmp = openat(ps_store_tmp_fd(im->st.s), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0400);
		if (tmp < 0)
			return ps_error_errno(err, "create a blob in tmp/");
	}
	r = hash_copy(im, in, tmp, hex, &size, err);
	if (r < 0)
		return r;
	if (expect && !streq(hex, expect))
		return ps_error_set(err, PS_ERR_INVALID, 0,
				    "blob sha256:%s: digest mismatch, the content is sha256:%s", expect,
				    hex);
	if (expect_size >= 0 && size != expect_size)
		return ps_error_set(err, PS_ERR_INVALID, 0,
				    "blob sha256:%s: size %lld, the manifest says %lld", hex, size,
				    expect_size);
	if (tmp >= 0 && fstatat(im->st.blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (fsync(tmp) < 0)
			return ps_error_errno(err, "blob sha256:%s: fsync", hex);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", tmp);
		if (linkat(AT_FDCWD, proc, im->st.blobs_fd, hex, AT_SYMLINK_FOLLOW) < 0) {
			if (errno != EEXIST)
				return ps_error_errno(err, "store blob sha256:%s", hex);
		} else if (ps_strv_push(&im->new_blobs, hex) < 0) {
			unlinkat(im->st.blobs_fd, hex, 0);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "store blob");
		}
	}
	memcpy(ret_hex, hex, sizeof(hex));
	*ret_size = size;
	return 0;
}

struct xprogress {
	struct import *im;
	long long base;
};

static void xprogress_fn(long long n, void *userdata)
{
	struct xprogress *xp = userdata;

	xp->im->done = xp->base + n;
	progress(xp->im);
}

/* Extract the layer blob <hex> into trees/sha256-<hex> unless it is there. */
static int ensure_tree(struct import *im, const char *hex, long long size, ps_error **err)
{
	_cleanup_close_ int blob = -1;
	_cleanup_free_ char *tree = ps_strdup_printf("sha256-%s", hex);
	_cleanup_free_ char *tmpname = ps_strdup_printf("tree-%s.%d", hex, (int)getpid());
	struct xprogress xp = { im, im->done };
	ps_extract_opts xo = {
		.max_bytes = im->opts ? im->opts->max_bytes : 0,
		.whiteouts = true,
		.progress = xprogress_fn,
		.progress_data = &xp,
	};
	int tmp_fd = ps_store_tmp_fd(im->st.s);
	struct stat st;
	int r;

	if (!tree || !tmpname)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "extract");
	if (fstatat(im->st.trees_fd, tree, &st, AT_SYMLINK_NOFOLLOW) == 0)
		goto done; /* the cache: extracted once, shared by every image */
	blob = openat(im->st.blobs_fd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (blob < 0)
		return ps_error_errno(err, "open blob sha256:%s", hex);
	/* One extraction per layer at a time; whoever waited finds it done. */
	while (flock(blob, LOCK_EX) < 0)
		if (errno != EINTR)
			return ps_error_errno(err, "lock blob sha256:%s", hex);
	if (fstatat(im->st.trees_fd, tree, &st, AT_SYMLINK_NOFOLLOW) == 0)
		goto done;
	ps_rm_rf_at(tmp_fd, tmpname); /* a leftover of a dead import with our pid */
	r = ps_extract_tree_at(blob, tmp_fd, tmpname, &xo, NULL, err);
	if (r < 0)
		return ps_error_prefix(err, r, "extract layer sha256:%.12s", hex);
	/* One syncfs() instead of an fsync per file: the tree is durable
	 * before its name appears. */
	if (syncfs(tmp_fd) < 0 || renameat(tmp_fd, tmpname, im->st.trees_fd, tree) < 0) {
		r = ps_error_errno(err, "publish layer sha256:%.12s", hex);
		ps_rm_rf_at(tmp_fd, tmpname);
		return r;
	}
	if (ps_strv_push(&im->new_trees, hex) < 0) {
		ps_rm_rf_at(im->st.trees_fd, tree);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "extract");
	}
	r = ps_fsync_dir_at(im->st.trees_fd, NULL, err);
	if (r < 0)
		return r;
done:
	im->done = xp.base + size;
	progress(im);
	return 0;
}

/* --- the records of an import ------------------------------------------------ */

static int write_records(struct import *im, struct image_rec *rec, ps_image **ret, ps_error **err)
{
	_cleanup_free_ char *file = ps_strdup_printf("sha256-%s.json", rec->digest_hex);
	_cleanup_json_ json_object *names = NULL;
	_cleanup_close_ int lock = -1;
	struct stat st;
	bool changed = false;
	int r;

	if (!file)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
	lock = imgstore_lock(&im->st, "names.lock", LOCK_EX, err);
	if (lock < 0)
		return lock;
	/* A re-import writes nothing: the record is content-addressed. */
	if (fstatat(im->st.index_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		_cleanup_json_ json_object *o = json_object_new_object();
		json_object *layers = json_object_new_array(), *blobs = json_object_new_array();
		char created[64], digest[80];
		const char *s;

		snprintf(digest, sizeof(digest), "sha256:%s", rec->digest_hex);
		ps_format_time(ps_now_ns(), created, sizeof(created));
		json_object_object_add(o, "digest", json_object_new_string(digest));
		json_object_object_add(o, "format", json_object_new_string(rec->format));
		for (size_t i = 0; i < rec->n_layers; i++) {
			json_object *l = json_object_new_object();
			char d[80], t[96];

			snprintf(d, sizeof(d), "sha256:%s", rec->layers[i].hex);
			snprintf(t, sizeof(t), "images/trees/sha256-%s", rec->layers[i].hex);
			json_object_object_add(l, "digest", json_object_new_string(d));
			json_object_object_add(l, "tree", json_object_new_string(t));
			json_object_object_add(l, "size", json_object_new_int64(rec->layers[i].size));
			json_object_array_add(layers, l);
		}
		json_object_object_add(o, "layers", layers);
		for (char **b = rec->blobs; b && *b; b++)
			json_object_array_add(blobs, json_object_new_string(*b));
		json_object_object_add(o, "blobs", blobs);
		if (rec->config)
			json_object_object_add(o, "config", json_object_get(rec->config));
		json_object_object_add(o, "size", json_object_new_int64(rec->size));
		json_object_object_add(o, "created", json_object_new_string(created));
		s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		r = ps_write_file_at(im->st.index_fd, file, s, strlen(s), 0600, PS_WRITE_DURABLE, err);
		if (r < 0)
			return r;
	}
	r = image_names_load(&im->st, &names, err);
	if (r < 0)
		return r;
	for (char **n = rec->names; n && *n; n++) {
		char digest[80];
		const char *old = ps_json_str(names, *n);

		snprintf(digest, sizeof(digest), "sha256:%s", rec->digest_hex);
		if (old && streq(old, digest))
			continue;
		/* A name moves to the newest image that claims it. */
		json_object_object_add(names, *n, json_object_new_string(digest));
		changed = true;
	}
	if (changed) {
		r = image_names_save(&im->st, names, err);
		if (r < 0)
			return r;
	}
	return ret ? image_load(&im->st, rec->digest_hex, names, ret, err) : 0;
}

/* Store the layers (opened through open_layer) and extract each into its tree. */
int import_layers(struct import *im, struct image_rec *rec, open_layer_fn open_layer,
			 void *ctx, ps_error **err)
{
	for (size_t i = 0; i < rec->n_layers; i++) {
		_cleanup_close_ int fd = -1;
		const char *expect = NULL;
		long long want = -1;
		int r;

		im->layer = i;
		r = open_layer(ctx, i, &fd, &expect, &want, err);
		if (r < 0)
			return r;
		r = import_store_blob(im, fd, expect, want, rec->layers[i].hex, &rec->layers[i].size, err);
		if (r < 0)
			return ps_error_prefix(err, r, "layer %zu", i + 1);
		r = ensure_tree(im, rec->layers[i].hex, rec->layers[i].size, err);
		if (r < 0)
			return r;
		if (ps_strv_push(&rec->blobs, rec->layers[i].hex) < 0)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
		rec->size += rec->layers[i].size;
	}
	return 0;
}


/* --- sniffing a file ------------------------------------------------------------ */

enum kind { KIND_ROOTFS, KIND_OCI_ARCHIVE, KIND_DOCKER_ARCHIVE };

/* Whether a top-level name could belong to an image archive's outer tar. */
static bool layout_name(const char *top)
{
	size_t n = strlen(top);
	char hex[PS_SHA256_HEX_LEN + 1];

	return !*top || streq(top, ".") || streq(top, "oci-layout") || streq(top, "index.json") ||
	       streq(top, "blobs") || streq(top, "manifest.json") || streq(top, "repositories") ||
	       (n > 5 && (streq(top + n - 5, ".json") || streq(top + n - 4, ".tar"))) ||
	       docker_hex_from_path(top, hex) || (n == PS_SHA256_HEX_LEN && ps_sha256_hex_is_valid(top));
}

/* Read headers until the kind is clear: a rootfs shows a name no image
 * archive has (bin, etc, …) within its first entries. */
static int sniff(int fd, enum kind *ret, ps_error **err)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool oci = false, docker = false;
	int r = 0;

	if (!a)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read archive");
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		r = ps_error_set(err, PS_ERR_INVALID, 0, "not an image or archive: %s",
				 archive_error_string(a));
		goto out;
	}
	*ret = KIND_ROOTFS;
	while ((r = archive_read_next_header(a, &e)) >= ARCHIVE_WARN && r != ARCHIVE_EOF) {
		char top[NAME_MAX + 1];
		const char *p = archive_entry_pathname(e) ?: "";

		while (*p == '/' || (p[0] == '.' && p[1] == '/'))
			p += *p == '/' ? 1 : 2;
		snprintf(top, sizeof(top), "%.*s", (int)strcspn(p, "/"), p);
		if (!layout_name(top))
			break;
		oci |= streq(top, "oci-layout") && !strchr(p, '/');
		docker |= streq(top, "manifest.json") && !strchr(p, '/');
	}
	if (r < ARCHIVE_WARN && r != ARCHIVE_EOF) {
		r = ps_error_set(err, PS_ERR_INVALID, 0, "read archive: %s", archive_error_string(a));
		goto out;
	}
	r = 0;
	*ret = oci ? KIND_OCI_ARCHIVE : docker ? KIND_DOCKER_ARCHIVE : KIND_ROOTFS;
out:
	archive_read_free(a);
	if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
		return ps_error_errno(err, "rewind");
	return r;
}

/* --- ps_image_import ------------------------------------------------------------ */

int ps_image_import(ps_store *s, const char *path, const ps_image_import_opts *opts,
		    ps_image **ret, ps_error **err)
{
	struct import im = { .opts = opts };
	struct image_rec rec = { 0 };
	_cleanup_close_ int lock = -1, fd = -1, staged = -1;
	_cleanup_free_ char *name = NULL, *stage = NULL;
	int tmp_fd = ps_store_tmp_fd(s);
	struct stat st;
	int r;

	r = ps_archive_load(err);
	if (r < 0)
		return r;

	im.st.blobs_fd = im.st.trees_fd = im.st.index_fd = -1;
	if (opts && opts->name) {
		r = image_normalize_name(opts->name, &name, err);
		if (r < 0)
			return r;
	}
	r = imgstore_open(s, &im.st, err);
	if (r < 0)
		goto fail;
	r = lock = imgstore_lock(&im.st, "lock", LOCK_SH, err);
	if (r < 0)
		goto fail;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY); /* a FIFO must not block */
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = ps_error_set(err, errno == ENOENT ? PS_ERR_NOT_FOUND : PS_ERR_FAILED, errno,
				 "open %s", path);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		if (faccessat(fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			r = import_oci(&im, fd, name, &rec, err);
		} else if (faccessat(fd, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			r = import_docker(&im, fd, name, &rec, err);
		} else {
			int packed = -1;
			r = import_pack_dir(&im, path, &packed, err);
			if (r >= 0)
				r = import_rootfs_fd(&im, packed, &rec, err);
		}
	} else if (S_ISREG(st.st_mode)) {
		enum kind kind = KIND_ROOTFS;

		r = sniff(fd, &kind, err);
		if (r < 0)
			goto fail;
		if (kind == KIND_ROOTFS) {
			r = import_rootfs_fd(&im, TAKE_FD(fd), &rec, err);
		} else {
			/* Unpack the outer tar (safely, like any archive) into a
			 * private staging dir, then read it as a layout dir. */
			stage = ps_strdup_printf("import-%llx.%d",
						 (unsigned long long)ps_monotonic_ns(), (int)getpid());
			if (!stage) {
				r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
				goto fail;
			}
			r = ps_extract_tree_at(fd, tmp_fd, stage, NULL, NULL, err);
			if (r < 0) {
				free(TAKE_PTR(stage));
				goto fail;
			}
			staged = openat(tmp_fd, stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (staged < 0) {
				r = ps_error_errno(err, "open %s", stage);
				goto fail;
			}
			r = kind == KIND_OCI_ARCHIVE ? import_oci(&im, staged, name, &rec, err)
						     : import_docker(&im, staged, name, &rec, err);
		}
	} else {
		r = ps_error_set(err, PS_ERR_INVALID, 0, "%s: not a file or dir", path);
	}
	if (r < 0)
		goto fail;
	if (name && ps_strv_push(&rec.names, name) < 0) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "import");
		goto fail;
	}
	r = ps_fsync_dir_at(im.st.blobs_fd, NULL, err);
	if (r >= 0)
		r = write_records(&im, &rec, ret, err);
fail:
	if (r < 0 && im.st.trees_fd >= 0) {
		for (char **h = im.new_trees; h && *h; h++) {
			_cleanup_free_ char *t = ps_strdup_printf("sha256-%s", *h);
			if (t)
				ps_rm_rf_at(im.st.trees_fd, t);
		}
		for (char **h = im.new_blobs; h && *h; h++)
			unlinkat(im.st.blobs_fd, *h, 0);
		fsync(im.st.trees_fd);
		fsync(im.st.blobs_fd);
	}
	ps_strv_free(im.new_trees);
	ps_strv_free(im.new_blobs);
	if (stage)
		ps_rm_rf_at(tmp_fd, stage);
	if (rec.config)
		json_object_put(rec.config);
	image_rec_clear(&rec);
	imgstore_close(&im.st);
	if (r < 0)
		return ps_error_prefix(err, r, "import %s", path);
	return 0;
}
