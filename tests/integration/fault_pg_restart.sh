#!/usr/bin/env bash
# Fault test: the PostgreSQL server is stopped in the middle of
# `tidemark update` (pg_ctl stop -m fast: sessions are terminated), then
# started again.  The run must soft_fail cleanly -- exit 1, a connection error
# that names the changeset it was applying, the URL never printed -- and
# leave history and tables in agreement; after the restart a re-run applies
# exactly the rest (nothing lost, nothing twice).
# Uses a private PostgreSQL instance (TIDEMARK_STATE_DIR=<tmp>
# hack/postgres.sh start) so that no other test sees the restart.
# Needs TIDEMARK_BIN and TIDEMARK_SOURCE_DIR (ctest exports both).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/db.sh"
require_tidemark
n=150

new_work_dir
private_postgres
DB_URL=$TIDEMARK_PG_URL

{
  echo '--liquibase formatted sql'
  for i in $(seq 1 $n); do
    printf '\n--changeset restart:%d\nSELECT pg_sleep(0.01);\nCREATE TABLE r_%d (id int);\n--rollback DROP TABLE r_%d;\n' "$i" "$i" "$i"
  done
} >"$WORK/changelog.sql"
cd "$WORK" || exit 1

"$TIDEMARK_BIN" update --url "$DB_URL" --changelog changelog.sql >"$WORK/out" 2>"$WORK/err" &
pid=$!
# stop the server once some changesets are in (poll to a deadline)
wait_for -t 30 -i 0.05 history_has 10 || soft_fail "no changeset applied within 30 s"
pgctl stop || soft_fail "stopping the private PostgreSQL"
wait "$pid"; rc=$?
err=$(cat "$WORK/err")
echo "update during the restart: exit $rc: $err"
[ "$rc" = 1 ] || soft_fail "update while the server stopped: exit $rc, want 1"
echo "$err" | grep -Eq 'restart:[0-9]+|changeset [^ ]*[0-9]' || soft_fail "the error does not name the changeset: $err"
echo "$err" | grep -Eiq 'connection|terminat|server closed|shutdown|08[0-9A-Z]{3}|57P01' \
  || soft_fail "the error is not a connection error: $err"
pw=$(url_password "$DB_URL")
echo "$err" | grep -qF "$pw" && soft_fail "the error prints the password"

# restart keeps the port, so the URL stays valid
pgctl restart >/dev/null || fail "private PostgreSQL did not restart"

rows=$(q "SELECT count(*) FROM databasechangelog")
tables=$(q "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname ~ '^r_[0-9]+\$'")
echo "after the restart: $rows history rows, $tables tables"
[ "$rows" = "$tables" ] || soft_fail "after the restart: $rows history rows but $tables tables"
[ "$rows" -lt "$n" ] || soft_fail "the run was not interrupted ($rows rows)"
[ "$(q "SELECT count(*) FROM pg_class c WHERE relkind = 'r' AND relname ~ '^r_[0-9]+\$'
        AND NOT EXISTS (SELECT 1 FROM databasechangelog h WHERE 'r_' || h.id = c.relname)")" = 0 ] \
  || soft_fail "a table without its history row"

"$TIDEMARK_BIN" update --url "$DB_URL" --changelog changelog.sql >"$WORK/out" 2>"$WORK/err" \
  || soft_fail "re-run after the restart: $(cat "$WORK/err")"
grep -q "done: $((n - rows)) applied" "$WORK/out" || soft_fail "re-run should apply exactly $((n - rows)): $(tail -1 "$WORK/out")"
[ "$(q "SELECT count(*) || '/' || count(DISTINCT id) || '/' || count(DISTINCT orderexecuted) FROM databasechangelog")" = "$n/$n/$n" ] \
  || soft_fail "history after the re-run: $(q "SELECT count(*) || '/' || count(DISTINCT id) FROM databasechangelog")"
[ "$(q "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname ~ '^r_[0-9]+\$'")" = "$n" ] || soft_fail "tables after the re-run"

finish_soft fault_pg_restart
