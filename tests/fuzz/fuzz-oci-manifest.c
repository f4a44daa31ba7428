/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for an OCI image manifest: its config descriptor and layer
 * descriptors either check out (a valid sha256 and a sane size each) or
 * fail with an error that says why.
 */
#include <stdint.h>
#include <stdlib.h>

#include "image-internal.h"
#include "json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *o = NULL, *layers = NULL;
	ps_error *err = NULL;
	const char *hex;
	long long n;

	if (ps_json_parse((const char *)data, size, &o) < 0)
		return 0;
	(void)oci_is_index(o);
	if (oci_descriptor(ps_json_get(o, "config"), &hex, &n, &err) < 0) {
		if (!err || !err->msg)
			abort();
		ps_error_free(&err);
	} else if (!ps_sha256_hex_is_valid(hex)) {
		abort();
	}
	if (oci_manifest_layers(o, &layers, &err) < 0) {
		if (!err || !err->msg)
			abort();
		ps_error_free(&err);
	} else {
		for (size_t i = 0; i < json_object_array_length(layers); i++)
			if (oci_descriptor(json_object_array_get_idx(layers, i), &hex, &n, NULL) < 0 ||
			    n < -1)
				abort(); /* oci_manifest_layers() checked every one */
	}
	json_object_put(o);
	return 0;
}
