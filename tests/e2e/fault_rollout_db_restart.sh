#!/usr/bin/env bash
# tidemark tests/e2e/fault_rollout_db_restart.sh — the database of a DBInstance is
# stopped in the middle of a DBRollout's apply and started again (same port) a
# few seconds later: while it is down the rollout keeps retrying with a
# connection error in its status (never Failed); once it is back the rollout
# ends Succeeded with every changeset recorded exactly once and its table present.
# Uses a private PostgreSQL (TIDEMARK_STATE_DIR=<tmp> hack/postgres.sh start) so
# no other test sees the restart.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/rollout_helpers.bash"
: "${TIDEMARK_SOURCE_DIR:?run through ctest / hack/test.sh}"

PGSTATE="$(mktemp -d)"
pgctl() { (cd / && TIDEMARK_STATE_DIR=$PGSTATE "$TIDEMARK_SOURCE_DIR/hack/postgres.sh" "$@"); }
as_pg() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
eval "$(pgctl start)" || fail "private PostgreSQL did not start"
pgdir="$PGSTATE/postgres"
PGPORT_SAVED="$(cat "$pgdir/port")"
bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
# the same port as before, so the DBInstance needs no change
pg_start_same_port() {
  (cd / && as_pg "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
    -o "-p $PGPORT_SAVED -k $pgdir/sock -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null)
}

rollout_setup dbrestart
# rollout_setup installed its own EXIT trap: stop the private server first
# (rollout_cleanup ends with exit)
trap 'rc=$?; set +e; pgctl stop >/dev/null 2>&1; rm -rf "$PGSTATE"; (exit $rc); rollout_cleanup' EXIT

n=20
{
  echo "databaseChangeLog:"
  for i in $(seq 1 $n); do
    cat <<YAML
  - changeSet:
      id: $i
      author: t
      changes:
        - sql: {sql: "SELECT pg_sleep(0.3); CREATE TABLE rs$i (id int)"}
      rollback:
        - sql: {sql: "DROP TABLE rs$i"}
YAML
  done
  cat <<'YAML'
  - changeSet:
      id: tag
      author: t
      changes:
        - tagDatabase: {tag: v1}
YAML
} | apply_schema s
apply_instance db s Warn
apply_rollout r db v1
start_controller

deadline=$(( $(date +%s) + 60 ))
until [[ "$(sql "select coalesce((select count(*) from databasechangelog), 0)" 2>/dev/null || echo 0)" -ge 2 ]]; do
  (( $(date +%s) < deadline )) || fail "the apply never started"
  sleep 0.2
done
pgctl stop || fail "stop the private PostgreSQL"
log "database stopped during the apply"

status_text() { k -n "$NS" get dbrollout r -o jsonpath='{.status.phase} {.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}'; }
# while it is down: retrying with a connection error, never Failed
wait_for -t 60 bash -c "$(declare -f k status_text); NS=$NS; status_text | grep -Eqi 'connect|refused|terminat|closed'" \
  || fail "no connection error in the status while the database was down: $(status_text)"
log "while down: $(status_text)"
for i in 1 2 3; do
  st="$(status_text)"
  [[ "$st" != Failed* && "$st" != Succeeded* && "$st" != RolledBack* ]] || fail "phase while the database is down: $st"
  sleep 1
done
fails="$(grep -c '"msg":"action failed"' "$CTL_LOG" || true)"

pg_start_same_port || fail "restart the private PostgreSQL on port $PGPORT_SAVED"
log "database started again ($fails failed attempts logged so far)"
wait_for_output -t 120 Succeeded phase r || fail "did not succeed after the database came back: $(status_text)"
[[ "$(sql "select count(*) from databasechangelog")" == $((n + 1)) ]] || fail "want $((n + 1)) history rows"
[[ "$(sql "select count(*) - count(distinct id) from databasechangelog")" == 0 ]] || fail "a changeset was recorded twice"
[[ "$(sql "select count(*) from pg_class where relkind = 'r' and relname ~ '^rs[0-9]+\$'")" == "$n" ]] || fail "want $n tables"
assert_no_canary
