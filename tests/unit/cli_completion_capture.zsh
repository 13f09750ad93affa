#!/usr/bin/env zsh
# tidemark tests/unit/cli_completion_capture.zsh — a helper of cli_completion.sh, not a test itself.
# zsh -f cli_completion_capture.zsh SCRIPT LINE: the completions zsh offers for LINE<TAB> with SCRIPT sourced after
# compinit, one per line ("word -- description" when there is one).  A real interactive zsh
# runs in a pseudo-terminal (zsh/zpty); compadd is wrapped to print what each call adds, and
# the completion system's pre- and post-functions print NUL lines around them.  After the
# method of zsh-capture-completion (github.com/Valodim/zsh-capture-completion, MIT).
zmodload zsh/zpty || exit 3
script=$1 line=$2
zpty z zsh -f -i
zpty -w z 'PROMPT= RPROMPT= ; setopt nobeep'
zpty -w z 'autoload -Uz compinit && compinit -u -D'
zpty -w z "source ${(q)script} || print -r -- SOURCE-FAILED\$'\\0\\r'"
zpty -w z 'compdef _tidemark tidemark'
zpty -w z 'bindkey "^I" complete-word'
zpty -w z 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
zpty -w z 'null-line() { print -r -- $'"'"'\0'"'"' }; compprefuncs=(null-line); comppostfuncs=(null-line exit)'
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits __dscr __tmp
  if (( $@[(I)-d] )); then
    __tmp=${@[$[${@[(i)-d]}+1]]}
    if [[ $__tmp == \(* ]]; then eval "__dscr=$__tmp"; else __dscr=( "${(@P)__tmp}" ); fi
  fi
  builtin compadd -A __hits -D __dscr "$@"
  [[ -n $__hits ]] || return
  local i
  for i in {1..$#__hits}; do
    if (( $#__dscr >= i )); then print -r -- "$__hits[$i] -- ${__dscr[$i]}"; else print -r -- "$__hits[$i]"; fi
  done
}'
zpty -n -w z "$line"$'\t'
integer tog=0
while zpty -r z; do :; done | while IFS= read -r l; do
  [[ $l == SOURCE-FAILED* ]] && { print -u2 -- "sourcing $script failed"; exit 4 }
  if [[ $l == *$'\0\r' ]]; then
    (( tog++ )) && exit 0 || continue
  fi
  (( tog )) && print -r -- "${l%$'\r'}"
done
exit 2
