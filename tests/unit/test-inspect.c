/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A pod's view: ready and healthy computed in one place (inspect.c). */
#include <fcntl.h>
#include <sys/stat.h>

#include "fixture.h"
#include "util.h"

/* apps/<name>/ with a status (and an exit code when code >= 0). */
static void app_with(int pod_fd, const char *name, const char *status, int code, const char *liveness)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "apps/%s", name);
	mkdirat(pod_fd, "apps", 0755);
	assert_int_equal(mkdirat(pod_fd, rel, 0755), 0);
	int fd = ps_app_dir_open(pod_fd, name, NULL);
	assert_true(fd >= 0);
	ps_status_marker st = { .status = (char *)status, .time_ns = ps_now_ns() };
	assert_int_equal(ps_status_marker_write(fd, &st, NULL), 0);
	if (code >= 0) {
		ps_exit_marker ex = { .code = code, .time_ns = ps_now_ns() };
		assert_int_equal(ps_exit_marker_write(fd, &ex, false, NULL), 0);
	}
	if (liveness) {
		ps_health_marker h = { .liveness = (char *)liveness };
		assert_int_equal(ps_health_marker_write(fd, &h, NULL), 0);
	}
	close(fd);
}

struct running {
	char uuid[PS_UUID_LEN + 1];
	pid_t holder;
	ps_pod *p;
};

static void start_running(struct fx *f, struct running *r)
{
	fx_make_pod(f, PS_DIR_RUN, r->uuid);
	r->holder = fx_hold_lock(f, r->uuid, PS_DIR_RUN);
	assert_int_equal(ps_pod_open(f->store, r->uuid, PS_DIR_RUN, &r->p, NULL), 0);
	assert_int_equal(r->p->state, PS_STATE_RUNNING);
}

static void stop_running(struct running *r)
{
	ps_pod_free(r->p);
	fx_release(r->holder);
}

static void healthy_running(void **state)
{
	struct fx *f = *state;
	struct running r;
	ps_pod_view v;

	start_running(f, &r);
	app_with(r.p->fd, "web", "STARTED", -1, "passing");
	app_with(r.p->fd, "job", "EXITED", 0, NULL);
	assert_int_equal(ps_pod_inspect(r.p, PS_VIEW_HEALTH, &v, NULL), 0);
	assert_true(v.healthy);
	assert_null(v.unhealthy_why);
	assert_false(v.ready); /* not asked for, and no marker */
	assert_int_equal(v.n_apps, 0);
	ps_pod_view_clear(&v);

	assert_int_equal(ps_ready_marker_write(r.p->fd, ps_now_ns(), NULL), 0);
	assert_int_equal(ps_pod_inspect(r.p, PS_VIEW_RUNTIME | PS_VIEW_HEALTH, &v, NULL), 0);
	assert_true(v.ready && v.healthy);
	assert_string_equal(v.uuid, r.uuid);
	ps_pod_view_clear(&v);
	stop_running(&r);
}

/* The bug list --format=json had: healthy without looking at the apps. */
static void failed_app_unhealthy(void **state)
{
	struct fx *f = *state;
	struct running r;
	ps_pod_view v;
	bool ready, healthy;
	char *why = NULL;

	start_running(f, &r);
	app_with(r.p->fd, "web", "STARTED", -1, NULL);
	app_with(r.p->fd, "bad", "EXITED", 3, NULL);
	assert_int_equal(ps_pod_inspect(r.p, PS_VIEW_HEALTH, &v, NULL), 0);
	assert_false(v.healthy);
	assert_string_equal(v.unhealthy_why, "app bad: EXITED");
	ps_pod_view_clear(&v);
	assert_int_equal(ps_pod_health(r.p, &ready, &healthy, &why, NULL), 0);
	assert_false(healthy);
	assert_false(ready);
	assert_string_equal(why, "app bad: EXITED");
	free(why);
	stop_running(&r);
}

static void liveness_failing_unhealthy(void **state)
{
	struct fx *f = *state;
	struct running r;
	ps_pod_view v;

	start_running(f, &r);
	app_with(r.p->fd, "web", "STARTED", -1, "failing");
	assert_int_equal(ps_pod_inspect(r.p, PS_VIEW_HEALTH, &v, NULL), 0);
	assert_false(v.healthy);
	assert_string_equal(v.unhealthy_why, "app web: liveness probe failing");
	ps_pod_view_clear(&v);
	stop_running(&r);
}

static void exited_pod(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_pod *p = NULL;
	ps_pod_view v;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_RUN, &p, NULL), 0);
	assert_int_equal(p->state, PS_STATE_EXITED);
	app_with(p->fd, "web", "EXITED", 0, NULL);
	/* a ready marker a killed stage1 left behind means nothing */
	assert_int_equal(ps_ready_marker_write(p->fd, ps_now_ns(), NULL), 0);
	ps_exit_marker em = { .code = 2, .reason = "app-failed", .app = "web", .time_ns = ps_now_ns() };
	assert_int_equal(ps_exit_marker_write(p->fd, &em, false, NULL), 0);
	assert_int_equal(ps_pod_inspect(p, PS_VIEW_RUNTIME | PS_VIEW_HEALTH, &v, NULL), 0);
	assert_false(v.healthy);
	assert_false(v.ready);
	assert_true(v.have_exit);
	assert_int_equal(v.exit.code, 2);
	assert_string_equal(v.exit.reason, "app-failed");
	assert_string_equal(v.unhealthy_why, "pod is exited");
	ps_pod_view_clear(&v);
	/* only what is asked for is read */
	assert_int_equal(ps_pod_inspect(p, PS_VIEW_INFO, &v, NULL), 0);
	assert_false(v.have_exit);
	assert_null(v.unhealthy_why);
	ps_pod_view_clear(&v);
	ps_pod_free(p);
}

static void no_manifest_no_apps(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_pod *p = NULL;
	ps_pod_view v;
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_EMBRYO, uuid);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_EMBRYO, &p, NULL), 0);
	assert_int_equal(ps_pod_inspect(p, PS_VIEW_ALL, &v, &err), 0);
	assert_int_equal(v.n_apps, 0);
	ps_pod_view_clear(&v);
	ps_pod_free(p);
	/* a prepared pod without its manifest is an error */
	fx_make_pod(f, PS_DIR_PREPARED, uuid);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_PREPARED, &p, NULL), 0);
	assert_true(ps_pod_inspect(p, PS_VIEW_APPS, &v, &err) < 0);
	assert_non_null(err);
	ps_error_free(&err);
	ps_pod_free(p);
}

/* ps_pod_peek_cached: with an empty cache, with a saved one, and with one
 * whose entry a marker replaced since (as the library writes: by rename). */
static void peek_cached(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_flocks *held = NULL;
	ps_peek_cache *c = NULL;
	ps_pod_view v;
	unsigned what = PS_VIEW_INFO | PS_VIEW_RUNTIME;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	int fd = openat(ps_store_dir_fd(f->store, PS_DIR_RUN), uuid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ps_info_write(fd, &(ps_info){ .name = (char *)"one", .created_ns = 7 }, NULL), 0);
	ps_exit_marker ex = { .code = 3, .reason = (char *)"app-failed", .app = (char *)"w\"eb", .time_ns = 9 };
	assert_int_equal(ps_exit_marker_write(fd, &ex, false, NULL), 0);
	assert_int_equal(ps_flocks_load(f->store, &held, NULL), 0);

	/* Changed just now: read, not kept, nothing to save. */
	assert_int_equal(ps_peek_cache_load(f->store, &c, NULL), 0);
	assert_int_equal(ps_pod_peek_cached(f->store, uuid, PS_DIR_RUN, held, c, what, &v, NULL), 0);
	assert_string_equal(v.info.name, "one");
	ps_pod_view_clear(&v);
	assert_int_equal(ps_peek_cache_save(f->store, c, NULL), 0);
	ps_peek_cache_free(c);

	/* Settled: kept and saved; the next load answers from the file. */
	usleep(1100 * 1000);
	assert_int_equal(ps_peek_cache_load(f->store, &c, NULL), 0);
	assert_int_equal(ps_pod_peek_cached(f->store, uuid, PS_DIR_RUN, held, c, what, &v, NULL), 0);
	ps_pod_view_clear(&v);
	assert_int_equal(ps_peek_cache_save(f->store, c, NULL), 1);
	ps_peek_cache_free(c);
	/* A marker changed in place (not as the library writes it) leaves the
	 * dir as it was: only then is the cached view what a load shows. */
	int ifd = openat(fd, PS_FILE_INFO, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(ifd >= 0);
	assert_true(write(ifd, "{\"name\":\"two\"}\n", 15) == 15);
	close(ifd);
	assert_int_equal(ps_peek_cache_load(f->store, &c, NULL), 0);
	assert_int_equal(ps_pod_peek_cached(f->store, uuid, PS_DIR_RUN, held, c, what, &v, NULL), 0);
	assert_int_equal(v.state, PS_STATE_EXITED);
	assert_true(v.have_info && v.have_exit && !v.have_pid);
	assert_string_equal(v.info.name, "one");
	assert_int_equal(v.info.created_ns, 7);
	assert_int_equal(v.exit.code, 3);
	assert_string_equal(v.exit.reason, "app-failed");
	assert_string_equal(v.exit.app, "w\"eb");
	assert_int_equal(v.exit.time_ns, 9);
	ps_pod_view_clear(&v);
	/* Without the cache: the markers. */
	assert_int_equal(ps_pod_peek(f->store, uuid, PS_DIR_RUN, held, what, &v, NULL), 0);
	assert_string_equal(v.info.name, "two");
	ps_pod_view_clear(&v);
	assert_int_equal(ps_peek_cache_save(f->store, c, NULL), 0); /* nothing changed */
	ps_peek_cache_free(c);

	/* Replaced by rename: seen at once. */
	assert_int_equal(ps_info_write(fd, &(ps_info){ .name = (char *)"three", .created_ns = 8 }, NULL), 0);
	assert_int_equal(ps_peek_cache_load(f->store, &c, NULL), 0);
	assert_int_equal(ps_pod_peek_cached(f->store, uuid, PS_DIR_RUN, held, c, what, &v, NULL), 0);
	assert_string_equal(v.info.name, "three");
	ps_pod_view_clear(&v);
	ps_peek_cache_free(c);
	ps_flocks_free(held);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(healthy_running, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(failed_app_unhealthy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(liveness_failing_unhealthy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(exited_pod, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(no_manifest_no_apps, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(peek_cached, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
