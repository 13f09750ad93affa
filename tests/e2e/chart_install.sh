#!/usr/bin/env bash
# tidemark tests/e2e/chart_install.sh — the Helm chart's life cycle on a REAL cluster with a node,
# following README "Install with Helm" literally: install (the image overridden with --set, as a
# user points at their registry), the controller pods Ready under the namespace's "restricted"
# Pod Security admission, then the README's first rollout: the samples rendered for a database
# the pods reach, applied, `kubectl wait` until the DBRollout is Ready; it must be Succeeded with
# the schema at v1.0.0 and the app (the test app standing in for the user's image) available.
# Then upgrade (replicas, a new chart's CRD schema, watchNamespaces), uninstall (CRDs kept),
# crds.keep=false (CRDs removed), and a release adopting CRDs first applied with
# `kubectl apply -k crds/`.
#
# Why a cluster of its own (tests/lib/incluster.sh's node_cluster: a control plane with a
# kubelet, the tidemark and testapp images loaded): the chart creates, changes and finally
# deletes the three cluster-wide CRDs, which every other e2e test running beside this one
# needs.  Here the cluster starts empty, as a user's does.
# Needs root (the node), helm (hack/helm.sh build), the cached control plane binaries, podman
# (hack/image.sh), TIDEMARK_PG_URL and TIDEMARK_PG_POD_HOST (hack/postgres.sh).
# No valgrind rerun: the controller runs in a pod, from the image.
set -euo pipefail
# shellcheck source=tests/lib/chart.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/chart.sh"
# shellcheck source=tests/lib/incluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/incluster.sh"
# shellcheck source=tests/lib/app.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/app.sh"
# shellcheck source=tests/lib/db.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/db.sh"
T0=$(date +%s)
require_postgres
[[ -n "${TIDEMARK_PG_POD_HOST:-}" ]] || fail "TIDEMARK_PG_POD_HOST is not set (eval \"\$(hack/postgres.sh env)\")"
new_work_dir
trap 'exit 143' TERM INT  # a ctest timeout still runs the exit hooks: the cluster stops
node_cluster
export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"
helm() { "$HELM" --kubeconfig "$KUBECONFIG" "$@"; }
SA=system:serviceaccount:tidemark-system:tidemark
can() { # expect yes|no, then can-i arguments, as the controller's ServiceAccount
  local want=$1 got; shift
  got="$(k auth can-i --as="$SA" "$@" 2>/dev/null || true)"
  [[ "$got" == "$want" ]] || fail "kubectl auth can-i --as=$SA $*: expected $want, got '$got'"
}
revision() { helm status tidemark -n tidemark-system -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["version"], d["info"]["status"])'; }
pods() { k -n tidemark-system get pods -l app.kubernetes.io/name=tidemark,app.kubernetes.io/component=controller -o name | wc -l; }
crds() { k get crd -o name | grep -c '\.tidemark\.dev$' || true; }

# ---- install (the README's commands)
k create namespace tidemark-system >/dev/null
k label namespace tidemark-system pod-security.kubernetes.io/enforce=restricted >/dev/null
out="$(helm install tidemark "$CHART" --namespace tidemark-system \
  --set image.repository="${TIDEMARK_IMAGE%:*}" --set image.tag="${TIDEMARK_IMAGE##*:}" 2>&1)" || fail "helm install: $out"
[[ "$(revision)" == "1 deployed" ]] || fail "after install: release is '$(revision)'"
for crd in dbschemas dbinstances dbrollouts; do
  wait_for_output True k get crd "$crd.tidemark.dev" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' \
    || fail "CRD $crd.tidemark.dev not Established after helm install"
done
k -n tidemark-system get serviceaccount/tidemark role/tidemark-leader-election rolebinding/tidemark-leader-election \
  service/tidemark-metrics deployment/tidemark-controller >/dev/null || fail "helm install: namespaced objects missing"
k get clusterrole/tidemark-controller clusterrolebinding/tidemark-controller >/dev/null || fail "helm install: ClusterRole missing"
k -n tidemark-system rollout status deployment/tidemark-controller --timeout=120s >/dev/null \
  || fail "the controller Deployment did not become available: $(k -n tidemark-system get pods -o wide 2>&1; k -n tidemark-system logs -l "$CTL_SELECTOR" --tail=20 2>&1)"
[[ "$(pods)" == 2 ]] || fail "after install: expected the default 2 controller pods, got $(pods)"
can yes list dbrollouts.tidemark.dev -A
can yes get leases.coordination.k8s.io -n tidemark-system
log "install: release 1 deployed, CRDs Established, RBAC, Service, 2 controller pods Ready ($(( $(date +%s) - T0 ))s)"

# ---- the README's first rollout: the samples, for a database the pods reach
new_database "chart_$(random_hex 4)"
pg_user="${TIDEMARK_PG_URL#*://}"; pg_user="${pg_user%%:*}"
k create namespace orders >/dev/null
PGHOST="$TIDEMARK_PG_POD_HOST" PGDATABASE="$DB" "$ROOT/manifests/samples/render.sh" -o "$WORK/my-orders" \
  || fail "manifests/samples/render.sh -o failed"
samples_use_testapp "$WORK/my-orders"  # the user's app image: the test app needing v1.0.0's column
app_db_secret orders app-db "$DB" "$pg_user" "$(url_password "$TIDEMARK_PG_URL")"
k -n orders apply -f "$WORK/my-orders/" >/dev/null || fail "kubectl apply -f my-orders/ failed"
k -n orders wait --for=condition=Ready dbrollout/orders-dev --timeout=180s >/dev/null \
  || fail "DBRollout orders-dev not Ready: $(k -n orders get dbrollout orders-dev -o jsonpath='{.status}' 2>&1); app pods: $(app_pods orders | tr '\n' ';'); controller: $(k -n tidemark-system logs -l "$CTL_SELECTOR" --tail=20 2>&1)"
got="$(k -n orders get dbrollout orders-dev -o jsonpath='{.status.phase} {.status.appliedTag}')"
[[ "$got" == "Succeeded v1.0.0" ]] || fail "DBRollout orders-dev Ready but phase/appliedTag '$got', want 'Succeeded v1.0.0'"
got="$(q "select string_agg(id, ',' order by orderexecuted) from databasechangelog")"
[[ "$got" == 1-create-customers,2-create-orders,3-tag-v1.0.0 ]] \
  || fail "the database's history is not the schema at v1.0.0: '$got'"
[[ "$(q "select count(*) from information_schema.columns where table_name = 'orders' and column_name = 'customer_id'")" == 1 ]] \
  || fail "orders.customer_id (v1.0.0) does not exist"
wait_deployment_available orders orders-app 60
log "first rollout: DBRollout orders-dev Succeeded at v1.0.0, orders-app available ($(( $(date +%s) - T0 ))s)"
# the app's exec readiness probes (a runc exec a second per pod) would slow what follows
k -n orders scale deployment orders-app --replicas=0 >/dev/null

# ---- upgrade to a new chart version: 3 replicas, and a CRD that changed (a new optional field)
new="$WORK/chart-0.1.1"
probe_type() {
  k get crd dbrollouts.tidemark.dev \
    -o jsonpath='{.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.chartUpgradeProbe.type}'
}
cp -r "$CHART" "$new"
sed -i 's/^version: .*/version: 0.1.1/' "$new/Chart.yaml"
python3 - "$new/files/crds/tidemark.dev_dbrollouts.yaml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
anchor = "\n            properties:\n"  # the first properties: under openAPIV3Schema.properties.spec
at = text.index(anchor, text.index("\n          spec:\n"))
field = ("\n            properties:\n              chartUpgradeProbe:\n                type: string\n"
         "                description: Added by tests/e2e/chart_install.sh to see a chart upgrade change a CRD.\n")
open(path, "w").write(text[:at] + field + text[at + len(anchor):])
PY
out="$(helm upgrade tidemark "$new" --namespace tidemark-system --reuse-values --set replicaCount=3 2>&1)" \
  || fail "helm upgrade (replicaCount=3, new CRD field): $out"
[[ "$(revision)" == "2 deployed" ]] || fail "after upgrade: release is '$(revision)'"
[[ "$(k -n tidemark-system get deployment tidemark-controller -o jsonpath='{.spec.replicas}')" == 3 ]] \
  || fail "after upgrade: Deployment replicas is not 3"
wait_for_output 3 pods || fail "after upgrade: expected 3 controller pods"
got="$(probe_type)"
[[ "$got" == string ]] || fail "after upgrade: the new chart's CRD field is not in dbrollouts.tidemark.dev (got '$got')"
[[ "$(k get crd dbrollouts.tidemark.dev -o jsonpath='{.metadata.labels.helm\.sh/chart}')" == tidemark-0.1.1 ]] \
  || fail "after upgrade: CRD not labelled with the new chart version"
log "upgrade: release 2, 3 replicas, the CRD change applied"

# ---- upgrade to watchNamespaces=[a,b]: Roles there, the ClusterRole gone, --namespace on the controller
k create namespace team-a >/dev/null
k create namespace team-b >/dev/null
k create namespace team-c >/dev/null
out="$(helm upgrade tidemark "$new" --namespace tidemark-system --reuse-values --set 'watchNamespaces={team-a,team-b}' 2>&1)" \
  || fail "helm upgrade (watchNamespaces=[team-a,team-b]): $out"
[[ "$(revision)" == "3 deployed" ]] || fail "after the watchNamespaces upgrade: release is '$(revision)'"
k -n team-a get role/tidemark-controller rolebinding/tidemark-controller >/dev/null || fail "no Role in team-a"
k -n team-b get role/tidemark-controller rolebinding/tidemark-controller >/dev/null || fail "no Role in team-b"
if k get clusterrole tidemark-controller >/dev/null 2>&1; then fail "ClusterRole tidemark-controller left after watchNamespaces"; fi
args="$(k -n tidemark-system get deployment tidemark-controller -o jsonpath='{.spec.template.spec.containers[0].args}')"
[[ "$args" == *'"--namespace=team-a,team-b"'* ]] || fail "controller args lack --namespace=team-a,team-b: $args"
for ns in team-a team-b; do
  can yes list dbrollouts.tidemark.dev -n "$ns"
  can yes get secrets -n "$ns"
  can yes patch deployments.apps -n "$ns"
done
can no list dbrollouts.tidemark.dev -n team-c
can no get secrets -n team-c
can no list dbrollouts.tidemark.dev -A
can no get secrets -A
log "upgrade: watchNamespaces=[team-a,team-b] grants exactly those namespaces"

# ---- uninstall: every object of the release goes, the CRDs (and so every custom resource) stay
out="$(helm uninstall tidemark --namespace tidemark-system 2>&1)" || fail "helm uninstall: $out"
[[ "$out" == *"kept due to the resource policy"* ]] || fail "helm uninstall did not report the kept CRDs: $out"
[[ -z "$(helm list -n tidemark-system -q)" ]] || fail "release still listed after uninstall"
for o in serviceaccount/tidemark role/tidemark-leader-election rolebinding/tidemark-leader-election \
         service/tidemark-metrics deployment/tidemark-controller; do
  if k -n tidemark-system get "$o" >/dev/null 2>&1; then fail "$o left after helm uninstall"; fi
done
for ns in team-a team-b; do
  if k -n "$ns" get role/tidemark-controller >/dev/null 2>&1; then fail "Role in $ns left after helm uninstall"; fi
done
wait_for_output 0 pods || fail "controller pods left after helm uninstall"
[[ "$(crds)" == 3 ]] || fail "after uninstall: expected the 3 CRDs kept, found $(crds)"
log "uninstall: release objects removed, CRDs kept"

# ---- crds.keep=false: a new install adopts the kept CRDs, and its uninstall removes them.
# From here on the releases run no controller (replicaCount=0): these steps are about the CRDs,
# and pods started only to be killed would slow the test on a busy node.
out="$(helm install tidemark "$CHART" --namespace tidemark-system --set crds.keep=false --set replicaCount=0 2>&1)" \
  || fail "helm install over the kept CRDs (crds.keep=false): $out"
got="$(probe_type)"
[[ -z "$got" ]] || fail "reinstall of chart 0.1.0 did not bring dbrollouts.tidemark.dev back to its schema"
out="$(helm uninstall tidemark --namespace tidemark-system 2>&1)" || fail "helm uninstall (crds.keep=false): $out"
crds_left() { # why a CRD is still there: its deletion, finalizers and Terminating condition, and its objects
  local c
  for c in $(k get crd -o name | grep '\.tidemark\.dev$'); do
    printf '%s deletionTimestamp=%s finalizers=%s terminating=%s objects=%s; ' "$c" \
      "$(k get "$c" -o jsonpath='{.metadata.deletionTimestamp}' 2>&1)" \
      "$(k get "$c" -o jsonpath='{.metadata.finalizers}' 2>&1)" \
      "$(k get "$c" -o jsonpath='{.status.conditions[?(@.type=="Terminating")]}' 2>&1)" \
      "$(k get "${c#*/}" -A -o name 2>&1 | tr '\n' ' ')"
  done
}
wait_for_output -t 240 0 crds || fail "crds.keep=false: CRDs left after helm uninstall: $(crds_left)"
log "crds.keep=false: CRDs removed with the release"

# ---- CRDs applied with kubectl first (README): labelled and annotated, the release adopts them;
# the first upgrade that changes them needs --force-conflicts (Helm 4 applies server-side and
# kubectl's client-side apply owns the fields)
k apply -k "$ROOT/crds" >/dev/null || fail "kubectl apply -k crds/ failed"
for crd in dbschemas dbinstances dbrollouts; do
  k label crd "$crd.tidemark.dev" app.kubernetes.io/managed-by=Helm --overwrite >/dev/null
  k annotate crd "$crd.tidemark.dev" meta.helm.sh/release-name=tidemark \
    meta.helm.sh/release-namespace=tidemark-system --overwrite >/dev/null
done
out="$(helm install tidemark "$CHART" --namespace tidemark-system --set replicaCount=0 2>&1)" || fail "helm install adopting the CRDs: $out"
if out="$(helm upgrade tidemark "$new" --namespace tidemark-system --reuse-values 2>&1)"; then
  fail "upgrade changing kubectl-applied CRDs without --force-conflicts passed: README says it needs it; got: $out"
fi
[[ "$out" == *conflict* ]] || fail "upgrade without --force-conflicts failed for another reason: $out"
out="$(helm upgrade tidemark "$new" --namespace tidemark-system --reuse-values --force-conflicts 2>&1)" \
  || fail "helm upgrade --force-conflicts over kubectl-applied CRDs: $out"
[[ "$(probe_type)" == string ]] || fail "upgrade --force-conflicts: the CRD change did not apply"
log "adoption: kubectl-applied CRDs adopted, changed by upgrade --force-conflicts"
log "chart_install took $(( $(date +%s) - T0 ))s"
