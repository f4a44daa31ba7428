/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Making a prepared pod: build or read the manifest, resolve every app's
 * image (merging the image's config under the app's own fields), then lay
 * the pod dir out under the pod's exclusive lock and move it to prepared/.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <sys/stat.h>

#include <podstore/cni.h>
#include <podstore/quantity.h>

#include "prepare.h"
#include "security.h"
#include "strv.h"
#include "util.h"

enum {
	OPT_MANIFEST = OPT_VERB_BASE + 100,
	OPT_NAME,
	OPT_NET,
	OPT_VOLUME,
	OPT_STATUS_GOAL,
	OPT_GOAL_TIMEOUT,
	OPT_UUID_FILE,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_SECURITY_OPT,
	OPT_READ_ONLY,
	OPT_MEMORY,
	OPT_MEMORY_SWAP,
	OPT_CPUS,
	OPT_CPU_SHARES,
	OPT_PIDS_LIMIT,
	OPT_BLKIO_WEIGHT,
	OPT_READY_PROTOCOL,
	OPT_PUBLISH,
	OPT_CNI_CONFIG_DIR,
	OPT_PRIVATE_USERS,
};

const struct option prepare_long_options[] = {
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "net", required_argument, NULL, OPT_NET },
	{ "volume", required_argument, NULL, OPT_VOLUME },
	{ "status-goal", required_argument, NULL, OPT_STATUS_GOAL },
	{ "goal-timeout", required_argument, NULL, OPT_GOAL_TIMEOUT },
	{ "uuid-file-save", required_argument, NULL, OPT_UUID_FILE },
	{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
	{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
	{ "security-opt", required_argument, NULL, OPT_SECURITY_OPT },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "memory-swap", required_argument, NULL, OPT_MEMORY_SWAP },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cpu-shares", required_argument, NULL, OPT_CPU_SHARES },
	{ "pids-limit", required_argument, NULL, OPT_PIDS_LIMIT },
	{ "blkio-weight", required_argument, NULL, OPT_BLKIO_WEIGHT },
	{ "ready-protocol", required_argument, NULL, OPT_READY_PROTOCOL },
	{ "publish", required_argument, NULL, OPT_PUBLISH },
	{ "cni-config-dir", required_argument, NULL, OPT_CNI_CONFIG_DIR },
	{ "private-users", no_argument, NULL, OPT_PRIVATE_USERS },
	{ "pull", required_argument, NULL, OPT_PULL },
	PULL_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static int strv_append(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[(*n)++] = (char *)s;
	nv[*n] = NULL;
	return 0;
}

static int security_opt(struct cli *cli, struct prepare_opts *o, const char *arg)
{
	if (strncmp(arg, "seccomp=", 8) == 0 || strncmp(arg, "seccomp:", 8) == 0) {
		const char *v = arg + 8;
		if (!streq(v, "default") && !streq(v, "unconfined") && !*v)
			return cli_usage_error(cli, "--security-opt seccomp: expected default, unconfined or a profile file");
		o->seccomp = v;
		return EXIT_OK;
	}
	if (streq(arg, "no-new-privileges") || streq(arg, "no-new-privileges=true") ||
	    streq(arg, "no-new-privileges:true")) {
		o->no_new_privs = 1;
		return EXIT_OK;
	}
	if (streq(arg, "no-new-privileges=false") || streq(arg, "no-new-privileges:false")) {
		o->no_new_privs = 0;
		return EXIT_OK;
	}
	return cli_usage_error(cli, "--security-opt: expected seccomp=default|unconfined|PROFILE or "
	                             "no-new-privileges[=true|false], not \"%s\"", arg);
}

static int volume_spec_check(struct cli *cli, const char *spec, bool need_target);

/* An integer option in [min, max]: EXIT_OK, or the usage error's code. */
static int parse_count(struct cli *cli, const char *opt, const char *arg, long long min, long long max,
                       long long *ret)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		return cli_usage_error(cli, "--%s: expected a number from %lld to %lld, not \"%s\"", opt, min, max,
		                       arg);
	*ret = v;
	return EXIT_OK;
}

/* --memory, --cpus and the like: the pod's cgroup limits. True when opt is
 * one of them, with *ret_code EXIT_OK or the usage error's code. */
static bool resource_opt(struct cli *cli, ps_resources *res, int opt, const char *arg, int *ret_code)
{
	int r;

	*ret_code = EXIT_OK;
	switch (opt) {
	case OPT_MEMORY:
		r = ps_size_parse_docker(arg, &res->memory);
		if (r < 0 || res->memory <= 0)
			*ret_code = cli_usage_error(cli, "--memory: expected a size such as 64m or 1g, not \"%s\"", arg);
		return true;
	case OPT_MEMORY_SWAP:
		if (streq(arg, "-1")) {
			res->memory_swap = -1;
			return true;
		}
		r = ps_size_parse_docker(arg, &res->memory_swap);
		if (r < 0 || res->memory_swap <= 0)
			*ret_code = cli_usage_error(cli, "--memory-swap: expected a size such as 128m, or -1, not \"%s\"",
			                            arg);
		return true;
	case OPT_CPUS:
		if (ps_cpu_parse_millis(arg, &res->cpu_millis) < 0)
			*ret_code = cli_usage_error(cli, "--cpus: expected CPUs such as 0.5 or 2 (or 500m), not \"%s\"", arg);
		return true;
	case OPT_CPU_SHARES:
		*ret_code = parse_count(cli, "cpu-shares", arg, 2, 262144, &res->cpu_shares);
		return true;
	case OPT_PIDS_LIMIT:
		*ret_code = parse_count(cli, "pids-limit", arg, 1, 4194304, &res->pids);
		return true;
	case OPT_BLKIO_WEIGHT:
		*ret_code = parse_count(cli, "blkio-weight", arg, 10, 1000, &res->blkio_weight);
		return true;
	default:
		return false;
	}
}

static int port_number(const char *s, long long *ret)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* [HOSTIP:]HOSTPORT:PODPORT[/tcp|udp], HOSTIP an IPv4 or [IPv6] address. */
static int publish_parse(const char *spec, ps_port *ret)
{
	_cleanup_free_ char *s = strdup(spec);
	ps_port port = { 0 };
	unsigned char buf[16];

	if (!s)
		return -ENOMEM;
	char *slash = strrchr(s, '/');
	const char *proto = "tcp";
	if (slash) {
		*slash = '\0';
		proto = slash + 1;
		if (!streq(proto, "tcp") && !streq(proto, "udp"))
			return -EINVAL;
	}
	char *colon = strrchr(s, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	const char *pod = colon + 1;
	char *host = s, *ip = NULL;
	char *c2 = strrchr(s, ':');
	if (c2 && (s[0] != '[' || c2 > strchr(s, ']'))) {
		*c2 = '\0';
		host = c2 + 1;
		ip = s;
		size_t n = strlen(ip);
		if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') {
			ip[n - 1] = '\0';
			ip++;
			if (inet_pton(AF_INET6, ip, buf) != 1)
				return -EINVAL;
		} else if (inet_pton(AF_INET, ip, buf) != 1) {
			return -EINVAL;
		}
	}
	long long hp, pp;
	if (port_number(host, &hp) < 0 || port_number(pod, &pp) < 0)
		return -EINVAL;
	port.host_port = (int)hp;
	port.pod_port = (int)pp;
	port.protocol = strdup(proto);
	port.host_ip = ip && *ip ? strdup(ip) : NULL;
	if (!port.protocol || (ip && *ip && !port.host_ip)) {
		free(port.protocol);
		free(port.host_ip);
		return -ENOMEM;
	}
	*ret = port;
	return 0;
}

bool prepare_opts_handle(struct cli *cli, struct prepare_opts *o, int opt, const char *arg, int *ret_code)
{
	ps_status_goal g;

	*ret_code = EXIT_OK;
	switch (opt) {
	case OPT_MANIFEST:
		o->manifest_path = arg;
		return true;
	case OPT_NAME:
		o->name = arg;
		return true;
	case OPT_NET:
		if (!streq(arg, "none") && !streq(arg, "host") && !ps_cni_name_is_valid(arg))
			*ret_code = cli_usage_error(cli, "--net: expected none, host, default or a CNI network "
			                            "name, not \"%s\"", arg);
		o->net = arg;
		return true;
	case 'p':
	case OPT_PUBLISH: {
		ps_port port = { 0 };
		if (publish_parse(arg, &port) < 0) {
			*ret_code = cli_usage_error(cli, "--publish: expected [HOSTIP:]HOSTPORT:PODPORT[/tcp|udp], "
			                            "not \"%s\"", arg);
			return true;
		}
		free(port.host_ip);
		free(port.protocol);
		if (strv_append(&o->publish, &o->n_publish, arg) < 0)
			*ret_code = cli_failf(cli, EXIT_FAILED, "--publish: %s", strerror(ENOMEM));
		return true;
	}
	case OPT_CNI_CONFIG_DIR:
		o->cni_config_dir = arg;
		return true;
	case 'v':
	case OPT_VOLUME: {
		*ret_code = volume_spec_check(cli, arg, false);
		if (*ret_code)
			return true;
		char **nv = realloc(o->volumes, (o->n_volumes + 2) * sizeof(char *));
		if (!nv) {
			*ret_code = cli_failf(cli, EXIT_FAILED, "--volume: %s", strerror(ENOMEM));
			return true;
		}
		o->volumes = nv;
		o->volumes[o->n_volumes++] = (char *)arg;
		o->volumes[o->n_volumes] = NULL;
		return true;
	}
	case OPT_STATUS_GOAL:
		if (ps_status_goal_from_name(arg, &g) < 0)
			*ret_code = cli_usage_error(cli, "--status-goal: expected MOUNTED, STARTED or READY, not \"%s\"", arg);
		o->status_goal = arg;
		return true;
	case OPT_GOAL_TIMEOUT:
		*ret_code = cli_parse_duration(cli, "goal-timeout", arg, &o->goal_timeout_ms);
		return true;
	case OPT_UUID_FILE:
		o->uuid_file = arg;
		return true;
	case OPT_CAP_ADD:
	case OPT_CAP_DROP:
		if (ps_cap_from_name(arg) == -1)
			*ret_code = cli_usage_error(cli, "--%s: unknown capability \"%s\"",
			                            opt == OPT_CAP_ADD ? "cap-add" : "cap-drop", arg);
		else if ((opt == OPT_CAP_ADD ? strv_append(&o->cap_add, &o->n_cap_add, arg)
		                             : strv_append(&o->cap_drop, &o->n_cap_drop, arg)) < 0)
			*ret_code = cli_failf(cli, EXIT_FAILED, "--%s: %s",
			                      opt == OPT_CAP_ADD ? "cap-add" : "cap-drop", strerror(ENOMEM));
		return true;
	case OPT_SECURITY_OPT:
		*ret_code = security_opt(cli, o, arg);
		return true;
	case OPT_READ_ONLY:
		o->read_only = true;
		return true;
	case OPT_PRIVATE_USERS:
		o->private_users = true;
		return true;
	case OPT_READY_PROTOCOL: {
		ps_ready_protocol rp;
		if (ps_ready_protocol_from_name(arg, &rp) < 0)
			*ret_code = cli_usage_error(cli, "--ready-protocol: expected pantavisor or lxd, not \"%s\"", arg);
		else
			o->ready_protocols |= rp;
		return true;
	}
	default:
		if (resource_opt(cli, &o->resources, opt, arg, ret_code))
			return true;
		return pull_opts_handle(cli, &o->pull, opt, arg, ret_code);
	}
}

int prepare_opts_positional(struct cli *cli, struct prepare_opts *o, int argc, char **argv)
{
	/* getopt_long permutes, but stops at "--": what follows is the app's. */
	if (optind < argc && !streq(argv[optind - 1], "--")) {
		o->image = argv[optind++];
	}
	if (optind < argc) {
		if (!o->image)
			o->image = argv[optind++];
		if (optind < argc)
			o->args = argv + optind;
	}
	return prepare_opts_validate(cli, o);
}

int prepare_opts_validate(struct cli *cli, const struct prepare_opts *o)
{
	if (o->manifest_path && o->image)
		return cli_usage_error(cli, "give an IMAGE or --manifest, not both");
	if (!o->manifest_path && !o->image)
		return cli_usage_error(cli, "missing IMAGE (or --manifest FILE)");
	/* Without a manifest no app can mount a volume by name. */
	for (size_t i = 0; !o->manifest_path && i < o->n_volumes; i++) {
		int r = volume_spec_check(cli, o->volumes[i], true);
		if (r)
			return r;
	}
	return 0;
}

void prepare_opts_clear(struct prepare_opts *o)
{
	free(o->volumes);
	free(o->publish);
	o->volumes = NULL;
	o->n_volumes = 0;
	free(o->cap_add);
	free(o->cap_drop);
	o->cap_add = o->cap_drop = NULL;
	o->n_cap_add = o->n_cap_drop = 0;
}

/* --- building the manifest ------------------------------------------------ */

static int read_manifest_file(const char *path, ps_manifest **ret, ps_error **err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	/* The user's own file: symlinks and /dev/stdin are fine here. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ps_error_errno(err, "read manifest %s", path);
	r = ps_read_all(fd, 1 << 20, &buf, &len);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "read manifest %s", path);
	r = ps_manifest_parse(buf, len, ret, err);
	if (r < 0)
		return ps_error_prefix(err, r, "manifest %s", path);
	return 0;
}

/* An app name from an image reference: its last path component, lowered,
 * with anything outside [a-z0-9-] turned into '-'. */
static char *app_name_from_image(const char *ref)
{
	const char *base = strrchr(ref, '/');
	char buf[64];
	size_t n = 0;

	base = base && base[1] ? base + 1 : ref;
	for (const char *p = base; *p && *p != ':' && *p != '@' && n < sizeof(buf) - 1; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			c = '-';
		if (n == 0 && c == '-')
			continue;
		buf[n++] = c;
	}
	/* Drop tarball suffixes and trailing dashes. */
	buf[n] = '\0';
	for (const char *suf = NULL; (suf = strstr(buf, "-tar")) || (suf = strstr(buf, "-tgz"));)
		buf[suf - buf] = '\0';
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '-')
		buf[--n] = '\0';
	return strdup(n ? buf : "app");
}

/* A volume from the command line: its declaration, and where it is mounted
 * in every app (target NULL: a manifest's apps mount it by name). */
struct volume_spec {
	ps_volume v;
	const char *target;
};

static bool volume_name_taken(const ps_manifest *m, const char *name)
{
	for (size_t i = 0; m && i < m->n_volumes; i++)
		if (streq(m->volumes[i].name, name))
			return true;
	return false;
}

/* Docker's short form: /host/path:/in/pod[:ro|:rw]. The volume gets a
 * generated name (volume-N) that no other volume of the pod has. */
static int parse_volume_short(const ps_manifest *m, char *copy, const char *spec,
                              struct volume_spec *ret, char name[static 32], ps_error **err)
{
	char *colon = strchr(copy, ':');
	char *opt = colon ? strchr(colon + 1, ':') : NULL;

	if (!colon || copy[0] != '/' || colon[1] != '/')
		return ps_error_set(err, PS_ERR_INVALID, 0,
		                    "--volume %s: expected /HOST/PATH:/POD/PATH[:ro] or "
		                    "NAME,kind=…,source=…,target=…", spec);
	*colon = '\0';
	if (opt) {
		*opt++ = '\0';
		if (streq(opt, "ro"))
			ret->v.read_only = true;
		else if (!streq(opt, "rw"))
			return ps_error_set(err, PS_ERR_INVALID, 0,
			                    "--volume %s: unknown option \"%s\" (ro or rw)", spec, opt);
	}
	for (unsigned n = 0;; n++) {
		snprintf(name, 32, "volume-%u", n);
		if (!volume_name_taken(m, name))
			break;
	}
	ret->v.name = name;
	ret->v.kind = (char *)"host";
	ret->v.source = copy;
	ret->target = colon + 1;
	return 0;
}

/* The long form: NAME,kind=host,source=PATH[,readOnly=true][,suid=true][,dev=true][,target=PATH]. */
static int parse_volume_long(char *copy, const char *spec, struct volume_spec *ret, ps_error **err)
{
	char *next = strchr(copy, ',');

	if (next)
		*next++ = '\0';
	if (!copy[0] || strchr(copy, '='))
		return ps_error_set(err, PS_ERR_INVALID, 0, "--volume %s: must start with a name", spec);
	ret->v.name = copy;
	ret->v.kind = (char *)"host";
	while (next) {
		char *tok = next;
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		char *eq = strchr(tok, '=');
		if (!eq)
			return ps_error_set(err, PS_ERR_INVALID, 0,
			                    "--volume %s: expected key=value, not \"%s\"", spec, tok);
		*eq = '\0';
		const char *val = eq + 1;
		if (streq(tok, "kind"))
			ret->v.kind = (char *)val;
		else if (streq(tok, "source"))
			ret->v.source = (char *)val;
		else if (streq(tok, "readOnly"))
			ret->v.read_only = streq(val, "true");
		else if (streq(tok, "suid"))
			ret->v.allow_suid = streq(val, "true");
		else if (streq(tok, "dev"))
			ret->v.allow_dev = streq(val, "true");
		else if (streq(tok, "target"))
			ret->target = val;
		else
			return ps_error_set(err, PS_ERR_INVALID, 0, "--volume %s: unknown key \"%s\"", spec, tok);
	}
	return 0;
}

/* Syntax of a -v/--volume spec, at option time: a usage error (exit 2)
 * rather than a failed prepare. Returns an exit code (0: fine). */
static int volume_spec_check(struct cli *cli, const char *spec, bool need_target)
{
	_cleanup_free_ char *copy = strdup(spec);
	struct volume_spec vs = { 0 };
	ps_error *err = NULL;
	char name[32];
	int r;

	if (!copy)
		return EXIT_FAILED;
	if (spec[0] == '/')
		r = parse_volume_short(NULL, copy, spec, &vs, name, &err);
	else
		r = parse_volume_long(copy, spec, &vs, &err);
	if (r >= 0 && need_target && !vs.target)
		return cli_usage_error(cli, "--volume %s: no target=PATH to mount it at", spec);
	if (r >= 0)
		return 0;
	r = cli_usage_error(cli, "%s", err->msg);
	ps_error_free(&err);
	return r;
}

static bool volume_mounted_by_an_app(const ps_manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_apps; i++)
		for (size_t j = 0; j < m->apps[i].n_mounts; j++)
			if (streq(m->apps[i].mounts[j].volume, name))
				return true;
	return false;
}

/* -v/--volume: declare the volume and mount it at its target in every app. */
static int parse_volume(struct cli *cli, ps_manifest *m, const char *spec, ps_error **err)
{
	_cleanup_free_ char *copy = strdup(spec);
	struct volume_spec vs = { 0 };
	char name[32];
	int r;

	if (!copy)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
	if (spec[0] == '/')
		r = parse_volume_short(m, copy, spec, &vs, name, err);
	else
		r = parse_volume_long(copy, spec, &vs, err);
	if (r < 0)
		return r;
	/* Without a target only a manifest's own mounts can use it: a volume
	 * nobody mounts is a mistake the user wants to hear about. */
	if (!vs.target && !volume_mounted_by_an_app(m, vs.v.name))
		return ps_error_set(err, PS_ERR_INVALID, 0,
		                    "--volume %s: no target=PATH, and no app of the manifest mounts "
		                    "volume \"%s\"", spec, vs.v.name);
	ps_volume *nv = realloc(m->volumes, (m->n_volumes + 1) * sizeof(*nv));
	if (!nv)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
	m->volumes = nv;
	ps_volume *dst = &m->volumes[m->n_volumes++];
	*dst = (ps_volume){
		.name = strdup(vs.v.name),
		.kind = strdup(vs.v.kind),
		.source = vs.v.source ? strdup(vs.v.source) : NULL,
		.read_only = vs.v.read_only,
		.allow_suid = vs.v.allow_suid,
		.allow_dev = vs.v.allow_dev,
	};
	if (!dst->name || !dst->kind || (vs.v.source && !dst->source))
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
	if (!vs.target)
		return 0; /* a manifest's apps mount it themselves */
	for (size_t i = 0; i < m->n_apps; i++) {
		ps_app *a = &m->apps[i];
		ps_mount *nm = realloc(a->mounts, (a->n_mounts + 1) * sizeof(*nm));
		if (!nm)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
		a->mounts = nm;
		a->mounts[a->n_mounts] = (ps_mount){ .volume = strdup(vs.v.name),
			                             .path = strdup(vs.target),
			                             .read_only = vs.v.read_only };
		if (!a->mounts[a->n_mounts].volume || !a->mounts[a->n_mounts].path)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "--volume");
		a->n_mounts++;
	}
	return 0;
}

static int strv_extend(char ***v, char *const *add)
{
	size_t n = ps_strv_length(*v), k = ps_strv_length(add);
	char **nv;

	if (k == 0)
		return 0;
	nv = realloc(*v, (n + k + 1) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	for (size_t i = 0; i < k; i++) {
		if (!(nv[n + i] = strdup(add[i]))) {
			nv[n + i] = NULL;
			return -ENOMEM;
		}
		nv[n + i + 1] = NULL;
	}
	return 0;
}

/* Read, check and keep the app's seccomp profile when "seccomp" names a
 * file: the pod keeps its own copy ("seccompProfile"), so stage1 reads
 * nothing outside the pod and a later change of the file changes no pod. */
static int load_seccomp_profile(ps_app *a, ps_error **err)
{
	_cleanup_free_ char *buf = NULL;
	ps_sc_profile *p = NULL;
	size_t len = 0;
	int r;

	if (!a->seccomp || streq(a->seccomp, "default") || streq(a->seccomp, "unconfined"))
		return 0;
	_cleanup_close_ int fd = open(a->seccomp, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return ps_error_errno(err, "app %s: seccomp profile %s", a->name, a->seccomp);
	if (!S_ISREG(st.st_mode))
		return ps_error_set(err, PS_ERR_INVALID, EINVAL, "app %s: seccomp profile %s: not a regular file",
		                    a->name, a->seccomp);
	r = ps_read_all(fd, PS_SC_PROFILE_MAX_SIZE, &buf, &len);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "app %s: seccomp profile %s", a->name, a->seccomp);
	r = ps_sc_profile_parse(buf, len, ps_caps_all(), NULL, &p, err);
	if (r < 0)
		return ps_error_prefix(err, r, "app %s: seccomp profile %s", a->name, a->seccomp);
	ps_sc_profile_free(p);
	/* Kept compact: the manifest writer re-indents it. */
	json_object *o = json_tokener_parse(buf);
	if (!o)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s: seccomp profile", a->name);
	free(a->seccomp_profile);
	a->seccomp_profile = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (!a->seccomp_profile)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s: seccomp profile", a->name);
	return 0;
}

static int apply_security_opts(const struct prepare_opts *o, ps_app *a, ps_error **err)
{
	if (strv_extend(&a->cap_add, o->cap_add) < 0 || strv_extend(&a->cap_drop, o->cap_drop) < 0)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "build manifest");
	if (o->seccomp) {
		free(a->seccomp);
		free(a->seccomp_profile);
		a->seccomp_profile = NULL;
		if (!(a->seccomp = strdup(o->seccomp)))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "build manifest");
		if (!streq(o->seccomp, "default") && !streq(o->seccomp, "unconfined") && o->seccomp[0] != '/') {
			/* A relative path is the user's: make it absolute. */
			_cleanup_free_ char *cwd = getcwd(NULL, 0);
			free(a->seccomp);
			if (!cwd || !(a->seccomp = ps_strdup_printf("%s/%s", cwd, o->seccomp)))
				return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "build manifest");
		}
	}
	if (o->no_new_privs >= 0)
		a->no_new_privileges = o->no_new_privs;
	if (o->read_only)
		a->read_only_rootfs = true;
	if (!a->seccomp_profile)
		return load_seccomp_profile(a, err);
	return 0;
}

static int build_manifest(struct cli *cli, const struct prepare_opts *o, ps_manifest **ret,
                          ps_error **err)
{
	ps_manifest *m = NULL;
	int r;

	if (o->manifest_path) {
		r = read_manifest_file(o->manifest_path, &m, err);
		if (r < 0)
			return r;
		if (o->args) {
			ps_manifest_free(m);
			return ps_error_set(err, PS_ERR_INVALID, 0,
			                    "arguments after -- need an IMAGE, not --manifest");
		}
	} else {
		r = ps_manifest_new(&m, err);
		if (r < 0)
			return r;
		_cleanup_free_ char *name = app_name_from_image(o->image);
		ps_app *a = name ? ps_manifest_add_app(m, false, name) : NULL;
		if (!a || !(a->image = strdup(o->image)) || (o->args && !(a->exec = ps_strv_copy(o->args)))) {
			ps_manifest_free(m);
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "build manifest");
		}
	}
	if (o->name && !(free(m->name), m->name = strdup(o->name)))
		goto oom;
	if (o->net && !(free(m->net), m->net = strdup(o->net)))
		goto oom;
	if (o->n_publish) {
		ps_port *np = realloc(m->ports, (m->n_ports + o->n_publish) * sizeof(*np));
		if (!np)
			goto oom;
		m->ports = np;
		for (size_t i = 0; i < o->n_publish; i++)
			if (publish_parse(o->publish[i], &m->ports[m->n_ports]) == 0)
				m->n_ports++;
	}
	if (o->private_users) /* keeps a range the manifest asks for */
		m->private_users.enabled = true;
	/* The flags' limits replace the manifest's pod-wide ones they name. */
	if (o->resources.memory)
		m->resources.memory = o->resources.memory;
	if (o->resources.memory_swap)
		m->resources.memory_swap = o->resources.memory_swap;
	if (o->resources.cpu_millis)
		m->resources.cpu_millis = o->resources.cpu_millis;
	if (o->resources.cpu_shares)
		m->resources.cpu_shares = o->resources.cpu_shares;
	if (o->resources.pids)
		m->resources.pids = o->resources.pids;
	if (o->resources.blkio_weight)
		m->resources.blkio_weight = o->resources.blkio_weight;
	for (size_t i = 0; i < m->n_apps; i++) {
		if (o->status_goal)
			ps_status_goal_from_name(o->status_goal, &m->apps[i].goal);
		if (o->goal_timeout_ms >= 0)
			m->apps[i].goal_timeout_ms = o->goal_timeout_ms;
		m->apps[i].ready_protocols |= o->ready_protocols;
	}
	/* Confinement flags apply to init apps and apps alike. */
	for (size_t k = 0; k < 2; k++) {
		ps_app *apps = k ? m->init_apps : m->apps;
		size_t n = k ? m->n_init_apps : m->n_apps;
		for (size_t i = 0; i < n; i++) {
			r = apply_security_opts(o, &apps[i], err);
			if (r < 0) {
				ps_manifest_free(m);
				return r;
			}
		}
	}
	for (size_t i = 0; i < o->n_volumes; i++) {
		r = parse_volume(cli, m, o->volumes[i], err);
		if (r < 0) {
			ps_manifest_free(m);
			return r;
		}
	}
	*ret = m;
	return 0;
oom:
	ps_manifest_free(m);
	return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "build manifest");
}

/* --- images --------------------------------------------------------------- */

/* What an app runs on: the layer trees (bottom first) and the image config. */
struct app_root {
	char *digest;       /* NULL for a rootfs dir used in place */
	char **layers;      /* absolute, or relative to the data dir */
	ps_image *image;    /* config source, may be NULL */
};

static void app_root_clear(struct app_root *ar)
{
	free(ar->digest);
	ps_strv_free(ar->layers);
	if (ar->image)
		ps_image_free(ar->image);
	*ar = (struct app_root){ 0 };
}

/* An OCI layout dir is imported, any other dir is a rootfs. */
static bool is_image_layout(const char *dir)
{
	_cleanup_free_ char *p = ps_strdup_printf("%s/oci-layout", dir);

	return p && access(p, F_OK) == 0;
}

static int take_image(struct app_root *ret, ps_image *img, const char *ref, ps_error **err);

static int resolve_root(struct cli *cli, const struct prepare_opts *o, const char *ref,
                        struct app_root *ret, ps_error **err)
{
	struct stat st;
	int r;

	/* A name in the store wins over a path (names such as
	 * docker.io/acc/busybox:latest hold slashes), unless the argument can
	 * only be a path: it starts with "/", "./" or "../". A pull reference
	 * (docker://…, oci-archive:…) is never a path. A name that is neither
	 * in the store nor a file is pulled, as --pull says. */
	bool explicit_path = ref[0] == '/' || strncmp(ref, "./", 2) == 0 ||
	                     strncmp(ref, "../", 3) == 0 || streq(ref, ".") || streq(ref, "..");
	bool is_path = explicit_path;
	ps_pull_policy policy = cli_pull_policy(&o->pull);

	if (!explicit_path && !ps_image_ref_has_transport(ref) && policy != PS_PULL_ALWAYS) {
		ps_error *lookup_err = NULL;
		ps_image *named = NULL;
		r = ps_image_resolve(cli->store, ref, &named, &lookup_err);
		if (r >= 0) {
			ps_error_free(&lookup_err);
			return take_image(ret, named, ref, err);
		}
		bool not_found = lookup_err && lookup_err->kind == PS_ERR_NOT_FOUND;
		if (!not_found) {
			if (err && !*err)
				*err = lookup_err;
			else
				ps_error_free(&lookup_err);
			return r;
		}
		ps_error_free(&lookup_err);
		if (stat(ref, &st) == 0)
			is_path = true;
		else if (policy == PS_PULL_NEVER)
			return ps_error_set(err, PS_ERR_NOT_FOUND, 0,
			                    "image %s: no image of that name in the store, and no "
			                    "file or directory of that name (not pulled: --pull=never)",
			                    ref);
	}
	if (!is_path) {
		ps_image *img = NULL;
		r = cli_resolve_or_pull(cli, ref, &o->pull, &img, err);
		return r < 0 ? r : take_image(ret, img, ref, err);
	}
	/* A rootfs directory is used in place, read-only, as the pod's lower
	 * layer: no copy, but it must outlive the pods made from it. */
	if (is_path && stat(ref, &st) < 0)
		return ps_error_set(err, errno == ENOENT ? PS_ERR_NOT_FOUND : PS_ERR_FAILED, errno,
		                    "image %s", ref);
	if (is_path && S_ISDIR(st.st_mode) && !is_image_layout(ref)) {
		char real[PATH_MAX];
		if (!realpath(ref, real))
			return ps_error_errno(err, "image %s", ref);
		ret->layers = calloc(2, sizeof(char *));
		if (!ret->layers || !(ret->layers[0] = strdup(real)))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "image %s", ref);
		return 0;
	}
	ps_image *img = NULL;
	ps_image_import_opts io = { 0 };
	r = ps_image_import(cli->store, ref, &io, &img, err);
	if (r < 0)
		return r;
	return take_image(ret, img, ref, err);
}

/* The pod's layers are the image's. Takes ownership of img. */
static int take_image(struct app_root *ret, ps_image *img, const char *ref, ps_error **err)
{
	ret->image = img;
	ret->digest = strdup(img->digest);
	ret->layers = calloc(img->n_layers + 1, sizeof(char *));
	if (!ret->digest || !ret->layers)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "image %s", ref);
	for (size_t i = 0; i < img->n_layers; i++)
		if (!(ret->layers[i] = strdup(img->layers[i])))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "image %s", ref);
	return 0;
}

/* Image config under the app's own fields: the app wins where it says something. */
static int merge_image_config(ps_app *a, const ps_image *img, ps_error **err)
{
	const ps_image_config *c = img ? &img->config : NULL;

	if (!a->exec && c) {
		size_t ne = ps_strv_length(c->entrypoint), nc = ps_strv_length(c->cmd);
		if (ne + nc > 0) {
			a->exec = calloc(ne + nc + 1, sizeof(char *));
			if (!a->exec)
				goto oom;
			for (size_t i = 0; i < ne; i++)
				if (!(a->exec[i] = strdup(c->entrypoint[i])))
					goto oom;
			for (size_t i = 0; i < nc; i++)
				if (!(a->exec[ne + i] = strdup(c->cmd[i])))
					goto oom;
		}
	}
	if (!a->exec)
		return ps_error_set(err, PS_ERR_INVALID, 0,
		                    "app %s: no command: give one after -- or use an image with an "
		                    "Entrypoint or Cmd", a->name);
	if (c && c->env) {
		size_t ni = ps_strv_length(c->env), na = ps_strv_length(a->env), n = 0;
		char **env = calloc(ni + na + 1, sizeof(char *));
		if (!env)
			goto oom;
		for (size_t i = 0; i < ni; i++) {
			size_t klen = strcspn(c->env[i], "=");
			bool overridden = false;
			for (size_t j = 0; j < na; j++)
				if (strncmp(a->env[j], c->env[i], klen) == 0 && a->env[j][klen] == '=')
					overridden = true;
			if (!overridden && !(env[n++] = strdup(c->env[i]))) {
				ps_strv_free(env);
				goto oom;
			}
		}
		for (size_t j = 0; j < na; j++)
			env[n++] = TAKE_PTR(a->env[j]);
		free(a->env);
		a->env = env;
	}
	if (!a->working_dir && c && c->working_dir && *c->working_dir &&
	    !(a->working_dir = strdup(c->working_dir)))
		goto oom;
	if (!a->user && c && c->user && *c->user && !(a->user = strdup(c->user)))
		goto oom;
	return 0;
oom:
	return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s: merge image config", a->name);
}

/* apps/<app>/image (podstore/app.h): what the app runs on, its layers for
 * stage1's overlay, or "copied" when the image was copied into
 * apps/<app>/rootfs because overlayfs is unavailable (no tree kept then). */
static int write_app_image(int app_fd, const char *ref, const struct app_root *ar, bool copied,
                           ps_error **err)
{
	ps_app_image img = { .image = (char *)ref, .digest = ar->digest, .layers = ar->layers,
		             .copied = copied };
	return ps_app_image_write(app_fd, &img, err);
}

/*
 * Whether apps get a copy of their image instead of an overlay: when
 * overlayfs cannot be mounted here, or PODCTL_NO_OVERLAY=1 asks for it (for
 * tests of the fallback, on hosts that have overlayfs). Said once on stderr.
 */
static bool use_copy(struct cli *cli)
{
	static int copy = -1;
	const char *env = getenv("PODCTL_NO_OVERLAY");

	if (copy < 0) {
		copy = (env && streq(env, "1")) || !ps_overlay_supported(cli->store);
		if (copy)
			fputs("podctl: overlayfs unavailable: copying the image\n", stderr); /* a note, verb-less as documented */
	}
	return copy;
}

static int copy_rootfs(struct cli *cli, int app_fd, const ps_app *a, const struct app_root *ar,
                       ps_error **err)
{
	/* Layers are store-relative paths or, for a rootfs dir used in
	 * place, one absolute path: ps_image_copy_rootfs() opens either. */
	ps_image img = { .layers = ar->layers, .n_layers = ps_strv_length(ar->layers) };
	_cleanup_close_ int fd = openat(app_fd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return ps_error_errno(err, "open apps/%s/rootfs", a->name);
	int r = ps_image_copy_rootfs(cli->store, &img, fd, err);
	if (r < 0)
		return ps_error_prefix(err, r, "apps/%s: copy the image", a->name);
	if (!ps_write_sync_deferred() && syncfs(fd) < 0)
		return ps_error_errno(err, "apps/%s: sync the copied image", a->name);
	return 0;
}

static int layout_app(struct cli *cli, int apps_fd, const ps_app *a, const struct app_root *ar,
                      ps_error **err)
{
	bool copy = use_copy(cli);
	int r;

	if (ps_mkdirat_p(apps_fd, a->name, 0700) < 0)
		return ps_error_errno(err, "create apps/%s", a->name);
	_cleanup_close_ int fd = openat(apps_fd, a->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return ps_error_errno(err, "open apps/%s", a->name);
	/* upper and work for the app's overlay, rootfs its mount point (or
	 * the copy of the image, bind-mounted by stage1). */
	static const char *const dirs[] = { "rootfs", "upper", "work" };
	for (size_t i = 0; i < (copy ? 1 : ARRAY_SIZE(dirs)); i++)
		if (ps_mkdirat_p(fd, dirs[i], 0755) < 0)
			return ps_error_errno(err, "create apps/%s/%s", a->name, dirs[i]);
	if (copy && (r = copy_rootfs(cli, fd, a, ar, err)) < 0)
		return r;
	r = write_app_image(fd, a->image, ar, copy, err);
	if (r < 0)
		return ps_error_prefix(err, r, "apps/%s", a->name);
	if (!ps_write_sync_deferred() && ps_fsync(fd) < 0)
		return ps_error_errno(err, "fsync apps/%s", a->name);
	return 0;
}

static int resolve_apps(struct cli *cli, const struct prepare_opts *o, ps_app *apps, size_t n,
                        struct app_root *roots, ps_error **err)
{
	for (size_t i = 0; i < n; i++) {
		int r = resolve_root(cli, o, apps[i].image, &roots[i], err);
		if (r < 0)
			return ps_error_prefix(err, r, "app %s", apps[i].name);
		/* The manifest records what the app runs on; one that names a
		 * digest already gets that image or none. */
		if (roots[i].digest && apps[i].image_digest &&
		    !streq(apps[i].image_digest, roots[i].digest))
			return ps_error_set(err, PS_ERR_INVALID, 0,
			                    "app %s: image %s is %s, the manifest's imageDigest %s",
			                    apps[i].name, apps[i].image, roots[i].digest,
			                    apps[i].image_digest);
		if (roots[i].digest && !apps[i].image_digest &&
		    !(apps[i].image_digest = strdup(roots[i].digest)))
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "app %s", apps[i].name);
		r = merge_image_config(&apps[i], roots[i].image, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int write_uuid_file(const char *path, const char *uuid, ps_error **err)
{
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_free_ char *line = ps_strdup_printf("%s\n", uuid);

	if (!dir || !line)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "write uuid file %s", path);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : path;
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	_cleanup_close_ int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ps_error_errno(err, "write uuid file %s", path);
	int r = ps_write_file_at(dfd, name, line, strlen(line), 0644, 0, err);
	if (r < 0)
		return ps_error_prefix(err, r, "uuid file %s", path);
	return 0;
}

/* The pod's user-namespace id range: allocated in the store's table (which
 * destroying the pod, or gc after a crash, frees) and recorded in the pod
 * dir for stage1 (podstore/uidrange.h). */
static int prepare_userns(struct cli *cli, const ps_manifest *m, ps_pod *p, ps_error **err)
{
	const ps_private_users *pu = &m->private_users;
	ps_idrange got;

	if (!pu->enabled)
		return 0;
	int r = ps_idrange_allocate(cli->store, p->uuid, pu->range.size ? &pu->range : NULL, &got, err);
	if (r >= 0)
		r = ps_idrange_pod_write(p->fd, &got, err);
	return r;
}

int prepare_pod(struct cli *cli, const struct prepare_opts *o, ps_pod **ret, ps_error **err)
{
	ps_manifest *m = NULL;
	struct app_root *roots = NULL;
	size_t n_roots = 0;
	ps_pod *p = NULL;
	_cleanup_free_ char *json = NULL, *conflist = NULL;
	int r;

	r = build_manifest(cli, o, &m, err);
	if (r < 0)
		return r;
	/* Keep image gc off the trees we resolve until the pod records them. */
	_cleanup_close_ int pin = -1;
	r = ps_image_pin(cli->store, &pin, err);
	if (r < 0)
		goto out;
	n_roots = m->n_init_apps + m->n_apps;
	roots = calloc(n_roots + 1, sizeof(*roots));
	if (!roots) {
		r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "prepare");
		goto out;
	}
	/* Everything that can fail on bad input fails before the store changes. */
	r = resolve_apps(cli, o, m->init_apps, m->n_init_apps, roots, err);
	if (r >= 0)
		r = resolve_apps(cli, o, m->apps, m->n_apps, roots + m->n_init_apps, err);
	if (r < 0)
		goto out;

	r = ps_manifest_validate(m, err);
	if (r < 0)
		goto out;
	if (m->name) {
		/* Fail before the store changes; the claim below is the real check. */
		char holder[PS_UUID_LEN + 1];
		if (ps_pod_name_resolve(cli->store, m->name, holder, NULL) == 0) {
			r = ps_error_set(err, PS_ERR_BUSY, 0,
			                 "pod name \"%s\" is taken by pod %s (podctl rm %s frees it)",
			                 m->name, holder, m->name);
			goto out;
		}
	}
	if (!streq(m->net, "none") && !streq(m->net, "host")) {
		r = ps_cni_conflist_find(o->cni_config_dir, m->net, &conflist, err);
		if (r < 0)
			goto out;
	}
	r = ps_pod_create(cli->store, &p, err);
	if (r < 0)
		goto out;
	/* `run` hands the pod to stage1 at once: nothing waits in prepared/
	 * for a reboot, so its files are not fsynced here; the pod's durable
	 * exit marker makes its record durable first (ps_pod_record_sync;
	 * Documentation/devel/decisions.md). A pod on a CNI network keeps the
	 * durable prepare: gc needs its conflist after a power cut to release
	 * its address. Left set for run_pod()'s move to run/. */
	ps_write_defer_sync(o->for_run && !conflist);
	if (conflist && (r = ps_cni_prepare_pod(p->fd, conflist, err)) < 0)
		goto out;
	if (!m->name) {
		m->name = ps_strdup_printf("pod-%.8s", p->uuid);
		if (!m->name) {
			r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "prepare");
			goto out;
		}
	}
	r = ps_pod_name_claim(cli->store, m->name, p->uuid, err);
	if (r < 0)
		goto out;
	r = prepare_userns(cli, m, p, err); /* --private-users: the pod's id range */
	if (r < 0)
		goto out;
	r = ps_manifest_to_json(m, &json, err);
	if (r < 0)
		goto out;
	/* Each file's data now, the dirs once at the end: durable before the
	 * pod appears in prepared/, at one journal commit per file. */
	r = ps_write_file_at(p->fd, PS_FILE_MANIFEST, json, strlen(json), 0644, PS_WRITE_SYNC_DATA, err);
	if (r < 0)
		goto out;
	r = ps_info_write(p->fd, &(ps_info){ .name = m->name, .created_ns = ps_now_ns() }, err);
	if (r < 0)
		goto out;
	if (ps_mkdirat_p(p->fd, PS_DIR_APPS, 0700) < 0) {
		r = ps_error_errno(err, "create apps");
		goto out;
	}
	{
		_cleanup_close_ int apps_fd = ps_apps_dir_open(p->fd, err);
		if (apps_fd < 0) {
			r = apps_fd;
			goto out;
		}
		for (size_t i = 0; i < n_roots && r >= 0; i++) {
			const ps_app *a = i < m->n_init_apps ? &m->init_apps[i] : &m->apps[i - m->n_init_apps];
			r = layout_app(cli, apps_fd, a, &roots[i], err);
		}
		if (r < 0)
			goto out;
		if (!ps_write_sync_deferred() && (ps_fsync(apps_fd) < 0 || ps_fsync(p->fd) < 0)) {
			r = ps_error_errno(err, "fsync pod dir");
			goto out;
		}
	}
	if (!o->for_run) {
		r = ps_pod_transition(p, PS_DIR_PREPARED, err);
		if (r < 0)
			goto out;
	}
	if (o->uuid_file) {
		r = write_uuid_file(o->uuid_file, p->uuid, err);
		if (r < 0)
			goto out;
	}
	if (!o->for_run)
		ps_pod_unlock(p);
	*ret = TAKE_PTR(p);
out:
	if (r < 0 && p) {
		ps_error_prefix(err, r, "prepare pod %s", p->uuid);
		/* Leave nothing behind. Should even this fail (or should we be
		 * killed), the pod stays in prepare/ unlocked: an aborted prepare,
		 * which gc collects. */
		if (p->lock == PS_LOCK_EXCLUSIVE && ps_pod_transition_lazy(p, PS_DIR_GARBAGE, NULL) == 0)
			ps_pod_destroy(p, NULL);
		if (m && m->name)
			ps_pod_name_release(cli->store, m->name, p->uuid, NULL);
	}
	ps_pod_free(p);
	for (size_t i = 0; roots && i < n_roots; i++)
		app_root_clear(&roots[i]);
	free(roots);
	ps_manifest_free(m);
	return r < 0 ? r : 0;
}
