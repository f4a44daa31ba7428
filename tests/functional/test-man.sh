#!/bin/bash
# Every verb has a man page; every option its --help shows is in that page,
# and every option the page's OPTIONS section lists is one --help shows; each
# page renders with man(1) without a warning.
#
# When a verb gains an option, this fails until man/podctl-VERB.1.md has a
# "`--option`" entry in its OPTIONS section (see man/README.md).
. "$(dirname "$0")/lib.sh"

MAN="$BUILDDIR/man"
command -v man >/dev/null || t_skip "no man(1)"
[ -d "$MAN" ] || t_skip "no $MAN (make man)"

# Long options in a text, one a line ("--name", without "=VALUE").
long_opts() { grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

# The options of the OPTIONS section of a roff page (its .TP terms).
page_opts() {
	awk '/^\.SH / { on = ($2 == "OPTIONS") } on && prev == ".TP" { print } { prev = $0 }' "$1" | long_opts
}

verbs=$("$PODCTL" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
t_begin "podctl --help lists the verbs"
if [ "$(echo "$verbs" | wc -w)" -ge 10 ]; then t_ok; else t_fail "verbs: $verbs"; fi

for v in $verbs; do
	page="$MAN/podctl-$v.1"
	t_begin "podctl-$v(1) documents every option of 'podctl $v --help' and no other"
	if [ ! -f "$page" ]; then
		t_fail "no man page $page (add man/podctl-$v.1.md)"
		continue
	fi
	help=$("$PODCTL" "$v" --help | long_opts)
	documented=$(page_opts "$page")
	missing=$(comm -23 <(echo "$help") <(echo "$documented") | tr '\n' ' ')
	stale=$(comm -13 <(echo "$help") <(echo "$documented") | tr '\n' ' ')
	if [ -z "$missing" ] && [ -z "$stale" ]; then
		t_ok
	else
		t_fail "${missing:+in --help, not in the OPTIONS of the page: $missing}${stale:+ in the page, not in --help: $stale}"
	fi
done

t_begin "podctl(1) lists every verb and documents the global options"
missing=""
for v in $verbs; do
	grep -q "^\\\\fB$v\\\\fR\$" "$MAN/podctl.1" || missing="$missing $v"
done
for o in $("$PODCTL" --help | long_opts); do
	grep -qF -- "$o" "$MAN/podctl.1" || missing="$missing $o"
done
if [ -z "$missing" ]; then t_ok; else t_fail "missing:$missing"; fi

t_begin "every page has the sections a reader looks for"
bad=""
for page in "$MAN"/podctl*.1; do
	for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		grep -qx "\\.SH $s" "$page" || bad="$bad $(basename "$page"):$s"
	done
done
if [ -z "$bad" ]; then t_ok; else t_fail "missing:$bad"; fi

t_begin "the verbs that print JSON document its fields"
bad=""
for v in gc wait version image status list stats; do
	grep -qx '\.SH JSON OUTPUT' "$MAN/podctl-$v.1" || bad="$bad $v"
done
if [ -z "$bad" ]; then t_ok; else t_fail "no JSON OUTPUT section:$bad"; fi

t_begin "man -l renders every page (podctl-manifest(5) and libpodstore(3) too) without a warning"
bad=""
n=0
for page in "$MAN"/*.[135]; do
	n=$((n + 1))
	out=$(MANWIDTH=80 man --warnings -l "$page" 2>"$T_SCRATCH/man.err")
	if [ -s "$T_SCRATCH/man.err" ] || ! grep -q '^NAME' <<<"$out"; then
		bad="$bad $(basename "$page")"
	fi
done
if [ -z "$bad" ] && [ "$n" -ge 20 ] && [ -f "$MAN/podctl-manifest.5" ] && [ -f "$MAN/libpodstore.3" ]; then
	t_ok
else
	t_fail "$n pages; bad:$bad $(head -2 "$T_SCRATCH/man.err")"
fi

t_begin "podctl-manifest(5) is Documentation/manifest.md: every section of it is there"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
missing=""
while read -r h; do
	grep -qiF -- "$h" "$MAN/podctl-manifest.5" || missing="$missing [$h]"
done < <(sed -n 's/^##* //p' "$SRC/Documentation/manifest.md" | tail -n +2)
if [ -z "$missing" ]; then t_ok; else t_fail "missing:$missing"; fi

t_end
