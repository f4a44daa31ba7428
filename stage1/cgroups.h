/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_CGROUPS_H
#define PODCTL_STAGE1_CGROUPS_H

/*
 * stage1's side of the pod's cgroups (libpodstore/cgroup.c does the work):
 * made before any app starts, each app's child joins its own before exec,
 * OOM kills and refused forks become events, removed when the pod ends.
 */

#include <stdbool.h>
#include <stdint.h>
#include "stage1.h"

/* Create PARENT/UUID and PARENT/UUID/APP for every app ($PODCTL_CGROUP_PARENT,
 * default podctl), with the device allowlist and the limits; record them in
 * the pod dir's cgroup marker first. A host without cgroups runs the pod
 * without (a warning) unless it asks for limits. */
int s1_cgroups_setup(struct pod *pod, ps_error **err);

/* In the app's child, first thing: join the app's cgroup, then take a
 * cgroup namespace rooted there. 0 or -errno. */
int s1_cgroups_child_join(struct app *a);

/* Before an app (re)starts: remember its OOM and pids counters. */
void s1_cgroups_app_starting(struct pod *pod, struct app *a);
/* An app was reaped: log what its cgroup saw (refused forks); true when
 * it died of SIGKILL (sig) from the OOM killer. */
bool s1_cgroups_app_ended(struct pod *pod, struct app *a, int sig);

/* The event loop: what signals the cgroups' OOM kills and refused forks
 * (ps_cgroup_events_open), tagged tag; s1_cgroups_event() when one fires.
 * 0 or -errno. */
int s1_cgroups_loop_add(struct pod *pod, int epfd, uint64_t tag);
void s1_cgroups_event(struct pod *pod);

/* podctl enter: join the running app's cgroup (before its cgroup ns). */
int s1_cgroups_enter_app(int pod_fd, const char *app_name, ps_error **err);

/* The pod is over: remove its cgroups (and the marker). */
void s1_cgroups_teardown(struct pod *pod);

#endif
