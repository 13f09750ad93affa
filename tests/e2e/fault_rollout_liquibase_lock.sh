#!/usr/bin/env bash
# tidemark tests/e2e/fault_rollout_liquibase_lock.sh — a Liquibase lock row
# (databasechangeloglock.locked = true, as a running or crashed Liquibase leaves
# it) held by another process: the DBRollout waits without changing anything,
# its status names the holder (lockedby), and once the row is released it
# proceeds to Succeeded.  tidemark never writes that row.  While the row is
# held it retries with a bounded backoff, not in a loop (asserted: a handful
# of apply attempts in ~5 s).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup lqlock

q "CREATE TABLE public.databasechangeloglock (id int PRIMARY KEY, locked boolean NOT NULL, lockgranted timestamp, lockedby varchar(255));
     INSERT INTO public.databasechangeloglock VALUES (1, true, now(), 'lb-runner-7 (10.9.8.7)');
     ALTER TABLE public.databasechangeloglock OWNER TO $ROLE" >/dev/null \
  || fail "create the Liquibase lock row"
table_changelog lq1 v1 | apply_schema s
apply_instance db s Warn
apply_rollout r db v1
start_controller

# waiting, and the status names the lock's holder
status_text() { k -n "$NS" get dbrollout r -o jsonpath='{.status.phase} {range .status.conditions[*]}{.type}={.status}/{.reason}: {.message}; {end}'; }
wait_for -t 60 eval "status_text | grep -q 'lb-runner-7'" \
  || fail "the DBRollout status does not name the Liquibase lock holder: $(status_text)"
# it keeps waiting through several retries (backoff), changing nothing
log "while locked: $(status_text)"
tries0="$(grep -c '"msg":"applying"' "$CTL_LOG" || true)"
for i in 1 2 3 4 5; do
  st="$(status_text)"
  [[ "$st" == Applying* || "$st" == Pending* ]] || fail "phase while the lock row is held: $st"
  [[ "$(q "select to_regclass('public.lq1') is null")" == t ]] || fail "lq1 was created while the lock row was held"
  if [[ "$(q "select to_regclass('public.databasechangelog') is not null")" == t ]]; then
    [[ "$(q "select count(*) from databasechangelog")" == 0 ]] || fail "history rows were written while the lock row was held"
  fi
  sleep 1
done

# how often it retried while the row was held: the backoff (1 s, 2 s, 4 s ...
# capped at 30 s, kept in status) gives a handful; the old hot loop, where the
# watch events of its own status writes re-queued it at once, gave ~80.
tries="$(( $(grep -c '"msg":"applying"' "$CTL_LOG" || true) - tries0 ))"
log "apply attempts during ~5 s of a held lock row: $tries"
(( tries <= 15 )) || fail "$tries apply attempts in ~5 s of a held lock row: retry hot loop (want <= 15)"

# released: proceeds (within the backoff cap of 30 s, plus a margin)
q "UPDATE public.databasechangeloglock SET locked = false, lockgranted = NULL, lockedby = NULL" >/dev/null
released="$SECONDS"
phase_becomes r Succeeded 120 || fail "did not proceed after the lock row was released: $(status_text)"
log "Succeeded $(( SECONDS - released )) s after the lock row was released"
[[ "$(q "select count(*) from databasechangelog")" == 2 ]] || fail "want 2 history rows"
[[ "$(q "select locked from public.databasechangeloglock")" == f ]] || fail "tidemark wrote the Liquibase lock row"
assert_no_canary
