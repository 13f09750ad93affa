#!/usr/bin/env bash
# tidemark tests/e2e/reconcilers_status.sh — what DBSchema and DBInstance report when things
# are wrong: a changelog that does not parse (Stalled, file:line), a history row edited behind
# our back (Drifted, counted in tidemark_dbinstances, and a DBRollout Blocked by it), a wrong password (Connected False, Stalled,
# the password nowhere); and rechecks on spec.checkInterval that skip an unchanged history
# (tidemark_dbinstance_rechecks_total) yet see a row another client added.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup status

cond() { k -n "$NS" get "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}"; }

# 1. a changelog that does not parse
apply_schema broken <<'YAML'
databaseChangeLog:
  - changeSet:
      id: 1
      author: t
      changes: [ {sql: {sql: "SELECT 1"}}
YAML
start_controller
wait_for_output -t 60 "True ParseFailed" eval 'echo "$(cond dbschema/broken Stalled status) $(cond dbschema/broken Stalled reason)"' \
  || fail "broken DBSchema not Stalled/ParseFailed"
msg="$(cond dbschema/broken Stalled message)"
[[ "$msg" =~ changelog\.yaml:[0-9]+ ]] || fail "parse error should name changelog.yaml:line, got: $msg"
[[ "$(cond dbschema/broken Ready status)" == False ]] || fail "broken DBSchema Ready should be False"

# 2. drift: a good schema applied, then a checksum edited in the history table
{
  table_changelog a v1
  changeset_yaml 3 "CREATE TABLE b (id int)" "DROP TABLE b"
  tag_yaml 4 v2
} | apply_schema good
apply_instance db good Warn
apply_rollout r db v1
phase_becomes r Succeeded 60 || fail "v1 not applied"
wait_for_output -t 60 "False" cond dbinstance/db Drifted status || fail "Drifted should be False"
q "UPDATE databasechangelog SET md5sum = '9:00000000000000000000000000000000' WHERE id = '1'" >/dev/null
k -n "$NS" annotate dbinstance db e2e/poke="$(date +%s%N)" --overwrite >/dev/null # wake it now
wait_for_output -t 60 "True ChecksumMismatch" eval 'echo "$(cond dbinstance/db Drifted status) $(cond dbinstance/db Drifted reason)"' \
  || fail "DBInstance did not report the drift"
[[ "$(k -n "$NS" get dbinstance db -o jsonpath='{.status.drift[0].id} {.status.drift[0].reason}')" == "1 ChecksumMismatch" ]] \
  || fail "drift list"
[[ "$(cond dbinstance/db Stalled status)" == True ]] || fail "drifted DBInstance should be Stalled"
# the Succeeded rollout is left alone; a new tag is Blocked by the drift, nothing runs
[[ "$(phase r)" == Succeeded ]] || fail "a terminal rollout reacted to drift"
k -n "$NS" patch dbrollout r --type=merge -p '{"spec":{"tag":"v2"}}' >/dev/null
wait_for_output -t 60 "Blocked Drifted" eval 'echo "$(phase r) $(cond dbrollout/r Stalled reason)"' \
  || fail "rollout not Blocked by drift"
[[ "$(q "select to_regclass('public.b') is null")" == t ]] || fail "table b created despite drift"
# it counts in the gauge the TidemarkInstanceDrifted alert reads (the only DBInstance here)
drifted_gauge() { local m; m="$(metrics)" && grep -qx 'tidemark_dbinstances{state="Drifted"} 1' <<<"$m"; }
wait_for -t 30 drifted_gauge || fail "tidemark_dbinstances{state=\"Drifted\"} is not 1: $(metrics | grep '^tidemark_dbinstances{')"

# 3. a wrong password: Connected False, Stalled, and the password is never shown
k -n "$NS" create secret generic wrong --from-literal=username="$ROLE" \
  --from-literal=password="${CANARY}x" >/dev/null
k -n "$NS" patch dbinstance db --type=merge \
  -p '{"spec":{"connection":{"userSecretRef":{"name":"wrong"}}}}' >/dev/null
wait_for_output -t 60 "False" cond dbinstance/db Connected status || fail "Connected should be False"
[[ "$(cond dbinstance/db Stalled status)" == True ]] || fail "bad credentials should be Stalled"
# the transition is in the controller's log too, as a warning (with the same message as the Event)
wait_for -t 30 grep -qE '"level":"warn","msg":"event","kind":"DBInstance","namespace":"'"$NS"'","name":"db","reason":"ConnectFailed","note":".*password authentication failed' "$CTL_LOG" \
  || fail "the controller log has no warning for the failed connection"
# a missing key names the key, not a value
k -n "$NS" patch dbinstance db --type=merge \
  -p '{"spec":{"connection":{"userSecretRef":{"name":"wrong","passwordKey":"nope"}}}}' >/dev/null
wait_for_output -t 60 "CredentialsNotFound" cond dbinstance/db Connected reason \
  || fail "missing key should be CredentialsNotFound"
[[ "$(cond dbinstance/db Connected message)" == *'"nope"'* ]] || fail "message should name the key"
k -n "$NS" get events -o yaml >/dev/null
[[ "$(k -n "$NS" get secret wrong -o jsonpath='{.data.password}' | base64 -d)" == "${CANARY}x" ]]
assert_no_canary

# 4. rechecks: spec.checkInterval (at least 10s), an unchanged history is neither read nor
# written back, a row another client adds is seen on the next recheck
rechecks() { metrics | awk -v r="result=\"$1\"" 'index($0, "tidemark_dbinstance_rechecks_total{" r "}") == 1 {print $2}'; }
above() { local v; v="$(rechecks "$1")"; (( ${v:-0} > $2 )); }
if apply_instance db-fast good Warn "checkInterval: 5s" 2>/dev/null; then
  fail "a checkInterval below 10s was accepted"
fi
apply_instance db2 good Warn "checkInterval: 10s"
wait_for_output -t 60 "True" cond dbinstance/db2 Connected status || fail "db2 not Connected"
wait_for -t 30 eval '[[ -n "$(k -n "$NS" get dbinstance db2 -o jsonpath="{.status.historyFingerprint}")" ]]' \
  || fail "db2 has no historyFingerprint"
[[ "$(k -n "$NS" get dbinstance db2 -o jsonpath='{.spec.checkInterval}')" == 10s ]] || fail "checkInterval"
[[ "$(k -n "$NS" get dbinstance db -o jsonpath='{.spec.checkInterval}')" == 5m ]] || fail "checkInterval default"
# the short way (no changelog load) needs the revision the DBSchema reports to be the status's
[[ "$(k -n "$NS" get dbschema good -o jsonpath='{.status.revision}')" == \
   "$(k -n "$NS" get dbinstance db2 -o jsonpath='{.status.schemaRevision}')" ]] || fail "schemaRevision"
rv="$(k -n "$NS" get dbinstance db2 -o jsonpath='{.metadata.resourceVersion}')"
unchanged="$(rechecks unchanged)"
wait_for -t 30 above unchanged "${unchanged:-0}" || fail "no recheck was skipped as unchanged"
[[ "$(k -n "$NS" get dbinstance db2 -o jsonpath='{.metadata.resourceVersion}')" == "$rv" ]] \
  || fail "an unchanged recheck wrote the status"
changed="$(rechecks changed)"
q "INSERT INTO databasechangelog (id, author, filename, dateexecuted, orderexecuted, exectype, md5sum)
   VALUES ('by-psql', 'other', 'other.sql', now(), 999, 'EXECUTED', '9:0')"
wait_for -t 30 eval '[[ "$(k -n "$NS" get dbinstance db2 -o jsonpath="{.status.drift[*].id}")" == *by-psql* ]]' \
  || fail "the row another client inserted was not seen on the next recheck"
above changed "${changed:-0}" || fail "the recheck that saw the new row was not counted as changed"
# (captured first: under pipefail, grep -q leaving early can fail the pipe with SIGPIPE)
m="$(metrics)" || fail "no /metrics"
grep -q '^tidemark_dbinstance_recheck_lag_seconds_count [1-9]' <<<"$m" || fail "no recheck lag observed: $(grep '^tidemark_dbinstance_recheck_lag_seconds_count' <<<"$m")"
