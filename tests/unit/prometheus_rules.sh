#!/usr/bin/env bash
# tidemark tests/unit/prometheus_rules.sh — manifests/prometheus/ is valid and does what
# its unit tests say: `promtool check rules` on the rules file, `promtool test rules` on
# manifests/prometheus/tests/*.yaml (input series -> expected alerts, and cases that
# must not fire), and prometheusrule.yaml (Prometheus Operator) carries exactly the
# rules file's groups. promtool comes from hack/promtool.sh (built from Go modules on
# first use, ~4 min; a stamp check afterwards). Needs python3 with PyYAML.
# `tests/unit/prometheus_rules.sh --write` regenerates prometheusrule.yaml from the rules file.
set -euo pipefail
root="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
dir="$root/manifests/prometheus"

# prometheusrule.yaml = a header, then the rules file's groups under spec:
render_prometheusrule() {
  cat <<'YAML'
# tidemark alerting rules for the Prometheus Operator. GENERATED from
# tidemark.rules.yaml by tests/unit/prometheus_rules.sh --write (which checks the two
# match); edit tidemark.rules.yaml. Your Prometheus must select this object: add the
# label its ruleSelector wants (kube-prometheus-stack: release: <its release name>).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: tidemark
  namespace: tidemark-system
  labels:
    app.kubernetes.io/name: tidemark
    app.kubernetes.io/component: alerts
spec:
YAML
  sed -n '/^groups:/,$p' "$dir/tidemark.rules.yaml" | sed 's/^./  &/'
}
if [[ "${1:-}" == --write ]]; then
  render_prometheusrule >"$dir/prometheusrule.yaml"
  echo "wrote $dir/prometheusrule.yaml"
  exit 0
fi

python3 - "$dir/tidemark.rules.yaml" "$dir/prometheusrule.yaml" <<'PY'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
cr = yaml.safe_load(open(sys.argv[2]))
if cr.get("kind") != "PrometheusRule" or cr.get("spec", {}).get("groups") != rules["groups"]:
    sys.exit(f"{sys.argv[2]}: spec.groups differs from {sys.argv[1]} "
             "(run tests/unit/prometheus_rules.sh --write)")
print(f"ok   {sys.argv[2]} carries the {len(rules['groups'])} group(s) of {sys.argv[1]}")
PY

promtool="$("$root/hack/promtool.sh" path)"
"$promtool" check rules "$dir/tidemark.rules.yaml"
"$promtool" test rules "$dir"/tests/*.yaml
