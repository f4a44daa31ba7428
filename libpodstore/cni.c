/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CNI: running plugins as the CNI specification says (ADD, CHECK, DEL; 1.0.0
 * and the 0.3/0.4 results), keeping what a pod needs for DEL in its dir
 * (podstore/cni.h), and podctl's rules of its own: a pod may not open
 * connections to the host itself (INPUT), only answer them, so that a
 * service listening on the host is not exposed to every pod on the bridge
 * (published ports are DNAT'ed by portmap and never reach INPUT).
 * Conflists are cni-conf.c's, results cni-result.c's.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cni-internal.h"
#include <podstore/fileio.h>
#include <podstore/markers.h>
#include "json-util.h"
#include "strv.h"
#include "util.h"

/* A plugin (or iptables) that has not finished by then is killed: a hung
 * one must not hold a pod's start, stop or gc forever. */
#define PLUGIN_TIMEOUT_NS (plugin_timeout_s() * 1000000000LL)

/* $PODCTL_CNI_TIMEOUT seconds (1..3600), else 60. */
static long long plugin_timeout_s(void)
{
	const char *e = secure_getenv("PODCTL_CNI_TIMEOUT");
	char *end;
	long long v = e && *e ? strtoll(e, &end, 10) : 0;

	return e && *e && !*end && v >= 1 && v <= 3600 ? v : 60;
}
#define PLUGIN_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* --- running a plugin ------------------------------------------------------------ */

static int memfd_with(const char *name, const char *data, size_t len)
{
	int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (len && ps_write_all(fd, data, len) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* All a pipe gives until EOF, at most RESULT_MAX bytes, by deadline (ns,
 * CLOCK_MONOTONIC): -ETIMEDOUT after. */
static int read_until(int fd, long long deadline, char **ret)
{
	size_t cap = 4096, len = 0;
	_cleanup_free_ char *buf = malloc(cap);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		long long left = deadline - ps_monotonic_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, (int)(left / 1000000 + 1));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue;
		if (len + 1 >= cap) {
			if (cap > RESULT_MAX)
				return -EFBIG;
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		len += (size_t)k;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

/*
 * Run exe with argv, the environment envp, stdin the bytes in, and return
 * its stdout in *ret_out (NUL-terminated). 0 and *ret_status the exit status
 * (wait status) even when it failed; *ret_stderr its stderr, one line.
 */
static int run_capture(const char *exe, char *const argv[], char *const envp[], const char *in, size_t in_len,
                       char **ret_out, char **ret_stderr, int *ret_status)
{
	_cleanup_close_ int infd = memfd_with("cni-stdin", in ? in : "", in ? in_len : 0);
	_cleanup_close_ int errfd = memfd_with("cni-stderr", NULL, 0);
	int pfd[2];

	if (infd < 0)
		return infd;
	if (errfd < 0)
		return errfd;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return e;
	}
	if (pid == 0) {
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(infd, 0) < 0 || dup2(pfd[1], 1) < 0 || dup2(errfd, 2) < 0)
			_exit(127);
		if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
		execve(exe, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	char *out = NULL;
	int r = read_until(pfd[0], ps_monotonic_ns() + PLUGIN_TIMEOUT_NS, &out);
	close(pfd[0]);
	if (r < 0)
		kill(pid, SIGKILL); /* hung, or wrote too much */
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r < 0) {
		free(out);
		return r;
	}
	char *e = NULL;
	size_t elen = 0;
	lseek(errfd, 0, SEEK_SET);
	if (ps_read_all(errfd, 4096, &e, &elen) == 0)
		cni_one_line(e);
	*ret_out = out;
	*ret_stderr = e;
	*ret_status = status;
	return 0;
}

struct cni_ctx {
	const char *uuid;
	const char *netns;       /* CNI_NETNS */
	const char *plugin_path; /* CNI_PATH */
	const char *network;     /* for messages */
};

/* Run one plugin: 0 and its stdout (the result, "" for DEL/CHECK). */
static int plugin_run(const struct cni_ctx *c, const char *command, json_object *conf, char **ret,
                      ps_error **err)
{
	const char *type = ps_json_str(conf, "type");
	_cleanup_free_ char *exe = NULL, *out = NULL, *errtext = NULL;
	int status, r;

	r = cni_plugin_find(c->plugin_path, type, &exe);
	if (r < 0)
		return ps_error_set(err, r == -ENOENT ? PS_ERR_NOT_FOUND : PS_ERR_FAILED, r == -ENOENT ? 0 : -r,
		                    "network %s: plugin %s: not found in %s", c->network, type, c->plugin_path);
	const char *json = json_object_to_json_string_ext(conf, JSON_C_TO_STRING_PLAIN);
	_cleanup_free_ char *e_cmd = ps_strdup_printf("CNI_COMMAND=%s", command);
	_cleanup_free_ char *e_id = ps_strdup_printf("CNI_CONTAINERID=%s", c->uuid);
	_cleanup_free_ char *e_ns = ps_strdup_printf("CNI_NETNS=%s", c->netns);
	_cleanup_free_ char *e_path = ps_strdup_printf("CNI_PATH=%s", c->plugin_path);
	char *envp[] = { e_cmd, e_id, e_ns, "CNI_IFNAME=" PS_CNI_IFNAME, e_path, PLUGIN_PATH_ENV, NULL };
	char *argv[] = { (char *)type, NULL };
	if (!json || !e_cmd || !e_id || !e_ns || !e_path)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "network %s: plugin %s", c->network, type);
	r = run_capture(exe, argv, envp, json, strlen(json), &out, &errtext, &status);
	if (r == -ETIMEDOUT)
		return ps_error_set(err, PS_ERR_TIMEOUT, 0, "network %s: plugin %s: %s: no answer in %lld s, killed",
		                    c->network, type, command, PLUGIN_TIMEOUT_NS / 1000000000LL);
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "network %s: plugin %s: %s: run", c->network, type,
		                    command);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		*ret = TAKE_PTR(out);
		return 0;
	}
	/* The spec's error: {"cniVersion", "code", "msg", "details"} on stdout. */
	_cleanup_json_ json_object *eo = NULL;
	_cleanup_free_ char *msg = NULL;
	if (out && ps_json_parse(out, strlen(out), &eo) == 0 && ps_json_str(eo, "msg")) {
		const char *d = ps_json_str(eo, "details");
		msg = d && *d ? ps_strdup_printf("%s (%s)", ps_json_str(eo, "msg"), d)
		              : strdup(ps_json_str(eo, "msg"));
	} else if (errtext && *errtext) {
		msg = strdup(errtext);
	} else if (WIFEXITED(status)) {
		msg = ps_strdup_printf("exit status %d", WEXITSTATUS(status));
	} else {
		msg = ps_strdup_printf("killed by signal %d", WTERMSIG(status));
	}
	if (msg)
		cni_one_line(msg);
	return ps_error_set(err, PS_ERR_FAILED, 0, "network %s: plugin %s: %s: %s", c->network, type, command,
	                    msg ? msg : "failed");
}

/* The config one plugin of the list is given. */
static json_object *plugin_conf(json_object *list, json_object *plugin, json_object *prev, const ps_manifest *m)
{
	json_object *c = NULL;

	if (json_object_deep_copy(plugin, &c, NULL) < 0 || !c)
		return NULL;
	json_object_object_add(c, "cniVersion", json_object_get(ps_json_get(list, "cniVersion")));
	json_object_object_add(c, "name", json_object_get(ps_json_get(list, "name")));
	if (prev)
		json_object_object_add(c, "prevResult", json_object_get(prev));
	json_object *caps = ps_json_get(plugin, "capabilities");
	json_object *pm = ps_json_get(caps, "portMappings");
	json_object_object_del(c, "runtimeConfig");
	if (m && m->n_ports && pm && json_object_get_boolean(pm)) {
		json_object *rc = json_object_new_object();
		json_object *a = json_object_new_array();
		for (size_t i = 0; a && i < m->n_ports; i++) {
			json_object *o = json_object_new_object();
			if (!o)
				break;
			json_object_object_add(o, "hostPort", json_object_new_int(m->ports[i].host_port));
			json_object_object_add(o, "containerPort", json_object_new_int(m->ports[i].pod_port));
			json_object_object_add(o, "protocol",
			                       json_object_new_string(m->ports[i].protocol ? m->ports[i].protocol : "tcp"));
			if (m->ports[i].host_ip)
				json_object_object_add(o, "hostIP", json_object_new_string(m->ports[i].host_ip));
			json_object_array_add(a, o);
		}
		if (rc && a)
			json_object_object_add(rc, "portMappings", a);
		if (rc)
			json_object_object_add(c, "runtimeConfig", rc);
	}
	return c;
}

/* --- the pod's net/ dir ---------------------------------------------------------- */

int ps_cni_netns_path(int pod_fd, char **ret, ps_error **err)
{
	char link[64], buf[4096];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", pod_fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0 || buf[0] != '/')
		return ps_error_errno(err, "pod dir path");
	buf[n] = '\0';
	char *p = ps_strdup_printf("%s/" PS_CNI_DIR "/" PS_CNI_FILE_NETNS, buf);
	if (!p)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "netns path");
	*ret = p;
	return 0;
}

static int load_list(int nfd, json_object **ret, ps_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r = ps_read_file_at(nfd, PS_CNI_FILE_CONFLIST, CONFLIST_MAX, &text, &len, err);

	if (r == -ENOENT)
		return ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "%s/%s", PS_CNI_DIR, PS_CNI_FILE_CONFLIST);
	if (r < 0)
		return r;
	if (ps_json_parse(text, len, ret) < 0 || !ps_json_array(*ret, "plugins"))
		return ps_error_set(err, PS_ERR_INVALID, 0, "%s/%s: not a conflist", PS_CNI_DIR, PS_CNI_FILE_CONFLIST);
	return 0;
}

/* --- podctl's host-isolation rule ------------------------------------------------ */

static const char *const iptables_dirs[] = { "/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin" };

/* iptables (or ip6tables) -w CMD INPUT MATCH VALUE (-s IP or -i IFACE) … -j REJECT;
 * 0 or the exit status (*ret_msg its stderr). */
static int isolate_rule(const char *cmd, const char *match, const char *value, bool v6, const char *uuid,
                        char **ret_msg)
{
	_cleanup_free_ char *exe = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(iptables_dirs) && !exe; i++) {
		char *f = ps_strdup_printf("%s/%s", iptables_dirs[i], v6 ? "ip6tables" : "iptables");
		if (f && access(f, X_OK) == 0)
			exe = f;
		else
			free(f);
	}
	if (!exe)
		return -ENOENT;
	_cleanup_free_ char *comment = ps_strdup_printf("podctl pod %s", uuid);
	if (!comment)
		return -ENOMEM;
	char *argv[] = { v6 ? "ip6tables" : "iptables", "-w", (char *)cmd, "INPUT", (char *)match, (char *)value,
		         "-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED", "-m", "comment", "--comment",
		         comment, "-j", "REJECT", NULL };
	char *envp[] = { PLUGIN_PATH_ENV, NULL };
	_cleanup_free_ char *out = NULL;
	char *e = NULL;
	int status;
	int r = run_capture(exe, argv, envp, NULL, 0, &out, &e, &status);
	if (r < 0)
		return r;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		free(e);
		return 0;
	}
	*ret_msg = e;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The rules of a pod: one per IP (its source address) and, for IPv4, one
 * per host-side interface of the result (the bridge: a pod that takes
 * another address, or spoofs one, still comes in through it). IPv6 has no
 * interface rule: neighbour discovery to the gateway is INPUT traffic. */
struct rule {
	const char *match;
	char value[64];
	bool v6;
};

static size_t rules_of(const ps_cni_result *res, struct rule *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; res && i < res->n_ips && n < max; i++) {
		struct rule *r = &out[n++];
		const char *a = res->ips[i].address;
		size_t len = strcspn(a, "/");
		r->match = "-s";
		r->v6 = res->ips[i].family == AF_INET6;
		snprintf(r->value, sizeof(r->value), "%.*s/%s", (int)len, a, r->v6 ? "128" : "32");
	}
	bool any_v4 = false;
	for (size_t i = 0; res && i < res->n_ips; i++)
		any_v4 |= res->ips[i].family == AF_INET;
	for (size_t i = 0; any_v4 && res->host_ifaces && res->host_ifaces[i] && n < max; i++) {
		struct rule *r = &out[n++];
		r->match = "-i";
		r->v6 = false;
		snprintf(r->value, sizeof(r->value), "%s", res->host_ifaces[i]);
	}
	return n;
}

static int isolate(const ps_cni_result *res, const char *uuid, bool add, ps_error **err)
{
	struct rule rules[64];
	size_t n = rules_of(res, rules, ARRAY_SIZE(rules));

	for (size_t i = 0; i < n; i++) {
		char *msg = NULL;
		if (add) {
			int r = isolate_rule("-I", rules[i].match, rules[i].value, rules[i].v6, uuid, &msg);
			if (r != 0) {
				r = ps_error_set(err, PS_ERR_FAILED, r < 0 ? -r : 0, "host-isolation rule %s %s: %s",
				                 rules[i].match, rules[i].value, msg && *msg ? msg : "iptables failed");
				free(msg);
				return r;
			}
		} else {
			/* Every copy (an interrupted attach may have added one twice). */
			for (int k = 0; k < 16; k++) {
				free(msg);
				msg = NULL;
				if (isolate_rule("-D", rules[i].match, rules[i].value, rules[i].v6, uuid, &msg) != 0)
					break;
			}
			free(msg);
		}
	}
	return 0;
}

/* --- ADD, CHECK, DEL -------------------------------------------------------------- */

static bool version_has_check(const char *v)
{
	/* CHECK came with 0.4.0; "0.1.0".."0.3.1" do not have it. */
	return v && !(v[0] == '0' && v[1] == '.' && v[2] >= '0' && v[2] <= '3' && v[3] == '.');
}

/* DEL in reverse order; every plugin is run even when one fails (the first
 * error is reported). prev may be NULL. */
static int run_del(const struct cni_ctx *c, json_object *list, json_object *prev, const ps_manifest *m,
                   ps_error **err)
{
	json_object *plugins = ps_json_array(list, "plugins");
	int ret = 0;

	for (size_t i = json_object_array_length(plugins); i-- > 0;) {
		_cleanup_json_ json_object *conf = plugin_conf(list, json_object_array_get_idx(plugins, i), prev, m);
		_cleanup_free_ char *out = NULL;
		if (!conf) {
			ret = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "network %s", c->network);
			continue;
		}
		int r = plugin_run(c, "DEL", conf, &out, err);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

static int ctx_init(struct cni_ctx *c, int pod_fd, const char *uuid, json_object *list, char **netns,
                    ps_error **err)
{
	int r = ps_cni_netns_path(pod_fd, netns, err);

	if (r < 0)
		return r;
	c->uuid = uuid;
	c->netns = *netns;
	c->plugin_path = ps_cni_plugin_path();
	c->network = ps_json_str(list, "name") ? ps_json_str(list, "name") : "?";
	return 0;
}

int ps_cni_attach(int pod_fd, const char *uuid, const ps_manifest *m, ps_error **err)
{
	_cleanup_(resultp) ps_cni_result *res = NULL; /* before any goto */
	_cleanup_close_ int nfd = cni_net_dir_open(pod_fd, err);
	_cleanup_json_ json_object *list = NULL, *prev = NULL;
	_cleanup_free_ char *netns = NULL, *last = NULL;
	struct cni_ctx c;
	int r;

	if (nfd < 0)
		return nfd == -ENOENT ? ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "%s: no network prepared", PS_CNI_DIR)
		                      : nfd;
	if ((r = load_list(nfd, &list, err)) < 0 || (r = ctx_init(&c, pod_fd, uuid, list, &netns, err)) < 0)
		return r;
	/* Before the first plugin runs: from now on DEL is owed. */
	_cleanup_free_ char *att = ps_strdup_printf("{\"containerId\":\"%s\",\"ifname\":\"%s\",\"netns\":\"%s\"}\n",
	                                            uuid, PS_CNI_IFNAME, netns);
	if (!att)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "attach");
	if ((r = ps_write_file_at(nfd, PS_CNI_FILE_ATTACHED, att, strlen(att), 0600, 0, err)) < 0)
		return r;

	json_object *plugins = ps_json_array(list, "plugins");
	for (size_t i = 0; i < json_object_array_length(plugins); i++) {
		_cleanup_json_ json_object *conf = plugin_conf(list, json_object_array_get_idx(plugins, i), prev, m);
		_cleanup_free_ char *out = NULL;
		if (!conf) {
			r = ps_error_set(err, PS_ERR_FAILED, ENOMEM, "network %s", c.network);
			goto undo;
		}
		if ((r = plugin_run(&c, "ADD", conf, &out, err)) < 0)
			goto undo;
		json_object *jres = NULL;
		if (!out || ps_json_parse(out, strlen(out), &jres) < 0) {
			r = ps_error_set(err, PS_ERR_FAILED, 0, "network %s: plugin %s: ADD: result is not JSON",
			                 c.network, ps_json_str(conf, "type"));
			goto undo;
		}
		if (prev)
			json_object_put(prev);
		prev = jres;
		free(last);
		last = TAKE_PTR(out);
	}
	if (!last) {
		r = ps_error_set(err, PS_ERR_FAILED, 0, "network %s: no result", c.network);
		goto undo;
	}
	if ((r = ps_cni_result_parse(last, strlen(last), &res, err)) < 0) {
		ps_error_prefix(err, r, "network %s: result", c.network);
		goto undo;
	}
	if ((r = ps_write_file_at(nfd, PS_CNI_FILE_RESULT, last, strlen(last), 0644, 0, err)) < 0)
		goto undo;
	if ((r = isolate(res, uuid, true, err)) < 0) {
		ps_error_prefix(err, r, "network %s", c.network);
		isolate(res, uuid, false, NULL);
		goto undo;
	}
	if (version_has_check(ps_json_str(list, "cniVersion")) &&
	    !json_object_get_boolean(ps_json_get(list, "disableCheck"))) {
		if ((r = ps_cni_check(pod_fd, uuid, m, err)) < 0) {
			isolate(res, uuid, false, NULL);
			goto undo;
		}
	}
	return 0;
undo:
	/* The spec: a failed ADD is followed by a DEL of the whole list. */
	run_del(&c, list, prev, m, NULL);
	unlinkat(nfd, PS_CNI_FILE_RESULT, 0);
	unlinkat(nfd, PS_CNI_FILE_ATTACHED, 0);
	return r;
}

int ps_cni_check(int pod_fd, const char *uuid, const ps_manifest *m, ps_error **err)
{
	_cleanup_close_ int nfd = cni_net_dir_open(pod_fd, err);
	_cleanup_json_ json_object *list = NULL, *prev = NULL;
	_cleanup_free_ char *netns = NULL, *text = NULL;
	struct cni_ctx c;
	size_t len;
	int r;

	if (nfd < 0)
		return nfd == -ENOENT ? ps_error_set(err, PS_ERR_NOT_FOUND, ENOENT, "no network") : nfd;
	if ((r = load_list(nfd, &list, err)) < 0 || (r = ctx_init(&c, pod_fd, uuid, list, &netns, err)) < 0)
		return r;
	if (!version_has_check(ps_json_str(list, "cniVersion")))
		return 0;
	r = ps_read_file_at(nfd, PS_CNI_FILE_RESULT, RESULT_MAX, &text, &len, err);
	if (r == -ENOENT)
		return ps_error_set(err, PS_ERR_STATE, 0, "network %s: not attached", c.network);
	if (r < 0)
		return r;
	if (ps_json_parse(text, len, &prev) < 0)
		return ps_error_set(err, PS_ERR_INVALID, 0, "network %s: kept result is not JSON", c.network);
	json_object *plugins = ps_json_array(list, "plugins");
	for (size_t i = 0; i < json_object_array_length(plugins); i++) {
		_cleanup_json_ json_object *conf = plugin_conf(list, json_object_array_get_idx(plugins, i), prev, m);
		_cleanup_free_ char *out = NULL;
		if (!conf)
			return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "network %s", c.network);
		if ((r = plugin_run(&c, "CHECK", conf, &out, err)) < 0)
			return r;
	}
	return 0;
}

int ps_cni_detach(int pod_fd, const char *uuid, ps_error **err)
{
	_cleanup_close_ int nfd = cni_net_dir_open(pod_fd, err);
	_cleanup_json_ json_object *list = NULL, *prev = NULL;
	_cleanup_free_ char *netns = NULL, *text = NULL;
	_cleanup_(resultp) ps_cni_result *res = NULL;
	ps_manifest *m = NULL;
	struct cni_ctx c;
	size_t len = 0;
	int r;

	if (nfd == -ENOENT)
		return 0;
	if (nfd < 0)
		return nfd;
	if (faccessat(nfd, PS_CNI_FILE_ATTACHED, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		if ((r = load_list(nfd, &list, err)) < 0 || (r = ctx_init(&c, pod_fd, uuid, list, &netns, err)) < 0)
			return r;
		if (ps_read_file_at(nfd, PS_CNI_FILE_RESULT, RESULT_MAX, &text, &len, NULL) == 0) {
			if (ps_json_parse(text, len, &prev) < 0)
				prev = NULL;
			if (ps_cni_result_parse(text, len, &res, NULL) < 0)
				res = NULL;
		}
		isolate(res, uuid, false, NULL);
		ps_manifest_load_at(pod_fd, &m, NULL); /* the ports; DEL goes on without */
		ps_error *e = NULL;
		r = run_del(&c, list, prev, m, &e);
		ps_manifest_free(m);
		if (r < 0) {
			/* attached stays: the next gc or rm tries again. Say why where
			 * status can show it (a detached stage1's stderr is /dev/null). */
			const char *msg = e && e->msg ? e->msg : "DEL failed";
			ps_write_file_at(nfd, PS_CNI_FILE_ERROR, msg, strlen(msg), 0644, 0, NULL);
			if (err && !*err)
				*err = e;
			else
				ps_error_free(&e);
			return r;
		}
	}
	unlinkat(nfd, PS_CNI_FILE_ERROR, 0);
	/* The netns file: unmount (ours, in this mount ns) and remove. */
	if (!netns && ps_cni_netns_path(pod_fd, &netns, err) < 0)
		return -EIO;
	if (umount2(netns, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
		return ps_error_errno(err, "unmount %s", netns);
	if (unlinkat(nfd, PS_CNI_FILE_NETNS, 0) < 0 && errno != ENOENT)
		return ps_error_errno(err, "remove %s", netns);
	unlinkat(nfd, PS_CNI_FILE_RESULT, 0);
	if (unlinkat(nfd, PS_CNI_FILE_ATTACHED, 0) < 0 && errno != ENOENT)
		return ps_error_errno(err, "remove %s/%s", PS_CNI_DIR, PS_CNI_FILE_ATTACHED);
	return 0;
}
