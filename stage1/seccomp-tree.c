/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A libseccomp program made smaller, same verdicts (see seccomp-tree.h).
 *
 * The "head" of a program is what it runs while it looks only at the arch
 * and the syscall number: loads of those two, compares with constants,
 * jumps, returns. It ends in a return (a verdict for that arch and number)
 * or in a load of something else (the instruction pointer, an argument):
 * from there on the verdict depends on the arguments, and the code from
 * that instruction (its "tail") is copied unchanged. Up to there nothing
 * but A was written, and A is loaded again by the tail's first instruction,
 * so the copy starts in the state the original would be in.
 *
 * A head's outcome changes only where one of its compares changes: at k
 * and k + 1 of each constant k compared with the arch or the number. So
 * the (arch, nr) plane cuts into cells on those points, one run per cell
 * tells the outcome of the whole cell, and the constants a run compares
 * are the cuts: we run every cell until no new constant shows up (every
 * compare an input reaches is then reached by its cell's run too, by
 * induction along its path). Adjacent cells with the same outcome merge
 * into ranges, and the new program is: load arch, a binary tree over the
 * arch ranges, in each a load of nr and a binary tree over its number
 * ranges, leaves a return or a jump to the copied tails.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>

#include "seccomp-tree.h"

#define MAX_CUTS 16384
#define MAX_CELLS (1u << 20)
#define OFF_NR 0u   /* offsetof(struct seccomp_data, nr) */
#define OFF_ARCH 4u /* offsetof(struct seccomp_data, arch) */

/* --- an interpreter, for the check ----------------------------------------- */

long long s1_bpf_run(const struct sock_filter *prog, size_t n, unsigned nr, unsigned arch,
                     unsigned long long ip, const unsigned long long args[6])
{
	uint32_t data[16], M[BPF_MEMWORDS] = { 0 }, A = 0, X = 0;

	data[0] = nr;
	data[1] = arch;
	memcpy(&data[2], &ip, sizeof(ip));
	memcpy(&data[4], args, 6 * sizeof(args[0]));
	for (size_t pc = 0; pc < n;) {
		const struct sock_filter *f = &prog[pc++];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? X : f->k;
		size_t skip = 0;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k % 4 || f->k >= sizeof(data))
				return -1;
			A = data[f->k / 4];
			continue;
		case BPF_LD | BPF_W | BPF_LEN:
			A = sizeof(data);
			continue;
		case BPF_LDX | BPF_W | BPF_LEN:
			X = sizeof(data);
			continue;
		case BPF_LD | BPF_IMM:
			A = f->k;
			continue;
		case BPF_LDX | BPF_IMM:
			X = f->k;
			continue;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
		case BPF_ST:
		case BPF_STX:
			if (f->k >= BPF_MEMWORDS)
				return -1;
			if (f->code == (BPF_LD | BPF_MEM))
				A = M[f->k];
			else if (f->code == (BPF_LDX | BPF_MEM))
				X = M[f->k];
			else
				M[f->k] = f->code == BPF_ST ? A : X;
			continue;
		case BPF_MISC | BPF_TAX:
			X = A;
			continue;
		case BPF_MISC | BPF_TXA:
			A = X;
			continue;
		case BPF_RET | BPF_K:
			return f->k;
		case BPF_RET | BPF_A:
			return A;
		case BPF_JMP | BPF_JA:
			skip = f->k;
			break;
		default:
			if (BPF_CLASS(f->code) == BPF_ALU) {
				switch (BPF_OP(f->code)) {
				case BPF_ADD: A += src; continue;
				case BPF_SUB: A -= src; continue;
				case BPF_MUL: A *= src; continue;
				case BPF_OR: A |= src; continue;
				case BPF_AND: A &= src; continue;
				case BPF_XOR: A ^= src; continue;
				case BPF_LSH: A = src < 32 ? A << src : 0; continue;
				case BPF_RSH: A = src < 32 ? A >> src : 0; continue;
				case BPF_NEG: A = -A; continue;
				case BPF_DIV:
				case BPF_MOD:
					if (!src)
						return 0; /* the kernel's answer */
					A = BPF_OP(f->code) == BPF_DIV ? A / src : A % src;
					continue;
				}
				return -1;
			}
			if (BPF_CLASS(f->code) != BPF_JMP)
				return -1;
			bool t;
			switch (BPF_OP(f->code)) {
			case BPF_JEQ: t = A == src; break;
			case BPF_JGT: t = A > src; break;
			case BPF_JGE: t = A >= src; break;
			case BPF_JSET: t = (A & src) != 0; break;
			default: return -1;
			}
			skip = t ? f->jt : f->jf;
			break;
		}
		if (skip >= n - pc)
			return -1;
		pc += skip;
	}
	return -1; /* ran off the end */
}

/* --- the head: outcomes by (arch, nr) ----------------------------------------- */

struct cuts {
	uint32_t *v;
	size_t n, cap;
};

static bool cut_add(struct cuts *c, uint32_t k)
{
	if (c->n + 2 > c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 256;
		uint32_t *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return false;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = k;
	if (k != UINT32_MAX)
		c->v[c->n++] = k + 1;
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void cut_sort(struct cuts *c)
{
	size_t w = 0;

	qsort(c->v, c->n, sizeof(*c->v), cmp_u32);
	for (size_t i = 0; i < c->n; i++)
		if (w == 0 || c->v[w - 1] != c->v[i])
			c->v[w++] = c->v[i];
	c->n = w;
}

/* An outcome: a verdict (RET k), or the tail that starts at pc. */
struct outcome {
	bool tail;
	uint32_t v;
};

static bool outcome_eq(struct outcome a, struct outcome b)
{
	return a.tail == b.tail && a.v == b.v;
}

/* Run the head for (arch, nr); the constants it compares with either go
 * to ka / kn (unless NULL). false: not a head we know. */
static bool head_run(const struct sock_filter *p, size_t n, uint32_t arch, uint32_t nr, struct outcome *o,
                     struct cuts *ka, struct cuts *kn)
{
	enum { SRC_NONE, SRC_ARCH, SRC_NR } src = SRC_NONE;
	uint32_t A = 0;

	for (size_t pc = 0; pc < n;) {
		const struct sock_filter *f = &p[pc++];
		size_t skip;
		bool t;
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k == OFF_NR || f->k == OFF_ARCH) {
				src = f->k == OFF_NR ? SRC_NR : SRC_ARCH;
				A = f->k == OFF_NR ? nr : arch;
				continue;
			}
			*o = (struct outcome){ .tail = true, .v = (uint32_t)(pc - 1) };
			return true;
		case BPF_RET | BPF_K:
			*o = (struct outcome){ .tail = false, .v = f->k };
			return true;
		case BPF_JMP | BPF_JA:
			skip = f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
			if (src != SRC_NONE && ka && !cut_add(src == SRC_ARCH ? ka : kn, f->k))
				return false;
			t = BPF_OP(f->code) == BPF_JEQ ? A == f->k : BPF_OP(f->code) == BPF_JGT ? A > f->k : A >= f->k;
			skip = t ? f->jt : f->jf;
			break;
		default:
			return false; /* JSET, ALU, X, scratch memory: not a head */
		}
		if (skip >= n - pc)
			return false;
		pc += skip;
	}
	return false;
}

/* --- the new program -------------------------------------------------------- */

struct item {
	struct sock_filter f;
	long to_tail; /* a JA to the copied tail at this original pc; -1 none */
};

struct prog {
	struct item *v;
	size_t n, cap;
	bool oom;
};

static void emit(struct prog *p, struct sock_filter f, long to_tail)
{
	if (p->oom)
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct item *v = realloc(p->v, cap * sizeof(*v));
		if (!v) {
			p->oom = true;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct item){ f, to_tail };
}

static void append(struct prog *p, struct prog *q)
{
	for (size_t i = 0; i < q->n; i++)
		emit(p, q->v[i].f, q->v[i].to_tail);
	p->oom |= q->oom;
	free(q->v);
	*q = (struct prog){ 0 };
}

/* Ranges: starts[i] is where range i begins (starts[0] = 0); leaf(i) emits
 * what range i does. A binary tree of JGE over the starts. */
struct ranges {
	const uint32_t *starts;
	size_t n;
	void (*leaf)(struct prog *p, size_t i, void *ctx);
	void *ctx;
};

static void tree(struct prog *p, const struct ranges *r, size_t lo, size_t hi)
{
	if (hi - lo == 1) {
		r->leaf(p, lo, r->ctx);
		return;
	}
	size_t mid = lo + (hi - lo) / 2;
	struct prog left = { 0 }, right = { 0 };
	tree(&left, r, lo, mid);
	tree(&right, r, mid, hi);
	if (left.n <= 255) {
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, r->starts[mid], (uint8_t)left.n, 0), -1);
	} else {
		/* too far for jt: A >= start falls into a JA over the left tree */
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, r->starts[mid], 0, 1), -1);
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, (uint32_t)left.n, 0, 0), -1);
	}
	append(p, &left);
	append(p, &right);
}

static void outcome_leaf(struct prog *p, struct outcome o)
{
	if (o.tail)
		emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0), (long)o.v);
	else
		emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, o.v), -1);
}

/* One arch range: its number ranges (merged cells) and outcomes. */
struct arch_block {
	uint32_t *starts;
	struct outcome *out;
	size_t n;
};

static void nr_leaf(struct prog *p, size_t i, void *ctx)
{
	outcome_leaf(p, ((struct arch_block *)ctx)->out[i]);
}

static void arch_leaf(struct prog *p, size_t i, void *ctx)
{
	struct arch_block *b = &((struct arch_block *)ctx)[i];

	if (b->n == 1) {
		outcome_leaf(p, b->out[0]);
		return;
	}
	emit(p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_NR), -1);
	struct ranges r = { b->starts, b->n, nr_leaf, b };
	tree(p, &r, 0, b->n);
}

/* Mark what a tail starting at pc reaches. false: a jump out. */
static bool reach(const struct sock_filter *p, size_t n, size_t pc, bool *mark)
{
	for (; pc < n && !mark[pc]; pc++) {
		const struct sock_filter *f = &p[pc];
		mark[pc] = true;
		if (BPF_CLASS(f->code) == BPF_RET)
			return true;
		if (BPF_CLASS(f->code) != BPF_JMP)
			continue;
		if (BPF_OP(f->code) == BPF_JA) {
			if (f->k >= n - pc - 1)
				return false;
			pc += f->k;
			continue;
		}
		if ((size_t)f->jt >= n - pc - 1 || (size_t)f->jf >= n - pc - 1)
			return false;
		if (!reach(p, n, pc + 1 + f->jt, mark))
			return false;
		pc += f->jf;
	}
	return pc < n;
}

/* Both programs give the same verdict on every cell, with a few sets of
 * arguments. */
static bool same_verdicts(const struct sock_filter *a, size_t an, const struct sock_filter *b, size_t bn,
                          const struct cuts *ka, const struct cuts *kn)
{
	static const unsigned long long argsets[][6] = {
		{ 0, 0, 0, 0, 0, 0 },
		{ ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL, ~0ULL },
		{ 0x7e020000ULL, 1, 0x8, 0x40000000ULL, 0x20000ULL, 0x10 }, /* CLONE_NEW*, AF_INET… */
		{ 0x0008ULL, 0xffffffffULL, 3, 0x2000000ULL, 0xfffffffe00000000ULL, 0x800000ULL },
	};
	for (size_t i = 0; i < ka->n; i++)
		for (size_t j = 0; j < kn->n; j++)
			for (size_t s = 0; s < sizeof(argsets) / sizeof(argsets[0]); s++) {
				unsigned long long ip = s * 0x1000;
				long long va = s1_bpf_run(a, an, kn->v[j], ka->v[i], ip, argsets[s]);
				long long vb = s1_bpf_run(b, bn, kn->v[j], ka->v[i], ip, argsets[s]);
				if (va < 0 || va != vb)
					return false;
			}
	return true;
}

int s1_bpf_shrink(const struct sock_filter *in, size_t n, struct sock_filter **out, size_t *out_n)
{
	struct cuts ka = { 0 }, kn = { 0 };
	struct outcome *cells = NULL;
	struct arch_block *blocks = NULL;
	uint32_t *arch_starts = NULL;
	struct prog p = { 0 };
	bool *mark = NULL;
	size_t *newpc = NULL, n_blocks = 0, n_alloc = 0;
	int ret = -1;

	if (n < 2 || !cut_add(&ka, 0) || !cut_add(&kn, 0))
		goto out;
	/* cut until no run compares anything new (the sets only grow) */
	for (size_t round = 0, prev_a = 0, prev_n = 0;; round++) {
		cut_sort(&ka);
		cut_sort(&kn);
		if (ka.n == prev_a && kn.n == prev_n)
			break;
		if (round == 32 || ka.n > MAX_CUTS || kn.n > MAX_CUTS || ka.n * kn.n > MAX_CELLS)
			goto out;
		prev_a = ka.n;
		prev_n = kn.n;
		for (size_t i = 0; i < prev_a; i++)
			for (size_t j = 0; j < prev_n; j++) {
				struct outcome o;
				if (!head_run(in, n, ka.v[i], kn.v[j], &o, &ka, &kn))
					goto out;
			}
	}
	cells = calloc(ka.n * kn.n, sizeof(*cells));
	blocks = calloc(ka.n, sizeof(*blocks));
	arch_starts = calloc(ka.n, sizeof(*arch_starts));
	if (!cells || !blocks || !arch_starts)
		goto out;
	n_alloc = ka.n;
	for (size_t i = 0; i < ka.n; i++)
		for (size_t j = 0; j < kn.n; j++)
			if (!head_run(in, n, ka.v[i], kn.v[j], &cells[i * kn.n + j], NULL, NULL))
				goto out;
	/* arch ranges: rows alike merge; in each, number ranges */
	for (size_t i = 0; i < ka.n; i++) {
		const struct outcome *row = &cells[i * kn.n];
		if (n_blocks > 0) {
			const struct outcome *prev = &cells[(i - 1) * kn.n];
			bool same = true;
			for (size_t j = 0; j < kn.n && same; j++)
				same = outcome_eq(row[j], prev[j]);
			if (same)
				continue;
		}
		struct arch_block *b = &blocks[n_blocks];
		arch_starts[n_blocks++] = ka.v[i];
		b->starts = calloc(kn.n, sizeof(*b->starts));
		b->out = calloc(kn.n, sizeof(*b->out));
		if (!b->starts || !b->out)
			goto out;
		for (size_t j = 0; j < kn.n; j++) {
			if (b->n > 0 && outcome_eq(b->out[b->n - 1], row[j]))
				continue;
			b->starts[b->n] = kn.v[j];
			b->out[b->n++] = row[j];
		}
	}

	emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, OFF_ARCH), -1);
	struct ranges r = { arch_starts, n_blocks, arch_leaf, blocks };
	tree(&p, &r, 0, n_blocks);

	/* the tails, once each, in their order: jumps keep their direction and
	 * get no longer */
	mark = calloc(n, sizeof(*mark));
	newpc = calloc(n, sizeof(*newpc));
	if (!mark || !newpc)
		goto out;
	for (size_t i = 0; i < p.n; i++)
		if (p.v[i].to_tail >= 0 && !reach(in, n, (size_t)p.v[i].to_tail, mark))
			goto out;
	size_t head_len = p.n;
	for (size_t pc = 0; pc < n; pc++)
		if (mark[pc]) {
			newpc[pc] = p.n;
			emit(&p, in[pc], -1);
		}
	if (p.oom || p.n >= n || p.n > BPF_MAXINSNS)
		goto out;
	for (size_t i = 0; i < head_len; i++)
		if (p.v[i].to_tail >= 0)
			p.v[i].f.k = (uint32_t)(newpc[p.v[i].to_tail] - (i + 1));
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &in[pc];
		if (!mark[pc] || BPF_CLASS(f->code) != BPF_JMP)
			continue;
		struct sock_filter *g = &p.v[newpc[pc]].f;
		if (BPF_OP(f->code) == BPF_JA) {
			g->k = (uint32_t)(newpc[pc + 1 + f->k] - newpc[pc] - 1);
			continue;
		}
		size_t jt = newpc[pc + 1 + f->jt] - newpc[pc] - 1, jf = newpc[pc + 1 + f->jf] - newpc[pc] - 1;
		if (jt > 255 || jf > 255)
			goto out;
		g->jt = (uint8_t)jt;
		g->jf = (uint8_t)jf;
	}

	struct sock_filter *res = malloc(p.n * sizeof(*res));
	if (!res)
		goto out;
	for (size_t i = 0; i < p.n; i++)
		res[i] = p.v[i].f;
	if (!same_verdicts(in, n, res, p.n, &ka, &kn)) {
		free(res);
		goto out;
	}
	*out = res;
	*out_n = p.n;
	ret = 0;
out:
	for (size_t i = 0; i < n_alloc; i++) {
		free(blocks[i].starts);
		free(blocks[i].out);
	}
	free(blocks);
	free(arch_starts);
	free(cells);
	free(ka.v);
	free(kn.v);
	free(p.v);
	free(mark);
	free(newpc);
	return ret;
}
