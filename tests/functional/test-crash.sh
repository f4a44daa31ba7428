#!/bin/bash
# shellcheck disable=SC2317 # checks are called through run_case
# Crashes and races: podctl prepare and podctl gc killed with SIGKILL at
# random instants must leave a store that lists, where every pod sits in
# exactly one state dir, with no temporary file outside the pod dirs, and
# that one gc empties. Then gc, prepare and rm racing each other.
#
# The kill delays are random on purpose (the randomness is the test); each
# round waits for the killed command's exit, never for time to pass.
# CRASH_ROUNDS=N (default 40) and RACE_SECONDS=N (default 4) tune it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"

ROOT=$(t_rootfs)
P=$PODCTL
ROUNDS=${CRASH_ROUNDS:-40}
RACE_SECONDS=${RACE_SECONDS:-4}

# after_crash WHAT: the checks every killed command must leave true.
after_crash() {
	expect_exit 0 "$P" list --format=json || why "$1: list failed: $ERR" || return 1
	json_assert "isinstance(d, list)" || return 1
	store_consistent || { T_WHY="$1: $T_WHY"; return 1; }
}

# A fifo nobody writes to, open read-write: `read -t` on it is a sleep
# without forking (a fork costs several ms here, longer than the delays).
mkfifo "$T_SCRATCH/never"
exec 8<>"$T_SCRATCH/never"
nap_us() {
	local t
	printf -v t '0.%06d' "$1"
	read -r -t "$t" -u 8 _
}

# kill_at_random CMD…: start CMD, SIGKILL it after a random 0..$MAX_US µs
# (if it is still there), wait for it. MAX_US adapts to how long CMD takes
# on this machine right now: shorter after a round CMD finished before the
# kill, longer after one it did not, so the kills keep landing inside the command however fast or loaded the
# machine is.
kill_at_random() {
	local us pid
	us=$(((RANDOM * 32768 + RANDOM) % (MAX_US + 1)))
	"$@" >/dev/null 2>&1 &
	pid=$!
	t_bg "$pid"
	nap_us "$us"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ $? -eq 137 ]; then
		KILLED=$((KILLED + 1))
		MAX_US=$((MAX_US * 11 / 10))
	else
		MAX_US=$((MAX_US * 3 / 4 + 1))
	fi
	return 0
}
KILLED=0
# At least a quarter of the rounds must have killed the command mid-way,
# or the test proved nothing.
enough_kills() {
	echo "# $1: $KILLED of $ROUNDS rounds killed mid-way"
	[ "$KILLED" -ge $((ROUNDS / 4)) ] || why "only $KILLED of $ROUNDS kills hit a live $1"
}

# How long one prepare takes here (the fastest of three: the first pays for
# cold caches), so the kills spread over all of it.
PREP_MS=
for _ in 1 2 3; do
	t0=$(date +%s%N)
	"$P" prepare "$ROOT" -- /bin/true >/dev/null || t_skip "prepare does not work"
	t=$((($(date +%s%N) - t0) / 1000000 + 2))
	[ -n "$PREP_MS" ] && [ "$PREP_MS" -le "$t" ] || PREP_MS=$t
done

check_prepare_crashes() {
	local i aborted=0
	KILLED=0
	MAX_US=$((PREP_MS * 1000))
	for ((i = 0; i < ROUNDS; i++)); do
		kill_at_random "$P" prepare "$ROOT" -- /bin/true
		after_crash "prepare round $i" || return 1
	done
	aborted=$(ls -A "$PODS/prepare" "$PODS/embryo" | grep -cE "$UUID_RE")
	echo "# prepare: $aborted aborted prepares and embryos left"
	enough_kills prepare
}
run_case "prepare killed at $ROUNDS random instants (0..$PREP_MS ms): store consistent" check_prepare_crashes

# A template prepared pod to clone into exited pods by hand (fast).
TEMPLATE=$("$P" prepare "$ROOT" -- /bin/true) && mv "$PODS/prepared/$TEMPLATE" "$T_SCRATCH/template"
printf '{"code":0,"reason":"ok","time":"%s"}\n' "$(ago_rfc3339 '1 hour')" >"$T_SCRATCH/template/exit"
add_exited() { # N: clone N exited pods into run/
	local i u
	for ((i = 0; i < $1; i++)); do
		read -r u </proc/sys/kernel/random/uuid
		cp -a "$T_SCRATCH/template" "$PODS/run/$u"
	done
}

add_exited 10
t0=$(date +%s%N)
"$P" gc --grace-period=0 >/dev/null 2>&1
GC_MS=$((($(date +%s%N) - t0) / 1000000 + 3))

check_gc_crashes() {
	local i
	KILLED=0
	MAX_US=$((GC_MS * 1000))
	for ((i = 0; i < ROUNDS; i++)); do
		add_exited 10
		kill_at_random "$P" gc --grace-period=0 --expire-prepared=0
		after_crash "gc round $i" || return 1
	done
	enough_kills gc
}
run_case "gc killed at $ROUNDS random instants (0..$GC_MS ms): store consistent" check_gc_crashes

check_one_gc_cleans() {
	local left
	expect_exit 0 "$P" gc --grace-period=0 --expire-prepared=0 || return 1
	left=$(find "$PODS" -mindepth 2 -maxdepth 2)
	[ -z "$left" ] || why "pods left after gc: $left" || return 1
	# Leftovers in tmp/ carry their dead writer's pid and go at once.
	[ -z "$(ls -A "$PODCTL_DIR/tmp")" ] || why "tmp/ not empty: $(ls -A "$PODCTL_DIR/tmp")" ||
		return 1
	store_consistent
}
run_case "after the crashes, one gc --grace-period=0 --expire-prepared=0 empties the store" check_one_gc_cleans

# --- races ------------------------------------------------------------------------

RACE_LOG="$T_SCRATCH/race-errors"
: >"$RACE_LOG"
DEADLINE=0
before_deadline() { [ "$(date +%s%N)" -lt "$DEADLINE" ]; }

# Every loop appends what it did not expect to $RACE_LOG.
gc_loop() {
	local rc err
	while before_deadline; do
		err=$("$P" gc --grace-period=0 --expire-prepared=0 2>&1 >/dev/null)
		rc=$?
		# Skipping a pod someone holds is expected.
		err=$(grep -v -e ': skipping pod .*: locked' -e ': locked, skipped$' <<<"$err")
		[ $rc -eq 0 ] && [ -z "$err" ] || echo "gc: exit $rc: $err" >>"$RACE_LOG"
	done
}
prepare_loop() {
	local out rc
	while before_deadline; do
		out=$("$P" prepare "$ROOT" -- /bin/true 2>&1)
		rc=$?
		[ $rc -eq 0 ] && [[ $out =~ $UUID_RE ]] || echo "prepare: exit $rc: $out" >>"$RACE_LOG"
	done
}
# Removes pods, and plays stage1 for others: moves a prepared pod to run/
# under its lock (it then reads exited), for gc and rm to take.
rm_loop() {
	local u err rc n=0
	while before_deadline; do
		for u in $(ls "$PODS/prepared" "$PODS/run" 2>/dev/null | grep -E "$UUID_RE"); do
			n=$((n + 1))
			if [ $((n % 2)) -eq 0 ]; then
				# (flock(1) given a path would create a file there once
				# the pod is gone: lock an fd of the dir instead.)
				(exec 9<"$PODS/prepared/$u" && flock -n -x 9 &&
					mv -T "$PODS/prepared/$u" "$PODS/run/$u") >/dev/null 2>&1
				continue
			fi
			err=$("$P" rm "$u" 2>&1)
			rc=$?
			case "$rc:$err" in
			0:) ;;
			3:*"no pod"* | 3:*"is gone"*) ;;
			1:*"in use"* | 1:*"stop it first"*) ;;
			*) echo "rm: exit $rc: $err" >>"$RACE_LOG" ;;
			esac
		done
	done
}

check_race() {
	local pids=() pid
	DEADLINE=$(($(date +%s%N) + RACE_SECONDS * 1000000000))
	gc_loop &
	pids+=($!)
	gc_loop &
	pids+=($!)
	prepare_loop &
	pids+=($!)
	rm_loop &
	pids+=($!)
	# Readers too: list and status must never fail while pods move.
	(
		while before_deadline; do
			"$P" list --format=json >/dev/null 2>"$T_SCRATCH/list-err" ||
				echo "list: $(cat "$T_SCRATCH/list-err")" >>"$RACE_LOG"
		done
	) &
	pids+=($!)
	for pid in "${pids[@]}"; do t_bg "$pid"; done
	for pid in "${pids[@]}"; do wait "$pid"; done
	[ ! -s "$RACE_LOG" ] || why "unexpected errors: $(sort "$RACE_LOG" | uniq -c | sort -rn | head -5)" ||
		return 1
	store_consistent || return 1
	expect_exit 0 "$P" gc --grace-period=0 --expire-prepared=0 || return 1
	[ -z "$(find "$PODS" -mindepth 2 -maxdepth 2)" ] ||
		why "pods left after the race and one gc: $(find "$PODS" -mindepth 2 -maxdepth 2)"
}
run_case "2 gc + prepare + rm + list racing for ${RACE_SECONDS}s: only expected errors, store consistent" check_race

t_end
