/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Capabilities and seccomp profiles (security.h): the capability names, the
 * built-in default profile, the Docker/OCI profile parser, and the digest
 * that keys stage1's cache of compiled filters.
 */
#include <ctype.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "manifest-internal.h"
#include "security.h"
#include "sha256.h"
#include "util.h"

/* --- capabilities --------------------------------------------------------- */

static const char *const cap_names[PS_CAP_LAST + 1] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

enum {
	C_CHOWN = 0, C_DAC_OVERRIDE = 1, C_DAC_READ_SEARCH = 2, C_FOWNER = 3, C_FSETID = 4,
	C_KILL = 5, C_SETGID = 6, C_SETUID = 7, C_SETPCAP = 8, C_NET_BIND_SERVICE = 10,
	C_NET_RAW = 13, C_SYS_MODULE = 16, C_SYS_RAWIO = 17, C_SYS_CHROOT = 18,
	C_SYS_PTRACE = 19, C_SYS_PACCT = 20, C_SYS_ADMIN = 21, C_SYS_BOOT = 22,
	C_SYS_NICE = 23, C_SYS_TIME = 25, C_SYS_TTY_CONFIG = 26, C_MKNOD = 27,
	C_AUDIT_WRITE = 29, C_SETFCAP = 31, C_SYSLOG = 34, C_PERFMON = 38, C_BPF = 39,
};

#define BIT(c) (UINT64_C(1) << (c))

uint64_t ps_caps_default(void)
{
	/* Docker's default set but CAP_MKNOD (Documentation/security.md,
	 * "Devices and volumes"); "capabilities": {"add": ["CAP_MKNOD"]} gives it. */
	return BIT(C_CHOWN) | BIT(C_DAC_OVERRIDE) | BIT(C_FSETID) | BIT(C_FOWNER) |
	       BIT(C_NET_RAW) | BIT(C_SETGID) | BIT(C_SETUID) | BIT(C_SETFCAP) | BIT(C_SETPCAP) |
	       BIT(C_NET_BIND_SERVICE) | BIT(C_SYS_CHROOT) | BIT(C_KILL) | BIT(C_AUDIT_WRITE);
}

uint64_t ps_caps_all(void)
{
	return (BIT(PS_CAP_LAST) << 1) - 1;
}

int ps_cap_from_name(const char *s)
{
	if (strcasecmp(s, "ALL") == 0)
		return -2;
	if (strncasecmp(s, "CAP_", 4) == 0)
		s += 4;
	for (int i = 0; i <= PS_CAP_LAST; i++)
		if (strcasecmp(s, cap_names[i] + 4) == 0)
			return i;
	return -1;
}

const char *ps_cap_name(int cap)
{
	return cap >= 0 && cap <= PS_CAP_LAST ? cap_names[cap] : NULL;
}

static bool strv_has_all(char *const *v)
{
	for (; v && *v; v++)
		if (ps_cap_from_name(*v) == -2)
			return true;
	return false;
}

static uint64_t strv_caps(char *const *v)
{
	uint64_t m = 0;

	for (; v && *v; v++) {
		int c = ps_cap_from_name(*v);
		if (c >= 0)
			m |= BIT(c);
	}
	return m;
}

uint64_t ps_app_caps(const ps_app *a)
{
	uint64_t caps;

	if (strv_has_all(a->cap_add))
		caps = ps_caps_all();
	else if (strv_has_all(a->cap_drop))
		caps = 0;
	else
		caps = ps_caps_default();
	if (!strv_has_all(a->cap_add))
		caps |= strv_caps(a->cap_add);
	caps &= ~strv_caps(a->cap_drop);
	return caps;
}

/* --- architectures -------------------------------------------------------- */

/* Docker profiles name arches in includes/excludes by Go's GOARCH; libseccomp
 * by its own names. The compat arches are those a native kernel also runs. */
#if defined(__x86_64__) && defined(__ILP32__)
#define NATIVE_GOARCH "x32"
#define NATIVE_SCMP "x32"
static const char *const compat_arches[] = { "x86_64", "x86" };
#elif defined(__x86_64__)
#define NATIVE_GOARCH "amd64"
#define NATIVE_SCMP "x86_64"
static const char *const compat_arches[] = { "x86", "x32" };
#elif defined(__i386__)
#define NATIVE_GOARCH "386"
#define NATIVE_SCMP "x86"
static const char *const compat_arches[] = { NULL };
#elif defined(__aarch64__)
#define NATIVE_GOARCH "arm64"
#define NATIVE_SCMP "aarch64"
static const char *const compat_arches[] = { "arm" };
#elif defined(__arm__)
#define NATIVE_GOARCH "arm"
#define NATIVE_SCMP "arm"
static const char *const compat_arches[] = { NULL };
#elif defined(__s390x__)
#define NATIVE_GOARCH "s390x"
#define NATIVE_SCMP "s390x"
static const char *const compat_arches[] = { "s390" };
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_GOARCH "ppc64le"
#define NATIVE_SCMP "ppc64le"
static const char *const compat_arches[] = { NULL };
#elif defined(__riscv) && __riscv_xlen == 64
#define NATIVE_GOARCH "riscv64"
#define NATIVE_SCMP "riscv64"
static const char *const compat_arches[] = { NULL };
#elif defined(__mips__) && defined(__MIPSEL__) && _MIPS_SIM == _ABI64
#define NATIVE_GOARCH "mips64le"
#define NATIVE_SCMP "mipsel64"
static const char *const compat_arches[] = { "mipsel", "mipsel64n32" };
#elif defined(__mips__) && _MIPS_SIM == _ABI64
#define NATIVE_GOARCH "mips64"
#define NATIVE_SCMP "mips64"
static const char *const compat_arches[] = { "mips", "mips64n32" };
#else
#define NATIVE_GOARCH "unknown"
#define NATIVE_SCMP "native"
static const char *const compat_arches[] = { NULL };
#endif

const char *ps_sc_native_goarch(void)
{
	return NATIVE_GOARCH;
}

const char *ps_sc_native_arch(void)
{
	return NATIVE_SCMP;
}

/* libseccomp's arch names, as "SCMP_ARCH_X86_64" spells them in profiles. */
static const char *const known_arches[] = {
	"x86", "x86_64", "x32", "arm", "aarch64", "mips", "mips64", "mips64n32", "mipsel",
	"mipsel64", "mipsel64n32", "ppc", "ppc64", "ppc64le", "s390", "s390x", "parisc",
	"parisc64", "riscv64", "loongarch64", "m68k", "sh", "sheb",
};

/* "SCMP_ARCH_X86_64" → "x86_64"; NULL if unknown. */
static const char *arch_from_profile_name(const char *s)
{
	if (strncmp(s, "SCMP_ARCH_", 10) != 0)
		return NULL;
	s += 10;
	for (size_t i = 0; i < ARRAY_SIZE(known_arches); i++)
		if (strcasecmp(s, known_arches[i]) == 0)
			return known_arches[i];
	return NULL;
}

/* --- the resolved profile ------------------------------------------------- */

void ps_sc_profile_free(ps_sc_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		ps_strv_free(p->rules[i].names);
	free(p->rules);
	for (size_t i = 0; i < p->n_arches; i++)
		free(p->arches[i]);
	free(p);
}

static void profile_freep(ps_sc_profile **p)
{
	ps_sc_profile_free(*p);
}

static int add_arch(ps_sc_profile *p, const char *name)
{
	for (size_t i = 0; i < p->n_arches; i++)
		if (streq(p->arches[i], name))
			return 0;
	if (p->n_arches >= PS_SC_MAX_ARCHES)
		return -E2BIG;
	if (!(p->arches[p->n_arches] = strdup(name)))
		return -ENOMEM;
	p->n_arches++;
	return 0;
}

/* Append a rule taking ownership of names; -ENOMEM frees them. */
static int add_rule(ps_sc_profile *p, char **names, size_t n_names, ps_sc_action action,
                    int errno_ret, const ps_sc_arg *args, size_t n_args)
{
	if (p->n_rules >= PS_SC_MAX_RULES) {
		ps_strv_free(names);
		return -E2BIG;
	}
	ps_sc_rule *nr = realloc(p->rules, (p->n_rules + 1) * sizeof(*nr));
	if (!nr) {
		ps_strv_free(names);
		return -ENOMEM;
	}
	p->rules = nr;
	ps_sc_rule *r = &p->rules[p->n_rules++];
	*r = (ps_sc_rule){ .names = names, .n_names = n_names, .action = action,
		           .errno_ret = errno_ret, .n_args = n_args };
	if (n_args)
		memcpy(r->args, args, n_args * sizeof(*args));
	return 0;
}

/* --- the built-in default profile ----------------------------------------- */

/*
 * podctl's own allowlist. Groups by purpose; a name that does not exist on an
 * architecture is skipped when the filter is compiled, so one list serves
 * them all. Everything not listed fails with EPERM. Compared with Docker's
 * default: io_uring_*, process_vm_readv/writev and ptrace are denied unless
 * the app has CAP_SYS_PTRACE (io_uring never), as is kcmp.
 */
#define NO_CAP (-1)
/* Most groups have no argument condition: leave .arg zeroed. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct sc_group {
	int need_cap;       /* included only with this capability */
	int unless_cap;     /* included only without this capability */
	ps_sc_action action;
	int errno_ret;
	const char *names;  /* space-separated */
	ps_sc_arg arg;      /* one condition when .op != 0 */
} default_groups[] = {
	/* processes, threads and scheduling */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "fork vfork execve execveat exit exit_group wait4 waitid waitpid getpid getppid gettid "
	  "getpgid getpgrp setpgid getsid setsid kill tkill tgkill pidfd_open pidfd_send_signal "
	  "set_tid_address set_robust_list get_robust_list rseq prctl capget capset "
	  "sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam "
	  "sched_setparam sched_getscheduler sched_setscheduler sched_get_priority_max "
	  "sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64 sched_yield "
	  "getpriority setpriority ioprio_get ioprio_set getrlimit setrlimit prlimit64 ugetrlimit "
	  "getrusage times uname sysinfo getcpu restart_syscall membarrier seccomp "
	  "landlock_create_ruleset landlock_add_rule landlock_restrict_self process_mrelease" },
	/* credentials (the kernel checks CAP_SETUID/CAP_SETGID) */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid "
	  "getresuid32 getresgid getresgid32 getgroups getgroups32 setuid setuid32 setgid setgid32 "
	  "setreuid setreuid32 setregid setregid32 setresuid setresuid32 setresgid setresgid32 "
	  "setfsuid setfsuid32 setfsgid setfsgid32 setgroups setgroups32" },
	/* signals */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend "
	  "rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sigaltstack signalfd signalfd4 "
	  "sigprocmask sigreturn pause alarm" },
	/* memory */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "brk mmap mmap2 munmap mremap mprotect madvise mincore mlock mlock2 mlockall munlock "
	  "munlockall msync remap_file_pages memfd_create memfd_secret pkey_alloc pkey_free "
	  "pkey_mprotect futex futex_time64 futex_waitv" },
	/* files and directories */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "access faccessat faccessat2 open openat openat2 creat close close_range read readv "
	  "pread64 preadv preadv2 write writev pwrite64 pwritev pwritev2 lseek _llseek dup dup2 "
	  "dup3 fcntl fcntl64 flock fsync fdatasync sync syncfs sync_file_range sync_file_range2 "
	  "arm_sync_file_range fadvise64 fadvise64_64 arm_fadvise64_64 fallocate ftruncate "
	  "ftruncate64 truncate truncate64 readahead sendfile sendfile64 splice tee vmsplice "
	  "copy_file_range stat stat64 lstat lstat64 fstat fstat64 newfstatat fstatat64 statx "
	  "statfs statfs64 fstatfs fstatfs64 getdents getdents64 getcwd chdir fchdir mkdir mkdirat "
	  "mknod mknodat rmdir rename renameat renameat2 link linkat symlink symlinkat unlink "
	  "unlinkat readlink readlinkat chmod fchmod fchmodat chown chown32 fchown fchown32 "
	  "fchownat lchown lchown32 umask utime utimes utimensat utimensat_time64 futimesat "
	  "getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr setxattr lsetxattr "
	  "fsetxattr removexattr lremovexattr fremovexattr ioctl name_to_handle_at "
	  "inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_mark" },
	/* waiting on fds, timers, clocks (adjtimex and clock_adjtime read the
	 * clock; changing it needs CAP_SYS_TIME, which the kernel checks) */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64 epoll_create "
	  "epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait "
	  "epoll_pwait2 eventfd eventfd2 pipe pipe2 timerfd_create timerfd_settime "
	  "timerfd_settime64 timerfd_gettime timerfd_gettime64 clock_gettime clock_gettime64 "
	  "clock_getres clock_getres_time64 clock_nanosleep clock_nanosleep_time64 nanosleep "
	  "gettimeofday time getitimer setitimer timer_create timer_delete timer_settime "
	  "timer_settime64 timer_gettime timer_gettime64 timer_getoverrun adjtimex clock_adjtime "
	  "clock_adjtime64 getrandom" },
	/* classic asynchronous I/O (not io_uring) */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents "
	  "io_pgetevents_time64" },
	/* System V and POSIX IPC: the pod has its own ipc namespace */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "ipc msgctl msgget msgrcv msgsnd semctl semget semop semtimedop semtimedop_time64 shmat "
	  "shmctl shmdt shmget mq_open mq_unlink mq_timedsend mq_timedsend_time64 "
	  "mq_timedreceive mq_timedreceive_time64 mq_notify mq_getsetattr" },
	/* sockets (socket() below, without AF_VSOCK) */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "socketpair socketcall bind connect listen accept accept4 getsockname getpeername "
	  "getsockopt setsockopt sendto sendmsg sendmmsg send recvfrom recvmsg recvmmsg "
	  "recvmmsg_time64 recv shutdown" },
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0, "socket", { 0, PS_SC_NE, 40 /* AF_VSOCK */, 0 } },
	/* architecture-specific housekeeping */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0,
	  "arch_prctl modify_ldt set_thread_area get_thread_area breakpoint cacheflush set_tls "
	  "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr riscv_flush_icache "
	  "swapcontext" },
	/* personality: only the harmless values (Linux, 32-bit Linux, 2.6-style
	 * uname, both, and the query) — not ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC... */
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0, "personality", { 0, PS_SC_EQ, 0x0, 0 } },
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0, "personality", { 0, PS_SC_EQ, 0x8, 0 } },
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0, "personality", { 0, PS_SC_EQ, 0x20000, 0 } },
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0, "personality", { 0, PS_SC_EQ, 0x20008, 0 } },
	{ NO_CAP, NO_CAP, PS_SC_ALLOW, 0, "personality", { 0, PS_SC_EQ, 0xffffffff, 0 } },
	/* clone without any CLONE_NEW* flag (mnt cgroup uts ipc user pid net);
	 * clone3 passes its flags in memory the filter cannot read: ENOSYS, so
	 * libc falls back to clone. s390 swaps clone's first two arguments. */
#if defined(__s390x__) || defined(__s390__)
	{ NO_CAP, C_SYS_ADMIN, PS_SC_ALLOW, 0, "clone", { 1, PS_SC_MASKED_EQ, 0x7E020000, 0 } },
#else
	{ NO_CAP, C_SYS_ADMIN, PS_SC_ALLOW, 0, "clone", { 0, PS_SC_MASKED_EQ, 0x7E020000, 0 } },
#endif
	{ NO_CAP, C_SYS_ADMIN, PS_SC_ERRNO, ENOSYS, "clone3" },
	/* what a capability the app was given makes usable */
	{ C_SYS_ADMIN, NO_CAP, PS_SC_ALLOW, 0,
	  "clone clone3 unshare setns mount umount umount2 pivot_root fsopen fsconfig fsmount "
	  "fspick move_mount open_tree mount_setattr bpf perf_event_open fanotify_init "
	  "lookup_dcookie quotactl quotactl_fd sethostname setdomainname syslog" },
	{ C_SYS_CHROOT, NO_CAP, PS_SC_ALLOW, 0, "chroot" },
	{ C_SYS_BOOT, NO_CAP, PS_SC_ALLOW, 0, "reboot" },
	{ C_SYS_MODULE, NO_CAP, PS_SC_ALLOW, 0, "init_module finit_module delete_module" },
	{ C_SYS_PACCT, NO_CAP, PS_SC_ALLOW, 0, "acct" },
	{ C_SYS_PTRACE, NO_CAP, PS_SC_ALLOW, 0,
	  "ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd process_madvise" },
	{ C_SYS_RAWIO, NO_CAP, PS_SC_ALLOW, 0, "iopl ioperm" },
	{ C_SYS_TIME, NO_CAP, PS_SC_ALLOW, 0, "settimeofday stime clock_settime clock_settime64" },
	{ C_SYS_TTY_CONFIG, NO_CAP, PS_SC_ALLOW, 0, "vhangup" },
	{ C_SYS_NICE, NO_CAP, PS_SC_ALLOW, 0,
	  "get_mempolicy set_mempolicy set_mempolicy_home_node mbind move_pages migrate_pages" },
	{ C_SYSLOG, NO_CAP, PS_SC_ALLOW, 0, "syslog" },
	{ C_BPF, NO_CAP, PS_SC_ALLOW, 0, "bpf" },
	{ C_PERFMON, NO_CAP, PS_SC_ALLOW, 0, "perf_event_open" },
	{ C_DAC_READ_SEARCH, NO_CAP, PS_SC_ALLOW, 0, "open_by_handle_at" },
	/* Never, whatever the capabilities: io_uring_*, keyctl, add_key,
	 * request_key, userfaultfd, kexec_*, swapon, swapoff, uselib, ustat,
	 * sysfs, _sysctl, nfsservctl, vm86, vm86old (not listed: EPERM). */
};
#pragma GCC diagnostic pop

static int split_names(const char *s, char ***ret, size_t *ret_n)
{
	size_t n = 0, cap = 0;
	char **v = NULL;

	while (*s) {
		while (*s == ' ')
			s++;
		const char *e = strchrnul(s, ' ');
		if (e == s)
			break;
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 32;
			char **nv = realloc(v, cap * sizeof(char *));
			if (!nv) {
				ps_strv_free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		if (!(v[n] = strndup(s, (size_t)(e - s)))) {
			ps_strv_free(v);
			return -ENOMEM;
		}
		v[++n] = NULL;
		s = e;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int ps_sc_profile_default(uint64_t caps, ps_sc_profile **ret, ps_error **err)
{
	__attribute__((cleanup(profile_freep))) ps_sc_profile *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return ps_error_set(err, PS_ERR_FAILED, ENOMEM, "default seccomp profile");
	p->default_action = PS_SC_ERRNO;
	p->default_errno = EPERM;
	r = add_arch(p, NATIVE_SCMP);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(compat_arches); i++)
		if (compat_arches[i])
			r = add_arch(p, compat_arches[i]);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(default_groups); i++) {
		const struct sc_group *g = &default_groups[i];
		char **names;
		size_t n;

		if (g->need_cap != NO_CAP && !(caps & BIT(g->need_cap)))
			continue;
		if (g->unless_cap != NO_CAP && (caps & BIT(g->unless_cap)))
			continue;
		r = split_names(g->names, &names, &n);
		if (r >= 0)
			r = add_rule(p, names, n, g->action, g->errno_ret, &g->arg, g->arg.op ? 1 : 0);
	}
	if (r < 0)
		return ps_error_set(err, PS_ERR_FAILED, -r, "default seccomp profile");
	*ret = TAKE_PTR(p);
	return 0;
}

/* --- Docker/OCI profiles -------------------------------------------------- */

static inline void json_object_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}

struct pctx {
	uint64_t caps;
	ps_error **err;
	size_t total_names;
};

static const struct {
	const char *name;
	ps_sc_action action;
} action_names[] = {
	{ "SCMP_ACT_ALLOW", PS_SC_ALLOW },
	{ "SCMP_ACT_ERRNO", PS_SC_ERRNO },
	{ "SCMP_ACT_KILL", PS_SC_KILL_THREAD },
	{ "SCMP_ACT_KILL_THREAD", PS_SC_KILL_THREAD },
	{ "SCMP_ACT_KILL_PROCESS", PS_SC_KILL_PROCESS },
	{ "SCMP_ACT_TRAP", PS_SC_TRAP },
	{ "SCMP_ACT_LOG", PS_SC_LOG },
};

static const char *const op_names[] = {
	[PS_SC_NE] = "SCMP_CMP_NE", [PS_SC_LT] = "SCMP_CMP_LT", [PS_SC_LE] = "SCMP_CMP_LE",
	[PS_SC_EQ] = "SCMP_CMP_EQ", [PS_SC_GE] = "SCMP_CMP_GE", [PS_SC_GT] = "SCMP_CMP_GT",
	[PS_SC_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

static int check_keys(json_object *o, const char *const *allowed, const ps_jpath *p, ps_error **err)
{
	json_object_object_foreach(o, key, val) {
		bool ok = false;
		(void)val;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = streq(*a, key);
		if (!ok) {
			_cleanup_free_ char *q = ps_manifest_quote(key);
			return ps_manifest_invalid(err, p, "unknown field %s", q ? q : "?");
		}
	}
	return 0;
}

static int get_action(json_object *v, const ps_jpath *p, ps_sc_action *ret, ps_error **err)
{
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		for (size_t i = 0; i < ARRAY_SIZE(action_names); i++)
			if (streq(s, action_names[i].name)) {
				*ret = action_names[i].action;
				return 0;
			}
		if (streq(s, "SCMP_ACT_NOTIFY") || streq(s, "SCMP_ACT_TRACE"))
			return ps_manifest_invalid(err, p, "%s is not supported (no tracer or listener)", s);
	}
	return ps_manifest_invalid(err, p, "expected one of \"SCMP_ACT_ALLOW\", \"SCMP_ACT_ERRNO\", "
	                                   "\"SCMP_ACT_KILL\", \"SCMP_ACT_KILL_PROCESS\", "
	                                   "\"SCMP_ACT_KILL_THREAD\", \"SCMP_ACT_TRAP\", \"SCMP_ACT_LOG\"");
}

static int get_errno(json_object *v, const ps_jpath *p, int *ret, ps_error **err)
{
	if (!json_object_is_type(v, json_type_int))
		return ps_manifest_invalid(err, p, "expected an errno number");
	int64_t n = json_object_get_int64(v);
	/* the kernel keeps 16 bits; beyond MAX_ERRNO libc would not see an error */
	if (n < 0 || n > 4095)
		return ps_manifest_invalid(err, p, "expected an errno number from 0 to 4095");
	*ret = (int)n;
	return 0;
}

static int get_u64(json_object *v, const ps_jpath *p, uint64_t *ret, ps_error **err)
{
	if (!json_object_is_type(v, json_type_int))
		return ps_manifest_invalid(err, p, "expected an unsigned integer");
	/* json-c keeps integers above INT64_MAX as uint64 */
	if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0)
		return ps_manifest_invalid(err, p, "expected an unsigned integer");
	*ret = json_object_get_uint64(v);
	return 0;
}

static bool syscall_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

static bool arch_in(json_object *arr, const char *name)
{
	size_t n = json_object_array_length(arr);

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		if (json_object_is_type(e, json_type_string) && streq(json_object_get_string(e), name))
			return true;
	}
	return false;
}

/* "5.4" ≤ the running kernel? */
static bool kernel_at_least(const char *want)
{
	struct utsname u;
	unsigned wmaj = 0, wmin = 0, kmaj = 0, kmin = 0;

	if (sscanf(want, "%u.%u", &wmaj, &wmin) < 1 || uname(&u) < 0 ||
	    sscanf(u.release, "%u.%u", &kmaj, &kmin) < 1)
		return true;
	return kmaj > wmaj || (kmaj == wmaj && kmin >= wmin);
}

/* includes / excludes: {"caps": [...], "arches": [...], "minKernel": "x.y"}.
 * *ret_match: every condition given holds (for includes) / one holds (excludes). */
static int parse_filter(json_object *o, const ps_jpath *p, bool exclude, const struct pctx *c,
                        bool *ret_match)
{
	static const char *const keys[] = { "caps", "arches", "minKernel", NULL };
	const ps_jpath pc = PS_JPATH_KEY(p, "caps");
	const ps_jpath pa = PS_JPATH_KEY(p, "arches");
	const ps_jpath pk = PS_JPATH_KEY(p, "minKernel");
	json_object *v;
	bool any = false, all = true;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return ps_manifest_invalid(c->err, p, "expected an object");
	r = check_keys(o, keys, p, c->err);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(o, "caps", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array))
			return ps_manifest_invalid(c->err, &pc, "expected an array of capability names");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const ps_jpath pi = PS_JPATH_INDEX(&pc, i);
			json_object *e = json_object_array_get_idx(v, i);
			int cap = json_object_is_type(e, json_type_string)
			                  ? ps_cap_from_name(json_object_get_string(e))
			                  : -1;
			if (cap < 0)
				return ps_manifest_invalid(c->err, &pi, "expected a capability name");
			bool has = c->caps & BIT(cap);
			any |= has;
			all &= has;
		}
	}
	if (json_object_object_get_ex(o, "arches", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array))
			return ps_manifest_invalid(c->err, &pa, "expected an array of architecture names");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const ps_jpath pi = PS_JPATH_INDEX(&pa, i);
			if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
				return ps_manifest_invalid(c->err, &pi, "expected an architecture name");
		}
		if (json_object_array_length(v) > 0) {
			bool has = arch_in(v, NATIVE_GOARCH);
			any |= has;
			all &= has;
		}
	}
	if (json_object_object_get_ex(o, "minKernel", &v) && !json_object_is_type(v, json_type_null)) {
		unsigned a, b;
		if (!json_object_is_type(v, json_type_string) ||
		    sscanf(json_object_get_string(v), "%u.%u", &a, &b) != 2)
			return ps_manifest_invalid(c->err, &pk, "expected a kernel version \"MAJOR.MINOR\"");
		bool has = kernel_at_least(json_object_get_string(v));
		any |= has;
		all &= has;
	}
	*ret_match = exclude ? any : all;
	return 0;
}

static int parse_arg(json_object *o, const ps_jpath *p, ps_sc_arg *a, const struct pctx *c)
{
	static const char *const keys[] = { "index", "value", "valueTwo", "op", NULL };
	const ps_jpath pi = PS_JPATH_KEY(p, "index");
	const ps_jpath pv = PS_JPATH_KEY(p, "value");
	const ps_jpath pv2 = PS_JPATH_KEY(p, "valueTwo");
	const ps_jpath po = PS_JPATH_KEY(p, "op");
	json_object *v;
	uint64_t idx;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return ps_manifest_invalid(c->err, p, "expected an object");
	r = check_keys(o, keys, p, c->err);
	if (r < 0)
		return r;
	*a = (ps_sc_arg){ 0 };
	if (!json_object_object_get_ex(o, "index", &v))
		return ps_manifest_invalid(c->err, &pi, "required field missing");
	r = get_u64(v, &pi, &idx, c->err);
	if (r < 0)
		return r;
	if (idx > 5)
		return ps_manifest_invalid(c->err, &pi, "expected an argument index from 0 to 5");
	a->index = (unsigned)idx;
	if (!json_object_object_get_ex(o, "value", &v))
		return ps_manifest_invalid(c->err, &pv, "required field missing");
	r = get_u64(v, &pv, &a->value, c->err);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(o, "valueTwo", &v)) {
		r = get_u64(v, &pv2, &a->value_two, c->err);
		if (r < 0)
			return r;
	}
	if (!json_object_object_get_ex(o, "op", &v))
		return ps_manifest_invalid(c->err, &po, "required field missing");
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
	for (size_t i = 1; i < ARRAY_SIZE(op_names); i++)
		if (streq(s, op_names[i]))
			a->op = (ps_sc_op)i;
	if (!a->op)
		return ps_manifest_invalid(c->err, &po, "expected one of \"SCMP_CMP_NE\", \"SCMP_CMP_LT\", "
		                                        "\"SCMP_CMP_LE\", \"SCMP_CMP_EQ\", \"SCMP_CMP_GE\", "
		                                        "\"SCMP_CMP_GT\", \"SCMP_CMP_MASKED_EQ\"");
	return 0;
}

static int parse_syscall(json_object *o, const ps_jpath *p, ps_sc_profile *prof, struct pctx *c)
{
	static const char *const keys[] = { "names", "name", "action", "errnoRet", "args",
		                            "comment", "includes", "excludes", NULL };
	const ps_jpath pn = PS_JPATH_KEY(p, "names");
	const ps_jpath pname = PS_JPATH_KEY(p, "name");
	const ps_jpath pact = PS_JPATH_KEY(p, "action");
	const ps_jpath perr = PS_JPATH_KEY(p, "errnoRet");
	const ps_jpath pargs = PS_JPATH_KEY(p, "args");
	const ps_jpath pinc = PS_JPATH_KEY(p, "includes");
	const ps_jpath pexc = PS_JPATH_KEY(p, "excludes");
	ps_sc_arg args[PS_SC_MAX_ARGS];
	size_t n_args = 0;
	ps_sc_action action;
	int errno_ret = EPERM;
	bool included = true, excluded = false;
	json_object *v, *names = NULL, *name = NULL;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return ps_manifest_invalid(c->err, p, "expected an object");
	r = check_keys(o, keys, p, c->err);
	if (r < 0)
		return r;

	if (json_object_object_get_ex(o, "names", &v)) {
		if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
			return ps_manifest_invalid(c->err, &pn, "expected a non-empty array of syscall names");
		names = v;
	} else if (json_object_object_get_ex(o, "name", &name)) {
		if (!json_object_is_type(name, json_type_string) || !syscall_name_ok(json_object_get_string(name)))
			return ps_manifest_invalid(c->err, &pname, "expected a syscall name");
	} else {
		return ps_manifest_invalid(c->err, &pn, "required field missing");
	}
	if (names) {
		for (size_t i = 0; i < json_object_array_length(names); i++) {
			const ps_jpath pi = PS_JPATH_INDEX(&pn, i);
			json_object *e = json_object_array_get_idx(names, i);
			if (!json_object_is_type(e, json_type_string) || !syscall_name_ok(json_object_get_string(e)))
				return ps_manifest_invalid(c->err, &pi, "expected a syscall name ([a-z0-9_], at most 64)");
		}
	}
	if (!json_object_object_get_ex(o, "action", &v))
		return ps_manifest_invalid(c->err, &pact, "required field missing");
	r = get_action(v, &pact, &action, c->err);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(o, "errnoRet", &v)) {
		r = get_errno(v, &perr, &errno_ret, c->err);
		if (r < 0)
			return r;
		if (action != PS_SC_ERRNO)
			return ps_manifest_invalid(c->err, &perr, "only with \"SCMP_ACT_ERRNO\"");
	}
	if (json_object_object_get_ex(o, "args", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array))
			return ps_manifest_invalid(c->err, &pargs, "expected an array");
		if (json_object_array_length(v) > PS_SC_MAX_ARGS)
			return ps_manifest_invalid(c->err, &pargs, "at most %d conditions", PS_SC_MAX_ARGS);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const ps_jpath pi = PS_JPATH_INDEX(&pargs, i);
			r = parse_arg(json_object_array_get_idx(v, i), &pi, &args[n_args++], c);
			if (r < 0)
				return r;
		}
	}
	if (json_object_object_get_ex(o, "includes", &v) && !json_object_is_type(v, json_type_null)) {
		r = parse_filter(v, &pinc, false, c, &included);
		if (r < 0)
			return r;
	}
	if (json_object_object_get_ex(o, "excludes", &v) && !json_object_is_type(v, json_type_null)) {
		r = parse_filter(v, &pexc, true, c, &excluded);
		if (r < 0)
			return r;
	}
	if (!included || excluded)
		return 0;

	size_t n = names ? json_object_array_length(names) : 1;
	c->total_names += n;
	if (c->total_names > PS_SC_MAX_NAMES)
		return ps_manifest_invalid(c->err, &pn, "too many syscall names (at most %d in a profile)",
		                           PS_SC_MAX_NAMES);
	char **sv = calloc(n + 1, sizeof(char *));
	if (!sv)
		return ps_manifest_oom(c->err);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(names ? json_object_array_get_idx(names, i) : name);
		if (!(sv[i] = strdup(s))) {
			ps_strv_free(sv);
			return ps_manifest_oom(c->err);
		}
	}
	r = add_rule(prof, sv, n, action, action == PS_SC_ERRNO ? errno_ret : 0, args, n_args);
	if (r == -E2BIG)
		return ps_manifest_invalid(c->err, p, "too many rules (at most %d)", PS_SC_MAX_RULES);
	if (r < 0)
		return ps_manifest_oom(c->err);
	return 0;
}

static int parse_arches(json_object *o, const ps_jpath *p, ps_sc_profile *prof, const struct pctx *c)
{
	const ps_jpath pa = PS_JPATH_KEY(p, "architectures");
	const ps_jpath pm = PS_JPATH_KEY(p, "archMap");
	json_object *v;
	int r;

	/* archMap (Docker): the entry of the native arch and its subArchitectures. */
	if (json_object_object_get_ex(o, "archMap", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array))
			return ps_manifest_invalid(c->err, &pm, "expected an array");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			static const char *const keys[] = { "architecture", "subArchitectures", NULL };
			const ps_jpath pi = PS_JPATH_INDEX(&pm, i);
			const ps_jpath parch = PS_JPATH_KEY(&pi, "architecture");
			const ps_jpath psub = PS_JPATH_KEY(&pi, "subArchitectures");
			json_object *e = json_object_array_get_idx(v, i), *a, *subs;
			const char *name;

			if (!json_object_is_type(e, json_type_object))
				return ps_manifest_invalid(c->err, &pi, "expected an object");
			r = check_keys(e, keys, &pi, c->err);
			if (r < 0)
				return r;
			if (!json_object_object_get_ex(e, "architecture", &a) ||
			    !json_object_is_type(a, json_type_string) ||
			    !(name = arch_from_profile_name(json_object_get_string(a))))
				return ps_manifest_invalid(c->err, &parch, "expected an architecture such as \"SCMP_ARCH_X86_64\"");
			bool native = streq(name, NATIVE_SCMP);
			if (native && (r = add_arch(prof, name)) < 0)
				return ps_manifest_invalid(c->err, &pm, "too many architectures");
			if (!json_object_object_get_ex(e, "subArchitectures", &subs) ||
			    json_object_is_type(subs, json_type_null))
				continue;
			if (!json_object_is_type(subs, json_type_array))
				return ps_manifest_invalid(c->err, &psub, "expected an array");
			for (size_t j = 0; j < json_object_array_length(subs); j++) {
				const ps_jpath pj = PS_JPATH_INDEX(&psub, j);
				json_object *s = json_object_array_get_idx(subs, j);
				const char *sn;
				if (!json_object_is_type(s, json_type_string) ||
				    !(sn = arch_from_profile_name(json_object_get_string(s))))
					return ps_manifest_invalid(c->err, &pj, "expected an architecture such as \"SCMP_ARCH_X86\"");
				if (native && add_arch(prof, sn) < 0)
					return ps_manifest_invalid(c->err, &pm, "too many architectures");
			}
		}
		if (prof->n_arches > 0)
			return 0;
	}
	if (json_object_object_get_ex(o, "architectures", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array))
			return ps_manifest_invalid(c->err, &pa, "expected an array");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const ps_jpath pi = PS_JPATH_INDEX(&pa, i);
			json_object *e = json_object_array_get_idx(v, i);
			const char *name;
			if (!json_object_is_type(e, json_type_string) ||
			    !(name = arch_from_profile_name(json_object_get_string(e))))
				return ps_manifest_invalid(c->err, &pi, "expected an architecture such as \"SCMP_ARCH_X86_64\"");
			if (add_arch(prof, name) < 0)
				return ps_manifest_invalid(c->err, &pa, "too many architectures (at most %d)",
				                           PS_SC_MAX_ARCHES);
		}
	}
	return 0;
}

static int parse_profile(json_object *o, const ps_jpath *p, ps_sc_profile *prof, struct pctx *c)
{
	static const char *const keys[] = {
		"defaultAction", "defaultErrnoRet", "architectures", "archMap", "syscalls", "flags",
		"listenerPath", "listenerMetadata", "comment", NULL,
	};
	const ps_jpath pda = PS_JPATH_KEY(p, "defaultAction");
	const ps_jpath pde = PS_JPATH_KEY(p, "defaultErrnoRet");
	const ps_jpath ps = PS_JPATH_KEY(p, "syscalls");
	const ps_jpath pf = PS_JPATH_KEY(p, "flags");
	const ps_jpath pl = PS_JPATH_KEY(p, "listenerPath");
	json_object *v;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return ps_manifest_invalid(c->err, p, "expected a seccomp profile (an object)");
	r = check_keys(o, keys, p, c->err);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(o, "defaultAction", &v))
		return ps_manifest_invalid(c->err, &pda, "required field missing");
	r = get_action(v, &pda, &prof->default_action, c->err);
	if (r < 0)
		return r;
	prof->default_errno = prof->default_action == PS_SC_ERRNO ? EPERM : 0;
	if (json_object_object_get_ex(o, "defaultErrnoRet", &v) && !json_object_is_type(v, json_type_null)) {
		r = get_errno(v, &pde, &prof->default_errno, c->err);
		if (r < 0)
			return r;
		if (prof->default_action != PS_SC_ERRNO)
			return ps_manifest_invalid(c->err, &pde, "only with \"SCMP_ACT_ERRNO\"");
	}
	if (json_object_object_get_ex(o, "listenerPath", &v) && !json_object_is_type(v, json_type_null) &&
	    !(json_object_is_type(v, json_type_string) && !*json_object_get_string(v)))
		return ps_manifest_invalid(c->err, &pl, "seccomp listeners are not supported");
	/* flags change how the kernel logs or syncs threads, not what is allowed:
	 * the known ones are accepted and have no effect here. */
	if (json_object_object_get_ex(o, "flags", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array))
			return ps_manifest_invalid(c->err, &pf, "expected an array");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const ps_jpath pi = PS_JPATH_INDEX(&pf, i);
			json_object *e = json_object_array_get_idx(v, i);
			const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
			if (!streq(s, "SECCOMP_FILTER_FLAG_TSYNC") && !streq(s, "SECCOMP_FILTER_FLAG_LOG") &&
			    !streq(s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
				return ps_manifest_invalid(c->err, &pi, "expected \"SECCOMP_FILTER_FLAG_TSYNC\", "
				                                        "\"SECCOMP_FILTER_FLAG_LOG\" or "
				                                        "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"");
		}
	}
	r = parse_arches(o, p, prof, c);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(o, "syscalls", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_array))
			return ps_manifest_invalid(c->err, &ps, "expected an array");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const ps_jpath pi = PS_JPATH_INDEX(&ps, i);
			r = parse_syscall(json_object_array_get_idx(v, i), &pi, prof, c);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int ps_sc_profile_parse(const char *json, size_t len, uint64_t caps, const struct ps_jpath *base,
                        ps_sc_profile **ret, ps_error **err)
{
	__attribute__((cleanup(json_object_putp))) json_object *o = NULL;
	json_tokener *tok;

	if (len > PS_SC_PROFILE_MAX_SIZE)
		return ps_manifest_invalid(err, base, "seccomp profile larger than %d bytes",
		                           PS_SC_PROFILE_MAX_SIZE);
	tok = json_tokener_new();
	if (!tok)
		return ps_manifest_oom(err);
	o = json_tokener_parse_ex(tok, json, (int)len);
	enum json_tokener_error je = json_tokener_get_error(tok);
	size_t off = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (je != json_tokener_success || !o || off != len) {
		/* trailing white space is fine */
		bool trailing_ok = je == json_tokener_success && o;
		for (size_t i = off; trailing_ok && i < len; i++)
			trailing_ok = isspace((unsigned char)json[i]);
		if (!trailing_ok)
			return ps_manifest_invalid(err, base, "not valid JSON at byte %zu: %s", off,
			                           je == json_tokener_success ? "trailing data"
			                                                      : json_tokener_error_desc(je));
	}
	return ps_sc_profile_from_json(o, caps, base, ret, err);
}

int ps_sc_profile_from_json(json_object *o, uint64_t caps, const struct ps_jpath *base,
                            ps_sc_profile **ret, ps_error **err)
{
	__attribute__((cleanup(profile_freep))) ps_sc_profile *p = calloc(1, sizeof(*p));
	struct pctx c = { .caps = caps, .err = err };
	int r;

	if (!p)
		return ps_manifest_oom(err);
	r = parse_profile(o, base, p, &c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}

/* --- digest --------------------------------------------------------------- */

/* The canonical text, one line per fact, in order (the rule order matters
 * to libseccomp only for conflicts, which it refuses, but keeping it is
 * simplest). Written straight into the hash. */
static void digest_head(ps_sha256 *h, ps_sc_action action, int errno_ret, const char *const *arches,
                        size_t n_arches)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "podctl-seccomp-1\ndefault %d %d\n", (int)action, errno_ret);

	ps_sha256_update(h, line, (size_t)n);
	for (size_t i = 0; i < n_arches; i++) {
		n = snprintf(line, sizeof(line), "arch %s\n", arches[i]);
		ps_sha256_update(h, line, (size_t)n);
	}
}

static void digest_rule(ps_sha256 *h, ps_sc_action action, int errno_ret, const ps_sc_arg *args,
                        size_t n_args)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "rule %d %d", (int)action, errno_ret);

	ps_sha256_update(h, line, (size_t)n);
	for (size_t j = 0; j < n_args; j++) {
		n = snprintf(line, sizeof(line), " %u:%d:%" PRIu64 ":%" PRIu64, args[j].index,
		             (int)args[j].op, args[j].value, args[j].value_two);
		ps_sha256_update(h, line, (size_t)n);
	}
}

static void digest_name(ps_sha256 *h, const char *name, size_t len)
{
	ps_sha256_update(h, " ", 1);
	ps_sha256_update(h, name, len);
}

int ps_sc_profile_digest(const ps_sc_profile *p, char ret[65], ps_error **err)
{
	ps_sha256 h;

	ps_sha256_init_portable(&h); /* a few KiB: no nettle */
	digest_head(&h, p->default_action, p->default_errno, (const char *const *)p->arches, p->n_arches);
	for (size_t i = 0; i < p->n_rules; i++) {
		const ps_sc_rule *r = &p->rules[i];
		digest_rule(&h, r->action, r->errno_ret, r->args, r->n_args);
		for (size_t j = 0; j < r->n_names; j++)
			digest_name(&h, r->names[j], strlen(r->names[j]));
		ps_sha256_update(&h, "\n", 1);
	}
	ps_sha256_final_hex(&h, ret);
	(void)err;
	return 0;
}

void ps_sc_default_digest(uint64_t caps, char ret[65])
{
	const char *arches[1 + ARRAY_SIZE(compat_arches)];
	size_t n_arches = 0;
	ps_sha256 h;

	arches[n_arches++] = NATIVE_SCMP;
	for (size_t i = 0; i < ARRAY_SIZE(compat_arches); i++)
		if (compat_arches[i])
			arches[n_arches++] = compat_arches[i];
	ps_sha256_init_portable(&h);
	digest_head(&h, PS_SC_ERRNO, EPERM, arches, n_arches);
	for (size_t i = 0; i < ARRAY_SIZE(default_groups); i++) {
		const struct sc_group *g = &default_groups[i];

		if (g->need_cap != NO_CAP && !(caps & BIT(g->need_cap)))
			continue;
		if (g->unless_cap != NO_CAP && (caps & BIT(g->unless_cap)))
			continue;
		digest_rule(&h, g->action, g->errno_ret, &g->arg, g->arg.op ? 1 : 0);
		for (const char *s = g->names; *s;) {
			while (*s == ' ')
				s++;
			const char *e = strchrnul(s, ' ');
			if (e > s)
				digest_name(&h, s, (size_t)(e - s));
			s = e;
		}
		ps_sha256_update(&h, "\n", 1);
	}
	ps_sha256_final_hex(&h, ret);
}

/* --- the compiled-filter cache --------------------------------------------- */

struct sc_entry {
	char *name;
	long long used_ns;
};

static int by_use_newest_first(const void *a, const void *b)
{
	const struct sc_entry *x = a, *y = b;
	return x->used_ns < y->used_ns ? 1 : x->used_ns > y->used_ns ? -1 : 0;
}

static bool is_entry_name(const char *name)
{
	size_t l = strlen(name), sl = strlen(PS_SC_CACHE_SUFFIX);
	return name[0] != '.' && l > sl && streq(name + l - sl, PS_SC_CACHE_SUFFIX);
}

static long long ts_ns(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

unsigned ps_sc_cache_prune(int store_fd, long long now_ns)
{
	_cleanup_close_ int cfd = openat(store_fd, PS_SC_CACHE_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (cfd < 0)
		return 0;
	int fd = openat(cfd, PS_SC_CACHE_SUBDIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	struct sc_entry *v = NULL;
	size_t n = 0, cap = 0;
	unsigned removed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		const char *name = de->d_name;
		if (streq(name, ".") || streq(name, ".."))
			continue;
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (name[0] == '.') {
			/* an atomic write's ".<name>.tmp.<pid>": its writer's to
			 * finish (rename) or, dead, ours to remove */
			pid_t owner = ps_tmp_name_owner(name);
			if (strstr(name, ".tmp.") && owner > 0 && !ps_pid_alive(owner) && unlinkat(dirfd(d), name, 0) == 0)
				removed++;
			continue;
		}
		if (!is_entry_name(name))
			continue;
		long long used = ts_ns(&st.st_atim) > ts_ns(&st.st_mtim) ? ts_ns(&st.st_atim) : ts_ns(&st.st_mtim);
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct sc_entry *nv = reallocarray(v, ncap, sizeof(*nv));
			if (!nv)
				break; /* prune what was seen */
			v = nv;
			cap = ncap;
		}
		v[n].name = strdup(name);
		if (!v[n].name)
			break;
		v[n++].used_ns = used;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_use_newest_first);
	/* Removing one a stage1 is reading is safe: it has it open, or finds
	 * none and compiles the filter again (see above). */
	for (size_t i = 0; i < n; i++) {
		if ((i >= PS_SC_CACHE_MAX_ENTRIES || now_ns - v[i].used_ns > PS_SC_CACHE_MAX_AGE_NS) &&
		    unlinkat(dirfd(d), v[i].name, 0) == 0)
			removed++;
		free(v[i].name);
	}
	free(v);
	closedir(d);
	return removed;
}

