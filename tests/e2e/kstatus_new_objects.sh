#!/usr/bin/env bash
# tidemark tests/e2e/kstatus_new_objects.sh — Flux's view of a new DBSchema, DBInstance and
# DBRollout, read with the real kstatus library (hack/kstatus.sh): while no controller runs,
# the apiserver serves each with the CRDs' status default {observedGeneration: -1} and kstatus
# says InProgress (a Flux `wait: true` keeps waiting); once the controller has run, its first
# status write replaced the default (observedGeneration = generation) and kstatus says
# Current. Without the default kstatus would say Current from the first second: checked too,
# on the same object with its status removed, so this test fails if the default goes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
kstatus="$("$ROOT/hack/kstatus.sh" path)" || fail "hack/kstatus.sh could not build the kstatus classifier"
rollout_setup kstatus

kinds=(dbschema/app dbinstance/db dbrollout/r)
ks() { k -n "$NS" get "$1" -o json | "$kstatus" | cut -f1; }

table_changelog t v1 | apply_schema app
apply_instance db app Warn
apply_rollout r db v1

# 1. no controller: the default is served, kstatus waits
for o in "${kinds[@]}"; do
  st="$(k -n "$NS" get "$o" -o jsonpath='{.status}')"
  [[ "$st" == '{"observedGeneration":-1}' ]] || fail "$o: the apiserver did not apply the status default, status is: $st"
  [[ "$(ks "$o")" == InProgress ]] || fail "$o: kstatus should read a new object InProgress, got: $(k -n "$NS" get "$o" -o json | "$kstatus")"
  got="$(k -n "$NS" get "$o" -o json | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("status"); print(json.dumps(d))' | "$kstatus" | cut -f1)"
  [[ "$got" == Current ]] || fail "$o without status: kstatus read $got (the case the default exists for reads Current)"
done
log "no controller: all three InProgress"

# 2. the controller runs: its first write replaces the default, kstatus reaches Current
start_controller
phase_becomes r Succeeded 90 || fail "rollout r did not succeed (phase $(phase r))"
for o in "${kinds[@]}"; do
  wait_for_output -t 60 Current ks "$o" || fail "$o: kstatus never read Current: $(k -n "$NS" get "$o" -o json | "$kstatus")"
  read -r gen og <<<"$(k -n "$NS" get "$o" -o jsonpath='{.metadata.generation} {.status.observedGeneration}')"
  [[ "$og" == "$gen" ]] || fail "$o: status.observedGeneration $og after Ready, generation $gen"
  [[ "$(k -n "$NS" get "$o" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]] \
    || fail "$o: Current without Ready True"
done
log "controller: all three Current with observedGeneration = generation"

stop_controller
