/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <podstore/manifest.h> /* ps_strv_free() and ps_strv_length() are public */
#include "strv.h"

void ps_strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

size_t ps_strv_length(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int ps_strv_push(char ***v, const char *s)
{
	size_t n = ps_strv_length(*v);
	char *copy = strdup(s);
	char **nv;

	if (!copy)
		return -ENOMEM;
	nv = realloc(*v, (n + 2) * sizeof(char *));
	if (!nv) {
		free(copy);
		return -ENOMEM;
	}
	nv[n] = copy;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

char **ps_strv_copy(char *const *v)
{
	size_t n = ps_strv_length(v);
	char **r;

	if (!v)
		return NULL;
	r = calloc(n + 1, sizeof(char *));
	if (!r)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		r[i] = strdup(v[i]);
		if (!r[i]) {
			ps_strv_free(r);
			return NULL;
		}
	}
	return r;
}

bool ps_strv_contains(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}
