#!/bin/bash
# shellcheck disable=SC2317 # checks are called through run_case
# Resource limits on this host's cgroups: memory (the OOM killer, reason
# oom), pids (a fork loop stays under the limit, the pod lives on, the event
# is logged), CPU bandwidth (measured from the cgroup), bad quantities.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
P=$PODCTL
[ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || t_skip "no cgroups here"
command -v python3 >/dev/null || t_skip "python3 is needed to read JSON"

why() {
	T_WHY="$*"
	return 1
}
check() {
	local what=$1
	shift
	T_WHY=""
	t_begin "$what"
	if "$@"; then t_ok; else t_fail "${T_WHY:-failed}"; fi
}
# json EXPR: evaluate a Python expression on d = the JSON in $OUT.
json() {
	python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$OUT"
}
# The cgroup file of the pod (app "" ) or of an app, v1 or v2.
cg_file() { # UUID APP CONTROLLER FILE
	local d
	for d in "/sys/fs/cgroup/$3/$PODCTL_CGROUP_PARENT/$1/$2" "/sys/fs/cgroup/$PODCTL_CGROUP_PARENT/$1/$2"; do
		[ -e "$d/$4" ] && { echo "$d/$4"; return 0; }
	done
	return 1
}

# An app that allocates ~100 MB in its shell.
ALLOC='x=$(head -c 100000000 /dev/zero | tr "\0" a); echo "survived ${#x}"'

oom_flag() {
	expect_exit 137 "$P" run --memory=32m --uuid-file-save="$T_SCRATCH/u-oom" "$ROOT" -- sh -c "$ALLOC" ||
		why "$ERR $OUT" || return 1
	local uuid
	uuid=$(cat "$T_SCRATCH/u-oom")
	expect_exit 0 "$P" status --format=json "$uuid" || why "status: $ERR" || return 1
	[ "$(json 'd["exitReason"]')" = oom ] || why "pod reason: $OUT" || return 1
	[ "$(json 'd["apps"][0]["exitReason"]')" = oom ] || why "app exit: $OUT" || return 1
	json 'd["apps"][0]["reason"]' | grep -q "OOM killer" || why "app status reason: $OUT" || return 1
	"$P" events "$uuid" | grep -q ' oom ' || why "no oom event: $("$P" events "$uuid")" || return 1
	[ "$("$P" events "$uuid" | grep -c ' oom ')" -eq 1 ] || why "oom told more than once: $("$P" events "$uuid")"
}
check "past --memory=32m the app is OOM-killed: exit 137, reason oom (pod, app, events)" oom_flag

# The same allocation without a limit survives: the test can see success.
t_begin "without a limit the same app survives"
if expect_exit 0 "$P" run "$ROOT" -- sh -c "$ALLOC" && [ "$OUT" = "survived 100000000" ]; then t_ok; else t_fail "$OUT $ERR"; fi

oom_manifest() {
	python3 - "$ROOT" "$ALLOC" >"$T_SCRATCH/m.json" <<'EOF'
import json, sys
root, alloc = sys.argv[1], sys.argv[2]
print(json.dumps({"version": 1, "apps": [
    {"name": "hog", "image": root, "exec": ["sh", "-c", alloc],
     "resources": {"memory": "32Mi", "pids": 50}},
    {"name": "idle", "image": root, "exec": ["sh", "-c", "exit 0"]}]}))
EOF
	expect_exit 137 "$P" run --manifest "$T_SCRATCH/m.json" --uuid-file-save="$T_SCRATCH/u-m" ||
		why "$ERR" || return 1
	expect_exit 0 "$P" status --format=json "$(cat "$T_SCRATCH/u-m")" || return 1
	[ "$(json 'd["exitReason"]') $(json 'd["exitApp"]')" = "oom hog" ] || why "$OUT"
}
check "a manifest's per-app memory limit: that app is OOM-killed, the pod's reason is oom" oom_manifest

oom_child() {
	local uuid
	# The child volunteers as the OOM killer's victim (raising one's own
	# oom_score_adj needs no privilege): otherwise the kernel may pick the
	# main shell, which is not what this check is about.
	uuid=$("$P" run --detach --wait-ready=20s --memory=32m "$ROOT" -- sh -c "
		sh -c 'echo 1000 >/proc/self/oom_score_adj; $ALLOC'
		echo main alive; exec sleep 600") || why "run failed" || return 1
	timeout 20 "$P" logs --follow "$uuid" | grep -m1 -q "main alive" || why "no 'main alive'"
	expect_exit 0 "$P" status --format=json "$uuid"
	# the event is there while the pod runs (v1: eventfd on memory.oom_control; v2: memory.events)
	local state seen=no
	state=$(json 'd["state"], d["apps"][0]["status"], d["apps"][0]["usage"]["oomKills"]')
	# woken by the event itself (events --follow), bounded by a timeout
	timeout 10 "$P" events --follow "$uuid" | grep -m1 -q 'oom .*a process of the app was killed by the OOM killer' &&
		seen=yes
	"$P" stop "$uuid" >/dev/null
	[ -z "$T_WHY" ] || return 1
	[ "$state" = "('running', 'STARTED', 1)" ] || why "$OUT" || return 1
	[ "$seen" = yes ] || why "no oom event while running: $("$P" events "$uuid")" || return 1
	[ "$("$P" events "$uuid" | grep -c ' oom ')" -eq 1 ] || why "oom told more than once: $("$P" events "$uuid")"
}
check "an OOM kill of a child process is an event (while it runs); the app and pod live on" oom_child

pids_limit() {
	local uuid cur f
	uuid=$("$P" run --detach --wait-ready=20s --pids-limit=20 "$ROOT" -- sh -c '
		sh -c "i=0; while [ \$i -lt 100 ]; do sleep 600 & i=\$((i+1)); done" 2>/dev/null
		echo survived; exec sleep 600') || why "run failed" || return 1
	# the loop is over once the app says so (logs --follow wakes on it)
	timeout 20 "$P" logs --follow "$uuid" | grep -m1 -q survived || why "no survived in the logs" || return 1
	f=$(cg_file "$uuid" "" pids pids.current) || why "no pids.current" || return 1
	cur=$(cat "$f")
	[ "$cur" -le 20 ] && [ "$cur" -ge 10 ] || why "pids.current $cur" || return 1
	expect_exit 0 "$P" status --format=json "$uuid" || return 1
	[ "$(json 'd["state"]')" = running ] || why "pod not running: $OUT" || return 1
	"$P" stop --timeout=5s "$uuid" >/dev/null
	"$P" events "$uuid" | grep -q 'pids-limit.*fork refused: pids limit 20' ||
		why "no pids-limit event: $("$P" events "$uuid")"
}
check "a fork loop under --pids-limit=20 stays at 20 or fewer, the pod lives on, the event is logged" pids_limit

cpu_quota() {
	local uuid f t0 t1 c0 c1 pct
	uuid=$("$P" run --detach --wait-ready=20s --cpus=0.2 "$ROOT" -- sh -c 'while :; do :; done') ||
		why "run failed" || return 1
	f=$(cg_file "$uuid" "" cpuacct cpuacct.usage || cg_file "$uuid" "" . cpu.stat) || why "no cpu usage file" || return 1
	read_ns() { if [ "${f##*/}" = cpu.stat ]; then echo $(($(sed -n 's/^usage_usec //p' "$f") * 1000)); else cat "$f"; fi; }
	c0=$(read_ns)
	t0=$(date +%s%N)
	sleep 3 # the measuring window, not a wait for an event
	c1=$(read_ns)
	t1=$(date +%s%N)
	"$P" stop --timeout=1s "$uuid" >/dev/null
	pct=$(((c1 - c0) * 100 / (t1 - t0)))
	echo "# --cpus=0.2: busy loop used ${pct}% of one CPU over 3 s"
	if [ "$pct" -lt 10 ] || [ "$pct" -gt 30 ]; then why "used ${pct}% of a CPU"; fi
}
check "--cpus=0.2 keeps a busy loop near 20% of one CPU (10-30%)" cpu_quota

bad_flags() {
	local f
	for f in --memory=abc --memory=64x --memory=-1 --cpus=0 --cpus=abc --cpus=0.0001 --pids-limit=0 \
		--pids-limit=x --cpu-shares=1 --blkio-weight=5 --memory-swap=zz; do
		expect_exit 2 "$P" run "$f" "$ROOT" -- true || why "$f: $ERR" || return 1
		one_line || why "$f: not one line: $ERR" || return 1
		echo "$ERR" | grep -q -- "${f%%=*}" || why "$f: message does not name the option: $ERR" || return 1
	done
}
check "bad limit flags are usage errors naming the option" bad_flags

bad_manifest() {
	printf '{"version":1,"apps":[{"name":"a","image":"%s","resources":{"memory":"64m"}}]}' "$ROOT" >"$T_SCRATCH/bad.json"
	expect_exit 1 "$P" prepare --manifest "$T_SCRATCH/bad.json" || why "$ERR" || return 1
	echo "$ERR" | grep -q 'apps\[0\]\.resources\.memory: bad quantity "64m"' || why "$ERR"
}
check "a bad quantity in a manifest is refused with its JSON path" bad_manifest

swap_less_than_memory() {
	expect_exit 1 "$P" run --memory=64m --memory-swap=32m "$ROOT" -- true || why "$ERR" || return 1
	echo "$ERR" | grep -q 'resources.memorySwap' || why "$ERR"
}
check "--memory-swap below --memory is refused" swap_less_than_memory

usage_and_stats() {
	local u1 u2
	u1=$("$P" run --detach --wait-ready=20s --memory=64m --pids-limit=30 "$ROOT" -- sleep 600) || return 1
	u2=$("$P" run --detach --wait-ready=20s "$ROOT" -- sh -c 'sleep 600 & sleep 600') || return 1
	expect_exit 0 "$P" status --format=json "$u1" || why "status: $ERR" || return 1
	[ "$(json 'd["usage"]["memoryLimitBytes"], d["usage"]["pidsLimit"], d["usage"]["pids"] >= 1, d["usage"]["cpuNanoseconds"] > 0, d["apps"][0]["usage"]["memoryBytes"] > 0')" = "(67108864, 30, True, True, True)" ] ||
		why "status usage: $OUT" || return 1
	expect_exit 0 "$P" status "$u1" || return 1
	echo "$OUT" | grep -q '^memory .* / 64.0MiB' || why "status text: $OUT" || return 1
	expect_exit 0 "$P" stats --no-stream --format=json || why "stats: $ERR" || return 1
	[ "$(json 'sorted(p["uuid"] for p in d)')" = "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$u1" "$u2")" ] ||
		why "stats names: $OUT" || return 1
	[ "$(json '[p["pids"] for p in d if p["uuid"] == "'"$u2"'"][0]')" -ge 2 ] || why "pids of $u2: $OUT" || return 1
	expect_exit 0 "$P" stats --no-stream "${u1:0:8}" || return 1
	[ "$(echo "$OUT" | wc -l)" -eq 2 ] && echo "$OUT" | grep -q "${u1:0:12}" || why "stats $u1: $OUT" || return 1
	"$P" stop "$u1" "$u2" >/dev/null
	expect_exit 1 "$P" stats --no-stream "$u1" || why "stats of a stopped pod: $OUT" || return 1
	expect_exit 0 "$P" stats --no-stream --format=json || return 1
	[ "$(json 'len(d)')" = 0 ] || why "stats after stop: $OUT"
}
check "status shows usage; stats --no-stream --format=json names every running pod" usage_and_stats

t_end
