#!/bin/bash
# Everyday use from a shell and from scripts: waits that give exit codes,
# messages that say what became of a pod, the verbs' rough edges.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

P=$PODCTL
ROOT=$(t_rootfs)

t_begin "wait (default: exited) prints each pod's exit code in order and exits 0"
a=$("$P" run --detach "$ROOT" -- sh -c 'exit 3')
b=$("$P" run --detach "$ROOT" -- sh -c 'read -t 0.3 x </dev/zero; exit 5')
if expect_exit 0 "$P" wait "$b" "$a" && [ "$(printf '%s\n' "$OUT" | tr '\n' ' ')" = "5 3 " ]; then
	t_ok
else
	t_fail "out \"$OUT\" err $ERR"
fi

t_begin "wait --any: the uuid of the first pod to exit, and its code"
c=$("$P" run --detach "$ROOT" -- sleep 1000)
if expect_exit 0 "$P" wait --any "$c" "$a" && [ "$OUT" = "$a 3" ]; then
	t_ok
else
	t_fail "out \"$OUT\" err $ERR"
fi

t_begin "wait of a pod whose stage1 was killed: 137"
s1=$(pgrep -f "podctl-stage1.*$c" | head -1)
if [ -n "$s1" ] && kill -9 "$s1" && expect_exit 0 "$P" wait "$c" && [ "$OUT" = 137 ]; then
	t_ok
else
	t_fail "stage1 $s1, out \"$OUT\" err $ERR"
fi

t_begin "run --detach --wait-ready that times out: exit 4, and says the pod is still running"
if expect_exit 4 "$P" run --detach --wait-ready=300ms --status-goal=READY "$ROOT" -- sleep 1000 &&
	one_line && echo "$ERR" | grep -q "still running" &&
	u=$(printf '%s\n' "$OUT" | head -1) && "$P" status "$u" | grep -q running; then
	"$P" stop --force "$u" >/dev/null
	t_ok
else
	t_fail "out \"$OUT\" err $ERR"
fi

t_begin "run-prepared of an exited pod says it is exited, not running"
if expect_exit 1 "$P" run-prepared "$a" && one_line && echo "$ERR" | grep -q "is exited, not prepared"; then
	t_ok
else
	t_fail "$ERR"
fi

t_end
