#!/bin/bash
# podctl image pull and pull-on-run, against a real registry (Debian's
# docker-registry) that this test starts on 127.0.0.1 with a free port and
# its storage in the scratch dir, filled with skopeo from our own busybox
# image. No other address is ever contacted: every reference names
# 127.0.0.1, and lib.sh's PODCTL_PULL=never stays in force except where a
# command below says otherwise.
. "$(dirname "$0")/lib.sh"

P=$PODCTL
W=$T_SCRATCH/work
mkdir -p "$W"
for tool in skopeo umoci docker-registry python3; do
	command -v "$tool" >/dev/null || t_skip "$tool is not installed (scripts/install-deps)"
done
ROOT=$(t_rootfs)

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- the registry ---------------------------------------------------------------
PORT=$(free_port)
REG=127.0.0.1:$PORT
mkdir -p "$W/registry"
cat >"$W/registry.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $W/registry
http:
  addr: $REG
EOF
# The log exists before the registry starts: the redirection of a background
# command happens in its child, after tail below may already have looked.
: >"$W/registry.log"
docker-registry serve "$W/registry.yml" >>"$W/registry.log" 2>&1 &
t_bg $!
disown $! # killed at cleanup by pid, without a job-control line
# Ready when it says it listens (an event in its log, not a timer).
timeout 20 grep -q -m1 "listening on" <(tail -n +1 -f "$W/registry.log") ||
	{ t_begin "start docker-registry"; t_fail "$(tail -3 "$W/registry.log")"; t_end; }
# Blob downloads the registry served so far (its access log, one line each).
blob_gets() { grep -c '"GET /v2/[^ ]*/blobs/sha256:' "$W/registry.log"; }

# --- images to pull: tag 1 and 2 share the layer, 3 is a few big layers ----------
(
	set -e
	cd "$W"
	umoci init --layout oci
	umoci new --image oci:base
	umoci unpack --image oci:base b
	cp -a "$ROOT/." b/rootfs/
	umoci repack --image oci:base b
	rm -rf b
	umoci config --image oci:base --tag one --config.entrypoint=/bin/echo \
		--config.cmd="hello from the registry"
	umoci config --image oci:base --tag two --config.entrypoint=/bin/echo \
		--config.cmd="tag two, pulled on demand"
	umoci new --image oci:big
	for i in 1 2; do
		umoci unpack --image oci:big b
		head -c 30000000 /dev/urandom >b/rootfs/blob$i
		umoci repack --image oci:big b
		rm -rf b
	done
	umoci config --image oci:big --config.cmd=/blob1
	for t in one:1 two:2 big:3; do
		skopeo copy -q --dest-tls-verify=false "oci:oci:${t%%:*}" "docker://$REG/test/busybox:${t#*:}"
	done
) >"$W/build.log" 2>&1 || { t_begin "build and push the images"; t_fail "$(tail -3 "$W/build.log")"; t_end; }

# --- pull, then run by that name ------------------------------------------------------
t_begin "image pull --tls-verify=false prints the digest; run of the name prints the entrypoint's words"
gets0=$(blob_gets)
start=$(date +%s%N)
if expect_exit 0 "$P" image pull --tls-verify=false "docker://$REG/test/busybox:1"; then
	first_ms=$((($(date +%s%N) - start) / 1000000))
	D1=$OUT
	first_gets=$(($(blob_gets) - gets0))
	expect_exit 0 "$P" run "$REG/test/busybox:1" && [ "$OUT" = "hello from the registry" ] &&
		t_ok || t_fail "run: $OUT $ERR"
else t_fail "$ERR"; fi

t_begin "image inspect shows the digest, layers and config (json)"
expect_exit 0 "$P" image inspect --format=json "$REG/test/busybox:1"
J=$(printf '%s' "$OUT" | tr -d ' \n')
case $J in *"\"digest\":\"$D1\""*'"layers":["sha256:'*'"entrypoint":["/bin/echo"]'*) t_ok ;;
*) t_fail "$OUT $ERR" ;; esac

t_begin "a second pull of the same image moves no layer, says so, and is fast"
gets=$(blob_gets)
start=$(date +%s%N)
if expect_exit 0 "$P" image pull --tls-verify=false "docker://$REG/test/busybox:1" && [ "$OUT" = "$D1" ]; then
	again_ms=$((($(date +%s%N) - start) / 1000000))
	moved=$(($(blob_gets) - gets))
	echo "  first pull: $first_ms ms, $first_gets blob downloads; second: $again_ms ms, $moved blob downloads"
	[ "$moved" -eq 0 ] && printf '%s' "$ERR" | grep -q "nothing transferred" && [ "$again_ms" -lt 2000 ] &&
		t_ok || t_fail "moved $moved blobs in $again_ms ms: $ERR"
else t_fail "$OUT $ERR"; fi

# --- pull on run ------------------------------------------------------------------------
t_begin "run of a tag not pulled yet pulls it (layer taken from the store) and records its digest"
gets=$(blob_gets)
if env -u PODCTL_PULL "$P" run --tls-verify=false --uuid-file-save="$W/uuid" "$REG/test/busybox:2" \
	>"$W/out" 2>"$W/err" && [ "$(cat "$W/out")" = "tag two, pulled on demand" ]; then
	moved=$(($(blob_gets) - gets))
	expect_exit 0 "$P" image inspect --format=json "$REG/test/busybox:2"
	D2=$(printf '%s' "$OUT" | grep -o '"digest": *"sha256:[0-9a-f]*"' | grep -o 'sha256:[0-9a-f]*')
	expect_exit 0 "$P" cat-manifest "$(cat "$W/uuid")"
	# Only the config moved: the one layer was in the store already.
	[ -n "$D2" ] && [ "$D2" != "$D1" ] && printf '%s' "$OUT" | grep -q "\"imageDigest\": *\"$D2\"" &&
		[ "$moved" -eq 1 ] && t_ok || t_fail "digest $D2, $moved blob downloads, manifest: $OUT"
else t_fail "$(cat "$W/out" "$W/err")"; fi

t_begin "--pull=always asks the registry again and moves no layer of an image it has"
gets=$(blob_gets)
manifests=$(grep -c '"GET /v2/test/busybox/manifests/' "$W/registry.log")
expect_exit 0 "$P" run --pull=always --tls-verify=false "$REG/test/busybox:1" &&
	[ "$OUT" = "hello from the registry" ] && [ "$(blob_gets)" -eq "$gets" ] &&
	[ "$(grep -c '"GET /v2/test/busybox/manifests/' "$W/registry.log")" -gt "$manifests" ] &&
	t_ok || t_fail "$OUT $ERR; blob downloads $gets -> $(blob_gets)"

t_begin "--pull=never refuses an image not in the store: exit 3, one line"
before=$(store_snapshot)
expect_exit 3 env -u PODCTL_PULL "$P" run --pull=never "$REG/test/busybox:3" && one_line &&
	[ "$before" = "$(store_snapshot)" ] && t_ok || t_fail "$ERR"

t_begin "a manifest whose imageDigest is not the image's is refused"
cat >"$W/pinned.json" <<EOF
{"version": 1, "apps": [{"name": "a", "image": "$REG/test/busybox:1", "imageDigest": "$D2"}]}
EOF
expect_exit 1 "$P" prepare --manifest "$W/pinned.json" && one_line &&
	printf '%s' "$ERR" | grep -q imageDigest && t_ok || t_fail "$ERR"

# --- by digest, and failures ---------------------------------------------------------------
t_begin "pull by digest gives the same image, named by the reference"
expect_exit 0 "$P" image pull --tls-verify=false "docker://$REG/test/busybox@$D1" && [ "$OUT" = "$D1" ] &&
	expect_exit 0 "$P" run "$REG/test/busybox@$D1" && [ "$OUT" = "hello from the registry" ] &&
	t_ok || t_fail "$OUT $ERR"

fails_clean() { # CODE WORD REF [OPTIONS…]: exit CODE, one line naming REF and WORD, nothing left
	local code=$1 word=$2 ref=$3
	shift 3
	local before
	before=$(store_snapshot)
	expect_exit "$code" "$P" image pull "$@" "$ref" || return 1
	one_line || { echo "not one line: $ERR" >&2; return 1; }
	case $ERR in *"$ref"*"$word"*) ;; *) echo "message: $ERR" >&2; return 1 ;; esac
	[ "$before" = "$(store_snapshot)" ] || { echo "the store changed" >&2; return 1; }
	[ -z "$(ls -A "$PODCTL_DIR/tmp")" ] || { echo "left in tmp/: $(ls "$PODCTL_DIR/tmp")" >&2; return 1; }
}

t_begin "a wrong digest fails cleanly: exit 3, one line, nothing left"
fails_clean 3 "manifest unknown" "docker://$REG/test/busybox@sha256:$(printf '0%.0s' {1..64})" \
	--tls-verify=false && t_ok || t_fail "$ERR"

t_begin "a tag that does not exist: exit 3"
fails_clean 3 "manifest unknown" "docker://$REG/test/busybox:nope" --tls-verify=false &&
	t_ok || t_fail "$ERR"

t_begin "a registry that is down: one line, exit 1"
fails_clean 1 "connection refused" "docker://127.0.0.1:$(free_port)/test/busybox:1" --tls-verify=false &&
	t_ok || t_fail "$ERR"

t_begin "TLS expected from a plain-HTTP registry: one line, exit 1"
fails_clean 1 "TLS" "docker://$REG/test/busybox:1" && t_ok || t_fail "$ERR"

t_begin "an oci-archive that is not there: exit 3"
fails_clean 3 "no such file" "oci-archive:$W/missing.tar" && t_ok || t_fail "$ERR"

t_begin "without skopeo: says so and how to install it"
PODCTL_SKOPEO=/nonexistent/skopeo fails_clean 1 "apt-get install skopeo" "docker://$REG/test/busybox:1" &&
	t_ok || t_fail "$ERR"

t_begin "oci-archive: pulls, and by the name it gave, runs"
skopeo copy -q oci:"$W/oci":one "oci-archive:$W/one.tar" >/dev/null 2>&1
expect_exit 0 "$P" image pull "oci-archive:$W/one.tar" && [ "$OUT" = "$D1" ] &&
	expect_exit 0 "$P" run "oci-archive:$W/one.tar" && [ "$OUT" = "hello from the registry" ] &&
	t_ok || t_fail "$OUT $ERR"

t_begin "docker-archive: skopeo converts the manifest; a second pull finds it through images/pulled/"
skopeo copy -q oci:"$W/oci":one "docker-archive:$W/one-docker.tar:example/one:v1" >/dev/null 2>&1
if expect_exit 0 "$P" image pull "docker-archive:$W/one-docker.tar"; then
	DA=$OUT
	expect_exit 0 "$P" image pull "docker-archive:$W/one-docker.tar" && [ "$OUT" = "$DA" ] &&
		printf '%s' "$ERR" | grep -q "nothing transferred" && [ -n "$(ls "$PODCTL_DIR/images/pulled")" ] &&
		expect_exit 0 "$P" run "docker-archive:$W/one-docker.tar" && [ "$OUT" = "hello from the registry" ] &&
		t_ok || t_fail "$OUT $ERR"
else t_fail "$ERR"; fi

t_begin "image tag gives a second name"
expect_exit 0 "$P" image tag "$REG/test/busybox:1" mine:v1 && expect_exit 0 "$P" run mine:v1 &&
	[ "$OUT" = "hello from the registry" ] && t_ok || t_fail "$OUT $ERR"

# --- a pull killed with SIGKILL ------------------------------------------------------------
# skopeo through a wrapper that sends its debug lines to a log (and not to
# podctl, so that no pipe to the dead podctl could end it): "GET …/blobs/…"
# is printed as a download starts, so the test kills podctl mid-transfer on
# that event. skopeo must die with podctl (PR_SET_PDEATHSIG); what the pull
# left in tmp/ carries podctl's pid, and the next gc removes it.
t_begin "a pull killed mid-way: skopeo dies too, nothing is imported, gc leaves nothing in tmp/"
cat >"$W/skopeo" <<EOF
#!/bin/bash
exec $(command -v skopeo) --debug "\$@" 2>>"$W/skopeo.log"
EOF
chmod +x "$W/skopeo"
: >"$W/skopeo.log"
before=$(store_snapshot | grep ' ./images')
PODCTL_SKOPEO=$W/skopeo "$P" image pull --tls-verify=false "docker://$REG/test/busybox:3" >/dev/null 2>&1 &
pull=$!
t_bg $pull
if timeout 60 grep -q -m1 "GET .*/blobs/sha256:" <(tail -n +1 -f "$W/skopeo.log"); then
	kid=$(pgrep -f "$PODCTL_DIR/tmp/pull-" | head -1)
	kill -9 $pull
	wait $pull 2>/dev/null
	# skopeo gets SIGKILL as podctl dies: gone at once, its big layers
	# unfinished. (A skopeo that lived on would still run here, or would
	# have completed both ~28 MiB layer blobs in the layout.)
	[ -n "$kid" ] && timeout 5 tail --pid="$kid" -s 0.02 -f /dev/null
	left=$(ls "$PODCTL_DIR/tmp")
	alive=$(pgrep -f "$PODCTL_DIR/tmp/pull-")
	complete=$(find "$PODCTL_DIR/tmp" -path '*/oci/blobs/sha256/*' -size +20M | wc -l)
	expect_exit 0 "$P" gc
	after=$(store_snapshot | grep ' ./images')
	echo "  left in tmp/ by the killed pull: ${left:-nothing}; after gc: $(ls -A "$PODCTL_DIR/tmp" | wc -l) entries"
	[ -n "$kid" ] && [ -z "$alive" ] && [ "$complete" -eq 0 ] && [ -z "$(ls -A "$PODCTL_DIR/tmp")" ] &&
		[ "$before" = "$after" ] &&
		expect_exit 3 "$P" image inspect "$REG/test/busybox:3" && t_ok ||
		t_fail "skopeo $kid alive: $alive; $complete big layers completed; tmp: $(ls -A "$PODCTL_DIR/tmp"); $(diff <(echo "$before") <(echo "$after") | head -5)"
else
	t_fail "skopeo never started a download: $(tail -3 "$W/skopeo.log")"
fi

t_begin "on a terminal: a line per layer with a bar and bytes; --quiet draws nothing"
# script(1) gives the pull a pseudo-terminal; its typescript is what a person saw.
script -qfec "$P image pull --quiet --tls-verify=false docker://$REG/test/busybox:3" "$W/quiet.tty" >/dev/null 2>&1
"$P" image rm "$REG/test/busybox:3" >/dev/null # and its layers (image rm collects): transferred again below
if script -qfec "$P image pull --tls-verify=false docker://$REG/test/busybox:3" "$W/tty" >/dev/null 2>&1; then
	tr '\r' '\n' <"$W/tty" >"$W/tty.lines"
	# Two 30 MB layers transferred, each drawn with its bar; the summary says so.
	[ "$(grep -c 'sha256:[0-9a-f]\{12\}  \[#*\.*\] *[0-9.]* / [0-9.]* MiB done' "$W/tty.lines")" -ge 2 ] &&
		grep -q "2 layers, 0 taken from the store" "$W/tty.lines" &&
		! grep -q '\[#' "$W/quiet.tty" && t_ok ||
		t_fail "$(tail -5 "$W/tty.lines") / quiet: $(cat "$W/quiet.tty")"
else t_fail "$(cat "$W/tty")"; fi

t_end
