#!/usr/bin/env bash
# The engine CLI end to end against a real PostgreSQL: verbs, output formats
# and exit codes (0 ok, 1 failed, 2 bad usage/input, 3 drift/policy).
# Needs TIDEMARK_BIN and TIDEMARK_PG_URL (hack/test.sh exports both).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/cli.sh"
cli_test_setup tm_cli_engine

cat >"$WORK/changelog.sql" <<'EOF'
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
run_cli 0 status --url "$DB_URL" --changelog "$WORK/changelog.sql" -o json
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["pendingChangeSets"]==3 and d["appliedTag"]=="", d' \
  || soft_fail "status json: $out"

# update to v2 via TIDEMARK_DB_URL (no --url)
TIDEMARK_DB_URL="$DB_URL" run_cli 0 update --changelog "$WORK/changelog.sql" --to-tag v2
[ "$(q "SELECT string_agg(id || ':' || exectype || ':' || coalesce(tag, '-'), ',' ORDER BY orderexecuted) FROM databasechangelog")" = "1:EXECUTED:v1,2:EXECUTED:v2" ] \
  || soft_fail "history after update to v2"
echo "$out" | grep -q "done: 2 applied" || soft_fail "update table output: $out"

# update to latest with JSON: steps and tag
run_cli 0 update --url "$DB_URL" --changelog "$WORK/changelog.sql" -o json
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["result"]=="ok" and d["applied"]==1 and d["appliedTag"]=="v3" and d["steps"][0]["outcome"]=="EXECUTED", d' \
  || soft_fail "update json: $out"

# rollback by tag and by count
run_cli 0 rollback --url "$DB_URL" --changelog "$WORK/changelog.sql" --to-tag v1
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || soft_fail "rollback to v1 left rows"
[ "$(q "SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'price'")" = 0 ] \
  || soft_fail "rollback to v1 kept the price column"
run_cli 0 update --url "$DB_URL" --changelog "$WORK/changelog.sql"
run_cli 0 rollback --url "$DB_URL" --changelog "$WORK/changelog.sql" --count 2
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || soft_fail "rollback --count 2"

# plan (at v1): what a move to a tag would run and the hash a DBRollout approves; the same
# hash in every format, another for another instance or tag; nothing runs
plan_json() { # TAG INSTANCE: the plan as JSON
  run_cli 0 plan --url "$DB_URL" --changelog "$WORK/changelog.sql" --to-tag "$1" --instance "$2" -o json
  echo "$out"
}
run_cli 0 plan --url "$DB_URL" --changelog "$WORK/changelog.sql" --to-tag v3 --instance orders
echo "$out" | grep -q "Apply to tag v3: 2 changeset(s)" || soft_fail "plan table output: $out"
hash_table=$(sed -n 's/^plan hash *//p' <<<"$out")
plan_json v3 orders | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["hash"] == sys.argv[1] and d["direction"] == "Apply" and d["changeSets"] == 2, d
assert [s["changeSet"] for s in d["steps"]] == ["changelog.sql::2::alice", "changelog.sql::3::alice"], d
assert all(s["sqlHash"].startswith("sha256:") and s["destructive"] == [] for s in d["steps"]), d' "$hash_table" \
  || soft_fail "plan json: $(plan_json v3 orders)"
run_cli 0 plan --url "$DB_URL" --changelog "$WORK/changelog.sql" --to-tag v3 --instance orders -o yaml
echo "$out" | grep -q "^hash: '$hash_table'" || soft_fail "plan yaml has another hash than $hash_table: $out"
plan_json v3 billing | grep -q "$hash_table" && soft_fail "another instance, the same plan hash"
plan_json v1 orders | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["direction"] == "None" and d["changeSets"] == 0 and d["hash"] != sys.argv[1], d' "$hash_table" \
  || soft_fail "plan to the applied tag: $(plan_json v1 orders)"
run_cli 2 plan --url "$DB_URL" --changelog "$WORK/changelog.sql" --to-tag v3
echo "$err" | grep -q 'needs --instance' || soft_fail "plan without --instance: $err"
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || soft_fail "plan changed the history"

# usage and input errors: 2
run_cli 2 rollback --url "$DB_URL" --changelog "$WORK/changelog.sql"
run_cli 2 rollback --url "$DB_URL" --changelog "$WORK/changelog.sql" --to-tag nope
echo "$err" | grep -q 'known tags: v1, v2, v3' || soft_fail "unknown tag message: $err"
run_cli 2 rollback --url "$DB_URL" --changelog "$WORK/changelog.sql" --to-tag v3
echo "$err" | grep -q 'is not applied' || soft_fail "rollback to a pending tag: $err"
[ "$(q "SELECT count(*) FROM databasechangelog")" = 1 ] || soft_fail "rollback to a pending tag applied something"
run_cli 2 update --url "$DB_URL" --changelog "$WORK/missing.sql"
run_cli 2 update --url "$DB_URL" --changelog "$WORK/changelog.sql" --strategy sometimes
run_cli 2 status --changelog "$WORK/changelog.sql" --bogus
printf -- '--liquibase formatted sql\n--changeset nobody\nselect 1;\n' >"$WORK/bad.sql"
run_cli 2 validate --changelog "$WORK/bad.sql"
env -u TIDEMARK_DB_URL "$TIDEMARK_BIN" status --changelog "$WORK/changelog.sql" >/dev/null 2>&1
[ $? = 2 ] || soft_fail "status without a database should exit 2"

# drift: an edited checksum -> 3 (status, validate, update); --allow-drift proceeds
run_cli 0 update --url "$DB_URL" --changelog "$WORK/changelog.sql"
q "UPDATE databasechangelog SET md5sum = '9:00000000000000000000000000000000' WHERE id = '2'" >/dev/null
run_cli 3 status --url "$DB_URL" --changelog "$WORK/changelog.sql"
echo "$out" | grep -q 'ChecksumMismatch' || soft_fail "status should list the drift: $out"
run_cli 3 validate --url "$DB_URL" --changelog "$WORK/changelog.sql"
run_cli 3 rollback --url "$DB_URL" --changelog "$WORK/changelog.sql" --count 1
run_cli 0 rollback --url "$DB_URL" --changelog "$WORK/changelog.sql" --count 1 --allow-drift

# policy: a destructive changeset is denied (3) before anything runs
# (same file name: FILENAME is part of a changeset's identity)
mkdir -p "$WORK/next"
cp "$WORK/changelog.sql" "$WORK/next/changelog.sql"
cat >>"$WORK/next/changelog.sql" <<'EOF'

--changeset bob:4
DELETE FROM items;
--rollback SELECT 1;
EOF
q "UPDATE databasechangelog SET md5sum = NULL" >/dev/null
run_cli 3 lint --changelog "$WORK/next/changelog.sql"
echo "$out" | grep -q 'DELETE without WHERE' || soft_fail "lint output: $out"
run_cli 0 lint --changelog "$WORK/next/changelog.sql" --policy warn
run_cli 3 update --url "$DB_URL" --changelog "$WORK/next/changelog.sql" --policy deny
echo "$err" | grep -q 'policy: DELETE without WHERE' || soft_fail "policy message: $err"
[ "$(q "SELECT count(*) FROM databasechangelog WHERE id IN ('3', '4')")" = 0 ] || soft_fail "policy: something ran"
run_cli 0 update --url "$DB_URL" --changelog "$WORK/next/changelog.sql" --policy warn
cat >"$WORK/norollback.sql" <<'EOF'
--liquibase formatted sql

--changeset carol:1
CREATE TABLE t1 (id int);
EOF
run_cli 3 lint --changelog "$WORK/norollback.sql" --require-rollback --policy allow
echo "$out" | grep -q 'no rollback' || soft_fail "require-rollback finding: $out"

# a failing changeset: 1, nothing of it applied
cat >"$WORK/broken.sql" <<'EOF'
--liquibase formatted sql

--changeset dave:1
CREATE TABLE half (id int);
SELEC 1;
--rollback DROP TABLE IF EXISTS half;
EOF
run_cli 1 update --url "$DB_URL" --changelog "$WORK/broken.sql" --changelog-table public.broken_history
echo "$err" | grep -q '42601' || soft_fail "apply failure should show the sqlstate: $err"
[ "$(q "SELECT to_regclass('public.half') IS NULL")" = t ] || soft_fail "failed changeset left its table"
run_cli 1 update --url "$DB_URL" --changelog "$WORK/broken.sql" --changelog-table public.broken_history --strategy mark-next-run
[ "$(q "SELECT exectype FROM broken_history")" = MARK_RAN ] || soft_fail "mark-next-run row"
run_cli 0 update --url "$DB_URL" --changelog "$WORK/broken.sql" --changelog-table public.broken_history

# tag and history
run_cli 0 tag --url "$DB_URL" release-1
run_cli 0 history --url "$DB_URL" -o json
echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[-1]["tag"]=="release-1", d' \
  || soft_fail "history json: $out"

# --statement-timeout: a slow changeset is cancelled (57014), nothing recorded
printf -- '--liquibase formatted sql\n\n--changeset erin:1\nSELECT pg_sleep(5);\n--rollback SELECT 1;\n' >"$WORK/slow.sql"
run_cli 1 update --url "$DB_URL" --changelog "$WORK/slow.sql" --changelog-table public.slow_history --statement-timeout 1
echo "$err" | grep -q '57014' || soft_fail "statement timeout should show 57014: $err"
[ "$(q "SELECT count(*) FROM slow_history")" = 0 ] || soft_fail "timed-out changeset recorded"

# --context: changesets of other contexts are skipped
mkdir -p "$WORK/ctx"
printf -- '--liquibase formatted sql\n\n--changeset erin:1 context:test\nCREATE TABLE only_in_test (id int);\n--rollback DROP TABLE only_in_test;\n\n--changeset erin:2\nCREATE TABLE everywhere (id int);\n--rollback DROP TABLE everywhere;\n' >"$WORK/ctx/changelog.sql"
run_cli 0 update --url "$DB_URL" --changelog "$WORK/ctx/changelog.sql" --changelog-table public.ctx_history --context prod
[ "$(q "SELECT string_agg(id, ',') FROM ctx_history")" = 2 ] || soft_fail "context prod ran the test changeset"
run_cli 0 update --url "$DB_URL" --changelog "$WORK/ctx/changelog.sql" --changelog-table public.ctx_history --context test
[ "$(q "SELECT count(*) FROM ctx_history")" = 2 ] || soft_fail "context test did not run"

# help: every verb documents itself; the top level lists the verbs
for verb in status update rollback validate lint tag history; do
  run_cli 0 "$verb" --help
  echo "$out" | grep -q "usage: tidemark $verb" || soft_fail "$verb --help: $out"
done
run_cli 0 --help
echo "$out" | grep -q "rollback" || soft_fail "top-level help lacks the CLI verbs: $out"

# the URL (and its password) is never printed, even on failure
badurl=$(echo "$DB_URL" | sed -E 's#://([^:]+):[^@]*@#://\1:WrongPw-XYZ123@#')
run_cli 1 status --url "$badurl" --changelog "$WORK/changelog.sql"
if echo "$out$err" | grep -q 'WrongPw-XYZ123'; then soft_fail "password echoed: $err"; fi

finish_soft cli_engine
