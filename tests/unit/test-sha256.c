/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "sha256.h"

static void hex_of(const void *data, size_t len, size_t chunk, char out[65])
{
	ps_sha256 c;
	const uint8_t *p = data;
	size_t off;

	ps_sha256_init(&c);
	for (off = 0; off < len; off += chunk)
		ps_sha256_update(&c, p + off, len - off < chunk ? len - off : chunk);
	ps_sha256_final_hex(&c, out);
}

/* FIPS 180-2 appendix B vectors and the empty string. */
static void test_vectors(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	char out[65];
	size_t i, chunk;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (chunk = 1; chunk <= 130; chunk += 13) {
			hex_of(v[i].in, strlen(v[i].in), chunk, out);
			assert_string_equal(out, v[i].out);
		}
}

static void test_million_a(void **state)
{
	static char a[1000000];
	char out[65];

	memset(a, 'a', sizeof(a));
	hex_of(a, sizeof(a), 4096, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	hex_of(a, sizeof(a), 63, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the padding boundary (55, 56, 63, 64 bytes). */
static void test_padding_edges(void **state)
{
	char out[65];
	char b[64];

	memset(b, 'a', sizeof(b));
	hex_of(b, 55, 64, out);
	assert_string_equal(out, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	hex_of(b, 56, 64, out);
	assert_string_equal(out, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	hex_of(b, 64, 64, out);
	assert_string_equal(out, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_hex_valid(void **state)
{
	assert_true(ps_sha256_hex_is_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	assert_false(ps_sha256_hex_is_valid("E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	assert_false(ps_sha256_hex_is_valid("e3b0"));
	assert_false(ps_sha256_hex_is_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550"));
	assert_false(ps_sha256_hex_is_valid("../0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

/* Run the vectors through nettle (where it loads) and the portable code. */
static int with_nettle(void **state)
{
	ps_sha256_use_nettle(true);
	return 0;
}

static int portable(void **state)
{
	ps_sha256_use_nettle(false);
	return 0;
}

static int restore(void **state)
{
	ps_sha256_use_nettle(true);
	return 0;
}

static void test_nettle_loads(void **state)
{
	/* libnettle8 comes with libarchive on every machine we build on. */
	assert_true(ps_sha256_use_nettle(true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nettle_loads),
		cmocka_unit_test_setup_teardown(test_vectors, with_nettle, restore),
		cmocka_unit_test_setup_teardown(test_million_a, with_nettle, restore),
		cmocka_unit_test_setup_teardown(test_padding_edges, with_nettle, restore),
		cmocka_unit_test_setup_teardown(test_vectors, portable, restore),
		cmocka_unit_test_setup_teardown(test_million_a, portable, restore),
		cmocka_unit_test_setup_teardown(test_padding_edges, portable, restore),
		cmocka_unit_test(test_hex_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
