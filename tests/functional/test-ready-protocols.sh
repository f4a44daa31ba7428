#!/bin/bash
# Ready protocols over HTTP: Pantavisor's POST /signal on /pantavisor/pv-ctrl
# and LXD devlxd's PATCH / GET /1.0 on /dev/lxd/sock, spoken by real clients
# (the host's curl and socat, copied with their libraries into a busybox
# rootfs) from inside the pod.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || t_skip "curl is not installed"
command -v socat >/dev/null || t_skip "socat is not installed (scripts/install-deps)"
ROOT=$(t_rootfs)
# A dynamic binary and what ldd says it loads.
copy_bin() {
	local lib
	mkdir -p "$ROOT/usr/bin"
	cp "$1" "$ROOT/usr/bin/"
	for lib in $(ldd "$1" | grep -o '/[^ ]*'); do
		mkdir -p "$ROOT$(dirname "$lib")"
		cp -L "$lib" "$ROOT$lib"
	done
}
copy_bin "$(command -v curl)"
copy_bin "$(command -v socat)"
S=$T_SCRATCH/share
mkdir -p "$S"
VOL="share,kind=host,source=$S,target=/share"
PV='curl -sS -X POST --header "Content-Type: application/json" --unix-socket /pantavisor/pv-ctrl'
LXD='curl -sS --unix-socket /dev/lxd/sock'

app_json() { "$PODCTL" status --format=json "$1"; }

t_begin "pantavisor: curl POST /signal {\"type\":\"ready\"} makes the app READY (readyBy pantavisor), 200 {}"
mkfifo "$S/go1" "$S/done1"
U=$("$PODCTL" run --detach --status-goal=READY --ready-protocol=pantavisor --volume="$VOL" "$ROOT" -- \
	sh -c "read x < /share/go1; $PV --data '{\"type\":\"ready\",\"payload\":\"\"}' -w ' %{http_code}' http://localhost/signal > /share/pv1; echo > /share/done1; exec sleep 1000")
if expect_exit 4 "$PODCTL" status --wait-ready=200ms "$U"; then
	echo go >"$S/go1"
	if expect_exit 0 "$PODCTL" status --wait-ready=10s "$U" && cat "$S/done1" >/dev/null && [ "$(cat "$S/pv1")" = "{} 200" ] &&
		app_json "$U" | grep -q '"readyBy": "pantavisor"' &&
		"$PODCTL" events "$U" | grep -q 'signal.*pantavisor POST /signal ready'; then
		t_ok
	else
		t_fail "answer: $(cat "$S/pv1" 2>&1) status: $(app_json "$U")"
	fi
else
	t_fail "ready before the signal"
fi
"$PODCTL" stop --force "$U" >/dev/null 2>&1

mkfifo "$S/done2pv"
t_begin "pantavisor: alive is a heartbeat (200, recorded), bad type 400, other path 404, GET 405"
U=$("$PODCTL" run --detach --wait-ready=10s --status-goal=READY --ready-protocol=pantavisor --volume="$VOL" "$ROOT" -- \
	sh -c "$PV --data '{\"type\":\"ready\",\"payload\":\"\"}' http://localhost/signal;
	$PV --data '{\"type\":\"alive\",\"payload\":\"\"}' -o /dev/null -w '%{http_code} ' http://localhost/signal > /share/pv2;
	$PV --data '{\"type\":\"reboot\"}' -o /dev/null -w '%{http_code} ' http://localhost/signal >> /share/pv2;
	$PV --data 'not json' -o /dev/null -w '%{http_code} ' http://localhost/signal >> /share/pv2;
	$PV --data '{}' -o /dev/null -w '%{http_code} ' http://localhost/containers >> /share/pv2;
	curl -sS --unix-socket /pantavisor/pv-ctrl -o /dev/null -w '%{http_code}' http://localhost/signal >> /share/pv2;
	echo > /share/done2pv; exec sleep 1000")
if [ -n "$U" ] && cat "$S/done2pv" >/dev/null && [ "$(cat "$S/pv2" 2>/dev/null)" = "200 400 400 404 405" ] &&
	"$PODCTL" events "$U" | grep -q 'signal.*pantavisor POST /signal alive'; then
	t_ok
else
	t_fail "codes: $(cat "$S/pv2" 2>&1)"
fi
"$PODCTL" stop --force "$U" >/dev/null 2>&1

t_begin "lxd: socat PATCH Ready → READY; GET /1.0 says Ready; Started takes it back and --wait-ready waits again"
mkfifo "$S/go2" "$S/done2"
U=$("$PODCTL" run --detach --status-goal=READY --ready-protocol=lxd --volume="$VOL" "$ROOT" -- \
	sh -c "printf 'PATCH /1.0 HTTP/1.1\r\nHost: lxd\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n{\"state\":\"Ready\"}' | socat -t5 - UNIX-CONNECT:/dev/lxd/sock > /share/lxd-patch;
	$LXD http://lxd/1.0 > /share/lxd-get1;
	read x < /share/go2;
	$LXD -X PATCH --data '{\"state\":\"Started\"}' http://lxd/1.0 > /share/lxd-patch2;
	$LXD http://lxd/1.0 > /share/lxd-get2; echo done > /share/done2;
	read x < /share/go2;
	$LXD -X PATCH --data '{\"state\":\"Ready\"}' http://lxd/1.0 > /share/lxd-patch3;
	exec sleep 1000")
ok=1
expect_exit 0 "$PODCTL" status --wait-ready=10s "$U" || ok=0
app_json "$U" | grep -q '"readyBy": "lxd"' || { ok=0; echo "readyBy not lxd"; }
echo go >"$S/go2" # opens once the app reads it: its first answers are written
grep -q '^HTTP/1.1 200 OK' "$S/lxd-patch" || { ok=0; echo "patch: $(cat "$S/lxd-patch")"; }
grep -q '"api_version":"1.0","instance_type":"container","location":"[^"]*","state":"Ready"' "$S/lxd-get1" ||
	{ ok=0; echo "get1: $(cat "$S/lxd-get1")"; }
cat "$S/done2" >/dev/null # the app has its answers: stage1 acted before answering
grep -q '"state":"Started"' "$S/lxd-get2" || { ok=0; echo "get2: $(cat "$S/lxd-get2")"; }
expect_exit 4 "$PODCTL" status --wait-ready=200ms "$U" || ok=0
app_json "$U" | grep -q '"status": "STARTED"' || { ok=0; echo "not STARTED"; }
# A waiter started now wakes on the next Ready.
"$PODCTL" status --wait-ready=10s "$U" >/dev/null 2>&1 &
w=$!
t_bg $w
echo go >"$S/go2"
wait $w || { ok=0; echo "--wait-ready did not return 0 after Ready again"; }
"$PODCTL" events "$U" | grep -q 'signal.*lxd PATCH /1.0 Started' || { ok=0; echo "no Started event"; }
if [ $ok = 1 ]; then t_ok; else t_fail "see above"; fi
"$PODCTL" stop --force "$U" >/dev/null 2>&1

t_begin "an app that did not opt in has neither path, and no sockets are made for it"
if expect_exit 0 env PODCTL_DIR="$T_SCRATCH/store2" "$PODCTL" run --volume="$VOL" "$ROOT" -- \
	sh -c '[ ! -e /pantavisor/pv-ctrl ] && [ ! -e /dev/lxd ] && [ ! -e /pantavisor ]' &&
	[ -z "$(find "$T_SCRATCH/store2/pods" -name pv-ctrl -o -name lxd-sock)" ]; then
	t_ok
else
	t_fail "a path exists: $ERR"
fi

t_begin "--ready-protocol with a bad name is a usage error"
if expect_exit 2 "$PODCTL" run --ready-protocol=systemd "$ROOT" -- true && one_line; then t_ok; else t_fail "$ERR"; fi

t_begin "one app cannot signal for another; a client outside the pod is refused"
cat >"$T_SCRATCH/two.json" <<EOF
{ "version": 1,
  "volumes": [ { "name": "share", "kind": "host", "source": "$S" } ],
  "apps": [
    { "name": "a", "image": "$ROOT", "statusGoal": "READY", "readyProtocols": ["pantavisor", "lxd"],
      "mounts": [ { "volume": "share", "path": "/share" } ],
      "exec": [ "sh", "-c", "echo up > /share/a-up; exec sleep 1000" ] },
    { "name": "b", "image": "$ROOT", "statusGoal": "READY", "readyProtocols": ["pantavisor"],
      "mounts": [ { "volume": "share", "path": "/share" } ],
      "exec": [ "sh", "-c", "curl -sS -H Content-Type:application/json --data '{\\"type\\":\\"ready\\"}' --unix-socket /pantavisor/pv-ctrl http://localhost/signal > /share/b; ls /dev/lxd > /share/b-lxd 2>&1; exec sleep 1000" ] }
  ] }
EOF
U=$("$PODCTL" run --detach --manifest "$T_SCRATCH/two.json")
ok=1
PD=$(find "$PODCTL_DIR/pods/run" -maxdepth 1 -name "$U*" | head -1)
# b's signal made b ready, and nothing of a's; b's root has no lxd socket.
"$PODCTL" status --wait-ready=200ms "$U" >/dev/null 2>&1 && { ok=0; echo "pod ready with a silent"; }
app_json "$U" | tr -d '\n ' | grep -q '"name":"a","status":"STARTED"' || { ok=0; echo "a: $(app_json "$U")"; }
app_json "$U" | tr -d '\n ' | grep -q '"name":"b","status":"READY"' || { ok=0; echo "b not READY"; }
grep -q 'No such file' "$S/b-lxd" || { ok=0; echo "b sees /dev/lxd: $(cat "$S/b-lxd")"; }
# root on the host reaching a's socket in the pod dir is not the app: no answer.
out=$(printf 'POST /signal HTTP/1.1\r\nContent-Length: 16\r\n\r\n{"type":"ready"}' |
	socat -t2 - "UNIX-CONNECT:$PD/apps/a/pv-ctrl" 2>/dev/null)
[ -z "$out" ] || { ok=0; echo "outside client answered: $out"; }
app_json "$U" | tr -d '\n ' | grep -q '"name":"a","status":"STARTED"' || { ok=0; echo "a became ready from outside"; }
if [ $ok = 1 ]; then t_ok; else t_fail "see above"; fi
"$PODCTL" stop --force "$U" >/dev/null 2>&1

# --- robustness, from inside an app through podctl enter ----------------------
U=$("$PODCTL" run --detach --wait-ready=10s --status-goal=READY --ready-protocol=lxd --ready-protocol=pantavisor \
	--volume="$VOL" "$ROOT" -- sh -c "$PV --data '{\"type\":\"ready\"}' http://localhost/signal; exec sleep 1000")
in_pod() { "$PODCTL" enter "$U" sh -c "$1"; }
sock='UNIX-CONNECT:/dev/lxd/sock'

t_begin "pipelined requests are answered in order on one connection"
out=$(in_pod "printf 'PATCH /1.0 HTTP/1.1\r\nContent-Length: 19\r\n\r\n{\"state\":\"Started\"}GET /1.0 HTTP/1.1\r\n\r\nPATCH /1.0 HTTP/1.1\r\nContent-Length: 17\r\n\r\n{\"state\":\"Ready\"}GET /1.0 HTTP/1.1\r\nConnection: close\r\n\r\n' | socat -t5 - $sock")
if [ "$(grep -o 'HTTP/1.1 200 OK' <<<"$out" | wc -l)" = 4 ] &&
	grep -o '"state":"[A-Za-z]*"' <<<"$out" | tr '\n' ' ' | grep -q '"state":"Started" "state":"Ready"'; then
	t_ok
else
	t_fail "$out"
fi

t_begin "keep-alive: curl reuses one connection for two requests"
out=$(in_pod "$LXD -o /dev/null -o /dev/null -w '%{num_connects} ' http://lxd/1.0 http://lxd/1.0")
if [ "$out" = "1 0 " ]; then t_ok; else t_fail "connects: $out"; fi

t_begin "malformed requests get 400 and a close, oversized 413 / 431, Transfer-Encoding 501"
c1=$(in_pod "printf 'HELLO\r\n\r\n' | socat -t5 - $sock" | head -1)
c2=$(in_pod "printf 'PATCH /1.0 HTTP/1.1\r\nContent-Length: 100000\r\n\r\n' | socat -t5 - $sock" | head -1)
c3=$(in_pod "{ printf 'GET /1.0 HTTP/1.1\r\nX: '; head -c 5000 /dev/zero | tr '\\\\0' a; printf '\r\n\r\n'; } | socat -t5 - $sock" | head -1)
c4=$(in_pod "printf 'PATCH /1.0 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | socat -t5 - $sock" | head -1)
c5=$(in_pod "printf 'DELETE /1.0 HTTP/1.1\r\n\r\n' | socat -t5 - $sock" | head -1)
c6=$(in_pod "printf 'GET /1.0/devices HTTP/1.1\r\n\r\n' | socat -t5 - $sock" | head -1)
got=$(printf '%s|' "$c1" "$c2" "$c3" "$c4" "$c5" "$c6" | tr -d '\r')
want='HTTP/1.1 400 Bad Request|HTTP/1.1 413 Content Too Large|HTTP/1.1 431 Request Header Fields Too Large|HTTP/1.1 501 Not Implemented|HTTP/1.1 405 Method Not Allowed|HTTP/1.1 404 Not Found|'
if [ "$got" = "$want" ]; then t_ok; else t_fail "got $got"; fi

t_begin "an error answered while the client still sends (200 kB of header) reaches it: no reset"
# stage1 answers 431 after 16 kB; closing with the rest unread would reset the
# connection before the client reads the answer.
out=$(in_pod "for i in 1 2 3 4 5; do { printf 'GET /1.0 HTTP/1.1\r\nX: '; head -c 200000 /dev/zero | tr '\\\\0' a; printf '\r\n\r\n'; } | socat -t5 - $sock 2>/dev/null | head -1; done" | tr -d '\r')
if [ "$(grep -c '^HTTP/1.1 431 ' <<<"$out")" = 5 ]; then t_ok; else t_fail "got: $out"; fi

t_begin "a slow client holding half a request blocks neither stage1 nor a signal on the other socket"
mkfifo "$S/hold"
# socat keeps the connection open as long as the fifo has a writer (us).
exec 7<>"$S/hold"
in_pod "{ printf 'PATCH /1.0 HTTP/1.1\r\nContent-Length: 19\r\n\r\n{\"sta'; cat /share/hold; } | socat -t30 - $sock > /share/slow" 7>&- &
slow=$!
t_bg $slow
"$PODCTL" status --wait-ready=10s "$U" >/dev/null 2>&1 # ready from the pipelined test above
in_pod "$LXD -X PATCH --data '{\"state\":\"Started\"}' http://lxd/1.0 >/dev/null"
if expect_exit 4 "$PODCTL" status --wait-ready=200ms "$U" &&
	in_pod "$PV --data '{\"type\":\"ready\"}' http://localhost/signal >/dev/null" &&
	expect_exit 0 "$PODCTL" status --wait-ready=5s "$U"; then
	# finish the slow request: it is answered and acted on too
	printf 'te":"Started"}' >&7
	exec 7>&-
	wait $slow
	if grep -q '^HTTP/1.1 200 OK' "$S/slow" && expect_exit 4 "$PODCTL" status --wait-ready=200ms "$U"; then
		t_ok
	else
		t_fail "slow request: $(cat "$S/slow")"
	fi
else
	exec 7>&-
	t_fail "stage1 blocked: $ERR"
fi
"$PODCTL" stop --force "$U" >/dev/null 2>&1


# The sockets stage1 made (control, each app's notify, pv-ctrl, lxd-sock)
# die with it: none may be left in an exited pod's dir.
sockets_of() { find "$PODCTL_DIR/pods" -path "*/$1/*" -type s 2>/dev/null; }
t_begin "no socket is left in the dir of a pod that exited (stopped, its apps ended, its set-up failed)"
U=$("$PODCTL" run --detach --wait-ready=10s --status-goal=READY --ready-protocol=pantavisor --ready-protocol=lxd "$ROOT" -- \
	sh -c "$PV --data '{\"type\":\"ready\"}' http://localhost/signal >/dev/null; exec sleep 1000")
before=$(sockets_of "$U" | wc -l)
"$PODCTL" stop "$U" >/dev/null 2>&1
left=$(sockets_of "$U")
U2=$("$PODCTL" prepare --ready-protocol=lxd "$ROOT" -- true)
"$PODCTL" run-prepared "$U2" >/dev/null 2>&1
left2=$(sockets_of "$U2")
# stage1 failing in its set-up, after the sockets are made: a volume whose
# source went away between prepare and run
mkdir "$T_SCRATCH/gone"
U3=$("$PODCTL" prepare --ready-protocol=pantavisor --volume="v,kind=host,source=$T_SCRATCH/gone,target=/v" "$ROOT" -- true)
rmdir "$T_SCRATCH/gone"
expect_exit 125 "$PODCTL" run-prepared "$U3"
rc3=$?
left3=$(sockets_of "$U3")
if [ "$before" -ge 4 ] && [ -z "$left" ] && [ -n "$U2" ] && [ -z "$left2" ] && [ $rc3 -eq 0 ] && [ -z "$left3" ]; then
	t_ok
else
	t_fail "sockets while running: $before; left after stop: ${left:-none}; after its app ended: ${left2:-none}; after a failed set-up (${ERR:-}): ${left3:-none}"
fi

t_end
