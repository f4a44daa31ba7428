#!/bin/bash
# shellcheck disable=SC2317 # checks are called through run_case
# --format=json of gc, wait, version and the image verbs: one JSON document
# on stdout with the documented fields (Documentation/podctl.md).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"

ROOT=$(t_rootfs)
P=$PODCTL

check_version() {
	local cni="$T_SCRATCH/cni"
	mkdir -p "$cni/a" "$cni/b"
	printf '#!/bin/sh\n' >"$cni/a/bridge" && printf '#!/bin/sh\n' >"$cni/b/loopback"
	printf 'not a plugin\n' >"$cni/a/README"
	chmod +x "$cni/a/bridge" "$cni/b/loopback"
	PODCTL_CNI_PATH="$cni/a:$cni/b:$cni/none" expect_exit 0 "$P" version --format=json || return 1
	json_assert "d['version'] and re.match(r'^([0-9a-f]{7,40}|unknown)$', d['commit'])" || return 1
	json_assert "d['paths']['stage1'] == '$PODCTL_STAGE1' and d['paths']['libexecdir']" || return 1
	json_assert "d['host']['cgroup'] in ('v1', 'hybrid', 'v2', 'none')" || return 1
	json_assert "all(type(d['host'][k]) is bool for k in ('overlayfs', 'seccomp', 'userNamespaces', 'idmappedMounts'))" || return 1
	json_assert "d['host']['cniPlugins'] == ['bridge', 'loopback'] and d['host']['cniPath'].endswith('/none')" || return 1
	json_assert "d['host']['skopeo'] is None or d['host']['skopeo'].endswith('/skopeo')" || return 1
	# What the kernel says, where it can be read from here.
	local fs=false
	grep -qw overlay /proc/filesystems && fs=true
	json_assert "d['host']['overlayfs'] == ('$fs' == 'true')" || return 1
	# The text form says the same, and a bad format is a usage error.
	expect_exit 0 "$P" version || return 1
	grep -q '^  cgroup ' <<<"$OUT" || why "text: $OUT" || return 1
	expect_exit 2 "$P" version --format=yaml
}

check_gc() {
	local u
	u=$("$P" prepare "$ROOT" -- /bin/true) || why "prepare failed" || return 1
	expect_exit 0 "$P" gc --format=json --expire-prepared=0 || return 1
	json_assert "d == {'marked': [{'uuid': '$u', 'from': 'prepared'}], 'removed': [{'uuid': '$u'}], 'skipped': [], 'failed': [], 'tmpRemoved': 0}" || return 1
	expect_exit 0 "$P" gc --format=json || return 1
	json_assert "d['marked'] == [] and d['removed'] == []" || return 1
	# Text gc with nothing to do prints nothing.
	expect_exit 0 "$P" gc || return 1
	[ -z "$OUT" ] || why "text gc printed '$OUT'"
}

check_wait() {
	local a b
	a=$("$P" run --detach "$ROOT" -- /bin/sh -c 'exit 3') && b=$("$P" run --detach "$ROOT" -- sleep 1000) ||
		why "run --detach failed" || return 1
	t_bg "$(cat "$PODS/run/$b/pid" 2>/dev/null || echo 0)"
	expect_exit 0 "$P" wait --for=exited --any --timeout=30s --format=json "$a" "${b:0:8}" || return 1
	json_assert "d == {'for': 'exited', 'any': True, 'pods': [{'uuid': '$a', 'exitCode': 3}, {'uuid': '$b'}], 'first': '$a'}" || return 1
	expect_exit 0 "$P" wait --timeout=30s --format=json "$a" || return 1
	json_assert "d == {'for': 'exited', 'any': False, 'pods': [{'uuid': '$a', 'exitCode': 3}], 'first': None}" || return 1
	# A timeout prints nothing on stdout.
	expect_exit 4 "$P" wait --for=exited --timeout=100ms --format=json "$b" || return 1
	[ -z "$OUT" ] || why "timeout printed '$OUT'" || return 1
	"$P" stop --force "$b" >/dev/null
}

check_image() {
	expect_exit 0 "$P" image import --name=jsonimg:1 --format=json "$ROOT" || return 1
	json_assert "d['digest'].startswith('sha256:') and d['names'] == ['jsonimg:1'] and len(d['layers']) == 1 and d['size'] > 0" || return 1
	local digest
	digest=$(printf '%s' "$OUT" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["digest"])')
	expect_exit 0 "$P" image list --format=json || return 1
	json_assert "[i['digest'] for i in d] == ['$digest']" || return 1
	expect_exit 3 "$P" image rm --format=json jsonimg:1 nosuch:2 || return 1
	json_assert "d['removed'] == ['jsonimg:1'] and d['failed'][0]['ref'] == 'nosuch:2' and 'nosuch' in d['failed'][0]['error']" || return 1
	expect_exit 0 "$P" image list --format=json || return 1
	json_assert "d == []"
}

run_case "version --format=json: version, commit, paths, and the host as probed (CNI path from PODCTL_CNI_PATH)" check_version
run_case "gc --format=json: what it did, per pod" check_gc
run_case "wait --format=json: the condition, the pods, the first with --any; nothing on timeout" check_wait
run_case "image import/list/rm --format=json" check_image
t_end
