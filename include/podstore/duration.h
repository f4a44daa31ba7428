/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_DURATION_H
#define PODSTORE_DURATION_H

/*
 * Durations as the CLI and the manifest spell them. Pure functions: no
 * allocation, no state; errors follow error.h.
 */

#include <stddef.h>
#include <podstore/error.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

/* Parse "500ms", "10s", "30m", "2h", "1h30m", "0" (a bare number is
 * seconds) into milliseconds. Negative, empty, overflowing or unknown units
 * are PS_ERR_INVALID. */
int ps_duration_parse(const char *s, long long *ret_ms, ps_error **err);

/* Format ms as the shortest of the forms above ("1h30m", "500ms", "0s"). */
void ps_duration_format(long long ms, char *buf, size_t len);

#pragma GCC visibility pop

#endif
