# shellcheck shell=bash
# tidemark tests/e2e/lib.sh — small bash helpers shared by every e2e test (source it; not a test).
#
# Why: e2e tests run against the REAL control plane started by hack/controlplane.sh
# (etcd + kube-apiserver + kube-controller-manager, no kubelet). These helpers give every
# test the same kubectl wrapper, polling-with-deadline, failure reporting, unique namespaces
# and — because there is no kubelet — a way to make pods Ready (or not) through the
# pods/status subresource so Deployment rollouts succeed or fail on demand.
#
# Usage:  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"; require_controlplane
#   k ARGS...                       kubectl with $KUBECONFIG and a request timeout
#   fail MSG...                     print "FAIL: MSG" to stderr and exit 1
#   log MSG...                      progress line on stderr
#   wait_for [-t SECS] [-i SECS] CMD...      poll CMD until it succeeds (default 60s, 0.5s)
#   wait_for_output [-t SECS] EXPECTED CMD... poll until CMD's stdout == EXPECTED; on timeout
#                                   prints expected vs last output and returns 1
#   unique_ns PREFIX                print a fresh DNS-1123 namespace name (does not create it)
#   make_pods_ready NS SELECTOR     mark every matching pod Running + Ready=True (pods/status)
#   make_pods_unready NS SELECTOR   mark every matching pod Running + Ready=False
# Environment (exported by the ctest harness or `eval "$(hack/controlplane.sh env)"`):
#   KUBECONFIG, TIDEMARK_K8S_BIN (dir containing kubectl); E2E_TIMEOUT overrides default 60s.

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

require_controlplane() {
  [[ -n "${KUBECONFIG:-}" ]] || fail "KUBECONFIG is not set (run: eval \"\$(hack/controlplane.sh env)\" after hack/controlplane.sh start)"
  [[ -f "$KUBECONFIG" ]] || fail "KUBECONFIG=$KUBECONFIG does not exist (is the control plane started? hack/controlplane.sh start)"
  [[ -n "${TIDEMARK_K8S_BIN:-}" ]] || fail "TIDEMARK_K8S_BIN is not set (dir with kubectl; see hack/controlplane.sh env)"
  [[ -x "$TIDEMARK_K8S_BIN/kubectl" ]] || fail "no executable kubectl in TIDEMARK_K8S_BIN=$TIDEMARK_K8S_BIN (run hack/controlplane.sh build)"
  local ready
  ready="$(k get --raw /readyz 2>&1)" || fail "kube-apiserver not reachable via $KUBECONFIG: $ready"
}

k() { "$TIDEMARK_K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG" --request-timeout=15s "$@"; }

wait_for() {
  local timeout="${E2E_TIMEOUT:-60}" interval=0.5
  while [[ $# -gt 0 ]]; do
    case "$1" in
      -t) timeout=$2; shift 2 ;;
      -i) interval=$2; shift 2 ;;
      *) break ;;
    esac
  done
  local deadline=$(( $(date +%s) + timeout ))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if (( $(date +%s) >= deadline )); then
      log "timed out after ${timeout}s waiting for: $*"
      return 1
    fi
    sleep "$interval"
  done
}

wait_for_output() {
  local timeout="${E2E_TIMEOUT:-60}"
  if [[ "${1:-}" == "-t" ]]; then timeout=$2; shift 2; fi
  local expected=$1; shift
  local deadline=$(( $(date +%s) + timeout )) got=""
  while :; do
    got="$("$@" 2>&1)" || true
    [[ "$got" == "$expected" ]] && return 0
    if (( $(date +%s) >= deadline )); then
      log "timed out after ${timeout}s: expected '$expected' from: $*; last output: '$got'"
      return 1
    fi
    sleep 0.5
  done
}

unique_ns() {
  local prefix="${1:-e2e}" name
  name="$(printf '%s-%s-%04x' "$prefix" "$(date +%s)" "$((RANDOM))" | tr '[:upper:]_' '[:lower:]-')"
  printf '%s\n' "${name:0:63}"
}

# _set_pods_ready NS SELECTOR True|False
_set_pods_ready() {
  local ns=$1 selector=$2 ready=$3 now pods pod patch
  now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  pods="$(k -n "$ns" get pods -l "$selector" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')" || return 1
  [[ -n "$pods" ]] || { log "no pods match '$selector' in namespace $ns"; return 1; }
  patch="$(printf '{"status":{"phase":"Running","conditions":[{"type":"PodScheduled","status":"True","lastTransitionTime":"%s"},{"type":"Initialized","status":"True","lastTransitionTime":"%s"},{"type":"ContainersReady","status":"%s","lastTransitionTime":"%s"},{"type":"Ready","status":"%s","lastTransitionTime":"%s"}]}}' \
    "$now" "$now" "$ready" "$now" "$ready" "$now")"
  while IFS= read -r pod; do
    [[ -n "$pod" ]] || continue
    k -n "$ns" patch pod "$pod" --subresource=status --type=merge -p "$patch" >/dev/null || return 1
  done <<<"$pods"
}

make_pods_ready() { _set_pods_ready "$1" "$2" True; }
make_pods_unready() { _set_pods_ready "$1" "$2" False; }
