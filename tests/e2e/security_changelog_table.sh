#!/usr/bin/env bash
# tidemark tests/e2e/security_changelog_table.sh — a DBInstance's changelogTable is
# used as quoted identifiers: the schema lets `$` and digits through
# (`tm_s$1.hist$x`, valid in PostgreSQL only as written), and the controller
# must create and use exactly that table in exactly that schema, never an
# unqualified or default one.  (Quotes, semicolons and three-part names are
# refused by the CRD: crds_validation.sh; odd names through the CLI:
# tests/integration/bad_input_cli.sh.)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup chltable

q 'CREATE SCHEMA "tm_s$1"; ALTER SCHEMA "tm_s$1" OWNER TO '"$ROLE" >/dev/null || fail "create schema"
table_changelog ct1 v1 | apply_schema s
apply_instance db s Warn
k -n "$NS" patch dbinstance db --type=merge -p '{"spec":{"changelogTable":"tm_s$1.hist$x"}}' >/dev/null \
  || fail "set changelogTable"
apply_rollout r db v1
start_controller
phase_becomes r Succeeded 90 || fail "rollout did not succeed"
[[ "$(q 'SELECT count(*) FROM "tm_s$1"."hist$x"')" == 2 ]] || fail "want 2 rows in \"tm_s\$1\".\"hist\$x\""
[[ "$(q "SELECT to_regclass('public.databasechangelog') IS NULL")" == t ]] || fail "the default history table was created"
wait_for_output -t 60 v1 k -n "$NS" get dbinstance db -o jsonpath='{.status.appliedTag}' \
  || fail "DBInstance does not read its history from tm_s\$1.hist\$x"
assert_no_canary
