#!/bin/bash
# shellcheck disable=SC2317 # checks are called through check
# --private-users: the pod's root is an unprivileged host uid. The id map, the
# image's owners (idmapped layers, and the chown'ed-copy fallback), volumes,
# what a root in the pod cannot do (each attack also tried without a user
# namespace, where it works: the test can see success), non-root users,
# disjoint ranges for concurrent and racing pods, release by rm and gc, and
# no range leaked by a prepare killed at any point.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
P=$PODCTL
command -v python3 >/dev/null || t_skip "python3 is needed to read JSON"
unshare --user true 2>/dev/null || t_skip "user namespaces are not available here"

why() {
	T_WHY="$*"
	return 1
}
check() {
	local what=$1
	shift
	T_WHY=""
	t_begin "$what"
	if "$@"; then t_ok; else t_fail "${T_WHY:-failed}"; fi
}
# The records of the store's range table, one "UID GID SIZE" a line.
records() { cat "$PODCTL_DIR"/userns/*-* 2>/dev/null; }
# The pod's own record (pods/*/UUID/userns).
pod_range() { cat "$PODCTL_DIR"/pods/*/"$1"/userns; }
# The pod's range into R1 (uid) R2 (gid) R3 (size).
range_of() { read -r R1 R2 R3 < <(pod_range "$1"); }
# uid_map's one line "0 UID SIZE" (spaces squeezed) from a uid_map text.
squeeze() { tr -s ' \t' ' ' | sed 's/^ //; s/ $//'; }
# Do the "UID GID SIZE" lines on stdin overlap (uids or gids)? Exit 0 when disjoint.
disjoint() {
	python3 -c '
import sys
r = [tuple(map(int, l.split())) for l in sys.stdin if l.strip()]
for i in range(len(r)):
    for j in range(i + 1, len(r)):
        a, b = r[i], r[j]
        if a[0] < b[0] + b[2] and b[0] < a[0] + a[2] or a[1] < b[1] + b[2] and b[1] < a[1] + a[2]:
            print("overlap:", a, b); sys.exit(1)
print(len(r))'
}

mkdir -p "$T_SCRATCH/vol"
chmod 0777 "$T_SCRATCH/vol"
echo host-secret >"$T_SCRATCH/vol/rootfile"
chmod 0644 "$T_SCRATCH/vol/rootfile"

# --- the map ---------------------------------------------------------------------

uid_map() {
	expect_exit 0 "$P" run --private-users --uuid-file-save="$T_SCRATCH/u1" "$ROOT" -- \
		sh -c 'cat /proc/self/uid_map; cat /proc/self/gid_map; id -u; id -g' || why "$ERR" || return 1
	local u range map
	u=$(cat "$T_SCRATCH/u1")
	range=$(pod_range "$u") || why "no userns record in the pod dir" || return 1
	range_of "$u"
	map=$(printf '%s\n' "$OUT" | sed -n 1p | squeeze)
	[ "$map" != "0 0 4294967295" ] || why "identity map: $OUT" || return 1
	[ "$map" = "0 $R1 $R3" ] || why "uid_map $map, pod record $range" || return 1
	[ "$(printf '%s\n' "$OUT" | sed -n 2p | squeeze)" = "0 $R2 $R3" ] || why "gid_map: $OUT" || return 1
	[ "$R1" -ge 65536 ] || why "the range starts at $R1, in the host's ordinary ids" || return 1
	[ "$(printf '%s\n' "$OUT" | sed -n 3,4p | tr '\n' ' ')" = "0 0 " ] || why "ids inside: $OUT" || return 1
	# status shows the same range, in text and JSON
	expect_exit 0 "$P" status "$u" || return 1
	grep -qx "userns    uid $R1 gid $R2 size $R3" <<<"$OUT" || why "status text: $OUT" || return 1
	expect_exit 0 "$P" status --format=json "$u" || return 1
	[ "$(python3 -c 'import json,sys; u=json.load(sys.stdin)["privateUsers"]; print(u["uid"], u["gid"], u["size"])' <<<"$OUT")" = "$R1 $R2 $R3" ] ||
		why "status json: $OUT"
}
check "/proc/self/uid_map inside is not the identity: 0 maps to the pod's recorded range; status shows it" uid_map

# Without the flag: the identity map (the check above can tell the difference).
t_begin "without --private-users the map is the host's identity"
if expect_exit 0 "$P" run "$ROOT" -- cat /proc/self/uid_map && [ "$(printf '%s' "$OUT" | squeeze)" = "0 0 4294967295" ]; then
	t_ok
else t_fail "$OUT $ERR"; fi

image_owners() {
	expect_exit 0 "$P" run --private-users "$ROOT" -- sh -c '
		stat -c "%u:%g" / /bin/busybox /etc
		echo x >/etc/written && mkdir /newdir && touch /newdir/f && echo wrote
		hostname' || why "$ERR $OUT" || return 1
	[ "$(printf '%s\n' "$OUT" | sed -n 1,3p | tr '\n' ' ')" = "0:0 0:0 0:0 " ] ||
		why "the image's files inside are not root's: $OUT" || return 1
	printf '%s\n' "$OUT" | grep -qx wrote || why "root in the pod cannot write its rootfs: $OUT"
}
check "the image's files show root's owner inside; root in the pod writes its rootfs" image_owners

# --- volumes ------------------------------------------------------------------------

host_volume() {
	rm -f "$T_SCRATCH/vol/made-by-pod"
	expect_exit 0 "$P" run --private-users --uuid-file-save="$T_SCRATCH/u2" -v "$T_SCRATCH/vol:/v" "$ROOT" -- \
		sh -c 'echo hi >/v/made-by-pod && stat -c "%u:%g" /v/made-by-pod /v/rootfile' || why "$ERR $OUT" || return 1
	local range
	range=$(pod_range "$(cat "$T_SCRATCH/u2")")
	range_of "$(cat "$T_SCRATCH/u2")"
	[ "$(stat -c %u:%g "$T_SCRATCH/vol/made-by-pod")" = "$R1:$R2" ] ||
		why "host owner $(stat -c %u:%g "$T_SCRATCH/vol/made-by-pod"), range $range" || return 1
	# Inside: its own file is root's, the host root's file is nobody's.
	[ "$(printf '%s\n' "$OUT" | tr '\n' ' ')" = "0:0 65534:65534 " ] || why "owners inside: $OUT"
}
check "a file the pod creates in a host volume is owned by the mapped host uid" host_volume

empty_volume() {
	cat >"$T_SCRATCH/m-empty.json" <<EOF
{"version": 1, "privateUsers": true,
 "volumes": [{"name": "scratch", "kind": "empty"}],
 "apps": [{"name": "a", "image": "$ROOT", "exec": ["sh", "-c", "echo x >/s/f && stat -c %u /s /s/f"],
           "mounts": [{"volume": "scratch", "path": "/s"}]}]}
EOF
	expect_exit 0 "$P" run --manifest "$T_SCRATCH/m-empty.json" || why "$ERR $OUT" || return 1
	[ "$(printf '%s\n' "$OUT" | tr '\n' ' ')" = "0 0 " ] || why "$OUT"
}
check "an empty volume belongs to the pod's root (manifest \"privateUsers\": true)" empty_volume

# --- what root in the pod cannot do ------------------------------------------------
# Every capability and no seccomp filter: only the user namespace stands in
# the way. Each attack is first shown to work without it.
ATTACK='
	r=""
	echo owned >>/v/rootfile 2>/dev/null && r="$r write-host-root-file"
	cp /bin/busybox /v/suid && chmod 4755 /v/suid
	mknod /tmp/sda b 8 0 2>/dev/null && r="$r mknod"
	mkdir -p /tmp/mp && mount -t tmpfs none /tmp/mp 2>/dev/null && r="$r mount"
	umount /proc/sys 2>/dev/null && r="$r unmask"
	renice -n -5 $$ >/dev/null 2>&1 && r="$r renice"
	ionice -c 1 true 2>/dev/null && r="$r ionice-rt"
	echo "got:$r"'
OPEN=(--cap-add=ALL --security-opt seccomp=unconfined --security-opt no-new-privileges=false -v "$T_SCRATCH/vol:/v")

# Seen from the host: a set-uid binary the pod left in a volume, owned by root?
suid_root() { [ "$(stat -c %u:%a "$T_SCRATCH/vol/suid" 2>/dev/null)" = 0:4755 ]; }
attacks_work_without() {
	rm -f "$T_SCRATCH/vol/suid"
	cp "$T_SCRATCH/vol/rootfile" "$T_SCRATCH/rootfile.orig"
	expect_exit 0 "$P" run "${OPEN[@]}" "$ROOT" -- sh -c "$ATTACK" || why "$ERR" || return 1
	cp "$T_SCRATCH/rootfile.orig" "$T_SCRATCH/vol/rootfile"
	chown 0:0 "$T_SCRATCH/vol/rootfile"
	chmod 0644 "$T_SCRATCH/vol/rootfile"
	[ "$OUT" = "got: write-host-root-file mknod mount unmask renice ionice-rt" ] || why "control: $OUT" || return 1
	suid_root || why "control: no set-uid root binary planted: $(stat -c %u:%a "$T_SCRATCH/vol/suid")"
}
check "control: a fully privileged root without --private-users does every one of the attacks (set-uid root binary planted too)" attacks_work_without

attacks_fail_with() {
	rm -f "$T_SCRATCH/vol/suid"
	expect_exit 0 "$P" run --private-users "${OPEN[@]}" "$ROOT" -- sh -c "$ATTACK" || why "$ERR" || return 1
	[ "$OUT" = "got:" ] || why "attacks that worked: $OUT" || return 1
	[ "$(cat "$T_SCRATCH/vol/rootfile")" = host-secret ] || why "the host file changed" || return 1
	[ "$(stat -c %u "$T_SCRATCH/vol/rootfile")" = 0 ] || why "the host file changed owner" || return 1
	! suid_root || why "a set-uid root binary was planted in the host volume"
}
check "with --private-users the same root cannot write a host root's file, plant a set-uid root binary, mknod, mount, unmask, renice, take RT IO" attacks_fail_with

port80() {
	expect_exit 0 "$P" run --private-users "$ROOT" -- sh -c 'httpd -p 80 && echo bound' || why "$ERR $OUT" || return 1
	[ "$OUT" = bound ] || why "$OUT"
}
check "root in the pod binds port 80 (its net namespace belongs to the pod's user namespace)" port80

# --- a non-root user in the pod ---------------------------------------------------------

nonroot() {
	cat >"$T_SCRATCH/m-user.json" <<EOF
{"version": 1, "privateUsers": true,
 "apps": [{"name": "a", "image": "$ROOT", "user": "1000", "group": "1000",
           "exec": ["sh", "-c", "id -u; id -g; ls /bin/busybox; grep CapEff /proc/self/status; echo x >/etc/nope 2>/dev/null || echo refused"]}]}
EOF
	expect_exit 0 "$P" run --manifest "$T_SCRATCH/m-user.json" || why "$ERR $OUT" || return 1
	[ "$(printf '%s\n' "$OUT" | sed -n 1,3p | tr '\n' ' ')" = "1000 1000 /bin/busybox " ] || why "$OUT" || return 1
	# A change to a non-root user clears the capabilities, as on the host.
	printf '%s\n' "$OUT" | grep -q "CapEff:.0000000000000000" || why "capabilities kept: $OUT" || return 1
	printf '%s\n' "$OUT" | grep -qx refused || why "user 1000 wrote root's /etc: $OUT"
}
check "a non-root user in the pod runs the image's programs, without capabilities" nonroot

# --- enter ------------------------------------------------------------------------------

# A dir the pod's root may enter (the scratch dir is 0700).
mkdir -m 0755 "$T_SCRATCH/ctl"
mkfifo "$T_SCRATCH/ctl/go" "$T_SCRATCH/ctl/go-one" "$T_SCRATCH/ctl/go-two"
enter_userns() {
	expect_exit 0 "$P" run --private-users --detach --wait-ready=30s -v "$T_SCRATCH/ctl:/ctl" "$ROOT" -- \
		sh -c 'read x </ctl/go' || why "$ERR" || return 1
	local u=$OUT map
	expect_exit 0 "$P" enter "$u" sh -c 'cat /proc/self/uid_map; id -u' || why "$ERR" || return 1
	local got=$OUT
	range_of "$u"
	map=$(printf '%s\n' "$got" | sed -n 1p | squeeze)
	echo go >"$T_SCRATCH/ctl/go"
	"$P" status --wait=30s "$u" >/dev/null || why "pod did not end" || return 1
	[ "$map" = "0 $R1 $R3" ] || why "enter: $got" || return 1
	[ "$(printf '%s\n' "$got" | sed -n 2p)" = 0 ] || why "enter: $got"
}
check "enter joins the pod's user namespace" enter_userns

# An exec probe runs in the pod's user namespace too: it passes only where
# uid 0 maps to something else than host root (and only as that user).
probe_userns() {
	cat >"$T_SCRATCH/m-probe.json" <<EOF
{"version": 1, "privateUsers": true,
 "apps": [{"name": "a", "image": "$ROOT", "exec": ["sh", "-c", "read x </ctl/go"], "statusGoal": "READY",
           "mounts": [{"volume": "ctl", "path": "/ctl"}],
           "readinessProbe": {"exec": {"command": ["sh", "-c", "[ \"\$(awk '{print \$2}' /proc/self/uid_map)\" != 0 ] && [ \"\$(id -u)\" = 0 ]"]},
                              "periodSeconds": 1}}],
 "volumes": [{"name": "ctl", "kind": "host", "source": "$T_SCRATCH/ctl"}]}
EOF
	expect_exit 0 "$P" run --detach --wait-ready=20s --manifest "$T_SCRATCH/m-probe.json" || why "never ready: $ERR" || return 1
	local u=$OUT
	echo go >"$T_SCRATCH/ctl/go"
	"$P" status --wait=30s "$u" >/dev/null || why "pod did not end"
}
check "an exec readiness probe runs in the pod's user namespace" probe_userns

# --- ranges: concurrent, racing, released ---------------------------------------------

# The range of a running pod's app, read from the host.
app_map() { # UUID
	local pid
	pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
		"$PODCTL_DIR/pods/run/$1/apps/$2/pid") || return 1
	squeeze <"/proc/$pid/uid_map"
}
two_at_once() {
	local a b ma mb
	expect_exit 0 "$P" run --private-users --detach --wait-ready=30s --name=one -v "$T_SCRATCH/ctl:/ctl" "$ROOT" -- \
		sh -c 'read x </ctl/go-one' || why "$ERR" || return 1
	a=$OUT
	expect_exit 0 "$P" run --private-users --detach --wait-ready=30s --name=two -v "$T_SCRATCH/ctl:/ctl" "$ROOT" -- \
		sh -c 'read x </ctl/go-two' || why "$ERR" || return 1
	b=$OUT
	ma=$(app_map "$a" "$(ls "$PODCTL_DIR/pods/run/$a/apps")")
	mb=$(app_map "$b" "$(ls "$PODCTL_DIR/pods/run/$b/apps")")
	echo go >"$T_SCRATCH/ctl/go-one"
	echo go >"$T_SCRATCH/ctl/go-two"
	"$P" status --wait=30s "$a" >/dev/null && "$P" status --wait=30s "$b" >/dev/null || why "pods did not end" || return 1
	[ -n "$ma" ] && [ -n "$mb" ] || why "no maps: '$ma' '$mb'" || return 1
	printf '%s %s\n%s %s\n' "${ma#0 }" "${ma##* }" "${mb#0 }" "${mb##* }" | awk '{print $1, $1, $2}' |
		disjoint >/dev/null || why "overlapping maps: $ma / $mb"
}
check "two pods running at once get disjoint ranges" two_at_once

racing_prepares() {
	local i pids=() bad=0
	for i in 1 2 3 4 5 6 7 8; do
		"$P" prepare --private-users "$ROOT" -- true >"$T_SCRATCH/race.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
	[ "$bad" -eq 0 ] || why "$bad prepares failed: $(cat "$T_SCRATCH"/race.*)" || return 1
	local n
	n=$(for i in 1 2 3 4 5 6 7 8; do pod_range "$(cat "$T_SCRATCH/race.$i")"; done | disjoint) ||
		why "$n" || return 1
	[ "$n" -eq 8 ] || why "$n ranges for 8 pods"
}
check "eight racing prepares get eight disjoint ranges" racing_prepares

released() {
	local u n0 n1
	u=$(cat "$T_SCRATCH/race.1")
	n0=$(records | wc -l)
	grep -qx "$(pod_range "$u")" <(records) || why "pod's range not in the table" || return 1
	expect_exit 0 "$P" rm "$u" || why "$ERR" || return 1
	n1=$(records | wc -l)
	[ "$n1" -eq $((n0 - 1)) ] || why "rm: $n0 records before, $n1 after" || return 1
	! compgen -G "$PODCTL_DIR/userns/$u.*" >/dev/null || why "rm left the record" || return 1
	expect_exit 0 "$P" gc --grace-period=0s --expire-prepared=0s || why "gc: $ERR" || return 1
	[ -z "$(records)" ] || why "gc left records: $(records)"
}
check "rm releases the pod's range; gc releases every collected pod's" released

reuse() {
	expect_exit 0 "$P" prepare --private-users "$ROOT" -- true || why "$ERR" || return 1
	range_of "$OUT"
	[ "$R1" = 1048576 ] || why "the lowest range is not reused: $R1"
}
check "a released range is given again (the lowest free one)" reuse
"$P" gc --expire-prepared=0s >/dev/null 2>&1

# A prepare SIGKILLed at each of its renames (every write that changes the
# store: renameat for files, renameat2 for the pod's moves) and at each flock
# (the range table's among them): afterwards gc leaves no range and no file
# behind. strace counts each syscall on its own, so each is walked alone.
killed_prepare() {
	local sc n rc leaked="" points=0
	for sc in renameat renameat2 flock; do
		n=1
		while [ "$n" -le 30 ]; do
			# (a subshell that waits, so the shell's "Killed" goes to /dev/null)
			(strace -f -o /dev/null -e trace="$sc" -e inject="$sc":signal=SIGKILL:when="$n" \
				"$P" prepare --private-users "$ROOT" -- true
			echo $? >"$T_SCRATCH/kill-rc") >/dev/null 2>&1
			rc=$(cat "$T_SCRATCH/kill-rc")
			"$P" gc --grace-period=0s --expire-prepared=0s >/dev/null 2>&1
			[ -z "$(ls -A "$PODCTL_DIR/userns" 2>/dev/null)" ] || leaked="$leaked $sc#$n:$(ls -A "$PODCTL_DIR/userns")"
			[ "$rc" -eq 0 ] && break # no call left to kill it at
			points=$((points + 1))
			n=$((n + 1))
		done
	done
	[ -z "$leaked" ] || why "left after kill points:$leaked" || return 1
	[ "$points" -ge 8 ] || why "only $points kill points: the test did not reach the allocation"
}
if command -v strace >/dev/null; then
	check "a prepare killed at any rename or flock leaks no range nor file (gc reclaims them)" killed_prepare
else
	echo "skip $T_NAME: killed prepare: strace is not installed"
fi

# --- manifest ranges ----------------------------------------------------------------------

manifest_range() {
	cat >"$T_SCRATCH/m-range.json" <<EOF
{"version": 1, "privateUsers": {"uid": 3000000, "gid": 3100000, "size": 70000},
 "apps": [{"name": "a", "image": "$ROOT", "exec": ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map"]}]}
EOF
	expect_exit 0 "$P" run --manifest "$T_SCRATCH/m-range.json" || why "$ERR" || return 1
	[ "$(printf '%s\n' "$OUT" | squeeze | tr '\n' ' ')" = "0 3000000 70000 0 3100000 70000 " ] || why "$OUT"
}
check "a manifest's explicit range is the pod's map" manifest_range

manifest_overlap() {
	"$P" gc --grace-period=0s >/dev/null 2>&1 # the run above holds the range until collected
	expect_exit 0 "$P" prepare --manifest "$T_SCRATCH/m-range.json" || why "$ERR" || return 1
	local first=$OUT
	sed 's/"uid": 3000000/"uid": 3069999/; s/"gid": 3100000/"gid": 9000000/' "$T_SCRATCH/m-range.json" >"$T_SCRATCH/m-over.json"
	expect_exit 1 "$P" prepare --manifest "$T_SCRATCH/m-over.json" || why "overlap accepted" || return 1
	one_line && printf '%s' "$ERR" | grep -q overlaps || why "message: $ERR" || return 1
	expect_exit 0 "$P" rm "$first" || why "$ERR" || return 1
	expect_exit 0 "$P" prepare --manifest "$T_SCRATCH/m-over.json" || why "after rm: $ERR"
}
check "an explicit range overlapping a live pod's is refused, and free once that pod is removed" manifest_overlap

manifest_bad() {
	local m
	for m in '{"uid": 0, "size": 10}' '{"uid": 5, "size": 0}' '{"uid": 5}' '{"uid": 5, "size": 1, "x": 1}' '"yes"' \
		'{"uid": 4294967290, "size": 10}'; do
		printf '{"version": 1, "privateUsers": %s, "apps": [{"name": "a", "image": "%s", "exec": ["true"]}]}\n' "$m" "$ROOT" >"$T_SCRATCH/m-bad.json"
		expect_exit 2 "$P" prepare --manifest "$T_SCRATCH/m-bad.json" 2>/dev/null ||
			expect_exit 1 "$P" prepare --manifest "$T_SCRATCH/m-bad.json" || why "accepted: $m" || return 1
		printf '%s' "$ERR" | grep -q privateUsers || why "no JSON path for $m: $ERR" || return 1
	done
}
check "bad privateUsers values are refused with their JSON path" manifest_bad
"$P" gc --grace-period=0s --expire-prepared=0s >/dev/null 2>&1

# --- the fallback: chown'ed copies ------------------------------------------------------

"$P" image import -q --name=ubb "$ROOT" >/dev/null || t_fail "image import"
fallback() {
	local u ino1 ino2
	expect_exit 0 env PODCTL_STAGE1_NO_IDMAP=1 "$P" run --private-users --uuid-file-save="$T_SCRATCH/uf" ubb -- sh -c '
		stat -c "%u:%g" / /bin/busybox; cat /proc/self/uid_map; echo x >/etc/w && echo wrote' || why "$ERR $OUT" || return 1
	u=$(cat "$T_SCRATCH/uf")
	range_of "$u"
	set -- "$R1" "$R2" "$R3"
	[ "$(printf '%s\n' "$OUT" | sed -n 1,2p | tr '\n' ' ')" = "0:0 0:0 " ] || why "owners: $OUT" || return 1
	printf '%s\n' "$OUT" | grep -qx wrote || why "$OUT" || return 1
	local copy
	copy=$(find "$PODCTL_DIR/images/shifted/$1-$2-$3" -mindepth 1 -maxdepth 1 -type d) || why "no shifted copy" || return 1
	[ -n "$copy" ] || why "no shifted copy under images/shifted/$1-$2-$3" || return 1
	[ "$(stat -c %u "$copy/bin/busybox")" = "$1" ] || why "copy not chown'ed: $(stat -c %u "$copy/bin/busybox")" || return 1
	[ ! -e "$PODCTL_DIR/pods/run/$u/apps/ubb/idmap" ] || why "idmapped anyway" || return 1
	ino1=$(stat -c %i "$copy/bin/busybox")
	# The range comes back to the next pod: the copy is reused, not made again.
	expect_exit 0 "$P" rm "$u" || why "$ERR" || return 1
	expect_exit 0 env PODCTL_STAGE1_NO_IDMAP=1 "$P" run --private-users --uuid-file-save="$T_SCRATCH/uf" ubb -- true || why "$ERR" || return 1
	[ "$(pod_range "$(cat "$T_SCRATCH/uf")")" = "$1 $2 $3" ] || why "not the same range" || return 1
	ino2=$(stat -c %i "$copy/bin/busybox")
	[ "$ino1" = "$ino2" ] || why "the copy was made again"
}
check "without idmapped mounts a chown'ed copy of the tree per range is used, made once" fallback

fallback_dir() {
	expect_exit 0 env PODCTL_STAGE1_NO_IDMAP=1 "$P" run --private-users "$ROOT" -- stat -c %u:%g /bin/busybox || why "$ERR" || return 1
	[ "$OUT" = "0:0" ] || why "$OUT"
}
check "the fallback for a rootfs dir used in place (copied per pod)" fallback_dir

copied_rootfs() {
	ln -f "$ROOT/bin/busybox" "$ROOT/bin/hardlinked" # shifted once, not twice
	expect_exit 0 env PODCTL_NO_OVERLAY=1 "$P" run --private-users "$ROOT" -- sh -c '
		stat -c %u:%g / /bin/busybox /bin/hardlinked /etc/hosts; echo x >/etc/w && echo wrote' || why "$ERR" || return 1
	rm -f "$ROOT/bin/hardlinked"
	[ "$(printf '%s\n' "$OUT" | tr '\n' ' ')" = "0:0 0:0 0:0 0:0 wrote " ] || why "$OUT"
}
check "without overlayfs the pod's private copy is chown'ed into its range (hardlinks once)" copied_rootfs

# Three layers: the second removes a file and a dir's content (whiteouts),
# the third makes a dir opaque: with and without idmapped mounts, the pod
# sees the merged image.
layers() {
	command -v umoci >/dev/null || return 0
	local W=$T_SCRATCH/wh
	mkdir -p "$W"
	(
		set -e
		cd "$W"
		umoci init --layout img
		umoci new --image img:t
		umoci unpack --image img:t b
		cp -a "$ROOT/." b/rootfs/
		echo mark >b/rootfs/etc/imgmark
		mkdir -p b/rootfs/d b/rootfs/o && echo a >b/rootfs/d/a && echo a >b/rootfs/o/a
		umoci repack --image img:t b
		rm -rf b
		umoci unpack --image img:t b
		rm b/rootfs/etc/imgmark
		rm -rf b/rootfs/d && mkdir b/rootfs/d && echo b >b/rootfs/d/b
		umoci repack --image img:t b
		rm -rf b
		# an opaque dir (umoci writes file whiteouts itself)
		mkdir -p l3/o && touch l3/o/.wh..wh..opq && echo b >l3/o/b
		tar -C l3 -cf l3.tar o
		umoci raw add-layer --image img:t l3.tar
	) >"$W/umoci.log" 2>&1 || why "umoci: $(tail -2 "$W/umoci.log")" || return 1
	expect_exit 0 "$P" image import -q "$W/img" --name wh:1 || why "$ERR" || return 1
	local e
	for e in 0 1; do
		expect_exit 0 env PODCTL_STAGE1_NO_IDMAP="$e" "$P" run --private-users wh:1 -- sh -c '
			[ ! -e /etc/imgmark ] && echo gone; ls /d /o; stat -c %u:%g /d/b /bin/busybox' || why "$ERR" || return 1
		[ "$(printf '%s\n' "$OUT" | tr '\n' ' ')" = "gone /d: b  /o: b 0:0 0:0 " ] || why "NO_IDMAP=$e: $OUT" || return 1
	done
}
check "layers with whiteouts and an opaque dir, idmapped and as chown'ed copies" layers

idmapped() {
	expect_exit 0 "$P" run --private-users --uuid-file-save="$T_SCRATCH/ui" ubb -- true || why "$ERR" || return 1
	[ -d "$PODCTL_DIR/pods/run/$(cat "$T_SCRATCH/ui")/apps/ubb/idmap/0" ] || why "no idmapped layer"
}
# overlayfs takes idmapped layers since 5.19 (ext4, xfs, btrfs, tmpfs trees).
kv=$(uname -r | awk -F. '{ printf "%d%03d", $1, $2 }')
if [ "$kv" -ge 5019 ]; then
	check "with idmapped mounts (this kernel) no copy is made: the layers are idmapped" idmapped
fi

t_end
