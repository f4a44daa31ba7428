/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ps_gc() and ps_pod_remove() on fixture pods. */
#include <fcntl.h>
#include <sys/stat.h>

#include "fixture.h"
#include "util.h"

#define HOUR_NS (3600LL * 1000000000LL)
#define HOUR_MS (3600LL * 1000LL)

static bool pod_in(struct fx *f, ps_pod_dir dir, const char *uuid)
{
	struct stat st;

	return fstatat(ps_store_dir_fd(f->store, dir), uuid, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool pod_anywhere(struct fx *f, const char *uuid)
{
	for (int d = 0; d < PS_DIR_COUNT; d++)
		if (pod_in(f, (ps_pod_dir)d, uuid))
			return true;
	return false;
}

static int pod_fd(struct fx *f, ps_pod_dir dir, const char *uuid)
{
	int fd = openat(ps_store_dir_fd(f->store, dir), uuid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* An exited pod (in run/, unlocked) whose exit marker says it exited at t. */
static void make_exited(struct fx *f, long long t, char uuid[PS_UUID_LEN + 1])
{
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	int fd = pod_fd(f, PS_DIR_RUN, uuid);
	ps_exit_marker m = { .code = 0, .reason = "ok", .time_ns = t };
	assert_int_equal(ps_exit_marker_write(fd, &m, false, &err), 0);
	close(fd);
}

/* A prepared pod whose info marker says it was created at t. */
static void make_prepared(struct fx *f, long long t, char uuid[PS_UUID_LEN + 1])
{
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_PREPARED, uuid);
	int fd = pod_fd(f, PS_DIR_PREPARED, uuid);
	assert_int_equal(ps_info_write(fd, &(ps_info){ .name = "p", .created_ns = t }, &err), 0);
	close(fd);
}

static ps_gc_report run_gc(struct fx *f, long long grace_ms, long long expire_ms, bool mark_only)
{
	ps_gc_opts o = { .grace_period_ms = grace_ms, .expire_prepared_ms = expire_ms,
		         .mark_only = mark_only };
	ps_gc_report rep;
	ps_error *err = NULL;

	memset(&rep, 0xff, sizeof(rep));
	assert_int_equal(ps_gc(f->store, &o, &rep, &err), 0);
	assert_null(err);
	return rep;
}

/* Pretend gc marked the pod at t. */
static void set_marked(struct fx *f, const char *uuid, long long t)
{
	ps_error *err = NULL;
	int fd = pod_fd(f, PS_DIR_EXITED_GARBAGE, uuid);

	assert_int_equal(ps_gc_mark_write(fd, t, &err), 0);
	close(fd);
}

/* rkt's lifecycle: the first gc marks every exited pod, whatever its exit
 * time; a gc deletes it once it has been marked for the grace period. */
static void mark_then_remove_after_grace(void **state)
{
	struct fx *f = *state;
	char old[PS_UUID_LEN + 1], fresh[PS_UUID_LEN + 1];
	long long now = ps_now_ns(), marked = 0;
	ps_error *err = NULL;

	make_exited(f, now - 2 * HOUR_NS, old);
	make_exited(f, now, fresh);
	ps_gc_report rep = run_gc(f, HOUR_MS, 24 * HOUR_MS, false);
	assert_true(pod_in(f, PS_DIR_EXITED_GARBAGE, old));
	assert_true(pod_in(f, PS_DIR_EXITED_GARBAGE, fresh));
	assert_int_equal(rep.marked, 2);
	assert_int_equal(rep.removed, 0);
	int fd = pod_fd(f, PS_DIR_EXITED_GARBAGE, fresh);
	assert_int_equal(ps_gc_mark_read(fd, &marked, &err), 0);
	close(fd);
	assert_true(marked >= now && marked <= ps_now_ns());

	/* Within the grace period nothing more happens. */
	rep = run_gc(f, HOUR_MS, 24 * HOUR_MS, false);
	assert_int_equal(rep.marked + rep.removed, 0);

	set_marked(f, old, now - 2 * HOUR_NS);
	rep = run_gc(f, HOUR_MS, 24 * HOUR_MS, false);
	assert_false(pod_anywhere(f, old));
	assert_true(pod_in(f, PS_DIR_EXITED_GARBAGE, fresh));
	assert_int_equal(rep.marked, 0);
	assert_int_equal(rep.removed, 1);

	/* A grace of 0 removes at once, an exited pod too. */
	char third[PS_UUID_LEN + 1];
	make_exited(f, now, third);
	rep = run_gc(f, 0, 24 * HOUR_MS, false);
	assert_false(pod_anywhere(f, fresh));
	assert_false(pod_anywhere(f, third));
	assert_int_equal(rep.marked, 1);
	assert_int_equal(rep.removed, 2);
}

/* A mark lost (no marker): the move's ctime stands for it. */
static void mark_without_marker(void **state)
{
	struct fx *f = *state;
	char u[PS_UUID_LEN + 1];

	fx_make_pod(f, PS_DIR_EXITED_GARBAGE, u);
	ps_gc_report rep = run_gc(f, HOUR_MS, 24 * HOUR_MS, false);
	assert_true(pod_in(f, PS_DIR_EXITED_GARBAGE, u));
	assert_int_equal(rep.removed, 0);
	rep = run_gc(f, 0, 24 * HOUR_MS, false);
	assert_false(pod_anywhere(f, u));
}

struct seen {
	char line[16][64];
	int n;
};

static void record(const char *uuid, ps_gc_action action, const char *what, void *userdata)
{
	struct seen *s = userdata;
	if (s->n < 16)
		snprintf(s->line[s->n++], sizeof(s->line[0]), "%d %.8s %s", (int)action, uuid,
		         what ? what : "-");
}

/* on_pod hears of every pod, once per action, in order. */
static void tells_each_pod(void **state)
{
	struct fx *f = *state;
	char x[PS_UUID_LEN + 1], p[PS_UUID_LEN + 1];
	struct seen seen = { 0 };
	char want[64];
	ps_error *err = NULL;

	make_exited(f, ps_now_ns(), x);
	make_prepared(f, ps_now_ns() - 48 * HOUR_NS, p);
	ps_gc_opts o = { .grace_period_ms = 0, .expire_prepared_ms = 24 * HOUR_MS,
		         .on_pod = record, .userdata = &seen };
	ps_gc_report rep;
	assert_int_equal(ps_gc(f->store, &o, &rep, &err), 0);
	assert_int_equal(seen.n, 4);
	for (int i = 0; i < 2; i++) {
		const char *u = i == 0 ? x : p;
		int k = -1;
		for (int j = 0; j < seen.n; j++)
			if (strncmp(seen.line[j] + 2, u, 8) == 0) {
				k = j;
				break;
			}
		assert_true(k >= 0 && k + 1 < seen.n);
		snprintf(want, sizeof(want), "%d %.8s %s", PS_GC_MARKED, u, i == 0 ? "exited" : "prepared");
		assert_string_equal(seen.line[k], want);
		snprintf(want, sizeof(want), "%d %.8s -", PS_GC_REMOVED, u);
		assert_string_equal(seen.line[k + 1], want);
	}
	assert_int_equal(rep.failed, 0);
}

static void expire_prepared_by_created(void **state)
{
	struct fx *f = *state;
	char old[PS_UUID_LEN + 1], fresh[PS_UUID_LEN + 1];
	long long now = ps_now_ns();

	make_prepared(f, now - 48 * HOUR_NS, old);
	make_prepared(f, now - HOUR_NS, fresh);
	ps_gc_report rep = run_gc(f, 0, 24 * HOUR_MS, false);
	assert_false(pod_anywhere(f, old));
	assert_true(pod_in(f, PS_DIR_PREPARED, fresh));
	assert_int_equal(rep.marked, 1);
	assert_int_equal(rep.removed, 1);
}

static void skips_locked(void **state)
{
	struct fx *f = *state;
	char running[PS_UUID_LEN + 1], preparing[PS_UUID_LEN + 1], deleting[PS_UUID_LEN + 1],
		xdeleting[PS_UUID_LEN + 1];

	make_exited(f, ps_now_ns() - 2 * HOUR_NS, running);
	fx_make_pod(f, PS_DIR_PREPARE, preparing);
	fx_make_pod(f, PS_DIR_GARBAGE, deleting);
	fx_make_pod(f, PS_DIR_EXITED_GARBAGE, xdeleting);
	pid_t h[4] = {
		fx_hold_lock(f, running, PS_DIR_RUN),
		fx_hold_lock(f, preparing, PS_DIR_PREPARE),
		fx_hold_lock(f, deleting, PS_DIR_GARBAGE),
		fx_hold_lock(f, xdeleting, PS_DIR_EXITED_GARBAGE),
	};
	ps_gc_report rep = run_gc(f, 0, 0, false);
	assert_true(pod_in(f, PS_DIR_RUN, running));
	assert_true(pod_in(f, PS_DIR_PREPARE, preparing));
	assert_true(pod_in(f, PS_DIR_GARBAGE, deleting));
	assert_true(pod_in(f, PS_DIR_EXITED_GARBAGE, xdeleting));
	/* Running and preparing pods are not garbage; locked garbage is skipped. */
	assert_int_equal(rep.skipped, 2);
	assert_int_equal(rep.marked, 0);
	assert_int_equal(rep.removed, 0);
	for (int i = 0; i < 4; i++)
		fx_release(h[i]);
	/* Their holders died: all of it is garbage now. */
	rep = run_gc(f, 0, 0, false);
	assert_int_equal(rep.removed, 4);
	assert_int_equal(rep.skipped, 0);
	for (int d = 0; d < PS_DIR_COUNT; d++) {
		char *names[] = { running, preparing, deleting, xdeleting };
		for (int i = 0; i < 4; i++)
			assert_false(pod_in(f, (ps_pod_dir)d, names[i]));
	}
}

static void collects_embryos_and_aborted(void **state)
{
	struct fx *f = *state;
	char e[PS_UUID_LEN + 1], a[PS_UUID_LEN + 1];

	fx_make_pod(f, PS_DIR_EMBRYO, e);
	fx_make_pod(f, PS_DIR_PREPARE, a);
	int fd = pod_fd(f, PS_DIR_PREPARE, a);
	assert_int_equal(mkdirat(fd, "apps", 0700), 0);
	close(fd);
	ps_gc_report rep = run_gc(f, 30 * 60 * 1000LL, 24 * HOUR_MS, false);
	assert_false(pod_anywhere(f, e));
	assert_false(pod_anywhere(f, a));
	assert_int_equal(rep.marked, 2);
	assert_int_equal(rep.removed, 2);
}

static void mark_only(void **state)
{
	struct fx *f = *state;
	char x[PS_UUID_LEN + 1], p[PS_UUID_LEN + 1], m[PS_UUID_LEN + 1];

	make_exited(f, ps_now_ns() - 2 * HOUR_NS, x);
	make_prepared(f, ps_now_ns() - 48 * HOUR_NS, p);
	fx_make_pod(f, PS_DIR_EXITED_GARBAGE, m);
	set_marked(f, m, ps_now_ns() - 2 * HOUR_NS);
	ps_gc_report rep = run_gc(f, 0, 24 * HOUR_MS, true);
	/* Exited pods are marked into exited-garbage, expired prepared ones go to
	 * garbage, and a pod marked long ago stays where it is. */
	assert_true(pod_in(f, PS_DIR_EXITED_GARBAGE, x));
	assert_true(pod_in(f, PS_DIR_GARBAGE, p));
	assert_true(pod_in(f, PS_DIR_EXITED_GARBAGE, m));
	assert_int_equal(rep.marked, 2);
	assert_int_equal(rep.removed, 0);
	/* Contents intact until a real gc. */
	int fd = pod_fd(f, PS_DIR_EXITED_GARBAGE, x);
	assert_int_equal(faccessat(fd, PS_FILE_EXIT, F_OK, 0), 0);
	close(fd);
	rep = run_gc(f, 0, 24 * HOUR_MS, false);
	assert_int_equal(rep.marked, 0);
	assert_int_equal(rep.removed, 3);
	assert_false(pod_anywhere(f, x));
}

static void tmp_leftovers(void **state)
{
	struct fx *f = *state;
	int t = ps_store_tmp_fd(f->store);
	ps_error *err = NULL;
	struct timespec old[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };

	assert_int_equal(ps_write_file_at(t, "old", "x", 1, 0644, 0, &err), 0);
	assert_int_equal(ps_write_file_at(t, "fresh", "x", 1, 0644, 0, &err), 0);
	assert_int_equal(utimensat(t, "old", old, 0), 0);
	ps_gc_report rep = run_gc(f, 0, 0, false);
	assert_int_equal(rep.tmp_removed, 1);
	assert_true(faccessat(t, "old", F_OK, 0) < 0);
	assert_int_equal(faccessat(t, "fresh", F_OK, 0), 0);
}

static void remove_refusals(void **state)
{
	struct fx *f = *state;
	char running[PS_UUID_LEN + 1], preparing[PS_UUID_LEN + 1], exited[PS_UUID_LEN + 1],
		deleting[PS_UUID_LEN + 1], prepared[PS_UUID_LEN + 1];
	ps_error *err = NULL;

	make_exited(f, ps_now_ns(), running);
	make_exited(f, ps_now_ns(), exited);
	make_prepared(f, ps_now_ns(), prepared);
	fx_make_pod(f, PS_DIR_PREPARE, preparing);
	fx_make_pod(f, PS_DIR_GARBAGE, deleting);
	pid_t h[3] = {
		fx_hold_lock(f, running, PS_DIR_RUN),
		fx_hold_lock(f, preparing, PS_DIR_PREPARE),
		fx_hold_lock(f, deleting, PS_DIR_GARBAGE),
	};
	const char *busy[] = { running, preparing, deleting };
	for (int i = 0; i < 3; i++) {
		assert_true(ps_pod_remove(f->store, busy[i], &err) < 0);
		assert_non_null(err);
		assert_int_equal(err->kind, PS_ERR_BUSY);
		assert_non_null(strstr(err->msg, busy[i]));
		ps_error_free(&err);
	}
	assert_true(pod_in(f, PS_DIR_RUN, running));
	assert_true(pod_in(f, PS_DIR_PREPARE, preparing));
	assert_true(pod_in(f, PS_DIR_GARBAGE, deleting));

	assert_true(ps_pod_remove(f->store, "00000000-0000-4000-8000-000000000000", &err) < 0);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
	assert_true(ps_pod_remove(f->store, "../run", &err) < 0);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);

	/* Exited and prepared pods go, by full uuid or prefix. */
	assert_int_equal(ps_pod_remove(f->store, exited, &err), 0);
	assert_false(pod_anywhere(f, exited));
	char prefix[9];
	memcpy(prefix, prepared, 8);
	prefix[8] = '\0';
	assert_int_equal(ps_pod_remove(f->store, prefix, &err), 0);
	assert_false(pod_anywhere(f, prepared));
	assert_null(err);
	for (int i = 0; i < 3; i++)
		fx_release(h[i]);
	/* Once the holders are gone these go too. */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ps_pod_remove(f->store, busy[i], &err), 0);
		assert_false(pod_anywhere(f, busy[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(mark_then_remove_after_grace, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(mark_without_marker, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(tells_each_pod, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(expire_prepared_by_created, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(skips_locked, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(collects_embryos_and_aborted, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(mark_only, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(tmp_leftovers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(remove_refusals, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
