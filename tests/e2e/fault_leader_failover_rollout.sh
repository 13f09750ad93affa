#!/usr/bin/env bash
# tidemark tests/e2e/fault_leader_failover_rollout.sh — two `tidemark controller
# --leader-elect` processes; the leader is killed (SIGKILL, no Lease release) in
# the middle of a rollout's apply.  The standby takes the Lease once it expires
# and resumes the same rollout to the same outcome: Succeeded, every changeset
# recorded exactly once, preStartTag unchanged, and only the leader ever wrote
# to the database (the standby did nothing before it led).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup failover

LEASE=tidemark-failover
WORK="$(mktemp -d)"
PIDS=()
# SIGTERM to the controllers still running (they release the Lease and exit 0), SIGKILL
# to any that is still there after 60 s; fails if one did not exit 0 on SIGTERM.
stop_both() {
  local p i alive=() bad=0 st
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null && alive+=("$p"); done
  for ((i = 0; i < 600; i++)); do
    st=0
    for p in "${alive[@]}"; do kill -0 "$p" 2>/dev/null && st=1; done
    (( st )) || break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    st=0; wait "$p" 2>/dev/null || st=$?
    [[ " ${alive[*]} " == *" $p "* && $st -ne 0 ]] && { log "controller pid $p exited $st on SIGTERM"; bad=1; }
  done
  PIDS=()
  # the logs are part of the canary check and of the failure report
  cat "$WORK"/*.log >>"$CTL_LOG" 2>/dev/null || true
  rm -rf "$WORK"
  return "$bad"
}
at_exit stop_both

n=12
slow_changelog lf $n 0.5 | apply_schema s
apply_instance db s Warn

start_le() { # NAME
  start_leader_candidate "$WORK/$1.log" "$LEASE"
  PIDS+=("$!")
  eval "PID_$1=$!"
}
identity_of() { log_identity "$WORK/$1.log"; }
holder() { lease_holder "$NS" "$LEASE"; }

start_le a; start_le b
wait_for -t 30 eval '[[ -n "$(identity_of a)" && -n "$(identity_of b)" ]]' \
  || fail "controllers did not log their identities"
ID_A="$(identity_of a)"; ID_B="$(identity_of b)"
wait_for -t 30 eval '[[ "$(holder)" == "$ID_A" || "$(holder)" == "$ID_B" ]]' \
  || fail "no controller took the Lease"
if [[ "$(holder)" == "$ID_A" ]]; then leader=a; standby=b; else leader=b; standby=a; fi
lpid_var="PID_$leader"; LPID=${!lpid_var}
log "leader $leader ($(holder)), standby $standby"

apply_rollout r db v1
wait_for -t 60 -i 0.1 history_has 3 || fail "the leader did not start applying"
kill -9 "$LPID"; wait "$LPID" 2>/dev/null || true
t_kill=$(date +%s)
at_kill="$(history_rows)"
pre="$(k -n "$NS" get dbrollout r -o jsonpath='{.status.preStartTag}|{.status.startedAt}')"
log "leader killed with $at_kill row(s), phase $(phase r)"
[[ "$at_kill" -lt $((n + 1)) ]] || fail "the apply finished before the kill; the test proves nothing"
# the standby has not touched the database: it must not log any apply before it leads
! grep -q '"msg":"applying"' "$WORK/$standby.log" || fail "the standby applied while it was not the leader"

phase_becomes r Succeeded 90 || fail "the new leader did not finish the rollout (phase $(phase r), holder $(holder))"
log "Succeeded $(( $(date +%s) - t_kill )) s after the kill; holder now $(holder)"
standby_id_var="ID_${standby^^}"
[[ "$(holder)" == "${!standby_id_var}" ]] || fail "the Lease is held by '$(holder)', want the standby ${!standby_id_var}"
grep -q '"msg":"applying"' "$WORK/$standby.log" || fail "the new leader did not resume the apply itself"
[[ "$(q "select count(*) from databasechangelog")" == $((n + 1)) ]] || fail "want $((n + 1)) history rows"
[[ "$(q "select count(*) - count(distinct id) + count(*) - count(distinct orderexecuted) from databasechangelog")" == 0 ]] \
  || fail "a changeset or ORDEREXECUTED was recorded twice"
[[ "$(q "select count(*) from pg_class where relkind = 'r' and relname ~ '^lf[0-9]+\$'")" == "$n" ]] || fail "want $n tables"
[[ "$(k -n "$NS" get dbrollout r -o jsonpath='{.status.preStartTag}|{.status.startedAt}')" == "$pre" ]] \
  || fail "preStartTag/startedAt changed across the failover"
stop_both || fail "the controllers did not all exit 0 on SIGTERM"
assert_no_canary
