#!/usr/bin/env bash
# tidemark tests/e2e/rollout_argo_rollouts.sh — an Argo Rollouts Rollout as the app
# (spec.appRef), judged by the REAL Argo Rollouts controller (hack/argo-rollouts.sh: built from
# its Go modules, run as a host process against this cluster) with the Rollout's pods running the
# test app on the real node.  Nothing here writes a Rollout's status: Argo does.
#   healthy   DBRollout to v1 with appRef web (SchemaFirst): the Rollout's v1 pod waits behind the
#             schema gate (its template declares it) until the schema reaches v1, then becomes
#             Ready (it needs items.id) and Argo reports the Rollout Healthy and fully promoted →
#             Succeeded, AppAvailable RolloutComplete, a SchemaGateReleased Event.
#   broken    the Rollout's v2 template crashes at start (APP_CRASH=1) and the DBRollout moves to
#             v2 with RollbackBoth: the schema reaches v2, the canary never gets Ready, Argo
#             aborts the update at its 10 s progress deadline (progressDeadlineAbort) → the
#             DBRollout undoes the Rollout as `kubectl argo rollouts undo` does (the v1 template
#             back in spec.template) and rolls the schema back to preStartTag v1 → RolledBack;
#             Argo then reports the Rollout Healthy at the v1 template again.
# Needs a Ready node (TIDEMARK_NODE=1 hack/controlplane.sh start) and rollouts-controller built
# (hack/argo-rollouts.sh build; hack/test.sh builds it beside the control plane).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
T0=$(date +%s)
ARGO="$ROOT/hack/argo-rollouts.sh"
"$ARGO" path >/dev/null || fail "the Argo Rollouts controller is not built: run hack/argo-rollouts.sh build"
require_cmd jq
rollout_setup argo
app_setup

# the Argo controller runs beside this cluster, its state next to the cluster's own
ARGO_STATE="$(_app_state_dir)"
argo() { TIDEMARK_STATE_DIR="$ARGO_STATE" "$ARGO" "$@"; }
argo start || fail "could not start the Argo Rollouts controller"
at_exit 'argo stop >/dev/null 2>&1 || true'
at_exit '[[ $TM_RC -eq 0 ]] || { log "rollouts-controller log (last 30 lines):"; tail -n 30 "$ARGO_STATE/argo-rollouts/logs/rollouts-controller.log" >&2; k -n "$NS" get rollouts.argoproj.io,replicasets,pods -o wide >&2; }'

apply_schema app <<'YAML'
databaseChangeLog:
  - changeSet:
      id: 1
      author: t
      changes:
        - sql: {sql: "CREATE TABLE items (id int)"}
      rollback:
        - sql: {sql: "DROP TABLE items"}
  - changeSet: {id: 2, author: t, changes: [{tagDatabase: {tag: v1}}]}
  - changeSet:
      id: 3
      author: t
      changes:
        - sql: {sql: "ALTER TABLE items ADD COLUMN name text"}
      rollback:
        - sql: {sql: "ALTER TABLE items DROP COLUMN name"}
  - changeSet: {id: 4, author: t, changes: [{tagDatabase: {tag: v2}}]}
YAML
apply_instance db app Warn

# the Rollout web: the testapp of TAG needing items.COLUMN (crashing at start when CRASH=1), one
# replica, a canary without steps, aborted by Argo DEADLINE s after it stops progressing (a gated
# pod does not progress: v1's deadline leaves the schema step time on a busy machine); its pods
# declare the schema gate (README: The schema gate)
rollout_web() { # TAG COLUMN CRASH DEADLINE
  testapp_deployment web --tag "$1" items "$2" "$3" | jq -c --argjson d "$4" '.apiVersion = "argoproj.io/v1alpha1"
    | .kind = "Rollout" | .spec.strategy = {canary: {}} | .spec.progressDeadlineSeconds = $d | .spec.progressDeadlineAbort = true
    | .spec.template.metadata.labels["tidemark.dev/schema-gate"] = "true"
    | .spec.template.spec.schedulingGates = [{name: "tidemark.dev/schema"}]'
}
rollout_web v1 id 0 120 | k -n "$NS" apply -f - >/dev/null || fail "create Rollout web"
k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: ro}
spec:
  instanceRef: {name: db}
  tag: v1
  appRef: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web}
  onAppFailure: RollbackBoth
  appTimeoutSeconds: 300
YAML
start_controller

cond() { k -n "$NS" get dbrollout ro -o "jsonpath={.status.conditions[?(@.type==\"$1\")].$2}"; }
history_ids() { q "select string_agg(id, ',' order by orderexecuted) from databasechangelog"; }
web() { k -n "$NS" get rollout.argoproj.io web -o "jsonpath=$1"; }
# Argo's own verdict: Healthy, this generation observed, fully promoted (stableRS = currentPodHash)
web_healthy() {
  [[ "$(web '{.status.phase} {.status.observedGeneration} {.status.stableRS}')" \
     == "Healthy $(web '{.metadata.generation}') $(web '{.status.currentPodHash}')" ]]
}

# ---- healthy: v1
wait_for_phase ro Succeeded 120
[[ "$(history_ids)" == "1,2" ]] || fail "v1: history $(history_ids)"
[[ "$(cond AppAvailable status) $(cond AppAvailable reason)" == "True RolloutComplete" ]] \
  || fail "v1: AppAvailable $(cond AppAvailable status) $(cond AppAvailable reason): $(cond AppAvailable message)"
[[ "$(cond AppAvailable message)" == "rollout web revision 1 is Healthy"* ]] \
  || fail "v1: AppAvailable message: $(cond AppAvailable message)"
web_healthy || fail "v1: the DBRollout Succeeded but Argo does not call web Healthy: $(web '{.status.phase} {.status.message}')"
has_event ro "Normal SchemaGateReleased" || fail "v1: no SchemaGateReleased Event: $(rollout_events ro | tr '\n' ';')"
log "v1: Succeeded once the gate let the pod start and Argo reported Rollout web Healthy ($(( $(date +%s) - T0 ))s)"

# ---- broken: v2 crashes; RollbackBoth
t1=$(date +%s)
rollout_web v2 name 1 10 | k -n "$NS" apply -f - >/dev/null || fail "v2: update Rollout web"
k -n "$NS" patch dbrollout ro --type=merge -p '{"spec":{"tag":"v2"}}' >/dev/null || fail "v2: patch the rollout"
wait_for_phase ro RolledBack 150
[[ "$(cond RolledBack status) $(cond RolledBack reason)" == "True AppFailed" ]] \
  || fail "v2: RolledBack condition $(cond RolledBack status) $(cond RolledBack reason)"
reason="$(cond AppAvailable reason)"
[[ "$reason" == RolloutAborted || "$reason" == RolloutDegraded ]] \
  || fail "v2: AppAvailable reason '$reason' ($(cond AppAvailable message)), want RolloutAborted or RolloutDegraded"
[[ "$(k -n "$NS" get dbrollout ro -o jsonpath='{.status.rollbackCause} {.status.preStartTag} {.status.appliedTag} {.status.deploymentRevision} {.status.previousDeploymentRevision}')" \
   == "AppFailed v1 v1 2 1" ]] \
  || fail "v2: rollbackCause/preStartTag/appliedTag/revisions: $(k -n "$NS" get dbrollout ro -o jsonpath='{.status.rollbackCause} {.status.preStartTag} {.status.appliedTag} {.status.deploymentRevision} {.status.previousDeploymentRevision}')"
[[ "$(history_ids)" == "1,2" ]] || fail "v2: the history is not back at v1: $(history_ids)"
[[ "$(q "select count(*) from information_schema.columns where table_name='items' and column_name='name'")" == 0 ]] \
  || fail "v2: items.name still exists"
has_event ro "Warning AppFailed" || fail "v2: no Warning AppFailed Event: $(rollout_events ro | tr '\n' ';')"
has_event ro "Warning RolledBack" || fail "v2: no Warning RolledBack Event: $(rollout_events ro | tr '\n' ';')"
# the undo: the v1 template is the Rollout's spec again (Argo gives it a new revision, 3)
[[ "$(web '{.spec.template.metadata.annotations.tidemark\.dev/tag} {.spec.template.spec.containers[0].env[?(@.name=="APP_COLUMN")].value} {.spec.template.spec.containers[0].env[?(@.name=="APP_CRASH")].value}')" \
   == "v1 id 0" ]] || fail "v2: Rollout web's template was not undone to v1"
wait_for -t 90 web_healthy \
  || fail "v2: Argo does not report Rollout web Healthy at the restored template: $(web '{.status.phase} {.status.message}')"
[[ "$(web '{.metadata.annotations.rollout\.argoproj\.io/revision}')" == 3 ]] \
  || fail "v2: Rollout web at revision $(web '{.metadata.annotations.rollout\.argoproj\.io/revision}'), want 3 (the undo)"
log "v2: RolledBack ($reason), Rollout web undone to the v1 template and Healthy again ($(( $(date +%s) - t1 ))s)"
assert_no_canary
log "rollout_argo_rollouts took $(( $(date +%s) - T0 ))s"
