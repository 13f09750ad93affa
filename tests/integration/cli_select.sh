#!/usr/bin/env bash
# Context and label selection through the CLI against a real PostgreSQL:
# --context / --label-filter pick the changesets Liquibase 4.33.0 picks (each
# expected set below is what liquibase-core-4.33.0's ContextChangeSetFilter and
# LabelChangeSetFilter accept for the same changelog), an include's context is
# ANDed and its labels are listed, the history's CONTEXTS/LABELS columns hold
# Liquibase's text, a rollback skips unselected rows, and an unparseable
# expression is a usage error naming file:line.
# Needs TIDEMARK_BIN and TIDEMARK_PG_URL (hack/test.sh exports both).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cli.sh"
cli_test_setup tm_cli_select

cat >"$WORK/changelog.yaml" <<'EOF'
databaseChangeLog:
- changeSet: {id: 1, author: erin, context: "!test", labels: core,
    changes: [{sql: "CREATE TABLE t1 (id int)"}], rollback: "DROP TABLE t1"}
- changeSet: {id: 2, author: erin, context: "(prod or staging) and !test",
    changes: [{sql: "CREATE TABLE t2 (id int)"}], rollback: "DROP TABLE t2"}
- changeSet: {id: 3, author: erin, labels: "feature-x, beta",
    changes: [{sql: "CREATE TABLE t3 (id int)"}], rollback: "DROP TABLE t3"}
- changeSet: {id: 4, author: erin, context: "@prod",
    changes: [{sql: "CREATE TABLE t4 (id int)"}], rollback: "DROP TABLE t4"}
- include: {file: sub.yaml, relativeToChangelogFile: true, context: eu, labels: regional}
EOF
cat >"$WORK/sub.yaml" <<'EOF'
databaseChangeLog:
- changeSet: {id: 5, author: erin, context: prod, labels: beta,
    changes: [{sql: "CREATE TABLE t5 (id int)"}], rollback: "DROP TABLE t5"}
EOF

# in_schema N: a URL whose tables go to schema sN (one per scenario)
in_schema() {
  q "CREATE SCHEMA IF NOT EXISTS s$1" >/dev/null
  echo "$DB_URL?options=-csearch_path%3Ds$1"
}
# run N EXPECTED-IDS FLAGS...: an update into its own schema and history table
run() {
  local n=$1 want=$2; shift 2
  run_cli 0 update --url "$(in_schema "$n")" --changelog "$WORK/changelog.yaml" \
    --changelog-table "public.h$n" "$@"
  local got
  got=$(q "SELECT coalesce(string_agg(id, ',' ORDER BY orderexecuted), '') FROM h$n")
  [ "$got" = "$want" ] || soft_fail "update $*: applied [$got], Liquibase applies [$want]"
}
run 1 "1,2,3,5"                                  # no contexts: all but the mandatory @prod
run 2 "1,2,3,4" --context prod                   # the include's "eu" is not given
run 3 "2,4,5" --context-filter "prod, eu" --labels "beta and !feature-x" # Liquibase's names
run 4 "2,5" --label-filter regional              # include-level labels join the list

# status counts pending with the same filters: nothing under the filter h4
# was applied with; 1 and 3 without it (4 needs --context prod)
pending() { # FLAGS...: pendingChangeSets of h4
  run_cli 0 status --url "$DB_URL" --changelog "$WORK/changelog.yaml" --changelog-table public.h4 \
    -o json "$@"
  echo "$out" | tr -d ' \t\n' | sed -n 's/.*"pendingChangeSets":\([0-9]*\).*/\1/p'
}
[ "$(pending --label-filter regional)" = 0 ] || soft_fail "status --label-filter regional: $out"
[ "$(pending)" = 2 ] || soft_fail "status without filters should count 1 and 3 pending: $out"

# the history columns hold what Liquibase writes (buildFullContext/Labels;
# an expression holding a space or ',' is wrapped in parentheses)
[ "$(q "SELECT contexts || '|' || labels FROM h3 WHERE id = '5'")" = "eu AND prod|regional,beta" ] ||
  soft_fail "CONTEXTS/LABELS of the included changeset: $(q "SELECT contexts || '|' || labels FROM h3 WHERE id = '5'")"
[ "$(q "SELECT contexts FROM h3 WHERE id = '2'")" = "((prod or staging) and !test)" ] ||
  soft_fail "CONTEXTS of changeset 2: $(q "SELECT contexts FROM h3 WHERE id = '2'")"

# rollback filters too: --count 1 under "prod" skips row 5 (needs "eu") and
# rolls back 4
url5=$(in_schema 5)
run_cli 0 update --url "$url5" --changelog "$WORK/changelog.yaml" --changelog-table public.h5 \
  --context prod,eu
[ "$(q "SELECT string_agg(id, ',' ORDER BY orderexecuted) FROM h5")" = "1,2,3,4,5" ] ||
  soft_fail "prod,eu should apply everything"
run_cli 0 rollback --url "$url5" --changelog "$WORK/changelog.yaml" --changelog-table public.h5 \
  --count 1 --context prod
[ "$(q "SELECT string_agg(id, ',' ORDER BY orderexecuted) FROM h5")" = "1,2,3,5" ] ||
  soft_fail "rollback --count 1 --context prod should roll back 4 only: $(q "SELECT string_agg(id, ',' ORDER BY orderexecuted) FROM h5")"
[ "$(q "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 's5'")" = "t1,t2,t3,t5" ] ||
  soft_fail "t4 should be dropped and t5 kept"

# an expression Liquibase cannot parse either: exit 2, file:line named
printf -- '--liquibase formatted sql\n\n--changeset erin:bad context:(prod\nSELECT 1;\n' >"$WORK/bad.sql"
run_cli 2 update --url "$DB_URL" --changelog "$WORK/bad.sql" --changelog-table public.hbad --context prod
echo "$err" | grep -q 'bad.sql:3: changeset .*cannot parse expression' ||
  soft_fail "unparseable context should name file:line: $err"
run_cli 2 update --url "$DB_URL" --changelog "$WORK/changelog.yaml" --changelog-table public.hbad \
  --label-filter "(beta"
echo "$err" | grep -q 'label filter: cannot parse expression' ||
  soft_fail "unparseable label filter: $err"
run_cli 2 update --url "$DB_URL" --changelog "$WORK/changelog.yaml" --label-filter
echo "$err" | grep -q 'needs a value' || soft_fail "--label-filter without a value: $err"

finish_soft cli_select
