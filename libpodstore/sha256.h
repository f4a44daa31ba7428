/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_SHA256_H
#define PODSTORE_SHA256_H

/* SHA-256 (FIPS 180-4), internal: blob digests of the image store. */

#include <stddef.h>
#include <stdint.h>

#define PS_SHA256_LEN 32
#define PS_SHA256_HEX_LEN 64

typedef struct ps_sha256 {
	uint32_t h[8];
	uint64_t len;      /* bytes hashed so far */
	uint8_t buf[64];
	size_t n;          /* bytes pending in buf */
} ps_sha256;

void ps_sha256_init(ps_sha256 *c);
void ps_sha256_update(ps_sha256 *c, const void *data, size_t len);
void ps_sha256_final(ps_sha256 *c, uint8_t out[PS_SHA256_LEN]);
/* Final digest as 64 lower-case hex digits and a NUL. */
void ps_sha256_final_hex(ps_sha256 *c, char out[PS_SHA256_HEX_LEN + 1]);

/* A string is 64 lower-case hex digits. */
int ps_sha256_hex_is_valid(const char *s);

#endif
