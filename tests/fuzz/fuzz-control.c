/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fuzz target for the control socket's request parser (libpodstore/control.c),
 * which stage1 runs on whatever a local client sends, and for the signal
 * names podctl kill takes: a request parses or is -EBADMSG; a parsed one has
 * its fields in range and, written out again as the client writes it, parses
 * to the same request; a signal name gives 1.._NSIG-1 or -EINVAL.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <podstore/control.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ps_control_request r, again;
	char buf[PS_CONTROL_MSG_MAX + 32];
	int n;

	int rc = ps_control_parse((const char *)data, size, &r);
	if (rc != 0 && rc != -EBADMSG)
		abort();
	if (rc == 0) {
		switch (r.op) {
		case PS_CONTROL_STOP:
			if (r.timeout_ms < 0)
				abort();
			n = snprintf(buf, sizeof(buf), "stop %lld", r.timeout_ms);
			break;
		case PS_CONTROL_KILL:
			n = snprintf(buf, sizeof(buf), "kill");
			break;
		case PS_CONTROL_ATTACH:
			n = snprintf(buf, sizeof(buf), "attach");
			break;
		case PS_CONTROL_SIGNAL:
			if (r.signal < 1 || r.signal >= _NSIG || strlen(r.app) > PS_CONTROL_APP_MAX ||
			    strchr(r.app, ' '))
				abort();
			n = r.app[0] ? snprintf(buf, sizeof(buf), "signal %d %s", r.signal, r.app)
			             : snprintf(buf, sizeof(buf), "signal %d", r.signal);
			break;
		default:
			abort();
		}
		if (n < 0 || (size_t)n >= sizeof(buf) || ps_control_parse(buf, (size_t)n, &again) != 0 ||
		    again.op != r.op || again.signal != r.signal || strcmp(again.app, r.app) != 0 ||
		    (r.op == PS_CONTROL_STOP && again.timeout_ms != r.timeout_ms))
			abort();
	}
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	int sig = ps_signal_parse(s);
	if (sig != -EINVAL && (sig < 1 || sig >= _NSIG))
		abort();
	free(s);
	return 0;
}
