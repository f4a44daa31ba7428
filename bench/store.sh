#!/bin/bash
# Side-by-side benchmark of the pod store (not part of make check):
# list, list --format=json and status with N pods (default 10,000) against
# ls over the same dirs, and gc of N exited pods against rm -rf of a copy.
# Targets (design brief §7): list/status within a small factor of ls;
# gc within 2x of rm -rf.
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
echo "store: $N exited pods in $PODCTL_DIR/pods/run"

if command -v hyperfine >/dev/null; then
	hyperfine -N -w 3 -r 20 --export-json "$W/read.json" \
		-n "podctl list" "$P list" \
		-n "podctl list --format=json" "$P list --format=json" \
		-n "ls -R pods/" "ls -R $PODCTL_DIR/pods" \
		-n "podctl status" "$P status $U" \
		-n "ls pod dir" "ls $PODCTL_DIR/pods/run/$U" >/dev/null
	# gc vs rm -rf: each run on a fresh copy made in --prepare (not timed).
	cp -a "$PODCTL_DIR" "$W/master"
	hyperfine -N -r 5 --export-json "$W/gc.json" \
		--prepare "sh -c 'rm -rf $W/store $W/copy; cp -a $W/master $W/store; cp -a $W/master $W/copy; sync'" \
		-n "podctl gc --grace-period=0" "$P gc --grace-period=0" \
		-n "rm -rf copy" "rm -rf $W/copy" >/dev/null
	python3 - "$W/read.json" "$W/gc.json" "$N" <<'PY'
import json, sys, statistics
res = {}
for f in sys.argv[1:3]:
    for r in json.load(open(f))["results"]:
        res[r["command"]] = statistics.median(r["times"]) * 1000
n = sys.argv[3]
for k, v in res.items():
    print(f"  {k:30s} median {v:9.2f} ms")
def ratio(a, b, target):
    print(f"  {a} / {b}: {res[a] / res[b]:.2f}x  (target: {target})")
print(f"ratios with {n} pods:")
ratio("podctl list", "ls -R pods/", "small factor")
ratio("podctl list --format=json", "ls -R pods/", "small factor")
ratio("podctl status", "ls pod dir", "small factor")
ratio("podctl gc --grace-period=0", "rm -rf copy", "<= 2x")
PY
else
	echo "hyperfine not installed" >&2
	exit 1
fi
