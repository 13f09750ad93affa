#!/usr/bin/env bash
# tidemark tests/e2e/rollout_schema_gate.sh — the schema gate under a one-sync GitOps change, with
# real pods: ONE `kubectl apply` carries both the DBRollout's new tag and the Deployment's new
# template (scheduling gate tidemark.dev/schema, label tidemark.dev/schema-gate=true, the app
# needing the column the new tag adds).  It is applied while the controller is down (the new pod is
# created gated, found at start by the pods informer's list), and the schema step is held by a
# table lock, so without the gate the new container would start long before the schema: it must
# stay SchedulingGated until the schema is at the tag, and no container of the new template may
# start before the tag's history row was written.  Then v1.2.0's app crashes with RollbackBoth
# (strategy Recreate): the restored v1.1.0 template's new pod starts only once the schema is back
# at v1.1.0 (not before the RolledBack condition's time).  Then a failing schema step (the column the tag
# adds already exists): the rollout rolls back and ends Failed (ApplyFailed), and the new template's
# pod stays gated (Pending, SchedulingGated) past the Deployment's progress deadline while the old
# pod keeps serving.  Last, a template naming a tag the changelog lacks gets a Warning UnknownTag
# and its pod stays gated.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup gate
app_setup

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller
wait_for_phase orders-dev Succeeded 90
wait_deployment_available "$NS" orders-app 60
T0=$(date +%s)

# the samples at TAG, the app's template gated and needing TAG's column (one multi-document file)
gated_samples() { # TAG DEADLINE [CRASH [DEPLOYMENT-PATCH [ROLLOUT-SPEC-FIELDS]]]
  local dir f first=1 extra=${4:-"{}"} fields=${5:-}
  dir="$(mktemp -d)"
  PGDATABASE="$DB" PGUSER="$ROLE" PGPASSWORD="$CANARY" "$ROOT/manifests/samples/render.sh" -o "$dir" \
    || fail "render samples"
  k patch --local -f "$dir/03-deployment.yaml" -o yaml -p "$(sample_app_patch "$1" "${3:-0}" --replicas 1 --deadline "$2")" >"$dir/d1.yaml" \
    && k patch --local -f "$dir/d1.yaml" -o yaml -p "$SCHEMA_GATE_PATCH" >"$dir/d2.yaml" \
    && k patch --local -f "$dir/d2.yaml" -o yaml -p "$extra" >"$dir/03-deployment.yaml" \
    && k patch --local -f "$dir/04-dbrollout.yaml" --type=merge -o yaml -p "{\"spec\":{\"tag\":\"$1\"$fields}}" >"$dir/r.yaml" \
    && mv "$dir/r.yaml" "$dir/04-dbrollout.yaml" && rm "$dir/d1.yaml" "$dir/d2.yaml" || fail "could not gate the samples at $1"
  for f in "$dir"/*.yaml; do
    (( first )) || printf -- '---\n'
    first=0
    cat "$f"
  done
  rm -rf "$dir"
}
# the pods of the template needing TAG: name, phase, PodScheduled reason, first container's start
tag_pods() {
  k -n "$NS" get pods -l tidemark.dev/schema-gate=true -o json \
    | jq -r --arg t "$1" '.items[] | select(.metadata.annotations["tidemark.dev/tag"] == $t)
        | "\(.metadata.name) \(.status.phase) \((.status.conditions // [] | map(select(.type == "PodScheduled"))[0].reason) // "-") \(.status.containerStatuses[0].state.running.startedAt // .status.containerStatuses[0].lastState.terminated.startedAt // "-")"'
}
gated_pod() { [[ "$(tag_pods "$1" | awk '$2 == "Pending" && $3 == "SchedulingGated" && $4 == "-"' | wc -l)" -ge 1 ]]; }
require_cmd jq

# ---- 1. one sync: tag v1.1.0 + the gated v1.1.0 app, applied while the controller is down
stop_controller
gated_samples v1.1.0 30 >"$CTL_LOG.v11.yaml"
at_exit 'rm -f "$CTL_LOG.v11.yaml" "$CTL_LOG.v12.yaml"'
# hold the schema step: v1.1.0 alters orders, which this session locks until the test commits
mkfifo "$CTL_LOG.fifo"
at_exit 'rm -f "$CTL_LOG.fifo"'
psql "$DB_URL" -qXAt <"$CTL_LOG.fifo" >/dev/null 2>&1 &
locker=$!
exec 7>"$CTL_LOG.fifo"
echo "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE;" >&7
wait_for -t 10 -i 0.1 eval '[[ "$(q "select count(*) from pg_locks where relation = '\''orders'\''::regclass and mode = '\''AccessExclusiveLock'\'' and granted")" == 1 ]]' \
  || fail "could not lock orders"
k -n "$NS" apply -f "$CTL_LOG.v11.yaml" >/dev/null || fail "the one-sync apply failed"
wait_for -t 15 -i 0.2 gated_pod v1.1.0 || fail "the v1.1.0 pod was not created gated: $(tag_pods v1.1.0)"
start_controller 7>&- # the controller must not hold the locking session's stdin open
wait_for -t 15 -i 0.2 eval '[[ "$(phase orders-dev)" == Applying ]]' || fail "the rollout did not start Applying: $(phase orders-dev)"
gated_pod v1.1.0 || fail "the v1.1.0 pod left the gate while the schema step was held: $(tag_pods v1.1.0)"
echo "COMMIT;" >&7
exec 7>&-
wait "$locker" || fail "the locking session failed"
wait_for_phase orders-dev Succeeded 40
schema_at="$(q "select floor(extract(epoch from (dateexecuted at time zone current_setting('TimeZone')))) from databasechangelog where tag = 'v1.1.0'")"
[[ "$schema_at" =~ ^[0-9]+$ ]] || fail "no history row tagged v1.1.0"
while read -r pod ph reason started; do
  [[ "$started" != "-" ]] || fail "pod $pod of v1.1.0 has no started container ($ph $reason)"
  started_s=$(date -d "$started" +%s)
  (( started_s >= schema_at )) \
    || fail "pod $pod's app container started at $started, before the schema reached v1.1.0 ($(date -u -d "@$schema_at" +%FT%TZ))"
done < <(tag_pods v1.1.0)
has_event orders-dev "Normal SchemaGateReleased" || fail "no SchemaGateReleased Event"
wait_deployment_available "$NS" orders-app 30
log "one sync: the v1.1.0 pod stayed gated until the schema reached v1.1.0, then ran ($(( $(date +%s) - T0 ))s)"

# ---- 2. the app fails with RollbackBoth: the restored v1.1.0 template's pod (Recreate: a new one)
# is created while the schema is still at v1.2.0 and starts only once it is back at v1.1.0
gated_samples v1.2.0 5 1 '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null}}}' \
  ',"onAppFailure":"RollbackBoth"' >"$CTL_LOG.v12crash.yaml"
at_exit 'rm -f "$CTL_LOG.v12crash.yaml"'
k -n "$NS" apply -f "$CTL_LOG.v12crash.yaml" >/dev/null || fail "the v1.2.0 (crashing) apply failed"
wait_for_phase orders-dev RolledBack 60
back_at="$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.conditions[?(@.type=="RolledBack")].lastTransitionTime}')"
[[ -n "$back_at" ]] || fail "no RolledBack condition time"
wait_deployment_available "$NS" orders-app 30
restored=0
while read -r pod ph reason started; do
  [[ "$started" != "-" && "$ph" == Running ]] || continue
  (( $(date -d "$started" +%s) >= $(date -d "$back_at" +%s) )) \
    || fail "restored pod $pod started at $started, before the schema was back at v1.1.0 ($back_at)"
  restored=$((restored + 1))
done < <(tag_pods v1.1.0)
(( restored >= 1 )) || fail "no restored v1.1.0 pod runs: $(tag_pods v1.1.0)"
log "RollbackBoth: the restored v1.1.0 pod started after the schema was back ($(( $(date +%s) - T0 ))s)"

# ---- 3. a failing schema step: v1.2.0's column already exists, so its changeset fails
q "ALTER TABLE customers ADD COLUMN name text" >/dev/null || fail "could not pre-create customers.name"
gated_samples v1.2.0 5 >"$CTL_LOG.v12.yaml"
k -n "$NS" apply -f "$CTL_LOG.v12.yaml" >/dev/null || fail "the v1.2.0 apply failed"
wait_for_phase orders-dev Failed 40
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason} {.status.appliedTag}')" == "ApplyFailed v1.1.0" ]] \
  || fail "expected ApplyFailed back at v1.1.0, got $(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason} {.status.appliedTag}')"
wait_for_output -t 20 ProgressDeadlineExceeded k -n "$NS" get deployment orders-app \
  -o 'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}' \
  || fail "the Deployment did not pass its progress deadline"
gated_pod v1.2.0 || fail "the v1.2.0 pod left the gate after the schema step failed: $(tag_pods v1.2.0)"
[[ "$(tag_pods v1.1.0 | awk '$2 == "Running"' | wc -l)" -ge 1 ]] || fail "the v1.1.0 pod stopped serving: $(app_pods "$NS")"
log "failing step: Failed, the v1.2.0 pod still gated past the deadline ($(( $(date +%s) - T0 ))s)"

# ---- 4. a template naming a tag the changelog lacks (the settled rollout judges its pod too)
k -n "$NS" patch deployment orders-app -p '{"spec":{"template":{"metadata":{"annotations":{"tidemark.dev/tag":"v9.9.9"}}}}}' >/dev/null \
  || fail "could not patch the tag annotation"
wait_for -t 20 -i 0.2 event_listed orders-dev "Warning UnknownTag" || fail "no UnknownTag Warning for the v9.9.9 pod"
gated_pod v9.9.9 || fail "the v9.9.9 pod is not gated: $(tag_pods v9.9.9)"
log "unknown tag: a Warning, the pod stays gated ($(( $(date +%s) - T0 ))s)"
assert_no_canary
