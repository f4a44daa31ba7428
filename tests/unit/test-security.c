/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Capability sets and seccomp profiles (libpodstore/security.c). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifest-internal.h"
#include "security.h"
#include "util.h"

#define CAP(n) (UINT64_C(1) << (n))
enum { NET_ADMIN = 12, SYS_ADMIN = 21, SYS_PTRACE = 19, KILL = 5, MKNOD = 27 };

static uint64_t caps_of(const char *const *add, const char *const *drop)
{
	ps_app a = { .cap_add = (char **)add, .cap_drop = (char **)drop };
	return ps_app_caps(&a);
}

static void test_caps(void **state)
{
	static const char *const net_admin[] = { "NET_ADMIN", NULL };
	static const char *const all[] = { "ALL", NULL };
	static const char *const kill_[] = { "cap_kill", NULL };
	static const char *const mknod[] = { "CAP_MKNOD", NULL };

	assert_int_equal(caps_of(NULL, NULL), ps_caps_default());
	assert_int_equal(ps_caps_default(), UINT64_C(0xa00425fb)); /* Docker's less CAP_MKNOD */
	assert_int_equal(caps_of(net_admin, NULL), ps_caps_default() | CAP(NET_ADMIN));
	assert_int_equal(caps_of(kill_, all), CAP(KILL));
	assert_int_equal(caps_of(all, mknod), ps_caps_all() & ~CAP(MKNOD));
	assert_int_equal(caps_of(NULL, mknod), ps_caps_default() & ~CAP(MKNOD));
	assert_int_equal(ps_cap_from_name("net_admin"), NET_ADMIN);
	assert_int_equal(ps_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_int_equal(ps_cap_from_name("all"), -2);
	assert_int_equal(ps_cap_from_name("CAP_"), -1);
	assert_string_equal(ps_cap_name(SYS_ADMIN), "CAP_SYS_ADMIN");
	assert_null(ps_cap_name(PS_CAP_LAST + 1));
}

/* The rules of p naming syscall: how many, and the first. */
static const ps_sc_rule *find(const ps_sc_profile *p, const char *name, size_t *count)
{
	const ps_sc_rule *first = NULL;
	*count = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		for (size_t j = 0; j < p->rules[i].n_names; j++)
			if (streq(p->rules[i].names[j], name)) {
				if (!first)
					first = &p->rules[i];
				(*count)++;
			}
	return first;
}

static void test_default_profile(void **state)
{
	ps_sc_profile *p = NULL;
	ps_error *err = NULL;
	const ps_sc_rule *r;
	size_t n;

	assert_int_equal(ps_sc_profile_default(ps_caps_default(), &p, &err), 0);
	assert_int_equal(p->default_action, PS_SC_ERRNO);
	assert_int_equal(p->default_errno, EPERM);
	assert_true(p->n_arches >= 1);
	assert_string_equal(p->arches[0], ps_sc_native_arch());
	/* never allowed with the default capabilities */
	static const char *const denied[] = {
		"io_uring_setup", "io_uring_enter", "io_uring_register", "process_vm_readv",
		"process_vm_writev", "kcmp", "keyctl", "add_key", "request_key", "bpf",
		"perf_event_open", "userfaultfd", "mount", "umount2", "fsopen", "fsmount",
		"move_mount", "open_tree", "pivot_root", "unshare", "setns", "kexec_load",
		"init_module", "finit_module", "delete_module", "settimeofday", "clock_settime",
		"reboot", "swapon", "swapoff", "acct", "quotactl", "lookup_dcookie", "ptrace",
		"set_mempolicy", "mbind", "move_pages", "open_by_handle_at",
	};
	for (size_t i = 0; i < ARRAY_SIZE(denied); i++) {
		find(p, denied[i], &n);
		if (n != 0)
			fail_msg("%s is in the default profile", denied[i]);
	}
	r = find(p, "read", &n);
	assert_non_null(r);
	assert_int_equal(r->action, PS_SC_ALLOW);
	assert_int_equal(r->n_args, 0);
	/* clone only without namespace flags */
	r = find(p, "clone", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->n_args, 1);
	assert_int_equal(r->args[0].op, PS_SC_MASKED_EQ);
	assert_int_equal(r->args[0].value, 0x7E020000);
	assert_int_equal(r->args[0].value_two, 0);
	r = find(p, "clone3", &n);
	assert_int_equal(r->action, PS_SC_ERRNO);
	assert_int_equal(r->errno_ret, ENOSYS);
	/* personality: five exact values */
	find(p, "personality", &n);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < p->n_rules; i++)
		if (streq(p->rules[i].names[0], "personality"))
			assert_int_equal(p->rules[i].args[0].op, PS_SC_EQ);
	r = find(p, "socket", &n);
	assert_int_equal(r->args[0].op, PS_SC_NE);
	assert_int_equal(r->args[0].value, 40);
	ps_sc_profile_free(p);

	/* CAP_SYS_ADMIN opens the mount family and plain clone/clone3 */
	assert_int_equal(ps_sc_profile_default(ps_caps_default() | CAP(SYS_ADMIN), &p, &err), 0);
	r = find(p, "clone", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r->n_args, 0);
	r = find(p, "clone3", &n);
	assert_int_equal(r->action, PS_SC_ALLOW);
	find(p, "mount", &n);
	assert_int_equal(n, 1);
	find(p, "io_uring_setup", &n);
	assert_int_equal(n, 0);
	ps_sc_profile_free(p);
	/* CAP_SYS_PTRACE: process_vm_*, kcmp */
	assert_int_equal(ps_sc_profile_default(ps_caps_default() | CAP(SYS_PTRACE), &p, &err), 0);
	find(p, "process_vm_readv", &n);
	assert_int_equal(n, 1);
	find(p, "kcmp", &n);
	assert_int_equal(n, 1);
	ps_sc_profile_free(p);
}

static void test_digest(void **state)
{
	ps_sc_profile *a = NULL, *b = NULL, *c = NULL;
	ps_error *err = NULL;
	char da[65], db[65], dc[65];

	assert_int_equal(ps_sc_profile_default(ps_caps_default(), &a, &err), 0);
	assert_int_equal(ps_sc_profile_default(ps_caps_default(), &b, &err), 0);
	assert_int_equal(ps_sc_profile_default(ps_caps_default() | CAP(NET_ADMIN), &c, &err), 0);
	ps_sc_profile_digest(a, da, &err);
	ps_sc_profile_digest(b, db, &err);
	ps_sc_profile_digest(c, dc, &err);
	assert_string_equal(da, db);
	/* NET_ADMIN gates no syscall: same filter */
	assert_string_equal(da, dc);
	ps_sc_profile_free(c);
	assert_int_equal(ps_sc_profile_default(ps_caps_default() | CAP(SYS_ADMIN), &c, &err), 0);
	ps_sc_profile_digest(c, dc, &err);
	assert_string_not_equal(da, dc);
	ps_sc_profile_free(a);
	ps_sc_profile_free(b);
	ps_sc_profile_free(c);

	/* the allocation-free digest of the default equals the built one's */
	const uint64_t sets[] = { ps_caps_default(), 0, ps_caps_all(), CAP(SYS_ADMIN), CAP(SYS_PTRACE) | CAP(KILL) };
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
		assert_int_equal(ps_sc_profile_default(sets[i], &a, &err), 0);
		ps_sc_profile_digest(a, da, &err);
		ps_sc_default_digest(sets[i], db);
		assert_string_equal(da, db);
		ps_sc_profile_free(a);
	}
}

static void test_docker_profile(void **state)
{
	const char *json =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
		"\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]},"
		"{\"architecture\":\"SCMP_ARCH_AARCH64\",\"subArchitectures\":[\"SCMP_ARCH_ARM\"]}],"
		"\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
		"{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
		"{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38,\"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
		"{\"names\":[\"arch_prctl\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"amd64\",\"arm64\"]}},"
		"{\"names\":[\"vm86\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"s390x\"]}},"
		"{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"minKernel\":\"99.0\"}}]}";
	ps_sc_profile *p = NULL;
	ps_error *err = NULL;
	size_t n;

	assert_int_equal(ps_sc_profile_parse(json, strlen(json), ps_caps_default(), NULL, &p, &err), 0);
	assert_int_equal(p->default_errno, 1);
#if defined(__x86_64__) && !defined(__ILP32__)
	assert_int_equal(p->n_arches, 3);
	assert_string_equal(p->arches[1], "x86");
#endif
	find(p, "mount", &n);
	assert_int_equal(n, 0);
	assert_int_equal(find(p, "clone3", &n)->errno_ret, 38);
	find(p, "arch_prctl", &n);
#if defined(__x86_64__) || defined(__aarch64__)
	assert_int_equal(n, 1);
#endif
	find(p, "vm86", &n);
	assert_int_equal(n, 0);
	find(p, "ptrace", &n);
	assert_int_equal(n, 0);
	ps_sc_profile_free(p);

	assert_int_equal(ps_sc_profile_parse(json, strlen(json), CAP(SYS_ADMIN), NULL, &p, &err), 0);
	find(p, "mount", &n);
	assert_int_equal(n, 1);
	find(p, "clone3", &n);
	assert_int_equal(n, 0);
	ps_sc_profile_free(p);

	/* messages carry the JSON path, under a base when given */
	const ps_jpath base = PS_JPATH_KEY(NULL, "seccompProfile");
	const char *bad = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"x\"],"
	                  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"LT\"}]}]}";
	assert_int_equal(ps_sc_profile_parse(bad, strlen(bad), 0, &base, &p, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "seccompProfile.syscalls[0].args[0].op: expected one of"));
	ps_error_free(&err);
	assert_int_equal(ps_sc_profile_parse("{\"defaultAction\":1} x", 21, 0, NULL, &p, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "(root): not valid JSON"));
	ps_error_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_default_profile),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_docker_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
