#!/bin/bash
# bench/prepare-cached.sh: `podctl prepare IMAGE -- /bin/true` for a cached
# image of ~2 MB (busybox) and of ~200 MB (many files), side by side in one
# run. A layer is extracted once and shared through overlayfs, so preparing
# a pod must cost the same whatever the image's size: the ratio should be
# about 1. The pods are collected before every run, so each prepare finds
# the same store. Uses hyperfine when installed, else a loop timed with date.
#
#   BUILDDIR=build bench/prepare-cached.sh [RUNS]
set -u
BUILDDIR=${BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
RUNS=${1:-30}
P=$BUILDDIR/podctl
[ "$(id -u)" -eq 0 ] || { echo "prepare-cached: needs root" >&2; exit 1; }
[ -x "$P" ] || { echo "prepare-cached: build first ($P)" >&2; exit 1; }
command -v busybox >/dev/null || { echo "prepare-cached: needs busybox-static" >&2; exit 1; }

W=$(mktemp -d /var/tmp/podctl-bench-prepare.XXXXXX)
export PODCTL_DIR=$W/store
trap 'rm -rf "$W"' EXIT

# 2 MB: busybox and its applet links.
mkdir -p "$W/small/bin" "$W/small/etc"
cp "$(command -v busybox)" "$W/small/bin/busybox"
for a in $("$W/small/bin/busybox" --list); do [ -e "$W/small/bin/$a" ] || ln -s busybox "$W/small/bin/$a"; done
tar -C "$W/small" -cf "$W/small.tar" .

# ~200 MB: the same plus 40 dirs of 304 files of 16 KiB, made by split(1)
# in a few seconds rather than one process per file.
cp -a "$W/small" "$W/big"
for d in $(seq 0 39); do
	mkdir "$W/big/d$d"
	head -c $((304 * 16384)) /dev/urandom | split -b 16k -a 3 - "$W/big/d$d/f"
done
tar -C "$W/big" -cf "$W/big.tar" .
rm -rf "$W/small" "$W/big"
printf 'images: small %d MiB, big %d MiB (%d files)\n' "$(($(stat -c %s "$W/small.tar") >> 20))" \
	"$(($(stat -c %s "$W/big.tar") >> 20))" "$(tar -tf "$W/big.tar" | wc -l)"

"$P" image import -q "$W/small.tar" --name small >/dev/null || exit 1
"$P" image import -q "$W/big.tar" --name big >/dev/null || exit 1
rm -f "$W/small.tar" "$W/big.tar"

GC="$P gc --expire-prepared=0s --grace-period=0s"
echo "== prepare IMAGE -- /bin/true, cached image ($RUNS runs each; $(nproc) cpus, load $(cut -d' ' -f1 /proc/loadavg)) =="
declare -A median
if command -v hyperfine >/dev/null; then
	hyperfine -N -w 3 -r "$RUNS" --prepare "$GC" --export-json "$W/h.json" \
		-n small "$P prepare small -- /bin/true" -n big "$P prepare big -- /bin/true" \
		>/dev/null 2>"$W/h.err" || { cat "$W/h.err"; exit 1; }
	while read -r n m; do median[$n]=$m; done < <(python3 - "$W/h.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], "%.3f" % (r["median"] * 1000))
PY
)
else
	for n in small big; do
		ts=()
		for ((k = 0; k < RUNS; k++)); do
			$GC >/dev/null 2>&1
			t0=$(date +%s%N)
			"$P" prepare "$n" -- /bin/true >/dev/null
			t1=$(date +%s%N)
			ts+=($(((t1 - t0) / 1000)))
		done
		m=$(printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
		median[$n]=$(awk -v u="$m" 'BEGIN{printf "%.3f", u/1000}')
	done
fi
$GC >/dev/null 2>&1
printf '%-22s %10s\n' "" "median ms" "prepare small (2 MB)" "${median[small]}" "prepare big (200 MB)" "${median[big]}"
r=$(awk -v a="${median[big]}" -v b="${median[small]}" 'BEGIN{printf "%.2f", a/b}')
echo "big / small:           $r  (target: about 1)"
# "About 1": within the ±30 % these machines move between runs, at most 1.3.
if awk -v r="$r" 'BEGIN { exit !(r <= 1.3) }'; then
	echo "target prepare of a cached 200 MB image <= 1.3x a 2 MB one (${r}x): met"
else
	echo "target prepare of a cached 200 MB image <= 1.3x a 2 MB one (${r}x): NOT met"
	exit 1
fi
