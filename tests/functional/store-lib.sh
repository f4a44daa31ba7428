# shellcheck shell=bash
# Helpers shared by the pod store tests (test-store.sh, test-gc.sh,
# test-crash.sh). Source after lib.sh.

# The system python: a pyenv shim costs most of a second per call.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
command -v "$PY" >/dev/null || t_skip "python3 is not installed"
command -v flock >/dev/null || t_skip "flock (util-linux) is not installed"

PODS="$PODCTL_DIR/pods"
STATE_DIRS=(embryo prepare prepared run exited-garbage garbage)
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
# shellcheck disable=SC2034 # used by the tests that source this file
TIME_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$'

# A check is a function that returns non-zero on failure, after calling
# `why MESSAGE` (or after expect_exit printed why).
T_WHY=""
why() {
	T_WHY="$*"
	return 1
}
run_case() {
	local name=$1
	shift
	t_begin "$name"
	T_WHY=""
	if "$@"; then t_ok; else t_fail "${T_WHY:-see the message above}"; fi
}

# json_assert PYEXPR [JSON]: evaluate PYEXPR with d = the parsed JSON
# (default $OUT); fails (printing the expression) when it is false or the
# text is not JSON.
json_assert() {
	local expr=$1 text=${2-$OUT}
	printf '%s' "$text" | "$PY" -c '
import json, re, sys
d = json.load(sys.stdin)
sys.exit(0 if eval(sys.argv[1]) else 1)' "$expr" 2>/dev/null || why "JSON check failed: $expr on: $(printf '%s' "$text" | head -c 600)"
}

# The state dirs that hold an entry named $1.
pod_dirs() {
	local d out=""
	for d in "${STATE_DIRS[@]}"; do
		[ -e "$PODS/$d/$1" ] && out="$out $d"
	done
	echo "${out# }"
}

now_rfc3339() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }
ago_rfc3339() { date -u -d "$1 ago" +%Y-%m-%dT%H:%M:%S.%NZ; }

# make_exited UUID [EXIT_TIME]: move a prepared pod to run/ as stage1 would,
# and leave it exited with an exit marker.
make_exited() {
	local u=$1 t=${2:-$(now_rfc3339)}
	mv "$PODS/prepared/$u" "$PODS/run/$u" || return 1
	printf '{"code":0,"reason":"ok","time":"%s"}\n' "$t" >"$PODS/run/$u/exit"
}

# hold_lock DIR: hold DIR's flock exclusively from a background process
# until release_lock; sets HOLD_PID. Waits for the lock to be taken (fifo).
# The lock belongs to the open file description that `sleep` inherits, so
# killing HOLD_PID releases it.
hold_lock() {
	local dir=$1 fifo ack
	fifo=$(mktemp -u "$T_SCRATCH/lockfifo.XXXXXX")
	mkfifo "$fifo" || return 1
	(
		exec 9<"$dir" || { echo failed >"$fifo"; exit 1; }
		if flock -x -n 9; then echo locked >"$fifo"; else echo failed >"$fifo"; exit 1; fi
		exec sleep 1000
	) &
	HOLD_PID=$!
	t_bg "$HOLD_PID"
	read -r ack <"$fifo"
	rm -f "$fifo"
	[ "$ack" = locked ] || why "could not lock $dir"
}
release_lock() {
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# store_consistent: every pod entry sits in exactly one state dir, state
# dirs hold only uuid-named dirs, and no temporary file lies outside the
# pod dirs (in the data dir root, pods/ or a state dir). Pure bash: it runs
# after every crash round and forks are slow.
store_consistent() {
	local d e name
	local -A seen=()
	for d in "${STATE_DIRS[@]}"; do
		[ -d "$PODS/$d" ] || { why "missing state dir $d"; return 1; }
		for e in "$PODS/$d"/* "$PODS/$d"/.[!.]*; do
			[ -e "$e" ] || [ -L "$e" ] || continue
			name=${e##*/}
			if ! [[ $name =~ $UUID_RE ]] || [ -L "$e" ] || ! [ -d "$e" ]; then
				why "stray entry $e"
				return 1
			fi
			[ -z "${seen[$name]:-}" ] || { why "$name in ${seen[$name]} and $d"; return 1; }
			seen[$name]=$d
		done
	done
	for e in "$PODCTL_DIR"/.[!.]* "$PODCTL_DIR"/* "$PODS"/.[!.]* "$PODS"/*; do
		case "${e##*/}" in
		*.tmp*) why "temporary file outside pod dirs: $e"; return 1 ;;
		esac
	done
	return 0
}

# The number of entries in all state dirs together.
pod_count() {
	local d n=0
	for d in "${STATE_DIRS[@]}"; do
		n=$((n + $(ls -A "$PODS/$d" | wc -l)))
	done
	echo "$n"
}
