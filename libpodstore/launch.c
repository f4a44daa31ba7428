/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where podctl's helpers are, and stage1's command line (podstore/launch.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <podstore/launch.h>
#include <podstore/manifest.h>
#include <podstore/uuid.h>

#include "paths.h" /* build/paths.h: LIBEXECDIR */
#include "util.h"

int ps_sibling_path(const char *env, const char *name, const char *fallback, char **ret,
                    ps_error **err)
{
	const char *e = env ? getenv(env) : NULL;
	char self[PATH_MAX];
	char *path = NULL;

	if (e && *e) {
		path = strdup(e);
	} else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0) {
			self[n] = '\0';
			char *slash = strrchr(self, '/');
			if (slash) {
				*slash = '\0';
				path = ps_strdup_printf("%s/%s", self, name);
				if (path && access(path, X_OK) < 0) {
					free(path);
					path = NULL;
				}
			}
		}
		if (!path)
			path = strdup(fallback);
	}
	if (!path)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "%s", name);
	*ret = path;
	return 0;
}

int ps_stage1_path(char **ret, ps_error **err)
{
	return ps_sibling_path("PODCTL_STAGE1", "podctl-stage1", LIBEXECDIR "/podctl/podctl-stage1",
	                       ret, err);
}

static int push(char **v, size_t *n, char *s)
{
	if (!s)
		return -ENOMEM;
	v[(*n)++] = s;
	return 0;
}

int ps_stage1_argv(const ps_stage1_args *a, char ***ret, ps_error **err)
{
	size_t n = 0, nc = a->enter_app ? ps_strv_length(a->cmd) : 0;
	int r = 0;

	if (a->pod_fd < 0 || !a->uuid || !ps_uuid_is_valid(a->uuid) ||
	    (a->enter_app ? nc == 0 : !a->data_dir))
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "stage1 command line: missing arguments");
	char **v = calloc(nc + 14, sizeof(char *)) /* the most options a run takes, the NULL, a margin */;
	if (!v)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "stage1 command line");
	r = r ?: push(v, &n, strdup("podctl-stage1"));
	if (a->enter_app)
		r = r ?: push(v, &n, ps_strdup_printf("--enter=%s", a->enter_app));
	r = r ?: push(v, &n, ps_strdup_printf("--pod-fd=%d", a->pod_fd));
	if (!a->enter_app) {
		r = r ?: push(v, &n, ps_strdup_printf("--dir=%s", a->data_dir));
		if (a->sync_fd >= 0)
			r = r ?: push(v, &n, ps_strdup_printf("--sync-fd=%d", a->sync_fd));
		if (a->interactive)
			r = r ?: push(v, &n, strdup("--interactive"));
		if (a->start_fifo)
			r = r ?: push(v, &n, ps_strdup_printf("--start-fifo=%s", a->start_fifo));
		static const char *const ns_names[] = { "net", "ipc", "uts" };
		for (size_t k = 0; k < 3; k++)
			if (a->join_ns[k])
				r = r ?: push(v, &n, ps_strdup_printf("--join-ns=%s:%s", ns_names[k], a->join_ns[k]));
	}
	if (a->debug)
		r = r ?: push(v, &n, strdup("--debug"));
	r = r ?: push(v, &n, strdup(a->uuid));
	for (size_t i = 0; i < nc; i++)
		r = r ?: push(v, &n, strdup(a->cmd[i]));
	if (r < 0) {
		ps_strv_free(v);
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "stage1 command line");
	}
	*ret = v;
	return 0;
}

int ps_stage1_sync_ok(int sync_fd)
{
	return ps_write_all(sync_fd, "ok\n", 3);
}

int ps_stage1_sync_error(int sync_fd, const char *msg)
{
	_cleanup_free_ char *line = ps_strdup_printf("error: %s\n", msg ? msg : "failed");
	if (!line)
		return -ENOMEM;
	for (char *c = line; c[1]; c++)
		if (*c == '\n')
			*c = ' ';
	return ps_write_all(sync_fd, line, strlen(line));
}

int ps_stage1_sync_read(int sync_fd, char **ret_msg)
{
	char buf[1024];
	size_t len = 0;
	ssize_t n;

	*ret_msg = NULL;
	while (len < sizeof(buf) - 1 && (n = read(sync_fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (streq(buf, "ok"))
		return 0;
	if (strncmp(buf, "error: ", 7) == 0) {
		*ret_msg = strdup(buf + 7);
		return -EPROTO;
	}
	return -ECONNRESET;
}
