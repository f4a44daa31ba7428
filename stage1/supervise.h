/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_SUPERVISE_H
#define PODCTL_STAGE1_SUPERVISE_H

/*
 * Supervision in stage1's loop (Documentation/devel/readiness.md): probes
 * scheduled on timerfds (probe.c runs them), the sd_notify watchdog,
 * restart timers (restart.c computes the back-off), and the apps' health
 * markers. Nothing here blocks or polls: every wait is a timerfd, a pidfd
 * or a socket in stage1's epoll set.
 *
 * main.c calls the supervise_* hooks; what supervision decides (kill an
 * app for a failed probe, restart it, READY from a probe) goes back
 * through the pod's hooks in stage1.h (pod_app_kill, pod_app_restart,
 * pod_set_status), never into main.c.
 */

#include "stage1.h"

/* After setup_apps(): per-app state and timerfds. */
int supervise_setup(struct pod *pod, ps_error **err);
/* Register timerfds with epoll under ev_kind. */
int supervise_loop_add(struct pod *pod, int epfd, uint32_t ev_kind, ps_error **err);
void supervise_event(struct pod *pod, uint32_t idx);

/* The app's process runs (STARTED): schedule its probes and watchdog. */
void supervise_app_started(struct pod *pod, struct app *a);
/* The app's process ended (reaped): cancel its probes and watchdog. */
void supervise_app_ended(struct pod *pod, struct app *a);

/* Restarts: how long to wait before restarting an app that ran ran_ms
 * (counts the restart), arm the timer, cancel it. */
long long supervise_restart_delay(struct pod *pod, struct app *a, long long ran_ms);
void supervise_restart_arm(struct pod *pod, struct app *a, long long delay_ms);
void supervise_restart_cancel(struct pod *pod, struct app *a);
unsigned supervise_restart_count(const struct pod *pod, const struct app *a);
/* The app was started again: probes back to their initial state, restart
 * count into the health marker. */
void supervise_app_restarted(struct pod *pod, struct app *a);

/* sd_notify WATCHDOG=1 (ping), WATCHDOG_USEC=N (usec >= 0), WATCHDOG=trigger. */
void supervise_watchdog(struct pod *pod, struct app *a, bool ping, long long usec, bool trigger);

/* Has no readiness probe, or it is passing. */
bool supervise_readiness_ok(const struct pod *pod, const struct app *a);
/* Rewrite apps/<app>/health (probes, restarts, last probe, STATUS=). */
void supervise_write_health(struct pod *pod, struct app *a);

#endif
