/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <uuid/uuid.h>

#include "util.h"
#include <podstore/uuid.h>

void ps_uuid_generate(char out[PS_UUID_LEN + 1])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

static bool is_hex_lower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool ps_uuid_is_valid(const char *s)
{
	if (!s || strlen(s) != PS_UUID_LEN)
		return false;
	for (int i = 0; i < PS_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !is_hex_lower(s[i]))
			return false;
	}
	return true;
}

bool ps_uuid_prefix_is_valid(const char *s)
{
	size_t n;

	if (!s || !*s)
		return false;
	n = strlen(s);
	if (n > PS_UUID_LEN)
		return false;
	/* Same shape as a uuid as far as it goes: dashes only where a uuid has them. */
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !is_hex_lower(s[i]))
			return false;
	}
	return true;
}
