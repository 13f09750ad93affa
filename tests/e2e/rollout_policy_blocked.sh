#!/usr/bin/env bash
# tidemark tests/e2e/rollout_policy_blocked.sh — a destructive change under destructiveChanges:
# Deny blocks the rollout before anything runs (no history table, no lock); relaxing the
# policy to Warn lets the same rollout proceed, with a Warning Event.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup blocked

apply_schema app <<'YAML'
databaseChangeLog:
  - changeSet:
      id: 1
      author: t
      changes:
        - sql: {sql: "CREATE TABLE legacy (id int)"}
      rollback:
        - sql: {sql: "DROP TABLE legacy"}
  - changeSet:
      id: 2
      author: t
      changes:
        - sql: {sql: "DROP TABLE legacy"}
      rollback:
        - sql: {sql: "CREATE TABLE legacy (id int)"}
  - changeSet:
      id: 3
      author: t
      changes:
        - tagDatabase: {tag: v2}
YAML
apply_instance db app Deny
apply_rollout drop db v2
start_controller

phase_becomes drop Blocked 60 || fail "rollout not Blocked"
[[ "$(k -n "$NS" get dbrollout drop -o jsonpath='{.status.conditions[?(@.type=="Stalled")].reason}')" == PolicyViolation ]] \
  || fail "Stalled reason should be PolicyViolation"
msg="$(k -n "$NS" get dbrollout drop -o jsonpath='{.status.message}')"
[[ "$msg" == *"DROP TABLE"* && "$msg" == *"::2::t"* ]] || fail "message should name DROP TABLE and the changeset: $msg"
has_event drop "Warning PolicyViolation" || fail "no PolicyViolation Warning Event"
[[ "$(q "select to_regclass('public.databasechangelog') is null")" == t ]] \
  || fail "something ran: the history table exists"
[[ -z "$(k -n "$NS" get dbinstance db -o jsonpath='{.metadata.annotations.tidemark\.dev/rollout-lock}')" ]] \
  || fail "a Blocked rollout holds the instance lock"

# relax the policy: the same rollout proceeds (woken by the DBInstance change)
k -n "$NS" patch dbinstance db --type=merge -p '{"spec":{"policy":{"destructiveChanges":"Warn"}}}' >/dev/null
phase_becomes drop Succeeded 60 || fail "rollout did not proceed under Warn"
has_event drop "Warning PolicyWarning" || fail "no PolicyWarning Event"
[[ "$(q "select count(*) from databasechangelog")" == 3 ]] || fail "history rows"
assert_no_canary
