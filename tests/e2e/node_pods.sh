#!/usr/bin/env bash
# tidemark tests/e2e/node_pods.sh — the test cluster's node runs real pods from locally built
# images (hack/node.sh, hack/image.sh).
#
# Why: the e2e suite and the demo are to run the operator and the apps as real pods; this proves
# the ground they stand on, in a cluster of its own (TIDEMARK_NODE=1 hack/controlplane.sh start,
# own state dir): the Node is Ready on a non-loopback IP; the test app's readiness probe fails
# while the column it needs is missing and passes once psql adds it (the app is hostNetwork and
# reaches the test PostgreSQL on 127.0.0.1); a test app told to crash really crashes and is
# restarted by the kubelet; the tidemark image runs as uid 65532 on a read-only root filesystem;
# a pod on the pod network reaches the API server through the `kubernetes` Service address with
# its ServiceAccount token (TLS against the cluster CA); a kubelet crash and restart leaves running
# containers alone; the operator installed with `kubectl apply -k manifests/` (image overridden)
# becomes Ready and takes its leader Lease, and its leader (uid 65532, read-only root) fetches
# Git changelog sources (git:// and http:// with credentials) with the git in its image.
# `kubectl exec` and `kubectl logs` work, and stop leaves nothing behind.
# Needs TIDEMARK_PG_URL (the harness's PostgreSQL) and root.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/git.sh"

[[ -n "${TIDEMARK_PG_URL:-}" ]] || fail "TIDEMARK_PG_URL is not set (hack/postgres.sh start)"
src="$ROOT"
work="$(mktemp -d /tmp/tm-nodepods.XXXXXX)"
export TIDEMARK_STATE_DIR="$work"
table="tm_node_pods_$$"

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
cleanup() {
  psql "$TIDEMARK_PG_URL" -qAtc "DROP TABLE IF EXISTS $table" >/dev/null 2>&1 || true
  "$src/hack/controlplane.sh" stop >/dev/null 2>&1 || true
  rm -rf --one-file-system "$work"
}
at_exit cleanup

t0=$(date +%s.%N)
eval "$(TIDEMARK_NODE=1 "$src/hack/controlplane.sh" start)" || fail "control plane with node did not start"
log "control plane + node up in $(elapsed "$t0")s"
pod_field() { k get pod "$1" -o "jsonpath=$2"; }
pod_phase_is() { [[ "$(pod_field "$1" '{.status.phase}')" == "$2" ]]; }
pod_ready() { [[ "$(pod_field "$1" '{.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }

# ---- the Node
node=tidemark-node
[[ "$(k get node "$node" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == True ]] \
  || fail "node $node is not Ready: $(k get node "$node" -o 'jsonpath={.status.conditions}' 2>&1)"
node_ip="$(k get node "$node" -o 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}')"
[[ -n "$node_ip" && "$node_ip" != 127.* ]] || fail "node InternalIP '$node_ip': expected a non-loopback address"

t0=$(date +%s.%N)
"$src/hack/image.sh" load testapp tidemark || fail "hack/image.sh load testapp tidemark failed"
log "images built (or cached) and loaded in $(elapsed "$t0")s"

# ---- the test app is Ready only once its column exists
psql "$TIDEMARK_PG_URL" -qAtc "CREATE TABLE $table (id int)" >/dev/null || fail "could not create table $table"
k create secret generic app-db --from-literal=url="$TIDEMARK_PG_URL" >/dev/null
app_pod() { # app_pod NAME CRASH
  k apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  hostNetwork: true
  containers:
  - name: app
    image: localhost/tidemark/testapp:1
    imagePullPolicy: Never
    env:
    - {name: DATABASE_URL, valueFrom: {secretKeyRef: {name: app-db, key: url}}}
    - {name: APP_TABLE, value: $table}
    - {name: APP_COLUMN, value: feature_x}
    - {name: APP_CRASH, value: "$2"}
    readinessProbe:
      exec: {command: [/usr/local/bin/testapp, ready]}
      periodSeconds: 1
      failureThreshold: 1
EOF
}
app_pod app 0
wait_for -t 60 pod_phase_is app Running || fail "timed out waiting for pod app Running"
probe_failed() { k get events --field-selector involvedObject.name=app,reason=Unhealthy -o 'jsonpath={.items[*].message}' | grep -q "feature_x does not exist yet"; }
wait_for -t 30 probe_failed || fail "timed out waiting for pod app's readiness probe to fail on the missing column"
pod_ready app && fail "pod app is Ready although column $table.feature_x does not exist"
log "app Running, not Ready: its probe says the column does not exist yet"
psql "$TIDEMARK_PG_URL" -qAtc "ALTER TABLE $table ADD COLUMN feature_x text" >/dev/null
wait_for -t 30 pod_ready app || fail "timed out waiting for pod app Ready after the column was added"
k logs app | grep -q "testapp: running" || fail "kubectl logs app: expected 'testapp: running', got: $(k logs app 2>&1)"
log "app Ready once the column exists; kubectl logs works"

# ---- a crashing version crashes for real, and the kubelet restarts it
app_pod broken 1
restarted() { local n; n="$(pod_field broken '{.status.containerStatuses[0].restartCount}')"; (( ${n:-0} >= 1 )); }
wait_for -t 60 restarted || fail "timed out waiting for pod broken to crash and be restarted"
code="$(pod_field broken '{.status.containerStatuses[0].lastState.terminated.exitCode}')"
[[ "$code" == 1 ]] || fail "pod broken: expected its container to exit with 1, got '$code'"
pod_ready broken && fail "pod broken is Ready although it crashes"
log "broken app exited 1 and was restarted"

# ---- a kubelet crash and restart leaves running containers alone
app_cid="$(pod_field app '{.status.containerStatuses[0].containerID}')"
"$src/hack/node.sh" restart-kubelet 2>/dev/null || fail "hack/node.sh restart-kubelet failed"
wait_for -t 30 pod_ready app || fail "timed out waiting for pod app Ready after the kubelet restart"
[[ "$(pod_field app '{.status.containerStatuses[0].containerID}')" == "$app_cid" ]] \
  || fail "the kubelet restart replaced app's container (was $app_cid)"
log "kubelet restarted; app's container kept running and Ready"

# ---- the tidemark image: uid 65532, read-only root, reaches the API server from the pod network
k apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: tidemark}
spec:
  containers:
  - name: tidemark
    image: localhost/tidemark/tidemark:dev
    imagePullPolicy: Never
    command: [sleep, infinity]
    securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
EOF
wait_for -t 60 pod_phase_is tidemark Running || fail "timed out waiting for pod tidemark Running"
uid="$(k exec tidemark -- id -u)" || fail "kubectl exec tidemark -- id -u failed"
[[ "$uid" == 65532 ]] || fail "tidemark image: expected uid 65532, got '$uid'"
if k exec tidemark -- touch /usr/local/bin/x 2>/dev/null; then fail "tidemark image: the root filesystem is writable"; fi
k exec tidemark -- tidemark version >/dev/null || fail "tidemark version does not run in the image: $(k exec tidemark -- tidemark version 2>&1)"
pod_ip="$(pod_field tidemark '{.status.podIP}')"
[[ "$pod_ip" == 10.244.* ]] || fail "pod tidemark: expected a pod-network IP (10.244.x.y), got '$pod_ip'"
# git is in the image (Git changelog sources) and speaks HTTPS: ask the API server for a path
# nobody may read. 403 proves TLS to https://$KUBERNETES_SERVICE_HOST with the pod's CA and an
# authenticated ServiceAccount token (a wrong token gets 401, on which git asks for a username).
# shellcheck disable=SC2016
api_status() {
  k exec tidemark -- sh -c 'sa=/var/run/secrets/kubernetes.io/serviceaccount
    git -c http.sslCAInfo=$sa/ca.crt '"$1"' ls-remote "https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/x" 2>&1' 2>/dev/null || true
}
with_token="$(api_status '-c "http.extraHeader=Authorization: Bearer $(cat $sa/token)"')"
grep -q "returned error: 403" <<<"$with_token" || fail "API server from the pod network with the ServiceAccount token: expected HTTP 403, got: $with_token"
wrong="$(api_status '-c "http.extraHeader=Authorization: Bearer not-a-token"')"
grep -Eq "returned error: 401|could not read Username" <<<"$wrong" || fail "API server from the pod network with a wrong token: expected HTTP 401, got: $wrong"
log "tidemark image: uid 65532, read-only root, API server reached at \$KUBERNETES_SERVICE_HOST with its token"

# ---- the operator installed as the README says, the image overridden by kustomize
overlay="$work/overlay"; mkdir -p "$overlay"
cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $(realpath --relative-to="$overlay" "$src/manifests")
images:
- {name: ghcr.io/tidemark/tidemark, newName: localhost/tidemark/tidemark, newTag: dev}
EOF
k apply -k "$overlay" >/dev/null || fail "kubectl apply -k manifests/ (image overridden) failed"
k -n tidemark-system rollout status deployment/tidemark-controller --timeout=120s >/dev/null \
  || fail "the controller Deployment did not become available: $(k -n tidemark-system get pods -o wide 2>&1; k -n tidemark-system logs deploy/tidemark-controller --tail=20 2>&1)"
holder="$(k -n tidemark-system get lease tidemark-controller -o 'jsonpath={.spec.holderIdentity}' 2>/dev/null || true)"
[[ "$holder" == tidemark-controller-* ]] || fail "in-cluster controller: expected it to hold Lease tidemark-system/tidemark-controller, holder is '$holder'"
log "operator installed with kubectl apply -k: controller pod Ready and leader ($holder)"

# ---- the in-cluster controller fetches Git changelog sources with the image's git (uid 65532,
# read-only root, the Git cache on its emptyDir): git:// from `git daemon` and http:// with
# Basic auth from a Secret (git http-backend behind tests/integration/source_git_http.py), both
# on the node's address, which the pod network reaches. A git that cannot fetch, index a pack,
# rev-parse, ls-tree or cat-file (or git-remote-http missing) leaves the DBSchemas not Ready.
gitroot="$work/git"
git init -q -b main "$gitroot/repo"
mkdir -p "$gitroot/repo/db"
cat >"$gitroot/repo/db/changelog.yaml" <<'YAML'
databaseChangeLog:
  - changeSet:
      id: 1-create-items
      author: node-pods
      changes:
        - sql: {sql: "CREATE TABLE items (id int PRIMARY KEY);"}
  - changeSet:
      id: 2-tag-v1
      author: node-pods
      changes:
        - tagDatabase: {tag: v1}
YAML
git_in "$gitroot/repo" add -A && git_in "$gitroot/repo" commit -q -m v1
rev="$(git_in "$gitroot/repo" rev-parse HEAD)"
git_port="$(free_port)"
git daemon --export-all --reuseaddr --listen="$node_ip" --port="$git_port" --base-path="$gitroot" "$gitroot" 2>"$work/git-daemon.log" &
git_daemon_pid=$!
at_exit 'kill "$git_daemon_pid" 2>/dev/null; wait "$git_daemon_pid" 2>/dev/null'
wait_for -t 20 bash -c "exec 3<>/dev/tcp/$node_ip/$git_port" || fail "git daemon did not listen on $node_ip:$git_port: $(cat "$work/git-daemon.log")"
GIT_HTTP_LISTEN="$node_ip" start_git_http "$gitroot" np-user np-pass np-token
k create namespace np-git >/dev/null
k -n np-git create secret generic git-creds --from-literal=username=np-user --from-literal=password=np-pass >/dev/null
dbschema() { # dbschema NAME GIT-SOURCE
  k -n np-git apply -f - >/dev/null <<EOF
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: $1}
spec:
  changelog: changelog.yaml
  source:
    git: $2
EOF
}
wait_for -t 30 dbschema via-git "{url: \"git://$node_ip:$git_port/repo\", ref: {branch: main}, path: db}" \
  || fail "could not create DBSchema via-git (CRDs not established?)"
dbschema via-http "{url: \"http://$node_ip:$GIT_HTTP_PORT/repo\", ref: {branch: main}, path: db, secretRef: {name: git-creds}}"
fetched() { [[ "$(k -n np-git get dbschema "$1" -o 'jsonpath={.status.revision}/{.status.conditions[?(@.type=="Ready")].status}')" == "$rev/True" ]]; }
for s in via-git via-http; do
  wait_for -t 60 fetched "$s" \
    || fail "DBSchema $s: expected Ready with revision $rev, fetched by the in-cluster controller; status: $(k -n np-git get dbschema "$s" -o 'jsonpath={.status}')"
done
# the fetches ran in the leader (only it reconciles): as uid 65532 on a read-only root
holder="$(k -n tidemark-system get lease tidemark-controller -o 'jsonpath={.spec.holderIdentity}')"
leader_pod="${holder%%_*}"
got="$(k -n tidemark-system exec "$leader_pod" -- sh -c 'id -u; touch /usr/local/bin/x 2>&1 || echo read-only' 2>&1)" \
  || fail "kubectl exec into the leader pod $leader_pod failed: $got"
[[ "$got" == 65532$'\n'*read-only ]] || fail "leader pod $leader_pod: expected uid 65532 and a read-only root, got: $got"
log "in-cluster controller (uid 65532, read-only root) fetched the Git changelog over git:// and http:// (revision $rev)"

# ---- stop undoes what the node made outside its state dir
node_id="$(printf '%s' "$work" | sha256sum | cut -c1-8)"
t0=$(date +%s.%N)
"$src/hack/controlplane.sh" stop 2>/dev/null || fail "controlplane.sh stop failed"
log "control plane + node stopped in $(elapsed "$t0")s"
! ip link show "tm-$node_id" >/dev/null 2>&1 || fail "stop left the bridge tm-$node_id"
! iptables -t nat -S 2>/dev/null | grep -q "TM-$node_id" || fail "stop left the iptables chain TM-$node_id"
! findmnt -rn -o TARGET | grep -q "^$work/" || fail "stop left mounts under $work: $(findmnt -rn -o TARGET | grep "^$work/")"
for h in /sys/fs/cgroup/*/; do [[ ! -d "${h}tidemark-$node_id" ]] || fail "stop left the cgroup ${h}tidemark-$node_id"; done
! ls /var/lib/cni/results 2>/dev/null | grep -q "tm-$node_id" || fail "stop left CNI results of tm-$node_id"
! find /var/log/containers -lname "$work/*" 2>/dev/null | grep -q . || fail "stop left links to its pod logs in /var/log/containers"
log "stop removed the bridge, iptables chain, mounts, cgroups and CNI results"
