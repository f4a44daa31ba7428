/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The default seccomp filter: allow everything but a short deny-list of
 * syscalls a pod has no business making (in the spirit of Docker's default
 * profile, which denies these to containers without the matching
 * capability). Denied calls fail with EPERM rather than killing the app, so
 * programs that probe for a feature degrade gracefully. The list is in
 * Documentation/devel/stage1.md.
 */
#include <seccomp.h>

#include "stage1.h"
#include "util.h"

static const char *const denied[] = {
	/* kernel and module loading */
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	/* the host's clock, swap, accounting, quotas, reboot */
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "swapon", "swapoff", "acct",
	"quotactl", "reboot",
	/* escapes and kernel attack surface */
	"open_by_handle_at", "name_to_handle_at", "bpf", "perf_event_open", "userfaultfd",
	"keyctl", "add_key", "request_key", "iopl", "ioperm", "lookup_dcookie", "nfsservctl",
	"vm86", "vm86old", "uselib", "ustat", "sysfs", "_sysctl",
	/* rearranging the pod's own namespaces and mounts */
	"mount", "umount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen",
	"fsconfig", "fsmount", "fspick", "mount_setattr", "setns", "unshare",
};

int seccomp_build(void **ret, ps_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "seccomp: init");
	/* Root with CAP_SYS_ADMIN may install a filter without no_new_privs,
	 * so setuid programs in the image keep working, as in Docker. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* Cover the compat ABIs too, or the deny-list is a formality. */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		int nr = seccomp_syscall_resolve_name(denied[i]);
		if (nr == __NR_SCMP_ERROR)
			continue; /* unknown to this libseccomp */
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
