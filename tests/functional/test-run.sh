#!/bin/bash
# podctl run: exit codes, isolation (pid/uts/mount ns, fds), init apps.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

# Words of $1 joined by single spaces (compare multi-line output on one line).
squash() {
	local w
	read -r -d '' -a w <<<"$1"
	printf '%s' "${w[*]}"
}

ROOT=$(t_rootfs)

t_begin "run /bin/true exits 0"
if expect_exit 0 "$PODCTL" run --net=none "$ROOT" /bin/true; then t_ok; else t_fail "see above"; fi

t_begin "exit code 3 passes through"
if expect_exit 3 "$PODCTL" run "$ROOT" -- sh -c 'exit 3'; then t_ok; else t_fail "see above"; fi

t_begin "an app killed by SIGKILL gives 128+9"
if expect_exit 137 "$PODCTL" run "$ROOT" -- sh -c 'kill -9 $$'; then t_ok; else t_fail "see above"; fi

t_begin "a missing program gives 127 and a FAILED app"
if expect_exit 127 "$PODCTL" run --uuid-file-save="$T_SCRATCH/uuid-missing" "$ROOT" /no/such/program &&
	"$PODCTL" status "$(cat "$T_SCRATCH/uuid-missing")" | grep -q FAILED; then
	t_ok
else
	t_fail "status: $("$PODCTL" status "$(cat "$T_SCRATCH/uuid-missing")" 2>&1)"
fi

t_begin "the app is in its own pid namespace"
host_ns=$(readlink /proc/self/ns/pid)
if expect_exit 0 "$PODCTL" run "$ROOT" -- sh -c 'echo $$; readlink /proc/self/ns/pid' &&
	[ "$(echo "$OUT" | sed -n 1p)" -le 10 ] && [ "$(echo "$OUT" | sed -n 2p)" != "$host_ns" ]; then
	t_ok
else
	t_fail "got: $OUT"
fi

t_begin "hostname is the pod name"
if expect_exit 0 "$PODCTL" run --name=web-1 "$ROOT" -- sh -c 'hostname; cat /etc/hostname' &&
	[ "$OUT" = "web-1
web-1" ]; then t_ok; else t_fail "got: $OUT"; fi

t_begin "no host mounts inside: only the pod's"
if expect_exit 0 "$PODCTL" run "$ROOT" -- cat /proc/self/mountinfo; then
	# /proc/* and /sys/* are masks (which exist depends on the kernel).
	mps=$(echo "$OUT" | awk '{print $5}' | grep -v '^/proc/\|^/sys/' | sort | tr '\n' ' ')
	if [ "$mps" = "/ /.podctl/notify /dev /dev/full /dev/mqueue /dev/null /dev/pts /dev/random /dev/shm /dev/tty /dev/urandom /dev/zero /proc /run/podctl/notify /sys " ] && ! echo "$OUT" | grep -v " /run/podctl/notify " | grep -q "$T_SCRATCH/store"; then
		t_ok
	else
		t_fail "mount points: $mps"
	fi
else
	t_fail "see above"
fi

t_begin "only stdio fds reach the app"
if expect_exit 0 "$PODCTL" run "$ROOT" -- ls /proc/self/fd && [ "$(squash "$OUT")" = "0 1 2 3" ]; then
	t_ok
else
	t_fail "fds: $(squash "$OUT")"
fi

t_begin "net none: only loopback, and it is up"
if expect_exit 0 "$PODCTL" run --net=none "$ROOT" -- sh -c 'ls /sys/class/net; ping -c1 -W1 127.0.0.1 >/dev/null && echo pong' &&
	[ "$(squash "$OUT")" = "lo pong" ]; then t_ok; else t_fail "got: $(squash "$OUT")"; fi

t_begin "a denied syscall fails with EPERM (seccomp), the app goes on"
if expect_exit 0 "$PODCTL" run "$ROOT" -- sh -c 'mkdir -p /mnt; mount -t tmpfs none /mnt 2>&1; echo after' &&
	echo "$OUT" | grep -qiE "not permitted|permission denied" && echo "$OUT" | grep -q after; then
	t_ok
else
	t_fail "got: $OUT"
fi

t_begin "/proc: kernel internals masked, /proc/sys read-only"
# Only what this kernel has can be checked: /proc/keys and /proc/timer_list
# are here on every kernel we run on, and non-empty on the host.
masked=""
for f in keys timer_list; do [ -s "/proc/$f" ] || [ -e "/proc/$f" ] && masked="$masked /proc/$f"; done
if expect_exit 0 "$PODCTL" run "$ROOT" -- sh -c '
	for f in '"$masked"'; do echo "$f $(wc -c < $f)"; done
	cat /proc/sys/kernel/hostname
	echo x 2>/dev/null > /proc/sys/kernel/hostname && echo wrote-proc-sys
	grep -c " /proc/sys ro," /proc/self/mountinfo' &&
	! grep -q wrote-proc-sys <<<"$OUT" && ! grep -qE "/proc/[a-z_]+ [1-9]" <<<"$OUT" &&
	[ "$(tail -1 <<<"$OUT")" = 1 ] && [ -n "$masked" ]; then
	t_ok
else
	t_fail "got: $(squash "$OUT") (masked:$masked)"
fi

t_begin "stdin is /dev/null without --interactive, passed with it"
if out1=$(echo hi | "$PODCTL" run "$ROOT" -- cat) && out2=$(echo hi | "$PODCTL" run --interactive "$ROOT" -- cat) &&
	[ -z "$out1" ] && [ "$out2" = hi ]; then t_ok; else t_fail "got '$out1' and '$out2'"; fi

t_begin "init apps run in order before the app"
cat >"$T_SCRATCH/m1.json" <<JSON
{"version":1,"name":"inits",
 "volumes":[{"name":"shared","kind":"empty"}],
 "initApps":[{"name":"one","image":"$ROOT","exec":["sh","-c","echo one >> /v/trace"],"mounts":[{"volume":"shared","path":"/v"}]},
             {"name":"two","image":"$ROOT","exec":["sh","-c","echo two >> /v/trace"],"mounts":[{"volume":"shared","path":"/v"}]}],
 "apps":[{"name":"main","image":"$ROOT","exec":["sh","-c","echo main >> /v/trace; cat /v/trace"],"mounts":[{"volume":"shared","path":"/v"}]}]}
JSON
if expect_exit 0 "$PODCTL" run --manifest "$T_SCRATCH/m1.json" && [ "$(squash "$OUT")" = "one two main" ]; then
	t_ok
else
	t_fail "got: $(squash "$OUT")"
fi

t_begin "an init app that finished does not fail the pod when its goal timeout passes"
cat >"$T_SCRATCH/m-init-timer.json" <<JSON
{"version":1,"name":"inittimer",
 "initApps":[{"name":"setup","image":"$ROOT","exec":["true"],"goalTimeout":"300ms"}],
 "apps":[{"name":"main","image":"$ROOT","exec":["sleep","1000"]}]}
JSON
if u=$("$PODCTL" run --detach --wait-ready=10s --manifest "$T_SCRATCH/m-init-timer.json"); then
	# The absence of an event is what is tested: outlive the init app's deadline.
	sleep 1
	st=$("$PODCTL" status "$u")
	if echo "$st" | grep -q "running" && ! echo "$st" | grep -q "goal-timeout"; then
		t_ok
	else
		t_fail "status after the init app's goal timeout: $st"
	fi
	"$PODCTL" stop --force "$u" >/dev/null 2>&1
else
	t_fail "run --detach --wait-ready failed"
fi

# MOUNTED is held back while stage1 sets the pod up, for an app that does not
# stay there (stage1/main.c, set_status): one that waits must still show it.
# An init app blocks until the test says go, so main and parked (goal
# MOUNTED) wait, in a foreground run (held back there) and after run
# --detach returns (written before it does).
t_begin "apps that wait show MOUNTED (foreground and detached); a goal MOUNTED app stays so"
cat >"$T_SCRATCH/m-mounted.json" <<JSON
{"version":1,
 "volumes":[{"name":"gate","kind":"empty"}],
 "initApps":[{"name":"gate","image":"$ROOT","exec":["sh","-c","while [ ! -e /g/go ]; do sleep 0.05; done"],"mounts":[{"volume":"gate","path":"/g"}]}],
 "apps":[{"name":"main","image":"$ROOT","exec":["sleep","1000"]},
         {"name":"parked","image":"$ROOT","exec":["true"],"statusGoal":"MOUNTED"}]}
JSON
mounted_status() { sed -n 's/.*"status": *"\([A-Z]*\)".*/\1/p' "$PODCTL_DIR/pods/run/$1/apps/$2/status" 2>/dev/null; }
# no event tells of one app's status: look every 50 ms, for 10 s at most
await_status() {
	local _
	for _ in $(seq 200); do
		[ "$(mounted_status "$1" "$2")" = "$3" ] && return 0
		sleep 0.05
	done
}
mounted_check() {
	local u=$1 how=$2
	await_status "$u" gate STARTED
	[ "$(mounted_status "$u" main)/$(mounted_status "$u" parked)" = MOUNTED/MOUNTED ] ||
		{ echo "$how, gate running: main $(mounted_status "$u" main), parked $(mounted_status "$u" parked)"; return 1; }
	: >"$PODCTL_DIR/pods/run/$u/volumes/gate/go"
	await_status "$u" main STARTED
	[ "$(mounted_status "$u" main)/$(mounted_status "$u" parked)" = STARTED/MOUNTED ] ||
		{ echo "$how, after the gate: main $(mounted_status "$u" main), parked $(mounted_status "$u" parked)"; return 1; }
}
why=""
"$PODCTL" run --uuid-file-save="$T_SCRATCH/u-mounted" --manifest "$T_SCRATCH/m-mounted.json" >/dev/null 2>&1 &
fg=$!
for _ in $(seq 200); do [ -s "$T_SCRATCH/u-mounted" ] && break; sleep 0.05; done
u=$(cat "$T_SCRATCH/u-mounted" 2>/dev/null)
if [ -z "$u" ]; then
	why="no uuid from the foreground run"
else
	why=$(mounted_check "$u" foreground)
	"$PODCTL" stop --force "$u" >/dev/null 2>&1
fi
wait "$fg" 2>/dev/null
if [ -z "$why" ] && u=$("$PODCTL" run --detach --manifest "$T_SCRATCH/m-mounted.json"); then
	# no wait: at once after run --detach, neither has started nor can
	st="$(mounted_status "$u" main)/$(mounted_status "$u" parked)"
	[ "$st" = MOUNTED/MOUNTED ] || why="detached, at return: $st"
	[ -n "$why" ] || why=$(mounted_check "$u" detached)
	"$PODCTL" stop --force "$u" >/dev/null 2>&1
elif [ -z "$why" ]; then
	why="run --detach failed"
fi
if [ -z "$why" ]; then t_ok; else t_fail "$why"; fi

t_begin "a failing init app fails the pod and the app never starts"
cat >"$T_SCRATCH/m2.json" <<JSON
{"version":1,
 "initApps":[{"name":"bad","image":"$ROOT","exec":["sh","-c","exit 5"]}],
 "apps":[{"name":"main","image":"$ROOT","exec":["sh","-c","echo main ran"]}]}
JSON
if expect_exit 5 "$PODCTL" run --uuid-file-save="$T_SCRATCH/uuid-m2" --manifest "$T_SCRATCH/m2.json" &&
	[ -z "$OUT" ]; then
	u=$(cat "$T_SCRATCH/uuid-m2")
	st=$("$PODCTL" status "$u")
	if echo "$st" | grep -q "app-failed" && echo "$st" | grep -E "^ *main" | grep -q STOPPED; then
		t_ok
	else
		t_fail "status: $st"
	fi
else
	t_fail "out: $OUT"
fi

t_begin "host volume, read-only"
mkdir -p "$T_SCRATCH/hostvol"
echo data >"$T_SCRATCH/hostvol/file"
if expect_exit 0 "$PODCTL" run --volume "hv,kind=host,source=$T_SCRATCH/hostvol,readOnly=true,target=/data" "$ROOT" -- \
	sh -c 'cat /data/file; touch /data/x 2>/dev/null && echo writable || echo ro' &&
	[ "$(squash "$OUT")" = "data ro" ]; then t_ok; else t_fail "got: $(squash "$OUT") err: $ERR"; fi

t_begin "-v /host:/pod[:ro], Docker's short form"
if expect_exit 0 "$PODCTL" run -v "$T_SCRATCH/hostvol:/data:ro" -v "$T_SCRATCH/hostvol:/rw" "$ROOT" -- \
	sh -c 'cat /data/file; touch /data/x 2>/dev/null && echo writable || echo ro; touch /rw/y && echo rw' &&
	[ "$(squash "$OUT")" = "data ro rw" ] && [ -e "$T_SCRATCH/hostvol/y" ]; then
	t_ok
else
	t_fail "got: $(squash "$OUT") err: $ERR"
fi
rm -f "$T_SCRATCH/hostvol/y"

t_begin "bad volume specs: exit 2 with one line, and no pod is made"
before=$(find "$PODCTL_DIR/pods" -mindepth 2 -maxdepth 2 | sort)
bad=0
for spec in "hv,kind=host,source=$T_SCRATCH/hostvol" "$T_SCRATCH/hostvol:data" \
	"$T_SCRATCH/hostvol:/data:rx" "$T_SCRATCH/hostvol" "relative:/data"; do
	if ! expect_exit 2 "$PODCTL" run --volume "$spec" "$ROOT" -- true || ! one_line; then
		bad=1
		echo "spec $spec: $ERR" >&2
	fi
done
if [ $bad -eq 0 ] && [ "$before" = "$(find "$PODCTL_DIR/pods" -mindepth 2 -maxdepth 2 | sort)" ]; then
	t_ok
else
	t_fail "a bad spec was accepted or left a pod"
fi

t_begin "root in the pod has Docker's default capabilities but mknod only"
if expect_exit 0 "$PODCTL" run "$ROOT" -- sh -c 'grep -E "CapBnd|CapEff" /proc/self/status' &&
	[ "$(squash "$OUT")" = "CapEff: 00000000a00425fb CapBnd: 00000000a00425fb" ]; then t_ok; else t_fail "got: $OUT"; fi

t_begin "user and group from the manifest; no capabilities left"
cat >"$T_SCRATCH/m3.json" <<JSON
{"version":1,"apps":[{"name":"u","image":"$ROOT","exec":["sh","-c","id -u; id -g; grep CapEff /proc/self/status"],"user":"1000:1001"}]}
JSON
if expect_exit 0 "$PODCTL" run --manifest "$T_SCRATCH/m3.json" &&
	[ "$(squash "$OUT")" = "1000 1001 CapEff: 0000000000000000" ]; then t_ok; else t_fail "got: $OUT"; fi

t_begin "nothing of the pods is left mounted on the host"
if grep -q "$T_SCRATCH" /proc/self/mountinfo; then t_fail "$(grep "$T_SCRATCH" /proc/self/mountinfo)"; else t_ok; fi

t_begin "run without a usable stage1: exit 1, one line, and the pod is left prepared to run later"
if expect_exit 1 env PODCTL_STAGE1=/nonexistent/podctl-stage1 "$PODCTL" run --uuid-file-save="$T_SCRATCH/nostage1" "$ROOT" -- true &&
	one_line && NS=$(cat "$T_SCRATCH/nostage1") && "$PODCTL" status "$NS" | grep -q "state *prepared" &&
	expect_exit 0 "$PODCTL" run-prepared "$NS"; then
	t_ok
else
	t_fail "err: $ERR"
fi

t_end
