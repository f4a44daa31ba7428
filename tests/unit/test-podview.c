/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * list --format=json prints unheld pods without json-c
 * (pod_view_print_item, cmd/podctl/podview.c): its text must be json-c's,
 * byte for byte, for every field a view can have and every string.
 */
#include "fixture.h"
#include "podview.h"
#include "util.h"

/* Strings json-c prints as they are, and ones it escapes. */
static const char *const strs[] = {
	"ok", "", "a\"b", "back\\slash", "sl/ash", "tab\there", "nl\n", "\x01\x1f", "del\x7f",
	"caf\xc3\xa9", "bad\xff\xfe", "{\"x\":[1]}", "\\u0000",
};

static const ps_pod_state states[] = {
	PS_STATE_EMBRYO,  PS_STATE_PREPARING,       PS_STATE_ABORTED_PREPARE, PS_STATE_PREPARED,
	PS_STATE_RUNNING, PS_STATE_EXITED,          PS_STATE_EXITED_DELETING, PS_STATE_EXITED_GARBAGE,
	PS_STATE_DELETING, PS_STATE_GARBAGE,
};

/* View number i of a family that sets every field on and off. */
static void make_view(unsigned i, ps_pod_view *v)
{
	const size_t ns = ARRAY_SIZE(strs);

	*v = (ps_pod_view){ .state = states[i % ARRAY_SIZE(states)] };
	snprintf(v->uuid, sizeof(v->uuid), "%08x-0000-4000-8000-%012x", i, i * 7919u);
	v->have_info = i & 1;
	v->info.name = (i & 2) ? (char *)strs[i % ns] : NULL;
	v->info.created_ns = (i & 4) ? 1764670000123456789LL + i : 0;
	v->have_pid = i & 8;
	v->pid.pid = (pid_t)(i * 31);
	v->pid.time_ns = (i & 16) ? 1764670001000000000LL : 0;
	v->ready = i & 32;
	v->ready_ns = (i & 64) ? -1000000001LL : 0; /* before 1970 too */
	v->have_exit = i & 128;
	v->exit.code = (i & 256) ? -(int)i : (int)i;
	v->exit.reason = (i & 512) ? (char *)strs[(i / 3) % ns] : NULL;
	v->exit.app = (i & 1024) ? (char *)strs[(i / 5) % ns] : NULL;
	v->exit.time_ns = (i & 2048) ? 1764670002999999999LL : 0;
	v->gc_marked_ns = (i & 4096) ? 1LL : 0;
	v->healthy = i & 8192;
}

static void check_array(unsigned from, unsigned n)
{
	json_object *a = json_object_new_array();
	char *got = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&got, &len);

	assert_non_null(f);
	for (unsigned i = 0; i < n; i++) {
		ps_pod_view v;
		make_view(from + i, &v);
		json_object_array_add(a, pod_view_json(&v));
		pod_view_print_item(&v, f, i == 0);
	}
	json_print_array_end(f, n);
	fclose(f);
	char *want = ps_strdup_printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
	                                                                         JSON_C_TO_STRING_SPACED |
	                                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
	assert_non_null(want);
	if (strcmp(got, want) != 0)
		fail_msg("views %u..%u:\n--- json-c\n%s--- printed\n%s", from, from + n, want, got);
	free(want);
	free(got);
	json_object_put(a);
}

static void same_as_json_c(void **state)
{
	(void)state;
	check_array(0, 0);
	for (unsigned i = 0; i < 16384; i++)
		check_array(i, 1);
	for (unsigned i = 0; i < 16384; i += 97)
		check_array(i, 5);
}

/* A view with apps or usage (status's) is printed through json-c. */
static void apps_and_usage(void **state)
{
	ps_app_view app = { .name = (char *)"web", .have_status = true,
		            .status = { .status = (char *)"RUNNING" } };
	ps_pod_view v;

	(void)state;
	make_view(4095, &v);
	v.apps = &app;
	v.n_apps = 1;
	v.have_usage = true;
	v.usage = (ps_cgroup_usage){ .memory_bytes = 1, .memory_limit = 0, .cpu_ns = 2, .pids = 3,
		                     .pids_limit = -1, .oom_kills = 0, .pids_max_events = -1 };
	json_object *a = json_object_new_array();
	json_object_array_add(a, pod_view_json(&v));
	char *got = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&got, &len);
	pod_view_print_item(&v, f, true);
	json_print_array_end(f, 1);
	fclose(f);
	char *want = ps_strdup_printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
	                                                                         JSON_C_TO_STRING_SPACED |
	                                                                         JSON_C_TO_STRING_NOSLASHESCAPE));
	assert_string_equal(got, want);
	free(want);
	free(got);
	json_object_put(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_as_json_c),
		cmocka_unit_test(apps_and_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
