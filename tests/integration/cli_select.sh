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
: "${TIDEMARK_BIN:?run through ctest / hack/test.sh}"
: "${TIDEMARK_PG_URL:?run through hack/test.sh (it starts PostgreSQL)}"

db="tm_cli_select_$$"
work=$(mktemp -d)
failures=0
cleanup() {
  psql "$TIDEMARK_PG_URL" -qXc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
psql "$TIDEMARK_PG_URL" -qXc "CREATE DATABASE $db" >/dev/null || exit 1
url="${TIDEMARK_PG_URL%/*}/$db"
q() { psql "$url" -qXAtc "$1"; }

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
expect() { # CODE ARGS...: runs the CLI; stdout in $out, stderr in $err
  local want=$1; shift
  out=$("$TIDEMARK_BIN" "$@" 2>"$work/err"); local got=$?
  err=$(cat "$work/err")
  local args="$*"
  [ "$got" = "$want" ] || fail "tidemark ${args//$url/URL}: exit $got, want $want; stderr: $err"
}

cat >"$work/changelog.yaml" <<'EOF'
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
cat >"$work/sub.yaml" <<'EOF'
databaseChangeLog:
- changeSet: {id: 5, author: erin, context: prod, labels: beta,
    changes: [{sql: "CREATE TABLE t5 (id int)"}], rollback: "DROP TABLE t5"}
EOF

# in_schema N: a URL whose tables go to schema sN (one per scenario)
in_schema() {
  q "CREATE SCHEMA IF NOT EXISTS s$1" >/dev/null
  echo "$url?options=-csearch_path%3Ds$1"
}
# run N EXPECTED-IDS FLAGS...: an update into its own schema and history table
run() {
  local n=$1 want=$2; shift 2
  expect 0 update --url "$(in_schema "$n")" --changelog "$work/changelog.yaml" \
    --changelog-table "public.h$n" "$@"
  local got
  got=$(q "SELECT coalesce(string_agg(id, ',' ORDER BY orderexecuted), '') FROM h$n")
  [ "$got" = "$want" ] || fail "update $*: applied [$got], Liquibase applies [$want]"
}
run 1 "1,2,3,5"                                  # no contexts: all but the mandatory @prod
run 2 "1,2,3,4" --context prod                   # the include's "eu" is not given
run 3 "2,4,5" --context-filter "prod, eu" --labels "beta and !feature-x" # Liquibase's names
run 4 "2,5" --label-filter regional              # include-level labels join the list

# status counts pending with the same filters: nothing under the filter h4
# was applied with; 1 and 3 without it (4 needs --context prod)
pending() { # FLAGS...: pendingChangeSets of h4
  expect 0 status --url "$url" --changelog "$work/changelog.yaml" --changelog-table public.h4 \
    -o json "$@"
  echo "$out" | tr -d ' \t\n' | sed -n 's/.*"pendingChangeSets":\([0-9]*\).*/\1/p'
}
[ "$(pending --label-filter regional)" = 0 ] || fail "status --label-filter regional: $out"
[ "$(pending)" = 2 ] || fail "status without filters should count 1 and 3 pending: $out"

# the history columns hold what Liquibase writes (buildFullContext/Labels;
# an expression holding a space or ',' is wrapped in parentheses)
[ "$(q "SELECT contexts || '|' || labels FROM h3 WHERE id = '5'")" = "eu AND prod|regional,beta" ] ||
  fail "CONTEXTS/LABELS of the included changeset: $(q "SELECT contexts || '|' || labels FROM h3 WHERE id = '5'")"
[ "$(q "SELECT contexts FROM h3 WHERE id = '2'")" = "((prod or staging) and !test)" ] ||
  fail "CONTEXTS of changeset 2: $(q "SELECT contexts FROM h3 WHERE id = '2'")"

# rollback filters too: --count 1 under "prod" skips row 5 (needs "eu") and
# rolls back 4
url5=$(in_schema 5)
expect 0 update --url "$url5" --changelog "$work/changelog.yaml" --changelog-table public.h5 \
  --context prod,eu
[ "$(q "SELECT string_agg(id, ',' ORDER BY orderexecuted) FROM h5")" = "1,2,3,4,5" ] ||
  fail "prod,eu should apply everything"
expect 0 rollback --url "$url5" --changelog "$work/changelog.yaml" --changelog-table public.h5 \
  --count 1 --context prod
[ "$(q "SELECT string_agg(id, ',' ORDER BY orderexecuted) FROM h5")" = "1,2,3,5" ] ||
  fail "rollback --count 1 --context prod should roll back 4 only: $(q "SELECT string_agg(id, ',' ORDER BY orderexecuted) FROM h5")"
[ "$(q "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 's5'")" = "t1,t2,t3,t5" ] ||
  fail "t4 should be dropped and t5 kept"

# an expression Liquibase cannot parse either: exit 2, file:line named
printf -- '--liquibase formatted sql\n\n--changeset erin:bad context:(prod\nSELECT 1;\n' >"$work/bad.sql"
expect 2 update --url "$url" --changelog "$work/bad.sql" --changelog-table public.hbad --context prod
echo "$err" | grep -q 'bad.sql:3: changeset .*cannot parse expression' ||
  fail "unparseable context should name file:line: $err"
expect 2 update --url "$url" --changelog "$work/changelog.yaml" --changelog-table public.hbad \
  --label-filter "(beta"
echo "$err" | grep -q 'label filter: cannot parse expression' ||
  fail "unparseable label filter: $err"
expect 2 update --url "$url" --changelog "$work/changelog.yaml" --label-filter
echo "$err" | grep -q 'needs a value' || fail "--label-filter without a value: $err"

[ "$failures" = 0 ] && echo "cli_select: ok"
exit "$failures"
