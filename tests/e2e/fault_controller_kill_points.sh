#!/usr/bin/env bash
# tidemark tests/e2e/fault_controller_kill_points.sh — the controller is killed
# (SIGKILL) at several points of one rollout with a Deployment, and started again
# each time: as soon as it has taken the instance lock,
# three times during the apply (after 1, 4 and 7 changesets), and while waiting
# for the app.  The rollout must end Succeeded with every changeset recorded
# exactly once, its tables present, preStartTag unchanged since it was first
# stamped, and the instance lock released.  (rollout_crash_resume.sh covers a
# single kill without a Deployment.)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/rollout_helpers.bash"
rollout_setup killpts

n=10
{
  echo "databaseChangeLog:"
  for i in $(seq 1 $n); do
    cat <<YAML
  - changeSet:
      id: $i
      author: t
      changes:
        - sql: {sql: "SELECT pg_sleep(0.4); CREATE TABLE kp$i (id int)"}
      rollback:
        - sql: {sql: "DROP TABLE kp$i"}
YAML
  done
  cat <<'YAML'
  - changeSet:
      id: tag
      author: t
      changes:
        - tagDatabase: {tag: v1}
YAML
} | apply_schema s
apply_instance db s Warn
k -n "$NS" create deployment app --image=registry.example.com/app:1 >/dev/null || fail "create deployment"
apply_rollout r db v1 app

rows() { sql "select coalesce((select count(*) from databasechangelog), 0)" 2>/dev/null || echo 0; }
pre_tag() { k -n "$NS" get dbrollout r -o jsonpath='{.status.preStartTag}{"|"}{.status.startedAt}'; }
kills=0
kill_now() { crash_controller; kills=$((kills + 1)); log "kill $kills ($1): phase '$(phase r)', $(rows) row(s)"; }

# 1: as soon as the instance lock is taken (before or while preStartTag is stamped)
start_controller
wait_for -t 30 -i 0.05 bash -c "$(declare -f k); NS=$NS; [[ -n \"\$(k -n $NS get dbinstance db -o jsonpath='{.metadata.annotations.tidemark\.dev/rollout-lock}')\" ]]" \
  || fail "the rollout never took the instance lock"
kill_now "instance lock taken"

# 2-4: during the apply
for want in 1 4 7; do
  start_controller
  deadline=$(( $(date +%s) + 60 ))
  until [[ "$(rows)" -ge "$want" ]]; do
    (( $(date +%s) < deadline )) || fail "the apply did not reach $want changeset(s)"
    sleep 0.1
  done
  kill_now "after $want changeset(s)"
  [[ "$(rows)" -lt $((n + 1)) ]] || fail "the apply finished before kill $kills; it proves nothing"
  stamped="$(pre_tag)"
  [[ -z "${first_stamp:-}" ]] && first_stamp="$stamped"
  [[ "$stamped" == "$first_stamp" ]] || fail "preStartTag/startedAt changed across restarts: '$first_stamp' -> '$stamped'"
done

# 5: while waiting for the app
start_controller
wait_for_output -t 90 WaitingForApp phase r || fail "never reached WaitingForApp"
kill_now "waiting for the app"

start_controller
deadline=$(( $(date +%s) + 90 ))
until [[ "$(phase r)" == Succeeded ]]; do
  make_pods_ready "$NS" app=app >/dev/null 2>&1 || true
  (( $(date +%s) < deadline )) || fail "did not succeed after $kills kills (phase $(phase r))"
  sleep 1
done
log "Succeeded after $kills kills"
[[ "$(sql "select count(*) from databasechangelog")" == $((n + 1)) ]] || fail "want $((n + 1)) history rows"
[[ "$(sql "select count(*) - count(distinct id) + count(*) - count(distinct orderexecuted) from databasechangelog")" == 0 ]] \
  || fail "a changeset or ORDEREXECUTED was recorded twice"
[[ "$(sql "select count(*) from pg_class where relkind = 'r' and relname ~ '^kp[0-9]+\$'")" == "$n" ]] || fail "want $n tables"
[[ "$(pre_tag)" == "$first_stamp" ]] || fail "preStartTag/startedAt changed: '$first_stamp' -> '$(pre_tag)'"
wait_for_output -t 30 "" k -n "$NS" get dbinstance db -o jsonpath='{.metadata.annotations.tidemark\.dev/rollout-lock}' \
  || fail "instance lock not released"
assert_no_canary
