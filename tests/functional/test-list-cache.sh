#!/bin/bash
# shellcheck disable=SC2317 # checks are called through run_case
# list's cache of unheld pods' markers ($DIR/list-cache,
# libpodstore/peekcache.c) never shows what the markers do not say: not
# after markers are replaced, pods moved or removed, not while pods change
# under a racing writer, not from a torn, forged-but-untrusted or
# half-written cache file, not after a list is killed while writing it.
# "Same" is: list's output (text, --full, JSON) equals that of a list that
# reads every marker (PODCTL_LIST_CACHE=0).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"

P=$PODCTL
CACHE="$PODCTL_DIR/list-cache"
"$P" list >/dev/null || t_skip "cannot make a store"

# fill N: N pods made by hand, nobody holding them: exited ones (some with a
# pid marker, some with no exit marker), marked ones in exited-garbage/,
# prepared ones, one with an info marker that is not JSON. Names g0-<uuid8>.
fill() {
	"$PY" - "$PODS" "$1" <<'PY'
import os, sys, uuid, random
pods, n = sys.argv[1], int(sys.argv[2])
t = "2026-11-30T10:00:00.%09dZ"
random.seed(n)
for i in range(n):
    u = str(uuid.uuid4())
    kind = ["run", "run", "run", "run-pid", "run-noexit", "eg", "eg", "prepared"][i % 8]
    d = os.path.join(pods, {"eg": "exited-garbage", "prepared": "prepared"}.get(kind, "run"), u)
    os.mkdir(d, 0o700)
    def put(name, text):
        with open(os.path.join(d, name), "w") as f:
            f.write(text + "\n")
    put("info", '{"name":"g0-%s","created":"%s"}' % (u[:8], t % i) if i != 5 else '{"name":')
    if kind == "run-pid" or kind == "eg":
        put("pid", '{"pid":%d,"starttime":5,"time":"%s"}' % (1000 + i, t % (i + 1)))
    if kind in ("run", "run-pid", "eg"):
        put("exit", '{"code":%d,"reason":"%s","app":"a\\"pp","time":"%s"}'
            % (i % 4, ["ok", "app-failed", "stopped", "k/i\\u00e9"][i % 4], t % (i + 2)))
    if kind == "eg":
        put("gc-marked", '{"time":"%s"}' % (t % (i + 3)))
PY
}

# put FILE TEXT: replace FILE as the library does (a temporary file renamed over it).
put() {
	printf '%s\n' "$2" >"${1%/*}/.${1##*/}.tmp.$$" && mv "${1%/*}/.${1##*/}.tmp.$$" "$1"
}

# same: list (which uses and may rewrite the cache) says what the markers say.
same() {
	local f a b
	for f in "" --full --format=json; do
		# shellcheck disable=SC2086 # $f is one option or none
		a=$("$P" list $f) && b=$(PODCTL_LIST_CACHE=0 "$P" list $f) || why "list $f failed" || return 1
		[ "$a" = "$b" ] || why "list $f differs from the markers: $(diff <(printf '%s\n' "$b") <(printf '%s\n' "$a") | head -20)" || return 1
	done
}

# settle: let every pod dir's last change be more than a second old, so
# that list may keep it in the cache.
settle() { sleep 1.2; }

# kept_settled NS: every entry of the cache was made for a pod dir whose
# ctime is over a second before NS (ns since the epoch, taken before the
# list that wrote it): the rule that keeps a change in the same clock tick
# from hiding (peekcache.c; records of 160 bytes after a 40-byte header,
# the ctime at offset 64).
kept_settled() {
	[ -f "$CACHE" ] || return 0
	"$PY" - "$CACHE" "$1" <<'PY' || why "$(cat "$T_SCRATCH/kept.why")"
import struct, sys
b = open(sys.argv[1], "rb").read()
count = struct.unpack_from("<Q", b, 16)[0]
for i in range(count):
    off = 40 + 160 * i
    ctime = struct.unpack_from("<q", b, off + 64)[0]
    if ctime >= int(sys.argv[2]) - 10**9:
        open(sys.argv[1].rsplit("/", 2)[0] + "/kept.why", "w").write(
            "entry %s kept with ctime %d, list started %s" % (b[off:off + 36].decode(), ctime, sys.argv[2]))
        sys.exit(1)
PY
}

# uuids_in DIR: the uuids of the pods in a state dir.
uuids_in() { ls "$PODS/$1"; }

check_written() {
	local t
	fill 40
	t=$(date +%s%N)
	expect_exit 0 "$P" list || return 1
	# Pods changed less than a second ago are not kept.
	kept_settled "$t" || return 1
	settle
	expect_exit 0 "$P" list || return 1
	[ -f "$CACHE" ] || why "no list-cache after the pods settled" || return 1
	same || return 1
	# Read from the cache: no marker opened (openat2), pods as many as before.
	if command -v strace >/dev/null; then
		local n
		n=$(strace -f -qq -e trace=openat2 -o "$T_SCRATCH/st" "$P" list --format=json | grep -c '"uuid"')
		[ "$n" -eq 40 ] || why "$n pods listed" || return 1
		! grep -q openat2 "$T_SCRATCH/st" || why "markers opened: $(grep -c openat2 "$T_SCRATCH/st")" || return 1
	fi
}
run_case "list writes list-cache once pods have settled, then reads no marker; same output" check_written

check_replaced() {
	local u i=0
	for u in $(uuids_in run | head -8); do
		i=$((i + 1))
		case $((i % 4)) in
		0) put "$PODS/run/$u/info" "{\"name\":\"renamed-$i\",\"created\":\"2026-12-01T00:00:00.000000001Z\"}" ;;
		1) put "$PODS/run/$u/exit" '{"code":77,"reason":"replaced","time":"2026-12-01T00:00:00.000000002Z"}' ;;
		2) rm -f "$PODS/run/$u/exit" ;;
		3) put "$PODS/run/$u/pid" '{"pid":4242,"starttime":1,"time":"2026-12-01T00:00:00.000000003Z"}' ;;
		esac
	done
	same || return 1
	"$P" list | grep -q renamed-4 && "$P" list --full | grep -q 2026-12-01T00:00:00.000000003Z ||
		why "replaced markers not shown: $("$P" list --full)" || return 1
}
run_case "markers replaced or removed after the cache was written show at once" check_replaced

check_fresh_not_kept() {
	local u v before t t0
	u=$(uuids_in run | head -1)
	# Changed just now, then a rewrite (10 pods gone): the pod is shown
	# from its markers but not kept.
	t0=$(date +%s%N)
	put "$PODS/run/$u/info" '{"name":"fresh-now","created":"2026-12-01T00:00:00Z"}'
	for v in $(uuids_in run | tail -10); do rm -rf "${PODS:?}/run/$v"; done
	before=$(stat -c %i "$CACHE")
	t=$(date +%s%N)
	"$P" list | grep -q fresh-now || why "fresh name not listed" || return 1
	[ "$(stat -c %i "$CACHE")" != "$before" ] || why "cache not rewritten" || return 1
	kept_settled "$t" || return 1
	# (Unless the machine was so slow that the change is a second old.)
	[ $((t - t0)) -gt 900000000 ] || ! grep -q fresh-now "$CACHE" ||
		why "a pod changed less than a second ago is in the cache" || return 1
	settle
	for v in $(uuids_in exited-garbage | tail -4); do rm -rf "${PODS:?}/exited-garbage/$v"; done
	"$P" list >/dev/null
	grep -q fresh-now "$CACHE" || why "the settled pod was not kept" || return 1
	same
}
run_case "a pod changed less than a second before a list is read from its markers, not kept" check_fresh_not_kept

check_moved() {
	settle
	"$P" list >/dev/null
	# gc marks the exited pods: gc-marked written, moved to exited-garbage/.
	expect_exit 0 "$P" gc --mark-only --grace-period=1h || return 1
	same || return 1
	local u
	u=$(uuids_in exited-garbage | head -1)
	expect_exit 0 "$P" rm "$u" || return 1
	same || return 1
	! "$P" list --full | grep -q "$u" || why "removed pod $u still listed" || return 1
}
run_case "pods moved by gc and removed by rm after the cache was written" check_moved

# forge SRC DST: a copy of the cache file SRC whose first name g0-XXXX is
# renamed forged-XX, with its checksum made right (peekcache.c's format).
forge() {
	"$PY" - "$1" "$2" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(b"g0-")
assert i > 0
b[i:i + 9] = b"forged-xx"
M = (1 << 64) - 1
h = 0x01020304
for j in range(40, len(b), 8):
    h ^= struct.unpack_from("<Q", b, j)[0]
    h = (h * 0xff51afd7ed558ccd) & M
    h ^= h >> 32
struct.pack_into("<Q", b, 32, h)
open(sys.argv[2], "wb").write(bytes(b))
PY
}

check_bad_files() {
	settle
	rm -f "$CACHE"
	"$P" list >/dev/null
	[ -f "$CACHE" ] || why "no cache" || return 1
	cp -p "$CACHE" "$T_SCRATCH/good" && forge "$T_SCRATCH/good" "$T_SCRATCH/forged" || return 1
	# The forger is right: a forged file that passes every check is believed.
	install -m 0600 "$T_SCRATCH/forged" "$CACHE"
	"$P" list | grep -q forged-xx || why "the forged cache was not read: the test proves nothing" || return 1
	local how
	for how in truncated flipped garbage group-writable other-owner symlink directory; do
		rm -rf "$CACHE"
		case $how in
		truncated) head -c $(($(stat -c %s "$T_SCRATCH/forged") / 2)) "$T_SCRATCH/forged" >"$CACHE" ;;
		flipped) "$PY" -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); i = b.find(b"g0-"); b[i:i + 9] = b"forged-xx"
open(sys.argv[2], "wb").write(bytes(b))' "$T_SCRATCH/good" "$CACHE" ;;
		garbage) head -c "$(stat -c %s "$T_SCRATCH/good")" /dev/urandom >"$CACHE" ;;
		group-writable) install -m 0660 "$T_SCRATCH/forged" "$CACHE" ;;
		other-owner) install -m 0600 -o 65534 "$T_SCRATCH/forged" "$CACHE" ;;
		symlink) ln -s "$T_SCRATCH/forged" "$CACHE" ;;
		directory) mkdir "$CACHE" ;;
		esac
		if "$P" list | grep -q forged-xx; then
			why "$how cache file believed"
			return 1
		fi
		same || { T_WHY="$how: $T_WHY"; return 1; }
	done
	rm -rf "$CACHE"
}
run_case "a truncated, bit-flipped, garbage, untrusted, symlinked cache file is ignored" check_bad_files

check_killed_writer() {
	local n round
	settle
	# kill -9 at random instants of lists that rewrite the cache.
	for round in $(seq 1 15); do
		rm -f "$CACHE"
		("$P" list >/dev/null &
		 n=$!
		 sleep "0.00$((RANDOM % 10))"
		 kill -9 "$n" 2>/dev/null
		 wait "$n" 2>/dev/null; true) 2>/dev/null
		same || { T_WHY="round $round: $T_WHY"; return 1; }
	done
	command -v strace >/dev/null || return 0
	# Killed at each of its writes, and at the rename.
	for n in 1 2 3 4 5 6; do
		rm -f "$CACHE"
		(strace -f -qq -o /dev/null -e trace=write -e inject=write:signal=KILL:when="$n" "$P" list; true) >/dev/null 2>&1
		same || { T_WHY="killed at write $n: $T_WHY"; return 1; }
	done
	rm -f "$CACHE"
	(strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
		-e inject=rename,renameat,renameat2:signal=KILL "$P" list; true) >/dev/null 2>&1
	[ ! -e "$CACHE" ] || why "cache in place though its writer died before the rename" || return 1
	compgen -G "$PODCTL_DIR/tmp/list-cache.*" >/dev/null || why "no leftover: was the writer killed?" || return 1
	same || return 1
	# gc removes the dead writers' leftovers.
	expect_exit 0 "$P" gc --mark-only --grace-period=1h || return 1
	! compgen -G "$PODCTL_DIR/tmp/list-cache.*" >/dev/null || why "leftover: $(ls "$PODCTL_DIR/tmp")" || return 1
}
run_case "lists killed while writing the cache: the cache is whole or absent, gc removes leftovers" check_killed_writer

check_unreadable() {
	command -v strace >/dev/null || return 0
	settle
	local e a b
	b=$(PODCTL_LIST_CACHE=0 "$P" list --full) || return 1
	# No openat2 (an old kernel, valgrind), or some marker reads failing:
	# those pods are read the full way, and nothing wrong is kept.
	for e in ENOSYS:when=1+ EIO:when=3+2 EMFILE:when=5+3; do
		rm -f "$CACHE"
		a=$(strace -f -qq -o /dev/null -e trace=openat2 -e inject=openat2:error="$e" "$P" list --full) ||
			why "list failed with openat2 failing ($e)" || return 1
		[ "$a" = "$b" ] || why "openat2 failing ($e): $(diff <(echo "$b") <(echo "$a") | head -5)" || return 1
		same || { T_WHY="after openat2 failed ($e): $T_WHY"; return 1; }
	done
}
run_case "marker reads that fail (no openat2, EIO, EMFILE) go the full way and are not kept" check_unreadable

# race SECONDS: change pods the way podctl does, at random, while lists run:
# names rewritten with a growing generation (g<N>-…), pods marked
# (run → exited-garbage), collected (→ garbage) and removed.
race() {
	"$PY" - "$PODS" "$1" <<'PY'
import os, random, shutil, sys, time
pods, secs = sys.argv[1], float(sys.argv[2])
gen = {}
end = time.time() + secs
def where(u):
    for d in ("run", "exited-garbage", "garbage"):
        if os.path.isdir(os.path.join(pods, d, u)):
            return d
def put(d, name, text):
    tmp = os.path.join(d, "." + name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, os.path.join(d, name))
while time.time() < end:
    us = [u for d in ("run", "exited-garbage", "garbage") for u in os.listdir(os.path.join(pods, d))]
    if not us:
        break
    u = random.choice(us)
    d = where(u)
    if not d:
        continue
    p = os.path.join(pods, d, u)
    r = random.random()
    if r < 0.75:
        gen[u] = gen.get(u, 0) + 1
        put(p, "info", '{"name":"g%d-%s","created":"2026-12-01T00:00:00Z"}' % (gen[u], u[:8]))
    elif r < 0.85 and d == "run":
        put(p, "gc-marked", '{"time":"2026-12-01T00:00:00Z"}')
        os.rename(p, os.path.join(pods, "exited-garbage", u))
    elif r < 0.93 and d == "exited-garbage":
        os.rename(p, os.path.join(pods, "garbage", u))
    elif d == "garbage":
        # Gone at once, as under the lock ps_pod_destroy holds.
        gone = os.path.join(pods, "..", "tmp", "gone." + u)
        os.rename(p, gone)
        shutil.rmtree(gone)
    time.sleep(0.03)
PY
}

check_race() {
	local i=0 racer secs=${RACE_SECONDS:-8}
	fill 60
	settle
	"$P" list >/dev/null
	race "$secs" &
	racer=$!
	t_bg "$racer"
	while kill -0 "$racer" 2>/dev/null; do
		"$P" list --no-legend --full >"$T_SCRATCH/race.$i" || why "list failed" || return 1
		i=$((i + 1))
		sleep 0.0$((RANDOM % 5))
	done
	wait "$racer" || why "racer failed" || return 1
	[ "$i" -ge 20 ] || why "only $i lists ran" || return 1
	# Per pod, across the lists in order: the name's generation never goes
	# back, the state never goes back, and a pod once gone stays gone.
	"$PY" - "$T_SCRATCH" "$i" <<'PY' || why "$(cat "$T_SCRATCH/race.why")" || return 1
import re, sys
scratch, n = sys.argv[1], int(sys.argv[2])
rank = {"prepared": 0, "exited": 1, "exited-garbage": 2, "garbage": 3}
last, gone, bad = {}, set(), []
for k in range(n):
    seen = {}
    for line in open("%s/race.%d" % (scratch, k)):
        f = line.split()
        u, name, state = f[0], f[1], f[2]
        m = re.match(r"g(\d+)-", name)
        g = int(m.group(1)) if m else -1
        seen[u] = (g, rank.get(state, -1))
    for u, (g, r) in seen.items():
        if u in gone:
            bad.append("list %d: %s back after it was gone" % (k, u))
        if u in last and (g < last[u][0] or r < last[u][1]):
            bad.append("list %d: %s went back from %s to %s" % (k, u, last[u], (g, r)))
        last[u] = (g, r)
    gone |= set(last) - set(seen)
if bad:
    open(scratch + "/race.why", "w").write("; ".join(bad[:5]))
    sys.exit(1)
PY
	same
}
run_case "lists while pods are renamed, marked, collected and removed: never an older name or state" check_race

t_end
