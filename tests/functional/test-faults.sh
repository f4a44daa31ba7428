#!/bin/bash
# shellcheck disable=SC2317 # the setups (no_setup, with_pods) are called through walk
# Fault injection: the Nth call of write, fsync, rename*, mkdir*, open* or
# mount in podctl fails (tests/fault/fault.c, LD_PRELOAD), for every N that
# prepare, run, gc and image import reach. After each: exit 0 or 1 (never a
# crash or a usage error), exactly one line naming what failed, a consistent
# store, and the next gc (without faults) leaves nothing behind. An injected
# EINTR never reaches the user.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"

SHIM="$BUILDDIR/tests/fault/libfault.so"
[ -f "$SHIM" ] || t_skip "the fault shim is not built ($SHIM)"
# A sanitized podctl cannot take another preload.
ldd "$PODCTL" | grep -q libasan && t_skip "podctl is sanitized"

P=$PODCTL
ROOT=$(t_rootfs)
tar -C "$ROOT" -cf "$T_SCRATCH/root.tar" .

# counts VERB ARGS…: "NAME COUNT" lines of the calls one clean run makes.
counts() {
	local f="$T_SCRATCH/counts"
	rm -f "$f"
	LD_PRELOAD=$SHIM PODCTL_FAULT_COUNT=$f "$P" "$@" >/dev/null 2>&1
	cat "$f"
}

# The store after a gc without faults: no pod, nothing in tmp/, no image
# tree or blob that no image uses.
store_clean() {
	"$P" gc --grace-period=0 --expire-prepared=0 >/dev/null 2>"$T_SCRATCH/gc.err" ||
		why "the clean-up gc failed: $(cat "$T_SCRATCH/gc.err")" || return 1
	store_consistent || return 1
	[ "$(pod_count)" -eq 0 ] || why "pods left: $(find "$PODS" -mindepth 2 -maxdepth 2)" || return 1
	[ -z "$(ls -A "$PODCTL_DIR/tmp")" ] || why "tmp/ not empty: $(ls -A "$PODCTL_DIR/tmp")" || return 1
	if [ -d "$PODCTL_DIR/names" ] && [ -n "$(ls -A "$PODCTL_DIR/names")" ]; then
		why "names left: $(ls -A "$PODCTL_DIR/names")"
		return 1
	fi
	return 0
}

# walk LABEL SETUP VERB ARGS…: for every call NAME the clean run makes and
# every N up to its count, run with NAME:N failing (EIO and ENOSPC; EINTR
# for write and fsync, ENOMEM for open and mkdir too), then check. SETUP runs before each try.
WALK_RUNS=0
walk() {
	local label=$1 setup=$2 bad=0 name count n e rc lines
	shift 2
	$setup
	while read -r name count; do
		for ((n = 1; n <= count; n++)); do
			for e in EIO ENOSPC EINTR ENOMEM; do
				# EINTR where the kernel can give it (slow writes, fsync on
				# network filesystems); ENOMEM where it can (opens, mkdirs).
				case $e:$name in
				EINTR:write | EINTR:fsync | ENOMEM:open* | ENOMEM:mkdir* | EIO:* | ENOSPC:*) ;;
				*) continue ;;
				esac
				$setup
				LD_PRELOAD=$SHIM PODCTL_FAULT=$name:$n:$e timeout 60 "$P" "$@" \
					>"$T_SCRATCH/out" 2>"$T_SCRATCH/err"
				rc=$?
				WALK_RUNS=$((WALK_RUNS + 1))
				lines=$(wc -l <"$T_SCRATCH/err")
				if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
					echo "$label $name:$n:$e: exit $rc: $(head -c 300 "$T_SCRATCH/err")" >&2
					bad=$((bad + 1))
				elif [ $rc -eq 1 ] && { [ "$lines" -ne 1 ] || ! grep -q "^podctl " "$T_SCRATCH/err"; }; then
					echo "$label $name:$n:$e: not one line: $(head -c 300 "$T_SCRATCH/err")" >&2
					bad=$((bad + 1))
				elif [ $e = EINTR ] && grep -qi "interrupted" "$T_SCRATCH/err"; then
					echo "$label $name:$n:$e: EINTR reached the user: $(cat "$T_SCRATCH/err")" >&2
					bad=$((bad + 1))
				elif ! { T_WHY=""; store_clean; }; then
					echo "$label $name:$n:$e (exit $rc): $T_WHY" >&2
					bad=$((bad + 1))
				fi
			done
		done
	done < <(counts "$@")
	[ $bad -lt 100 ] || bad=100
	return $bad
}

no_setup() { :; }
with_pods() {
	# An exited pod, an expired prepared one: gc has work to do.
	local u
	u=$("$P" prepare "$ROOT" -- true) && mv "$PODS/prepared/$u" "$PODS/run/$u" &&
		printf '{"code":0,"reason":"ok","time":"%s"}\n' "$(now_rfc3339)" >"$PODS/run/$u/exit"
	"$P" prepare "$ROOT" -- true >/dev/null
}

t_begin "prepare: every failing call gives one line and leaves nothing gc does not clean"
if walk prepare no_setup prepare --name faulty "$ROOT" -- true; then t_ok; else t_fail "$? bad outcomes (above)"; fi

t_begin "image import: every failing call gives one line and leaves nothing gc does not clean"
if walk import no_setup image import "$T_SCRATCH/root.tar" --name bb; then t_ok; else t_fail "$? bad outcomes (above)"; fi

t_begin "run: every failing call in podctl gives one line and leaves nothing gc does not clean"
if walk run no_setup run --name faulty "$ROOT" -- true; then t_ok; else t_fail "$? bad outcomes (above)"; fi

t_begin "gc: every failing call gives one line (or is absorbed) and the next gc finishes the job"
if walk gc with_pods gc --grace-period=0 --expire-prepared=0; then t_ok; else t_fail "$? bad outcomes (above)"; fi

echo "# $WALK_RUNS faulty runs"
t_end
