/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stage1's log files (stage1/logfile.c) and its own messages in stage1.log
 * (stage1/log.c): stamped lines, never past the limit, rotated to .1. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* before cmocka.h, whose fail() macro would meet stage1.h's pod_fail() */
#include "../../stage1/stage1.h"
#include "fixture.h"
#include "applog.h"
#include "util.h"

static long long size_at(int dfd, const char *name)
{
	struct stat st;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_size : -1;
}

static int scratch_dir(struct fx *f)
{
	int dfd = openat(ps_store_fd(f->store), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	return dfd;
}

/* Every line of the file starts with a stamp (none is cut by rotation
 * here: the lines are shorter than the room). */
static void all_stamped(int dfd, const char *name)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ps_read_all(fd, 1 << 22, &buf, &len), 0);
	close(fd);
	assert_true(len > 0);
	for (char *l = buf; l < buf + len;) {
		long long ns;
		assert_int_equal(ps_applog_stamp_parse(l, &ns), 0);
		char *nl = memchr(l, '\n', (size_t)(buf + len - l));
		assert_non_null(nl);
		l = nl + 1;
	}
}

static void rotates_within_limit(void **state)
{
	struct fx *f = *state;
	int dfd = scratch_dir(f);
	struct logfile l = { .dirfd = dfd, .name = PS_FILE_STAGE1_LOG, .old = PS_FILE_STAGE1_LOG_OLD,
		             .limit = 300, .fd = -1 };
	char line[64];

	assert_int_equal(logfile_open(&l), 0);
	for (int i = 0; i < 100; i++) {
		int n = snprintf(line, sizeof(line), "message %d\n", i);
		logfile_append(&l, line, (size_t)n);
		assert_true(l.size <= l.limit);
	}
	logfile_close(&l);
	assert_true(size_at(dfd, PS_FILE_STAGE1_LOG) <= 300);
	assert_true(size_at(dfd, PS_FILE_STAGE1_LOG_OLD) <= 300);
	assert_true(size_at(dfd, PS_FILE_STAGE1_LOG_OLD) > 300 - 60);
	all_stamped(dfd, PS_FILE_STAGE1_LOG);
	all_stamped(dfd, PS_FILE_STAGE1_LOG_OLD);
	close(dfd);
}

/* s1_warn() after s1_log_to_file(): into stage1.log, stamped, and a flood
 * of them keeps at most twice PS_STAGE1_LOG_ROTATE_BYTES. */
static void warnings_bounded(void **state)
{
	struct fx *f = *state;
	int dfd = scratch_dir(f);

	s1_log_init("0123abcd-0000-4000-8000-000000000000", false);
	assert_int_equal(s1_log_to_file(dfd), 0);
	s1_warn("first %s", "warning");
	all_stamped(dfd, PS_FILE_STAGE1_LOG);
	for (int i = 0; i < 20000; i++)
		s1_warn("warning number %d of a flood that must not fill the disk", i);
	assert_true(size_at(dfd, PS_FILE_STAGE1_LOG) <= PS_STAGE1_LOG_ROTATE_BYTES);
	assert_true(size_at(dfd, PS_FILE_STAGE1_LOG_OLD) <= PS_STAGE1_LOG_ROTATE_BYTES);
	assert_true(size_at(dfd, PS_FILE_STAGE1_LOG_OLD) > PS_STAGE1_LOG_ROTATE_BYTES - 200); /* it rotated */
	all_stamped(dfd, PS_FILE_STAGE1_LOG);
	all_stamped(dfd, PS_FILE_STAGE1_LOG_OLD);
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rotates_within_limit, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(warnings_bounded, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
