/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_OCI_H
#define PODCTL_OCI_H

/*
 * podctl-oci: the runc command line (as containerd's io.containerd.runc.v2
 * shim drives it) over podctl's store and stage1. Each OCI container is a
 * one-app pod in the store at --root; Documentation/kubernetes.md says what
 * is mapped and what is refused.
 *
 *   spec.c   config.json → a pod manifest (every field honoured or refused)
 *   main.c   the verbs
 */

#include <stdbool.h>
#include <sys/resource.h>
#include <json-c/json.h>
#include <podstore/podstore.h>

#define OCI_APP_NAME "app"
#define OCI_MAX_RLIMITS 16

/* What config.json asks for that is not a manifest field: podctl-oci applies
 * it to stage1 before exec (stage1 and the app inherit it). */
struct oci_spec {
	ps_manifest *m;           /* one app, OCI_APP_NAME */
	char *rootfs;             /* absolute path of root.path */
	bool terminal;            /* process.terminal */
	int n_rlimits;
	int rlimit_res[OCI_MAX_RLIMITS];
	struct rlimit rlimits[OCI_MAX_RLIMITS];
	bool has_oom_score_adj;
	int oom_score_adj;
	char *cgroups_path;       /* linux.cgroupsPath without leading '/', or NULL */
	char *join_ns[3];         /* network, ipc, uts namespaces to join (paths), or NULL */
	char **warnings;          /* accepted with a difference (logged) */
};

/* Read bundle/config.json and map it (id names the pod when it is a valid
 * pod name). Refusals are PS_ERR_INVALID naming the JSON path. */
int oci_spec_load(const char *bundle, const char *id, struct oci_spec *ret, ps_error **err);
/* The same from config.json's text (the fuzzer's entry). */
int oci_spec_parse(const char *text, size_t len, const char *bundle, const char *id,
                   struct oci_spec *ret, ps_error **err);
void oci_spec_clear(struct oci_spec *s);

/* Check an exec's process.json against the container's: podctl runs an exec
 * as the app runs (stage1 --enter), so what differs is refused. */
int oci_process_check_exec(const char *json_path, const ps_app *app, char ***ret_args,
                           bool *ret_terminal, ps_error **err);

/* linux.resources (from `update --resources` or config.json) into r;
 * path is the JSON path for messages. */
int oci_resources_parse(json_object *res, const char *path, ps_resources *r, ps_error **err);

#endif
