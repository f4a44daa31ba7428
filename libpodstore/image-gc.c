/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What pods use (their apps/<app>/image records), and so what
 * ps_image_remove() refuses to remove and ps_image_gc() keeps.
 */

#include <fcntl.h>
#include <json-c/json.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <podstore/app.h>
#include <podstore/fileio.h>
#include <podstore/log.h>
#include <podstore/markers.h>
#include <podstore/pod.h>
#include "image-internal.h"
#include "json-util.h"
#include "strv.h"
#include "util.h"

struct pod_refs {
	char **digests; /* image digests ("sha256:…") of pods */
	char **trees;   /* tree paths of pods */
	bool busy_only; /* only pods that are preparing, prepared or running */
	const char *user_of; /* a digest: name in users the pods that use it */
	char **users;        /* "3f2a1b2c (web, running)" */
	size_t n_users;
};

/* Note p in refs->users: an app of it uses refs->user_of. */
static void note_user(struct pod_refs *refs, const ps_pod *p)
{
	ps_info info = { 0 };

	refs->n_users++;
	if (refs->n_users > 5)
		return; /* "and N more" is enough */
	/* the name, unless it is the default "pod-" + uuid prefix */
	bool named = ps_info_read(p->fd, &info, NULL) == 0 && info.name &&
	             !(strncmp(info.name, "pod-", 4) == 0 && strncmp(info.name + 4, p->uuid, 8) == 0 &&
	               !info.name[12]);
	char *u = ps_strdup_printf("%.8s (%s%s%s)", p->uuid, named ? info.name : "", named ? ", " : "",
	                           ps_pod_state_name(p->state));
	if (u)
		ps_strv_push(&refs->users, u);
	free(u);
	ps_info_clear(&info);
}

static int collect_pod(ps_store *s, const char *uuid, ps_pod_dir dir, void *userdata)
{
	struct pod_refs *refs = userdata;
	_cleanup_close_ int apps = -1;
	ps_pod *p = NULL;
	DIR *d;
	struct dirent *de;
	bool uses = false;

	if (ps_pod_open(s, uuid, dir, &p, NULL) < 0)
		return 0; /* gone meanwhile */
	if (refs->busy_only && p->state != PS_STATE_PREPARING && p->state != PS_STATE_PREPARED &&
	    p->state != PS_STATE_RUNNING) {
		ps_pod_free(p);
		return 0;
	}
	apps = ps_apps_dir_open(p->fd, NULL);
	if (apps < 0 || !(d = fdopendir(apps))) {
		ps_pod_free(p);
		return 0;
	}
	apps = -1;
	while ((de = readdir(d))) {
		_cleanup_close_ int app_fd = -1;
		ps_app_image *img = NULL;

		if (de->d_name[0] == '.')
			continue;
		app_fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (app_fd < 0 || ps_app_image_read(app_fd, &img, NULL) < 0)
			continue;
		if (img->digest) {
			ps_strv_push(&refs->digests, img->digest);
			uses = uses || (refs->user_of && streq(img->digest, refs->user_of));
		}
		for (char **l = img->layers; l && *l; l++)
			ps_strv_push(&refs->trees, *l);
		ps_app_image_free(img);
	}
	closedir(d);
	if (uses)
		note_user(refs, p);
	ps_pod_free(p);
	return 0;
}

/* "a, b, c"; NULL on ENOMEM. */
static char *join(char **v)
{
	size_t len = 1;
	for (char **e = v; e && *e; e++)
		len += strlen(*e) + 2;
	char *s = calloc(1, len), *at = s;
	for (char **e = v; s && e && *e; e++)
		at += snprintf(at, len - (size_t)(at - s), "%s%s", e == v ? "" : ", ", *e);
	return s;
}

int ps_image_remove(ps_store *s, const char *ref, bool force, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = IMGSTORE_INIT;
	_cleanup_json_ json_object *names = NULL;
	_cleanup_close_ int lock = -1;
	_cleanup_free_ char *name = NULL, *file = NULL;
	char hex[PS_SHA256_HEX_LEN + 1], digest[80];
	struct pod_refs refs = { .busy_only = true };
	size_t n_names = 0;

	refs.user_of = digest;
	int r;

	r = imgstore_open_names(s, &st, "names.lock", &lock, &names, err);
	if (r < 0)
		return r;
	r = image_resolve_hex(&st, names, ref, hex, err);
	if (r < 0)
		return r;
	snprintf(digest, sizeof(digest), "sha256:%s", hex);
	json_object_object_foreach(names, k, v)
	{
		(void)k;
		if (streq(json_object_get_string(v), digest))
			n_names++;
	}
	/* By one of several names: only that name goes (an untag). */
	if (image_normalize_name(ref, &name, NULL) == 0 && ps_json_str(names, name) && n_names > 1) {
		json_object_object_del(names, name);
		return image_names_save(&st, names, err);
	}
	r = ps_walk_pods(s, PS_DIR_BIT(PS_DIR_PREPARE) | PS_DIR_BIT(PS_DIR_PREPARED) | PS_DIR_BIT(PS_DIR_RUN),
			 collect_pod, &refs, err);
	if (r >= 0 && !force && refs.n_users) {
		_cleanup_free_ char *list = join(refs.users);
		_cleanup_free_ char *more = refs.n_users > 5 ? ps_strdup_printf(" and %zu more", refs.n_users - 5) : NULL;
		r = ps_error_set(err, PS_ERR_BUSY, EBUSY, "image %s is used by %zu pod%s: %s%s (stop and rm %s, or use --force)",
				 ref, refs.n_users, refs.n_users == 1 ? "" : "s", list ? list : "?", more ? more : "",
				 refs.n_users == 1 ? "it" : "them");
	}
	ps_strv_free(refs.users);
	ps_strv_free(refs.digests);
	ps_strv_free(refs.trees);
	if (r < 0)
		return r;
	/* Names first, then the record: a crash between leaves an unnamed
	 * image, never a name pointing nowhere. */
	for (bool again = true; again;) {
		again = false;
		json_object_object_foreach(names, k2, v2)
		{
			if (streq(json_object_get_string(v2), digest)) {
				json_object_object_del(names, k2);
				again = true;
				break;
			}
		}
	}
	r = image_names_save(&st, names, err);
	if (r < 0)
		return r;
	file = ps_strdup_printf("sha256-%s.json", hex);
	if (!file)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "remove");
	if (unlinkat(st.index_fd, file, 0) < 0 && errno != ENOENT)
		return ps_error_errno(err, "remove images/index/%s", file);
	return ps_fsync_dir_at(st.index_fd, NULL, err);
}

/* Remove entries of dirfd named <prefix><hex><suffix> whose hex is not in keep. */
static int sweep(int dir_fd, const char *prefix, char **keep, ps_error **err)
{
	_cleanup_close_ int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t pl = strlen(prefix);
	int r = 0;

	if (!d)
		return ps_error_errno(err, "read image store");
	fd = -1;
	while ((de = readdir(d))) {
		const char *hex = de->d_name + pl;

		if (strncmp(de->d_name, prefix, pl) != 0 || !ps_sha256_hex_is_valid(hex) ||
		    ps_strv_contains(keep, hex))
			continue;
		r = ps_rm_rf_at(dirfd(d), de->d_name);
		if (r < 0) {
			r = ps_error_set(err, PS_ERR_FAILED, -r, "remove %s", de->d_name);
			break;
		}
	}
	closedir(d);
	return r;
}

int ps_image_gc(ps_store *s, ps_error **err)
{
	_cleanup_imgstore_ struct imgstore st = IMGSTORE_INIT;
	_cleanup_close_ int lock = -1, names_lock = -1;
	struct pod_refs refs = { .busy_only = false };
	char **hexes = NULL, **keep_blobs = NULL, **keep_trees = NULL;
	int r;

	/* No image store yet: nothing to collect, and nothing to create. */
	if (faccessat(ps_store_fd(s), "images", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return 0;
	r = imgstore_open(s, &st, err);
	if (r < 0)
		return r;
	lock = imgstore_lock(&st, "lock", LOCK_EX | LOCK_NB, err);
	if (lock == -EWOULDBLOCK) {
		/* The next gc will do it; not worth a line in a cron job's mail. */
		ps_log(PS_LOG_DEBUG, "image gc skipped: an import or prepare is in progress");
		return 0;
	}
	if (lock < 0)
		return lock;
	r = names_lock = imgstore_lock(&st, "names.lock", LOCK_EX, err);
	if (r < 0)
		return r;
	r = image_index_list(&st, &hexes, err);
	if (r < 0)
		return r;
	for (char **h = hexes; *h && r >= 0; h++) {
		_cleanup_free_ char *file = ps_strdup_printf("sha256-%s.json", *h), *data = NULL;
		_cleanup_json_ json_object *o = NULL;
		json_object *a;

		if (!file || ps_read_file_at(st.index_fd, file, IMAGE_MAX_JSON, &data, NULL, err) < 0) {
			r = file ? -EIO : ps_error_set(err, PS_ERR_FAILED, ENOMEM, "gc");
			break;
		}
		o = json_tokener_parse(data);
		a = ps_json_get(o, "blobs");
		for (size_t i = 0; a && i < json_object_array_length(a); i++)
			ps_strv_push(&keep_blobs, json_object_get_string(json_object_array_get_idx(a, i)));
		a = ps_json_get(o, "layers");
		for (size_t i = 0; a && i < json_object_array_length(a); i++) {
			const char *hex = image_digest_hex(ps_json_str(json_object_array_get_idx(a, i), "digest"));
			if (hex && ps_strv_push(&keep_trees, hex) < 0)
				r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "gc");
		}
	}
	if (r >= 0)
		r = ps_walk_pods(s, PS_DIR_BIT(PS_DIR_PREPARE) | PS_DIR_BIT(PS_DIR_PREPARED) |
					    PS_DIR_BIT(PS_DIR_RUN),
				 collect_pod, &refs, err);
	for (char **t = refs.trees; r >= 0 && t && *t; t++) {
		const char *hex = strstr(*t, "trees/sha256-");
		if (hex && ps_strv_push(&keep_trees, hex + strlen("trees/sha256-")) < 0)
			r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "gc");
	}
	if (r >= 0)
		r = sweep(st.trees_fd, "sha256-", keep_trees, err);
	if (r >= 0)
		r = sweep(st.blobs_fd, "", keep_blobs, err);
	ps_strv_free(hexes);
	ps_strv_free(keep_blobs);
	ps_strv_free(keep_trees);
	ps_strv_free(refs.digests);
	ps_strv_free(refs.trees);
	return r < 0 ? ps_error_prefix(err, r, "image gc") : 0;
}

