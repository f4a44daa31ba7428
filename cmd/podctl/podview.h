/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_PODVIEW_H
#define PODCTL_PODVIEW_H

/* How status and list print a pod's view; the view itself is the library's
 * (ps_pod_inspect, podstore/inspect.h). */

#include <json-c/json.h>
#include "cli.h"

/* The view as a JSON object (times RFC 3339 with ns; pid for a running pod;
 * "apps" when the view has them). */
json_object *pod_view_json(const ps_pod_view *v);

/* A usage as JSON ({"memoryBytes", "cpuNanoseconds", "pids", …}: fields
 * the host lacks are left out). */
json_object *usage_json(const ps_cgroup_usage *u);
/* "12.3MiB", "-" for a negative size. */
void format_bytes(long long b, char *buf, size_t len);

/* cmd-port.c: an attached pod's IPs (its dir's net/result): "ips": [...]
 * added to o, or an "ips" line of status; nothing for a pod not attached. */
void net_view_json_add(json_object *o, int pod_fd);
void net_view_print(int pod_fd);

/* Add "key": "<RFC 3339>" when ns != 0. */
void json_add_time(json_object *o, const char *key, long long ns);
/* Print a JSON value to stdout, pretty, with a newline. */
void json_print(json_object *o);
/* The same for an array printed one item at a time, so that a long one is
 * never held whole: the item o (first: the array's first), then the end
 * after n items. Byte for byte what json_print() of the array prints. */
void json_print_array_item(json_object *o, FILE *f, bool first);
void json_print_array_end(FILE *f, size_t n);
/* json_print_array_item() of pod_view_json(v), printed without building
 * the object (list's many pods); byte for byte the same
 * (tests/unit/test-podview.c holds it to that). */
void pod_view_print_item(const ps_pod_view *v, FILE *f, bool first);

#endif
