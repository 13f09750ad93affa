#!/usr/bin/env bash
# tidemark tests/unit/chart_lint.sh — `helm lint --strict` passes for the chart with its
# defaults and with every optional value turned on, and values.schema.json refuses values the
# controller or Kubernetes would refuse later (caught at lint/install time instead).
# Needs helm (hack/helm.sh build).
set -euo pipefail
# shellcheck source=tests/lib/chart.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/chart.sh"
new_work_dir

lint() { "$HELM" lint --strict "$CHART" --namespace tidemark-system "$@" 2>&1; }

out="$(lint)" || fail "helm lint --strict (defaults): $out"

cat >"$WORK/all.yaml" <<'YAML'
image: {repository: registry.example/tidemark, tag: "1.2.3", pullPolicy: Always, pullSecrets: [regcred]}
replicaCount: 2
watchNamespaces: [team-a, team-b]
serviceAccount: {name: tidemark-sa, annotations: {example.com/role: tidemark}}
crds: {keep: false}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: operators, effect: NoSchedule}]
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector: {matchLabels: {app.kubernetes.io/name: tidemark}}
priorityClassName: system-cluster-critical
podAnnotations: {example.com/scrape: "yes"}
podLabels: {team: data}
extraEnv: [{name: TZ, value: UTC}]
logLevel: debug
logFormat: text
metrics: {serviceMonitor: {enabled: true, labels: {release: prometheus}}}
prometheusRule: {enabled: true}
networkPolicy:
  enabled: true
  metricsFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
  egress: [{}]
YAML
out="$(lint -f "$WORK/all.yaml")" || fail "helm lint --strict (every option on): $out"

# values the schema must refuse, each with the words the error must name
refused=(
  "logLevel=verbose|/logLevel"
  "logFormat=yaml|/logFormat"
  "image.pullPolicy=Sometimes|/image/pullPolicy"
  "replicaCount=-1|/replicaCount"
  "watchNamespaces[0]=Team_A|/watchNamespaces/0"
  "rbac.create=maybe|/rbac/create"
  "unknownKey=1|unknownKey"
)
for case in "${refused[@]}"; do
  set_arg="${case%%|*}" want="${case#*|}"
  if out="$(lint --set "$set_arg")"; then fail "helm lint --set $set_arg: expected a schema error, got: $out"; fi
  [[ "$out" == *"$want"* ]] || fail "helm lint --set $set_arg: error does not name $want: $out"
done

# more than one replica without leader election: two active controllers; refused by name
# (by `helm template`: lint reports a template's fail() only as information)
if out="$("$HELM" template tidemark "$CHART" --set replicaCount=2 --set leaderElection.enabled=false 2>&1)"; then
  fail "replicaCount=2 without leader election: expected a render error, got: $out"
fi
[[ "$out" == *"replicaCount > 1 needs leaderElection.enabled"* ]] || fail "replicaCount=2 without leader election: $out"
echo "chart_lint: defaults and every option lint clean; ${#refused[@]} bad values and 1 bad combination refused"
