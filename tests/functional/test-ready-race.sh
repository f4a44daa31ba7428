#!/bin/bash
# A short run of the lost-wake-up stress (tests/stress/ready-race.sh; `make
# stress` runs 2000 trials): waiters of `status --wait-ready` and the app's
# READY=1 at random relative phases; no waiter may time out.
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

t_begin "ready race (100 trials, 200 waiters at random phases): no lost wake-up"
t_stress ready-race.sh '^ready-race: [0-9]' ' 0 lost, 0 failed' --trials=100
t_end
