#!/bin/bash
# podctl-oci under a real containerd (Debian's): the test starts its own
# daemon (root, state and socket in the scratch dir), imports the test image
# as a docker-archive, and runs the same ctr sequences with runc and with
# podctl-oci: outputs and exit codes must match. Then podctl's view of the
# containers, what is left after `ctr task delete`, and config.json fields
# podctl-oci must refuse (naming the field).
# shellcheck disable=SC2016 # $… in single quotes is expanded by the container's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

OCI="$BUILDDIR/podctl-oci"
[ -x "$OCI" ] || t_skip "$OCI is not built"
for c in containerd ctr runc umoci skopeo python3 script; do
	command -v "$c" >/dev/null || t_skip "$c is not installed (scripts/install-deps)"
done

ROOT=$(t_rootfs)
W="$T_SCRATCH"
SOCK="$W/c.sock"
NS="podctl-oci-$$"
IMG="docker.io/podctl/busybox:test"
CD_PID=""

# Everything this file started goes, even on failure: the tasks (both
# runtimes'), containerd, its shims (lib.sh kills what names $T_SCRATCH),
# then the cgroups containerd's namespace made (/sys/fs/cgroup/*/$NS).
# shellcheck disable=SC2317 # called by the EXIT trap
oci_cleanup() {
	local t d
	if [ -n "$CD_PID" ] && [ -S "$SOCK" ]; then
		for t in $(timeout 10 ctr -a "$SOCK" -n "$NS" task ls -q 2>/dev/null); do
			timeout 10 ctr -a "$SOCK" -n "$NS" task kill -a -s KILL "$t" >/dev/null 2>&1
			timeout 10 ctr -a "$SOCK" -n "$NS" task delete -f "$t" >/dev/null 2>&1
		done
	fi
	[ -n "$CD_PID" ] && kill "$CD_PID" 2>/dev/null && wait "$CD_PID" 2>/dev/null
	# a container whose shim went first (runc's are not under $T_SCRATCH)
	for d in /sys/fs/cgroup/pids/"$NS"/*/; do
		[ -f "$d/cgroup.procs" ] && xargs -r kill -9 <"$d/cgroup.procs" 2>/dev/null
	done
	ip netns del "podctl-oci-$$" 2>/dev/null
	t_cleanup
	for d in /sys/fs/cgroup/*/"$NS"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}
trap oci_cleanup EXIT

# --- the image: the test rootfs as a docker-archive ---------------------------
(
	set -e
	cd "$W"
	umoci init --layout oci
	umoci new --image oci:t
	umoci unpack --image oci:t b1
	cp -a "$ROOT/." b1/rootfs/
	umoci repack --image oci:t b1
	umoci config --image oci:t --config.cmd=/bin/sh
	skopeo copy -q oci:oci:t "docker-archive:$W/busybox.tar:podctl/busybox:test"
	rm -rf b1 oci
) >"$W/image.log" 2>&1 || { t_begin "build the docker-archive"; t_fail "$(tail -3 "$W/image.log")"; t_end; }

# --- containerd -----------------------------------------------------------------
cat >"$W/containerd.toml" <<EOF
version = 2
root = "$W/cd-root"
state = "$W/cd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
EOF
containerd --config "$W/containerd.toml" >"$W/containerd.log" 2>&1 &
CD_PID=$!
t_bg "$CD_PID"
# ready when it answers (bounded; each try is a blocking RPC, not a sleep)
for ((i = 0; i < 100; i++)); do
	timeout 2 ctr -a "$SOCK" version >/dev/null 2>&1 && break
	kill -0 "$CD_PID" 2>/dev/null || break
	timeout 0.1 tail -f /dev/null
done
if ! timeout 2 ctr -a "$SOCK" version >/dev/null 2>&1; then
	t_begin "start containerd"
	t_fail "$(tail -3 "$W/containerd.log")"
	t_end
fi

C=(timeout 60 ctr -a "$SOCK" -n "$NS")
# on a terminal ctr must stay in the foreground process group (raw mode)
CT="timeout --foreground 60 ctr -a $SOCK -n $NS"
t_begin "ctr image import of the test image (docker-archive)"
if "${C[@]}" image import "$W/busybox.tar" >"$W/import.log" 2>&1 &&
	"${C[@]}" image ls -q | grep -qx "$IMG"; then t_ok; else t_fail "$(cat "$W/import.log")"; fi

RUNC_ARGS=(--runc-root "$W/runc-root")
PODCTL_ARGS=(--runc-binary "$OCI" --runc-root "$W/oci-root")
STORE="$W/oci-root/$NS"

# The status ctr shows for a task (RUNNING, PAUSED, STOPPED…).
task_status() { "${C[@]}" task ls | awk -v id="$1" '$1 == id { print $3 }'; }
# How many processes ctr task ps lists.
task_procs() { "${C[@]}" task ps "$1" | tail -n +2 | wc -l | tr -d ' '; }
# Until the task has stopped (ctr 1.6 has no `task wait`): bounded, each
# look a round trip to containerd.
wait_stopped() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(task_status "$1")" = STOPPED ] && return 0
	done
	return 1
}

# One ctr sequence; prints a transcript (outputs and exit codes) to compare.
# $1: a tag for ids; the rest: ctr run's runtime arguments.
sequence() {
	local tag=$1 rc out
	shift
	out=$("${C[@]}" run --rm "$@" "$IMG" "$tag-rm" sh -c 'echo hello from $0; exit 3' 2>&1)
	echo "run --rm: rc=$? out=$out"
	# (the shell traps TERM: under runc it is its pid ns's pid 1, where a
	# signal without a handler is ignored; under podctl it is not)
	"${C[@]}" run -d "$@" "$IMG" "$tag-d" sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' >/dev/null 2>&1
	echo "run -d: rc=$?"
	echo "task ls: $(task_status "$tag-d")"
	out=$("${C[@]}" task exec --exec-id e1 "$tag-d" sh -c 'echo exec says hi; exit 4' 2>&1)
	echo "task exec: rc=$? out=$out"
	out=$(script -qec "$CT task exec -t --exec-id e2 $tag-d sh -c 'echo exec on a tty; exit 6'; echo rc=\$?" \
		/dev/null </dev/null | tr -d '\r\0')
	# (the exit code only: ctr attaches an exec's console after the process
	# starts, so with either runtime its output can be lost under load)
	echo "task exec -t: $(printf '%s\n' "$out" | grep -o "rc=[0-9]*")"
	# (an exec that just ended may be listed a moment: until 1, bounded)
	for ((i = 0; i < 100; i++)); do [ "$(task_procs "$tag-d")" = 1 ] && break; done
	echo "task ps: $(task_procs "$tag-d") process(es)"
	"${C[@]}" task exec -d --exec-id e3 "$tag-d" sleep 999
	rc=$?
	# (at least the app and the exec: runc's setns helper, or the end of an
	# earlier exec, may still be listed a moment)
	echo "task exec -d: rc=$rc $([ "$(task_procs "$tag-d")" -ge 2 ] && echo "2 or more") process(es)"
	"${C[@]}" task kill --exec-id e3 -s KILL "$tag-d"
	echo "kill the exec: rc=$?"
	for ((i = 0; i < 100; i++)); do [ "$(task_procs "$tag-d")" = 1 ] && break; done
	echo "after it: $(task_procs "$tag-d") process(es)"
	"${C[@]}" task pause "$tag-d"
	echo "pause: rc=$? $(task_status "$tag-d")"
	"${C[@]}" task resume "$tag-d"
	echo "resume: rc=$? $(task_status "$tag-d")"
	"${C[@]}" task kill "$tag-d"
	echo "kill: rc=$?"
	wait_stopped "$tag-d"
	echo "stopped: rc=$?"
	out=$("${C[@]}" task delete "$tag-d" 2>&1 | sed -n 's/.*\(exit with non-zero exit code [0-9]*\).*/\1/p')
	echo "task delete: $out"
	"${C[@]}" container rm "$tag-d"
	echo "container rm: rc=$?"
	out=$("${C[@]}" task kill "$tag-d" 2>&1)
	echo "kill after delete: rc=$?"
	# a terminal through the console socket (script gives ctr one)
	out=$(script -qec "$CT run --rm -t $* $IMG $tag-t sh -c 'echo on a tty; exit 5'; echo rc=\$?" /dev/null \
		</dev/null | tr -d '\r\0')
	echo "run -t: $(printf '%s\n' "$out" | grep -o "rc=[0-9]*") said=$(printf '%s\n' "$out" | grep -c "on a tty")"
}

t_begin "the same ctr sequence with runc and with podctl-oci: same outputs and exit codes"
want=$(sequence r "${RUNC_ARGS[@]}")
got=$(sequence p "${PODCTL_ARGS[@]}")
if [ "$want" = "$got" ] && printf '%s\n' "$want" | grep -q "run --rm: rc=3 out=hello from sh"; then
	t_ok
else
	t_fail "$(diff <(echo "$want") <(echo "$got"))"
fi
printf '%s\n' "$got" >"$W/transcript"

t_begin "joining existing network and uts namespaces by path (a Kubernetes sandbox's): as runc"
NETNS="podctl-oci-$$"
ip netns add "$NETNS" && ip -n "$NETNS" link add oci-probe0 type veth peer name oci-probe1
joined() {
	"${C[@]}" run --rm "$@" --with-ns "network:/var/run/netns/$NETNS" --with-ns "uts:/proc/$$/ns/uts" \
		"$IMG" "j-$RANDOM" sh -c 'grep -c oci-probe0 /proc/net/dev; hostname' 2>&1
}
want=$(joined "${RUNC_ARGS[@]}")
got=$(joined "${PODCTL_ARGS[@]}")
if [ "$want" = "$got" ] && [ "$got" = "$(printf '1\n%s' "$(hostname)")" ]; then
	t_ok
else
	t_fail "runc: $want podctl-oci: $got"
fi

t_begin "while a container runs under containerd, podctl list and status show it"
"${C[@]}" run -d "${PODCTL_ARGS[@]}" "$IMG" seen sleep 1000 >/dev/null 2>&1
if out=$(PODCTL_DIR=$STORE "$PODCTL" list --no-legend) && printf '%s\n' "$out" | grep -q " seen .*running" &&
	st=$(PODCTL_DIR=$STORE "$PODCTL" status seen) && printf '%s\n' "$st" | grep -q "state *running"; then
	t_ok
else
	t_fail "list: $out status: $st"
fi

t_begin "update --resources (as the shim sends it, on stdin) sets the app's memory limit"
if echo '{"memory": {"limit": 67108864}, "pids": {"limit": 64}}' |
	"$OCI" --root "$STORE" update --resources - seen &&
	cat /sys/fs/cgroup/memory/"$NS"/seen/*/app/memory.limit_in_bytes /sys/fs/cgroup/"$NS"/seen/*/app/memory.max \
		2>/dev/null | grep -qx 67108864; then
	t_ok
else
	t_fail "$(cat /sys/fs/cgroup/memory/"$NS"/seen/*/app/memory.limit_in_bytes 2>&1)"
fi

t_begin "features and --version in runc's shapes"
if "$OCI" features | python3 -c 'import json, sys; d = json.load(sys.stdin); assert "CAP_KILL" in d["linux"]["capabilities"]' &&
	[ "$("$OCI" --version | wc -l)" -eq 3 ] && "$OCI" --version | grep -q "^spec: 1\."; then
	t_ok
else
	t_fail "$("$OCI" features 2>&1 | head -3)"
fi

t_begin "after ctr task delete nothing is left: store, /proc/mounts, cgroups"
"${C[@]}" task kill -s KILL seen >/dev/null 2>&1
wait_stopped seen
"${C[@]}" task delete seen >/dev/null 2>&1
"${C[@]}" container rm seen >/dev/null 2>&1
left=$(
	find "$STORE/pods" -mindepth 2 -maxdepth 2 2>/dev/null
	find "$STORE/oci" "$STORE/names" -mindepth 1 -maxdepth 1 2>/dev/null
	grep -F "$STORE" /proc/mounts
	find /sys/fs/cgroup/*/"$NS" -mindepth 1 -maxdepth 1 -type d -name "p-*" -o -name seen 2>/dev/null
)
if [ -z "$left" ]; then t_ok; else t_fail "left: $left"; fi

# --- config.json that podctl-oci must refuse, naming the field ----------------
B="$W/bundle"
mkdir -p "$B"
cp -a "$ROOT" "$B/rootfs"
(cd "$B" && runc spec && python3 -c '
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
for k in ("inheritable", "ambient"):
    c["process"]["capabilities"].pop(k, None)
json.dump(c, open("config.json", "w"))')

# refused NAME FIELD PYTHON: edit config.json (c), expect an error naming FIELD
# and nothing left in the store.
refused() {
	local what=$1 field=$2 edit=$3 before rc
	t_begin "refused: $what"
	cp "$B/config.json" "$B/config.orig"
	python3 -c "
import json
c = json.load(open('$B/config.json'))
$edit
json.dump(c, open('$B/config.json', 'w'))"
	before=$(cd "$W/adv" 2>/dev/null && find . | sort)
	# (stdio to files: a create that wrongly succeeds leaves stage1 holding them)
	"$OCI" --root "$W/adv" create --bundle "$B" adv1 </dev/null >"$W/adv.out" 2>"$W/adv.err"
	rc=$?
	ERR=$(cat "$W/adv.err")
	[ "$rc" -eq 0 ] && "$OCI" --root "$W/adv" delete --force adv1
	if [ "$rc" -eq 1 ] && one_line && printf '%s' "$ERR" | grep -qF "$field" &&
		[ "$before" = "$(cd "$W/adv" 2>/dev/null && find . | sort)" ]; then
		t_ok
	else
		t_fail "err: $ERR; store: $(cd "$W/adv" && find . | sort | tr '\n' ' ')"
	fi
	mv "$B/config.orig" "$B/config.json"
}
mkdir -p "$W/outside"
ln -s "$W/outside" "$B/link"
refused "a root path outside the bundle" "root.path" 'c["root"]["path"] = "../outside"'
refused "an absolute root path outside the bundle" "root.path" "c['root']['path'] = '$W/outside'"
refused "a root path through a symlink" "root.path" 'c["root"]["path"] = "link"'
refused "a mount destination with .." "mounts[0].destination" \
	'c["mounts"].insert(0, {"destination": "/../../etc", "type": "bind", "source": "/tmp", "options": ["rbind"]})'
refused "a relative mount destination" "mounts[0].destination" \
	'c["mounts"].insert(0, {"destination": "x/../../y", "type": "bind", "source": "/tmp", "options": ["rbind"]})'
refused "an unknown namespace type" "linux.namespaces[5].type" \
	'c["linux"]["namespaces"].append({"type": "bogus"})'
refused "joining a pid namespace by path" "linux.namespaces[0].path" \
	'c["linux"]["namespaces"][0]["path"] = "/proc/1/ns/pid"'
refused "hooks" "hooks" 'c["hooks"] = {"prestart": [{"path": "/bin/true"}]}'
refused "an unknown field" "apparmorProfile" 'c["process"]["apparmorProfile"] = "x"'
refused "ambient capabilities" "process.capabilities.ambient" \
	'c["process"]["capabilities"]["ambient"] = ["CAP_KILL"]'
refused "a sysctl" "sysctl" 'c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}'

t_begin "podctl-oci with runc's own spec: create, state created, start, the exit code, delete"
rm -f "$B/link"
# (stdio to files: stage1 keeps the container's, as a shim's pipes would be)
if "$OCI" --root "$W/adv" create --bundle "$B" --pid-file "$W/pid" ok1 </dev/null >"$W/ok1.out" 2>"$W/ok1.err" &&
	"$OCI" --root "$W/adv" state ok1 | grep -q '"status": "created"' &&
	[ "$("$OCI" --root "$W/adv" state ok1 | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')" = "$(cat "$W/pid")" ] &&
	expect_exit 0 "$OCI" --root "$W/adv" start ok1; then
	pid=$(cat "$W/pid")
	# stage1 is not our child (a shim would reap it): wait on the pod instead
	uuid=$("$OCI" --root "$W/adv" state ok1 | sed -n 's/.*"pod": "\([0-9a-f-]*\)".*/\1/p')
	PODCTL_DIR="$W/adv" "$PODCTL" status --wait=10s "$uuid" >/dev/null 2>&1
	if "$OCI" --root "$W/adv" state ok1 | grep -q '"status": "stopped"' &&
		{ [ ! -e "/proc/$pid" ] || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; } &&
		expect_exit 0 "$OCI" --root "$W/adv" delete ok1 &&
		expect_exit 1 "$OCI" --root "$W/adv" state ok1 && printf '%s' "$ERR" | grep -q "does not exist"; then
		t_ok
	else
		t_fail "state: $("$OCI" --root "$W/adv" state ok1 2>&1)"
	fi
else
	t_fail "$(cat "$W/ok1.err")"
fi

t_end
