# shellcheck shell=bash
# tidemark tests/lib/incluster.sh — the operator run IN the cluster, installed the way the README's
# "Install in a cluster" section tells users: a kustomize overlay over manifests/ that overrides
# the image, then `kubectl apply -k` of it.  Its controller pods run the image hack/image.sh built
# from manifests/Dockerfile on the test node (hack/node.sh), with the manifest's ServiceAccount,
# RBAC, probes, securityContext, replicas and leader election, nothing changed for the tests.
#
#   node_cluster [AUDIT-POLICY]  a cluster of this test's own with a real node (TIDEMARK_NODE=1
#                              hack/controlplane.sh start in a fresh state dir under /tmp), its
#                              env exported (KUBECONFIG, TIDEMARK_K8S_BIN), the test app and
#                              tidemark images loaded; stopped and removed at exit.  With a
#                              policy file the apiserver writes an audit log to AUDIT_LOG.
#   incluster_install          write the README's overlay (image localhost/tidemark/tidemark:dev)
#                              to $WORK/overlay, `kubectl apply -k` it, wait until every replica
#                              is Ready and one holds the Lease; fails with pods and logs
#   ctl_pods                   the controller pods' names, one a line
#   ctl_leader_pod             the pod whose identity holds the Lease ("" when none)
#   ctl_pod_field POD JSONPATH  kubectl get pod POD -o jsonpath in tidemark-system
#   ctl_restarts POD           restartCount of POD's controller container
#   ctl_logs FILE              append every controller container's log (current and previous
#                              instance of each pod still there) to FILE
# The Lease's holderIdentity is POD_NAME_pid_random (controller/cli/cmd_controller.c).
# Needs: root, TIDEMARK_SOURCE_DIR or this file's tree; WORK from new_work_dir.

[[ -n "${TM_LIB_INCLUSTER_LOADED:-}" ]] && return 0
TM_LIB_INCLUSTER_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/kube.sh"

CTL_NS=tidemark-system
CTL_DEPLOY=tidemark-controller
CTL_LEASE=tidemark-controller
CTL_SELECTOR=app.kubernetes.io/name=tidemark,app.kubernetes.io/component=controller
TIDEMARK_IMAGE=localhost/tidemark/tidemark:dev
AUDIT_LOG=""

node_cluster() {
  local policy=${1:-} env t0
  [[ $EUID -eq 0 ]] || fail "a test node needs root (containerd, the kubelet)"
  NODE_STATE="$(mktemp -d /tmp/tm-incluster.XXXXXX)"
  at_exit '(TIDEMARK_STATE_DIR=$NODE_STATE "$ROOT/hack/controlplane.sh" stop >/dev/null 2>&1); rm -rf --one-file-system "$NODE_STATE"'
  t0=$(date +%s)
  env="$(TIDEMARK_STATE_DIR=$NODE_STATE TIDEMARK_NODE=1 TIDEMARK_AUDIT_POLICY=$policy \
    "$ROOT/hack/controlplane.sh" start 2>"$NODE_STATE/start.log")" \
    || fail "control plane with a node did not start: $(tail -n 20 "$NODE_STATE/start.log")"
  eval "$env"
  export KUBECONFIG TIDEMARK_K8S_BIN
  [[ -n "$policy" ]] && AUDIT_LOG="$NODE_STATE/controlplane/logs/audit.log"
  TIDEMARK_STATE_DIR=$NODE_STATE "$ROOT/hack/image.sh" load testapp tidemark 2>>"$NODE_STATE/start.log" \
    || fail "hack/image.sh load testapp tidemark failed: $(tail -n 20 "$NODE_STATE/start.log")"
  log "cluster with a node, images loaded in $(( $(date +%s) - t0 ))s: $(grep -hE 'ready in|loaded' "$NODE_STATE/start.log" | sed 's/ (.*//' | tr '\n' ';')"
}

# node.sh subcommands (ctr, restart-kubelet) on this test's node
node_sh() { TIDEMARK_STATE_DIR=$NODE_STATE "$ROOT/hack/node.sh" "$@"; }

incluster_install() {
  local overlay="$WORK/overlay" t0
  mkdir -p "$overlay"
  # README "Install in a cluster": the overlay, with REGISTRY/tidemark:0.1.0 as built here
  cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $(realpath --relative-to="$overlay" "$ROOT/manifests")
images:
- name: ghcr.io/tidemark/tidemark
  newName: ${TIDEMARK_IMAGE%:*}
  newTag: ${TIDEMARK_IMAGE##*:}
EOF
  t0=$(date +%s)
  k apply -k "$overlay" >/dev/null || fail "kubectl apply -k (manifests/, image overridden) failed: $(k apply -k "$overlay" 2>&1 | tail -n 5)"
  k -n "$CTL_NS" rollout status "deployment/$CTL_DEPLOY" --timeout=120s >/dev/null \
    || fail "the controller Deployment did not become available: $(k -n "$CTL_NS" get pods -o wide 2>&1; k -n "$CTL_NS" logs -l "$CTL_SELECTOR" --tail=20 2>&1)"
  wait_for -t 60 eval '[[ -n "$(ctl_leader_pod)" ]]' \
    || fail "no controller pod took Lease $CTL_NS/$CTL_LEASE (holder '$(lease_holder "$CTL_NS" "$CTL_LEASE")')"
  log "operator installed in-cluster ($(ctl_pods | wc -l) replicas Ready, leader $(ctl_leader_pod)) in $(( $(date +%s) - t0 ))s"
}

ctl_pods() { k -n "$CTL_NS" get pods -l "$CTL_SELECTOR" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }

ctl_leader_pod() {
  local holder pod
  holder="$(lease_holder "$CTL_NS" "$CTL_LEASE")"
  [[ -n "$holder" ]] || return 0
  while IFS= read -r pod; do
    [[ -n "$pod" && "$holder" == "${pod}_"* ]] && { echo "$pod"; return 0; }
  done < <(ctl_pods)
}

ctl_pod_field() { k -n "$CTL_NS" get pod "$1" -o "jsonpath=$2"; }

ctl_restarts() { ctl_pod_field "$1" '{.status.containerStatuses[?(@.name=="controller")].restartCount}'; }

ctl_logs() {
  local out=$1 pod
  while IFS= read -r pod; do
    [[ -n "$pod" ]] || continue
    k -n "$CTL_NS" logs "$pod" -c controller --previous >>"$out" 2>/dev/null || true
    k -n "$CTL_NS" logs "$pod" -c controller >>"$out" 2>/dev/null || true
  done < <(ctl_pods)
}
