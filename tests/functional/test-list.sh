#!/bin/bash
# podctl list / status: ready and healthy beside the state come from one
# library view (ps_pod_inspect), so list --format=json and status agree:
# a running pod with a failed app, or a failing liveness probe, is not
# healthy in either. Every wait is on an event (podctl wait).
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(t_rootfs)
DATA="$T_SCRATCH/data"
mkdir -p "$DATA"

# manifest NAME APPS_JSON: a pod with /data (host volume $DATA) in every app.
manifest() {
	cat >"$T_SCRATCH/$1.json" <<-JSON
	{"version": 1,
	 "volumes": [{"name": "data", "kind": "host", "source": "$DATA"}],
	 "apps": $2}
	JSON
	echo "$T_SCRATCH/$1.json"
}
app() {
	printf '{"name": "%s", "image": "%s", "exec": %s, "mounts": [{"volume": "data", "path": "/data"}]%s}' \
		"$1" "$ROOT" "$2" "${3:+, $3}"
}
# list_field UUID KEY: the value of KEY in the pod's object of list --format=json.
list_field() {
	"$PODCTL" list --format=json | awk -v u="\"$1\"," -v key="\"$2\":" '
		$1 == "\"uuid\":" { cur = $2 }
		cur == u && $1 == key { v = $2; sub(/,$/, "", v); print v; exit }'
}

t_begin "a running pod whose app exited with a failure: list --format=json says healthy false"
m=$(manifest failed "[$(app web '["sleep", "1000"]'), $(app bad '["sh", "-c", "exit 3"]')]")
if expect_exit 0 "$PODCTL" run --detach --manifest "$m"; then
	U1=$OUT
	if expect_exit 0 "$PODCTL" wait --for=unhealthy --timeout=20s "$U1" &&
		[ "$(list_field "$U1" state)" = '"running"' ] && [ "$(list_field "$U1" healthy)" = false ] &&
		"$PODCTL" status "$U1" | grep -q "healthy *false"; then
		t_ok
	else
		t_fail "list: $("$PODCTL" list --format=json) status: $("$PODCTL" status "$U1")"
	fi
	"$PODCTL" stop --force "$U1" >/dev/null
else
	t_fail "run failed"
fi

t_begin "a running pod whose liveness probe fails: list --format=json says healthy false"
# Killed for it and waiting out a long restart back-off: the pod runs on.
m=$(manifest liveness "[$(app web '["sleep", "1000"]' '"restartPolicy": "always",
	"restartBackoff": {"initial": "10m", "max": "10m"},
	"livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}')]")
if expect_exit 0 "$PODCTL" run --detach --manifest "$m"; then
	U2=$OUT
	if expect_exit 0 "$PODCTL" wait --for=unhealthy --timeout=20s "$U2" &&
		[ "$(list_field "$U2" state)" = '"running"' ] && [ "$(list_field "$U2" healthy)" = false ] &&
		"$PODCTL" status --format=json "$U2" | grep -q '"liveness": "failing"'; then
		t_ok
	else
		t_fail "list: $("$PODCTL" list --format=json) status: $("$PODCTL" status "$U2")"
	fi
	"$PODCTL" stop --force "$U2" >/dev/null
else
	t_fail "run failed"
fi

t_begin "a healthy running pod: healthy true and ready in list and status; an exited one is not healthy"
if expect_exit 0 "$PODCTL" run --detach --wait-ready=20s "$ROOT" -- sleep 1000 && U3=$OUT &&
	[ "$(list_field "$U3" healthy)" = true ] && [ "$(list_field "$U3" ready)" = true ] &&
	[ -n "$(list_field "$U3" pid)" ] &&
	expect_exit 0 "$PODCTL" stop "$U3" && [ "$(list_field "$U3" healthy)" = false ] &&
	[ "$(list_field "$U3" exitReason)" = '"stopped"' ]; then
	t_ok
else
	t_fail "list: $("$PODCTL" list --format=json)"
fi

t_begin "list text stays one line per pod without health work"
if out=$("$PODCTL" list --no-legend) && [ "$(printf '%s\n' "$out" | wc -l)" -eq 3 ]; then
	t_ok
else
	t_fail "$out"
fi

t_begin "list text has READY and EXIT columns: yes/no for running pods, the exit code of exited ones"
# columns of the pod's line: UUID NAME STATE READY EXIT CREATED
list_cols() { "$PODCTL" list --no-legend --full | awk -v u="$1" '$1 == u { print $3, $4, $5 }'; }
m=$(manifest notready "[$(app web '["sleep", "1000"]' '"statusGoal": "READY", "goalTimeout": "0"')]")
if expect_exit 0 "$PODCTL" run --detach --wait-ready=20s "$ROOT" -- sleep 1000 && R1=$OUT &&
	expect_exit 0 "$PODCTL" run --detach --manifest "$m" && R2=$OUT &&
	expect_exit 0 "$PODCTL" run --detach "$ROOT" -- sh -c 'exit 3' && R3=$OUT &&
	expect_exit 0 "$PODCTL" wait --timeout=20s "$R3" &&
	[ "$(list_cols "$R1")" = "running yes -" ] && [ "$(list_cols "$R2")" = "running no -" ] &&
	[ "$(list_cols "$R3")" = "exited - 3" ] &&
	[ "$(list_cols "$U3")" = "exited - $(list_field "$U3" exitCode)" ] &&
	"$PODCTL" list | head -1 | grep -q "^UUID *NAME *STATE *READY *EXIT *CREATED$" &&
	[ "$("$PODCTL" list --no-legend | awk -v u="${R3:0:8}" '$1 == u { print $3, $4, $5 }')" = "exited - 3" ]; then
	t_ok
else
	t_fail "list: $("$PODCTL" list --full)"
fi
"$PODCTL" stop --force "$R1" "$R2" >/dev/null 2>&1

t_end
