#!/bin/bash
# CNI networking (Documentation/networking.md): --net=default and named
# networks, --publish, /etc/hosts and resolv.conf, DEL on stop, on exit and
# by gc/rm after a SIGKILLed stage1, clear errors for bad conflists, the
# host-isolation rule, hostile network names.
#
# Nothing here touches the host's network: the file re-runs itself in a
# network and mount namespace of its own (unshare --net --mount), with its
# own loopback, its own podctl0 bridge and iptables tables, and a tmpfs over
# /var/lib so host-local's leases (/var/lib/cni/networks) are private too.
# All of it goes with the namespaces when the file ends, failed or not.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
if [ -z "${PODCTL_TEST_CNI_NS:-}" ] && [ "$(id -u)" -eq 0 ] &&
	unshare --net --mount --propagation private true 2>/dev/null; then
	PODCTL_TEST_CNI_NS=1 exec unshare --net --mount --propagation private -- bash "$0" "$@"
fi
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"
[ -n "${PODCTL_TEST_CNI_NS:-}" ] || t_skip "needs unshare --net --mount (root)"

CNI=${PODCTL_CNI_PATH:-/usr/lib/cni}
for p in bridge host-local portmap firewall; do
	[ -x "$CNI/$p" ] || t_skip "no CNI plugin $CNI/$p (Debian containernetworking-plugins)"
done
command -v iptables-save >/dev/null || t_skip "no iptables"
command -v curl >/dev/null || t_skip "no curl"
ip link set lo up || t_skip "cannot bring up lo in the test's net ns"
mount -t tmpfs -o mode=0755 tmpfs /var/lib || t_skip "cannot mount a tmpfs on /var/lib in the test's mount ns"
IPAM=/var/lib/cni/networks/podctl

ROOT=$(t_rootfs)
mkdir -p "$ROOT/www"
CFG="$T_SCRATCH/cni"
export PODCTL_CNI_CONFIG_DIR="$CFG"
# The host's resolv.conf, as the pods should see it: a loopback resolver
# (useless in a pod) and a real one.
printf 'nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.test\n' >"$T_SCRATCH/resolv.conf"
mount --bind "$T_SCRATCH/resolv.conf" /etc/resolv.conf

# A pod serving "$2" over HTTP on 8080, ready once httpd listens.
# shellcheck disable=SC2317 # called through expect_exit
serve() {
	local name=$1 text=$2
	shift 2
	"$PODCTL" run --detach --wait-ready=30s --status-goal=READY --net=default --name "$name" "$@" "$ROOT" -- \
		sh -c "echo $text > /www/index.html; httpd -p 8080 -h /www && /.podctl/notify ready; exec sleep 100000"
}
pod_ip() { "$PODCTL" status "$1" | awk '$1 == "ips" { sub(/\/.*/, "", $2); print $2 }'; }
# GET / from inside pod $1 (busybox nc; the body only).
pod_get() { "$PODCTL" enter "$1" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 $2 $3" 2>/dev/null | sed '1,/^\r*$/d'; }
get() { curl -s --noproxy '*' --max-time 5 "$1"; }
# Every trace a pod on the default network leaves: an IP lease, a host-side
# veth, an iptables rule naming it (portmap, firewall, podctl's own).
leases() { find "$IPAM" -name '10.*' 2>/dev/null | wc -l; }
veths() { ip -o link show type veth | wc -l; }
rules_of() { iptables-save | grep -cE -- "$1"; }
# (portmap's and bridge's per-pod chains are named by a hash: counted too)
no_traces() { # UUID IP
	local l v r c
	l=$(leases) v=$(veths) r=$(rules_of "$1|$2/32") c=$(rules_of '^:CNI-(DN-)?[0-9a-f]{12,} ')
	[ "$l" -eq 0 ] && [ "$v" -eq 0 ] && [ "$r" -eq 0 ] && [ "$c" -eq 0 ] && return 0
	echo "leases $l, veths $v, rules $r, per-pod chains $c" >&2
	iptables-save | grep -E '^:CNI-(DN-)?[0-9a-f]{12,} |'"$1|$2/32" >&2
	return 1
}

t_begin "--net=default writes the podctl conflist on first use; two pods get their own IPs"
if expect_exit 0 serve web-a pod-a -p 18080:8080 && A=$OUT &&
	expect_exit 0 serve web-b pod-b --publish 18081:8080 && B=$OUT &&
	grep -q '"bridge": "podctl0"' "$CFG/podctl.conflist" &&
	IPA=$(pod_ip "$A") && IPB=$(pod_ip "$B") && [ -n "$IPA" ] && [ -n "$IPB" ] && [ "$IPA" != "$IPB" ] &&
	[ "$(leases)" -eq 2 ]; then
	t_ok
else
	t_fail "A=$A ($IPA) B=$B ($IPB) err: $ERR; leases $(leases)"
fi

t_begin "both pods serve on port 8080, each reached through its IP"
if [ "$(get "http://$IPA:8080/")" = pod-a ] && [ "$(get "http://$IPB:8080/")" = pod-b ]; then
	t_ok
else
	t_fail "a: $(get "http://$IPA:8080/") b: $(get "http://$IPB:8080/")"
fi

t_begin "published ports 18080 and 18081 reach them from the host (bridge address and 127.0.0.1)"
GW=$(ip -4 -o addr show podctl0 | awk '{ sub(/\/.*/, "", $4); print $4 }')
if [ "$(get "http://$GW:18080/")" = pod-a ] && [ "$(get "http://$GW:18081/")" = pod-b ] &&
	[ "$(get "http://127.0.0.1:18081/")" = pod-b ]; then
	t_ok
else
	t_fail "gw $GW: $(get "http://$GW:18080/") / $(get "http://$GW:18081/") / lo $(get "http://127.0.0.1:18081/")"
fi

t_begin "pod A reaches pod B by IP"
if out=$(pod_get "$A" "$IPB" 8080) && [ "$out" = pod-b ]; then
	t_ok
else
	t_fail "got: $out"
fi

t_begin "podctl port lists the published port; status and list --format=json show the IPs"
if [ "$("$PODCTL" port "$A")" = "8080/tcp -> 0.0.0.0:18080" ] &&
	"$PODCTL" status "$A" | grep -qE "^ips +$IPA/16" &&
	"$PODCTL" list --format=json | grep -q "\"$IPB/16\""; then
	t_ok
else
	t_fail "port: $("$PODCTL" port "$A"); status: $("$PODCTL" status "$A" | grep ips)"
fi

t_begin "/etc/hosts names the pod with its IP, resolv.conf is the host's without its loopback resolver"
hosts=$("$PODCTL" enter "$A" cat /etc/hosts)
resolv=$("$PODCTL" enter "$A" cat /etc/resolv.conf)
if echo "$hosts" | grep -qE "^${IPA}[[:space:]]+web-a\$" && [ "$("$PODCTL" enter "$A" cat /etc/hostname)" = web-a ] &&
	echo "$resolv" | grep -qx 'nameserver 192.0.2.53' && echo "$resolv" | grep -qx 'search example.test' &&
	! echo "$resolv" | grep -q 127.0.0.53; then
	t_ok
else
	t_fail "hosts: $hosts resolv: $resolv"
fi

t_begin "a network whose result carries DNS: resolv.conf is that, not the host's"
mkdir -p "$T_SCRATCH/cni3"
cat >"$T_SCRATCH/cni3/dns.conflist" <<'EOF'
{"cniVersion": "1.0.0", "name": "dnsnet", "plugins": [
  {"type": "bridge", "bridge": "podctl9", "isGateway": true,
   "dns": {"nameservers": ["192.0.2.99"], "search": ["pods.test"], "options": ["ndots:2"]},
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.98.0.0/24"}]],
            "dataDir": "/var/lib/cni/test-dnsnet"}}]}
EOF
if expect_exit 0 "$PODCTL" run --cni-config-dir="$T_SCRATCH/cni3" --net=dnsnet "$ROOT" -- cat /etc/resolv.conf &&
	[ "$OUT" = "$(printf 'nameserver 192.0.2.99\nsearch pods.test\noptions ndots:2')" ] &&
	[ -z "$(find /var/lib/cni/test-dnsnet -name '10.*')" ]; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "keepEtcFiles keeps the image's /etc/hosts"
echo "192.0.2.9 from-image" >"$ROOT/etc/hosts"
cat >"$T_SCRATCH/keep.json" <<EOF
{"version": 1, "net": "default", "keepEtcFiles": true,
 "apps": [{"name": "a", "image": "$ROOT", "exec": ["cat", "/etc/hosts"]}]}
EOF
if expect_exit 0 "$PODCTL" run --manifest "$T_SCRATCH/keep.json" && [ "$OUT" = "192.0.2.9 from-image" ]; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi
rm -f "$ROOT/etc/hosts"

t_begin "a pod cannot open connections to the host itself (a service on the bridge address)"
mkdir -p "$T_SCRATCH/hostwww" && echo host-secret >"$T_SCRATCH/hostwww/index.html"
busybox httpd -p "$GW:9999" -h "$T_SCRATCH/hostwww"
if [ "$(get "http://$GW:9999/")" = host-secret ] &&
	[ -z "$(pod_get "$A" "$GW" 9999)" ]; then
	t_ok
else
	t_fail "the host's service answered the pod, or not the host"
fi

t_begin "…and it is podctl's rule that stops it: without the rule the pod gets in"
# (every pod's: each pod on the bridge also rejects the bridge as a whole)
iptables -S INPUT | grep -- '--comment "podctl pod ' | sed 's/^-A /-D /' >"$T_SCRATCH/rules"
while read -r rule; do eval "iptables $rule"; done <"$T_SCRATCH/rules"
if [ -s "$T_SCRATCH/rules" ] && [ "$(rules_of 'podctl pod')" -eq 0 ] &&
	[ "$(pod_get "$A" "$GW" 9999)" = host-secret ]; then
	t_ok
else
	t_fail "could not remove the rule, or the pod still could not connect"
fi

t_begin "…nor by taking another source address (NET_ADMIN in the pod: the rule is on the bridge, not the IP)"
S=""
out=$(expect_exit 0 serve spoof s --cap-add=NET_ADMIN && S=$OUT && echo "$S" >"$T_SCRATCH/spoof" &&
	"$PODCTL" enter "$S" sh -c "ip addr add 10.89.200.200/16 dev eth0 &&
		ip route replace $GW dev eth0 src 10.89.200.200 &&
		printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 5 $GW 9999" 2>/dev/null)
S=$(cat "$T_SCRATCH/spoof" 2>/dev/null)
if [ -n "$S" ] && ! echo "$out" | grep -q host-secret; then
	t_ok
else
	t_fail "the pod reached the host's service with a spoofed address (pod $S): $out"
fi

# A pod with NET_ADMIN can make the bridge plugin's DEL fail (it reads the
# addresses to unmasquerade from inside the pod): stop leaves net/attached,
# status says why, and rm (or gc) runs DEL again, which then finds the link
# gone.
t_begin "…and after such a pod, status shows the failed DEL; rm then leaves no lease and no rule of it"
IPS=$(awk '$1 == "ips" { sub(/\/.*/, "", $2); print $2 }' <<<"$("$PODCTL" status "$S" 2>/dev/null)")
if [ -n "$S" ] && expect_exit 0 "$PODCTL" stop "$S" &&
	"$PODCTL" status "$S" | grep -q '^net-error .*plugin bridge: DEL: ' && expect_exit 0 "$PODCTL" rm "$S" &&
	[ "$(rules_of "$S|$IPS/32")" -eq 0 ] && [ ! -e "$IPAM/$IPS" ] && ! grep -q "$S" /proc/self/mountinfo; then
	t_ok
else
	t_fail "pod $S ($IPS): rules $(rules_of "$S|$IPS/32"), err: $ERR"
fi

t_begin "--net=none pods still see only loopback"
if expect_exit 0 "$PODCTL" run --net=none "$ROOT" -- ip -o link && [ "$(echo "$OUT" | wc -l)" -eq 1 ] &&
	echo "$OUT" | grep -q ': lo:'; then
	t_ok
else
	t_fail "links: $OUT"
fi

t_begin "stop: the veth, the IP lease and every rule naming the pod are gone"
if expect_exit 0 "$PODCTL" stop "$A" "$B" && no_traces "$A|$B" "$IPA/32|$IPB"; then
	t_ok
else
	t_fail "$ERR"
fi

t_begin "an app that exits ends the pod and detaches it"
if expect_exit 0 "$PODCTL" run --net=default -p 18082:80 "$ROOT" -- sh -c 'ip -4 -o addr show eth0' &&
	echo "$OUT" | grep -q 'inet 10\.89\.' && no_traces "18082" "10.89.0.9/32"; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

# stage1 SIGKILLed: nothing ran DEL; gc (and rm) must.
stage1_pid() { sed -n 's/.*"stage1Pid":\([0-9]*\).*/\1/p' "$1"; }
kill_stage1() { # UUID
	local s
	s=$(stage1_pid "$PODCTL_DIR/pods/run/$1/pid")
	[ -n "$s" ] && kill -9 "$s" && "$PODCTL" status --wait=10s "$1" >/dev/null
}
t_begin "stage1 SIGKILLed: the lease stays until gc, which runs DEL and frees the IP"
if expect_exit 0 serve crash-a x && C=$OUT && IPC=$(pod_ip "$C") && kill_stage1 "$C" &&
	[ "$(leases)" -eq 1 ] && expect_exit 0 "$PODCTL" gc && no_traces "$C" "$IPC" &&
	! grep -q "$C" /proc/self/mountinfo; then
	t_ok
else
	t_fail "C=$C ip $IPC leases $(leases) err: $ERR"
fi

t_begin "stage1 SIGKILLed: rm runs DEL as well"
if expect_exit 0 serve crash-b x && D=$OUT && IPD=$(pod_ip "$D") && kill_stage1 "$D" &&
	[ "$(leases)" -eq 1 ] && expect_exit 0 "$PODCTL" rm "$D" && no_traces "$D" "$IPD" &&
	[ ! -e "$PODCTL_DIR/pods/garbage/$D" ]; then
	t_ok
else
	t_fail "D=$D leases $(leases) err: $ERR"
fi

# Broken configurations: one line naming what is wrong, and nothing changed.
printf '{"cniVersion": "1.0.0", "name": "broken", "plugins": [' >"$CFG/broken.conflist"
printf '{"cniVersion": "1.0.0", "name": "empty", "plugins": []}\n' >"$CFG/empty.conflist"
printf '{"cniVersion": "1.0.0", "name": "noplugin", "plugins": [{"type": "nosuchplugin"}]}\n' >"$CFG/noplugin.conflist"
printf '{"cniVersion": "1.0.0", "name": "escape", "plugins": [{"type": "../../bin/sh"}]}\n' >"$CFG/escape.conflist"
# shellcheck disable=SC2317 # called through t_check
bad_net() { # NET EXIT WORDS…
	local net=$1 code=$2 before after
	shift 2
	before=$(store_snapshot)
	expect_exit "$code" "$PODCTL" run --net="$net" "$ROOT" -- true || return 1
	after=$(store_snapshot)
	one_line || { echo "not one line: $ERR" >&2; return 1; }
	for w in "$@"; do
		echo "$ERR" | grep -qF -- "$w" || { echo "no \"$w\" in: $ERR" >&2; return 1; }
	done
	[ "$before" = "$after" ] || { echo "the store changed" >&2; return 1; }
	[ "$(veths)" -eq 0 ] && [ "$(leases)" -eq 0 ]
}
t_check "a conflist that is not JSON: one line, nothing changed" bad_net broken 3 "network broken" "broken.conflist" "not valid JSON"
t_check "a conflist without plugins: one line, nothing changed" bad_net empty 1 "network empty" "plugins"
t_check "a missing plugin: one line naming it, nothing changed" bad_net noplugin 1 "plugin nosuchplugin not found" "$CNI"
t_check "a plugin type that is a path is refused" bad_net escape 1 "bad plugin type"
t_check "an unknown network: one line, nothing changed" bad_net nosuch 3 "network nosuch" "no conflist"

t_begin "a plugin that fails at ADD: the pod does not start, the error names the plugin, nothing is left"
mkdir -p "$T_SCRATCH/cni2"
printf '{"cniVersion": "1.0.0", "name": "badipam", "plugins": [{"type": "bridge", "bridge": "bad0", "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.99.0.0/33"}]]}}]}\n' \
	>"$T_SCRATCH/cni2/badipam.conflist"
# (125: stage1 failed, as for any pod that could not start in the foreground)
if expect_exit 125 "$PODCTL" run --cni-config-dir="$T_SCRATCH/cni2" --net=badipam "$ROOT" -- true && one_line &&
	echo "$ERR" | grep -q "network badipam: plugin bridge: ADD: " && [ "$(veths)" -eq 0 ] &&
	! grep -q '/net/netns ' /proc/self/mountinfo; then
	t_ok
else
	t_fail "err: $ERR; veths $(veths)"
fi

t_begin "a hostile manifest cannot name a path as its network; --net refuses one too"
before=$(store_snapshot)
printf '{"version": 1, "net": "../../etc", "apps": [{"name": "a", "image": "%s"}]}\n' "$ROOT" >"$T_SCRATCH/hostile.json"
if expect_exit 1 "$PODCTL" prepare --manifest "$T_SCRATCH/hostile.json" && one_line &&
	echo "$ERR" | grep -q 'net: expected' &&
	expect_exit 2 "$PODCTL" run --net=../../etc "$ROOT" -- true && one_line &&
	[ "$before" = "$(store_snapshot)" ]; then
	t_ok
else
	t_fail "err: $ERR"
fi

t_begin "published ports need a CNI network"
if expect_exit 1 "$PODCTL" run -p 1:1 "$ROOT" -- true && one_line && echo "$ERR" | grep -q "need a CNI network"; then
	t_ok
else
	t_fail "err: $ERR"
fi

t_end
