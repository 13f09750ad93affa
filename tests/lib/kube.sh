# shellcheck shell=bash
# tidemark tests/lib/kube.sh — the REAL control plane from hack/controlplane.sh (etcd +
# kube-apiserver + kube-controller-manager; with TIDEMARK_NODE=1 also kube-scheduler and a node
# whose kubelet runs real pods) as the tests use it: the kubectl wrapper, the tidemark CRDs
# installed and Established, a namespace per test.  Pods and the test app: tests/lib/app.sh.
#
#   require_controlplane       fail unless KUBECONFIG/TIDEMARK_K8S_BIN work and /readyz answers
#   k ARGS...                  kubectl with $KUBECONFIG and a request timeout
#   install_crds               server-side apply of crds/ (idempotent, safe when tests run at
#                              once; retried while the apiserver settles), then wait until the
#                              three CRDs are Established; fails with the reason
#   unique_ns PREFIX           print a fresh DNS-1123 namespace name (does not create it)
#   new_namespace PREFIX       NS=$(unique_ns PREFIX), created now, deleted at exit
#   lease_holder NS LEASE      the Lease's holderIdentity ("" when free or missing)
#   watch_until SECS NS RESOURCE NAME JSONPATH FN [ARGS...]
#                              call FN ARGS... LINE, LINE the object's JSONPATH (one line), for
#                              its state now and after each change, until FN returns 0 (then
#                              0), 2 (then 2) or SECS * TM_WAIT_SCALE pass (then 1).  One
#                              `kubectl get --watch` streams the changes (a poll started one
#                              kubectl every half second, each ~0.07 s of CPU with the server's);
#                              it is opened again, half a second later, when it ends early (the
#                              object is not there yet, the connection was cut)
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

# GOGC=400: a kubectl run is short and its heap small (+12 MB at most seen), and collecting less
# often cuts a fifth of its CPU (0.055 -> 0.044 s a `get`; a test starts dozens)
k() { GOGC=400 "$TIDEMARK_K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG" --request-timeout=15s "$@"; }

TM_CRDS=(dbschemas dbinstances dbrollouts)

_apply_crds() { k apply --server-side --force-conflicts --field-manager=tidemark-e2e -k "$ROOT/crds" >/dev/null; }

install_crds() {
  wait_for -t 60 _apply_crds || fail "kubectl apply -k crds/ was rejected: $(_apply_crds 2>&1)"
  # one kubectl for the three: each CRD's name and Established status, a line each
  local names=() want="" crd
  for crd in "${TM_CRDS[@]}"; do names+=("$crd.tidemark.dev"); want+="$crd.tidemark.dev=True"$'\n'; done
  wait_for_output "${want%$'\n'}" k get crd "${names[@]}" \
    -o 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Established")].status}{"\n"}{end}' \
    || fail "the tidemark CRDs are not all Established"
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

watch_until() {
  local secs=$1 ns=$2 resource=$3 name=$4 jsonpath=$5 fn=$6 deadline left fd wpid line rc
  shift 6
  deadline=$(( $(date +%s) + secs * ${TM_WAIT_SCALE:-1} ))
  while left=$(( deadline - $(date +%s) )); (( left > 0 )); do
    # (exec: $! is then kubectl itself, which the kill below ends)
    exec {fd}< <(GOGC=400 exec "$TIDEMARK_K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG" --request-timeout="${left}s" \
      -n "$ns" get "$resource" "$name" --watch -o "jsonpath=$jsonpath{\"\\n\"}" 2>/dev/null)
    wpid=$!
    rc=1
    while read -r -u "$fd" line; do
      "$fn" "$@" "$line" && rc=0 || rc=$?
      (( rc == 0 || rc == 2 )) && break
      rc=1
    done
    kill "$wpid" 2>/dev/null || true
    exec {fd}<&-
    (( rc == 0 || rc == 2 )) && return "$rc"
    (( $(date +%s) < deadline )) && sleep 0.5
  done
  return 1
}

lease_holder() { k -n "$1" get lease "$2" -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null; }
