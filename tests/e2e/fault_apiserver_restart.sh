#!/usr/bin/env bash
# tidemark tests/e2e/fault_apiserver_restart.sh — kube-apiserver crashes (SIGKILL) and restarts while the
# controller works: (1) in the middle of a rollout's apply (the apiserver is down
# for a few seconds: status writes fail, every watch is cut), the rollout still
# ends Succeeded with each changeset recorded once; (2) the controller is frozen
# (SIGSTOP), the apiserver restarts and the DBRollout's tag is changed while the
# controller cannot see it; on SIGCONT its watches resume from resourceVersions
# the new apiserver's watch cache no longer holds: 410 Expired, a relist (counted
# by tidemark_relists_total), and the controller must not miss the transition:
# it ends Succeeded at the new tag.  The restart would disturb other tests, so this test runs its own
# control plane (TIDEMARK_STATE_DIR=<tmp> hack/controlplane.sh start) and
# restarts it with `hack/controlplane.sh restart-apiserver`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"

CPSTATE="$(mktemp -d)"
cpl() { TIDEMARK_STATE_DIR=$CPSTATE "$ROOT/hack/controlplane.sh" "$@"; }
at_exit 'cpl stop >/dev/null 2>&1; rm -rf "$CPSTATE"'
env_lines="$(cpl start 2>"$CPSTATE/start.log")" || { cat "$CPSTATE/start.log" >&2; fail "private control plane did not start"; }
eval "$env_lines"
export KUBECONFIG

rollout_setup apirestart

{
  echo "databaseChangeLog:"
  for i in $(seq 1 10); do changeset_yaml "$i" "SELECT pg_sleep(0.5); CREATE TABLE ar$i (id int)" "DROP TABLE ar$i"; done
  tag_yaml tag1 v1
  changeset_yaml 11 "CREATE TABLE ar11 (id int)" "DROP TABLE ar11"
  tag_yaml tag2 v2
} | apply_schema s
apply_instance db s Warn
apply_rollout r db v1
start_controller

# (1) the apiserver goes away for 3 s in the middle of the apply
wait_for -t 60 -i 0.1 history_has 2 || fail "the apply never started"
cpl restart-apiserver 3 2>>"$CPSTATE/restart.log" || fail "restart-apiserver: $(cat "$CPSTATE/restart.log")"
log "apiserver restarted during the apply ($(history_rows) rows now)"
wait_for_output -t 120 "Succeeded v1" k -n "$NS" get dbrollout r -o jsonpath='{.status.phase} {.status.appliedTag}' \
  || fail "the rollout did not reach Succeeded v1 after the apiserver restart"
[[ "$(q "select count(*) from databasechangelog")" == 11 ]] || fail "want 11 history rows at v1"
[[ "$(q "select count(*) - count(distinct id) from databasechangelog")" == 0 ]] || fail "a changeset was recorded twice"

# tidemark_relists_total for the DBRollout informer (0 when the series is absent)
relists() {
  local m
  m="$(metrics)" || { echo 0; return; }
  awk '$1 ~ /^tidemark_relists_total\{.*dbrollouts\.tidemark\.dev/ {v=$2} END {print v+0}' <<<"$m"
}
wait_for -t 60 metrics >/dev/null || fail "the controller's /metrics does not answer after the first restart"
relists_1="$(relists)"
log "DBRollout relists after the first restart: $relists_1"

# (2) a change the controller cannot see while it happens: frozen controller, a
# write (so the new apiserver's watch cache starts past every resourceVersion the
# controller holds: its watches must get 410 Expired), apiserver restarted, tag
# changed, controller thawed
kill -STOP "$CTL_PID"
if ! k -n "$NS" create configmap bump-revision >/dev/null; then
  kill -CONT "$CTL_PID"; fail "create a configmap"
fi
if ! cpl restart-apiserver 0 2>>"$CPSTATE/restart.log"; then
  kill -CONT "$CTL_PID"; fail "second restart-apiserver: $(cat "$CPSTATE/restart.log")"
fi
if ! k -n "$NS" patch dbrollout r --type=merge -p '{"spec":{"tag":"v2"}}' >/dev/null; then
  kill -CONT "$CTL_PID"; fail "patch the tag to v2"
fi
kill -CONT "$CTL_PID"
log "tag changed to v2 while the controller was frozen across the second restart"
wait_for_output -t 120 "Succeeded v2" k -n "$NS" get dbrollout r -o jsonpath='{.status.phase} {.status.appliedTag}' \
  || fail "the tag change made while the watches were expired was missed"
relists_2="$(relists)"
log "DBRollout relists after the second restart: $relists_2"
(( relists_2 > relists_1 )) || fail "the second restart did not expire the DBRollout watch (relists stayed $relists_1)"
[[ "$(q "select count(*) from databasechangelog")" == 13 ]] || fail "want 13 history rows at v2"
[[ "$(q "select count(*) - count(distinct id) from databasechangelog")" == 0 ]] || fail "a changeset was recorded twice"
log "controller log: $(grep -ci 'watch' "$CTL_LOG" || true) watch-related lines"
assert_no_canary
