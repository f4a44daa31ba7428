/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Messages of stage1 itself: warnings always, debug lines (with
 * microseconds since the first) under --debug. On its stderr, or for a
 * detached pod (whose stderr is /dev/null) in the pod's stage1.log, stamped
 * and rotated as an app's log (logfile.c). And the names of app statuses,
 * as markers and events spell them.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>

#include "applog.h"
#include "stage1.h"
#include "util.h"

static bool debug_on;
static const char *log_uuid = "";
/* stage1.log once s1_log_to_file() opened it; only the process that
 * opened it rotates it (a child of ours that says something appends) */
static struct logfile file = { .fd = -1 };
static pid_t file_owner;

void s1_log_init(const char *uuid, bool debug)
{
	log_uuid = uuid ? uuid : "";
	debug_on = debug;
}

int s1_log_to_file(int pod_fd)
{
	file = (struct logfile){ .dirfd = pod_fd, .name = PS_FILE_STAGE1_LOG, .old = PS_FILE_STAGE1_LOG_OLD,
		                 .limit = PS_STAGE1_LOG_ROTATE_BYTES, .fd = -1 };
	file_owner = getpid();
	return logfile_open(&file);
}

int s1_log_fd(void)
{
	return file.fd;
}

/* One message, a whole line: to stderr, or to stage1.log. */
static void __attribute__((format(printf, 2, 0))) say(const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s", prefix);

	if (n >= 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	size_t len = strnlen(line, sizeof(line) - 2);
	line[len++] = '\n';
	if (file.fd < 0) {
		fwrite(line, 1, len, stderr);
	} else if (getpid() == file_owner) {
		logfile_append(&file, line, len);
	} else {
		bool bol = true;
		size_t used;
		long long w;
		ps_applog_write(file.fd, &bol, ps_now_ns(), line, len, LLONG_MAX, &used, &w);
	}
}

void s1_debug(const char *fmt, ...)
{
	static long long t0;
	char prefix[96];
	va_list ap;

	if (!debug_on)
		return;
	long long now = ps_monotonic_ns();
	if (!t0)
		t0 = now;
	snprintf(prefix, sizeof(prefix), "podctl-stage1[%.8s] +%lldus: ", log_uuid, (now - t0) / 1000);
	va_start(ap, fmt);
	say(prefix, fmt, ap);
	va_end(ap);
}

void s1_warn(const char *fmt, ...)
{
	char prefix[96];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "podctl-stage1: pod %s: ", log_uuid);
	va_start(ap, fmt);
	say(prefix, fmt, ap);
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
