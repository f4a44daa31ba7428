#!/bin/bash
# shellcheck disable=SC2317 # checks are called through run_case
# The pod store through the CLI: prepare, list, status, cat-manifest, rm;
# uuid prefixes; bad manifests; usage errors and exit codes; --dir.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"

ROOT=$(t_rootfs)
P=$PODCTL

# --- prepare → list → status → cat-manifest ---------------------------------

check_prepare_rootfs() {
	expect_exit 0 "$P" prepare "$ROOT" -- /bin/true || return 1
	[[ $OUT =~ $UUID_RE ]] || why "stdout is not one uuid: '$OUT'" || return 1
	U1=$OUT
	[ "$(pod_dirs "$U1")" = prepared ] || why "pod in '$(pod_dirs "$U1")', not prepared"
}
run_case "prepare ROOTFS -- /bin/true prints a uuid and leaves a prepared pod" check_prepare_rootfs
U1=${U1:-00000000-0000-4000-8000-000000000000}

check_list_text() {
	local line
	expect_exit 0 "$P" list || return 1
	[ "$(printf '%s\n' "$OUT" | head -1 | awk '{print $1, $2, $3}')" = "UUID NAME STATE" ] ||
		why "no legend: $OUT" || return 1
	line=$(printf '%s\n' "$OUT" | grep "^${U1:0:8} ") || why "pod not listed: $OUT" || return 1
	[ "$(awk '{print $3}' <<<"$line")" = prepared ] || why "not prepared: $line" || return 1
	expect_exit 0 "$P" list --no-legend || return 1
	[ "$(printf '%s\n' "$OUT" | grep -c .)" -eq 1 ] || why "--no-legend: $OUT" || return 1
	expect_exit 0 "$P" list --full --no-legend || return 1
	grep -q "^$U1 " <<<"$OUT" || why "--full has no full uuid: $OUT"
}
run_case "list shows the pod prepared (text)" check_list_text

check_list_json() {
	expect_exit 0 "$P" list --format=json || return 1
	json_assert "isinstance(d, list) and len(d) == 1" || return 1
	json_assert "d[0]['uuid'] == '$U1' and d[0]['state'] == 'prepared'" || return 1
	json_assert "re.match(r'$TIME_RE', d[0]['created'])" || return 1
	json_assert "d[0]['name'] == 'pod-${U1:0:8}'"
}
run_case "list --format=json shows the pod prepared" check_list_json

check_status() {
	expect_exit 0 "$P" status "$U1" || return 1
	grep -Eq "^uuid +$U1\$" <<<"$OUT" || why "no uuid line: $OUT" || return 1
	grep -Eq '^state +prepared$' <<<"$OUT" || why "no state line: $OUT" || return 1
	grep -Eq "^created +[0-9-]+T[0-9:]+\.[0-9]{9}Z\$" <<<"$OUT" || why "no created: $OUT" || return 1
	expect_exit 0 "$P" status --format=json "$U1" || return 1
	json_assert "d['uuid'] == '$U1' and d['state'] == 'prepared'" || return 1
	json_assert "d['name'] == 'pod-${U1:0:8}' and re.match(r'$TIME_RE', d['created'])" || return 1
	json_assert "d['ready'] is False and 'pid' not in d and 'exited' not in d" || return 1
	json_assert "[a['name'] for a in d['apps']] == ['rootfs']"
}
run_case "status (text and json): uuid, name, state, created in RFC 3339 ns" check_status

check_cat_manifest() {
	expect_exit 0 "$P" cat-manifest "$U1" || return 1
	json_assert "d['name'] == 'pod-${U1:0:8}' and len(d['apps']) == 1" || return 1
	json_assert "d['apps'][0]['exec'] == ['/bin/true'] and d['apps'][0]['image'] == '$ROOT'"
}
run_case "cat-manifest prints the resolved manifest" check_cat_manifest

MANIFEST="$T_SCRATCH/web.json"
cat >"$MANIFEST" <<EOF
{"version": 1, "name": "web",
 "apps": [{"name": "srv", "image": "$ROOT", "exec": ["/bin/sh", "-c", "exit 0"]}]}
EOF
UUIDFILE="$T_SCRATCH/uuid-of-web"
check_prepare_manifest() {
	expect_exit 0 "$P" prepare --manifest "$MANIFEST" --uuid-file-save "$UUIDFILE" || return 1
	[[ $OUT =~ $UUID_RE ]] || why "stdout is not one uuid: '$OUT'" || return 1
	U2=$OUT
	[ "$(cat "$UUIDFILE")" = "$U2" ] || why "uuid file has '$(cat "$UUIDFILE")'" || return 1
	[ "$(tail -c1 "$UUIDFILE" | od -An -c | tr -d ' ')" = '\n' ] || why "uuid file: no newline" ||
		return 1
	local f
	for f in "$T_SCRATCH"/.*.tmp*; do
		[ ! -e "$f" ] || { why "tmp file left beside the uuid file: $f"; return 1; }
	done
	expect_exit 0 "$P" status --format=json "${U2:0:8}" || return 1
	json_assert "d['uuid'] == '$U2' and d['name'] == 'web' and d['state'] == 'prepared'" ||
		return 1
	expect_exit 0 "$P" cat-manifest "$U2" || return 1
	json_assert "d['name'] == 'web' and d['apps'][0]['name'] == 'srv'" || return 1
	json_assert "d['apps'][0]['exec'] == ['/bin/sh', '-c', 'exit 0']"
}
run_case "prepare --manifest FILE --uuid-file-save; unique prefix finds it" check_prepare_manifest
U2=${U2:-00000000-0000-4000-8000-000000000000}

check_list_two() {
	expect_exit 0 "$P" list --format=json || return 1
	json_assert "sorted(p['uuid'] for p in d) == sorted(['$U1', '$U2'])" || return 1
	json_assert "all(p['state'] == 'prepared' for p in d)"
}
run_case "list shows both pods" check_list_two

# --- lookups: prefixes, unknown and malformed uuids ---------------------------

A1=aaaaaaaa-1111-4111-8111-111111111111
A2=aaaaaaaa-2222-4222-8222-222222222222
check_ambiguous() {
	local before v
	expect_exit 0 "$P" prepare "$ROOT" -- /bin/true || return 1
	mv "$PODS/prepared/$OUT" "$PODS/prepared/$A1" || return 1
	expect_exit 0 "$P" prepare "$ROOT" -- /bin/true || return 1
	mv "$PODS/prepared/$OUT" "$PODS/run/$A2" || return 1
	before=$(store_snapshot)
	for v in status cat-manifest rm; do
		expect_exit 3 "$P" "$v" aaaa || return 1
		one_line || why "$v: not one line: $ERR" || return 1
		grep -q "$A1" <<<"$ERR" && grep -q "$A2" <<<"$ERR" ||
			why "$v: does not name both candidates: $ERR" || return 1
	done
	[ "$before" = "$(store_snapshot)" ] || why "store changed" || return 1
	expect_exit 0 "$P" status --format=json aaaaaaaa-1 || return 1
	json_assert "d['uuid'] == '$A1' and d['state'] == 'prepared'" || return 1
	expect_exit 0 "$P" status --format=json "$A2" || return 1
	json_assert "d['uuid'] == '$A2' and d['state'] == 'exited'"
}
run_case "ambiguous prefix: exit 3, one line naming both; longer prefix works" check_ambiguous

check_unknown() {
	local v
	for v in status cat-manifest rm; do
		expect_exit 3 "$P" "$v" 00000000-0000-4000-8000-000000000000 || return 1
		one_line || why "$v: not one line: $ERR" || return 1
		expect_exit 3 "$P" "$v" 0000 || return 1
		one_line || why "$v: not one line: $ERR" || return 1
	done
}
run_case "unknown uuid or prefix: exit 3, one line" check_unknown

check_malformed() {
	local v a
	for v in status cat-manifest rm; do
		for a in not-a-uuid AAAAAAAA ../prepared "$U1-00" "${U1:0:8}x"; do
			expect_exit 3 "$P" "$v" "$a" || return 1
			one_line || why "$v $a: not one line: $ERR" || return 1
		done
	done
}
run_case "malformed uuid: exit 3, one line" check_malformed

# --- bad manifests change nothing ---------------------------------------------

bad_manifest() { # FILE-CONTENT EXPECTED-PATH-IN-MESSAGE
	local f="$T_SCRATCH/bad.json" before
	printf '%s\n' "$1" >"$f"
	before=$(store_snapshot)
	expect_exit 1 "$P" prepare --manifest "$f" || return 1
	one_line || why "not one line: $ERR" || return 1
	grep -qF -- "$2" <<<"$ERR" || why "message does not name '$2': $ERR" || return 1
	[ "$before" = "$(store_snapshot)" ] || why "store changed: $(diff <(echo "$before") <(store_snapshot))"
}
check_bad_manifests() {
	bad_manifest '{"version": 1, "apps": [{"name": "a",' 'line' || return 1
	bad_manifest "{\"version\": 1, \"apps\": [{\"name\": \"a\", \"image\": \"$ROOT\", \"exec\": [\"/bin/true\"], \"bogus\": 1}]}" 'apps[0]' || return 1
	grep -q bogus <<<"$ERR" || why "unknown field not named: $ERR" || return 1
	bad_manifest "{\"version\": 1, \"apps\": [{\"name\": \"a\", \"image\": \"$ROOT\", \"exec\": \"/bin/true\"}]}" 'apps[0].exec' || return 1
	bad_manifest "{\"version\": 1, \"name\": 7, \"apps\": [{\"name\": \"a\", \"image\": \"$ROOT\", \"exec\": [\"/bin/true\"]}]}" 'name' || return 1
	bad_manifest '[1, 2]' '' || return 1
	local before
	before=$(store_snapshot)
	expect_exit 1 "$P" prepare --manifest "$T_SCRATCH/does-not-exist.json" || return 1
	one_line || why "missing file: not one line: $ERR" || return 1
	[ "$before" = "$(store_snapshot)" ] || why "store changed (missing manifest)"
}
run_case "bad manifests (syntax, unknown field, wrong type): exit 1, one line with the JSON path, store unchanged" check_bad_manifests

# --- usage errors and --help ---------------------------------------------------

check_usage() {
	local before
	before=$(store_snapshot)
	local -a cases=(
		"prepare --bogus $ROOT"
		"prepare --manifest"
		"prepare"
		"list --bogus"
		"list --format"
		"list --format=yaml"
		"list extra"
		"status --bogus $U1"
		"status"
		"status $U1 $U2"
		"status --wait=10x $U1"
		"status --format=xml $U1"
		"rm --bogus $U1"
		"rm"
		"gc --bogus"
		"gc --grace-period=10x"
		"gc --grace-period"
		"gc --expire-prepared=-1h"
		"gc extra"
		"cat-manifest --bogus $U1"
		"cat-manifest"
		"frobnicate"
	)
	local c
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086 # word splitting is the point
		expect_exit 2 "$P" $c || return 1
		[ -n "$ERR" ] || why "$c: nothing on stderr" || return 1
	done
	expect_exit 2 "$P" || return 1
	[ "$before" = "$(store_snapshot)" ] || why "store changed"
}
run_case "usage errors (unknown option, missing arg, bad duration): exit 2" check_usage

check_help() {
	local v
	for v in prepare list status rm gc cat-manifest; do
		expect_exit 0 "$P" "$v" --help || return 1
		[ -n "$OUT" ] || why "$v --help: empty stdout" || return 1
		[ -z "$ERR" ] || why "$v --help: stderr: $ERR" || return 1
		grep -q "podctl $v" <<<"$OUT" || why "$v --help: no usage line" || return 1
		expect_exit 0 "$P" "$v" -h || return 1
		[ -n "$OUT" ] || why "$v -h: empty stdout" || return 1
	done
	expect_exit 0 "$P" --help || return 1
	[ -n "$OUT" ] || why "podctl --help: empty stdout"
}
run_case "--help on every verb: exit 0, usage on stdout" check_help

# --- --dir and PODCTL_DIR ------------------------------------------------------

check_dir() {
	local other="$T_SCRATCH/other" third="$T_SCRATCH/third" u
	expect_exit 0 "$P" --dir="$other" prepare "$ROOT" -- /bin/true || return 1
	u=$OUT
	[ -d "$other/pods/prepared/$u" ] || why "not under --dir" || return 1
	[ -z "$(pod_dirs "$u")" ] || why "also in \$PODCTL_DIR" || return 1
	expect_exit 0 "$P" list --format=json --dir "$other" || return 1
	json_assert "[p['uuid'] for p in d] == ['$u']" || return 1
	expect_exit 0 env PODCTL_DIR="$other" "$P" list --format=json || return 1
	json_assert "[p['uuid'] for p in d] == ['$u']" || return 1
	expect_exit 0 env PODCTL_DIR="$other" "$P" status "$u" || return 1
	expect_exit 3 "$P" status "$u" || return 1
	# --dir wins over PODCTL_DIR.
	expect_exit 0 env PODCTL_DIR="$third" "$P" --dir="$other" status "$u" || return 1
	expect_exit 0 "$P" rm --dir="$other" "$u" || return 1
	[ ! -e "$other/pods/prepared/$u" ] || why "rm --dir left it"
}
run_case "--dir (before and after the verb) and PODCTL_DIR both work" check_dir

# --- rm ---------------------------------------------------------------------------

check_rm() {
	expect_exit 0 "$P" rm "$U1" || return 1
	[ -z "$OUT" ] || why "rm printed '$OUT'" || return 1
	[ -z "$(pod_dirs "$U1")" ] || why "still in $(pod_dirs "$U1")" || return 1
	expect_exit 0 "$P" list --format=json || return 1
	json_assert "'$U1' not in [p['uuid'] for p in d] and '$U2' in [p['uuid'] for p in d]" ||
		return 1
	expect_exit 3 "$P" status "$U1" || return 1
	expect_exit 3 "$P" rm "$U1" || return 1
	one_line || why "second rm: not one line: $ERR"
}
run_case "rm: gone from list and from disk; a second rm is exit 3" check_rm

check_rm_many() {
	# An exited pod, a prepared one by prefix, and one unknown: the known
	# ones go, the unknown one makes it exit 3.
	expect_exit 3 "$P" rm "$A2" "${U2:0:8}" 00000000-0000-4000-8000-000000000000 || return 1
	one_line || why "not one line: $ERR" || return 1
	[ -z "$(pod_dirs "$A2")$(pod_dirs "$U2")" ] || why "not removed" || return 1
	expect_exit 0 "$P" rm "$A1" || return 1
	[ "$(pod_count)" -eq 0 ] || why "pods left: $(find "$PODS" -mindepth 2 -maxdepth 2)" ||
		return 1
	store_consistent || return 1
	[ -z "$(ls -A "$PODCTL_DIR/tmp")" ] || why "tmp/ not empty"
}
run_case "rm of several pods: each on its own; exit 3 for the unknown one" check_rm_many

t_end
