#!/usr/bin/env bash
# tidemark tests/e2e/incluster_scenario.sh — the operator as users run it: installed IN the
# cluster from its image with `kubectl apply -k` of the README's overlay (tests/lib/incluster.sh),
# two replicas with leader election, driving a real app (the test app, tests/lib/app.sh) on a
# real node, in a cluster of this test's own (an audit log records what the controller asks of
# the API server).  One database, one DBSchema (tags v1..v5), one DBRollout moved tag by tag:
#   scenario   v1 (schema + app needing its column) Succeeded; v2 whose app crashes (exit 1,
#              CrashLoopBackOff, ProgressDeadlineExceeded) RolledBack with RollbackBoth: the
#              schema back at preStartTag v1, the app's v1 template restored and its pods Ready;
#              rows written at v1 survive; the DB password (a canary) is in no controller log
#              (both replicas, every container instance), Event or status.
#   faults     (a) the leader's container is SIGKILLed mid-apply (ctr on the node): the kubelet
#              restarts it (restartCount up) and the rollout still Succeeds; (b) the leader pod
#              is deleted mid-apply: the other replica takes the Lease and finishes; (c) is the
#              scenario's crashing v2; (d) the kubelet crashes and restarts during a rollout.
#              After each: every changeset recorded once, no advisory lock left.
#   pod        the controller pod runs as uid 65532 (status, id -u, /proc/1/status) on a
#              read-only root filesystem (mount flags, a write fails).
#   RBAC       every request the controller made (the audit log) got no 403 and is allowed by
#              `kubectl auth can-i` as its ServiceAccount; every verb the RBAC grants was used,
#              or is named below with the code path this scenario does not take; what it must
#              never do is denied.
# Needs root, TIDEMARK_PG_URL and TIDEMARK_PG_POD_HOST (hack/postgres.sh), podman (hack/image.sh).
# No valgrind rerun: the controller runs in a pod (tests/CMakeLists.txt).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/app.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/incluster.sh"
T0=$(date +%s)
require_postgres
[[ -n "${TIDEMARK_PG_POD_HOST:-}" ]] || fail "TIDEMARK_PG_POD_HOST is not set (eval \"\$(hack/postgres.sh env)\")"
new_work_dir
SA_USER=system:serviceaccount:$CTL_NS:tidemark
cat >"$WORK/audit-policy.yaml" <<EOF
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: ["$SA_USER"]
- level: None
EOF
node_cluster "$WORK/audit-policy.yaml"
incluster_install

# ---- the database, the app, the schema
NS="$(unique_ns incluster)"
k create namespace "$NS" >/dev/null || fail "create namespace $NS"
ROLE="r_${NS//-/_}"
CANARY="canary$(random_hex 8)"
new_role "$ROLE" "$CANARY"
new_database "${NS//-/_}" "$ROLE"
CTL_LOG="$WORK/controller.log"
at_exit '[[ $TM_RC -eq 0 ]] || { ctl_logs "$CTL_LOG"; log "controller logs (last 40 lines):"; grep -v "\"reconciled\"" "$CTL_LOG" | tail -n 40 >&2; k -n "$NS" get dbrollouts,deployments,pods -o wide >&2; k -n "$CTL_NS" get pods -o wide >&2; k -n "$CTL_NS" get events >&2; }'
pg_port="${TIDEMARK_PG_URL#*@}"; pg_port="${pg_port%%/*}"; pg_port="${pg_port##*:}"
k -n "$NS" create secret generic db-creds --from-literal=username="$ROLE" --from-literal=password="$CANARY" >/dev/null
app_db_secret "$NS" app-db "$DB" "$ROLE" "$CANARY"

N_SLOW=5 SLOW=0.8
slow_changesets() { # PREFIX: N_SLOW changesets, each a pg_sleep and a table
  local i
  for i in $(seq 1 "$N_SLOW"); do
    changeset_yaml "$1-$i" "SELECT pg_sleep($SLOW); CREATE TABLE $1$i (id int)" "DROP TABLE $1$i"
  done
}
add_column() { changeset_yaml "$1" "ALTER TABLE items ADD COLUMN $2 text" "ALTER TABLE items DROP COLUMN $2"; }
{
  echo "databaseChangeLog:"
  changeset_yaml v1-items "CREATE TABLE items (id int PRIMARY KEY, c_v1 text)" "DROP TABLE items"
  tag_yaml v1-tag v1
  add_column v2-col c_v2; tag_yaml v2-tag v2
  slow_changesets ka; add_column v3-col c_v3; tag_yaml v3-tag v3
  slow_changesets dl; add_column v4-col c_v4; tag_yaml v4-tag v4
  add_column v5-col c_v5; tag_yaml v5-tag v5
} | apply_schema app-schema
# rows in history at each tag: changesets (and tag rows) up to and including it
rows_at() { case $1 in v1) echo 2 ;; v2) echo 4 ;; v3) echo $((4 + N_SLOW + 2)) ;; v4) echo $((4 + 2 * (N_SLOW + 2))) ;; v5) echo $((6 + 2 * (N_SLOW + 2))) ;; esac; }

k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: app-db}
spec:
  schemaRef: {name: app-schema}
  connection:
    host: "$TIDEMARK_PG_POD_HOST"
    port: $pg_port
    database: "$DB"
    sslMode: disable
    userSecretRef: {name: db-creds}
YAML
testapp_deployment app --tag v1 --deadline 60 items c_v1 | k -n "$NS" apply -f - >/dev/null
k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: app}
spec:
  instanceRef: {name: app-db}
  tag: v1
  deploymentRef: {name: app}
  order: SchemaFirst
  onAppFailure: RollbackBoth
  appTimeoutSeconds: 120
YAML

cond() { k -n "$NS" get dbrollout app -o "jsonpath={.status.conditions[?(@.type==\"$1\")].$2}"; }
ids_once() { [[ "$(q "select count(*) - count(distinct (id, author, filename)) from databasechangelog")" == 0 ]]; }
no_advisory_lock() {
  [[ "$(q "select count(*) from pg_locks l join pg_database d on d.oid = l.database where l.locktype = 'advisory' and d.datname = current_database()")" == 0 ]]
}
# converged TAG: Succeeded at TAG, history exactly as far as TAG (each changeset once), no lock
# left, the app available on TAG's template
converged() {
  local tag=$1 want
  want="$(rows_at "$tag")"
  wait_for_phase app Succeeded 120
  [[ "$(k -n "$NS" get dbrollout app -o jsonpath='{.status.appliedTag}')" == "$tag" ]] || fail "$tag: appliedTag is not $tag"
  [[ "$(q "select count(*) from databasechangelog")" == "$want" ]] \
    || fail "$tag: want $want history rows, got $(q "select string_agg(id, ',' order by orderexecuted) from databasechangelog")"
  ids_once || fail "$tag: a changeset was recorded twice"
  wait_for -t 15 no_advisory_lock || fail "$tag: an advisory lock is still held after the rollout"
  wait_deployment_available "$NS" app 60
}
# TAG COLUMN [CRASH]: the app's new template and the rollout's new tag, together.  A crashing
# app gets a short progress deadline (a quick ProgressDeadlineExceeded); the others 60 s, more
# than a leader's Lease (15 s) plus the apply, or the pods waiting for the new column would
# make the deadline pass while the controller is down (an app failure, rightly rolled back).
move_to() {
  local deadline=60
  [[ "${3:-0}" == 1 ]] && deadline=8
  k -n "$NS" patch deployment app -p "$(testapp_patch --tag "$1" --deadline $deadline items "$2" "${3:-0}")" >/dev/null
  k -n "$NS" patch dbrollout app --type=merge -p "{\"spec\":{\"tag\":\"$1\"}}" >/dev/null
}

# ---- 1. scenario: v1 Succeeded
converged v1
q "insert into items (id, c_v1) select g, 'row ' || g from generate_series(1, 50) g" >/dev/null
log "v1: schema and app Succeeded, 50 rows written ($(( $(date +%s) - T0 ))s)"

# v2: the app crashes -> ProgressDeadlineExceeded -> RollbackBoth.  It also needs a column no
# tag adds: in one of 14 runs the Deployment counted the crashing pod (needing c_v2) available
# and v2 Succeeded; why its readiness probe passed is not known.  This release must never be.
move_to v2 c_broken 1
wait_for_phase app RolledBack 120
[[ "$(cond AppAvailable reason)" == ProgressDeadlineExceeded ]] || fail "v2: AppAvailable reason '$(cond AppAvailable reason)'"
[[ "$(k -n "$NS" get dbrollout app -o jsonpath='{.status.preStartTag} {.status.appliedTag}')" == "v1 v1" ]] \
  || fail "v2: preStartTag/appliedTag: $(k -n "$NS" get dbrollout app -o jsonpath='{.status.preStartTag} {.status.appliedTag}')"
[[ "$(q "select string_agg(id, ',' order by orderexecuted) from databasechangelog")" == "v1-items,v1-tag" ]] \
  || fail "v2: history not back at v1"
[[ "$(q "select count(*) from information_schema.columns where table_name = 'items' and column_name = 'c_v2'")" == 0 ]] \
  || fail "v2: column c_v2 still exists"
crashes="$(k -n "$NS" get events --field-selector reason=BackOff -o name | wc -l)"
(( crashes > 0 )) || fail "v2: the app never crashed (no BackOff Event)"
has_event app "Warning AppFailed" || fail "v2: no AppFailed Warning Event"
has_event app "Warning RolledBack" || fail "v2: no RolledBack Warning Event"
restored() { [[ "$(k -n "$NS" get deployment app -o 'jsonpath={.spec.template.spec.containers[0].env[?(@.name=="APP_CRASH")].value}')" == 0 ]]; }
wait_for -t 30 restored || fail "v2: the app's v1 template was not restored"
wait_deployment_available "$NS" app 60
[[ "$(q "select count(*) from items where c_v1 like 'row %'")" == 50 ]] || fail "v2: rows written at v1 were lost"
log "v2: crashing app -> RolledBack, schema at v1, v1 app Ready again, rows kept ($(( $(date +%s) - T0 ))s)"

# ---- 2a. the leader's container is killed mid-apply; the kubelet restarts it
leader="$(ctl_leader_pod)"
restarts0="$(ctl_restarts "$leader")"
cid="$(ctl_pod_field "$leader" '{.status.containerStatuses[?(@.name=="controller")].containerID}')"
move_to v3 c_v3
wait_for -t 60 -i 0.1 history_has $(( $(rows_at v2) + 2 )) || fail "v3: the apply did not start"
node_sh ctr task kill -s SIGKILL "${cid#containerd://}" || fail "ctr task kill of $leader's container failed"
at_kill="$(history_rows)"
(( at_kill < $(rows_at v3) )) || fail "v3: the apply finished before the kill; the test proves nothing"
log "v3: killed $leader's container at $at_kill history rows"
ctl_logs "$CTL_LOG"  # the killed instance's log (kubectl logs --previous only keeps the last one)
converged v3
(( $(ctl_restarts "$leader") > restarts0 )) || fail "v3: $leader's restartCount did not go up (the kubelet did not restart it)"
log "v3: the kubelet restarted $leader, the rollout Succeeded ($(( $(date +%s) - T0 ))s)"

# ---- 2b. the leader pod is deleted mid-apply; the other replica takes the Lease
wait_for -t 60 eval '[[ -n "$(ctl_leader_pod)" ]]' || fail "no leader after the restart"
leader="$(ctl_leader_pod)"
# its log until it is gone (no --request-timeout: the stream lasts as long as the container)
"$TIDEMARK_K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG" -n "$CTL_NS" logs -f "$leader" -c controller >"$WORK/deleted.log" 2>/dev/null &
follow=$!
move_to v4 c_v4
wait_for -t 60 -i 0.1 history_has $(( $(rows_at v3) + 2 )) || fail "v4: the apply did not start"
k -n "$CTL_NS" delete pod "$leader" --wait=false >/dev/null
log "v4: deleted the leader pod $leader at $(history_rows) history rows"
converged v4
wait "$follow" || true
cat "$WORK/deleted.log" >>"$CTL_LOG"
new_leader="$(ctl_leader_pod)"
[[ -n "$new_leader" && "$new_leader" != "$leader" ]] || fail "v4: the Lease is held by '$(lease_holder "$CTL_NS" "$CTL_LEASE")', not by another replica"
# a graceful stop: the old leader finished the changeset in flight and released the Lease, so
# the standby took over at once instead of after the Lease's 15 s
grep -q '"msg":"stopping: shutdown requested"' "$WORK/deleted.log" || fail "v4: the deleted leader's log shows no graceful stop"
grep -q '"msg":"leader lease released"' "$WORK/deleted.log" || fail "v4: the deleted leader did not release the Lease"
k -n "$CTL_NS" rollout status "deployment/$CTL_DEPLOY" --timeout=60s >/dev/null || fail "the controller Deployment did not replace the deleted pod"
log "v4: $new_leader took the Lease and finished ($(( $(date +%s) - T0 ))s)"

# ---- 2d. the kubelet crashes during a rollout: killed first, then the rollout moves while it is
# down (5 s), so the app's new pod cannot start or pass its probe before the kubelet is back
node_sh restart-kubelet 5 2>"$WORK/restart-kubelet.log" &
restarting=$!
wait_for -t 30 -i 0.1 eval '[[ ! -e "$NODE_STATE/node/pids/kubelet.pid" ]]' || fail "v5: the kubelet was not killed"
move_to v5 c_v5
moving() { [[ "$(k -n "$NS" get dbrollout app -o jsonpath='{.status.targetTag} {.status.phase}')" =~ ^v5\ (Applying|WaitingForApp)$ ]]; }
wait_for -t 30 -i 0.1 moving || fail "v5: the rollout did not start while the kubelet was down (phase $(phase app))"
wait "$restarting" || fail "hack/node.sh restart-kubelet failed: $(cat "$WORK/restart-kubelet.log")"
converged v5
[[ "$(q "select count(*) from items")" == 50 ]] || fail "rows written at v1 were lost"
log "v5: the kubelet restarted mid-rollout, Succeeded ($(( $(date +%s) - T0 ))s)"

# ---- no secret in the controller logs (every replica, every instance), Events or status
ctl_logs "$CTL_LOG"
grep -q '"msg":"applying"' "$CTL_LOG" || fail "the controller logs were not collected (no \"applying\" line in $CTL_LOG)"
assert_no_secret "$CANARY" "$CTL_LOG"
log "no canary in $(wc -l <"$CTL_LOG") controller log lines, the Events or the status"

# ---- 3. the controller pod: uid 65532, read-only root filesystem
pod="$(ctl_leader_pod)"
[[ "$(ctl_pod_field "$pod" '{.spec.securityContext.runAsUser} {.spec.containers[0].securityContext.readOnlyRootFilesystem}')" == "65532 true" ]] \
  || fail "controller pod spec: runAsUser/readOnlyRootFilesystem not 65532/true"
kx() { k -n "$CTL_NS" exec "$pod" -c controller -- "$@"; }
[[ "$(kx id -u)" == 65532 ]] || fail "controller pod: id -u is '$(kx id -u 2>&1)', want 65532"
uid_line="$(kx grep '^Uid:' /proc/1/status)" || fail "controller pod: cannot read /proc/1/status"
[[ "$(awk '{print $2 $3 $4 $5}' <<<"$uid_line")" == 65532655326553265532 ]] || fail "controller pod: pid 1 runs as '$uid_line'"
[[ "$(kx cat /proc/1/comm)" == tidemark ]] || fail "controller pod: pid 1 is '$(kx cat /proc/1/comm)', not tidemark"
root_opts="$(kx awk '$2 == "/" {print $4}' /proc/mounts)"
[[ ",$root_opts," == *,ro,* ]] || fail "controller pod: / is mounted '$root_opts', not ro"
if kx touch /usr/local/bin/x 2>/dev/null; then fail "controller pod: the root filesystem is writable"; fi
log "controller pod $pod: uid 65532, root filesystem mounted ro, a write fails"

# ---- 4. RBAC: what the controller did (audit log) == what its ServiceAccount may do
[[ -s "$AUDIT_LOG" ]] || fail "no audit log at $AUDIT_LOG"
# one line per request: verb group resource[/subresource] namespace|- code
jq -r --arg u "$SA_USER" 'select(.user.username == $u and (.stage == "ResponseComplete" or .verb == "watch"))
  | [.auditID, .verb, (.objectRef.apiGroup // "core"), (.objectRef.resource + (if .objectRef.subresource then "/" + .objectRef.subresource else "" end)),
     (.objectRef.namespace // "-"), (.responseStatus.code | tostring)] | join(" ")' "$AUDIT_LOG" \
  | sort -u -k1,1 | cut -d' ' -f2- >"$WORK/requests"
(( $(wc -l <"$WORK/requests") > 50 )) || fail "the audit log holds only $(wc -l <"$WORK/requests") requests of $SA_USER"
forbidden="$(awk '$5 == 403' "$WORK/requests" | sort | uniq -c)"
[[ -z "$forbidden" ]] || fail "the API server refused the controller: $forbidden"
cut -d' ' -f1-4 "$WORK/requests" | sort -u >"$WORK/used"
log "the controller made $(wc -l <"$WORK/requests") requests of $(wc -l <"$WORK/used") kinds (verb, resource, namespace)"
# granted for a code path this scenario may not take: get of a referenced ConfigMap that lacks
# the changelog label (reconcilers/rec.c), patch of a repeated Event's series
# (controller/kube/event.c), a live get of a DBRollout whose cached copy may lag or of the
# lock holder (reconcilers/dbrollout.c; taken in most runs, not all), the removal of a pod's
# schema gate (reconcilers/gate.c; this scenario's app declares none), the creation of a
# spec.verify Job (reconcilers/dbrollout.c; this scenario's rollout declares none: its Jobs
# informer still lists and watches), an Argo Rollout as the app (spec.appRef: read and undone
# in reconcilers/dbrollout.c; e2e.rollout_argo_rollouts runs it)
cat >"$WORK/unexercised" <<'EOF'
get core configmaps
patch events.k8s.io events
get tidemark.dev dbrollouts
patch core pods
create batch jobs
get argoproj.io rollouts
patch argoproj.io rollouts
EOF
: >"$WORK/can-fail"
can() { # yes|no can-i-arguments...: asked in the background, 6 at a time; a mismatch -> can-fail
  while (( $(jobs -rp | wc -l) >= 6 )); do wait -n || true; done
  (
    got="$(k auth can-i --as="$SA_USER" "${@:2}" 2>/dev/null || true)"
    [[ "$got" == "$1" ]] || echo "kubectl auth can-i --as=$SA_USER ${*:2}: expected $1, got '$got'" >>"$WORK/can-fail"
  ) &
}
res_arg() { # group resource[/sub] -> can-i's resource and --subresource arguments
  local g=$1 r=${2%%/*} s=""
  [[ "$2" == */* ]] && s="--subresource=${2#*/}"
  [[ "$g" == core ]] && printf '%s %s\n' "$r" "$s" || printf '%s.%s %s\n' "$r" "$g" "$s"
}
while read -r verb group res ns; do
  # shellcheck disable=SC2046
  if [[ $ns == - ]]; then can yes "$verb" $(res_arg "$group" "$res") -A; else can yes "$verb" $(res_arg "$group" "$res") -n "$ns"; fi
done <"$WORK/used"
# every verb the ClusterRole and the leader-election Role grant, as "verb group resource"
granted() {
  k get clusterrole tidemark-controller -o json | jq -r '.rules[] | .verbs[] as $v | .apiGroups[] as $g | .resources[] as $r | "\($v) \(if $g == "" then "core" else $g end) \($r)"'
  k -n "$CTL_NS" get role tidemark-leader-election -o json | jq -r '.rules[] | .verbs[] as $v | .apiGroups[] as $g | .resources[] as $r | "\($v) \(if $g == "" then "core" else $g end) \($r)"'
}
granted | sort -u >"$WORK/granted"
cat "$WORK/used" "$WORK/unexercised" | cut -d' ' -f1-3 | sort -u >"$WORK/needed"
unused="$(comm -23 "$WORK/granted" "$WORK/needed")"
[[ -z "$unused" ]] || soft_fail "RBAC grants what the controller never did (remove it, or name the code path in the unexercised list): $(tr '\n' ';' <<<"$unused")"
ungranted="$(comm -13 "$WORK/granted" "$WORK/needed")"
[[ -z "$ungranted" ]] || soft_fail "the controller did what no rule names (a broader rule must have allowed it): $(tr '\n' ';' <<<"$ungranted")"
# never
for v in list watch create update patch delete; do can no "$v" secrets -n "$NS"; done
for v in create update patch delete; do can no "$v" configmaps -n "$NS"; done
for v in create delete; do can no "$v" deployments.apps -n "$NS"; done
for v in create delete deletecollection; do can no "$v" pods -n "$NS"; done
for v in get update patch delete; do can no "$v" jobs.batch -n "$NS"; done
can no create pods/exec -n "$NS"
can no patch replicasets.apps -n "$NS"
for r in dbschemas dbinstances dbrollouts; do can no create "$r.tidemark.dev" -n "$NS"; can no delete "$r.tidemark.dev" -n "$NS"; done
can no delete leases.coordination.k8s.io -n "$CTL_NS"
can no get leases.coordination.k8s.io -n "$NS"
can no get nodes
can no create clusterrolebindings.rbac.authorization.k8s.io
can no '*' '*'
wait
[[ ! -s "$WORK/can-fail" ]] || fail "$(wc -l <"$WORK/can-fail") can-i answer(s) wrong: $(cat "$WORK/can-fail")"
(( FAILURES == 0 )) || fail "$FAILURES RBAC check(s) failed"
log "RBAC: $(wc -l <"$WORK/used") used request kinds allowed, nothing granted unused, the forbidden list denied"
log "incluster_scenario took $(( $(date +%s) - T0 ))s"
