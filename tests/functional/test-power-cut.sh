#!/bin/bash
# What a power cut can leave of a pod `run` prepared without fsyncs
# (Documentation/devel/decisions.md, "run's prepare is not fsynced"): a pod
# dir in run/ (or prepare/, should its move be lost; or exited-garbage/)
# whose manifest or info is empty or missing, and no exit marker. Simulated
# by truncating, garbling and removing those files of real pods. Every reader copes:
# list lists them all, status and logs fail with an error naming the pod (or
# show what they can), nothing crashes, and rm and gc remove them.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

P=$PODCTL
ROOT=$(t_rootfs)
PODS=$PODCTL_DIR/pods
declare -A U
run_pod() {
	"$P" run --net=none --uuid-file-save="$T_SCRATCH/$1" "$ROOT" -- true >/dev/null 2>&1 ||
		{ t_begin "setup"; t_fail "run failed"; t_end; }
	U[$1]=$(cat "$T_SCRATCH/$1")
}
# Marked by gc (moved to exited-garbage/) before the cut tore it.
run_pod garbage
"$P" gc --mark-only >/dev/null 2>&1
G=$PODS/exited-garbage/${U[garbage]}
if [ -d "$G" ]; then
	: >"$G/manifest"
	: >"$G/info"
fi
for k in man0 mannone manjunk info0 infonone both0 lostmove; do
	run_pod $k
done
d() { echo "$PODS/run/${U[$1]}"; }
: >"$(d man0)/manifest"
rm -f "$(d mannone)/manifest"
# Without a journal, a file's size may survive and its blocks hold stale bytes.
head -c 193 /dev/urandom >"$(d manjunk)/manifest"
: >"$(d info0)/info"
rm -f "$(d infonone)/info"
: >"$(d both0)/manifest"
: >"$(d both0)/info"
rm -f "$(d both0)/exit" # killed by the cut: no exit marker
# The move to run/ lost: the pod is back in prepare/, unlocked (aborted).
: >"$(d lostmove)/manifest"
rm -f "$(d lostmove)/exit"
mv "$(d lostmove)" "$PODS/prepare/"
# No crash: a signal's exit code (>= 128) or sanitizer output fails.
sane() { [ "$1" -lt 128 ] && ! grep -qiE 'sanitizer|segmentation|core dumped' <<<"$ERR"; }

t_begin "setup: the gc mark moved one torn pod to exited-garbage/"
[ -d "$G" ] && t_ok || t_fail "$(ls -R "$PODS")"

t_begin "list (text, --full, json) lists every torn pod, exit 0"
bad=""
for f in "" --full --format=json; do
	# shellcheck disable=SC2086 # $f: no option or one
	OUT=$("$P" list $f 2>"$T_SCRATCH/stderr")
	rc=$?
	ERR=$(cat "$T_SCRATCH/stderr")
	if [ $rc -ne 0 ] || ! sane $rc; then
		bad+=" list $f: exit $rc ($ERR);"
		continue
	fi
	for k in "${!U[@]}"; do
		grep -q "${U[$k]:0:8}" <<<"$OUT" || bad+=" list $f lacks $k;"
	done
done
[ -z "$bad" ] && t_ok || t_fail "$bad"

t_begin "status (text, json) of each: shown (0) or an error naming the pod (1), never 'no such pod'"
bad=""
for k in "${!U[@]}"; do
	for f in "" --format=json; do
		# shellcheck disable=SC2086
		OUT=$("$P" status $f "${U[$k]}" 2>"$T_SCRATCH/stderr")
		rc=$?
		ERR=$(cat "$T_SCRATCH/stderr")
		sane $rc || bad+=" status $f $k crashed ($rc: $ERR);"
		case $rc in
		0) grep -q "${U[$k]}" <<<"$OUT" || bad+=" status $f $k: uuid not shown;" ;;
		1) grep -q "pod ${U[$k]}" <<<"$ERR" && one_line || bad+=" status $f $k: error not about the pod: $ERR;" ;;
		*) bad+=" status $f $k: exit $rc ($ERR);" ;;
		esac
	done
done
# The torn manifests are errors; a torn info (name, created) is not.
expect_exit 1 "$P" status "${U[man0]}" && grep -q "manifest is empty" <<<"$ERR" || bad+=" man0: $ERR;"
expect_exit 1 "$P" status "${U[mannone]}" && grep -q "crash or power cut" <<<"$ERR" || bad+=" mannone: $ERR;"
expect_exit 1 "$P" status "${U[manjunk]}" && grep -q "pod ${U[manjunk]}: its apps are unknown" <<<"$ERR" || bad+=" manjunk: $ERR;"
expect_exit 0 "$P" status "${U[info0]}" || bad+=" info0: $ERR;"
[ -z "$bad" ] && t_ok || t_fail "$bad"

t_begin "logs, port of each: output (0) or an error naming the pod (1); cat-manifest of an empty one: 1"
bad=""
for c in logs port; do
	for k in "${!U[@]}"; do
		OUT=$("$P" $c "${U[$k]}" 2>"$T_SCRATCH/stderr")
		rc=$?
		ERR=$(cat "$T_SCRATCH/stderr")
		sane $rc || bad+=" $c $k crashed ($rc: $ERR);"
		case $rc in
		0) ;;
		1) grep -q "pod ${U[$k]}" <<<"$ERR" && one_line || bad+=" $c $k: error not about the pod: $ERR;" ;;
		*) bad+=" $c $k: exit $rc ($ERR);" ;;
		esac
	done
done
expect_exit 1 "$P" cat-manifest "${U[man0]}" && grep -q "pod ${U[man0]}: manifest is empty" <<<"$ERR" ||
	bad+=" cat-manifest man0: $ERR;"
[ -z "$bad" ] && t_ok || t_fail "$bad"

t_begin "rm removes a pod whose manifest and info are empty"
if expect_exit 0 "$P" rm "${U[both0]}" && ! ls "$PODS"/*/"${U[both0]}" >/dev/null 2>&1; then
	t_ok
else
	t_fail "$ERR $(ls "$PODS"/*/)"
fi

t_begin "gc removes every other torn pod, and its names are free again"
unset "U[both0]"
if expect_exit 0 "$P" gc --grace-period=0s --expire-prepared=0s; then
	left=$(find "$PODS" -mindepth 2 -maxdepth 2 | wc -l)
	n=$("$P" list --no-legend | wc -l)
	if [ "$left" -eq 0 ] && [ "$n" -eq 0 ] &&
		"$P" run --net=none --name "pod-${U[info0]:0:8}" "$ROOT" -- true >/dev/null 2>&1; then
		t_ok
	else
		t_fail "$left pod dirs left, $n listed: $(find "$PODS" -mindepth 2 -maxdepth 2)"
	fi
else
	t_fail "$ERR"
fi
t_end
