#!/usr/bin/env bash
# tidemark tests/unit/cli_kubectl_flags.sh — the kubectl plugin without a cluster: the binary under the name
# kubectl-tidemark (a symlink) is the plugin (its --help, not tidemark's usage), and its flag errors exit 2 naming
# the flag, before any kubeconfig is read; as kubectl_complete-tidemark it answers kubectl's completion.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
require_tidemark
new_work_dir
if [[ $(head -c2 "$TIDEMARK_BIN") == '#!' ]]; then
  plugin=("$TIDEMARK_BIN" kubectl-tidemark) # a wrapper cannot carry argv[0]
else
  ln -s "$TIDEMARK_BIN" "$WORK/kubectl-tidemark"
  plugin=("$WORK/kubectl-tidemark")
fi
out=$("${plugin[@]}" --help) || fail "kubectl-tidemark --help: exit $?"
grep -q '^usage: kubectl tidemark' <<<"$out" || fail "the symlink is not the plugin: $out"
for f in -n --kubeconfig -o -A; do grep -q -- "^  $f" <<<"$out" || fail "--help does not list $f: $out"; done

expect_exit() { # CODE PATTERN ARGS...
  local want=$1 pat=$2 rc=0; shift 2
  KUBECONFIG="$WORK/none" "${plugin[@]}" "$@" >"$WORK/out" 2>&1 || rc=$?
  [[ $rc -eq $want ]] || fail "kubectl-tidemark $*: exit $rc, want $want: $(cat "$WORK/out")"
  grep -q -- "$pat" "$WORK/out" || fail "kubectl-tidemark $*: want '$pat' in: $(cat "$WORK/out")"
}
expect_exit 2 'flag -n needs a value' -n
expect_exit 2 '-o: "xml" is not table|json|yaml' -o xml
expect_exit 2 'unknown flag "--frob"' --frob
expect_exit 2 'unexpected argument "extra"' extra
expect_exit 2 'flag -A takes no value' -A=1
expect_exit 1 "$WORK/none" -n default # flags fine: the kubeconfig is read, and it is missing
# kubectl_complete-tidemark: the plugin's flags from its table, in cobra's __complete answer
if [[ ${#plugin[@]} -eq 2 ]]; then
  complete=("$TIDEMARK_BIN" kubectl_complete-tidemark)
else
  ln -s "$TIDEMARK_BIN" "$WORK/kubectl_complete-tidemark"
  complete=("$WORK/kubectl_complete-tidemark")
fi
got=$("${complete[@]}" -)
for f in $(grep -o -- '^  -[-a-zA-Z]*' <<<"$out"); do
  grep -qx -- "$f" <<<"$got" || fail "kubectl_complete-tidemark - misses $f: $got"
done
[[ $(tail -1 <<<"$got") == ":4" ]] || fail "flags should end with :4 (no files): $got"
[[ $("${complete[@]}" -n x -o y) == $'yaml\n:4' ]] || fail "-o y: $("${complete[@]}" -n x -o y)"
[[ $("${complete[@]}" --kubeconfig "") == ":0" ]] || fail "--kubeconfig should complete files: $("${complete[@]}" --kubeconfig "")"
echo "cli_kubectl_flags: ok"
