#!/bin/bash
# Bash completion (completion/podctl.bash), driven as bash drives it: COMP_*
# set as for a real <Tab>, the function `complete -p podctl` names called,
# COMPREPLY read back. Pods in several states, so each verb's filter shows.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
COMP="$SRC/completion/podctl.bash"
ROOT=$(t_rootfs)

# Pods: one prepared (named "web"), one running, one exited.
PREPARED=$("$PODCTL" prepare --name=web "$ROOT" -- /bin/true) || t_fail "prepare"
RUNNING=$("$PODCTL" run --detach --name=sleeper "$ROOT" -- sleep 1000) || t_fail "run --detach"
if ! EXITED=$("$PODCTL" run --detach --name=done "$ROOT" -- /bin/true) ||
	! "$PODCTL" status --wait=30s "$EXITED" >/dev/null; then
	t_fail "run an exiting pod"
fi
"$PODCTL" image import --name=bb "$ROOT" >/dev/null || t_fail "image import"

# complete LINE [with-bash-completion]: the completions bash would offer at
# the end of LINE, sorted, space-separated.
complete_line() {
	local line=$1 mode=${2:-plain}
	PATH="$BUILDDIR:$PATH" bash --norc --noprofile -c '
		line=$1 mode=$2 comp=$3
		if [ "$mode" = bc ]; then . /usr/share/bash-completion/bash_completion; fi
		. "$comp"
		spec=$(complete -p podctl) || exit 1
		fn=${spec#*-F }; fn=${fn%% *}
		COMP_LINE=$line
		COMP_POINT=${#line}
		# bash splits words at COMP_WORDBREAKS, "=" among them.
		split=${line//=/ = }
		read -ra COMP_WORDS <<<"$split"
		[[ $line == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMPREPLY=()
		"$fn" podctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " " | sed "s/ $//"
	' complete-test "$line" "$mode" "$COMP"
}

# sorted WORD…: the words sorted, space-separated (as complete_line prints).
sorted() { printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }

# expect LINE WANT [mode]
expect() {
	local got
	got=$(complete_line "$1" "${3:-plain}")
	t_begin "complete '$1'${3:+ ($3)} → '$2'"
	if [ "$got" = "$2" ]; then t_ok; else t_fail "got '$got'"; fi
}

MODES=(plain)
[ -f /usr/share/bash-completion/bash_completion ] && MODES+=(bc)
for m in "${MODES[@]}"; do
	expect "podctl sto" "stop" "$m"
	expect "podctl run-p" "run-prepared" "$m"
	# stop: running pods only; run-prepared: prepared ones; rm: not running.
	expect "podctl stop " "$(sorted "$RUNNING" sleeper)" "$m"
	expect "podctl run-prepared " "$(sorted "$PREPARED" web)" "$m"
	expect "podctl rm " "$(sorted "$PREPARED" "$EXITED" web "done")" "$m"
	# By name too (a name is a handle), in the right state only.
	expect "podctl run-prepared we" "web" "$m"
	expect "podctl stop we" "" "$m"
	expect "podctl stop ${RUNNING:0:4}" "$RUNNING" "$m"
	# kill and attach: running pods (attach: one of them)
	expect "podctl kill " "$(sorted "$RUNNING" sleeper)" "$m"
	expect "podctl kill sleeper " "$(sorted "$RUNNING" sleeper)" "$m"
	expect "podctl attach " "$(sorted "$RUNNING" sleeper)" "$m"
	expect "podctl attach sleeper " "" "$m"
	expect "podctl kill --signal=US" "USR1 USR2" "$m"
	expect "podctl att" "attach" "$m"
	# --dir on the line is where pods are looked for.
	expect "podctl --dir=$T_SCRATCH/nowhere stop " "" "$m"
	# Options, and option values.
	expect "podctl gc --gr" "--grace-period=" "$m"
	expect "podctl list --format=" "json text" "$m"
	expect "podctl list --format j" "json" "$m"
	expect "podctl prepare --status-goal=" "MOUNTED READY STARTED" "$m"
	expect "podctl run --net=" "default host none" "$m"
	expect "podctl run --pull=" "always missing never" "$m"
	expect "podctl wait --for=un" "unhealthy" "$m"
	# Images and image subcommands.
	expect "podctl image " "import inspect list pull rm tag" "$m"
	expect "podctl image inspect bb:" "bb:latest" "$m"
	expect "podctl image rm b" "bb bb:latest" "$m"
	# After "--", the app's arguments: nothing.
	expect "podctl run bb -- " "" "$m"
done

# zsh is not a build dependency: checked where it is installed.
if command -v zsh >/dev/null; then
	t_begin "the zsh completion (completion/_podctl) parses"
	if zsh -n "$SRC/completion/_podctl" 2>"$T_SCRATCH/zsh.err"; then
		t_ok
	else
		t_fail "$(head -2 "$T_SCRATCH/zsh.err")"
	fi
fi

"$PODCTL" stop --force "$RUNNING" >/dev/null
t_end
