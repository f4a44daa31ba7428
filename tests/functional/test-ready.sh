#!/bin/bash
# Readiness: sd_notify READY=1 (podctl's client, systemd-notify), --wait-ready,
# goal timeouts, senders outside the app, events.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
SHARED="$T_SCRATCH/shared"
mkdir -p "$SHARED"

# manifest NAME GOAL_TIMEOUT EXEC_JSON: one app "web", goal READY, /shared bound.
manifest() {
	cat >"$T_SCRATCH/$1.json" <<-JSON
	{"version": 1,
	 "volumes": [{"name": "shared", "kind": "host", "source": "$SHARED"}],
	 "apps": [{"name": "web", "image": "$ROOT", "exec": $3,
	           "statusGoal": "READY", "goalTimeout": "$2",
	           "mounts": [{"volume": "shared", "path": "/shared"}]}]}
	JSON
	echo "$T_SCRATCH/$1.json"
}

t_begin "READY=1 from /.podctl/notify makes the pod ready; --wait-ready wakes on it"
mkfifo "$SHARED/go"
m=$(manifest ready 30s '["sh", "-c", "read x < /shared/go; /.podctl/notify ready status=serving; exec sleep 1000"]')
if expect_exit 0 "$PODCTL" run --detach --manifest "$m"; then
	U=$OUT
	# not ready while the app waits on the fifo
	if expect_exit 4 "$PODCTL" status --wait-ready=100ms "$U"; then
		echo go >"$SHARED/go"
		if expect_exit 0 "$PODCTL" status --wait-ready=10s "$U" &&
			echo "$OUT" | grep -q '^ready *true' && echo "$OUT" | grep -q 'web *READY' &&
			echo "$OUT" | grep -q 'status: serving'; then
			t_ok
		else
			t_fail "status: $OUT"
		fi
	else
		t_fail "ready too early"
	fi
else
	t_fail "run failed"
fi

t_begin "events record the status changes and readiness"
if expect_exit 0 "$PODCTL" events --format=json "$U" &&
	echo "$OUT" | grep -q '"from":"STARTED","to":"READY","reason":"READY=1"' &&
	echo "$OUT" | grep -q '"type":"ready"' && echo "$OUT" | grep -q '"type":"notify".*serving'; then
	t_ok
else
	t_fail "events: $OUT"
fi

t_begin "podctl wait --for=ready and --for=exited"
if expect_exit 0 "$PODCTL" wait --for=ready "$U" && expect_exit 4 "$PODCTL" wait --for=exited --timeout=50ms "$U" &&
	"$PODCTL" stop "$U" >/dev/null && expect_exit 0 "$PODCTL" wait --for=exited --timeout=10s "$U"; then
	t_ok
else
	t_fail "see above"
fi

t_begin "--wait-ready on an exited pod returns at once with exit 1"
if expect_exit 1 "$PODCTL" status --wait-ready=10s "$U" && one_line; then t_ok; else t_fail "got: $ERR"; fi

t_begin "a sender outside the app (alive, on the host) is ignored"
if command -v python3 >/dev/null; then
	mkfifo "$SHARED/go2" "$T_SCRATCH/hold"
	m=$(manifest outside 30s '["sh", "-c", "read x < /shared/go2; /.podctl/notify status=second; exec sleep 1000"]')
	if expect_exit 0 "$PODCTL" run --detach --manifest "$m"; then
		U2=$OUT
		sock="$PODCTL_DIR/pods/run/$U2/apps/web/notify"
		# Send READY=1 from the host and stay alive until told (the fifo).
		python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"READY=1", sys.argv[1])
print("sent", flush=True)
open(sys.argv[2]).read()' "$sock" "$T_SCRATCH/hold" >"$T_SCRATCH/sent" &
		t_bg $!
		exec 9>"$T_SCRATCH/hold"
		read -r _ <"$T_SCRATCH/sent" || true
		# The app's own message comes after the host's on the same socket:
		# once its STATUS= is seen, the host's READY=1 has been handled.
		echo go >"$SHARED/go2"
		exec 8< <(timeout 10 "$PODCTL" events --follow --format=json "$U2")
		grep -m1 -q second <&8
		exec 9>&- 8<&-
		if expect_exit 4 "$PODCTL" status --wait-ready=1ms "$U2" &&
			"$PODCTL" status "$U2" | grep -q 'web *STARTED'; then
			t_ok
		else
			t_fail "became ready: $("$PODCTL" status "$U2")"
		fi
		"$PODCTL" stop --force "$U2" >/dev/null
	else
		t_fail "run failed"
	fi
else
	t_skip "python3 is needed for a sender that stays alive"
fi

t_begin "an app that never gets ready fails the pod: goal-timeout, exit 4"
m=$(manifest never 300ms '["sleep", "1000"]')
if expect_exit 4 "$PODCTL" run --uuid-file-save="$T_SCRATCH/never.uuid" --manifest "$m" &&
	"$PODCTL" status --format=json "$(cat "$T_SCRATCH/never.uuid")" >"$T_SCRATCH/never.json" &&
	grep -q '"exitReason": "goal-timeout"' "$T_SCRATCH/never.json" &&
	grep -q '"exitApp": "web"' "$T_SCRATCH/never.json"; then
	t_ok
else
	t_fail "status: $(cat "$T_SCRATCH/never.json" 2>/dev/null)"
fi

t_begin "systemd-notify --ready inside the pod makes it ready"
if sn=$(command -v systemd-notify); then
	for lib in $(ldd "$sn" | grep -o '/[^ ]*'); do
		mkdir -p "$ROOT$(dirname "$lib")"
		cp -L "$lib" "$ROOT$lib"
	done
	cp "$sn" "$ROOT/bin/systemd-notify"
	m=$(manifest sdnotify 20s '["sh", "-c", "systemd-notify --ready --status=from-systemd-notify; exec sleep 1000"]')
	if expect_exit 0 "$PODCTL" run --detach --manifest "$m" && U3=$OUT &&
		expect_exit 0 "$PODCTL" status --wait-ready=10s "$U3" && echo "$OUT" | grep -q 'from-systemd-notify'; then
		t_ok
	else
		t_fail "status: $OUT $ERR"
	fi
	"$PODCTL" stop --force "$U3" >/dev/null 2>&1
else
	t_fail "systemd-notify not installed"
fi

t_end
