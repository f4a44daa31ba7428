/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A pod on a CNI network (Documentation/networking.md). Before the other
 * namespaces: stage1 unshares its net ns, bind-mounts it on net/netns in the
 * pod dir (in the host's mount ns, so that gc can still run DEL on it after
 * a SIGKILL), goes back to the host's net ns to run the plugins' ADD
 * (libpodstore/cni.c), and enters the pod's again. When the pod ends (and
 * when setup fails), a child back in the host's pid, mount and net ns runs
 * DEL and unmounts the netns file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include <podstore/cni.h>
#include "stage1.h"
#include "util.h"

struct s1_net {
	int host_net, host_mnt, host_pid; /* stage1's own namespaces, from the start */
	bool owed;                        /* a netns file or an attachment to undo */
	ps_cni_result *result;
};

bool net_is_cni(const struct pod *pod)
{
	const char *n = pod->manifest->net;
	return n && !streq(n, "none") && !streq(n, "host");
}

static int ns_open(const char *name)
{
	char p[32];

	snprintf(p, sizeof(p), "/proc/self/ns/%s", name);
	return open(p, O_RDONLY | O_CLOEXEC);
}

int net_attach(struct pod *pod, ps_error **err)
{
	if (!net_is_cni(pod))
		return 0;
	struct s1_net *n = calloc(1, sizeof(*n));
	if (!n)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "network");
	pod->net = n;
	n->host_net = ns_open("net");
	n->host_mnt = ns_open("mnt");
	n->host_pid = ns_open("pid");
	if (n->host_net < 0 || n->host_mnt < 0 || n->host_pid < 0)
		return ps_error_errno(err, "network: open own namespaces");

	_cleanup_free_ char *path = NULL;
	int r = ps_cni_netns_path(pod->pod_fd, &path, err);
	if (r < 0)
		return r;
	_cleanup_close_ int nfd = openat(pod->pod_fd, PS_CNI_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (nfd < 0)
		return ps_error_errno(err, "network %s: %s (not prepared for it)", pod->manifest->net, PS_CNI_DIR);
	_cleanup_close_ int f = openat(nfd, PS_CNI_FILE_NETNS, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f < 0)
		return ps_error_errno(err, "network: create %s", path);
	if (unshare(CLONE_NEWNET) < 0)
		return ps_error_errno(err, "unshare net ns");
	n->owed = true;
	if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) < 0)
		return ps_error_errno(err, "network: bind-mount the netns on %s", path);
	_cleanup_close_ int podnet = ns_open("net");
	if (podnet < 0 || setns(n->host_net, CLONE_NEWNET) < 0)
		return ps_error_errno(err, "network: back to the host's net ns");
	s1_debug("network %s: ADD", pod->manifest->net);
	r = ps_cni_attach(pod->pod_fd, pod->uuid, pod->manifest, err);
	if (r >= 0)
		r = ps_cni_result_load(pod->pod_fd, &n->result, err);
	if (setns(podnet, CLONE_NEWNET) < 0 && r >= 0)
		r = ps_error_errno(err, "network: enter the pod's net ns");
	s1_debug("network %s: attached", pod->manifest->net);
	return r < 0 ? r : 0;
}

void net_detach(struct pod *pod)
{
	struct s1_net *n = pod->net;

	if (!n || !n->owed)
		return;
	/* Our pid ns for children may be the pod's, whose init is gone: back to
	 * our own (allowed: it is the one we are in). */
	if (setns(n->host_pid, CLONE_NEWPID) < 0)
		s1_warn("network: back to the host's pid ns: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		s1_warn("network: DEL: fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		ps_error *err = NULL;
		if (setns(n->host_mnt, CLONE_NEWNS) < 0 || setns(n->host_net, CLONE_NEWNET) < 0) {
			s1_warn("network: DEL: enter the host's namespaces: %s", strerror(errno));
			_exit(1);
		}
		if (ps_cni_detach(pod->pod_fd, pod->uuid, &err) < 0) {
			s1_warn("%s", err->msg);
			_exit(1);
		}
		_exit(0);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	n->owed = false;
	s1_debug("network %s: DEL done (status %d)", pod->manifest->net, status);
}

static bool is_loopback(const char *ip)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, ip, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, ip, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Append s to *buf (realloc'd); false on ENOMEM. */
static bool append(char **buf, const char *s)
{
	size_t a = *buf ? strlen(*buf) : 0, b = strlen(s);
	char *p = realloc(*buf, a + b + 1);
	if (!p)
		return false;
	memcpy(p + a, s, b + 1);
	*buf = p;
	return true;
}

char *net_hosts_text(const struct pod *pod)
{
	char *s = ps_strdup_printf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	const ps_cni_result *r = pod->net ? pod->net->result : NULL;

	for (size_t i = 0; s && r && i < r->n_ips; i++) {
		char ip[64];
		snprintf(ip, sizeof(ip), "%s", r->ips[i].address);
		char *slash = strchr(ip, '/');
		if (slash)
			*slash = '\0';
		_cleanup_free_ char *line = ps_strdup_printf("%s\t%s\n", ip, pod->name);
		if (!line || !append(&s, line)) {
			free(s);
			return NULL;
		}
	}
	return s;
}

/* The result's DNS, else the host's resolv.conf without loopback resolvers
 * (127.0.0.53 and the like answer on the host's lo, not the pod's). */
char *net_resolv_text(const struct pod *pod, const char *host_resolv)
{
	const ps_cni_result *r = pod->net ? pod->net->result : NULL;
	char *s = strdup("");

	if (r && r->nameservers && r->nameservers[0]) {
		for (size_t i = 0; s && r->nameservers[i]; i++) {
			_cleanup_free_ char *l = ps_strdup_printf("nameserver %s\n", r->nameservers[i]);
			if (!l || !append(&s, l))
				goto oom;
		}
		if (r->domain) {
			_cleanup_free_ char *l = ps_strdup_printf("domain %s\n", r->domain);
			if (!l || !append(&s, l))
				goto oom;
		}
		for (int k = 0; k < 2; k++) {
			char **v = k ? r->options : r->search;
			if (!v || !v[0])
				continue;
			if (!append(&s, k ? "options" : "search"))
				goto oom;
			for (size_t i = 0; v[i]; i++)
				if (!append(&s, " ") || !append(&s, v[i]))
					goto oom;
			if (!append(&s, "\n"))
				goto oom;
		}
		return s;
	}
	/* The host's, line by line. */
	for (const char *p = host_resolv; s && p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		_cleanup_free_ char *line = strndup(p, len);
		p = nl ? nl + 1 : p + len;
		if (!line)
			goto oom;
		char ip[64];
		if (sscanf(line, " nameserver %63s", ip) == 1 && is_loopback(ip))
			continue;
		if (!append(&s, line) || !append(&s, "\n"))
			goto oom;
	}
	return s;
oom:
	free(s);
	return NULL;
}
