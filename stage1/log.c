/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Messages of stage1 itself, on its stderr: warnings always, debug lines
 * (with microseconds since the first) under --debug. And the names of app
 * statuses, as markers and events spell them.
 */
#include <stdarg.h>
#include <stdio.h>

#include "stage1.h"
#include "util.h"

static bool debug_on;
static const char *log_uuid = "";

void s1_log_init(const char *uuid, bool debug)
{
	log_uuid = uuid ? uuid : "";
	debug_on = debug;
}

void s1_debug(const char *fmt, ...)
{
	static long long t0;
	va_list ap;

	if (!debug_on)
		return;
	long long now = ps_monotonic_ns();
	if (!t0)
		t0 = now;
	va_start(ap, fmt);
	fprintf(stderr, "podctl-stage1[%.8s] +%lldus: ", log_uuid, (now - t0) / 1000);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void s1_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "podctl-stage1: pod %s: ", log_uuid);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

const char *app_status_name(enum app_status s)
{
	static const char *const names[] = {
		[APP_INSTALLED] = "INSTALLED", [APP_MOUNTED] = "MOUNTED", [APP_BLOCKED] = "BLOCKED",
		[APP_STARTING] = "STARTING",   [APP_STARTED] = "STARTED", [APP_READY] = "READY",
		[APP_STOPPING] = "STOPPING",   [APP_STOPPED] = "STOPPED", [APP_EXITED] = "EXITED",
		[APP_FAILED] = "FAILED",
	};
	return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "?";
}
