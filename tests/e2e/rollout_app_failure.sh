#!/usr/bin/env bash
# tidemark tests/e2e/rollout_app_failure.sh — the app's rollout fails (pods never Ready, a short
# progressDeadlineSeconds): the real Deployment controller reports ProgressDeadlineExceeded,
# the schema goes back to preStartTag, the rollout ends RolledBack with a Warning Event, and
# with onAppFailure RollbackBoth the Deployment's previous pod template is restored.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup appfail

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller

# v1.0.0 succeeds first
wait_for_output -t 60 "WaitingForApp" phase orders-dev || fail "v1.0.0 not applied"
succeed_with_ready_pods orders-dev app.kubernetes.io/name=orders-app 60 "v1.0.0 did not succeed"

# v1.2.0 with an image whose pods never become Ready
k -n "$NS" patch deployment orders-app --type=merge -p \
  '{"spec":{"progressDeadlineSeconds":5,"template":{"metadata":{"annotations":{"tidemark.dev/tag":"v1.2.0"}},"spec":{"containers":[{"name":"app","image":"registry.example.com/orders-app:broken"}]}}}}' >/dev/null
k -n "$NS" patch dbrollout orders-dev --type=merge -p \
  '{"spec":{"tag":"v1.2.0","onAppFailure":"RollbackBoth"}}' >/dev/null

wait_for_output -t 120 "RolledBack" phase orders-dev || fail "rollout not RolledBack"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.conditions[?(@.type=="RolledBack")].status}')" == True ]] \
  || fail "RolledBack condition not True"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.conditions[?(@.type=="AppAvailable")].reason}')" == ProgressDeadlineExceeded ]] \
  || fail "AppAvailable reason"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == False ]] \
  || fail "Ready should be False"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.preStartTag} {.status.appliedTag}')" == "v1.0.0 v1.0.0" ]] \
  || fail "preStartTag/appliedTag"

# the schema is back at v1.0.0
[[ "$(q "select string_agg(id, ',' order by orderexecuted) from databasechangelog")" == \
   "1-create-customers,2-create-orders,3-tag-v1.0.0" ]] || fail "history not back at v1.0.0"
[[ "$(q "select count(*) from information_schema.columns where table_name='customers' and column_name='name'")" == 0 ]] \
  || fail "customers.name still exists"

# Warning Events
has_event orders-dev "Warning AppFailed" || fail "no AppFailed Warning Event"
has_event orders-dev "Warning RolledBack" || fail "no RolledBack Warning Event"

# RollbackBoth: the Deployment runs the previous template again
wait_for_output -t 30 "registry.example.com/orders-app:1.0.0" k -n "$NS" get deployment orders-app \
  -o jsonpath='{.spec.template.spec.containers[0].image}' || fail "deployment template not restored"

# a terminal rollout stays put: nothing re-applies on its own
sleep_until=$(( $(date +%s) + 8 ))
while (( $(date +%s) < sleep_until )); do
  [[ "$(phase orders-dev)" == RolledBack ]] || fail "terminal phase changed without a spec change"
  sleep 1
done
[[ "$(q "select count(*) from databasechangelog")" == 3 ]] || fail "database changed after RolledBack"

# deleting the rollout never touches the database
k -n "$NS" delete dbrollout orders-dev --wait=true >/dev/null
[[ "$(q "select count(*) from databasechangelog")" == 3 ]] || fail "delete changed the database"

assert_no_canary
