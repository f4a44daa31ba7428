/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_EVENTS_H
#define PODSTORE_EVENTS_H

/*
 * The pod's event log: `events` in the pod dir, one JSON object per line
 *
 *   {"time":"2024-…Z","app":"web","type":"status","from":"STARTED","to":"READY","reason":"…"}
 *
 * (app, from, to, reason optional). Types: status, ready, unready, probe,
 * restart, exit, notify; readers accept others.
 *
 * Appending is one write() of the whole line on an O_APPEND fd, so
 * concurrent writers never interleave (a line is at most
 * PS_EVENT_LINE_MAX; a longer reason is cut). Size is capped: when
 * `events` reaches PS_EVENTS_ROTATE_BYTES the writer renames it to
 * `events.1` (replacing the older one, under an flock of the file so two
 * writers never rotate twice) and starts a new `events`: a pod keeps at
 * most about twice that, the newest events. Not fsynced: events are a
 * runtime record like the status markers.
 *
 * The reader iterates events.1 then events, skipping lines it cannot parse
 * and holding back a last line without its newline (a write in flight); it
 * follows a rotation that happens while it reads.
 */

#include <stdbool.h>
#include <podstore/error.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

#define PS_FILE_EVENTS "events"
#define PS_FILE_EVENTS_OLD "events.1"
#define PS_EVENTS_ROTATE_BYTES (1024 * 1024)
#define PS_EVENT_LINE_MAX 4096

typedef struct ps_event {
	long long time_ns;  /* 0 = now, when appending */
	char *app;          /* NULL: the pod itself */
	char *type;         /* required */
	char *from;
	char *to;
	char *reason;
} ps_event;

/* Append one event to pod_fd's log (rotating it first when full). */
int ps_event_append(int pod_fd, const ps_event *e, ps_error **err);

/* The same for a writer of many lines (stage1): the log's fd is kept in
 * *log_fd between calls (-1 before the first; the caller closes it), so a
 * line costs an fstat, an fstatat and the write instead of an open and a
 * close too. A log that is full, or no longer `events` (rotated by another
 * writer, removed), is handled as ps_event_append() does: rotated, or
 * reopened. */
int ps_event_append_keep(int pod_fd, int *log_fd, const ps_event *e, ps_error **err);

/* Serialize / parse one line (without the newline). -EBADMSG for a line
 * that is not an object with a time and a type. */
int ps_event_format(const ps_event *e, char **ret);
int ps_event_parse(const char *line, size_t len, ps_event *ret);
void ps_event_clear(ps_event *e);

typedef struct ps_events_reader ps_events_reader;

/* A reader of pod_fd's log from its oldest kept event (pod_fd is dup'ed). */
int ps_events_reader_open(int pod_fd, ps_events_reader **ret, ps_error **err);
/* 1 and *ret filled with the next event; 0 when there is none yet (call
 * again after the log changed: inotify IN_MODIFY/IN_MOVED_TO on the pod dir). */
int ps_events_reader_next(ps_events_reader *r, ps_event *ret, ps_error **err);
/* Lines skipped because they did not parse. */
unsigned ps_events_reader_skipped(const ps_events_reader *r);
void ps_events_reader_free(ps_events_reader *r);

#pragma GCC visibility pop

#endif
