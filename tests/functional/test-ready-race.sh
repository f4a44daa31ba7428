#!/bin/bash
# A short run of the lost-wake-up stress (tests/stress/ready-race.sh; `make
# stress` runs 2000 trials): waiters of `status --wait-ready` and the app's
# READY=1 at random relative phases; no waiter may time out.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

t_begin "ready race (100 trials, 200 waiters at random phases): no lost wake-up"
out=$(BUILDDIR=$BUILDDIR PODCTL_STAGE1=$STAGE1 bash "$(dirname "$0")/../stress/ready-race.sh" --trials=100 2>&1)
rc=$?
summary=$(grep '^ready-race: [0-9]' <<<"$out")
echo "# $summary"
if [ $rc -eq 0 ] && grep -q ' 0 lost, 0 failed' <<<"$summary"; then
	t_ok
elif [ $rc -eq 77 ]; then
	t_skip "busybox-static is not installed"
else
	t_fail "$(tail -20 <<<"$out")"
fi
t_end
