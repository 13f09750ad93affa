#!/usr/bin/env bash
# tidemark tests/e2e/controller_http.sh — a running `tidemark controller` answers /healthz,
# /readyz and /metrics (Prometheus text 0.0.4) over HTTP, 404 elsewhere, on separate metrics and
# health listeners; SIGTERM makes it exit 0 and close the listeners.
# Needs KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_BIN (exported by the ctest harness).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_controlplane
[[ -x "${TIDEMARK_BIN:-}" ]] || fail "TIDEMARK_BIN is not set or not executable"

NS="$(unique_ns ctlhttp)"
WORK="$(mktemp -d)"
PID=""
cleanup() {
  local rc=$?
  [[ -n "$PID" ]] && { kill -9 "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  if [[ $rc -ne 0 ]]; then log "controller_http failed (rc=$rc); log:"; tail -n 20 "$WORK/ctl.log" >&2 || true
  else log "PASS controller_http"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
k create namespace "$NS" >/dev/null || fail "could not create namespace $NS"
# the controller watches the tidemark kinds: their CRDs must be served for caches to sync
# (applied, never deleted: other tests share them)
SRC="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
k apply -k "$SRC/crds" >/dev/null || fail "could not apply $SRC/crds"
for crd in dbschemas.tidemark.dev dbinstances.tidemark.dev dbrollouts.tidemark.dev; do
  wait_for_output -t 30 True k get crd "$crd" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' \
    || fail "CRD $crd not Established"
done

"$TIDEMARK_BIN" controller --namespace "$NS" --metrics-addr 127.0.0.1:0 --health-addr 127.0.0.1:0 \
  --log-format json --log-level info >"$WORK/ctl.log" 2>&1 &
PID=$!
wait_for -t 20 grep -q '"msg":"http listening"' "$WORK/ctl.log" || fail "controller did not start listening"
MPORT="$(sed -n 's/.*"msg":"http listening".*"metrics_port":\([0-9]*\).*/\1/p' "$WORK/ctl.log")"
HPORT="$(sed -n 's/.*"msg":"http listening".*"health_port":\([0-9]*\).*/\1/p' "$WORK/ctl.log")"
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

kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
PID=""
[[ $rc -eq 0 ]] || fail "after SIGTERM: expected exit 0, got $rc"
grep -q '"msg":"controller stopped"' "$WORK/ctl.log" || fail "expected a 'controller stopped' log line"
[[ "$(code "$HPORT" /healthz)" == 000 ]] || fail "after exit: the health port should be closed"
