#!/usr/bin/env bash
# tidemark tests/unit/cli_completion.sh — `tidemark completion bash|zsh` is written from the verb and flag tables:
# sourced in bash, its function completes `tidemark st<TAB>` to the commands `tidemark --help` lists, and
# `tidemark status --<TAB>` to exactly the flags the status parser accepts (probed by running them), `-o <TAB>` to
# the values the help's metavar lists, `completion <TAB>` to the shells.  The zsh script parses with zsh -n, and a
# real interactive zsh (compinit, then the script sourced; driven in a pty) completes the commands, `st`, `-o`'s
# values, a controller flag and files.  Unknown shells exit 2.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
require_tidemark
BIN=$TIDEMARK_BIN
new_work_dir

"$BIN" completion bash >"$WORK/tidemark.bash" || fail "completion bash: exit $?"
bash -n "$WORK/tidemark.bash" || fail "the bash script does not parse"
# shellcheck disable=SC1091
source "$WORK/tidemark.bash"
complete -p tidemark | grep -q -- '-F _tidemark' || fail "the script does not register _tidemark for tidemark"

# complete WORDS...: COMPREPLY for the last word, one per line, sorted
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _tidemark
  printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort
}

# commands: what `tidemark --help` lists under "commands:"
want=$("$BIN" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | grep '^st' | sort)
got=$(complete_words tidemark st)
[[ -n $want && $got == "$want" ]] || fail "tidemark st<TAB>: got [$got], want [$want]"
got=$(complete_words tidemark "")
for c in $("$BIN" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p'); do
  grep -qx -- "$c" <<<"$got" || fail "tidemark <TAB> misses the command $c: [$got]"
done

# flags: every one the help lists that the status parser accepts, and nothing else
# accepted VERB FLAG: does VERB's parser take FLAG?  The parser checks a value before the verb, so the flag is
# tried with values that its converter accepts (a count, a strategy, a policy, an output) until one reaches the
# verb check; without --changelog every run stops at the usage check, before any file or database.
accepted() {
  local out v
  for v in 1 rollback deny table; do
    out=$(TIDEMARK_DB_URL= "$BIN" "$1" "$2" "$v" </dev/null 2>&1 >/dev/null) || true
    if grep -q "unknown flag\|does not apply" <<<"$out"; then return 1; fi
  done
  return 0
}
got=$(complete_words tidemark status --)
[[ -n $got ]] || fail "tidemark status --<TAB> offers nothing"
for f in $got; do
  [[ $f == --help ]] && continue
  accepted status "$f" || fail "tidemark status --<TAB> offers $f, which status does not accept"
done
want=0
for f in $("$BIN" status --help | grep -o -- '^  --[a-z-]*' | sort -u); do
  if accepted status "$f"; then
    want=$((want + 1))
    grep -qx -- "$f" <<<"$got" || fail "tidemark status --<TAB> misses $f: [$got]"
  elif grep -qx -- "$f" <<<"$got"; then
    fail "tidemark status --<TAB> offers $f, which status refuses"
  fi
done
((want >= 5)) || fail "expected several status flags from the help, found $want"
grep -qx -- --contexts <<<"$got" || fail "aliases (--contexts) should complete too: [$got]"
got=$(complete_words tidemark controller --)
for f in $("$BIN" controller --help | grep -o -- '^  --[a-z-]*'); do
  grep -qx -- "$f" <<<"$got" || fail "tidemark controller --<TAB> misses $f"
done

# values: a metavar listing its choices completes them; a PATH completes files
want=$("$BIN" status --help | sed -n 's/.*-o \([a-z|]*\) .*/\1/p' | tr '|' '\n' | sort)
got=$(complete_words tidemark status -o "")
[[ -n $want && $got == "$want" ]] || fail "tidemark status -o <TAB>: got [$got], want [$want]"
touch "$WORK/changelog-a.xml"
got=$(complete_words tidemark status --changelog "$WORK/changelog-")
[[ $got == "$WORK/changelog-a.xml" ]] || fail "--changelog <TAB> should complete files: [$got]"
got=$(complete_words tidemark completion "")
[[ $got == $'bash\nzsh' ]] || fail "tidemark completion <TAB>: [$got]"

"$BIN" completion zsh >"$WORK/_tidemark" || fail "completion zsh: exit $?"
grep -q -- "'--changelog\[" "$WORK/_tidemark" || fail "the zsh script has no --changelog spec"
command -v zsh >/dev/null || fail "zsh is not installed (hack/deps.sh installs it)"
zsh -n "$WORK/_tidemark" || fail "the zsh script does not parse"
# zsh_complete [SCRIPT] LINE: the words a real interactive zsh (compinit, the script sourced) offers for
# LINE<TAB>, sorted, one per line (tests/unit/cli_completion_capture.zsh drives it in a pty)
zsh_complete() {
  local script="$WORK/_tidemark"
  (($# == 2)) && { script=$1; shift; }
  { timeout 30 zsh -f "$ROOT/tests/unit/cli_completion_capture.zsh" "$script" "$1" || echo "<zsh-exit-$?>"; } |
    awk '{print $1}' | sort -u
}
want=$("$BIN" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' | sort)
got=$(zsh_complete "tidemark ")
[[ -n $want && $got == "$want" ]] || fail "zsh: tidemark <TAB>: got [$got], want [$want]"
got=$(zsh_complete "tidemark st")
[[ $got == status ]] || fail "zsh: tidemark st<TAB>: got [$got], want [status]"
want=$("$BIN" status --help | sed -n 's/.*-o \([a-z|]*\) .*/\1/p' | tr '|' '\n' | sort)
got=$(zsh_complete "tidemark status -o ")
[[ -n $want && $got == "$want" ]] || fail "zsh: tidemark status -o <TAB>: got [$got], want [$want]"
got=$(zsh_complete "tidemark controller --names")
[[ $got == --namespace ]] || fail "zsh: tidemark controller --names<TAB>: got [$got]"
got=$(zsh_complete "tidemark status --changelog $WORK/changelog-")
[[ $got == changelog-a.xml ]] || fail "zsh: --changelog <TAB> should complete files: [$got]"  # _files adds the name
# and the harness notices a broken script: one cut short offers nothing
head -n 30 "$WORK/_tidemark" >"$WORK/_tidemark.cut"
got=$(zsh_complete "$WORK/_tidemark.cut" "tidemark st" 2>/dev/null)
[[ $got == "<zsh-exit-4>" ]] || fail "zsh: a truncated script still completed [$got]: the zsh check cannot fail"

rc=0; "$BIN" completion fish >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q 'unknown shell "fish"' "$WORK/err" || fail "completion fish: exit $rc, $(cat "$WORK/err")"
rc=0; "$BIN" completion >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "completion without a shell: exit $rc, want 2"
echo "cli_completion: ok"
