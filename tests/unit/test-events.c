/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The event log, the health marker, and waiting on several pods. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fixture.h"
#include "util.h"

static int pod_dir(struct fx *f, char uuid[PS_UUID_LEN + 1])
{
	fx_make_pod(f, PS_DIR_RUN, uuid);
	int fd = openat(ps_store_dir_fd(f->store, PS_DIR_RUN), uuid, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void append(int fd, const char *app, const char *type, const char *from, const char *to,
                   const char *reason)
{
	ps_error *err = NULL;
	ps_event e = { .app = (char *)app, .type = (char *)type, .from = (char *)from,
		       .to = (char *)to, .reason = (char *)reason };
	assert_int_equal(ps_event_append(fd, &e, &err), 0);
}

static void roundtrip(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	int fd = pod_dir(f, uuid);
	ps_events_reader *r = NULL;
	ps_error *err = NULL;
	ps_event e;

	assert_int_equal(ps_events_reader_open(fd, &r, &err), 0);
	assert_int_equal(ps_events_reader_next(r, &e, &err), 0); /* no log yet */
	append(fd, "web", "status", "STARTED", "READY", "READY=1");
	append(fd, NULL, "ready", NULL, NULL, NULL);
	assert_int_equal(ps_events_reader_next(r, &e, &err), 1);
	assert_string_equal(e.app, "web");
	assert_string_equal(e.type, "status");
	assert_string_equal(e.from, "STARTED");
	assert_string_equal(e.to, "READY");
	assert_string_equal(e.reason, "READY=1");
	assert_true(e.time_ns > 0);
	ps_event_clear(&e);
	assert_int_equal(ps_events_reader_next(r, &e, &err), 1);
	assert_null(e.app);
	assert_string_equal(e.type, "ready");
	ps_event_clear(&e);
	assert_int_equal(ps_events_reader_next(r, &e, &err), 0);
	/* More later: the same reader picks it up. */
	append(fd, "web", "probe", NULL, "failing", "liveness: exit 1");
	assert_int_equal(ps_events_reader_next(r, &e, &err), 1);
	assert_string_equal(e.type, "probe");
	ps_event_clear(&e);
	ps_events_reader_free(r);

	/* No type: refused. */
	ps_event bad = { .app = "x" };
	assert_true(ps_event_append(fd, &bad, &err) < 0);
	ps_error_free(&err);
	close(fd);
}

static void tolerant_reader(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	int fd = pod_dir(f, uuid);
	ps_events_reader *r = NULL;
	ps_error *err = NULL;
	ps_event e;

	int lf = openat(fd, PS_FILE_EVENTS, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	const char junk[] = "not json\n{\"type\":\"status\"}\n[1,2]\n\n"
	                    "{\"time\":\"2024-01-02T03:04:05.000000006Z\",\"type\":\"exit\",\"new\":1}\n"
	                    "{\"time\":\"2024-01-02T03:04:05.000000007Z\",\"type\":\"sta";
	assert_int_equal(write(lf, junk, sizeof(junk) - 1), (ssize_t)sizeof(junk) - 1);
	assert_int_equal(ps_events_reader_open(fd, &r, &err), 0);
	assert_int_equal(ps_events_reader_next(r, &e, &err), 1);
	assert_string_equal(e.type, "exit");
	ps_event_clear(&e);
	/* The partial last line is a write in flight: held back, then read whole. */
	assert_int_equal(ps_events_reader_next(r, &e, &err), 0);
	const char rest[] = "tus\"}\n";
	assert_int_equal(write(lf, rest, sizeof(rest) - 1), (ssize_t)sizeof(rest) - 1);
	assert_int_equal(ps_events_reader_next(r, &e, &err), 1);
	assert_string_equal(e.type, "status");
	ps_event_clear(&e);
	assert_int_equal(ps_events_reader_skipped(r), 4);
	ps_events_reader_free(r);
	close(lf);
	close(fd);
}

static unsigned count_events(int fd)
{
	ps_events_reader *r = NULL;
	ps_error *err = NULL;
	ps_event e;
	unsigned n = 0;

	assert_int_equal(ps_events_reader_open(fd, &r, &err), 0);
	while (ps_events_reader_next(r, &e, &err) == 1) {
		n++;
		ps_event_clear(&e);
	}
	assert_int_equal(ps_events_reader_skipped(r), 0);
	ps_events_reader_free(r);
	return n;
}

/* Concurrent writers never interleave lines. */
static void concurrent_appends(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	int fd = pod_dir(f, uuid);
	enum { WRITERS = 4, EACH = 1000 };
	pid_t kids[WRITERS];

	for (int w = 0; w < WRITERS; w++) {
		kids[w] = fork();
		assert_true(kids[w] >= 0);
		if (kids[w] == 0) {
			char app[16], reason[64];
			snprintf(app, sizeof(app), "app%d", w);
			for (int i = 0; i < EACH; i++) {
				snprintf(reason, sizeof(reason), "writer %d event %d with some padding", w, i);
				ps_event e = { .app = app, .type = "notify", .reason = reason };
				if (ps_event_append(fd, &e, NULL) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int st;
		assert_int_equal(waitpid(kids[w], &st, 0), kids[w]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(count_events(fd), WRITERS * EACH);
	close(fd);
}

/* Past the cap the log rotates to events.1; a reader sees old then new,
 * even when the rotation happens while it reads. */
static void rotation(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	int fd = pod_dir(f, uuid);
	char reason[1024];
	struct stat st;
	ps_events_reader *r = NULL;
	ps_error *err = NULL;
	ps_event e;
	unsigned seen = 0, written = 0;

	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	assert_int_equal(ps_events_reader_open(fd, &r, &err), 0);
	/* Fill most of the first file, reading along. */
	while (fstatat(fd, PS_FILE_EVENTS, &st, 0) < 0 || st.st_size < PS_EVENTS_ROTATE_BYTES - 2048) {
		append(fd, "a", "notify", NULL, NULL, reason);
		written++;
	}
	while (ps_events_reader_next(r, &e, &err) == 1) {
		seen++;
		ps_event_clear(&e);
	}
	/* Now past the cap, and more after the rotation. */
	for (int i = 0; i < 10; i++, written++)
		append(fd, "a", "notify", NULL, NULL, reason);
	assert_int_equal(fstatat(fd, PS_FILE_EVENTS_OLD, &st, 0), 0);
	assert_true(st.st_size >= PS_EVENTS_ROTATE_BYTES);
	while (ps_events_reader_next(r, &e, &err) == 1) {
		seen++;
		ps_event_clear(&e);
	}
	assert_int_equal(seen, written);
	assert_int_equal(ps_events_reader_skipped(r), 0);
	ps_events_reader_free(r);
	/* A fresh reader sees everything kept: nothing was lost yet. */
	assert_int_equal(count_events(fd), written);
	/* Fill again: the oldest file is dropped, the total stays bounded. */
	for (unsigned i = 0; i < written; i++)
		append(fd, "a", "notify", NULL, NULL, reason);
	assert_int_equal(fstatat(fd, PS_FILE_EVENTS, &st, 0), 0);
	assert_true(st.st_size < PS_EVENTS_ROTATE_BYTES);
	assert_true(count_events(fd) < 2 * written);
	close(fd);
}

/* A writer that keeps the log open (stage1): its lines land in the live
 * log when another writer rotated it under it, when it was removed, and
 * when it rotates itself; nothing is lost or written into events.1. */
static void kept_fd_follows_rotation(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	int fd = pod_dir(f, uuid);
	int log_fd = -1;
	ps_error *err = NULL;
	char reason[1024];
	struct stat st;
	unsigned written = 0;

	memset(reason, 'k', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	ps_event e = { .app = "a", .type = "notify", .reason = reason };
	assert_int_equal(ps_event_append_keep(fd, &log_fd, &e, &err), 0);
	written++;
	assert_true(log_fd >= 0);
	/* another writer fills and rotates the log */
	while (fstatat(fd, PS_FILE_EVENTS_OLD, &st, 0) < 0) {
		append(fd, "b", "notify", NULL, NULL, reason);
		written++;
	}
	off_t old_size = st.st_size;
	assert_int_equal(ps_event_append_keep(fd, &log_fd, &e, &err), 0);
	written++;
	assert_int_equal(fstatat(fd, PS_FILE_EVENTS_OLD, &st, 0), 0);
	assert_int_equal(st.st_size, old_size); /* not into the rotated file */
	assert_int_equal(fstatat(fd, PS_FILE_EVENTS, &st, 0), 0);
	assert_true(st.st_size > 0);
	/* the log removed: a new one */
	assert_int_equal(unlinkat(fd, PS_FILE_EVENTS, 0), 0);
	assert_int_equal(unlinkat(fd, PS_FILE_EVENTS_OLD, 0), 0);
	written = 0;
	assert_int_equal(ps_event_append_keep(fd, &log_fd, &e, &err), 0);
	written++;
	assert_int_equal(count_events(fd), written);
	/* it rotates itself when full */
	while (fstatat(fd, PS_FILE_EVENTS_OLD, &st, 0) < 0) {
		assert_int_equal(ps_event_append_keep(fd, &log_fd, &e, &err), 0);
		written++;
	}
	assert_int_equal(ps_event_append_keep(fd, &log_fd, &e, &err), 0);
	written++;
	assert_int_equal(count_events(fd), written);
	assert_int_equal(fstatat(fd, PS_FILE_EVENTS, &st, 0), 0);
	assert_true(st.st_size < PS_EVENTS_ROTATE_BYTES);
	close(log_fd);
	close(fd);
}

static void long_reason_is_cut(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	int fd = pod_dir(f, uuid);
	char *big = malloc(100000);

	memset(big, 'z', 99999);
	big[99999] = '\0';
	append(fd, "a", "notify", NULL, NULL, big);
	free(big);
	assert_int_equal(count_events(fd), 1);
	close(fd);
}

/* --- health ------------------------------------------------------------------- */

static void health_marker(void **state)
{
	struct fx *f = *state;
	char uuid[PS_UUID_LEN + 1];
	int fd = pod_dir(f, uuid);
	ps_error *err = NULL;
	ps_health_marker h = { .liveness = "failing", .readiness = "passing", .restarts = 3,
		               .last_probe = "liveness", .last_result = "timeout",
		               .last_message = "timed out after 1s", .last_probe_ns = 1700000000123456789LL,
		               .notify_status = "serving" }, back;

	assert_int_equal(ps_health_marker_write(fd, &h, &err), 0);
	assert_int_equal(ps_health_marker_read(fd, &back, &err), 0);
	assert_string_equal(back.liveness, "failing");
	assert_string_equal(back.readiness, "passing");
	assert_null(back.startup);
	assert_int_equal(back.restarts, 3);
	assert_string_equal(back.last_probe, "liveness");
	assert_string_equal(back.last_result, "timeout");
	assert_string_equal(back.last_message, "timed out after 1s");
	assert_int_equal(back.last_probe_ns, 1700000000123456789LL);
	assert_string_equal(back.notify_status, "serving");
	ps_health_marker_clear(&back);
	close(fd);

	ps_status_marker running = { .status = "STARTED" }, failed = { .status = "FAILED" },
	                 exited = { .status = "EXITED" };
	ps_exit_marker ok = { .code = 0 }, bad = { .code = 2 }, sig = { .signal = 9, .code = 137 };
	ps_health_marker live = { .liveness = "passing" }, dead = { .liveness = "failing" };
	assert_true(ps_app_is_healthy(NULL, NULL, NULL));
	assert_true(ps_app_is_healthy(&running, NULL, &live));
	assert_false(ps_app_is_healthy(&running, NULL, &dead));
	assert_false(ps_app_is_healthy(&failed, NULL, NULL));
	assert_true(ps_app_is_healthy(&exited, &ok, NULL));
	assert_false(ps_app_is_healthy(&exited, &bad, NULL));
	assert_false(ps_app_is_healthy(&exited, &sig, NULL));
}

/* --- waitset ------------------------------------------------------------------ */

static void write_manifest(int fd)
{
	const char *m = "{\"version\":1,\"apps\":[{\"name\":\"web\",\"image\":\"x\"}]}\n";
	assert_int_equal(ps_write_file_at(fd, PS_FILE_MANIFEST, m, strlen(m), 0644, 0, NULL), 0);
	assert_int_equal(mkdirat(fd, "apps", 0755), 0);
	assert_int_equal(mkdirat(fd, "apps/web", 0755), 0);
}

static void wait_many(void **state)
{
	struct fx *f = *state;
	char u1[PS_UUID_LEN + 1], u2[PS_UUID_LEN + 1];
	int fd1 = pod_dir(f, u1), fd2 = pod_dir(f, u2);
	ps_pod *pods[2];
	ps_error *err = NULL;
	size_t which = 9;

	write_manifest(fd1);
	write_manifest(fd2);
	pid_t h1 = fx_hold_lock(f, u1, PS_DIR_RUN), h2 = fx_hold_lock(f, u2, PS_DIR_RUN);
	assert_int_equal(ps_pod_lookup(f->store, u1, &pods[0], &err), 0);
	assert_int_equal(ps_pod_lookup(f->store, u2, &pods[1], &err), 0);

	/* Nobody ready: a timeout. */
	assert_true(ps_pods_wait(pods, 2, PS_WAIT_READY, true, 50, NULL, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_TIMEOUT);
	ps_error_free(&err);
	/* Both healthy (running, nothing failed). */
	assert_int_equal(ps_pods_wait(pods, 2, PS_WAIT_HEALTHY, false, 1000, NULL, &err), 0);

	/* The second becomes ready while we wait (a child writes the marker). */
	pid_t w = fork();
	if (w == 0)
		_exit(ps_ready_marker_write(fd2, ps_now_ns(), NULL) == 0 ? 0 : 1);
	assert_int_equal(ps_pods_wait(pods, 2, PS_WAIT_READY, true, 5000, &which, &err), 0);
	assert_int_equal(which, 1);
	waitpid(w, NULL, 0);
	/* All: the first is still not ready. */
	assert_true(ps_pods_wait(pods, 2, PS_WAIT_READY, false, 50, NULL, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_TIMEOUT);
	ps_error_free(&err);

	/* A liveness probe failing makes the first unhealthy. */
	w = fork();
	if (w == 0) {
		int afd = openat(fd1, "apps/web", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ps_health_marker h = { .liveness = "failing" };
		_exit(ps_health_marker_write(afd, &h, NULL) == 0 ? 0 : 1);
	}
	assert_int_equal(ps_pods_wait(pods, 2, PS_WAIT_UNHEALTHY, true, 5000, &which, &err), 0);
	assert_int_equal(which, 0);
	waitpid(w, NULL, 0);

	/* The first exits (its lock goes; a killer child does it while we wait):
	 * it can never be ready, so "all ready" fails at once with its reason. */
	ps_exit_marker em = { .code = 1, .reason = "app-failed", .app = "web", .time_ns = ps_now_ns() };
	assert_int_equal(ps_exit_marker_write(fd1, &em, false, NULL), 0);
	w = fork();
	if (w == 0) {
		kill(h1, SIGKILL);
		_exit(0);
	}
	assert_true(ps_pods_wait(pods, 2, PS_WAIT_READY, false, 10000, &which, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_STATE);
	assert_non_null(strstr(err->msg, "app-failed"));
	assert_int_equal(which, 0);
	ps_error_free(&err);
	waitpid(w, NULL, 0);
	waitpid(h1, NULL, 0);
	/* …but "any ready" holds through the second, and "exited" for the first. */
	assert_int_equal(ps_pods_wait(pods, 2, PS_WAIT_READY, true, 1000, &which, &err), 0);
	assert_int_equal(which, 1);
	assert_int_equal(ps_pods_wait(pods, 1, PS_WAIT_EXITED, false, 1000, NULL, &err), 0);
	/* exited with app-failed counts as unhealthy; exited never becomes healthy */
	assert_int_equal(ps_pods_wait(pods, 1, PS_WAIT_UNHEALTHY, false, 1000, NULL, &err), 0);
	assert_true(ps_pods_wait(pods, 1, PS_WAIT_HEALTHY, false, 1000, NULL, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_STATE);
	ps_error_free(&err);

	/* Waiting for the second to exit wakes when its lock goes. */
	w = fork();
	if (w == 0) {
		kill(h2, SIGKILL);
		_exit(0);
	}
	assert_int_equal(ps_pods_wait(pods + 1, 1, PS_WAIT_EXITED, false, 10000, NULL, &err), 0);
	waitpid(w, NULL, 0);
	waitpid(h2, NULL, 0);
	/* No exit marker, not ok: "unhealthy" holds, "ready" cannot. */
	assert_int_equal(ps_pods_wait(pods + 1, 1, PS_WAIT_UNHEALTHY, false, 1000, NULL, &err), 0);

	ps_wait_cond c;
	assert_int_equal(ps_wait_cond_from_name("healthy", &c), 0);
	assert_int_equal(c, PS_WAIT_HEALTHY);
	assert_true(ps_wait_cond_from_name("bogus", &c) < 0);
	ps_pod_free(pods[0]);
	ps_pod_free(pods[1]);
	close(fd1);
	close(fd2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(roundtrip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(tolerant_reader, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(concurrent_appends, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(rotation, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(kept_fd_follows_rotation, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(long_reason_is_cut, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(health_marker, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(wait_many, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
