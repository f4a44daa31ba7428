/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The error model (error.c): errno kept end to end, with or without err. */
#include <errno.h>

#include "fixture.h"
#include "util.h"

static void test_codes_without_err(void **state)
{
	/* An error without an errno returns its kind's, so a caller passing
	 * err = NULL still tells "no such" from "bad". */
	assert_int_equal(ps_error_set(NULL, PS_ERR_NOT_FOUND, 0, "no such image: %s", "x"), -ENOENT);
	assert_int_equal(ps_error_set(NULL, PS_ERR_INVALID, 0, "bad"), -EINVAL);
	assert_int_equal(ps_error_set(NULL, PS_ERR_AMBIGUOUS, 0, "ambiguous"), -ENOTUNIQ);
	assert_int_equal(ps_error_set(NULL, PS_ERR_TIMEOUT, 0, "late"), -ETIMEDOUT);
	assert_int_equal(ps_error_set(NULL, PS_ERR_BUSY, 0, "busy"), -EBUSY);
	assert_int_equal(ps_error_set(NULL, PS_ERR_STATE, 0, "state"), -EBADFD);
	assert_int_equal(ps_error_set(NULL, PS_ERR_FAILED, 0, "failed"), -EIO);
	/* An errno wins over the kind's. */
	assert_int_equal(ps_error_set(NULL, PS_ERR_FAILED, ENOSPC, "write"), -ENOSPC);
	assert_int_equal(ps_error_set(NULL, PS_ERR_NOT_FOUND, ENOENT, "open"), -ENOENT);
	errno = 0;
	assert_int_equal(ps_error_errno(NULL, "read"), -EIO);
	errno = EACCES;
	assert_int_equal(ps_error_errno(NULL, "read"), -EACCES);
}

static void test_prefix_keeps_code(void **state)
{
	ps_error *err = NULL;

	/* No err asked for: the code passed in comes back, not -EINVAL. */
	assert_int_equal(ps_error_prefix(NULL, -ENOENT, "image %s", "x"), -ENOENT);
	assert_int_equal(ps_error_prefix(&err, -ENOSPC, "layer %d", 1), -ENOSPC);
	assert_null(err);

	assert_int_equal(ps_error_set(&err, PS_ERR_NOT_FOUND, 0, "no such image: x"), -ENOENT);
	assert_int_equal(ps_error_prefix(&err, -ENOENT, "prepare %s", "p"), -ENOENT);
	assert_int_equal(ps_error_prefix(&err, -ENOENT, "run"), -ENOENT);
	assert_string_equal(err->msg, "run: prepare p: no such image: x");
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	assert_int_equal(err->errnum, 0);
	assert_int_equal(ps_error_code(err), -ENOENT);
	ps_error_free(&err);
	assert_null(err);
	ps_error_free(&err); /* twice is fine */
	ps_error_free(NULL);
}

static void test_message_and_first_wins(void **state)
{
	ps_error *err = NULL;

	assert_int_equal(ps_error_set(&err, PS_ERR_FAILED, ENOSPC, "write %s", "f"), -ENOSPC);
	assert_string_equal(err->msg, "write f: No space left on device");
	assert_int_equal(err->errnum, ENOSPC);
	/* A second error does not replace the first, and says the first's code. */
	assert_int_equal(ps_error_set(&err, PS_ERR_INVALID, 0, "later"), -ENOSPC);
	assert_string_equal(err->msg, "write f: No space left on device");
	ps_error_free(&err);
	assert_int_equal(ps_error_code(NULL), -EIO);
}

/* End to end through the library, with err = NULL. */
static void test_library_not_found_vs_invalid(void **state)
{
	struct fx *f = *state;
	ps_image *img = NULL;
	ps_pod *p = NULL;
	ps_error *err = NULL;

	assert_int_equal(ps_image_resolve(f->store, "nosuch:tag", &img, NULL), -ENOENT);
	assert_int_equal(ps_image_resolve(f->store, "bad name!", &img, NULL), -ENOENT);
	assert_null(img);
	assert_int_equal(ps_pod_lookup(f->store, "0123abcd", &p, NULL), -ENOENT);
	assert_null(p);
	/* A bad name is invalid, not missing. */
	{
		ps_image_import_opts o = { .name = "bad name!" };
		assert_int_equal(ps_image_import(f->store, "/nonexistent", &o, &img, NULL), -EINVAL);
		o.name = NULL;
		assert_int_equal(ps_image_import(f->store, "/nonexistent", &o, &img, NULL), -ENOENT);
		assert_null(img);
	}
	assert_int_equal(ps_image_remove(f->store, "nosuch", false, &err), -ENOENT);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_without_err),
		cmocka_unit_test(test_prefix_keeps_code),
		cmocka_unit_test(test_message_and_first_wins),
		cmocka_unit_test_setup_teardown(test_library_not_found_vs_invalid, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
