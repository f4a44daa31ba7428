#!/bin/bash
# podctl run --detach --wait-ready: start and wait for readiness in one go.
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
mkdir -p "$T_SCRATCH/share"
mkfifo "$T_SCRATCH/share/go"
VOL="share,kind=host,source=$T_SCRATCH/share,target=/share"

t_begin "run --detach --wait-ready returns 0 only once the app said READY=1"
# The app waits on a fifo we hold, then notifies. Until we write to it the
# pod cannot be ready, so --wait-ready must still be waiting: a short timeout
# proves it (exit 4), then releasing the app makes a second wait return 0.
# Without --wait-ready, run --detach returns as soon as the pod runs.
U=$("$PODCTL" run --detach --status-goal=READY --volume="$VOL" "$ROOT" -- \
	sh -c 'read x < /share/go; /.podctl/notify ready; exec sleep 1000')
if expect_exit 4 "$PODCTL" status --wait-ready=300ms "$U" && one_line; then
	echo go >"$T_SCRATCH/share/go"
	if expect_exit 0 "$PODCTL" status --wait-ready=10s "$U"; then t_ok; else t_fail "not ready after READY=1"; fi
else
	t_fail "ready before the app said so"
fi
"$PODCTL" stop --force "$U" >/dev/null 2>&1

t_begin "run --detach --wait-ready=DUR: the uuid is printed, exit 0 when ready"
mkfifo "$T_SCRATCH/share/go2"
# Blocks until the app opens the fifo: the release comes from inside the run.
echo go >"$T_SCRATCH/share/go2" &
t_bg $!
if expect_exit 0 "$PODCTL" run --detach --wait-ready=10s --status-goal=READY --volume="$VOL" "$ROOT" -- \
	sh -c 'read x < /share/go2; /.podctl/notify ready; exec sleep 1000' &&
	ps_u=$OUT && [ -n "$ps_u" ] && "$PODCTL" status --format=json "$ps_u" | grep -q '"ready": true'; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi
"$PODCTL" stop --force "$ps_u" >/dev/null 2>&1

t_begin "run --detach --wait-ready: exit 4 on timeout, uuid still printed"
if expect_exit 4 "$PODCTL" run --detach --wait-ready=300ms --status-goal=READY "$ROOT" -- sleep 1000 &&
	[ -n "$OUT" ] && one_line; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi
"$PODCTL" stop --force "$OUT" >/dev/null 2>&1

t_begin "run --detach --wait-ready: exit 1 at once, with the reason, when the pod exits unready"
if expect_exit 1 "$PODCTL" run --detach --wait-ready=60s --status-goal=READY "$ROOT" -- sh -c 'exit 7' &&
	one_line && grep -q "without becoming ready" <<<"$ERR"; then
	t_ok
else
	t_fail "err: $ERR"
fi

t_begin "--wait-ready without --detach is a usage error"
if expect_exit 2 "$PODCTL" run --wait-ready "$ROOT" -- true && one_line; then t_ok; else t_fail "err: $ERR"; fi

t_end
