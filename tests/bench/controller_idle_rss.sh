#!/usr/bin/env bash
# tidemark tests/bench/controller_idle_rss.sh — resident memory of an idle `tidemark controller`
# (the real binary with its reconcilers) watching the tidemark kinds, Deployments, Secrets and
# ConfigMaps of an empty namespace, after its caches synced.  Prints RSS, PSS and anonymous
# memory, and the RSS of the same binary doing nothing (`tidemark version`: the shared
# libraries' share), so the runtime's own cost can be told apart.  Target: RSS <= 10 MiB.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
require_controlplane
[[ -x "${TIDEMARK_BIN:-}" ]] || fail "TIDEMARK_BIN is not set or not executable"
SRC="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
NS="$(unique_ns idle)"
WORK="$(mktemp -d)"
PID=""
cleanup() {
  [[ -n "$PID" ]] && { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
k create namespace "$NS" >/dev/null
k apply -k "$SRC/crds" >/dev/null
for crd in dbschemas.tidemark.dev dbinstances.tidemark.dev dbrollouts.tidemark.dev; do
  wait_for_output -t 30 True k get crd "$crd" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}'
done
"$TIDEMARK_BIN" controller --namespace "$NS" --metrics-addr 0 --health-addr 127.0.0.1:0 \
  --log-level info >"$WORK/ctl.log" 2>&1 &
PID=$!
wait_for -t 20 grep -q '"msg":"http listening"' "$WORK/ctl.log" || fail "controller did not start listening"
port="$(sed -n 's/.*"msg":"http listening".*"health_port":\([0-9]*\).*/\1/p' "$WORK/ctl.log")"
wait_for_output -t 30 200 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz"
sleep 3 # idle: let start-up allocations settle (a measurement, not a synchronisation)
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/smaps_rollup"; }
rss=$(kb Rss); pss=$(kb Pss); anon=$(kb Anonymous)
base=n/a
if [[ -x /usr/bin/time ]]; then base=$( { /usr/bin/time -f '%M' "$TIDEMARK_BIN" version >/dev/null; } 2>&1 | tail -1); fi
threads=$(ls "/proc/$PID/task" | wc -l)
printf 'controller_idle_rss rss_kib=%s pss_kib=%s anon_kib=%s threads=%s binary_baseline_rss_kib=%s target_rss_kib=10240\n' \
  "$rss" "$pss" "$anon" "$threads" "$base"
