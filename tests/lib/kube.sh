# shellcheck shell=bash
# tidemark tests/lib/kube.sh — the REAL control plane from hack/controlplane.sh (etcd +
# kube-apiserver + kube-controller-manager, no kubelet) as the tests use it: the kubectl
# wrapper, the tidemark CRDs installed and Established, a namespace per test, and — because
# there is no kubelet — pods made Ready (or not) through the pods/status subresource so
# Deployment rollouts succeed or fail on demand.
#
#   require_controlplane       fail unless KUBECONFIG/TIDEMARK_K8S_BIN work and /readyz answers
#   k ARGS...                  kubectl with $KUBECONFIG and a request timeout
#   install_crds               server-side apply of crds/ (idempotent, safe when tests run at
#                              once; retried while the apiserver settles), then wait until the
#                              three CRDs are Established; fails with the reason
#   unique_ns PREFIX           print a fresh DNS-1123 namespace name (does not create it)
#   new_namespace PREFIX       NS=$(unique_ns PREFIX), created now, deleted at exit
#   set_pod_ready NS POD True|False   mark one pod Running with Ready (and ContainersReady) so
#   make_pods_ready NS SELECTOR       mark every matching pod Running + Ready=True
#   make_pods_unready NS SELECTOR     mark every matching pod Running + Ready=False
#   lease_holder NS LEASE      the Lease's holderIdentity ("" when free or missing)
# Environment (exported by the ctest harness or `eval "$(hack/controlplane.sh env)"`):
#   KUBECONFIG, TIDEMARK_K8S_BIN (dir containing kubectl); E2E_TIMEOUT overrides 60 s waits.

[[ -n "${TM_LIB_KUBE_LOADED:-}" ]] && return 0
TM_LIB_KUBE_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require_controlplane() {
  [[ -n "${KUBECONFIG:-}" ]] || fail "KUBECONFIG is not set (run: eval \"\$(hack/controlplane.sh env)\" after hack/controlplane.sh start)"
  [[ -f "$KUBECONFIG" ]] || fail "KUBECONFIG=$KUBECONFIG does not exist (is the control plane started? hack/controlplane.sh start)"
  [[ -n "${TIDEMARK_K8S_BIN:-}" ]] || fail "TIDEMARK_K8S_BIN is not set (dir with kubectl; see hack/controlplane.sh env)"
  [[ -x "$TIDEMARK_K8S_BIN/kubectl" ]] || fail "no executable kubectl in TIDEMARK_K8S_BIN=$TIDEMARK_K8S_BIN (run hack/controlplane.sh build)"
  local ready
  ready="$(k get --raw /readyz 2>&1)" || fail "kube-apiserver not reachable via $KUBECONFIG: $ready"
}

k() { "$TIDEMARK_K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG" --request-timeout=15s "$@"; }

TM_CRDS=(dbschemas dbinstances dbrollouts)

_apply_crds() { k apply --server-side --force-conflicts --field-manager=tidemark-e2e -k "$ROOT/crds" >/dev/null; }

install_crds() {
  wait_for -t 60 _apply_crds || fail "kubectl apply -k crds/ was rejected: $(_apply_crds 2>&1)"
  local crd
  for crd in "${TM_CRDS[@]}"; do
    wait_for_output True k get crd "$crd.tidemark.dev" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' \
      || fail "CRD $crd.tidemark.dev not Established"
  done
}

unique_ns() {
  local prefix="${1:-e2e}" name
  name="$(printf '%s-%s-%04x' "$prefix" "$(date +%s)" "$((RANDOM))" | tr '[:upper:]_' '[:lower:]-')"
  printf '%s\n' "${name:0:63}"
}

new_namespace() {
  NS="$(unique_ns "$1")"
  at_exit 'k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1'
  k create namespace "$NS" >/dev/null || fail "could not create namespace $NS"
}

set_pod_ready() {
  local ns=$1 pod=$2 ready=$3 now patch
  now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  patch="$(printf '{"status":{"phase":"Running","conditions":[{"type":"PodScheduled","status":"True","lastTransitionTime":"%s"},{"type":"Initialized","status":"True","lastTransitionTime":"%s"},{"type":"ContainersReady","status":"%s","lastTransitionTime":"%s"},{"type":"Ready","status":"%s","lastTransitionTime":"%s"}]}}' \
    "$now" "$now" "$ready" "$now" "$ready" "$now")"
  k -n "$ns" patch pod "$pod" --subresource=status --type=merge -p "$patch" >/dev/null
}

# _set_pods_ready NS SELECTOR True|False
_set_pods_ready() {
  local ns=$1 selector=$2 ready=$3 pods pod
  pods="$(k -n "$ns" get pods -l "$selector" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')" || return 1
  [[ -n "$pods" ]] || { log "no pods match '$selector' in namespace $ns"; return 1; }
  while IFS= read -r pod; do
    [[ -n "$pod" ]] || continue
    set_pod_ready "$ns" "$pod" "$ready" || return 1
  done <<<"$pods"
}

make_pods_ready() { _set_pods_ready "$1" "$2" True; }
make_pods_unready() { _set_pods_ready "$1" "$2" False; }

lease_holder() { k -n "$1" get lease "$2" -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null; }
