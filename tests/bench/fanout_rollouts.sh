#!/usr/bin/env bash
# tidemark tests/bench/fanout_rollouts.sh — fan-out: N DBRollouts (TM_BENCH_ROLLOUTS, default
# 1000), one per DBInstance, move their N instances from tag v1 to v2 at once, over 10
# databases (one per namespace) of ONE PostgreSQL server (the harness's).
#
# Layout: per database a history table per instance (public.dbc_<i>, cloned from one
# `tidemark update --to-tag v1` so setting up stays cheap) and one for the floor
# (public.flr_<i>); per namespace a Secret and a DBSchema whose changelog has v1 (a table)
# and v2 (an INSERT, a changeset that keeps the server busy TM_BENCH_APPLY_SLEEP seconds,
# default 0.1: a migration is server work), then the DBInstances and a DBRollout to v2 each.
# A controller started after the objects sees every rollout ready to apply at once, with
#   --max-connections-per-server TM_BENCH_MAX_CONNS (8), --max-concurrent-applies
#   TM_BENCH_MAX_APPLIES (8), --max-concurrent-applies-per-server TM_BENCH_MAX_APPLIES_SERVER
#   (6), --workers-dbrollout TM_BENCH_WORKERS (8).
# It prints:
#   total_s            controller start -> every DBRollout Succeeded
#   floor_s            the same moves (flr_<i> from v1 to v2) one at a time with
#                      `tidemark update --to-tag v2`, one process per instance
#   sessions_max       the controller's sessions in pg_stat_activity (sampled every 0.2 s)
#   applies_max, applies_server_max   tidemark_applies_in_flight and _by_server from /metrics
#                      (sampled every 0.2 s)
#   rollout_worker_s, rollout_reconcile_mean_s  the DBRollout workers' time in reconciles, in
#                      all and per reconcile (tidemark_reconcile_duration_seconds)
#   events_dropped     tidemark_events_dropped_total (the Events queue was full)
#   queue_wait p50/p99 tidemark_apply_queue_wait_seconds; pool_waits the sum of
#                      tidemark_db_connection_waits_total; reconciles and errors per kind
# TM_BENCH_KEEP_DIR: keep the controller's log and last scrape there.
# No timed assertions.  It fails when a rollout is not Succeeded by the deadline (300 + N/2 s),
# when an instance's history lacks v2, or when the samples ever exceed the limits.
# Needs the bench harness env (KUBECONFIG, TIDEMARK_PG_URL, TIDEMARK_BIN); watches ALL
# namespaces: run it alone (ctest -L bench -j1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/bench.sh"
require_controlplane
require_tidemark
require_postgres

N="${TM_BENCH_ROLLOUTS:-1000}"
SLEEP="${TM_BENCH_APPLY_SLEEP:-0.1}"
MAX_CONNS="${TM_BENCH_MAX_CONNS:-8}"
MAX_APPLIES="${TM_BENCH_MAX_APPLIES:-8}"
MAX_APPLIES_SERVER="${TM_BENCH_MAX_APPLIES_SERVER:-6}"
WORKERS="${TM_BENCH_WORKERS:-8}"
NNS=10
new_work_dir
bench_init fo
bench_log_on_failure "$WORK/ctl.log"
install_crds

cat >"$WORK/changelog.yaml" <<YAML
databaseChangeLog:
- changeSet:
    id: "1"
    author: bench
    changes:
    - sql: "SELECT pg_advisory_xact_lock(7302, 1); CREATE TABLE IF NOT EXISTS items (id bigserial PRIMARY KEY, name text)"
- changeSet:
    id: "2"
    author: bench
    changes:
    - tagDatabase: {tag: v1}
- changeSet:
    id: "3"
    author: bench
    changes:
    - sql: "INSERT INTO items (name) VALUES ('v2')"
    rollback: "SELECT 1"
- changeSet:
    id: "4"
    author: bench
    changes:
    - sql: "SELECT pg_sleep($SLEEP)"
    rollback: "SELECT 1"
- changeSet:
    id: "5"
    author: bench
    changes:
    - tagDatabase: {tag: v2}
YAML

log "setting up $N instances at v1 in $NNS databases"
t0=$(date +%s)
mkdir -p "$WORK/objects"
for (( j = 0; j < NNS; j++ )); do
  ns="fo-$RUN-$j"; db="fo_${RUN}_$j"
  NAMESPACES+=("$ns"); DATABASES+=("$db")
  q_admin "CREATE DATABASE $db OWNER $ROLE" >/dev/null
  url="postgresql://$ROLE:$PASS@$HOSTPORT/$db"
  "$TIDEMARK_BIN" update --url "$url" --search-path "$WORK" --changelog changelog.yaml \
    --changelog-table public.tmpl --to-tag v1 >/dev/null || fail "tidemark update of $db to v1"
  # every instance of this database (i % NNS == j) gets two copies of that v1 history
  psql "$url" -qXAt -v ON_ERROR_STOP=1 >/dev/null <<SQL || fail "clone the v1 histories in $db"
DO \$\$
BEGIN
  FOR i IN 0..$(( N - 1 )) LOOP
    CONTINUE WHEN i % $NNS <> $j;
    EXECUTE format('CREATE TABLE dbc_%s (LIKE tmpl INCLUDING ALL); INSERT INTO dbc_%s SELECT * FROM tmpl', i, i);
    EXECUTE format('CREATE TABLE flr_%s (LIKE tmpl INCLUDING ALL); INSERT INTO flr_%s SELECT * FROM tmpl', i, i);
  END LOOP;
END \$\$;
SQL
  bench_write_namespace "$WORK/objects/ns-$j.yaml" "$ns" "$(cat "$WORK/changelog.yaml")"
done
for (( i = 0; i < N; i++ )); do
  j=$(( i % NNS ))
  bench_add_instance "$WORK/objects/ns-$j.yaml" "fo-$RUN-$j" "db-$i" "fo_${RUN}_$j" \
    "  changelogTable: public.dbc_$i"
  cat >>"$WORK/objects/ns-$j.yaml" <<YAML
---
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: ro-$i, namespace: fo-$RUN-$j}
spec:
  instanceRef: {name: db-$i}
  tag: v2
YAML
done
k create -f "$WORK/objects" >/dev/null || fail "create the objects"
log "set up in $(( $(date +%s) - t0 ))s; starting the controller"

: >"$WORK/ctl.log"
t_start=$(date +%s.%N)
bench_start_controller "$WORK/ctl.log" --max-connections-per-server "$MAX_CONNS" \
  --max-concurrent-applies "$MAX_APPLIES" --max-concurrent-applies-per-server "$MAX_APPLIES_SERVER" \
  --workers-dbrollout "$WORKERS"
bench_sampler_start tidemark_applies_in_flight tidemark_applies_in_flight_by_server

# this run's rollouts only: a previous run's namespaces may still be terminating, their
# rollouts Succeeded (counting them once ended a run after 9.6 s with 697 of 1,000 rows)
run_phases() {
  k get dbrollouts -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.status.phase}{"\n"}{end}' \
    | awk -v p="fo-$RUN-" 'index($1, p) == 1 {print $2}'
}
phases() {
  run_phases | sort | uniq -c | awk '{printf "%s%s=%s", sep, (NF < 2 ? "None" : $2), $1; sep = ","}'
}
succeeded() { run_phases | grep -c '^Succeeded$' || true; }
deadline=$(( $(date +%s) + 300 + N / 2 ))
last_log=0
while :; do
  kill -0 "$BENCH_CTL_PID" 2>/dev/null || fail "the controller exited (see its log)"
  done_n="$(succeeded)"
  (( done_n >= N )) && break
  if (( $(date +%s) - last_log >= 20 )); then
    log "$(phases); sessions max $(bench_max sessions), applies max $(bench_max tidemark_applies_in_flight)"
    last_log=$(date +%s)
  fi
  (( $(date +%s) < deadline )) || fail "only $done_n/$N DBRollouts Succeeded by the deadline: $(phases)"
  sleep 1
done
t_done=$(date +%s.%N)
total_s="$(awk -v a="$t_start" -v b="$t_done" 'BEGIN { printf "%.1f", b - a }')"
curl -sf "http://127.0.0.1:$BENCH_MPORT/metrics" >"$WORK/metrics" || fail "scrape /metrics"
bench_sampler_stop
rss="$(awk '/^VmHWM:/ {print $2}' "/proc/$BENCH_CTL_PID/status")"
bench_stop_controller
log "all $N Succeeded after ${total_s}s; the floor: the same moves with the CLI, one at a time"

# every instance's own history reached v2 (5 EXECUTED rows each)
rows="$(bench_executed_rows)" || fail "could not count the history rows"
(( rows == 5 * N )) || fail "expected $((5 * N)) EXECUTED history rows in the dbc_ tables, found $rows"

t_floor=$(date +%s.%N)
for (( i = 0; i < N; i++ )); do
  "$TIDEMARK_BIN" update --url "postgresql://$ROLE:$PASS@$HOSTPORT/fo_${RUN}_$(( i % NNS ))" \
    --search-path "$WORK" --changelog changelog.yaml --changelog-table "public.flr_$i" \
    --to-tag v2 >/dev/null || fail "tidemark update flr_$i to v2"
done
floor_s="$(awk -v a="$t_floor" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"

sessions_max="$(bench_max sessions)"
applies_max="$(bench_max tidemark_applies_in_flight)"
applies_server_max="$(bench_max tidemark_applies_in_flight_by_server)"
wait_p50="$(bench_hist_quantile 0.5 tidemark_apply_queue_wait_seconds "" "$WORK/metrics")"
wait_p99="$(bench_hist_quantile 0.99 tidemark_apply_queue_wait_seconds "" "$WORK/metrics")"
waited="$(awk 'index($1, "tidemark_apply_queue_wait_seconds_count") == 1 {print $NF}' "$WORK/metrics")"
pool_waits="$(awk 'index($1, "tidemark_db_connection_waits_total{") == 1 {s += $NF} END {print s + 0}' "$WORK/metrics")"
reconciles="$(awk 'index($1, "tidemark_reconcile_total{") == 1 {
    k = $1; sub(/.*kind="/, "", k); sub(/".*/, "", k); s[k] += $NF }
  END { for (x in s) printf "%s%s=%s", (n++ ? "," : ""), x, s[x] }' "$WORK/metrics")"
errors="$(awk 'index($1, "tidemark_reconcile_errors_total") == 1 {s += $NF} END {print s + 0}' "$WORK/metrics")"
# the DBRollout workers' time: in all, and per reconcile (what Events sent from the worker cost)
rollout_busy="$(awk '$1 == "tidemark_reconcile_duration_seconds_sum{kind=\"DBRollout\"}" {s = $NF}
  $1 == "tidemark_reconcile_duration_seconds_count{kind=\"DBRollout\"}" {n = $NF}
  END { printf "rollout_worker_s=%.1f rollout_reconcile_mean_s=%.3f", s, n ? s / n : 0 }' "$WORK/metrics")"
dropped="$(awk '$1 == "tidemark_events_dropped_total" {print $NF}' "$WORK/metrics")"
printf 'fanout_rollouts n=%s databases=%s apply_sleep_s=%s max_conns_per_server=%s max_applies=%s max_applies_per_server=%s workers_dbrollout=%s total_s=%s floor_s=%s speedup=%s sessions_max=%s applies_max=%s applies_server_max=%s queue_wait_p50_s=%s queue_wait_p99_s=%s applies_timed=%s pool_waits=%s reconciles=%s reconcile_errors=%s %s events_dropped=%s rss_peak_kib=%s\n' \
  "$N" "$NNS" "$SLEEP" "$MAX_CONNS" "$MAX_APPLIES" "$MAX_APPLIES_SERVER" "$WORKERS" "$total_s" \
  "$floor_s" "$(awk -v a="$floor_s" -v b="$total_s" 'BEGIN { printf "%.2f", a / b }')" \
  "$sessions_max" "$applies_max" "$applies_server_max" "$wait_p50" "$wait_p99" "$waited" \
  "$pool_waits" "$reconciles" "$errors" "$rollout_busy" "${dropped:-0}" "$rss"
bench_warn_summary "$WORK/ctl.log" "fanout_rollouts warn:"
if [[ -n "${TM_BENCH_KEEP_DIR:-}" ]]; then
  mkdir -p "$TM_BENCH_KEEP_DIR"
  cp "$WORK/ctl.log" "$WORK/metrics" "$TM_BENCH_KEEP_DIR/"
fi
(( sessions_max <= MAX_CONNS )) ||
  fail "$sessions_max sessions seen in pg_stat_activity, above --max-connections-per-server $MAX_CONNS"
(( applies_max <= MAX_APPLIES )) ||
  fail "$applies_max applies in flight seen, above --max-concurrent-applies $MAX_APPLIES"
(( applies_server_max <= MAX_APPLIES_SERVER )) ||
  fail "$applies_server_max applies in flight on one server, above --max-concurrent-applies-per-server $MAX_APPLIES_SERVER"
