# shellcheck shell=bash
# What the stress scripts (torture.sh, ready-race.sh) share: source it, then
# call stress_setup once their own arguments are parsed.
#
#   . "$(dirname "$0")/lib.sh"
#   stress_setup NAME
#
# stress_setup sets TOP (the tree), BUILDDIR, P (podctl) and W (the run's
# scratch dir, /tmp/podctl-NAME.XXXXXX), exports PODCTL_STAGE1, PODCTL_DIR
# ($W/store) and PODCTL_CGROUP_PARENT (podctl-NAME-XXXXXX when not set), and
# sets a trap that kills what the run started, unmounts anything left under
# $W, removes $W and the cgroups under the parent, however the run ends. It
# exits 77 (a skip) without busybox-static. stress_rootfs DIR makes a busybox
# rootfs; stress_cgroup_dirs lists the cgroups left under the parent.

stress_cgroup_dirs() {
	local d
	for d in /sys/fs/cgroup/*/"$PODCTL_CGROUP_PARENT" /sys/fs/cgroup/"$PODCTL_CGROUP_PARENT"; do
		[ -d "$d" ] && find "$d" -mindepth 1 -type d
	done 2>/dev/null
}

stress_cleanup() {
	local pid m d
	for pid in $(jobs -p); do kill -9 "$pid" 2>/dev/null; done
	for pid in $(pgrep -f "$W" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
	wait 2>/dev/null
	awk -v p="$W" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$W"
	for d in $(stress_cgroup_dirs | sort -r) /sys/fs/cgroup/*/"$PODCTL_CGROUP_PARENT" \
		/sys/fs/cgroup/"$PODCTL_CGROUP_PARENT"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	return 0
}

stress_setup() {
	local name=$1
	TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	BUILDDIR=${BUILDDIR:-$TOP/build}
	# shellcheck disable=SC2034 # the sourcing script's
	P=$BUILDDIR/podctl
	export PODCTL_STAGE1=${PODCTL_STAGE1:-$BUILDDIR/podctl-stage1}
	command -v busybox >/dev/null || { echo "$name: busybox-static is not installed" >&2; exit 77; }
	W=$(mktemp -d "/tmp/podctl-$name.XXXXXX")
	export PODCTL_DIR=$W/store
	export PODCTL_CGROUP_PARENT=${PODCTL_CGROUP_PARENT:-podctl-$name-${W##*.}}
	trap stress_cleanup EXIT
	trap 'exit 130' INT TERM
}

stress_rootfs() {
	local root=$1 a
	mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/dev" "$root/sys"
	cp "$(command -v busybox)" "$root/bin/busybox"
	for a in $("$root/bin/busybox" --list); do [ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"; done
}
