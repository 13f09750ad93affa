#!/usr/bin/env bash
# tidemark tests/e2e/rollout_app_first.sh — order AppFirst (contract): the schema waits until
# the Deployment's rollout of the template for the target tag is complete, then applies. The new
# app version works with the old schema (as a contract step must), but its real pods are held
# un-Ready (a gate table) until the test has seen the schema wait.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup appfirst
app_setup

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller
wait_for_phase orders-dev Succeeded 90

# the new app version first; its pods are not Ready yet
k -n "$NS" patch deployment orders-app -p "$(gated_app_patch v1.1.0)" >/dev/null
k -n "$NS" patch dbrollout orders-dev --type=merge -p '{"spec":{"tag":"v1.1.0","order":"AppFirst"}}' >/dev/null
phase_becomes orders-dev WaitingForApp 60 || fail "not WaitingForApp"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.conditions[?(@.type=="SchemaApplied")].status}')" == False ]] \
  || fail "SchemaApplied should be False while the app rolls"
[[ "$(q "select count(*) from databasechangelog")" == 3 ]] || fail "schema applied before the app was available"

# the app becomes available: then the schema goes to v1.1.0
open_app_gate
wait_for_phase orders-dev Succeeded 90
deployment_available "$NS" orders-app || fail "Succeeded, but orders-app is not available: $(app_pods "$NS")"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.appliedTag}')" == v1.1.0 ]] || fail "appliedTag"
[[ "$(q "select count(*) from databasechangelog")" == 5 ]] || fail "v1.1.0 history rows"
assert_no_canary
