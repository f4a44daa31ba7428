/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_STRV_H
#define PODSTORE_STRV_H

/*
 * NULL-terminated vectors of owned strings (internal). A NULL vector is the
 * empty one for every function here. Functions that allocate return -ENOMEM
 * and leave the vector as it was on failure.
 */

#include <stdbool.h>
#include <stddef.h>

/* Free every string and the vector; NULL is fine. (Declared in
 * <podstore/manifest.h> too: the public ps_manifest carries strvs.) */
void ps_strv_free(char **v);

/* The number of strings before the NULL. */
size_t ps_strv_length(char *const *v);

/* Append a copy of s; *v may be NULL (a new vector is made). */
int ps_strv_push(char ***v, const char *s);

/* A deep copy of v (NULL for a NULL v, or on ENOMEM: check v first). */
char **ps_strv_copy(char *const *v);

/* Whether v holds a string equal to s. */
bool ps_strv_contains(char *const *v, const char *s);

static inline void ps_strv_freep(char ***v)
{
	ps_strv_free(*v);
}
#define _cleanup_strv_ __attribute__((cleanup(ps_strv_freep)))

#endif
