#!/bin/bash
# shellcheck disable=SC2317 # checks are called through run_case
# Cgroups of pods and apps on this host (hybrid here: v1 controllers): made
# before the app runs, the app inside its own before exec, the device
# allowlist, and gone after the app exits, after stop, and after stage1 was
# SIGKILLed once gc or rm has run.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
P=$PODCTL
[ -d /sys/fs/cgroup/memory ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || t_skip "no cgroups here"

# The pod's cgroup dirs, one per hierarchy (v1) or the one (v2).
cg_dirs() {
	local d
	for d in /sys/fs/cgroup/*/"$PODCTL_CGROUP_PARENT/$1" /sys/fs/cgroup/"$PODCTL_CGROUP_PARENT/$1"; do
		[ -d "$d" ] && echo "$d"
	done
}
cg_gone() {
	local left
	left=$(cg_dirs "$1")
	[ -z "$left" ] || why "left behind: $left"
}
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

# A running pod's stage1 pid, from its pid marker.
stage1_pid() {
	sed -n 's/.*"stage1Pid": *\([0-9]*\).*/\1/p' "$PODCTL_DIR/pods/run/$1/pid"
}

# --- while it runs ----------------------------------------------------------
pod_cgroups_while_running() {
	local uuid d pid
	uuid=$("$P" run --detach --wait-ready=20s "$ROOT" -- sleep 600) ||
		return 1
	[ -n "$(cg_dirs "$uuid")" ] || why "no cgroup dir for $uuid" || return 1
	pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$PODCTL_DIR/pods/run/$uuid"/apps/*/pid)
	for d in $(cg_dirs "$uuid"); do
		# the app is in its app's cgroup, nothing is in the pod's own
		grep -qx "$pid" "$d"/*/cgroup.procs || why "app $pid not in $d/*/cgroup.procs" || return 1
		[ ! -s "$d/cgroup.procs" ] || why "$d/cgroup.procs not empty" || return 1
	done
	# enter joins the app's cgroup (and its cgroup ns)
	"$P" enter "$uuid" cat /proc/self/cgroup >"$T_SCRATCH/cg" || why "enter failed" || return 1
	# its own cgroup namespace: every hierarchy shows it at /
	! grep -v ':/$' "$T_SCRATCH/cg" | grep -q . || why "app sees $(cat "$T_SCRATCH/cg")" || return 1
	"$P" stop "$uuid" >/dev/null || why "stop failed" || return 1
	cg_gone "$uuid"
}
check "each app runs in its own cgroup under PARENT/UUID, in its own cgroup ns; gone after stop" \
	pod_cgroups_while_running

# --- the device allowlist ------------------------------------------------------
# The cgroup alone: the app is given CAP_MKNOD (not in the default set) and
# makes the node on a volume that allows devices ("dev": true; /dev, the
# rootfs and other volumes are nodev, where any open fails with EACCES and
# proves nothing). The cgroup's answer is EPERM. Outside any pod the same
# node opens (when the host has kvm): the check can see an attack succeed.
devices_denied() {
	local out
	out=$("$P" run --cap-add MKNOD --volume "dv,kind=empty,dev=true,target=/dv" "$ROOT" -- sh -c '
		mknod /dv/kvm-x c 10 232 2>&1 || echo "mknod refused"
		if [ -c /dv/kvm-x ] && (exec 3<>/dv/kvm-x) 2>/tmp/err; then echo "kvm OPENED"; else echo "kvm: $(cat /tmp/err)"; fi
		(exec 3<>/dev/null) && echo "null ok"
		(exec 3</dev/zero 4</dev/urandom 5<>/dev/full) && echo "zero ok"
		mknod /dv/sda-x b 8 0 2>/dev/null && { (exec 3</dv/sda-x) 2>/dev/null && echo "sda OPENED"; }
		true') || why "run failed: $out" || return 1
	echo "$out" | grep -q "null ok" || why "/dev/null: $out" || return 1
	echo "$out" | grep -q "zero ok" || why "/dev/zero: $out" || return 1
	! echo "$out" | grep -q "OPENED" || why "a device outside the allowlist opened: $out" || return 1
	echo "$out" | grep -Eq "kvm: .*(Operation not permitted|Permission denied)|mknod refused" ||
		why "unexpected: $out"
}
if [ -c /dev/kvm ]; then
	t_begin "without the pod, a made kvm node opens (the test can see success)"
	mknod "/dev/kvm-podctl-test.$$" c 10 232 &&
		if (exec 3<>"/dev/kvm-podctl-test.$$"); then t_ok; else t_fail "cannot open kvm here"; fi
	rm -f "/dev/kvm-podctl-test.$$"
fi
check "in a default pod, mknod c 10 232 then open fails; null, zero, urandom open" devices_denied

# v1: the kernel's own list for the app's cgroup is the allowlist.
devices_list() {
	local uuid list
	[ -d /sys/fs/cgroup/devices ] || return 0
	uuid=$("$P" run --detach "$ROOT" -- sleep 600) || why "run failed" || return 1
	list=$(cat /sys/fs/cgroup/devices/"$PODCTL_CGROUP_PARENT/$uuid"/*/devices.list | LC_ALL=C sort | tr '\n' ,)
	"$P" stop "$uuid" >/dev/null
	[ "$list" = "b *:* m,c *:* m,c 136:* rwm,c 1:3 rwm,c 1:5 rwm,c 1:7 rwm,c 1:8 rwm,c 1:9 rwm,c 5:0 rwm,c 5:2 rwm," ] ||
		why "devices.list: $list"
}
check "the app's devices.list is the OCI default set" devices_list

# --- lifetimes -----------------------------------------------------------------
gone_after_exit() {
	"$P" run --uuid-file-save="$T_SCRATCH/u1" "$ROOT" -- true || why "run failed" || return 1
	cg_gone "$(cat "$T_SCRATCH/u1")"
}
check "the pod's cgroups are gone once its app exits" gone_after_exit

# kill -9 of stage1: the cgroups stay (nobody removed them) until gc / rm.
killed_then() {
	local how=$1 uuid s1
	uuid=$("$P" run --detach "$ROOT" -- sleep 600) || why "run failed" || return 1
	s1=$(stage1_pid "$uuid")
	[ -n "$s1" ] || why "no stage1 pid" || return 1
	kill -9 "$s1"
	"$P" status --wait=10s "$uuid" >/dev/null 2>&1
	[ -n "$(cg_dirs "$uuid")" ] || why "cgroups already gone: the test would prove nothing" || return 1
	case $how in
	gc) "$P" gc >/dev/null 2>&1 || why "gc failed" || return 1 ;;
	rm) "$P" rm "$uuid" >/dev/null 2>&1 || why "rm failed: $("$P" rm "$uuid" 2>&1)" || return 1 ;;
	esac
	cg_gone "$uuid" || return 1
	# gc only marked the young exited pod (its grace period); the marker is gone
	if [ "$how" = gc ]; then
		"$P" status "$uuid" >/dev/null 2>&1 || why "gc removed the pod too" || return 1
		! ls "$PODCTL_DIR"/pods/*/"$uuid/cgroup" >/dev/null 2>&1 || why "marker left" || return 1
	fi
}
check "kill -9 of stage1 leaves the cgroups; the next gc removes them" killed_then gc
check "kill -9 of stage1 leaves the cgroups; rm removes them" killed_then rm

parent_checked() {
	PODCTL_CGROUP_PARENT="../escape" expect_exit 125 "$P" run "$ROOT" -- true || return 1
	echo "$ERR" | grep -q 'cgroup parent' || why "got: $ERR"
}
check "a cgroup parent with .. is refused" parent_checked

cgroup_parent_flag() {
	local uuid
	uuid=$("$P" run --detach --cgroup-parent="$PODCTL_CGROUP_PARENT/flag" "$ROOT" -- sleep 600) ||
		why "run failed" || return 1
	[ -n "$(PODCTL_CGROUP_PARENT="$PODCTL_CGROUP_PARENT/flag" cg_dirs "$uuid")" ] ||
		why "not under the --cgroup-parent" || return 1
	"$P" stop "$uuid" >/dev/null
	[ -z "$(PODCTL_CGROUP_PARENT="$PODCTL_CGROUP_PARENT/flag" cg_dirs "$uuid")" ] || why "left after stop"
}
check "run --cgroup-parent places the pod there" cgroup_parent_flag

# Without any limit of its own the pod still has a cgroup in every v1
# hierarchy podctl knows, and its app is in it: a limit an admin set on the
# pods' parent (a CPU quota, blkio throttles) reaches the app.
every_hierarchy() {
	local uuid pid c d app
	[ ! -f /sys/fs/cgroup/cgroup.controllers ] || return 0 # v2: one hierarchy
	uuid=$("$P" run --detach --wait-ready=20s "$ROOT" -- sleep 600) || why "run failed" || return 1
	pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$PODCTL_DIR/pods/run/$uuid"/apps/*/pid)
	app=$(basename "$(dirname "$(ls "$PODCTL_DIR/pods/run/$uuid"/apps/*/pid)")")
	for c in cpu cpuacct blkio memory pids devices; do
		[ -f "/sys/fs/cgroup/$c/tasks" ] || continue
		d=/sys/fs/cgroup/$c/$PODCTL_CGROUP_PARENT/$uuid/$app
		grep -qx "$pid" "$d/cgroup.procs" 2>/dev/null ||
			why "app $pid not in $d: $(grep ":${c}[:,]" "/proc/$pid/cgroup")" || break
	done
	"$P" stop "$uuid" >/dev/null
	[ -z "$T_WHY" ]
}
check "a pod without limits is in every hierarchy (a parent's limits hold)" every_hierarchy

t_end
