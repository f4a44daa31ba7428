/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "restart.h"

void restart_backoff_init(struct restart_backoff *b, long long initial_ms, long long max_ms)
{
	if (initial_ms <= 0)
		initial_ms = 10000;
	if (max_ms < initial_ms)
		max_ms = initial_ms;
	*b = (struct restart_backoff){ .initial_ms = initial_ms, .max_ms = max_ms };
}

bool restart_wanted(ps_restart_policy policy, int code, int signal)
{
	switch (policy) {
	case PS_RESTART_ALWAYS:
		return true;
	case PS_RESTART_ON_FAILURE:
		return code != 0 || signal != 0;
	case PS_RESTART_NEVER:
	default:
		return false;
	}
}

long long restart_backoff_next(struct restart_backoff *b, long long ran_ms)
{
	if (ran_ms >= RESTART_RESET_AFTER_MS)
		b->streak = 0;
	long long d = b->initial_ms;
	/* Double streak times, stopping at the cap (and before overflow). */
	for (unsigned i = 0; i < b->streak && d < b->max_ms; i++)
		d *= 2;
	if (d > b->max_ms)
		d = b->max_ms;
	b->streak++;
	b->total++;
	return d;
}
