/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the Docker/OCI seccomp profile parser (libpodstore/
 * security.c): whatever the bytes, parsing fails with a message or yields a
 * resolved profile within the limits, and parsing the same bytes again
 * gives the same digest (what stage1's filter cache is keyed by).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "security.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const ps_sc_profile *p)
{
	if (p->n_rules > PS_SC_MAX_RULES || p->n_arches > PS_SC_MAX_ARCHES)
		abort();
	if (p->default_action < PS_SC_ALLOW || p->default_action > PS_SC_LOG)
		abort();
	for (size_t i = 0; i < p->n_rules; i++) {
		const ps_sc_rule *r = &p->rules[i];
		if (r->n_names == 0 || r->n_args > PS_SC_MAX_ARGS || r->errno_ret < 0 || r->errno_ret > 4095)
			abort();
		for (size_t j = 0; j < r->n_args; j++)
			if (r->args[j].index > 5 || r->args[j].op < PS_SC_NE || r->args[j].op > PS_SC_MASKED_EQ)
				abort();
		for (size_t j = 0; j < r->n_names; j++)
			if (!r->names[j] || !*r->names[j])
				abort();
		if (r->names[r->n_names])
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t caps[] = { ps_caps_default(), ps_caps_all(), 0 };

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		ps_sc_profile *p = NULL, *p2 = NULL;
		ps_error *err = NULL;
		char d1[65], d2[65];

		if (ps_sc_profile_parse((const char *)data, size, caps[c], NULL, &p, &err) < 0) {
			if (!err || !err->msg)
				abort(); /* a failure always says why */
			ps_error_free(&err);
			continue;
		}
		check(p);
		if (ps_sc_profile_parse((const char *)data, size, caps[c], NULL, &p2, &err) < 0)
			abort();
		if (ps_sc_profile_digest(p, d1, &err) < 0 || ps_sc_profile_digest(p2, d2, &err) < 0 ||
		    strcmp(d1, d2) != 0)
			abort();
		ps_sc_profile_free(p);
		ps_sc_profile_free(p2);
	}
	return 0;
}
