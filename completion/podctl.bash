# shellcheck shell=bash
# Bash completion for podctl: verbs, options, option values, pod uuids in the
# states each verb accepts, and image names.
#
# Verbs and options are read from podctl's own --help (so a new option
# completes without touching this file); pods from `podctl list --no-legend
# --full` (one directory scan, no per-pod work), images from `podctl image
# list --no-legend`. Pods complete by uuid and by name (both are handles).

# _podctl_cmd ARGS…: podctl with the --dir the command line gave.
_podctl_cmd() {
	"${_podctl_bin:-podctl}" ${_podctl_dir:+--dir="$_podctl_dir"} "$@" 2>/dev/null
}

# _podctl_pods STATE…: uuids and names of pods in those states (all pods if
# none given) that start with $cur.
_podctl_pods() {
	local uuid name state _rest want=" $* "
	while read -r uuid name state _rest; do
		[ -n "$uuid" ] || continue
		if [ $# -gt 0 ] && [[ $want != *" $state "* ]]; then
			continue
		fi
		[[ $uuid == "$cur"* ]] && COMPREPLY+=("$uuid")
		[[ $name != - && $name == "$cur"* ]] && COMPREPLY+=("$name")
	done < <(_podctl_cmd list --no-legend --full)
}

_podctl_images() {
	local names
	names=$(_podctl_cmd image list --no-legend | awk '$2 != "-" { print $2; sub(/:latest$/, "", $2); print $2 }')
	mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W "$names" -- "$cur")
}

# Long options of a verb, from its --help ("--name=" when it takes a value).
_podctl_options() {
	_podctl_cmd "$@" --help | grep -oE -- '--[a-z][a-z0-9-]*(\[?=)?' | sed 's/\[=$/=/' | sort -u
}

# Values of an option: the alternatives its --help spells as --opt=a|b|c.
_podctl_values() {
	local verb=$1 opt=$2
	case $opt in
	--status-goal) echo "MOUNTED STARTED READY" ;;
	--pull) echo "missing always never" ;;
	--net) echo "none host default" ;;
	--tls-verify) echo "true false" ;;
	--signal) echo "KILL TERM INT HUP QUIT USR1 USR2 ALRM WINCH" ;;
	*) _podctl_cmd "$verb" --help | grep -oE -- "$opt=[A-Za-z0-9_-]+(\|[A-Za-z0-9_-]+)+" |
		head -1 | sed 's/^[^=]*=//; s/|/ /g' ;;
	esac
}

_podctl() {
	local cur prev words cword split=false
	if declare -F _init_completion >/dev/null; then
		# -s: "--opt=val" gives prev=--opt, cur=val, split=true.
		_init_completion -s || return
	else
		# Without bash-completion: split the line on blanks only (COMP_WORDS
		# splits at "=" too), then split "--opt=val" the same way.
		local line=${COMP_LINE:0:COMP_POINT}
		read -ra words <<<"$line"
		[[ $line == *[[:space:]] ]] && words+=("")
		cword=$((${#words[@]} - 1))
		cur=${words[cword]}
		prev=${words[cword - 1]:-}
		if [[ $cur == --*=* ]]; then
			prev=${cur%%=*}
			cur=${cur#*=}
			split=true
		fi
	fi
	COMPREPLY=()
	local _podctl_bin=${words[0]} _podctl_dir="" verb="" sub="" i w nargs=0

	# The verb is the first word that is not a global option (or its value).
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		--dir=*) _podctl_dir=${w#--dir=} ;;
		--dir) _podctl_dir=${words[i + 1]}; i=$((i + 1)) ;;
		--) [ -n "$verb" ] && return 0 ;; # the rest are the app's arguments
		-*) ;;
		*)
			if [ -z "$verb" ]; then
				verb=$w
			elif [ "$verb" = image ] && [ -z "$sub" ]; then
				sub=$w
			else
				nargs=$((nargs + 1))
			fi
			;;
		esac
	done

	# An option's value: --opt=VALUE or --opt VALUE.
	local opt=""
	if $split; then
		opt=$prev
	elif [[ $prev == --* && $prev != *=* ]] && _podctl_options ${verb:+"$verb"} | grep -qx -- "$prev="; then
		opt=$prev
	fi
	if [ -n "$opt" ]; then
		case $opt in
		--dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
		--manifest | --uuid-file-save | --authfile) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
		*) mapfile -t COMPREPLY < <(compgen -W "$(_podctl_values "$verb" "$opt")" -- "$cur") ;;
		esac
		return 0
	fi

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_podctl_options ${verb:+"$verb"})" -- "$cur")
		[[ ${COMPREPLY[0]:-} == *= ]] && compopt -o nospace 2>/dev/null
		return 0
	fi

	if [ -z "$verb" ]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_podctl_cmd --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')" -- "$cur")
		return 0
	fi
	case $verb in
	prepare | run)
		_podctl_images
		mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
		;;
	run-prepared) _podctl_pods prepared ;;
	stop | kill | enter | attach)
		{ [ "$nargs" -eq 0 ] || [ "$verb" = stop ] || [ "$verb" = kill ]; } && _podctl_pods running ;;
	rm) _podctl_pods prepared exited aborted-prepare exited-garbage garbage ;;
	status | cat-manifest | logs | events | port) [ "$nargs" -eq 0 ] && _podctl_pods ;;
	wait) _podctl_pods preparing prepared running ;;
	image)
		case $sub in
		"") mapfile -t COMPREPLY < <(compgen -W "import pull list inspect tag rm" -- "$cur") ;;
		import) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
		rm | inspect) _podctl_images ;;
		tag) [ "$nargs" -eq 0 ] && _podctl_images ;;
		esac
		;;
	notify) mapfile -t COMPREPLY < <(compgen -W "ready status= stopping reloading watchdog mainpid=" -- "$cur") ;;
	esac
	return 0
}
complete -F _podctl podctl
