#!/usr/bin/env bash
# tidemark tests/e2e/rollout_app_first.sh — order AppFirst (contract): the schema waits until
# the Deployment's rollout of the template for the target tag is complete, then applies.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/rollout_helpers.bash"
rollout_setup appfirst

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller
deadline=$(( $(date +%s) + 60 ))
until [[ "$(phase orders-dev)" == Succeeded ]]; do
  make_pods_ready "$NS" app.kubernetes.io/name=orders-app >/dev/null 2>&1 || true
  (( $(date +%s) < deadline )) || fail "v1.0.0 did not succeed"
  sleep 1
done

# the new app version first; its pods are not Ready yet
k -n "$NS" patch deployment orders-app --type=merge -p \
  '{"spec":{"template":{"metadata":{"annotations":{"tidemark.dev/tag":"v1.1.0"}},"spec":{"containers":[{"name":"app","image":"registry.example.com/orders-app:1.1.0"}]}}}}' >/dev/null
k -n "$NS" patch dbrollout orders-dev --type=merge -p '{"spec":{"tag":"v1.1.0","order":"AppFirst"}}' >/dev/null
wait_for_output -t 60 "WaitingForApp" phase orders-dev || fail "not WaitingForApp"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.conditions[?(@.type=="SchemaApplied")].status}')" == False ]] \
  || fail "SchemaApplied should be False while the app rolls"
[[ "$(sql "select count(*) from databasechangelog")" == 3 ]] || fail "schema applied before the app was available"

# the app becomes available: then the schema goes to v1.1.0
deadline=$(( $(date +%s) + 90 ))
until [[ "$(phase orders-dev)" == Succeeded ]]; do
  make_pods_ready "$NS" app.kubernetes.io/name=orders-app >/dev/null 2>&1 || true
  (( $(date +%s) < deadline )) || fail "AppFirst rollout did not succeed (phase $(phase orders-dev))"
  sleep 1
done
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.appliedTag}')" == v1.1.0 ]] || fail "appliedTag"
[[ "$(sql "select count(*) from databasechangelog")" == 5 ]] || fail "v1.1.0 history rows"
assert_no_canary
