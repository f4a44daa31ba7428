#!/bin/bash
# No lost wake-up in `status --wait-ready`, end to end with the real binaries:
# TRIALS times (default 2000), a pod whose app blocks on a FIFO, two waiters
# and the app's READY=1 (`/.podctl/notify ready`) at random relative phases
# (each waiter starts from 3 ms before to 3 ms after the app is released, so
# that the signal meets every step of the waiter: its start, the first look,
# the watch, the poll). Every waiter must return 0; one that times out (exit
# 4, after 10 s) is a lost wake-up.
#
#   tests/stress/ready-race.sh [--trials=N]
#
# Prints one summary line; exits 1 if any wake-up was lost or a trial failed
# otherwise. `make stress` runs it with 2000 trials; `make check` a short one
# (tests/functional/test-ready-race.sh). Unit-level, test-wait's
# wait_ready_random_phase races the library's waiter against the marker.
set -u
TRIALS=2000
for a in "$@"; do
	case $a in
	--trials=*) TRIALS=${a#*=} ;;
	-h | --help) sed -n '2,15p' "$0"; exit 0 ;;
	*) echo "ready-race: unknown argument $a" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "ready-race: needs root" >&2; exit 77; }
# shellcheck source=tests/stress/lib.sh
. "$(dirname "$0")/lib.sh"
stress_setup ready-race
export PODCTL_PULL=never

ROOT=$W/rootfs
stress_rootfs "$ROOT"
mkdir -p "$W/shared"
mkfifo "$W/shared/go"
cat >"$W/m.json" <<JSON
{"version": 1,
 "volumes": [{"name": "shared", "kind": "host", "source": "$W/shared"}],
 "apps": [{"name": "app", "image": "$ROOT", "statusGoal": "READY",
           "exec": ["sh", "-c", "read x < /shared/go; /.podctl/notify ready; exec sleep 1000"],
           "mounts": [{"volume": "shared", "path": "/shared"}]}]}
JSON

# A pause of US microseconds without a fork (read times out on a FIFO that
# nobody writes; opened read-write so that the open does not block).
mkfifo "$W/never"
exec 9<>"$W/never"
pause_us() { [ "$1" -gt 0 ] && read -r -t "$(printf '0.%06d' "$1")" -u 9 _; return 0; }

lost=0 failed=0 waits=0
t_start=$EPOCHREALTIME
for ((i = 0; i < TRIALS; i++)); do
	if ! u=$("$P" run --detach --manifest "$W/m.json" 2>"$W/err"); then
		echo "ready-race: trial $i: run: $(cat "$W/err")" >&2
		failed=$((failed + 1))
		continue
	fi
	# phases in µs relative to the release of the app: -3000 … +3000
	a=$((RANDOM % 6001 - 3000)) b=$((RANDOM % 6001 - 3000))
	# events in time order: the two waiters and the release
	pids=()
	for ev in $(printf '%s\n' "$a w" "$b w" "0 r" | sort -n -k1,1 | tr ' ' ':'); do
		at=${ev%%:*} what=${ev#*:}
		[ -n "${prev:-}" ] && pause_us $((at - prev))
		prev=$at
		if [ "$what" = r ]; then
			echo go >"$W/shared/go" &
		else
			"$P" status --wait-ready=10s "$u" >/dev/null 2>"$W/err.$i.${#pids[@]}" &
			pids+=($!)
		fi
	done
	unset prev
	for k in "${!pids[@]}"; do
		waits=$((waits + 1))
		wait "${pids[$k]}"
		rc=$?
		if [ $rc -eq 4 ]; then
			lost=$((lost + 1))
			echo "ready-race: trial $i: waiter $k LOST the wake-up (phases $a/$b us): $(cat "$W/err.$i.$k")" >&2
		elif [ $rc -ne 0 ]; then
			failed=$((failed + 1))
			echo "ready-race: trial $i: waiter $k exited $rc: $(cat "$W/err.$i.$k")" >&2
		fi
		rm -f "$W/err.$i.$k"
	done
	wait # the release's writer
	"$P" stop --force "$u" >/dev/null 2>&1
	"$P" rm "$u" >/dev/null 2>&1
done
secs=$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
echo "ready-race: $TRIALS trials, $waits waiters, $lost lost, $failed failed otherwise ($secs s, load $(cut -d' ' -f1 /proc/loadavg))"
[ $lost -eq 0 ] && [ $failed -eq 0 ]
