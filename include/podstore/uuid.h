/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_UUID_H
#define PODSTORE_UUID_H

/*
 * Pod uuids: random v4, canonical lower case. Pure functions, no errors.
 */

#include <stdbool.h>
#include <stddef.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

#define PS_UUID_LEN 36 /* without the NUL */

/* A fresh random (v4) uuid, lower case with dashes. */
void ps_uuid_generate(char out[PS_UUID_LEN + 1]);

/* A full uuid in the canonical lower-case form. */
bool ps_uuid_is_valid(const char *s);

/* A non-empty prefix of such a uuid: [0-9a-f-] only, no longer than a uuid. */
bool ps_uuid_prefix_is_valid(const char *s);

#pragma GCC visibility pop

#endif
