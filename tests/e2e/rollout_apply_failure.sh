#!/usr/bin/env bash
# tidemark tests/e2e/rollout_apply_failure.sh — a changeset's SQL fails while applying.
# changeSetFailureStrategy Rollback: what this rollout applied is rolled back to preStartTag
# (here the empty database) and the rollout is Failed, naming the changeset.  Fail (after a
# spec change, which starts a new rollout): it stops and keeps what was applied.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup applyfail

apply_schema bad <<'YAML'
databaseChangeLog:
  - changeSet:
      id: 1-ok
      author: t
      changes:
        - sql: {sql: "CREATE TABLE ok1 (id int)"}
      rollback:
        - sql: {sql: "DROP TABLE ok1"}
  - changeSet:
      id: 2-broken
      author: t
      changes:
        - sql: {sql: "ALTER TABLE no_such_table ADD COLUMN x int"}
      rollback:
        - sql: {sql: "SELECT 1"}
  - changeSet:
      id: 3
      author: t
      changes:
        - tagDatabase: {tag: v1}
YAML
apply_instance db bad Warn
apply_rollout r db v1
start_controller

phase_becomes r Failed 60 || fail "rollout not Failed"
msg="$(k -n "$NS" get dbrollout r -o jsonpath='{.status.message}')"
[[ "$msg" == *"2-broken"* ]] || fail "message should name the failed changeset: $msg"
[[ "$(k -n "$NS" get dbrollout r -o jsonpath='{.status.conditions[?(@.type=="RolledBack")].status} {.status.conditions[?(@.type=="Stalled")].reason}')" == "True ApplyFailed" ]] \
  || fail "RolledBack True / Stalled ApplyFailed expected"
has_event r "Warning ApplyFailed" || fail "no ApplyFailed Event"
has_event r "Warning ChangeSetFailed" || fail "no ChangeSetFailed Event"
[[ "$(q "select count(*) from databasechangelog")" == 0 ]] || fail "history should be empty again"
[[ "$(q "select to_regclass('public.ok1') is null")" == t ]] || fail "ok1 should be rolled back"

# Fail strategy: a new rollout (spec changed) keeps what it applied
k -n "$NS" patch dbrollout r --type=merge -p '{"spec":{"changeSetFailureStrategy":"Fail"}}' >/dev/null
wait_for_output -t 60 "2 Failed" k -n "$NS" get dbrollout r \
  -o jsonpath='{.status.observedGeneration} {.status.phase}' || fail "second rollout not Failed"
[[ "$(q "select string_agg(id, ',') from databasechangelog")" == "1-ok" ]] \
  || fail "Fail should keep 1-ok applied"
[[ -z "$(k -n "$NS" get dbrollout r -o jsonpath='{.status.conditions[?(@.type=="RolledBack")].status}')" ]] \
  || fail "nothing was rolled back under Fail"
assert_no_canary
