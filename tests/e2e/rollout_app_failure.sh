#!/usr/bin/env bash
# tidemark tests/e2e/rollout_app_failure.sh — the app's rollout fails for real: v1.2.0's app
# crashes at start (the testapp with APP_CRASH=1, CrashLoopBackOff) and the Deployment has a
# short progressDeadlineSeconds, so the real Deployment controller reports
# ProgressDeadlineExceeded; the schema goes back to preStartTag, the rollout ends RolledBack
# with Warning Events, and with onAppFailure RollbackBoth the Deployment's previous pod template
# is restored and runs again: every replica the v1.0.0 app, Ready, no crashing pod left.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup appfail
app_setup

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller

# v1.0.0 succeeds first
wait_for_phase orders-dev Succeeded 90

# v1.2.0 with an app that crashes at start
k -n "$NS" patch deployment orders-app -p "$(sample_app_patch v1.2.0 1 --deadline 5)" >/dev/null
k -n "$NS" patch dbrollout orders-dev --type=merge -p \
  '{"spec":{"tag":"v1.2.0","onAppFailure":"RollbackBoth"}}' >/dev/null

phase_becomes orders-dev RolledBack 120 || fail "rollout not RolledBack"
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

# RollbackBoth: the Deployment runs the previous template again, for real
wait_for_output -t 30 "customer_id 0" k -n "$NS" get deployment orders-app \
  -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="APP_COLUMN")].value} {.spec.template.spec.containers[0].env[?(@.name=="APP_CRASH")].value}' \
  || fail "deployment template not restored to the v1.0.0 app"
wait_deployment_available "$NS" orders-app 60
wait_for_output -t 60 "column=customer_id ready=True" eval "app_pods '$NS' | awk '{print \$NF, \$3}' | sort -u" \
  || fail "after RollbackBoth: expected only Ready v1.0.0 pods, got: $(app_pods "$NS")"

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
