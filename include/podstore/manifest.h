/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_MANIFEST_H
#define PODSTORE_MANIFEST_H

/*
 * Pod manifest v1 (Documentation/manifest.md). Parsing is strict: unknown
 * fields, wrong types and bad values are PS_ERR_INVALID with the JSON path of
 * the offence ("apps[1].exec: expected array of strings"). Durations are
 * strings as ps_duration_parse() takes them. All strings are owned by the
 * manifest; string arrays are NULL-terminated.
 */

#include <stdbool.h>
#include <stddef.h>
#include <podstore/error.h>
#include <podstore/uidrange.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

#define PS_MANIFEST_VERSION 1

typedef enum ps_status_goal {
	PS_GOAL_MOUNTED,
	PS_GOAL_STARTED, /* default */
	PS_GOAL_READY,
} ps_status_goal;

typedef enum ps_restart_policy {
	PS_RESTART_NEVER, /* default */
	PS_RESTART_ON_FAILURE,
	PS_RESTART_ALWAYS,
} ps_restart_policy;

/* Ready protocols an app may opt in to beside sd_notify (which is always on):
 * "readyProtocols": ["pantavisor", "lxd"]. Bits of ps_app.ready_protocols. */
typedef enum ps_ready_protocol {
	PS_READY_PANTAVISOR = 1 << 0, /* POST /signal on /pantavisor/pv-ctrl */
	PS_READY_LXD = 1 << 1,        /* PATCH / GET /1.0 on /dev/lxd/sock */
} ps_ready_protocol;
#define PS_READY_PROTOCOLS_ALL (PS_READY_PANTAVISOR | PS_READY_LXD)

typedef enum ps_probe_kind {
	PS_PROBE_NONE,
	PS_PROBE_EXEC,
	PS_PROBE_HTTP_GET,
	PS_PROBE_TCP_SOCKET,
} ps_probe_kind;

/* Kubernetes semantics and defaults: delay 0, period 10, timeout 1,
 * success 1, failure 3 (seconds / counts). */
typedef struct ps_probe {
	ps_probe_kind kind;
	char **command;      /* exec */
	char *host;          /* httpGet / tcpSocket; NULL = the pod's loopback */
	char *path;          /* httpGet, default "/" */
	int port;            /* httpGet / tcpSocket */
	int initial_delay_s;
	int period_s;
	int timeout_s;
	int success_threshold;
	int failure_threshold;
} ps_probe;

typedef struct ps_mount {
	char *volume;   /* name of a ps_volume */
	char *path;     /* absolute path inside the app */
	bool read_only;
} ps_mount;

typedef struct ps_volume {
	char *name;
	char *kind;     /* "host" or "empty" */
	char *source;   /* host: absolute host path */
	bool read_only;
	bool allow_suid; /* "suid": setuid/setgid bits and file caps work (default nosuid) */
	bool allow_dev;  /* "dev": device nodes on it can be opened (default nodev) */
} ps_volume;

/*
 * Resource limits (Documentation/resources.md) of an app's cgroup, or of the
 * pod's (ps_manifest.resources, from run/prepare --memory and the like).
 * 0 means "not set" in every field.
 */
typedef struct ps_resources {
	long long memory;        /* bytes ("memory": "64Mi") */
	long long memory_swap;   /* bytes of memory + swap, as Docker's --memory-swap;
	                            -1 = unlimited swap */
	long long cpu_millis;    /* CPU bandwidth in thousandths of a CPU ("500m", "0.5") */
	long long cpu_shares;    /* relative CPU weight, v1 shares 2..262144 */
	long long pids;          /* maximum number of tasks */
	long long blkio_weight;  /* relative block IO weight 10..1000 */
} ps_resources;

/* Any limit set in r. */
bool ps_resources_any(const ps_resources *r);

typedef struct ps_app {
	char *name;          /* [a-z0-9][a-z0-9-]*, unique in the pod */
	char *image;         /* image reference (name, digest, prefix or path) */
	char *image_digest;  /* "sha256:<hex>" the image resolved to ("imageDigest"),
	                        set by prepare; a manifest that gives it pins the image */
	char **exec;         /* argv; NULL = the image's Entrypoint + Cmd */
	char **env;          /* "KEY=VALUE"; NULL when none (JSON: an object) */
	char *working_dir;   /* absolute; NULL = image's or "/" */
	char *user;          /* name or uid, or "user:group" (OCI User) when group is
	                        NULL; NULL = image's or 0 */
	char *group;         /* name or gid */
	int group_index;     /* ordering group ("startGroup": N, default 0); "group" is the gid */
	ps_status_goal goal;
	long long goal_timeout_ms;   /* default 30s; 0 = no limit */
	bool goal_timeout_ignore;    /* "onGoalTimeout": "ignore" */
	ps_restart_policy restart;
	long long backoff_initial_ms;  /* default 10s */
	long long backoff_max_ms;      /* default 5m */
	long long watchdog_ms;         /* 0 = none */
	unsigned ready_protocols;      /* ps_ready_protocol bits; 0 = sd_notify only */
	ps_probe liveness, readiness, startup;
	ps_mount *mounts;
	size_t n_mounts;
	/* confinement (Documentation/security.md) */
	char **cap_add;      /* "capabilities": {"add": [...]}: "CAP_…" or "ALL"; NULL = none */
	char **cap_drop;     /* "capabilities": {"drop": [...]} */
	char *seccomp;       /* NULL (= "default"), "unconfined", or an absolute path to a
	                        Docker/OCI seccomp profile */
	char *seccomp_profile; /* "seccompProfile": the profile itself as compact JSON; prepare
	                          copies it from the path, and stage1 uses only this */
	bool no_new_privileges; /* "noNewPrivileges", default true */
	bool read_only_rootfs;  /* "readOnlyRootfs", default false */
	ps_resources resources;        /* "resources": limits of the app's cgroup */
	long long log_size;  /* "logSize": bytes a detached app's log file never passes
	                        (PS_MANIFEST_LOG_SIZE_MIN..MAX); 0 = PS_APP_LOG_ROTATE_BYTES */
} ps_app;

/* The range of "logSize" (4 KiB .. 1 GiB). */
#define PS_MANIFEST_LOG_SIZE_MIN (4LL * 1024)
#define PS_MANIFEST_LOG_SIZE_MAX (1024LL * 1024 * 1024)

/* A published port ("ports", --publish): CNI portmap's portMappings. */
typedef struct ps_port {
	char *host_ip;       /* "hostIP": NULL = every address */
	int host_port;       /* 1..65535 */
	int pod_port;        /* "podPort", 1..65535 */
	char *protocol;      /* "tcp" (default) or "udp"; never NULL after parse */
} ps_port;

typedef struct ps_annotation {
	char *key;
	char *value;
} ps_annotation;

/* "privateUsers": the pod's user namespace (podstore/uidrange.h). */
typedef struct ps_private_users {
	bool enabled;        /* true, or a range given */
	ps_idrange range;    /* the range asked for; size 0: prepare allocates one */
} ps_private_users;

typedef struct ps_manifest {
	int version;
	char *name;          /* pod name and hostname; default: "pod-" + uuid prefix */
	char *net;           /* "none" (default), "host", or a CNI network name
	                        (podstore/cni.h; "default" = "podctl"); never NULL after parse */
	ps_port *ports;      /* published ports: a CNI network only */
	size_t n_ports;
	bool keep_etc_files; /* "keepEtcFiles": an image's /etc/hosts, resolv.conf,
	                        hostname are kept instead of generated */
	ps_app *init_apps;
	size_t n_init_apps;
	ps_app *apps;
	size_t n_apps;
	ps_volume *volumes;
	size_t n_volumes;
	ps_annotation *annotations;
	size_t n_annotations;
	ps_resources resources;        /* "resources": limits of the pod's cgroup */
	ps_private_users private_users; /* "privateUsers" */
} ps_manifest;

/* Parse and validate a manifest. */
int ps_manifest_parse(const char *json, size_t len, ps_manifest **ret, ps_error **err);

/* Re-validate a manifest built or changed in code (after image defaults were
 * merged in, say). Same checks and messages as ps_manifest_parse(). */
int ps_manifest_validate(const ps_manifest *m, ps_error **err);

/* Serialize to the canonical JSON form (defaults left out, 2-space indent,
 * final newline) that ps_manifest_parse() reads back unchanged. Validates m
 * first: an invalid manifest is PS_ERR_INVALID, nothing is written. */
int ps_manifest_to_json(const ps_manifest *m, char **ret, ps_error **err);

/* An empty manifest (version 1, net none) to fill in code. */
int ps_manifest_new(ps_manifest **ret, ps_error **err);
/* Append a zeroed app with defaults to m->apps (or m->init_apps); returns it,
 * or NULL on ENOMEM (m unchanged). name may be NULL. Moves the array: earlier
 * ps_app pointers into it are no longer valid. */
ps_app *ps_manifest_add_app(ps_manifest *m, bool init, const char *name);

/* Read and parse pods/<dir>/<uuid>/manifest (at most 1 MiB). Parse errors
 * are prefixed "manifest: "; a missing file is PS_ERR_NOT_FOUND, -ENOENT; an
 * empty one (a power cut's leftover) PS_ERR_INVALID. */
int ps_manifest_load_at(int pod_fd, ps_manifest **ret, ps_error **err);

/* Free a manifest and everything in it; NULL is fine. */
void ps_manifest_free(ps_manifest *m);

/* The manifest's spelling of a goal ("MOUNTED", "STARTED", "READY"; static),
 * and back (-EINVAL for anything else). */
const char *ps_status_goal_name(ps_status_goal g);
int ps_status_goal_from_name(const char *s, ps_status_goal *ret);
/* "never", "on-failure", "always" (static). */
const char *ps_restart_policy_name(ps_restart_policy r);
/* "pantavisor" / "lxd" for one PS_READY_* bit, NULL otherwise. */
const char *ps_ready_protocol_name(ps_ready_protocol p);
int ps_ready_protocol_from_name(const char *s, ps_ready_protocol *ret);

/* Free a NULL-terminated string array. */
void ps_strv_free(char **v);
size_t ps_strv_length(char *const *v);

#pragma GCC visibility pop

#endif
