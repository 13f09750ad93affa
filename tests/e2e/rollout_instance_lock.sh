#!/usr/bin/env bash
# tidemark tests/e2e/rollout_instance_lock.sh — one active rollout per instance: while rollout
# "first" waits for its app (real pods held un-Ready by a gate table), rollout "second" on the
# same instance stays Pending (WaitingForLock) and changes nothing; once "first" succeeds it
# releases the lock and "second" runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup lock
app_setup

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
k -n "$NS" delete dbrollout orders-dev --wait=true >/dev/null
k -n "$NS" patch deployment orders-app -p "$(gated_app_patch v1.1.0)" >/dev/null
apply_rollout first orders-dev v1.1.0 orders-app
start_controller
phase_becomes first WaitingForApp 60 || fail "first not WaitingForApp"
[[ "$(k -n "$NS" get dbinstance orders-dev -o jsonpath='{.metadata.annotations.tidemark\.dev/rollout-lock}')" == first/* ]] \
  || fail "first does not hold the lock"

apply_rollout second orders-dev v1.2.0
wait_for_output -t 60 "Pending WaitingForLock" k -n "$NS" get dbrollout second \
  -o jsonpath='{.status.phase} {.status.conditions[?(@.type=="Ready")].reason}' || fail "second not waiting"
[[ "$(q "select max(tag) from databasechangelog where tag is not null")" == v1.1.0 ]] \
  || fail "second changed the database while first held the lock"

open_app_gate
wait_for_phase first Succeeded 90
phase_becomes second Succeeded 60 || fail "second did not run after first"
[[ "$(k -n "$NS" get dbrollout second -o jsonpath='{.status.preStartTag} {.status.appliedTag}')" == "v1.1.0 v1.2.0" ]] \
  || fail "second's preStartTag/appliedTag"
wait_for_output -t 30 "" k -n "$NS" get dbinstance orders-dev \
  -o jsonpath='{.metadata.annotations.tidemark\.dev/rollout-lock}' || fail "lock not released"

# a lock left behind by a settled holder (as after a crash between its last status write and
# the release) does not block the next rollout
uid="$(k -n "$NS" get dbrollout first -o jsonpath='{.metadata.uid}')"
k -n "$NS" annotate dbinstance orders-dev --overwrite "tidemark.dev/rollout-lock=first/$uid/1" >/dev/null
apply_rollout third orders-dev v1.1.0
phase_becomes third Succeeded 60 || fail "third blocked by a stale lock"
assert_no_canary
