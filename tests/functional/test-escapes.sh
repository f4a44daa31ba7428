#!/bin/bash
# Escapes: hostile images and manifests attack the real binaries, one class
# of issue 9 at a time (the working dir and inherited fds, setup children,
# devices and volumes, a symlinked /proc /sys /dev, the caller's terminal,
# another app's notify socket, FIFOs where stage1 reads or writes), each in
# several variants (fd numbers, magic links, the manifest and the image
# route, run in the foreground and detached, enter and exec probes). Every
# attack first shows, in a control, that it would notice its own success;
# the test fails if any attack succeeds.
#
# Run it against another build (BUILDDIR=/path/to/old/build) to watch the
# attacks succeed there.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

P=$PODCTL
W=$T_SCRATCH/work
mkdir -p "$W"
ROOT=$(t_rootfs)
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
mkdir -p "$ROOT/work" "$ROOT/root"

# A copy of the rootfs to make hostile.
rootfs_copy() { # NAME -> path
	local d=$W/$1
	rm -rf "$d"
	cp -a "$ROOT" "$d"
	echo "$d"
}

# The host's secret, and a thief that walks up from its cwd to read it by
# its absolute host path: it finds it only from a cwd on the host.
SECRET=$T_SCRATCH/secret
SECRET_VAL=secret-$RANDOM$RANDOM$RANDOM
echo "$SECRET_VAL" >"$SECRET"
STEAL='p=; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do p=$p../; cat "${p}'"${SECRET#/}"'" 2>/dev/null; done; true'
stolen() { printf '%s' "$1" | grep -q "$SECRET_VAL"; }

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

# manifest FILE APPS_JSON [VOLUMES_JSON] [INIT_APPS_JSON]
manifest() {
	printf '{"version":1,"apps":[%s],"volumes":[%s],"initApps":[%s]}\n' "$2" "${3:-}" "${4:-}" >"$1"
}

# Stop a pod, bounded: against a stage1 that hangs, the test goes on.
pstop() { timeout -k 5 20 "$P" stop --force "$1" >/dev/null 2>&1; }

# Wait (bounded) until the pod's events show PATTERN.
wait_event() { # UUID PATTERN
	timeout -k 5 20 "$P" events --follow --format=json "$1" 2>/dev/null | grep -m1 -q "$2"
}

# =========================================================================
# 1. File descriptors and the working directory (runc CVE-2024-21626)
# =========================================================================
t_begin "control: the thief reads the secret from a cwd on the host"
manifest "$W/ctl.json" "{\"name\":\"a\",\"image\":\"$ROOT\",\"exec\":[\"sh\",\"-c\",$(json_str "cd $T_SCRATCH/x; $STEAL")],
 \"mounts\":[{\"volume\":\"h\",\"path\":\"$T_SCRATCH\"}]}" \
	"{\"name\":\"h\",\"kind\":\"host\",\"source\":\"$T_SCRATCH\",\"readOnly\":true}"
mkdir -p "$T_SCRATCH/x"
if expect_exit 0 "$P" run --manifest "$W/ctl.json" && stolen "$OUT"; then t_ok; else t_fail "the thief saw nothing: $OUT $ERR"; fi

WDS="/proc/self/fd/3 /proc/self/fd/4 /proc/self/fd/5 /proc/self/fd/6 /proc/self/fd/7 /proc/self/fd/8
/proc/self/fd/9 /proc/self/fd/10 /proc/self/fd/11 /proc/self/fd/12 /proc/thread-self/fd/4 /proc/self/cwd
/proc/1/cwd /proc/1/root /proc/2/cwd /proc/self/root/.."

t_begin "manifest workingDir on a magic link (foreground): no host cwd"
bad=
for wd in $WDS; do
	manifest "$W/wd.json" "{\"name\":\"a\",\"image\":\"$ROOT\",\"workingDir\":\"$wd\",\"exec\":[\"sh\",\"-c\",$(json_str "$STEAL")]}"
	out=$("$P" run --manifest "$W/wd.json" 2>&1)
	stolen "$out" && bad="$bad $wd"
done
[ -z "$bad" ] && t_ok || t_fail "host reached through:$bad"

t_begin "manifest workingDir on a magic link (detached, logs): no host cwd"
bad=
for wd in /proc/self/fd/3 /proc/self/fd/4 /proc/self/fd/5 /proc/self/fd/6 /proc/self/fd/7 /proc/self/fd/8; do
	manifest "$W/wd.json" "{\"name\":\"a\",\"image\":\"$ROOT\",\"workingDir\":\"$wd\",\"exec\":[\"sh\",\"-c\",$(json_str "$STEAL")]}"
	if u=$("$P" run --detach --manifest "$W/wd.json" 2>/dev/null); then
		"$P" status --wait=20s "$u" >/dev/null 2>&1
		out=$("$P" logs "$u" 2>&1)
		stolen "$out" && bad="$bad $wd"
	fi
done
[ -z "$bad" ] && t_ok || t_fail "host reached through:$bad"

# An OCI image layout whose config says WorkingDir: WD, built by hand.
oci_image() { # DIR WD
	local d=$1 wd=$2 ldig lsz cdig csz mdig msz
	mkdir -p "$d/blobs/sha256"
	if [ ! -f "$W/layer.tar" ]; then tar -C "$ROOT" -cf "$W/layer.tar" .; fi
	ldig=$(sha256sum "$W/layer.tar" | cut -d' ' -f1)
	lsz=$(stat -c %s "$W/layer.tar")
	cp "$W/layer.tar" "$d/blobs/sha256/$ldig"
	printf '{"architecture":"amd64","os":"linux","config":{"WorkingDir":"%s","Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$wd" "$ldig" >"$d/config"
	cdig=$(sha256sum "$d/config" | cut -d' ' -f1)
	csz=$(stat -c %s "$d/config")
	mv "$d/config" "$d/blobs/sha256/$cdig"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$cdig" "$csz" "$ldig" "$lsz" >"$d/manifest"
	mdig=$(sha256sum "$d/manifest" | cut -d' ' -f1)
	msz=$(stat -c %s "$d/manifest")
	mv "$d/manifest" "$d/blobs/sha256/$mdig"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' \
		"$mdig" "$msz" >"$d/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
}

t_begin "control: the image's WorkingDir is used"
oci_image "$W/oci-ok" /work
if expect_exit 0 "$P" image import -q "$W/oci-ok" --name wd-ok && expect_exit 0 "$P" run wd-ok -- pwd &&
	[ "$OUT" = /work ]; then t_ok; else t_fail "got $OUT $ERR"; fi

t_begin "image WorkingDir on a magic link (foreground and detached): no host cwd"
bad=
for n in 3 4 5 6 7 8 9 10; do
	oci_image "$W/oci-$n" "/proc/self/fd/$n"
	"$P" image import -q "$W/oci-$n" --name "wd-$n" >/dev/null 2>&1 || { bad="$bad import-$n"; continue; }
	out=$("$P" run "wd-$n" -- sh -c "$STEAL" 2>&1)
	stolen "$out" && bad="$bad fd$n"
	if u=$("$P" run --detach "wd-$n" -- sh -c "$STEAL" 2>/dev/null); then
		"$P" status --wait=20s "$u" >/dev/null 2>&1
		stolen "$("$P" logs "$u" 2>&1)" && bad="$bad detached-fd$n"
	fi
done
[ -z "$bad" ] && t_ok || t_fail "host reached through:$bad"

# enter and exec probes take the app's working dir at each start: the app
# turns /work into a magic link after it started. The probe writes what it
# stole into a FIFO that enter reads (no polling).
t_begin "enter and exec probes: a working dir turned into a magic link leads nowhere"
RF=$(rootfs_copy probe-fifo)
mkfifo "$RF/tmp/pfifo"
manifest "$W/enter.json" "{\"name\":\"a\",\"image\":\"$RF\",\"workingDir\":\"/work\",\"exec\":[\"sleep\",\"1000\"],
 \"readinessProbe\":{\"exec\":{\"command\":[\"sh\",\"-c\",$(json_str "{ $STEAL; echo end; } >/tmp/pfifo")]},\"periodSeconds\":1,\"timeoutSeconds\":5}}"
if u=$("$P" run --detach --manifest "$W/enter.json" 2>"$W/err"); then
	wait_event "$u" STARTED # (not ready: its probe waits for a reader)
	bad=
	for n in 3 4 5 6 7 8 9; do
		"$P" enter "$u" sh -c "cd /; rm -rf /work; ln -s /proc/self/fd/$n /work" </dev/null
		out=$(timeout -k 5 20 "$P" enter "$u" sh -c "$STEAL" </dev/null 2>&1)
		stolen "$out" && bad="$bad enter-fd$n"
		out=$(timeout -k 5 20 "$P" enter "$u" cat /tmp/pfifo </dev/null 2>&1)
		stolen "$out" && bad="$bad probe-fd$n"
	done
	fds=$("$P" enter "$u" ls /proc/self/fd </dev/null | tr '\n' ' ')
	[ "$fds" = "0 1 2 3 " ] || bad="$bad enter-fds($fds)"
	pstop "$u"
	[ -z "$bad" ] && t_ok || t_fail "host reached through:$bad"
else
	t_fail "run: $(cat "$W/err")"
fi

t_begin "the fallback without openat2 refuses magic links too"
bad=
for wd in /proc/self/fd/3 /proc/self/fd/5 /proc/1/cwd /proc/self/cwd; do
	manifest "$W/wd.json" "{\"name\":\"a\",\"image\":\"$ROOT\",\"workingDir\":\"$wd\",\"exec\":[\"sh\",\"-c\",$(json_str "$STEAL")]}"
	out=$(PODCTL_STAGE1_NO_OPENAT2=1 "$P" run --manifest "$W/wd.json" 2>&1)
	stolen "$out" && bad="$bad $wd"
done
manifest "$W/wd.json" "{\"name\":\"a\",\"image\":\"$ROOT\",\"workingDir\":\"/work\",\"user\":\"nobody\",\"exec\":[\"sh\",\"-c\",\"pwd; id -u\"]}"
out=$(PODCTL_STAGE1_NO_OPENAT2=1 "$P" run --manifest "$W/wd.json" 2>&1)
[ "$(echo "$out" | tr '\n' ' ')" = "/work 65534 " ] || bad="$bad plain-dir($out)"
[ -z "$bad" ] && t_ok || t_fail "$bad"

# =========================================================================
# 2. Setup children (CVE-2016-9962 class) and FIFOs stage1 reads
# =========================================================================
# A spy left in the pod looks for any other process holding a directory fd
# it can use, and writes a file through it; it tells the test through a FIFO
# of a host volume when it is done.
SPY='me=$$; i=0; found=; while [ $i -lt 100 ] && [ -z "$found" ]; do i=$((i+1));
for d in /proc/[0-9]*; do pid=${d#/proc/}; [ "$pid" = "$me" ] && continue;
for f in $d/fd/*; do [ -d "$f" ] && touch "$f/pwned-$pid" 2>/dev/null && found=1; done; done;
[ -z "$found" ] && sleep 0.05; done;
echo "root:x:0:0:root:/root:/bin/sh" 1<>/etc/passwd; echo done >/out/fifo'
# Until the spy is done, or the pod has ended (taking the spy with it).
spy_wait() { # UUID OUTDIR
	local bg
	("$P" status --wait=30s "$1" >/dev/null 2>&1; [ -p "$2/fifo" ] && echo ended 1<>"$2/fifo") &
	bg=$!
	t_bg $bg
	timeout -k 5 30 cat "$2/fifo" >/dev/null
	kill "$bg" 2>/dev/null
}

t_begin "control: the spy writes through a directory fd an app of the pod holds"
mkdir -p "$W/out1" && mkfifo "$W/out1/fifo"
manifest "$W/spyctl.json" "{\"name\":\"holder\",\"image\":\"$ROOT\",\"exec\":[\"sh\",\"-c\",\"exec 7</out; exec sleep 1000\"],
  \"mounts\":[{\"volume\":\"out\",\"path\":\"/out\"}]},
 {\"name\":\"spy\",\"image\":\"$ROOT\",\"startGroup\":1,\"exec\":[\"sh\",\"-c\",$(json_str "$SPY")],\"mounts\":[{\"volume\":\"out\",\"path\":\"/out\"}]}" \
	"{\"name\":\"out\",\"kind\":\"host\",\"source\":\"$W/out1\"}"
if u=$("$P" run --detach --manifest "$W/spyctl.json" 2>"$W/err"); then
	spy_wait "$u" "$W/out1"
	pstop "$u"
	if ls "$W/out1"/pwned-* >/dev/null 2>&1; then t_ok; else t_fail "the spy found nothing"; fi
	rm -f "$W/out1"/pwned-*
else
	t_fail "run: $(cat "$W/err")"
fi

# The app makes its /etc/passwd a FIFO, leaves the spy behind and exits; its
# restart looks its user up by name.
t_begin "a restarted app's setup child can't be frozen on a FIFO and used by a spy"
mkdir -p "$W/out2" && mkfifo "$W/out2/fifo"
RF=$(rootfs_copy fifo-passwd)
manifest "$W/spy.json" "{\"name\":\"a\",\"image\":\"$RF\",\"user\":\"root\",\"restartPolicy\":\"always\",\"restartBackoff\":{\"initial\":\"100ms\"},
 \"exec\":[\"sh\",\"-c\",$(json_str "if [ -e /tmp/first ]; then exec sleep 1000; fi; touch /tmp/first; rm /etc/passwd; mkfifo /etc/passwd; setsid sh -c '$(printf '%s' "$SPY" | tr '\n' ' ')' </dev/null >/dev/null 2>&1 & exit 1")],
 \"mounts\":[{\"volume\":\"out\",\"path\":\"/out\"}]}" \
	"{\"name\":\"out\",\"kind\":\"host\",\"source\":\"$W/out2\"}"
if u=$("$P" run --detach --manifest "$W/spy.json" 2>"$W/err"); then
	spy_wait "$u" "$W/out2"
	pwned=$(find "$T_SCRATCH" -name 'pwned-*' -not -path '*/upper/*' 2>/dev/null)
	pstop "$u"
	if [ -z "$pwned" ]; then t_ok; else t_fail "the spy wrote on the host: $pwned"; fi
else
	t_fail "run: $(cat "$W/err")"
fi

t_begin "a FIFO at /etc/passwd: restart fails fast, stop does not hang"
RF=$(rootfs_copy fifo-restart)
manifest "$W/fr.json" "{\"name\":\"a\",\"image\":\"$RF\",\"user\":\"root\",\"restartPolicy\":\"always\",\"restartBackoff\":{\"initial\":\"100ms\"},
 \"exec\":[\"sh\",\"-c\",\"if [ -e /tmp/first ]; then exec sleep 1000; fi; touch /tmp/first; rm /etc/passwd; mkfifo /etc/passwd; exit 1\"]}"
if u=$("$P" run --detach --manifest "$W/fr.json" 2>"$W/err"); then
	wait_event "$u" '"restart"'
	timeout -k 5 20 "$P" stop "$u" >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 124 ] && pstop "$u"
	if [ "$rc" -ne 124 ] && "$P" status "$u" 2>/dev/null | grep -qi "regular file"; then t_ok
	elif [ "$rc" -eq 124 ]; then t_fail "podctl stop hung"
	else t_fail "$("$P" status "$u" 2>&1)"; fi
	pstop "$u"
else
	t_fail "run: $(cat "$W/err")"
fi

t_begin "enter as a named user with a FIFO at /etc/passwd: refused at once, not frozen"
RF=$(rootfs_copy fifo-enter)
manifest "$W/fe.json" "{\"name\":\"a\",\"image\":\"$RF\",\"user\":\"root\",\"exec\":[\"sh\",\"-c\",\"rm /etc/passwd; mkfifo /etc/passwd; exec sleep 1000\"]}"
if u=$("$P" run --detach --manifest "$W/fe.json" 2>"$W/err"); then
	"$P" status --wait-ready=20s "$u" >/dev/null
	# the app's rm+mkfifo ran once enter sees the FIFO
	timeout -k 5 20 "$P" enter "$u" sh -c 'until [ -p /etc/passwd ]; do :; done' </dev/null >/dev/null 2>&1
	timeout -k 5 20 "$P" enter "$u" true </dev/null >/dev/null 2>"$W/err"
	rc=$?
	if [ "$rc" -eq 125 ] && grep -q "regular file" "$W/err"; then t_ok; else t_fail "exit $rc: $(cat "$W/err")"; fi
	pstop "$u"
else
	t_fail "run: $(cat "$W/err")"
fi

t_begin "FIFOs at /etc/hostname, hosts, resolv.conf, passwd, group don't hang stage1"
bad=
for f in hostname hosts resolv.conf passwd group; do
	RF=$(rootfs_copy "fifo-$f")
	rm -f "$RF/etc/$f" && mkfifo "$RF/etc/$f"
	manifest "$W/ff.json" "{\"name\":\"a\",\"image\":\"$RF\",\"user\":\"root\",\"group\":\"root\",\"exec\":[\"true\"]}"
	timeout -k 5 20 "$P" run --manifest "$W/ff.json" >/dev/null 2>&1
	[ $? -eq 124 ] && bad="$bad $f"
	timeout -k 5 20 "$P" run --detach --manifest "$W/ff.json" >/dev/null 2>&1
	[ $? -eq 124 ] && bad="$bad detached-$f"
done
[ -z "$bad" ] && t_ok || t_fail "hung on:$bad"

t_begin "/etc/passwd fields: an empty field or a bad id never means root"
RF=$(rootfs_copy passwd-fields)
printf 'root:x:0:0::/:/bin/sh\napp::1000:2000:::\nbad:x:junk:1:::\n' >"$RF/etc/passwd"
manifest "$W/pf.json" "{\"name\":\"a\",\"image\":\"$RF\",\"user\":\"app\",\"exec\":[\"sh\",\"-c\",\"id -u; id -g\"]}"
manifest "$W/pb.json" "{\"name\":\"a\",\"image\":\"$RF\",\"user\":\"bad\",\"exec\":[\"id\",\"-u\"]}"
if expect_exit 0 "$P" run --manifest "$W/pf.json" && [ "$(echo "$OUT" | tr '\n' ' ')" = "1000 2000 " ] &&
	expect_exit 125 "$P" run --manifest "$W/pb.json"; then t_ok; else t_fail "got $OUT $ERR"; fi

# =========================================================================
# 3. Devices and volumes
# =========================================================================
t_begin "control: a node made on the host can be opened"
mknod "$W/null-ctl" c 1 3 && echo x >"$W/null-ctl" && t_ok || t_fail "mknod on the host"
rm -f "$W/null-ctl"

t_begin "mknod of a char device in a pod fails or can't be opened (/dev, /tmp, a volume)"
MK='for d in /dev /tmp /vol; do mknod $d/kvm c 10 232 2>/dev/null; mknod $d/n c 1 3 2>/dev/null && echo x >$d/n 2>/dev/null && echo "OPENED $d"; done; true'
manifest "$W/mk.json" "{\"name\":\"a\",\"image\":\"$ROOT\",\"exec\":[\"sh\",\"-c\",$(json_str "$MK")],\"mounts\":[{\"volume\":\"v\",\"path\":\"/vol\"}]}" \
	"{\"name\":\"v\",\"kind\":\"empty\"}"
if expect_exit 0 "$P" run --manifest "$W/mk.json" && ! echo "$OUT" | grep -q OPENED &&
	expect_exit 0 "$P" run --detach --manifest "$W/mk.json"; then
	u=$OUT
	"$P" status --wait=20s "$u" >/dev/null 2>&1
	if "$P" logs "$u" | grep -q OPENED; then t_fail "detached: $("$P" logs "$u")"; else t_ok; fi
else
	t_fail "$OUT $ERR"
fi

t_begin "a default pod: CapInh and CapAmb are 0, no CAP_MKNOD"
if expect_exit 0 "$P" run "$ROOT" -- sh -c 'grep -E "^Cap(Inh|Amb|Bnd)" /proc/self/status'; then
	inh=$(echo "$OUT" | awk '/CapInh/ {print $2}')
	amb=$(echo "$OUT" | awk '/CapAmb/ {print $2}')
	bnd=$(echo "$OUT" | awk '/CapBnd/ {print $2}')
	if [ "$inh" = 0000000000000000 ] && [ "$amb" = 0000000000000000 ] && [ $((0x$bnd & (1 << 27))) -eq 0 ]; then
		t_ok
	else t_fail "$OUT"; fi
else t_fail "$ERR"; fi

# A setuid-root program written into a volume by root in the pod, run by a
# non-root app of the same pod.
if command -v gcc >/dev/null && printf '#include <unistd.h>\nint main(void){return geteuid()==0?0:1;}\n' |
	gcc -static -o "$W/euid0" -x c - 2>/dev/null; then
	mkdir -p "$W/src" && cp "$W/euid0" "$W/src/"
	suid_manifest() { # FILE EXTRA_VOLUME_OPTS
		# noNewPrivileges off: nosuid is the only wall left to test here
		manifest "$1" "{\"name\":\"u\",\"image\":\"$ROOT\",\"user\":\"1000\",\"noNewPrivileges\":false,\"exec\":[\"sh\",\"-c\",\"/vol/euid0 && echo EUID0 || echo not-root\"],
  \"mounts\":[{\"volume\":\"v\",\"path\":\"/vol\"}]}" \
			"{\"name\":\"v\",\"kind\":\"empty\"$2},{\"name\":\"src\",\"kind\":\"host\",\"source\":\"$W/src\",\"readOnly\":true}" \
			"{\"name\":\"prep\",\"image\":\"$ROOT\",\"exec\":[\"sh\",\"-c\",\"cp /src/euid0 /vol/ && chmod 4755 /vol/euid0\"],
  \"mounts\":[{\"volume\":\"v\",\"path\":\"/vol\"},{\"volume\":\"src\",\"path\":\"/src\"}]}"
	}
	t_begin "control: a volume that opts into suid runs a setuid-root file as root"
	suid_manifest "$W/suid-ctl.json" ',"suid":true'
	if expect_exit 0 "$P" run --manifest "$W/suid-ctl.json" && [ "$OUT" = EUID0 ]; then t_ok; else t_fail "$OUT $ERR"; fi

	t_begin "a setuid file made through an empty volume gives no root (nosuid)"
	suid_manifest "$W/suid.json" ''
	if expect_exit 0 "$P" run --manifest "$W/suid.json" && [ "$OUT" = not-root ]; then t_ok; else t_fail "$OUT $ERR"; fi

	# The path resolved as nobody (setpriv itself would find it as root).
	as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'exec "$0"' "$1"; }
	t_begin "... nor on the host: the volume's host dir is out of reach of other users"
	if expect_exit 0 "$P" run --detach --manifest "$W/suid.json"; then
		u=$OUT
		"$P" status --wait=20s "$u" >/dev/null 2>&1
		f=$(ls "$PODCTL_DIR"/pods/*/"$u"/volumes/v/euid0 2>/dev/null | head -1)
		cp -p "$f" "$W/euid0-copy" 2>/dev/null && chmod 755 "$T_SCRATCH" "$W"
		# control: the same file where others can reach it does run as root
		if [ -n "$f" ] && [ -u "$f" ] && as_nobody "$W/euid0-copy"; then
			if as_nobody "$f" 2>/dev/null; then
				t_fail "ran as root from $f ($(namei -l "$f" | tr '\n' ' '))"
			else t_ok; fi
		else
			t_fail "control failed (file: $f)"
		fi
		chmod 700 "$T_SCRATCH"
	else t_fail "$ERR"; fi
fi

t_begin "volumes are nodev,nosuid unless they opt in; /dev is nodev"
manifest "$W/mi.json" "{\"name\":\"a\",\"image\":\"$ROOT\",\"exec\":[\"cat\",\"/proc/self/mountinfo\"],
 \"mounts\":[{\"volume\":\"v\",\"path\":\"/vol\"},{\"volume\":\"h\",\"path\":\"/h\"},{\"volume\":\"d\",\"path\":\"/d\"}]}" \
	"{\"name\":\"v\",\"kind\":\"empty\"},{\"name\":\"h\",\"kind\":\"host\",\"source\":\"$W/src\"},{\"name\":\"d\",\"kind\":\"empty\",\"dev\":true,\"suid\":true}"
mkdir -p "$W/src"
if expect_exit 0 "$P" run --manifest "$W/mi.json"; then
	opts() { echo "$OUT" | awk -v m="$1" '$5 == m {print $6}'; }
	ok=1
	for m in /vol /h /dev; do
		case ",$(opts $m)," in *,nosuid,*nodev,* | *,nodev,*nosuid,*) ;; *) ok=; echo "$m: $(opts $m)" ;; esac
	done
	case ",$(opts /d)," in *,nosuid,* | *,nodev,*) ok=; echo "/d: $(opts /d)" ;; esac
	[ -n "$ok" ] && t_ok || t_fail "$(for m in /vol /h /dev /d; do printf '%s=%s ' $m "$(opts $m)"; done)"
else t_fail "$ERR"; fi

# =========================================================================
# 4. /proc, /sys, /dev of the image (CVE-2019-16884/19921 class)
# =========================================================================
# busybox's test -w is true for root whatever the mount: look at the mounts.
# WRITABLE unless a read-only proc mount ends in /sys.
SYSRO='awk '"'"'$5 ~ /\/sys$/ && / - proc / && $6 ~ /^ro/ {ro=1} END {if (!ro) print "WRITABLE"}'"'"' /proc/self/mountinfo'
t_begin "control: the check sees a writable /proc/sys (the host's)"
if sh -c "$SYSRO" | grep -q WRITABLE; then t_ok; else t_fail "$(sh -c "$SYSRO")"; fi

t_begin "a symlinked /proc, /sys or /dev in the image is refused with a clear error"
bad=
for d in proc sys dev; do
	RF=$(rootfs_copy "link-$d")
	rm -rf "${RF:?}/$d" && mkdir "$RF/pp" && ln -s /pp "$RF/$d"
	out=$("$P" run "$RF" -- sh -c "$SYSRO" 2>&1)
	rc=$?
	echo "$out" | grep -q WRITABLE && bad="$bad $d:core_pattern-writable"
	{ [ "$rc" -eq 125 ] && echo "$out" | grep -q "/$d is a symlink"; } || bad="$bad $d:not-refused($rc)"
done
[ -z "$bad" ] && t_ok || t_fail "$bad"

t_begin "a default pod: /proc/sys read-only, kcore and /sys/firmware masked"
if expect_exit 0 "$P" run "$ROOT" -- sh -c "$SYSRO"'; ls /sys/firmware | wc -l; ls /sys/devices/virtual/powercap 2>/dev/null | wc -l; [ -e /proc/kcore ] && wc -c </proc/kcore || echo 0' &&
	[ "$(echo "$OUT" | tr '\n' ' ')" = "0 0 0 " ]; then t_ok; else t_fail "got: $OUT"; fi

# =========================================================================
# 5. The caller's terminal (TIOCSTI)
# =========================================================================
if printf '#include <sys/ioctl.h>\n#include <string.h>\nint main(void){const char*s="echo INJECTED\\n";int ok=0;for(int fd=0;fd<3;fd++){int n=0;for(const char*p=s;*p;p++)n+=ioctl(fd,TIOCSTI,p)==0;if(n==(int)strlen(s)){ok=1;break;}}return !ok;}\n' |
	gcc -static -o "$W/sti" -x c - 2>/dev/null && command -v python3 >/dev/null; then
	cp "$W/sti" "$ROOT/bin/sti"
	# In a pty: run CMD, then a "shell" reads a line. Prints that line.
	in_pty() {
		python3 - "$@" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp("sh", ["sh", "-c", '"$@"; echo CMD-DONE; read -r line; echo "GOT:$line"', "sh"] + sys.argv[1:])
out = b""
end = time.time() + 30
while time.time() < end:
    if b"CMD-DONE" in out and end > time.time() + 2:
        end = time.time() + 2  # what was typed is there already: read returns at once
    r, _, _ = select.select([fd], [], [], 0.5)
    if r:
        try:
            d = os.read(fd, 1024)
        except OSError:
            break
        if not d:
            break
        out += d
        if b"GOT:" in out and out.rstrip().endswith(b"INJECTED"):
            break
    else:
        if b"GOT:" not in out and os.waitpid(pid, os.WNOHANG)[0]:
            break
try:
    os.kill(pid, 9)
except OSError:
    pass
sys.stdout.write(out.decode(errors="replace"))
PY
	}
	injected() { printf '%s' "$1" | grep -q 'GOT:echo INJECTED'; }
	t_begin "control: TIOCSTI from a process holding the terminal types into it"
	if injected "$(in_pty "$W/sti")"; then
		t_ok
		t_begin "no app (foreground, --interactive, enter) can type into the caller's terminal"
		bad=
		injected "$(in_pty "$P" run "$ROOT" -- /bin/sti)" && bad="$bad run"
		injected "$(in_pty "$P" run --interactive "$ROOT" -- /bin/sti)" && bad="$bad run-interactive"
		if u=$("$P" run --detach "$ROOT" -- sleep 1000 2>/dev/null); then
			"$P" status --wait-ready=20s "$u" >/dev/null
			injected "$(in_pty "$P" enter "$u" /bin/sti)" && bad="$bad enter"
			pstop "$u"
		else bad="$bad no-pod"; fi
		[ -z "$bad" ] && t_ok || t_fail "injected through:$bad"
	else
		t_begin "TIOCSTI"
		echo "skip: TIOCSTI is disabled on this kernel (dev.tty.legacy_tiocsti=0): nothing to attack"
	fi
	rm -f "$ROOT/bin/sti"
fi

# =========================================================================
# 6. Readiness sockets: another app can't make an app ready
# =========================================================================
# B finds A's socket through /proc/PID/root and sends READY=1 with its own
# STATUS=; then the test waits (bounded) for the pod to become ready.
FORGE='for d in /proc/[0-9]*; do [ "$(readlink $d/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ] && continue;
[ -S $d/root/run/podctl/notify ] && NOTIFY_SOCKET=$d/root/run/podctl/notify /.podctl/notify ready status=forged-by-b; done; true'
t_begin "control: an app's own READY=1 makes it ready"
manifest "$W/n-ctl.json" "{\"name\":\"a\",\"image\":\"$ROOT\",\"statusGoal\":\"READY\",\"exec\":[\"sh\",\"-c\",\"/.podctl/notify ready; exec sleep 1000\"]}"
if u=$("$P" run --detach --manifest "$W/n-ctl.json" 2>"$W/err") && "$P" status --wait-ready=10s "$u" >/dev/null; then
	t_ok
else t_fail "$(cat "$W/err")"; fi
[ -n "${u:-}" ] && pstop "$u"

t_begin "app B reaching app A's notify socket through /proc/PID/root can't mark A ready"
manifest "$W/n.json" "{\"name\":\"a\",\"image\":\"$ROOT\",\"statusGoal\":\"READY\",\"goalTimeout\":\"0\",\"exec\":[\"sleep\",\"1000\"]},
 {\"name\":\"b\",\"image\":\"$ROOT\",\"exec\":[\"sh\",\"-c\",$(json_str "$FORGE; echo sent; exec sleep 1000")]}"
if u=$("$P" run --detach --manifest "$W/n.json" 2>"$W/err"); then
	timeout -k 5 20 "$P" logs --app=b --follow "$u" 2>/dev/null | grep -m1 -q sent
	# the forged READY=1 was handled before b's podctl-notify returned
	if "$P" status --wait-ready=1s "$u" >/dev/null 2>&1 || "$P" status "$u" | grep -q forged-by-b; then
		t_fail "B made A ready: $("$P" status "$u")"
	elif ! grep -q notify-rejected "$PODCTL_DIR/pods/run/$u/events" 2>/dev/null; then
		t_fail "the forged datagram was not counted"
	else t_ok; fi
	pstop "$u"
else t_fail "$(cat "$W/err")"; fi

t_end
