#!/usr/bin/env bash
# tidemark tests/e2e/crds_samples_rollout.sh — the samples in manifests/samples/ work for real:
# rendered by render.sh for the local PostgreSQL, applied to the REAL kube-apiserver, reconciled
# by the real tidemark controller (its own process, watching only this test's namespace), the
# DBRollout to v1.0.0 reaches Succeeded once the Deployment's pods are Ready, the tables exist in
# the database, and every status field the controller writes survives the CRD's schema (a
# field missing from the schema would be pruned silently) and shows in `kubectl get`.
# Needs KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_PG_URL, TIDEMARK_BIN (exported by the harness).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_controlplane
ROOT="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
[[ -n "${TIDEMARK_PG_URL:-}" ]] || fail "TIDEMARK_PG_URL is not set (eval \"\$(hack/postgres.sh start)\")"
[[ -x "${TIDEMARK_BIN:-}" ]] || fail "TIDEMARK_BIN is not set to the built tidemark binary"
NS="$(unique_ns samples)"
DB="samples_$(date +%s)_$RANDOM"
DB_URL="${TIDEMARK_PG_URL%/*}/$DB"
WORK="$(mktemp -d)"
CTL_PID=""
cleanup() {
  local rc=$?
  if [[ -n "$CTL_PID" ]]; then kill "$CTL_PID" 2>/dev/null || true; wait "$CTL_PID" 2>/dev/null || true; fi
  if [[ $rc -ne 0 && -f "$WORK/controller.log" ]]; then log "controller log (tail):"; tail -n 30 "$WORK/controller.log" >&2; fi
  k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  psql "$TIDEMARK_PG_URL" -qAtc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  if [[ $rc -eq 0 ]]; then log "PASS crds_samples_rollout"; else log "crds_samples_rollout failed (rc=$rc)"; fi
}
trap cleanup EXIT

psql "$TIDEMARK_PG_URL" -qAtc "CREATE DATABASE \"$DB\"" >/dev/null || fail "could not create database $DB"
install_crds() { k apply --server-side --force-conflicts --field-manager=tidemark-e2e -k "$ROOT/crds" >/dev/null; }
wait_for -t 60 install_crds || fail "installing the CRDs failed: $(install_crds 2>&1)"
for crd in dbschemas dbinstances dbrollouts; do
  wait_for_output True k get crd "$crd.tidemark.dev" -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}' \
    || fail "CRD $crd.tidemark.dev not Established"
done
k create namespace "$NS" >/dev/null

"$TIDEMARK_BIN" controller --kubeconfig "$KUBECONFIG" --namespace "$NS" --metrics-addr 0 --health-addr 0 \
  --log-format text >"$WORK/controller.log" 2>&1 &
CTL_PID=$!

PGDATABASE="$DB" "$ROOT/manifests/samples/render.sh" -o "$WORK/samples" || fail "render.sh failed"
apply_samples() { k -n "$NS" apply -f "$WORK/samples/"; }
wait_for -t 30 apply_samples || fail "applying the rendered samples failed: $(apply_samples 2>&1)"

# play the kubelet: mark the app's pods Ready until the rollout is done
phase() { k -n "$NS" get dbrollout orders-dev -o 'jsonpath={.status.phase}'; }
deadline=$(( $(date +%s) + 120 ))
while :; do
  make_pods_ready "$NS" app.kubernetes.io/name=orders-app >/dev/null 2>&1 || true
  p="$(phase 2>/dev/null || true)"
  [[ "$p" == Succeeded ]] && break
  [[ "$p" == Failed || "$p" == RolledBack || "$p" == Blocked ]] && fail "DBRollout orders-dev ended in phase $p: $(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.message}')"
  (( $(date +%s) < deadline )) || fail "DBRollout orders-dev did not reach Succeeded within 120s (phase '$p'): $(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status}')"
  sleep 0.5
done
k -n "$NS" wait --for=condition=Ready dbrollout/orders-dev --timeout=30s >/dev/null \
  || fail "kubectl wait --for=condition=Ready dbrollout/orders-dev failed"
log "DBRollout orders-dev Succeeded"

# the database is at v1.0.0: both tables, the Liquibase history with the tag
tables="$(psql "$DB_URL" -qAtc "select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname='public' and tablename in ('customers','orders')")"
[[ "$tables" == "customers,orders" ]] || fail "database $DB: expected tables customers,orders, got '$tables'"
hist="$(psql "$DB_URL" -qAtc "select string_agg(id || ':' || coalesce(tag,''), ' ' order by orderexecuted) from databasechangelog")"
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
