/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_READINESS_H
#define PODCTL_STAGE1_READINESS_H

/*
 * Readiness in stage1 (Documentation/devel/readiness.md): per-app sd_notify
 * sockets, READY=1 → READY, goal timers, the pod's ready marker, events,
 * health markers (STATUS=), and READY=1/STATUS=/STOPPING=1 to an outer
 * systemd. main.c calls these hooks; what readiness decides for the pod
 * (an app READY, a goal missed) goes back through the pod's hooks
 * (pod_set_status, pod_fail in stage1.h), never into main.c.
 */

#include "stage1.h"

/* Before setup_apps' envs are used: keep the outer NOTIFY_SOCKET for us. */
void readiness_init(struct pod *pod);
/* After setup_apps(): a notify socket per app, NOTIFY_SOCKET in its env. */
int readiness_setup(struct pod *pod, ps_error **err);
/* stage1 is on its way out (the pod ended, or its set-up failed): the
 * apps' notify and ready-protocol sockets closed and removed from their
 * dirs, so that nothing of a pod that is over still looks like a socket
 * to connect to. */
void readiness_teardown(struct pod *pod);
/* After the pod's pid 1 exists: senders must be in its pid namespace. */
void readiness_set_pidns(struct pod *pod, pid_t pid1);
/* Register the notify sockets and the goal timer with epoll under ev_kind
 * (idx = app index, or READINESS_TIMER_IDX). */
#define READINESS_TIMER_IDX 0xffffffffu
#define READINESS_HTTP_IDX 0xfffffffeu
int readiness_loop_add(struct pod *pod, int epfd, uint32_t ev_kind, ps_error **err);
void readiness_event(struct pod *pod, uint32_t idx);
/* From set_status(), after the app's status marker: events (the status
 * change's at time_ns), goal timers, the ready marker. */
void readiness_status_changed(struct pod *pod, struct app *a, enum app_status from,
                              enum app_status to, const char *reason, long long time_ns);
/* Write the app's status marker (from set_status()), through the file
 * readiness_prepare() made for it if there is one. */
int readiness_write_status(struct pod *pod, struct app *a, const ps_status_marker *m, ps_error **err);
/* While idle (before the loop waits): make the files that a READY=1 would
 * write, off its path. */
void readiness_prepare(struct pod *pod);
/* An app that missed its goal with onGoalTimeout "ignore" holds nothing back. */
bool readiness_goal_waived(const struct pod *pod, const struct app *a);

/* Recompute the pod's ready marker (a readiness probe or restart changed
 * something). */
void readiness_recheck(struct pod *pod);
/* The pod is stopping (once): no longer ready, STOPPING=1 to an outer systemd. */
void readiness_pod_stopping(struct pod *pod);
/* The app's last STATUS= text, or NULL. */
const char *readiness_notify_status(const struct pod *pod, const struct app *a);
/* Append to the pod's event log (app may be NULL). */
void readiness_log_event(struct pod *pod, const char *app, const char *type, const char *from,
                         const char *to, const char *reason);

/* In the app's child (own mount ns, before pivot_root): what to bind where.
 * NULL when there is nothing to bind. */
const char *readiness_notify_source(const struct app *a);  /* → NOTIFY_PATH_IN_APP */
const char *readiness_client_path(void);                   /* → NOTIFY_CLIENT_IN_APP */
/* The app's socket for ready protocol proto (enum rp_protocol) and where it
 * goes in the app; NULL when the app did not opt in to it. */
const char *readiness_proto_source(const struct app *a, int proto, const char **ret_path_in_app);

#endif
