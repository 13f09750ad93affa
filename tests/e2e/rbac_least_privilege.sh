#!/usr/bin/env bash
# tidemark tests/e2e/rbac_least_privilege.sh — what the controller's ServiceAccount may and may
# NOT do, asked of the REAL kube-apiserver (SubjectAccessReviews, as `kubectl auth can-i --as=...` asks)
# for each way to install it:
#   kustomize    manifests/rbac.yaml (ServiceAccount tidemark-system/tidemark): cluster-wide;
#   helm         `helm template` of the chart's defaults (a ClusterRole), applied;
#   helm Roles   `helm template --set watchNamespaces={A}`: allowed in A only, nothing in B and
#                nothing cluster-wide;
#   kustomize Roles  the overlay manifests/components/watch-namespaces/overlay.sh writes for A
#                (under a namePrefix, so its ServiceAccount is not the one the first mode bound
#                cluster-wide): the same as helm Roles.
# In every mode Secrets are `get` only (read live by name; list or watch would let the
# controller read every Secret of the cluster) and nothing may be created or deleted beyond
# Events, the leader Lease and the verification Jobs of spec.verify (created, never deleted).  The chart objects get a release name of their own and are
# deleted at the end; the kustomize ones are left installed, as crds_manifests.sh leaves them.
# Needs helm (hack/helm.sh build), KUBECONFIG and TIDEMARK_K8S_BIN.
set -euo pipefail
# shellcheck source=tests/lib/kube.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
# shellcheck source=tests/lib/chart.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/chart.sh"
require_controlplane
new_work_dir
new_namespace rbac-lp
A="$(unique_ns rbac-lp-a)" B="$(unique_ns rbac-lp-b)"
k create namespace "$A" >/dev/null
k create namespace "$B" >/dev/null
at_exit 'k delete namespace "$A" "$B" --ignore-not-found --wait=false >/dev/null 2>&1'

# The questions are queued and asked together (sar_check): one `kubectl create` of a List of
# SubjectAccessReviews instead of a kubectl process per question (about 450 of them), which is
# what `kubectl auth can-i --as=system:serviceaccount:SA ...` sends: the group and resource from
# RESOURCE.GROUP, the namespace from -n, "" for -A, and the context's ("default") otherwise.
SAR_Q="$WORK/sar.queue"
: >"$SAR_Q"
can() { # SA yes|no VERB RESOURCE[.GROUP] [--subresource=S] [-n NS | -A]
  local sa=$1 want=$2 verb=$3 res=$4 sub="" ns=default group="" r; shift 4
  while (( $# )); do
    case $1 in
      --subresource=*) sub=${1#*=} ;;
      -n) ns=$2; shift ;;
      -A) ns="" ;;
      *) fail "can: unknown argument $1" ;;
    esac
    shift
  done
  r=$res
  [[ "$res" == *.* ]] && { r=${res%%.*}; group=${res#*.}; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sa" "$want" "$verb" "$group" "$r" "$sub" "$ns" >>"$SAR_Q"
}

# can for a resource whose CRD may not be installed (rollouts.argoproj.io): the same question,
# its group named explicitly (`kubectl auth can-i` would map the name through discovery)
can_crd() { # SA yes|no VERB GROUP RESOURCE SUBRESOURCE NAMESPACE
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$SAR_Q"
}

# Asks the queued questions (before the RBAC they are about changes) and records each wrong answer.
sar_check() {
  [[ -s "$SAR_Q" ]] || return 0
  python3 - "$SAR_Q" >"$WORK/sar.json" <<'PY'
import json, sys
items = []
for line in open(sys.argv[1]):
    sa, want, verb, group, res, sub, ns = line.rstrip("\n").split("\t")
    attrs = {"verb": verb, "group": group, "resource": res, "subresource": sub, "namespace": ns}
    items.append({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                  "spec": {"user": "system:serviceaccount:" + sa, "resourceAttributes": attrs}})
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
  k create -f "$WORK/sar.json" -o json >"$WORK/sar.out" 2>"$WORK/sar.err" \
    || fail "creating $(wc -l <"$SAR_Q") SubjectAccessReviews failed: $(head -c 400 "$WORK/sar.err")"
  local wrong
  wrong="$(python3 - "$SAR_Q" "$WORK/sar.out" <<'PY'
import json, sys
asked = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
text, at, got = open(sys.argv[2]).read(), 0, []
dec = json.JSONDecoder()
while True:  # kubectl prints one JSON document per object created
    while at < len(text) and text[at].isspace():
        at += 1
    if at >= len(text):
        break
    doc, at = dec.raw_decode(text, at)
    got.extend(doc["items"] if doc.get("kind") == "List" else [doc])
if len(got) != len(asked):
    print("asked %d questions, got %d answers" % (len(asked), len(got)))
for (sa, want, verb, group, res, sub, ns), a in zip(asked, got):
    answer = "yes" if a.get("status", {}).get("allowed") else "no"
    if answer != want:
        what = res + ("." + group if group else "") + ("/" + sub if sub else "")
        where = ("in " + ns) if ns else "in all namespaces"
        print("system:serviceaccount:%s %s %s %s: expected %s, got %s" % (sa, verb, what, where, want, answer))
PY
)"
  if [[ -n "$wrong" ]]; then
    while IFS= read -r line; do soft_fail "$line"; done <<<"$wrong"
  fi
  : >"$SAR_Q"
}

# Everything the controller does in namespace $3 (yes), then what it must never do there (no).
# $2: yes when it works in that namespace, no for a namespace it is not allowed to watch.
controller_in_ns() { # SA yes|no NAMESPACE
  local sa=$1 want=$2 ns=$3 r v
  for r in dbschemas dbinstances dbrollouts; do
    for v in list watch; do can "$sa" "$want" "$v" "$r.tidemark.dev" -n "$ns"; done
    can "$sa" "$want" patch "$r.tidemark.dev" --subresource=status -n "$ns"
    # every write is a patch (no update), no finalizers, nothing created or deleted
    can "$sa" no update "$r.tidemark.dev" -n "$ns"
    can "$sa" no update "$r.tidemark.dev" --subresource=finalizers -n "$ns"
    for v in create delete; do can "$sa" no "$v" "$r.tidemark.dev" -n "$ns"; done
  done
  for v in get patch; do can "$sa" "$want" "$v" dbinstances.tidemark.dev -n "$ns"; done
  can "$sa" "$want" get dbrollouts.tidemark.dev -n "$ns"
  for v in get list watch patch; do can "$sa" "$want" "$v" deployments.apps -n "$ns"; done
  can "$sa" no update deployments.apps -n "$ns"
  can "$sa" "$want" list replicasets.apps -n "$ns"
  # spec.appRef: an Argo Rollout read live (get) and undone (patch); never listed or watched
  for v in get patch; do can_crd "$sa" "$want" "$v" argoproj.io rollouts "" "$ns"; done
  for v in list watch update create delete; do can_crd "$sa" no "$v" argoproj.io rollouts "" "$ns"; done
  can_crd "$sa" no patch argoproj.io rollouts status "$ns"
  can "$sa" "$want" get secrets -n "$ns"
  for v in get list watch; do can "$sa" "$want" "$v" configmaps -n "$ns"; done
  for v in create patch; do can "$sa" "$want" "$v" events.events.k8s.io -n "$ns"; done
  for v in list watch create; do can "$sa" "$want" "$v" jobs.batch -n "$ns"; done
  # never
  for v in list watch create update patch delete; do can "$sa" no "$v" secrets -n "$ns"; done
  for v in create update patch delete; do can "$sa" no "$v" configmaps -n "$ns"; done
  for v in create delete; do can "$sa" no "$v" deployments.apps -n "$ns"; done
  can "$sa" no patch replicasets.apps -n "$ns"
  can "$sa" no create pods -n "$ns"
  for v in get update patch delete; do can "$sa" no "$v" jobs.batch -n "$ns"; done
  can "$sa" no create cronjobs.batch -n "$ns"
  can "$sa" no get leases.coordination.k8s.io -n "$ns"
}

# Cluster-wide: what an all-namespaces controller lists and watches ($2 yes), never Secrets.
controller_cluster_wide() { # SA yes|no
  local sa=$1 want=$2 r
  for r in dbschemas.tidemark.dev dbinstances.tidemark.dev dbrollouts.tidemark.dev \
           deployments.apps configmaps jobs.batch; do
    can "$sa" "$want" list "$r" -A
    can "$sa" "$want" watch "$r" -A
  done
  can "$sa" "$want" list replicasets.apps -A  # listed live, only to restore a template
  can "$sa" no watch replicasets.apps -A
  can "$sa" no list secrets -A
  can "$sa" no watch secrets -A
  can "$sa" no get nodes
  can "$sa" no create clusterrolebindings.rbac.authorization.k8s.io
  can "$sa" no '*' '*'
}

leader_election() { # SA NAMESPACE: the Lease there, and nothing else about it
  local sa=$1 ns=$2 v
  for v in get create update; do can "$sa" yes "$v" leases.coordination.k8s.io -n "$ns"; done
  can "$sa" no delete leases.coordination.k8s.io -n "$ns"
}

# Wait until the authorizer answers with the new bindings (RBAC is applied asynchronously).
bound() { [[ "$(k auth can-i --as="system:serviceaccount:$1" get "${@:2}" 2>/dev/null || true)" == yes ]]; }

# ---- kustomize
install_kustomize_rbac() {
  k apply --server-side --force-conflicts --field-manager=tidemark-e2e \
    -f "$ROOT/manifests/namespace.yaml" -f "$ROOT/manifests/serviceaccount.yaml" -f "$ROOT/manifests/rbac.yaml" >/dev/null
}
wait_for -t 60 install_kustomize_rbac || fail "applying manifests/rbac.yaml failed: $(install_kustomize_rbac 2>&1)"
SA=tidemark-system:tidemark
wait_for -t 30 bound "$SA" dbrollouts.tidemark.dev -n "$A" || fail "kustomize RBAC never took effect for $SA"
controller_in_ns "$SA" yes "$A"
controller_cluster_wide "$SA" yes
leader_election "$SA" tidemark-system
sar_check
log "kustomize: can-i checked"

# ---- helm, defaults: a ClusterRole
REL="rbac-$(random_hex 3)"  # fullname $REL-tidemark: its own ClusterRole, ServiceAccount
render() { # helm template arguments... -> the ServiceAccount and RBAC objects
  "$HELM" template "$REL" "$CHART" --namespace "$NS" --set crds.install=false \
    --show-only templates/serviceaccount.yaml --show-only templates/rbac.yaml "$@"
}
render >"$WORK/cluster.yaml" || fail "helm template (defaults) failed"
at_exit 'k delete -f "$WORK/cluster.yaml" --ignore-not-found --wait=false >/dev/null 2>&1'
k apply -f "$WORK/cluster.yaml" >/dev/null || fail "applying the chart's RBAC (defaults) failed"
grep -q '^kind: ClusterRole$' "$WORK/cluster.yaml" || fail "helm template (defaults): no ClusterRole"
SA="$NS:$REL-tidemark"
wait_for -t 30 bound "$SA" dbrollouts.tidemark.dev -n "$A" || fail "chart RBAC (defaults) never took effect for $SA"
controller_in_ns "$SA" yes "$A"
controller_cluster_wide "$SA" yes
leader_election "$SA" "$NS"
sar_check
k delete -f "$WORK/cluster.yaml" --wait=false >/dev/null || fail "deleting the chart's RBAC (defaults) failed"
log "helm defaults: can-i checked"

# ---- helm, watchNamespaces={A}: Roles in A, nothing in B, nothing cluster-wide
render --set "watchNamespaces={$A}" >"$WORK/roles.yaml" || fail "helm template (watchNamespaces) failed"
at_exit 'k delete -f "$WORK/roles.yaml" --ignore-not-found --wait=false >/dev/null 2>&1'
! grep -q '^kind: ClusterRole' "$WORK/roles.yaml" || fail "helm template (watchNamespaces): a cluster-wide grant was rendered"
gone() { ! bound "$SA" dbrollouts.tidemark.dev -n "$B"; }
wait_for -t 30 gone || fail "the chart's ClusterRoleBinding (defaults) still grants after its deletion"
k apply -f "$WORK/roles.yaml" >/dev/null || fail "applying the chart's RBAC (watchNamespaces) failed"
wait_for -t 30 bound "$SA" dbrollouts.tidemark.dev -n "$A" || fail "chart RBAC (watchNamespaces) never took effect for $SA"
controller_in_ns "$SA" yes "$A"
controller_in_ns "$SA" no "$B"
controller_cluster_wide "$SA" no
leader_election "$SA" "$NS"
sar_check
log "helm watchNamespaces: can-i checked"

# ---- kustomize, the watch-namespaces overlay for A: Roles in A, nothing in B, nothing cluster-wide
"$ROOT/manifests/components/watch-namespaces/overlay.sh" "$WORK/overlay" "$A" \
  || fail "manifests/components/watch-namespaces/overlay.sh failed"
mkdir -p "$WORK/prefixed"
printf 'namePrefix: %s-\nresources: [../overlay]\n' "$REL" >"$WORK/prefixed/kustomization.yaml"
k kustomize "$WORK/prefixed" >"$WORK/overlay.yaml" || fail "kubectl kustomize (watch-namespaces overlay) failed"
! grep -q '^kind: Cluster' "$WORK/overlay.yaml" || fail "the watch-namespaces overlay renders a cluster-wide grant"
python3 - "$WORK/overlay.yaml" >"$WORK/overlay-rbac.yaml" <<'PY' || fail "filtering the overlay's RBAC failed"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1]))
        if d and d["kind"] in ("ServiceAccount", "Role", "RoleBinding")]
yaml.safe_dump_all(docs, sys.stdout)
PY
at_exit 'k delete -f "$WORK/overlay-rbac.yaml" --ignore-not-found --wait=false >/dev/null 2>&1'
k apply -f "$WORK/overlay-rbac.yaml" >/dev/null || fail "applying the watch-namespaces overlay's RBAC failed"
SA="tidemark-system:$REL-tidemark"
wait_for -t 30 bound "$SA" dbrollouts.tidemark.dev -n "$A" || fail "overlay RBAC never took effect for $SA"
controller_in_ns "$SA" yes "$A"
# (namespace B by namespace B is the helm Roles mode's: unit.chart_matches_kustomize shows the
# overlay renders the same objects; here, that nothing is granted beyond A)
controller_cluster_wide "$SA" no
can "$SA" no list dbrollouts.tidemark.dev -n "$B"
leader_election "$SA" tidemark-system
sar_check
log "kustomize watch-namespaces: can-i checked"

finish_soft rbac_least_privilege
