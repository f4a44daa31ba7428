/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the pod manifest (libpodstore/manifest*.c). */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <podstore/error.h>
#include <podstore/manifest.h>
#include "util.h"

/* Fixtures are written with ' for " to stay readable in C; J() swaps them. */
static char *J(const char *s)
{
	char *c = strdup(s);

	assert_non_null(c);
	for (char *p = c; *p; p++)
		if (*p == '\'')
			*p = '"';
	return c;
}

/* A manifest with one app whose object has `fields` appended after name and
 * image. */
static char *app_with(const char *fields)
{
	char *s = NULL;

	assert_true(asprintf(&s, "{'version':1,'volumes':[{'name':'data','kind':'empty'}],"
	                         "'apps':[{'name':'web','image':'busybox'%s%s}]}",
	                     *fields ? "," : "", fields) >= 0);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	return s;
}

static ps_manifest *parse_ok(const char *json)
{
	ps_manifest *m = NULL;
	ps_error *err = NULL;
	int r = ps_manifest_parse(json, strlen(json), &m, &err);

	if (r < 0)
		print_error("unexpected error: %s\ninput: %s\n", err ? err->msg : "(none)", json);
	assert_int_equal(r, 0);
	assert_null(err);
	assert_non_null(m);
	return m;
}

/* Parse must fail with PS_ERR_INVALID and a message starting with prefix. */
static void expect_invalid_len(const char *json, size_t len, const char *prefix)
{
	ps_manifest *m = NULL;
	ps_error *err = NULL;
	int r = ps_manifest_parse(json, len, &m, &err);

	if (r >= 0)
		print_error("accepted: %s\n", json);
	assert_true(r < 0);
	assert_null(m);
	assert_non_null(err);
	if (strncmp(err->msg, prefix, strlen(prefix)) != 0)
		print_error("message: %s\nwanted prefix: %s\n", err->msg, prefix);
	assert_int_equal(err->kind, PS_ERR_INVALID);
	assert_int_equal(strncmp(err->msg, prefix, strlen(prefix)), 0);
	ps_error_free(&err);
}

static void expect_invalid(const char *json, const char *prefix)
{
	expect_invalid_len(json, strlen(json), prefix);
}

static void bad_j(const char *fixture, const char *prefix)
{
	char *j = J(fixture);

	expect_invalid(j, prefix);
	free(j);
}

static void bad_app(const char *fields, const char *prefix)
{
	char *j = app_with(fields);

	expect_invalid(j, prefix);
	free(j);
}

static void good_app(const char *fields)
{
	char *j = app_with(fields);

	ps_manifest_free(parse_ok(j));
	free(j);
}

static const char full_fixture[] =
	"{\n"
	"  'version': 1,\n"
	"  'name': 'web-pod',\n"
	"  'net': 'host',\n"
	"  'annotations': {'team': 'infra', 'tier': 'front'},\n"
	"  'volumes': [\n"
	"    {'name': 'data', 'kind': 'host', 'source': '/srv/data', 'readOnly': true},\n"
	"    {'name': 'scratch', 'kind': 'empty'}\n"
	"  ],\n"
	"  'initApps': [\n"
	"    {'name': 'migrate', 'image': 'tools:1', 'exec': ['/bin/migrate', '--all'],\n"
	"     'restartPolicy': 'on-failure', 'goalTimeout': '2m'}\n"
	"  ],\n"
	"  'apps': [\n"
	"    {'name': 'db', 'image': 'sha256:abcd', 'startGroup': 0, 'statusGoal': 'READY',\n"
	"     'readinessProbe': {'tcpSocket': {'port': 5432}, 'periodSeconds': 2, 'successThreshold': 2}},\n"
	"    {'name': 'web', 'image': 'busybox',\n"
	"     'exec': ['/bin/httpd', '-f', '', '-p', '8080'],\n"
	"     'env': {'PATH': '/bin:/usr/bin', 'GREETING': 'a=b c', '_X1': ''},\n"
	"     'workingDir': '/www', 'user': 'www-data', 'group': '33',\n"
	"     'startGroup': 1, 'statusGoal': 'READY', 'goalTimeout': '1m30s', 'onGoalTimeout': 'ignore',\n"
	"     'restartPolicy': 'always', 'restartBackoff': {'initial': '500ms', 'max': '1h'},\n"
	"     'watchdog': '20s',\n"
	"     'mounts': [{'volume': 'data', 'path': '/data', 'readOnly': true},\n"
	"                {'volume': 'scratch', 'path': '/tmp'}],\n"
	"     'livenessProbe': {'httpGet': {'path': '/healthz', 'port': 8080, 'host': '127.0.0.1'},\n"
	"                       'initialDelaySeconds': 5, 'periodSeconds': 3, 'timeoutSeconds': 2,\n"
	"                       'successThreshold': 1, 'failureThreshold': 4},\n"
	"     'readinessProbe': {'httpGet': {'port': 8080}},\n"
	"     'startupProbe': {'exec': {'command': ['/bin/check', '--startup']}, 'failureThreshold': 30}}\n"
	"  ]\n"
	"}\n";

/* --- deep equality (for round trips) ---------------------------------------------- */

static void str_eq(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void strv_eq(char **a, char **b, bool null_is_empty)
{
	if (null_is_empty && ps_strv_length(a) == 0 && ps_strv_length(b) == 0)
		return;
	assert_int_equal(a == NULL, b == NULL);
	assert_int_equal(ps_strv_length(a), ps_strv_length(b));
	for (size_t i = 0; a && a[i]; i++)
		assert_string_equal(a[i], b[i]);
}

static void probe_eq(const ps_probe *a, const ps_probe *b)
{
	assert_int_equal(a->kind, b->kind);
	strv_eq(a->command, b->command, false);
	str_eq(a->host, b->host);
	str_eq(a->path, b->path);
	assert_int_equal(a->port, b->port);
	assert_int_equal(a->initial_delay_s, b->initial_delay_s);
	assert_int_equal(a->period_s, b->period_s);
	assert_int_equal(a->timeout_s, b->timeout_s);
	assert_int_equal(a->success_threshold, b->success_threshold);
	assert_int_equal(a->failure_threshold, b->failure_threshold);
}

static void app_eq(const ps_app *a, const ps_app *b)
{
	str_eq(a->name, b->name);
	str_eq(a->image, b->image);
	str_eq(a->image_digest, b->image_digest);
	strv_eq(a->exec, b->exec, false);
	strv_eq(a->env, b->env, true);
	str_eq(a->working_dir, b->working_dir);
	str_eq(a->user, b->user);
	str_eq(a->group, b->group);
	assert_int_equal(a->group_index, b->group_index);
	assert_int_equal(a->goal, b->goal);
	assert_int_equal(a->goal_timeout_ms, b->goal_timeout_ms);
	assert_int_equal(a->goal_timeout_ignore, b->goal_timeout_ignore);
	assert_int_equal(a->restart, b->restart);
	assert_int_equal(a->backoff_initial_ms, b->backoff_initial_ms);
	assert_int_equal(a->backoff_max_ms, b->backoff_max_ms);
	assert_int_equal(a->watchdog_ms, b->watchdog_ms);
	assert_int_equal(a->ready_protocols, b->ready_protocols);
	probe_eq(&a->liveness, &b->liveness);
	probe_eq(&a->readiness, &b->readiness);
	probe_eq(&a->startup, &b->startup);
	assert_int_equal(a->n_mounts, b->n_mounts);
	for (size_t i = 0; i < a->n_mounts; i++) {
		str_eq(a->mounts[i].volume, b->mounts[i].volume);
		str_eq(a->mounts[i].path, b->mounts[i].path);
		assert_int_equal(a->mounts[i].read_only, b->mounts[i].read_only);
	}
}

static void manifest_eq(const ps_manifest *a, const ps_manifest *b)
{
	assert_int_equal(a->version, b->version);
	str_eq(a->name, b->name);
	str_eq(a->net, b->net);
	assert_int_equal(a->n_annotations, b->n_annotations);
	for (size_t i = 0; i < a->n_annotations; i++) {
		str_eq(a->annotations[i].key, b->annotations[i].key);
		str_eq(a->annotations[i].value, b->annotations[i].value);
	}
	assert_int_equal(a->n_volumes, b->n_volumes);
	for (size_t i = 0; i < a->n_volumes; i++) {
		str_eq(a->volumes[i].name, b->volumes[i].name);
		str_eq(a->volumes[i].kind, b->volumes[i].kind);
		str_eq(a->volumes[i].source, b->volumes[i].source);
		assert_int_equal(a->volumes[i].read_only, b->volumes[i].read_only);
	}
	assert_int_equal(a->private_users.enabled, b->private_users.enabled);
	assert_memory_equal(&a->private_users.range, &b->private_users.range, sizeof(ps_idrange));
	assert_int_equal(a->n_init_apps, b->n_init_apps);
	for (size_t i = 0; i < a->n_init_apps; i++)
		app_eq(&a->init_apps[i], &b->init_apps[i]);
	assert_int_equal(a->n_apps, b->n_apps);
	for (size_t i = 0; i < a->n_apps; i++)
		app_eq(&a->apps[i], &b->apps[i]);
}

/* to_json, parse back, compare; and the canonical form is a fixed point. */
static void round_trip(const ps_manifest *m)
{
	ps_error *err = NULL;
	char *j1 = NULL, *j2 = NULL;
	ps_manifest *m2;

	assert_int_equal(ps_manifest_to_json(m, &j1, &err), 0);
	assert_null(err);
	m2 = parse_ok(j1);
	manifest_eq(m, m2);
	assert_int_equal(ps_manifest_to_json(m2, &j2, &err), 0);
	assert_string_equal(j1, j2);
	free(j1);
	free(j2);
	ps_manifest_free(m2);
}

/* --- good fixtures ---------------------------------------------------------------- */

static void test_net_ports(void **state)
{
	(void)state;
	char *j = J("{'version':1,'net':'my-net.1','keepEtcFiles':true,'ports':[{'hostPort':18080,'podPort':8080},"
	            "{'hostPort':53,'podPort':53,'protocol':'udp','hostIP':'::1'}],"
	            "'apps':[{'name':'a','image':'i'}]}");
	ps_manifest *m = parse_ok(j);

	assert_string_equal(m->net, "my-net.1");
	assert_true(m->keep_etc_files);
	assert_int_equal(m->n_ports, 2);
	assert_int_equal(m->ports[0].host_port, 18080);
	assert_int_equal(m->ports[0].pod_port, 8080);
	assert_string_equal(m->ports[0].protocol, "tcp");
	assert_null(m->ports[0].host_ip);
	assert_string_equal(m->ports[1].protocol, "udp");
	assert_string_equal(m->ports[1].host_ip, "::1");
	char *out = NULL;
	ps_error *err = NULL;
	assert_int_equal(ps_manifest_to_json(m, &out, &err), 0);
	ps_manifest *m2 = parse_ok(out);
	assert_int_equal(m2->n_ports, 2);
	assert_string_equal(m2->ports[1].host_ip, "::1");
	assert_true(m2->keep_etc_files);
	char *out2 = NULL;
	assert_int_equal(ps_manifest_to_json(m2, &out2, &err), 0);
	assert_string_equal(out, out2);
	free(out);
	free(out2);
	ps_manifest_free(m2);
	ps_manifest_free(m);
	free(j);
}

static void test_minimal(void **state)
{
	char *j = J("{'version':1,'apps':[{'name':'web','image':'busybox'}]}");
	ps_manifest *m = parse_ok(j);
	const ps_app *a;

	assert_int_equal(m->version, 1);
	assert_null(m->name);
	assert_string_equal(m->net, "none");
	assert_int_equal(m->n_init_apps, 0);
	assert_int_equal(m->n_volumes, 0);
	assert_int_equal(m->n_annotations, 0);
	assert_int_equal(m->n_apps, 1);
	a = &m->apps[0];
	assert_string_equal(a->name, "web");
	assert_string_equal(a->image, "busybox");
	assert_null(a->exec);
	assert_null(a->env);
	assert_null(a->working_dir);
	assert_null(a->user);
	assert_null(a->group);
	assert_int_equal(a->group_index, 0);
	assert_int_equal(a->goal, PS_GOAL_STARTED);
	assert_int_equal(a->goal_timeout_ms, 30000);
	assert_false(a->goal_timeout_ignore);
	assert_int_equal(a->restart, PS_RESTART_NEVER);
	assert_int_equal(a->backoff_initial_ms, 10000);
	assert_int_equal(a->backoff_max_ms, 300000);
	assert_int_equal(a->watchdog_ms, 0);
	assert_int_equal(a->n_mounts, 0);
	assert_int_equal(a->liveness.kind, PS_PROBE_NONE);
	assert_int_equal(a->readiness.kind, PS_PROBE_NONE);
	assert_int_equal(a->startup.kind, PS_PROBE_NONE);
	assert_int_equal(a->liveness.period_s, 10);
	assert_int_equal(a->liveness.failure_threshold, 3);
	round_trip(m);
	ps_manifest_free(m);
	free(j);
}

static void test_minimal_canonical_form(void **state)
{
	char *j = J("  {'apps':[{'image':'busybox','name':'web','env':{},'mounts':[]}],'version':1}  \n");
	ps_manifest *m = parse_ok(j);
	ps_error *err = NULL;
	char *out = NULL;

	assert_int_equal(ps_manifest_to_json(m, &out, &err), 0);
	assert_string_equal(out, "{\n"
	                         "  \"version\":1,\n"
	                         "  \"apps\":[\n"
	                         "    {\n"
	                         "      \"name\":\"web\",\n"
	                         "      \"image\":\"busybox\"\n"
	                         "    }\n"
	                         "  ]\n"
	                         "}\n");
	free(out);
	ps_manifest_free(m);
	free(j);
}

static void test_full(void **state)
{
	char *j = J(full_fixture);
	ps_manifest *m = parse_ok(j);
	const ps_app *db, *web, *init;

	assert_string_equal(m->name, "web-pod");
	assert_string_equal(m->net, "host");
	assert_int_equal(m->n_annotations, 2);
	assert_string_equal(m->annotations[0].key, "team");
	assert_string_equal(m->annotations[0].value, "infra");
	assert_string_equal(m->annotations[1].key, "tier");
	assert_int_equal(m->n_volumes, 2);
	assert_string_equal(m->volumes[0].kind, "host");
	assert_string_equal(m->volumes[0].source, "/srv/data");
	assert_true(m->volumes[0].read_only);
	assert_null(m->volumes[1].source);
	assert_false(m->volumes[1].read_only);

	assert_int_equal(m->n_init_apps, 1);
	init = &m->init_apps[0];
	assert_string_equal(init->name, "migrate");
	assert_int_equal(ps_strv_length(init->exec), 2);
	assert_int_equal(init->restart, PS_RESTART_ON_FAILURE);
	assert_int_equal(init->goal_timeout_ms, 120000);

	assert_int_equal(m->n_apps, 2);
	db = &m->apps[0];
	assert_int_equal(db->goal, PS_GOAL_READY);
	assert_int_equal(db->readiness.kind, PS_PROBE_TCP_SOCKET);
	assert_int_equal(db->readiness.port, 5432);
	assert_null(db->readiness.host);
	assert_null(db->readiness.path);
	assert_int_equal(db->readiness.period_s, 2);
	assert_int_equal(db->readiness.success_threshold, 2);
	assert_int_equal(db->readiness.timeout_s, 1);

	web = &m->apps[1];
	assert_int_equal(ps_strv_length(web->exec), 5);
	assert_string_equal(web->exec[0], "/bin/httpd");
	assert_string_equal(web->exec[2], "");
	assert_int_equal(ps_strv_length(web->env), 3);
	assert_string_equal(web->env[0], "PATH=/bin:/usr/bin");
	assert_string_equal(web->env[1], "GREETING=a=b c");
	assert_string_equal(web->env[2], "_X1=");
	assert_string_equal(web->working_dir, "/www");
	assert_string_equal(web->user, "www-data");
	assert_string_equal(web->group, "33");
	assert_int_equal(web->group_index, 1);
	assert_int_equal(web->goal, PS_GOAL_READY);
	assert_int_equal(web->goal_timeout_ms, 90000);
	assert_true(web->goal_timeout_ignore);
	assert_int_equal(web->restart, PS_RESTART_ALWAYS);
	assert_int_equal(web->backoff_initial_ms, 500);
	assert_int_equal(web->backoff_max_ms, 3600000);
	assert_int_equal(web->watchdog_ms, 20000);
	assert_int_equal(web->n_mounts, 2);
	assert_string_equal(web->mounts[0].volume, "data");
	assert_string_equal(web->mounts[0].path, "/data");
	assert_true(web->mounts[0].read_only);
	assert_false(web->mounts[1].read_only);

	assert_int_equal(web->liveness.kind, PS_PROBE_HTTP_GET);
	assert_string_equal(web->liveness.path, "/healthz");
	assert_string_equal(web->liveness.host, "127.0.0.1");
	assert_int_equal(web->liveness.port, 8080);
	assert_int_equal(web->liveness.initial_delay_s, 5);
	assert_int_equal(web->liveness.period_s, 3);
	assert_int_equal(web->liveness.timeout_s, 2);
	assert_int_equal(web->liveness.success_threshold, 1);
	assert_int_equal(web->liveness.failure_threshold, 4);
	assert_int_equal(web->readiness.kind, PS_PROBE_HTTP_GET);
	assert_string_equal(web->readiness.path, "/");
	assert_null(web->readiness.host);
	assert_int_equal(web->readiness.period_s, 10);
	assert_int_equal(web->startup.kind, PS_PROBE_EXEC);
	assert_int_equal(ps_strv_length(web->startup.command), 2);
	assert_string_equal(web->startup.command[1], "--startup");
	assert_int_equal(web->startup.failure_threshold, 30);

	round_trip(m);
	ps_manifest_free(m);
	free(j);
}

static void test_good_variants(void **state)
{
	good_app("'exec':['/bin/sh']");
	good_app("'readinessProbe':{'httpGet':{'port':1}}");
	good_app("'readinessProbe':{'tcpSocket':{'port':65535,'host':'10.0.0.1'}}");
	good_app("'readinessProbe':{'exec':{'command':['true']},'successThreshold':3}");
	good_app("'watchdog':'0'");
	good_app("'goalTimeout':'0'");
	good_app("'mounts':[{'volume':'data','path':'/a/b..c'}]");
	good_app("'user':'1000','group':'1000'");
	good_app("'user':'1000:1000'"); /* OCI User form, as merged from an image */
	good_app("'user':'www-data:www'");
	good_app("'restartBackoff':{'initial':'1s'}");
	good_app("'restartBackoff':{'max':'10s','initial':'10s'}");
	good_app("'statusGoal':'MOUNTED'");
	good_app("'onGoalTimeout':'fail'");
	good_app("'env':{'a':'1','A_1':'x'}");
	/* confinement */
	good_app("'capabilities':{'add':['NET_ADMIN','cap_sys_time'],'drop':['ALL']}");
	good_app("'capabilities':{'drop':['CAP_MKNOD']}");
	good_app("'seccomp':'unconfined','noNewPrivileges':false,'readOnlyRootfs':true");
	good_app("'seccomp':'default'");
	good_app("'seccomp':'/etc/podctl/profile.json','seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW',"
	         "'syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO','errnoRet':13}]}");
	good_app("'seccompProfile':{'defaultAction':'SCMP_ACT_ERRNO','architectures':['SCMP_ARCH_X86_64'],"
	         "'syscalls':[{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,"
	         "'value':18446744073709551615,'valueTwo':0,'op':'SCMP_CMP_EQ'}]}]}");
	{
		/* What prepare records survives the trip through JSON. */
		char *j = app_with("'imageDigest':'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'");
		ps_manifest *m = parse_ok(j);
		assert_string_equal(m->apps[0].image_digest,
		                    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
		round_trip(m);
		ps_manifest_free(m);
		free(j);
	}
}

static void test_name_limits(void **state)
{
	char name63[64], name64[65], *j = NULL;

	memset(name63, 'a', 63);
	name63[63] = '\0';
	memset(name64, 'b', 64);
	name64[64] = '\0';

	assert_true(asprintf(&j, "{\"version\":1,\"name\":\"%s\",\"apps\":[{\"name\":\"%s\",\"image\":\"i\"}]}",
	                     name63, name63) >= 0);
	ps_manifest_free(parse_ok(j));
	free(j);
	assert_true(asprintf(&j, "{\"version\":1,\"name\":\"%s\",\"apps\":[{\"name\":\"x\",\"image\":\"i\"}]}",
	                     name64) >= 0);
	expect_invalid(j, "name: invalid pod name");
	free(j);
	assert_true(asprintf(&j, "{\"version\":1,\"apps\":[{\"name\":\"%s\",\"image\":\"i\"}]}", name64) >= 0);
	expect_invalid(j, "apps[0].name: invalid app name");
	free(j);
	good_app("'env':{'X':'y'}");
	bad_j("{'version':1,'name':'-web','apps':[{'name':'x','image':'i'}]}", "name: invalid pod name \"-web\"");
	bad_j("{'version':1,'name':'Web','apps':[{'name':'x','image':'i'}]}", "name: invalid pod name");
	bad_j("{'version':1,'name':'','apps':[{'name':'x','image':'i'}]}", "name: invalid pod name");
	bad_j("{'version':1,'apps':[{'name':'we_b','image':'i'}]}", "apps[0].name: invalid app name");
	bad_j("{'version':1,'apps':[{'name':'','image':'i'}]}", "apps[0].name: invalid app name");
	bad_j("{'version':1,'apps':[{'name':'a','image':'i'},{'name':'tasks','image':'i'}]}",
	      "apps[1].name: app name \"tasks\" is reserved");
}

/* --- bad fixtures ------------------------------------------------------------------ */

static void test_exact_messages(void **state)
{
	static const struct {
		const char *fixture, *msg;
	} cases[] = {
		{ "[]", "(root): expected object" },
		{ "{'version':1,'apps':[{'name':'a','image':'i'},{'name':'b','image':'i','exec':'/bin/sh'}]}",
		  "apps[1].exec: expected array of strings" },
		{ "{'version':1,'apps':[{'name':'a','image':'i','livenessProbe':{'exec':{'command':['x']},'periodSeconds':0}}]}",
		  "apps[0].livenessProbe.periodSeconds: must be at least 1" },
		{ "{'version':1,'apps':[{'name':'a','image':'i'},{'name':'b','image':'i'},{'name':'c','image':'i','comand':['x']}]}",
		  "apps[2]: unknown field \"comand\"" },
		{ "{'version':2,'apps':[]}", "version: unsupported version 2 (expected 1)" },
		{ "{'version':1,'apps':[]}", "apps: at least one app is required" },
		{ "{'version':1,'apps':[{'name':'a','image':'i'}],'initApps':[{'name':'a','image':'i'}]}",
		  "apps[0].name: duplicate app name \"a\"" },
		{ "{'version':1,\n 'apps':[\n  {'name':'a',\n   'image':tru}]}",
		  "(root): JSON syntax error at line 4, column 15: boolean expected" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *j = J(cases[i].fixture);
		ps_manifest *m = NULL;
		ps_error *err = NULL;

		assert_true(ps_manifest_parse(j, strlen(j), &m, &err) < 0);
		assert_null(m);
		assert_non_null(err);
		assert_int_equal(err->kind, PS_ERR_INVALID);
		assert_string_equal(err->msg, cases[i].msg);
		ps_error_free(&err);
		free(j);
	}
}

static void test_syntax(void **state)
{
	static const char nul_inside[] = "{\"version\":1,\"apps\":[{\"name\":\"a\",\"image\":\"i\"}]}\0{}";

	expect_invalid("", "(root): JSON syntax error at line 1, column 1: unexpected end of input");
	expect_invalid("   \n ", "(root): JSON syntax error at line 2, column 2: unexpected end of input");
	expect_invalid("{\"version\":1,", "(root): JSON syntax error at line 1, column 14: unexpected end of input");
	expect_invalid("{\"version\":1} x", "(root): JSON syntax error at line 1, column ");
	expect_invalid("{\"version\":1}{}", "(root): JSON syntax error at line 1, column ");
	expect_invalid("{\"version\":1,}", "(root): JSON syntax error");
	expect_invalid("/* c */ {\"version\":1}", "(root): JSON syntax error");
	expect_invalid("{\"version\":1,\"name\":\"\xff\"}", "(root): JSON syntax error");
	expect_invalid_len(nul_inside, sizeof(nul_inside) - 1,
	                   "(root): JSON syntax error at line 1, column 48: trailing data");
	expect_invalid("1", "(root): expected object");
	expect_invalid("\"x\"", "(root): expected object");
	expect_invalid("null", "(root): expected object");
}

static void test_bad_root(void **state)
{
	bad_j("{'apps':[{'name':'a','image':'i'}]}", "version: required field missing");
	bad_j("{'version':'1','apps':[{'name':'a','image':'i'}]}", "version: expected integer");
	bad_j("{'version':1.0,'apps':[{'name':'a','image':'i'}]}", "version: expected integer");
	bad_j("{'version':0,'apps':[{'name':'a','image':'i'}]}", "version: unsupported version 0");
	bad_j("{'version':99999999999999999999,'apps':[]}", "version: out of range");
	bad_j("{'version':1}", "apps: required field missing");
	bad_j("{'version':1,'apps':{}}", "apps: expected array of apps");
	bad_j("{'version':1,'apps':null}", "apps: expected array of apps");
	bad_j("{'version':1,'apps':[5]}", "apps[0]: expected object");
	bad_j("{'version':1,'apps':[{'name':'a','image':'i'}],'foo':1}", "(root): unknown field \"foo\"");
	bad_j("{'version':1,'apps':[{'name':'a','image':'i'}],'Apps':1}", "(root): unknown field \"Apps\"");
	bad_j("{'version':1,'name':5,'apps':[{'name':'a','image':'i'}]}", "name: expected string");
	bad_j("{'version':1,'net':'../../etc','apps':[{'name':'a','image':'i'}]}",
	      "net: expected \"none\", \"host\", \"default\" or a CNI network name");
	bad_j("{'version':1,'net':'a/b','apps':[{'name':'a','image':'i'}]}", "net: expected \"none\"");
	bad_j("{'version':1,'net':'','apps':[{'name':'a','image':'i'}]}", "net: expected \"none\"");
	bad_j("{'version':1,'ports':[{'hostPort':1,'podPort':2}],'apps':[{'name':'a','image':'i'}]}",
	      "ports: published ports need a CNI network");
	bad_j("{'version':1,'net':'default','ports':{},'apps':[{'name':'a','image':'i'}]}", "ports: expected array");
	bad_j("{'version':1,'net':'default','ports':[{'podPort':2}],'apps':[{'name':'a','image':'i'}]}",
	      "ports[0].hostPort: required");
	bad_j("{'version':1,'net':'default','ports':[{'hostPort':0,'podPort':2}],'apps':[{'name':'a','image':'i'}]}",
	      "ports[0].hostPort: expected a port 1..65535");
	bad_j("{'version':1,'net':'default','ports':[{'hostPort':1,'podPort':70000}],'apps':[{'name':'a','image':'i'}]}",
	      "ports[0].podPort: expected a port 1..65535");
	bad_j("{'version':1,'net':'default','ports':[{'hostPort':1,'podPort':2,'protocol':'sctp'}],'apps':[{'name':'a','image':'i'}]}",
	      "ports[0].protocol: expected \"tcp\" or \"udp\"");
	bad_j("{'version':1,'net':'default','ports':[{'hostPort':1,'podPort':2,'hostIP':'x'}],'apps':[{'name':'a','image':'i'}]}",
	      "ports[0].hostIP: expected an IPv4 or IPv6 address");
	bad_j("{'version':1,'net':'default','ports':[{'hostPort':1,'podPort':2,'x':1}],'apps':[{'name':'a','image':'i'}]}",
	      "ports[0].x: unknown field");
	bad_j("{'version':1,'net':'default','ports':[{'hostPort':1,'podPort':2},{'hostPort':1,'podPort':3}],'apps':[{'name':'a','image':'i'}]}",
	      "ports[1]: host port 1 is published twice");
	bad_j("{'version':1,'keepEtcFiles':1,'apps':[{'name':'a','image':'i'}]}", "keepEtcFiles: expected boolean");
	bad_j("{'version':1,'net':true,'apps':[{'name':'a','image':'i'}]}", "net: expected string");
	bad_j("{'version':1,'annotations':[],'apps':[{'name':'a','image':'i'}]}", "annotations: expected object");
	bad_j("{'version':1,'annotations':{'a':1},'apps':[{'name':'a','image':'i'}]}",
	      "annotations: value of \"a\": expected string");
	bad_j("{'version':1,'annotations':{'':'x'},'apps':[{'name':'a','image':'i'}]}",
	      "annotations: keys must not be empty");
	bad_j("{'version':1,'initApps':{},'apps':[{'name':'a','image':'i'}]}", "initApps: expected array of apps");
	bad_j("{'version':1,'initApps':[{'name':'a'}],'apps':[{'name':'b','image':'i'}]}",
	      "initApps[0].image: required field missing");
	/* An unknown key is quoted with control characters escaped. */
	bad_j("{'version':1,'apps':[{'name':'a','image':'i'}],'a\\u001bb\\'':1}",
	      "(root): unknown field \"a\\x1bb\\\"\"");
}

static void test_bad_volumes(void **state)
{
	static const char apps[] = ",'apps':[{'name':'a','image':'i'}]}";
	static const struct {
		const char *volumes, *prefix;
	} cases[] = {
		{ "{}", "volumes: expected array of volumes" },
		{ "['x']", "volumes[0]: expected object" },
		{ "[{'name':'d','kind':'empty','size':1}]", "volumes[0]: unknown field \"size\"" },
		{ "[{'kind':'empty'}]", "volumes[0].name: required field missing" },
		{ "[{'name':'d'}]", "volumes[0].kind: required field missing" },
		{ "[{'name':'D','kind':'empty'}]", "volumes[0].name: invalid volume name" },
		{ "[{'name':'d','kind':'tmpfs'}]", "volumes[0].kind: expected \"host\" or \"empty\"" },
		{ "[{'name':'d','kind':'host'}]", "volumes[0].source: required for host volumes" },
		{ "[{'name':'d','kind':'host','source':'srv'}]", "volumes[0].source: must be an absolute path" },
		{ "[{'name':'d','kind':'empty','source':'/srv'}]", "volumes[0].source: not allowed for empty volumes" },
		{ "[{'name':'d','kind':'empty'},{'name':'d','kind':'empty'}]", "volumes[1].name: duplicate volume name \"d\"" },
		{ "[{'name':'d','kind':'empty','readOnly':'yes'}]", "volumes[0].readOnly: expected boolean" },
		{ "[{'name':'d','kind':'empty','readOnly':null}]", "volumes[0].readOnly: expected boolean" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *s = NULL;

		assert_true(asprintf(&s, "{'version':1,'volumes':%s%s", cases[i].volumes, apps) >= 0);
		bad_j(s, cases[i].prefix);
		free(s);
	}
}

static void test_bad_apps(void **state)
{
	static const struct {
		const char *fields, *prefix;
	} cases[] = {
		{ "'comand':['x']", "apps[0]: unknown field \"comand\"" },
		{ "'imageDigest':'sha256:abc'", "apps[0].imageDigest: expected \"sha256:\" and 64 hex digits" },
		{ "'imageDigest':'sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'",
		  "apps[0].imageDigest: expected" },
		{ "'imageDigest':1", "apps[0].imageDigest: expected string" },
		{ "'group':0", "apps[0].group: expected string" },
		{ "'exec':'/bin/sh'", "apps[0].exec: expected array of strings" },
		{ "'exec':null", "apps[0].exec: expected array of strings" },
		{ "'exec':[]", "apps[0].exec: must not be empty" },
		{ "'exec':['']", "apps[0].exec[0]: must not be empty" },
		{ "'exec':['/bin/sh',1]", "apps[0].exec[1]: expected string" },
		{ "'exec':['/bin/\\u0000sh']", "apps[0].exec[0]: must not contain NUL characters" },
		{ "'env':['A=1']", "apps[0].env: expected object of strings" },
		{ "'env':{'A':1}", "apps[0].env: value of \"A\": expected string" },
		{ "'env':{'1A':'x'}", "apps[0].env: invalid variable name \"1A\"" },
		{ "'env':{'A=B':'x'}", "apps[0].env: invalid variable name \"A=B\"" },
		{ "'env':{'':'x'}", "apps[0].env: invalid variable name \"\"" },
		{ "'workingDir':'www'", "apps[0].workingDir: must be an absolute path" },
		{ "'workingDir':''", "apps[0].workingDir: must be an absolute path" },
		{ "'user':''", "apps[0].user: must be a user name or uid" },
		{ "'user':':0'", "apps[0].user: must be a user name or uid" },
		{ "'user':'0:'", "apps[0].user: must be a user name or uid" },
		{ "'user':'0:0:0'", "apps[0].user: must be a user name or uid" },
		{ "'user':'0:0','group':'0'", "apps[0].user: must not name a group when \"group\" is set" },
		{ "'user':0", "apps[0].user: expected string" },
		{ "'group':'a:b'", "apps[0].group: must be a non-empty" },
		{ "'startGroup':-1", "apps[0].startGroup: must not be negative" },
		{ "'startGroup':1.5", "apps[0].startGroup: expected integer" },
		{ "'startGroup':'1'", "apps[0].startGroup: expected integer" },
		{ "'statusGoal':'RUNNING'", "apps[0].statusGoal: expected one of" },
		{ "'statusGoal':'ready'", "apps[0].statusGoal: expected one of" },
		{ "'statusGoal':1", "apps[0].statusGoal: expected one of" },
		{ "'goalTimeout':'10x'", "apps[0].goalTimeout: invalid duration \"10x\"" },
		{ "'goalTimeout':'-1s'", "apps[0].goalTimeout: invalid duration" },
		{ "'goalTimeout':''", "apps[0].goalTimeout: invalid duration" },
		{ "'goalTimeout':30", "apps[0].goalTimeout: expected duration string" },
		{ "'onGoalTimeout':'retry'", "apps[0].onGoalTimeout: expected \"fail\" or \"ignore\"" },
		{ "'restartPolicy':'sometimes'", "apps[0].restartPolicy: expected one of" },
		{ "'restartPolicy':'Always'", "apps[0].restartPolicy: expected one of" },
		{ "'restartBackoff':'10s'", "apps[0].restartBackoff: expected object" },
		{ "'restartBackoff':{'initial':'10s','factor':2}", "apps[0].restartBackoff: unknown field \"factor\"" },
		{ "'restartBackoff':{'initial':'1m','max':'10s'}", "apps[0].restartBackoff.max: must not be less than initial" },
		{ "'restartBackoff':{'initial':'0'}", "apps[0].restartBackoff.initial: must be positive" },
		{ "'restartBackoff':{'max':'1x'}", "apps[0].restartBackoff.max: invalid duration" },
		{ "'watchdog':'soon'", "apps[0].watchdog: invalid duration" },
		{ "'mounts':{}", "apps[0].mounts: expected array" },
		{ "'mounts':[{'volume':'logs','path':'/logs'}]", "apps[0].mounts[0].volume: no volume named \"logs\" is declared" },
		{ "'mounts':[{'volume':'data','path':'data'}]", "apps[0].mounts[0].path: must be an absolute path" },
		{ "'mounts':[{'volume':'data','path':'/a/../etc'}]", "apps[0].mounts[0].path: must be an absolute path without" },
		{ "'mounts':[{'volume':'data','path':'/..'}]", "apps[0].mounts[0].path: must be an absolute path without" },
		{ "'mounts':[{'volume':'data'}]", "apps[0].mounts[0].path: required field missing" },
		{ "'mounts':[{'path':'/d'}]", "apps[0].mounts[0].volume: required field missing" },
		{ "'mounts':[{'volume':'data','path':'/d','ro':true}]", "apps[0].mounts[0]: unknown field \"ro\"" },
		{ "'mounts':[{'volume':'data','path':'/d','readOnly':1}]", "apps[0].mounts[0].readOnly: expected boolean" },
		{ "'mounts':[{'volume':'data','path':'/d'},{'volume':'data','path':'/d'}]", "apps[0].mounts[1].path: duplicate mount path" },
		/* confinement */
		{ "'capabilities':['NET_ADMIN']", "apps[0].capabilities: expected object" },
		{ "'capabilities':{'add':'NET_ADMIN'}", "apps[0].capabilities.add: expected array of strings" },
		{ "'capabilities':{'add':['NET_ADMIN','CAP_FLY']}", "apps[0].capabilities.add[1]: unknown capability \"CAP_FLY\"" },
		{ "'capabilities':{'drop':['']}", "apps[0].capabilities.drop[0]: unknown capability" },
		{ "'capabilities':{'keep':[]}", "apps[0].capabilities: unknown field \"keep\"" },
		{ "'seccomp':'strict'", "apps[0].seccomp: expected \"default\", \"unconfined\" or the absolute path" },
		{ "'seccomp':'profile.json'", "apps[0].seccomp: expected \"default\"" },
		{ "'seccomp':true", "apps[0].seccomp: expected string" },
		{ "'seccomp':'unconfined','seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW'}", "apps[0].seccompProfile: not with \"seccomp\": \"unconfined\"" },
		{ "'seccompProfile':'default'", "apps[0].seccompProfile: expected a seccomp profile" },
		{ "'seccompProfile':{}", "apps[0].seccompProfile.defaultAction: required field missing" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_NOTIFY'}", "apps[0].seccompProfile.defaultAction: SCMP_ACT_NOTIFY is not supported" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':1}", "apps[0].seccompProfile.defaultErrnoRet: only with" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_PDP11']}", "apps[0].seccompProfile.architectures[0]: expected an architecture" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':{}}", "apps[0].seccompProfile.syscalls: expected an array" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'action':'SCMP_ACT_ERRNO'}]}", "apps[0].seccompProfile.syscalls[0].names: required field missing" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir','Open'],'action':'SCMP_ACT_ERRNO'}]}", "apps[0].seccompProfile.syscalls[0].names[1]: expected a syscall name" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO','errnoRet':5000}]}", "apps[0].seccompProfile.syscalls[0].errnoRet: expected an errno number from 0 to 4095" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO','args':[{'index':6,'value':0,'op':'SCMP_CMP_EQ'}]}]}", "apps[0].seccompProfile.syscalls[0].args[0].index: expected an argument index from 0 to 5" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':-1,'op':'SCMP_CMP_EQ'}]}]}", "apps[0].seccompProfile.syscalls[0].args[0].value: expected an unsigned integer" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':0,'op':'EQ'}]}]}", "apps[0].seccompProfile.syscalls[0].args[0].op: expected one of" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['mkdir'],'action':'SCMP_ACT_ERRNO','includes':{'caps':['CAP_NOPE']}}]}", "apps[0].seccompProfile.syscalls[0].includes.caps[0]: expected a capability name" },
		{ "'seccompProfile':{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/run/l.sock'}", "apps[0].seccompProfile.listenerPath: seccomp listeners are not supported" },
		{ "'noNewPrivileges':'no'", "apps[0].noNewPrivileges: expected boolean" },
		{ "'readOnlyRootfs':1", "apps[0].readOnlyRootfs: expected boolean" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		bad_app(cases[i].fields, cases[i].prefix);

	bad_j("{'version':1,'apps':[{'image':'i'}]}", "apps[0].name: required field missing");
	bad_j("{'version':1,'apps':[{'name':'a'}]}", "apps[0].image: required field missing");
	bad_j("{'version':1,'apps':[{'name':'a','image':''}]}", "apps[0].image: must not be empty");
	bad_j("{'version':1,'apps':[{'name':'a','image':'i'},{'name':'a','image':'i'}]}",
	      "apps[1].name: duplicate app name \"a\"");
	bad_j("{'version':1,'initApps':[{'name':'a','image':'i'},{'name':'a','image':'i'}],'apps':[{'name':'b','image':'i'}]}",
	      "initApps[1].name: duplicate app name \"a\"");
}

static void test_bad_probes(void **state)
{
	static const struct {
		const char *fields, *prefix;
	} cases[] = {
		{ "'livenessProbe':[]", "apps[0].livenessProbe: expected object" },
		{ "'livenessProbe':{}", "apps[0].livenessProbe: exactly one handler" },
		{ "'livenessProbe':{'periodSeconds':5}", "apps[0].livenessProbe: exactly one handler" },
		{ "'livenessProbe':{'exec':{'command':['x']},'tcpSocket':{'port':80}}", "apps[0].livenessProbe: exactly one handler (exec, httpGet or tcpSocket) is required, found 2" },
		{ "'livenessProbe':{'exec':{'command':['x']},'grpc':{'port':80}}", "apps[0].livenessProbe: unknown field \"grpc\"" },
		{ "'livenessProbe':{'exec':null}", "apps[0].livenessProbe.exec: expected object" },
		{ "'livenessProbe':{'exec':{}}", "apps[0].livenessProbe.exec.command: required field missing" },
		{ "'livenessProbe':{'exec':{'command':'true'}}", "apps[0].livenessProbe.exec.command: expected array of strings" },
		{ "'startupProbe':{'exec':{'command':[]}}", "apps[0].startupProbe.exec.command: must not be empty" },
		{ "'livenessProbe':{'exec':{'command':['x'],'args':[]}}", "apps[0].livenessProbe.exec: unknown field \"args\"" },
		{ "'livenessProbe':{'exec':{'command':['x']},'successThreshold':2}", "apps[0].livenessProbe.successThreshold: must be 1 for liveness probes" },
		{ "'startupProbe':{'exec':{'command':['x']},'successThreshold':3}", "apps[0].startupProbe.successThreshold: must be 1 for startup probes" },
		{ "'readinessProbe':{'exec':{'command':['x']},'successThreshold':0}", "apps[0].readinessProbe.successThreshold: must be at least 1" },
		{ "'readinessProbe':{'exec':{'command':['x']},'failureThreshold':0}", "apps[0].readinessProbe.failureThreshold: must be at least 1" },
		{ "'readinessProbe':{'exec':{'command':['x']},'timeoutSeconds':0}", "apps[0].readinessProbe.timeoutSeconds: must be at least 1" },
		{ "'readinessProbe':{'exec':{'command':['x']},'initialDelaySeconds':-1}", "apps[0].readinessProbe.initialDelaySeconds: must not be negative" },
		{ "'readinessProbe':{'exec':{'command':['x']},'periodSeconds':'10'}", "apps[0].readinessProbe.periodSeconds: expected integer" },
		{ "'readinessProbe':{'exec':{'command':['x']},'periodSeconds':10.5}", "apps[0].readinessProbe.periodSeconds: expected integer" },
		{ "'readinessProbe':{'httpGet':{'port':0}}", "apps[0].readinessProbe.httpGet.port: must be between 1 and 65535" },
		{ "'readinessProbe':{'httpGet':{'port':65536}}", "apps[0].readinessProbe.httpGet.port: must be between 1 and 65535" },
		{ "'readinessProbe':{'httpGet':{'port':'http'}}", "apps[0].readinessProbe.httpGet.port: expected integer" },
		{ "'readinessProbe':{'httpGet':{}}", "apps[0].readinessProbe.httpGet.port: required field missing" },
		{ "'readinessProbe':{'httpGet':{'port':80,'path':'healthz'}}", "apps[0].readinessProbe.httpGet.path: must start with \"/\"" },
		{ "'readinessProbe':{'httpGet':{'port':80,'scheme':'HTTPS'}}", "apps[0].readinessProbe.httpGet: unknown field \"scheme\"" },
		{ "'readinessProbe':{'httpGet':{'port':80,'host':''}}", "apps[0].readinessProbe.httpGet.host: must not be empty" },
		{ "'readinessProbe':{'tcpSocket':{'port':-5}}", "apps[0].readinessProbe.tcpSocket.port: must be between 1 and 65535" },
		{ "'readinessProbe':{'tcpSocket':{'port':80,'path':'/'}}", "apps[0].readinessProbe.tcpSocket: unknown field \"path\"" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		bad_app(cases[i].fields, cases[i].prefix);
}

static void test_bad_init_apps(void **state)
{
	static const struct {
		const char *fields, *prefix;
	} cases[] = {
		{ "'readinessProbe':{'exec':{'command':['x']}}", "initApps[0].readinessProbe: not allowed for init apps" },
		{ "'livenessProbe':{'exec':{'command':['x']}}", "initApps[0].livenessProbe: not allowed for init apps" },
		{ "'startGroup':1", "initApps[0].startGroup: not allowed for init apps" },
		{ "'statusGoal':'READY'", "initApps[0].statusGoal: not allowed for init apps" },
		{ "'restartPolicy':'always'", "initApps[0].restartPolicy: \"always\" not allowed for init apps" },
		{ "'readyProtocols':['lxd']", "initApps[0].readyProtocols: not allowed for init apps" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *s = NULL;

		assert_true(asprintf(&s, "{'version':1,'initApps':[{'name':'init','image':'i',%s}],"
		                         "'apps':[{'name':'a','image':'i'}]}", cases[i].fields) >= 0);
		bad_j(s, cases[i].prefix);
		free(s);
	}
}

static void test_ready_protocols(void **state)
{
	char *j = J("{'version':1,'apps':[{'name':'a','image':'i','readyProtocols':['lxd','pantavisor']},"
	            "{'name':'b','image':'i','readyProtocols':[]},{'name':'c','image':'i'}]}");
	ps_manifest *m = parse_ok(j);
	free(j);
	assert_int_equal(m->apps[0].ready_protocols, PS_READY_LXD | PS_READY_PANTAVISOR);
	assert_int_equal(m->apps[1].ready_protocols, 0);
	assert_int_equal(m->apps[2].ready_protocols, 0);
	round_trip(m);
	char *json = NULL;
	ps_error *err = NULL;
	assert_int_equal(ps_manifest_to_json(m, &json, &err), 0);
	/* canonical order, and none written for an app without */
	const char *rp = strstr(json, "\"readyProtocols\"");
	assert_non_null(rp);
	const char *pv = strstr(rp, "\"pantavisor\""), *lxd = strstr(rp, "\"lxd\"");
	assert_true(pv && lxd && pv < lxd && !memchr(rp, ']', (size_t)(pv - rp)));
	assert_null(strstr(strstr(json, "readyProtocols") + 1, "readyProtocols"));
	free(json);
	ps_manifest_free(m);
	bad_app("'readyProtocols':['systemd']", "apps[0].readyProtocols[0]: expected \"pantavisor\" or \"lxd\"");
	bad_app("'readyProtocols':['lxd','lxd']", "apps[0].readyProtocols[1]: \"lxd\" given twice");
	bad_app("'readyProtocols':'lxd'", "apps[0].readyProtocols: expected array of \"pantavisor\", \"lxd\"");
	bad_app("'readyProtocols':[1]", "apps[0].readyProtocols[0]: expected \"pantavisor\" or \"lxd\"");
}

/* --- building in code ------------------------------------------------------------------- */

static void test_build_in_code(void **state)
{
	ps_manifest *m = NULL;
	ps_error *err = NULL;
	ps_app *a, *init;
	char *out = NULL;

	assert_int_equal(ps_manifest_new(&m, &err), 0);
	assert_int_equal(m->version, PS_MANIFEST_VERSION);
	assert_string_equal(m->net, "none");

	/* No apps yet. */
	assert_int_equal(ps_manifest_validate(m, &err), -EINVAL);
	assert_string_equal(err->msg, "apps: at least one app is required");
	ps_error_free(&err);

	a = ps_manifest_add_app(m, false, "web");
	assert_non_null(a);
	assert_string_equal(a->name, "web");
	assert_int_equal(a->goal, PS_GOAL_STARTED);
	assert_int_equal(a->goal_timeout_ms, 30000);
	assert_int_equal(a->backoff_initial_ms, 10000);
	assert_int_equal(a->backoff_max_ms, 300000);
	assert_int_equal(a->liveness.kind, PS_PROBE_NONE);
	assert_int_equal(a->readiness.kind, PS_PROBE_NONE);
	assert_int_equal(a->startup.kind, PS_PROBE_NONE);

	assert_true(ps_manifest_validate(m, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_INVALID);
	assert_string_equal(err->msg, "apps[0].image: required field missing");
	ps_error_free(&err);
	/* to_json refuses what would not parse back. */
	assert_true(ps_manifest_to_json(m, &out, &err) < 0);
	assert_null(out);
	ps_error_free(&err);

	a->image = strdup("busybox");
	a->env = calloc(3, sizeof(char *));
	a->env[0] = strdup("A=1");
	a->env[1] = strdup("B");
	assert_true(ps_manifest_validate(m, &err) < 0);
	assert_string_equal(err->msg, "apps[0].env: invalid variable \"B\" (expected NAME=VALUE, NAME [A-Za-z_][A-Za-z0-9_]*)");
	ps_error_free(&err);
	free(a->env[1]);
	a->env[1] = strdup("A=2");
	assert_true(ps_manifest_validate(m, &err) < 0);
	assert_string_equal(err->msg, "apps[0].env: duplicate variable \"A\"");
	ps_error_free(&err);
	free(a->env[1]);
	a->env[1] = strdup("B=");

	a->readiness.kind = PS_PROBE_EXEC;
	a->readiness.command = calloc(2, sizeof(char *));
	a->readiness.command[0] = strdup("/bin/true");
	a->goal = PS_GOAL_READY;

	init = ps_manifest_add_app(m, true, "setup");
	assert_non_null(init);
	init->image = strdup("busybox");
	a = &m->apps[0]; /* add_app may move arrays; apps did not change here */
	assert_int_equal(ps_manifest_validate(m, &err), 0);

	/* Invalid enum values set in code are caught too. */
	a->restart = (ps_restart_policy)7;
	assert_true(ps_manifest_validate(m, &err) < 0);
	assert_string_equal(err->msg, "apps[0].restartPolicy: invalid restart policy 7");
	ps_error_free(&err);
	a->restart = PS_RESTART_ON_FAILURE;

	a->liveness.kind = PS_PROBE_TCP_SOCKET;
	a->liveness.port = 70000;
	assert_true(ps_manifest_validate(m, &err) < 0);
	assert_string_equal(err->msg, "apps[0].livenessProbe.tcpSocket.port: must be between 1 and 65535");
	ps_error_free(&err);
	a->liveness.port = 22;

	round_trip(m);
	ps_manifest_free(m);
}

static void test_add_many_apps(void **state)
{
	ps_manifest *m = NULL;

	assert_int_equal(ps_manifest_new(&m, NULL), 0);
	for (int i = 0; i < 100; i++) {
		char name[16];
		ps_app *a;

		snprintf(name, sizeof(name), "app-%d", i);
		a = ps_manifest_add_app(m, i % 10 == 0, name);
		assert_non_null(a);
		a->image = strdup("img");
	}
	assert_int_equal(m->n_init_apps, 10);
	assert_int_equal(m->n_apps, 90);
	assert_int_equal(ps_manifest_validate(m, NULL), 0);
	round_trip(m);
	ps_manifest_free(m);
	ps_manifest_free(NULL);
}

static void test_errors_without_err(void **state)
{
	ps_manifest *m = NULL;

	/* err may be NULL: the code still says what went wrong. */
	assert_int_equal(ps_manifest_parse("[]", 2, &m, NULL), -EINVAL);
	assert_int_equal(ps_manifest_parse("{", 1, &m, NULL), -EINVAL);
	assert_null(m);
}

/* --- names and helpers ------------------------------------------------------------------ */

static void test_names(void **state)
{
	ps_status_goal g = PS_GOAL_MOUNTED;
	char *v[] = { "a", "b", NULL };

	assert_string_equal(ps_status_goal_name(PS_GOAL_MOUNTED), "MOUNTED");
	assert_string_equal(ps_status_goal_name(PS_GOAL_STARTED), "STARTED");
	assert_string_equal(ps_status_goal_name(PS_GOAL_READY), "READY");
	assert_null(ps_status_goal_name((ps_status_goal)42));
	assert_int_equal(ps_status_goal_from_name("READY", &g), 0);
	assert_int_equal(g, PS_GOAL_READY);
	assert_int_equal(ps_status_goal_from_name("ready", &g), -EINVAL);
	assert_int_equal(ps_status_goal_from_name(NULL, &g), -EINVAL);
	assert_int_equal(g, PS_GOAL_READY);

	assert_string_equal(ps_restart_policy_name(PS_RESTART_NEVER), "never");
	assert_string_equal(ps_restart_policy_name(PS_RESTART_ON_FAILURE), "on-failure");
	assert_string_equal(ps_restart_policy_name(PS_RESTART_ALWAYS), "always");
	assert_null(ps_restart_policy_name((ps_restart_policy)-1));

	assert_int_equal(ps_strv_length(NULL), 0);
	assert_int_equal(ps_strv_length(v), 2);
	ps_strv_free(NULL);
}

/* --- loading from a pod dir ---------------------------------------------------------------- */

static int write_file(int dirfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static void test_load_at(void **state)
{
	char tmpl[] = "/tmp/test-manifest-XXXXXX";
	char *dir = mkdtemp(tmpl);
	ps_manifest *m = NULL;
	ps_error *err = NULL;
	char *good = J(full_fixture), *big;
	int fd;

	assert_non_null(dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);

	/* Missing. */
	assert_int_equal(ps_manifest_load_at(fd, &m, &err), -ENOENT);
	assert_null(m);
	assert_int_equal(err->kind, PS_ERR_NOT_FOUND);
	assert_int_equal(strncmp(err->msg, "manifest", 8), 0);
	ps_error_free(&err);

	/* Good. */
	assert_int_equal(write_file(fd, "manifest", good, strlen(good)), 0);
	assert_int_equal(ps_manifest_load_at(fd, &m, &err), 0);
	assert_null(err);
	assert_int_equal(m->n_apps, 2);
	ps_manifest_free(m);
	m = NULL;

	/* Bad: the message says which file. */
	assert_int_equal(write_file(fd, "manifest", "{\"version\":1,\"apps\":[{}]}", 25), 0);
	assert_true(ps_manifest_load_at(fd, &m, &err) < 0);
	assert_null(m);
	assert_int_equal(err->kind, PS_ERR_INVALID);
	assert_string_equal(err->msg, "manifest: apps[0].name: required field missing");
	ps_error_free(&err);

	/* Over 1 MiB. */
	big = malloc(1024 * 1024 + 2);
	assert_non_null(big);
	memset(big, ' ', 1024 * 1024 + 2);
	big[0] = '{';
	big[1024 * 1024 + 1] = '}';
	assert_int_equal(write_file(fd, "manifest", big, 1024 * 1024 + 2), 0);
	assert_true(ps_manifest_load_at(fd, &m, &err) < 0);
	assert_null(m);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "manifest"));
	ps_error_free(&err);
	free(big);

	assert_int_equal(unlinkat(fd, "manifest", 0), 0);
	close(fd);
	assert_int_equal(rmdir(dir), 0);
	free(good);
}

/* Every ```json block of Documentation/manifest.md is a valid manifest that
 * survives a round trip. The unit tests run from the repository root. */
static void test_documentation_examples(void **state)
{
	int fd = open("Documentation/manifest.md", O_RDONLY | O_CLOEXEC);
	char *doc = NULL, *p;
	size_t len = 0;
	int n = 0;

	if (fd < 0)
		skip();
	assert_int_equal(ps_read_all(fd, 1 << 20, &doc, &len), 0);
	close(fd);
	for (p = doc; (p = strstr(p, "```json\n")); n++) {
		char *start = p + 8, *end = strstr(start, "```");
		ps_manifest *m;

		assert_non_null(end);
		*end = '\0';
		m = parse_ok(start);
		round_trip(m);
		ps_manifest_free(m);
		p = end + 1;
	}
	assert_int_equal(n, 4); /* ports, the full example, privateUsers, the minimal one */
	free(doc);
}

/* "privateUsers": true, false, or a range; bad ones with their JSON path. */
static void test_private_users(void **state)
{
	(void)state;
	char *j = J("{'version':1,'privateUsers':true,'apps':[{'name':'web','image':'busybox'}]}");
	ps_manifest *m = parse_ok(j);
	assert_true(m->private_users.enabled);
	assert_int_equal(m->private_users.range.size, 0);
	round_trip(m);
	ps_manifest_free(m);
	free(j);

	j = J("{'version':1,'privateUsers':false,'apps':[{'name':'web','image':'busybox'}]}");
	m = parse_ok(j);
	assert_false(m->private_users.enabled);
	round_trip(m);
	ps_manifest_free(m);
	free(j);

	j = J("{'version':1,'privateUsers':{'uid':3000000,'size':65536},'apps':[{'name':'web','image':'busybox'}]}");
	m = parse_ok(j);
	assert_true(m->private_users.enabled);
	assert_int_equal(m->private_users.range.uid, 3000000);
	assert_int_equal(m->private_users.range.gid, 3000000); /* gid defaults to uid */
	assert_int_equal(m->private_users.range.size, 65536);
	round_trip(m);
	ps_manifest_free(m);
	free(j);

	static const struct { const char *v, *prefix; } bad[] = {
		{ "'yes'", "privateUsers: expected true, false" },
		{ "{'uid':0,'size':10}", "privateUsers: id range: uid and gid must not be 0" },
		{ "{'uid':5,'gid':0,'size':10}", "privateUsers: id range: uid and gid must not be 0" },
		{ "{'uid':5,'size':0}", "privateUsers.size: must be at least 1" },
		{ "{'uid':5}", "privateUsers.size: required" },
		{ "{'size':5}", "privateUsers.uid: required" },
		{ "{'uid':'5','size':5}", "privateUsers.uid: expected a number" },
		{ "{'uid':-1,'size':5}", "privateUsers.uid: out of range" },
		{ "{'uid':5,'size':5,'x':1}", "privateUsers.x: unknown field" },
		{ "{'uid':4294967290,'size':10}", "privateUsers: id range: past the last id" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *s = NULL;
		assert_true(asprintf(&s, "{'version':1,'privateUsers':%s,'apps':[{'name':'web','image':'busybox'}]}",
		                     bad[i].v) >= 0);
		char *js = J(s);
		expect_invalid(js, bad[i].prefix);
		free(js);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_net_ports),
		cmocka_unit_test(test_minimal_canonical_form),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_good_variants),
		cmocka_unit_test(test_name_limits),
		cmocka_unit_test(test_exact_messages),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_bad_root),
		cmocka_unit_test(test_bad_volumes),
		cmocka_unit_test(test_bad_apps),
		cmocka_unit_test(test_bad_probes),
		cmocka_unit_test(test_bad_init_apps),
		cmocka_unit_test(test_ready_protocols),
		cmocka_unit_test(test_build_in_code),
		cmocka_unit_test(test_add_many_apps),
		cmocka_unit_test(test_errors_without_err),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_load_at),
		cmocka_unit_test(test_documentation_examples),
		cmocka_unit_test(test_private_users),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
