#!/usr/bin/env bash
# Fault test: the PostgreSQL server is stopped in the middle of
# `tidemark update` (pg_ctl stop -m fast: sessions are terminated), then
# started again.  The run must fail cleanly -- exit 1, a connection error
# that names the changeset it was applying, the URL never printed -- and
# leave history and tables in agreement; after the restart a re-run applies
# exactly the rest (nothing lost, nothing twice).
# Uses a private PostgreSQL instance (TIDEMARK_STATE_DIR=<tmp>
# hack/postgres.sh start) so that no other test sees the restart.
# Needs TIDEMARK_BIN and TIDEMARK_SOURCE_DIR (ctest exports both).
set -uo pipefail
: "${TIDEMARK_BIN:?run through ctest / hack/test.sh}"
: "${TIDEMARK_SOURCE_DIR:?run through ctest / hack/test.sh}"
pg="$TIDEMARK_SOURCE_DIR/hack/postgres.sh"
n=150

work=$(mktemp -d)
state=$(mktemp -d)
failures=0
cleanup() {
  pgctl stop >/dev/null 2>&1
  rm -rf "$work" "$state"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# run from / : as root the server commands run as the postgres user, who
# cannot enter our private work folder
pgctl() { (cd / && TIDEMARK_STATE_DIR=$state "$pg" "$@"); }

env_line=$(pgctl start) || { echo "FAIL: private PostgreSQL did not start" >&2; exit 1; }
eval "$env_line"
url=$TIDEMARK_PG_URL
q() { psql "$url" -qXAtc "$1"; }

{
  echo '--liquibase formatted sql'
  for i in $(seq 1 $n); do
    printf '\n--changeset restart:%d\nSELECT pg_sleep(0.01);\nCREATE TABLE r_%d (id int);\n--rollback DROP TABLE r_%d;\n' "$i" "$i" "$i"
  done
} >"$work/changelog.sql"
cd "$work" || exit 1

"$TIDEMARK_BIN" update --url "$url" --changelog changelog.sql >"$work/out" 2>"$work/err" &
pid=$!
# stop the server once some changesets are in (poll to a deadline)
deadline=$(( $(date +%s) + 30 ))
while :; do
  got=$(q "SELECT count(*) FROM databasechangelog" 2>/dev/null || echo 0)
  [ "${got:-0}" -ge 10 ] && break
  [ "$(date +%s)" -ge "$deadline" ] && { fail "no changeset applied within 30 s"; break; }
  sleep 0.05
done
pgctl stop || fail "stopping the private PostgreSQL"
wait "$pid"; rc=$?
err=$(cat "$work/err")
echo "update during the restart: exit $rc: $err"
[ "$rc" = 1 ] || fail "update while the server stopped: exit $rc, want 1"
echo "$err" | grep -Eq 'restart:[0-9]+|changeset [^ ]*[0-9]' || fail "the error does not name the changeset: $err"
echo "$err" | grep -Eiq 'connection|terminat|server closed|shutdown|08[0-9A-Z]{3}|57P01' \
  || fail "the error is not a connection error: $err"
pw=${url#*://*:}; pw=${pw%%@*}
echo "$err" | grep -qF "$pw" && fail "the error prints the password"

# postgres.sh picks a new free port at each start: re-read the URL.
env_line=$(pgctl start) || { echo "FAIL: private PostgreSQL did not restart" >&2; exit 1; }
eval "$env_line"
url=$TIDEMARK_PG_URL

rows=$(q "SELECT count(*) FROM databasechangelog")
tables=$(q "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname ~ '^r_[0-9]+\$'")
echo "after the restart: $rows history rows, $tables tables"
[ "$rows" = "$tables" ] || fail "after the restart: $rows history rows but $tables tables"
[ "$rows" -lt "$n" ] || fail "the run was not interrupted ($rows rows)"
[ "$(q "SELECT count(*) FROM pg_class c WHERE relkind = 'r' AND relname ~ '^r_[0-9]+\$'
        AND NOT EXISTS (SELECT 1 FROM databasechangelog h WHERE 'r_' || h.id = c.relname)")" = 0 ] \
  || fail "a table without its history row"

"$TIDEMARK_BIN" update --url "$url" --changelog changelog.sql >"$work/out" 2>"$work/err" \
  || fail "re-run after the restart: $(cat "$work/err")"
grep -q "done: $((n - rows)) applied" "$work/out" || fail "re-run should apply exactly $((n - rows)): $(tail -1 "$work/out")"
[ "$(q "SELECT count(*) || '/' || count(DISTINCT id) || '/' || count(DISTINCT orderexecuted) FROM databasechangelog")" = "$n/$n/$n" ] \
  || fail "history after the re-run: $(q "SELECT count(*) || '/' || count(DISTINCT id) FROM databasechangelog")"
[ "$(q "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname ~ '^r_[0-9]+\$'")" = "$n" ] || fail "tables after the re-run"

if [ "$failures" -gt 0 ]; then
  echo "fault_pg_restart: $failures failure(s)" >&2
  exit 1
fi
echo "fault_pg_restart: ok"
