#!/usr/bin/env bash
# tidemark tests/e2e/chart_dry_run.sh — what the Helm chart renders, the REAL kube-apiserver
# accepts: `helm template | kubectl apply --dry-run=server -f -` for the defaults (ClusterRole)
# for watchNamespaces=[a,b] (a Role and RoleBinding in each, no cluster-wide grant) and with
# every option on.
# Nothing is persisted; the namespaces this test creates are deleted.
# Needs helm (hack/helm.sh build), KUBECONFIG and TIDEMARK_K8S_BIN.
set -euo pipefail
# shellcheck source=tests/lib/kube.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
# shellcheck source=tests/lib/chart.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/chart.sh"
require_controlplane
A="$(unique_ns chart-dry-a)" B="$(unique_ns chart-dry-b)"
at_exit 'k delete namespace "$A" "$B" --ignore-not-found --wait=false >/dev/null 2>&1'
new_namespace chart-dry
k create namespace "$A" >/dev/null
k create namespace "$B" >/dev/null

dry_run() { # helm template args... -> kubectl's output; fails with the server's answer
  local out
  out="$("$HELM" template tidemark "$CHART" --namespace "$NS" "$@" | k apply --dry-run=server -f - 2>&1)" \
    || { printf '%s\n' "$out"; return 1; }
  printf '%s\n' "$out"
}
expect() { # OUTPUT OBJECT...: each OBJECT (kind.group/name) accepted by the server
  local out=$1 o; shift
  for o in "$@"; do
    grep -Eq "^$o (created|configured|unchanged) \(server dry run\)$" <<<"$out" \
      || fail "server dry run: $o missing or refused in: $out"
  done
}

# ---- defaults: everything, cluster-wide RBAC
out="$(dry_run)" || fail "helm template (defaults) | kubectl apply --dry-run=server was refused: $out"
expect "$out" customresourcedefinition.apiextensions.k8s.io/dbschemas.tidemark.dev \
  customresourcedefinition.apiextensions.k8s.io/dbinstances.tidemark.dev \
  customresourcedefinition.apiextensions.k8s.io/dbrollouts.tidemark.dev \
  serviceaccount/tidemark clusterrole.rbac.authorization.k8s.io/tidemark-controller \
  clusterrolebinding.rbac.authorization.k8s.io/tidemark-controller \
  role.rbac.authorization.k8s.io/tidemark-leader-election \
  rolebinding.rbac.authorization.k8s.io/tidemark-leader-election \
  service/tidemark-metrics deployment.apps/tidemark-controller
[[ "$(grep -c 'server dry run' <<<"$out")" == 10 ]] || fail "defaults: expected 10 objects, got: $out"
log "defaults: 10 objects accepted"

# ---- watchNamespaces=[a,b]: Roles in a and b instead of the ClusterRole
out="$(dry_run --set "watchNamespaces={$A,$B}")" \
  || fail "helm template --set watchNamespaces={a,b} | kubectl apply --dry-run=server was refused: $out"
expect "$out" role.rbac.authorization.k8s.io/tidemark-controller rolebinding.rbac.authorization.k8s.io/tidemark-controller \
  role.rbac.authorization.k8s.io/tidemark-leader-election deployment.apps/tidemark-controller
[[ "$(grep -c '^role.rbac.authorization.k8s.io/tidemark-controller ' <<<"$out")" == 2 ]] \
  || fail "watchNamespaces=[a,b]: expected the Role in 2 namespaces: $out"
if grep -q '^clusterrole' <<<"$out"; then fail "watchNamespaces=[a,b]: a cluster-wide grant was rendered: $out"; fi
# where the Roles went, as the server reads the rendered objects
roles="$("$HELM" template tidemark "$CHART" --namespace "$NS" --set "watchNamespaces={$A,$B}" --show-only templates/rbac.yaml |
  k apply --dry-run=server -o jsonpath='{range .items[?(@.kind=="Role")]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}' -f - 2>&1)" \
  || fail "dry run of the Roles: $roles"
[[ "$roles" == "$A/tidemark-controller"$'\n'"$B/tidemark-controller"$'\n'"$NS/tidemark-leader-election" ]] \
  || fail "watchNamespaces=[a,b]: Roles rendered into: $roles"
log "watchNamespaces=[$A,$B]: Roles per namespace accepted"

# ---- every option on (tests/data/chart/all-options.yaml) but the Prometheus Operator's kinds,
# which this cluster does not serve: NetworkPolicy, scheduling, env and security fields are valid
out="$(dry_run -f "$ROOT/tests/data/chart/all-options.yaml" --set "watchNamespaces={$A}" --set "grafanaDashboard.namespace=$A" \
  --set metrics.serviceMonitor.enabled=false --set prometheusRule.enabled=false)" \
  || fail "helm template -f all-options.yaml | kubectl apply --dry-run=server was refused: $out"
expect "$out" networkpolicy.networking.k8s.io/tidemark-controller serviceaccount/tidemark-sa \
  role.rbac.authorization.k8s.io/tidemark-controller deployment.apps/tidemark-controller configmap/tidemark-dashboard
log "every option: accepted"

# ---- the server really checks: a Role for a namespace that does not exist is refused
if out="$(dry_run --set "watchNamespaces={$NS-missing}")"; then
  fail "watchNamespaces=[a missing namespace]: expected the server to refuse the Role, got: $out"
fi
[[ "$out" == *"not found"* ]] || fail "watchNamespaces=[a missing namespace]: unexpected error: $out"
