#!/bin/bash
# A full disk for real: the data dir on a small tmpfs that fills during
# image import, prepare and a pod's logs. Clean one-line errors, nothing
# partial left visible, the pod survives its log filling the disk, and all
# works again once space is freed.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"

P=$PODCTL
ROOT=$(t_rootfs)
SMALL=$T_SCRATCH/small
mkdir -p "$SMALL"
# FS=ext4 (a loop-mounted ext4 image) or tmpfs (the default): the same checks
# on both, run-time flag for the test runner below.
FS=${PODCTL_TEST_FULL_FS:-tmpfs}
if [ "$FS" = ext4 ]; then
	command -v mkfs.ext4 >/dev/null || t_skip "mkfs.ext4 is not installed"
	truncate -s 24M "$T_SCRATCH/disk.img" && mkfs.ext4 -q -F -m 0 "$T_SCRATCH/disk.img" &&
		mount -o loop "$T_SCRATCH/disk.img" "$SMALL" || t_skip "cannot loop-mount an ext4 image"
else
	mount -t tmpfs -o size=24m podctl-test-full "$SMALL" || t_skip "cannot mount a tmpfs"
fi
export PODCTL_DIR=$SMALL/store
PODS=$PODCTL_DIR/pods
"$P" list >/dev/null || t_skip "cannot make a store on the tmpfs"

# fill: leave about $1 KiB free on the tmpfs.
fill() {
	rm -f "$SMALL/filler"
	local free
	free=$(df -k --output=avail "$SMALL" | tail -1)
	[ "$free" -gt "$1" ] && head -c $(((free - $1) * 1024)) /dev/zero >"$SMALL/filler" 2>/dev/null
	return 0
}
unfill() { rm -f "$SMALL/filler"; }

echo "# data dir on $FS"
t_begin "image import on a full disk: exit 1, one line, no image and nothing partial left"
big=$T_SCRATCH/big
cp -a "$ROOT" "$big"
head -c 3000000 /dev/urandom >"$big/blob"
tar -C "$big" -cf "$T_SCRATCH/big.tar" .
fill 4096
if expect_exit 1 "$P" image import "$T_SCRATCH/big.tar" --name big && one_line &&
	grep -q "No space left on device" <<<"$ERR" && expect_exit 0 "$P" image list --format=json &&
	[ "$(tr -d ' \n' <<<"$OUT")" = "[]" ]; then
	"$P" gc >/dev/null
	left=$(find "$PODCTL_DIR/images" -type f 2>/dev/null | grep -v -e names.json -e names.lock -e '/lock$')
	if [ -z "$left" ] && [ -z "$(ls -A "$PODCTL_DIR/tmp")" ]; then t_ok; else t_fail "left: $left $(ls -A "$PODCTL_DIR/tmp")"; fi
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "once space is freed the same import works"
unfill
if expect_exit 0 "$P" image import "$T_SCRATCH/big.tar" --name big; then t_ok; else t_fail "$ERR"; fi
"$P" image rm big >/dev/null 2>&1
"$P" gc >/dev/null 2>&1

t_begin "prepare on a full disk: exit 1, one line, no pod left after gc; works once freed"
fill 8
if expect_exit 1 "$P" prepare "$ROOT" -- true && one_line && grep -q "No space left" <<<"$ERR" &&
	[ -z "$(ls -A "$PODS/prepared")" ]; then
	unfill
	"$P" gc --grace-period=0 --expire-prepared=0 >/dev/null
	if [ "$(pod_count)" -eq 0 ] && expect_exit 0 "$P" prepare "$ROOT" -- true; then t_ok; else t_fail "after freeing: $ERR $(pod_count) pods"; fi
else
	t_fail "out: $OUT err: $ERR"
	unfill
fi
"$P" gc --grace-period=0 --expire-prepared=0 >/dev/null 2>&1

t_begin "a pod whose log fills the disk keeps running; its output up to then is kept; it exits cleanly once space is back"
mkdir -p "$T_SCRATCH/gate"
mkfifo "$T_SCRATCH/gate/written" "$T_SCRATCH/gate/go"
fill 512
# The app writes 8 MB (more than the disk holds), says so through one FIFO of
# a volume and waits on another: both ends block until the other side is
# there, so neither side polls.
U=$("$P" run --detach -v "$T_SCRATCH/gate:/gate" "$ROOT" -- \
	sh -c 'echo first-line; head -c 8000000 /dev/zero | tr "\0" x; echo; echo written >/gate/written
	       read -r go </gate/go; echo after-space-freed')
written=$(timeout 30 cat "$T_SCRATCH/gate/written")
st=$("$P" status "$U" 2>&1)
full=$(df -k --output=avail "$SMALL" | tail -1)
logs_while_full=$("$P" logs "$U" 2>&1 | head -c 20)
unfill
rm -f "$SMALL"/store/pods/run/"$U"/apps/*/log.1
echo go | timeout 10 tee "$T_SCRATCH/gate/go" >/dev/null
if [ "$written" = written ] && grep -q "running" <<<"$st" && [ "$full" -lt 64 ] &&
	grep -q first-line <<<"$logs_while_full" && expect_exit 0 "$P" wait "$U" && [ "$OUT" = 0 ] &&
	"$P" status --format=json "$U" | grep -q '"exitReason": "ok"'; then
	t_ok
else
	t_fail "status while full: $st; free then: ${full} KiB; wait: $OUT $ERR"
fi
"$P" stop --force "$U" >/dev/null 2>&1

"$P" gc --grace-period=0 --expire-prepared=0 >/dev/null 2>&1

# list writes its cache ($DIR/list-cache) when it has read pods the slow
# way: on a full disk that write fails, and list must still list.
t_begin "list on a full disk: every pod listed as without the cache, exit 0, no cache tmp file left"
ok=1
for _ in 1 2 3; do "$P" prepare "$ROOT" -- true >/dev/null || ok=0; done
rm -f "$PODCTL_DIR/list-cache"
sleep 1.1 # the cache keeps only pods unchanged for a second (peekcache.c)
want=$(PODCTL_LIST_CACHE=0 "$P" list --format=json) || ok=0
fill 0
if expect_exit 0 "$P" list --format=json && [ "$OUT" = "$want" ] &&
	[ -z "$(find "$PODCTL_DIR/tmp" -name 'list-cache.*')" ] && [ $ok = 1 ]; then
	unfill
	# and once space is back the cache is written and read
	"$P" list >/dev/null
	if [ -s "$PODCTL_DIR/list-cache" ] && expect_exit 0 "$P" list --format=json && [ "$OUT" = "$want" ]; then
		t_ok
	else
		t_fail "after freeing: cache $(ls -l "$PODCTL_DIR/list-cache" 2>&1), out $OUT"
	fi
else
	unfill
	t_fail "full: exit/err $ERR, tmp $(find "$PODCTL_DIR/tmp" -name 'list-cache.*'), out $OUT, want $want"
fi
"$P" gc --grace-period=0 --expire-prepared=0 >/dev/null 2>&1

umount "$SMALL" 2>/dev/null || umount -l "$SMALL"
t_end
