/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholders until the image store lands. */
#include "image.h"
#include <errno.h>

__attribute__((weak)) int ps_image_gc(ps_store *s, ps_error **err)
{
	return 0;
}

__attribute__((weak)) int ps_image_import(ps_store *s, const char *path,
                                          const ps_image_import_opts *opts, ps_image **ret,
                                          ps_error **err)
{
	return ps_error_set(err, PS_ERR_FAILED, ENOTSUP, "import %s", path);
}

__attribute__((weak)) int ps_image_resolve(ps_store *s, const char *ref, ps_image **ret,
                                           ps_error **err)
{
	return ps_error_set(err, PS_ERR_NOT_FOUND, 0, "no image %s", ref);
}

__attribute__((weak)) void ps_image_free(ps_image *img)
{
}
