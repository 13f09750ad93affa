#!/usr/bin/env bash
# tidemark tests/bench/gate_latency.sh — the schema gate's release latency with real pods: from
# the moment the schema reaches a tag to the moment the controller has removed the scheduling
# gate (tidemark.dev/schema) of each pod that waits for that tag.
#
# Set-up: the samples at v1.0.0 (SchemaFirst), then orders-app becomes N (GATE_PODS, default 20)
# replicas of the testapp for v1.1.0, gated (label tidemark.dev/schema-gate=true, scheduling gate
# tidemark.dev/schema, annotation tidemark.dev/tag v1.1.0), strategy Recreate so that all N pods
# exist at once.  They stay gated (the rollout is still at v1.0.0).  Then the DBRollout's tag goes
# to v1.1.0 and the script measures, per pod:
#   release  the history row of tag v1.1.0: DATEEXECUTED (the engine writes NOW(), the start of
#            the tagging transaction; PostgreSQL runs on this host, so its clock is the host's;
#            microsecond resolution)
#   removed  the time a watch on the gated pods (`kubectl get -w`, one line per pod update) first
#            shows the pod without the gate, stamped on arrival with $EPOCHREALTIME (microseconds;
#            its error is the watch's delivery delay, about a millisecond on this host)
# and prints latency = removed - release: p50, p99 (nearest rank), min and max in milliseconds.
# No figure is asserted; it fails when a pod's gate is not removed within GATE_TIMEOUT (default
# 60) seconds, or when no history row for v1.1.0 appears.
# Needs a Ready node (TIDEMARK_NODE=1 hack/controlplane.sh start) and the env of the test harness.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
N="${GATE_PODS:-20}"
TIMEOUT="${GATE_TIMEOUT:-60}"
rollout_setup gatelat
app_setup
require_cmd jq

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller
wait_for_phase orders-dev Succeeded 90

# N gated pods that need v1.1.0
gate_patch="$(jq -c --argjson n "$N" '.spec.replicas = $n
  | .spec.strategy = {"type": "Recreate", "rollingUpdate": null}
  | .spec.template.metadata.labels = {"tidemark.dev/schema-gate": "true"}
  | .spec.template.spec.schedulingGates = [{"name": "tidemark.dev/schema"}]' \
  <<<"$(sample_app_patch v1.1.0 0 --deadline 600)")" || fail "could not build the deployment patch"
k -n "$NS" patch deployment orders-app -p "$gate_patch" >/dev/null || fail "patch the deployment"
gated_count() {
  k -n "$NS" get pods -l tidemark.dev/schema-gate=true -o json \
    | jq '[.items[] | select(.metadata.annotations["tidemark.dev/tag"] == "v1.1.0")
           | select(any(.spec.schedulingGates[]?; .name == "tidemark.dev/schema"))] | length'
}
wait_for -t 60 -i 0.5 eval '[[ "$(gated_count)" == "$N" ]]' \
  || fail "expected $N gated v1.1.0 pods, have $(gated_count)"
sleep 1
[[ "$(gated_count)" == "$N" ]] || fail "a v1.1.0 pod left the gate while the rollout was at v1.0.0"

# watch the gated pods: "<arrival epoch> <pod> <gate names>" per update
WATCH_LOG="$CTL_LOG.watch"
at_exit 'rm -f "$WATCH_LOG"'
k -n "$NS" get pods -l tidemark.dev/schema-gate=true --request-timeout=0 -w \
  -o 'jsonpath={.metadata.name} {.metadata.annotations.tidemark\.dev/tag} gates={.spec.schedulingGates[*].name}{"\n"}' \
  | while read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$WATCH_LOG" &
watcher=$!
at_exit "kill $watcher 2>/dev/null || true"
wait_for -t 10 -i 0.1 eval '(( $(wc -l <"$WATCH_LOG") >= N ))' || fail "the pod watch did not start"

log "releasing $N gated pods: tag v1.1.0"
k -n "$NS" patch dbrollout orders-dev --type=merge -p '{"spec":{"tag":"v1.1.0"}}' >/dev/null || fail "patch the rollout"

# removed[pod] = the first arrival showing a v1.1.0 pod without the gate
released_pods() { awk '$3 == "v1.1.0" && $4 !~ /tidemark.dev\/schema/ && !seen[$2]++ {print $2, $1}' "$WATCH_LOG"; }
wait_for -t "$TIMEOUT" -i 0.5 eval '(( $(released_pods | wc -l) >= N ))' \
  || fail "the gate of $(( N - $(released_pods | wc -l) )) of $N pods was not removed within ${TIMEOUT}s (phase $(phase orders-dev): $(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}'))"
kill "$watcher" 2>/dev/null || true
# the released pods need not run any longer: spare the node's CPU
k -n "$NS" scale deployment orders-app --replicas=0 >/dev/null || true

release="$(q "select extract(epoch from (dateexecuted at time zone current_setting('TimeZone'))) from databasechangelog where tag = 'v1.1.0'")"
[[ "$release" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "no history row tagged v1.1.0 ($release)"

released_pods | awk -v r="$release" -v n="$N" '
  { ms[NR] = ($2 - r) * 1000 }
  END {
    if (NR != n) { printf "expected %d pods, measured %d\n", n, NR; exit 1 }
    # sort (insertion: N is small)
    for (i = 2; i <= NR; i++) { v = ms[i]; for (j = i - 1; j >= 1 && ms[j] > v; j--) ms[j + 1] = ms[j]; ms[j + 1] = v }
    p50 = ms[int((50 * NR + 99) / 100)]; p99 = ms[int((99 * NR + 99) / 100)]
    printf "gate_latency: %d pods, schema at v1.1.0 (history row) -> gate removed (watch)\n", NR
    printf "%-8s %10s\n", "", "ms"
    printf "%-8s %10.1f\n%-8s %10.1f\n%-8s %10.1f\n%-8s %10.1f\n", "min", ms[1], "p50", p50, "p99", p99, "max", ms[NR]
    printf "gate_latency pods=%d p50_ms=%.1f p99_ms=%.1f min_ms=%.1f max_ms=%.1f\n", NR, p50, p99, ms[1], ms[NR]
  }' || fail "could not compute the latencies"
