#!/bin/bash
# The kernel surface of a default pod (issue 9): no_new_privs, seccomp in
# filter mode, empty inheritable/ambient capabilities, and the syscalls the
# default profile denies. Every probe is first run where it must succeed
# (unconfined, or with the capability it needs), so a probe that could not
# notice success cannot pass by accident.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
command -v cc >/dev/null || t_skip "no C compiler for the probe helper"
cc -static -O1 -o "$ROOT/bin/sysprobe" "$(dirname "$0")/helpers/sysprobe.c" 2>"$T_SCRATCH/cc.err" ||
	t_skip "cannot build a static probe: $(head -1 "$T_SCRATCH/cc.err")"

# probe [podctl run options...] -- PROBE: the probe's output line.
probe() {
	local opts=()
	while [ "$1" != "--" ]; do opts+=("$1"); shift; done
	shift
	"$PODCTL" run "${opts[@]}" "$ROOT" -- /bin/sysprobe "$@" 2>&1
}

status_field() { # OPTS... -- FIELD
	local opts=()
	while [ "$1" != "--" ]; do opts+=("$1"); shift; done
	shift
	"$PODCTL" run "${opts[@]}" "$ROOT" -- /bin/sh -c "grep '^$1:' /proc/self/status" 2>&1 | awk '{print $2}'
}

t_begin "a default pod runs with NoNewPrivs 1 (0 with no-new-privileges=false)"
a=$(status_field -- NoNewPrivs); b=$(status_field --security-opt no-new-privileges=false -- NoNewPrivs)
if [ "$a" = 1 ] && [ "$b" = 0 ]; then t_ok; else t_fail "default $a, relaxed $b"; fi

t_begin "a default pod runs with Seccomp 2 (0 when unconfined)"
a=$(status_field -- Seccomp); b=$(status_field --security-opt seccomp=unconfined -- Seccomp)
if [ "$a" = 2 ] && [ "$b" = 0 ]; then t_ok; else t_fail "default $a, unconfined $b"; fi

t_begin "CapInh and CapAmb are empty, CapBnd is Docker's default set less CAP_MKNOD"
inh=$(status_field -- CapInh); amb=$(status_field -- CapAmb); bnd=$(status_field -- CapBnd)
bnd_add=$(status_field --cap-add NET_ADMIN -- CapBnd)
if [ "$inh" = 0000000000000000 ] && [ "$amb" = 0000000000000000 ] && [ "$bnd" = 00000000a00425fb ] &&
	[ "$bnd_add" = 00000000a00435fb ]; then t_ok; else t_fail "inh $inh amb $amb bnd $bnd (+NET_ADMIN: $bnd_add)"; fi

t_begin "the probe sees a plain clone succeed in a default pod"
out=$(probe -- clone-plain)
if [ "$out" = ok ]; then t_ok; else t_fail "got $out"; fi

# Probes that only seccomp stops (root in the pod may make them otherwise).
for p in clone-newuser unshare-newuser io_uring_setup personality-addr-no-randomize \
	process_vm_readv kcmp keyctl add_key; do
	t_begin "$p: succeeds unconfined, EPERM in a default pod"
	on=$(probe --security-opt seccomp=unconfined -- "$p")
	off=$(probe -- "$p")
	if [ "$on" = ok ] && [ "$off" = EPERM ]; then t_ok; else t_fail "unconfined: $on, default: $off"; fi
done

# The same call through the other x86 ABIs: the i386 entry (int $0x80) and
# x32 numbers, which the filter's arch checks and ranges must deny too.
if [ "$(uname -m)" = x86_64 ]; then
	t_begin "kcmp through the i386 entry: succeeds unconfined, EPERM in a default pod"
	on=$(probe --security-opt seccomp=unconfined -- i386-kcmp)
	off=$(probe -- i386-kcmp)
	if [ "$off" = EPERM ] && { [ "$on" = ok ] || [ "$on" = ENOSYS ]; }; then t_ok; else t_fail "unconfined: $on, default: $off"; fi
	t_begin "kcmp as an x32 call: EPERM in a default pod (unconfined: ok, or ENOSYS without x32)"
	on=$(probe --security-opt seccomp=unconfined -- x32-kcmp)
	off=$(probe -- x32-kcmp)
	if [ "$off" = EPERM ] && [ "$on" != EPERM ]; then t_ok; else t_fail "unconfined: $on, default: $off"; fi
fi

t_begin "the cached program is libseccomp's cut into ranges (fewer instructions, same verdicts above)"
out=$(PODCTL_DIR=$T_SCRATCH/fresh-store "$PODCTL" --debug run "$ROOT" -- true 2>&1)
if [[ $out =~ seccomp:\ ([0-9]+)\ instructions\ from\ libseccomp,\ ([0-9]+)\ as\ ranges ]] &&
	[ "${BASH_REMATCH[2]}" -lt "${BASH_REMATCH[1]}" ]; then
	t_ok
else
	t_fail "no 'as ranges' line: $(grep -i seccomp <<<"$out")"
fi

t_begin "clone3 is ENOSYS in a default pod (libc falls back to clone), works unconfined"
on=$(probe --security-opt seccomp=unconfined -- clone3-newuser); off=$(probe -- clone3-newuser)
if [ "$on" = ok ] && [ "$off" = ENOSYS ]; then t_ok; else t_fail "unconfined: $on, default: $off"; fi

t_begin "unshare -U fails in a default pod, works unconfined"
on=$("$PODCTL" run --security-opt seccomp=unconfined "$ROOT" -- unshare -U true 2>&1; echo "rc=$?")
off=$("$PODCTL" run "$ROOT" -- unshare -U true 2>&1; echo "rc=$?")
case "$on/$off" in
*rc=0/*"not permitted"*rc=1) t_ok ;;
*) t_fail "unconfined: $on / default: $off" ;;
esac

t_begin "personality(PER_LINUX32) stays allowed"
out=$(probe -- personality-linux32)
if [ "$out" = ok ]; then t_ok; else t_fail "got $out"; fi

# Probes the kernel also gates by capability: the control run needs them.
for p in clone-newns bpf perf_event_open userfaultfd mount-tmpfs; do
	t_begin "$p: succeeds unconfined with every capability, EPERM in a default pod"
	on=$(probe --security-opt seccomp=unconfined --cap-add ALL -- "$p")
	off=$(probe -- "$p")
	if [ "$on" = ok ] && [ "$off" = EPERM ]; then t_ok; else t_fail "unconfined+ALL: $on, default: $off"; fi
done

t_begin "a Docker-format profile file is applied (mkdir EACCES) and reported by status"
cat >"$T_SCRATCH/profile.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
JSON
out=$("$PODCTL" run --security-opt seccomp="$T_SCRATCH/profile.json" "$ROOT" -- mkdir /tmp/x 2>&1)
U=$("$PODCTL" run --detach --security-opt seccomp="$T_SCRATCH/profile.json" --cap-drop ALL --cap-add KILL \
	--read-only "$ROOT" -- sleep 60)
st=$("$PODCTL" status --format=json "$U")
"$PODCTL" stop --force "$U" >/dev/null 2>&1
if [[ "$out" == *"Permission denied"* ]] &&
	[[ "$st" == *"\"profile\": \"$T_SCRATCH/profile.json\""* ]] && [[ "$st" == *'"digest": "sha256:'* ]] &&
	[[ "$st" == *'"readOnlyRootfs": true'* ]] && [[ "$st" == *'"noNewPrivileges": true'* ]] &&
	[ "$(printf '%s' "$st" | grep -c CAP_)" -eq 1 ]; then t_ok; else t_fail "run: $out status: $st"; fi

t_begin "with no_new_privs the filter is loaded last: a profile need not allow podctl's own setup"
cat >"$T_SCRATCH/late.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["capset", "setgroups", "setresuid", "setresgid"], "action": "SCMP_ACT_KILL_PROCESS"}]}
JSON
late=$("$PODCTL" run --security-opt seccomp="$T_SCRATCH/late.json" "$ROOT" -- echo ran 2>&1; echo "rc=$?")
early=$("$PODCTL" run --security-opt seccomp="$T_SCRATCH/late.json" --security-opt no-new-privileges=false "$ROOT" -- echo ran 2>&1; echo "rc=$?")
case "$late/$early" in
"ran"*"rc=0/"*"rc=0") t_fail "late: $late / early: $early (the early load should have killed the setup)" ;;
"ran"*"rc=0/"*) t_ok ;;
*) t_fail "late: $late / early: $early" ;;
esac

t_begin "a bad profile is refused with the JSON path, nothing is prepared"
echo '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}' >"$T_SCRATCH/bad.json"
before=$(store_snapshot)
if expect_exit 1 "$PODCTL" prepare --security-opt seccomp="$T_SCRATCH/bad.json" "$ROOT" && one_line &&
	[[ "$ERR" == *"bad.json: syscalls[0].args[0].index: "* ]] && [ "$(store_snapshot)" = "$before" ]; then
	t_ok
else t_fail "err: $ERR"; fi

t_begin "readOnlyRootfs: writing the rootfs fails, /tmp volume and /dev/shm still work"
out=$("$PODCTL" run --read-only "$ROOT" -- sh -c 'touch /f 2>/dev/null && echo wrote; touch /dev/shm/x && echo shm' 2>&1)
if [ "$out" = shm ]; then t_ok; else t_fail "got $out"; fi

t_begin "the compiled filter is cached in the store, a damaged cache file is rebuilt"
rm -f "$PODCTL_DIR"/cache/seccomp/*.bpf
"$PODCTL" run "$ROOT" -- true
files=("$PODCTL_DIR"/cache/seccomp/*.bpf)
if [ "${#files[@]}" -eq 1 ] && [ -f "${files[0]}" ]; then
	f=${files[0]}
	good=$(sha256sum <"$f")
	results=""
	# garbage, a truncated program, a wrong first instruction
	for damage in "printf garbage" "head -c 20 $f.orig" "printf PSBPF001xxxxxxxxxxxxxxxx"; do
		cp "$f" "$f.orig"
		$damage >"$f"
		rm -f "$f.orig"
		results+="$(status_field -- Seccomp)/$(probe -- kcmp)/$([ "$(sha256sum <"$f")" = "$good" ] && echo rebuilt) "
	done
	if [ "$results" = "2/EPERM/rebuilt 2/EPERM/rebuilt 2/EPERM/rebuilt " ]; then t_ok; else t_fail "got $results"; fi
else
	t_fail "expected one cache file in $PODCTL_DIR/cache/seccomp, got ${files[*]}"
fi

t_begin "a cache dir not owned by root is not read (a planted allow-all program is used only from a trusted one)"
files=("$PODCTL_DIR"/cache/seccomp/*.bpf)
f=${files[0]}
# magic, then: load the arch; return ALLOW
printf 'PSBPF001\x20\x00\x00\x00\x04\x00\x00\x00\x06\x00\x00\x00\x00\x00\xff\x7f' >"$f"
control=$(probe -- kcmp)
printf 'PSBPF001\x20\x00\x00\x00\x04\x00\x00\x00\x06\x00\x00\x00\x00\x00\xff\x7f' >"$f"
chown -R 65534 "$PODCTL_DIR/cache"
planted=$(probe -- kcmp 2>&1 | tail -1)
chown -R 0 "$PODCTL_DIR/cache"
rm -f "$f"
if [ "$control" = ok ] && [ "$planted" = EPERM ]; then t_ok; else t_fail "trusted cache: $control, cache owned by nobody: $planted"; fi

t_begin "enter runs the command under the app's filter and no_new_privs"
U=$("$PODCTL" run --detach --wait-ready=30s "$ROOT" -- sleep 60)
out=$("$PODCTL" enter "$U" /bin/sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status | tr -d "\t\n"; /bin/sysprobe kcmp' 2>&1)
"$PODCTL" stop --force "$U" >/dev/null 2>&1
if [ "$out" = "NoNewPrivs:1Seccomp:2EPERM" ]; then t_ok; else t_fail "got $out"; fi

t_end
