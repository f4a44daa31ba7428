#!/bin/bash
# Images used by pods: run by name and by digest prefix, image config
# (Entrypoint/Cmd/Env/WorkingDir) and manifest overrides, image rm while pods
# use the image, concurrent imports, gc/rm racing prepare, the copy fallback
# without overlayfs, the progress bar, a compressed docker-archive.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

P=$PODCTL
W=$T_SCRATCH/work
mkdir -p "$W"
ROOT=$(t_rootfs)
echo "from the image" >"$ROOT/etc/imgmark"
mkdir -p "$ROOT/srv"
tar -C "$ROOT" -cf "$W/bb.tar" .

# Pods and images left in the store: nothing in tmp/ or prepare/, every tree
# a prepared pod records exists.
store_consistent() {
	local f t
	[ -z "$(ls -A "$PODCTL_DIR/tmp" 2>/dev/null)" ] || { echo "tmp/: $(ls -A "$PODCTL_DIR/tmp")"; return 1; }
	[ -z "$(ls -A "$PODCTL_DIR/pods/prepare" 2>/dev/null)" ] ||
		{ echo "prepare/: $(ls -A "$PODCTL_DIR/pods/prepare")"; return 1; }
	for f in "$PODCTL_DIR"/pods/prepared/*/apps/*/image; do
		[ -e "$f" ] || continue
		for t in $(grep -o '"layers":\[[^]]*\]' "$f" | grep -o '"[^"]*"' | tr -d '"' | grep -v layers); do
			case $t in /*) ;; *) t=$PODCTL_DIR/$t ;; esac
			[ -d "$t" ] || { echo "$f: missing tree $t"; return 1; }
		done
	done
}

# --- run by name, by digest prefix -------------------------------------------
t_begin "run a pod by image name after import"
if expect_exit 0 "$P" image import -q "$W/bb.tar" --name demo:1; then
	D=$OUT
	expect_exit 0 "$P" run demo:1 -- /bin/busybox true && t_ok || t_fail "$ERR"
else t_fail "import: $ERR"; fi

t_begin "the app sees the image's files (layer paths relative to the data dir)"
expect_exit 0 "$P" run demo:1 -- cat /etc/imgmark && [ "$OUT" = "from the image" ] &&
	grep -q '"layers":\["images/trees/sha256-' "$PODCTL_DIR"/pods/*/*/apps/*/image &&
	t_ok || t_fail "got \"$OUT\" $ERR"

t_begin "exit code of an app run by image name passes through"
expect_exit 7 "$P" run demo:1 -- sh -c 'exit 7' && t_ok || t_fail "$ERR"

t_begin "run by digest prefix, with and without sha256:"
hex=${D#sha256:}
expect_exit 0 "$P" run "${hex:0:12}" -- cat /etc/imgmark && [ "$OUT" = "from the image" ] &&
	expect_exit 0 "$P" run "sha256:${hex:0:12}" -- cat /etc/imgmark && t_ok || t_fail "$OUT $ERR"

t_begin "an unknown image name: exit 3, one line, no pod left"
before=$(ls "$PODCTL_DIR"/pods/*/ | sort)
expect_exit 3 "$P" run nosuch:1 -- true && one_line && [ "$before" = "$(ls "$PODCTL_DIR"/pods/*/ | sort)" ] &&
	t_ok || t_fail "$ERR"
"$P" gc --grace-period=0s >/dev/null 2>&1

# --- image rm while pods use the image ----------------------------------------
# An image of its own (one name only: rm of one of several names only drops it).
busy_tar() {
	cp -a "$ROOT" "$W/busyroot"
	echo "$1" >"$W/busyroot/etc/imgmark"
	tar -C "$W/busyroot" -cf "$W/busy$1.tar" .
	rm -rf "$W/busyroot"
}
busy_tar 1
busy_tar 2

t_begin "image rm is refused while pods use the image, naming them in one line"
expect_exit 0 "$P" image import -q "$W/busy1.tar" --name busy:1 &&
	expect_exit 0 "$P" prepare busy:1 -- /bin/true && U=$OUT &&
	expect_exit 0 "$P" run --detach --name=busy-user busy:1 -- sleep 1000 && UR=$OUT &&
	expect_exit 1 "$P" image rm busy:1 && one_line &&
	[[ $ERR == *"image busy:1 is used by 2 pods: "* && $ERR == *"${U:0:8} (prepared)"* ]] &&
	[[ $ERR == *"${UR:0:8} (busy-user, running)"* ]] && expect_exit 0 "$P" image list --no-legend &&
	printf '%s\n' "$OUT" | grep -q busy:1 && t_ok || t_fail "$OUT $ERR"

t_begin "after rm of the pods, a plain image rm works"
expect_exit 0 "$P" stop --force "$UR" && expect_exit 0 "$P" rm "$U" "$UR" && expect_exit 0 "$P" image rm busy:1 &&
	expect_exit 0 "$P" image list --no-legend && ! printf '%s\n' "$OUT" | grep -q busy:1 &&
	t_ok || t_fail "$OUT $ERR"

t_begin "image rm --force works while a pod uses it; the pod still runs"
expect_exit 0 "$P" image import -q "$W/busy2.tar" --name busy:2 &&
	expect_exit 0 "$P" prepare busy:2 -- cat /etc/imgmark && U=$OUT &&
	expect_exit 1 "$P" image rm busy:2 && expect_exit 0 "$P" image rm --force busy:2 &&
	expect_exit 0 "$P" image list --no-legend && ! printf '%s\n' "$OUT" | grep -q "busy:2" &&
	expect_exit 0 "$P" run-prepared "$U" && [ "$OUT" = 2 ] && t_ok || t_fail "$OUT $ERR"

t_begin "once that pod is gone, image gc frees its trees"
ntrees=$(ls "$PODCTL_DIR/images/trees" | wc -l)
expect_exit 0 "$P" rm "$U" && expect_exit 0 "$P" gc --grace-period=0s &&
	[ "$(ls "$PODCTL_DIR/images/trees" | wc -l)" -eq $((ntrees - 1)) ] && t_ok ||
	t_fail "$(ls "$PODCTL_DIR/images/trees") $ERR"

# --- concurrent imports ---------------------------------------------------------
t_begin "three concurrent imports of the same image: all succeed, one tree per layer"
"$P" image rm demo:1 >/dev/null 2>&1
"$P" gc --grace-period=0s >/dev/null 2>&1
ntrees=$(($(ls "$PODCTL_DIR/images/trees" | wc -l) + 1))
for i in 1 2 3; do
	"$P" image import -q "$W/bb.tar" --name conc:1 >"$W/conc.$i.out" 2>"$W/conc.$i.err" &
	t_bg $!
	pids[i]=$!
done
ok=1
for i in 1 2 3; do wait "${pids[i]}" || { ok=0; echo "import $i: $(cat "$W/conc.$i.err")"; }; done
if [ $ok = 1 ] && [ "$(sort -u "$W"/conc.*.out | wc -l)" -eq 1 ] &&
	[ "$(ls "$PODCTL_DIR/images/trees" | wc -l)" -eq "$ntrees" ] && store_consistent; then
	t_ok
else t_fail "trees: $(ls "$PODCTL_DIR/images/trees")"; fi

# --- gc and rm racing prepare -----------------------------------------------
t_begin "gc and image rm racing prepare: prepares succeed or fail cleanly"
: >"$W/race.uuids"
: >"$W/race.bad"
end=$(($(date +%s) + 3))
(
	while [ "$(date +%s)" -lt "$end" ]; do
		out=$("$P" prepare race:1 -- cat /etc/imgmark 2>"$W/race.err")
		rc=$?
		case $rc in
		0) echo "$out" >>"$W/race.uuids" ;;
		1 | 3) [ "$(wc -l <"$W/race.err")" -eq 1 ] || { echo "rc $rc: $(cat "$W/race.err")" >>"$W/race.bad"; } ;;
		*) echo "rc $rc: $(cat "$W/race.err")" >>"$W/race.bad" ;;
		esac
	done
) &
t_bg $!
preparer=$!
n=0
while [ "$(date +%s)" -lt "$end" ]; do
	n=$((n + 1))
	"$P" image import -q "$W/bb.tar" --name race:1 >/dev/null 2>>"$W/race.racer" ||
		echo "import failed" >>"$W/race.bad"
	case $((n % 3)) in
	0) "$P" image rm --force race:1 >/dev/null 2>>"$W/race.racer" ;;
	1) "$P" image rm race:1 >/dev/null 2>>"$W/race.racer" ;;
	2) "$P" gc --grace-period=0s >/dev/null 2>>"$W/race.racer" ;;
	esac
done
wait "$preparer"
bad=""
while read -r u; do
	out=$("$P" run-prepared "$u" 2>"$W/race.run.err" </dev/null) && [ "$out" = "from the image" ] || bad="$bad $u:$out $(cat "$W/race.run.err")"
done <"$W/race.uuids"
echo "# race: $(wc -l <"$W/race.uuids") pods prepared, $n import/rm/gc rounds"
if [ ! -s "$W/race.bad" ] && [ -z "$bad" ] && [ -s "$W/race.uuids" ] && store_consistent; then
	t_ok
else t_fail "$(head -3 "$W/race.bad") $bad ($(wc -l <"$W/race.uuids") prepared)"; fi

t_begin "after the race, removing every pod and image leaves no trees or blobs"
xargs -r "$P" rm <"$W/race.uuids" >/dev/null 2>&1
"$P" image rm --force race:1 >/dev/null 2>&1
"$P" image rm --force conc:1 >/dev/null 2>&1
"$P" gc --grace-period=0s >/dev/null 2>&1
[ -z "$(ls -A "$PODCTL_DIR/images/trees")" ] && [ -z "$(ls -A "$PODCTL_DIR/images/blobs/sha256")" ] &&
	store_consistent && t_ok || t_fail "trees: $(ls "$PODCTL_DIR/images/trees") blobs: $(ls "$PODCTL_DIR/images/blobs/sha256")"

# --- the copy fallback without overlayfs ------------------------------------------
t_begin "PODCTL_NO_OVERLAY=1: prepare copies the image into the pod and says so once"
expect_exit 0 "$P" image import -q "$W/bb.tar" --name copy:1 &&
	PODCTL_NO_OVERLAY=1 expect_exit 0 "$P" prepare copy:1 -- sh -c 'cat /etc/imgmark; echo x >/bin/written' &&
	U=$OUT && [ "$ERR" = "podctl: overlayfs unavailable: copying the image" ] &&
	d=$PODCTL_DIR/pods/prepared/$U/apps/copy &&
	grep -q '"rootfs":"copy"' "$d/image" && [ "$(cat "$d/rootfs/etc/imgmark")" = "from the image" ] &&
	[ -x "$d/rootfs/bin/busybox" ] && [ ! -e "$d/upper" ] && t_ok || t_fail "$ERR $(cat "$d/image" 2>&1)"

t_begin "stage1 runs the copied rootfs without an overlay; writes stay in the copy"
expect_exit 0 "$P" run-prepared "$U" && [ "$OUT" = "from the image" ] &&
	[ -f "$PODCTL_DIR/pods/run/$U/apps/copy/rootfs/bin/written" ] &&
	! ls "$PODCTL_DIR"/images/trees/*/bin/written >/dev/null 2>&1 &&
	t_ok || t_fail "$OUT $ERR"

t_begin "the copied rootfs is a bind mount inside the pod, not an overlay"
PODCTL_NO_OVERLAY=1 expect_exit 0 "$P" run copy:1 -- cat /proc/self/mountinfo &&
	printf '%s\n' "$OUT" | awk '$5 == "/"' | grep -q "/apps/copy/rootfs / .*nosuid,nodev" &&
	! printf '%s\n' "$OUT" | awk '$5 == "/"' | grep -q overlay && t_ok || t_fail "$OUT $ERR"

t_begin "the copy fallback merges layers: whiteouts honoured"
if command -v umoci >/dev/null; then
	(
		set -e
		cd "$W"
		umoci init --layout wh
		umoci new --image wh:t
		umoci unpack --image wh:t b
		cp -a "$ROOT/." b/rootfs/
		umoci repack --image wh:t b
		rm -rf b
		umoci unpack --image wh:t b
		rm b/rootfs/etc/imgmark
		umoci repack --image wh:t b
		rm -rf b
	) >"$W/umoci-wh.log" 2>&1 &&
		expect_exit 0 "$P" image import -q "$W/wh" --name wh:1 &&
		PODCTL_NO_OVERLAY=1 expect_exit 1 "$P" run wh:1 -- cat /etc/imgmark &&
		expect_exit 1 "$P" run wh:1 -- cat /etc/imgmark && t_ok || t_fail "$OUT $ERR $(tail -2 "$W/umoci-wh.log")"
else t_ok; fi
"$P" rm "$U" >/dev/null 2>&1

# --- progress bar -------------------------------------------------------------
mkdir -p "$W/bigroot"
head -c $((24 << 20)) /dev/urandom >"$W/bigroot/blob"
tar -C "$W/bigroot" -cf "$W/big.tar" .
rm -rf "$W/bigroot"
command -v script >/dev/null || t_skip "script (util-linux) is missing"
t_begin "import on a terminal shows a progress bar"
out=$(script -qec "$P image import '$W/big.tar'" /dev/null </dev/null)
printf '%s' "$out" | grep -q 'layer 1/1 \[#*\.*\] *[0-9]*% ' && printf '%s' "$out" | grep -q 'sha256:' &&
	t_ok || t_fail "$(printf '%s' "$out" | tr '\r' '\n' | head -3)"
"$P" image rm "$(printf '%s' "$out" | grep -o 'sha256:[0-9a-f]*')" >/dev/null

t_begin "the progress bar counts each byte of the input once: it ends at the tar's size"
# Driven through a pty (python's pty module); the figures of the last bar
# drawn before it is cleared: "layer 1/1 [###…] 100% DONE/TOTAL MiB".
last=$(python3 - "$P" "$W/big.tar" <<'PY'
import os, pty, re, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "image", "import", sys.argv[2]])
out = b""
while True:
    try:
        b = os.read(fd, 65536)
    except OSError:
        break
    if not b:
        break
    out += b
os.waitpid(pid, 0)
bars = re.findall(rb"(\d+)% (\d+)(?:/\d+)? MiB", out)
digest = re.search(rb"sha256:[0-9a-f]+", out)
print(" ".join(b.decode() for b in bars[-1]) if bars else "none", digest.group().decode() if digest else "")
PY
)
mib=$(($(stat -c %s "$W/big.tar") >> 20))
[ "${last% *}" = "100 $mib" ] && t_ok || t_fail "last bar (percent, MiB, digest): $last, the tar has $mib MiB"
"$P" image rm "${last##* }" >/dev/null

t_begin "no progress bar with --quiet, or with stdout not a terminal"
q=$(script -qec "$P image import --quiet '$W/big.tar'" /dev/null </dev/null)
"$P" image rm "$(printf '%s' "$q" | grep -o 'sha256:[0-9a-f]*')" >/dev/null
nt=$(script -qec "$P image import '$W/big.tar' >'$W/digest'" /dev/null </dev/null)
[ "$(printf '%s' "$q" | tr -d '\r\n')" = "$(cat "$W/digest")" ] && [ -z "$nt" ] &&
	! printf '%s' "$q" | grep -q 'layer' && t_ok || t_fail "quiet: \"$q\", not a tty: \"$nt\""

# --- image config (umoci) ------------------------------------------------------
if ! command -v umoci >/dev/null; then
	echo "skip test-images-pods: image config checks need umoci (scripts/install-deps)"
	t_end
fi
(
	set -e
	cd "$W"
	umoci init --layout oci
	umoci new --image oci:cfg
	umoci unpack --image oci:cfg b
	cp -a "$ROOT/." b/rootfs/
	umoci repack --image oci:cfg b
	umoci config --image oci:cfg --config.entrypoint=/bin/sh --config.entrypoint=-c \
		--config.cmd='echo "$GREETING $WHO in $(pwd)"' --config.env=GREETING=hello \
		--config.env=WHO=image --config.workingdir=/srv
	rm -rf b
) >"$W/umoci.log" 2>&1 || { t_begin "build an OCI image with a config"; t_fail "$(tail -3 "$W/umoci.log")"; t_end; }

t_begin "run IMAGE with no args runs the entrypoint and cmd, with the image's env and cwd"
expect_exit 0 "$P" image import -q "$W/oci" --name cfg:1 && expect_exit 0 "$P" run cfg:1 &&
	[ "$OUT" = "hello image in /srv" ] && t_ok || t_fail "got \"$OUT\" $ERR"

t_begin "args after -- replace entrypoint and cmd; env and cwd stay"
expect_exit 0 "$P" run cfg:1 -- sh -c 'echo "$GREETING $(pwd)"' && [ "$OUT" = "hello /srv" ] &&
	t_ok || t_fail "got \"$OUT\" $ERR"

t_begin "a manifest's exec, env and workingDir override the image's"
cat >"$W/m-cfg.json" <<JSON
{"version":1,"apps":[{"name":"a","image":"cfg:1","exec":["sh","-c","echo \"\$GREETING \$WHO in \$(pwd)\""],
 "env":{"WHO":"manifest"},"workingDir":"/etc"}]}
JSON
expect_exit 0 "$P" run --manifest "$W/m-cfg.json" && [ "$OUT" = "hello manifest in /etc" ] &&
	t_ok || t_fail "got \"$OUT\" $ERR"

t_begin "a manifest app without exec gets the image's entrypoint and cmd"
cat >"$W/m-cfg2.json" <<JSON
{"version":1,"apps":[{"name":"a","image":"cfg:1","env":{"GREETING":"hi"}}]}
JSON
expect_exit 0 "$P" run --manifest "$W/m-cfg2.json" && [ "$OUT" = "hi image in /srv" ] &&
	t_ok || t_fail "got \"$OUT\" $ERR"

t_begin "an image name with slashes runs by name; a name wins over a same-named path"
mkdir -p "$W/names"
if expect_exit 0 "$P" image import -q "$W/bb.tar" --name docker.io/acc/busybox:latest &&
	expect_exit 0 "$P" run docker.io/acc/busybox:latest -- cat /etc/imgmark &&
	[ "$OUT" = "from the image" ] &&
	(cd "$W/names" && mkdir -p docker.io/acc/busybox:latest &&
		expect_exit 0 "$P" run docker.io/acc/busybox:latest -- cat /etc/imgmark &&
		[ "$OUT" = "from the image" ]); then
	t_ok
else
	t_fail "out \"$OUT\" err $ERR"
fi

t_begin "neither a name nor a path: exit 3, one line saying both were tried"
if expect_exit 3 "$P" run no.such/image:tag -- true && one_line &&
	echo "$ERR" | grep -q "no image of that name" && echo "$ERR" | grep -q "no file"; then
	t_ok
else
	t_fail "$ERR"
fi

t_begin "./NAME is always a path"
if expect_exit 3 "$P" run ./docker.io/acc/busybox:latest -- true; then t_ok; else t_fail "$ERR"; fi

t_end
