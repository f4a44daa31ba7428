#!/bin/bash
# Pod names as handles: unique among pods not yet collected, accepted by every
# verb that takes a uuid, freed by rm and gc, and kept unique by racing runs.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

P=$PODCTL
ROOT=$(t_rootfs)

t_begin "a second run --name web while web exists: exit 1, one line naming the first pod"
# No --wait-ready: enter (below) waits for the starting app itself.
if U=$("$P" run --detach --name web "$ROOT" -- sleep 1000) &&
	expect_exit 1 "$P" run --detach --name web "$ROOT" -- sleep 1000 && one_line &&
	echo "$ERR" | grep -q "$U" &&
	[ "$(find "$PODCTL_DIR/pods" -mindepth 2 -maxdepth 2 | wc -l)" -eq 1 ]; then
	t_ok
else
	t_fail "uuid $U, err: $ERR"
fi

t_begin "status, cat-manifest, logs, enter, stop, wait and rm take the name"
refused=""
"$P" status web | grep -q "$U" || refused="$refused status"
"$P" cat-manifest web | grep -q '"web"' || refused="$refused cat-manifest"
[ "$("$P" enter web hostname 2>/dev/null)" = web ] || refused="$refused enter"
"$P" logs web >/dev/null || refused="$refused logs"
"$P" stop web >/dev/null || refused="$refused stop"
"$P" wait --for=exited web >/dev/null || refused="$refused wait"
"$P" status web | grep -q exited || refused="$refused status-after-stop"
"$P" rm web || refused="$refused rm"
if [ -z "$refused" ] && expect_exit 3 "$P" status web; then t_ok; else t_fail "refused the name:$refused"; fi

t_begin "after rm the name is free again; after gc too"
if U2=$("$P" run --name web --uuid-file-save="$T_SCRATCH/u2" "$ROOT" -- true >/dev/null &&
	cat "$T_SCRATCH/u2") && [ "$U2" != "$U" ] && "$P" status web | grep -q "$U2" &&
	"$P" gc --grace-period=0 >/dev/null && "$P" gc --grace-period=0 >/dev/null &&
	"$P" run --name web "$ROOT" -- true; then
	t_ok
else
	t_fail "name not freed: $("$P" list 2>&1)"
fi

t_begin "an exact name wins over a uuid prefix"
"$P" rm web >/dev/null 2>&1
"$P" gc --grace-period=0 >/dev/null 2>&1
"$P" gc --grace-period=0 >/dev/null 2>&1
Ub=$("$P" prepare --name cafe "$ROOT" -- true)
Uc=$(for _ in $(seq 50); do
	u=$("$P" prepare "$ROOT" -- true)
	case $u in cafe*) echo "$u"; break ;; *) "$P" rm "$u" >/dev/null ;; esac
done)
if [ "$("$P" status --format=json cafe | grep -o "$Ub")" = "$Ub" ]; then
	t_ok
else
	t_fail "status cafe did not name $Ub (other: $Uc)"
fi

t_begin "racing prepares of one name: exactly one wins, every loser made no pod"
"$P" rm cafe >/dev/null 2>&1
[ -n "$Uc" ] && "$P" rm "$Uc" >/dev/null 2>&1
before=$(find "$PODCTL_DIR/pods" -mindepth 2 -maxdepth 2 | wc -l)
pids=()
for i in $(seq 8); do
	"$P" prepare --name race "$ROOT" -- true >"$T_SCRATCH/race.$i" 2>/dev/null &
	pids+=($!)
done
wins=0
for pid in "${pids[@]}"; do wait "$pid" && wins=$((wins + 1)); done
after=$(find "$PODCTL_DIR/pods" -mindepth 2 -maxdepth 2 -not -path '*/garbage/*' | wc -l)
if [ $wins -eq 1 ] && [ $((after - before)) -eq 1 ]; then
	t_ok
else
	t_fail "$wins winners, $((after - before)) new pods"
fi

t_begin "a name that is no valid name is refused before anything is made"
before=$(store_snapshot)
if expect_exit 2 "$P" prepare --name "Bad/Name" "$ROOT" -- true ||
	expect_exit 1 "$P" prepare --name "Bad/Name" "$ROOT" -- true; then
	[ "$before" = "$(store_snapshot)" ] && t_ok || t_fail "the store changed"
else
	t_fail "$ERR"
fi

t_end
