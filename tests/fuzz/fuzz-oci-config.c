/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for podctl-oci's config.json mapping (cmd/podctl-oci/spec.c):
 * whatever the bytes, the mapping fails with a message, or yields a manifest
 * that validates and serializes, with a rootfs inside the bundle. The bundle
 * is a scratch dir with a rootfs/ made once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char bundle[] = "/tmp/podctl-fuzz-oci.XXXXXX";

static void cleanup(void)
{
	char p[64];
	snprintf(p, sizeof(p), "%s/rootfs", bundle);
	rmdir(p);
	rmdir(bundle);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct oci_spec s = { 0 };
	ps_error *err = NULL;
	char *json = NULL;

	if (!ready) {
		char p[64];
		if (!mkdtemp(bundle))
			abort();
		snprintf(p, sizeof(p), "%s/rootfs", bundle);
		if (mkdir(p, 0755) < 0)
			abort();
		atexit(cleanup);
		ready = true;
	}
	if (oci_spec_parse((const char *)data, size, bundle, "fuzz", &s, &err) < 0) {
		if (!err || !err->msg)
			abort(); /* a refusal always says why */
		ps_error_free(&err);
		return 0;
	}
	if (!s.m || s.m->n_apps != 1 || !s.rootfs || strncmp(s.rootfs, bundle, strlen(bundle)) != 0)
		abort(); /* one app, its root inside the bundle */
	if (ps_manifest_to_json(s.m, &json, &err) < 0)
		abort(); /* what was accepted is a valid manifest */
	free(json);
	oci_spec_clear(&s);
	return 0;
}
