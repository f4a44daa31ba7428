#!/bin/bash
# podctl run --detach / stop: graceful stop, SIGKILL escalation, --force,
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# stage1 killed with SIGKILL, gc afterwards.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)

# Wait (bounded) until a process is gone or a zombie; no sleeping.
gone() {
	local pid=$1 i
	for ((i = 0; i < 200000; i++)); do
		[ -e "/proc/$pid" ] || return 0
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
	done
	return 1
}

marker_pid() { sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$1"; }
stage1_pid() { sed -n 's/.*"stage1Pid":\([0-9]*\).*/\1/p' "$1"; }

t_begin "run --detach prints the uuid once the pod runs"
if expect_exit 0 "$PODCTL" run --detach "$ROOT" -- sleep 1000 && U1=$OUT &&
	"$PODCTL" status "$U1" | grep -q "state *running"; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "stop ends a pod whose app exits on SIGTERM: reason stopped"
if expect_exit 0 "$PODCTL" stop "$U1" && st=$("$PODCTL" status "$U1") &&
	echo "$st" | grep -q "state *exited" && echo "$st" | grep -q stopped; then
	t_ok
else
	t_fail "status: $st"
fi

t_begin "stopping an exited pod succeeds and says so"
if expect_exit 0 "$PODCTL" stop "$U1" && echo "$ERR" | grep -q "not running"; then t_ok; else t_fail "err: $ERR"; fi

t_begin "stop escalates to SIGKILL for an app that ignores SIGTERM"
# The app says READY once its trap is set, so SIGTERM cannot come before it.
if expect_exit 0 "$PODCTL" run --detach --status-goal=READY --wait-ready=30s "$ROOT" -- \
	sh -c "trap '' TERM; /.podctl/notify ready; sleep 1000 & wait; while :; do wait; done" && U2=$OUT &&
	expect_exit 0 "$PODCTL" stop --timeout=300ms "$U2"; then
	d=$PODCTL_DIR/pods/run/$U2
	if grep -q '"signal":9' "$d"/apps/*/exit && grep -q '"reason":"killed"' "$d/exit" &&
		grep -q STOPPED "$d"/apps/*/status; then
		t_ok
	else
		t_fail "exit: $(cat "$d"/apps/*/exit "$d/exit")"
	fi
else
	t_fail "see above"
fi

t_begin "stop --force kills at once"
if expect_exit 0 "$PODCTL" run --detach --status-goal=READY --wait-ready=30s "$ROOT" -- \
	sh -c "trap '' TERM; /.podctl/notify ready; sleep 1000" && U3=$OUT &&
	expect_exit 0 timeout 5 "$PODCTL" stop --force "$U3" && grep -q '"reason":"killed"' "$PODCTL_DIR/pods/run/$U3/exit"; then
	t_ok
else
	t_fail "see above"
fi

t_begin "stop of a pod whose stage1 does not answer times out (exit 4), --force then kills it"
# A stopped stage1 accepts no request: the control socket's connect succeeds
# (the backlog takes it) but no reply comes. Before the receive timeout,
# podctl stop waited forever here.
if expect_exit 0 "$PODCTL" run --detach --wait-ready=30s "$ROOT" -- sleep 1000 && U6=$OUT; then
	s1=$(stage1_pid "$PODCTL_DIR/pods/run/$U6/pid")
	kill -STOP "$s1"
	if expect_exit 4 timeout 30 "$PODCTL" stop "$U6" && one_line && echo "$ERR" | grep -q "try --force" &&
		expect_exit 0 timeout 30 "$PODCTL" stop --force "$U6" && gone "$s1" &&
		"$PODCTL" status "$U6" | grep -q "state *exited"; then
		t_ok
	else
		t_fail "err: $ERR status: $("$PODCTL" status "$U6" 2>&1)"
	fi
	kill -9 "$s1" 2>/dev/null
else
	t_fail "see above"
fi

t_begin "stop of a prepared pod is an error"
if P=$("$PODCTL" prepare "$ROOT" /bin/true) && expect_exit 1 "$PODCTL" stop "$P" && one_line; then t_ok; else t_fail "err: $ERR"; fi

t_begin "SIGKILL of stage1: pod exited at once, nothing of it survives"
if expect_exit 0 "$PODCTL" run --detach --wait-ready=30s "$ROOT" -- sh -c 'sleep 1000 & sleep 1000' && U4=$OUT; then
	d=$PODCTL_DIR/pods/run/$U4
	s1=$(stage1_pid "$d/pid")
	init=$(marker_pid "$d/pid")
	app=$(marker_pid "$d"/apps/*/pid)
	kill -9 "$s1"
	# The lock is released when stage1's fds close: status --wait wakes on it.
	if timeout 5 "$PODCTL" status --wait "$U4" >/dev/null && "$PODCTL" status "$U4" | grep -q "state *exited" &&
		gone "$init" && gone "$app" && ! pgrep -f "$U4" >/dev/null; then
		t_ok
	else
		t_fail "status: $("$PODCTL" status "$U4") procs: $(pgrep -af "$U4")"
	fi
else
	t_fail "see above"
fi

t_begin "gc then removes the killed pod with nothing left mounted"
if expect_exit 0 "$PODCTL" gc --grace-period=0 && [ ! -e "$PODCTL_DIR/pods/run/$U4" ] &&
	! "$PODCTL" status "$U4" >/dev/null 2>&1 && ! grep -q "$T_SCRATCH" /proc/self/mountinfo; then
	t_ok
else
	t_fail "left: $(ls "$PODCTL_DIR"/pods/*/ 2>&1) mounts: $(grep "$T_SCRATCH" /proc/self/mountinfo)"
fi

t_begin "SIGTERM to a foreground run stops the pod gracefully"
mkfifo "$T_SCRATCH/up"
"$PODCTL" run --uuid-file-save="$T_SCRATCH/u5" --volume "ctl,kind=host,source=$T_SCRATCH,target=/ctl" "$ROOT" -- \
	sh -c 'trap "echo got TERM; exit 0" TERM; echo up >/ctl/up; sleep 1000 & wait' >"$T_SCRATCH/out5" 2>&1 &
fg=$!
t_bg "$fg"
# The app says it is up (and its trap is set) through the fifo.
read -r _ <"$T_SCRATCH/up"
kill -TERM "$fg"
wait "$fg"
rc=$?
u5=$(cat "$T_SCRATCH/u5")
if [ "$rc" -eq 0 ] && grep -q "got TERM" "$T_SCRATCH/out5" && grep -q '"reason":"stopped"' "$PODCTL_DIR/pods/run/$u5/exit"; then
	t_ok
else
	t_fail "rc=$rc out: $(cat "$T_SCRATCH/out5")"
fi

t_begin "nothing is left mounted on the host"
if grep -q "$T_SCRATCH" /proc/self/mountinfo; then t_fail "$(grep "$T_SCRATCH" /proc/self/mountinfo)"; else t_ok; fi

t_end
