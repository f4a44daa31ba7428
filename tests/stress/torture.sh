#!/bin/bash
# The torture run: workers drive every verb against one store while a killer
# sends SIGKILL at random to podctl processes and to stage1s. Samples the
# store as it goes (every pod dir in exactly one state dir), checks that
# every state status prints is one the pod was in during the call, and at the end
# checks that a final gc empties it and that nothing of the run is left:
# no mount, no cgroup, no process, no tmp entry, no pod name, no image tree.
#
#   tests/stress/torture.sh [--duration=SECONDS] [--workers=N]
#
# Prints one summary line; exits non-zero on any inconsistency or leak.
# `make stress` runs it for 10 minutes; `make check` runs a short smoke of it
# (tests/functional/test-torture-smoke.sh).
set -u
DURATION=600
WORKERS=4
for a in "$@"; do
	case $a in
	--duration=*) DURATION=${a#*=} ;;
	--workers=*) WORKERS=${a#*=} ;;
	-h | --help) sed -n '2,12p' "$0"; exit 0 ;;
	*) echo "torture: unknown argument $a" >&2; exit 2 ;;
	esac
done
# shellcheck source=tests/stress/lib.sh
. "$(dirname "$0")/lib.sh"
# The run's pods' cgroups under a parent of its own, to count leaks.
unset PODCTL_CGROUP_PARENT
stress_setup torture
LOG=$W/log
ROOT=$W/root
mkdir -p "$LOG"
stress_rootfs "$ROOT"
tar -C "$ROOT" -cf "$W/root.tar" .

END=$(($(date +%s) + DURATION))
alive() { [ "$(date +%s)" -lt "$END" ]; }

# op KIND CMD…: run one operation with a timeout, and record its outcome:
# 0-4 are answers, 137 a kill (ours), 124 a hang, anything else a crash.
op() {
	local kind=$1 rc me=$BASHPID
	shift
	timeout -s KILL 60 "$@" >"$LOG/out.$me" 2>"$LOG/err.$me"
	rc=$?
	echo "$kind $rc" >>"$LOG/ops.$me"
	# A foreground run exits with its app's code: 143 or 137 when another
	# worker stopped the pod.
	case $kind:$rc in
	*:0 | *:1 | *:3 | *:4 | *:137 | run:143) ;;
	*) echo "$kind: exit $rc: $(head -c 200 "$LOG/err.$me")" >>"$LOG/bad.$me" ;;
	esac
	return $rc
}

# Where a pod is in its lifecycle: 0 embryo … 5 garbage, 6 gone. Scanned
# from the end back (lower bound: a pod moving meanwhile is missed, never
# placed too late) or from the start (upper bound).
DIR_ORDER=(embryo prepare prepared run exited-garbage garbage)
dir_index() {
	local u=$1 dir=$2 i
	if [ "$dir" = back ]; then
		for ((i = 5; i >= 0; i--)); do [ -e "$PODCTL_DIR/pods/${DIR_ORDER[$i]}/$u" ] && { echo $i; return; }; done
	else
		for ((i = 0; i <= 5; i++)); do [ -e "$PODCTL_DIR/pods/${DIR_ORDER[$i]}/$u" ] && { echo $i; return; }; done
	fi
	echo 6
}
state_index() {
	case $1 in
	embryo) echo 0 ;; preparing | aborted-prepare) echo 1 ;; prepared) echo 2 ;;
	running | exited) echo 3 ;; exited-deleting | exited-garbage) echo 4 ;;
	deleting | garbage) echo 5 ;; *) echo 99 ;;
	esac
}

# status must print a state the pod was in at some instant during the call:
# not before where it was when the call began, not after where it was when
# it ended (pods only move forward).
checked_status() {
	local u=$1 d0 d1 st s me=$BASHPID
	d0=$(dir_index "$u" back)
	op status "$P" status --format=json "$u" || return
	d1=$(dir_index "$u" fwd)
	[ "$d0" -lt 6 ] || return 0
	st=$(grep -m1 -o '"state": *"[a-z-]*"' "$LOG/out.$me" | sed 's/.*"\([a-z-]*\)"$/\1/')
	s=$(state_index "$st")
	if [ "$s" -lt "$d0" ] || [ "$s" -gt "$d1" ]; then
		echo "status: printed $st for $u, which was in ${DIR_ORDER[$d0]} before and $([ "$d1" -lt 6 ] && echo "${DIR_ORDER[$d1]}" || echo gone) after" >>"$LOG/bad.$me"
	fi
}

# A random pod uuid from the store (any state), or nothing.
any_pod() {
	find "$PODCTL_DIR/pods" -mindepth 2 -maxdepth 2 -printf '%f\n' 2>/dev/null | shuf -n 1
}

worker() {
	local u
	while alive; do
		# shellcheck disable=SC2016 # the sh -c scripts are expanded by the app's shell
		case $((RANDOM % 13)) in
		0) op prepare "$P" prepare "$ROOT" -- true ;;
		1) op run-detach "$P" run --detach "$ROOT" -- sh -c 'read -t 1 x </dev/zero; exit $((RANDOM % 3))' ;;
		2) op run "$P" run "$ROOT" -- true ;;
		3) u=$(any_pod) && [ -n "$u" ] && op run-prepared "$P" run-prepared --detach "$u" ;;
		4) u=$(any_pod) && [ -n "$u" ] && op stop "$P" stop --timeout=1s "$u" ;;
		5) u=$(any_pod) && [ -n "$u" ] && op wait-ready "$P" status --wait-ready=2s "$u" ;;
		6) u=$(any_pod) && [ -n "$u" ] && op wait "$P" wait --timeout=2s "$u" ;;
		7) op list "$P" list --format=json ;;
		8) u=$(any_pod) && [ -n "$u" ] && op rm "$P" rm "$u" ;;
		9) op gc "$P" gc -q --grace-period=0 --expire-prepared=10s ;;
		10) op import "$P" image import -q "$W/root.tar" --name "img$((RANDOM % 3))" ;;
		11) op image-rm "$P" image rm "img$((RANDOM % 3))" ;;
		12) u=$(any_pod) && [ -n "$u" ] && checked_status "$u" ;;
		esac
	done
}

killer() {
	local v n=0 ours
	while alive; do
		# Only processes of this run: their environment names its store
		# (other stores' podctl and stage1 may run on this machine).
		ours=()
		for v in $(pgrep -x 'podctl|podctl-stage1' 2>/dev/null); do
			grep -qa "PODCTL_DIR=$PODCTL_DIR" "/proc/$v/environ" 2>/dev/null && ours+=("$v")
		done
		if [ ${#ours[@]} -gt 0 ]; then
			v=${ours[$((RANDOM % ${#ours[@]}))]}
			kill -9 "$v" 2>/dev/null && n=$((n + 1))
		fi
		echo "$n" >"$LOG/kills"
		read -rt 0.$((RANDOM % 4 + 1)) <> <(:) 2>/dev/null
	done
}

# Every pod dir in exactly one state dir; pods in two places would be a
# torn rename. Sampled while everything runs. The dirs are read from the end
# of the lifecycle back: pods only move forward, so a pod moving while we
# read can be missed but never seen twice unless something is wrong.
sampler() {
	local n=0 d dup
	while alive; do
		dup=$(for d in garbage exited-garbage run prepared prepare embryo; do
			ls -A "$PODCTL_DIR/pods/$d" 2>/dev/null
		done | sort | uniq -d)
		[ -z "$dup" ] || echo "sample: in two state dirs: $dup" >>"$LOG/bad.sampler"
		n=$((n + 1))
		echo "$n" >"$LOG/samples"
		read -rt 0.2 <> <(:) 2>/dev/null
	done
}

"$P" list >/dev/null || { echo "torture: cannot make the store" >&2; exit 1; }
# Workers' stderr: the shell reports every child the killer took.
for ((i = 0; i < WORKERS; i++)); do worker 2>/dev/null & done
killer &
sampler &
wait

# The end: nothing running of ours once stage1s are told to stop, a final gc
# empties the store, and nothing is left.
find "$PODCTL_DIR/pods/run" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | while read -r u; do
	"$P" stop --force "$u" >/dev/null 2>&1
done
"$P" image rm img0 img1 img2 >/dev/null 2>&1
"$P" gc -q --grace-period=0 --expire-prepared=0 >"$LOG/final-gc" 2>&1 || echo "final gc: $(cat "$LOG/final-gc")" >>"$LOG/bad.final"
inconsistent=$(cat "$LOG"/bad.* 2>/dev/null | wc -l)
leaks=0
left=$(find "$PODCTL_DIR/pods" -mindepth 2 -maxdepth 2 | wc -l)
[ "$left" -eq 0 ] || { leaks=$((leaks + left)); echo "leak: $left pods left" >&2; }
tmp=$(ls -A "$PODCTL_DIR/tmp" | wc -l)
[ "$tmp" -eq 0 ] || { leaks=$((leaks + tmp)); echo "leak: tmp: $(ls -A "$PODCTL_DIR/tmp")" >&2; }
names=$(ls -A "$PODCTL_DIR/names" 2>/dev/null | wc -l)
[ "$names" -eq 0 ] || { leaks=$((leaks + names)); echo "leak: names: $(ls -A "$PODCTL_DIR/names")" >&2; }
mounts=$(awk -v p="$W" 'index($5, p) == 1' /proc/self/mountinfo | wc -l)
[ "$mounts" -eq 0 ] || { leaks=$((leaks + mounts)); echo "leak: $mounts mounts" >&2; }
procs=$(pgrep -f "$W" | grep -cvx "$$")
[ "$procs" -eq 0 ] || { leaks=$((leaks + procs)); echo "leak: $procs processes" >&2; }
cgs=$(stress_cgroup_dirs | wc -l)
[ "$cgs" -eq 0 ] || { leaks=$((leaks + cgs)); echo "leak: cgroups: $(stress_cgroup_dirs | head -5)" >&2; }
trees=$(find "$PODCTL_DIR/images/trees" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
[ "$trees" -eq 0 ] || { leaks=$((leaks + trees)); echo "leak: $trees image trees" >&2; }
cat "$LOG"/bad.* 2>/dev/null | sort | uniq -c | sort -rn | head -20 >&2

ops=$(cat "$LOG"/ops.* 2>/dev/null | awk '{ n[$1]++; t++ } END { s = ""; for (k in n) s = s k "=" n[k] " "; print t " (" s ")" }')
printf 'torture: %ss, %s workers: operations %s, kills %s, samples %s, inconsistencies %d, leaks %d\n' \
	"$DURATION" "$WORKERS" "$ops" "$(cat "$LOG/kills" 2>/dev/null || echo 0)" \
	"$(cat "$LOG/samples" 2>/dev/null || echo 0)" "$inconsistent" "$leaks"
[ "$inconsistent" -eq 0 ] && [ "$leaks" -eq 0 ]
