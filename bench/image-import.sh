#!/bin/bash
# Import of a ~200 MB rootfs tarball with `podctl image import`, side by side
# with `tar -xf` of the same file, and a re-import (digest check only).
# Prints times and ratios. Not part of `make check`.
#   BUILDDIR=build bench/image-import.sh [ROOTFS_TARBALL]
set -eu
BUILDDIR=${BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
P=$BUILDDIR/podctl
[ -x "$P" ] || { echo "bench: $P is not built" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root" >&2; exit 1; }
W=$(mktemp -d /var/tmp/podctl-bench-image.XXXXXX)
trap 'rm -rf "$W"' EXIT
export PODCTL_DIR=$W/store

ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

if [ $# -gt 0 ]; then
	TARBALL=$1
elif [ -f /var/cache/podctl-bench/bookworm-minbase.tar ]; then
	TARBALL=/var/cache/podctl-bench/bookworm-minbase.tar
else
	# A synthetic tree: 20,000 files of 4 KiB (split(1), not a process per
	# file) plus one 128 MiB file: ~200 MB, dirs 3 deep, some symlinks and
	# hardlinks.
	mkdir -p "$W/src"
	head -c $((128 << 20)) /dev/urandom >"$W/rand"
	for d in $(seq 0 39); do
		for e in $(seq 0 9); do
			mkdir -p "$W/src/d$d/e$e"
			head -c $((50 * 4096)) "$W/rand" | split -b 4k -a 2 - "$W/src/d$d/e$e/f"
			ln -s faa "$W/src/d$d/e$e/link"
			ln "$W/src/d$d/e$e/fab" "$W/src/d$d/e$e/hard"
		done
	done
	cp "$W/rand" "$W/src/big"
	rm "$W/rand"
	tar -C "$W/src" -cf "$W/rootfs.tar" .
	rm -rf "$W/src"
	TARBALL=$W/rootfs.tar
fi
size=$(stat -c %s "$TARBALL")
echo "rootfs tarball: $TARBALL ($((size >> 20)) MiB)"
sync

mkdir "$W/x"
t=$(date +%s%N)
tar -C "$W/x" -xf "$TARBALL"
sync -f "$W/x"
t_tar=$(ms "$t")
rm -rf "$W/x"

t=$(date +%s%N)
"$P" image import -q "$TARBALL" >/dev/null
t_imp=$(ms "$t")

t=$(date +%s%N)
"$P" image import -q "$TARBALL" >/dev/null
t_re=$(ms "$t")

t=$(date +%s%N)
sha256sum "$TARBALL" >/dev/null
t_sum=$(ms "$t")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
printf '%-34s %8s ms\n' "tar -xf (+ sync)" "$t_tar" "podctl image import" "$t_imp" \
	"podctl image import (again)" "$t_re" "sha256sum" "$t_sum"
echo "import / tar -xf:           $(ratio "$t_imp" "$t_tar")  (import also stores and hashes the blob)"
echo "re-import / sha256sum:      $(ratio "$t_re" "$t_sum")"
