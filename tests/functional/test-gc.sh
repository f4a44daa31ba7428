#!/bin/bash
# shellcheck disable=SC2317 # checks are called through run_case
# podctl gc (and rm, status) against exited, expired, aborted and locked
# pods and leftover temporary files. "Running" pods are made by holding the
# pod's lock from another process, as stage1 does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"

ROOT=$(t_rootfs)
P=$PODCTL

# new_prepared: prepare a pod, print its uuid.
new_prepared() {
	local u
	u=$("$P" prepare "$ROOT" -- /bin/true) && [[ $u =~ $UUID_RE ]] || return 1
	echo "$u"
}
# set_created UUID DIR TIME: rewrite the pod's info marker with another created time.
set_created() {
	printf '{"name":"pod-%s","created":"%s"}\n' "${1:0:8}" "$3" >"$PODS/$2/$1/info"
}

# set_marked UUID TIME: as if gc had marked the pod (in exited-garbage/) at TIME.
set_marked() {
	printf '{"time":"%s"}\n' "$2" >"$PODS/exited-garbage/$1/gc-marked"
}

check_mark_then_grace() {
	local old new
	old=$(new_prepared) && new=$(new_prepared) || why "prepare failed" || return 1
	make_exited "$old" "$(ago_rfc3339 '2 hours')" || return 1
	make_exited "$new" || return 1
	expect_exit 0 "$P" status --format=json "$old" || return 1
	json_assert "d['state'] == 'exited' and d['exitCode'] == 0 and d['exitReason'] == 'ok'" ||
		return 1
	json_assert "re.match(r'$TIME_RE', d['exited']) and 'gcMarked' not in d" || return 1

	# The first gc marks every exited pod, however old; it deletes none.
	expect_exit 0 "$P" gc --grace-period=1h || return 1
	[ "$(pod_dirs "$old")" = exited-garbage ] || why "old pod in '$(pod_dirs "$old")'" || return 1
	[ "$(pod_dirs "$new")" = exited-garbage ] || why "new pod in '$(pod_dirs "$new")'" || return 1
	grep -q "^marked *$old (exited)$" <<<"$OUT" && grep -q "^marked *$new (exited)$" <<<"$OUT" ||
		why "gc did not print a line per marked pod: $OUT" || return 1
	# status of a marked pod still works and shows when it was marked.
	expect_exit 0 "$P" status --format=json "$old" || return 1
	json_assert "d['state'] == 'exited-garbage' and d['exitCode'] == 0 and re.match(r'$TIME_RE', d['gcMarked'])" ||
		return 1
	expect_exit 0 "$P" status "$old" || return 1
	grep -q '^gc-marked ' <<<"$OUT" || why "text status without the mark time: $OUT" || return 1

	# Within the grace period a gc leaves them; once marked for longer, it removes.
	expect_exit 0 "$P" gc --grace-period=1h || return 1
	[ -z "$OUT" ] || why "a gc with nothing to do printed: $OUT" || return 1
	set_marked "$old" "$(ago_rfc3339 '2 hours')"
	expect_exit 0 "$P" gc --grace-period=1h || return 1
	[ -z "$(pod_dirs "$old")" ] || why "marked 2 h ago, kept with a 1h grace" || return 1
	[ "$OUT" = "removed  $old" ] || why "gc printed: $OUT" || return 1
	[ "$(pod_dirs "$new")" = exited-garbage ] || why "freshly marked pod removed" || return 1

	expect_exit 0 "$P" gc -q --grace-period=0 || return 1
	[ -z "$OUT" ] || why "gc -q printed: $OUT" || return 1
	[ -z "$(pod_dirs "$new")" ] || why "marked pod kept with --grace-period=0" || return 1
	expect_exit 0 "$P" list --format=json || return 1
	json_assert "d == []"
}
run_case "gc: the first gc marks exited pods (status shows when); a gc removes them once marked past the grace period" check_mark_then_grace

check_grace_zero_at_once() {
	local u
	u=$(new_prepared) || return 1
	make_exited "$u" || return 1
	expect_exit 0 "$P" gc --grace-period=0 --format=json || return 1
	json_assert "[e['uuid'] for e in d['marked']] == ['$u'] and d['marked'][0]['from'] == 'exited' and [e['uuid'] for e in d['removed']] == ['$u'] and d['skipped'] == [] and d['failed'] == []" ||
		return 1
	[ -z "$(pod_dirs "$u")" ] || why "kept"
}
run_case "gc --grace-period=0 marks and removes an exited pod in one run; --format=json says so" check_grace_zero_at_once

check_no_mark_marker() {
	# A pod moved to exited-garbage whose mark was lost: the move's time counts.
	local u
	u=$(new_prepared) || return 1
	make_exited "$u" || return 1
	expect_exit 0 "$P" gc --mark-only || return 1
	rm -f "$PODS/exited-garbage/$u/gc-marked"
	expect_exit 0 "$P" gc --grace-period=1h || return 1
	[ "$(pod_dirs "$u")" = exited-garbage ] || why "collected within the grace period" || return 1
	expect_exit 0 "$P" gc --grace-period=0 || return 1
	[ -z "$(pod_dirs "$u")" ] || why "kept with a grace of 0"
}
run_case "gc: a marked pod without its gc-marked marker ages from the move" check_no_mark_marker

check_failure_exit() {
	# A pod gc cannot delete (something is mounted in it): exit 1 naming it;
	# the other pods are collected all the same.
	local stuck ok rc
	stuck=$(new_prepared) && ok=$(new_prepared) || return 1
	make_exited "$stuck" && make_exited "$ok" || return 1
	mkdir -p "$PODS/run/$stuck/mnt" && mount -t tmpfs none "$PODS/run/$stuck/mnt" || return 1
	expect_exit 1 "$P" gc --grace-period=0
	rc=$?
	umount -l "$PODS"/*/"$stuck"/mnt 2>/dev/null
	[ "$rc" -eq 0 ] || return 1
	grep -q "$stuck" <<<"$ERR" || why "the failure does not name the pod: $ERR" || return 1
	[ -z "$(pod_dirs "$ok")" ] || why "the other pod was not collected" || return 1
	expect_exit 0 "$P" gc --grace-period=0 || return 1
	[ -z "$(pod_dirs "$stuck")" ] || why "not collected once unmounted"
}
run_case "gc: a pod it cannot delete gives exit 1 naming it; the others are collected" check_failure_exit

check_racing_gcs() {
	local us=() u _ g1 g2
	for _ in 1 2 3 4 5 6; do
		u=$(new_prepared) && make_exited "$u" || return 1
		us+=("$u")
	done
	"$P" gc --grace-period=0 --format=json >"$T_SCRATCH/gc1.json" 2>"$T_SCRATCH/gc1.err" &
	g1=$!
	"$P" gc --grace-period=0 --format=json >"$T_SCRATCH/gc2.json" 2>"$T_SCRATCH/gc2.err" &
	g2=$!
	wait "$g1" || why "first gc failed: $(cat "$T_SCRATCH/gc1.err")" || return 1
	wait "$g2" || why "second gc failed: $(cat "$T_SCRATCH/gc2.err")" || return 1
	for u in "${us[@]}"; do
		[ -z "$(pod_dirs "$u")" ] || why "pod $u left in $(pod_dirs "$u")" || return 1
	done
	# Each pod removed exactly once between the two.
	"$PY" - "$T_SCRATCH/gc1.json" "$T_SCRATCH/gc2.json" "${us[@]}" <<'PY' || why "removals do not add up" || return 1
import json, sys
docs = [json.load(open(f)) for f in sys.argv[1:3]]
removed = [e['uuid'] for d in docs for e in d['removed']]
sys.exit(0 if sorted(removed) == sorted(sys.argv[3:]) else 1)
PY
}
run_case "two gcs racing: every pod removed exactly once, neither fails" check_racing_gcs

check_expire_prepared() {
	local old fresh mid
	old=$(new_prepared) && fresh=$(new_prepared) && mid=$(new_prepared) || return 1
	set_created "$old" prepared "$(ago_rfc3339 '48 hours')"
	set_created "$mid" prepared "$(ago_rfc3339 '2 hours')"
	expect_exit 0 "$P" gc --grace-period=0 || return 1 # default expiry: 24h
	[ -z "$(pod_dirs "$old")" ] || why "48 h old prepared pod kept by default" || return 1
	[ "$(pod_dirs "$mid")" = prepared ] || why "2 h old prepared pod collected by default" ||
		return 1
	expect_exit 0 "$P" gc --expire-prepared=1h || return 1
	[ -z "$(pod_dirs "$mid")" ] || why "2 h old prepared pod kept with 1h" || return 1
	[ "$(pod_dirs "$fresh")" = prepared ] || why "fresh prepared pod collected" || return 1
	expect_exit 0 "$P" gc --expire-prepared=0 || return 1
	[ -z "$(pod_dirs "$fresh")" ] || why "prepared pod kept with --expire-prepared=0"
}
run_case "gc --expire-prepared: old prepared pods go (by info created time), fresh ones stay" check_expire_prepared

check_mark_only() {
	local e p m
	e=$(new_prepared) && p=$(new_prepared) && m=$(new_prepared) || return 1
	make_exited "$e" "$(ago_rfc3339 '1 hour')" && make_exited "$m" || return 1
	expect_exit 0 "$P" gc --mark-only --grace-period=0 || return 1
	[ "$(pod_dirs "$m")" = exited-garbage ] || return 1
	set_marked "$m" "$(ago_rfc3339 '2 hours')"
	expect_exit 0 "$P" gc --mark-only --grace-period=0 --expire-prepared=0 || return 1
	[ "$(pod_dirs "$e")" = exited-garbage ] || why "exited pod in '$(pod_dirs "$e")'" || return 1
	[ "$(pod_dirs "$p")" = garbage ] || why "prepared pod in '$(pod_dirs "$p")'" || return 1
	[ "$(pod_dirs "$m")" = exited-garbage ] || why "--mark-only moved a marked pod on" || return 1
	[ -f "$PODS/exited-garbage/$e/manifest" ] || why "contents deleted" || return 1
	grep -q "^marked *$p (prepared)$" <<<"$OUT" || why "no line for the prepared pod: $OUT" || return 1
	if grep -q "^removed" <<<"$OUT"; then why "--mark-only removed: $OUT"; return 1; fi
	expect_exit 0 "$P" status --format=json "$p" || return 1
	json_assert "d['state'] == 'garbage'" || return 1
	expect_exit 0 "$P" gc --grace-period=0 || return 1
	[ "$(pod_count)" -eq 0 ] || why "garbage not deleted by a plain gc"
}
run_case "gc --mark-only marks exited pods and expired prepared ones, deletes nothing; the next gc deletes" check_mark_only

check_aborted() {
	local a e g x
	a=aaaaaaaa-0000-4000-8000-00000000000a
	e=eeeeeeee-0000-4000-8000-00000000000e
	g=99999999-0000-4000-8000-000000000009
	x=88888888-0000-4000-8000-000000000008
	mkdir -p "$PODS/prepare/$a/apps/x" "$PODS/embryo/$e" "$PODS/garbage/$g" \
		"$PODS/exited-garbage/$x"
	echo x >"$PODS/prepare/$a/apps/x/partial"
	expect_exit 0 "$P" status --format=json "$a" || return 1
	json_assert "d['state'] == 'aborted-prepare'" || return 1
	expect_exit 0 "$P" status --format=json "$e" || return 1
	json_assert "d['state'] == 'embryo'" || return 1
	expect_exit 0 "$P" gc --grace-period=0 || return 1
	[ "$(pod_count)" -eq 0 ] ||
		why "left: $(find "$PODS" -mindepth 2 -maxdepth 2)"
}
run_case "gc collects aborted prepares, stale embryos, garbage and exited-garbage" check_aborted

check_tmp() {
	local t="$PODCTL_DIR/tmp" h dead
	# A pid that is surely not running: a child that has been reaped.
	sh -c 'exit 0' &
	dead=$!
	wait "$dead"
	mkdir -p "$t/old-dir"
	echo x >"$t/old-anon"                # no writer named: goes when old
	echo x >"$t/new-anon"                # ... and stays while fresh
	echo x >"$t/.new.tmp.$dead"          # a dead writer's: goes at once
	echo x >"$t/.old.tmp.$$"             # a live writer's (us): stays, however old
	echo x >"$t/.locked.tmp.$dead"       # locked by its writer: stays
	touch -d '1 minute ago' "$t/old-anon" "$t/.old.tmp.$$" "$t/.locked.tmp.$dead" "$t/old-dir"
	hold_lock "$t/.locked.tmp.$dead" || return 1
	h=$HOLD_PID
	expect_exit 0 "$P" gc || { release_lock "$h"; return 1; }
	[ ! -e "$t/old-anon" ] || why "old tmp file kept" || { release_lock "$h"; return 1; }
	[ ! -e "$t/old-dir" ] || why "old tmp dir kept" || { release_lock "$h"; return 1; }
	[ -e "$t/new-anon" ] || why "fresh tmp file removed" || { release_lock "$h"; return 1; }
	[ ! -e "$t/.new.tmp.$dead" ] || why "a dead writer's tmp file kept" || { release_lock "$h"; return 1; }
	[ -e "$t/.old.tmp.$$" ] || why "a live writer's tmp file removed" || { release_lock "$h"; return 1; }
	[ -e "$t/.locked.tmp.$dead" ] || why "locked tmp file removed" || { release_lock "$h"; return 1; }
	release_lock "$h"
	expect_exit 0 "$P" gc || return 1
	[ ! -e "$t/.locked.tmp.$dead" ] || why "tmp file kept once unlocked" || return 1
	[ -e "$t/new-anon" ] || why "fresh tmp file removed" || return 1
	rm -f "$t/new-anon" "$t/.old.tmp.$$"
}
run_case "gc: tmp leftovers of dead writers and old unnamed ones go; live, locked, fresh ones stay" check_tmp

check_running() {
	local u h before
	u=$(new_prepared) || return 1
	mv "$PODS/prepared/$u" "$PODS/run/$u" || return 1
	hold_lock "$PODS/run/$u" || return 1
	h=$HOLD_PID
	before=$(store_snapshot)
	expect_exit 0 timeout 5 "$P" status --format=json "$u" || { release_lock "$h"; return 1; }
	json_assert "d['state'] == 'running'" || { release_lock "$h"; return 1; }
	expect_exit 0 timeout 5 "$P" status "$u" || { release_lock "$h"; return 1; }
	grep -Eq '^state +running$' <<<"$OUT" || why "text status: $OUT" || { release_lock "$h"; return 1; }
	expect_exit 0 timeout 5 "$P" gc --grace-period=0 --expire-prepared=0 ||
		{ release_lock "$h"; return 1; }
	expect_exit 1 timeout 5 "$P" rm "$u" || { release_lock "$h"; return 1; }
	one_line || why "rm: not one line: $ERR" || { release_lock "$h"; return 1; }
	grep -q "$u" <<<"$ERR" || why "rm: does not name the pod: $ERR" || { release_lock "$h"; return 1; }
	[ "$before" = "$(store_snapshot)" ] || why "running pod touched" || { release_lock "$h"; return 1; }
	release_lock "$h"
	# Its holder died: exited at once, and collectable.
	expect_exit 0 timeout 5 "$P" status --format=json "$u" || return 1
	json_assert "d['state'] == 'exited'" || return 1
	expect_exit 0 "$P" rm "$u" || return 1
	[ -z "$(pod_dirs "$u")" ] || why "not removed once exited"
}
run_case "a running (locked) pod: status says running without blocking; gc leaves it; rm exit 1" check_running

check_preparing() {
	local u=cccccccc-0000-4000-8000-00000000000c h
	mkdir -p "$PODS/prepare/$u"
	hold_lock "$PODS/prepare/$u" || return 1
	h=$HOLD_PID
	expect_exit 0 timeout 5 "$P" status --format=json "$u" || { release_lock "$h"; return 1; }
	json_assert "d['state'] == 'preparing'" || { release_lock "$h"; return 1; }
	expect_exit 0 timeout 5 "$P" gc || { release_lock "$h"; return 1; }
	[ "$(pod_dirs "$u")" = prepare ] || why "preparing pod collected" || { release_lock "$h"; return 1; }
	expect_exit 1 timeout 5 "$P" rm "$u" || { release_lock "$h"; return 1; }
	one_line || why "rm: not one line: $ERR"
	release_lock "$h"
	[ -n "$T_WHY" ] && return 1
	expect_exit 0 "$P" gc || return 1
	[ -z "$(pod_dirs "$u")" ] || why "aborted prepare kept once unlocked"
}
run_case "a preparing (locked) pod: gc leaves it, rm refuses; once unlocked gc takes it" check_preparing

check_locked_garbage() {
	local g=dddddddd-0000-4000-8000-00000000000d x=ffffffff-0000-4000-8000-00000000000f
	local hg hx rc=0
	mkdir -p "$PODS/garbage/$g" "$PODS/exited-garbage/$x"
	hold_lock "$PODS/garbage/$g" || return 1
	hg=$HOLD_PID
	hold_lock "$PODS/exited-garbage/$x" || { release_lock "$hg"; return 1; }
	hx=$HOLD_PID
	if ! expect_exit 0 timeout 5 "$P" gc; then
		rc=1
	elif [ "$(pod_dirs "$g")" != garbage ] || [ "$(pod_dirs "$x")" != exited-garbage ]; then
		why "locked garbage touched" || rc=1
	elif ! grep -q "$g" <<<"$ERR" || ! grep -q "$x" <<<"$ERR"; then
		why "gc did not name the pods it skipped: $ERR" || rc=1
	else
		expect_exit 0 timeout 5 "$P" status --format=json "$g" || rc=1
		[ "$rc" -eq 0 ] && { json_assert "d['state'] == 'deleting'" || rc=1; }
		expect_exit 0 timeout 5 "$P" status --format=json "$x" || rc=1
		[ "$rc" -eq 0 ] && { json_assert "d['state'] == 'exited-deleting'" || rc=1; }
	fi
	release_lock "$hg"
	release_lock "$hx"
	[ "$rc" -eq 0 ] || return 1
	expect_exit 0 "$P" gc --grace-period=0 || return 1
	[ "$(pod_count)" -eq 0 ] || why "unlocked garbage kept"
}
run_case "locked garbage/exited-garbage: gc returns at once, leaves them and says so" check_locked_garbage

# $DIR/cache/seccomp: gc prunes the compiled filters not used for a week and
# those beyond the 64 most recently used; never what else is there.
check_seccomp_cache() {
	local C=$PODCTL_DIR/cache/seccomp real i n
	expect_exit 0 "$P" run "$ROOT" -- true || return 1
	real=$(find "$C" -name '*.bpf' | head -1)
	[ -f "$real" ] || why "no cache entry after a run" || return 1
	for i in 1 2 3; do
		cp "$real" "$C/old$i.bpf" && touch -a -m -d '10 days ago' "$C/old$i.bpf"
	done
	for i in $(seq 1 70); do
		cp "$real" "$C/new$i.bpf" && touch -a -m -d "$((i + 100)) minutes ago" "$C/new$i.bpf"
	done
	echo keep >"$C/README"
	: >"$C/.dead.bpf.tmp.999999999"
	: >"$C/.live.bpf.tmp.$$"
	expect_exit 0 "$P" gc || return 1
	n=$(find "$C" -name '*.bpf' | wc -l)
	[ "$n" -eq 64 ] || why "$n entries left, not 64" || return 1
	[ -f "$real" ] && [ -f "$C/new63.bpf" ] || why "a recently used entry went" || return 1
	[ ! -e "$C/old1.bpf" ] && [ ! -e "$C/new64.bpf" ] && [ ! -e "$C/new70.bpf" ] ||
		why "an old or surplus entry stayed" || return 1
	[ -f "$C/README" ] && [ -f "$C/.live.bpf.tmp.$$" ] || why "gc removed what is not a cache entry" ||
		return 1
	[ ! -e "$C/.dead.bpf.tmp.999999999" ] || why "a dead writer's tmp file stayed" || return 1
	rm -f "$C/README" "$C/.live.bpf.tmp.$$" "$C"/new*.bpf
	expect_exit 0 "$P" gc --mark-only || return 1
}
run_case "gc prunes cache/seccomp: unused for a week, beyond 64; other files and live writes stay" check_seccomp_cache

# gc pruning the very entry starting pods read (made to look old each
# time): every run still starts, from the cache or compiling again.
check_seccomp_race() {
	local C=$PODCTL_DIR/cache/seccomp i bad=0 loop
	: >"$T_SCRATCH/racing"
	(
		while [ -e "$T_SCRATCH/racing" ]; do
			touch -a -m -d '10 days ago' "$C"/*.bpf 2>/dev/null
			"$P" gc -q --debug 2>&1 >/dev/null | grep 'seccomp cache entries removed'
		done >"$T_SCRATCH/pruned"
	) &
	loop=$!
	for i in $(seq 1 20); do
		"$P" run "$ROOT" -- true 2>"$T_SCRATCH/race.err" || { bad=$((bad + 1)); cat "$T_SCRATCH/race.err" >&2; }
	done
	rm -f "$T_SCRATCH/racing"
	wait "$loop"
	[ "$bad" -eq 0 ] || why "$bad of 20 runs failed while gc pruned the cache" || return 1
	# (and it did prune meanwhile: else this checked nothing)
	[ -s "$T_SCRATCH/pruned" ] || why "gc never pruned during the runs" || return 1
	expect_exit 0 "$P" gc --grace-period=0 || return 1
}
run_case "gc pruning cache/seccomp while pods start: every pod starts" check_seccomp_race

check_final() {
	store_consistent || return 1
	[ "$(pod_count)" -eq 0 ] || why "pods left: $(find "$PODS" -mindepth 2 -maxdepth 2)" ||
		return 1
	[ -z "$(ls -A "$PODCTL_DIR/tmp")" ] || why "tmp/ not empty: $(ls -A "$PODCTL_DIR/tmp")"
}
run_case "the store ends empty and consistent" check_final

t_end
