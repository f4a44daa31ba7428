#!/bin/bash
# Supervision in stage1: start groups, liveness / readiness probes, hung
# probes, restarts with back-off, the watchdog, outer NOTIFY_SOCKET, and a
# goal timeout's FAILED status. Probes run every second; every wait is on an
# event (podctl wait, status --wait-ready, events --follow, fifos, pidfds).
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || t_skip "python3 is needed (notify receiver, pidfd waits)"
ROOT=$(t_rootfs)
DATA="$T_SCRATCH/data"
mkdir -p "$DATA"

# manifest NAME APPS_JSON: a pod with /data (host volume $DATA) in every app.
manifest() {
	cat >"$T_SCRATCH/$1.json" <<-JSON
	{"version": 1,
	 "volumes": [{"name": "data", "kind": "host", "source": "$DATA"}],
	 "apps": $2}
	JSON
	echo "$T_SCRATCH/$1.json"
}
# app NAME EXEC_JSON EXTRA_JSON: one app entry with /data mounted.
app() {
	printf '{"name": "%s", "image": "%s", "exec": %s, "mounts": [{"volume": "data", "path": "/data"}]%s}' \
		"$1" "$ROOT" "$2" "${3:+, $3}"
}
# ev_open UUID: follow the pod's events on fd 8; ev_wait GLOB: block until
# the next event line matching GLOB (false at the end: timeout); ev_close.
# Lines are read one by one, so nothing after a match is lost.
ev_open() {
	exec 8< <(exec timeout 20 "$PODCTL" events --follow --format=json "$1")
	EV_PID=$!
	t_bg "$EV_PID"
}
ev_wait() {
	local line
	while IFS= read -r line <&8; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ $line == $1 ]] && return 0
	done
	return 1
}
ev_close() {
	kill "$EV_PID" 2>/dev/null
	exec 8<&-
}
# wait_event UUID GLOB: ev_open + ev_wait + ev_close.
wait_event() {
	local r
	ev_open "$1"
	ev_wait "$2"
	r=$?
	ev_close
	return $r
}
# app_field UUID APP KEY: a top-level field of the app in status --format=json
# (pretty-printed: one key per line). awk, not python: python3 starts slowly here.
app_field() {
	"$PODCTL" status --format=json "$1" | awk -v app="$2" -v key="\"$3\":" '
		$1 == "\"name\":" { cur = $2; gsub(/[",]/, "", cur) }
		cur == app && $1 == key { v = $0; sub(/^[^:]*: /, "", v); sub(/,$/, "", v); gsub(/"/, "", v); print v; exit }'
}

t_begin "start groups: group 1 stays BLOCKED until group 0 is READY"
mkfifo "$DATA/go"
m=$(manifest groups "[$(app first '["sh", "-c", "read x < /data/go; /.podctl/notify ready; exec sleep 1000"]' \
	'"statusGoal": "READY"'), $(app second '["sleep", "1000"]' '"startGroup": 1')]")
if expect_exit 0 "$PODCTL" run --detach --manifest "$m"; then
	U=$OUT
	if wait_event "$U" '*"app":"second"*"to":"BLOCKED"*' && [ "$(app_field "$U" first status)" = STARTED ] &&
		[ "$(app_field "$U" second status)" = BLOCKED ]; then
		echo go >"$DATA/go"
		if expect_exit 0 "$PODCTL" status --wait-ready=10s "$U" &&
			[ "$(app_field "$U" first status)" = READY ] && [ "$(app_field "$U" second status)" = STARTED ]; then
			t_ok
		else
			t_fail "after READY: $("$PODCTL" status "$U")"
		fi
	else
		t_fail "second not BLOCKED: $("$PODCTL" status "$U")"
	fi
	"$PODCTL" stop --force "$U" >/dev/null
else
	t_fail "run failed"
fi

t_begin "a failing liveness probe restarts the app (restartPolicy always), the count rises"
touch "$DATA/live"
m=$(manifest liveness "[$(app web '["sleep", "1000"]' '"restartPolicy": "always",
	"restartBackoff": {"initial": "100ms", "max": "1s"},
	"livenessProbe": {"exec": {"command": ["sh", "-c", "echo checking; test -e /data/live"]},
	                  "periodSeconds": 1, "failureThreshold": 1}')]")
if expect_exit 0 "$PODCTL" run --detach --manifest "$m"; then
	U=$OUT
	ev_open "$U"
	ev_wait '*"to":"passing"*' # liveness passed once
	rm "$DATA/live"
	ev_wait '*"type":"restart","reason":"restart #1"*'
	touch "$DATA/live"
	ev_wait '*"to":"STARTED"*' # running again
	ev_wait '*"to":"passing"*' # and its liveness probe passed since: lastProbe is set
	ev_close
	restarts=$(app_field "$U" web restarts)
	lp=$("$PODCTL" status --format=json "$U")
	if [ "${restarts:-0}" -ge 1 ] && expect_exit 0 "$PODCTL" wait --for=healthy --timeout=10s "$U" &&
		echo "$lp" | grep -q '"message": "checking"' && "$PODCTL" status "$U" | grep -q "restarts $restarts"; then
		t_ok
	else
		t_fail "restarts=$restarts: $lp"
	fi
	"$PODCTL" stop "$U" >/dev/null
	t_begin "stop of a restartPolicy always app: STOPPED, not restarted, the pod exits stopped"
	if expect_exit 0 "$PODCTL" wait --for=exited --timeout=10s "$U" &&
		[ "$(app_field "$U" web status)" = STOPPED ] &&
		"$PODCTL" status --format=json "$U" | grep -q '"exitReason": "stopped"'; then
		t_ok
	else
		t_fail "$("$PODCTL" status "$U")"
	fi
else
	t_fail "run failed"
fi

t_begin "a readiness probe flips ready off and on"
touch "$DATA/ready"
m=$(manifest readiness "[$(app web '["sleep", "1000"]' '"readinessProbe": {"exec": {"command": ["test", "-e", "/data/ready"]},
	"periodSeconds": 1, "failureThreshold": 1}')]")
if expect_exit 0 "$PODCTL" run --detach --manifest "$m" && U=$OUT &&
	expect_exit 0 "$PODCTL" status --wait-ready=10s "$U"; then
	ev_open "$U"
	rm "$DATA/ready"
	ev_wait '*"type":"unready"*'
	ev_close
	if expect_exit 4 "$PODCTL" status --wait-ready=1ms "$U" && [ "$(app_field "$U" web status)" = STARTED ] &&
		[ ! -e "$PODCTL_DIR/pods/run/$U/ready" ]; then
		touch "$DATA/ready"
		if expect_exit 0 "$PODCTL" status --wait-ready=10s "$U" && [ "$(app_field "$U" web status)" = READY ]; then
			t_ok
		else
			t_fail "not ready again: $("$PODCTL" status "$U")"
		fi
	else
		t_fail "still ready: $("$PODCTL" status "$U")"
	fi
	"$PODCTL" stop --force "$U" >/dev/null
else
	t_fail "run or first readiness failed"
fi

t_begin "a hung exec probe is killed at its timeout: a failure, no process left"
# /proc/*/cmdline "sleep 1234" of the probe: after the timeout, each must end
# (a pidfd wait, bounded); a leaked one never would.
gone() {
	python3 - "$1" <<-'PY'
	import os, select, sys
	want = sys.argv[1].encode().replace(b" ", b"\0") + b"\0"
	for p in os.listdir("/proc"):
	    if not p.isdigit():
	        continue
	    try:
	        if open(f"/proc/{p}/cmdline", "rb").read() != want:
	            continue
	        fd = os.pidfd_open(int(p))
	    except OSError:
	        continue
	    if not select.select([fd], [], [], 5)[0]:
	        sys.exit(f"pid {p} still there")
	PY
}
m=$(manifest hung "[$(app web '["sleep", "1000"]' '"readinessProbe": {"exec": {"command": ["sleep", "1234"]},
	"periodSeconds": 30, "timeoutSeconds": 1, "failureThreshold": 1}')]")
if expect_exit 0 "$PODCTL" run --detach --manifest "$m" && U=$OUT &&
	wait_event "$U" '*"type":"probe"*"to":"failing"*timed out after 1s*'; then
	j=$("$PODCTL" status --format=json "$U")
	if gone "sleep 1234" && echo "$j" | grep -q '"result": "timeout"' && echo "$j" | grep -q '"readiness": "failing"'; then
		t_ok
	else
		t_fail "$j"
	fi
	"$PODCTL" stop --force "$U" >/dev/null
else
	t_fail "no timeout event"
fi

t_begin "watchdog: an app that stops sending WATCHDOG=1 is killed and restarted"
m=$(manifest watchdog "[$(app web '["sh", "-c", "/.podctl/notify watchdog; /.podctl/notify status=wd-$WATCHDOG_USEC; exec sleep 1000"]' \
	'"watchdog": "300ms", "restartPolicy": "on-failure", "restartBackoff": {"initial": "100ms"}')]")
if expect_exit 0 "$PODCTL" run --detach --manifest "$m" && U=$OUT &&
	wait_event "$U" '*"type":"restart","reason":"restart #1"*' &&
	"$PODCTL" events "$U" | grep -q 'watchdog: no WATCHDOG=1 within 300 ms' &&
	"$PODCTL" status "$U" | grep -q 'status: wd-300000'; then
	t_ok
else
	t_fail "$("$PODCTL" events "$U" 2>&1 | tail -5)"
fi
"$PODCTL" stop --force "$U" >/dev/null 2>&1

t_begin "restartPolicy on-failure: a failing app is restarted until it succeeds; the pod then ends ok"
rm -f "$DATA/count"
m=$(manifest onfail "[$(app job '["sh", "-c", "echo x >> /data/count; [ $(wc -l < /data/count) -ge 3 ]"]' \
	'"restartPolicy": "on-failure", "restartBackoff": {"initial": "50ms", "max": "100ms"}')]")
if expect_exit 0 "$PODCTL" run --uuid-file-save="$T_SCRATCH/onfail.uuid" --manifest "$m" &&
	U=$(cat "$T_SCRATCH/onfail.uuid") && [ "$(app_field "$U" job restarts)" = 2 ] &&
	[ "$(app_field "$U" job status)" = EXITED ] && [ "$(wc -l <"$DATA/count")" -eq 3 ]; then
	t_ok
else
	t_fail "$("$PODCTL" status "$U" 2>&1)"
fi

t_begin "outer NOTIFY_SOCKET: READY=1 arrives once the pod is ready"
mkfifo "$DATA/go3" "$T_SCRATCH/bound"
python3 - "$T_SCRATCH/outer.sock" "$T_SCRATCH/bound" >"$T_SCRATCH/outer.log" <<-'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w") as f:
    f.write("bound\n")
s.settimeout(20)
while True:
    msg = s.recv(4096).decode()
    print(msg.replace("\n", " "), flush=True)
    if "READY=1" in msg.split("\n"):
        break
PY
RCV=$!
t_bg $RCV
read -r _ <"$T_SCRATCH/bound" # the receiver's socket is bound
m=$(manifest outer "[$(app web '["sh", "-c", "read x < /data/go3; /.podctl/notify ready; exec sleep 1000"]' '"statusGoal": "READY"')]")
NOTIFY_SOCKET="$T_SCRATCH/outer.sock" "$PODCTL" run --uuid-file-save="$T_SCRATCH/outer.uuid" --manifest "$m" \
	>/dev/null 2>&1 &
t_bg $!
echo go >"$DATA/go3" # blocks until the app reads: the pod runs
if wait "$RCV" && grep -q '^READY=1' "$T_SCRATCH/outer.log" && U=$(cat "$T_SCRATCH/outer.uuid") &&
	expect_exit 0 "$PODCTL" status --wait-ready=1ms "$U"; then
	t_ok
else
	t_fail "received: $(cat "$T_SCRATCH/outer.log")"
fi
"$PODCTL" stop --force "$(cat "$T_SCRATCH/outer.uuid")" >/dev/null 2>&1

t_begin "goal timeout: the app's final status stays FAILED with its reason"
m=$(manifest goalfail "[$(app web '["sleep", "1000"]' '"statusGoal": "READY", "goalTimeout": "200ms"')]")
if expect_exit 4 "$PODCTL" run --uuid-file-save="$T_SCRATCH/gf.uuid" --manifest "$m" &&
	U=$(cat "$T_SCRATCH/gf.uuid") && [ "$(app_field "$U" web status)" = FAILED ] &&
	[ "$(app_field "$U" web reason)" = goal-timeout ]; then
	t_ok
else
	t_fail "$("$PODCTL" status "$U" 2>&1)"
fi

t_end
