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
source "$(dirname "${BASH_SOURCE[0]}")/../lib/controller.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/db.sh"
require_controlplane
require_tidemark
require_postgres

N_LIST="${TM_SCALE_N:-${N_LIST:-10 100}}"
MAX_NS="${SCALE_NAMESPACES:-50}"
RUN="$(printf '%x%04x' "$(date +%s)" "$RANDOM")"
ROLE="scale_$RUN"
PASS="p$(random_hex 8)"
PG_BASE="${TIDEMARK_PG_URL%/*}"
HOSTPORT="${PG_BASE#*@}"; PGHOST_="${HOSTPORT%:*}"; PGPORT_="${HOSTPORT##*:}"
WORK="$(mktemp -d /tmp/tidemark-scale.XXXXXX)"
CTL_PID=""
NAMESPACES=()
DATABASES=()
RESULTS=()

stop_ctl() {
  if [[ -n "$CTL_PID" ]]; then
    kill -TERM "$CTL_PID" 2>/dev/null || true
    wait "$CTL_PID" 2>/dev/null || true
    CTL_PID=""
  fi
}

teardown_round() {
  stop_ctl
  local ns db
  for ns in "${NAMESPACES[@]}"; do
    k delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  done
  for db in "${DATABASES[@]}"; do
    q_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  NAMESPACES=()
  DATABASES=()
}

at_exit 'rm -rf "$WORK"'
new_role "$ROLE" "$PASS"
cleanup() {
  if [[ $TM_RC -ne 0 && -f "$WORK/ctl.log" ]]; then
    log "controller log (last 30 lines but reconciled):"
    grep -v '"reconciled"' "$WORK/ctl.log" | tail -n 30 >&2 || true
  fi
  teardown_round
}
at_exit cleanup
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
  local n=$1 nns k i ns db f body
  nns=$(( n < MAX_NS ? n : MAX_NS ))
  rm -rf "$WORK/objects"
  mkdir -p "$WORK/objects"
  body="$(sed 's/^/          /' <<<"$CHANGELOG")"
  for (( k = 0; k < nns; k++ )); do
    ns="scale-$RUN-n$n-$k"
    db="scale_${RUN}_n${n}_$k"
    NAMESPACES+=("$ns")
    DATABASES+=("$db")
    q_admin "CREATE DATABASE $db OWNER $ROLE" >/dev/null
    f="$WORK/objects/ns-$(printf %03d "$k").yaml"
    cat >"$f" <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $ns, labels: {tidemark-scale: "$RUN"}}
---
apiVersion: v1
kind: Secret
metadata: {name: db-creds, namespace: $ns}
stringData: {username: "$ROLE", password: "$PASS"}
---
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: app, namespace: $ns}
spec:
  changelog: changelog.yaml
  source:
    inline:
      files:
        changelog.yaml: |
$body
YAML
  done
  for (( i = 0; i < n; i++ )); do
    k=$(( i % nns ))
    ns="scale-$RUN-n$n-$k"
    db="scale_${RUN}_n${n}_$k"
    cat >>"$WORK/objects/ns-$(printf %03d "$k").yaml" <<YAML
---
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: db-$i, namespace: $ns}
spec:
  schemaRef: {name: app}
  connection:
    host: "$PGHOST_"
    port: $PGPORT_
    database: "$db"
    sslMode: disable
    userSecretRef: {name: db-creds}
  changelogTable: public.dbc_$i
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
  awk -v kind="$1" -v q="$2" '
    index($1, "tidemark_reconcile_duration_seconds_bucket{") == 1 && index($1, "kind=\"" kind "\"") > 0 {
      le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
      n++; ub[n] = (le == "+Inf") ? -1 : le + 0; c[n] = $NF + 0
    }
    END {
      if (n == 0 || c[n] == 0) { print "n/a"; exit }
      total = c[n]; rank = q * total; prev_ub = 0; prev_c = 0
      for (i = 1; i <= n; i++) {
        if (c[i] >= rank) {
          if (ub[i] < 0) { printf ">%.0f", prev_ub * 1000; exit }
          w = c[i] - prev_c
          v = (w > 0) ? prev_ub + (ub[i] - prev_ub) * (rank - prev_c) / w : ub[i]
          printf "%.1f", v * 1000; exit
        }
        prev_ub = ub[i]; prev_c = c[i]
      }
    }' "$WORK/metrics"
}

run_round() {
  local n=$1 t0 t_ready deadline ready=0 port mport last_log=0 interval conns pg_max=0
  log "N=$n: creating objects in $(( n < MAX_NS ? n : MAX_NS )) namespaces"
  t0=$(date +%s)
  make_objects "$n"
  log "N=$n: created in $(( $(date +%s) - t0 ))s; starting the controller"
  : >"$WORK/ctl.log"
  t0=$(date +%s.%N)
  "$TIDEMARK_BIN" controller --metrics-addr 127.0.0.1:0 --health-addr 127.0.0.1:0 \
    --log-format json --log-level info ${SCALE_CONTROLLER_ARGS:-} >>"$WORK/ctl.log" 2>&1 &
  CTL_PID=$!
  wait_for -t 30 grep -q '"msg":"http listening"' "$WORK/ctl.log" || fail "controller did not start"
  mport="$(log_port "$WORK/ctl.log" metrics)"
  [[ -n "$mport" ]] || fail "no metrics port in the controller log"
  interval=$(( n >= 1000 ? 5 : 2 ))
  deadline=$(( $(date +%s) + ${SCALE_TIMEOUT:-$(( 300 + 2 * n ))} ))
  while :; do
    kill -0 "$CTL_PID" 2>/dev/null || fail "N=$n: the controller exited (see its log)"
    ready="$(ready_count)"
    conns="$(q_admin "SELECT count(*) FROM pg_stat_activity WHERE usename = '$ROLE'" 2>/dev/null || echo 0)"
    (( conns > pg_max )) && pg_max=$conns
    if (( ready >= n )); then break; fi
    if (( $(date +%s) - last_log >= 30 )); then
      log "N=$n: $ready/$n Ready, $conns connections"
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
  curl -sf "http://127.0.0.1:$mport/metrics" >"$WORK/metrics" || fail "scrape /metrics"
  local hwm rss api by_verb errs p50r p99r p50i p99i p50s p99s hist_rows ready_s
  hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$CTL_PID/status")"
  rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$CTL_PID/status")"
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
  local rows=0 db r
  for db in "${DATABASES[@]}"; do
    r="$(psql "$PG_BASE/$db" -qAtX -c "SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml(
          format('SELECT count(*) AS c FROM public.%I WHERE exectype = ''EXECUTED''', tablename),
          false, true, '')))[1]::text::int), 0)
        FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'dbc\\_%'")"
    rows=$(( rows + r ))
  done
  (( rows == 4 * n )) || fail "N=$n: expected $((4 * n)) EXECUTED history rows, found $rows"
  printf 'scale_rollouts n=%s namespaces=%s ready_s=%s rss_peak_kib=%s rss_end_kib=%s api_requests=%s api_by_verb=%s reconciles=%s reconcile_errors=%s dbrollout_p50_ms=%s dbrollout_p99_ms=%s dbinstance_p50_ms=%s dbinstance_p99_ms=%s dbschema_p50_ms=%s dbschema_p99_ms=%s pg_conns_max=%s\n' \
    "$n" "${#NAMESPACES[@]}" "$ready_s" "$hwm" "$rss" "$api" "$by_verb" \
    "$hist_rows" "$errs" "$p50r" "$p99r" "$p50i" "$p99i" "$p50s" "$p99s" "$pg_max"
  # what the errors were: the controller's warn/error lines by message and err
  grep '"level":"\(warn\|error\)"' "$WORK/ctl.log" \
    | sed -n 's/.*"msg":"\([^"]*\)".*"err":"\([^"]\{0,90\}\).*/\1: \2/p' \
    | sed 's/[0-9a-f]\{8,\}/#/g; s/[0-9]\+/N/g' | sort | uniq -c | sort -rn | head -n 8 \
    | sed "s/^/scale_rollouts n=$n warn: /" || true
  if [[ -n "${SCALE_KEEP_DIR:-}" ]]; then
    mkdir -p "$SCALE_KEEP_DIR"
    cp "$WORK/ctl.log" "$SCALE_KEEP_DIR/ctl-$n.log"
    cp "$WORK/metrics" "$SCALE_KEEP_DIR/metrics-$n.txt"
  fi
  RESULTS+=("$(printf '%6s %5s %9s %10s %9s %8s %14s %14s %14s %8s' "$n" "${#NAMESPACES[@]}" "$ready_s" \
    "$hwm" "$api" "$errs" "$p50r/$p99r" "$p50i/$p99i" "$p50s/$p99s" "$pg_max")")
  teardown_round
}

for n in $N_LIST; do
  run_round "$n"
done
printf '\n%6s %5s %9s %10s %9s %8s %14s %14s %14s %8s\n' N ns ready_s rss_kib api_req rec_err \
  'rollout p50/99' 'inst p50/99' 'schema p50/99' pg_conns
printf '%s\n' "${RESULTS[@]}"
echo "(latencies in ms from the reconcile-duration histogram; rss = VmHWM; pg_conns = peak seen)"
