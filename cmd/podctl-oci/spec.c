/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.json (OCI runtime spec) → a one-app pod manifest. The rule: every
 * field is either honoured or refused with an error naming its JSON path;
 * the few accepted with a difference are listed in spec->warnings (logged by
 * main.c) and in Documentation/kubernetes.md.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "oci.h"
#include "manifest-internal.h"
#include "security.h"
#include "strv.h"
#include "util.h"

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && streq(a, b));
}

static bool strv_same(char *const *a, char *const *b)
{
	size_t n = ps_strv_length(a);
	if (n != ps_strv_length(b))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!streq(a[i], b[i]))
			return false;
	return true;
}

static int refuse(ps_error **err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(ps_error **err, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ps_error_set(err, PS_ERR_INVALID, EINVAL, "config.json: %s: %s", path, msg);
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_is_type(v, json_type_null) ? NULL : v;
}

static bool is_empty(json_object *v)
{
	if (!v)
		return true;
	switch (json_object_get_type(v)) {
	case json_type_array:
		return json_object_array_length(v) == 0;
	case json_type_object:
		return json_object_object_length(v) == 0;
	case json_type_string:
		return json_object_get_string_len(v) == 0;
	case json_type_boolean:
		return !json_object_get_boolean(v);
	case json_type_int:
		return json_object_get_int64(v) == 0;
	default:
		return false;
	}
}

/* Keys of o outside allowed: refused (a field we do not know is one we would ignore). */
static int only_keys(json_object *o, const char *path, const char *const *allowed, ps_error **err)
{
	if (!o)
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return refuse(err, path, "expected an object");
	json_object_object_foreach(o, key, val) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok = ok || streq(*a, key);
		if (!ok && !is_empty(val))
			return refuse(err, path, "field \"%s\" is not supported by podctl", key);
	}
	return 0;
}

static int get_string(json_object *o, const char *key, const char *path, const char **ret, ps_error **err)
{
	json_object *v = get(o, key);
	*ret = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return refuse(err, path, "%s: expected a string", key);
	*ret = json_object_get_string(v);
	return 0;
}

static int strv_from(json_object *arr, const char *path, char ***ret, ps_error **err)
{
	char **v = NULL;

	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return refuse(err, path, "expected an array of strings");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(s, json_type_string)) {
			ps_strv_free(v);
			return refuse(err, path, "[%zu]: expected a string", i);
		}
		if (ps_strv_push(&v, json_object_get_string(s)) < 0) {
			ps_strv_free(v);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "config.json");
		}
	}
	*ret = v;
	return 0;
}

static int warn(struct oci_spec *s, const char *msg)
{
	return ps_strv_push(&s->warnings, msg);
}

/* --- process ---------------------------------------------------------------- */

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },         { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },       { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },     { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static int map_rlimits(struct oci_spec *s, json_object *arr, ps_error **err)
{
	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return refuse(err, "process.rlimits", "expected an array");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		char path[64];
		snprintf(path, sizeof(path), "process.rlimits[%zu]", i);
		const char *type = NULL;
		if (get_string(o, "type", path, &type, err) < 0)
			return -EINVAL;
		int res = -1;
		for (size_t k = 0; type && k < ARRAY_SIZE(rlimit_names); k++)
			if (streq(rlimit_names[k].name, type))
				res = rlimit_names[k].res;
		if (res < 0)
			return refuse(err, path, "unknown rlimit type \"%s\"", type ? type : "");
		if (s->n_rlimits == OCI_MAX_RLIMITS)
			return refuse(err, path, "too many rlimits");
		s->rlimit_res[s->n_rlimits] = res;
		s->rlimits[s->n_rlimits].rlim_cur = (rlim_t)json_object_get_uint64(get(o, "soft"));
		s->rlimits[s->n_rlimits].rlim_max = (rlim_t)json_object_get_uint64(get(o, "hard"));
		if (s->rlimits[s->n_rlimits].rlim_cur > s->rlimits[s->n_rlimits].rlim_max)
			return refuse(err, path, "soft is above hard");
		s->n_rlimits++;
	}
	return 0;
}

static int caps_of(json_object *arr, const char *path, uint64_t *ret, ps_error **err)
{
	*ret = 0;
	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return refuse(err, path, "expected an array");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		const char *n = json_object_get_string(json_object_array_get_idx(arr, i));
		int c = n ? ps_cap_from_name(n) : -1;
		if (c < 0)
			return refuse(err, path, "[%zu]: unknown capability %s", i, n ? n : "");
		*ret |= 1ULL << c;
	}
	return 0;
}

/*
 * podctl gives an app one set (bounding = permitted = effective) and empty
 * inheritable and ambient sets: the OCI sets must have that shape; the set
 * becomes the default plus adds minus drops.
 */
static int map_caps(ps_app *a, json_object *caps, ps_error **err)
{
	static const char *const keys[] = { "bounding", "effective", "permitted", "inheritable", "ambient", NULL };
	uint64_t bnd, eff, prm, inh, amb;
	int r;

	if ((r = only_keys(caps, "process.capabilities", keys, err)) < 0)
		return r;
	if ((r = caps_of(get(caps, "bounding"), "process.capabilities.bounding", &bnd, err)) < 0 ||
	    (r = caps_of(get(caps, "effective"), "process.capabilities.effective", &eff, err)) < 0 ||
	    (r = caps_of(get(caps, "permitted"), "process.capabilities.permitted", &prm, err)) < 0 ||
	    (r = caps_of(get(caps, "inheritable"), "process.capabilities.inheritable", &inh, err)) < 0 ||
	    (r = caps_of(get(caps, "ambient"), "process.capabilities.ambient", &amb, err)) < 0)
		return r;
	if (inh)
		return refuse(err, "process.capabilities.inheritable", "podctl keeps the inheritable set empty");
	if (amb)
		return refuse(err, "process.capabilities.ambient", "podctl keeps the ambient set empty");
	if (eff != bnd || prm != bnd)
		return refuse(err, "process.capabilities.effective",
		              "podctl gives one set: bounding, effective and permitted must be equal");
	uint64_t def = ps_caps_default();
	for (int c = 0; c <= PS_CAP_LAST; c++) {
		uint64_t bit = 1ULL << c;
		char ***list = (bnd & bit) && !(def & bit) ? &a->cap_add : !(bnd & bit) && (def & bit) ? &a->cap_drop : NULL;
		if (list && ps_cap_name(c) && ps_strv_push(list, ps_cap_name(c)) < 0)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "capabilities");
	}
	return 0;
}

static int map_user(ps_app *a, json_object *user, ps_error **err)
{
	static const char *const keys[] = { "uid", "gid", "additionalGids", "umask", NULL };
	int r = only_keys(user, "process.user", keys, err);

	if (r < 0)
		return r;
	long long uid = json_object_get_int64(get(user, "uid"));
	long long gid = json_object_get_int64(get(user, "gid"));
	if (uid < 0 || gid < 0 || uid > 0xfffffffe || gid > 0xfffffffe)
		return refuse(err, "process.user", "uid/gid out of range");
	json_object *ag = get(user, "additionalGids");
	for (size_t i = 0; ag && i < json_object_array_length(ag); i++)
		if (json_object_get_int64(json_object_array_get_idx(ag, i)) != gid)
			return refuse(err, "process.user.additionalGids",
			              "podctl sets the supplementary groups to the primary gid only");
	json_object *um = get(user, "umask");
	if (um && json_object_get_int(um) != 022)
		return refuse(err, "process.user.umask", "podctl runs apps with umask 022");
	a->user = ps_strdup_printf("%lld", uid);
	a->group = ps_strdup_printf("%lld", gid);
	if (!a->user || !a->group)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "user");
	return 0;
}

static int map_process(struct oci_spec *s, ps_app *a, json_object *p, ps_error **err)
{
	static const char *const keys[] = { "terminal", "consoleSize", "user", "args", "env", "cwd",
		                            "capabilities", "rlimits", "noNewPrivileges",
		                            "oomScoreAdj", "apparmorProfile", "selinuxLabel", NULL };
	const char *cwd = NULL;
	int r;

	if (!p)
		return refuse(err, "process", "required");
	if ((r = only_keys(p, "process", keys, err)) < 0)
		return r;
	if (!is_empty(get(p, "apparmorProfile")))
		return refuse(err, "process.apparmorProfile", "AppArmor is not supported by podctl");
	if (!is_empty(get(p, "selinuxLabel")))
		return refuse(err, "process.selinuxLabel", "SELinux is not supported by podctl");
	if ((r = strv_from(get(p, "args"), "process.args", &a->exec, err)) < 0)
		return r;
	if (!a->exec || !a->exec[0])
		return refuse(err, "process.args", "required, not empty");
	if ((r = strv_from(get(p, "env"), "process.env", &a->env, err)) < 0)
		return r;
	if ((r = get_string(p, "cwd", "process", &cwd, err)) < 0)
		return r;
	if (!cwd || cwd[0] != '/')
		return refuse(err, "process.cwd", "must be an absolute path");
	if (!(a->working_dir = strdup(cwd)))
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cwd");
	if ((r = map_user(a, get(p, "user"), err)) < 0)
		return r;
	if ((r = map_caps(a, get(p, "capabilities"), err)) < 0)
		return r;
	if ((r = map_rlimits(s, get(p, "rlimits"), err)) < 0)
		return r;
	a->no_new_privileges = json_object_get_boolean(get(p, "noNewPrivileges"));
	s->terminal = json_object_get_boolean(get(p, "terminal"));
	if (get(p, "oomScoreAdj")) {
		s->has_oom_score_adj = true;
		s->oom_score_adj = json_object_get_int(get(p, "oomScoreAdj"));
	}
	return 0;
}

/* --- mounts ------------------------------------------------------------------- */

/* An absolute path with no "." or ".." component. */
static bool dest_ok(const char *d)
{
	if (!d || d[0] != '/')
		return false;
	for (const char *c = d; *c;) {
		while (*c == '/')
			c++;
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
	}
	return true;
}

/* The API filesystems stage1 mounts for every app itself. */
static const struct {
	const char *dest, *type;
} provided[] = {
	{ "/proc", "proc" },          { "/dev", "tmpfs" },       { "/dev/pts", "devpts" },
	{ "/dev/shm", "tmpfs" },      { "/dev/mqueue", "mqueue" }, { "/sys", "sysfs" },
	{ "/sys/fs/cgroup", "cgroup" },
};

static bool has_opt(char *const *opts, const char *o)
{
	for (; opts && *opts; opts++)
		if (streq(*opts, o))
			return true;
	return false;
}

static int add_volume(ps_manifest *m, ps_app *a, const char *kind, const char *source,
                      const char *dest, bool ro, bool suid, bool dev, ps_error **err)
{
	ps_volume *v = realloc(m->volumes, (m->n_volumes + 1) * sizeof(*v));
	if (!v)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "mounts");
	m->volumes = v;
	ps_mount *mm = realloc(a->mounts, (a->n_mounts + 1) * sizeof(*mm));
	if (!mm)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "mounts");
	a->mounts = mm;
	v = &m->volumes[m->n_volumes];
	mm = &a->mounts[a->n_mounts];
	*v = (ps_volume){ .name = ps_strdup_printf("oci-%zu", m->n_volumes), .kind = strdup(kind),
		          .source = source ? strdup(source) : NULL, .read_only = ro,
		          .allow_suid = suid, .allow_dev = dev };
	*mm = (ps_mount){ .volume = v->name ? strdup(v->name) : NULL, .path = strdup(dest), .read_only = ro };
	m->n_volumes++;
	a->n_mounts++;
	if (!v->name || !v->kind || (source && !v->source) || !mm->volume || !mm->path)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "mounts");
	return 0;
}

static int map_mount(struct oci_spec *s, ps_app *a, json_object *mo, size_t i, ps_error **err)
{
	static const char *const keys[] = { "destination", "type", "source", "options", NULL };
	static const char *const bind_opts[] = { "bind", "rbind", "ro", "rw", "private", "rprivate",
		                                 "nosuid", "nodev", "suid", "dev", "exec", NULL };
	static const char *const tmpfs_opts[] = { "nosuid", "nodev", "noexec", "strictatime",
		                                  "relatime", "rw", NULL };
	char path[64];
	const char *dest = NULL, *type = NULL, *source = NULL;
	_cleanup_strv_ char **opts = NULL;
	int r;

	snprintf(path, sizeof(path), "mounts[%zu]", i);
	if ((r = only_keys(mo, path, keys, err)) < 0 || (r = get_string(mo, "destination", path, &dest, err)) < 0 ||
	    (r = get_string(mo, "type", path, &type, err)) < 0 ||
	    (r = get_string(mo, "source", path, &source, err)) < 0 ||
	    (r = strv_from(get(mo, "options"), path, &opts, err)) < 0)
		return r;
	snprintf(path, sizeof(path), "mounts[%zu].destination", i);
	if (!dest_ok(dest))
		return refuse(err, path, "\"%s\" must be an absolute path without . or .. components",
		              dest ? dest : "");
	bool bind = (type && streq(type, "bind")) || has_opt(opts, "bind") || has_opt(opts, "rbind");
	if (!bind) {
		for (size_t k = 0; k < ARRAY_SIZE(provided); k++) {
			if (!streq(provided[k].dest, dest))
				continue;
			if (!type || !streq(provided[k].type, type)) {
				snprintf(path, sizeof(path), "mounts[%zu].type", i);
				return refuse(err, path, "podctl mounts %s as %s itself", dest, provided[k].type);
			}
			if (streq(type, "cgroup"))
				warn(s, "mounts: /sys/fs/cgroup is not mounted in podctl containers");
			if (has_opt(opts, "size=65536k") || streq(type, "tmpfs"))
				warn(s, "mounts: podctl's /dev and /dev/shm are its own (their size is not enforced)");
			return 0; /* stage1's own, with its flags */
		}
		if (type && streq(type, "tmpfs")) {
			for (char **o = opts; o && *o; o++) {
				bool ok = strncmp(*o, "mode=", 5) == 0;
				if (strncmp(*o, "size=", 5) == 0) {
					ok = true;
					warn(s, "mounts: the size of a tmpfs is not enforced by podctl");
				}
				for (const char *const *t = tmpfs_opts; *t && !ok; t++)
					ok = streq(*t, *o);
				if (!ok) {
					snprintf(path, sizeof(path), "mounts[%zu].options", i);
					return refuse(err, path, "tmpfs option \"%s\" is not supported by podctl", *o);
				}
			}
			warn(s, "mounts: a tmpfs outside /dev is an empty volume in the pod dir");
			return add_volume(s->m, a, "empty", NULL, dest, false, false, false, err);
		}
		snprintf(path, sizeof(path), "mounts[%zu].type", i);
		return refuse(err, path, "a %s mount at %s is not supported by podctl", type ? type : "(none)", dest);
	}
	for (char **o = opts; o && *o; o++) {
		bool ok = false;
		for (const char *const *b = bind_opts; *b && !ok; b++)
			ok = streq(*b, *o);
		if (!ok) {
			snprintf(path, sizeof(path), "mounts[%zu].options", i);
			return refuse(err, path, "bind option \"%s\" is not supported by podctl", *o);
		}
	}
	if (!source || source[0] != '/') {
		snprintf(path, sizeof(path), "mounts[%zu].source", i);
		return refuse(err, path, "a bind mount needs an absolute source");
	}
	return add_volume(s->m, a, "host", source, dest, has_opt(opts, "ro"), has_opt(opts, "suid"),
	                  has_opt(opts, "dev"), err);
}

/* --- linux -------------------------------------------------------------------- */

static int map_namespaces(struct oci_spec *s, json_object *arr, ps_error **err)
{
	static const char *const joinable[] = { "network", "ipc", "uts" };
	ps_manifest *m = s->m;
	static const char *const must[] = { "pid", "ipc", "uts", "mount" };
	bool seen_net = false, seen[ARRAY_SIZE(must)] = { false };

	if (!arr || !json_object_is_type(arr, json_type_array))
		return refuse(err, "linux.namespaces", "expected an array");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *ns = json_object_array_get_idx(arr, i);
		char path[64];
		const char *type = NULL, *nspath = NULL;
		snprintf(path, sizeof(path), "linux.namespaces[%zu]", i);
		static const char *const keys[] = { "type", "path", NULL };
		if (only_keys(ns, path, keys, err) < 0 || get_string(ns, "type", path, &type, err) < 0 ||
		    get_string(ns, "path", path, &nspath, err) < 0)
			return -EINVAL;
		if (!type) {
			snprintf(path, sizeof(path), "linux.namespaces[%zu].type", i);
			return refuse(err, path, "required");
		}
		if (nspath && *nspath) {
			/* a Kubernetes sandbox's network, ipc and uts: stage1 --join-ns */
			snprintf(path, sizeof(path), "linux.namespaces[%zu].path", i);
			int k = -1;
			for (size_t j = 0; j < ARRAY_SIZE(joinable); j++)
				if (streq(joinable[j], type))
					k = (int)j;
			if (k < 0)
				return refuse(err, path, "joining an existing %s namespace is not supported by podctl", type);
			if (nspath[0] != '/' || strchr(nspath, ','))
				return refuse(err, path, "must be an absolute path");
			free(s->join_ns[k]);
			if (!(s->join_ns[k] = strdup(nspath)))
				return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "namespaces");
		}
		snprintf(path, sizeof(path), "linux.namespaces[%zu].type", i);
		if (streq(type, "network")) {
			seen_net = true;
			continue;
		}
		if (streq(type, "cgroup"))
			continue; /* every app has its own anyway */
		if (streq(type, "user"))
			return refuse(err, path, "user namespaces are not supported by podctl-oci yet");
		bool known = false;
		for (size_t k = 0; k < ARRAY_SIZE(must); k++)
			if (streq(must[k], type))
				known = seen[k] = true;
		if (!known)
			return refuse(err, path, "unknown namespace type \"%s\"", type);
	}
	for (size_t k = 0; k < ARRAY_SIZE(must); k++)
		if (!seen[k])
			return refuse(err, "linux.namespaces", "podctl always gives a container its own %s namespace",
			              must[k]);
	free(m->net);
	m->net = strdup(seen_net ? "none" : "host");
	return m->net ? 0 : ps_error_set(err, PS_ERR_FAILED, ENOMEM, "net");
}

int oci_resources_parse(json_object *res, const char *path, ps_resources *r, ps_error **err)
{
	static const char *const keys[] = { "memory", "cpu", "pids", "blockIO", "devices", NULL };
	static const char *const mem_keys[] = { "limit", "swap", "reservation", "disableOOMKiller",
		                                "swappiness", NULL };
	static const char *const cpu_keys[] = { "shares", "quota", "period", "cpus", "mems", NULL };
	static const char *const blk_keys[] = { "weight", NULL };
	char p[96];
	int rr;

	if (!res)
		return 0;
	if ((rr = only_keys(res, path, keys, err)) < 0)
		return rr;
	json_object *mem = get(res, "memory"), *cpu = get(res, "cpu"), *v;
	snprintf(p, sizeof(p), "%s.memory", path);
	if ((rr = only_keys(mem, p, mem_keys, err)) < 0)
		return rr;
	if ((v = get(mem, "limit")) && json_object_get_int64(v) > 0)
		r->memory = json_object_get_int64(v);
	if ((v = get(mem, "swap")) && json_object_get_int64(v) != 0)
		r->memory_swap = json_object_get_int64(v) < 0 ? -1 : json_object_get_int64(v);
	if ((v = get(mem, "swappiness")) && json_object_get_int64(v) >= 0 && json_object_get_int64(v) <= 100) {
		snprintf(p, sizeof(p), "%s.memory.swappiness", path);
		return refuse(err, p, "not supported by podctl");
	}
	snprintf(p, sizeof(p), "%s.cpu", path);
	if ((rr = only_keys(cpu, p, cpu_keys, err)) < 0)
		return rr;
	if ((v = get(cpu, "shares")) && json_object_get_int64(v) > 0)
		r->cpu_shares = json_object_get_int64(v);
	long long quota = json_object_get_int64(get(cpu, "quota"));
	long long period = json_object_get_int64(get(cpu, "period"));
	if (quota > 0)
		r->cpu_millis = quota * 1000 / (period > 0 ? period : 100000);
	if (!is_empty(get(cpu, "cpus")) || !is_empty(get(cpu, "mems"))) {
		snprintf(p, sizeof(p), "%s.cpu.cpus", path);
		return refuse(err, p, "cpusets are not supported by podctl");
	}
	if ((v = get(get(res, "pids"), "limit")) && json_object_get_int64(v) > 0)
		r->pids = json_object_get_int64(v);
	snprintf(p, sizeof(p), "%s.blockIO", path);
	if ((rr = only_keys(get(res, "blockIO"), p, blk_keys, err)) < 0)
		return rr;
	if ((v = get(get(res, "blockIO"), "weight")) && json_object_get_int64(v) > 0)
		r->blkio_weight = json_object_get_int64(v);
	/* devices: podctl's own allowlist (the usual char devices) is applied
	 * whatever is asked; refuse a rule that would allow more. */
	json_object *dev = get(res, "devices");
	for (size_t i = 0; dev && i < json_object_array_length(dev); i++) {
		json_object *d = json_object_array_get_idx(dev, i);
		if (!json_object_get_boolean(get(d, "allow")))
			continue;
		const char *type = json_object_get_string(get(d, "type"));
		long long major = get(d, "major") ? json_object_get_int64(get(d, "major")) : -1;
		const char *access = json_object_get_string(get(d, "access"));
		bool ok = type && streq(type, "c") && (major == 1 || major == 5 || major == 136);
		/* "c *:* m" / "b *:* m": mknod only, which the allowlist covers */
		ok = ok || (major == -1 && access && streq(access, "m"));
		if (!ok) {
			snprintf(p, sizeof(p), "%s.devices[%zu]", path, i);
			return refuse(err, p, "podctl allows only its own list of devices");
		}
	}
	return 0;
}

/* Masked / read-only paths: podctl's own lists (stage1/app.c) are applied
 * to every app; a path outside them would not be. */
static int check_paths(json_object *arr, const char *path, ps_error **err)
{
	static const char *const podctl_paths[] = {
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/bus", "/proc/fs",
		"/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	};
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
		bool ok = false;
		for (size_t k = 0; s && k < ARRAY_SIZE(podctl_paths); k++)
			ok = ok || streq(podctl_paths[k], s);
		if (!ok) {
			char p[64];
			snprintf(p, sizeof(p), "%s[%zu]", path, i);
			return refuse(err, p, "podctl masks its own list of paths, and %s is not in it",
			              s ? s : "");
		}
	}
	return 0;
}

static int map_linux(struct oci_spec *s, ps_app *a, json_object *l, ps_error **err)
{
	static const char *const keys[] = { "namespaces", "resources", "cgroupsPath", "maskedPaths",
		                            "readonlyPaths", "seccomp", "rootfsPropagation", NULL };
	const char *cg = NULL, *prop = NULL;
	int r;

	if (!l)
		return refuse(err, "linux", "required");
	if ((r = only_keys(l, "linux", keys, err)) < 0 || (r = map_namespaces(s, get(l, "namespaces"), err)) < 0 ||
	    (r = oci_resources_parse(get(l, "resources"), "linux.resources", &a->resources, err)) < 0 ||
	    (r = check_paths(get(l, "maskedPaths"), "linux.maskedPaths", err)) < 0 ||
	    (r = check_paths(get(l, "readonlyPaths"), "linux.readonlyPaths", err)) < 0 ||
	    (r = get_string(l, "cgroupsPath", "linux", &cg, err)) < 0 ||
	    (r = get_string(l, "rootfsPropagation", "linux", &prop, err)) < 0)
		return r;
	if (prop && *prop && !streq(prop, "private") && !streq(prop, "rprivate"))
		return refuse(err, "linux.rootfsPropagation", "podctl's mounts are always private");
	if (cg && *cg) {
		while (*cg == '/')
			cg++;
		if (strchr(cg, ':'))
			return refuse(err, "linux.cgroupsPath", "systemd slice:prefix:name paths are not supported");
		if (ps_cgroup_path_check(cg, NULL) < 0)
			return refuse(err, "linux.cgroupsPath", "not a valid cgroup path");
		if (!(s->cgroups_path = strdup(cg)))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "cgroupsPath");
	}
	json_object *sc = get(l, "seccomp");
	if (sc) {
		if (!(a->seccomp_profile = strdup(json_object_to_json_string_ext(sc, JSON_C_TO_STRING_PLAIN))))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "seccomp");
	} else if (!(a->seccomp = strdup("unconfined"))) {
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "seccomp");
	}
	return 0;
}

/* root.path: a directory beneath the bundle, reached without symlinks. */
static int map_root(struct oci_spec *s, ps_app *a, const char *bundle, json_object *root, ps_error **err)
{
	static const char *const keys[] = { "path", "readonly", NULL };
	const char *p = NULL;
	int r;

	if ((r = only_keys(root, "root", keys, err)) < 0 || (r = get_string(root, "path", "root", &p, err)) < 0)
		return r;
	if (!p || !*p)
		return refuse(err, "root.path", "required");
	_cleanup_free_ char *rb = realpath(bundle, NULL);
	if (!rb)
		return ps_error_errno(err, "bundle %s", bundle);
	const char *rel = p;
	size_t bl = strlen(rb);
	if (p[0] == '/') {
		if (strncmp(p, rb, bl) != 0 || p[bl] != '/')
			return refuse(err, "root.path", "%s is not inside the bundle %s", p, rb);
		rel = p + bl + 1;
	}
	if (strpbrk(rel, ",:"))
		return refuse(err, "root.path", "a path with ',' or ':' cannot be an overlay layer");
	_cleanup_close_ int bfd = open(rb, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return ps_error_errno(err, "bundle %s", rb);
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, bfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		/* no openat2: the same rule by hand, one component at a time */
		fd = openat(bfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		_cleanup_free_ char *copy = strdup(rel);
		char *save = copy, *c;
		while (fd >= 0 && copy && (c = strsep(&save, "/"))) {
			if (!*c || streq(c, "."))
				continue;
			int nfd = streq(c, "..") ? (errno = EXDEV, -1)
			                         : openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			close(fd);
			fd = nfd;
		}
	}
	if (fd < 0)
		return refuse(err, "root.path", "%s: %s (it must be a directory inside the bundle, reached "
		              "without symlinks)", p, strerror(errno));
	close(fd);
	s->rootfs = ps_strdup_printf("%s/%s", rb, rel);
	if (!s->rootfs)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "root");
	a->read_only_rootfs = json_object_get_boolean(get(root, "readonly"));
	return 0;
}

int oci_spec_load(const char *bundle, const char *id, struct oci_spec *ret, ps_error **err)
{
	_cleanup_close_ int bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	if (bfd < 0)
		return ps_error_errno(err, "bundle %s", bundle);
	r = ps_read_file_at(bfd, "config.json", 4 << 20, &text, &len, err);
	if (r < 0)
		return r == -ENOENT && !*err ? ps_error_errno(err, "%s/config.json", bundle) : r;
	return oci_spec_parse(text, len, bundle, id, ret, err);
}

int oci_spec_parse(const char *text, size_t len, const char *bundle, const char *id,
                   struct oci_spec *ret, ps_error **err)
{
	static const char *const keys[] = { "ociVersion", "process", "root", "hostname", "mounts",
		                            "annotations", "linux", "hooks", "domainname", NULL };
	struct oci_spec s = { 0 };
	int r;

	if (len > INT_MAX)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "config.json: too big");
	json_tokener *tok = json_tokener_new();
	json_object *cfg = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	if (tok)
		json_tokener_free(tok);
	if (!cfg || !json_object_is_type(cfg, json_type_object)) {
		json_object_put(cfg);
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "config.json: not a JSON object");
	}
	if ((r = only_keys(cfg, "config.json", keys, err)) < 0)
		goto out;
	if (!is_empty(get(cfg, "hooks"))) {
		r = refuse(err, "hooks", "hooks are not supported by podctl yet");
		goto out;
	}
	if (!is_empty(get(cfg, "domainname"))) {
		r = refuse(err, "domainname", "not supported by podctl");
		goto out;
	}
	if ((r = ps_manifest_new(&s.m, err)) < 0)
		goto out;
	ps_app *a = ps_manifest_add_app(s.m, false, OCI_APP_NAME);
	if (!a) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "config.json");
		goto out;
	}
	a->goal_timeout_ms = 0; /* the shim decides when a container is late */
	if ((r = map_process(&s, a, get(cfg, "process"), err)) < 0 ||
	    (r = map_root(&s, a, bundle, get(cfg, "root"), err)) < 0 ||
	    (r = map_linux(&s, a, get(cfg, "linux"), err)) < 0)
		goto out;
	if (!(a->image = strdup(s.rootfs))) { /* what `podctl list` shows as the image */
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "config.json");
		goto out;
	}
	json_object *mounts = get(cfg, "mounts");
	for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++)
		if ((r = map_mount(&s, a, json_object_array_get_idx(mounts, i), i, err)) < 0)
			goto out;
	/* The pod's name is its hostname: the hostname asked for, else the id. */
	const char *host = NULL;
	if ((r = get_string(cfg, "hostname", "config.json", &host, err)) < 0)
		goto out;
	if (host && *host) {
		if (!ps_manifest_name_is_valid(host)) {
			r = refuse(err, "hostname", "\"%s\" is not a valid pod name", host);
			goto out;
		}
		s.m->name = strdup(host);
	} else if (ps_manifest_name_is_valid(id)) {
		s.m->name = strdup(id);
		warn(&s, "hostname: none asked for; podctl sets it to the container id");
	}
	json_object *ann = get(cfg, "annotations");
	if (ann) {
		json_object_object_foreach(ann, k, v) {
			ps_annotation *na = realloc(s.m->annotations, (s.m->n_annotations + 1) * sizeof(*na));
			if (!na) {
				r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "annotations");
				goto out;
			}
			s.m->annotations = na;
			na[s.m->n_annotations++] = (ps_annotation){ strdup(k), strdup(json_object_get_string(v)) };
		}
	}
	if ((r = ps_manifest_validate(s.m, err)) < 0) {
		ps_error_prefix(err, r, "config.json mapped onto a pod manifest");
		goto out;
	}
	*ret = s;
	s = (struct oci_spec){ 0 };
	r = 0;
out:
	json_object_put(cfg);
	oci_spec_clear(&s);
	return r;
}

void oci_spec_clear(struct oci_spec *s)
{
	ps_manifest_free(s->m);
	free(s->rootfs);
	free(s->cgroups_path);
	for (size_t k = 0; k < ARRAY_SIZE(s->join_ns); k++)
		free(s->join_ns[k]);
	ps_strv_free(s->warnings);
	*s = (struct oci_spec){ 0 };
}

int oci_process_check_exec(const char *json_path, const ps_app *app, char ***ret_args,
                           bool *ret_terminal, ps_error **err)
{
	struct oci_spec s = { 0 };
	ps_app a = { 0 };
	json_object *p = json_object_from_file(json_path);
	int r;

	if (!p)
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "%s: cannot read a JSON process", json_path);
	r = map_process(&s, &a, p, err);
	if (r < 0)
		goto out;
	if (!strv_same(a.env, app->env))
		r = refuse(err, "process.env", "an exec runs with the container's environment");
	else if (!str_same(a.working_dir, app->working_dir))
		r = refuse(err, "process.cwd", "an exec runs in the container's working directory");
	else if (!str_same(a.user, app->user) || !str_same(a.group, app->group))
		r = refuse(err, "process.user", "an exec runs as the container's user");
	else if (!strv_same(a.cap_add, app->cap_add) || !strv_same(a.cap_drop, app->cap_drop))
		r = refuse(err, "process.capabilities", "an exec runs with the container's capabilities");
	if (r < 0)
		goto out;
	*ret_args = TAKE_PTR(a.exec);
	*ret_terminal = s.terminal;
out:
	ps_strv_free(a.exec);
	ps_strv_free(a.env);
	free(a.working_dir);
	free(a.user);
	free(a.group);
	ps_strv_free(a.cap_add);
	ps_strv_free(a.cap_drop);
	json_object_put(p);
	return r;
}
