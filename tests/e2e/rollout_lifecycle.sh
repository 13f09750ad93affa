#!/usr/bin/env bash
# tidemark tests/e2e/rollout_lifecycle.sh — the happy path of the three reconcilers against a
# real control plane and PostgreSQL: samples applied, a DBRollout to v1.0.0 creates the tables
# and history rows and becomes Ready once the app's real pods are Ready (the testapp of each tag
# is Ready only once the column that tag adds exists); moving tag and app together succeeds; an
# older tag (and its app) rolls the schema back; spec.tagFrom moves the schema with
# `kubectl set image` alone (and an image without a tag blocks it); the password never leaks.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
rollout_setup life
app_setup

render_samples | k -n "$NS" apply -f - >/dev/null || fail "apply samples"
start_controller

# DBSchema and DBInstance report
wait_for_output -t 60 "True" k -n "$NS" get dbschema orders \
  -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' || fail "DBSchema not Ready"
wait_for_output -t 30 "v1.0.0 v1.1.0 v1.2.0" k -n "$NS" get dbschema orders \
  -o jsonpath='{.status.tags[*]}' || fail "DBSchema tags"
wait_for_output -t 60 "True" k -n "$NS" get dbinstance orders-dev \
  -o jsonpath='{.status.conditions[?(@.type=="Connected")].status}' || fail "DBInstance not Connected"

# v1.0.0: schema first, then the app (its pods need orders.customer_id)
wait_for_phase orders-dev Succeeded 90
[[ "$(q "select count(*) from information_schema.tables where table_name in ('customers','orders')")" == 2 ]] \
  || fail "tables customers and orders missing"
[[ "$(q "select string_agg(id, ',' order by orderexecuted) from databasechangelog")" == \
   "1-create-customers,2-create-orders,3-tag-v1.0.0" ]] || fail "history rows for v1.0.0"
k -n "$NS" wait --for=condition=Ready dbrollout/orders-dev --timeout=60s >/dev/null \
  || fail "kubectl wait Ready"
deployment_available "$NS" orders-app || fail "Succeeded, but orders-app is not available: $(app_pods "$NS")"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.observedGeneration}')" == 1 ]] \
  || fail "observedGeneration"
has_event orders-dev "Normal ChangeSetApplied" || fail "no ChangeSetApplied Event"
has_event orders-dev "Normal Succeeded" || fail "no Succeeded Event"
# the apply gave its session and slot back before the status write (and its SchemaApplied
# Event) that follows it, not at the end of the reconcile: the next rollout in line starts
line_of() { awk -v a="$1" -v b="$2" 'index($0, a) && index($0, b) { print NR; exit }' "$CTL_LOG"; }
closed="$(line_of '"msg":"apply slot released"' '"server":')"
applied="$(line_of '"msg":"event"' '"reason":"SchemaApplied"')"
[[ -n "$closed" && -n "$applied" ]] && (( closed < applied )) \
  || fail "the apply slot was released at log line ${closed:-none}, after the SchemaApplied Event at ${applied:-none}"

# metrics: rollouts by phase, changesets by outcome
wait_for_output -t 30 'tidemark_dbrollouts{phase="Succeeded"} 1' eval "metrics | grep -F 'tidemark_dbrollouts{phase=\"Succeeded\"}'" \
  || fail "tidemark_dbrollouts gauge"
m="$(metrics)" || fail "no /metrics"
grep -q '^tidemark_changesets_total{outcome="EXECUTED"} 3$' <<<"$m" || fail "tidemark_changesets_total"

# v1.1.0 with its app (pods that need orders.status): Ready once the schema has it
k -n "$NS" patch deployment orders-app -p "$(sample_app_patch v1.1.0)" >/dev/null
k -n "$NS" patch dbrollout orders-dev --type=merge -p '{"spec":{"tag":"v1.1.0"}}' >/dev/null
wait_for_output -t 60 "v1.1.0" k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.appliedTag}' \
  || fail "v1.1.0 not applied"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.preStartTag}')" == v1.0.0 ]] \
  || fail "preStartTag should be v1.0.0"
wait_for_phase orders-dev Succeeded 90
deployment_available "$NS" orders-app || fail "v1.1.0 Succeeded, but orders-app is not available: $(app_pods "$NS")"
[[ "$(q "select count(*) from information_schema.columns where table_name='orders' and column_name='status'")" == 1 ]] \
  || fail "orders.status missing at v1.1.0"

# an older tag (and the older app): plain rollback
k -n "$NS" patch deployment orders-app -p "$(sample_app_patch v1.0.0)" >/dev/null
k -n "$NS" patch dbrollout orders-dev --type=merge -p '{"spec":{"tag":"v1.0.0"}}' >/dev/null
wait_for_output -t 60 "v1.0.0" k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.appliedTag}' \
  || fail "rollback to v1.0.0"
wait_for_phase orders-dev Succeeded 90
[[ "$(q "select count(*) from information_schema.columns where table_name='orders' and column_name='status'")" == 0 ]] \
  || fail "orders.status still there after rolling back to v1.0.0"
[[ "$(q "select count(*) from databasechangelog")" == 3 ]] || fail "history rows after rollback"
has_event orders-dev "Normal ChangeSetRolledBack" || fail "no ChangeSetRolledBack Event"

# the instance matrix on the DBSchema follows the instance: its counts, the tally by tag and the list
wait_for_output -t 90 "1 1 v1.0.0=1 orders-dev=v1.0.0" k -n "$NS" get dbschema orders \
  -o jsonpath='{.status.instanceCount} {.status.instancesReady} {range .status.instancesByTag[*]}{.tag}={.count}{end} {range .status.instances[*]}{.name}={.appliedTag}{end}' \
  || fail "instance matrix: $(k -n "$NS" get dbschema orders -o jsonpath='{.status}')"

# spec.tagFrom: the tag comes from the app's image tag ("orders-<tag>"), so `kubectl set image`
# alone moves the schema.  The same testapp image, tagged twice in the node's containerd.
for t in orders-v1.0.0 orders-v1.1.0; do
  TIDEMARK_STATE_DIR="$(_app_state_dir)" "$ROOT/hack/node.sh" ctr images tag --force \
    "$TESTAPP_IMAGE" "${TESTAPP_IMAGE%:*}:$t" >/dev/null || fail "could not tag $TESTAPP_IMAGE as $t"
done
k -n "$NS" patch deployment orders-app --type=json -p "[
  {\"op\":\"remove\",\"path\":\"/spec/template/metadata/annotations/tidemark.dev~1tag\"},
  {\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"${TESTAPP_IMAGE%:*}:orders-v1.0.0\"}]" \
  >/dev/null || fail "patch orders-app to image orders-v1.0.0"
k -n "$NS" patch dbrollout orders-dev --type=merge \
  -p '{"spec":{"tag":null,"tagFrom":{"container":"app","pattern":"^orders-(.*)$"}}}' >/dev/null \
  || fail "switch orders-dev to tagFrom"
wait_for_phase orders-dev Succeeded 60
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.targetTag}')" == v1.0.0 ]] \
  || fail "tagFrom of image orders-v1.0.0 should target v1.0.0"
k -n "$NS" set image deployment/orders-app "app=${TESTAPP_IMAGE%:*}:orders-v1.1.0" >/dev/null \
  || fail "kubectl set image"
wait_for_output -t 60 "v1.1.0/v1.1.0/Succeeded" k -n "$NS" get dbrollout orders-dev \
  -o 'jsonpath={.status.targetTag}/{.status.appliedTag}/{.status.phase}' \
  || fail "set image orders-v1.1.0 did not move the schema to v1.1.0: $(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.message}')"
deployment_available "$NS" orders-app || fail "tagFrom v1.1.0 Succeeded, but orders-app is not available: $(app_pods "$NS")"
[[ "$(q "select count(*) from information_schema.columns where table_name='orders' and column_name='status'")" == 1 ]] \
  || fail "orders.status missing after set image orders-v1.1.0"
has_event orders-dev "Normal TagResolved" || fail "no TagResolved Event"
# an image without a tag blocks the rollout and says why; the schema stays
k -n "$NS" set image deployment/orders-app "app=${TESTAPP_IMAGE%:*}" >/dev/null || fail "kubectl set image (no tag)"
wait_for_output -t 30 "Blocked" k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.phase}' \
  || fail "an image without a tag should block the rollout"
[[ "$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.message}')" == *"image ${TESTAPP_IMAGE%:*} has no tag"* ]] \
  || fail "Blocked message: $(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.message}')"
[[ "$(q "select count(*) from information_schema.columns where table_name='orders' and column_name='status'")" == 1 ]] \
  || fail "a blocked tagFrom must leave the schema at v1.1.0"

assert_no_canary
