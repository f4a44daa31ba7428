/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for an OCI layout's index.json (and nested indexes): parsing
 * and picking a manifest either fails with an error that says why, or
 * yields a descriptor borrowed from the document. Built with libFuzzer by
 * `make fuzz`; `make check` replays the corpus (tests/fuzz/replay.c).
 */
#include <stdint.h>
#include <stdlib.h>

#include "image-internal.h"
#include "json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void pick(json_object *index, const char *name)
{
	ps_error *err = NULL;
	json_object *d = NULL;
	const char *hex;
	long long n;

	if (oci_index_pick(index, name, &d, &err) < 0) {
		if (!err || !err->msg)
			abort(); /* a failure always says why */
		ps_error_free(&err);
		return;
	}
	if (!d)
		abort();
	if (oci_descriptor(d, &hex, &n, &err) < 0) {
		if (!err || !err->msg)
			abort();
		ps_error_free(&err);
		return;
	}
	if (!ps_sha256_hex_is_valid(hex) || n < -1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *o = NULL;

	if (ps_json_parse((const char *)data, size, &o) < 0)
		return 0;
	pick(o, NULL);
	pick(o, "example.com/app:latest");
	pick(o, "latest");
	(void)oci_is_index(o);
	json_object_put(o);
	return 0;
}
