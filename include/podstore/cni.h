/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_CNI_H
#define PODSTORE_CNI_H

/*
 * Pod networking through CNI (Documentation/networking.md): network
 * configuration lists (.conflist) are found by their "name" in a config dir,
 * plugins are executables in CNI_PATH, called as the CNI specification says
 * (ADD, CHECK, DEL; config on stdin, result or error on stdout).
 *
 * What a pod on a CNI network keeps in its dir, net/:
 *   conflist   the network's list, copied at prepare (DEL uses this copy
 *              even when the file in the config dir changed since)
 *   netns      a file the pod's network namespace is bind-mounted on
 *              (CNI_NETNS), in the host's mount namespace
 *   attached   written before the first ADD; removed once DEL succeeded.
 *              Its presence is what gc / rm act on after a crash.
 *   result     the ADD result (IPs, routes, DNS), while attached
 *   error      why the last DEL failed (one line), until one succeeds
 *
 * The container id given to plugins is the pod's uuid, the interface eth0.
 * Plugins run in the caller's namespaces: call ADD, DEL and CHECK from the
 * host's network and mount namespaces. Errors name the network, the plugin
 * and the plugin's own message, in one line.
 */

#include <stdbool.h>
#include <stddef.h>

#include <podstore/error.h>
#include <podstore/manifest.h>

#define PS_CNI_DIR "net"
#define PS_CNI_FILE_CONFLIST "conflist"
#define PS_CNI_FILE_NETNS "netns"
#define PS_CNI_FILE_ATTACHED "attached"
#define PS_CNI_FILE_RESULT "result"
#define PS_CNI_FILE_ERROR "error"
#define PS_CNI_DEFAULT_CONFIG_DIR "/etc/cni/net.d"
#define PS_CNI_DEFAULT_PATH "/usr/lib/cni"
#define PS_CNI_DEFAULT_NETWORK "podctl" /* what --net=default means */
#define PS_CNI_DEFAULT_BRIDGE "podctl0"
#define PS_CNI_DEFAULT_SUBNET "10.89.0.0/16"
#define PS_CNI_IFNAME "eth0"

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef struct ps_cni_ip {
	char *address;  /* "10.89.0.2/16" (CIDR, checked) */
	char *gateway;  /* or NULL */
	int family;     /* AF_INET or AF_INET6 */
} ps_cni_ip;

typedef struct ps_cni_result {
	char *cni_version;
	ps_cni_ip *ips;
	size_t n_ips;
	char **host_ifaces;   /* NULL-terminated: the "interfaces" on the host's side (no
	                         "sandbox"), names checked ([A-Za-z0-9._-], 1..15); may be NULL */
	char **nameservers;   /* NULL-terminated, each a checked IP; may be NULL */
	char *domain;         /* or NULL; [A-Za-z0-9._-] only */
	char **search;        /* likewise */
	char **options;       /* [A-Za-z0-9._:-] only */
} ps_cni_result;

/* A network name: [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 chars (never a
 * path). "none", "host" and "default" are podctl's own words. */
bool ps_cni_name_is_valid(const char *name);

/* The config dir: dir when not NULL, else $PODCTL_CNI_CONFIG_DIR, else
 * /etc/cni/net.d. The plugin path: $PODCTL_CNI_PATH, else /usr/lib/cni.
 * Static or the environment's: not to be freed. */
const char *ps_cni_config_dir(const char *dir);
const char *ps_cni_plugin_path(void);

/*
 * Find network name in the config dir (see ps_cni_config_dir()): the first
 * *.conflist, in name order, whose "name" is name. "default" is the network
 * "podctl"; its conflist (bridge podctl0, host-local IPAM on
 * PS_CNI_DEFAULT_SUBNET, portmap, firewall) is written as podctl.conflist
 * when no list names it. The list is checked (ps_cni_conflist_check()).
 * *ret is its text. Not found is PS_ERR_NOT_FOUND, bad PS_ERR_INVALID.
 */
int ps_cni_conflist_find(const char *conf_dir, const char *name, char **ret, ps_error **err);

/* Check a conflist: JSON, a cniVersion, a valid name, a non-empty plugins
 * array of objects whose "type" is a plain file name found executable in
 * plugin_path (colon-separated dirs). Messages name what is wrong. */
int ps_cni_conflist_check(const char *json, size_t len, const char *plugin_path, ps_error **err);

/* prepare: keep the list ps_cni_conflist_find() returned as pod_fd's
 * net/conflist (data synced; the caller fsyncs the pod dir). */
int ps_cni_prepare_pod(int pod_fd, const char *conflist, ps_error **err);

/*
 * Attach the pod: write net/attached, run every plugin's ADD in order (each
 * given the previous result), keep the result in net/result, add podctl's
 * host-isolation rule (new connections from the pod's IPs to the host itself
 * are rejected; published ports and replies still work), then CHECK when
 * the list's version has it and it does not say "disableCheck". CNI_NETNS
 * is ps_cni_netns_path(); ports come from m ("ports", portMappings
 * capability). On failure DEL has been run to undo what was done.
 */
int ps_cni_attach(int pod_fd, const char *uuid, const ps_manifest *m, ps_error **err);

/* CHECK every plugin with the kept result (CNI >= 0.4.0). */
int ps_cni_check(int pod_fd, const char *uuid, const ps_manifest *m, ps_error **err);

/*
 * Detach: when net/attached exists, remove the host-isolation rule, run
 * every plugin's DEL in reverse order with the kept result, unmount and
 * remove net/netns (from the caller's mount namespace), and remove
 * net/attached and net/result. A DEL that fails leaves net/attached, and
 * its message in net/error, for the next try. Nothing attached: 0. A pod dir without net/:
 * 0. The manifest is read from the pod dir (for the port mappings).
 */
int ps_cni_detach(int pod_fd, const char *uuid, ps_error **err);

/* The absolute path of pod_fd's net/netns (from /proc/self/fd), which
 * CNI_NETNS names; the caller bind-mounts the netns on it before attach. */
int ps_cni_netns_path(int pod_fd, char **ret, ps_error **err);

/* The pod's network state: 1 and *ret when net/result exists, 0 and *ret
 * NULL when it does not (not on a CNI network, or not attached). */
int ps_cni_result_load(int pod_fd, ps_cni_result **ret, ps_error **err);

/* Why the pod's last DEL failed: 1 and *ret (one line, to free), or 0 and
 * *ret NULL when it did not (or never ran). */
int ps_cni_error_load(int pod_fd, char **ret);

/* Parse a CNI result (0.3.0 to 1.0.0 shape: "ips", "dns"); untrusted
 * input, every string checked before it can reach a file. */
int ps_cni_result_parse(const char *json, size_t len, ps_cni_result **ret, ps_error **err);
void ps_cni_result_free(ps_cni_result *r);

#pragma GCC visibility pop

#endif
