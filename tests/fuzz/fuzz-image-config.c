/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for an image config (OCI and docker alike): the runtime
 * config (Entrypoint, Cmd, Env, WorkingDir, User) and the rootfs diff_ids
 * a docker-archive's layers are checked against.
 */
#include <stdint.h>
#include <stdlib.h>

#include "image-internal.h"
#include "json-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_object *o = NULL, *diff_ids;
	ps_image_config cfg = { 0 };

	if (ps_json_parse((const char *)data, size, &o) < 0)
		return 0;
	if (image_config_parse(o, &cfg) < 0)
		abort(); /* only ENOMEM can fail */
	for (char **p = cfg.env; p && *p; p++)
		if (!*p)
			abort();
	image_config_clear(&cfg);
	diff_ids = ps_json_array(ps_json_get(o, "rootfs"), "diff_ids");
	for (size_t i = 0; diff_ids && i < json_object_array_length(diff_ids); i++) {
		json_object *e = json_object_array_get_idx(diff_ids, i);
		const char *hex = image_digest_hex(json_object_is_type(e, json_type_string)
							   ? json_object_get_string(e)
							   : NULL);
		if (hex && !ps_sha256_hex_is_valid(hex))
			abort();
	}
	json_object_put(o);
	return 0;
}
