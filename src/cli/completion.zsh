# The completion logic for zsh, after the generated tables (src/cli/completion-scripts.ts); the
# same walk over the words as completion.bash (see there for the tables and kinds). Values are
# added with compadd from arrays, never through eval.

# Completes the current word as a value of the kinds $1.
_ediv_values() {
  local kind
  local -a vals q
  for kind in ${(s: :)1}; do
    case $kind in
      file) _files ;;
      dir) _directories ;;
      '='*) compadd -- ${kind#=} ;;
      none) ;;
      *)
        q=($_ediv_list $kind)
        [[ -n $_ediv_lab ]] && q+=($_ediv_lab_option $_ediv_lab)
        [[ -n $_ediv_state ]] && q+=($_ediv_state_option $_ediv_state)
        vals=(${(f)"$($_ediv_run $q 2>/dev/null)"})
        # --vm and --host take comma-separated lists (names never hold a comma): complete the last item.
        if [[ $kind == (vm|host) ]]; then
          local ipre=$IPREFIX pre=$PREFIX
          compset -P '*,'
          compadd -a vals
          IPREFIX=$ipre PREFIX=$pre
        else
          compadd -a vals
        fi
        ;;
    esac
  done
}

# Notes the lab (a value that may be a lab) and the state directory (the value of --state).
# $1: the kinds, $2: the option or '', $3: the word.
_ediv_took() {
  (( ${${(s: :)1}[(Ie)lab]} )) && _ediv_lab=$3
  [[ $2 == "$_ediv_state_option" ]] && _ediv_state=$3
  return 0
}

_ediv() {
  emulate -L zsh
  local cur=${words[CURRENT]} cmdpath=$_ediv_root w opt= pending= kind= dashdash=
  local _ediv_lab= _ediv_state=
  local -a vals _ediv_run
  integer i nargs=0
  # Run the ediv that was typed (bin/ediv, ~/x/bin/ediv, or an alias such as ediv='npx ediv').
  _ediv_run=(${words[1]})
  [[ ${words[1]} == '~/'* ]] && _ediv_run=($HOME/${words[1]#'~/'})
  [[ -n ${aliases[${words[1]}]} ]] && _ediv_run=(${(Q)${(z)aliases[${words[1]}]}})
  for (( i = 2; i < CURRENT; i++ )); do
    w=${words[i]}
    if [[ -n $pending ]]; then
      _ediv_took "$pending" "$opt" "$w"
      pending=
    elif [[ -z $dashdash && $w == -- ]]; then
      dashdash=1
    elif [[ -z $dashdash && $w == -*=* ]]; then
      opt=${w%%=*}
      _ediv_took "${_ediv_optargs[$cmdpath $opt]}" "$opt" "${w#*=}"
    elif [[ -z $dashdash && $w == -* ]]; then
      opt=$w
      pending=${_ediv_optargs[$cmdpath $w]}
    elif (( nargs == 0 )) && (( ${${(s: :)_ediv_cmds[$cmdpath]}[(Ie)$w]} )); then
      cmdpath+=" $w"
    else
      _ediv_took "${_ediv_args[$cmdpath $nargs]-${_ediv_args[$cmdpath ...]}}" '' "$w"
      nargs+=1
    fi
  done
  if [[ -n $pending ]]; then
    _ediv_values $pending
    return
  fi
  if [[ -n $dashdash ]]; then
    _files
    return
  fi
  if [[ $cur == -*=* ]]; then
    kind=${_ediv_optargs[$cmdpath ${cur%%=*}]}
    [[ -n $kind ]] && compset -P '*=' && _ediv_values $kind
    return
  fi
  if [[ $cur == -* ]]; then
    vals=(${(s: :)_ediv_opts[$cmdpath]})
    compadd -a vals
    return
  fi
  if (( nargs == 0 )); then
    vals=(${(s: :)_ediv_cmds[$cmdpath]})
    compadd -a vals
  fi
  kind=${_ediv_args[$cmdpath $nargs]-${_ediv_args[$cmdpath ...]}}
  [[ -n $kind ]] && _ediv_values $kind
  return 0
}

# Sourced (source <(ediv completion zsh)): register. Autoloaded from a file _ediv in $fpath
# (its first line is #compdef): this body runs at the first TAB, so complete that TAB too.
if [[ $funcstack[1] == _ediv ]]; then
  _ediv "$@"
else
  compdef _ediv $_ediv_root
fi
