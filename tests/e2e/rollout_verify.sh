#!/usr/bin/env bash
# tidemark tests/e2e/rollout_verify.sh — spec.verify, post-deploy verification, with real pods:
# the verification Job runs the testapp's own probe (`testapp ready`: exit 0 when a column exists
# in the app's database, exit 1 with APP_CRASH=1) as a real Job, run by the real Job controller.
# One namespace, one controller, the samples' orders-dev at v1.0.0 first (no verify), then:
#   passing   v1.1.0 with a Job that checks the column v1.1.0 adds → Verifying → Succeeded;
#             status.verification {job orders-dev-verify-<generation>, result Succeeded}; the Job
#             was created after the app was available, is owned by the rollout, labelled
#             tidemark.dev/rollout, and its pods run as the app's ServiceAccount; Events
#             VerificationStarted and VerificationSucceeded.
#   failing   v1.2.0 (an app that becomes available) with a Job that exits 1 (backoffLimit 0)
#             and onAppFailure RollbackBoth → RolledBack: the schema back at preStartTag v1.1.0,
#             the Deployment's v1.1.0 template restored and Ready; status.verification names the
#             Job with reason BackoffLimitExceeded; a Warning VerificationFailed Event names it.
#   overrun   v1.2.0 again with a Job that never ends (the testapp's server), verify.timeout 5s
#             and onAppFailure Hold → Verifying (saved as the Argo CD/kstatus test object
#             testdata/verifying.yaml with TIDEMARK_ARGOCD_CAPTURE=1) → Failed (VerificationFailed:
#             DeadlineExceeded, Kubernetes stopped it at activeDeadlineSeconds, or Timeout); the
#             schema and the app stay at v1.2.0. The controller is SIGKILLed and restarted while
#             Verifying: still one Job per generation.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
T0=$(date +%s)
rollout_setup verify
app_setup

# the app runs as a ServiceAccount of its own: the verification Job must run as it too
k -n "$NS" create serviceaccount orders-app >/dev/null || fail "create serviceaccount orders-app"
render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
k -n "$NS" patch deployment orders-app -p '{"spec":{"template":{"spec":{"serviceAccountName":"orders-app"}}}}' >/dev/null \
  || fail "set the app's ServiceAccount"
start_controller
wait_for_phase orders-dev Succeeded 90

history_ids() { q "select string_agg(id, ',' order by orderexecuted) from databasechangelog"; }
V110_HISTORY="1-create-customers,2-create-orders,3-tag-v1.0.0,4-orders-status,5-tag-v1.1.0"
ro() { k -n "$NS" get dbrollout orders-dev -o "jsonpath=$1"; }
verification() { ro '{.status.verification.job} {.status.verification.result} {.status.verification.reason}'; }

# spec.verify with a Job running `testapp ready` for TABLE.COLUMN (CRASH 1: it exits 1 at once;
# MODE serve: the testapp's server, which runs until stopped), within TIMEOUT
verify_spec() { # TABLE COLUMN CRASH [TIMEOUT [MODE]]
  local cmd='"/usr/local/bin/testapp","ready"'
  [[ "${5:-}" == serve ]] && cmd='"/usr/local/bin/testapp"'
  printf '{"timeout":"%s","jobTemplate":{"metadata":{"labels":{"team":"orders"}},"spec":{"backoffLimit":0,"template":{"spec":{"containers":[{"name":"check","image":"%s","imagePullPolicy":"Never","command":[%s],"env":[{"name":"DATABASE_URL","valueFrom":{"secretKeyRef":{"name":"app-db","key":"url"}}},{"name":"APP_TABLE","value":"%s"},{"name":"APP_COLUMN","value":"%s"},{"name":"APP_CRASH","value":"%s"}]}]}}}}}' \
    "${4:-2m}" "$TESTAPP_IMAGE" "$cmd" "$1" "$2" "$3"
}

# ---- passing: v1.1.0, the Job checks orders.status (which v1.1.0 adds)
k -n "$NS" patch deployment orders-app -p "$(sample_app_patch v1.1.0)" >/dev/null || fail "patch the app to v1.1.0"
k -n "$NS" patch dbrollout orders-dev --type=merge \
  -p "{\"spec\":{\"tag\":\"v1.1.0\",\"verify\":$(verify_spec orders status 0)}}" >/dev/null \
  || fail "patch the rollout to v1.1.0 with spec.verify"
GEN="$(ro '{.metadata.generation}')"
JOB="orders-dev-verify-$GEN"
wait_for_phase orders-dev Succeeded 120
[[ "$(verification)" == "$JOB Succeeded " ]] || fail "passing: status.verification is '$(verification)', want '$JOB Succeeded '"
[[ "$(history_ids)" == "$V110_HISTORY" ]] || fail "passing: history $(history_ids)"
job="$(k -n "$NS" get job "$JOB" -o json)" || fail "passing: no Job $JOB"
got="$(jq -r '[.metadata.labels["tidemark.dev/rollout"], .metadata.labels.team,
  (.metadata.ownerReferences[0] | .kind + "/" + .name + "/" + (.controller | tostring)),
  .spec.template.spec.serviceAccountName, .spec.activeDeadlineSeconds,
  ([.status.conditions[]? | select(.type == "Complete")][0].status)] | map(tostring) | join(" ")' <<<"$job")"
[[ "$got" == "orders-dev orders DBRollout/orders-dev/true orders-app 120 True" ]] \
  || fail "passing: the Job's label, owner, ServiceAccount, deadline, Complete: '$got'"
# the Job was created once the app was available at the target, not before
created="$(jq -r .metadata.creationTimestamp <<<"$job")"
available="$(ro '{.status.conditions[?(@.type=="AppAvailable")].lastTransitionTime}')"
[[ ! "$created" < "$available" ]] || fail "passing: the Job was created at $created, before the app was available ($available)"
has_event orders-dev "Normal VerificationStarted" || fail "passing: no VerificationStarted Event: $(rollout_events orders-dev | tr '\n' ';')"
has_event orders-dev "Normal VerificationSucceeded" || fail "passing: no VerificationSucceeded Event"
log "passing: $JOB Complete, the rollout Succeeded"

# ---- failing: v1.2.0 (its app becomes available), a Job that exits 1, RollbackBoth
k -n "$NS" patch deployment orders-app -p "$(sample_app_patch v1.2.0)" >/dev/null || fail "patch the app to v1.2.0"
k -n "$NS" patch dbrollout orders-dev --type=merge \
  -p "{\"spec\":{\"tag\":\"v1.2.0\",\"onAppFailure\":\"RollbackBoth\",\"verify\":$(verify_spec customers name 1)}}" >/dev/null \
  || fail "patch the rollout to v1.2.0 with a failing spec.verify"
GEN="$(ro '{.metadata.generation}')"
JOB="orders-dev-verify-$GEN"
wait_for_phase orders-dev RolledBack 150
[[ "$(verification)" == "$JOB Failed BackoffLimitExceeded" ]] \
  || fail "failing: status.verification is '$(verification)', want '$JOB Failed BackoffLimitExceeded'"
[[ "$(ro '{.status.verification.message}')" == *"$JOB"* ]] || fail "failing: status.verification.message does not name $JOB: $(ro '{.status.verification.message}')"
[[ "$(ro '{.status.rollbackCause} {.status.preStartTag} {.status.appliedTag}')" == "AppFailed v1.1.0 v1.1.0" ]] \
  || fail "failing: rollbackCause/preStartTag/appliedTag: $(ro '{.status.rollbackCause} {.status.preStartTag} {.status.appliedTag}')"
[[ "$(ro '{.status.message}')" == *"after verification Job $JOB failed"* ]] || fail "failing: status.message: $(ro '{.status.message}')"
[[ "$(history_ids)" == "$V110_HISTORY" ]] || fail "failing: the history is not back at v1.1.0: $(history_ids)"
[[ "$(q "select count(*) from information_schema.columns where table_name='customers' and column_name='name'")" == 0 ]] \
  || fail "failing: customers.name exists after the rollback"
events="$(k -n "$NS" get events --field-selector "involvedObject.kind=DBRollout,involvedObject.name=orders-dev,type=Warning,reason=VerificationFailed" \
  -o 'jsonpath={range .items[*]}{.note}{.message}{"\n"}{end}')" || fail "failing: list Events"
[[ "$events" == *"$JOB"* ]] || fail "failing: no Warning VerificationFailed Event naming $JOB: '$events'"
# RollbackBoth: the Deployment runs the v1.1.0 template again, Ready
[[ "$(k -n "$NS" get deployment orders-app -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="APP_COLUMN")].value} {.spec.template.metadata.annotations.tidemark\.dev/tag}')" \
   == "status v1.1.0" ]] || fail "failing: the deployment's template was not restored to the v1.1.0 app"
wait_deployment_available "$NS" orders-app 60
log "failing: $JOB Failed, the rollout RolledBack with the app"

# ---- overrun: a Job that never ends, a 5 s timeout, Hold
k -n "$NS" patch deployment orders-app -p "$(sample_app_patch v1.2.0)" >/dev/null || fail "patch the app to v1.2.0"
k -n "$NS" patch dbrollout orders-dev --type=merge \
  -p "{\"spec\":{\"onAppFailure\":\"Hold\",\"verify\":$(verify_spec customers name 0 5s serve)}}" >/dev/null \
  || fail "patch the rollout to v1.2.0 with a Job that never ends"
wait_for_phase orders-dev Verifying 90
if [[ "${TIDEMARK_ARGOCD_CAPTURE:-}" == 1 ]]; then
  k -n "$NS" get dbrollout orders-dev -o yaml \
    >"$ROOT/manifests/argocd/resource_customizations/tidemark.dev/DBRollout/testdata/verifying.yaml" \
    || fail "capture the Verifying object"
fi
# a controller killed while Verifying, once its Job exists, finds it by the name in the
# status: never a second
JOB="orders-dev-verify-$(ro '{.metadata.generation}')"
wait_for -t 30 k -n "$NS" get job "$JOB" -o name >/dev/null || fail "overrun: Job $JOB never created"
crash_controller
start_controller
wait_for_phase orders-dev Failed 60
jobs="$(k -n "$NS" get jobs -l tidemark.dev/rollout=orders-dev -o 'jsonpath={.items[*].metadata.name}')"
[[ "$jobs" == "orders-dev-verify-2 orders-dev-verify-3 $JOB" ]] || fail "overrun: the rollout's Jobs are '$jobs', want one per verified generation"
got="$(verification)"
[[ "$got" == "$JOB Failed DeadlineExceeded" || "$got" == "$JOB Failed Timeout" ]] \
  || fail "overrun: status.verification is '$got', want '$JOB Failed DeadlineExceeded' (or Timeout)"
[[ "$(ro '{.status.conditions[?(@.type=="Ready")].reason}')" == VerificationFailed ]] \
  || fail "overrun: Ready reason $(ro '{.status.conditions[?(@.type=="Ready")].reason}')"
[[ "$(history_ids)" == "$V110_HISTORY,6-customers-name,7-orders-customer-index,8-tag-v1.2.0" ]] \
  || fail "overrun: Hold must leave the schema at v1.2.0: $(history_ids)"
log "overrun: $JOB stopped ($got), the rollout Failed, schema held at v1.2.0"
assert_no_canary
log "rollout_verify took $(( $(date +%s) - T0 ))s"
