#!/bin/bash
# podctl image: import every accepted format built with real tools, check the
# layer trees and the merged overlay view, re-import, and refusals that must
# leave the store unchanged.
. "$(dirname "$0")/lib.sh"

P=$PODCTL
W=$T_SCRATCH/work
mkdir -p "$W"
ROOT=$(t_rootfs)
echo hello >"$ROOT/etc/hello"

# The layer trees of an image (bottom first), by digest prefix or name.
trees_of() {
	local d
	d=$("$P" image list --format=json | tr -d ' \n' | grep -o "\"digest\":\"sha256:[0-9a-f]*\",\"names\":\[[^]]*\]" |
		grep -e "$1" | head -1 | sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/')
	[ -n "$d" ] || return 1
	grep -o '"tree":"[^"]*"' "$PODCTL_DIR/images/index/sha256-$d.json" | sed 's/"tree":"\(.*\)"/\1/'
}

# Mount the image's layers as one overlay (top first) in a private mount ns
# and print its file list.
merged_list() {
	local lower="" t
	for t in $(trees_of "$1"); do
		lower="$PODCTL_DIR/$t${lower:+:$lower}"
	done
	mkdir -p "$W/merged"
	unshare -m sh -c "mount -t overlay overlay -o ro,lowerdir=$lower $W/merged && cd $W/merged && find . | sort"
}

# --- rootfs tarball -------------------------------------------------------------
tar -C "$ROOT" -czf "$W/rootfs.tar.gz" .
t_begin "import a rootfs tarball (gzip)"
if expect_exit 0 "$P" image import "$W/rootfs.tar.gz" --name busybox; then
	D_TGZ=$OUT
	case $D_TGZ in sha256:*) t_ok ;; *) t_fail "printed \"$OUT\", not a digest" ;; esac
else t_fail "import failed: $ERR"; fi

t_begin "image list shows the name"
expect_exit 0 "$P" image list --no-legend && printf '%s\n' "$OUT" | grep -q "busybox:latest" &&
	t_ok || t_fail "$OUT"

t_begin "the layer tree holds the rootfs"
tree=$(trees_of busybox)
[ -x "$PODCTL_DIR/$tree/bin/busybox" ] && [ -L "$PODCTL_DIR/$tree/bin/sh" ] &&
	[ "$(cat "$PODCTL_DIR/$tree/etc/hello")" = hello ] && t_ok || t_fail "tree $tree"

for z in xz zstd bzip2 none; do
	t_begin "import a rootfs tarball ($z)"
	case $z in
	none) tar -C "$ROOT" -cf "$W/rootfs.$z" . ;;
	*) command -v $z >/dev/null || { t_ok; continue; }
		tar -C "$ROOT" -cf - . | $z -c >"$W/rootfs.$z" ;;
	esac
	expect_exit 0 "$P" image import -q "$W/rootfs.$z" && t_ok || t_fail "$ERR"
done

t_begin "a rootfs dir is packed, gets a digest, and re-imports to the same one"
if expect_exit 0 "$P" image import "$ROOT" --name bbdir:v1; then
	d1=$OUT
	before=$(store_snapshot)
	expect_exit 0 "$P" image import "$ROOT" --name bbdir:v1 && [ "$OUT" = "$d1" ] &&
		[ "$before" = "$(store_snapshot)" ] && t_ok || t_fail "second import: $OUT $ERR"
else t_fail "$ERR"; fi

t_begin "truncated gzip: clear error, store unchanged"
head -c 300000 "$W/rootfs.tar.gz" >"$W/trunc.tar.gz"
before=$(store_snapshot)
expect_exit 1 "$P" image import "$W/trunc.tar.gz" && one_line &&
	[ "$before" = "$(store_snapshot)" ] && t_ok || t_fail "$ERR"

t_begin "unknown image: exit 3"
expect_exit 3 "$P" image rm nosuch:tag && one_line && t_ok || t_fail "$ERR"

# --- OCI layout, oci-archive, docker-archive (umoci + skopeo) ----------------
if ! command -v umoci >/dev/null || ! command -v skopeo >/dev/null; then
	echo "skip test-images: OCI checks need umoci and skopeo (scripts/install-deps)"
	t_end
fi

(
	set -e
	cd "$W"
	umoci init --layout oci
	umoci new --image oci:t
	umoci unpack --image oci:t b1
	cp -a "$ROOT/." b1/rootfs/
	umoci repack --image oci:t b1
	umoci unpack --image oci:t b2
	rm b2/rootfs/etc/hello
	mkdir b2/rootfs/data && echo x >b2/rootfs/data/new
	umoci repack --image oci:t b2
	umoci config --image oci:t --config.cmd=/bin/sh --config.env=FOO=bar --config.workingdir=/tmp
	rm -rf b1 b2
) >"$W/umoci.log" 2>&1 || { t_begin "build an OCI layout with umoci"; t_fail "$(tail -3 "$W/umoci.log")"; t_end; }

t_begin "import an OCI layout with two layers"
if expect_exit 0 "$P" image import "$W/oci" --name twolayer; then
	D_OCI=$OUT
	[ "$(trees_of twolayer | wc -l)" -eq 2 ] && t_ok || t_fail "$(trees_of twolayer)"
else t_fail "$ERR"; fi

t_begin "the whiteout is an overlay whiteout in the top tree"
top=$(trees_of twolayer | tail -1)
[ -c "$PODCTL_DIR/$top/etc/hello" ] && [ "$(stat -c %t:%T "$PODCTL_DIR/$top/etc/hello")" = 0:0 ] &&
	t_ok || t_fail "$(ls -la "$PODCTL_DIR/$top/etc" 2>&1)"

t_begin "the merged overlay view is exactly the image (whiteout honoured)"
want=$( (cd "$ROOT" && find . | grep -v '^./etc/hello$'; echo ./data; echo ./data/new) | sort)
got=$(merged_list twolayer)
[ "$want" = "$got" ] && t_ok || t_fail "$(diff <(echo "$want") <(echo "$got") | head -5)"

t_begin "the image config is recorded"
grep -q '"FOO=bar"' "$PODCTL_DIR/images/index/sha256-${D_OCI#sha256:}.json" &&
	grep -q '"WorkingDir":"/tmp"' "$PODCTL_DIR/images/index/sha256-${D_OCI#sha256:}.json" &&
	t_ok || t_fail "$(cat "$PODCTL_DIR/images/index/sha256-${D_OCI#sha256:}.json")"

t_begin "re-import is fast and creates nothing new"
before=$(store_snapshot)
start=$(date +%s%N)
expect_exit 0 "$P" image import "$W/oci" --name twolayer && [ "$OUT" = "$D_OCI" ] &&
	[ "$before" = "$(store_snapshot)" ] && t_ok || t_fail "$OUT $ERR"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -lt 2000 ] || t_fail "re-import took $ms ms"

t_begin "a blob that does not match its digest is refused, store unchanged"
cp -a "$W/oci" "$W/bad"
blob=$(ls -S "$W/bad/blobs/sha256" | head -1)
chmod u+w "$W/bad/blobs/sha256/$blob"
printf 'x' >>"$W/bad/blobs/sha256/$blob"
"$P" image rm twolayer >/dev/null 2>&1
before=$(store_snapshot)
expect_exit 1 "$P" image import "$W/bad" --name bad && one_line &&
	printf '%s' "$ERR" | grep -q "digest mismatch" && [ "$before" = "$(store_snapshot)" ] &&
	t_ok || t_fail "$ERR"

t_begin "oci-archive via skopeo"
skopeo copy -q "oci:$W/oci:t" "oci-archive:$W/oci.tar" >/dev/null 2>&1
expect_exit 0 "$P" image import "$W/oci.tar" --name ociarchive && [ "$OUT" = "$D_OCI" ] &&
	[ "$(merged_list ociarchive)" = "$want" ] && t_ok || t_fail "$OUT $ERR"

t_begin "docker-archive via skopeo (names from RepoTags)"
skopeo copy -q "oci:$W/oci:t" "docker-archive:$W/docker.tar:example/dock:v2" >/dev/null 2>&1
expect_exit 0 "$P" image import "$W/docker.tar" && expect_exit 0 "$P" image list &&
	printf '%s\n' "$OUT" | grep -q "example/dock:v2" && [ "$(merged_list dock:v2)" = "$want" ] &&
	t_ok || t_fail "$OUT $ERR"

for z in gzip zstd; do
	t_begin "a $z-compressed docker-archive is read as a docker-archive, not a rootfs"
	command -v $z >/dev/null || { t_ok; continue; }
	$z -c "$W/docker.tar" >"$W/docker.tar.$z"
	"$P" image rm dock:v2 >/dev/null 2>&1
	expect_exit 0 "$P" image import -q "$W/docker.tar.$z" && expect_exit 0 "$P" image list &&
		printf '%s\n' "$OUT" | grep -q "example/dock:v2" && [ "$(merged_list dock:v2)" = "$want" ] &&
		t_ok || t_fail "$OUT $ERR"
done

t_begin "no staging dirs or temp files left in tmp/"
[ -z "$(ls -A "$PODCTL_DIR/tmp")" ] && t_ok || t_fail "$(ls -A "$PODCTL_DIR/tmp")"

t_begin "rm by digest, then gc frees trees and blobs nothing uses"
ntrees=$(ls "$PODCTL_DIR/images/trees" | wc -l)
expect_exit 0 "$P" image rm "$D_OCI" && expect_exit 0 "$P" image list --no-legend &&
	! printf '%s\n' "$OUT" | grep -q "ociarchive" &&
	[ "$(ls "$PODCTL_DIR/images/trees" | wc -l)" -le "$ntrees" ] &&
	[ -n "$(trees_of busybox)" ] && [ -d "$PODCTL_DIR/$(trees_of busybox)" ] && t_ok || t_fail "$OUT $ERR"

t_end
