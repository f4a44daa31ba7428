/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_SHA256_H
#define PODSTORE_SHA256_H

/*
 * SHA-256, internal: blob digests of the image store.
 *
 * libnettle's sha256 (SHA-NI or assembly, picked at run time: ~1 GB/s here
 * against ~120 MB/s for portable C, which made hashing dominate the import
 * of a 200 MB layer). nettle is dlopen()ed on the first ps_sha256_init(),
 * not linked: linking it doubled the dynamic loader's work at every podctl
 * start, for the few commands that hash. Without libnettle.so.8 the portable
 * implementation (FIPS 180-4) is used; tests/unit/test-sha256.c runs the
 * vectors through both.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <nettle/sha2.h>

#define PS_SHA256_LEN 32
#define PS_SHA256_HEX_LEN 64

struct ps_sha256_portable {
	uint32_t h[8];
	uint64_t len;      /* bytes hashed so far */
	uint8_t buf[64];
	size_t n;          /* bytes pending in buf */
};

typedef struct ps_sha256 {
	union {
		struct sha256_ctx nettle; /* only nettle's headers at build time */
		struct ps_sha256_portable p;
	} u;
	bool nettle;
} ps_sha256;

void ps_sha256_init(ps_sha256 *c);
/* The portable implementation, without loading nettle: for a few KiB of
 * input, where a dlopen() would cost more than it saves (in the static
 * stage1 it maps a second libc). Same update/final functions. */
void ps_sha256_init_portable(ps_sha256 *c);
void ps_sha256_update(ps_sha256 *c, const void *data, size_t len);
void ps_sha256_final(ps_sha256 *c, uint8_t out[PS_SHA256_LEN]);
/* Final digest as 64 lower-case hex digits and a NUL. */
void ps_sha256_final_hex(ps_sha256 *c, char out[PS_SHA256_HEX_LEN + 1]);

/* A string is 64 lower-case hex digits. */
int ps_sha256_hex_is_valid(const char *s);

/* For tests: allow (the default) or forbid nettle in later ps_sha256_init()s.
 * Returns whether they will use nettle. */
bool ps_sha256_use_nettle(bool allow);

#endif
