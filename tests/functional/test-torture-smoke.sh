#!/bin/bash
# A short run of the torture test (tests/stress/torture.sh; `make stress`
# runs it for 10 minutes): workers on every verb, SIGKILL at random, and in
# the end no inconsistency and no leak.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

t_begin "torture smoke (20 s): no inconsistency, no leak"
t_stress torture.sh '^torture:' 'inconsistencies 0, leaks 0' --duration=20 --workers=3
t_end
