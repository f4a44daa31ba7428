#!/bin/bash
# Another program links libpodstore through pkg-config, as installed by
# `make install`, and lists and inspects pods without the CLI.
. "$(dirname "$0")/lib.sh"

command -v cc >/dev/null || t_skip "no C compiler"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DEST="$T_SCRATCH/dest"

t_begin "make install DESTDIR=… installs the library, headers and pkg-config file"
if make -s -C "$SRC" BUILDDIR="$BUILDDIR" DESTDIR="$DEST" PREFIX=/usr install >"$T_SCRATCH/install.log" 2>&1 &&
	[ -f "$DEST/usr/lib/pkgconfig/podstore.pc" ] && [ -f "$DEST/usr/include/podstore/podstore.h" ] &&
	[ -x "$DEST/usr/bin/podctl" ] && [ -x "$DEST/usr/libexec/podctl/podctl-stage1" ]; then
	t_ok
else
	t_fail "install did not produce the expected files: $(tail -1 "$T_SCRATCH/install.log")"
fi

cat >"$T_SCRATCH/agent.c" <<'C'
#include <stdio.h>
#include <podstore/podstore.h>
#include <error.h>
#include <sys/wait.h>

static int print_pod(ps_store *s, const char *uuid, ps_pod_dir dir, void *data)
{
	ps_pod *p = NULL;
	if (ps_pod_open(s, uuid, dir, &p, NULL) == 0) {
		printf("%s %s\n", p->uuid, ps_pod_state_name(p->state));
		ps_pod_free(p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	ps_store *s = NULL;
	ps_error *err = NULL;
	if (ps_store_open(argv[1], false, &s, &err) < 0) {
		fprintf(stderr, "agent: %s\n", err->msg);
		return 1;
	}
	int r = ps_walk_pods(s, PS_DIR_ALL, print_pod, NULL, &err);
	ps_store_close(s);
	return r < 0;
}
C

export PKG_CONFIG_PATH="$DEST/usr/lib/pkgconfig"
t_begin "a program builds against the installed library with pkg-config (shared, and the static libpodstore.a)"
# The .pc names the final prefix; point it at DESTDIR for this test.
sed -i "s|^prefix=.*|prefix=$DEST/usr|; s|^libdir=.*|libdir=$DEST/usr/lib|; s|^includedir=.*|includedir=$DEST/usr/include|" \
	"$DEST/usr/lib/pkgconfig/podstore.pc"
# A sanitized build (make check-asan) needs its runtime linked in too.
LDX=${PODCTL_TEST_LDFLAGS:-}
if cc $LDX -o "$T_SCRATCH/agent" "$T_SCRATCH/agent.c" $(pkg-config --cflags --libs podstore) 2>"$T_SCRATCH/cc.err" &&
	cc $LDX -o "$T_SCRATCH/agent-static" "$T_SCRATCH/agent.c" $(pkg-config --cflags podstore) \
		"$DEST/usr/lib/libpodstore.a" $(pkg-config --libs json-c uuid libarchive) 2>>"$T_SCRATCH/cc.err"; then
	t_ok
else
	t_fail "$(head -3 "$T_SCRATCH/cc.err")"
fi

t_begin "the linked program sees the pods podctl made, with their states"
u=$("$PODCTL" prepare "$(t_rootfs)" -- /bin/true)
out=$(LD_LIBRARY_PATH="$DEST/usr/lib" "$T_SCRATCH/agent" "$PODCTL_DIR")
out2=$("$T_SCRATCH/agent-static" "$PODCTL_DIR")
if [ "$out" = "$u prepared" ] && [ "$out2" = "$out" ]; then t_ok; else t_fail "got '$out' / '$out2'"; fi

t_begin "the installed libpodstore.so exports only the public functions, each documented in its header"
if out=$("$SRC/tests/check-abi.sh" "$DEST/usr/lib/libpodstore.so" "$DEST/usr/include/podstore" 2>&1); then
	t_ok
else
	t_fail "$(printf '%s' "$out" | head -8 | tr '\n' ' ')"
fi

t_begin "nm -D lists no internal helper (strv, JSON, image internals, openat-root)"
syms=$(nm -D --defined-only "$DEST/usr/lib/libpodstore.so" | awk '{ print $3 }')
leaked=$(printf '%s\n' "$syms" | grep -E '^(ps_strv_push|ps_json_|ps_openat_in_root|ps_open_in_root|image_|import_|oci_|docker_|layout_|imgstore_|ps_sha256_|ps_read_all|ps_strdup_printf)' || true)
if [ -n "$syms" ] && [ -z "$leaked" ]; then t_ok; else t_fail "leaked: $(echo $leaked)"; fi

t_end
