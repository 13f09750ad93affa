#!/usr/bin/env bash
# tidemark tests/e2e/crds_manifests.sh — the install manifests and samples against a REAL
# kube-apiserver: `kubectl apply -k manifests/` (which includes ../crds) and the rendered
# samples pass server-side dry-run, and the controller's ServiceAccount can do exactly what
# the controller needs — and not what it must not (checked with `kubectl auth can-i --as`).
#
# The namespace tidemark-system, the ServiceAccount, the RBAC objects and the CRDs are
# really applied (can-i needs them) and left installed, as after a real install; the
# Deployment is only dry-run.  The sample namespace is deleted.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
require_controlplane

# ---- kustomize renders everything, including the CRDs from ../crds
rendered="$(k kustomize "$ROOT/manifests")" || fail "kubectl kustomize manifests/ failed"
kinds="$(printf '%s\n' "$rendered" | sed -n 's/^kind: //p' | sort | tr '\n' ' ')"
[[ "$kinds" == "ClusterRole ClusterRoleBinding CustomResourceDefinition CustomResourceDefinition CustomResourceDefinition Deployment Namespace Role RoleBinding Service ServiceAccount " ]] \
  || fail "kubectl kustomize manifests/: unexpected kinds: $kinds"

# ---- the pieces can-i needs are applied for real, then the whole kustomization dry-runs
install_crds
install_rbac() {
  k apply --server-side --force-conflicts --field-manager=tidemark-e2e \
    -f "$ROOT/manifests/namespace.yaml" -f "$ROOT/manifests/serviceaccount.yaml" -f "$ROOT/manifests/rbac.yaml" >/dev/null
}
wait_for -t 60 install_rbac || fail "installing the namespace, ServiceAccount and RBAC failed: $(install_rbac 2>&1)"
out="$(k apply -k "$ROOT/manifests" --dry-run=server 2>&1)" || fail "kubectl apply -k manifests/ --dry-run=server was rejected: $out"
[[ "$out" == *"deployment.apps/tidemark-controller created (server dry run)"* || "$out" == *"deployment.apps/tidemark-controller configured (server dry run)"* || "$out" == *"deployment.apps/tidemark-controller unchanged (server dry run)"* ]] \
  || fail "kubectl apply -k manifests/ --dry-run=server: no Deployment in: $out"
log "kubectl apply -k manifests/ --dry-run=server ok"

# ---- the Deployment is hardened as promised
dep="$(printf '%s\n' "$rendered" | python3 -c '
import sys, yaml
for d in yaml.safe_load_all(sys.stdin):
    if d and d["kind"] == "Deployment":
        p = d["spec"]["template"]["spec"]; c = p["containers"][0]; s = c["securityContext"]
        print(p["securityContext"]["runAsNonRoot"], p["securityContext"]["runAsUser"],
              s["readOnlyRootFilesystem"], s["allowPrivilegeEscalation"], s["capabilities"]["drop"],
              p["securityContext"]["seccompProfile"]["type"], c["livenessProbe"]["httpGet"]["path"],
              c["readinessProbe"]["httpGet"]["path"], " ".join(c["args"]))
')"
[[ "$dep" == "True 65532 True False ['ALL'] RuntimeDefault /healthz /readyz controller --leader-elect --leader-election-namespace=\$(POD_NAMESPACE) --metrics-addr=:8080 --health-addr=:8081 --log-format=json"* ]] \
  || fail "controller Deployment hardening/args: got '$dep'"

# ---- the samples, rendered for a (not contacted) database, pass server-side validation
new_namespace crds-samples
new_work_dir
PGHOST=127.0.0.1 PGPORT=5432 PGUSER=tidemark PGPASSWORD=sample-password PGDATABASE=orders \
  TIDEMARK_PG_URL="" "$ROOT/manifests/samples/render.sh" -o "$WORK" || fail "render.sh failed"
grep -q '\${PG' "$WORK"/*.yaml && fail "render.sh left a placeholder: $(grep -n '\${PG' "$WORK"/*.yaml)"
apply_samples() { k -n "$NS" apply --dry-run=server -f "$WORK/"; }
wait_for -t 30 apply_samples || fail "kubectl apply --dry-run=server -f (rendered) manifests/samples/ was rejected: $(apply_samples 2>&1)"
out="$(apply_samples 2>&1)"
for o in secret/orders-db dbschema.tidemark.dev/orders dbinstance.tidemark.dev/orders-dev \
         deployment.apps/orders-app dbrollout.tidemark.dev/orders-dev; do
  [[ "$out" == *"$o created (server dry run)"* ]] || fail "samples dry-run: $o missing in: $out"
done
# the unrendered samples are refused (a placeholder is not a port), so nobody applies them by mistake
if out="$(k -n "$NS" apply --dry-run=server -f "$ROOT/manifests/samples/02-dbinstance.yaml" 2>&1)"; then
  fail "unrendered 02-dbinstance.yaml: expected rejection, got: $out"
fi
log "samples dry-run ok"

# ---- least-privilege RBAC
SA=system:serviceaccount:tidemark-system:tidemark
can() { # expect yes|no, then can-i arguments
  local want=$1; shift
  local got
  got="$(k auth can-i --as="$SA" "$@" 2>/dev/null || true)"
  [[ "$got" == "$want" ]] || fail "kubectl auth can-i --as=$SA $*: expected $want, got '$got'"
}
for r in dbschemas dbinstances dbrollouts; do
  for v in list watch; do can yes "$v" "$r.tidemark.dev" -A; done
  can yes patch "$r.tidemark.dev" --subresource=status -n "$NS"
  # every write is a patch; no finalizers
  can no update "$r.tidemark.dev" -n "$NS"
  can no update "$r.tidemark.dev" --subresource=status -n "$NS"
  can no update "$r.tidemark.dev" --subresource=finalizers -n "$NS"
  can no create "$r.tidemark.dev" -n "$NS"
  can no delete "$r.tidemark.dev" -n "$NS"
done
can yes get dbinstances.tidemark.dev -n "$NS"
can yes patch dbinstances.tidemark.dev -n "$NS"  # the rollout lock annotation
can yes get dbrollouts.tidemark.dev -n "$NS"
can no patch dbrollouts.tidemark.dev -n "$NS"
can no get dbschemas.tidemark.dev -n "$NS"      # read from the informer's cache only
for v in get list watch patch; do can yes "$v" deployments.apps -n "$NS"; done
can no update deployments.apps -n "$NS"
can no create deployments.apps -n "$NS"
can no delete deployments.apps -n "$NS"
can yes list replicasets.apps -n "$NS"
can no watch replicasets.apps -n "$NS"
can no patch replicasets.apps -n "$NS"
can yes get secrets -n "$NS"  # read live by name, never cached
for v in list watch create update patch delete; do can no "$v" secrets -n "$NS"; done
can no list secrets -A
for v in get list watch; do can yes "$v" configmaps -n "$NS"; done
can no update configmaps -n "$NS"
can yes create events.events.k8s.io -n "$NS"
can yes patch events.events.k8s.io -n "$NS"
for v in get create update; do can yes "$v" leases.coordination.k8s.io -n tidemark-system; done
can no get leases.coordination.k8s.io -n "$NS"
can no delete leases.coordination.k8s.io -n tidemark-system
can no create pods -n "$NS"
can no get nodes
can no create clusterrolebindings.rbac.authorization.k8s.io
can no '*' '*'
log "RBAC ok"
