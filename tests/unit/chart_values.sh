#!/usr/bin/env bash
# tidemark tests/unit/chart_values.sh — each value of manifests/chart/tidemark renders what
# values.yaml promises (helm template, no cluster): watchNamespaces turns the ClusterRole into
# a Role per namespace plus --namespace, rbac.create/serviceAccount/crds switch their objects,
# image/replicas/leader election/logging/env/scheduling/security contexts reach the pod, and
# the ServiceMonitor and NetworkPolicy select the controller.  Every case reports its own
# failure; the test fails if any did.  Needs helm (hack/helm.sh build) and PyYAML.
set -euo pipefail
# shellcheck source=tests/lib/chart.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/chart.sh"
python3 - "$HELM" "$CHART" <<'PY'
import json, subprocess, sys, yaml

helm, chart = sys.argv[1], sys.argv[2]
failures = []

def render(*args, release="tidemark", ns="tidemark-system"):
    out = subprocess.run([helm, "template", release, chart, "--namespace", ns, *args],
                         check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]

def find(objs, kind, name=None, ns=None):
    return [o for o in objs if o["kind"] == kind
            and (name is None or o["metadata"]["name"] == name)
            and (ns is None or o["metadata"].get("namespace") == ns)]

def one(objs, kind, name=None, ns=None):
    got = find(objs, kind, name, ns)
    assert len(got) == 1, f"expected one {kind} {name or ''} in {ns or 'any namespace'}, got {len(got)}"
    return got[0]

def pod(objs):
    return one(objs, "Deployment")["spec"]["template"]

def container(objs):
    return pod(objs)["spec"]["containers"][0]

def case(name):
    def wrap(fn):
        try:
            fn()
            print(f"ok   {name}")
        except Exception as e:  # AssertionError, KeyError, helm's own failure
            failures.append(name)
            detail = e.stderr if isinstance(e, subprocess.CalledProcessError) else repr(e)
            print(f"FAIL {name}: {detail}", file=sys.stderr)
    return wrap

defaults = render()
cluster_rules = one(defaults, "ClusterRole", "tidemark-controller")["rules"]

@case("defaults: ClusterRole + binding, no namespace flag, CRDs kept on uninstall")
def _():
    one(defaults, "ClusterRoleBinding", "tidemark-controller")
    assert not find(defaults, "Role", "tidemark-controller"), "a Role tidemark-controller with watchNamespaces empty"
    assert not any(a.startswith("--namespace") for a in container(defaults)["args"])
    crds = find(defaults, "CustomResourceDefinition")
    assert sorted(c["metadata"]["name"] for c in crds) == \
        ["dbinstances.tidemark.dev", "dbrollouts.tidemark.dev", "dbschemas.tidemark.dev"], crds
    for c in crds:
        assert c["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep", c["metadata"]
        assert c["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm", c["metadata"]
    assert container(defaults)["image"] == "ghcr.io/tidemark/tidemark:0.1.0"

@case("watchNamespaces=[team-a,team-b]: a Role + RoleBinding in each, no cluster grant, --namespace")
def _():
    objs = render("--set", "watchNamespaces={team-a,team-b}")
    assert not find(objs, "ClusterRole") and not find(objs, "ClusterRoleBinding"), "cluster-wide RBAC left"
    for ns in ("team-a", "team-b"):
        assert one(objs, "Role", "tidemark-controller", ns)["rules"] == cluster_rules, f"{ns}: rules differ"
        rb = one(objs, "RoleBinding", "tidemark-controller", ns)
        assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tidemark-controller"}, rb
        assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "tidemark", "namespace": "tidemark-system"}], rb
    one(objs, "Role", "tidemark-leader-election", "tidemark-system")
    assert "--namespace=team-a,team-b" in container(objs)["args"], container(objs)["args"]

@case("rbac.create=false: no Role, ClusterRole or binding")
def _():
    objs = render("--set", "rbac.create=false")
    for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"):
        assert not find(objs, kind), f"{kind} rendered"

@case("serviceAccount.create=false,name=existing: no ServiceAccount, pod and bindings use it")
def _():
    objs = render("--set", "serviceAccount.create=false", "--set", "serviceAccount.name=existing")
    assert not find(objs, "ServiceAccount")
    assert pod(objs)["spec"]["serviceAccountName"] == "existing"
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for b in find(objs, kind):
            assert b["subjects"][0]["name"] == "existing", b

@case("serviceAccount name/annotations/automount")
def _():
    objs = render("--set", "serviceAccount.name=op", "--set", "serviceAccount.annotations.a\\.b/c=d",
                  "--set", "serviceAccount.automount=false")
    sa = one(objs, "ServiceAccount", "op", "tidemark-system")
    assert sa["metadata"]["annotations"] == {"a.b/c": "d"}, sa
    assert pod(objs)["spec"]["automountServiceAccountToken"] is False

@case("crds.install=false renders no CRD; crds.keep=false drops the keep policy")
def _():
    assert not find(render("--set", "crds.install=false"), "CustomResourceDefinition")
    for c in find(render("--set", "crds.keep=false"), "CustomResourceDefinition"):
        assert "helm.sh/resource-policy" not in (c["metadata"].get("annotations") or {}), c["metadata"]

@case("image, pullSecrets, replicaCount")
def _():
    objs = render("--set", "image.repository=reg.example/tm", "--set", "image.tag=2.0.0",
                  "--set", "image.pullPolicy=Always", "--set", "image.pullSecrets={regcred}",
                  "--set", "replicaCount=3")
    c = container(objs)
    assert (c["image"], c["imagePullPolicy"]) == ("reg.example/tm:2.0.0", "Always"), c
    assert pod(objs)["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert one(objs, "Deployment")["spec"]["replicas"] == 3

@case("leaderElection.enabled=false (one replica): no --leader-elect, no Lease Role")
def _():
    objs = render("--set", "replicaCount=1", "--set", "leaderElection.enabled=false")
    assert not any(a.startswith("--leader-elect") for a in container(objs)["args"]), container(objs)["args"]
    assert not find(objs, "Role", "tidemark-leader-election")

@case("logLevel, logFormat, extraEnv")
def _():
    objs = render("--set", "logLevel=debug", "--set", "logFormat=text",
                  "--set", "extraEnv[0].name=TZ", "--set", "extraEnv[0].value=UTC")
    c = container(objs)
    assert "--log-level=debug" in c["args"] and "--log-format=text" in c["args"], c["args"]
    assert c["env"][-1] == {"name": "TZ", "value": "UTC"}, c["env"]
    assert [e["name"] for e in c["env"][:5]] == ["GNUTLS_NO_IMPLICIT_INIT", "POD_NAME", "POD_NAMESPACE",
                                                 "HOME", "TIDEMARK_GIT_CACHE"], c["env"]

@case("scheduling, annotations, labels, resources, security contexts")
def _():
    objs = render("--set", "nodeSelector.disk=ssd", "--set", "tolerations[0].key=k",
                  "--set", "tolerations[0].operator=Exists", "--set", "priorityClassName=high",
                  "--set", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=zone",
                  "--set", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
                  "--set", "podAnnotations.x=y", "--set", "podLabels.team=data",
                  "--set", "resources.limits.memory=512Mi", "--set", "securityContext.runAsUser=1000",
                  "--set", "podSecurityContext.fsGroup=2000")
    p, c = pod(objs), container(objs)
    s = p["spec"]
    assert s["nodeSelector"] == {"disk": "ssd"} and s["tolerations"] == [{"key": "k", "operator": "Exists"}], s
    assert s["priorityClassName"] == "high", s
    assert s["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"] == [{"key": "zone", "operator": "Exists"}]
    assert p["metadata"]["annotations"] == {"x": "y"} and p["metadata"]["labels"]["team"] == "data", p["metadata"]
    assert one(objs, "Deployment")["spec"]["selector"]["matchLabels"] == \
        {"app.kubernetes.io/name": "tidemark", "app.kubernetes.io/component": "controller"}
    assert c["resources"]["limits"]["memory"] == "512Mi" and c["resources"]["requests"]["cpu"] == "50m", c["resources"]
    # one key overridden, the hardened rest kept (Helm merges maps)
    sc = c["securityContext"]
    assert sc["runAsUser"] == 1000 and sc["readOnlyRootFilesystem"] is True and sc["capabilities"]["drop"] == ["ALL"], sc
    assert s["securityContext"]["fsGroup"] == 2000 and s["securityContext"]["runAsNonRoot"] is True, s["securityContext"]

@case("metrics.serviceMonitor.enabled: a ServiceMonitor selecting the metrics Service")
def _():
    objs = render("--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=prom")
    sm = one(objs, "ServiceMonitor", "tidemark-controller", "tidemark-system")
    svc = one(objs, "Service", "tidemark-metrics")
    sel = sm["spec"]["selector"]["matchLabels"]
    assert all(svc["metadata"]["labels"].get(k) == v for k, v in sel.items()), (sel, svc["metadata"]["labels"])
    assert sm["spec"]["endpoints"][0]["port"] == svc["spec"]["ports"][0]["name"] == "metrics"
    assert sm["metadata"]["labels"]["release"] == "prom"
    assert not find(defaults, "ServiceMonitor")

@case("prometheusRule.enabled: the alerts, with the extra labels")
def _():
    objs = render("--set", "prometheusRule.enabled=true", "--set", "prometheusRule.labels.release=prom")
    pr = one(objs, "PrometheusRule", "tidemark", "tidemark-system")
    assert pr["metadata"]["labels"]["release"] == "prom", pr["metadata"]
    alerts = [r["alert"] for g in pr["spec"]["groups"] for r in g["rules"]]
    assert "TidemarkRolloutFailed" in alerts and "TidemarkNoLeader" in alerts, alerts
    assert not find(defaults, "PrometheusRule")

@case("grafanaDashboard.enabled: the dashboard ConfigMap, in the namespace asked for")
def _():
    objs = render("--set", "grafanaDashboard.enabled=true", "--set", "grafanaDashboard.namespace=monitoring")
    cm = one(objs, "ConfigMap", "tidemark-dashboard", "monitoring")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1", cm["metadata"]
    assert json.loads(cm["data"]["tidemark-dashboard.json"])["uid"] == "tidemark-controller"
    assert not find(defaults, "ConfigMap")

@case("networkPolicy.enabled: ingress to the metrics port of the controller pods only")
def _():
    objs = render("--set", "networkPolicy.enabled=true",
                  "--set", "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=mon")
    np = one(objs, "NetworkPolicy", "tidemark-controller", "tidemark-system")
    assert np["spec"]["podSelector"]["matchLabels"] == one(objs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert np["spec"]["policyTypes"] == ["Ingress"], np["spec"]
    assert np["spec"]["ingress"] == [{"ports": [{"port": "metrics", "protocol": "TCP"}],
                                      "from": [{"namespaceSelector": {"matchLabels": {"team": "mon"}}}]}], np["spec"]
    np = one(render("--set", "networkPolicy.enabled=true", "--set", "networkPolicy.egress[0].ports[0].port=5432"),
             "NetworkPolicy")
    assert np["spec"]["policyTypes"] == ["Ingress", "Egress"] and np["spec"]["egress"] == [{"ports": [{"port": 5432}]}], np["spec"]
    assert not find(defaults, "NetworkPolicy")

@case("another release name prefixes every name; cluster objects never collide with tidemark's")
def _():
    objs = render(release="staging", ns="ops")
    names = {(o["kind"], o["metadata"]["name"]) for o in objs if o["kind"] != "CustomResourceDefinition"}
    assert names == {("ServiceAccount", "staging-tidemark"), ("ClusterRole", "staging-tidemark-controller"),
                     ("ClusterRoleBinding", "staging-tidemark-controller"), ("Role", "staging-tidemark-leader-election"),
                     ("RoleBinding", "staging-tidemark-leader-election"), ("Service", "staging-tidemark-metrics"),
                     ("Deployment", "staging-tidemark-controller")}, names
    assert all(o["metadata"].get("namespace") == "ops" for o in objs
               if o["kind"] not in ("ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"))

if failures:
    sys.exit(f"chart_values: {len(failures)} case(s) failed: {', '.join(failures)}")
print("chart_values: ok")
PY
