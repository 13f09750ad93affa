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
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/rollout_helpers.bash"
: "${TIDEMARK_SOURCE_DIR:?run through ctest / hack/test.sh}"

CPSTATE="$(mktemp -d)"
cpl() { TIDEMARK_STATE_DIR=$CPSTATE "$TIDEMARK_SOURCE_DIR/hack/controlplane.sh" "$@"; }
env_lines="$(cpl start 2>"$CPSTATE/start.log")" || { cat "$CPSTATE/start.log" >&2; cpl stop >/dev/null 2>&1; rm -rf "$CPSTATE"; fail "private control plane did not start"; }
eval "$env_lines"
export KUBECONFIG

rollout_setup apirestart
# rollout_cleanup ends with exit: stop the private control plane after it,
# from a trap of our own around it
trap 'rc=$?; set +e; (exit $rc); (rollout_cleanup); rc2=$?; cpl stop >/dev/null 2>&1; rm -rf "$CPSTATE"; exit $rc2' EXIT

changeset() { # ID SQL ROLLBACK
  printf '  - changeSet:\n      id: %s\n      author: t\n      changes:\n        - sql: {sql: "%s"}\n      rollback:\n        - sql: {sql: "%s"}\n' "$1" "$2" "$3"
}
{
  echo "databaseChangeLog:"
  for i in $(seq 1 10); do changeset "$i" "SELECT pg_sleep(0.5); CREATE TABLE ar$i (id int)" "DROP TABLE ar$i"; done
  printf '  - changeSet:\n      id: tag1\n      author: t\n      changes:\n        - tagDatabase: {tag: v1}\n'
  changeset 11 "CREATE TABLE ar11 (id int)" "DROP TABLE ar11"
  printf '  - changeSet:\n      id: tag2\n      author: t\n      changes:\n        - tagDatabase: {tag: v2}\n'
} | apply_schema s
apply_instance db s Warn
apply_rollout r db v1
start_controller
rows() { sql "select coalesce((select count(*) from databasechangelog), 0)" 2>/dev/null || echo 0; }

# (1) the apiserver goes away for 3 s in the middle of the apply
deadline=$(( $(date +%s) + 60 ))
until [[ "$(rows)" -ge 2 ]]; do
  (( $(date +%s) < deadline )) || fail "the apply never started"
  sleep 0.1
done
cpl restart-apiserver 3 2>>"$CPSTATE/restart.log" || fail "restart-apiserver: $(cat "$CPSTATE/restart.log")"
log "apiserver restarted during the apply ($(rows) rows now)"
wait_for_output -t 120 "Succeeded v1" k -n "$NS" get dbrollout r -o jsonpath='{.status.phase} {.status.appliedTag}' \
  || fail "the rollout did not reach Succeeded v1 after the apiserver restart"
[[ "$(sql "select count(*) from databasechangelog")" == 11 ]] || fail "want 11 history rows at v1"
[[ "$(sql "select count(*) - count(distinct id) from databasechangelog")" == 0 ]] || fail "a changeset was recorded twice"

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
[[ "$(sql "select count(*) from databasechangelog")" == 13 ]] || fail "want 13 history rows at v2"
[[ "$(sql "select count(*) - count(distinct id) from databasechangelog")" == 0 ]] || fail "a changeset was recorded twice"
log "controller log: $(grep -ci 'watch' "$CTL_LOG" || true) watch-related lines"
assert_no_canary
