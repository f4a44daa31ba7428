#!/bin/bash
# podctl enter and podctl logs on detached pods.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

# Words of $1 joined by single spaces (compare multi-line output on one line).
squash() {
	local w
	read -r -d '' -a w <<<"$1"
	printf '%s' "${w[*]}"
}

ROOT=$(t_rootfs)

# A detached pod that prints, then blocks reading a fifo we control: the test
# knows the output is complete once the pid marker exists and the fifo opened.
mkfifo "$T_SCRATCH/go"

# --wait-ready: the app has started (its pid marker, which enter needs, is
# written before it reads STARTED), not merely the pod.
t_begin "enter runs a command inside a running pod"
if expect_exit 0 "$PODCTL" run --detach --wait-ready=30s --name=entered --volume "ctl,kind=host,source=$T_SCRATCH,target=/ctl" "$ROOT" -- \
	sh -c 'echo hello from the app; echo to stderr >&2; read x </ctl/go; echo after go' && U=$OUT &&
	expect_exit 0 "$PODCTL" enter "$U" hostname && [ "$OUT" = entered ]; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "enter passes the command's exit code and sees the pod's pid namespace"
if expect_exit 7 "$PODCTL" enter "$U" sh -c '[ "$(cat /proc/1/comm)" = podctl-init ] && exit 7'; then t_ok; else t_fail "see above"; fi

t_begin "enter has the app's environment"
if expect_exit 0 "$PODCTL" enter "$U" sh -c 'echo $container' && [ "$OUT" = podctl ]; then t_ok; else t_fail "got $OUT"; fi

t_begin "enter of a missing app is an error"
if expect_exit 3 "$PODCTL" enter --app=nope "$U" true && one_line; then t_ok; else t_fail "err: $ERR"; fi

t_begin "logs --follow returns what the app printed, until the pod exits"
"$PODCTL" logs --follow "$U" >"$T_SCRATCH/follow" 2>&1 &
fpid=$!
t_bg "$fpid"
echo go >"$T_SCRATCH/go"
timeout 10 "$PODCTL" status --wait "$U" >/dev/null
if wait "$fpid" &&
	[ "$(cat "$T_SCRATCH/follow")" = "hello from the app
to stderr
after go" ]; then
	t_ok
else
	t_fail "got: $(cat "$T_SCRATCH/follow")"
fi

t_begin "logs of an exited pod"
if expect_exit 0 "$PODCTL" logs "$U" && [ "$(squash "$OUT")" = "hello from the app to stderr after go" ]; then
	t_ok
else
	t_fail "got: $OUT"
fi

t_begin "enter of an exited pod is an error"
if expect_exit 1 "$PODCTL" enter "$U" true && one_line; then t_ok; else t_fail "err: $ERR"; fi

t_begin "logs rotate at 1 MiB, keeping one log.1"
if expect_exit 0 "$PODCTL" run --detach "$ROOT" -- sh -c 'yes 0123456789012345678901234567890123456789 | head -c 1300000' &&
	U2=$OUT && timeout 20 "$PODCTL" status --wait "$U2" >/dev/null; then
	d=$PODCTL_DIR/pods/run/$U2/apps/rootfs
	total=$("$PODCTL" logs "$U2" | wc -l)
	# neither file passes 1 MiB; log.1 holds about 1 MiB of lines of 41 bytes,
	# each after a 31-byte stamp
	if [ -f "$d/log.1" ] && [ "$(stat -c %s "$d/log")" -le 1048576 ] && [ "$(stat -c %s "$d/log.1")" -le 1048576 ] &&
		[ "$total" -gt $((1048576 / 72)) ]; then
		t_ok
	else
		t_fail "log: $(ls -l "$d") lines: $total"
	fi
else
	t_fail "see above"
fi

t_begin "enter runs as the app runs: its user, working dir, env, no capabilities"
cat >"$T_SCRATCH/user.json" <<EOF
{"version": 1, "apps": [{"name": "web", "image": "$ROOT", "exec": ["sleep", "1000"],
  "user": "1000", "group": "1000", "workingDir": "/bin", "env": {"GREETING": "hi"}}]}
EOF
if expect_exit 0 "$PODCTL" run --detach --wait-ready=30s --manifest "$T_SCRATCH/user.json" && UU=$OUT &&
	expect_exit 0 "$PODCTL" enter "$UU" sh -c 'echo $(id -u):$(id -g) $(pwd) $GREETING
		grep CapEff /proc/self/status | tr -d "\t"' &&
	[ "$(squash "$OUT")" = "1000:1000 /bin hi CapEff:0000000000000000" ]; then
	t_ok
else
	t_fail "got: $(squash "$OUT") err: $ERR"
fi
"$PODCTL" stop --force "$UU" >/dev/null 2>&1

t_begin "enter right after run --detach waits for the starting app"
# run --detach returns once the pod's init exists, before the app has exec'd.
bad=""
for i in 1 2 3 4 5; do
	if expect_exit 0 "$PODCTL" run --detach --name="fresh$i" "$ROOT" -- sleep 1000 && F=$OUT &&
		expect_exit 0 "$PODCTL" enter "$F" hostname && [ "$OUT" = "fresh$i" ]; then
		:
	else
		bad="$bad $i:$ERR"
	fi
	"$PODCTL" stop --force "$F" >/dev/null 2>&1
done
if [ -z "$bad" ]; then t_ok; else t_fail "$bad"; fi

t_begin "enter of an app that will not start in time: bounded by --timeout, one line"
# web is never ready (no notify, no goal timeout), so late (group 1) never starts.
cat >"$T_SCRATCH/blocked.json" <<EOF
{"version": 1,
 "initApps": [{"name": "setup", "image": "$ROOT", "exec": ["true"]}],
 "apps": [{"name": "web", "image": "$ROOT", "exec": ["sleep", "1000"], "statusGoal": "READY", "goalTimeout": "0"},
          {"name": "late", "image": "$ROOT", "exec": ["sleep", "1000"], "startGroup": 1}]}
EOF
if expect_exit 0 "$PODCTL" run --detach --manifest "$T_SCRATCH/blocked.json" && B=$OUT &&
	expect_exit 1 "$PODCTL" enter --timeout=1s --app=late "$B" true && one_line &&
	[[ $ERR == *"app late has not started within 1s"* ]] &&
	expect_exit 0 "$PODCTL" enter --app=web "$B" true &&
	expect_exit 1 "$PODCTL" enter --app=setup "$B" true && one_line && [[ $ERR == *"not running (EXITED)"* ]] &&
	expect_exit 2 "$PODCTL" enter --timeout=soon "$B" true; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi
"$PODCTL" stop --force "$B" >/dev/null 2>&1

t_begin "nothing is left mounted on the host"
if grep -q "$T_SCRATCH" /proc/self/mountinfo; then t_fail "$(grep "$T_SCRATCH" /proc/self/mountinfo)"; else t_ok; fi

t_end
