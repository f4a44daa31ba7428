# shellcheck shell=bash
# Functional test library: source it from a test-*.sh file.
#
#   . "$(dirname "$0")/lib.sh"
#   t_begin "what this checks"; ...; t_ok   (or t_fail "why")
#
# Each test file gets its own scratch data dir in $PODCTL_DIR, exported so
# podctl uses it, and a trap that kills what the test started, unmounts
# anything left under its scratch dir and removes it, even on failure.
# t_skip "reason" skips the whole file. A file's exit status is the number of
# failed checks (77 when skipped).

set -u
BUILDDIR=${BUILDDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
PODCTL="$BUILDDIR/podctl"
# check-asan runs a sanitized podctl with the regular stage1 (see Makefile).
STAGE1=${PODCTL_TEST_STAGE1:-$BUILDDIR/podctl-stage1}
T_NAME=$(basename "$0" .sh)
T_SCRATCH=$(mktemp -d "/tmp/podctl-$T_NAME.XXXXXX")
export PODCTL_DIR="$T_SCRATCH/store"
export PODCTL_STAGE1="$STAGE1"
# Pods' cgroups go under a parent of this file's own, removed at cleanup.
export PODCTL_CGROUP_PARENT="podctl-test/$T_NAME.$$"
# An image name the store lacks must never make a test reach a registry:
# no pulls unless a test asks (test-pull.sh uses its own on 127.0.0.1).
export PODCTL_PULL=never
T_FAILED=0
T_PASSED=0
T_CURRENT=""
T_PIDS=()

t_cleanup() {
	local pid m
	for pid in "${T_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null
	done
	# Any stage1 / app still running from this scratch dir.
	for pid in $(pgrep -f "$T_SCRATCH" 2>/dev/null); do
		kill -9 "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	# Deepest mounts first.
	awk -v p="$T_SCRATCH" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$T_SCRATCH"
	t_cgroups_remove
}

# Remove this file's cgroup parent in every hierarchy (deepest first).
t_cgroups_remove() {
	local d
	for d in /sys/fs/cgroup/*/"$PODCTL_CGROUP_PARENT" /sys/fs/cgroup/"$PODCTL_CGROUP_PARENT"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	rmdir /sys/fs/cgroup/*/podctl-test /sys/fs/cgroup/podctl-test 2>/dev/null
	return 0
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# Remember a background pid to kill at cleanup.
t_bg() { T_PIDS+=("$1"); }

t_begin() { T_CURRENT="$*"; }
t_ok() {
	T_PASSED=$((T_PASSED + 1))
	printf 'ok   %s: %s\n' "$T_NAME" "$T_CURRENT"
}
t_fail() {
	T_FAILED=$((T_FAILED + 1))
	printf 'FAIL %s: %s: %s\n' "$T_NAME" "$T_CURRENT" "$*"
}
t_skip() {
	printf 'skip %s: %s\n' "$T_NAME" "$*"
	exit 77
}
t_end() { exit "$T_FAILED"; }

# t_check DESCRIPTION COMMAND... : passes when COMMAND succeeds.
t_check() {
	local what=$1
	shift
	t_begin "$what"
	if "$@"; then t_ok; else t_fail "command failed: $*"; fi
}

# t_stress SCRIPT SUMMARY_RE PASS_RE ARG...: a short run of a stress script
# (tests/stress/SCRIPT, with this build's binaries) as one check: its
# summary line (the one matching SUMMARY_RE) is shown as a note, and it
# passes when the script exits 0 and the summary matches PASS_RE; exit 77
# is a skip (busybox-static missing).
t_stress() {
	local script=$1 summary_re=$2 pass_re=$3 out rc summary
	shift 3
	out=$(BUILDDIR=$BUILDDIR PODCTL_STAGE1=$STAGE1 bash "$(dirname "${BASH_SOURCE[0]}")/../stress/$script" "$@" 2>&1)
	rc=$?
	summary=$(grep -E "$summary_re" <<<"$out")
	echo "# $summary"
	if [ $rc -eq 0 ] && grep -qE "$pass_re" <<<"$summary"; then
		t_ok
	elif [ $rc -eq 77 ]; then
		t_skip "busybox-static is not installed"
	else
		t_fail "$(tail -20 <<<"$out")"
	fi
}

# expect_exit CODE COMMAND... : run, capture stdout/stderr into $OUT/$ERR,
# and check the exit code. Returns non-zero on mismatch (with a message).
expect_exit() {
	local want=$1 got
	shift
	# shellcheck disable=SC2034 # OUT is read by the tests
	OUT=$("$@" 2>"$T_SCRATCH/stderr")
	got=$?
	ERR=$(cat "$T_SCRATCH/stderr")
	if [ "$got" -ne "$want" ]; then
		echo "expected exit $want, got $got from: $* (stderr: $ERR)" >&2
		return 1
	fi
	return 0
}

# one_line: $ERR is exactly one non-empty line.
one_line() {
	[ -n "$ERR" ] && [ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ]
}

# A snapshot of the store (every path with its type) to compare before/after.
store_snapshot() {
	if [ -d "$PODCTL_DIR" ]; then
		(cd "$PODCTL_DIR" && find . -printf '%y %p\n' | sort)
	fi
}

# A minimal rootfs from busybox-static, made once per test file.
t_rootfs() {
	local root="$T_SCRATCH/rootfs"
	if [ ! -d "$root" ]; then
		command -v busybox >/dev/null || t_skip "busybox-static is not installed"
		mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/dev" "$root/sys"
		cp "$(command -v busybox)" "$root/bin/busybox"
		for a in $("$root/bin/busybox" --list); do
			[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
		done
	fi
	echo "$root"
}

[ "$(id -u)" -eq 0 ] || t_skip "needs root"
[ -x "$PODCTL" ] || t_skip "$PODCTL is not built"
