/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_ERROR_H
#define PODSTORE_ERROR_H

/*
 * Errors travel up as a ps_error the caller owns and prints once.
 *
 * Every fallible function returns 0 (or a non-negative value) on success and a
 * negative errno on failure, and on failure fills *err (when err is not NULL
 * and *err is still NULL) with a kind, the errno and a message. The return
 * value alone is enough to branch on: an error with no errno of its own
 * returns its kind's (ps_error_kind_errno(): not found -ENOENT, invalid
 * -EINVAL, ambiguous -ENOTUNIQ, timeout -ETIMEDOUT, busy -EBUSY, state -EBADFD,
 * failed -EIO), so a caller passing err = NULL still tells "no such image"
 * from "bad image". Callers on the way up add context with ps_error_prefix(),
 * so the CLI can print one line such as
 * "prepare pod 3f2a…: write manifest: No space left on device".
 * Output parameters (ret_*) are last and untouched on failure. A ps_error is
 * freed with ps_error_free(); the first error set wins.
 */

#include <stdarg.h>

/* What is declared here is exported (Documentation/devel/library.md). */
#pragma GCC visibility push(default)

typedef enum ps_error_kind {
	PS_ERR_FAILED = 1,     /* an operation failed (exit 1) */
	PS_ERR_INVALID,        /* bad input: manifest, uuid, argument (exit 2 in the CLI
	                          for arguments, 1 for files) */
	PS_ERR_NOT_FOUND,      /* no such pod or image (exit 3) */
	PS_ERR_AMBIGUOUS,      /* a uuid or digest prefix names several (exit 3) */
	PS_ERR_TIMEOUT,        /* a wait ran out of time (exit 4) */
	PS_ERR_BUSY,           /* the pod is locked by someone else */
	PS_ERR_STATE,          /* the pod is not in a state that allows this */
} ps_error_kind;

typedef struct ps_error {
	ps_error_kind kind;
	int errnum;  /* positive errno, 0 when none applies */
	char *msg;   /* full message, context first */
} ps_error;

/* Fill *err (if err and *err is NULL) and return -errnum, or the kind's
 * -errno when errnum is 0 (with *err already set: that error's code). A
 * non-zero errnum's strerror() is appended to the message. */
int ps_error_set(ps_error **err, ps_error_kind kind, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Like ps_error_set(PS_ERR_FAILED, errno, ...). */
int ps_error_errno(ps_error **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepend "context: " to the error in *err, if any, and return code (the
 * negative errno the failed call returned), so `return ps_error_prefix(err,
 * r, "layer %zu", i);` keeps r whether or not the caller asked for err. */
int ps_error_prefix(ps_error **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The negative errno err stands for: -errnum, else its kind's; -EIO for NULL. */
int ps_error_code(const ps_error *err);

/* The positive errno of a kind when the error has none of its own. */
int ps_error_kind_errno(ps_error_kind kind);

/* Free *err and set it to NULL; NULL and *err == NULL are fine. */
void ps_error_free(ps_error **err);

#pragma GCC visibility pop

#endif
