#!/usr/bin/env bash
# tidemark tests/e2e/controller_db_connections.sh — --max-connections-per-server bounds the
# controller's sessions to one database server, observers and applies together: with a bound
# of 2, a DBRollout applies a slow changelog (its own session, holding the advisory lock) while
# 15 DBInstances, each in its own database on the same server, are observed at the same time
# by 4 workers.  pg_stat_activity, sampled throughout, never shows more than 2 sessions of the
# controller; every instance connects, the rollout Succeeds (no deadlock of the apply behind
# the observers), /metrics shows the server's gauges (connections, observers' waits, the apply
# timed in tidemark_apply_queue_wait_seconds and out of tidemark_applies_in_flight), and the
# idle sessions close after --db-idle-timeout.  A second rollout on the same server, started
# while the first applies, waits in the apply line (one apply at a time with a bound of 2) and
# says so in its status, in one status write, then Succeeds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup conns
MAIN_DB="$DB" MAIN_DB_URL="$DB_URL"
N=15

SESSIONS="from pg_stat_activity where usename = '$ROLE' and application_name = 'tidemark'"
sessions() { q_admin "select count(*) $SESSIONS"; }
# the count, then each session as pid:database:state (for the failure message)
SHOWN_SQL="select count(*) || ' ' || coalesce(string_agg(pid || ':' || datname || ':' || coalesce(state, '-'), ' '), '') $SESSIONS"

# the rollout: 8 changesets of 0.5 s each on the main database
slow_changelog p 8 0.5 | apply_schema slow
apply_instance roll slow Warn
table_changelog t v1 | apply_schema small
for i in $(seq 1 "$N"); do new_database "${MAIN_DB}_$i" "$ROLE"; done
DB="${MAIN_DB}_1" apply_instance roll2 small Warn
DB="$MAIN_DB" DB_URL="$MAIN_DB_URL"
hostport="${PG_BASE#*@}"

# the sessions of the controller's role, every 20 ms, into SAMPLES (a count and the sessions a line)
SAMPLES="$(mktemp)"
at_exit 'rm -f "$SAMPLES"'
# (one psql session reading a stream of queries: a psql per sample is too slow)
# until STOP exists (then psql reads its end of input and exits); the 20 ms pause is a read
# timing out on a pipe nobody writes (a `sleep` process each was 1.5 ms of CPU, 50 a second)
STOP="$SAMPLES.stop"
( (exec {tick}<> <(:); while [[ ! -e "$STOP" ]]; do echo "$SHOWN_SQL;"; read -rt 0.02 -u "$tick" || true; done) \
  | psql "$TIDEMARK_PG_URL" -qXAt >>"$SAMPLES" 2>/dev/null) &
SAMPLER=$!
at_exit 'touch "$STOP"; wait "$SAMPLER" 2>/dev/null; rm -f "$STOP"' 

start_controller --workers 4 --max-connections-per-server 2 --db-idle-timeout 2s
apply_rollout r roll v1
wait_for_phase r Applying 30

# r2 while r applies: it waits for the one apply slot and says so, written once (the write's
# own watch event, and any poll, must not write it again): every resourceVersion seen with
# the message, until it moves on
apply_rollout r2 roll2 v1
want="waiting for an apply slot: 1 applies running on $hostport (limit 1)"
waiting_rvs="" st=""
# every write of r2 (one watch): the resourceVersions that carry the waiting message
r2_written() { # "RESOURCEVERSION MESSAGE"
  st=$1
  if [[ "${st#* }" == "$want" ]]; then
    [[ " $waiting_rvs " == *" ${st%% *} "* ]] || waiting_rvs+=" ${st%% *}"
  elif [[ -n "$waiting_rvs" ]]; then
    return 0 # its turn came
  fi
  return 1
}
watch_until 30 "$NS" dbrollout r2 '{.metadata.resourceVersion} {.status.message}' r2_written || true
[[ -n "$waiting_rvs" ]] || fail "r2 never said '$want' (last status: '$st')"
read -ra rvs <<<"$waiting_rvs"
(( ${#rvs[@]} == 1 )) || fail "r2's waiting status was written ${#rvs[@]} times (resourceVersions$waiting_rvs)"

# all the instances at once, while the apply runs
{
  for i in $(seq 1 "$N"); do
    cat <<YAML
---
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: i$i}
spec:
  schemaRef: {name: small}
  connection:
    host: "${hostport%:*}"
    port: ${hostport##*:}
    database: "${MAIN_DB}_$i"
    sslMode: disable
    userSecretRef: {name: db-creds}
YAML
  done
} | k -n "$NS" apply -f - >/dev/null || fail "apply the instances"

k -n "$NS" wait --for=condition=Connected --timeout=60s dbinstance --all >/dev/null \
  || fail "not every DBInstance connected: $(k -n "$NS" get dbinstances -o jsonpath='{range .items[*]}{.metadata.name}: {.status.conditions[?(@.type=="Connected")].message}{"\n"}{end}')"
wait_for_phase r Succeeded 60
wait_for_phase r2 Succeeded 60
[[ "$(q "select count(*) from databasechangelog")" == 9 ]] || fail "the rollout did not apply all 9 changesets"

port="$(log_port "$CTL_LOG" metrics)"
server="$(metrics | grep '^tidemark_db_connections{' | grep 'state="open"' | sed -n 's/.*server="\([^"]*\)".*/\1/p' | head -1)"
[[ "$server" == "$hostport" ]] || fail "no tidemark_db_connections{server=\"$hostport\",state=\"open\"} in /metrics (port $port): '$server'"
# the apply was admitted and timed, and left its slot; with 4 observers and one connection
# left to them, some waited for it
scrape="$(metrics)"
waits="$(sed -n "s/^tidemark_db_connection_waits_total{server=\"$hostport\",use=\"observe\"} //p" <<<"$scrape")"
(( ${waits:-0} >= 1 )) || fail "no observer waits counted in tidemark_db_connection_waits_total: '${waits:-}'"
timed="$(sed -n 's/^tidemark_apply_queue_wait_seconds_count //p' <<<"$scrape")"
[[ "$timed" == 2 ]] || fail "tidemark_apply_queue_wait_seconds_count: want 2 (the rollouts' applies), got '$timed'"
in_flight() { metrics | sed -n 's/^tidemark_applies_in_flight //p'; }
wait_for_output -t 30 "0" in_flight || fail "tidemark_applies_in_flight did not return to 0: $(in_flight)"
grep -q "^tidemark_applies_in_flight_by_server{server=\"$hostport\"} 0$" <<<"$(metrics)" \
  || fail "no tidemark_applies_in_flight_by_server{server=\"$hostport\"} 0 in /metrics"

# the idle sessions close after --db-idle-timeout (2 s), and the gauge follows: the server's
# sessions and the gauge, together
open_now() {
  printf '%s %s\n' "$(sessions)" "$(metrics | sed -n "s/^tidemark_db_connections{server=\"$hostport\",state=\"open\"} //p")"
}
wait_for_output -t 30 "0 0" open_now || fail "the controller's idle sessions did not close (sessions, gauge)"

touch "$STOP"
wait "$SAMPLER" 2>/dev/null || true
max="$(sort -n "$SAMPLES" | tail -n 1)"
log "the most: $max"
max="${max%% *}"
log "$(wc -l <"$SAMPLES") samples of pg_stat_activity, at most $max sessions of the controller"
(( max >= 1 )) || fail "the sampler never saw a session of the controller"
(( max <= 2 )) || fail "$max sessions to the server at once (--max-connections-per-server 2)"
# a pool wait that timed out requeues quietly: never a ConnectFailed Event
events="$(k -n "$NS" get events --field-selector reason=ConnectFailed -o name)"
[[ -z "$events" ]] || fail "ConnectFailed Events: $events"
assert_no_canary
