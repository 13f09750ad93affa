#!/usr/bin/env bash
# tidemark tests/bench/controller_rss_unrelated_configmaps.sh — the controller's resident memory
# does not grow with ConfigMaps that are not changelogs.  It caches only ConfigMaps labelled
# tidemark.dev/changelog=true; before that label selector, 2,000 unrelated ConfigMaps of 10 KB
# raised its RSS from 13 MiB to 35 MiB.
#
# Steps: start `tidemark controller` on an empty namespace, wait for /readyz, measure RSS; create
# N (TM_BENCH_CONFIGMAPS, default 2000) unlabelled ConfigMaps of 10 KB there; then one labelled
# changelog ConfigMap and a DBSchema naming it.  Once that DBSchema is Ready the controller has
# seen every ConfigMap event that came before (a watch delivers one resource's events in
# order), so any unrelated ConfigMap it cached is in its RSS.  Measure again.  Fails when RSS
# grew by more than TM_BENCH_MAX_GROWTH_KIB (default 4096: a tenth of what caching them costs).
# Prints:  controller_rss_unrelated_configmaps configmaps=N rss_before_kib= rss_after_kib=
#          growth_kib= max_growth_kib=
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/controller.sh"
require_controlplane
require_tidemark
new_work_dir
install_crds
new_namespace rss-cm
N="${TM_BENCH_CONFIGMAPS:-2000}"
MAX_GROWTH="${TM_BENCH_MAX_GROWTH_KIB:-4096}"
CTL_LOG="$WORK/controller.log"

rss_kib() { awk '$1 == "Rss:" {print $2}' "/proc/$CTL_PID/smaps_rollup"; }

start_controller --log-level info
wait_for -t 20 grep -q '"msg":"http listening"' "$CTL_LOG" || fail "controller did not start listening"
port="$(log_port "$CTL_LOG" health)"
wait_for_output -t 30 200 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" \
  || fail "controller never became ready"
sleep 3 # idle: let start-up allocations settle (a measurement, not a synchronisation)
before=$(rss_kib)

# N unrelated ConfigMaps of 10 KB, in one List
python3 - "$N" >"$WORK/configmaps.json" <<'PY'
import json, sys
n = int(sys.argv[1])
items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated-%05d" % i},
          "data": {"blob": ("%05d" % i) * 2048}} for i in range(n)]
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)
PY
log "creating $N unrelated ConfigMaps of 10 KB"
k -n "$NS" create -f "$WORK/configmaps.json" >/dev/null || fail "could not create the ConfigMaps"

# then a changelog ConfigMap and its DBSchema: Ready means the watch got this far
printf 'databaseChangeLog:\n  - changeSet: {id: 1, author: bench, changes: [{tagDatabase: {tag: v1}}]}\n' \
  >"$WORK/changelog.yaml"
k -n "$NS" create configmap changelog --from-file="$WORK/changelog.yaml" >/dev/null
k -n "$NS" label configmap changelog tidemark.dev/changelog=true >/dev/null
k -n "$NS" apply -f - >/dev/null <<'YAML'
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: bench}
spec:
  source: {configMapRef: {name: changelog}}
YAML
wait_for_output -t 120 True k -n "$NS" get dbschema bench -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' \
  || fail "DBSchema bench never became Ready: $(k -n "$NS" get dbschema bench -o jsonpath='{.status}')"
sleep 3
after=$(rss_kib)
growth=$((after - before))
printf 'controller_rss_unrelated_configmaps configmaps=%s rss_before_kib=%s rss_after_kib=%s growth_kib=%s max_growth_kib=%s\n' \
  "$N" "$before" "$after" "$growth" "$MAX_GROWTH"
((growth <= MAX_GROWTH)) || fail "RSS grew by $growth KiB with $N unrelated ConfigMaps (max $MAX_GROWTH): are they cached?"
