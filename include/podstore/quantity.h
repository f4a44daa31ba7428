/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_QUANTITY_H
#define PODSTORE_QUANTITY_H

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

/*
 * Quantities of resources as users write them (Documentation/resources.md).
 * Each returns 0 and sets *ret, or -EINVAL (bad syntax or unit) / -ERANGE
 * (too large) leaving *ret untouched. No ps_error: the callers know the JSON
 * path or the option to name in the message.
 */

/* Kubernetes memory quantities: plain bytes ("1048576"), binary suffixes
 * Ki Mi Gi Ti Pi Ei, decimal k M G T P E, a decimal fraction ("1.5Gi", rounded
 * up to a whole byte) or an exponent ("1e6"). "m" (milli) is refused. */
int ps_quantity_parse_bytes(const char *s, long long *ret);

/* Docker's sizes (--memory=64m): a number with an optional b, k, m, g, t
 * suffix (any case; binary: k = 1024), the fraction rounded up. */
int ps_size_parse_docker(const char *s, long long *ret);

/* CPUs as Kubernetes ("500m") or Docker (--cpus=0.5) write them: millicpus,
 * or a decimal number of CPUs with at most three decimals. > 0. */
int ps_cpu_parse_millis(const char *s, long long *ret);

#pragma GCC visibility pop

#endif
