#!/usr/bin/env bash
# tidemark tests/e2e/controlplane_smoke.sh — proves the e2e control plane is a REAL Kubernetes.
#
# Why: every other e2e test relies on hack/controlplane.sh giving a genuine kube-apiserver
# (CRDs get Established and served), a genuine kube-controller-manager (a Deployment gets a
# ReplicaSet and Pods) and, in node mode (TIDEMARK_NODE=1, as hack/test.sh starts it), a
# scheduler and a node whose kubelet really runs those pods, so the Deployment becomes available.
# This test checks exactly those three things and cleans up after itself.
# Needs KUBECONFIG and TIDEMARK_K8S_BIN (exported by the ctest harness, or
#   hack/controlplane.sh start && eval "$(hack/controlplane.sh env)").
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/../lib/app.sh"
require_node

CRD=widgets.smoke.tidemark.dev
DEPLOY=smoke-web
at_exit 'k delete crd "$CRD" --ignore-not-found --wait=false >/dev/null 2>&1'

log "apiserver version: $(k version -o json 2>/dev/null | tr -d '\n ' | sed -n 's/.*"serverVersion":{[^}]*"gitVersion":"\([^"]*\)".*/\1/p')"
new_namespace smoke

# ---- 1. a CRD is Established and its objects round-trip
log "applying CRD $CRD"
k apply -f - >/dev/null <<'EOF' || fail "kubectl apply of CRD widgets.smoke.tidemark.dev was rejected"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.smoke.tidemark.dev
spec:
  group: smoke.tidemark.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [color]
            properties:
              color: {type: string}
              size: {type: integer, minimum: 1}
EOF
wait_for_output True k get crd "$CRD" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' \
  || fail "CRD $CRD: expected condition Established=True"

widget_yaml="$(cat <<EOF
apiVersion: smoke.tidemark.dev/v1alpha1
kind: Widget
metadata: {name: w1, namespace: $NS}
spec: {color: teal, size: 3}
EOF
)"
apply_widget() { k apply -f - <<<"$widget_yaml"; }
# discovery of a just-established CRD can lag a moment: retry the apply until it is served
wait_for -t 30 apply_widget \
  || fail "could not create Widget w1 (expected the new CRD to be served): $(apply_widget 2>&1)"
got="$(k -n "$NS" get widgets.smoke.tidemark.dev w1 -o 'jsonpath={.spec.color}/{.spec.size}')" \
  || fail "kubectl get widget w1 failed"
[[ "$got" == "teal/3" ]] || fail "Widget w1: expected spec color/size 'teal/3', got '$got'"
# schema validation is enforced by the real apiserver
if k -n "$NS" apply -f - >/dev/null 2>&1 <<EOF
apiVersion: smoke.tidemark.dev/v1alpha1
kind: Widget
metadata: {name: w2, namespace: $NS}
spec: {size: 0}
EOF
then fail "Widget w2 with size 0 and no color: expected rejection by the CRD schema, but it was accepted"; fi
log "CRD ok: Established, Widget round-trips, schema enforced"

# ---- 2. the real kube-controller-manager rolls out a Deployment
log "creating Deployment $DEPLOY (replicas 2)"
k -n "$NS" apply -f - >/dev/null <<EOF || fail "could not create Deployment $DEPLOY"
apiVersion: apps/v1
kind: Deployment
metadata: {name: $DEPLOY, namespace: $NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: $DEPLOY}}
  template:
    metadata: {labels: {app: $DEPLOY}}
    spec:
      containers:
      - name: web
        image: $TESTAPP_IMAGE
        imagePullPolicy: Never
EOF
count() { k -n "$NS" get "$1" -l "app=$DEPLOY" -o name | wc -l | tr -d ' '; }
wait_for_output 1 count replicasets \
  || fail "expected kube-controller-manager to create 1 ReplicaSet for Deployment $DEPLOY; got: $(k -n "$NS" get rs 2>&1)"
owner="$(k -n "$NS" get rs -l "app=$DEPLOY" -o 'jsonpath={.items[0].metadata.ownerReferences[0].kind}/{.items[0].metadata.ownerReferences[0].name}')"
[[ "$owner" == "Deployment/$DEPLOY" ]] || fail "ReplicaSet owner: expected Deployment/$DEPLOY, got '$owner'"
wait_for_output 2 count pods \
  || fail "expected the ReplicaSet controller to create 2 Pods; got: $(k -n "$NS" get pods 2>&1)"
log "Deployment ok: 1 ReplicaSet, 2 Pods"

# ---- 3. the scheduler binds the pods to the node, its kubelet runs them: the Deployment is available
wait_deployment_available "$NS" "$DEPLOY" 60
wait_for_output True k -n "$NS" get deploy "$DEPLOY" -o 'jsonpath={.status.conditions[?(@.type=="Available")].status}' \
  || fail "expected Deployment condition Available=True"
running="$(k -n "$NS" get pods -l "app=$DEPLOY" -o 'jsonpath={range .items[*]}{.spec.nodeName} {.status.phase} {.status.containerStatuses[0].started} {.status.podIP}{"\n"}{end}')"
node="$(k get nodes -o 'jsonpath={.items[0].metadata.name}')"
while read -r on phase started ip; do
  [[ "$on" == "$node" && "$phase" == Running && "$started" == true && "$ip" == 10.244.* ]] \
    || fail "expected every pod Running and started on node $node with a pod-network IP (10.244.x.y); got: $running"
done <<<"$running"
log "rollout ok: 2 pods running on $node, availableReplicas=2, Available=True"
