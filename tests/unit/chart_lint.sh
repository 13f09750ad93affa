#!/usr/bin/env bash
# tidemark tests/unit/chart_lint.sh — `helm lint --strict` passes for the chart with its
# defaults and with every optional value turned on (tests/data/chart/all-options.yaml); the
# chart renders as another chart's dependency (a parent hands it `global:`); values.schema.json
# refuses values the controller or Kubernetes would refuse later (caught at lint/install time).
# Needs helm (hack/helm.sh build).
set -euo pipefail
# shellcheck source=tests/lib/chart.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/chart.sh"
new_work_dir

lint() { "$HELM" lint --strict "$CHART" --namespace tidemark-system "$@" 2>&1; }

out="$(lint)" || fail "helm lint --strict (defaults): $out"

out="$(lint -f "$ROOT/tests/data/chart/all-options.yaml")" || fail "helm lint --strict (every option on): $out"

# as a dependency of another chart, which hands it `global:` (the schema must allow it)
mkdir -p "$WORK/umbrella/charts"
cp -r "$CHART" "$WORK/umbrella/charts/"
printf 'apiVersion: v2\nname: umbrella\nversion: 0.0.1\ndependencies:\n- {name: tidemark, version: "%s"}\n' \
  "$(sed -n 's/^version: //p' "$CHART/Chart.yaml")" >"$WORK/umbrella/Chart.yaml"
printf 'global: {imageRegistry: example}\ntidemark: {replicaCount: 2}\n' >"$WORK/umbrella/values.yaml"
out="$("$HELM" template app "$WORK/umbrella" 2>&1)" || fail "the chart as a dependency (with global values): $out"
[[ "$out" == *"replicas: 2"* ]] || fail "the chart as a dependency: the parent's values did not reach it: $out"


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
echo "chart_lint: defaults, every option and as a dependency; ${#refused[@]} bad values and 1 bad combination refused"
