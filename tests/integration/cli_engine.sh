#!/usr/bin/env bash
# The engine CLI end to end against a real PostgreSQL: verbs, output formats
# and exit codes (0 ok, 1 failed, 2 bad usage/input, 3 drift/policy).
# Needs TIDEMARK_BIN and TIDEMARK_PG_URL (hack/test.sh exports both).
set -uo pipefail
: "${TIDEMARK_BIN:?run through ctest / hack/test.sh}"
: "${TIDEMARK_PG_URL:?run through hack/test.sh (it starts PostgreSQL)}"

db="tm_cli_engine_$$"
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
# expect CODE CMD...: runs the CLI, keeps stdout in $out and stderr in $err
expect() {
  local want=$1; shift
  out=$("$TIDEMARK_BIN" "$@" 2>"$work/err"); local got=$?
  err=$(cat "$work/err")
  local args="$*"
  [ "$got" = "$want" ] || fail "tidemark ${args//$url/URL}: exit $got, want $want; stderr: $err"
}

cat >"$work/changelog.sql" <<'EOF'
--liquibase formatted sql

--changeset alice:1
CREATE TABLE items (id int PRIMARY KEY, name text);
--tag v1
--rollback DROP TABLE items;

--changeset alice:2
ALTER TABLE items ADD COLUMN price int;
--tag v2
--rollback ALTER TABLE items DROP COLUMN price;

--changeset alice:3
CREATE TABLE audit (id int);
--tag v3
--rollback DROP TABLE audit;
EOF

# status of a fresh database: 3 pending, JSON parses
expect 0 status --url "$url" --changelog "$work/changelog.sql" -o json
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["pendingChangeSets"]==3 and d["appliedTag"]=="", d' \
  || fail "status json: $out"

# update to v2 via TIDEMARK_DB_URL (no --url)
TIDEMARK_DB_URL="$url" expect 0 update --changelog "$work/changelog.sql" --to-tag v2
[ "$(q "SELECT string_agg(id || ':' || exectype || ':' || coalesce(tag, '-'), ',' ORDER BY orderexecuted) FROM databasechangelog")" = "1:EXECUTED:v1,2:EXECUTED:v2" ] \
  || fail "history after update to v2"
echo "$out" | grep -q "done: 2 applied" || fail "update table output: $out"

# update to latest with JSON: steps and tag
expect 0 update --url "$url" --changelog "$work/changelog.sql" -o json
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["result"]=="ok" and d["applied"]==1 and d["appliedTag"]=="v3" and d["steps"][0]["outcome"]=="EXECUTED", d' \
  || fail "update json: $out"

# rollback by tag and by count
expect 0 rollback --url "$url" --changelog "$work/changelog.sql" --to-tag v1
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || fail "rollback to v1 left rows"
[ "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'price'")" = 0 ] \
  || fail "rollback to v1 kept the price column"
expect 0 update --url "$url" --changelog "$work/changelog.sql"
expect 0 rollback --url "$url" --changelog "$work/changelog.sql" --count 2
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || fail "rollback --count 2"

# usage and input errors: 2
expect 2 rollback --url "$url" --changelog "$work/changelog.sql"
expect 2 rollback --url "$url" --changelog "$work/changelog.sql" --to-tag nope
echo "$err" | grep -q 'known tags: v1, v2, v3' || fail "unknown tag message: $err"
expect 2 rollback --url "$url" --changelog "$work/changelog.sql" --to-tag v3
echo "$err" | grep -q 'is not applied' || fail "rollback to a pending tag: $err"
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || fail "rollback to a pending tag applied something"
expect 2 update --url "$url" --changelog "$work/missing.sql"
expect 2 update --url "$url" --changelog "$work/changelog.sql" --strategy sometimes
expect 2 status --changelog "$work/changelog.sql" --bogus
printf -- '--liquibase formatted sql\n--changeset nobody\nselect 1;\n' >"$work/bad.sql"
expect 2 validate --changelog "$work/bad.sql"
env -u TIDEMARK_DB_URL "$TIDEMARK_BIN" status --changelog "$work/changelog.sql" >/dev/null 2>&1
[ $? = 2 ] || fail "status without a database should exit 2"

# drift: an edited checksum -> 3 (status, validate, update); --allow-drift proceeds
expect 0 update --url "$url" --changelog "$work/changelog.sql"
q "UPDATE databasechangelog SET md5sum = '9:00000000000000000000000000000000' WHERE id = '2'" >/dev/null
expect 3 status --url "$url" --changelog "$work/changelog.sql"
echo "$out" | grep -q 'ChecksumMismatch' || fail "status should list the drift: $out"
expect 3 validate --url "$url" --changelog "$work/changelog.sql"
expect 3 rollback --url "$url" --changelog "$work/changelog.sql" --count 1
expect 0 rollback --url "$url" --changelog "$work/changelog.sql" --count 1 --allow-drift

# policy: a destructive changeset is denied (3) before anything runs
# (same file name: FILENAME is part of a changeset's identity)
mkdir -p "$work/next"
cp "$work/changelog.sql" "$work/next/changelog.sql"
cat >>"$work/next/changelog.sql" <<'EOF'

--changeset bob:4
DELETE FROM items;
--rollback SELECT 1;
EOF
q "UPDATE databasechangelog SET md5sum = NULL" >/dev/null
expect 3 lint --changelog "$work/next/changelog.sql"
echo "$out" | grep -q 'DELETE without WHERE' || fail "lint output: $out"
expect 0 lint --changelog "$work/next/changelog.sql" --policy warn
expect 3 update --url "$url" --changelog "$work/next/changelog.sql" --policy deny
echo "$err" | grep -q 'policy: DELETE without WHERE' || fail "policy message: $err"
[ "$(q "SELECT count(*) FROM databasechangelog WHERE id IN ('3', '4')")" = 0 ] || fail "policy: something ran"
expect 0 update --url "$url" --changelog "$work/next/changelog.sql" --policy warn
cat >"$work/norollback.sql" <<'EOF'
--liquibase formatted sql

--changeset carol:1
CREATE TABLE t1 (id int);
EOF
expect 3 lint --changelog "$work/norollback.sql" --require-rollback --policy allow
echo "$out" | grep -q 'no rollback' || fail "require-rollback finding: $out"

# a failing changeset: 1, nothing of it applied
cat >"$work/broken.sql" <<'EOF'
--liquibase formatted sql

--changeset dave:1
CREATE TABLE half (id int);
SELEC 1;
--rollback DROP TABLE IF EXISTS half;
EOF
expect 1 update --url "$url" --changelog "$work/broken.sql" --changelog-table public.broken_history
echo "$err" | grep -q '42601' || fail "apply failure should show the sqlstate: $err"
[ "$(q "SELECT to_regclass('public.half') IS NULL")" = t ] || fail "failed changeset left its table"
expect 1 update --url "$url" --changelog "$work/broken.sql" --changelog-table public.broken_history --strategy mark-next-run
[ "$(q "SELECT exectype FROM broken_history")" = MARK_RAN ] || fail "mark-next-run row"
expect 0 update --url "$url" --changelog "$work/broken.sql" --changelog-table public.broken_history

# tag and history
expect 0 tag --url "$url" release-1
expect 0 history --url "$url" -o json
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[-1]["tag"]=="release-1", d' \
  || fail "history json: $out"

# --statement-timeout: a slow changeset is cancelled (57014), nothing recorded
printf -- '--liquibase formatted sql\n\n--changeset erin:1\nSELECT pg_sleep(5);\n--rollback SELECT 1;\n' >"$work/slow.sql"
expect 1 update --url "$url" --changelog "$work/slow.sql" --changelog-table public.slow_history --statement-timeout 1
echo "$err" | grep -q '57014' || fail "statement timeout should show 57014: $err"
[ "$(q "SELECT count(*) FROM slow_history")" = 0 ] || fail "timed-out changeset recorded"

# --context: changesets of other contexts are skipped
mkdir -p "$work/ctx"
printf -- '--liquibase formatted sql\n\n--changeset erin:1 context:test\nCREATE TABLE only_in_test (id int);\n--rollback DROP TABLE only_in_test;\n\n--changeset erin:2\nCREATE TABLE everywhere (id int);\n--rollback DROP TABLE everywhere;\n' >"$work/ctx/changelog.sql"
expect 0 update --url "$url" --changelog "$work/ctx/changelog.sql" --changelog-table public.ctx_history --context prod
[ "$(q "SELECT string_agg(id, ',') FROM ctx_history")" = 2 ] || fail "context prod ran the test changeset"
expect 0 update --url "$url" --changelog "$work/ctx/changelog.sql" --changelog-table public.ctx_history --context test
[ "$(q "SELECT count(*) FROM ctx_history")" = 2 ] || fail "context test did not run"

# help: every verb documents itself; the top level lists the verbs
for verb in status update rollback validate lint tag history; do
  expect 0 "$verb" --help
  echo "$out" | grep -q "usage: tidemark $verb" || fail "$verb --help: $out"
done
expect 0 --help
echo "$out" | grep -q "rollback" || fail "top-level help lacks the CLI verbs: $out"

# the URL (and its password) is never printed, even on failure
badurl=$(echo "$url" | sed -E 's#://([^:]+):[^@]*@#://\1:WrongPw-XYZ123@#')
expect 1 status --url "$badurl" --changelog "$work/changelog.sql"
if echo "$out$err" | grep -q 'WrongPw-XYZ123'; then fail "password echoed: $err"; fi

if [ "$failures" -gt 0 ]; then
  echo "cli_engine: $failures failure(s)" >&2
  exit 1
fi
echo "cli_engine: ok"
