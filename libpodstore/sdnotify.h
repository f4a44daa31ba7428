/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PODSTORE_SDNOTIFY_H
#define PODSTORE_SDNOTIFY_H

/*
 * The sending side of the sd_notify datagram protocol, shared by
 * `podctl notify`, the static podctl-notify that stage1 binds into apps, and
 * stage1 itself (READY=1 / STATUS= to an outer systemd). Internal, not
 * installed; libc only, so podctl-notify links statically without the
 * library. Functions return 0 or a negative errno and never print.
 */

#include <stddef.h>

/* Longest datagram we send or accept (systemd's limit too). */
#define PS_NOTIFY_MSG_MAX 4096

/*
 * Send one datagram to addr: a path, or "@name" for an abstract socket (as
 * $NOTIFY_SOCKET spells them). -EINVAL for an empty or over-long address or
 * message, else what sendto() says.
 */
int ps_sd_notify_send(const char *addr, const char *msg, size_t len);

/*
 * Send, then wait (at most timeout_ms) until the receiver has handled it: a
 * second datagram "BARRIER=1" carries the write end of a pipe, which the
 * receiver closes once it got there (sd_notify_barrier()'s protocol). The
 * sender stays alive meanwhile, so a receiver that checks who sent a
 * message (podctl's: the sender's mount ns) can. -ETIMEDOUT if it did not
 * answer in time (the message itself was sent).
 */
int ps_sd_notify_send_wait(const char *addr, const char *msg, size_t len, int timeout_ms);

/* Same, to $NOTIFY_SOCKET; -ENXIO when it is unset or empty. */
int ps_sd_notify_env(const char *msg);

/*
 * Build a message from command words: "ready", "stopping", "reloading",
 * "watchdog", "status=TEXT", "mainpid=N", or raw "KEY=VALUE" lines given
 * upper case ("EXTEND_TIMEOUT_USEC=…"). One line per word; *ret is malloc'd.
 * -EINVAL (with *ret_bad pointing at the word) for anything else or a word
 * with a newline, -E2BIG when the message would exceed PS_NOTIFY_MSG_MAX.
 */
int ps_sd_notify_build(int argc, char *const *argv, char **ret, size_t *ret_len,
                       const char **ret_bad);

#endif
