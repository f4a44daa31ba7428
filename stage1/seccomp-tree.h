/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef PODCTL_STAGE1_SECCOMP_TREE_H
#define PODCTL_STAGE1_SECCOMP_TREE_H

/*
 * A smaller program with the same verdicts as a libseccomp one.
 *
 * libseccomp's program (even its binary tree, SCMP_FLTATR_CTL_OPTIMIZE=2)
 * compares the syscall number with every rule's number: ~1200 instructions
 * for Docker's allowlist on three x86 arches. The kernel converts and JITs
 * every instruction at each load, ~0.2 us each here, in every app's start.
 * Where a verdict depends on the arch and the number alone, it is the same
 * for a whole range of numbers: s1_bpf_shrink() finds those ranges (by
 * running the program on one point of each, see seccomp-tree.c) and emits a
 * tree over them, whose leaves return the verdict or jump to a copy of the
 * original code that looks at the arguments. It is built only of what the
 * kernel's action cache can follow (loads of nr and arch, JEQ/JGE/JGT K,
 * JA, RET K), so constant verdicts stay cached as before. The result is
 * checked against the input by running both on every range and a set of
 * argument values; anything unexpected keeps the input.
 */

#include <stddef.h>
#include <linux/filter.h>

/* The version of the cut below, in the seccomp cache's key (seccomp.c):
 * bump it on any change to what s1_bpf_shrink() makes. */
#define S1_BPF_SHRINK_VERSION 1

/* 0 and *out (malloc'd, *out_n instructions) when a smaller program with
 * the same verdicts was made; -1 (nothing allocated) to keep in as it is. */
int s1_bpf_shrink(const struct sock_filter *in, size_t n, struct sock_filter **out, size_t *out_n);

/* Run prog on one syscall (nr, arch, instruction pointer, six args): its
 * return value, or -1 when it is not a program this interpreter knows
 * (an instruction outside the classic seccomp subset, a jump out). */
long long s1_bpf_run(const struct sock_filter *prog, size_t n, unsigned nr, unsigned arch,
                     unsigned long long ip, const unsigned long long args[6]);

#endif
