/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_LOG_H
#define PODSTORE_LOG_H

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

/*
 * The library never prints. What it has to say beyond errors (a skipped
 * locked pod during gc, a fallback taken) goes to a hook the program installs;
 * without a hook it is dropped.
 */

enum ps_log_level { PS_LOG_DEBUG, PS_LOG_INFO, PS_LOG_WARNING };

typedef void (*ps_log_fn)(enum ps_log_level level, const char *msg, void *userdata);

/* Install the hook (process-wide; NULL drops messages again). */
void ps_log_set_hook(ps_log_fn fn, void *userdata);
/* Format and hand a message to the hook, if any (used by the library). */
void ps_log(enum ps_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#pragma GCC visibility pop

#endif
