/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_BANNED_H
#define PODSTORE_BANNED_H

/*
 * C library functions podctl does not use, made compile errors (the Makefile
 * force-includes this header into every file of the project; never into the
 * installed headers or the programs that use them). Each is easy to get
 * wrong, and each has a bounded or checked replacement:
 *
 *   sprintf, vsprintf          snprintf / ps_strdup_printf (asprintf)
 *   strcpy, strcat             memcpy with a known length, snprintf
 *   strncpy, strncat           snprintf ("%.*s"); they do not NUL-terminate
 *                              or silently cut
 *   strtok                     strsep, strchr: strtok keeps hidden state
 *                              and merges empty fields
 *   atoi, atol                 strtol/strtoul with errno and end checks:
 *                              they turn garbage into 0 (uid 0!)
 *   gets                       never
 *
 *   strtok_r                   strsep: it merges empty fields too (the
 *                              /etc/passwd bug of issue 8: "app::1000:2000"
 *                              read as uid 2000, gid 0)
 *
 * The headers that declare them are included first, so their declarations
 * are seen before the macros exist; a use afterwards expands to an
 * undeclared identifier that names the offence.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PS_BANNED(func) sorry_##func##_is_banned_in_podctl_see_banned_h

#undef sprintf
#define sprintf(...) PS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) PS_BANNED(vsprintf)
#undef strcpy
#define strcpy(...) PS_BANNED(strcpy)
#undef strcat
#define strcat(...) PS_BANNED(strcat)
#undef strncpy
#define strncpy(...) PS_BANNED(strncpy)
#undef strncat
#define strncat(...) PS_BANNED(strncat)
#undef strtok_r
#define strtok_r(...) PS_BANNED(strtok_r)
#undef strtok
#define strtok(...) PS_BANNED(strtok)
#undef atoi
#define atoi(...) PS_BANNED(atoi)
#undef atol
#define atol(...) PS_BANNED(atol)
#undef gets
#define gets(...) PS_BANNED(gets)

#endif
