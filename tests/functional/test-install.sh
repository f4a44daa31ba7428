#!/bin/bash
# make install / uninstall as a distribution and as a user would use them:
#  - staged: DESTDIR=… PREFIX=/usr, the way a package is built. The staged
#    podctl embeds the final paths (/usr/libexec/…); it runs a pod here with
#    PODCTL_STAGE1 pointing into the stage, as a package's test would.
#  - real: PREFIX=<temp dir>, no DESTDIR. The installed podctl finds its
#    installed stage1 and notify client by itself, runs a pod, and a C
#    program builds against the installed library with pkg-config.
# Both uninstall leaving no file. The install runs from a copy of the build
# dir, so the build the other tests use keeps its own paths.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || t_skip "no C compiler"
command -v pkg-config >/dev/null || t_skip "no pkg-config"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
B="$T_SCRATCH/build"
cp -a "$BUILDDIR" "$B"
ROOT=$(t_rootfs)
DEST="$T_SCRATCH/dest"
PFX="$T_SCRATCH/prefix"

mk() { make -s -C "$SRC" BUILDDIR="$B" "$@" >>"$T_SCRATCH/make.log" 2>&1; }
# check-asan builds a sanitized stage1, which cannot run apps (see the
# Makefile) and says so with PODCTL_TEST_STAGE1: put the regular one in its
# installed place, so what is tested is still where podctl looks for it.
regular_stage1() {
	if [ -n "${PODCTL_TEST_STAGE1:-}" ]; then cp "$PODCTL_TEST_STAGE1" "$1"; fi
}
# Every file and symlink under a tree, relative, sorted.
files_under() { (cd "$1" 2>/dev/null && find . ! -type d | sort); }

t_begin "make install DESTDIR=… PREFIX=/usr stages every part under /usr"
if mk DESTDIR="$DEST" PREFIX=/usr install; then
	missing=""
	for f in usr/bin/podctl usr/bin/podctl-oci usr/libexec/podctl/podctl-stage1 usr/libexec/podctl/podctl-notify \
		usr/lib/libpodstore.so.0 usr/lib/libpodstore.so usr/lib/libpodstore.a \
		usr/lib/pkgconfig/podstore.pc usr/include/podstore/podstore.h \
		usr/share/man/man1/podctl.1 usr/share/man/man1/podctl-run.1 usr/share/man/man1/podctl-gc.1 usr/share/man/man1/podctl-oci.1 \
		usr/share/man/man5/podctl-manifest.5 usr/share/man/man3/libpodstore.3 \
		usr/share/bash-completion/completions/podctl usr/share/zsh/vendor-completions/_podctl \
		usr/share/podctl/podctl-gc.service usr/share/podctl/podctl-gc.timer \
		usr/share/podctl/podctl-pod@.service; do
		[ -e "$DEST/$f" ] || missing="$missing $f"
	done
	if [ -z "$missing" ]; then t_ok; else t_fail "missing:$missing"; fi
else
	t_fail "make install failed: $(tail -3 "$T_SCRATCH/make.log")"
fi

t_begin "the staged files name the final paths, not DESTDIR"
pc="$DEST/usr/lib/pkgconfig/podstore.pc"
if grep -qx 'prefix=/usr' "$pc" && grep -qx 'libdir=/usr/lib' "$pc" &&
	grep -qx 'ExecStart=/usr/bin/podctl gc' "$DEST/usr/share/podctl/podctl-gc.service" &&
	grep -q '^ExecStart=/usr/bin/podctl run --manifest=/etc/podctl/%i.json$' "$DEST/usr/share/podctl/podctl-pod@.service" &&
	! grep -rqF "$DEST" "$DEST/usr/share/podctl" "$pc"; then
	t_ok
else
	t_fail "$(grep -h '^prefix\|^ExecStart' "$pc" "$DEST"/usr/share/podctl/*.service)"
fi

t_begin "the staged podctl was rebuilt for /usr: it looks for stage1 in /usr/libexec/podctl"
json=$(env -u PODCTL_STAGE1 "$DEST/usr/bin/podctl" version --format=json)
if grep -q '"libexecdir": "/usr/libexec"' <<<"$json" &&
	grep -q '"stage1": "/usr/libexec/podctl/podctl-stage1"' <<<"$json" &&
	grep -q '"sysconfdir": "/etc"' <<<"$json"; then
	t_ok
else
	t_fail "$json"
fi

t_begin "the staged podctl runs a pod with the staged stage1 (PODCTL_STAGE1)"
regular_stage1 "$DEST/usr/libexec/podctl/podctl-stage1"
if expect_exit 7 env PODCTL_STAGE1="$DEST/usr/libexec/podctl/podctl-stage1" \
	"$DEST/usr/bin/podctl" run "$ROOT" -- /bin/sh -c 'exit 7'; then
	t_ok
else
	t_fail "see above"
fi

t_begin "make uninstall DESTDIR=… PREFIX=/usr leaves no file"
mk DESTDIR="$DEST" PREFIX=/usr uninstall
left=$(files_under "$DEST")
if [ -z "$left" ]; then t_ok; else t_fail "left: $(echo "$left" | head -5 | tr '\n' ' ')"; fi

t_begin "a prefix change rebuilds what embeds it (only), an unchanged one nothing"
mtimes() { (cd "$B" && stat -c '%n %y' podctl podctl-stage1 podstore.pc libpodstore.a libpodstore.so.0 dist/podctl-gc.service); }
m0=$(mtimes)
mk PREFIX="$PFX" all
m1=$(mtimes)
mk PREFIX="$PFX" all
m2=$(mtimes)
changed=$(diff <(echo "$m0") <(echo "$m1") | sed -n 's/^> \([^ ]*\) .*/\1/p' | tr '\n' ' ')
# The library embeds LIBEXECDIR too (ps_stage1_path), so it is relinked.
if [ "$changed" = "podctl podctl-stage1 podstore.pc libpodstore.a libpodstore.so.0 dist/podctl-gc.service " ] && [ "$m1" = "$m2" ] &&
	grep -qx "prefix=$PFX" "$B/podstore.pc" && grep -q "\"$PFX/libexec\"" "$B/paths.h"; then
	t_ok
else
	t_fail "rebuilt on the prefix change: '$changed'; rebuilt with no change: $(diff <(echo "$m1") <(echo "$m2") | grep -c '^>')"
fi

t_begin "make install PREFIX=<dir> (no DESTDIR): the installed podctl finds its installed stage1"
if mk PREFIX="$PFX" install; then
	regular_stage1 "$PFX/libexec/podctl/podctl-stage1"
	json=$(env -u PODCTL_STAGE1 "$PFX/bin/podctl" version --format=json)
	if grep -q "\"stage1\": \"$PFX/libexec/podctl/podctl-stage1\"" <<<"$json"; then
		t_ok
	else
		t_fail "$json"
	fi
else
	t_fail "make install failed: $(tail -3 "$T_SCRATCH/make.log")"
fi

t_begin "the installed podctl runs a pod that says READY=1 through the installed notify client"
if expect_exit 0 env -u PODCTL_STAGE1 "$PFX/bin/podctl" run --status-goal=READY --goal-timeout=20s \
	"$ROOT" -- /bin/sh -c '/.podctl/notify ready && echo up'; then
	if [ "$OUT" = up ]; then t_ok; else t_fail "output '$OUT'"; fi
else
	t_fail "see above"
fi

cat >"$T_SCRATCH/agent.c" <<'C'
#include <stdio.h>
#include <podstore/podstore.h>

static int count(ps_store *s, const char *uuid, ps_pod_dir dir, void *data)
{
	(*(int *)data)++;
	return 0;
}

int main(int argc, char **argv)
{
	ps_store *s = NULL;
	ps_error *err = NULL;
	int n = 0;

	if (ps_store_open(argv[1], false, &s, &err) < 0) {
		fprintf(stderr, "agent: %s\n", err->msg);
		return 1;
	}
	int r = ps_walk_pods(s, PS_DIR_ALL, count, &n, &err);
	ps_store_close(s);
	printf("%s %d\n", PODSTORE_VERSION, n);
	return r < 0;
}
C

t_begin "a C program builds against the installed library with pkg-config and runs"
LDX=${PODCTL_TEST_LDFLAGS:-}
# shellcheck disable=SC2046,SC2086 # pkg-config output is a list of words
if PKG_CONFIG_PATH="$PFX/lib/pkgconfig" cc $LDX -o "$T_SCRATCH/agent" "$T_SCRATCH/agent.c" \
	$(PKG_CONFIG_PATH="$PFX/lib/pkgconfig" pkg-config --cflags --libs podstore) 2>"$T_SCRATCH/cc.err"; then
	out=$(LD_LIBRARY_PATH="$PFX/lib" "$T_SCRATCH/agent" "$PODCTL_DIR")
	want="$(grep -o '"[0-9.]*"' "$SRC/include/podstore/podstore.h" | tr -d '"') $("$PODCTL" list --no-legend | wc -l)"
	if [ "$out" = "$want" ] && LD_LIBRARY_PATH="$PFX/lib" ldd "$T_SCRATCH/agent" | grep -q "$PFX/lib/libpodstore.so.0"; then
		t_ok
	else
		t_fail "got '$out', want '$want'"
	fi
else
	t_fail "$(head -3 "$T_SCRATCH/cc.err")"
fi

t_begin "man finds the installed pages through MANPATH; they name the installed paths"
page=$(MANPATH="$PFX/share/man" MANWIDTH=200 man podctl-gc 2>/dev/null)
if grep -qF "root $PFX/bin/podctl gc" <<<"$page" && grep -qF "$PFX/share/podctl/podctl-gc.timer" <<<"$page"; then
	t_ok
else
	t_fail "man podctl-gc: $(grep -i -m2 'cron\|timer' <<<"$page")"
fi

t_begin "make uninstall PREFIX=<dir> leaves no file"
mk PREFIX="$PFX" uninstall
left=$(files_under "$PFX")
if [ -z "$left" ]; then t_ok; else t_fail "left: $(echo "$left" | head -5 | tr '\n' ' ')"; fi

t_end
