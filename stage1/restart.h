/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_RESTART_H
#define PODCTL_STAGE1_RESTART_H

/*
 * Restart policy and back-off, Kubernetes style: the k-th restart in a row
 * waits initial × 2^(k-1), capped at max (10s, 20s, 40s … 5m by default);
 * a run that lasted RESTART_RESET_AFTER_MS resets the streak. Pure
 * functions of their inputs, no clock inside.
 */

#include <stdbool.h>
#include <podstore/podstore.h>

#define RESTART_RESET_AFTER_MS (10LL * 60 * 1000)

struct restart_backoff {
	long long initial_ms;
	long long max_ms;
	unsigned streak;       /* restarts in a row without a long enough run */
	unsigned total;        /* restarts of this app since the pod started */
};

void restart_backoff_init(struct restart_backoff *b, long long initial_ms, long long max_ms);

/* Does the policy restart an app that ended this way? "ok" is exit code 0
 * without a signal; an app we stopped on purpose is never restarted (the
 * caller knows that, not us). */
bool restart_wanted(ps_restart_policy policy, int code, int signal);

/* Count a restart of an app that ran ran_ms and return how long to wait
 * before starting it again. */
long long restart_backoff_next(struct restart_backoff *b, long long ran_ms);

#endif
