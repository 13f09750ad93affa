#!/usr/bin/env bash
# tidemark tests/e2e/rollout_app_failure_orders.sh — the app-failure path with order AppFirst and
# with Parallel, with real pods (rollout_app_failure.sh covers SchemaFirst).  One namespace and
# one controller, the two cases in sequence; in each the new app version crashes at start (the
# testapp with APP_CRASH=1) under a 5 s progressDeadlineSeconds, so the real Deployment
# controller reports ProgressDeadlineExceeded, and onAppFailure is RollbackBoth.  What
# reconcilers/README.md's table says must happen:
#   AppFirst: WaitingForApp (the schema waits for the app) → APP_FAILED_ROLLBACK → RollingBack;
#     the schema never moved, the previous template is restored → RolledBack (AppFailed).
#   Parallel: the schema goes to the tag while the app rolls; the app fails → RollingBack → the
#     template is restored and the schema rolled back to preStartTag → RolledBack (AppFailed).
# Each case asserts the history in the database, the conditions, the Warning Events, and that the
# Deployment runs the restored v1.0.0 template again, Ready.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup appfailord
app_setup

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller
wait_for_phase orders-dev Succeeded 90
V100_HISTORY="1-create-customers,2-create-orders,3-tag-v1.0.0"
history_ids() { q "select string_agg(id, ',' order by orderexecuted) from databasechangelog"; }
[[ "$(history_ids)" == "$V100_HISTORY" ]] || fail "v1.0.0 history: $(history_ids)"

cond() { k -n "$NS" get dbrollout orders-dev -o "jsonpath={.status.conditions[?(@.type==\"$1\")].$2}"; }
# Warning Events of REASON about orders-dev emitted (first or again) at or after T0 (UTC, seconds,
# as `date -u +%Y-%m-%dT%H:%M:%S` prints it: ISO times of one format compare as strings)
warning_since() {
  local t0=$1 reason=$2 times t
  times="$(k -n "$NS" get events --field-selector "involvedObject.kind=DBRollout,involvedObject.name=orders-dev,type=Warning,reason=$reason" \
    -o jsonpath='{range .items[*]}{.lastTimestamp}{.series.lastObservedTime}{.eventTime}{"\n"}{end}')" || return 1
  while read -r t; do
    [[ -n "$t" ]] || continue
    [[ ! "${t:0:19}" < "$t0" ]] && return 0
  done <<<"$times"
  return 1
}

# one case: ORDER TAG — the crashing app of TAG, rollout to TAG with ORDER and RollbackBoth
app_fails() {
  local order=$1 tag=$2 t0
  log "case $order: the app of $tag crashes"
  t0=$(date -u +%Y-%m-%dT%H:%M:%S)
  k -n "$NS" patch deployment orders-app -p "$(sample_app_patch "$tag" 1 --deadline 5)" >/dev/null \
    || fail "$order: patch the deployment"
  k -n "$NS" patch dbrollout orders-dev --type=merge -p \
    "{\"spec\":{\"tag\":\"$tag\",\"order\":\"$order\",\"onAppFailure\":\"RollbackBoth\"}}" >/dev/null \
    || fail "$order: patch the rollout"
  wait_for_phase orders-dev RolledBack 60
  [[ "$(cond RolledBack status) $(cond RolledBack reason)" == "True AppFailed" ]] \
    || fail "$order: RolledBack condition: $(cond RolledBack status) $(cond RolledBack reason)"
  [[ "$(cond AppAvailable reason)" == ProgressDeadlineExceeded ]] || fail "$order: AppAvailable reason $(cond AppAvailable reason)"
  [[ "$(cond Ready status)" == False ]] || fail "$order: Ready should be False"
  [[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.rollbackCause} {.status.preStartTag} {.status.appliedTag}')" \
     == "AppFailed v1.0.0 v1.0.0" ]] \
    || fail "$order: rollbackCause/preStartTag/appliedTag: $(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.rollbackCause} {.status.preStartTag} {.status.appliedTag}')"
  [[ "$(history_ids)" == "$V100_HISTORY" ]] || fail "$order: the history is not back at v1.0.0: $(history_ids)"
  [[ "$(q "select count(*) from information_schema.columns where table_name='customers' and column_name='name'")" == 0 ]] \
    || fail "$order: customers.name exists"
  wait_for -t 10 -i 0.2 warning_since "$t0" AppFailed || fail "$order: no Warning AppFailed Event since the case began: $(rollout_events orders-dev | tr '\n' ';')"
  wait_for -t 10 -i 0.2 warning_since "$t0" RolledBack || fail "$order: no Warning RolledBack Event since the case began: $(rollout_events orders-dev | tr '\n' ';')"
  # RollbackBoth: the Deployment runs the v1.0.0 template again, Ready, no crashing pod left
  [[ "$(k -n "$NS" get deployment orders-app -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="APP_COLUMN")].value} {.spec.template.spec.containers[0].env[?(@.name=="APP_CRASH")].value} {.spec.template.metadata.annotations.tidemark\.dev/tag}')" \
     == "customer_id 0 v1.0.0" ]] || fail "$order: the deployment's template was not restored to the v1.0.0 app"
  wait_deployment_available "$NS" orders-app 60
  wait_for_output -t 30 "column=customer_id ready=True" eval "app_pods '$NS' | awk '{print \$NF, \$3}' | sort -u" \
    || fail "$order: expected only Ready v1.0.0 pods, got: $(app_pods "$NS")"
}

# the most history rows seen while a case runs (sampled every 0.3 s into FILE)
sample_history_max() {
  local file=$1 n max=0
  while sleep 0.3; do
    n="$(q "select count(*) from databasechangelog" 2>/dev/null)" || continue
    (( n > max )) && max=$n && echo "$max" >"$file"
  done
}
watch_history() { # CASE: start the sampler, PID in SAMPLER
  sample_history_max "$CTL_LOG.$1.max" &
  SAMPLER=$!
  at_exit "kill $SAMPLER 2>/dev/null || true"
}
seen_max() { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; cat "$CTL_LOG.$1.max"; }

# AppFirst: the schema waits for the app, which never becomes available: it must never move
watch_history appfirst
app_fails AppFirst v1.2.0
[[ "$(seen_max appfirst)" == 3 ]] \
  || fail "AppFirst: the schema moved ($(seen_max appfirst) history rows) although the app never became available"

# Parallel: the schema goes to v1.2.0 (v1.1.0's and v1.2.0's changesets: 8 rows) beside the app, and back
watch_history parallel
app_fails Parallel v1.2.0
[[ "$(seen_max parallel)" == 8 ]] \
  || fail "Parallel: the schema should have reached v1.2.0 (8 history rows) before the rollback; most seen: $(seen_max parallel)"
assert_no_canary
