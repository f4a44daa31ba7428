/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The internal helper modules strv.c and json-util.c. */
#include <errno.h>

#include "fixture.h"
#include "json-util.h"
#include "strv.h"
#include "util.h"

static void test_strv(void **state)
{
	_cleanup_strv_ char **v = NULL;
	_cleanup_strv_ char **copy = NULL;

	assert_int_equal(ps_strv_length(NULL), 0);
	assert_false(ps_strv_contains(NULL, "a"));
	assert_null(ps_strv_copy(NULL));
	ps_strv_free(NULL);
	assert_int_equal(ps_strv_push(&v, "a"), 0);
	assert_int_equal(ps_strv_push(&v, ""), 0);
	assert_int_equal(ps_strv_push(&v, "c"), 0);
	assert_int_equal(ps_strv_length(v), 3);
	assert_null(v[3]);
	assert_true(ps_strv_contains(v, ""));
	assert_true(ps_strv_contains(v, "c"));
	assert_false(ps_strv_contains(v, "b"));
	copy = ps_strv_copy(v);
	assert_non_null(copy);
	assert_int_equal(ps_strv_length(copy), 3);
	assert_ptr_not_equal(copy[0], v[0]);
	assert_string_equal(copy[2], "c");
}

static void test_json_parse(void **state)
{
	json_object *o = NULL;
	static const char nul[] = "{\"a\":1}\0{}";

	assert_int_equal(ps_json_parse("{\"a\":1} \n", 9, &o), 0);
	assert_int_equal(ps_json_int(o, "a", -1), 1);
	json_object_put(o);
	assert_int_equal(ps_json_parse("[1,2]", 5, &o), 0);
	json_object_put(o);
	/* Garbage after the value, an embedded NUL, a cut document, nothing. */
	assert_int_equal(ps_json_parse("{} x", 4, &o), -EBADMSG);
	assert_int_equal(ps_json_parse(nul, sizeof(nul) - 1, &o), -EBADMSG);
	assert_int_equal(ps_json_parse("{\"a\":", 5, &o), -EBADMSG);
	assert_int_equal(ps_json_parse("", 0, &o), -EBADMSG);
}

static void test_json_lookups(void **state)
{
	_cleanup_json_ json_object *o = NULL;
	_cleanup_strv_ char **v = NULL;
	_cleanup_free_ char *s = NULL;
	const char *doc = "{\"s\":\"x\",\"n\":7,\"a\":[\"p\",1,null],\"o\":{\"s\":\"y\"},"
			  "\"t\":\"2024-01-02T03:04:05.000000006Z\",\"bad\":\"yesterday\"}";

	assert_int_equal(ps_json_parse(doc, strlen(doc), &o), 0);
	/* Type-checked: the wrong type is as good as missing. */
	assert_string_equal(ps_json_str(o, "s"), "x");
	assert_null(ps_json_str(o, "n"));
	assert_null(ps_json_str(o, "missing"));
	assert_int_equal(ps_json_int(o, "n", -1), 7);
	assert_int_equal(ps_json_int(o, "s", -1), -1);
	assert_non_null(ps_json_array(o, "a"));
	assert_null(ps_json_array(o, "o"));
	assert_null(ps_json_array(ps_json_get(o, "a"), "x")); /* not an object */
	assert_null(ps_json_get(NULL, "x"));
	assert_string_equal(ps_json_str(ps_json_get(o, "o"), "s"), "y");
	assert_int_equal(ps_json_time(o, "t"), 1704164645000000006LL);
	assert_int_equal(ps_json_time(o, "bad"), 0);
	assert_int_equal(ps_json_strv(ps_json_get(o, "a"), &v), 0);
	assert_int_equal(ps_strv_length(v), 3);
	assert_string_equal(v[0], "p");
	assert_string_equal(v[1], ""); /* non-strings become "" */
	ps_strv_free(TAKE_PTR(v));
	assert_int_equal(ps_json_strv(ps_json_get(o, "s"), &v), 0); /* not an array */
	assert_null(v);
	assert_int_equal(ps_json_dup_str(o, "s", &s), 0);
	assert_string_equal(s, "x");
	free(TAKE_PTR(s));
	assert_int_equal(ps_json_dup_str(o, "n", &s), 0);
	assert_null(s);
}

static void test_json_add(void **state)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	assert_int_equal(ps_json_add_str(o, "a", "x"), 0);
	assert_int_equal(ps_json_add_str(o, "b", NULL), 0); /* left out */
	assert_int_equal(ps_json_add_time(o, "t", 1704164645000000006LL), 0);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"a\":\"x\",\"t\":\"2024-01-02T03:04:05.000000006Z\"}");
	assert_int_equal(ps_json_time(o, "t"), 1704164645000000006LL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strv),
		cmocka_unit_test(test_json_parse),
		cmocka_unit_test(test_json_lookups),
		cmocka_unit_test(test_json_add),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
