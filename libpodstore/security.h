/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_SECURITY_H
#define PODSTORE_SECURITY_H

/*
 * What confines an app, shared by the CLI (validation, `status`) and stage1
 * (which enforces it). Internal, not installed; json-c only — compiling a
 * profile into BPF with libseccomp is stage1's job (stage1/seccomp.c).
 *
 * Capabilities: the default set is Docker's (PS_CAPS_DEFAULT); an app's
 * "capabilities": {"add": [...], "drop": [...]} changes it, "ALL" standing
 * for every capability.
 *
 * Seccomp profiles: the built-in default (an allowlist written for podctl,
 * in the spirit of Docker's default profile), or a Docker/OCI-format JSON
 * profile. Either is *resolved* for one set of capabilities and one native
 * architecture into a ps_sc_profile: a list of rules with no conditions
 * left, which is what stage1 compiles and what the digest is taken over.
 * Errors name the JSON path of the offence, e.g.
 * "syscalls[3].args[0].op: expected one of ...".
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <podstore/error.h>
#include <podstore/manifest.h>

/* --- capabilities --------------------------------------------------------- */

#define PS_CAP_LAST 40 /* CAP_CHECKPOINT_RESTORE */

/* Docker's default: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID
 * SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE. */
uint64_t ps_caps_default(void);
/* Every capability this table knows (bits 0..PS_CAP_LAST). */
uint64_t ps_caps_all(void);

/* "CAP_NET_ADMIN", "net_admin", "NET_ADMIN" → 12; "ALL" → -2; else -1. */
int ps_cap_from_name(const char *s);
/* "CAP_NET_ADMIN" for 12; NULL past the table. */
const char *ps_cap_name(int cap);

/* The app's capability set: the default, changed by its add and drop lists
 * (Docker's rules: "ALL" in add starts from every capability, "ALL" in drop
 * from none; otherwise default + add - drop). Names were validated at parse. */
uint64_t ps_app_caps(const ps_app *a);

/* --- seccomp profiles ----------------------------------------------------- */

typedef enum {
	PS_SC_ALLOW = 1,
	PS_SC_ERRNO,
	PS_SC_KILL_THREAD,
	PS_SC_KILL_PROCESS,
	PS_SC_TRAP,
	PS_SC_LOG,
} ps_sc_action;

/* Same numbers as libseccomp's enum scmp_compare. */
typedef enum {
	PS_SC_NE = 1,
	PS_SC_LT,
	PS_SC_LE,
	PS_SC_EQ,
	PS_SC_GE,
	PS_SC_GT,
	PS_SC_MASKED_EQ,
} ps_sc_op;

#define PS_SC_MAX_ARGS 16   /* conditions in one rule (Docker repeats indexes) */
#define PS_SC_MAX_RULES 4096
#define PS_SC_MAX_NAMES 8192 /* syscall names over all rules */
#define PS_SC_MAX_ARCHES 8
#define PS_SC_PROFILE_MAX_SIZE (1024 * 1024)

typedef struct ps_sc_arg {
	unsigned index;      /* 0..5 */
	ps_sc_op op;
	uint64_t value;
	uint64_t value_two;  /* the mask's partner for MASKED_EQ */
} ps_sc_arg;

typedef struct ps_sc_rule {
	char **names;        /* NULL-terminated; names unknown to an arch are skipped */
	size_t n_names;
	ps_sc_action action;
	int errno_ret;       /* PS_SC_ERRNO */
	ps_sc_arg args[PS_SC_MAX_ARGS];
	size_t n_args;       /* conditions on different indexes are ANDed; a repeated
	                        index makes one rule per condition, ORed (Docker) */
} ps_sc_rule;

typedef struct ps_sc_profile {
	ps_sc_action default_action;
	int default_errno;
	char *arches[PS_SC_MAX_ARCHES]; /* libseccomp names ("x86_64", "x86"...);
	                                   none = the native arch only */
	size_t n_arches;
	ps_sc_rule *rules;
	size_t n_rules;
} ps_sc_profile;

/* The native architecture's name as Docker profiles spell it in
 * includes/excludes ("amd64", "arm64", ...), and as libseccomp does. */
const char *ps_sc_native_goarch(void);
const char *ps_sc_native_arch(void);

/* The built-in default profile, resolved for caps on the native arch:
 * default action ERRNO(EPERM); the native arch and its compat arches
 * (x86 and x32 beside x86-64, arm beside aarch64...). */
int ps_sc_profile_default(uint64_t caps, ps_sc_profile **ret, ps_error **err);

/* Parse a Docker/OCI profile (JSON text of len bytes) and resolve it for
 * caps on the native arch. PS_ERR_INVALID with the JSON path on a bad one;
 * base (may be NULL) is prefixed to the paths in messages, e.g.
 * "apps[0].seccompProfile". */
struct ps_jpath;
int ps_sc_profile_parse(const char *json, size_t len, uint64_t caps, const struct ps_jpath *base,
                        ps_sc_profile **ret, ps_error **err);

/* The same from a parsed JSON object (the manifest's "seccompProfile"). */
struct json_object;
int ps_sc_profile_from_json(struct json_object *o, uint64_t caps, const struct ps_jpath *base,
                            ps_sc_profile **ret, ps_error **err);

/* sha256 (64 hex digits + NUL) of the resolved profile's canonical text:
 * two profiles with the same digest compile to the same filter. */
int ps_sc_profile_digest(const ps_sc_profile *p, char ret[65], ps_error **err);

/* The digest ps_sc_profile_digest() gives the default profile for caps,
 * computed from the table without building the profile (no allocation):
 * what stage1 needs to find the cached program on every start. */
void ps_sc_default_digest(uint64_t caps, char ret[65]);

void ps_sc_profile_free(ps_sc_profile *p);

/* --- the compiled-filter cache --------------------------------------------- */

/*
 * $DIR/cache/seccomp/<key>.bpf: stage1's compiled programs (stage1/seccomp.c
 * writes and reads them; key is a sha256 of the profile digest, the arch and
 * the libseccomp version). A cache: any entry may go at any time, a stage1
 * that finds none compiles the filter and writes it again, and one that has
 * opened it reads it whole. gc prunes it (ps_sc_cache_prune()).
 */
#define PS_SC_CACHE_DIR "cache"
#define PS_SC_CACHE_SUBDIR "seccomp"
#define PS_SC_CACHE_SUFFIX ".bpf"
/* An entry not used (read, or written) for this long goes... */
#define PS_SC_CACHE_MAX_AGE_NS (7LL * 24 * 3600 * 1000000000LL)
/* ...and of the others the most recently used this many stay. */
#define PS_SC_CACHE_MAX_ENTRIES 64

/* Remove the entries of $DIR/cache/seccomp (store_fd: $DIR) not used for
 * PS_SC_CACHE_MAX_AGE_NS before now_ns, and the least recently used beyond
 * PS_SC_CACHE_MAX_ENTRIES; "used" is the later of the file's atime (relatime
 * moves it at least daily for a file that is read) and mtime. Also the tmp
 * files of atomic writes whose writer is dead (one alive is left to finish).
 * Anything else there is left alone. Returns how many entries went. */
unsigned ps_sc_cache_prune(int store_fd, long long now_ns);

#endif
