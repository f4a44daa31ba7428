/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the manifest parser: whatever the bytes, parsing either
 * fails with an error or yields a manifest that serializes and parses back
 * to the same JSON. Built with libFuzzer by `make fuzz`; `make check` replays
 * the corpus through tests/fuzz/replay.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <podstore/manifest.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ps_manifest *m = NULL, *m2 = NULL;
	ps_error *err = NULL;
	char *json = NULL, *json2 = NULL;

	if (ps_manifest_parse((const char *)data, size, &m, &err) < 0) {
		if (!err || !err->msg)
			abort(); /* a failure always says why */
		ps_error_free(&err);
		return 0;
	}
	if (ps_manifest_to_json(m, &json, &err) < 0)
		abort(); /* what parsed must serialize */
	if (ps_manifest_parse(json, strlen(json), &m2, &err) < 0)
		abort(); /* ... and parse back */
	if (ps_manifest_to_json(m2, &json2, &err) < 0 || strcmp(json, json2) != 0)
		abort(); /* ... to the same thing */
	free(json);
	free(json2);
	ps_manifest_free(m);
	ps_manifest_free(m2);
	return 0;
}
