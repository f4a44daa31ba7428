/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The default seccomp filter: allow everything but a short deny-list of
 * syscalls a pod has no business making (in the spirit of Docker's default
 * profile, which denies these to containers without the matching
 * capability). Denied calls fail with EPERM rather than killing the app, so
 * programs that probe for a feature degrade gracefully. The list is in
 * Documentation/devel/stage1.md.
 *
 * On x86-64 the filter is a classic BPF program built here directly: a
 * deny-list is a row of compares, and generating it through libseccomp cost
 * ~1 ms in stage1 plus ~1.7 ms in every app child (measured), a third of a
 * pod's start. Elsewhere libseccomp builds the same list.
 */
#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "stage1.h"
#include "util.h"

#if defined(__x86_64__)

/* x86-64 numbers come from the build's headers; the i386 ones (for 32-bit
 * programs in an image) are the stable ABI numbers of asm/unistd_32.h.
 * The x32 ABI (syscall numbers with bit 30 set) is denied as a whole. */
static const unsigned deny_x86_64[] = {
	SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module,
	SYS_delete_module, SYS_settimeofday, SYS_clock_settime, SYS_clock_adjtime,
	SYS_adjtimex, SYS_swapon, SYS_swapoff, SYS_acct, SYS_quotactl, SYS_reboot,
	SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_bpf, SYS_perf_event_open,
	SYS_userfaultfd, SYS_keyctl, SYS_add_key, SYS_request_key, SYS_iopl, SYS_ioperm,
	SYS_lookup_dcookie, SYS_nfsservctl, SYS_uselib, SYS_ustat, SYS_sysfs, SYS__sysctl,
	SYS_mount, SYS_umount2, SYS_pivot_root, SYS_setns, SYS_unshare,
	428 /* open_tree */, 429 /* move_mount */, 430 /* fsopen */, 431 /* fsconfig */,
	432 /* fsmount */, 433 /* fspick */, 442 /* mount_setattr */,
};
static const unsigned deny_i386[] = {
	283 /* kexec_load */, 128 /* init_module */, 350 /* finit_module */,
	129 /* delete_module */, 79 /* settimeofday */, 264 /* clock_settime */,
	404 /* clock_settime64 */, 343 /* clock_adjtime */, 405 /* clock_adjtime64 */,
	124 /* adjtimex */, 87 /* swapon */, 115 /* swapoff */, 51 /* acct */,
	131 /* quotactl */, 88 /* reboot */, 342 /* open_by_handle_at */,
	341 /* name_to_handle_at */, 357 /* bpf */, 336 /* perf_event_open */,
	374 /* userfaultfd */, 288 /* keyctl */, 286 /* add_key */, 287 /* request_key */,
	110 /* iopl */, 101 /* ioperm */, 253 /* lookup_dcookie */, 169 /* nfsservctl */,
	166 /* vm86 */, 113 /* vm86old */, 86 /* uselib */, 62 /* ustat */, 135 /* sysfs */,
	149 /* _sysctl */, 21 /* mount */, 22 /* umount */, 52 /* umount2 */,
	217 /* pivot_root */, 346 /* setns */, 310 /* unshare */, 428, 429, 430, 431, 432,
	433, 442,
};

#define MAX_INSNS 160
static struct sock_filter insns[MAX_INSNS];
static struct sock_fprog prog = { .filter = insns };

struct patch {
	unsigned short at;
	bool jt;        /* patch jt (else jf) */
	int label;      /* 0 = allow, 1 = deny, 2 = i386 block */
};

int seccomp_build(void **ret, ps_error **err)
{
	struct patch patches[MAX_INSNS];
	size_t n = 0, np = 0, label_pos[3] = { 0 };

#define EMIT(...) (insns[n++] = (struct sock_filter)__VA_ARGS__)
#define JUMP_TO(code, k, which_jt, label)                                            \
	do {                                                                         \
		patches[np++] = (struct patch){ (unsigned short)n, which_jt, label }; \
		EMIT(BPF_JUMP(code, k, 0, 0));                                       \
	} while (0)

	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, false, 2);
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
	JUMP_TO(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, true, 1); /* x32 */
	for (size_t i = 0; i < ARRAY_SIZE(deny_x86_64); i++)
		JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, deny_x86_64[i], true, 1);
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	label_pos[2] = n;
	JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, false, 0);
	EMIT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
	for (size_t i = 0; i < ARRAY_SIZE(deny_i386); i++)
		JUMP_TO(BPF_JMP | BPF_JEQ | BPF_K, deny_i386[i], true, 1);
	label_pos[0] = n;
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	label_pos[1] = n;
	EMIT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)));
#undef EMIT
#undef JUMP_TO

	for (size_t i = 0; i < np; i++) {
		size_t off = label_pos[patches[i].label] - patches[i].at - 1;
		if (off > 255)
			return ps_error_set(err, PS_ERR_FAILED, E2BIG, "seccomp: filter too long");
		if (patches[i].jt)
			insns[patches[i].at].jt = (unsigned char)off;
		else
			insns[patches[i].at].jf = (unsigned char)off;
	}
	prog.len = (unsigned short)n;
	*ret = &prog;
	return 0;
}

int seccomp_apply(void *ctx)
{
	/* Root with CAP_SYS_ADMIN may install a filter without no_new_privs,
	 * so setuid programs in the image keep working, as in Docker. */
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (struct sock_fprog *)ctx);
}

#else /* not x86-64: libseccomp */

#include <seccomp.h>

static const char *const denied[] = {
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "swapon", "swapoff", "acct",
	"quotactl", "reboot", "open_by_handle_at", "name_to_handle_at", "bpf", "perf_event_open",
	"userfaultfd", "keyctl", "add_key", "request_key", "iopl", "ioperm", "lookup_dcookie",
	"nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "mount", "umount", "umount2",
	"pivot_root", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
	"mount_setattr", "setns", "unshare",
};

int seccomp_build(void **ret, ps_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "seccomp: init");
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
		if (r < 0 && r != -EDOM && r != -EEXIST) {
			seccomp_release(ctx);
			return ps_error_set(err, PS_ERR_FAILED, -r, "seccomp: deny %s", denied[i]);
		}
	}
	*ret = ctx;
	return 0;
}

int seccomp_apply(void *ctx)
{
	return seccomp_load((scmp_filter_ctx)ctx);
}

#endif
