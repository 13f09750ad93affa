#!/usr/bin/env bash
# tidemark tests/bench/scale_rollouts.sh — one `tidemark controller` (all namespaces) against
# N DBInstances and N DBRollouts spread over up to 50 namespaces and ONE PostgreSQL.
#
# Layout: per namespace one database (scale_<run>_<k>), one DBSchema (inline YAML: three
# changesets and a tag v1) and one Secret; per instance a DBInstance with its own history
# table (changelogTable public.dbc_<i>) and a DBRollout to tag v1, without a Deployment.
# The changesets share their tables inside one database, so each takes a transaction-level
# advisory lock before its `… IF NOT EXISTS` DDL (concurrent CREATE TABLE IF NOT EXISTS can
# otherwise fail on pg_type); every instance still records its own history rows.
#
# For each N (N_LIST, default "10 100"; TM_SCALE_N="10 100 1000" for the full run) the objects
# are created first, then a fresh controller starts, and the script measures:
#   ready_s       controller start -> every DBRollout Ready=True (polled every 2-5 s)
#   rss_peak_kib  VmHWM of the controller (/proc/PID/status) at the end
#   api_requests  sum of tidemark_api_requests_total (/metrics), and per verb
#   p50/p99       reconcile latency per kind from tidemark_reconcile_duration_seconds
#                 (histogram_quantile-style linear interpolation inside the bucket)
#   pg_conns_max  peak connections of the bench role seen in pg_stat_activity
# then prints one table.  A run whose rollouts do not all become Ready before the deadline
# (SCALE_TIMEOUT, default 300 + 2N s) prints the phases it reached and fails.
# Needs the env of the bench harness: KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_PG_URL,
# TIDEMARK_BIN; psql, curl.  It watches ALL namespaces: run it alone (ctest -L bench -j1).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/bench.sh"
require_controlplane
require_tidemark
require_postgres

N_LIST="${TM_SCALE_N:-${N_LIST:-10 100}}"
MAX_NS="${SCALE_NAMESPACES:-50}"
new_work_dir
bench_init scale
bench_log_on_failure "$WORK/ctl.log"
RESULTS=()
install_crds

# The changelog every namespace's DBSchema carries (indented under files: changelog.yaml: |).
CHANGELOG='databaseChangeLog:
- changeSet:
    id: "1"
    author: scale
    changes:
    - sql: "SELECT pg_advisory_xact_lock(7301, 1); CREATE TABLE IF NOT EXISTS items (id bigint PRIMARY KEY, name text)"
    rollback: "SELECT 1"
- changeSet:
    id: "2"
    author: scale
    changes:
    - sql: "SELECT pg_advisory_xact_lock(7301, 1); CREATE INDEX IF NOT EXISTS items_name ON items (name)"
    rollback: "SELECT 1"
- changeSet:
    id: "3"
    author: scale
    changes:
    - sql: "SELECT pg_advisory_xact_lock(7301, 1); ALTER TABLE items ADD COLUMN IF NOT EXISTS note text"
    rollback: "SELECT 1"
- changeSet:
    id: "4"
    author: scale
    changes:
    - tagDatabase: {tag: v1}'

# objects N: writes $WORK/ns-<k>.yaml for every namespace and creates namespaces + databases.
make_objects() {
  local n=$1 nns k i ns db
  nns=$(( n < MAX_NS ? n : MAX_NS ))
  rm -rf "$WORK/objects"
  mkdir -p "$WORK/objects"
  for (( k = 0; k < nns; k++ )); do
    ns="scale-$RUN-n$n-$k"
    db="scale_${RUN}_n${n}_$k"
    NAMESPACES+=("$ns")
    DATABASES+=("$db")
    q_admin "CREATE DATABASE $db OWNER $ROLE" >/dev/null
    bench_write_namespace "$WORK/objects/ns-$(printf %03d "$k").yaml" "$ns" "$CHANGELOG" \
      "tidemark-scale: \"$RUN\""
  done
  for (( i = 0; i < n; i++ )); do
    k=$(( i % nns ))
    ns="scale-$RUN-n$n-$k"
    db="scale_${RUN}_n${n}_$k"
    bench_add_instance "$WORK/objects/ns-$(printf %03d "$k").yaml" "$ns" "db-$i" "$db" \
      "  changelogTable: public.dbc_$i"
    cat >>"$WORK/objects/ns-$(printf %03d "$k").yaml" <<YAML
---
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: ro-$i, namespace: $ns, labels: {tidemark-scale: "$RUN"}}
spec:
  instanceRef: {name: db-$i}
  tag: v1
YAML
  done
  # one kubectl for all files (its start-up and discovery dominate otherwise); each file
  # starts with its Namespace, and files are read in order
  k create -f "$WORK/objects" >/dev/null || fail "create the objects"
}

# ready_count: DBRollouts of this run with Ready=True.
ready_count() {
  k get dbrollouts -A -l "tidemark-scale=$RUN" \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' \
    | grep -c '^True$' || true
}

# metric_sum NAME [LABEL_FILTER]: sum of a counter's samples over all label sets.
metric_sum() {
  awk -v m="$1" -v f="${2:-}" '
    $1 ~ "^"m"({|$)" && (f == "" || index($1, f) > 0) { s += $NF }
    END { printf "%.0f", s }' "$WORK/metrics"
}

# quantile KIND Q: histogram_quantile(Q) of tidemark_reconcile_duration_seconds{kind=KIND}, in ms.
quantile() {
  local v
  v="$(bench_hist_quantile "$2" tidemark_reconcile_duration_seconds "kind=\"$1\"" "$WORK/metrics")"
  case "$v" in
    n/a) echo n/a ;;
    ">"*) awk -v x="${v#>}" 'BEGIN { printf ">%.0f", x * 1000 }' ;;
    *) awk -v x="$v" 'BEGIN { printf "%.1f", x * 1000 }' ;;
  esac
}

run_round() {
  local n=$1 t0 t_ready deadline ready=0 last_log=0 interval pg_max
  log "N=$n: creating objects in $(( n < MAX_NS ? n : MAX_NS )) namespaces"
  t0=$(date +%s)
  make_objects "$n"
  log "N=$n: created in $(( $(date +%s) - t0 ))s; starting the controller"
  : >"$WORK/ctl.log"
  t0=$(date +%s.%N)
  bench_sampler_start
  # shellcheck disable=SC2086 # SCALE_CONTROLLER_ARGS: words
  bench_start_controller "$WORK/ctl.log" ${SCALE_CONTROLLER_ARGS:-}
  interval=$(( n >= 1000 ? 5 : 2 ))
  deadline=$(( $(date +%s) + ${SCALE_TIMEOUT:-$(( 300 + 2 * n ))} ))
  while :; do
    kill -0 "$BENCH_CTL_PID" 2>/dev/null || fail "N=$n: the controller exited (see its log)"
    ready="$(ready_count)"
    if (( ready >= n )); then break; fi
    if (( $(date +%s) - last_log >= 30 )); then
      log "N=$n: $ready/$n Ready, at most $(bench_max sessions) sessions so far"
      last_log=$(date +%s)
    fi
    if (( $(date +%s) >= deadline )); then
      log "N=$n: only $ready/$n Ready at the deadline; phases:"
      k get dbrollouts -A -l "tidemark-scale=$RUN" -o jsonpath='{range .items[*]}{.status.phase}/{.status.conditions[?(@.type=="Ready")].reason}{"\n"}{end}' \
        | sort | uniq -c >&2 || true
      grep '"level":"error"\|"level":"warn"' "$WORK/ctl.log" | sed 's/"ts":"[^"]*",//' \
        | cut -c1-300 | sort | uniq -c | sort -rn | head -n 15 >&2 || true
      fail "N=$n: not all DBRollouts Ready within the deadline"
    fi
    sleep "$interval"
  done
  t_ready=$(date +%s.%N)
  curl -sf "http://127.0.0.1:$BENCH_MPORT/metrics" >"$WORK/metrics" || fail "scrape /metrics"
  bench_sampler_stop
  pg_max="$(bench_max sessions)"
  local hwm rss api by_verb errs p50r p99r p50i p99i p50s p99s hist_rows ready_s
  hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$BENCH_CTL_PID/status")"
  rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$BENCH_CTL_PID/status")"
  api="$(metric_sum tidemark_api_requests_total)"
  # per verb and code, e.g. "get/200=95,patch/200=130,patch/409=6"
  by_verb="$(awk 'index($1, "tidemark_api_requests_total{") == 1 {
      v = $1; sub(/.*verb="/, "", v); sub(/".*/, "", v)
      c = $1; sub(/.*code="/, "", c); sub(/".*/, "", c)
      s[v "/" c] += $NF }
    END { o = ""; for (x in s) o = o (o == "" ? "" : ",") x "=" s[x]; print o }' "$WORK/metrics" \
    | tr ',' '\n' | sort | paste -sd, -)"
  errs="$(metric_sum tidemark_reconcile_errors_total)"
  p50r="$(quantile DBRollout 0.5)"; p99r="$(quantile DBRollout 0.99)"
  p50i="$(quantile DBInstance 0.5)"; p99i="$(quantile DBInstance 0.99)"
  p50s="$(quantile DBSchema 0.5)"; p99s="$(quantile DBSchema 0.99)"
  hist_rows="$(metric_sum tidemark_reconcile_total)"
  ready_s="$(awk -v a="$t0" -v b="$t_ready" 'BEGIN { printf "%.1f", b - a }')"
  # every instance really holds its three changesets and the tag (one query per database)
  local rows
  rows="$(bench_executed_rows)" || fail "N=$n: could not count the history rows"
  (( rows == 4 * n )) || fail "N=$n: expected $((4 * n)) EXECUTED history rows, found $rows"
  printf 'scale_rollouts n=%s namespaces=%s ready_s=%s rss_peak_kib=%s rss_end_kib=%s api_requests=%s api_by_verb=%s reconciles=%s reconcile_errors=%s dbrollout_p50_ms=%s dbrollout_p99_ms=%s dbinstance_p50_ms=%s dbinstance_p99_ms=%s dbschema_p50_ms=%s dbschema_p99_ms=%s pg_conns_max=%s\n' \
    "$n" "${#NAMESPACES[@]}" "$ready_s" "$hwm" "$rss" "$api" "$by_verb" \
    "$hist_rows" "$errs" "$p50r" "$p99r" "$p50i" "$p99i" "$p50s" "$p99s" "$pg_max"
  # what the errors were: the controller's warn/error lines by message and err
  bench_warn_summary "$WORK/ctl.log" "scale_rollouts n=$n warn:" 8
  if [[ -n "${SCALE_KEEP_DIR:-}" ]]; then
    mkdir -p "$SCALE_KEEP_DIR"
    cp "$WORK/ctl.log" "$SCALE_KEEP_DIR/ctl-$n.log"
    cp "$WORK/metrics" "$SCALE_KEEP_DIR/metrics-$n.txt"
  fi
  RESULTS+=("$(printf '%6s %5s %9s %10s %9s %8s %14s %14s %14s %8s' "$n" "${#NAMESPACES[@]}" "$ready_s" \
    "$hwm" "$api" "$errs" "$p50r/$p99r" "$p50i/$p99i" "$p50s/$p99s" "$pg_max")")
  bench_stop_controller
  bench_drop_objects
}

for n in $N_LIST; do
  run_round "$n"
done
printf '\n%6s %5s %9s %10s %9s %8s %14s %14s %14s %8s\n' N ns ready_s rss_kib api_req rec_err \
  'rollout p50/99' 'inst p50/99' 'schema p50/99' pg_conns
printf '%s\n' "${RESULTS[@]}"
echo "(latencies in ms from the reconcile-duration histogram; rss = VmHWM; pg_conns = peak seen)"
