/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of libpodstore/cgroup.c, quantity.c and the manifest's
 * "resources": the v2 and v1 code paths against fake cgroupfs trees (a temp
 * dir as the cgroup root, files standing in for the kernel's), and, when
 * run as root on a host that has them, the device allowlist's BPF program
 * on a real cgroup2 mount and removal of a v1 cgroup with a process in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <podstore/cgroup.h>
#include <podstore/manifest.h>
#include <podstore/quantity.h>
#include "util.h"

size_t ps_cgroup_device_prog(struct bpf_insn *out, size_t cap);

/* --- quantities ---------------------------------------------------------- */

static void quantity_bytes(void **state)
{
	static const struct {
		const char *s;
		long long v;
	} good[] = {
		{ "0", 0 },           { "1", 1 },
		{ "1048576", 1048576 }, { "64Mi", 64LL << 20 },
		{ "1Ki", 1024 },      { "1.5Gi", 3LL << 29 },
		{ "2Ti", 2LL << 40 }, { "1k", 1000 },
		{ "128M", 128000000 }, { "1G", 1000000000 },
		{ "1e6", 1000000 },   { "0.5Ki", 512 },
		{ "0.1", 1 },          /* rounded up to a whole byte */
		{ "7Ei", 7LL << 60 },
	};
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "64m", "64mi", "64MB", "64Mib", "1.", ".5", "1..5",
		"Mi", "1e", "1e-", "0x10", "1,5Mi", "1.5.5", "abc", "1Ki1",
	};
	long long v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		v = -42;
		if (ps_quantity_parse_bytes(good[i].s, &v) != 0 || v != good[i].v)
			fail_msg("\"%s\": got %lld, want %lld", good[i].s, v, good[i].v);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = -42;
		if (ps_quantity_parse_bytes(bad[i], &v) != -EINVAL || v != -42)
			fail_msg("\"%s\" accepted (%lld)", bad[i], v);
	}
	assert_int_equal(ps_quantity_parse_bytes("8Ei", &v), -ERANGE);
	assert_int_equal(ps_quantity_parse_bytes("99999999999999999999", &v), -ERANGE);
	assert_int_equal(ps_quantity_parse_bytes("1e40", &v), -ERANGE);
	assert_int_equal(ps_quantity_parse_bytes("1234567890123456789012345678901", &v), -EINVAL);
}

static void size_docker(void **state)
{
	long long v = 0;

	(void)state;
	assert_int_equal(ps_size_parse_docker("64m", &v), 0);
	assert_int_equal(v, 64LL << 20);
	assert_int_equal(ps_size_parse_docker("64MB", &v), 0);
	assert_int_equal(v, 64LL << 20);
	assert_int_equal(ps_size_parse_docker("1g", &v), 0);
	assert_int_equal(v, 1LL << 30);
	assert_int_equal(ps_size_parse_docker("1.5k", &v), 0);
	assert_int_equal(v, 1536);
	assert_int_equal(ps_size_parse_docker("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(ps_size_parse_docker("100b", &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(ps_size_parse_docker("", &v), -EINVAL);
	assert_int_equal(ps_size_parse_docker("-1", &v), -EINVAL);
	assert_int_equal(ps_size_parse_docker("64x", &v), -EINVAL);
	assert_int_equal(ps_size_parse_docker("m", &v), -EINVAL);
	assert_int_equal(ps_size_parse_docker("64 m", &v), -EINVAL);
	assert_int_equal(ps_size_parse_docker("99999999999t", &v), -ERANGE);
}

static void cpu_millis(void **state)
{
	long long v = 0;

	(void)state;
	assert_int_equal(ps_cpu_parse_millis("500m", &v), 0);
	assert_int_equal(v, 500);
	assert_int_equal(ps_cpu_parse_millis("0.5", &v), 0);
	assert_int_equal(v, 500);
	assert_int_equal(ps_cpu_parse_millis("2", &v), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(ps_cpu_parse_millis("0.001", &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ps_cpu_parse_millis("1.25", &v), 0);
	assert_int_equal(v, 1250);
	static const char *const bad[] = { "", "0", "0m", "0.0", "-1", "0.0001", "1.5m", "1x", "m",
		                           "1 ", ".5", "5.", "1e3" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (ps_cpu_parse_millis(bad[i], &v) >= 0)
			fail_msg("cpu \"%s\" accepted", bad[i]);
	assert_int_equal(ps_cpu_parse_millis("2000000", &v), -ERANGE);
}

/* --- manifest resources --------------------------------------------------- */

static char *manifest_with(const char *app_res, const char *pod_res)
{
	char *s = NULL;
	assert_true(asprintf(&s, "{\"version\":1,%s%s%s\"apps\":[{\"name\":\"web\",\"image\":\"x\"%s%s}]}",
	                     pod_res ? "\"resources\":" : "", pod_res ? pod_res : "", pod_res ? "," : "",
	                     app_res ? ",\"resources\":" : "", app_res ? app_res : "") >= 0);
	return s;
}

static void manifest_resources(void **state)
{
	ps_manifest *m = NULL, *m2 = NULL;
	ps_error *err = NULL;
	char *json2 = NULL;
	_cleanup_free_ char *json = manifest_with(
		"{\"memory\":\"64Mi\",\"memorySwap\":\"128Mi\",\"cpu\":\"500m\",\"cpuShares\":512,\"pids\":100,"
		"\"blkioWeight\":300}",
		"{\"memory\":1073741824,\"cpu\":0.25}");

	(void)state;
	assert_int_equal(ps_manifest_parse(json, strlen(json), &m, &err), 0);
	assert_int_equal(m->apps[0].resources.memory, 64LL << 20);
	assert_int_equal(m->apps[0].resources.memory_swap, 128LL << 20);
	assert_int_equal(m->apps[0].resources.cpu_millis, 500);
	assert_int_equal(m->apps[0].resources.cpu_shares, 512);
	assert_int_equal(m->apps[0].resources.pids, 100);
	assert_int_equal(m->apps[0].resources.blkio_weight, 300);
	assert_int_equal(m->resources.memory, 1LL << 30);
	assert_int_equal(m->resources.cpu_millis, 250);
	/* canonical form reads back the same */
	assert_int_equal(ps_manifest_to_json(m, &json2, &err), 0);
	assert_int_equal(ps_manifest_parse(json2, strlen(json2), &m2, &err), 0);
	assert_memory_equal(&m->apps[0].resources, &m2->apps[0].resources, sizeof(ps_resources));
	assert_memory_equal(&m->resources, &m2->resources, sizeof(ps_resources));
	free(json2);
	ps_manifest_free(m);
	ps_manifest_free(m2);
}

static void manifest_resources_bad(void **state)
{
	static const struct {
		const char *app, *pod, *msg;
	} cases[] = {
		{ "{\"memory\":\"64m\"}", NULL, "apps[0].resources.memory: bad quantity \"64m\"" },
		{ "{\"memory\":\"\"}", NULL, "apps[0].resources.memory: bad quantity" },
		{ "{\"memory\":-5}", NULL, "apps[0].resources.memory: must be more than 0" },
		{ "{\"memory\":0}", NULL, "apps[0].resources.memory: must be more than 0" },
		{ "{\"memory\":true}", NULL, "apps[0].resources.memory: expected a quantity" },
		{ "{\"memory\":\"9Ei\"}", NULL, "apps[0].resources.memory: too large" },
		{ "{\"memorySwap\":\"1Gi\"}", NULL, "apps[0].resources.memorySwap: needs \"memory\"" },
		{ "{\"memory\":\"1Gi\",\"memorySwap\":\"1Mi\"}", NULL, "apps[0].resources.memorySwap: 1048576 bytes is less" },
		{ "{\"cpu\":\"1.5m\"}", NULL, "apps[0].resources.cpu: bad CPU quantity \"1.5m\"" },
		{ "{\"cpu\":0}", NULL, "apps[0].resources.cpu: bad CPU quantity" },
		{ "{\"cpu\":[]}", NULL, "apps[0].resources.cpu: expected CPUs" },
		{ "{\"pids\":0}", NULL, "apps[0].resources.pids: expected 1 or more" },
		{ "{\"pids\":\"10\"}", NULL, "apps[0].resources.pids: expected integer" },
		{ "{\"cpuShares\":1}", NULL, "apps[0].resources.cpuShares: expected 2 to 262144" },
		{ "{\"blkioWeight\":5000}", NULL, "apps[0].resources.blkioWeight: expected 10 to 1000" },
		{ "{\"memroy\":\"1Gi\"}", NULL, "apps[0].resources: unknown field \"memroy\"" },
		{ "[]", NULL, "apps[0].resources: expected object" },
		{ NULL, "{\"memory\":\"1 Gi\"}", "resources.memory: bad quantity \"1 Gi\"" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ps_manifest *m = NULL;
		ps_error *err = NULL;
		_cleanup_free_ char *json = manifest_with(cases[i].app, cases[i].pod);
		if (ps_manifest_parse(json, strlen(json), &m, &err) >= 0)
			fail_msg("accepted: %s", json);
		if (!strstr(err->msg, cases[i].msg))
			fail_msg("%s: message \"%s\" lacks \"%s\"", json, err->msg, cases[i].msg);
		ps_error_free(&err);
	}
}

/* --- fake trees ------------------------------------------------------------- */

struct tree {
	char root[64];
	int fd;
};

static void put(int dirfd, const char *path, const char *content)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		for (char *p = dir; (p = strchr(p, '/')); *p++ = '/') {
			*p = '\0';
			mkdirat(dirfd, dir, 0755);
		}
		mkdirat(dirfd, dir, 0755);
	}
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ps_write_all(fd, content, strlen(content)), 0);
	close(fd);
}

/* Content of a file of the tree, "" when missing (static buffer). */
static const char *get(int dirfd, const char *path)
{
	static char buf[4096];
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	buf[0] = '\0';
	if (fd < 0)
		return buf;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	snprintf(t->root, sizeof(t->root), "/tmp/podctl-unit-cgroup.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	t->fd = open(t->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->fd >= 0);
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	close(t->fd);
	ps_rm_rf_at(AT_FDCWD, t->root);
	free(t);
	return 0;
}

/* The files the kernel would show in a v2 cgroup dir. */
static void v2_cgroup_files(int fd, const char *dir, bool with_pids)
{
	static const char *const files[] = { "cgroup.procs", "cgroup.subtree_control", "memory.max",
		                             "memory.swap.max", "cpu.max", "cpu.weight", "io.weight" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *p = ps_strdup_printf("%s/%s", dir, files[i]);
		put(fd, p, "");
	}
	if (with_pids) {
		_cleanup_free_ char *p = ps_strdup_printf("%s/pids.max", dir);
		put(fd, p, "max\n");
	}
}

static void v2_fake(void **state)
{
	struct tree *t = *state;
	ps_cgroup_host *h = NULL;
	ps_cgroup *cg = NULL;
	ps_error *err = NULL;

	put(t->fd, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	put(t->fd, "cgroup.subtree_control", "cpuset\n");
	put(t->fd, "cgroup.procs", "");
	v2_cgroup_files(t->fd, "podctl", true);
	v2_cgroup_files(t->fd, "podctl/pod1", true);
	assert_int_equal(ps_cgroup_host_open(t->root, &h, &err), 0);
	assert_int_equal(ps_cgroup_host_mode(h), PS_CGROUP_V2);
	assert_false(ps_cgroup_host_hybrid(h));
	for (int c = 0; c < PS_CG_N_CONTROLLERS; c++)
		assert_true(ps_cgroup_host_has(h, c));

	assert_int_equal(ps_cgroup_create(h, "/podctl/pod1", &cg, &err), 0);
	assert_string_equal(ps_cgroup_path(cg), "podctl/pod1");
	/* controllers turned on from the root down, in one write each level */
	assert_string_equal(get(t->fd, "cgroup.subtree_control"), "+cpu +memory +pids +io");
	assert_string_equal(get(t->fd, "podctl/cgroup.subtree_control"), "+cpu +memory +pids +io");
	/* the leaf's own subtree_control is not touched (apps may join it) */
	assert_string_equal(get(t->fd, "podctl/pod1/cgroup.subtree_control"), "");

	ps_resources r = { .memory = 64LL << 20, .memory_swap = 96LL << 20, .cpu_millis = 500,
		           .cpu_shares = 1024, .pids = 100, .blkio_weight = 500 };
	assert_int_equal(ps_cgroup_set_resources(cg, &r, "pod", &err), 0);
	assert_string_equal(get(t->fd, "podctl/pod1/memory.max"), "67108864");
	assert_string_equal(get(t->fd, "podctl/pod1/memory.swap.max"), "33554432");
	assert_string_equal(get(t->fd, "podctl/pod1/cpu.max"), "50000 100000");
	assert_string_equal(get(t->fd, "podctl/pod1/cpu.weight"), "39");
	assert_string_equal(get(t->fd, "podctl/pod1/pids.max"), "100");
	assert_string_equal(get(t->fd, "podctl/pod1/io.weight"), "default 4950");
	r = (ps_resources){ .memory = 1LL << 20, .memory_swap = -1, .cpu_millis = 5 };
	assert_int_equal(ps_cgroup_set_resources(cg, &r, "pod", &err), 0);
	assert_string_equal(get(t->fd, "podctl/pod1/memory.swap.max"), "max");
	assert_string_equal(get(t->fd, "podctl/pod1/cpu.max"), "1000 100000"); /* at least 1 ms */
	/* BFQ's weight is preferred, on its own scale */
	put(t->fd, "podctl/pod1/io.bfq.weight", "");
	r = (ps_resources){ .blkio_weight = 500 };
	assert_int_equal(ps_cgroup_set_resources(cg, &r, "pod", &err), 0);
	assert_string_equal(get(t->fd, "podctl/pod1/io.bfq.weight"), "500");

	/* usage, from what the kernel would show */
	put(t->fd, "podctl/pod1/memory.current", "123456\n");
	put(t->fd, "podctl/pod1/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 2\noom_group_kill 0\n");
	put(t->fd, "podctl/pod1/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
	put(t->fd, "podctl/pod1/pids.current", "7\n");
	put(t->fd, "podctl/pod1/pids.events", "max 3\n");
	ps_cgroup_usage u;
	ps_cgroup_usage_read(cg, &u);
	assert_int_equal(u.memory_bytes, 123456);
	assert_int_equal(u.memory_limit, 1LL << 20);
	assert_int_equal(u.oom_kills, 2);
	assert_int_equal(u.cpu_ns, 1500000);
	assert_int_equal(u.pids, 7);
	assert_int_equal(u.pids_limit, 100);
	assert_int_equal(u.pids_max_events, 3);

	/* a child joins by writing "0" through the fd opened at create */
	pid_t pid = fork();
	if (pid == 0)
		_exit(ps_cgroup_join_self(cg) == 0 ? 0 : 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(get(t->fd, "podctl/pod1/cgroup.procs"), "0");
	ps_cgroup_free(cg);

	/* an existing cgroup opens; a missing one is NOT_FOUND */
	assert_int_equal(ps_cgroup_open(h, "podctl/pod1", &cg, &err), 0);
	ps_cgroup_free(cg);
	assert_int_equal(ps_cgroup_open(h, "podctl/nope", &cg, &err), -ENOENT);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	ps_error_free(&err);
	/* without an error object too (status reads usage that way, and a pod
	 * that ends meanwhile takes its cgroups with it) */
	assert_int_equal(ps_cgroup_open(h, "podctl/nope", &cg, NULL), -ENOENT);
	assert_int_equal(ps_cgroup_open(h, "podctl/pod1/gone", &cg, NULL), -ENOENT);
	ps_cgroup_host_free(h);
}

static void v2_fake_missing_controller(void **state)
{
	struct tree *t = *state;
	ps_cgroup_host *h = NULL;
	ps_cgroup *cg = NULL;
	ps_error *err = NULL;

	put(t->fd, "cgroup.controllers", "cpu memory\n");
	put(t->fd, "cgroup.subtree_control", "cpu memory\n");
	v2_cgroup_files(t->fd, "p/q", false);
	assert_int_equal(ps_cgroup_host_open(t->root, &h, &err), 0);
	assert_false(ps_cgroup_host_has(h, PS_CG_PIDS));
	assert_false(ps_cgroup_host_has(h, PS_CG_BLKIO));
	assert_int_equal(ps_cgroup_create(h, "p/q", &cg, &err), 0);
	/* nothing to enable at the root: its file is left alone */
	assert_string_equal(get(t->fd, "cgroup.subtree_control"), "cpu memory\n");
	ps_resources r = { .pids = 10 };
	assert_true(ps_cgroup_set_resources(cg, &r, "app web", &err) < 0);
	assert_int_equal(err->kind, PS_ERR_INVALID);
	assert_non_null(strstr(err->msg, "app web: pids: the pids cgroup controller is not available"));
	ps_error_free(&err);
	r = (ps_resources){ .blkio_weight = 100 };
	assert_true(ps_cgroup_set_resources(cg, &r, "pod", &err) < 0);
	assert_non_null(strstr(err->msg, "the io cgroup controller is not available"));
	ps_error_free(&err);
	ps_cgroup_usage u;
	ps_cgroup_usage_read(cg, &u);
	assert_int_equal(u.pids, -1);
	ps_cgroup_free(cg);
	ps_cgroup_host_free(h);
}

/* The files of a v1 hierarchy's cgroup dir. */
static void v1_dir(int fd, const char *dir, const char *const *files)
{
	for (; *files; files++) {
		_cleanup_free_ char *p = ps_strdup_printf("%s/%s", dir, *files);
		put(fd, p, "");
	}
}

static void v1_fake(void **state)
{
	struct tree *t = *state;
	ps_cgroup_host *h = NULL;
	ps_cgroup *cg = NULL;
	ps_error *err = NULL;
	static const char *const mem[] = { "tasks", "cgroup.procs", "memory.limit_in_bytes",
		                           "memory.memsw.limit_in_bytes", NULL };
	static const char *const cpu[] = { "tasks", "cgroup.procs", "cpu.cfs_period_us", "cpu.cfs_quota_us",
		                           "cpu.shares", "cpuacct.usage", NULL };
	static const char *const pids[] = { "tasks", "cgroup.procs", "pids.max", NULL };
	static const char *const dev[] = { "tasks", "cgroup.procs", "devices.allow", "devices.deny", NULL };
	static const char *const blk[] = { "tasks", "cgroup.procs", NULL };

	/* cpu and cpuacct mounted together, reached by two symlinks */
	for (const char *const *d = (const char *const[]){ "memory", "memory/podctl/pod1", NULL }; *d; d++)
		v1_dir(t->fd, *d, mem);
	for (const char *const *d = (const char *const[]){ "cpu,cpuacct", "cpu,cpuacct/podctl/pod1", NULL }; *d; d++)
		v1_dir(t->fd, *d, cpu);
	assert_int_equal(symlinkat("cpu,cpuacct", t->fd, "cpu"), 0);
	assert_int_equal(symlinkat("cpu,cpuacct", t->fd, "cpuacct"), 0);
	v1_dir(t->fd, "pids", pids);
	v1_dir(t->fd, "pids/podctl/pod1", pids);
	v1_dir(t->fd, "devices", dev);
	v1_dir(t->fd, "devices/podctl/pod1", dev);
	v1_dir(t->fd, "blkio", blk);
	v1_dir(t->fd, "blkio/podctl/pod1", blk);
	/* hybrid: a cgroup2 mount without controllers beside them */
	put(t->fd, "unified/cgroup.controllers", "");

	assert_int_equal(ps_cgroup_host_open(t->root, &h, &err), 0);
	assert_int_equal(ps_cgroup_host_mode(h), PS_CGROUP_V1);
	assert_true(ps_cgroup_host_hybrid(h));
	for (int c = 0; c < PS_CG_N_CONTROLLERS; c++)
		assert_true(ps_cgroup_host_has(h, c));
	assert_int_equal(ps_cgroup_create(h, "podctl/pod1", &cg, &err), 0);

	ps_resources r = { .memory = 32LL << 20, .memory_swap = 64LL << 20, .cpu_millis = 200,
		           .cpu_shares = 512, .pids = 20 };
	assert_int_equal(ps_cgroup_set_resources(cg, &r, "pod", &err), 0);
	assert_string_equal(get(t->fd, "memory/podctl/pod1/memory.limit_in_bytes"), "33554432");
	assert_string_equal(get(t->fd, "memory/podctl/pod1/memory.memsw.limit_in_bytes"), "67108864");
	assert_string_equal(get(t->fd, "cpu/podctl/pod1/cpu.cfs_period_us"), "100000");
	assert_string_equal(get(t->fd, "cpu/podctl/pod1/cpu.cfs_quota_us"), "20000");
	assert_string_equal(get(t->fd, "cpu/podctl/pod1/cpu.shares"), "512");
	assert_string_equal(get(t->fd, "pids/podctl/pod1/pids.max"), "20");

	/* blkio without a weight file: a clear error, not a silent no-op */
	r = (ps_resources){ .blkio_weight = 100 };
	assert_true(ps_cgroup_set_resources(cg, &r, "pod", &err) < 0);
	assert_non_null(strstr(err->msg, "blkioWeight: the blkio controller has no weight here"));
	ps_error_free(&err);
	put(t->fd, "blkio/podctl/pod1/blkio.bfq.weight", "");
	assert_int_equal(ps_cgroup_set_resources(cg, &r, "pod", &err), 0);
	assert_string_equal(get(t->fd, "blkio/podctl/pod1/blkio.bfq.weight"), "100");

	/* a knob the kernel lacks (no swap accounting) names the file */
	unlinkat(t->fd, "memory/podctl/pod1/memory.memsw.limit_in_bytes", 0);
	r = (ps_resources){ .memory = 1LL << 20, .memory_swap = 2LL << 20 };
	assert_true(ps_cgroup_set_resources(cg, &r, "pod", &err) < 0);
	assert_non_null(strstr(err->msg, "memorySwap: the host has no memory.memsw.limit_in_bytes"));
	ps_error_free(&err);

	/* devices: deny all, then the allowlist, one rule per write, last the
	 * pts (one open of devices.allow: the fake file keeps every rule) */
	assert_int_equal(ps_cgroup_restrict_devices(cg, &err), 0);
	assert_string_equal(get(t->fd, "devices/podctl/pod1/devices.deny"), "a");
	assert_string_equal(get(t->fd, "devices/podctl/pod1/devices.allow"),
	                    "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\n"
	                    "c 5:0 rwm\nc 5:2 rwm\nc 136:* rwm\n");

	put(t->fd, "memory/podctl/pod1/memory.usage_in_bytes", "4096\n");
	put(t->fd, "memory/podctl/pod1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
	put(t->fd, "cpu/podctl/pod1/cpuacct.usage", "987654321\n");
	put(t->fd, "pids/podctl/pod1/pids.current", "3\n");
	ps_cgroup_usage u;
	ps_cgroup_usage_read(cg, &u);
	assert_int_equal(u.memory_bytes, 4096);
	assert_int_equal(u.oom_kills, 1);
	assert_int_equal(u.cpu_ns, 987654321);
	assert_int_equal(u.pids, 3);
	assert_int_equal(u.pids_max_events, -1);

	/* status's way in: the pod's marker, then only the three usage
	 * controllers' dirs (cpuacct through its symlink); an app with a cgroup
	 * in one of them, an app without any, and a name that would climb out */
	v1_dir(t->fd, "pids/podctl/pod1/web", pids);
	put(t->fd, "pids/podctl/pod1/web/pids.current", "2\n");
	assert_int_equal(mkdirat(t->fd, "poddir", 0755), 0);
	_cleanup_close_ int pod_fd = openat(t->fd, "poddir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(pod_fd >= 0);
	ps_cgroup_usage pu, au[3];
	char *names[] = { "web", "db", "..", NULL };
	assert_int_equal(ps_pod_cgroup_usage(pod_fd, names, 3, &pu, au, &err), -ENOENT); /* no marker */
	assert_null(err);
	assert_int_equal(ps_cgroup_marker_write(pod_fd, t->root, "podctl/pod1", &err), 0);
	assert_int_equal(ps_pod_cgroup_usage(pod_fd, names, 3, &pu, au, &err), 0);
	assert_memory_equal(&pu, &u, sizeof(u));
	assert_int_equal(au[0].pids, 2);
	assert_int_equal(au[0].memory_bytes, -1);
	assert_int_equal(au[0].cpu_ns, -1);
	assert_int_equal(au[1].pids, -1);
	assert_int_equal(au[1].memory_bytes, -1);
	assert_int_equal(au[2].pids, -1);
	/* a pod whose cgroups are gone (stage1 removed them) */
	assert_int_equal(ps_cgroup_marker_write(pod_fd, t->root, "podctl/gone", &err), 0);
	assert_int_equal(ps_pod_cgroup_usage(pod_fd, names, 3, &pu, au, &err), -ENOENT);
	assert_null(err);

	/* join: "0" in every hierarchy's cgroup.procs, cpu,cpuacct once */
	pid_t pid = fork();
	if (pid == 0)
		_exit(ps_cgroup_join_self(cg) == 0 ? 0 : 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_string_equal(get(t->fd, "memory/podctl/pod1/tasks"), "0");
	assert_string_equal(get(t->fd, "cpu,cpuacct/podctl/pod1/tasks"), "0");
	assert_string_equal(get(t->fd, "devices/podctl/pod1/tasks"), "0");
	ps_cgroup_free(cg);
	ps_cgroup_host_free(h);
}

static void no_cgroups(void **state)
{
	struct tree *t = *state;
	ps_cgroup_host *h = NULL;
	ps_cgroup *cg = NULL;
	ps_error *err = NULL;

	assert_int_equal(ps_cgroup_host_open(t->root, &h, &err), 0);
	assert_int_equal(ps_cgroup_host_mode(h), PS_CGROUP_NONE);
	assert_true(ps_cgroup_create(h, "podctl/x", &cg, &err) < 0);
	assert_non_null(strstr(err->msg, "no cgroup filesystem"));
	ps_error_free(&err);
	ps_cgroup_host_free(h);
	_cleanup_free_ char *missing = ps_strdup_printf("%s/nope", t->root);
	assert_int_equal(ps_cgroup_host_open(missing, &h, &err), 0);
	assert_int_equal(ps_cgroup_host_mode(h), PS_CGROUP_NONE);
	ps_cgroup_host_free(h);
}

static void paths_and_marker(void **state)
{
	struct tree *t = *state;
	ps_error *err = NULL;
	char *root = NULL, *path = NULL;

	static const char *const ok[] = { "podctl", "/podctl", "system.slice/podctl.service/pods",
		                          "a/b_c/d-e/f@g:1/", "" };
	static const char *const bad[] = { "..", "a/../b", "./a", "a/.", "a b", "a\nb", "a$b", "é" };
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (ps_cgroup_path_check(ok[i], &err) < 0)
			fail_msg("\"%s\" refused: %s", ok[i], err->msg);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (ps_cgroup_path_check(bad[i], &err) >= 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(err->kind, PS_ERR_INVALID);
		ps_error_free(&err);
	}

	setenv(PS_CGROUP_PARENT_ENV, "from-env", 1);
	assert_string_equal(ps_cgroup_parent_default(NULL), "from-env");
	assert_string_equal(ps_cgroup_parent_default("arg"), "arg");
	unsetenv(PS_CGROUP_PARENT_ENV);
	assert_string_equal(ps_cgroup_parent_default(NULL), "podctl");

	assert_int_equal(ps_cgroup_marker_read(t->fd, &root, &path, &err), -ENOENT);
	assert_null(err);
	assert_int_equal(ps_pod_cgroup_cleanup(t->fd, &err), -ENOENT);
	assert_int_equal(ps_cgroup_marker_write(t->fd, "/sys/fs/cgroup", "podctl/abc", &err), 0);
	assert_int_equal(ps_cgroup_marker_read(t->fd, &root, &path, &err), 0);
	assert_string_equal(root, "/sys/fs/cgroup");
	assert_string_equal(path, "podctl/abc");
	free(root);
	free(path);
	/* a marker that would make rmdir climb out is refused */
	put(t->fd, PS_FILE_CGROUP, "{\"root\":\"/sys/fs/cgroup\",\"path\":\"podctl/../..\"}\n");
	assert_true(ps_cgroup_marker_read(t->fd, &root, &path, &err) < 0);
	ps_error_free(&err);
	put(t->fd, PS_FILE_CGROUP, "{\"root\":\"/sys/fs/cgroup\",\"path\":\"/\"}\n");
	assert_true(ps_cgroup_marker_read(t->fd, &root, &path, &err) < 0);
	ps_error_free(&err);
}

/* --- the device program ------------------------------------------------------ */

static void device_prog_shape(void **state)
{
	struct bpf_insn p[64];
	size_t n = ps_cgroup_device_prog(p, ARRAY_SIZE(p));

	(void)state;
	assert_true(n > 10);
	/* every jump lands inside the program; it ends with exit */
	for (size_t i = 0; i < n; i++) {
		if (BPF_CLASS(p[i].code) == BPF_JMP && BPF_OP(p[i].code) != BPF_EXIT) {
			long to = (long)i + 1 + p[i].off;
			if (to < 0 || to >= (long)n)
				fail_msg("insn %zu jumps to %ld of %zu", i, to, n);
		}
	}
	assert_int_equal(p[n - 1].code, BPF_JMP | BPF_EXIT);
	assert_int_equal(ps_cgroup_device_prog(p, 3), 0);
}

static bool is_cgroup2(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && sf.f_type == 0x63677270 /* CGROUP2_SUPER_MAGIC */;
}

/* In a child: join cg, then report what the device allowlist lets through:
 * bit 0 /dev/null opens, bit 1 a mknod'd c 10:232 (kvm) opens, bit 2 the
 * mknod itself worked, bit 3 the mknod'd c 1:3 (null) opens. */
static int probe_devices(ps_cgroup *cg, const char *dir)
{
	pid_t pid = fork();
	if (pid == 0) {
		int res = 0, fd;
		if (ps_cgroup_join_self(cg) < 0)
			_exit(100);
		if ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
			res |= 1;
			close(fd);
		}
		_cleanup_free_ char *kvm = ps_strdup_printf("%s/kvm", dir);
		_cleanup_free_ char *null = ps_strdup_printf("%s/null", dir);
		if (mknod(kvm, S_IFCHR | 0600, makedev(10, 232)) == 0)
			res |= 4;
		mknod(null, S_IFCHR | 0600, makedev(1, 3));
		if ((fd = open(kvm, O_RDWR | O_CLOEXEC)) >= 0) {
			res |= 2;
			close(fd);
		}
		if ((fd = open(null, O_RDWR | O_CLOEXEC)) >= 0) {
			res |= 8;
			close(fd);
		}
		_exit(res);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* The v2 path for real: a cgroup on this host's cgroup2 mount (hybrid:
 * /sys/fs/cgroup/unified, no controllers needed for a BPF program). */
static void v2_devices_real(void **state)
{
	struct tree *t = *state;
	const char *root = is_cgroup2("/sys/fs/cgroup") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
	ps_cgroup_host *h = NULL;
	ps_cgroup *cg = NULL;
	ps_error *err = NULL;

	if (geteuid() != 0 || !is_cgroup2(root))
		skip();
	/* the test: nodes made in a dir of our own (tmpfs /tmp may be nodev:
	 * then the kvm node cannot be opened anyway; use the tree dir) */
	assert_int_equal(ps_cgroup_host_open(root, &h, &err), 0);
	assert_int_equal(ps_cgroup_host_mode(h), PS_CGROUP_V2);
	_cleanup_free_ char *path = ps_strdup_printf("podctl-unit-%d/pod", (int)getpid());
	assert_int_equal(ps_cgroup_create(h, path, &cg, &err), 0);
	/* without the program: everything opens (the check can see success) */
	int before = probe_devices(cg, t->root);
	unlinkat(t->fd, "kvm", 0);
	unlinkat(t->fd, "null", 0);
	if (ps_cgroup_restrict_devices(cg, &err) < 0)
		fail_msg("%s", err->msg);
	int after = probe_devices(cg, t->root);
	print_message("device probe: before %#x after %#x\n", before, after);
	ps_cgroup_free(cg);
	_cleanup_free_ char *top = ps_strdup_printf("podctl-unit-%d", (int)getpid());
	assert_int_equal(ps_cgroup_remove(h, top, &err), 0);
	_cleanup_free_ char *gone = ps_strdup_printf("%s/%s", root, top);
	assert_int_equal(access(gone, F_OK), -1);
	ps_cgroup_host_free(h);
	if (before & 4) /* mknod works here: the real comparison */
		assert_int_equal(before & 2, 2);
	assert_int_equal(before & 1, 1);
	assert_int_equal(after & 1, 1); /* /dev/null still opens */
	assert_int_equal(after & 2, 0); /* kvm does not */
	if (after & 4)
		assert_int_equal(after & 8, 8); /* a null node made by hand does */
	assert_int_equal(before & 4, after & 4); /* mknod itself stays allowed */
}

/* v1 for real: the devices controller, and removal of a cgroup that still
 * has a process in it (a SIGKILLed stage1's leftover). */
static void v1_real(void **state)
{
	struct tree *t = *state;
	ps_cgroup_host *h = NULL;
	ps_cgroup *cg = NULL;
	ps_error *err = NULL;

	if (geteuid() != 0)
		skip();
	assert_int_equal(ps_cgroup_host_open(NULL, &h, &err), 0);
	if (ps_cgroup_host_mode(h) != PS_CGROUP_V1 || !ps_cgroup_host_has(h, PS_CG_DEVICES)) {
		ps_cgroup_host_free(h);
		skip();
	}
	_cleanup_free_ char *top = ps_strdup_printf("podctl-unit-%d", (int)getpid());
	_cleanup_free_ char *path = ps_strdup_printf("%s/pod", top);
	_cleanup_free_ char *app = ps_strdup_printf("%s/pod/app", top);
	assert_int_equal(ps_cgroup_create(h, path, &cg, &err), 0);
	assert_int_equal(ps_cgroup_restrict_devices(cg, &err), 0);
	ps_cgroup *acg = NULL;
	assert_int_equal(ps_cgroup_create(h, app, &acg, &err), 0); /* inherits the list */
	int res = probe_devices(acg, t->root);
	assert_int_equal(res & 1, 1);
	assert_int_equal(res & 2, 0);
	ps_resources r = { .memory = 64LL << 20, .pids = 5, .cpu_millis = 500 };
	assert_int_equal(ps_cgroup_set_resources(acg, &r, "app", &err), 0);

	/* a process left in the app's cgroup: remove kills it and goes on */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		if (ps_cgroup_join_self(acg) < 0)
			_exit(1);
		(void)!write(pfd[1], "x", 1);
		for (;;)
			pause();
	}
	close(pfd[1]);
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	ps_cgroup_usage u;
	ps_cgroup_usage_read(acg, &u);
	assert_int_equal(u.pids, 1);
	assert_int_equal(u.pids_limit, 5);
	assert_int_equal(u.memory_limit, 64LL << 20);
	ps_cgroup_free(acg);
	ps_cgroup_free(cg);
	/* our child is a zombie until we reap it; reap it once it is killed */
	int r2 = ps_cgroup_remove(h, top, &err);
	int st;
	waitpid(pid, &st, 0);
	if (r2 < 0) {
		/* a zombie of ours may hold it in v1: reaped now, try again */
		ps_error_free(&err);
		assert_int_equal(ps_cgroup_remove(h, top, &err), 0);
	}
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	_cleanup_free_ char *gone = ps_strdup_printf("/sys/fs/cgroup/memory/%s", top);
	assert_int_equal(access(gone, F_OK), -1);
	ps_cgroup_host_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quantity_bytes),
		cmocka_unit_test(size_docker),
		cmocka_unit_test(cpu_millis),
		cmocka_unit_test(manifest_resources),
		cmocka_unit_test(manifest_resources_bad),
		cmocka_unit_test_setup_teardown(v2_fake, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(v2_fake_missing_controller, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(v1_fake, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(no_cgroups, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(paths_and_marker, tree_setup, tree_teardown),
		cmocka_unit_test(device_prog_shape),
		cmocka_unit_test_setup_teardown(v2_devices_real, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(v1_real, tree_setup, tree_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
