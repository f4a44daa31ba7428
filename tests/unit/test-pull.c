/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ps_image_pull() against a fake skopeo: error mapping, options passed on,
 * nothing left in tmp/. (test-pull.sh pulls from a real registry.) */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fixture.h"
#include "util.h"

/* A skopeo that records its argv in <dir>/args and fails with $FAKE_MSG, or
 * prints $FAKE_OUT and succeeds when FAKE_MSG is empty. */
static char *fake_skopeo(struct fx *f)
{
	char *path = ps_strdup_printf("%s/skopeo", f->path);
	FILE *fp;

	assert_non_null(path);
	fp = fopen(path, "we");
	assert_non_null(fp);
	fprintf(fp, "#!/bin/sh\n"
	            "printf '%%s\\n' \"$@\" > '%s/args'\n"
	            "if [ -n \"$FAKE_MSG\" ]; then\n"
	            "  echo 'time=\"2026-01-01T00:00:00Z\" level=fatal msg=\"'\"$FAKE_MSG\"'\"' >&2\n"
	            "  exit 1\n"
	            "fi\n"
	            "printf '%%s' \"$FAKE_OUT\"\n",
	        f->path);
	fclose(fp);
	assert_int_equal(chmod(path, 0755), 0);
	return path;
}

static char *read_args(struct fx *f)
{
	_cleanup_free_ char *p = ps_strdup_printf("%s/args", f->path);
	char *data = NULL;
	_cleanup_close_ int fd = open(p, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ps_read_all(fd, 1 << 16, &data, NULL), 0);
	return data;
}

static bool tmp_empty(struct fx *f)
{
	int fd = openat(ps_store_tmp_fd(f->store), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	bool empty = true;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

static void errors_are_mapped(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *sk = fake_skopeo(f);
	static const struct {
		const char *says;
		ps_error_kind kind;
		const char *want;
	} cases[] = {
		{ "Error parsing image name \\\"docker://h/x:1\\\": reading manifest 1 in h/x: manifest unknown: manifest unknown",
		  PS_ERR_NOT_FOUND, "pull docker://h/x:1: manifest unknown" },
		{ "initializing source docker://h/x:1: reading manifest 1 in h/x: unauthorized: authentication required",
		  PS_ERR_FAILED, "(401)" },
		{ "requested access to the resource is denied", PS_ERR_FAILED, "(403)" },
		{ "pinging container registry h: Get \\\"https://h/v2/\\\": dial tcp 127.0.0.1:1: connect: connection refused",
		  PS_ERR_FAILED, "connection refused" },
		{ "pinging container registry h: Get \\\"https://h/v2/\\\": dial tcp: lookup h: no such host",
		  PS_ERR_FAILED, "unknown host" },
		{ "Get \\\"https://h/v2/\\\": http: server gave HTTP response to HTTPS client",
		  PS_ERR_FAILED, "TLS" },
		{ "Get \\\"https://h/v2/\\\": x509: certificate signed by unknown authority", PS_ERR_FAILED,
		  "TLS" },
		{ "something new went wrong", PS_ERR_FAILED, "pull docker://h/x:1: something new went wrong" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ps_image_pull_opts o = { .skopeo = sk, .tls_verify = -1 };
		ps_image *img = NULL;
		ps_error *err = NULL;

		setenv("FAKE_MSG", cases[i].says, 1);
		assert_true(ps_image_pull(f->store, "docker://h/x:1", &o, &img, NULL, &err) < 0);
		assert_null(img);
		assert_non_null(err);
		if (err->kind != cases[i].kind || !strstr(err->msg, cases[i].want))
			fail_msg("case %zu: got kind %d \"%s\"", i, err->kind, err->msg);
		assert_null(strchr(err->msg, '\n'));
		ps_error_free(&err);
		assert_true(tmp_empty(f));
	}
	unsetenv("FAKE_MSG");
}

static void options_reach_skopeo(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *sk = fake_skopeo(f), *args = NULL;
	ps_image_pull_opts o = { .skopeo = sk, .tls_verify = 0, .creds = "u:p", .authfile = "/a.json",
		                 .platform = "linux/arm64/v8" };
	ps_image *img = NULL;
	ps_error *err = NULL;

	setenv("FAKE_MSG", "manifest unknown", 1);
	assert_true(ps_image_pull(f->store, "busybox:1", &o, &img, NULL, &err) < 0);
	ps_error_free(&err);
	args = read_args(f);
	assert_non_null(strstr(args, "--override-os=linux\n--override-arch=arm64\n"
	                             "--override-variant=v8\ninspect\n--raw\n"));
	assert_non_null(strstr(args, "--tls-verify=false\n--creds=u:p\n--authfile=/a.json\n"));
	/* A bare name is docker:// (skopeo resolves short names). */
	assert_non_null(strstr(args, "\ndocker://busybox:1\n"));
	unsetenv("FAKE_MSG");
}

static void bad_input(void **state)
{
	struct fx *f = *state;
	ps_image_pull_opts o = { .skopeo = "/nonexistent/skopeo", .tls_verify = -1 };
	ps_image *img = NULL;
	ps_error *err = NULL;
	ps_pull_policy p;
	char *name = NULL;

	assert_true(ps_image_pull(f->store, "busybox", &o, &img, NULL, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_FAILED);
	assert_non_null(strstr(err->msg, "apt-get install skopeo"));
	ps_error_free(&err);

	_cleanup_free_ char *sk = fake_skopeo(f);
	o.skopeo = sk;
	o.platform = "arm64";
	assert_true(ps_image_pull(f->store, "busybox", &o, &img, NULL, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_INVALID);
	ps_error_free(&err);
	o.platform = NULL;
	assert_true(ps_image_pull(f->store, "bad name", &o, &img, NULL, &err) < 0);
	assert_int_equal(err->kind, PS_ERR_INVALID);
	ps_error_free(&err);

	/* The manifest skopeo returns must be JSON. */
	setenv("FAKE_OUT", "not json", 1);
	assert_true(ps_image_pull(f->store, "busybox", &o, &img, NULL, &err) < 0);
	assert_non_null(strstr(err->msg, "not JSON"));
	ps_error_free(&err);
	unsetenv("FAKE_OUT");
	assert_true(tmp_empty(f));

	assert_int_equal(ps_pull_policy_from_name("always", &p), 0);
	assert_int_equal(p, PS_PULL_ALWAYS);
	assert_int_equal(ps_pull_policy_from_name("sometimes", &p), -EINVAL);
	assert_int_equal(ps_image_pull_name("docker://h:5000/a/b:1", &name, NULL), 0);
	assert_string_equal(name, "h:5000/a/b:1");
	free(name);
	assert_true(ps_image_ref_has_transport("oci-archive:/x.tar"));
	assert_false(ps_image_ref_has_transport("h:5000/a/b:1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(errors_are_mapped, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(options_reach_skopeo, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(bad_input, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
