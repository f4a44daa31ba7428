#!/bin/bash
# check-abi.sh LIB.so INCLUDEDIR: the shared library exports exactly the
# functions its public headers declare, and each of them is documented in
# its header (a comment right above it, or above the run of declarations
# it belongs to). Prints what is wrong and exits 1; exits 0 when all holds.
set -u
lib=${1:?usage: check-abi.sh LIB.so INCLUDEDIR}
inc=${2:?usage: check-abi.sh LIB.so INCLUDEDIR}
fail=0

# "name undocumented?" for every function declared at the top level.
declared=$(awk '
	FNR == 1 { prev_doc = 0; in_comment = 0 }
	{
		line = $0
		if (in_comment) {
			if (line ~ /\*\//) { in_comment = 0; prev_doc = 1 }
			next
		}
		if (line ~ /^[ \t]*\/\*/) {
			if (line !~ /\*\//) in_comment = 1; else prev_doc = 1
			next
		}
		if (line ~ /^[ \t]*$/ || line ~ /^#/) { prev_doc = 0; next }
		if (line ~ /^[A-Za-z_]/ && line !~ /^(static|typedef|extern|struct|enum|union)[ \t{]/ &&
		    match(line, /ps_[a-z0-9_]+\(/)) {
			name = substr(line, RSTART, RLENGTH - 1)
			print name, (prev_doc ? "documented" : FILENAME)
		}
		# prev_doc carries over declarations and their continuation lines.
	}' "$inc"/*.h | sort -u)

public=$(printf '%s\n' "$declared" | awk '{ print $1 }' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TWiV]$/ { print $3 }' | sed 's/@.*//' | sort -u)

extra=$(comm -23 <(printf '%s\n' "$exported") <(printf '%s\n' "$public"))
missing=$(comm -13 <(printf '%s\n' "$exported") <(printf '%s\n' "$public"))
undocumented=$(printf '%s\n' "$declared" | awk '$2 != "documented" { print $1 " (" $2 ")" }')

nopragma=$(grep -L 'pragma GCC visibility push(default)' "$inc"/*.h | grep -v '/podstore\.h$')
if [ -n "$nopragma" ]; then
	echo "check-abi: public headers without #pragma GCC visibility push(default) … pop:"
	printf '%s\n' "$nopragma" | sed 's/^/  /'
	fail=1
fi
if [ -n "$extra" ]; then
	echo "check-abi: $lib exports functions no public header declares:"
	printf '%s\n' "$extra" | sed 's/^/  /'
	fail=1
fi
if [ -n "$missing" ]; then
	echo "check-abi: declared in $inc but not exported from $lib:"
	printf '%s\n' "$missing" | sed 's/^/  /'
	fail=1
fi
if [ -n "$undocumented" ]; then
	echo "check-abi: public functions without a comment in their header:"
	printf '%s\n' "$undocumented" | sed 's/^/  /'
	fail=1
fi
[ "$fail" -eq 0 ] && echo "check-abi: $(printf '%s\n' "$public" | wc -l) public functions, all exported, all documented, nothing else exported"
exit "$fail"
