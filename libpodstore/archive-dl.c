/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define PS_ARCHIVE_DL_IMPL
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

#include "archive-dl.h"

struct ps_archive_api ps_archive;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *load_error;

static void load(void)
{
	/* The soname Debian 12 ships; the major version is the ABI. */
	void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		load_error = dlerror();
		return;
	}
#define PS_ARCHIVE_SYM(f)                                                    \
	if (!(ps_archive.f = (__typeof__(f) *)dlsym(h, #f))) {               \
		load_error = "libarchive.so.13 lacks " #f;                   \
		return;                                                      \
	}
	PS_ARCHIVE_FUNCS(PS_ARCHIVE_SYM)
#undef PS_ARCHIVE_SYM
}

int ps_archive_load(ps_error **err)
{
	pthread_once(&once, load);
	if (load_error)
		return ps_error_set(err, PS_ERR_FAILED, ENOSYS, "load libarchive: %s", load_error);
	return 0;
}
