#!/bin/bash
# Side-by-side benchmark of the pod store (not part of make check):
# list, list --format=json and status with N pods (default 10,000) against
# ls over the same dirs, and gc of N exited pods against rm -rf of a copy.
# Targets (issue 12, tighter than the brief's §7): list and list
# --format=json under 100 ms and at most 0.5x `ls -R`, gc at most 1x
# `rm -rf`. Prints each target and exits 1 when one is missed.
#   BUILDDIR=/tmp/build bench/store.sh [N]
set -eu
N=${1:-10000}
BUILDDIR=${BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
P="$BUILDDIR/podctl"
[ -x "$P" ] || { echo "build podctl first ($P)" >&2; exit 1; }
W=$(mktemp -d /tmp/podctl-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
export PODCTL_DIR="$W/store"

# Fill the store by hand: N exited pods in run/ with info, manifest and exit markers.
"$P" list >/dev/null
now=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
old=$(date -u -d '2 hours ago' +%Y-%m-%dT%H:%M:%S.%NZ)
python3 - "$PODCTL_DIR/pods/run" "$N" "$now" "$old" <<'PY'
import os, sys, uuid
run, n, now, old = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for i in range(n):
    u = str(uuid.uuid4())
    d = os.path.join(run, u)
    os.mkdir(d, 0o700)
    os.mkdir(os.path.join(d, "apps"), 0o700)
    with open(os.path.join(d, "info"), "w") as f:
        f.write('{"name":"pod-%s","created":"%s"}\n' % (u[:8], old))
    with open(os.path.join(d, "manifest"), "w") as f:
        f.write('{"version":1,"name":"pod-%s","apps":[{"name":"a","image":"/x","exec":["/bin/true"]}]}\n' % u[:8])
    with open(os.path.join(d, "exit"), "w") as f:
        f.write('{"code":0,"reason":"ok","time":"%s"}\n' % old)
PY
U=$(ls "$PODCTL_DIR/pods/run" | head -1)
sync
# A store of N pods was not all written in the last second: list keeps only
# pods unchanged for a second in its cache ($DIR/list-cache), so let the
# fresh ones settle, or the first runs would measure them the slow way.
sleep 1.1
echo "store: $N exited pods in $PODCTL_DIR/pods/run (load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC'))"

if command -v hyperfine >/dev/null; then
	hyperfine -N -w 3 -r 20 --export-json "$W/read.json" \
		-n "podctl list" "$P list" \
		-n "podctl list --format=json" "$P list --format=json" \
		-n "ls -R pods/" "ls -R $PODCTL_DIR/pods" \
		-n "podctl status" "$P status $U" \
		-n "ls pod dir" "ls $PODCTL_DIR/pods/run/$U" \
		-n "podctl list, no cache" "env PODCTL_LIST_CACHE=0 $P list" >/dev/null
	# For the record, not a target: a list that rebuilds the cache.
	hyperfine -N -r 10 --export-json "$W/cold.json" --prepare "rm -f $PODCTL_DIR/list-cache" \
		-n "podctl list, cache rebuilt" "$P list" >/dev/null
	# gc vs rm -rf: each run on a fresh copy made in --prepare (not timed).
	cp -a "$PODCTL_DIR" "$W/master"
	hyperfine -N -r 5 --export-json "$W/gc.json" \
		--prepare "sh -c 'rm -rf $W/store $W/copy; cp -a $W/master $W/store; cp -a $W/master $W/copy; sync'" \
		-n "podctl gc --grace-period=0" "$P gc --grace-period=0" \
		-n "rm -rf copy" "rm -rf $W/copy" >/dev/null
	python3 - "$W/read.json" "$W/gc.json" "$W/cold.json" "$N" <<'PY'
import json, sys, statistics
res = {}
for f in sys.argv[1:4]:
    for r in json.load(open(f))["results"]:
        res[r["command"]] = statistics.median(r["times"]) * 1000
n = sys.argv[4]
for k, v in res.items():
    print(f"  {k:30s} median {v:9.2f} ms")
miss = False
def target(text, ok):
    global miss
    print(f"target {text}: {'met' if ok else 'NOT met'}")
    miss = miss or not ok
def ratio(a, b):
    r = res[a] / res[b]
    print(f"  {a} / {b}: {r:.2f}x")
    return r
print(f"ratios with {n} pods:")
for cmd in ("podctl list", "podctl list --format=json"):
    r = ratio(cmd, "ls -R pods/")
    target(f"{cmd} < 100 ms ({res[cmd]:.1f} ms)", res[cmd] < 100)
    target(f"{cmd} <= 0.5x ls -R ({r:.2f}x)", r <= 0.5)
ratio("podctl status", "ls pod dir")
r = ratio("podctl gc --grace-period=0", "rm -rf copy")
target(f"gc <= 1x rm -rf ({r:.2f}x)", r <= 1.0)
sys.exit(1 if miss else 0)
PY
else
	echo "hyperfine not installed" >&2
	exit 1
fi
