/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sysprobe PROBE: try one syscall a pod should not be able to make and say
 * what happened: prints "ok" and exits 0 when the call succeeded, prints the
 * errno name and exits 1 when it failed, exits 2 on a usage error. Built
 * static by tests/functional/test-escapes-kernel.sh and copied into a busybox
 * rootfs; raw syscall numbers, so it needs no libc support for them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static int result(long r)
{
	if (r >= 0) {
		puts("ok");
		return 0;
	}
	printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	return 1;
}

/* clone(flags) of a child that exits at once; the parent reaps it. */
static long clone_flags(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

static long clone3_flags(unsigned long long flags)
{
	struct {
		uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	} args = { .flags = flags, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

#if defined(__x86_64__)
/* A syscall through the i386 entry (int $0x80, IA32 emulation): what a
 * 32-bit program in the pod would make; the filter has its own rules for
 * that arch. -errno in eax on failure. */
static long int80(long nr, long a, long b, long c, long d, long e)
{
	long ret;
	__asm__ volatile("int $0x80"
	                 : "=a"(ret)
	                 : "0"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
	                 : "memory", "cc", "r8", "r9", "r10", "r11");
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
#endif

int main(int argc, char **argv)
{
	const char *p = argc > 1 ? argv[1] : "";
	static char buf[64], src[64] = "secret";

	if (!strcmp(p, "clone-newuser"))
		return result(clone_flags(CLONE_NEWUSER));
	if (!strcmp(p, "clone-newns"))
		return result(clone_flags(CLONE_NEWNS));
	if (!strcmp(p, "clone-plain"))
		return result(clone_flags(0));
	if (!strcmp(p, "clone3-newuser"))
		return result(clone3_flags(CLONE_NEWUSER));
	if (!strcmp(p, "unshare-newuser"))
		return result(unshare(CLONE_NEWUSER));
	if (!strcmp(p, "io_uring_setup")) {
		char params[120] = { 0 };
		long fd = syscall(SYS_io_uring_setup, 4, params);
		return result(fd);
	}
	if (!strcmp(p, "personality-addr-no-randomize")) {
		/* the call returns the old persona; ask for the new one back */
		long r = syscall(SYS_personality, PER_LINUX | ADDR_NO_RANDOMIZE);
		if (r >= 0 && !(syscall(SYS_personality, 0xffffffffUL) & ADDR_NO_RANDOMIZE)) {
			errno = EINVAL;
			r = -1;
		}
		return result(r);
	}
	if (!strcmp(p, "personality-linux32"))
		return result(syscall(SYS_personality, PER_LINUX32));
	if (!strcmp(p, "process_vm_readv")) {
		struct iovec l = { buf, sizeof(buf) }, r = { src, sizeof(src) };
		return result(syscall(SYS_process_vm_readv, getpid(), &l, 1, &r, 1, 0));
	}
	if (!strcmp(p, "kcmp"))
		return result(syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, 1, 1));
#if defined(__x86_64__)
	/* kcmp through the i386 entry (349 there) and as an x32 call
	 * (__X32_SYSCALL_BIT | 312): the filter must deny it on every ABI */
	if (!strcmp(p, "i386-kcmp"))
		return result(int80(349, getpid(), getpid(), 0, 1, 1));
	if (!strcmp(p, "x32-kcmp"))
		return result(syscall(0x40000000L | SYS_kcmp, getpid(), getpid(), 0, 1, 1));
#endif
	if (!strcmp(p, "keyctl"))
		/* KEYCTL_JOIN_SESSION_KEYRING with a NULL name: a new keyring */
		return result(syscall(SYS_keyctl, 1, NULL));
	if (!strcmp(p, "add_key"))
		return result(syscall(SYS_add_key, "user", "podctl-probe", "x", 1, -2 /* session */));
	if (!strcmp(p, "bpf")) {
		/* BPF_MAP_CREATE of a small array map */
		uint32_t attr[32] = { 2 /* BPF_MAP_TYPE_ARRAY */, 4, 4, 1 };
		return result(syscall(SYS_bpf, 0, attr, sizeof(attr)));
	}
	if (!strcmp(p, "perf_event_open")) {
		struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE, .size = sizeof(a),
			                     .config = PERF_COUNT_SW_TASK_CLOCK, .disabled = 1,
			                     .exclude_kernel = 1, .exclude_hv = 1 };
		return result(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
	}
	if (!strcmp(p, "userfaultfd"))
		return result(syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */));
	if (!strcmp(p, "mount-tmpfs"))
		return result(syscall(SYS_mount, "none", "/tmp", "tmpfs", 0UL, NULL));
	fprintf(stderr, "sysprobe: unknown probe %s\n", p);
	return 2;
}
