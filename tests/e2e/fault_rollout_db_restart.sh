#!/usr/bin/env bash
# tidemark tests/e2e/fault_rollout_db_restart.sh — the database of a DBInstance is
# stopped in the middle of a DBRollout's apply and started again (same port) a
# few seconds later: while it is down the rollout keeps retrying with a
# connection error in its status (never Failed); once it is back the rollout
# ends Succeeded with every changeset recorded exactly once and its table present.
# Uses a private PostgreSQL (private_postgres: TIDEMARK_STATE_DIR=<tmp> hack/postgres.sh)
# so no other test sees the stop and the restart.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
private_postgres
rollout_setup dbrestart

n=20
slow_changelog rs $n 0.3 | apply_schema s
apply_instance db s Warn
apply_rollout r db v1
start_controller

wait_for -t 60 -i 0.2 history_has 2 || fail "the apply never started"
pgctl stop || fail "stop the private PostgreSQL"
log "database stopped during the apply"

status_text() { k -n "$NS" get dbrollout r -o jsonpath='{.status.phase} {.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}'; }
# while it is down: retrying with a connection error, never Failed
wait_for -t 60 eval "status_text | grep -Eqi 'connect|refused|terminat|closed'" \
  || fail "no connection error in the status while the database was down: $(status_text)"
log "while down: $(status_text)"
for i in 1 2 3; do
  st="$(status_text)"
  [[ "$st" != Failed* && "$st" != Succeeded* && "$st" != RolledBack* ]] || fail "phase while the database is down: $st"
  sleep 1
done
fails="$(grep -c '"msg":"action failed"' "$CTL_LOG" || true)"

# restart: the same port as before, so the DBInstance needs no change
pgctl restart >/dev/null || fail "restart the private PostgreSQL on its port"
log "database started again ($fails failed attempts logged so far)"
phase_becomes r Succeeded 120 || fail "did not succeed after the database came back: $(status_text)"
[[ "$(q "select count(*) from databasechangelog")" == $((n + 1)) ]] || fail "want $((n + 1)) history rows"
[[ "$(q "select count(*) - count(distinct id) from databasechangelog")" == 0 ]] || fail "a changeset was recorded twice"
[[ "$(q "select count(*) from pg_class where relkind = 'r' and relname ~ '^rs[0-9]+\$'")" == "$n" ]] || fail "want $n tables"
assert_no_canary
