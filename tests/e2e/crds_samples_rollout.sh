#!/usr/bin/env bash
# tidemark tests/e2e/crds_samples_rollout.sh — the samples in manifests/samples/ work for real:
# rendered by render.sh for the local PostgreSQL, applied to the REAL kube-apiserver, reconciled
# by the real tidemark controller (its own process, watching only this test's namespace), the
# DBRollout to v1.0.0 reaches Succeeded once the Deployment's real pods are Ready (orders-app
# run as the testapp, which needs the column v1.0.0 adds: tests/lib/app.sh), the tables exist in
# the database, and every status field the controller writes survives the CRD's schema (a
# field missing from the schema would be pruned silently) and shows in `kubectl get`.
# Needs KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_PG_URL, TIDEMARK_PG_POD_HOST, TIDEMARK_BIN (exported
# by the harness) and a Ready node.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
require_controlplane
require_postgres
require_tidemark
require_node
new_work_dir
new_database "samples_$(date +%s)_$RANDOM"
install_crds
new_namespace samples
CTL_LOG="$WORK/controller.log"
start_controller

PGDATABASE="$DB" "$ROOT/manifests/samples/render.sh" -o "$WORK/samples" || fail "render.sh failed"
samples_use_testapp "$WORK/samples" --replicas 1
pg_user="${TIDEMARK_PG_URL#*://}"
app_db_secret "$NS" app-db "$DB" "${pg_user%%:*}" "$(url_password "$TIDEMARK_PG_URL")"
apply_samples() { k -n "$NS" apply -f "$WORK/samples/"; }
wait_for -t 30 apply_samples || fail "applying the rendered samples failed: $(apply_samples 2>&1)"

wait_for_phase orders-dev Succeeded 120
deployment_available "$NS" orders-app || fail "Succeeded, but orders-app is not available: $(app_pods "$NS")"
k -n "$NS" wait --for=condition=Ready dbrollout/orders-dev --timeout=30s >/dev/null \
  || fail "kubectl wait --for=condition=Ready dbrollout/orders-dev failed"
log "DBRollout orders-dev Succeeded"

# the database is at v1.0.0: both tables, the Liquibase history with the tag
tables="$(q "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname='public' and tablename in ('customers','orders')")"
[[ "$tables" == "customers,orders" ]] || fail "database $DB: expected tables customers,orders, got '$tables'"
hist="$(q "select string_agg(id || ':' || coalesce(tag,''), ' ' order by orderexecuted) from databasechangelog")"
[[ "$hist" == "1-create-customers: 2-create-orders: 3-tag-v1.0.0:v1.0.0" ]] || fail "databasechangelog: got '$hist'"

# every status field survived the schema and the columns show it
got="$(k -n "$NS" get dbrollout orders-dev -o 'jsonpath={.status.phase}/{.status.appliedTag}/{.status.targetTag}/{.status.appliedChangeSets}/{.status.observedGeneration}/{.status.deploymentRevision}')"
[[ "$got" == "Succeeded/v1.0.0/v1.0.0/3/1/1" ]] || fail "DBRollout status: expected Succeeded/v1.0.0/v1.0.0/3/1/1, got '$got'"
[[ -n "$(k -n "$NS" get dbrollout orders-dev -o 'jsonpath={.status.startedAt}{.status.finishedAt}')" ]] || fail "DBRollout status: startedAt/finishedAt missing"
wait_for_output "v1.2.0/3/8/inline" k -n "$NS" get dbschema orders -o 'jsonpath={.status.latestTag}/{.status.tagCount}/{.status.changeSets}/{.status.source}' \
  || fail "DBSchema status: expected latestTag v1.2.0, 3 tags, 8 changesets, source inline"
rev="$(k -n "$NS" get dbschema orders -o 'jsonpath={.status.revision}')"
[[ "$rev" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "DBSchema status.revision: expected sha256:<64 hex>, got '$rev'"
wait_for_output "v1.0.0/5/True" k -n "$NS" get dbinstance orders-dev -o 'jsonpath={.status.appliedTag}/{.status.pendingChangeSets}/{.status.conditions[?(@.type=="Ready")].status}' \
  || fail "DBInstance status: expected applied v1.0.0, 5 pending, Ready True"
row="$(k -n "$NS" get dbrollout orders-dev --no-headers | tr -s ' ')"
[[ "$row" == "orders-dev orders-dev v1.0.0 Succeeded True "* ]] || fail "kubectl get dbrollouts: got '$row'"
row="$(k -n "$NS" get dbinstance orders-dev --no-headers | tr -s ' ')"
[[ "$row" == "orders-dev orders v1.0.0 5 True "* ]] || fail "kubectl get dbinstances: got '$row'"
log "database, status fields and printer columns ok"
