/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target for stage1's sd_notify datagram parser (stage1/notify.c), the
 * first code that reads bytes an app sends: whatever the datagram, parsing
 * fails with -EMSGSIZE/-EBADMSG or yields fields within their ranges, and
 * the fields written back as a datagram parse to the same fields.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct notify_msg *a, const struct notify_msg *b)
{
	if (a->ready != b->ready || a->stopping != b->stopping || a->reloading != b->reloading ||
	    a->watchdog != b->watchdog || a->watchdog_trigger != b->watchdog_trigger ||
	    a->mainpid != b->mainpid || a->watchdog_usec != b->watchdog_usec ||
	    a->extend_usec != b->extend_usec || a->errnum != b->errnum ||
	    !a->status != !b->status || (a->status && strcmp(a->status, b->status) != 0))
		abort();
}

/* The sending side too (libpodstore/sdnotify.c): the input cut at NUL bytes
 * into command words ("ready", "status=TEXT", "KEY=VALUE"...). What it
 * builds must fit a datagram and parse. */
static void fuzz_build(const uint8_t *data, size_t size)
{
	char *words[16], *copy = malloc(size + 1), *msg = NULL;
	const char *bad = NULL;
	size_t len = 0;
	int n = 0;

	if (!copy)
		return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *p = copy; n < 16 && p <= copy + size; p += strlen(p) + 1)
		words[n++] = p;
	int r = ps_sd_notify_build(n, words, &msg, &len, &bad);
	if (r == 0) {
		struct notify_msg m;
		if (!msg || len > PS_NOTIFY_MSG_MAX || strlen(msg) != len)
			abort();
		if (notify_parse(msg, len, &m) < 0)
			abort();
		notify_msg_clear(&m);
	} else if (r != -EINVAL && r != -E2BIG && r != -ENOMEM) {
		abort();
	}
	free(msg);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notify_msg m, m2;

	fuzz_build(data, size);
	char out[PS_NOTIFY_MSG_MAX + 512];
	int r = notify_parse((const char *)data, size, &m);
	if (r < 0) {
		if (r != -EMSGSIZE && r != -EBADMSG && r != -ENOMEM)
			abort();
		if (r == -EMSGSIZE && size <= PS_NOTIFY_MSG_MAX)
			abort();
		return 0;
	}
	if (size > PS_NOTIFY_MSG_MAX || memchr(data, '\0', size))
		abort(); /* must have been refused */
	if (m.mainpid < 0 || (m.status && (strchr(m.status, '\n') || strlen(m.status) > size)))
		abort();
	if (m.watchdog_usec < -1 || m.extend_usec < -1 || m.errnum < -1)
		abort();

	/* Write the fields back and parse again. */
	int n = snprintf(out, sizeof(out), "%s%s%s%s%s", m.ready ? "READY=1\n" : "",
	                 m.stopping ? "STOPPING=1\n" : "", m.reloading ? "RELOADING=1\n" : "",
	                 m.watchdog ? "WATCHDOG=1\n" : "", m.watchdog_trigger ? "WATCHDOG=trigger\n" : "");
	if (m.mainpid)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "MAINPID=%d\n", (int)m.mainpid);
	if (m.watchdog_usec >= 0)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "WATCHDOG_USEC=%lld\n", m.watchdog_usec);
	if (m.extend_usec >= 0)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "EXTEND_TIMEOUT_USEC=%lld\n", m.extend_usec);
	if (m.errnum >= 0)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "ERRNO=%d\n", m.errnum);
	if (m.status)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "STATUS=%s\n", m.status);
	if ((size_t)n < sizeof(out) && (size_t)n <= PS_NOTIFY_MSG_MAX) {
		if (notify_parse(out, (size_t)n, &m2) < 0)
			abort();
		check_same(&m, &m2);
		if (m2.n_unknown || m2.n_invalid)
			abort();
		notify_msg_clear(&m2);
	}
	notify_msg_clear(&m);
	return 0;
}
