#!/usr/bin/env bash
# tidemark tests/e2e/fault_controller_kill_points.sh — the controller is killed
# (SIGKILL) at several points of one rollout with a Deployment, and started again
# each time: as soon as it has taken the instance lock,
# three times during the apply (after 1, 4 and 7 changesets), and while waiting
# for the app (real pods, held un-Ready by a gate table until then).  The rollout
# must end Succeeded with every changeset recorded
# exactly once, its tables present, preStartTag unchanged since it was first
# stamped, and the instance lock released.  (rollout_crash_resume.sh covers a
# single kill without a Deployment.)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup killpts
app_setup

n=10
slow_changelog kp $n 0.4 | apply_schema s
apply_instance db s Warn
testapp_deployment app app_gate open | k -n "$NS" apply -f - >/dev/null || fail "create deployment"
apply_rollout r db v1 app

pre_tag() { k -n "$NS" get dbrollout r -o jsonpath='{.status.preStartTag}{"|"}{.status.startedAt}'; }
kills=0
kill_now() { crash_controller; kills=$((kills + 1)); log "kill $kills ($1): phase '$(phase r)', $(history_rows) row(s)"; }

# 1: as soon as the instance lock is taken (before or while preStartTag is stamped)
start_controller
wait_for -t 30 -i 0.05 eval '[[ -n "$(k -n "$NS" get dbinstance db -o jsonpath="{.metadata.annotations.tidemark\.dev/rollout-lock}")" ]]' \
  || fail "the rollout never took the instance lock"
kill_now "instance lock taken"

# 2-4: during the apply
for want in 1 4 7; do
  start_controller
  wait_for -t 60 -i 0.1 history_has "$want" || fail "the apply did not reach $want changeset(s)"
  kill_now "after $want changeset(s)"
  [[ "$(history_rows)" -lt $((n + 1)) ]] || fail "the apply finished before kill $kills; it proves nothing"
  stamped="$(pre_tag)"
  [[ -z "${first_stamp:-}" ]] && first_stamp="$stamped"
  [[ "$stamped" == "$first_stamp" ]] || fail "preStartTag/startedAt changed across restarts: '$first_stamp' -> '$stamped'"
done

# 5: while waiting for the app
start_controller
phase_becomes r WaitingForApp 90 || fail "never reached WaitingForApp"
kill_now "waiting for the app"

start_controller
open_app_gate
wait_for_phase r Succeeded 90
log "Succeeded after $kills kills"
[[ "$(q "select count(*) from databasechangelog")" == $((n + 1)) ]] || fail "want $((n + 1)) history rows"
[[ "$(q "select count(*) - count(distinct id) + count(*) - count(distinct orderexecuted) from databasechangelog")" == 0 ]] \
  || fail "a changeset or ORDEREXECUTED was recorded twice"
[[ "$(q "select count(*) from pg_class where relkind = 'r' and relname ~ '^kp[0-9]+\$'")" == "$n" ]] || fail "want $n tables"
[[ "$(pre_tag)" == "$first_stamp" ]] || fail "preStartTag/startedAt changed: '$first_stamp' -> '$(pre_tag)'"
wait_for_output -t 30 "" k -n "$NS" get dbinstance db -o jsonpath='{.metadata.annotations.tidemark\.dev/rollout-lock}' \
  || fail "instance lock not released"
assert_no_canary
