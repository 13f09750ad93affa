#!/usr/bin/env bash
# tidemark tests/bench/controller_idle_rss.sh — resident memory of an idle `tidemark controller`
# (the real binary with its reconcilers) watching the tidemark kinds, Deployments, Secrets and
# ConfigMaps of an empty namespace, after its caches synced.  Target: RSS <= 10 MiB.
# It prints, in KiB:
#   controller_idle_rss   RSS, PSS and anonymous memory of the controller, run twice: with a
#                         plain environment, and as manifests/deployment.yaml runs it
#                         (GNUTLS_NO_IMPLICIT_INIT=1: gnutls is loaded only because Debian's
#                         libcurl links librtmp, and its implicit init loads p11-kit modules);
#   library_floor_rss     the RSS of `tidemark version` (every library mapped, nothing done)
#                         and of rss_floor_https (the same libraries, one verified libcurl
#                         HTTPS GET to this API server, then idle): the floor any libcurl +
#                         OpenSSL client of the API server starts from.  The controller's
#                         own cost is its RSS minus that floor.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/controller.sh"
require_controlplane
require_tidemark
FLOOR_BIN="${TIDEMARK_BUILD_DIR:-$(dirname "$TIDEMARK_BIN")}/tests/rss_floor_https"
[[ -x "$FLOOR_BIN" ]] || fail "$FLOOR_BIN is not built"
new_work_dir
PID=""
at_exit '[[ -n "$PID" ]] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }'
new_namespace idle
install_crds

kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup"; }

# measure_controller LABEL [ENV=VALUE...]: start, wait for /readyz, settle, print, stop
measure_controller() {
  local label=$1 port rss pss anon threads
  shift
  : >"$WORK/ctl.log"
  env "$@" "$TIDEMARK_BIN" controller --namespace "$NS" --metrics-addr 0 \
    --health-addr 127.0.0.1:0 --log-level info >"$WORK/ctl.log" 2>&1 &
  PID=$!
  wait_for -t 20 grep -q '"msg":"http listening"' "$WORK/ctl.log" || fail "controller did not start listening"
  port="$(log_port "$WORK/ctl.log" health)"
  wait_for_output -t 30 200 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz"
  sleep 3 # idle: let start-up allocations settle (a measurement, not a synchronisation)
  rss=$(kb "$PID" Rss); pss=$(kb "$PID" Pss); anon=$(kb "$PID" Anonymous)
  threads=$(find "/proc/$PID/task" -mindepth 1 -maxdepth 1 | wc -l)
  kill -TERM "$PID"
  wait "$PID" || fail "the controller did not exit 0 on SIGTERM"
  PID=""
  printf 'controller_idle_rss env=%s rss_kib=%s pss_kib=%s anon_kib=%s threads=%s target_rss_kib=10240\n' \
    "$label" "$rss" "$pss" "$anon" "$threads"
}
measure_controller plain
measure_controller deployment GNUTLS_NO_IMPLICIT_INIT=1

# the libraries' floor
base=n/a
if [[ -x /usr/bin/time ]]; then base=$( { /usr/bin/time -f '%M' "$TIDEMARK_BIN" version >/dev/null; } 2>&1 | tail -1); fi
server="$(k config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')"
k config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' \
  | base64 -d >"$WORK/ca.pem"
# measure_floor LABEL [ENV=VALUE...]
measure_floor() {
  local label=$1 floor
  shift
  rm -f "$WORK/in"
  mkfifo "$WORK/in"
  env "$@" "$FLOOR_BIN" "$server/livez" "$WORK/ca.pem" <"$WORK/in" >"$WORK/floor.out" 2>&1 &
  PID=$!
  exec 7>"$WORK/in" # opening the write end lets the floor process start
  wait_for -t 20 grep -q '^ready 200' "$WORK/floor.out" || fail "rss_floor_https: $(cat "$WORK/floor.out")"
  sleep 1
  floor=$(kb "$PID" Rss)
  exec 7>&- # EOF on its stdin: it exits
  wait "$PID" || fail "rss_floor_https did not exit 0"
  PID=""
  printf 'library_floor_rss env=%s version_rss_kib=%s https_get_rss_kib=%s\n' "$label" "$base" "$floor"
}
measure_floor plain
measure_floor deployment GNUTLS_NO_IMPLICIT_INIT=1
