#!/bin/bash
# Signals (issue 11): a foreground `podctl run` passes every catchable
# signal on to the app (SIGINT/SIGTERM keep their stop meaning); whatever
# kills the CLI or stage1, the pod's end is recorded; `podctl kill` sends a
# signal to all apps or one (--app), SIGKILL by default.
# The apps trap signals and say so through a FIFO of a volume, which the
# test reads with a bounded wait: no polling, no sleeps.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
G="$T_SCRATCH/gate"
mkdir -p "$G"
mkfifo "$G/out"
exec 3<>"$G/out" # read-write: opening never blocks, writers always find a reader

# next: the next line an app wrote (20 s at most).
next() {
	local line=""
	read -r -t 20 line <&3
	printf '%s\n' "$line"
}

# An app that reports every signal it can trap, as NAME-SIG.
trapper() {
	printf 'for s in USR1 USR2 HUP QUIT ALRM PWR WINCH; do trap "echo %s-$s >/gate/out" $s; done; echo %s-ready >/gate/out; while :; do sleep 0.05; done' "$1" "$1"
}

stage1_pid() { sed -n 's/.*"stage1Pid":\([0-9]*\).*/\1/p' "$PODCTL_DIR/pods/run/$1/pid"; }

t_begin "foreground run passes SIGUSR1, SIGUSR2, SIGHUP, SIGQUIT, SIGALRM, SIGPWR on to the app"
"$PODCTL" run --uuid-file-save="$T_SCRATCH/u1" -v "$G:/gate" "$ROOT" -- sh -c "$(trapper app)" &
PID=$!
t_bg "$PID"
ok=1
got=$(next)
[ "$got" = app-ready ] || ok=0
for s in USR1 USR2 HUP QUIT ALRM PWR; do
	[ "$ok" = 1 ] || break
	kill -"$s" "$PID"
	got=$(next)
	[ "$got" = "app-$s" ] || ok=0
done
U1=$(cat "$T_SCRATCH/u1")
if [ "$ok" = 1 ] && "$PODCTL" status "$U1" | grep -q "state *running"; then
	t_ok
else
	t_fail "after $s: got '$got'; status: $("$PODCTL" status "$U1" 2>&1 | head -3 | tr '\n' ' ')"
fi

t_begin "SIGTERM to the foreground run still stops the pod: exit 143, reason stopped"
kill -TERM "$PID"
wait "$PID"
rc=$?
if [ "$rc" -eq 143 ] && "$PODCTL" status "$U1" | grep -Eq "^exit +143 \(stopped"; then
	t_ok
else
	t_fail "rc $rc; $("$PODCTL" status "$U1" 2>&1 | grep ^exit)"
fi

t_begin "the CLI killed with SIGKILL: stage1 stops the pod and records its end"
"$PODCTL" run --uuid-file-save="$T_SCRATCH/u2" -v "$G:/gate" "$ROOT" -- sh -c "$(trapper app)" &
PID=$!
t_bg "$PID"
got=$(next)
U2=$(cat "$T_SCRATCH/u2")
kill -KILL "$PID"
wait "$PID" 2>/dev/null
if [ "$got" = app-ready ] && expect_exit 0 "$PODCTL" status --wait=30s "$U2" &&
	"$PODCTL" status "$U2" | grep -Eq "^exit +[0-9]+ \(stopped"; then
	t_ok
else
	t_fail "got '$got'; $("$PODCTL" status "$U2" 2>&1 | grep -E '^(state|exit)' | tr '\n' ' ')"
fi

t_begin "stage1 killed with SIGKILL under a foreground run: exit 137, the end recorded (stage1-killed)"
"$PODCTL" run --uuid-file-save="$T_SCRATCH/u3" -v "$G:/gate" "$ROOT" -- sh -c "$(trapper app)" 2>/dev/null &
PID=$!
t_bg "$PID"
got=$(next)
U3=$(cat "$T_SCRATCH/u3")
S1=$(stage1_pid "$U3")
[ -n "$S1" ] && kill -KILL "$S1"
wait "$PID"
rc=$?
if [ "$rc" -eq 137 ] && "$PODCTL" status "$U3" | grep -Eq "^exit +137 \(stage1-killed"; then
	t_ok
else
	t_fail "got '$got' stage1 $S1 (cli $PID) rc $rc; $("$PODCTL" status "$U3" 2>&1 | grep -E '^(state|exit)' | tr '\n' ' ')"
fi

cat >"$T_SCRATCH/two.json" <<JSON
{"version": 1,
 "volumes": [{"name": "gate", "kind": "host", "source": "$G"}],
 "apps": [{"name": "a", "image": "$ROOT", "exec": ["sh", "-c", $(trapper a | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')],
           "mounts": [{"volume": "gate", "path": "/gate"}]},
          {"name": "b", "image": "$ROOT", "exec": ["sh", "-c", $(trapper b | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')],
           "mounts": [{"volume": "gate", "path": "/gate"}]}]}
JSON

t_begin "kill --signal=USR1 reaches every app; names and numbers are accepted"
U=$("$PODCTL" run -d --manifest "$T_SCRATCH/two.json")
r1=$(next)
r2=$(next)
ok=1
for s in USR1 SIGUSR1 usr1 10; do
	expect_exit 0 "$PODCTL" kill --signal="$s" "$U" && [ "$OUT" = "$U" ] || ok=0
	pair=$( (next; next) | sort | tr '\n' ' ')
	[ "$pair" = "a-USR1 b-USR1 " ] || ok=0
done
if [ "$ok" = 1 ] && [ "$(printf '%s\n%s\n' "$r1" "$r2" | sort | tr '\n' ' ')" = "a-ready b-ready " ]; then
	t_ok
else
	t_fail "ready '$r1' '$r2', last pair '$pair', err $ERR"
fi

t_begin "kill --app=b -s USR2 reaches b only"
expect_exit 0 "$PODCTL" kill --app=b -s USR2 "$U"
first=$(next)
"$PODCTL" kill --app=a -s HUP "$U" >/dev/null
second=$(next) # a-USR2 would have come before a-HUP
if [ "$first" = b-USR2 ] && [ "$second" = a-HUP ]; then t_ok; else t_fail "got '$first' '$second'"; fi

# wait_exit UUID APP: until the events say APP exited (20 s at most; events
# replays what already happened, so no race with the exit itself).
wait_exit() {
	local line
	while IFS= read -r line; do
		case $line in *"\"app\":\"$2\""*EXITED*) return 0 ;; esac
	done < <(timeout 20 "$PODCTL" events --follow --format=json "$1")
	return 1
}

t_begin "kill --app=b (SIGKILL by default): b dies of signal 9, a runs on; b is then not running (exit 1)"
if expect_exit 0 "$PODCTL" kill --app=b "$U" && wait_exit "$U" b &&
	expect_exit 0 "$PODCTL" kill --app=a -s USR1 "$U" && [ "$(next)" = a-USR1 ]; then
	st=$("$PODCTL" status "$U")
	if echo "$st" | grep -Eq "^ +b .*exit 137 \(signal 9\)" && echo "$st" | grep -q "state *running" &&
		expect_exit 1 "$PODCTL" kill --app=b "$U" && one_line && echo "$ERR" | grep -q "app b is not running"; then
		t_ok
	else
		t_fail "status: $st; err: $ERR"
	fi
else
	t_fail "err: $ERR"
fi

t_begin "kill errors: unknown app 3, unknown pod 3, bad signal 2, exited pod 1; one line each"
ok=1
expect_exit 3 "$PODCTL" kill --app=nope "$U" && one_line && echo "$ERR" | grep -q "no app nope" || ok=0
expect_exit 3 "$PODCTL" kill no-such-pod && one_line || ok=0
expect_exit 2 "$PODCTL" kill --signal=NOPE "$U" || ok=0
expect_exit 2 "$PODCTL" kill --signal=0 "$U" || ok=0
expect_exit 2 "$PODCTL" kill || ok=0
"$PODCTL" kill "$U" >/dev/null # SIGKILL to a: the pod ends
"$PODCTL" status --wait=30s "$U" >/dev/null
expect_exit 1 "$PODCTL" kill "$U" && one_line && echo "$ERR" | grep -q "not running" || ok=0
if [ "$ok" = 1 ]; then t_ok; else t_fail "last err: $ERR"; fi

t_begin "kill names pods by name too, and takes several"
V=$("$PODCTL" run -d --name killme "$ROOT" -- sleep 1000)
W=$("$PODCTL" run -d "$ROOT" -- sleep 1000)
if expect_exit 0 "$PODCTL" kill killme "$W" && [ "$OUT" = "$V
$W" ] && "$PODCTL" status --wait=30s "$V" >/dev/null && "$PODCTL" status --wait=30s "$W" >/dev/null &&
	"$PODCTL" status "$V" | grep -Eq "^exit +137"; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_end
