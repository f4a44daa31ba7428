/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include <podstore/log.h>

static ps_log_fn log_hook;
static void *log_userdata;

void ps_log_set_hook(ps_log_fn fn, void *userdata)
{
	log_hook = fn;
	log_userdata = userdata;
}

void ps_log(enum ps_log_level level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!log_hook)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_hook(level, buf, log_userdata);
}
