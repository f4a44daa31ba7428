/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pod names: claim, resolve, release, stale links and lookups by name. */
#include <fcntl.h>
#include <unistd.h>

#include "fixture.h"
#include "util.h"

static void claim_resolve_release(void **state)
{
	struct fx *f = *state;
	char a[PS_UUID_LEN + 1], b[PS_UUID_LEN + 1], got[PS_UUID_LEN + 1];
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_PREPARED, a);
	fx_make_pod(f, PS_DIR_PREPARED, b);
	assert_int_equal(ps_pod_name_claim(f->store, "web", a, &err), 0);
	/* Claiming again for the same pod is fine; for another is busy. */
	assert_int_equal(ps_pod_name_claim(f->store, "web", a, &err), 0);
	assert_true(ps_pod_name_claim(f->store, "web", b, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_BUSY);
	assert_non_null(strstr(err->msg, a));
	ps_error_free(&err);

	assert_int_equal(ps_pod_name_resolve(f->store, "web", got, &err), 0);
	assert_string_equal(got, a);
	/* Release by someone else's uuid changes nothing. */
	assert_int_equal(ps_pod_name_release(f->store, "web", b, &err), 0);
	assert_int_equal(ps_pod_name_resolve(f->store, "web", got, &err), 0);
	assert_int_equal(ps_pod_name_release(f->store, "web", a, &err), 0);
	assert_true(ps_pod_name_resolve(f->store, "web", got, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
	assert_int_equal(ps_pod_name_claim(f->store, "web", b, &err), 0);
}

/* A link whose pod is gone, or in garbage, does not hold the name. */
static void stale_links(void **state)
{
	struct fx *f = *state;
	char a[PS_UUID_LEN + 1], b[PS_UUID_LEN + 1], got[PS_UUID_LEN + 1];
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_GARBAGE, a);
	fx_make_pod(f, PS_DIR_PREPARED, b);
	assert_int_equal(ps_pod_name_claim(f->store, "db", a, &err), 0);
	assert_true(ps_pod_name_resolve(f->store, "db", got, &err) < 0);
	ps_error_free(&err);
	assert_int_equal(ps_pod_name_claim(f->store, "db", b, &err), 0);
	assert_int_equal(ps_pod_name_resolve(f->store, "db", got, &err), 0);
	assert_string_equal(got, b);

	/* A pod that no longer exists at all. */
	assert_int_equal(ps_pod_name_claim(f->store, "gone", "01234567-89ab-4def-8123-456789abcdef", &err), 0);
	assert_true(ps_pod_name_resolve(f->store, "gone", got, &err) < 0);
	ps_error_free(&err);
	assert_int_equal(ps_pod_name_claim(f->store, "gone", b, &err), 0);

	/* Garbage in the index is no name. */
	int nfd = openat(ps_store_fd(f->store), "names", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(nfd >= 0);
	assert_int_equal(symlinkat("../../etc/passwd", nfd, "evil"), 0);
	close(nfd);
	assert_true(ps_pod_name_resolve(f->store, "evil", got, &err) < 0);
	ps_error_free(&err);
}

static void bad_names(void **state)
{
	struct fx *f = *state;
	char a[PS_UUID_LEN + 1], got[PS_UUID_LEN + 1];
	ps_error *err = NULL;

	fx_make_pod(f, PS_DIR_PREPARED, a);
	const char *bad[] = { "", ".", "..", "a/b", "../names", "Web", "-x", "x y" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_true(ps_pod_name_claim(f->store, bad[i], a, &err) < 0);
		assert_int_equal(err->kind, PS_ERR_INVALID);
		ps_error_free(&err);
		assert_true(ps_pod_name_resolve(f->store, bad[i], got, &err) < 0);
		ps_error_free(&err);
	}
}

/* ps_pod_lookup: full uuid, then exact name, then prefix. */
static void lookup_by_name(void **state)
{
	struct fx *f = *state;
	char a[PS_UUID_LEN + 1], b[PS_UUID_LEN + 1];
	ps_error *err = NULL;
	ps_pod *p = NULL;

	fx_make_pod(f, PS_DIR_PREPARED, a);
	fx_make_pod(f, PS_DIR_RUN, b);
	/* Name pod b after the first four hex digits of pod a's uuid. */
	char prefix[5];
	memcpy(prefix, a, 4);
	prefix[4] = '\0';
	if (strncmp(b, prefix, 4) == 0)
		skip(); /* one in 65,536 */
	assert_int_equal(ps_pod_name_claim(f->store, prefix, b, &err), 0);
	assert_int_equal(ps_pod_lookup(f->store, prefix, &p, &err), 0);
	assert_string_equal(p->uuid, b);
	ps_pod_free(p);
	assert_int_equal(ps_pod_lookup(f->store, a, &p, &err), 0);
	assert_string_equal(p->uuid, a);
	ps_pod_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(claim_resolve_release, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(stale_links, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bad_names, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(lookup_by_name, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
