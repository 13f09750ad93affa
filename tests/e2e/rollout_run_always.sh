#!/usr/bin/env bash
# tidemark tests/e2e/rollout_run_always.sh — a changelog with a runAlways
# changeset.  The engine's plan toward a tag always holds a rerun of it, so
# the DBRollout must not count that rerun when it asks "is the instance at the
# tag?" (else a rollout never gets there: "still 1 changeset(s) away").  It
# does run it as part of a move that applies something.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup runalways

changelog_v1='databaseChangeLog:
  - changeSet:
      id: 1
      author: t
      changes:
        - sql: {sql: "CREATE TABLE ra_log (n serial PRIMARY KEY)"}
      rollback:
        - sql: {sql: "DROP TABLE ra_log"}
  - changeSet:
      id: 2-always
      author: t
      runAlways: true
      changes:
        - sql: {sql: "INSERT INTO ra_log DEFAULT VALUES"}
      rollback:
        - sql: {sql: "SELECT 1"}
  - changeSet:
      id: 3
      author: t
      changes:
        - tagDatabase: {tag: v1}'
apply_schema s <<<"$changelog_v1"
apply_instance db s Warn
apply_rollout r db v1
start_controller

phase_becomes r Succeeded 60 \
  || fail "rollout to v1 with a runAlways changeset not Succeeded: $(k -n "$NS" get dbrollout r -o jsonpath='{.status.message}')"
[[ "$(q "select count(*) from ra_log")" == 1 ]] || fail "the runAlways changeset should have run once"

# a new tag: the move runs the new changeset and the runAlways one again
apply_schema s <<<"$changelog_v1
  - changeSet:
      id: 4
      author: t
      changes:
        - sql: {sql: \"CREATE TABLE ra2 (id int)\"}
      rollback:
        - sql: {sql: \"DROP TABLE ra2\"}
  - changeSet:
      id: 5
      author: t
      changes:
        - tagDatabase: {tag: v2}"
wait_for_output -t 60 "v1 v2" k -n "$NS" get dbschema s -o jsonpath='{.status.tags[*]}' \
  || fail "DBSchema did not pick up tag v2"
apply_rollout r db v2
wait_for_output -t 60 "v2 Succeeded" k -n "$NS" get dbrollout r -o jsonpath='{.status.targetTag} {.status.phase}' \
  || fail "rollout to v2 not Succeeded: $(k -n "$NS" get dbrollout r -o jsonpath='{.status.message}')"
[[ "$(q "select to_regclass('public.ra2') is not null")" == t ]] || fail "ra2 not created"
[[ "$(q "select count(*) from ra_log")" == 2 ]] || fail "the runAlways changeset should have rerun with the move to v2"
assert_no_canary
