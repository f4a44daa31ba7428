#!/bin/bash
# podctl image import of hostile layouts: files that are FIFOs, symlinks out
# of the layout or oversized must make the import fail fast, with one line
# naming the file, and leave the store as it was. (Before the fix a FIFO
# index.json hung `podctl image import DIR` for ever.)
. "$(dirname "$0")/lib.sh"

P=$PODCTL
W=$T_SCRATCH/work
mkdir -p "$W"
ROOT=$(t_rootfs)
# Longer than any honest import of these tiny images, far shorter than a hang.
LIMIT=20

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# mk_oci DIR: a minimal, valid OCI layout (one layer) built by hand.
mk_oci() {
	local d=$1 layer cfg man
	mkdir -p "$d/blobs/sha256"
	tar -C "$ROOT" -czf "$d/layer.tgz" .
	layer=$(sha "$d/layer.tgz")
	mv "$d/layer.tgz" "$d/blobs/sha256/$layer"
	printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[]}}' >"$d/cfg"
	cfg=$(sha "$d/cfg")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
		"$cfg" "$(size "$d/cfg")" "$layer" "$(size "$d/blobs/sha256/$layer")" >"$d/man"
	mv "$d/cfg" "$d/blobs/sha256/$cfg"
	man=$(sha "$d/man")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
		"$man" "$(size "$d/man")" >"$d/index.json"
	mv "$d/man" "$d/blobs/sha256/$man"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	LAYER_HEX=$layer
}

# refused WHAT PATTERN ARGS...: the import fails within LIMIT seconds with
# exit 1 and one line matching PATTERN, and the store is unchanged.
refused() {
	local what=$1 pattern=$2 before got
	shift 2
	t_begin "$what"
	before=$(store_snapshot)
	OUT=$(timeout -k 5 "$LIMIT" "$P" image import "$@" 2>"$T_SCRATCH/stderr")
	got=$?
	ERR=$(cat "$T_SCRATCH/stderr")
	if [ "$got" -eq 124 ] || [ "$got" -eq 137 ]; then
		t_fail "hung: still running after ${LIMIT}s"
	elif [ "$got" -ne 1 ]; then
		t_fail "exit $got, not 1 (stderr: $ERR)"
	elif ! one_line; then
		t_fail "not one line: $ERR"
	elif ! printf '%s' "$ERR" | grep -q -- "$pattern"; then
		t_fail "\"$ERR\" does not say $pattern"
	elif [ "$before" != "$(store_snapshot)" ]; then
		t_fail "the store changed: $(diff <(echo "$before") <(store_snapshot) | head -5)"
	else
		t_ok
	fi
}

# The control: the layout as built imports, so each refusal below is the
# hostile file's doing. Then the store holds one image, which must survive.
mk_oci "$W/good"
t_begin "a hand-made OCI layout imports (the control)"
if expect_exit 0 "$P" image import "$W/good" --name good; then t_ok; else t_fail "$ERR"; fi

cp -a "$W/good" "$W/fifo-index"
rm "$W/fifo-index/index.json"
mkfifo "$W/fifo-index/index.json"
refused "a FIFO index.json is refused at once" "index.json: not a regular file" "$W/fifo-index"

cp -a "$W/good" "$W/fifo-blob"
rm "$W/fifo-blob/blobs/sha256/$LAYER_HEX"
mkfifo "$W/fifo-blob/blobs/sha256/$LAYER_HEX"
refused "a FIFO layer blob is refused at once" "$LAYER_HEX: not a regular file" "$W/fifo-blob"

cp -a "$W/good" "$W/link-index"
ln -sf /etc/shadow "$W/link-index/index.json"
refused "an index.json symlinked to /etc/shadow is refused" "index.json" "$W/link-index"

cp -a "$W/good" "$W/big-index"
{ head -c $((5 << 20)) /dev/zero | tr '\0' ' '; cat "$W/good/index.json"; } >"$W/big-index/index.json"
refused "an index.json over 4 MiB is refused before it is read" "index.json: .*more than" "$W/big-index"

cp -a "$W/good" "$W/dev-index"
rm "$W/dev-index/index.json"
mknod "$W/dev-index/index.json" c 1 5 # /dev/zero: endless
refused "a device index.json is refused" "index.json: not a regular file" "$W/dev-index"

mkdir -p "$W/fifo-docker"
mkfifo "$W/fifo-docker/manifest.json"
refused "a FIFO manifest.json of a docker-archive dir is refused" "manifest.json: not a regular file" \
	"$W/fifo-docker"

mkfifo "$W/fifo-file"
refused "a FIFO given as the file to import is refused" "not a file or dir" "$W/fifo-file"

# The same FIFO inside an oci-archive: the outer tar is unpacked, then read
# as a layout.
(cd "$W/fifo-index" && tar -cf "$W/fifo-index.tar" oci-layout index.json blobs)
refused "a FIFO index.json inside an oci-archive is refused" "index.json: not a regular file" \
	"$W/fifo-index.tar"

# Type confusion in the JSON: json-c asserts (the library aborted, exit 134)
# when an array function meets a non-array. Now each is a clean refusal.
mkdir -p "$W/tags"
echo '[{"Config":"c.json","RepoTags":"x:y","Layers":["a.tar"]}]' >"$W/tags/manifest.json"
echo '{}' >"$W/tags/c.json"
refused "a docker manifest.json whose RepoTags is not an array is refused, not an abort" \
	"a.tar" "$W/tags" --name a:b

mkdir -p "$W/diffids"
tar -C "$ROOT" -cf "$W/diffids/a.tar" .
echo '[{"Config":"c.json","Layers":["a.tar"]}]' >"$W/diffids/manifest.json"
echo '{"rootfs":{"type":"layers","diff_ids":"sha256:00"},"config":{"Env":"A=1"}}' >"$W/diffids/c.json"
t_begin "a docker config whose diff_ids and Env are not arrays imports without them, no abort"
if OUT=$(timeout -k 5 "$LIMIT" "$P" image import "$W/diffids" 2>&1); then t_ok; else t_fail "exit $?: $OUT"; fi

t_end
