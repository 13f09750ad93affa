#!/usr/bin/env bash
# tidemark tests/bench/scale_instances.sh — one `tidemark controller` (all namespaces) observing
# N DBInstances (TM_BENCH_INSTANCES, default 2000; 10000 by hand) spread over 10 namespaces, one
# database each, on ONE PostgreSQL server (the harness's: hack/postgres.sh, max_connections 300).
#
# Layout: per namespace a database, a Secret and a DBSchema (one changeset and a tag v1, applied
# once with `tidemark update` so every instance reads a real history); N/10 DBInstances per
# namespace with spec.checkInterval 1m (TM_BENCH_INTERVAL: one measurement window then sees every
# instance rechecked once) and the default history table of their database.  The controller runs
# with --max-connections-per-server 4 (TM_BENCH_MAX_CONNS).
# It prints:
#   ready_s         controller start -> every DBInstance Ready=True
#   cpu_pct         the controller's utime+stime (/proc/PID/stat) over one interval, after one
#                   more to settle, as % of one core (steady state: each instance rechecked once in
#                   the window, /metrics scraped every 30 s)
#   rss_kib         VmRSS at the end of the window, and VmHWM
#   pg_sessions_max sessions with application_name tidemark in pg_stat_activity, sampled every
#                   0.2 s from the controller's start to the window's end
#   lag_p99_s       p99 of tidemark_dbinstance_recheck_lag_seconds over the window (histogram
#                   interpolation of the buckets' growth in it), and how many rechecks it saw
#   rechecks        tidemark_dbinstance_rechecks_total by result at the end
#   secondary_updates_ignored  tidemark_secondary_updates_total{result="ignored"}: watched
#                   updates that woke no one (a DBSchema's matrix moving, a DBInstance's lastCheckTime)
#   dbschema_bytes  one namespace's DBSchema as JSON (its matrix lists at most 100 instances)
#   restart         after a restart, the history checks made in its first 15 s (their first
#                   checks wait for their phases: about N * 15 s / interval, not N)
# No timed assertions.  It fails when an instance is not Ready by the deadline
# (300 + N/10 s), when more sessions than the bound were ever seen, or when a DBSchema does not
# count all its instances (correctness checks).
# Needs the bench harness env (KUBECONFIG, TIDEMARK_PG_URL, TIDEMARK_BIN); watches ALL
# namespaces: run it alone (ctest -L bench -j1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/bench.sh"
require_controlplane
require_tidemark
require_postgres

N="${TM_BENCH_INSTANCES:-2000}"
INTERVAL="${TM_BENCH_INTERVAL:-1m}"
MAX_CONNS="${TM_BENCH_MAX_CONNS:-4}"
NNS=10
new_work_dir
bench_init sci
bench_log_on_failure "$WORK/ctl.log"
install_crds

cat >"$WORK/changelog.yaml" <<'YAML'
databaseChangeLog:
- changeSet:
    id: "1"
    author: bench
    changes:
    - sql: "CREATE TABLE items (id bigint PRIMARY KEY, name text)"
- changeSet:
    id: "2"
    author: bench
    changes:
    - tagDatabase: {tag: v1}
YAML

log "creating $N DBInstances in $NNS namespaces (checkInterval $INTERVAL)"
t0=$(date +%s)
mkdir -p "$WORK/objects"
for (( j = 0; j < NNS; j++ )); do
  ns="sci-$RUN-$j"; db="sci_${RUN}_$j"
  NAMESPACES+=("$ns"); DATABASES+=("$db")
  q_admin "CREATE DATABASE $db OWNER $ROLE" >/dev/null
  "$TIDEMARK_BIN" update --url "postgresql://$ROLE:$PASS@$HOSTPORT/$db" \
    --search-path "$WORK" --changelog changelog.yaml >/dev/null || fail "tidemark update of $db"
  bench_write_namespace "$WORK/objects/ns-$j.yaml" "$ns" "$(cat "$WORK/changelog.yaml")"
done
for (( i = 0; i < N; i++ )); do
  j=$(( i % NNS ))
  bench_add_instance "$WORK/objects/ns-$j.yaml" "sci-$RUN-$j" "db-$i" "sci_${RUN}_$j" \
    "  checkInterval: $INTERVAL"
done
k create -f "$WORK/objects" >/dev/null || fail "create the objects"
log "created in $(( $(date +%s) - t0 ))s; starting the controller"

: >"$WORK/ctl.log"
t_start=$(date +%s.%N)
bench_sampler_start
bench_start_controller "$WORK/ctl.log" --max-connections-per-server "$MAX_CONNS"

ready_count() {
  k get dbinstances -A \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
    | grep -c '^True$' || true
}
deadline=$(( $(date +%s) + 300 + N / 10 ))
last_log=0
while :; do
  kill -0 "$BENCH_CTL_PID" 2>/dev/null || fail "the controller exited (see its log)"
  ready="$(ready_count)"
  (( ready >= N )) && break
  if (( $(date +%s) - last_log >= 30 )); then
    log "$ready/$N Ready, sessions max so far $(bench_max sessions)"
    last_log=$(date +%s)
  fi
  (( $(date +%s) < deadline )) || fail "only $ready/$N DBInstances Ready within the deadline"
  sleep 2
done
t_ready=$(date +%s.%N)
ready_s="$(awk -v a="$t_start" -v b="$t_ready" 'BEGIN { printf "%.1f", b - a }')"
log "all $N Ready after ${ready_s}s; settling one interval, then measuring one"
# the DBSchema shared by a namespace's instances counts them all and lists at most 100, so it
# stays a small object (a correctness check: it fails the bench)
in_ns0=$(( (N + NNS - 1) / NNS ))
wait_for_output -t 120 "$in_ns0 $in_ns0" k -n "${NAMESPACES[0]}" get dbschema app \
  -o jsonpath='{.status.instanceCount} {.status.instancesReady}' || fail "DBSchema instance counts"
listed="$(k -n "${NAMESPACES[0]}" get dbschema app -o jsonpath='{.status.instances[*].name}' | wc -w)"
(( listed == (in_ns0 < 100 ? in_ns0 : 100) )) || fail "DBSchema lists $listed instances of $in_ns0"
schema_bytes="$(k -n "${NAMESPACES[0]}" get dbschema app -o json | wc -c)"

# the window: one interval (seconds of INTERVAL: Ns, Nm)
case "$INTERVAL" in
  *m) window=$(( ${INTERVAL%m} * 60 )) ;;
  *s) window=${INTERVAL%s} ;;
  *) fail "TM_BENCH_INTERVAL: use Ns or Nm" ;;
esac
ticks() { awk '{print $14 + $15}' "/proc/$BENCH_CTL_PID/stat"; }
hz="$(getconf CLK_TCK)"
# settle for one interval first: the rechecks that fell due during the ramp to Ready wait
# behind the first full reads and would count their backlog as lag
sleep "$window"
curl -sf "http://127.0.0.1:$BENCH_MPORT/metrics" >"$WORK/metrics0" || fail "scrape /metrics"
c0="$(ticks)"; w0=$(date +%s.%N)
# scraped every 30 s meanwhile, as Prometheus would (a scrape counts every cached DBInstance
# and DBRollout for the state gauges)
scrape_end=$(( $(date +%s) + window ))
while (( $(date +%s) + 30 < scrape_end )); do
  sleep 30
  curl -sf -o /dev/null "http://127.0.0.1:$BENCH_MPORT/metrics" || fail "scrape /metrics"
done
sleep $(( scrape_end - $(date +%s) > 0 ? scrape_end - $(date +%s) : 0 ))
c1="$(ticks)"; w1=$(date +%s.%N)
cpu_pct="$(awk -v c="$(( c1 - c0 ))" -v hz="$hz" -v a="$w0" -v b="$w1" \
  'BEGIN { printf "%.1f", 100 * c / hz / (b - a) }')"
rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$BENCH_CTL_PID/status")"
hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$BENCH_CTL_PID/status")"
curl -sf "http://127.0.0.1:$BENCH_MPORT/metrics" >"$WORK/metrics" || fail "scrape /metrics"
bench_sampler_stop
sessions_max="$(bench_max sessions)"

# p99 of the recheck lag (seconds) over the window: the buckets of the scrape at its end minus
# those at its start (the ramp to Ready, with its backlog, left out)
lag_p99="$(bench_hist_quantile 0.99 tidemark_dbinstance_recheck_lag_seconds "" "$WORK/metrics" "$WORK/metrics0")"
lag_count() { awk 'index($1, "tidemark_dbinstance_recheck_lag_seconds_count") == 1 {s += $NF} END {print s + 0}' "$1"; }
lag_count="$(( $(lag_count "$WORK/metrics") - $(lag_count "$WORK/metrics0") ))"
rechecks="$(awk 'index($1, "tidemark_dbinstance_rechecks_total{") == 1 {
    r = $1; sub(/.*result="/, "", r); sub(/".*/, "", r); printf "%s%s=%s", sep, r, $NF; sep = "," }' "$WORK/metrics")"
errors="$(awk 'index($1, "tidemark_reconcile_errors_total") == 1 {s += $NF} END {print s + 0}' "$WORK/metrics")"
sec_ignored="$(awk 'index($1, "tidemark_secondary_updates_total{") == 1 && /result="ignored"/ {s += $NF} END {print s + 0}' "$WORK/metrics")"

printf 'scale_instances n=%s namespaces=%s interval=%s max_conns_per_server=%s ready_s=%s cpu_window_s=%s cpu_pct_one_core=%s rss_kib=%s rss_peak_kib=%s pg_sessions_max=%s window_recheck_lag_p99_s=%s window_rechecks=%s rechecks=%s reconcile_errors=%s secondary_updates_ignored=%s dbschema_bytes=%s pg_max_connections=%s\n' \
  "$N" "$NNS" "$INTERVAL" "$MAX_CONNS" "$ready_s" "$window" "$cpu_pct" "$rss" "$hwm" \
  "$sessions_max" "$lag_p99" "$lag_count" "$rechecks" "$errors" "$sec_ignored" "$schema_bytes" \
  "$(q_admin 'SHOW max_connections')"
# what the reconcile errors were, by message
bench_warn_summary "$WORK/ctl.log" "scale_instances warn:"
# a restart: the first checks wait for each instance's phase (their statuses are current), so
# the first RESTART_S seconds see about N * RESTART_S / interval checks, not N at once
RESTART_S=15
bench_stop_controller
: >"$WORK/ctl.log"
bench_start_controller "$WORK/ctl.log" --max-connections-per-server "$MAX_CONNS"
sleep "$RESTART_S"
curl -sf "http://127.0.0.1:$BENCH_MPORT/metrics" >"$WORK/metrics" || fail "scrape /metrics"
restart_checks="$(awk 'index($1, "tidemark_dbinstance_rechecks_total{") == 1 {s += $NF} END {print s + 0}' "$WORK/metrics")"
printf 'scale_instances restart n=%s checks_in_first_%ss=%s (all at once would be %s)\n' \
  "$N" "$RESTART_S" "$restart_checks" "$N"
(( sessions_max <= MAX_CONNS )) ||
  fail "$sessions_max sessions seen in pg_stat_activity, above --max-connections-per-server $MAX_CONNS"
ready="$(ready_count)"
(( ready >= N )) || fail "$ready/$N DBInstances Ready at the end of the window"
