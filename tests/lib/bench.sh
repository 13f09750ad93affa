# shellcheck shell=bash
# tidemark tests/lib/bench.sh — what the scale benches (tests/bench/scale_*.sh, fanout_rollouts.sh)
# share: a role and its objects on the harness's PostgreSQL, a controller over ALL namespaces,
# a sampler of its sessions (and of /metrics gauges), histogram quantiles, the log's warnings.
#
#   bench_init PREFIX          RUN (unique), ROLE=PREFIX_RUN with password PASS (dropped at exit),
#                              PG_BASE (TIDEMARK_PG_URL without its database), HOSTPORT, PGHOST_,
#                              PGPORT_; NAMESPACES and DATABASES (the caller appends) are deleted
#                              at exit with the controller and sampler stopped; needs WORK
#   bench_drop_objects         delete NAMESPACES and DATABASES now and empty both lists
#   bench_write_namespace FILE NS CHANGELOG [LABELS]   write to FILE a Namespace NS (with
#                              LABELS, a YAML flow map's inside: 'a: "b"'), a Secret db-creds of
#                              ROLE and PASS, and a DBSchema app holding CHANGELOG (a file's
#                              text) inline as changelog.yaml
#   bench_add_instance FILE NS NAME DB [SPEC_LINES]   append a DBInstance NAME of schema app on
#                              database DB of the harness's server (PGHOST_, PGPORT_, db-creds)
#                              with SPEC_LINES (YAML indented two spaces) added to its spec
#   bench_start_controller LOG [ARGS...]   `tidemark controller` (all namespaces, loopback
#                              ports, JSON logs appended to LOG) with ARGS; waits for its listener:
#                              pid in BENCH_CTL_PID, metrics port in BENCH_MPORT
#   bench_stop_controller      SIGTERM and wait
#   bench_sampler_start [METRIC...]   every 0.2 s until stopped: the controller's sessions in
#                              pg_stat_activity (application_name tidemark, user ROLE), their
#                              most in $WORK/max.sessions; with METRICs, /metrics too
#                              (BENCH_MPORT), the highest sample of any series of each in
#                              $WORK/max.METRIC
#   bench_sampler_stop
#   bench_max NAME             what the sampler saw at most of NAME (sessions or a METRIC)
#   bench_executed_rows        the EXECUTED rows of every history table named dbc_* in the
#                              public schema of each of DATABASES, summed (one query a database)
#   bench_hist_quantile Q METRIC FILTER FILE [BASE]   histogram_quantile(Q) in seconds of
#                              METRIC's buckets in the scrape FILE, summed over the series whose
#                              labels contain FILTER ("" = all), minus those in the scrape BASE
#                              (a window); "n/a" without observations, ">X" past the last bound
#   bench_log_on_failure LOG   at exit, when the bench failed, print LOG's last 20 warnings
#                              and errors (call after bench_init: runs before the cleanup)
#   bench_warn_summary LOG PREFIX [N]   the N (5) commonest warn/error messages of LOG, numbers
#                              masked, each line starting with PREFIX
# Needs the bench harness env (KUBECONFIG, TIDEMARK_PG_URL, TIDEMARK_BIN).

[[ -n "${TM_LIB_BENCH_LOADED:-}" ]] && return 0
TM_LIB_BENCH_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/controller.sh"
source "$(dirname "${BASH_SOURCE[0]}")/db.sh"

BENCH_CTL_PID=""
BENCH_MPORT=""
BENCH_SAMPLER_PID=""
NAMESPACES=()
DATABASES=()

bench_init() {
  RUN="$(printf '%x%04x' "$(date +%s)" "$RANDOM")"
  ROLE="${1}_$RUN"
  PASS="p$(random_hex 8)"
  PG_BASE="${TIDEMARK_PG_URL%/*}"
  HOSTPORT="${PG_BASE#*@}"; PGHOST_="${HOSTPORT%:*}"; PGPORT_="${HOSTPORT##*:}"
  new_role "$ROLE" "$PASS"
  at_exit _bench_cleanup
}

bench_drop_objects() {
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

_bench_cleanup() {
  bench_sampler_stop
  bench_stop_controller
  bench_drop_objects
  return 0
}

bench_write_namespace() {
  local file=$1 ns=$2 body
  body="$(sed 's/^/          /' <<<"$3")"
  cat >"$file" <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $ns, labels: {${4:-}}}
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
}

bench_add_instance() {
  cat >>"$1" <<YAML
---
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: $3, namespace: $2}
spec:
  schemaRef: {name: app}
  connection:
    host: "$PGHOST_"
    port: $PGPORT_
    database: "$4"
    sslMode: disable
    userSecretRef: {name: db-creds}
${5:-}
YAML
}

bench_start_controller() {
  local logf=$1; shift
  "$TIDEMARK_BIN" controller --metrics-addr 127.0.0.1:0 --health-addr 127.0.0.1:0 \
    --log-format json --log-level info "$@" >>"$logf" 2>&1 &
  BENCH_CTL_PID=$!
  wait_for -t 30 grep -q '"msg":"http listening"' "$logf" || fail "the controller did not start"
  BENCH_MPORT="$(log_port "$logf" metrics)"
  [[ -n "$BENCH_MPORT" ]] || fail "no metrics port in the controller log"
}

bench_stop_controller() {
  if [[ -n "$BENCH_CTL_PID" ]]; then
    kill -TERM "$BENCH_CTL_PID" 2>/dev/null || true
    wait "$BENCH_CTL_PID" 2>/dev/null || true
    BENCH_CTL_PID=""
  fi
}

bench_sampler_start() {
  local m
  echo 0 >"$WORK/max.sessions"
  for m in "$@"; do echo 0 >"$WORK/max.$m"; done
  _bench_sample "$@" &
  BENCH_SAMPLER_PID=$!
}

_bench_sample() {
  local max=0 c m v scrape
  declare -A most
  while :; do
    c="$(q_admin "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'tidemark' AND usename = '$ROLE'" 2>/dev/null || echo 0)"
    (( c > max )) && { max=$c; echo "$max" >"$WORK/max.sessions"; }
    if (( $# > 0 )) && scrape="$(curl -sf "http://127.0.0.1:$BENCH_MPORT/metrics" 2>/dev/null)"; then
      for m in "$@"; do
        v="$(awk -v m="$m" '$1 == m || index($1, m "{") == 1 { if ($NF + 0 > x) x = $NF + 0 }
                            END { print x + 0 }' <<<"$scrape")"
        (( v > ${most[$m]:-0} )) && { most[$m]=$v; echo "$v" >"$WORK/max.$m"; }
      done
    fi
    sleep 0.2
  done
}

bench_sampler_stop() {
  if [[ -n "$BENCH_SAMPLER_PID" ]]; then
    kill "$BENCH_SAMPLER_PID" 2>/dev/null || true
    wait "$BENCH_SAMPLER_PID" 2>/dev/null || true
    BENCH_SAMPLER_PID=""
  fi
}

bench_max() { cat "$WORK/max.$1"; }

bench_executed_rows() {
  local rows=0 db r
  for db in "${DATABASES[@]}"; do
    r="$(psql "$PG_BASE/$db" -qAtX -c "SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml(
          format('SELECT count(*) AS c FROM public.%I WHERE exectype = ''EXECUTED''', tablename),
          false, true, '')))[1]::text::int), 0)
        FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'dbc\\_%'")" || return 1
    rows=$(( rows + r ))
  done
  echo "$rows"
}

bench_hist_quantile() {
  local q=$1 metric=$2 filter=$3 file=$4 base=${5:-/dev/null}
  awk -v q="$q" -v m="${metric}_bucket{" -v f="$filter" '
    index($1, m) == 1 && (f == "" || index($1, f) > 0) {
      le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
      if (FILENAME == ARGV[1]) { before[le] += $NF; next }
      if (!(le in c)) { n++; ub[n] = (le == "+Inf") ? -1 : le + 0; key[n] = le }
      c[le] += $NF }
    END {
      if (n == 0 || c["+Inf"] - before["+Inf"] == 0) { print "n/a"; exit }
      rank = q * (c["+Inf"] - before["+Inf"]); pu = 0; pc = 0
      for (i = 1; i <= n; i++) { ci = c[key[i]] - before[key[i]]
        if (ci >= rank) {
          if (ub[i] < 0) { printf ">%g", pu; exit }
          w = ci - pc; printf "%.3f", (w > 0) ? pu + (ub[i] - pu) * (rank - pc) / w : ub[i]; exit }
        pu = ub[i]; pc = ci } }' "$base" "$file"
}

bench_log_on_failure() {
  BENCH_FAIL_LOG=$1
  at_exit _bench_print_failure_log
}

_bench_print_failure_log() {
  if [[ $TM_RC -ne 0 && -f "$BENCH_FAIL_LOG" ]]; then
    log "controller log (warnings and errors, last 20):"
    grep '"level":"\(warn\|error\)"' "$BENCH_FAIL_LOG" | tail -n 20 >&2 || true
  fi
  return 0
}

bench_warn_summary() {
  local logf=$1 prefix=$2 n=${3:-5}
  grep '"level":"\(warn\|error\)"' "$logf" \
    | sed -n 's/.*"msg":"\([^"]*\)".*"err":"\([^"]\{0,90\}\).*/\1: \2/p' \
    | sed 's/[0-9a-f]\{8,\}/#/g; s/[0-9]\+/N/g' | sort | uniq -c | sort -rn | head -n "$n" \
    | sed "s/^/$prefix /" || true
}
