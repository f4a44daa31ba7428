/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* States, locks, transitions and the races between them. */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <podstore/inspect.h>

#include "fixture.h"
#include "util.h"

static void state_table(void **state)
{
	assert_int_equal(ps_pod_state_from(PS_DIR_EMBRYO, false), PS_STATE_EMBRYO);
	assert_int_equal(ps_pod_state_from(PS_DIR_PREPARE, true), PS_STATE_PREPARING);
	assert_int_equal(ps_pod_state_from(PS_DIR_PREPARE, false), PS_STATE_ABORTED_PREPARE);
	assert_int_equal(ps_pod_state_from(PS_DIR_PREPARED, true), PS_STATE_PREPARED);
	assert_int_equal(ps_pod_state_from(PS_DIR_RUN, true), PS_STATE_RUNNING);
	assert_int_equal(ps_pod_state_from(PS_DIR_RUN, false), PS_STATE_EXITED);
	assert_int_equal(ps_pod_state_from(PS_DIR_EXITED_GARBAGE, true), PS_STATE_EXITED_DELETING);
	assert_int_equal(ps_pod_state_from(PS_DIR_EXITED_GARBAGE, false), PS_STATE_EXITED_GARBAGE);
	assert_int_equal(ps_pod_state_from(PS_DIR_GARBAGE, true), PS_STATE_DELETING);
	assert_int_equal(ps_pod_state_from(PS_DIR_GARBAGE, false), PS_STATE_GARBAGE);
	assert_string_equal(ps_pod_state_name(PS_STATE_ABORTED_PREPARE), "aborted-prepare");
}

/* The state a real lookup derives, with the lock held by another process. */
static void derived_from_lock(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_error *err = NULL;
	ps_pod *p = NULL;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	assert_int_equal(ps_pod_lookup(f->store, uuid, &p, &err), 0);
	assert_int_equal(p->state, PS_STATE_EXITED);
	ps_pod_free(p);

	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	assert_int_equal(ps_pod_lookup(f->store, uuid, &p, &err), 0);
	assert_int_equal(p->state, PS_STATE_RUNNING);
	/* A held lock is busy, never waited for. */
	assert_true(ps_pod_lock(p, PS_LOCK_EXCLUSIVE, false, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_BUSY);
	ps_error_free(&err);
	fx_release(holder);
	assert_int_equal(ps_pod_refresh(p, &err), 0);
	assert_int_equal(p->state, PS_STATE_EXITED);
	ps_pod_free(p);
}

static void create_and_transitions(void **state)
{
	struct fx *f = *state;
	ps_error *err = NULL;
	ps_pod *p = NULL, *q = NULL;
	struct stat st;

	assert_int_equal(ps_pod_create(f->store, &p, &err), 0);
	assert_int_equal(p->dir, PS_DIR_PREPARE);
	assert_int_equal(p->state, PS_STATE_PREPARING);
	assert_true(ps_uuid_is_valid(p->uuid));

	/* Seen from outside while we hold it: preparing. */
	assert_int_equal(ps_pod_lookup(f->store, p->uuid, &q, &err), 0);
	assert_int_equal(q->state, PS_STATE_PREPARING);
	ps_pod_free(q);

	assert_int_equal(ps_pod_transition(p, PS_DIR_PREPARED, &err), 0);
	assert_int_equal(fstatat(ps_store_dir_fd(f->store, PS_DIR_PREPARED), p->uuid, &st, 0), 0);
	assert_true(fstatat(ps_store_dir_fd(f->store, PS_DIR_PREPARE), p->uuid, &st, 0) < 0);

	/* Backward is refused, and so is a move without the lock. */
	assert_true(ps_pod_transition(p, PS_DIR_PREPARE, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_STATE);
	ps_error_free(&err);
	ps_pod_unlock(p);
	assert_true(ps_pod_transition(p, PS_DIR_RUN, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_STATE);
	ps_error_free(&err);

	assert_int_equal(ps_pod_lock(p, PS_LOCK_EXCLUSIVE, false, &err), 0);
	assert_int_equal(ps_pod_transition(p, PS_DIR_RUN, &err), 0);
	assert_int_equal(p->state, PS_STATE_RUNNING);
	ps_pod_unlock(p);
	assert_int_equal(ps_pod_refresh(p, &err), 0);
	assert_int_equal(p->state, PS_STATE_EXITED);
	ps_pod_free(p);
}

/* Someone else moved the pod after we opened it: our transition must see it. */
static void transition_checks_identity(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	ps_error *err = NULL;
	ps_pod *p = NULL;

	fx_make_pod(f, PS_DIR_PREPARED, uuid);
	assert_int_equal(ps_pod_lookup(f->store, uuid, &p, &err), 0);
	/* Replace the dir under the same name: same path, another inode. */
	assert_int_equal(renameat(ps_store_dir_fd(f->store, PS_DIR_PREPARED), uuid,
	                          ps_store_dir_fd(f->store, PS_DIR_GARBAGE), uuid), 0);
	assert_int_equal(mkdirat(ps_store_dir_fd(f->store, PS_DIR_PREPARED), uuid, 0700), 0);
	p->lock = PS_LOCK_EXCLUSIVE; /* pretend: we only test the identity check */
	flock(p->fd, LOCK_EX);
	p->dir = PS_DIR_PREPARED;
	assert_true(ps_pod_transition(p, PS_DIR_RUN, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_STATE);
	ps_error_free(&err);
	ps_pod_free(p);
}

/* A child drives pods through the whole lifecycle (embryo → garbage, one
 * rename at a time, never deleting) while we look them up: a lookup never
 * says "no such pod" for a pod that exists throughout, whatever instant the
 * rename hits. */
#define RACE_PODS 2000
static void lookup_races_moves(void **state)
{
	struct fx *f = *state;
	static char uuids[RACE_PODS][PS_UUID_LEN + 1];
	/* The mover says which pod it is moving, so we look exactly there. */
	volatile int *current = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
	                             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int go[2];

	assert_true(current != MAP_FAILED);
	*current = 0;

	for (int i = 0; i < RACE_PODS; i++)
		fx_make_pod(f, PS_DIR_EMBRYO, uuids[i]);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid_t mover = fork();
	assert_true(mover >= 0);
	if (mover == 0) {
		char c;
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		for (int i = 0; i < RACE_PODS; i++)
			for (int d = PS_DIR_EMBRYO; d < PS_DIR_GARBAGE && (*current = i, 1); d++)
				if (renameat(ps_store_dir_fd(f->store, (ps_pod_dir)d), uuids[i],
				             ps_store_dir_fd(f->store, (ps_pod_dir)(d + 1)), uuids[i]) < 0)
					_exit(3);
		_exit(0);
	}
	close(go[0]);
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	unsigned lookups = 0;
	int status;
	while (waitpid(mover, &status, WNOHANG) == 0) {
		{
			int i = *current;
			ps_pod *p = NULL;
			ps_error *err = NULL;
			int r = ps_pod_lookup(f->store, uuids[i], &p, &err);
			if (r < 0)
				fail_msg("lookup of %s failed while it exists: %s", uuids[i], err->msg);
			/* The state always matches a dir the pod really passed through. */
			assert_true(p->dir >= PS_DIR_EMBRYO && p->dir <= PS_DIR_GARBAGE);
			ps_pod_free(p);
			lookups++;
		}
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(lookups > 0);
	munmap((void *)current, sizeof(int));
}

struct walk_count {
	struct fx *f;
	unsigned calls;
	char seen[64][PS_UUID_LEN + 1];
	bool move_ahead;
};

static int count_and_move(ps_store *s, const char *uuid, ps_pod_dir dir, void *userdata)
{
	struct walk_count *w = userdata;

	for (unsigned i = 0; i < w->calls; i++)
		assert_string_not_equal(w->seen[i], uuid); /* each once */
	snprintf(w->seen[w->calls++], PS_UUID_LEN + 1, "%s", uuid);
	return 0;
}

/* A pod in two dirs at once (it moved between the reads of the walk) is
 * reported once, in the later dir. */
static void walk_dedupes(void **state)
{
	struct fx *f = *state;
	struct walk_count w = { .f = f };
	char a[PS_UUID_LEN + 1], b[PS_UUID_LEN + 1];
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_PREPARED, a);
	fx_make_pod(f, PS_DIR_RUN, b);
	/* Simulate the walk's view of a move: the same uuid in prepared and run. */
	assert_int_equal(mkdirat(ps_store_dir_fd(f->store, PS_DIR_RUN), a, 0700), 0);
	assert_int_equal(ps_walk_pods(f->store, PS_DIR_ALL, count_and_move, &w, &err), 0);
	assert_int_equal(w.calls, 2);

	/* Only the dirs asked for. */
	w.calls = 0;
	assert_int_equal(ps_walk_pods(f->store, PS_DIR_BIT(PS_DIR_PREPARED), count_and_move, &w, &err), 0);
	assert_int_equal(w.calls, 1);
	assert_string_equal(w.seen[0], a);
}

/* list's fast path gives what ps_pod_open + ps_pod_inspect give for a pod
 * nobody holds, and steps aside (-EAGAIN) for a held, moved or gone one. */
static void peek_matches_open(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1], bare[PS_UUID_LEN + 1];
	ps_error *err = NULL;
	ps_pod *p = NULL;
	ps_flocks *fl = NULL;
	ps_pod_view v;
	unsigned what = PS_VIEW_INFO | PS_VIEW_RUNTIME;

	fx_make_pod(f, PS_DIR_RUN, uuid);
	fx_make_pod(f, PS_DIR_RUN, bare);
	assert_int_equal(ps_pod_open(f->store, uuid, PS_DIR_RUN, &p, &err), 0);
	ps_info info = { .name = (char *)"peeked", .created_ns = 1000000000LL };
	assert_int_equal(ps_info_write(p->fd, &info, &err), 0);
	ps_exit_marker ex = { .code = 7, .time_ns = 2000000000LL };
	assert_int_equal(ps_exit_marker_write(p->fd, &ex, false, &err), 0);
	ps_pod_free(p);

	assert_int_equal(ps_flocks_load(f->store, &fl, &err), 0);
	assert_int_equal(ps_pod_peek(f->store, uuid, PS_DIR_RUN, fl, what, &v, &err), 0);
	assert_int_equal(v.state, PS_STATE_EXITED);
	assert_true(v.have_info && v.have_exit && !v.have_pid && !v.ready);
	assert_string_equal(v.info.name, "peeked");
	assert_int_equal(v.exit.code, 7);
	ps_pod_view_clear(&v);
	/* Markers absent, pod in place: a view without them. */
	assert_int_equal(ps_pod_peek(f->store, bare, PS_DIR_RUN, fl, what, &v, &err), 0);
	assert_true(!v.have_info && !v.have_exit);
	ps_pod_view_clear(&v);
	/* Only what it can read without the pod's dir. */
	assert_int_equal(ps_pod_peek(f->store, uuid, PS_DIR_RUN, fl, what | PS_VIEW_HEALTH, &v, &err), -EAGAIN);
	ps_flocks_free(fl);

	/* Held: running, the full way. */
	pid_t holder = fx_hold_lock(f, uuid, PS_DIR_RUN);
	assert_int_equal(ps_flocks_load(f->store, &fl, &err), 0);
	assert_int_equal(ps_pod_peek(f->store, uuid, PS_DIR_RUN, fl, what, &v, &err), -EAGAIN);
	assert_int_equal(ps_pod_peek(f->store, bare, PS_DIR_RUN, fl, what, &v, &err), 0);
	ps_pod_view_clear(&v);
	fx_release(holder);
	ps_flocks_free(fl);

	/* Moved on since the walk saw it in run/: the full way finds it. */
	assert_int_equal(ps_flocks_load(f->store, &fl, &err), 0);
	assert_int_equal(renameat(ps_store_dir_fd(f->store, PS_DIR_RUN), uuid,
	                          ps_store_dir_fd(f->store, PS_DIR_EXITED_GARBAGE), uuid), 0);
	assert_int_equal(ps_pod_peek(f->store, uuid, PS_DIR_RUN, fl, what, &v, &err), -EAGAIN);
	assert_int_equal(ps_pod_peek(f->store, uuid, PS_DIR_EXITED_GARBAGE, fl, what, &v, &err), 0);
	assert_int_equal(v.state, PS_STATE_EXITED_GARBAGE);
	assert_int_equal(v.exit.code, 7);
	ps_pod_view_clear(&v);
	ps_flocks_free(fl);
}

static void destroy_requires_garbage(void **state)
{
	struct fx *f = *state;
	ps_error *err = NULL;
	ps_pod *p = NULL;
	struct stat st;

	assert_int_equal(ps_pod_create(f->store, &p, &err), 0);
	assert_int_equal(mkdirat(p->fd, "apps", 0700), 0);
	assert_true(ps_pod_destroy(p, &err) < 0);
	ps_error_free(&err);
	assert_int_equal(ps_pod_transition(p, PS_DIR_GARBAGE, &err), 0);
	assert_int_equal(ps_pod_destroy(p, &err), 0);
	assert_true(fstatat(ps_store_dir_fd(f->store, PS_DIR_GARBAGE), p->uuid, &st, 0) < 0);
	ps_pod_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state_table),
		cmocka_unit_test_setup_teardown(derived_from_lock, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(create_and_transitions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(transition_checks_identity, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(lookup_races_moves, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(walk_dedupes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(peek_matches_open, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(destroy_requires_garbage, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
