/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * apps/<name>/ and apps/<name>/image: the one writer and reader of the
 * app image file (include/podstore/app.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include <podstore/app.h>
#include <podstore/fileio.h>
#include <podstore/markers.h>

#include "applog.h"
#include "util.h"

#define APP_IMAGE_MAX (256 * 1024)
#define TREES_PREFIX "images/trees/"

int ps_apps_dir_open(int pod_fd, ps_error **err)
{
	int fd = openat(pod_fd, PS_DIR_APPS, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ps_error_set(err, errno == ENOENT ? PS_ERR_NOT_FOUND : PS_ERR_FAILED, errno,
		                    "open %s", PS_DIR_APPS);
	return fd;
}

int ps_app_dir_open(int pod_fd, const char *name, ps_error **err)
{
	if (!name || !ps_name_is_valid(name, 64))
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "bad app name %s", name ? name : "(null)");
	_cleanup_close_ int apps = ps_apps_dir_open(pod_fd, err);
	if (apps < 0)
		return apps;
	int fd = openat(apps, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ps_error_set(err, errno == ENOENT ? PS_ERR_NOT_FOUND : PS_ERR_FAILED, errno,
		                    "no app %s", name);
	return fd;
}

/* A layer path as prepare writes it: a tree under images/trees/ (relative to
 * the data dir) or a rootfs dir used in place (absolute, resolved), with no
 * ".." component and nothing an overlay option string could misread. */
static bool layer_path_ok(const char *p)
{
	if (p[0] != '/' && (strncmp(p, TREES_PREFIX, strlen(TREES_PREFIX)) != 0 || !p[strlen(TREES_PREFIX)]))
		return false;
	if (strpbrk(p, ",:\\\n"))
		return false;
	for (const char *c = p; *c;) {
		size_t l = strcspn(c, "/");
		if (l == 2 && c[0] == '.' && c[1] == '.')
			return false;
		c += l;
		c += strspn(c, "/");
	}
	return true;
}

int ps_app_image_write(int app_fd, const ps_app_image *img, ps_error **err)
{
	json_object *o = json_object_new_object(), *layers = json_object_new_array();
	int r;

	if (!o || !layers || !img->image) {
		json_object_put(o);
		json_object_put(layers);
		return ps_error_set(err, PS_ERR_FAILED, img->image ? ENOMEM : EINVAL, "write image");
	}
	json_object_object_add(o, "image", json_object_new_string(img->image));
	json_object_object_add(o, "digest", img->digest ? json_object_new_string(img->digest) : NULL);
	for (char **l = img->layers; !img->copied && l && *l; l++) {
		if (!layer_path_ok(*l)) {
			json_object_put(o);
			json_object_put(layers);
			return ps_error_set(err, PS_ERR_INVALID, EINVAL, "write image: bad layer path %s", *l);
		}
		json_object_array_add(layers, json_object_new_string(*l));
	}
	json_object_object_add(o, "layers", layers);
	if (img->copied)
		json_object_object_add(o, "rootfs", json_object_new_string("copy"));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
	r = s ? ps_write_file_at(app_fd, PS_FILE_APP_IMAGE, s, strlen(s), 0644, PS_WRITE_SYNC_DATA, err)
	      : ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write image");
	json_object_put(o);
	return r;
}

void ps_app_image_free(ps_app_image *img)
{
	if (!img)
		return;
	free(img->image);
	free(img->digest);
	for (char **l = img->layers; l && *l; l++)
		free(*l);
	free(img->layers);
	free(img);
}

static int bad(ps_error **err, const char *what)
{
	return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "read %s: %s", PS_FILE_APP_IMAGE, what);
}

int ps_app_image_read(int app_fd, ps_app_image **ret, ps_error **err)
{
	_cleanup_free_ char *buf = NULL;
	json_object *o, *v, *layers;
	int r;

	r = ps_read_file_at(app_fd, PS_FILE_APP_IMAGE, APP_IMAGE_MAX, &buf, NULL, err);
	if (r == -ENOENT)
		return ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "read %s", PS_FILE_APP_IMAGE);
	if (r < 0)
		return r;
	o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return bad(err, "not a JSON object");
	}
	ps_app_image *img = calloc(1, sizeof(*img));
	if (!img) {
		json_object_put(o);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read %s", PS_FILE_APP_IMAGE);
	}
	r = 0;
	if (json_object_object_get_ex(o, "image", &v) && json_object_is_type(v, json_type_string))
		img->image = strdup(json_object_get_string(v));
	else
		r = bad(err, "no image");
	if (r == 0 && json_object_object_get_ex(o, "digest", &v) && v) {
		if (!json_object_is_type(v, json_type_string))
			r = bad(err, "bad digest");
		else
			img->digest = strdup(json_object_get_string(v));
	}
	if (r == 0 && json_object_object_get_ex(o, "rootfs", &v) &&
	    streq(json_object_get_string(v) ?: "", "copy"))
		img->copied = true;
	size_t n = 0;
	if (r == 0) {
		if (!json_object_object_get_ex(o, "layers", &layers) ||
		    !json_object_is_type(layers, json_type_array))
			r = bad(err, "no layers");
		else
			n = json_object_array_length(layers);
	}
	if (r == 0 && !img->copied && n == 0)
		r = bad(err, "no layers");
	if (r == 0 && !(img->layers = calloc(n + 1, sizeof(char *))))
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read %s", PS_FILE_APP_IMAGE);
	for (size_t i = 0; r == 0 && i < n; i++) {
		json_object *l = json_object_array_get_idx(layers, i);
		const char *s = json_object_is_type(l, json_type_string) ? json_object_get_string(l) : NULL;
		if (!s || !layer_path_ok(s))
			r = bad(err, "bad layer path");
		else if (!(img->layers[i] = strdup(s)))
			r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read %s", PS_FILE_APP_IMAGE);
	}
	if (r == 0 && (!img->image || (img->digest == NULL && json_object_object_get_ex(o, "digest", &v) && v)))
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read %s", PS_FILE_APP_IMAGE);
	json_object_put(o);
	if (r < 0) {
		ps_app_image_free(img);
		return r;
	}
	*ret = img;
	return 0;
}

int ps_app_image_lowerdir(const ps_app_image *img, char **ret, ps_error **err)
{
	size_t n = 0, len = 1;

	if (img->copied)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "image: copied, no layers");
	for (; img->layers && img->layers[n]; n++)
		len += strlen(img->layers[n]) + 1;
	if (n == 0)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "image: no layers");
	char *s = malloc(len), *p = s;
	if (!s)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "lowerdir");
	/* overlayfs wants the top layer first; the file is bottom first */
	for (size_t i = n; i-- > 0;) {
		size_t l = strlen(img->layers[i]);
		memcpy(p, img->layers[i], l);
		p += l;
		if (i)
			*p++ = ':';
	}
	*p = '\0';
	*ret = s;
	return 0;
}

int ps_app_log_open_append(int app_fd, long long *ret_size)
{
	return ps_applog_open_append(app_fd, PS_FILE_APP_LOG, ret_size);
}

int ps_app_log_rotate(int app_fd)
{
	return ps_applog_rotate(app_fd, PS_FILE_APP_LOG, PS_FILE_APP_LOG_OLD);
}

int ps_app_log_open_read(int app_fd, bool old)
{
	return ps_applog_open_read(app_fd, old ? PS_FILE_APP_LOG_OLD : PS_FILE_APP_LOG);
}
