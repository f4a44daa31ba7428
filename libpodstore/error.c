/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <podstore/error.h>

/* When even the message cannot be allocated, the error still carries its
 * kind and errno; the CLI prints strerror() then. */
__attribute__((format(printf, 1, 0))) static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int ps_error_kind_errno(ps_error_kind kind)
{
	switch (kind) {
	case PS_ERR_INVALID:
		return EINVAL;
	case PS_ERR_NOT_FOUND:
		return ENOENT;
	case PS_ERR_AMBIGUOUS:
		return ENOTUNIQ;
	case PS_ERR_TIMEOUT:
		return ETIMEDOUT;
	case PS_ERR_BUSY:
		return EBUSY;
	case PS_ERR_STATE:
		return EBADFD;
	case PS_ERR_FAILED:
	default:
		return EIO;
	}
}

static int error_fill(ps_error **err, ps_error_kind kind, int errnum, char *msg)
{
	int code = -(errnum > 0 ? errnum : ps_error_kind_errno(kind));

	if (!err || *err) {
		free(msg);
		return err && *err ? ps_error_code(*err) : code;
	}
	ps_error *e = calloc(1, sizeof(*e));
	if (!e) {
		free(msg);
		return code;
	}
	e->kind = kind;
	e->errnum = errnum;
	if (msg && errnum > 0) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", msg, strerror(errnum)) >= 0) {
			free(msg);
			msg = full;
		}
	}
	e->msg = msg;
	*err = e;
	return code;
}

int ps_error_set(ps_error **err, ps_error_kind kind, int errnum, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	return error_fill(err, kind, errnum, msg);
}

int ps_error_errno(ps_error **err, const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	return error_fill(err, PS_ERR_FAILED, errnum > 0 ? errnum : EIO, msg);
}

int ps_error_prefix(ps_error **err, int code, const char *fmt, ...)
{
	va_list ap;
	char *prefix, *full = NULL;

	if (!err || !*err)
		return code;
	va_start(ap, fmt);
	prefix = vformat(fmt, ap);
	va_end(ap);
	if (prefix && asprintf(&full, "%s: %s", prefix, (*err)->msg ? (*err)->msg : "") >= 0) {
		free((*err)->msg);
		(*err)->msg = full;
	}
	free(prefix);
	return code;
}

int ps_error_code(const ps_error *err)
{
	if (!err)
		return -EIO;
	return -(err->errnum > 0 ? err->errnum : ps_error_kind_errno(err->kind));
}

void ps_error_free(ps_error **err)
{
	if (!err || !*err)
		return;
	free((*err)->msg);
	free(*err);
	*err = NULL;
}
