#!/bin/bash
# podctl logs: --timestamps, --since, --tail (with rotation and --follow),
# init apps, foreground pods, and the manifest's logSize.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
STAMP_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z '

# A pod that prints "early", then waits for a line on a fifo, prints
# "late 1" .. "late 3" and exits: the test knows "early" is logged before
# it lets the rest happen (logs --follow shows it), without sleeping.
mkfifo "$T_SCRATCH/go"
before=$(date -u +%s)
t_begin "--timestamps shows when each line was written"
if expect_exit 0 "$PODCTL" run --detach --volume "ctl,kind=host,source=$T_SCRATCH,target=/ctl" "$ROOT" -- \
	sh -c 'echo early; read x </ctl/go; echo late 1; echo late 2; printf "late "; echo 3' && U=$OUT; then
	# "early" is in the log (logs --follow printed it) before the app goes on
	exec 3< <(exec timeout 30 "$PODCTL" logs --follow "$U" 2>&1)
	read -r first_line <&3
	timeout 20 sh -c "echo go >'$T_SCRATCH/go'"
	timeout 20 "$PODCTL" wait "$U" >/dev/null
	{ printf '%s\n' "$first_line"; cat <&3; } >"$T_SCRATCH/follow"
	exec 3<&-
	after=$(date -u +%s)
	expect_exit 0 "$PODCTL" logs --timestamps "$U"
	stamps=$(printf '%s\n' "$OUT" | grep -cE "$STAMP_RE")
	first=$(printf '%s\n' "$OUT" | head -1 | cut -d' ' -f1)
	first_s=$(date -u -d "$first" +%s)
	if [ "$stamps" -eq 4 ] && [ "$first_s" -ge "$before" ] && [ "$first_s" -le "$after" ] &&
		[ "$(printf '%s\n' "$OUT" | cut -d' ' -f2-)" = "early
late 1
late 2
late 3" ] && [ "$(cat "$T_SCRATCH/follow")" = "early
late 1
late 2
late 3" ]; then
		t_ok
	else
		t_fail "got: $OUT follow: $(cat "$T_SCRATCH/follow")"
	fi
else
	t_fail "see above"
fi

t_begin "without --timestamps the lines are as the app wrote them"
if expect_exit 0 "$PODCTL" logs "$U" && [ "$OUT" = "early
late 1
late 2
late 3" ]; then t_ok; else t_fail "got: $OUT"; fi

t_begin "--since=TIME: only lines written at or after TIME"
# One nanosecond after "early" was read: "early" is out, the rest in (the
# rest was written after the test let the app go, so later).
early_ts=$("$PODCTL" logs --timestamps "$U" | head -1 | cut -d' ' -f1)
secs=${early_ts%.*}
ns=${early_ts#*.}
ns=${ns%Z}
next=$(printf '%s.%09dZ' "$secs" $((10#$ns + 1)))
if [ "$ns" != 999999999 ] && expect_exit 0 "$PODCTL" logs --since="$next" "$U" && [ "$OUT" = "late 1
late 2
late 3" ]; then
	t_ok
else
	t_fail "since $next got: $OUT"
fi

t_begin "--since with a UTC offset, a duration, Unix seconds"
# the same instant written as +01:00; an hour ago; a time in the future
local_t=$(date -u -d "$secs" +%s)
plus1=$(date -u -d "@$((local_t + 3600))" +%Y-%m-%dT%H:%M:%S).$(printf %09d $((10#$ns + 1)))+01:00
if expect_exit 0 "$PODCTL" logs --since="$plus1" "$U" && [ "$(printf '%s\n' "$OUT" | head -1)" = "late 1" ] &&
	expect_exit 0 "$PODCTL" logs --since=1h "$U" && [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 4 ] &&
	expect_exit 0 "$PODCTL" logs --since=$(($(date +%s) + 3600)) "$U" && [ -z "$OUT" ] &&
	expect_exit 2 "$PODCTL" logs --since=yesterday "$U" && one_line; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "--tail=N: the last N lines; 0 none; all of them"
if expect_exit 0 "$PODCTL" logs --tail=2 "$U" && [ "$OUT" = "late 2
late 3" ] &&
	expect_exit 0 "$PODCTL" logs -n 1 --timestamps "$U" && [[ $OUT =~ $STAMP_RE"late 3"$ ]] &&
	expect_exit 0 "$PODCTL" logs --tail=0 "$U" && [ -z "$OUT" ] &&
	expect_exit 0 "$PODCTL" logs --tail=all "$U" && [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 4 ] &&
	expect_exit 0 "$PODCTL" logs --tail=9 --since="$next" "$U" && [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 3 ] &&
	expect_exit 2 "$PODCTL" logs --tail=-1 "$U" && one_line; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "logSize rotates the log; --tail reaches back into log.1"
cat >"$T_SCRATCH/rot.json" <<EOF
{"version": 1, "apps": [{"name": "big", "image": "$ROOT", "logSize": "64Ki",
  "exec": ["sh", "-c", "i=0; while [ \$i -lt 3000 ]; do echo line \$i; i=\$((i+1)); done"]}]}
EOF
if expect_exit 0 "$PODCTL" run --detach --manifest "$T_SCRATCH/rot.json" && R=$OUT &&
	timeout 30 "$PODCTL" wait "$R" >/dev/null; then
	d=$PODCTL_DIR/pods/run/$R/apps/big
	expect_exit 0 "$PODCTL" logs --tail=3 "$R"
	tail3=$OUT
	log_lines=$(wc -l <"$d/log")
	expect_exit 0 "$PODCTL" logs --tail=$((log_lines + 2)) "$R"
	# a file never passes logSize; log.1 was filled to within a stamp and a byte
	if [ -f "$d/log.1" ] && [ "$(stat -c %s "$d/log")" -le $((64 * 1024)) ] &&
		[ "$(stat -c %s "$d/log.1")" -le $((64 * 1024)) ] &&
		[ "$(stat -c %s "$d/log.1")" -gt $((64 * 1024 - 32)) ] && [ "$tail3" = "line 2997
line 2998
line 2999" ] && [ "$(printf '%s\n' "$OUT" | head -1)" = "line $((3000 - log_lines - 2))" ]; then
		t_ok
	else
		t_fail "$(ls -l "$d") tail: $tail3 / $(printf '%s\n' "$OUT" | head -1) (log has $log_lines lines)"
	fi
else
	t_fail "see above"
fi

t_begin "logSize is validated and kept in the manifest"
sed 's/"64Ki"/"1Ki"/' "$T_SCRATCH/rot.json" >"$T_SCRATCH/bad.json"
if expect_exit 1 "$PODCTL" prepare --manifest "$T_SCRATCH/bad.json" && one_line && [[ $ERR == *"apps[0].logSize"* ]] &&
	expect_exit 0 "$PODCTL" cat-manifest "$R" && [[ $OUT == *'"logSize":65536'* || $OUT == *'"logSize": 65536'* ]]; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "--tail=1 --follow: the last line, then what comes"
if expect_exit 0 "$PODCTL" run --detach --volume "ctl,kind=host,source=$T_SCRATCH,target=/ctl" "$ROOT" -- \
	sh -c 'echo a; echo b; read x </ctl/go; echo c' && F=$OUT; then
	# wait for "b" to be logged (through a first follower), then follow from the last line
	exec 3< <(exec timeout 30 "$PODCTL" logs --follow "$F" 2>&1)
	read -r _ <&3
	read -r _ <&3
	# and that one printed its last line before the app goes on
	exec 4< <(exec timeout 30 "$PODCTL" logs --tail=1 --follow "$F" 2>&1)
	read -r tail_first <&4
	timeout 20 sh -c "echo go >'$T_SCRATCH/go'"
	if timeout 20 "$PODCTL" wait "$F" >/dev/null && [ "$tail_first
$(cat <&4)" = "b
c" ]; then
		t_ok
	else
		t_fail "got: $tail_first ..."
	fi
else
	t_fail "see above"
fi
exec 3<&- 4<&-

t_begin "--follow across a rotation: every line once, in order, without stamps"
# 1500 lines of ~9 bytes (+31 of stamp): ~60 KiB, one rotation at 32Ki, so
# nothing is rotated away before the follower reads it.
cat >"$T_SCRATCH/frot.json" <<EOF
{"version": 1, "volumes": [{"name": "ctl", "kind": "host", "source": "$T_SCRATCH"}],
 "apps": [{"name": "big", "image": "$ROOT", "logSize": "32Ki", "mounts": [{"volume": "ctl", "path": "/ctl"}],
  "exec": ["sh", "-c", "read x </ctl/go; i=0; while [ \$i -lt 1500 ]; do echo line \$i; i=\$((i+1)); done"]}]}
EOF
if expect_exit 0 "$PODCTL" run --detach --manifest "$T_SCRATCH/frot.json" && FR=$OUT; then
	"$PODCTL" logs --follow "$FR" >"$T_SCRATCH/frot.out" 2>&1 &
	fpid=$!
	t_bg "$fpid"
	timeout 20 sh -c "echo go >'$T_SCRATCH/go'"
	timeout 30 "$PODCTL" wait "$FR" >/dev/null
	if wait "$fpid" && [ -f "$PODCTL_DIR/pods/run/$FR/apps/big/log.1" ] &&
		[ "$(cat "$T_SCRATCH/frot.out")" = "$(for ((i = 0; i < 1500; i++)); do echo "line $i"; done)" ]; then
		t_ok
	else
		t_fail "$(wc -l <"$T_SCRATCH/frot.out") lines; first lines: $(head -3 "$T_SCRATCH/frot.out" | tr '\n' '|')"
	fi
else
	t_fail "see above"
fi

t_begin "init apps: offered when --app is missing, and their logs printed"
cat >"$T_SCRATCH/init.json" <<EOF
{"version": 1, "initApps": [{"name": "setup", "image": "$ROOT", "exec": ["echo", "from init"]}],
 "apps": [{"name": "web", "image": "$ROOT", "exec": ["echo", "from web"]},
          {"name": "db", "image": "$ROOT", "exec": ["echo", "from db"]}]}
EOF
if expect_exit 0 "$PODCTL" run --detach --manifest "$T_SCRATCH/init.json" && I=$OUT &&
	timeout 30 "$PODCTL" wait "$I" >/dev/null &&
	expect_exit 2 "$PODCTL" logs "$I" && one_line && [[ $ERR == *"web db; init apps: setup"* ]] &&
	expect_exit 0 "$PODCTL" logs --app=setup "$I" && [ "$OUT" = "from init" ] &&
	expect_exit 0 "$PODCTL" logs --app=db "$I" && [ "$OUT" = "from db" ] &&
	expect_exit 3 "$PODCTL" logs --app=nope "$I" && one_line; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "a pod that ran in the foreground: one line saying so, exit 1"
if expect_exit 0 "$PODCTL" run --name=fg "$ROOT" -- echo to the terminal &&
	expect_exit 1 "$PODCTL" logs fg && one_line && [[ $ERR == *"ran in the foreground"* ]] && [ -z "$OUT" ]; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "a prepared pod has no output yet: nothing, exit 0"
if expect_exit 0 "$PODCTL" prepare "$ROOT" -- echo x && expect_exit 0 "$PODCTL" logs "$OUT" && [ -z "$OUT" ] && [ -z "$ERR" ]; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "a log without stamps (an older stage1's) is printed as it is"
printf 'old line\nno stamp\n' >"$PODCTL_DIR/pods/run/$U/apps/rootfs/log"
if expect_exit 0 "$PODCTL" logs --timestamps "$U" && [ "$OUT" = "old line
no stamp" ] && expect_exit 0 "$PODCTL" logs --tail=1 "$U" && [ "$OUT" = "no stamp" ]; then
	t_ok
else
	t_fail "got: $OUT"
fi


# A detached stage1's stderr is /dev/null: what it says goes to stage1.log.
t_begin "a detached stage1's warnings are kept in stage1.log: logs --stage1 (--tail, -t), not in the app's log"
cat >"$T_SCRATCH/nouser.json" <<JSON
{"version": 1, "apps": [{"name": "a", "image": "$ROOT", "user": "nosuchuser", "exec": ["true"]}]}
JSON
ok=1
if expect_exit 0 "$PODCTL" run --detach --manifest "$T_SCRATCH/nouser.json" && U2=$OUT &&
	timeout 20 "$PODCTL" wait "$U2" >/dev/null 2>&1; then
	expect_exit 0 "$PODCTL" logs --stage1 "$U2" || ok=0
	[[ $OUT == *"podctl-stage1: pod $U2: app a: "*nosuchuser* ]] || { ok=0; echo "stage1.log: $OUT"; }
	expect_exit 0 "$PODCTL" logs --stage1 --timestamps --tail=1 "$U2" || ok=0
	[ "$(printf '%s\n' "$OUT" | grep -cE "$STAMP_RE")" -eq 1 ] || { ok=0; echo "tail -t: $OUT"; }
	expect_exit 0 "$PODCTL" logs "$U2" || ok=0
	[[ $OUT != *nosuchuser* ]] || { ok=0; echo "in the app's log: $OUT"; }
else
	ok=0
fi
# a set-up that fails: podctl run says why, and stage1.log keeps it
mkdir "$T_SCRATCH/gone"
if expect_exit 0 "$PODCTL" prepare --volume="v,kind=host,source=$T_SCRATCH/gone,target=/v" "$ROOT" -- true; then
	U3=$OUT
	rmdir "$T_SCRATCH/gone"
	# (whether podctl still waits for stage1's answer then or not)
	"$PODCTL" run-prepared --detach "$U3" >/dev/null 2>&1
	timeout 20 "$PODCTL" wait "$U3" >/dev/null 2>&1
	expect_exit 0 "$PODCTL" logs --stage1 "$U3" && [[ $OUT == *"gone: No such file"* ]] || { ok=0; echo "set-up failure: $OUT $ERR"; }
else
	ok=0
fi
if [ $ok = 1 ]; then t_ok; else t_fail "see above"; fi

# The app's child of stage1 closes every fd but a few before the app's
# exec: its --debug lines still reach stage1.log, and nothing else gets them.
t_begin "--debug run --detach: the app child's own messages are in stage1.log"
if expect_exit 0 "$PODCTL" --debug run --detach "$ROOT" -- true && U4=$OUT &&
	timeout 20 "$PODCTL" wait "$U4" >/dev/null 2>&1 &&
	expect_exit 0 "$PODCTL" logs --stage1 "$U4" && [[ $OUT == *"child: pivoted"*"child: exec"* ]]; then
	t_ok
else
	t_fail "stage1.log: $OUT $ERR"
fi

t_begin "logs --stage1: a foreground pod has none (one line, exit 1), a prepared one nothing yet; --app with it is a usage error"
if expect_exit 1 "$PODCTL" logs --stage1 fg && one_line && [[ $ERR == *"no stage1.log"* ]] &&
	expect_exit 0 "$PODCTL" prepare "$ROOT" -- true && expect_exit 0 "$PODCTL" logs --stage1 "$OUT" && [ -z "$OUT" ] &&
	expect_exit 2 "$PODCTL" logs --stage1 --app=rootfs "$U"; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_end
