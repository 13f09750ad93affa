#!/usr/bin/env bash
# tidemark tests/e2e/crds_install.sh — the CRDs install into a REAL kube-apiserver, become
# Established, answer to their short names and category, document themselves through
# `kubectl explain`, and print the promised columns in `kubectl get`.
#
# The CRDs stay installed afterwards (other e2e tests and the controller need them; applying
# them is idempotent); the namespace this test creates is deleted.
# Needs KUBECONFIG and TIDEMARK_K8S_BIN (exported by the harness or hack/controlplane.sh env).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
require_controlplane

install_crds
for crd in "${TM_CRDS[@]}"; do
  got="$(k get crd "$crd.tidemark.dev" -o 'jsonpath={.status.conditions[?(@.type=="NamesAccepted")].status}')"
  [[ "$got" == True ]] || fail "CRD $crd.tidemark.dev: expected NamesAccepted=True, got '$got'"
done
log "CRDs Established"

new_namespace crds-install
# discovery of freshly established CRDs can lag: retry the first create until served
create_objects() {
  k -n "$NS" apply -f - >/dev/null <<'YAML'
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: orders}
spec:
  source:
    git:
      url: https://git.example.com/shop/orders.git
      ref: {branch: main}
      path: db/
---
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: orders-prod}
spec:
  schemaRef: {name: orders}
  connection:
    host: orders-db.prod.svc
    database: orders
    userSecretRef: {name: orders-db}
---
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: orders-prod-v110}
spec:
  instanceRef: {name: orders-prod}
  tag: v1.1.0
  deploymentRef: {name: orders-app}
YAML
}
wait_for -t 30 create_objects || fail "could not create one DBSchema, DBInstance and DBRollout: $(create_objects 2>&1)"

# short names and the category resolve
got="$(k -n "$NS" get dbs,dbi,dbro -o name | sort | tr '\n' ' ')"
[[ "$got" == "dbinstance.tidemark.dev/orders-prod dbrollout.tidemark.dev/orders-prod-v110 dbschema.tidemark.dev/orders " ]] \
  || fail "kubectl get dbs,dbi,dbro: expected the three objects, got '$got'"
got="$(k -n "$NS" get tidemark -o name | wc -l | tr -d ' ')"
[[ "$got" == 3 ]] || fail "kubectl get tidemark (category): expected 3 objects, got $got"

# defaults were applied by the apiserver
got="$(k -n "$NS" get dbro orders-prod-v110 -o 'jsonpath={.spec.order}/{.spec.onAppFailure}/{.spec.changeSetFailureStrategy}/{.spec.appTimeoutSeconds}')"
[[ "$got" == "SchemaFirst/RollbackSchema/Rollback/600" ]] || fail "DBRollout defaults: expected SchemaFirst/RollbackSchema/Rollback/600, got '$got'"
got="$(k -n "$NS" get dbi orders-prod -o 'jsonpath={.spec.engine}/{.spec.connection.port}/{.spec.connection.sslMode}/{.spec.changelogTable}/{.spec.connection.userSecretRef.usernameKey}')"
# port and sslMode: no schema default (libpq's apply), so a urlSecretRef URL's values win
[[ "$got" == "postgres///public.databasechangelog/username" ]] || fail "DBInstance defaults: got '$got'"
got="$(k -n "$NS" get dbs orders -o 'jsonpath={.spec.changelog}/{.spec.source.git.interval}/{.spec.source.git.timeout}')"
[[ "$got" == "changelog.yaml/1m/60s" ]] || fail "DBSchema defaults: got '$got'"
log "short names, category and defaults ok"

# printer columns: fill the status the way the controller will, then read `kubectl get`
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
k -n "$NS" patch dbro orders-prod-v110 --subresource=status --type=merge -p "{\"status\":{\"phase\":\"WaitingForApp\",\"appliedTag\":\"v1.1.0\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"reason\":\"WaitingForApp\",\"message\":\"waiting for deployment orders-app\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null \
  || fail "could not patch DBRollout status through the status subresource"
k -n "$NS" patch dbi orders-prod --subresource=status --type=merge -p "{\"status\":{\"appliedTag\":\"v1.0.0\",\"pendingChangeSets\":3,\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Connected\",\"message\":\"\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null \
  || fail "could not patch DBInstance status"
k -n "$NS" patch dbs orders --subresource=status --type=merge -p "{\"status\":{\"source\":\"https://git.example.com/shop/orders.git@main\",\"revision\":\"0123456789abcdef0123456789abcdef01234567\",\"latestTag\":\"v1.2.0\",\"tagCount\":3,\"changeSets\":8,\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"Fetched\",\"message\":\"\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null \
  || fail "could not patch DBSchema status"

squash() { tr -s ' ' | sed 's/ *$//'; }
header="$(k -n "$NS" get dbro | sed -n 1p | squash)"
[[ "$header" == "NAME INSTANCE TAG PHASE READY PLAN AGE" ]] || fail "kubectl get dbrollouts header: expected 'NAME INSTANCE TAG PHASE READY PLAN AGE', got '$header'"
row="$(k -n "$NS" get dbro orders-prod-v110 --no-headers | squash)"
[[ "$row" == "orders-prod-v110 orders-prod v1.1.0 WaitingForApp False "* ]] || fail "kubectl get dbrollouts row: got '$row'"
header="$(k -n "$NS" get dbro -o wide | sed -n 1p | squash)"
[[ "$header" == "NAME INSTANCE TAG PHASE READY PLAN APPLIED TARGET DEPLOYMENT ROLLOUT ORDER AGE" ]] || fail "kubectl get dbrollouts -o wide header: got '$header'"

header="$(k -n "$NS" get dbi | sed -n 1p | squash)"
[[ "$header" == "NAME SCHEMA APPLIED TAG PENDING READY AGE" ]] || fail "kubectl get dbinstances header: got '$header'"
row="$(k -n "$NS" get dbi orders-prod --no-headers | squash)"
[[ "$row" == "orders-prod orders v1.0.0 3 True "* ]] || fail "kubectl get dbinstances row: got '$row'"

header="$(k -n "$NS" get dbs | sed -n 1p | squash)"
[[ "$header" == "NAME SOURCE REVISION LATEST TAG TAGS CHANGESETS READY AGE" ]] || fail "kubectl get dbschemas header: got '$header'"
row="$(k -n "$NS" get dbs orders --no-headers | squash)"
[[ "$row" == "orders https://git.example.com/shop/orders.git@main 0123456789abcdef0123456789abcdef01234567 v1.2.0 3 8 True "* ]] \
  || fail "kubectl get dbschemas row: got '$row'"
log "printer columns ok"

# the status subresource: a spec write does not touch status, a status write does not touch spec
k -n "$NS" patch dbro orders-prod-v110 --type=merge -p '{"spec":{"tag":"v1.2.0"},"status":{"phase":"Failed"}}' >/dev/null
got="$(k -n "$NS" get dbro orders-prod-v110 -o 'jsonpath={.spec.tag}/{.status.phase}/{.metadata.generation}')"
[[ "$got" == "v1.2.0/WaitingForApp/2" ]] || fail "spec patch with status: expected 'v1.2.0/WaitingForApp/2' (status ignored, generation bumped), got '$got'"
k -n "$NS" patch dbro orders-prod-v110 --subresource=status --type=merge -p '{"spec":{"tag":"v9"},"status":{"phase":"Succeeded"}}' >/dev/null
got="$(k -n "$NS" get dbro orders-prod-v110 -o 'jsonpath={.spec.tag}/{.status.phase}/{.metadata.generation}')"
[[ "$got" == "v1.2.0/Succeeded/2" ]] || fail "status patch with spec: expected 'v1.2.0/Succeeded/2', got '$got'"
if out="$(k -n "$NS" patch dbro orders-prod-v110 --subresource=status --type=merge -p '{"status":{"phase":"Done"}}' 2>&1)"; then
  fail "status.phase Done: expected rejection (not in the enum), got: $out"
fi
[[ "$out" == *'Unsupported value: "Done"'* ]] || fail "status.phase Done: expected 'Unsupported value', got: $out"
log "status subresource ok"

# kubectl explain is the reference (output is wrapped: compare with whitespace squashed)
explain() { k explain "$1" | tr -s ' \n' '  '; }
out="$(explain dbrollout.spec.order)"
[[ "$out" == *"SchemaFirst (default; expand): apply the schema, then wait for the"* ]] \
  || fail "kubectl explain dbrollout.spec.order: description missing; got: $out"
[[ "$out" == *"AppFirst"* && "$out" == *"Parallel"* ]] || fail "kubectl explain dbrollout.spec.order: enum missing; got: $out"
out="$(explain dbrollout.spec.onAppFailure)"
[[ "$out" == *"RollbackBoth: also restore the app's pod template"* ]] || fail "kubectl explain dbrollout.spec.onAppFailure: got: $out"
out="$(explain dbrollout.spec.appRef)"
[[ "$out" == *"an Argo Rollouts Rollout"*"status.currentPodHash equal to status.stableRS"* ]] \
  || fail "kubectl explain dbrollout.spec.appRef: got: $out"
out="$(explain dbschema.spec.source.git.secretRef)"
[[ "$out" == *'keys "username" and "password"'* ]] || fail "kubectl explain dbschema.spec.source.git.secretRef: got: $out"
out="$(explain dbinstance.status.drift.reason)"
[[ "$out" == *"ChecksumMismatch"* ]] || fail "kubectl explain dbinstance.status.drift.reason: got: $out"
log "kubectl explain ok"
