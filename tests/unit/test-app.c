/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* apps/<app>/ and its image file: one writer, one reader (app.c). */
#include <fcntl.h>
#include <sys/stat.h>

#include "applog.h"
#include "fixture.h"
#include "util.h"

static int scratch(struct fx *f)
{
	return ps_store_tmp_fd(f->store);
}

static void write_read_layers(void **state)
{
	struct fx *f = *state;
	char *layers[] = { "images/trees/sha256-aaa", "images/trees/sha256-bbb", NULL };
	ps_app_image in = { .image = "busybox:latest", .digest = "sha256:1234", .layers = layers };
	ps_app_image *out = NULL;
	ps_error *err = NULL;
	char *lower = NULL;

	assert_int_equal(ps_app_image_write(scratch(f), &in, &err), 0);
	assert_int_equal(ps_app_image_read(scratch(f), &out, &err), 0);
	assert_null(err);
	assert_string_equal(out->image, "busybox:latest");
	assert_string_equal(out->digest, "sha256:1234");
	assert_false(out->copied);
	assert_string_equal(out->layers[0], layers[0]);
	assert_string_equal(out->layers[1], layers[1]);
	assert_null(out->layers[2]);
	assert_int_equal(ps_app_image_lowerdir(out, &lower, &err), 0);
	assert_string_equal(lower, "images/trees/sha256-bbb:images/trees/sha256-aaa");
	free(lower);
	ps_app_image_free(out);
}

static void write_read_copied(void **state)
{
	struct fx *f = *state;
	char *layers[] = { "images/trees/sha256-aaa", NULL };
	ps_app_image in = { .image = "/some/dir", .layers = layers, .copied = true };
	ps_app_image *out = NULL;
	ps_error *err = NULL;
	char *lower = NULL;

	assert_int_equal(ps_app_image_write(scratch(f), &in, &err), 0);
	assert_int_equal(ps_app_image_read(scratch(f), &out, &err), 0);
	assert_true(out->copied);
	assert_null(out->digest);
	assert_null(out->layers[0]); /* a copy keeps no layer */
	assert_int_equal(ps_app_image_lowerdir(out, &lower, &err), -EINVAL);
	ps_error_free(&err);
	ps_app_image_free(out);
}

static void put(int dfd, const char *json)
{
	assert_int_equal(ps_write_file_at(dfd, "image", json, strlen(json), 0644, 0, NULL), 0);
}

static void read_rejects_bad(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"not json",
		"[]",
		"{\"digest\":null,\"layers\":[\"images/trees/x\"]}",
		"{\"image\":\"a\",\"layers\":[]}",
		"{\"image\":\"a\"}",
		"{\"image\":\"a\",\"layers\":[\"images/trees/x,upperdir=/\"]}",
		"{\"image\":\"a\",\"layers\":[\"images/trees/../../etc\"]}",
		"{\"image\":\"a\",\"layers\":[\"relative/elsewhere\"]}",
		"{\"image\":\"a\",\"layers\":[\"/abs/with:colon\"]}",
		"{\"image\":\"a\",\"layers\":[42]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ps_app_image *out = NULL;
		ps_error *err = NULL;
		put(scratch(f), bad[i]);
		assert_int_equal(ps_app_image_read(scratch(f), &out, &err), -EBADMSG);
		assert_null(out);
		assert_non_null(err);
		ps_error_free(&err);
	}
	/* an absolute rootfs dir used in place is fine */
	ps_app_image *out = NULL;
	put(scratch(f), "{\"image\":\"/srv/root\",\"digest\":null,\"layers\":[\"/srv/root\"]}");
	assert_int_equal(ps_app_image_read(scratch(f), &out, NULL), 0);
	assert_string_equal(out->layers[0], "/srv/root");
	ps_app_image_free(out);
}

static void read_missing(void **state)
{
	struct fx *f = *state;
	ps_app_image *out = NULL;
	ps_error *err = NULL;

	assert_int_equal(ps_app_image_read(scratch(f), &out, &err), -ENOENT);
	assert_non_null(err);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
}

static void write_rejects_bad_layer(void **state)
{
	struct fx *f = *state;
	char *layers[] = { "images/trees/a:b", NULL };
	ps_app_image in = { .image = "x", .layers = layers };
	ps_error *err = NULL;

	assert_int_equal(ps_app_image_write(scratch(f), &in, &err), -EINVAL);
	ps_error_free(&err);
	assert_true(faccessat(scratch(f), "image", F_OK, 0) < 0);
}

static void app_dirs(void **state)
{
	struct fx *f = *state;
	int dfd = scratch(f);
	ps_error *err = NULL;

	assert_int_equal(ps_apps_dir_open(dfd, &err), -ENOENT);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
	assert_int_equal(mkdirat(dfd, "apps", 0755), 0);
	assert_int_equal(mkdirat(dfd, "apps/web", 0755), 0);
	int fd = ps_app_dir_open(dfd, "web", &err);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ps_app_dir_open(dfd, "db", &err), -ENOENT);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
	assert_int_equal(ps_app_dir_open(dfd, "../apps", &err), -EINVAL);
	assert_int_equal(err->kind, PS_ERR_INVALID);
	ps_error_free(&err);
	/* a symlinked apps dir is not followed */
	assert_int_equal(renameat(dfd, "apps", dfd, "real"), 0);
	assert_int_equal(symlinkat("real", dfd, "apps"), 0);
	assert_true(ps_apps_dir_open(dfd, NULL) < 0);
}

static void app_log(void **state)
{
	struct fx *f = *state;
	int dfd = scratch(f);
	long long size = -1;
	char buf[16];

	assert_int_equal(ps_app_log_open_read(dfd, false), -ENOENT);
	int fd = ps_app_log_open_append(dfd, &size);
	assert_true(fd >= 0);
	assert_int_equal(size, 0);
	assert_int_equal(write(fd, "one\n", 4), 4);
	close(fd);
	fd = ps_app_log_open_append(dfd, &size);
	assert_int_equal(size, 4); /* appends where it was */
	close(fd);
	assert_int_equal(ps_app_log_rotate(dfd), 0);
	assert_int_equal(ps_app_log_open_read(dfd, false), -ENOENT);
	fd = ps_app_log_open_read(dfd, true);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	/* a symlinked log is not followed */
	assert_int_equal(symlinkat("/etc/passwd", dfd, PS_FILE_APP_LOG), 0);
	assert_int_equal(ps_app_log_open_read(dfd, false), -ELOOP);
	assert_int_equal(ps_app_log_open_append(dfd, &size), -ELOOP);
}

/* stage1.log through the same functions (applog.h), its own names */
static void stage1_log(void **state)
{
	struct fx *f = *state;
	int dfd = scratch(f);
	long long size = -1;

	assert_int_equal(ps_applog_open_read(dfd, PS_FILE_STAGE1_LOG), -ENOENT);
	int fd = ps_applog_open_append(dfd, PS_FILE_STAGE1_LOG, &size);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(size, 0);
	assert_int_equal(write(fd, "w\n", 2), 2);
	close(fd);
	assert_int_equal(ps_app_log_open_read(dfd, false), -ENOENT);
	assert_int_equal(ps_applog_rotate(dfd, PS_FILE_STAGE1_LOG, PS_FILE_STAGE1_LOG_OLD), 0);
	assert_int_equal(ps_applog_open_read(dfd, PS_FILE_STAGE1_LOG), -ENOENT);
	fd = ps_applog_open_read(dfd, PS_FILE_STAGE1_LOG_OLD);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlinkat("/etc/passwd", dfd, PS_FILE_STAGE1_LOG), 0);
	assert_int_equal(ps_applog_open_append(dfd, PS_FILE_STAGE1_LOG, &size), -ELOOP);
	assert_int_equal(ps_applog_open_read(dfd, PS_FILE_STAGE1_LOG), -ELOOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(write_read_layers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_read_copied, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(read_rejects_bad, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(read_missing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(write_rejects_bad_layer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(app_dirs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(app_log, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(stage1_log, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
