#!/usr/bin/env bash
# tidemark tests/unit/controller_flags.sh — `tidemark controller` flag handling without a cluster:
# --help exits 0 and lists the flags (and stops reading them); bad flags and values exit 2 with a message naming them
# (--namespace: each name of its comma lists checked);
# an unreadable kubeconfig exits 1 with one structured error line (and no secrets in it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
require_tidemark
BIN=$TIDEMARK_BIN
new_work_dir

out="$("$BIN" controller --help)" || fail "--help: expected exit 0"
for f in --kubeconfig --namespace --workers --leader-elect --leader-election-namespace \
         --leader-election-id --metrics-addr --health-addr --log-format --log-level \
         --workers-dbrollout --workers-dbinstance --workers-dbschema --max-concurrent-applies \
         --max-concurrent-applies-per-server; do
  grep -q -- "$f" <<<"$out" || fail "--help does not mention $f"
done

expect_exit() { # CODE PATTERN ARGS...
  local want=$1 pat=$2 rc=0; shift 2
  "$BIN" controller "$@" >"$WORK/out" 2>&1 || rc=$?
  [[ $rc -eq $want ]] || fail "controller $*: expected exit $want, got $rc: $(cat "$WORK/out")"
  grep -q -- "$pat" "$WORK/out" || fail "controller $*: expected output matching '$pat', got: $(cat "$WORK/out")"
}
expect_exit 2 "unknown flag --frobnicate" --frobnicate
expect_exit 2 'bad value "0" for --workers' --workers 0
expect_exit 2 'bad value "many" for --workers' --workers=many
expect_exit 2 'bad value "0" for --workers-dbrollout' --workers-dbrollout 0
expect_exit 2 'bad value "-1" for --max-concurrent-applies' --max-concurrent-applies=-1
expect_exit 2 'bad value "x" for --max-concurrent-applies-per-server' --max-concurrent-applies-per-server x
expect_exit 2 "needs a value" --namespace
# --namespace: repeatable, comma lists, each name a namespace name (DNS-1123 label)
grep -q -- "--namespace NS\[,NS...\]" <<<"$out" || fail "--help does not show --namespace's list form"
expect_exit 2 'bad value "team-a,Team_B" for --namespace: not a namespace name: "Team_B"' --namespace team-a,Team_B
expect_exit 2 'bad value "a,,b" for --namespace: not a namespace name: ""' --namespace=a,,b
expect_exit 2 'not a namespace name: ""' --namespace a --namespace ''
expect_exit 2 'not a namespace name: "-a"' --namespace -a
expect_exit 2 "log-format must be json or text" --log-format xml
expect_exit 2 "log-level must be" --log-level loud
expect_exit 2 'bad value "soon" for --grace-period' --grace-period soon
expect_exit 2 'bad value "1e400" for --grace-period' --grace-period=1e400
expect_exit 2 "unknown flag --leader-elect=maybe" --leader-elect=maybe
expect_exit 2 "unknown flag extra" extra
# --help wins over what follows it, not over what came before
expect_exit 0 "durations: 500ms" --leader-elect=false --help --frobnicate
expect_exit 2 "unknown flag --frobnicate" --frobnicate --help
expect_exit 1 '"msg":"controller failed"' --kubeconfig "$WORK/missing.yaml" --metrics-addr 0 --health-addr 0
grep -q "$WORK/missing.yaml" "$WORK/out" || fail "the error should name the kubeconfig path: $(cat "$WORK/out")"
[[ $(grep -c '"level":"error"' "$WORK/out") -eq 1 ]] || fail "expected exactly one error line: $(cat "$WORK/out")"
# text logs are not JSON
expect_exit 1 'level=error\|error' --log-format text --kubeconfig "$WORK/missing.yaml" --metrics-addr 0 --health-addr 0
if grep -q '^{' "$WORK/out"; then fail "--log-format text still wrote JSON: $(cat "$WORK/out")"; fi
echo "controller_flags: ok"
