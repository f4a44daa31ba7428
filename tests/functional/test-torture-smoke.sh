#!/bin/bash
# A short run of the torture test (tests/stress/torture.sh; `make stress`
# runs it for 10 minutes): workers on every verb, SIGKILL at random, and in
# the end no inconsistency and no leak.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

t_begin "torture smoke (20 s): no inconsistency, no leak"
out=$(BUILDDIR=$BUILDDIR PODCTL_STAGE1=$STAGE1 bash "$(dirname "$0")/../stress/torture.sh" --duration=20 --workers=3 2>&1)
rc=$?
summary=$(grep '^torture:' <<<"$out")
echo "# $summary"
if [ $rc -eq 0 ] && grep -q 'inconsistencies 0, leaks 0' <<<"$summary"; then
	t_ok
elif [ $rc -eq 77 ]; then
	t_skip "busybox-static is not installed"
else
	t_fail "$(tail -20 <<<"$out")"
fi
t_end
