#!/usr/bin/env bash
# tidemark tests/e2e/controller_leader.sh — two `tidemark controller --leader-elect` processes
# against the real kube-apiserver: exactly one holds the Lease; after kill -9 of the leader the
# other takes over within the lease duration (15 s, judged by its own clock, + one retry period);
# SIGTERM on the new leader releases the Lease (holderIdentity empty) and exits 0.
# Needs KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_BIN (exported by the ctest harness).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/controller.sh"
require_controlplane
require_tidemark

LEASE=tidemark-e2e
new_work_dir
PIDS=()
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ $TM_RC -ne 0 ]]; then log "controller logs:"; tail -n 20 "$WORK"/*.log >&2 || true; fi
}
at_exit stop_all
new_namespace leader

start_candidate() { start_leader_candidate "$WORK/$1.log" "$LEASE"; } # NAME -> pid in $!
identity_of() { log_identity "$WORK/$1.log"; }
port_of() { log_port "$WORK/$1.log" health; }
holder() { lease_holder "$NS" "$LEASE"; }
transitions() { k -n "$NS" get lease "$LEASE" -o 'jsonpath={.spec.leaseTransitions}' 2>/dev/null; }
leader_gauge() { curl -fsS "http://127.0.0.1:$1/metrics" | sed -n 's/^tidemark_leader \(.*\)$/\1/p'; }

start_candidate a; PID_A=$!; PIDS+=("$PID_A")
start_candidate b; PID_B=$!; PIDS+=("$PID_B")
wait_for -t 20 eval '[[ -n "$(port_of a)" && -n "$(port_of b)" ]]' \
  || fail "controllers did not start their HTTP listeners"
ID_A="$(identity_of a)"; ID_B="$(identity_of b)"
PORT_A="$(port_of a)"; PORT_B="$(port_of b)"
[[ -n "$ID_A" && -n "$ID_B" && "$ID_A" != "$ID_B" ]] || fail "expected two distinct identities, got '$ID_A' and '$ID_B'"
log "controllers: a=$ID_A (port $PORT_A), b=$ID_B (port $PORT_B)"

wait_for -t 30 eval '[[ "$(holder)" == "$ID_A" || "$(holder)" == "$ID_B" ]]' \
  || fail "no controller acquired Lease $NS/$LEASE within 30s (holder: '$(holder)')"
FIRST="$(holder)"
if [[ "$FIRST" == "$ID_A" ]]; then LEADER=a; LPID=$PID_A; LPORT=$PORT_A; OTHER=b; OPID=$PID_B; OID=$ID_B; OPORT=$PORT_B
else LEADER=b; LPID=$PID_B; LPORT=$PORT_B; OTHER=a; OPID=$PID_A; OID=$ID_A; OPORT=$PORT_A; fi
log "leader is $LEADER ($FIRST)"

# exactly one leads: the gauges agree with the Lease, and it stays so over a few renewals
wait_for_output -t 10 1 leader_gauge "$LPORT" || fail "leader $LEADER: expected tidemark_leader 1"
# the Lease's renewTime is the clock: three renewals, each seen as it is written (one watch);
# at each the holder is still the first and the follower's gauge says 0
renewals=0 last="" why=""
renewed() { # "HOLDER RENEWTIME"
  local h=${1%% *} t=${1#* }
  [[ "$h" == "$FIRST" ]] || { why="Lease holder changed without a failure: '$h'"; return 2; }
  [[ "$(leader_gauge "$OPORT")" == 0 ]] || { why="follower $OTHER: expected tidemark_leader 0"; return 2; }
  if [[ "$t" != "$last" ]]; then
    [[ -z "$last" ]] || renewals=$((renewals + 1))
    last=$t
  fi
  (( renewals >= 3 ))
}
watch_until 30 "$NS" lease "$LEASE" '{.spec.holderIdentity} {.spec.renewTime}' renewed \
  || fail "${why:-the leader did not renew 3 times within 30s}"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OPORT/readyz")" == 200 ]] \
  || fail "standby $OTHER: expected /readyz 200"
T0="$(transitions)"; T0="${T0:-0}"

# kill -9 the leader: no release; the follower must wait for expiry by its own clock
kill -9 "$LPID"
t_kill=$(date +%s.%N)
holds() { [[ "$2" == "$1" ]]; } # WANT HOLDER
watch_until 25 "$NS" lease "$LEASE" '{.spec.holderIdentity}' holds "$OID" \
  || fail "after kill -9 of $LEADER: expected $OTHER ($OID) to hold the Lease within 25s; holder '$(holder)'"
took=$(awk -v a="$t_kill" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
log "takeover after kill -9 took ${took}s (lease 15s, retry 2s)"
# bound: the follower last saw a renewal at most one jittered retry (2.4 s) before the kill and
# takes over at its first retry after 15 s of seeing no change; 3 s slack for slow API calls
awk -v t="$took" 'BEGIN{exit !(t <= 15 + 2.4 + 3)}' \
  || fail "takeover took ${took}s: expected within lease duration + one jittered retry period"
[[ "$(transitions)" == "$((T0 + 1))" ]] || fail "expected leaseTransitions $((T0 + 1)), got '$(transitions)'"
wait_for_output -t 10 1 leader_gauge "$OPORT" || fail "new leader $OTHER: expected tidemark_leader 1"

# SIGTERM: release the Lease, exit 0
kill -TERM "$OPID"
rc=0; wait "$OPID" || rc=$?
[[ $rc -eq 0 ]] || fail "after SIGTERM: expected exit code 0 from $OTHER, got $rc"
[[ -z "$(holder)" ]] || fail "after SIGTERM: expected holderIdentity empty (released), got '$(holder)'"
grep -q '"msg":"leader lease released"' "$WORK/$OTHER.log" || fail "expected a 'leader lease released' log line"
