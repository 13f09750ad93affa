#!/usr/bin/env bash
# tidemark tests/e2e/rollout_contexts.sh — a DBInstance's Liquibase contexts
# and label filter (spec.contexts, spec.labelFilter; spring.liquibase.contexts
# for an app).  A JHipster-style changelog loads fake data under context
# "faker": a production instance with contexts "prod" must neither apply it
# nor count it as pending, and reaches its tag; the history's CONTEXTS column
# is what Liquibase writes.  A label filter leaves out a labelled changeset.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup contexts

apply_schema s <<'YAML'
databaseChangeLog:
  - changeSet:
      id: 1
      author: t
      changes:
        - sql: {sql: "CREATE TABLE ctx_people (id int PRIMARY KEY, name text)"}
      rollback:
        - sql: {sql: "DROP TABLE ctx_people"}
  - changeSet:
      id: 2-fake-data
      author: t
      context: faker
      changes:
        - sql: {sql: "INSERT INTO ctx_people VALUES (1, 'fake')"}
      rollback:
        - sql: {sql: "DELETE FROM ctx_people WHERE id = 1"}
  - changeSet:
      id: 3-beta
      author: t
      labels: beta
      changes:
        - sql: {sql: "CREATE TABLE ctx_beta (id int)"}
      rollback:
        - sql: {sql: "DROP TABLE ctx_beta"}
  - changeSet:
      id: 4-prod
      author: t
      context: prod
      changes:
        - sql: {sql: "INSERT INTO ctx_people VALUES (2, 'real')"}
      rollback:
        - sql: {sql: "DELETE FROM ctx_people WHERE id = 2"}
  - changeSet:
      id: 5
      author: t
      changes:
        - tagDatabase: {tag: v1}
YAML
apply_instance db s Warn "contexts: prod
  labelFilter: '!beta'"
apply_rollout r db v1
start_controller

phase_becomes r Succeeded 60 \
  || fail "rollout to v1 with contexts not Succeeded: $(k -n "$NS" get dbrollout r -o jsonpath='{.status.message}')"
[[ "$(q "select string_agg(name, ',' order by id) from ctx_people")" == real ]] \
  || fail "only the prod row should be there, got: $(q "select string_agg(name, ',') from ctx_people")"
[[ "$(q "select to_regclass('public.ctx_beta') is null")" == t ]] || fail "the beta-labelled changeset ran"
[[ "$(q "select contexts from databasechangelog where id = '4-prod'")" == prod ]] \
  || fail "CONTEXTS column should be 'prod'"
[[ "$(q "select count(*) from databasechangelog where id in ('2-fake-data', '3-beta')")" == 0 ]] \
  || fail "left-out changesets must have no history row"
wait_for_output -t 60 "v1 0" k -n "$NS" get dbinstance db -o jsonpath='{.status.appliedTag} {.status.pendingChangeSets}' \
  || fail "instance should be at v1 with nothing pending: $(k -n "$NS" get dbinstance db -o jsonpath='{.status}')"
assert_no_canary
