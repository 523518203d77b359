# The completion logic for bash, after the generated tables (src/cli/completion-scripts.ts):
#   _ediv_cmds[PATH]         subcommand names of the command PATH ("ediv cluster")
#   _ediv_opts[PATH]         its options offered
#   _ediv_optargs[PATH OPT]  what the value of option OPT is, for options that take one
#   _ediv_args[PATH N]       what positional argument N is ("PATH ...": every further one)
# A value is a space-separated list of kinds, each completed: file, dir, =CHOICE, none, or a list
# of the state store (lab vm host seq), fetched from `ediv completion --list` with the ediv the
# user typed. Values are added to COMPREPLY line by line, never through eval or compgen -W
# (which would expand them). After `--`, file names are completed (bash's default).

# Adds the lines of stdin that start with $2 to COMPREPLY, each prefixed with $1.
_ediv_add() {
  local line
  while IFS= read -r line; do
    [[ -n $line && $line == "$2"* ]] && COMPREPLY+=("$1$line")
  done
}

# Prints the space-separated words of $1, one a line (no globbing).
_ediv_words() {
  local -a w
  read -ra w <<<"$1"
  (( ${#w[@]} )) && printf '%s\n' "${w[@]}"
}

# Whether the space-separated list $1 has the word $2.
_ediv_has() {
  [[ " $1 " == *" $2 "* ]]
}

# Completes the word $2 as a value of the kinds $1.
_ediv_values() {
  local -a kinds
  local kind cur pre
  read -ra kinds <<<"$1"
  for kind in "${kinds[@]}"; do
    cur=$2 pre=
    case $kind in
      file) compopt -o filenames 2>/dev/null; _ediv_add '' '' < <(compgen -f -- "$cur") ;;
      dir) compopt -o filenames 2>/dev/null; _ediv_add '' '' < <(compgen -d -- "$cur") ;;
      =*) _ediv_add '' "$cur" <<<"${kind#=}" ;;
      none) ;;
      *)
        # --vm and --host take comma-separated lists (names never hold a comma): complete the last item.
        if [[ ($kind == vm || $kind == host) && $cur == *,* ]]; then pre=${cur%,*},; cur=${cur##*,}; fi
        local -a q=("${_ediv_list[@]}" "$kind")
        [[ -n $_ediv_lab ]] && q+=("$_ediv_lab_option" "$_ediv_lab")
        [[ -n $_ediv_state ]] && q+=("$_ediv_state_option" "$_ediv_state")
        _ediv_add "$pre" "$cur" < <("${_ediv_run[@]}" "${q[@]}" 2>/dev/null)
        ;;
    esac
  done
}

# Notes what a word already given tells later values: the lab (a value that may be a lab) and
# the state directory (the value of --state). $1: the kinds, $2: the option or '', $3: the word.
_ediv_took() {
  _ediv_has "$1" lab && _ediv_lab=$3
  [[ $2 == "$_ediv_state_option" ]] && _ediv_state=$3
  return 0
}

_ediv() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmdpath=$_ediv_root w opt= pending= kind dashdash=
  local _ediv_lab= _ediv_state=
  local -i i nargs=0
  # Run the ediv that was typed (bin/ediv, ~/x/bin/ediv, or an alias such as ediv='npx ediv').
  local -a _ediv_run=("${COMP_WORDS[0]}")
  [[ ${COMP_WORDS[0]} == '~/'* ]] && _ediv_run=("$HOME/${COMP_WORDS[0]#'~/'}")
  [[ -n ${BASH_ALIASES[${COMP_WORDS[0]}]-} ]] && read -ra _ediv_run <<<"${BASH_ALIASES[${COMP_WORDS[0]}]}"
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ -n $pending ]]; then
      [[ $w == = ]] && continue # --opt=value, split at '=' (COMP_WORDBREAKS)
      _ediv_took "$pending" "$opt" "$w"
      pending=
    elif [[ -z $dashdash && $w == -- ]]; then
      dashdash=1
    elif [[ -z $dashdash && $w == -*=* ]]; then
      opt=${w%%=*}
      _ediv_took "${_ediv_optargs["$cmdpath $opt"]-}" "$opt" "${w#*=}"
    elif [[ -z $dashdash && $w == -* ]]; then
      opt=$w
      pending=${_ediv_optargs["$cmdpath $w"]-}
    elif ((nargs == 0)) && _ediv_has "${_ediv_cmds[$cmdpath]-}" "$w"; then
      cmdpath+=" $w"
    else
      _ediv_took "${_ediv_args["$cmdpath $nargs"]-${_ediv_args["$cmdpath ..."]-}}" '' "$w"
      nargs+=1
    fi
  done
  if [[ -n $pending ]]; then
    # After `--opt=` the word to replace is '=' itself: nothing sensible to offer.
    [[ $cur != = ]] && _ediv_values "$pending" "$cur"
    return 0
  fi
  if [[ -n $dashdash ]]; then
    _ediv_values file "$cur"
    return 0
  fi
  if [[ $cur == -* ]]; then
    _ediv_add '' "$cur" < <(_ediv_words "${_ediv_opts[$cmdpath]-}")
    return 0
  fi
  ((nargs == 0)) && _ediv_add '' "$cur" < <(_ediv_words "${_ediv_cmds[$cmdpath]-}")
  kind=${_ediv_args["$cmdpath $nargs"]-${_ediv_args["$cmdpath ..."]-}}
  [[ -n $kind ]] && _ediv_values "$kind" "$cur"
  return 0
}

complete -F _ediv -- "$_ediv_root"
