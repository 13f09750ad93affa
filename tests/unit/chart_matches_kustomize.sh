#!/usr/bin/env bash
# tidemark tests/unit/chart_matches_kustomize.sh — the Helm chart with its defaults renders the
# same objects as `kubectl kustomize manifests/`: same kinds, names, namespaces and content
# (RBAC rules, Deployment args, env, probes, security contexts, CRD schemas...).  And with
# prometheusRule.enabled=true its PrometheusRule equals `kubectl kustomize manifests/prometheus`,
# and with grafanaDashboard.enabled=true its ConfigMap equals `kubectl kustomize manifests/grafana`.
# And with watchNamespaces={team-a,team-b} it equals the kustomize overlay that
# manifests/components/watch-namespaces/overlay.sh writes for those namespaces (Roles instead of
# the ClusterRole, --namespace=team-a,team-b).
#
# What legitimately differs is normalised first, and nothing else:
#   - Helm's labels (helm.sh/chart, app.kubernetes.io/managed-by, /instance, /version) and
#     the CRDs' helm.sh/resource-policy: keep annotation;
#   - the Namespace: kustomize creates tidemark-system; Helm installs into the release
#     namespace (`helm install -n tidemark-system --create-namespace`, README).
# Needs helm (hack/helm.sh build), kubectl (hack/controlplane.sh build; no cluster) and PyYAML.
set -euo pipefail
# shellcheck source=tests/lib/chart.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/chart.sh"
require_kubectl
new_work_dir

"$KUBECTL" kustomize "$ROOT/manifests" >"$WORK/kustomize.yaml"
"$HELM" template tidemark "$CHART" --namespace tidemark-system >"$WORK/helm.yaml"
"$ROOT/manifests/components/watch-namespaces/overlay.sh" "$WORK/overlay" team-a team-b
"$KUBECTL" kustomize "$WORK/overlay" >"$WORK/kustomize-ns.yaml"
"$HELM" template tidemark "$CHART" --namespace tidemark-system \
  --set 'watchNamespaces={team-a,team-b}' >"$WORK/helm-ns.yaml"
"$KUBECTL" kustomize "$ROOT/manifests/prometheus" >"$WORK/kustomize-alerts.yaml"
"$HELM" template tidemark "$CHART" --namespace tidemark-system \
  --set prometheusRule.enabled=true --show-only templates/prometheusrule.yaml >"$WORK/helm-alerts.yaml"
"$KUBECTL" kustomize "$ROOT/manifests/grafana" >"$WORK/kustomize-dashboard.yaml"
"$HELM" template tidemark "$CHART" --namespace tidemark-system \
  --set grafanaDashboard.enabled=true --show-only templates/grafana-dashboard.yaml >"$WORK/helm-dashboard.yaml"

python3 - "$WORK" <<'PY'
import difflib, sys, yaml

HELM_LABELS = {"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance",
               "app.kubernetes.io/version"}
HELM_ANNOTATIONS = {"helm.sh/resource-policy"}

def strip(meta):
    """Drop Helm's own labels/annotations from one metadata map (and the empty maps left)."""
    for field, keys in (("labels", HELM_LABELS), ("annotations", HELM_ANNOTATIONS)):
        m = meta.get(field)
        if m is None:
            continue
        for key in keys:
            m.pop(key, None)
        if not m:
            del meta[field]

def load(path):
    objs = {}
    with open(path) as f:
        for d in yaml.safe_load_all(f):
            if not d:
                continue
            strip(d["metadata"])
            tmpl = d.get("spec", {}).get("template")
            if isinstance(tmpl, dict) and "metadata" in tmpl:
                strip(tmpl["metadata"])
            key = (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])
            if key in objs:
                sys.exit(f"FAIL: {path}: {key} rendered twice")
            objs[key] = d
    return objs

def compare(what, kust, helm):
    errors = []
    for key in sorted(set(kust) - set(helm)):
        errors.append(f"only kustomize renders {key}")
    for key in sorted(set(helm) - set(kust)):
        errors.append(f"only helm renders {key}")
    for key in sorted(set(kust) & set(helm)):
        if kust[key] != helm[key]:
            a = yaml.safe_dump(kust[key], sort_keys=True).splitlines()
            b = yaml.safe_dump(helm[key], sort_keys=True).splitlines()
            diff = "\n".join(difflib.unified_diff(a, b, "kustomize", "helm", lineterm="", n=2))
            errors.append(f"{key} differs:\n{diff}")
    if errors:
        print(f"FAIL: {what} differ:", file=sys.stderr)
        for e in errors:
            print("  " + e.replace("\n", "\n    "), file=sys.stderr)
    return not errors

work = sys.argv[1]
kust, helm = load(f"{work}/kustomize.yaml"), load(f"{work}/helm.yaml")
ns = ("Namespace", "", "tidemark-system")
if ns not in kust:
    sys.exit("FAIL: kustomize no longer renders Namespace tidemark-system: update this test")
del kust[ns]
ok = compare("helm template (defaults) and kubectl kustomize manifests/", kust, helm)
kust_ns, helm_ns = load(f"{work}/kustomize-ns.yaml"), load(f"{work}/helm-ns.yaml")
del kust_ns[ns]
roles = sorted(k[1] for k in kust_ns if k[0] == "Role" and k[2] == "tidemark-controller")
if roles != ["team-a", "team-b"] or any(k[0].startswith("Cluster") for k in kust_ns):
    sys.exit(f"FAIL: the watch-namespaces overlay renders Roles in {roles} and "
             f"{[k for k in kust_ns if k[0].startswith('Cluster')]}: expected Roles in team-a and team-b, no Cluster*")
cluster_rules = kust[("ClusterRole", "", "tidemark-controller")]["rules"]
if kust_ns[("Role", "team-a", "tidemark-controller")]["rules"] != cluster_rules:
    print("FAIL: manifests/components/watch-namespaces/role/role.yaml must grant the rules of "
          "manifests/rbac.yaml's ClusterRole tidemark-controller (copy them over)", file=sys.stderr)
    ok = False
ok = compare("helm template --set watchNamespaces={team-a,team-b} and the watch-namespaces overlay",
             kust_ns, helm_ns) and ok
alerts_k, alerts_h = load(f"{work}/kustomize-alerts.yaml"), load(f"{work}/helm-alerts.yaml")
ok = compare("helm template --set prometheusRule.enabled=true and kubectl kustomize manifests/prometheus/",
             alerts_k, alerts_h) and ok
dash_k, dash_h = load(f"{work}/kustomize-dashboard.yaml"), load(f"{work}/helm-dashboard.yaml")
ok = compare("helm template --set grafanaDashboard.enabled=true and kubectl kustomize manifests/grafana/",
             dash_k, dash_h) and ok
if not ok:
    sys.exit(1)
print(f"chart_matches_kustomize: {len(kust)} objects ({len(kust_ns)} watching two namespaces), "
      "the PrometheusRule and the dashboard ConfigMap identical")
PY
