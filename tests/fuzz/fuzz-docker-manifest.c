/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for a docker-archive's manifest.json: picking the entry,
 * its Config, Layers and RepoTags either works or fails with an error that
 * says why; names that come out are normalised "name:tag".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image-internal.h"
#include "json-util.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void entry_of(json_object *manifest, const char *want)
{
	json_object *entry = NULL, *layers = NULL;
	ps_error *err = NULL;
	char **names = NULL, hex[PS_SHA256_HEX_LEN + 1];
	const char *config;

	if (docker_manifest_pick(manifest, want, &entry, &err) < 0) {
		if (!err || !err->msg)
			abort();
		ps_error_free(&err);
		return;
	}
	config = ps_json_str(entry, "Config");
	if (config)
		(void)docker_hex_from_path(config, hex);
	if (docker_entry_layers(entry, &layers, &err) < 0) {
		if (!err || !err->msg)
			abort();
		ps_error_free(&err);
	} else {
		for (size_t i = 0; i < json_object_array_length(layers); i++) {
			const char *p = json_object_get_string(json_object_array_get_idx(layers, i));
			if (!p || !*p)
				abort(); /* docker_entry_layers() checked every one */
			(void)docker_hex_from_path(p, hex);
		}
	}
	if (docker_entry_names(entry, &names) < 0)
		abort();
	for (char **n = names; n && *n; n++)
		if (!strchr(*n, ':'))
			abort(); /* normalised: always a tag */
	ps_strv_free(names);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *o = NULL;

	if (ps_json_parse((const char *)data, size, &o) < 0)
		return 0;
	entry_of(o, NULL);
	entry_of(o, "example/dock:v2");
	json_object_put(o);
	return 0;
}
