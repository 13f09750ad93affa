#!/usr/bin/env bash
# tidemark tests/e2e/controller_http.sh — a running `tidemark controller` answers /healthz,
# /readyz and /metrics (Prometheus text 0.0.4) over HTTP, 404 elsewhere, on separate metrics and
# health listeners; SIGTERM makes it exit 0 and close the listeners.
# Needs KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_BIN (exported by the ctest harness).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/controller.sh"
require_controlplane
require_tidemark
new_work_dir
new_namespace ctlhttp
# the controller watches the tidemark kinds: their CRDs must be served for caches to sync
# (applied, never deleted: other tests share them)
install_crds

CTL_LOG="$WORK/ctl.log"
start_controller --log-level info
wait_for -t 20 grep -q '"msg":"http listening"' "$CTL_LOG" || fail "controller did not start listening"
MPORT="$(log_port "$CTL_LOG" metrics)"
HPORT="$(log_port "$CTL_LOG" health)"
[[ -n "$MPORT" && -n "$HPORT" && "$MPORT" != "$HPORT" ]] || fail "expected two listeners, got '$MPORT' '$HPORT'"

code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1$2"; }
[[ "$(code "$HPORT" /healthz)" == 200 ]] || fail "/healthz: expected 200"
wait_for_output -t 30 200 code "$HPORT" /readyz || fail "/readyz: expected 200 once caches synced"
[[ "$(code "$HPORT" /nope)" == 404 ]] || fail "/nope: expected 404"

headers="$(curl -fsS -D - -o "$WORK/metrics.txt" "http://127.0.0.1:$MPORT/metrics")" || fail "/metrics failed"
grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' <<<"$headers" \
  || fail "/metrics: expected the 0.0.4 text content type; headers: $headers"
grep -q '^# TYPE tidemark_process_resident_memory_bytes gauge$' "$WORK/metrics.txt" \
  || fail "/metrics: expected tidemark_process_resident_memory_bytes; got: $(cat "$WORK/metrics.txt")"
rss="$(sed -n 's/^tidemark_process_resident_memory_bytes \(.*\)$/\1/p' "$WORK/metrics.txt")"
awk -v r="$rss" 'BEGIN{exit !(r > 1000000)}' || fail "/metrics: implausible RSS '$rss'"
grep -q '^tidemark_leader 1$' "$WORK/metrics.txt" || fail "/metrics: expected tidemark_leader 1 without election"
# every sample line is "name{labels} value" (exposition format), every family has HELP and TYPE
bad="$(grep -v '^#' "$WORK/metrics.txt" | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfNa]+$' || true)"
[[ -z "$bad" ]] || fail "/metrics: malformed sample lines: $bad"
log "metrics ok: rss=$rss"

stop_controller
rc="${CTL_STOP_RCS[-1]}"
[[ $rc == 0 ]] || fail "after SIGTERM: expected exit 0, got $rc"
grep -q '"msg":"controller stopped"' "$WORK/ctl.log" || fail "expected a 'controller stopped' log line"
[[ "$(code "$HPORT" /healthz)" == 000 ]] || fail "after exit: the health port should be closed"
