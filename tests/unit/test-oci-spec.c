/* SPDX-License-Identifier: GPL-2.0-or-later */
/* podctl-oci's config.json → manifest mapping (cmd/podctl-oci/spec.c): what
 * is mapped, and that what is refused names its field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "../../cmd/podctl-oci/oci.h"
#include "strv.h"
#include "util.h"

/* containerd 1.6's spec for `ctr run IMAGE ID sleep 100`, shortened. */
#define CAPS14 "[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\"," \
	"\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\"," \
	"\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"%s]"
static const char *const base_fmt =
	"{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[0]},"
	"\"args\":[\"sleep\",\"100\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","
	"\"capabilities\":{\"bounding\":" CAPS14 ",\"effective\":" CAPS14 ",\"permitted\":" CAPS14 "},"
	"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],\"noNewPrivileges\":true},"
	"\"root\":{\"path\":\"rootfs\"},"
	"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	"{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"mode=755\",\"size=65536k\"]},"
	"{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv\",\"options\":[\"rbind\",\"ro\"]}%s],"
	"\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
	"{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"}],"
	"\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000},\"memory\":{\"limit\":67108864}},"
	"\"cgroupsPath\":\"/default/c1\",\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
	"{\"type\":\"mount\"}%s],\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"]}%s}";

static char bundle[] = "/tmp/podctl-unit-oci.XXXXXX";

static int bundle_setup(void **state)
{
	char p[64];
	assert_non_null(mkdtemp(bundle));
	snprintf(p, sizeof(p), "%s/rootfs", bundle);
	assert_int_equal(mkdir(p, 0755), 0);
	return 0;
}

static int bundle_teardown(void **state)
{
	char p[64];
	snprintf(p, sizeof(p), "%s/rootfs", bundle);
	rmdir(p);
	rmdir(bundle);
	return 0;
}

/* The spec with extra capabilities, mounts, namespaces and top-level fields. */
static int map(const char *caps, const char *mounts, const char *ns, const char *top, struct oci_spec *s,
               ps_error **err)
{
	char *json = NULL;
	assert_true(asprintf(&json, base_fmt, caps, caps, caps, mounts, ns, top) > 0);
	int r = oci_spec_parse(json, strlen(json), bundle, "c1", s, err);
	free(json);
	return r;
}

static void containerd_default(void **state)
{
	struct oci_spec s = { 0 };
	ps_error *err = NULL;

	assert_int_equal(map("", "", ",{\"type\":\"network\"}", "", &s, &err), 0);
	const ps_app *a = &s.m->apps[0];
	assert_string_equal(s.m->name, "c1");
	assert_string_equal(s.m->net, "none");
	assert_string_equal(a->exec[0], "sleep");
	assert_string_equal(a->user, "0");
	assert_string_equal(a->group, "0");
	assert_true(a->no_new_privileges);
	assert_string_equal(a->seccomp, "unconfined"); /* none asked: as runc */
	assert_int_equal(a->resources.cpu_shares, 512);
	assert_int_equal(a->resources.cpu_millis, 500);
	assert_int_equal(a->resources.memory, 67108864);
	assert_string_equal(s.cgroups_path, "default/c1");
	assert_int_equal(s.n_rlimits, 1);
	assert_int_equal(s.rlimits[0].rlim_max, 1024);
	/* one host volume, read-only; /proc and /dev are stage1's */
	assert_int_equal(s.m->n_volumes, 1);
	assert_string_equal(s.m->volumes[0].kind, "host");
	assert_string_equal(s.m->volumes[0].source, "/srv");
	assert_true(a->mounts[0].read_only);
	assert_string_equal(a->mounts[0].path, "/data");
	/* the rootfs, absolute and inside the bundle */
	assert_int_equal(strncmp(s.rootfs, bundle, strlen(bundle)), 0);
	assert_non_null(s.warnings); /* the tmpfs size, the hostname */
	oci_spec_clear(&s);
}

static void caps_and_host_net(void **state)
{
	struct oci_spec s = { 0 };
	ps_error *err = NULL;

	assert_int_equal(map(",\"CAP_SYS_ADMIN\"", "", "", "", &s, &err), 0);
	assert_string_equal(s.m->net, "host"); /* no network namespace asked */
	assert_true(ps_strv_contains(s.m->apps[0].cap_add, "CAP_SYS_ADMIN"));
	oci_spec_clear(&s);
}

static void join_paths(void **state)
{
	struct oci_spec s = { 0 };
	ps_error *err = NULL;

	assert_int_equal(map("", "", ",{\"type\":\"network\",\"path\":\"/var/run/netns/x\"}", "", &s, &err), 0);
	assert_string_equal(s.join_ns[0], "/var/run/netns/x");
	oci_spec_clear(&s);
}

static void refused(const char *caps, const char *mounts, const char *ns, const char *top, const char *field)
{
	struct oci_spec s = { 0 };
	ps_error *err = NULL;

	assert_int_equal(map(caps, mounts, ns, top, &s, &err), -EINVAL);
	assert_non_null(err);
	if (!strstr(err->msg, field))
		fail_msg("\"%s\" does not name %s", err->msg, field);
	assert_null(s.m);
	ps_error_free(&err);
}

static void refusals(void **state)
{
	refused("", "", ",{\"type\":\"time\"}", "", "linux.namespaces[4].type");
	refused("", "", ",{\"type\":\"user\"}", "", "linux.namespaces[4].type");
	refused("", "", ",{\"type\":\"network\",\"path\":\"net\"}", "", "linux.namespaces[4].path");
	refused("", ",{\"destination\":\"/a/../../b\",\"type\":\"bind\",\"source\":\"/x\"}", "", "",
	        "mounts[3].destination");
	refused("", ",{\"destination\":\"/x\",\"type\":\"nfs\",\"source\":\"/x\"}", "", "", "mounts[3].type");
	refused("", ",{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/x\",\"options\":[\"shared\"]}", "", "",
	        "mounts[3].options");
	refused("", ",{\"destination\":\"/proc\",\"type\":\"tmpfs\",\"source\":\"x\"}", "", "", "mounts[3].type");
	refused("", "", "", ",\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\"}]}", "hooks");
	refused("", "", "", ",\"domainname\":\"example\"", "domainname");
	refused("", "", "", ",\"solaris\":{\"milestone\":\"x\"}", "solaris");
	refused("", "", "", ",\"hostname\":\"Not_A_Name\"", "hostname");
}

static void root_outside(void **state)
{
	struct oci_spec s = { 0 };
	ps_error *err = NULL;
	char *json = NULL, link[96];

	/* a symlink inside the bundle that leads out of it */
	snprintf(link, sizeof(link), "%s/escape", bundle);
	assert_int_equal(symlink("/", link), 0);
	const char *paths[] = { "../", "escape", "/etc", "rootfs/../../" };
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		assert_true(asprintf(&json, "{\"process\":{\"args\":[\"true\"],\"cwd\":\"/\"},\"root\":{\"path\":\"%s\"},"
		                            "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},"
		                            "{\"type\":\"uts\"},{\"type\":\"mount\"}]}}", paths[i]) > 0);
		assert_int_equal(oci_spec_parse(json, strlen(json), bundle, "c1", &s, &err), -EINVAL);
		if (!strstr(err->msg, "root.path"))
			fail_msg("%s: %s", paths[i], err->msg);
		ps_error_free(&err);
		free(json);
	}
	unlink(link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(containerd_default),
		cmocka_unit_test(caps_and_host_net),
		cmocka_unit_test(join_paths),
		cmocka_unit_test(refusals),
		cmocka_unit_test(root_outside),
	};
	return cmocka_run_group_tests_name("oci-spec", tests, bundle_setup, bundle_teardown);
}
