#!/usr/bin/env bash
# tidemark tests/e2e/observability_scrape.sh — a running controller, after a DBRollout has
# gone to Succeeded, serves every metric that the alerting rules
# (manifests/prometheus/tidemark.rules.yaml) and the Grafana dashboard
# (manifests/grafana/tidemark-dashboard.json) query, and its /metrics passes
# `promtool check metrics`. Two counters only get a series once a watch restarts or a
# list is repeated after 410 Expired (tidemark_watch_restarts_total,
# tidemark_relists_total): fault_apiserver_restart.sh scrapes those, and
# unit/observability_metrics.sh checks their registration. tidemark_reconcile_errors_total
# has a series once a reconcile failed: it must be there when tidemark_reconcile_total
# counts an error or terminal result (a 409 on a status write is one), and may be absent
# otherwise. promtool from hack/promtool.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
promtool="$("$ROOT/hack/promtool.sh" path)" || fail "cannot build promtool (hack/promtool.sh)"
rollout_setup obsscrape
app_setup

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller
wait_for_phase orders-dev Succeeded 90

mapfile -t queried < <(grep -oh 'tidemark_[a-z_]*' "$ROOT/manifests/prometheus/tidemark.rules.yaml" \
  "$ROOT/manifests/grafana/tidemark-dashboard.json" | sort -u)
(( ${#queried[@]} >= 10 )) || fail "found only ${#queried[@]} metric names in the rules and the dashboard"

# missing_metrics: the queried names the last scrape lacks (some series appear just after
# the reconcile that reported Succeeded, e.g. the recount of tidemark_dbrollouts)
missing_metrics() {
  local name
  for name in "${queried[@]}"; do
    case "$name" in
      tidemark_watch_restarts_total | tidemark_relists_total) continue ;;
      tidemark_reconcile_errors_total) # a series from the first error on: none if none failed
        grep -qE '^tidemark_reconcile_total\{.*result="(error|terminal)"' <<<"$scrape" || continue ;;
    esac
    grep -qE "^${name}(_bucket|_sum|_count)?(\{| )" <<<"$scrape" || echo "$name"
  done
}
deadline=$(( $(date +%s) + 60 ))
while :; do
  scrape="$(metrics)" || fail "cannot scrape /metrics"
  missing="$(missing_metrics)"
  [[ -z "$missing" ]] && break
  (( $(date +%s) < deadline )) || fail "queried but not served by /metrics: $(tr '\n' ' ' <<<"$missing")"
  sleep 0.5
done
lint="$("$promtool" check metrics <<<"$scrape" 2>&1)" || fail "promtool check metrics: $lint"
log "all ${#queried[@]} queried metrics served (but the fault-only ones); promtool check metrics clean"
