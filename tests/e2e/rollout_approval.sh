#!/usr/bin/env bash
# tidemark tests/e2e/rollout_approval.sh — spec.approval Required holds a rollout in
# AwaitingApproval with its plan hash and nothing applied (no history table, no lock);
# `tidemark plan` prints the same hash for the same changelog, tag, instance and database;
# spec.approvedPlanHash set to it lets the rollout apply and Succeed (PlanApproved,
# status.approval).  Then a new changelog and a new tag make a new plan while the old
# approval is still set: back to AwaitingApproval with another hash, nothing applied until
# that one is approved.  Last, an approved move retrying behind a Liquibase lock row whose
# changelog is edited before anything ran: held in Applying (PlanChanged) with the new plan,
# which runs once its hash is approved.  With TIDEMARK_ARGOCD_CAPTURE=1 it saves the AwaitingApproval object
# as the Argo CD health / kstatus test object (testdata/awaiting-approval.yaml).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup approval
new_work_dir

changelog() { # TAGS...: changeset "t<i>" creates table t<i>, then tags the i-th tag
  local i=0 tag
  echo "databaseChangeLog:"
  for tag in "$@"; do
    i=$((i + 1))
    changeset_yaml "t$i" "CREATE TABLE t$i (id int)" "DROP TABLE t$i"
    tag_yaml "tag$i" "$tag"
  done
}

# the CLI's hash of the move to TAG, from the changelog file the DBSchema holds
cli_hash() {
  local out
  out="$(cd "$WORK" && "$TIDEMARK_BIN" plan --changelog changelog.yaml --to-tag "$1" --instance db \
    --url "$DB_URL" -o json)" || fail "tidemark plan failed: $out"
  python3 -c 'import json,sys; print(json.load(sys.stdin)["hash"])' <<<"$out"
}

awaiting() { # NAME HASH-TO-DIFFER-FROM: AwaitingApproval with a plan hash other than that
  [[ "$(phase "$1")" == AwaitingApproval && -n "$(plan_hash "$1")" && "$(plan_hash "$1")" != "${2:-}" ]]
}

changelog v1 >"$WORK/changelog.yaml"
apply_schema app <"$WORK/changelog.yaml"
apply_instance db app Warn
apply_rollout ro db v1 "" "approval: Required"
start_controller

wait_for -t 60 awaiting ro || fail "rollout not AwaitingApproval with a plan hash (phase $(phase ro))"
h1="$(plan_hash ro)"
log "awaiting approval of plan $h1"
if [[ "${TIDEMARK_ARGOCD_CAPTURE:-}" == 1 ]]; then # the Argo CD health and kstatus test object
  k -n "$NS" get dbrollout ro -o yaml \
    >"$ROOT/manifests/argocd/resource_customizations/tidemark.dev/DBRollout/testdata/awaiting-approval.yaml" \
    || fail "capture the AwaitingApproval object"
fi
[[ "$(q "select to_regclass('public.databasechangelog') is null")" == t ]] \
  || fail "something ran before the approval: the history table exists"
[[ -z "$(k -n "$NS" get dbinstance db -o jsonpath='{.metadata.annotations.tidemark\.dev/rollout-lock}')" ]] \
  || fail "a rollout awaiting approval holds the instance lock"
has_event ro "Normal PlanAwaitingApproval" || fail "no PlanAwaitingApproval Event"
[[ "$(k -n "$NS" get events --field-selector involvedObject.name=ro,reason=PlanAwaitingApproval \
  -o jsonpath='{.items[0].message}')" == *"$h1"* ]] || fail "the PlanAwaitingApproval Event does not name $h1"
row="$(k -n "$NS" get dbrollout ro --no-headers)"
[[ "$row" == *AwaitingApproval* && "$row" == *"${h1:7:12}"* ]] \
  || fail "kubectl get dbrollout does not show AwaitingApproval and the short hash: $row"
[[ "$(k -n "$NS" get dbrollout ro -o jsonpath='{.status.plan.steps[0].changeSet} {.status.plan.changeSets}')" \
  == "changelog.yaml::t1::t 2" ]] || fail "status.plan does not list the changesets: $(k -n "$NS" get dbrollout ro -o jsonpath='{.status.plan}')"
[[ "$(cli_hash v1)" == "$h1" ]] || fail "tidemark plan's hash $(cli_hash v1) is not status.plan.hash $h1"

# CEL: an approvedPlanHash that is not a plan hash (the short one, say) is refused
! out="$(k -n "$NS" patch dbrollout ro --type=merge -p "{\"spec\":{\"approvedPlanHash\":\"${h1:7:12}\"}}" 2>&1)" \
  || fail "a short approvedPlanHash was accepted"
[[ "$out" == *"spec.approvedPlanHash must be a plan hash"* ]] || fail "CEL message for a short hash: $out"
[[ "$(k explain dbrollout.spec.approvedPlanHash)" == *"status.plan.hash"* ]] \
  || fail "kubectl explain dbrollout.spec.approvedPlanHash does not document it"
approve_plan ro "$h1"
wait_for_phase ro Succeeded 60
[[ "$(k -n "$NS" get dbrollout ro -o jsonpath='{.status.approval.planHash}')" == "$h1" ]] \
  || fail "status.approval does not record $h1"
has_event ro "Normal PlanApproved" || fail "no PlanApproved Event"
[[ "$(history_rows)" == 2 ]] || fail "history rows after v1: $(history_rows)"

# a new changelog and tag: a new plan while the approval of the old one is still set
changelog v1 v2 >"$WORK/changelog.yaml"
apply_schema app <"$WORK/changelog.yaml"
schema_knows_v2() { [[ "$(k -n "$NS" get dbschema app -o jsonpath='{.status.tags}')" == *v2* ]]; }
wait_for -t 60 schema_knows_v2 || fail "the DBSchema does not list tag v2"
k -n "$NS" patch dbrollout ro --type=merge -p '{"spec":{"tag":"v2"}}' >/dev/null
wait_for -t 60 awaiting ro "$h1" || fail "a new plan under an old approval is not AwaitingApproval (phase $(phase ro))"
h2="$(plan_hash ro)"
log "awaiting approval of the new plan $h2"
[[ -z "$(k -n "$NS" get dbrollout ro -o jsonpath='{.status.approval}')" ]] \
  || fail "status.approval still set for the old plan"
[[ "$(history_rows)" == 2 ]] || fail "something ran before the new plan was approved: $(history_rows) rows"
[[ "$(cli_hash v2)" == "$h2" ]] || fail "tidemark plan's hash $(cli_hash v2) is not status.plan.hash $h2"

approve_plan ro "$h2"
wait_for_phase ro Succeeded 60
[[ "$(history_rows)" == 4 ]] || fail "history rows after v2: $(history_rows)"
[[ "$(q "select to_regclass('public.t2') is not null")" == t ]] || fail "table t2 missing"

# an approved move that ran nothing yet (retrying behind a Liquibase lock row) whose changelog
# changes meanwhile: held in Applying (PlanChanged) with the new plan, applied once that is approved
q "CREATE TABLE public.databasechangeloglock (id int PRIMARY KEY, locked boolean NOT NULL, lockgranted timestamp, lockedby varchar(255));
   INSERT INTO public.databasechangeloglock VALUES (1, true, now(), 'approval-test');
   ALTER TABLE public.databasechangeloglock OWNER TO $ROLE" >/dev/null \
  || fail "create a held Liquibase lock row"
changelog v1 v2 v3 >"$WORK/changelog.yaml"
apply_schema app <"$WORK/changelog.yaml"
schema_knows_v3() { [[ "$(k -n "$NS" get dbschema app -o jsonpath='{.status.tags}')" == *v3* ]]; }
wait_for -t 60 schema_knows_v3 || fail "the DBSchema does not list tag v3"
k -n "$NS" patch dbrollout ro --type=merge -p '{"spec":{"tag":"v3"}}' >/dev/null
wait_for -t 60 awaiting ro "$h2" || fail "tag v3 is not AwaitingApproval (phase $(phase ro))"
h3="$(plan_hash ro)"
approve_plan ro "$h3"
ready_reason() { k -n "$NS" get dbrollout ro -o jsonpath='{.status.conditions[?(@.type=="Ready")].reason}'; }
retrying() { [[ "$(phase ro) $(ready_reason)" == "Applying Retrying" ]]; }
wait_for -t 60 retrying || fail "the approved move is not retrying behind the lock row ($(phase ro) $(ready_reason))"
rev="$(k -n "$NS" get dbschema app -o jsonpath='{.status.revision}')"
sed -i 's/CREATE TABLE t3 (id int)/CREATE TABLE t3 (id bigint)/' "$WORK/changelog.yaml"
apply_schema app <"$WORK/changelog.yaml"
new_revision() { [[ "$(k -n "$NS" get dbschema app -o jsonpath='{.status.revision}')" != "$rev" ]]; }
wait_for -t 60 new_revision || fail "the DBSchema did not take the edited changelog"
q "UPDATE public.databasechangeloglock SET locked = false, lockgranted = NULL, lockedby = NULL" >/dev/null
held() { [[ "$(phase ro) $(ready_reason)" == "Applying PlanChanged" && "$(plan_hash ro)" != "$h3" ]]; }
wait_for -t 60 held || fail "the changed plan of an approved move is not held ($(phase ro) $(ready_reason))"
h4="$(plan_hash ro)"
log "the approved move's plan changed before it ran: held for $h4"
[[ "$(history_rows)" == 4 ]] || fail "the changed plan ran without approval: $(history_rows) rows"
[[ "$(cli_hash v3)" == "$h4" ]] || fail "tidemark plan's hash $(cli_hash v3) is not status.plan.hash $h4"
approve_plan ro "$h4"
wait_for_phase ro Succeeded 60
[[ "$(q "select data_type from information_schema.columns where table_name = 't3'")" == bigint ]] \
  || fail "t3 is not the approved (edited) one"
assert_no_canary
