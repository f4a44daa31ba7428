/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CNI (libpodstore/cni.c): names, results, conflists, and the plugin
 * protocol against fake plugins (shell scripts that log what they were
 * given). No real network is touched: the fake results carry no IPs, so no
 * iptables rule is ever made. */
#include "fixture.h"
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include <podstore/cni.h>
#include "util.h"

static void names(void **state)
{
	(void)state;
	assert_true(ps_cni_name_is_valid("podctl"));
	assert_true(ps_cni_name_is_valid("my-net_1.2"));
	assert_false(ps_cni_name_is_valid(""));
	assert_false(ps_cni_name_is_valid(NULL));
	assert_false(ps_cni_name_is_valid("../../etc"));
	assert_false(ps_cni_name_is_valid(".hidden"));
	assert_false(ps_cni_name_is_valid("a/b"));
	assert_false(ps_cni_name_is_valid("a b"));
	assert_false(ps_cni_name_is_valid("0123456789012345678901234567890123456789012345678901234567890123456789"));
}

static ps_cni_result *parse(const char *json)
{
	ps_cni_result *r = NULL;
	ps_error *err = NULL;

	if (ps_cni_result_parse(json, strlen(json), &r, &err) < 0) {
		assert_non_null(err);
		ps_error_free(&err);
		return NULL;
	}
	return r;
}

static void results(void **state)
{
	(void)state;
	ps_cni_result *r = parse("{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.89.0.2/16\",\"gateway\":\"10.89.0.1\","
	                         "\"interface\":2},{\"address\":\"fd00::2/64\"}],\"dns\":{\"nameservers\":[\"192.0.2.53\"],"
	                         "\"domain\":\"example.test\",\"search\":[\"a.test\",\"b.test\"],\"options\":[\"ndots:2\"]}}");
	assert_non_null(r);
	assert_int_equal(r->n_ips, 2);
	assert_string_equal(r->ips[0].address, "10.89.0.2/16");
	assert_string_equal(r->ips[0].gateway, "10.89.0.1");
	assert_null(r->ips[1].gateway);
	assert_string_equal(r->nameservers[0], "192.0.2.53");
	assert_string_equal(r->search[1], "b.test");
	assert_string_equal(r->options[0], "ndots:2");
	assert_string_equal(r->domain, "example.test");
	ps_cni_result_free(r);
	/* the host's side of "interfaces": no sandbox, and a name iptables takes literally */
	r = parse("{\"interfaces\":[{\"name\":\"podctl0\"},{\"name\":\"veth1\",\"sandbox\":\"\"},"
	          "{\"name\":\"eth0\",\"sandbox\":\"/run/netns/x\"},{\"name\":\"br+\"},{\"name\":\"-j\"},"
	          "{\"name\":\"a-name-too-long-for-linux\"},{\"mac\":\"x\"}]}");
	assert_non_null(r);
	assert_string_equal(r->host_ifaces[0], "podctl0");
	assert_string_equal(r->host_ifaces[1], "veth1");
	assert_null(r->host_ifaces[2]);
	ps_cni_result_free(r);
	/* 0.4.0 shape, no dns */
	r = parse("{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\",\"address\":\"10.1.0.5/24\"}]}");
	assert_non_null(r);
	assert_int_equal(r->n_ips, 1);
	assert_null(r->nameservers);
	ps_cni_result_free(r);
	/* What could reach /etc/hosts or resolv.conf is checked. */
	assert_null(parse("{\"ips\":[{\"address\":\"10.1.0.5\"}]}"));
	assert_null(parse("{\"ips\":[{\"address\":\"10.1.0.5/33\"}]}"));
	assert_null(parse("{\"ips\":[{\"address\":\"10.1.0.5/24\\nx\"}]}"));
	assert_null(parse("{\"ips\":[{\"address\":\"10.1.0.5/24\",\"gateway\":\"fd00::1\"}]}"));
	assert_null(parse("{\"dns\":{\"nameservers\":[\"1.2.3.4\\nnameserver 6.6.6.6\"]}}"));
	assert_null(parse("{\"dns\":{\"search\":[\"ok.test\\noptions evil\"]}}"));
	assert_null(parse("{\"dns\":{\"domain\":\"a b\"}}"));
	assert_null(parse("{\"dns\":{\"options\":[\"\"]}}"));
	assert_null(parse("{\"ips\":{}}"));
	assert_null(parse("[]"));
	assert_null(parse("{"));
}

/* --- conflists and plugins, in a scratch dir -------------------------------------- */

struct env {
	char dir[64];
	char cfg[96], bin[96], log[96];
	int pod_fd;
};

static void put(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* A fake plugin: logs "COMMAND TYPE CONTAINERID IFNAME prevResult?" and
 * answers ADD with a result, or fails when its config says "fail". */
static const char fake_plugin[] =
	"#!/bin/sh\n"
	"in=$(cat)\n"
	"t=$(basename \"$0\")\n"
	"p=no; case $in in *prevResult*) p=prev ;; esac\n"
	"echo \"$CNI_COMMAND $t $CNI_CONTAINERID $CNI_IFNAME $p\" >> \"$(dirname \"$0\")/../log\"\n"
	"case $in in *'\"fail\":true'*) [ \"$CNI_COMMAND\" = ADD ] && {\n"
	"  echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"no way\",\"details\":\"it failed\"}'; exit 1; } ;; esac\n"
	"[ \"$CNI_COMMAND\" = ADD ] && echo '{\"cniVersion\":\"1.0.0\",\"ips\":[],"
	"\"dns\":{\"nameservers\":[\"192.0.2.1\"]}}'\n"
	"exit 0\n";

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char p[160];

	snprintf(e->dir, sizeof(e->dir), "/tmp/podctl-unit-cni.XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->cfg, sizeof(e->cfg), "%s/cfg", e->dir);
	snprintf(e->bin, sizeof(e->bin), "%s/bin", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/log", e->dir);
	mkdir(e->cfg, 0755);
	mkdir(e->bin, 0755);
	snprintf(p, sizeof(p), "%s/pod", e->dir);
	mkdir(p, 0700);
	e->pod_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(e->pod_fd >= 0);
	snprintf(p, sizeof(p), "%s/one", e->bin);
	put(p, fake_plugin, 0755);
	snprintf(p, sizeof(p), "%s/two", e->bin);
	put(p, fake_plugin, 0755);
	setenv("PODCTL_CNI_PATH", e->bin, 1);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	close(e->pod_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
	assert_int_equal(system(cmd), 0);
	unsetenv("PODCTL_CNI_PATH");
	free(e);
	return 0;
}

static char *find(struct env *e, const char *name, char **msg)
{
	char *text = NULL;
	ps_error *err = NULL;

	if (ps_cni_conflist_find(e->cfg, name, &text, &err) < 0) {
		*msg = strdup(err->msg);
		ps_error_free(&err);
		return NULL;
	}
	return text;
}

static void conflists(void **state)
{
	struct env *e = *state;
	char p[160], *msg = NULL, *t;

	snprintf(p, sizeof(p), "%s/10-a.conflist", e->cfg);
	put(p, "{\"cniVersion\":\"1.0.0\",\"name\":\"n1\",\"plugins\":[{\"type\":\"one\"}],\"x\":1}", 0644);
	snprintf(p, sizeof(p), "%s/20-b.conflist", e->cfg);
	put(p, "{\"cniVersion\":\"1.0.0\",\"name\":\"n1\",\"plugins\":[{\"type\":\"two\"}]}", 0644);
	snprintf(p, sizeof(p), "%s/30-bad.conflist", e->cfg);
	put(p, "{not json", 0644);
	snprintf(p, sizeof(p), "%s/40-missing.conflist", e->cfg);
	put(p, "{\"cniVersion\":\"1.0.0\",\"name\":\"n2\",\"plugins\":[{\"type\":\"three\"}]}", 0644);
	snprintf(p, sizeof(p), "%s/50-path.conflist", e->cfg);
	put(p, "{\"cniVersion\":\"1.0.0\",\"name\":\"n3\",\"plugins\":[{\"type\":\"../bin/one\"}]}", 0644);

	/* the first in name order wins */
	t = find(e, "n1", &msg);
	assert_non_null(t);
	assert_non_null(strstr(t, "\"x\""));
	free(t);
	assert_null(find(e, "nosuch", &msg));
	assert_non_null(strstr(msg, "network nosuch: no conflist in"));
	assert_non_null(strstr(msg, "30-bad.conflist skipped: not valid JSON"));
	free(msg);
	assert_null(find(e, "n2", &msg));
	assert_non_null(strstr(msg, "plugin three not found in"));
	free(msg);
	assert_null(find(e, "n3", &msg));
	assert_non_null(strstr(msg, "bad plugin type"));
	free(msg);
	assert_null(find(e, "../x", &msg));
	assert_non_null(strstr(msg, "not a valid network name"));
	free(msg);
}

static void default_written_on_first_use(void **state)
{
	struct env *e = *state;
	char p[160], *msg = NULL;
	struct stat st;

	/* bridge, host-local, portmap, firewall must exist for the check */
	for (const char *const *n = (const char *const[]){ "bridge", "host-local", "portmap", "firewall", NULL }; *n; n++) {
		snprintf(p, sizeof(p), "%s/%s", e->bin, *n);
		put(p, fake_plugin, 0755);
	}
	snprintf(p, sizeof(p), "%s/sub/dir", e->cfg);
	ps_error *err = NULL;
	char *t = NULL;
	assert_int_equal(ps_cni_conflist_find(p, "default", &t, &err), 0);
	assert_non_null(strstr(t, "\"name\": \"podctl\""));
	assert_non_null(strstr(t, "\"bridge\": \"podctl0\""));
	free(t);
	snprintf(p, sizeof(p), "%s/sub/dir/podctl.conflist", e->cfg);
	assert_int_equal(stat(p, &st), 0);
	/* a user's edit is kept, and a broken podctl.conflist is never overwritten */
	put(p, "{broken", 0644);
	snprintf(p, sizeof(p), "%s/sub/dir", e->cfg);
	assert_true(ps_cni_conflist_find(p, "default", &t, &err) < 0);
	assert_non_null(strstr(err->msg, "podctl.conflist exists but does not define it"));
	ps_error_free(&err);
	snprintf(p, sizeof(p), "%s/sub/dir/podctl.conflist", e->cfg);
	put(p, "{\"cniVersion\":\"1.0.0\",\"name\":\"podctl\",\"plugins\":[{\"type\":\"one\",\"mine\":1}]}", 0644);
	snprintf(p, sizeof(p), "%s/sub/dir", e->cfg);
	assert_int_equal(ps_cni_conflist_find(p, "default", &t, &err), 0);
	assert_non_null(strstr(t, "mine"));
	free(t);
	(void)msg;
}

static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	if (fd < 0)
		return strdup("");
	assert_int_equal(ps_read_all(fd, 65536, &buf, NULL), 0);
	close(fd);
	return buf;
}

static void attach_detach(void **state)
{
	struct env *e = *state;
	const char *uuid = "3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab";
	ps_error *err = NULL;
	ps_cni_result *r = NULL;

	assert_int_equal(ps_cni_prepare_pod(e->pod_fd,
	                                     "{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"plugins\":[{\"type\":\"one\"},"
	                                     "{\"type\":\"two\"}]}",
	                                     &err),
	                 0);
	assert_int_equal(ps_cni_attach(e->pod_fd, uuid, NULL, &err), 0);
	assert_null(err);
	assert_int_equal(faccessat(e->pod_fd, "net/attached", F_OK, 0), 0);
	assert_int_equal(ps_cni_result_load(e->pod_fd, &r, &err), 1);
	assert_string_equal(r->nameservers[0], "192.0.2.1");
	ps_cni_result_free(r);
	assert_int_equal(ps_cni_detach(e->pod_fd, uuid, &err), 0);
	assert_null(err);
	assert_true(faccessat(e->pod_fd, "net/attached", F_OK, 0) < 0);
	assert_int_equal(ps_cni_result_load(e->pod_fd, &r, &err), 0);
	/* a second detach has nothing to do */
	assert_int_equal(ps_cni_detach(e->pod_fd, uuid, &err), 0);
	char *log = slurp(e->log);
	/* ADD in order (the second given the first's result), no CHECK before
	 * 0.4.0, DEL in reverse with the kept result */
	assert_string_equal(log, "ADD one 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 no\n"
	                         "ADD two 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 prev\n"
	                         "DEL two 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 prev\n"
	                         "DEL one 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 prev\n");
	free(log);
}

static void failed_add_is_undone(void **state)
{
	struct env *e = *state;
	const char *uuid = "3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab";
	ps_error *err = NULL;

	assert_int_equal(ps_cni_prepare_pod(e->pod_fd,
	                                     "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"one\"},"
	                                     "{\"type\":\"two\", \"fail\": true}]}",
	                                     &err),
	                 0);
	assert_true(ps_cni_attach(e->pod_fd, uuid, NULL, &err) < 0);
	assert_non_null(err);
	assert_string_equal(err->msg, "network n: plugin two: ADD: no way (it failed)");
	ps_error_free(&err);
	assert_true(faccessat(e->pod_fd, "net/attached", F_OK, 0) < 0);
	char *log = slurp(e->log);
	assert_string_equal(log, "ADD one 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 no\n"
	                         "ADD two 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 prev\n"
	                         "DEL two 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 prev\n"
	                         "DEL one 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 prev\n");
	free(log);
}

static void check_runs_after_add(void **state)
{
	struct env *e = *state;
	const char *uuid = "3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab";
	ps_error *err = NULL;

	assert_int_equal(ps_cni_prepare_pod(e->pod_fd,
	                                     "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"one\"}]}",
	                                     &err),
	                 0);
	assert_int_equal(ps_cni_attach(e->pod_fd, uuid, NULL, &err), 0);
	assert_int_equal(ps_cni_detach(e->pod_fd, uuid, &err), 0);
	char *log = slurp(e->log);
	assert_string_equal(log, "ADD one 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 no\n"
	                         "CHECK one 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 prev\n"
	                         "DEL one 3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab eth0 prev\n");
	free(log);
}

static void hung_plugin_is_killed(void **state)
{
	struct env *e = *state;
	char p[160];
	ps_error *err = NULL;

	snprintf(p, sizeof(p), "%s/hang", e->bin);
	put(p, "#!/bin/sh\nexec sleep 100\n", 0755);
	setenv("PODCTL_CNI_TIMEOUT", "1", 1);
	assert_int_equal(ps_cni_prepare_pod(e->pod_fd,
	                                     "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"hang\"}]}",
	                                     &err),
	                 0);
	long long t0 = ps_monotonic_ns();
	assert_true(ps_cni_attach(e->pod_fd, "3f2a0c1e-9b7d-4c2a-8e1f-0123456789ab", NULL, &err) < 0);
	assert_true(ps_monotonic_ns() - t0 < 10000000000LL); /* ADD and the DEL after it: 1 s each */
	assert_string_equal(err->msg, "network n: plugin hang: ADD: no answer in 1 s, killed");
	ps_error_free(&err);
	unsetenv("PODCTL_CNI_TIMEOUT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(results),
		cmocka_unit_test_setup_teardown(conflists, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(default_written_on_first_use, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(attach_detach, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(failed_add_is_undone, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(check_runs_after_add, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(hung_plugin_is_killed, env_setup, env_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
