# shellcheck shell=bash
# tidemark tests/lib/chart.sh — what the Helm chart tests share: the helm binary that
# hack/helm.sh builds (never built here: a cold build takes minutes), the chart, and kubectl
# for rendering without a cluster.  Source it (not a test).
#
#   HELM      the helm binary (fails, saying to run hack/helm.sh build, when not built)
#   CHART     manifests/chart/tidemark
#   require_kubectl   set KUBECTL to the control plane's cached kubectl (TIDEMARK_K8S_BIN, else
#                     where hack/controlplane.sh puts it); no cluster needed

[[ -n "${TM_LIB_CHART_LOADED:-}" ]] && return 0
TM_LIB_CHART_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HELM="$("$ROOT/hack/helm.sh" path)" || fail "no helm binary (run hack/helm.sh build)"
CHART="$ROOT/manifests/chart/tidemark"

require_kubectl() {
  local bin="${TIDEMARK_K8S_BIN:-}"
  [[ -n "$bin" ]] || bin="$(eval "$("$ROOT/hack/controlplane.sh" env)" && echo "$TIDEMARK_K8S_BIN")"
  KUBECTL="$bin/kubectl"
  [[ -x "$KUBECTL" ]] || fail "no kubectl in $bin (run hack/controlplane.sh build)"
}
