/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"
#include <podstore/uuid.h>

/* What libuuid's uuid_generate_random() does, without loading a library
 * for it: getrandom(), else /dev/urandom, else (no /dev, a seccomp filter)
 * a generator seeded with the time and pid. A taken uuid is never reused:
 * the caller's mkdir fails and it draws another. */
static void random_bytes(unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, GRND_NONBLOCK);
		if (n > 0)
			got += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	if (got < len) {
		_cleanup_close_ int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY);
		while (fd >= 0 && got < len) {
			ssize_t n = read(fd, buf + got, len - got);
			if (n > 0)
				got += (size_t)n;
			else if (!(n < 0 && errno == EINTR))
				break;
		}
	}
	if (got < len) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned seed = (unsigned)ts.tv_nsec ^ (unsigned)ts.tv_sec ^ ((unsigned)getpid() << 16);
		for (size_t i = got; i < len; i++)
			buf[i] = (unsigned char)(rand_r(&seed) >> 7);
	}
}

void ps_uuid_generate(char out[PS_UUID_LEN + 1])
{
	unsigned char u[16];

	random_bytes(u, sizeof(u));
	u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
	u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* variant RFC 4122 */
	snprintf(out, PS_UUID_LEN + 1,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
	         u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
	         u[15]);
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
