/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The /etc/passwd and /etc/group parser (libpodstore/passwd.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "passwd.h"

static int pw(const char *text, const char *name, uid_t *uid, gid_t *gid)
{
	*uid = 4242;
	*gid = 4242;
	return ps_passwd_find(text, strlen(text), name, uid, gid);
}

static void test_plain(void **state)
{
	uid_t u;
	gid_t g;
	(void)state;
	const char *t = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:2000:App:/home/app:/bin/sh\n";
	assert_int_equal(pw(t, "root", &u, &g), 0);
	assert_int_equal(u, 0);
	assert_int_equal(g, 0);
	assert_int_equal(pw(t, "app", &u, &g), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(g, 2000);
	/* no trailing newline, short entry without gecos/home/shell */
	assert_int_equal(pw("a:x:1:2", "a", &u, &g), 0);
	assert_int_equal(u, 1);
	assert_int_equal(g, 2);
}

/* strtok_r merged empty fields: "app::1000:2000" gave uid 2000, gid 0. */
static void test_empty_fields(void **state)
{
	uid_t u;
	gid_t g;
	(void)state;
	assert_int_equal(pw("app::1000:2000:::\n", "app", &u, &g), 0);
	assert_int_equal(u, 1000);
	assert_int_equal(g, 2000);
	/* an empty uid or gid is not 0 */
	assert_int_equal(pw("app:x::2000:::\n", "app", &u, &g), -EBADMSG);
	assert_int_equal(u, 4242);
	assert_int_equal(pw("app:x:1000::::\n", "app", &u, &g), -EBADMSG);
	assert_int_equal(pw("app:x:1000\n", "app", &u, &g), -EBADMSG);
	assert_int_equal(pw("app\n", "app", &u, &g), -ENOENT);
	assert_int_equal(pw("::0:0\n", "", &u, &g), -ENOENT);
}

/* Unchecked strtoul turned garbage into uid 0. */
static void test_garbage_ids(void **state)
{
	uid_t u;
	gid_t g;
	(void)state;
	static const char *const bad[] = {
		"app:x:abc:1:::\n", "app:x:1x:1:::\n", "app:x:-1:1:::\n", "app:x:+5:1:::\n",
		"app:x: 5:1:::\n",  "app:x:1:zz:::\n", "app:x:0x10:1:::\n", "app:x:1:1 :::\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pw(bad[i], "app", &u, &g), -EBADMSG);
		assert_int_equal(u, 4242);
		assert_int_equal(g, 4242);
	}
	/* a bad line for someone else does not matter */
	assert_int_equal(pw("x:x:zz:zz\napp:x:7:8\n", "app", &u, &g), 0);
	assert_int_equal(u, 7);
}

static void test_overflow(void **state)
{
	uid_t u;
	gid_t g;
	unsigned id;
	(void)state;
	assert_int_equal(pw("app:x:4294967295:1\n", "app", &u, &g), -EBADMSG);
	assert_int_equal(pw("app:x:4294967296:1\n", "app", &u, &g), -EBADMSG);
	assert_int_equal(pw("app:x:18446744073709551616:1\n", "app", &u, &g), -EBADMSG);
	assert_int_equal(pw("app:x:99999999999999999999999:1\n", "app", &u, &g), -EBADMSG);
	assert_int_equal(pw("app:x:4294967294:4294967294\n", "app", &u, &g), 0);
	assert_int_equal(u, 4294967294u);
	assert_int_equal(ps_id_parse("", 0, &id), -EINVAL);
	assert_int_equal(ps_id_parse("0000000000", 10, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(ps_id_parse("00000000001", 11, &id), -EINVAL);
}

/* fgets with a 1024-byte buffer cut long lines, and their tail was parsed
 * as an entry of its own. */
static void test_long_lines(void **state)
{
	uid_t u;
	gid_t g;
	(void)state;
	size_t pad = 5000;
	char *t = malloc(pad + 200);
	assert_non_null(t);
	snprintf(t, pad + 200, "app:x:1000:1000:");
	size_t l = strlen(t);
	memset(t + l, 'A', pad);
	snprintf(t + l + pad, 200, "evil:x:0:0:/:/bin/sh\n");
	/* "evil" only appears inside app's gecos */
	assert_int_equal(pw(t, "evil", &u, &g), -ENOENT);
	assert_int_equal(pw(t, "app", &u, &g), 0);
	assert_int_equal(u, 1000);
	/* a long line before the wanted one */
	memmove(t + l + pad, "\nbob:x:5:6\n", 12);
	assert_int_equal(pw(t, "bob", &u, &g), 0);
	assert_int_equal(u, 5);
	assert_int_equal(g, 6);
	free(t);
}

static void test_missing_and_prefix(void **state)
{
	uid_t u;
	gid_t g;
	(void)state;
	const char *t = "application:x:1:1\nap:x:2:2\n";
	assert_int_equal(pw(t, "app", &u, &g), -ENOENT);
	assert_int_equal(pw("", "app", &u, &g), -ENOENT);
	assert_int_equal(pw(t, "ap", &u, &g), 0);
	assert_int_equal(u, 2);
	assert_int_equal(pw(t, "a:x", &u, &g), -ENOENT);
	/* the first entry wins, as in glibc */
	assert_int_equal(pw("a:x:1:1\na:x:0:0\n", "a", &u, &g), 0);
	assert_int_equal(u, 1);
	/* a NUL inside the text is just a byte */
	static const char nul[] = "x:x:1\0:1\na:x:3:4\n";
	assert_int_equal(ps_passwd_find(nul, sizeof(nul) - 1, "a", &u, &g), 0);
	assert_int_equal(u, 3);
}

static void test_group(void **state)
{
	gid_t g = 4242;
	(void)state;
	const char *t = "root:x:0:\ntty:x:5:\nstaff::50:a,b\nbad:x::\nbad2:x:1x:\n";
	assert_int_equal(ps_group_find(t, strlen(t), "tty", &g), 0);
	assert_int_equal(g, 5);
	assert_int_equal(ps_group_find(t, strlen(t), "staff", &g), 0);
	assert_int_equal(g, 50);
	assert_int_equal(ps_group_find(t, strlen(t), "bad", &g), -EBADMSG);
	assert_int_equal(ps_group_find(t, strlen(t), "bad2", &g), -EBADMSG);
	assert_int_equal(ps_group_find(t, strlen(t), "none", &g), -ENOENT);
	assert_int_equal(ps_group_find("g:x", 3, "g", &g), -EBADMSG);
	assert_int_equal(g, 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),         cmocka_unit_test(test_empty_fields),
		cmocka_unit_test(test_garbage_ids),   cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_long_lines),    cmocka_unit_test(test_missing_and_prefix),
		cmocka_unit_test(test_group),
	};
	return cmocka_run_group_tests_name("passwd", tests, NULL, NULL);
}
