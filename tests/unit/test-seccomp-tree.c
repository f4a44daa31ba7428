/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stage1/seccomp-tree.c: a libseccomp program made smaller must give the
 * same verdict as the original on every input, stay within what the
 * kernel's seccomp action cache can follow, and refuse what it does not
 * understand. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/audit.h>
#include <seccomp.h>

#include "fixture.h"
#include "../../stage1/seccomp-tree.h"

#define ARCH_X86_64 AUDIT_ARCH_X86_64
#define ARCH_I386 AUDIT_ARCH_I386

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* libseccomp's binary tree for an allowlist much like Docker's: three x86
 * arches, numbers denied here and there, rules on arguments, two errnos. */
static struct sock_filter *build(size_t *n)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	assert_non_null(ctx);
	assert_int_equal(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), 0);
	assert_int_equal(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), 0);
	assert_true(seccomp_arch_add(ctx, SCMP_ARCH_X86) == 0);
	assert_true(seccomp_arch_add(ctx, SCMP_ARCH_X32) == 0);
	int clone_nr = seccomp_syscall_resolve_name("clone");
	int pers_nr = seccomp_syscall_resolve_name("personality");
	int sock_nr = seccomp_syscall_resolve_name("socket");
	int clone3_nr = seccomp_syscall_resolve_name("clone3");
	for (int nr = 0; nr < 460; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
		if (!name)
			continue;
		int r = seccomp_syscall_resolve_name(name);
		free(name);
		if (r < 0 || r == clone_nr || r == pers_nr || r == sock_nr || r == clone3_nr || nr % 7 == 3)
			continue;
		assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r, 0), 0);
	}
	assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, clone_nr, 1,
	                                  SCMP_A0(SCMP_CMP_MASKED_EQ, 0x7e020000ULL, 0)), 0);
	assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, pers_nr, 1, SCMP_A0(SCMP_CMP_EQ, 0)), 0);
	assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, pers_nr, 1, SCMP_A0(SCMP_CMP_EQ, 8)), 0);
	assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sock_nr, 1, SCMP_A0(SCMP_CMP_NE, 40)), 0);
	assert_int_equal(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), clone3_nr, 0), 0);

	int mfd = memfd_create("bpf", MFD_CLOEXEC);
	assert_true(mfd >= 0);
	assert_int_equal(seccomp_export_bpf(ctx, mfd), 0);
	seccomp_release(ctx);
	off_t len = lseek(mfd, 0, SEEK_END);
	assert_true(len > 0 && len % (off_t)sizeof(struct sock_filter) == 0);
	struct sock_filter *p = malloc((size_t)len);
	assert_int_equal(pread(mfd, p, (size_t)len, 0), len);
	close(mfd);
	*n = (size_t)len / sizeof(*p);
	return p;
}

static uint32_t pick_nr(void)
{
	switch (next() % 4) {
	case 0: return (uint32_t)(next() % 1100);
	case 1: return 0x40000000u + (uint32_t)(next() % 1100);
	case 2: return (uint32_t)next();
	default: return 0x3ffffff0u + (uint32_t)(next() % 32);
	}
}

static uint32_t pick_arch(void)
{
	static const uint32_t a[] = { ARCH_X86_64, ARCH_I386, AUDIT_ARCH_AARCH64, 0, ARCH_X86_64 + 1 };
	return next() % 8 == 0 ? (uint32_t)next() : a[next() % (sizeof(a) / sizeof(a[0]))];
}

static uint64_t pick_arg(void)
{
	static const uint64_t v[] = { 0, 8, 40, 41, 0x7e020000ULL, 0x10000000ULL, 0x20000ULL, ~0ULL,
		                      0xffffffffULL, 0x100000000ULL };
	return next() % 2 ? v[next() % (sizeof(v) / sizeof(v[0]))] : next();
}

/* The kernel's action cache (seccomp_is_const_allow): what it can follow
 * with nr and arch alone; -1 when the program looks at anything else. */
static long long cache_run(const struct sock_filter *p, size_t n, uint32_t arch, uint32_t nr)
{
	uint32_t A = 0;
	for (size_t pc = 0; pc < n;) {
		const struct sock_filter *f = &p[pc++];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k != 0 && f->k != 4)
				return -1;
			A = f->k == 0 ? nr : arch;
			break;
		case BPF_JMP | BPF_JA: pc += f->k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += A == f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: pc += A >= f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: pc += A > f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += A & f->k ? f->jt : f->jf; break;
		case BPF_ALU | BPF_AND | BPF_K: A &= f->k; break;
		case BPF_RET | BPF_K: return f->k;
		default: return -1;
		}
	}
	return -1;
}

static void same_verdicts(void **state)
{
	size_t n, m;
	struct sock_filter *in = build(&n), *out = NULL;
	(void)state;

	assert_int_equal(s1_bpf_shrink(in, n, &out, &m), 0);
	assert_true(m < n);
	for (int i = 0; i < 300000; i++) {
		uint32_t arch = pick_arch(), nr = pick_nr();
		unsigned long long args[6], ip = next();
		for (int k = 0; k < 6; k++)
			args[k] = pick_arg();
		long long a = s1_bpf_run(in, n, nr, arch, ip, args);
		long long b = s1_bpf_run(out, m, nr, arch, ip, args);
		assert_true(a >= 0);
		if (a != b)
			fail_msg("arch %#x nr %#x: %#llx before, %#llx after", arch, nr, a, b);
	}
	/* every number of the two native arches, exhaustively near the cuts */
	static const uint32_t archs[] = { ARCH_X86_64, ARCH_I386 };
	for (size_t k = 0; k < 2; k++)
		for (uint32_t nr = 0; nr < 2048; nr++) {
			static const unsigned long long zero[6];
			uint32_t nrs[2] = { nr, 0x40000000u + nr };
			for (int x = 0; x < 2; x++) {
				assert_int_equal(s1_bpf_run(in, n, nrs[x], archs[k], 0, zero),
				                 s1_bpf_run(out, m, nrs[x], archs[k], 0, zero));
				/* what the kernel caches before, it caches after */
				long long ca = cache_run(in, n, archs[k], nrs[x]);
				if (ca >= 0)
					assert_int_equal(cache_run(out, m, archs[k], nrs[x]), ca);
			}
		}
	free(in);
	free(out);
}

/* A test that could fail: a wrong program is told apart. */
static void a_wrong_program_differs(void **state)
{
	size_t n, m;
	struct sock_filter *in = build(&n), *out = NULL;
	static const unsigned long long zero[6];
	(void)state;

	assert_int_equal(s1_bpf_shrink(in, n, &out, &m), 0);
	/* flip the first verdict of the tree: some input now differs */
	bool flipped = false;
	for (size_t i = 0; i < m && !flipped; i++)
		if (out[i].code == (BPF_RET | BPF_K)) {
			out[i].k = out[i].k == SCMP_ACT_ALLOW ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_ALLOW;
			flipped = true;
		}
	assert_true(flipped);
	bool differs = false;
	for (int i = 0; i < 100000 && !differs; i++) {
		uint32_t arch = pick_arch(), nr = pick_nr();
		differs = s1_bpf_run(in, n, nr, arch, 0, zero) != s1_bpf_run(out, m, nr, arch, 0, zero);
	}
	assert_true(differs);
	free(in);
	free(out);
}

static void refuses_unknown(void **state)
{
	struct sock_filter *out = NULL;
	size_t m = 0;
	static const unsigned long long zero[6];
	(void)state;

	/* a bit test on the number: not a head it cuts into ranges */
	struct sock_filter jset[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SCMP_ACT_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SCMP_ACT_ERRNO(EPERM)),
	};
	assert_int_equal(s1_bpf_shrink(jset, 4, &out, &m), -1);
	assert_null(out);
	/* a jump out of the program */
	struct sock_filter out_of_range[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 5, 0),
		BPF_STMT(BPF_RET | BPF_K, SCMP_ACT_ALLOW),
	};
	assert_int_equal(s1_bpf_shrink(out_of_range, 3, &out, &m), -1);
	assert_int_equal(s1_bpf_run(out_of_range, 3, 1, ARCH_X86_64, 0, zero), -1);
	/* nothing to gain: kept */
	struct sock_filter tiny[] = { BPF_STMT(BPF_RET | BPF_K, SCMP_ACT_ALLOW) };
	assert_int_equal(s1_bpf_shrink(tiny, 1, &out, &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_verdicts),
		cmocka_unit_test(a_wrong_program_differs),
		cmocka_unit_test(refuses_unknown),
	};
	return cmocka_run_group_tests_name("seccomp-tree", tests, NULL, NULL);
}
