#!/usr/bin/env bash
# tidemark tests/e2e/kubectl_plugin.sh — `kubectl tidemark`: the tidemark binary under the name kubectl-tidemark
# (a symlink on PATH, as the README says) is found by kubectl as a plugin and lists every DBRollout across
# namespaces with its instance, tag, phase and plan, read from the real API server; -n limits it to one namespace;
# -o json and -o yaml carry the same rows; a DBRollout without status yet says so; `kubectl __complete tidemark`
# reaches kubectl_complete-tidemark (the same binary) and gets the plugin's flags and -o values.  The status is written through
# the status subresource (no controller runs here).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
require_tidemark
require_controlplane
require_cmd python3
install_crds
new_work_dir
new_namespace kplug-a
NS_A=$NS
new_namespace kplug-b
NS_B=$NS

rollout() { # NS NAME INSTANCE TAG
  k -n "$1" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: $2}
spec: {instanceRef: {name: $3}, tag: $4}
YAML
}
wait_for -t 30 rollout "$NS_A" orders-v2 orders-prod v2 || fail "could not create a DBRollout"
rollout "$NS_B" billing-v1 billing-prod v1
rollout "$NS_B" billing-v0 billing-old v0
rollout "$NS_A" orders-v3 orders-prod v3
h="sha256:0123456789ab$(printf '0%.0s' {1..52})"
k -n "$NS_A" patch dbrollout orders-v3 --subresource=status --type=merge -p \
  '{"status":{"phase":"AwaitingApproval","targetTag":"v3","plan":{"hash":"'"$h"'","shortHash":"0123456789ab"}}}' >/dev/null
k -n "$NS_A" patch dbrollout orders-v2 --subresource=status --type=merge -p \
  '{"status":{"phase":"Succeeded","appliedTag":"v2","targetTag":"v2","appliedChangeSets":3,"rolledBackChangeSets":0}}' >/dev/null
k -n "$NS_B" patch dbrollout billing-v1 --subresource=status --type=merge -p \
  '{"status":{"phase":"RolledBack","appliedTag":"v0","targetTag":"v1","appliedChangeSets":2,"rolledBackChangeSets":2,"message":"apply failed"}}' >/dev/null

mkdir -p "$WORK/bin"
if [[ $(head -c2 "$TIDEMARK_BIN") == '#!' ]]; then
  # a wrapper (tests/valgrind_run.sh) execs the binary under its own name: call the plugin by name
  printf '#!/bin/sh\nexec "%s" kubectl-tidemark "$@"\n' "$TIDEMARK_BIN" >"$WORK/bin/kubectl-tidemark"
  chmod +x "$WORK/bin/kubectl-tidemark"
else
  ln -s "$TIDEMARK_BIN" "$WORK/bin/kubectl-tidemark" # what the README tells users to do
fi
export PATH="$WORK/bin:$TIDEMARK_K8S_BIN:$PATH"
if [[ -L $WORK/bin/kubectl-tidemark ]]; then
  ln -s "$TIDEMARK_BIN" "$WORK/bin/kubectl_complete-tidemark"
else
  printf '#!/bin/sh\nexec "%s" kubectl_complete-tidemark "$@"\n' "$TIDEMARK_BIN" >"$WORK/bin/kubectl_complete-tidemark"
  chmod +x "$WORK/bin/kubectl_complete-tidemark"
fi
kubectl plugin list 2>/dev/null | grep -q "$WORK/bin/kubectl-tidemark" || fail "kubectl plugin list does not find kubectl-tidemark: $(kubectl plugin list 2>&1)"

# all namespaces: our three rows (other tests' rollouts may be there too)
out=$(kubectl tidemark) || fail "kubectl tidemark: exit $?"
head -1 <<<"$out" | grep -Eq '^NAMESPACE +NAME +INSTANCE +TAG +PHASE +PLAN$' || fail "unexpected header: $(head -1 <<<"$out")"
row() { grep -E "^$1 +$2 " <<<"$out" | tr -s ' '; }
[[ $(row "$NS_A" orders-v2) == "$NS_A orders-v2 orders-prod v2 Succeeded v2 -> v2: 3 applied, 0 rolled back" ]] \
  || fail "orders-v2 row: '$(row "$NS_A" orders-v2)'"
[[ $(row "$NS_A" orders-v3) == "$NS_A orders-v3 orders-prod v3 AwaitingApproval (none) -> v3: 0 applied, 0 rolled back, plan 0123456789ab" ]] \
  || fail "orders-v3 row: '$(row "$NS_A" orders-v3)'"
[[ $(row "$NS_B" billing-v1) == "$NS_B billing-v1 billing-prod v1 RolledBack v0 -> v1: 2 applied, 2 rolled back" ]] \
  || fail "billing-v1 row: '$(row "$NS_B" billing-v1)'"
[[ $(row "$NS_B" billing-v0) =~ ^"$NS_B billing-v0 billing-old v0 "[^\ ]+" " ]] || fail "billing-v0 row: '$(row "$NS_B" billing-v0)'"

# one namespace
out=$(kubectl tidemark -n "$NS_B") || fail "kubectl tidemark -n: exit $?"
[[ $(grep -c "^$NS_B " <<<"$out") -eq 2 ]] || fail "-n $NS_B should list its two rollouts: $out"
grep -q "orders-v2" <<<"$out" && fail "-n $NS_B lists another namespace's rollout: $out"
out=$(kubectl tidemark -n "kplug-none-$$") || fail "kubectl tidemark -n (empty): exit $?"
[[ $out == "No DBRollouts found in namespace kplug-none-$$." ]] || fail "empty namespace: '$out'"

# -o json and -o yaml: the same rows
kubectl tidemark -n "$NS_B" -o json >"$WORK/rows.json" || fail "-o json: exit $?"
python3 - "$WORK/rows.json" "$NS_B" <<'PY' || fail "-o json rows: $(cat "$WORK/rows.json")"
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
r = rows["billing-v1"]
assert set(rows) == {"billing-v1", "billing-v0"}, rows
assert (r["namespace"], r["instance"], r["tag"], r["phase"], r["appliedTag"], r["targetTag"],
        r["appliedChangeSets"], r["rolledBackChangeSets"], r["message"]) == \
       (sys.argv[2], "billing-prod", "v1", "RolledBack", "v0", "v1", 2, 2, "apply failed"), r
PY
kubectl tidemark -n "$NS_B" -o yaml >"$WORK/rows.yaml" || fail "-o yaml: exit $?"
grep -q "^- namespace: '$NS_B'$" "$WORK/rows.yaml" && grep -q "^  phase: 'RolledBack'$" "$WORK/rows.yaml" \
  && grep -q "^  appliedChangeSets: 2$" "$WORK/rows.yaml" || fail "-o yaml: $(cat "$WORK/rows.yaml")"

# kubectl's own completion of the plugin asks kubectl_complete-tidemark (cobra's __complete protocol)
got=$(kubectl __complete tidemark -o "" 2>/dev/null) || fail "kubectl __complete tidemark -o: exit $?"
[[ $got == $'table\njson\nyaml\n:4' ]] || fail "kubectl __complete tidemark -o '': '$got'"
got=$(kubectl __complete tidemark --n 2>/dev/null)
[[ $got == $'--namespace\n:4' ]] || fail "kubectl __complete tidemark --n: '$got'"

rc=0; kubectl tidemark --frobnicate >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 ]] && grep -q 'unknown flag' "$WORK/err" || fail "bad flag: exit $rc, $(cat "$WORK/err")"
rc=0; KUBECONFIG="$WORK/missing" kubectl-tidemark >/dev/null 2>"$WORK/err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "$WORK/missing" "$WORK/err" || fail "missing kubeconfig: exit $rc, $(cat "$WORK/err")"
echo "kubectl_plugin: ok"
