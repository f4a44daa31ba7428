/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-256: libnettle's when it loads (dlopen()ed on first use, like
 * libarchive, so that commands that never hash do not pay for loading it),
 * else a portable one written from FIPS 180-4, section 6.2.
 */

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include "sha256.h"

static struct {
	__typeof__(nettle_sha256_init) *init;
	__typeof__(nettle_sha256_update) *update;
	__typeof__(nettle_sha256_digest) *digest;
} nettle;
static pthread_once_t nettle_once = PTHREAD_ONCE_INIT;
static bool portable_only;

static void nettle_load(void)
{
	/* The soname of nettle 3.6 and later; the major version is the ABI. */
	void *h = dlopen("libnettle.so.8", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	nettle.init = (__typeof__(nettle.init))dlsym(h, "nettle_sha256_init");
	nettle.update = (__typeof__(nettle.update))dlsym(h, "nettle_sha256_update");
	nettle.digest = (__typeof__(nettle.digest))dlsym(h, "nettle_sha256_digest");
	if (!nettle.init || !nettle.update || !nettle.digest)
		nettle.init = NULL;
}

bool ps_sha256_use_nettle(bool allow)
{
	portable_only = !allow;
	pthread_once(&nettle_once, nettle_load);
	return allow && nettle.init;
}

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			      K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void ps_sha256_init_portable(ps_sha256 *c)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	c->nettle = false;
	memcpy(c->u.p.h, iv, sizeof(iv));
	c->u.p.len = 0;
	c->u.p.n = 0;
}

void ps_sha256_init(ps_sha256 *c)
{
	pthread_once(&nettle_once, nettle_load);
	c->nettle = nettle.init && !portable_only;
	if (c->nettle) {
		nettle.init(&c->u.nettle);
		return;
	}
	ps_sha256_init_portable(c);
}

void ps_sha256_update(ps_sha256 *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (ctx->nettle) {
		nettle.update(&ctx->u.nettle, len, p);
		return;
	}
	struct ps_sha256_portable *c = &ctx->u.p;
	c->len += len;
	if (c->n) {
		size_t k = 64 - c->n < len ? 64 - c->n : len;
		memcpy(c->buf + c->n, p, k);
		c->n += k, p += k, len -= k;
		if (c->n < 64)
			return;
		sha256_block(c->h, c->buf);
		c->n = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		sha256_block(c->h, p);
	memcpy(c->buf, p, len);
	c->n = len;
}

void ps_sha256_final(ps_sha256 *ctx, uint8_t out[PS_SHA256_LEN])
{
	if (ctx->nettle) {
		nettle.digest(&ctx->u.nettle, PS_SHA256_LEN, out);
		return;
	}
	struct ps_sha256_portable *c = &ctx->u.p;
	uint64_t bits = c->len * 8;
	int i;

	c->buf[c->n++] = 0x80;
	if (c->n > 56) {
		memset(c->buf + c->n, 0, 64 - c->n);
		sha256_block(c->h, c->buf);
		c->n = 0;
	}
	memset(c->buf + c->n, 0, 56 - c->n);
	for (i = 0; i < 8; i++)
		c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_block(c->h, c->buf);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->h[i];
	}
}

void ps_sha256_final_hex(ps_sha256 *c, char out[PS_SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[PS_SHA256_LEN];
	int i;

	ps_sha256_final(c, d);
	for (i = 0; i < PS_SHA256_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[PS_SHA256_HEX_LEN] = '\0';
}

int ps_sha256_hex_is_valid(const char *s)
{
	size_t i;

	for (i = 0; i < PS_SHA256_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}
