#!/bin/bash
# Exit codes and what the waits say (issue 11, bugs 4-6, re-verified): a pod
# that exits before it is ready, status --wait's JSON, and --wait-ready that
# times out in run-prepared as in run. Every wait is on an event.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

P=$PODCTL
ROOT=$(t_rootfs)
# never ready (no notify) and no goal timeout: --wait-ready can only time out
cat >"$T_SCRATCH/never.json" <<EOF
{"version": 1, "apps": [{"name": "w", "image": "$ROOT", "exec": ["sleep", "1000"],
  "statusGoal": "READY", "goalTimeout": "0"}]}
EOF
# exits 3 before it could be ready
cat >"$T_SCRATCH/fails.json" <<EOF
{"version": 1, "apps": [{"name": "w", "image": "$ROOT", "exec": ["sh", "-c", "exit 3"],
  "statusGoal": "READY"}]}
EOF

t_begin "run --detach --wait-ready of a pod that exits before ready: exit 1, the reason and code in one line"
if expect_exit 1 "$P" run --detach --wait-ready=20s --manifest "$T_SCRATCH/fails.json" && U=$OUT && one_line &&
	[[ $ERR == *"exited without becoming ready"*"code 3"* ]] && [ -n "$U" ]; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "status --wait-ready of an exited pod: exit 1 with its code; status --wait: exit 0, JSON has code and reason"
if expect_exit 1 "$P" status --wait-ready=5s "$U" && one_line && [[ $ERR == *"code 3"* ]] &&
	expect_exit 0 "$P" status --wait=5s --format=json "$U" && [[ $OUT == *'"exitCode": 3'* ]] &&
	[[ $OUT == *'"exitReason": "app-failed"'* ]] &&
	expect_exit 0 "$P" wait "$U" && [ "$OUT" = 3 ]; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi

t_begin "run-prepared --detach --wait-ready that times out: exit 4, says the pod is still running (and it is)"
if expect_exit 0 "$P" prepare --manifest "$T_SCRATCH/never.json" && N=$OUT &&
	expect_exit 4 "$P" run-prepared --detach --wait-ready=1s "$N" && one_line &&
	[[ $ERR == *"still running"*"podctl stop"* ]] &&
	"$P" status --format=json "$N" | grep -q '"state": "running"'; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi
"$P" stop --force "$N" >/dev/null 2>&1

t_begin "wait --for=ready that times out: exit 4, one line; the pod runs on"
if expect_exit 0 "$P" run --detach --manifest "$T_SCRATCH/never.json" && N2=$OUT &&
	expect_exit 4 "$P" wait --for=ready --timeout=1s "$N2" && one_line &&
	"$P" status --format=json "$N2" | grep -q '"state": "running"'; then
	t_ok
else
	t_fail "out: $OUT err: $ERR"
fi
"$P" stop --force "$N2" >/dev/null 2>&1

t_end
