#!/usr/bin/env bash
# tidemark tests/e2e/source_configmap_dbschema.sh — a DBSchema whose changelog lives in a
# ConfigMap (data and binaryData keys are files), through the real controller and the REAL
# kube-apiserver: Ready with a content revision "sha256:<hex>", the changelog's tags and
# changesets in status; editing the ConfigMap gives a new revision; a missing ConfigMap gives
# Ready=False naming it.  Needs KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_BIN.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/controller.sh"
require_controlplane
require_tidemark
new_work_dir
install_crds
new_namespace srccm
CTL_LOG="$WORK/controller.log"
start_controller

# changelog.yaml as data, the SQL file as binaryData (--from-file of a non-UTF-8 file lands there)
cat >"$WORK/changelog.yaml" <<'YAML'
databaseChangeLog:
  - include: {file: 001-items.sql}
  - changeSet:
      id: tag-v1
      author: e2e
      changes:
        - tagDatabase: {tag: v1}
YAML
printf -- '--liquibase formatted sql\n--changeset e2e:1\nCREATE TABLE items (id int, note text DEFAULT %s);\n--rollback DROP TABLE items;\n' "'caf$(printf '\xe9')'" >"$WORK/001-items.sql"
k -n "$NS" create configmap orders-changelog --from-file="$WORK/changelog.yaml" --from-file="$WORK/001-items.sql" >/dev/null
[[ -n "$(k -n "$NS" get configmap orders-changelog -o 'jsonpath={.binaryData.001-items\.sql}')" ]] \
  || fail "test setup: expected 001-items.sql in binaryData"

apply() { k -n "$NS" apply -f - <<<"$1" >/dev/null; }
y='
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: from-configmap}
spec:
  source: {configMapRef: {name: orders-changelog}}'
wait_for -t 30 apply "$y" || fail "could not create DBSchema from-configmap: $(apply "$y" 2>&1)"
y2='
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: missing-configmap}
spec:
  source: {configMapRef: {name: no-such-configmap}}'
apply "$y2" || fail "could not create DBSchema missing-configmap"

ready_of() { k -n "$NS" get dbschema "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'; }
wait_for_output -t 60 True ready_of from-configmap \
  || fail "DBSchema from-configmap: expected Ready True; status: $(k -n "$NS" get dbschema from-configmap -o jsonpath='{.status}')"
got="$(k -n "$NS" get dbschema from-configmap -o 'jsonpath={.status.tags}/{.status.changeSets}/{.status.source}')"
[[ "$got" == '["v1"]/2/configmap/orders-changelog' ]] || fail "DBSchema from-configmap status: got '$got'"
rev1="$(k -n "$NS" get dbschema from-configmap -o 'jsonpath={.status.revision}')"
[[ "$rev1" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "DBSchema from-configmap: revision '$rev1' is not sha256:<hex>"
log "ConfigMap source Ready, revision $rev1"

# edit the ConfigMap: a second tag -> a new revision
cat >>"$WORK/changelog.yaml" <<'YAML'
  - changeSet:
      id: tag-v2
      author: e2e
      changes:
        - tagDatabase: {tag: v2}
YAML
k -n "$NS" create configmap orders-changelog --from-file="$WORK/changelog.yaml" --from-file="$WORK/001-items.sql" \
  --dry-run=client -o yaml | k -n "$NS" replace -f - >/dev/null
wait_for_output -t 90 '["v1","v2"]' k -n "$NS" get dbschema from-configmap -o 'jsonpath={.status.tags}' \
  || fail "DBSchema from-configmap: expected tags v1,v2 after editing the ConfigMap"
rev2="$(k -n "$NS" get dbschema from-configmap -o 'jsonpath={.status.revision}')"
[[ "$rev2" != "$rev1" && "$rev2" =~ ^sha256: ]] || fail "DBSchema from-configmap: expected a new revision, got '$rev2' (was '$rev1')"
log "edited ConfigMap -> new revision $rev2"

wait_for_output -t 60 False ready_of missing-configmap || fail "DBSchema missing-configmap: expected Ready False"
msg="$(k -n "$NS" get dbschema missing-configmap -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}')"
[[ "$msg" == *"no-such-configmap"* ]] || fail "DBSchema missing-configmap: expected the ConfigMap named in the message, got '$msg'"
log "missing ConfigMap reported"
