/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-pod event log (see events.h for the format and the size cap). */
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <podstore/events.h>
#include "json-util.h"
#include "util.h"

#define READ_LINE_MAX (64 * 1024)

void ps_event_clear(ps_event *e)
{
	free(e->app);
	free(e->type);
	free(e->from);
	free(e->to);
	free(e->reason);
	*e = (ps_event){ 0 };
}


int ps_event_format(const ps_event *e, char **ret)
{
	char tbuf[64];

	if (!e->type || !*e->type)
		return -EINVAL;
	json_object *o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	ps_format_time(e->time_ns ? e->time_ns : ps_now_ns(), tbuf, sizeof(tbuf));
	ps_json_add_str(o, "time", tbuf);
	ps_json_add_str(o, "app", e->app);
	ps_json_add_str(o, "type", e->type);
	ps_json_add_str(o, "from", e->from);
	ps_json_add_str(o, "to", e->to);
	ps_json_add_str(o, "reason", e->reason);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
	char *line = s ? strdup(s) : NULL;
	json_object_put(o);
	if (!line)
		return -ENOMEM;
	*ret = line;
	return 0;
}


int ps_event_parse(const char *line, size_t len, ps_event *ret)
{
	ps_event e = { 0 };
	json_object *v;

	json_tokener *tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_object *o = json_tokener_parse_ex(tok, line, (int)len);
	bool complete = json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	if (!o || !complete || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "time", &v) || !json_object_is_type(v, json_type_string) ||
	    ps_parse_time(json_object_get_string(v), &e.time_ns) < 0) {
		json_object_put(o);
		return -EBADMSG;
	}
	int r = 0;
	r = r ?: ps_json_dup_str(o, "type", &e.type);
	r = r ?: ps_json_dup_str(o, "app", &e.app);
	r = r ?: ps_json_dup_str(o, "from", &e.from);
	r = r ?: ps_json_dup_str(o, "to", &e.to);
	r = r ?: ps_json_dup_str(o, "reason", &e.reason);
	json_object_put(o);
	if (r == 0 && !e.type)
		r = -EBADMSG;
	if (r < 0) {
		ps_event_clear(&e);
		return r;
	}
	*ret = e;
	return 0;
}

/* Rotate a full log under an flock of it. Whoever gets the lock first checks
 * that `events` is still the file it has open and still full; a second
 * writer that waited finds it renamed and does nothing. */
static void maybe_rotate(int pod_fd, int fd)
{
	struct stat st, cur;

	if (fstat(fd, &st) < 0 || st.st_size < PS_EVENTS_ROTATE_BYTES)
		return;
	if (flock(fd, LOCK_EX) < 0)
		return;
	if (fstatat(pod_fd, PS_FILE_EVENTS, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == st.st_ino &&
	    cur.st_dev == st.st_dev)
		renameat(pod_fd, PS_FILE_EVENTS, pod_fd, PS_FILE_EVENTS_OLD);
	flock(fd, LOCK_UN);
}

/* The line to append, newline-terminated, in *ret (length *ret_len). */
static int event_line(const ps_event *e, char **ret, size_t *ret_len, ps_error **err)
{
	ps_event cut = *e;
	_cleanup_free_ char *reason = NULL;
	char *line = NULL;
	int r;

	/* Keep the line under PS_EVENT_LINE_MAX: cut the reason, the only
	 * free-form field that can be long (a STATUS= text, an error). */
	if (e->reason && strlen(e->reason) > PS_EVENT_LINE_MAX / 2) {
		reason = strndup(e->reason, PS_EVENT_LINE_MAX / 2);
		if (!reason)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "append event");
		cut.reason = reason;
	}
	r = ps_event_format(&cut, &line);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "append event");
	size_t len = strlen(line);
	if (len + 1 > PS_EVENT_LINE_MAX) {
		free(line);
		return ps_error_set(err, PS_ERR_INVALID, E2BIG, "append event");
	}
	line[len] = '\n'; /* over the NUL: the line is written by length */
	*ret = line;
	*ret_len = len + 1;
	return 0;
}

/* An fd of the live log, rotated first when full; -1 and an error. */
static int open_log(int pod_fd, ps_error **err)
{
	int fd = openat(pod_fd, PS_FILE_EVENTS, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return ps_error_errno(err, "append event: open %s", PS_FILE_EVENTS);
	maybe_rotate(pod_fd, fd);
	/* After a rotation our fd names events.1: reopen the new log. */
	struct stat st, cur;
	if (fstat(fd, &st) == 0 && (fstatat(pod_fd, PS_FILE_EVENTS, &cur, AT_SYMLINK_NOFOLLOW) < 0 ||
	                            cur.st_ino != st.st_ino)) {
		close(fd);
		fd = openat(pod_fd, PS_FILE_EVENTS, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		            0644);
		if (fd < 0)
			return ps_error_errno(err, "append event: open %s", PS_FILE_EVENTS);
	}
	return fd;
}

static int write_line(int fd, const char *line, size_t len, ps_error **err)
{
	/* One write(): O_APPEND on a regular file positions and writes under the
	 * inode lock, so concurrent lines never interleave. */
	ssize_t n;
	do
		n = write(fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ps_error_errno(err, "append event");
	if ((size_t)n != len)
		return ps_error_set(err, PS_ERR_FAILED, EIO, "append event: short write");
	return 0;
}

int ps_event_append(int pod_fd, const ps_event *e, ps_error **err)
{
	_cleanup_free_ char *line = NULL;
	size_t len;
	int r = event_line(e, &line, &len, err);

	if (r < 0)
		return r;
	_cleanup_close_ int fd = open_log(pod_fd, err);
	if (fd < 0)
		return fd;
	return write_line(fd, line, len, err);
}

int ps_event_append_keep(int pod_fd, int *log_fd, const ps_event *e, ps_error **err)
{
	_cleanup_free_ char *line = NULL;
	struct stat st, cur;
	size_t len;
	int r = event_line(e, &line, &len, err);

	if (r < 0)
		return r;
	/* The kept fd while it is still `events` and not full; else as
	 * ps_event_append() does. */
	if (*log_fd >= 0 &&
	    (fstat(*log_fd, &st) < 0 || st.st_size >= PS_EVENTS_ROTATE_BYTES ||
	     fstatat(pod_fd, PS_FILE_EVENTS, &cur, AT_SYMLINK_NOFOLLOW) < 0 || cur.st_ino != st.st_ino ||
	     cur.st_dev != st.st_dev)) {
		close(*log_fd);
		*log_fd = -1;
	}
	if (*log_fd < 0) {
		int fd = open_log(pod_fd, err);
		if (fd < 0)
			return fd;
		*log_fd = fd;
	}
	return write_line(*log_fd, line, len, err);
}

/* --- reader ---------------------------------------------------------------- */

struct ps_events_reader {
	int pod_fd;
	int fd;          /* the file being read, -1 before opening */
	bool in_old;     /* reading events.1 */
	char *buf;       /* unconsumed bytes: at most one partial line */
	size_t len, cap;
	bool skipping;   /* inside an over-long line: drop up to its newline */
	unsigned skipped;
};

int ps_events_reader_open(int pod_fd, ps_events_reader **ret, ps_error **err)
{
	ps_events_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read events");
	r->pod_fd = fcntl(pod_fd, F_DUPFD_CLOEXEC, 3);
	if (r->pod_fd < 0) {
		free(r);
		return ps_error_errno(err, "read events");
	}
	r->fd = -1;
	r->in_old = true;
	*ret = r;
	return 0;
}

void ps_events_reader_free(ps_events_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	close(r->pod_fd);
	free(r->buf);
	free(r);
}

unsigned ps_events_reader_skipped(const ps_events_reader *r)
{
	return r->skipped;
}

/* One complete line out of the buffer, if there is one. */
static int take_line(ps_events_reader *r, ps_event *ret)
{
	for (;;) {
		char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
		if (!nl)
			return 0;
		size_t ll = (size_t)(nl - r->buf);
		int k = -EBADMSG;
		if (!r->skipping)
			k = ps_event_parse(r->buf, ll, ret);
		else
			r->skipping = false;
		memmove(r->buf, nl + 1, r->len - ll - 1);
		r->len -= ll + 1;
		if (k == 0)
			return 1;
		if (k == -ENOMEM)
			return k;
		r->skipped++;
	}
}

static bool same_file(int dirfd, const char *name, int fd)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

int ps_events_reader_next(ps_events_reader *r, ps_event *ret, ps_error **err)
{
	for (;;) {
		int k = take_line(r, ret);
		if (k != 0)
			return k < 0 ? ps_error_set(err, PS_ERR_FAILED, -k, "read events") : 1;
		if (r->fd < 0) {
			const char *name = r->in_old ? PS_FILE_EVENTS_OLD : PS_FILE_EVENTS;
			r->fd = openat(r->pod_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (r->fd < 0) {
				if (errno != ENOENT)
					return ps_error_errno(err, "read events: open %s", name);
				if (r->in_old) {
					r->in_old = false;
					continue;
				}
				return 0;
			}
		}
		if (r->cap - r->len < 4096) {
			if (r->len >= READ_LINE_MAX) {
				/* A line this long is not ours: drop it to its newline. */
				r->len = 0;
				r->skipping = true;
			} else {
				size_t ncap = r->cap ? r->cap * 2 : 8192;
				char *nb = realloc(r->buf, ncap);
				if (!nb)
					return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read events");
				r->buf = nb;
				r->cap = ncap;
			}
		}
		ssize_t n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ps_error_errno(err, "read events");
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		/* EOF. events.1 is done: on to events. The live log is done unless
		 * it was rotated under us: then what we hold is now events.1, drained,
		 * and the new events is read from its start. A partial last line of
		 * a finished file is dropped; of the live one kept for later. */
		if (r->in_old) {
			close(r->fd);
			r->fd = -1;
			r->in_old = false;
			if (r->len)
				r->skipped++;
			r->len = 0;
			continue;
		}
		if (same_file(r->pod_fd, PS_FILE_EVENTS, r->fd))
			return 0;
		struct stat st;
		if (fstatat(r->pod_fd, PS_FILE_EVENTS, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return 0; /* rotated and nothing new yet */
		close(r->fd);
		r->fd = -1;
		if (r->len)
			r->skipped++;
		r->len = 0;
	}
}
