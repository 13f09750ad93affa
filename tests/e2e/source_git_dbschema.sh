#!/usr/bin/env bash
# tidemark tests/e2e/source_git_dbschema.sh — DBSchemas with a Git source, end to end: a REAL
# `git daemon` (git://) and `git http-backend` behind tests/integration/source_git_http.py
# (http:// with Basic auth from a Secret) on loopback, the real tidemark controller, the real
# kube-apiserver.  Checks: status.revision is the commit id of the branch / tag; a commit
# pushed to the branch becomes a new revision (and new tags) on the next poll; credentials
# from a Secret work; a wrong password and a missing branch give Ready=False with a clear
# message.  Needs KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_BIN; git and python3 on PATH.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/controller.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/git.sh"
require_controlplane
require_tidemark
new_work_dir

# ---- a repository with a changelog under db/
g() { git_in "$WORK/repo" "$@"; }
git init -q -b main "$WORK/repo"
mkdir -p "$WORK/repo/db"
cat >"$WORK/repo/db/changelog.yaml" <<'YAML'
databaseChangeLog:
  - changeSet:
      id: 1-create-items
      author: e2e
      changes:
        - sql: {sql: "CREATE TABLE items (id int PRIMARY KEY);"}
      rollback:
        - sql: {sql: "DROP TABLE items;"}
  - changeSet:
      id: 2-tag-v1
      author: e2e
      changes:
        - tagDatabase: {tag: v1}
YAML
g add -A && g commit -q -m v1 && g tag v1
V1="$(g rev-parse HEAD)"

# ---- git daemon (git://) and the http front (Basic auth) on loopback
PORT="$(free_port)"
git daemon --export-all --reuseaddr --listen=127.0.0.1 --port="$PORT" --base-path="$WORK" "$WORK" 2>"$WORK/daemon.log" &
DAEMON_PID=$!
at_exit 'kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null'
wait_for -t 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" || fail "git daemon did not listen on $PORT"
start_git_http "$WORK" e2e-user e2e-pass e2e-token

# ---- CRDs, namespace, controller (its own Git cache)
install_crds
new_namespace srcgit
CTL_LOG="$WORK/controller.log"
TIDEMARK_GIT_CACHE="$WORK/cache" start_controller

apply() { k -n "$NS" apply -f - <<<"$1" >/dev/null; }
create() { local y=$1; wait_for -t 30 apply "$y" || fail "could not create: $y"; }
ready_of() { k -n "$NS" get dbschema "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'; }

create "
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: from-branch}
spec:
  changelog: changelog.yaml
  source:
    git: {url: \"git://127.0.0.1:$PORT/repo\", ref: {branch: main}, path: db/, interval: 2s}"
create "
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: from-tag}
spec:
  source:
    git: {url: \"git://127.0.0.1:$PORT/repo\", ref: {tag: v1}, path: db}"

wait_for_output -t 60 "$V1" k -n "$NS" get dbschema from-branch -o 'jsonpath={.status.revision}' \
  || fail "DBSchema from-branch: expected status.revision $V1; status: $(k -n "$NS" get dbschema from-branch -o jsonpath='{.status}')"
got="$(k -n "$NS" get dbschema from-branch -o 'jsonpath={.status.tags}/{.status.changeSets}/{.status.source}')"
[[ "$got" == '["v1"]/2/git://127.0.0.1:'"$PORT"'/repo@main' ]] || fail "DBSchema from-branch status: got '$got'"
wait_for_output -t 30 True ready_of from-branch || fail "DBSchema from-branch: expected Ready True"
wait_for_output -t 60 "$V1" k -n "$NS" get dbschema from-tag -o 'jsonpath={.status.revision}' \
  || fail "DBSchema from-tag: expected status.revision $V1"
log "branch and tag fetched: revision $V1"

# ---- the branch moves: a new revision and the new tag on the next poll; the tag stays put
cat >>"$WORK/repo/db/changelog.yaml" <<'YAML'
  - changeSet:
      id: 3-add-name
      author: e2e
      changes:
        - sql: {sql: "ALTER TABLE items ADD COLUMN name text;"}
      rollback:
        - sql: {sql: "ALTER TABLE items DROP COLUMN name;"}
  - changeSet:
      id: 4-tag-v2
      author: e2e
      changes:
        - tagDatabase: {tag: v2}
YAML
g commit -q -am v2
V2="$(g rev-parse HEAD)"
wait_for_output -t 60 "$V2" k -n "$NS" get dbschema from-branch -o 'jsonpath={.status.revision}' \
  || fail "DBSchema from-branch: expected the moved branch's revision $V2"
wait_for_output -t 30 '["v1","v2"]/4/v2' k -n "$NS" get dbschema from-branch -o 'jsonpath={.status.tags}/{.status.changeSets}/{.status.latestTag}' \
  || fail "DBSchema from-branch: expected tags v1,v2 and 4 changesets after the move"
got="$(k -n "$NS" get dbschema from-tag -o 'jsonpath={.status.revision}')"
[[ "$got" == "$V1" ]] || fail "DBSchema from-tag: the tag did not move, but revision is '$got'"
log "moved branch -> new revision $V2"

# ---- http with credentials from a Secret; a wrong password; a missing branch
k -n "$NS" create secret generic git-good --from-literal=username=e2e-user --from-literal=password=e2e-pass >/dev/null
k -n "$NS" create secret generic git-bad --from-literal=username=e2e-user --from-literal=password=not-the-password >/dev/null
create "
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: over-http}
spec:
  source:
    git: {url: \"http://127.0.0.1:$GIT_HTTP_PORT/repo\", ref: {branch: main}, path: db, secretRef: {name: git-good}}"
create "
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: wrong-password}
spec:
  source:
    git: {url: \"http://127.0.0.1:$GIT_HTTP_PORT/repo\", ref: {branch: main}, path: db, secretRef: {name: git-bad}}"
create "
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: no-branch}
spec:
  source:
    git: {url: \"git://127.0.0.1:$PORT/repo\", ref: {branch: does-not-exist}, path: db}"
wait_for_output -t 60 "$V2" k -n "$NS" get dbschema over-http -o 'jsonpath={.status.revision}' \
  || fail "DBSchema over-http: expected revision $V2; status: $(k -n "$NS" get dbschema over-http -o jsonpath='{.status}')"
wait_for_output -t 60 False ready_of wrong-password || fail "DBSchema wrong-password: expected Ready False"
msg="$(k -n "$NS" get dbschema wrong-password -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}')"
[[ "$msg" == *"authentication failed"* ]] || fail "DBSchema wrong-password: expected 'authentication failed' in the Ready message, got '$msg'"
[[ "$msg" != *"not-the-password"* ]] || fail "DBSchema wrong-password: the message leaks the password: '$msg'"
wait_for_output -t 60 False ready_of no-branch || fail "DBSchema no-branch: expected Ready False"
msg="$(k -n "$NS" get dbschema no-branch -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}')"
[[ "$msg" == *"does-not-exist"* ]] || fail "DBSchema no-branch: expected the missing branch named in the message, got '$msg'"
if grep -q "not-the-password\|e2e-pass" "$WORK/controller.log"; then fail "the controller log contains a Git password"; fi
log "http credentials, wrong password and missing branch ok"
