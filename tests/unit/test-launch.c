/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stage1's command line and where podctl's helpers are (launch.c). */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "fixture.h"
#include "util.h"

#define UUID "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"

static void assert_argv(char **got, const char *const *want)
{
	size_t i = 0;
	for (; want[i]; i++) {
		assert_non_null(got[i]);
		assert_string_equal(got[i], want[i]);
	}
	assert_null(got[i]);
}

static void argv_run(void **state)
{
	(void)state;
	char **v = NULL;
	ps_stage1_args a = { .pod_fd = 7, .data_dir = "/var/lib/podctl", .uuid = UUID, .sync_fd = -1 };

	assert_int_equal(ps_stage1_argv(&a, &v, NULL), 0);
	assert_argv(v, (const char *const[]){ "podctl-stage1", "--pod-fd=7", "--dir=/var/lib/podctl", UUID, NULL });
	ps_strv_free(v);

	a.sync_fd = 9;
	a.interactive = a.debug = true;
	assert_int_equal(ps_stage1_argv(&a, &v, NULL), 0);
	assert_argv(v, (const char *const[]){ "podctl-stage1", "--pod-fd=7", "--dir=/var/lib/podctl",
	                                      "--sync-fd=9", "--interactive", "--debug", UUID, NULL });
	ps_strv_free(v);
}

static void argv_enter(void **state)
{
	(void)state;
	char *cmd[] = { "sh", "-c", "--pod-fd=1 is the command's", NULL };
	char **v = NULL;
	ps_stage1_args a = { .pod_fd = 4, .uuid = UUID, .sync_fd = -1, .enter_app = "web", .cmd = cmd };

	assert_int_equal(ps_stage1_argv(&a, &v, NULL), 0);
	assert_argv(v, (const char *const[]){ "podctl-stage1", "--enter=web", "--pod-fd=4", UUID, "sh", "-c",
	                                      "--pod-fd=1 is the command's", NULL });
	ps_strv_free(v);
}

static void argv_refuses_missing(void **state)
{
	(void)state;
	char **v = NULL;
	ps_error *err = NULL;
	char *empty[] = { NULL };
	ps_stage1_args bad[] = {
		{ .pod_fd = -1, .data_dir = "/d", .uuid = UUID, .sync_fd = -1 },
		{ .pod_fd = 3, .uuid = UUID, .sync_fd = -1 },                           /* no dir */
		{ .pod_fd = 3, .data_dir = "/d", .uuid = "not-a-uuid", .sync_fd = -1 },
		{ .pod_fd = 3, .uuid = UUID, .sync_fd = -1, .enter_app = "web", .cmd = empty },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(ps_stage1_argv(&bad[i], &v, &err), -EINVAL);
		assert_null(v);
		ps_error_free(&err);
	}
}

static void sibling(void **state)
{
	(void)state;
	char *p = NULL, self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';

	/* the environment wins, as given */
	setenv("PODCTL_TEST_SIBLING", "/opt/x/helper", 1);
	assert_int_equal(ps_sibling_path("PODCTL_TEST_SIBLING", "test-launch", "/fallback", &p, NULL), 0);
	assert_string_equal(p, "/opt/x/helper");
	free(p);
	/* empty: ignored; next to us when there and executable (we are) */
	setenv("PODCTL_TEST_SIBLING", "", 1);
	assert_int_equal(ps_sibling_path("PODCTL_TEST_SIBLING", "test-launch", "/fallback", &p, NULL), 0);
	char want[PATH_MAX + 16];
	snprintf(want, sizeof(want), "%s/test-launch", self);
	assert_string_equal(p, want);
	free(p);
	/* not next to us: the fallback */
	assert_int_equal(ps_sibling_path(NULL, "no-such-helper", "/fallback/helper", &p, NULL), 0);
	assert_string_equal(p, "/fallback/helper");
	free(p);
	unsetenv("PODCTL_TEST_SIBLING");
}

static void sync_line(void **state)
{
	(void)state;
	int p[2];
	char *msg = NULL;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(ps_stage1_sync_ok(p[1]), 0);
	close(p[1]);
	assert_int_equal(ps_stage1_sync_read(p[0], &msg), 0);
	assert_null(msg);
	close(p[0]);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(ps_stage1_sync_error(p[1], "mount overlay:\nNo such device"), 0);
	close(p[1]);
	assert_int_equal(ps_stage1_sync_read(p[0], &msg), -EPROTO);
	assert_string_equal(msg, "mount overlay: No such device");
	free(msg);
	close(p[0]);

	/* stage1 gone without a word */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	assert_int_equal(ps_stage1_sync_read(p[0], &msg), -ECONNRESET);
	assert_null(msg);
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(argv_run),
		cmocka_unit_test(argv_enter),
		cmocka_unit_test(argv_refuses_missing),
		cmocka_unit_test(sibling),
		cmocka_unit_test(sync_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
