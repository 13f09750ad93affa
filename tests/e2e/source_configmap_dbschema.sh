#!/usr/bin/env bash
# tidemark tests/e2e/source_configmap_dbschema.sh — a DBSchema whose changelog lives in a
# ConfigMap (data and binaryData keys are files), through the real controller and the REAL
# kube-apiserver: Ready with a content revision "sha256:<hex>", the changelog's tags and
# changesets in status; editing the ConfigMap gives a new revision; a missing ConfigMap gives
# Ready=False naming it.  The controller watches only ConfigMaps labelled
# tidemark.dev/changelog=true: an unlabelled one gives Stalled with a message saying which label
# to add, and adding it (a watch event, no restart, no spec change) makes the DBSchema Ready.
# Needs KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_BIN.
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
k -n "$NS" label configmap orders-changelog tidemark.dev/changelog=true >/dev/null
k -n "$NS" create configmap unlabelled-changelog --from-file="$WORK/changelog.yaml" --from-file="$WORK/001-items.sql" >/dev/null
[[ -n "$(k -n "$NS" get configmap orders-changelog -o 'jsonpath={.binaryData.001-items\.sql}')" ]] \
  || fail "test setup: expected 001-items.sql in binaryData"

apply_schema() { # NAME CONFIGMAP: a DBSchema whose source is that ConfigMap
  k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: $1}
spec:
  source: {configMapRef: {name: $2}}
YAML
}
wait_for -t 30 apply_schema from-configmap orders-changelog \
  || fail "could not create DBSchema from-configmap: $(apply_schema from-configmap orders-changelog 2>&1)"
apply_schema missing-configmap no-such-configmap || fail "could not create DBSchema missing-configmap"
apply_schema unlabelled-configmap unlabelled-changelog || fail "could not create DBSchema unlabelled-configmap"

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
  --dry-run=client -o yaml | k label --local -f - tidemark.dev/changelog=true -o yaml | k -n "$NS" replace -f - >/dev/null
wait_for_output -t 90 '["v1","v2"]' k -n "$NS" get dbschema from-configmap -o 'jsonpath={.status.tags}' \
  || fail "DBSchema from-configmap: expected tags v1,v2 after editing the ConfigMap"
rev2="$(k -n "$NS" get dbschema from-configmap -o 'jsonpath={.status.revision}')"
[[ "$rev2" != "$rev1" && "$rev2" =~ ^sha256: ]] || fail "DBSchema from-configmap: expected a new revision, got '$rev2' (was '$rev1')"
log "edited ConfigMap -> new revision $rev2"

wait_for_output -t 60 False ready_of missing-configmap || fail "DBSchema missing-configmap: expected Ready False"
msg="$(k -n "$NS" get dbschema missing-configmap -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}')"
[[ "$msg" == *"no-such-configmap"* ]] || fail "DBSchema missing-configmap: expected the ConfigMap named in the message, got '$msg'"
log "missing ConfigMap reported"

# an unlabelled ConfigMap (one made before the label was required): Stalled, saying what to do
stalled_of() { k -n "$NS" get dbschema "$1" -o 'jsonpath={.status.conditions[?(@.type=="Stalled")].status}'; }
wait_for_output -t 60 True stalled_of unlabelled-configmap \
  || fail "DBSchema unlabelled-configmap: expected Stalled True; status: $(k -n "$NS" get dbschema unlabelled-configmap -o jsonpath='{.status}')"
msg="$(k -n "$NS" get dbschema unlabelled-configmap -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}')"
[[ "$msg" == *"unlabelled-changelog has no label tidemark.dev/changelog=true"*"label configmap unlabelled-changelog tidemark.dev/changelog=true"* ]] \
  || fail "DBSchema unlabelled-configmap: expected a message naming the label to add, got '$msg'"
log "unlabelled ConfigMap reported: $msg"
k -n "$NS" label configmap unlabelled-changelog tidemark.dev/changelog=true >/dev/null
wait_for_output -t 60 True ready_of unlabelled-configmap \
  || fail "DBSchema unlabelled-configmap: expected Ready True once the ConfigMap is labelled; status: $(k -n "$NS" get dbschema unlabelled-configmap -o jsonpath='{.status}')"
[[ "$(k -n "$NS" get dbschema unlabelled-configmap -o 'jsonpath={.status.revision}')" == "$rev1" ]] \
  || fail "DBSchema unlabelled-configmap: expected revision $rev1 (the same files as the first orders-changelog)"
log "labelling the ConfigMap made its DBSchema Ready"
