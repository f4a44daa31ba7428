/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODCTL_TEST_FIXTURE_H
#define PODCTL_TEST_FIXTURE_H

/* A scratch data dir per test, removed afterwards. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <podstore/podstore.h>

struct fx {
	char path[64];
	ps_store *store;
};

/* cmocka setup/teardown: *state becomes a struct fx with an open store. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* Make a pod in `dir` by hand (unlocked), returns its uuid in out. */
void fx_make_pod(struct fx *f, ps_pod_dir dir, char out[PS_UUID_LEN + 1]);

/* Fork a child that holds the pod's lock exclusively until fx_release(). */
pid_t fx_hold_lock(struct fx *f, const char *uuid, ps_pod_dir dir);
void fx_release(pid_t child);

#endif
