#!/usr/bin/env bash
# tidemark tests/e2e/argocd_health_live.sh — the Argo CD health checks of
# manifests/argocd/ read every phase of the real controller's objects as they should:
# one object per stage (new without status, Pending, Applying, WaitingForApp,
# Succeeded, a stale Ready after a spec change, RollingBack, RolledBack, Failed,
# Blocked; DBInstance Ready, Reconciling, Stalled, Drifted; DBSchema Ready, Reconciling,
# Stalled),
# each read live and run through health.lua (tests/unit/argocd_health.lua --eval).
# With TIDEMARK_ARGOCD_CAPTURE=1 it also saves each object (`kubectl get -o yaml`) as
# manifests/argocd/resource_customizations/tidemark.dev/<Kind>/testdata/<case>.yaml,
# which is how the unit test's testdata was made. First it follows the README's install
# step on a stand-in argocd-cm: the merge patch adds the three scripts, byte for byte,
# and keeps the keys already there.
# Needs lua5.1 (or 5.4/5.3) with lyaml; exits 77 (ctest SKIP) without them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"

LUA=""
for l in lua5.1 lua5.4 lua5.3; do
  if command -v "$l" >/dev/null && "$l" -e 'require("lyaml")' 2>/dev/null; then LUA=$l; break; fi
done
if [[ -z "$LUA" ]]; then
  echo "SKIP: no Lua interpreter with lyaml (apt-get install lua5.1 lua-yaml)" >&2
  exit 77
fi
rollout_setup argohealth
app_setup
HC="$ROOT/manifests/argocd/resource_customizations/tidemark.dev"
OBJ="$(mktemp /tmp/tidemark-e2e-argohealth.XXXXXX.yaml)"
at_exit 'rm -f "$OBJ"'

# expect KIND NAME CASE STATUS: the live object's health is STATUS (saved as CASE when capturing)
expect() {
  local kind=$1 name=$2 case=$3 want=$4 got
  k -n "$NS" get "$(tr '[:upper:]' '[:lower:]' <<<"$kind")" "$name" -o yaml >"$OBJ" || fail "get $kind $name"
  got="$("$LUA" "$ROOT/tests/unit/argocd_health.lua" --eval "$HC/$kind/health.lua" "$OBJ")" \
    || fail "health.lua of $kind failed on $name"
  [[ "${got%%$'\t'*}" == "$want" ]] || fail "$kind $name ($case): health ${got//$'\t'/: }, want $want"
  log "$kind $name ($case): $got"
  if [[ "${TIDEMARK_ARGOCD_CAPTURE:-}" == 1 ]]; then
    cat "$OBJ" >"$HC/$kind/testdata/$case.yaml"
  fi
}

# Polls until the live object reads STATUS (health is level-based: the stage must settle).
expect_eventually() {
  local kind=$1 name=$2 case=$3 want=$4 deadline=$(( $(date +%s) + ${5:-60} )) got
  while :; do
    k -n "$NS" get "$(tr '[:upper:]' '[:lower:]' <<<"$kind")" "$name" -o yaml >"$OBJ" 2>/dev/null || true
    got="$("$LUA" "$ROOT/tests/unit/argocd_health.lua" --eval "$HC/$kind/health.lua" "$OBJ" 2>/dev/null)" || got=""
    [[ "${got%%$'\t'*}" == "$want" ]] && break
    (( $(date +%s) < deadline )) || fail "$kind $name ($case): health '${got//$'\t'/: }', want $want"
    sleep 0.5
  done
  expect "$@"
}

lock_row() { # true|false: hold or release a Liquibase lock row (tidemark waits for it)
  if [[ $1 == true ]]; then
    q "UPDATE public.databasechangeloglock SET locked = true, lockgranted = now(), lockedby = 'argohealth-test'" >/dev/null
  else
    q "UPDATE public.databasechangeloglock SET locked = false, lockgranted = NULL, lockedby = NULL" >/dev/null
  fi
}

# the README's install step, on a stand-in argocd-cm holding a setting of its own
k -n "$NS" create configmap argocd-cm --from-literal=url=https://argocd.example.com >/dev/null
k -n "$NS" patch configmap argocd-cm --type merge \
  --patch-file "$ROOT/manifests/argocd/argocd-cm-patch.yaml" >/dev/null || fail "patch argocd-cm"
[[ "$(k -n "$NS" get configmap argocd-cm -o jsonpath='{.data.url}')" == https://argocd.example.com ]] \
  || fail "the patch dropped argocd-cm's own keys"
for kind in DBSchema DBInstance DBRollout; do
  k -n "$NS" get configmap argocd-cm -o jsonpath="{.data.resource\.customizations\.health\.tidemark\.dev_$kind}" >"$OBJ"
  cmp -s "$OBJ" "$HC/$kind/health.lua" || fail "argocd-cm's health script for $kind differs from $kind/health.lua"
done

q "CREATE TABLE public.databasechangeloglock (id int PRIMARY KEY, locked boolean NOT NULL, lockgranted timestamp, lockedby varchar(255));
     INSERT INTO public.databasechangeloglock VALUES (1, false, NULL, NULL);
     ALTER TABLE public.databasechangeloglock OWNER TO $ROLE" >/dev/null || fail "create the lock table"

apply_schema app <<'YAML'
databaseChangeLog:
  - changeSet: {id: 1, author: t, changes: [{sql: {sql: "CREATE TABLE t1 (id int)"}}], rollback: [{sql: {sql: "DROP TABLE t1"}}]}
  - changeSet: {id: 2, author: t, changes: [{tagDatabase: {tag: v1}}]}
  - changeSet: {id: 3, author: t, changes: [{sql: {sql: "CREATE TABLE t2 (id int)"}}], rollback: [{sql: {sql: "DROP TABLE t2"}}]}
  - changeSet: {id: 4, author: t, changes: [{tagDatabase: {tag: v2}}]}
  - changeSet: {id: 5, author: t, changes: [{sql: {sql: "CREATE TABLE t3 (id int)"}}], rollback: [{sql: {sql: "DROP TABLE t3"}}]}
  - changeSet: {id: 6, author: t, changes: [{tagDatabase: {tag: v3}}]}
  - changeSet: {id: 7, author: t, changes: [{sql: {sql: "ALTER TABLE no_such_table ADD COLUMN x int"}}], rollback: [{sql: {sql: "SELECT 1"}}]}
  - changeSet: {id: 8, author: t, changes: [{tagDatabase: {tag: v4}}]}
YAML
apply_schema broken <<'YAML'
databaseChangeLog:
  - changeSet: {id: 1, author: t, changes: [{sql: {sql: "SELECT 1"}}
YAML
k -n "$NS" apply -f - >/dev/null <<'YAML'
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: nocm}
spec:
  changelog: changelog.yaml
  source: {configMapRef: {name: no-such-configmap}}
---
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: gitdown}
spec:
  changelog: changelog.yaml
  source: {git: {url: "http://127.0.0.1:1/orders.git", ref: {branch: main}}}
YAML
apply_instance db app Deny
# the app: real pods, held un-Ready by a gate table until r has been read WaitingForApp
testapp_deployment app app_gate open | k -n "$NS" apply -f - >/dev/null || fail "create deployment app"
apply_rollout r db v1 app
apply_rollout orphan nope v1

# no controller yet: only the CRDs' default status {observedGeneration: -1}
expect DBSchema app new-default-status Progressing
expect DBInstance db new-default-status Progressing
expect DBRollout r new-default-status Progressing

start_controller
expect_eventually DBSchema app ready Healthy
expect_eventually DBSchema broken parse-failed Degraded
expect_eventually DBSchema nocm configmap-not-found Degraded
expect_eventually DBSchema gitdown fetch-retrying Progressing
expect_eventually DBInstance db ready Healthy
expect_eventually DBRollout orphan pending Progressing
phase_becomes r WaitingForApp 60 || fail "r not WaitingForApp"
expect DBRollout r waiting-for-app Progressing
open_app_gate
wait_for_phase r Succeeded 60
expect DBRollout r succeeded Healthy

# a spec change the controller has not seen: the old Ready must not read Healthy
stop_controller
k -n "$NS" patch dbrollout r --type=merge -p '{"spec":{"tag":"v2"}}' >/dev/null
k -n "$NS" patch dbinstance db --type=merge -p '{"spec":{"environment":"staging"}}' >/dev/null
k -n "$NS" patch dbschema app --type=merge -p '{"spec":{"changelog":"changelog.yaml","source":{"inline":{"files":{"extra.txt":"x"}}}}}' >/dev/null
expect DBRollout r stale-ready Progressing
expect DBInstance db stale-ready Progressing
expect DBSchema app stale-ready Progressing

# v2 while a Liquibase lock row is held: Applying, retrying
lock_row true
start_controller
phase_becomes r Applying 60 || fail "r not Applying under the lock row"
expect DBRollout r applying Progressing
lock_row false
phase_becomes r Succeeded 120 || fail "r did not reach v2"

# v3: the rollout applies, then waits for a pod template tagged v3. The lock row is taken
# first, then the v3 template arrives with an app that crashes at start: the
# app fails, the rollback waits for the lock row in RollingBack, then ends RolledBack.
k -n "$NS" patch deployment app --type=merge -p \
  '{"spec":{"template":{"metadata":{"annotations":{"tidemark.dev/tag":"v2"}}}}}' >/dev/null
k -n "$NS" patch dbrollout r --type=merge -p '{"spec":{"tag":"v3"}}' >/dev/null
phase_becomes r WaitingForApp 60 || fail "r not WaitingForApp for v3"
lock_row true
k -n "$NS" patch deployment app -p "$(testapp_patch --tag v3 --deadline 5 app_gate open 1)" >/dev/null
phase_becomes r RollingBack 120 || fail "r not RollingBack"
expect DBRollout r rolling-back Degraded
lock_row false
phase_becomes r RolledBack 120 || fail "r not RolledBack"
expect DBRollout r rolled-back Degraded

# v4's changeset fails and the strategy is Fail: Failed
k -n "$NS" patch dbrollout r --type=merge -p '{"spec":{"tag":"v4","changeSetFailureStrategy":"Fail"}}' >/dev/null
phase_becomes r Failed 120 || fail "r not Failed"
expect DBRollout r failed Degraded

# an unknown tag: Blocked, nothing runs
apply_rollout unknown db v9
expect_eventually DBRollout unknown blocked Suspended

# DBInstance: unreachable (retried), missing credentials (stalled), drifted
k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: down}
spec:
  schemaRef: {name: app}
  connection: {host: 127.0.0.1, port: 1, database: x, sslMode: disable, connectTimeoutSeconds: 1, userSecretRef: {name: db-creds}}
---
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: nocreds}
spec:
  schemaRef: {name: app}
  connection: {host: 127.0.0.1, port: 5432, database: x, sslMode: disable, userSecretRef: {name: no-such-secret}}
YAML
expect_eventually DBInstance down connect-failed Progressing
expect_eventually DBInstance nocreds credentials-not-found Degraded
q "UPDATE databasechangelog SET md5sum = '9:00000000000000000000000000000000' WHERE id = '1'" >/dev/null
k -n "$NS" annotate dbinstance db tidemark.dev/poke="$(date +%s)" --overwrite >/dev/null
expect_eventually DBInstance db drifted Degraded 90
assert_no_canary
