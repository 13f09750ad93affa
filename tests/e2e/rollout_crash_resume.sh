#!/usr/bin/env bash
# tidemark tests/e2e/rollout_crash_resume.sh — the controller is killed (SIGKILL) in the middle
# of an apply and started again: the rollout converges to Succeeded with every changeset
# recorded exactly once and preStartTag unchanged.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup crash

slow_changelog t 5 1 | apply_schema slow
apply_instance db slow Warn
apply_rollout r db v1
start_controller

# kill it once the first changeset is recorded and the apply is still running
wait_for -t 60 -i 0.2 history_has 1 || fail "the apply never started"
crash_controller
rows_at_crash="$(q "select count(*) from databasechangelog")"
log "killed with $rows_at_crash changeset(s) recorded"
[[ "$rows_at_crash" -lt 6 ]] || fail "the apply finished before the kill; the test proves nothing"
[[ "$(phase r)" == Applying ]] || fail "phase at crash is $(phase r), want Applying"
pre="$(k -n "$NS" get dbrollout r -o jsonpath='{.status.preStartTag}')"

start_controller
phase_becomes r Succeeded 90 || fail "did not converge after restart"
[[ "$(q "select count(*) from databasechangelog")" == 6 ]] || fail "want 6 history rows"
[[ "$(q "select count(*) from (select id from databasechangelog group by id having count(*) > 1) d")" == 0 ]] \
  || fail "a changeset was recorded twice"
[[ "$(q "select count(*) from information_schema.tables where table_name like 't_'")" == 5 ]] \
  || fail "want tables t1..t5"
[[ "$(k -n "$NS" get dbrollout r -o jsonpath='{.status.preStartTag}')" == "$pre" ]] \
  || fail "preStartTag changed across the restart"
assert_no_canary
