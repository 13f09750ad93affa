#!/usr/bin/env bash
# tidemark tests/e2e/observability_scrape.sh — a running controller, after a DBRollout has
# gone to Succeeded, serves every metric that the alerting rules
# (manifests/prometheus/tidemark.rules.yaml) and the Grafana dashboard
# (manifests/grafana/tidemark-dashboard.json) query, and its /metrics passes
# `promtool check metrics`. Two counters only get a series once a watch restarts or a
# list is repeated after 410 Expired (tidemark_watch_restarts_total,
# tidemark_relists_total): fault_apiserver_restart.sh scrapes those, and
# unit/observability_metrics.sh checks their registration. promtool from hack/promtool.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/rollout_helpers.bash"
promtool="$("$ROOT/hack/promtool.sh" path)" || fail "cannot build promtool (hack/promtool.sh)"
rollout_setup obsscrape

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller
deadline=$(( $(date +%s) + 90 ))
until [[ "$(phase orders-dev)" == Succeeded ]]; do
  make_pods_ready "$NS" app.kubernetes.io/name=orders-app >/dev/null 2>&1 || true
  (( $(date +%s) < deadline )) || fail "orders-dev did not succeed"
  sleep 1
done

scrape="$(metrics)" || fail "cannot scrape /metrics"
lint="$("$promtool" check metrics <<<"$scrape" 2>&1)" || fail "promtool check metrics: $lint"
mapfile -t queried < <(grep -oh 'tidemark_[a-z_]*' "$ROOT/manifests/prometheus/tidemark.rules.yaml" \
  "$ROOT/manifests/grafana/tidemark-dashboard.json" | sort -u)
(( ${#queried[@]} >= 10 )) || fail "found only ${#queried[@]} metric names in the rules and the dashboard"
for name in "${queried[@]}"; do
  case "$name" in
    tidemark_watch_restarts_total | tidemark_relists_total) continue ;;
  esac
  grep -qE "^${name}(_bucket|_sum|_count)?(\{| )" <<<"$scrape" || fail "$name is queried but not served by /metrics"
done
log "all ${#queried[@]} queried metrics served (but the two fault-only counters)"
