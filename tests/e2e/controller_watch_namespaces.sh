#!/usr/bin/env bash
# tidemark tests/e2e/controller_watch_namespaces.sh — `tidemark controller --namespace` with two
# of three namespaces, run as a ServiceAccount that holds only the chart's watchNamespaces RBAC
# (a Role in each of the two, nothing cluster-wide):
#   - the DBRollouts of both watched namespaces succeed (so every list, watch, Secret read,
#     status write and Event the controller needs works with Roles alone);
#   - the third namespace's DBSchema, DBInstance and DBRollout are never touched: their status
#     keeps the CRDs' default {observedGeneration: -1} and no phase, and its database gets no
#     history table;
#   - every cache is listed per watched namespace (DBRollouts, DBInstances, DBSchemas,
#     Deployments, ConfigMaps), never cluster-wide, and no request was forbidden.
# --namespace is given three times (start_controller's own, a comma list as the chart passes it,
# and a repeat).
# Needs helm (hack/helm.sh build), KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_PG_URL, TIDEMARK_BIN.
set -euo pipefail
# shellcheck source=tests/lib/rollout.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
# shellcheck source=tests/lib/chart.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/chart.sh"
rollout_setup wns
new_work_dir
A=$NS B="$(unique_ns wns-b)" C="$(unique_ns wns-c)"
for ns in "$B" "$C"; do
  k create namespace "$ns" >/dev/null || fail "create namespace $ns"
done
at_exit 'k delete namespace "$B" "$C" --ignore-not-found --wait=false >/dev/null 2>&1'

# ---- the chart's RBAC for watchNamespaces={A,B}, its ServiceAccount in A, and a token for it
REL="wns-$(random_hex 3)"
"$HELM" template "$REL" "$CHART" --namespace "$A" --set crds.install=false \
  --set "watchNamespaces={$A,$B}" \
  --show-only templates/serviceaccount.yaml --show-only templates/rbac.yaml >"$WORK/rbac.yaml" \
  || fail "helm template (watchNamespaces) failed"
! grep -q '^kind: Cluster' "$WORK/rbac.yaml" || fail "watchNamespaces rendered a cluster-wide grant"
k apply -f "$WORK/rbac.yaml" >/dev/null || fail "applying the chart's RBAC failed"
SA="system:serviceaccount:$A:$REL-tidemark"
bound() { [[ "$(k auth can-i --as="$SA" list dbrollouts.tidemark.dev -n "$1" 2>/dev/null || true)" == yes ]]; }
wait_for -t 30 bound "$B" || fail "the Role in $B never took effect for $SA"
[[ "$(k auth can-i --as="$SA" list dbrollouts.tidemark.dev -A 2>/dev/null || true)" == no ]] \
  || fail "$SA may list DBRollouts cluster-wide"
TOKEN="$(k -n "$A" create token "$REL-tidemark" --duration=1h)" || fail "create token for $SA"
SERVER="$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
CA="$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
[[ -n "$CA" ]] || CA="$(base64 -w0 <"$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')")"
cat >"$WORK/sa.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$SERVER", certificate-authority-data: "$CA"}
users:
- name: u
  user: {token: "$TOKEN"}
contexts:
- name: x
  context: {cluster: c, user: u, namespace: $A}
current-context: x
YAML

# ---- the same schema, instance and rollout in each namespace, each with its own database
DBS=()
for ns in "$A" "$B" "$C"; do
  NS=$ns
  [[ "$ns" == "$A" ]] || new_database "${ns//-/_}" "$ROLE"
  DBS+=("$DB")
  table_changelog t_orders v1 | apply_schema app
  apply_instance db app Allow
  apply_rollout release db v1
done
NS=$A

start_controller --namespace "$B,$A" --namespace "$B" --kubeconfig "$WORK/sa.kubeconfig"
for ns in "$A" "$B"; do
  NS=$ns
  wait_for_phase release Succeeded 90
done
NS=$A
log "both watched namespaces Succeeded"

# ---- the unwatched namespace: untouched (it was there before the controller started, so a
# controller watching it would have handled it with the others)
for kind in dbschema/app dbinstance/db dbrollout/release; do
  got="$(k -n "$C" get "$kind" -o 'jsonpath={.status.observedGeneration}/{.status.phase}/{.status.conditions}')"
  [[ "$got" == "-1//" ]] || fail "$C/$kind was touched by a controller not watching $C: status $got"
done
tables="$(psql "$(pg_url_of "${DBS[2]}")" -qXAtc "select count(*) from pg_tables where tablename in ('databasechangelog', 't_orders')")"
[[ "$tables" == 0 ]] || fail "database ${DBS[2]} of unwatched $C got $tables tidemark tables"
for i in 0 1; do
  psql "$(pg_url_of "${DBS[$i]}")" -qXAtc "select count(*) from t_orders" >/dev/null \
    || fail "database ${DBS[$i]} of a watched namespace has no t_orders"
done

# ---- the controller's log: what it watched, and that nothing was refused
# start_controller passes --namespace "$A" first: A, then B (A and B again are repeats)
grep -q "\"msg\":\"controller starting\".*\"namespace\":\"$A,$B\"" "$CTL_LOG" \
  || fail "the start line does not name the namespaces $A,$B once each"
listed="$(sed -n 's/.*"msg":"cache listed".*"resource":"\([^"]*\)","namespace":"\([^"]*\)".*/\1 \2/p' "$CTL_LOG" | sort -u)"
for r in dbrollouts.tidemark.dev dbinstances.tidemark.dev dbschemas.tidemark.dev deployments.apps configmaps; do
  for ns in "$A" "$B"; do
    grep -qx "$r $ns" <<<"$listed" || fail "$r was not listed in $ns; listed: $listed"
  done
done
others="$(grep -v -e " $A\$" -e " $B\$" <<<"$listed" || true)"
[[ -z "$others" ]] || fail "caches listed outside $A and $B: $others"
! grep -q '"http_status":403' "$CTL_LOG" || fail "a request was forbidden: $(grep -m3 '"http_status":403' "$CTL_LOG")"
! grep -q "\"namespace\":\"$C\"" "$CTL_LOG" || fail "the controller logged about $C: $(grep -m3 "\"namespace\":\"$C\"" "$CTL_LOG")"
assert_no_canary
log "controller_watch_namespaces: ok"
