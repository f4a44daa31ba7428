#!/bin/bash
# A data dir, pods/ dir or pod dir made by someone else is refused (issue 9,
# finding 7): an unprivileged user who creates them first must not get root's
# prepare/run-prepared/run to run a manifest they planted. The planted pod
# has a host volume and writes a marker on the host; the same pod in a
# store root owns runs and writes it, so the marker would show an escape.
# shellcheck disable=SC2016 # $… in single quotes is expanded by the pod's shell
# shellcheck source=tests/functional/lib.sh
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || t_skip "setpriv (util-linux) is not installed"
ROOT=$(t_rootfs)
NOBODY=65534
# nobody must reach a place of its own under the scratch dir: a sticky,
# world-writable dir like /tmp.
chmod 711 "$T_SCRATCH"
PUB="$T_SCRATCH/pub"
mkdir -m 1777 "$PUB"
HOSTOUT="$T_SCRATCH/hostout"
mkdir -m 755 "$HOSTOUT"
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }

# A prepared pod whose app writes $HOSTOUT/escaped through a host volume,
# made in a scratch store by root, then copied wherever a test plants it.
cat >"$T_SCRATCH/evil.json" <<JSON
{"version": 1, "name": "evil",
 "volumes": [{"name": "host", "kind": "host", "source": "$HOSTOUT"}],
 "apps": [{"name": "app", "image": "$ROOT", "exec": ["sh", "-c", "echo pwned >/host/escaped"],
           "mounts": [{"volume": "host", "path": "/host"}]}]}
JSON
SEED="$T_SCRATCH/seed"
chmod 755 "$ROOT" "$ROOT/bin" 2>/dev/null
UUID=$(PODCTL_DIR=$SEED "$PODCTL" prepare --manifest "$T_SCRATCH/evil.json") || t_skip "cannot prepare the seed pod"

# plant DIR WHAT: a copy of the seed store at DIR, with WHAT (store, pods,
# poddir or none) handed to nobody.
plant() {
	rm -rf "$1"
	cp -a "$SEED" "$1"
	case $2 in
	store) chown -R $NOBODY:$NOBODY "$1" ;;
	pods) chown -R $NOBODY:$NOBODY "$1/pods" ;;
	poddir) chown -R $NOBODY:$NOBODY "$1/pods/prepared/$UUID" ;;
	esac
}

escaped() { [ -e "$HOSTOUT/escaped" ]; }

t_begin "control: the planted pod in a store root owns runs and writes the host marker"
plant "$T_SCRATCH/good" none
rm -f "$HOSTOUT/escaped"
if PODCTL_DIR="$T_SCRATCH/good" expect_exit 0 "$PODCTL" run-prepared "$UUID" && escaped; then t_ok; else t_fail "err: $ERR"; fi
rm -f "$HOSTOUT/escaped"

t_begin "a data dir created by an unprivileged user is refused by run-prepared, naming it"
as_nobody mkdir "$PUB/nobody-store"
rm -rf "$PUB/nobody-store"
plant "$PUB/store" store
if PODCTL_DIR="$PUB/store" expect_exit 1 "$PODCTL" run-prepared "$UUID" && one_line &&
	[[ "$ERR" == *"$PUB/store is owned by uid $NOBODY"* ]] && ! escaped; then t_ok; else t_fail "err: $ERR"; fi

t_begin "... and by prepare and run"
a=0
PODCTL_DIR="$PUB/store" expect_exit 1 "$PODCTL" prepare "$ROOT" && one_line && [[ "$ERR" == *"$PUB/store is owned"* ]] || a=1
PODCTL_DIR="$PUB/store" expect_exit 1 "$PODCTL" run "$ROOT" -- true && one_line && [[ "$ERR" == *"$PUB/store is owned"* ]] || a=1
if [ $a = 0 ] && ! escaped; then t_ok; else t_fail "err: $ERR"; fi

t_begin "a data dir made by the user at first use (mkdir before root's first run) is refused"
as_nobody mkdir "$PUB/fresh"
if PODCTL_DIR="$PUB/fresh" expect_exit 1 "$PODCTL" run "$ROOT" -- true && one_line &&
	[[ "$ERR" == *"$PUB/fresh is owned by uid $NOBODY"* ]] && [ ! -e "$PUB/fresh/pods" ]; then t_ok; else t_fail "err: $ERR"; fi

t_begin "a pods/ dir owned by an unprivileged user is refused, naming it"
plant "$T_SCRATCH/s-pods" pods
if PODCTL_DIR="$T_SCRATCH/s-pods" expect_exit 1 "$PODCTL" run-prepared "$UUID" && one_line &&
	[[ "$ERR" == *"$T_SCRATCH/s-pods/pods is owned by uid $NOBODY"* ]] && ! escaped; then t_ok; else t_fail "err: $ERR"; fi

t_begin "a pod dir owned by an unprivileged user is refused by run-prepared, naming it"
plant "$T_SCRATCH/s-pod" poddir
if PODCTL_DIR="$T_SCRATCH/s-pod" expect_exit 1 "$PODCTL" run-prepared "$UUID" && one_line &&
	[[ "$ERR" == *"$T_SCRATCH/s-pod/pods/prepared/$UUID is owned by uid $NOBODY"* ]] && ! escaped; then t_ok; else t_fail "err: $ERR"; fi

t_begin "a group-writable data dir is refused; a group-writable state dir too"
plant "$T_SCRATCH/s-gw" none
chmod 775 "$T_SCRATCH/s-gw"
a=0
PODCTL_DIR="$T_SCRATCH/s-gw" expect_exit 1 "$PODCTL" list && [[ "$ERR" == *"s-gw is writable by group or others"* ]] || a=1
chmod 700 "$T_SCRATCH/s-gw"
chmod 770 "$T_SCRATCH/s-gw/pods/prepared"
PODCTL_DIR="$T_SCRATCH/s-gw" expect_exit 1 "$PODCTL" run-prepared "$UUID" && [[ "$ERR" == *"s-gw/pods/prepared is writable"* ]] || a=1
if [ $a = 0 ] && ! escaped; then t_ok; else t_fail "err: $ERR"; fi

t_begin "an ancestor owned by an unprivileged user is refused; a sticky /tmp-like one is not"
mkdir -m 755 "$PUB/owned"
chown $NOBODY "$PUB/owned"
plant "$PUB/owned/store" none
a=0
PODCTL_DIR="$PUB/owned/store" expect_exit 1 "$PODCTL" run-prepared "$UUID" && one_line &&
	[[ "$ERR" == *"$PUB/owned is owned by uid $NOBODY"* ]] || a=1
escaped && a=1
plant "$PUB/store2" none # under the sticky, world-writable $PUB
PODCTL_DIR="$PUB/store2" expect_exit 0 "$PODCTL" list || a=1
if [ $a = 0 ]; then t_ok; else t_fail "err: $ERR"; fi

t_begin "an unprivileged user may keep a data dir of their own"
as_nobody mkdir -m 700 "$PUB/mine"
if PODCTL_DIR="$PUB/mine/store" as_nobody "$PODCTL" list >/dev/null 2>"$T_SCRATCH/err"; then t_ok; else t_fail "$(cat "$T_SCRATCH/err")"; fi

t_end
