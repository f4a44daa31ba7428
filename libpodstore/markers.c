/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Markers: small JSON objects in the pod dir. Writers replace them
 * atomically; readers ignore fields they do not know, so a newer stage1
 * can add some.
 */
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <json-c/json.h>

#include <podstore/fileio.h>
#include <podstore/markers.h>
#include "json-util.h"
#include "markers-internal.h"
#include "util.h"

#define MARKER_MAX (64 * 1024)



static int write_json_spare(int dirfd, const char *name, int *spare, json_object *o, unsigned flags,
                            ps_error **err)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write %s", name);
	size_t len = strlen(s);
	_cleanup_free_ char *line = malloc(len + 2);
	if (!line)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write %s", name);
	memcpy(line, s, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	return ps_write_file_spare(dirfd, name, spare, line, len + 1, 0644, flags, err);
}

static int write_json(int dirfd, const char *name, json_object *o, unsigned flags, ps_error **err)
{
	return write_json_spare(dirfd, name, NULL, o, flags, err);
}

/* The whole of a marker open at fd: one read for one that fits (a regular
 * file's short read is its end: markers are written whole and renamed into
 * place), the rest the ordinary way. */
static int read_small_fd(int fd, const char *path, char **ret, ps_error **err)
{
	char buf[1024];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf) - 1)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return ps_error_errno(err, "read %s", path);
	if ((size_t)n < sizeof(buf) - 1) {
		buf[n] = '\0';
		if (!(*ret = strdup(buf)))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read %s", path);
		return 0;
	}
	/* Longer than a marker usually is: read the rest the ordinary way. */
	_cleanup_free_ char *rest = NULL;
	size_t len = 0;
	int r = ps_read_all(fd, MARKER_MAX, &rest, &len);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "read %s", path);
	char *all = malloc((size_t)n + len + 1);
	if (!all)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read %s", path);
	memcpy(all, buf, (size_t)n);
	memcpy(all + n, rest, len + 1);
	*ret = all;
	return 0;
}

/*
 * A marker of the pod `sub` in the state dir `dirfd` (list's fast path,
 * ps_pod_peek): one openat2 of "SUB/NAME" that follows no symlink and stays
 * beneath dirfd, and for a file that fits, one read (a regular file's short
 * read is its end: markers are written whole and renamed into place).
 */
static int read_small_in(int dirfd, const char *sub, const char *name, char **ret, ps_error **err)
{
	char path[128];
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		                .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", sub, name) >= sizeof(path))
		return ps_error_set(err, PS_ERR_FAILED, ENAMETOOLONG, "open %s", name);
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return ps_error_errno(err, "open %s", path);
	}
	return read_small_fd(fd, path, ret, err);
}

/* Missing → -ENOENT without an error; unreadable JSON → error. With sub,
 * dirfd is a state dir and sub the pod's uuid (read_small_in). */
static int read_json_in(int dirfd, const char *sub, const char *name, json_object **ret, ps_error **err)
{
	_cleanup_free_ char *buf = NULL;
	int r;

	if (sub) {
		r = read_small_in(dirfd, sub, name, &buf, err);
	} else {
		/* status reads a dozen markers a call (a --wait-ready waiter
		 * after its wake-up, too): no second read to see the end */
		_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			r = errno == ENOENT ? -ENOENT : ps_error_errno(err, "open %s", name);
		else
			r = read_small_fd(fd, name, &buf, err);
	}

	if (r < 0)
		return r;
	json_object *o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		if (o)
			json_object_put(o);
		return ps_error_set(err, PS_ERR_FAILED, EBADMSG, "read marker %s", name);
	}
	*ret = o;
	return 0;
}


static int read_json(int dirfd, const char *name, json_object **ret, ps_error **err)
{
	return read_json_in(dirfd, NULL, name, ret, err);
}

/* --- info ---------------------------------------------------------------- */

int ps_info_write(int pod_fd, const ps_info *info, ps_error **err)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write info");
	ps_json_add_str(o, "name", info->name);
	ps_json_add_time(o, "created", info->created_ns);
	return write_json(pod_fd, PS_FILE_INFO, o, PS_WRITE_SYNC_DATA, err);
}

int ps_info_read(int pod_fd, ps_info *ret, ps_error **err)
{
	return ps_info_read_in(pod_fd, NULL, ret, err);
}

int ps_info_read_in(int dirfd, const char *sub, ps_info *ret, ps_error **err)
{
	_cleanup_json_ json_object *o = NULL;
	int r = read_json_in(dirfd, sub, PS_FILE_INFO, &o, err);

	if (r < 0)
		return r;
	ps_info info = { .created_ns = ps_json_time(o, "created") };
	if (ps_json_dup_str(o, "name", &info.name) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read info");
	*ret = info;
	return 0;
}

void ps_info_clear(ps_info *info)
{
	free(info->name);
	info->name = NULL;
}

/* --- pid ----------------------------------------------------------------- */

int ps_pid_marker_write(int pod_fd, const ps_pid_marker *m, ps_error **err)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write pid");
	json_object_object_add(o, "pid", json_object_new_int64(m->pid));
	json_object_object_add(o, "starttime", json_object_new_uint64(m->starttime));
	ps_json_add_time(o, "time", m->time_ns);
	if (m->stage1_pid) {
		json_object_object_add(o, "stage1Pid", json_object_new_int64(m->stage1_pid));
		json_object_object_add(o, "stage1Starttime",
		                       json_object_new_uint64(m->stage1_starttime));
	}
	return write_json(pod_fd, PS_FILE_PID, o, PS_WRITE_RUNTIME, err);
}

int ps_pid_marker_read(int pod_fd, ps_pid_marker *ret, ps_error **err)
{
	return ps_pid_marker_read_in(pod_fd, NULL, ret, err);
}

int ps_pid_marker_read_in(int dirfd, const char *sub, ps_pid_marker *ret, ps_error **err)
{
	_cleanup_json_ json_object *o = NULL;
	int r = read_json_in(dirfd, sub, PS_FILE_PID, &o, err);

	if (r < 0)
		return r;
	ret->pid = (pid_t)ps_json_int(o, "pid", 0);
	ret->starttime = (unsigned long long)ps_json_int(o, "starttime", 0);
	ret->time_ns = ps_json_time(o, "time");
	ret->stage1_pid = (pid_t)ps_json_int(o, "stage1Pid", 0);
	ret->stage1_starttime = (unsigned long long)ps_json_int(o, "stage1Starttime", 0);
	return 0;
}

/* --- exit ---------------------------------------------------------------- */

/*
 * Wake the waiters of ps_pod_wait_ready() (wait.c): open the dir's wake FIFO
 * for writing and close it; every reader then sees POLLHUP. Called after the
 * marker is in place. ENOENT (no waiter ever made it) and ENXIO (no reader
 * now) are the usual cases and fine: a waiter reads the markers after it
 * has opened the FIFO, so one that opens it later sees the marker itself.
 * O_NONBLOCK: never blocks; O_NOFOLLOW; nothing is written, so whatever
 * else stands there is left unchanged.
 */
static void wake_waiters(int dirfd)
{
	int fd = openat(dirfd, PS_FILE_WAKE, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0)
		close(fd);
}

int ps_pod_record_sync(int pod_fd, ps_error **err)
{
	static const char *const files[] = { PS_FILE_MANIFEST, PS_FILE_INFO };
	int fds[ARRAY_SIZE(files)];
	bool any = false;
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		fds[i] = openat(pod_fd, files[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fds[i] < 0 && errno != ENOENT && r == 0)
			r = ps_error_errno(err, "sync %s", files[i]);
		if (fds[i] < 0)
			continue;
		any = true;
		/* Start the writeback of each now: their blocks are allocated
		 * in one transaction, and the first fsync's commit covers all. */
		sync_file_range(fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);
	}
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (fds[i] >= 0 && r == 0 && ps_fsync(fds[i]) < 0)
			r = ps_error_errno(err, "fsync %s", files[i]);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	/* The pod's name in its state dir, and its old ones gone from
	 * prepare/ and embryo/: run's moves were not synced (on a filesystem
	 * without a journal, a rename is not atomic across a power cut, and a
	 * stale embryo/ entry would be collected by gc with the pod's files). */
	if (r == 0 && any)
		r = ps_fsync_dir_at(pod_fd, "..", err);
	static const char *const passed[] = { "prepare", "embryo" };
	for (size_t i = 0; i < ARRAY_SIZE(passed) && r == 0 && any; i++) {
		char path[32];
		snprintf(path, sizeof(path), "../../%s", passed[i]);
		_cleanup_close_ int pfd = openat(pod_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0 && errno != ENOENT) /* ENOENT: a pod dir outside a store */
			r = ps_error_errno(err, "open pods/%s", passed[i]);
		else if (pfd >= 0 && ps_fsync(pfd) < 0)
			r = ps_error_errno(err, "fsync pods/%s", passed[i]);
	}
	return r;
}

int ps_exit_marker_write(int dirfd, const ps_exit_marker *m, bool durable, ps_error **err)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write exit");
	/* What the exit marker is about survives with it. Should that fail,
	 * the exit is still recorded (and the failure returned). */
	ps_error *sync_err = NULL;
	int sync_r = durable ? ps_pod_record_sync(dirfd, &sync_err) : 0;
	json_object_object_add(o, "code", json_object_new_int(m->code));
	if (m->signal)
		json_object_object_add(o, "signal", json_object_new_int(m->signal));
	if (m->reason)
		ps_json_add_str(o, "reason", m->reason);
	if (m->app)
		ps_json_add_str(o, "app", m->app);
	ps_json_add_time(o, "time", m->time_ns);
	int r = write_json(dirfd, PS_FILE_EXIT, o, durable ? PS_WRITE_DURABLE : 0, err);
	if (r >= 0)
		wake_waiters(dirfd);
	if (r >= 0 && sync_r < 0) {
		if (err && !*err)
			*err = TAKE_PTR(sync_err);
		r = sync_r;
	}
	ps_error_free(&sync_err);
	return r;
}

int ps_exit_marker_read(int dirfd, ps_exit_marker *ret, ps_error **err)
{
	return ps_exit_marker_read_in(dirfd, NULL, ret, err);
}

int ps_exit_marker_read_in(int dirfd, const char *sub, ps_exit_marker *ret, ps_error **err)
{
	_cleanup_json_ json_object *o = NULL;
	int r = read_json_in(dirfd, sub, PS_FILE_EXIT, &o, err);

	if (r < 0)
		return r;
	ps_exit_marker m = {
		.code = (int)ps_json_int(o, "code", 0),
		.signal = (int)ps_json_int(o, "signal", 0),
		.time_ns = ps_json_time(o, "time"),
	};
	if (ps_json_dup_str(o, "reason", &m.reason) < 0 || ps_json_dup_str(o, "app", &m.app) < 0) {
		ps_exit_marker_clear(&m);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read exit");
	}
	*ret = m;
	return 0;
}

void ps_exit_marker_clear(ps_exit_marker *m)
{
	free(m->reason);
	free(m->app);
	m->reason = m->app = NULL;
}

/* --- app status ---------------------------------------------------------- */

int ps_status_marker_write(int app_dirfd, const ps_status_marker *m, ps_error **err)
{
	return ps_status_marker_write_spare(app_dirfd, NULL, m, err);
}

int ps_status_marker_write_spare(int app_dirfd, int *spare, const ps_status_marker *m,
                                 ps_error **err)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o) {
		if (spare && *spare >= 0) {
			close(*spare);
			*spare = -1;
		}
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write status");
	}
	ps_json_add_str(o, "status", m->status);
	ps_json_add_time(o, "time", m->time_ns);
	if (m->reason)
		ps_json_add_str(o, "reason", m->reason);
	if (m->ready_by)
		ps_json_add_str(o, "readyBy", m->ready_by);
	return write_json_spare(app_dirfd, PS_FILE_APP_STATUS, spare, o, PS_WRITE_RUNTIME, err);
}

int ps_status_marker_read(int app_dirfd, ps_status_marker *ret, ps_error **err)
{
	_cleanup_json_ json_object *o = NULL;
	int r = read_json(app_dirfd, PS_FILE_APP_STATUS, &o, err);

	if (r < 0)
		return r;
	ps_status_marker m = { .time_ns = ps_json_time(o, "time") };
	if (ps_json_dup_str(o, "status", &m.status) < 0 || ps_json_dup_str(o, "reason", &m.reason) < 0 ||
	    ps_json_dup_str(o, "readyBy", &m.ready_by) < 0) {
		ps_status_marker_clear(&m);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "read status");
	}
	*ret = m;
	return 0;
}

void ps_status_marker_clear(ps_status_marker *m)
{
	free(m->status);
	free(m->reason);
	free(m->ready_by);
	m->status = m->reason = m->ready_by = NULL;
}

/* --- ready, gc-marked: {"time": TIME} --------------------------------------- */

static int time_marker_write(int pod_fd, const char *name, int *spare, long long time_ns,
                             unsigned flags, ps_error **err)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o) {
		if (spare && *spare >= 0) {
			close(*spare);
			*spare = -1;
		}
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write %s", name);
	}
	ps_json_add_time(o, "time", time_ns);
	return write_json_spare(pod_fd, name, spare, o, flags, err);
}

static int time_marker_read_in(int dirfd, const char *sub, const char *name, long long *ret_time_ns,
                               ps_error **err)
{
	_cleanup_json_ json_object *o = NULL;
	int r = read_json_in(dirfd, sub, name, &o, err);

	if (r < 0)
		return r;
	*ret_time_ns = ps_json_time(o, "time");
	return 0;
}

int ps_gc_mark_write(int pod_fd, long long time_ns, ps_error **err)
{
	return time_marker_write(pod_fd, PS_FILE_GC_MARKED, NULL, time_ns, 0, err);
}

int ps_gc_mark_read(int pod_fd, long long *ret_time_ns, ps_error **err)
{
	return time_marker_read_in(pod_fd, NULL, PS_FILE_GC_MARKED, ret_time_ns, err);
}

int ps_gc_mark_read_in(int dirfd, const char *sub, long long *ret_time_ns, ps_error **err)
{
	return time_marker_read_in(dirfd, sub, PS_FILE_GC_MARKED, ret_time_ns, err);
}

int ps_ready_marker_write(int pod_fd, long long time_ns, ps_error **err)
{
	return ps_ready_marker_write_spare(pod_fd, NULL, time_ns, err);
}

int ps_ready_marker_write_spare(int pod_fd, int *spare, long long time_ns, ps_error **err)
{
	int r = time_marker_write(pod_fd, PS_FILE_READY, spare, time_ns, PS_WRITE_RUNTIME, err);
	if (r >= 0)
		wake_waiters(pod_fd);
	return r;
}

int ps_ready_marker_remove(int pod_fd, ps_error **err)
{
	if (unlinkat(pod_fd, PS_FILE_READY, 0) < 0 && errno != ENOENT)
		return ps_error_errno(err, "remove ready");
	return 0;
}

int ps_ready_marker_read(int pod_fd, long long *ret_time_ns, ps_error **err)
{
	return time_marker_read_in(pod_fd, NULL, PS_FILE_READY, ret_time_ns, err);
}
