# bash completion for strata. Thin: `strata __complete WORDS...` answers in
# cobra's protocol (`value<TAB>description` lines, then `:directive`).
# Install: strata completion bash > ~/.local/share/bash-completion/completions/strata
_strata() {
  local cur words cword
  if declare -F _get_comp_words_by_ref >/dev/null; then
    # bash-completion: keep `--map=auto` and `name:tag` whole
    _get_comp_words_by_ref -n =: cur words cword
  else
    words=("${COMP_WORDS[@]}") cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]}
  fi

  # after `--`: the inner command's own completion (strata run STACK -- CMD...)
  local i
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [[ ${COMP_WORDS[i]} == -- ]]; then
      declare -F _command_offset >/dev/null && _command_offset $((i + 1))
      return 0
    fi
  done

  local out
  out=$("${words[0]}" __complete "${words[@]:1:cword-1}" "$cur" 2>/dev/null) || return 0
  local directive=${out##*$'\n'} line c
  directive=${directive#:}
  local -a cands=()
  if [[ $out == *$'\n'* ]]; then
    while IFS= read -r line; do cands+=("${line%%$'\t'*}"); done <<<"${out%$'\n'*}"
  fi
  [[ $directive =~ ^[0-9]+$ ]] || directive=1

  (( directive & 1 )) && return 0
  (( directive & 2 )) && compopt -o nospace 2>/dev/null
  (( directive & 32 )) && compopt -o nosort 2>/dev/null
  if (( directive & 16 )); then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    return 0
  fi
  if (( directive & 8 )); then
    compopt -o filenames 2>/dev/null
    local IFS='|'
    mapfile -t COMPREPLY < <(compgen -f -X "!*.@(${cands[*]})" -- "$cur"; compgen -d -- "$cur")
    return 0
  fi
  if (( ${#cands[@]} == 0 )); then
    if (( !(directive & 4) )); then
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
  fi

  # bash replaces only the part of the word after the last '=' or ':' it splits at
  local wb="" pre=""
  [[ $COMP_WORDBREAKS == *=* ]] && wb+="="
  [[ $COMP_WORDBREAKS == *:* ]] && wb+=":"
  [[ -n $wb && $cur == *["$wb"]* ]] && pre=${cur%"${cur##*["$wb"]}"}
  COMPREPLY=()
  for c in "${cands[@]}"; do
    c=${c#"$pre"}
    [[ $c == *[!A-Za-z0-9._:@+=/,-]* ]] && printf -v c '%q' "$c"
    COMPREPLY+=("$c")
  done
  return 0
}
complete -F _strata strata
