# shellcheck shell=bash
# tidemark tests/lib/rollout.sh — set-up shared by the reconciler e2e tests: each test gets a
# fresh namespace NS, a fresh PostgreSQL database DB owned by a fresh role ROLE whose password
# is a canary (CANARY) that must never show up in status, Events or logs, the tidemark CRDs,
# and its own controller (tests/lib/controller.sh) logging to CTL_LOG; everything is removed
# at exit.  Plus builders for the DBSchema / DBInstance / DBRollout objects and changelogs.
#
#   rollout_setup PREFIX       all of the above (no controller started yet)
#   render_samples             manifests/samples rendered for DB and ROLE (prints YAML)
#   phase NAME                 .status.phase of DBRollout NAME
#   rollout_events NAME        "TYPE REASON" lines of the Events about DBRollout NAME
#   has_event NAME "TYPE REASON"   true when such an Event exists
#   assert_no_canary           the canary password is in no object, Event or controller log
#   apply_instance NAME SCHEMA POLICY [EXTRA-SPEC-YAML]   Secret db-creds + DBInstance NAME
#   apply_schema NAME < changelog.yaml     an inline DBSchema
#   apply_rollout NAME INSTANCE TAG [DEPLOYMENT]
#   changeset_yaml ID SQL ROLLBACK-SQL     one YAML changeset
#   tag_yaml ID TAG                        one tagDatabase changeset
#   table_changelog TABLE TAG  a changelog: changeset 1 creates TABLE (rollback drops it),
#                              changeset 2 tags TAG
#   slow_changelog PREFIX N SLEEP          a changelog of N changesets "SELECT pg_sleep(SLEEP);
#                              CREATE TABLE PREFIXi (id int)" (rollbacks drop them), then tag v1
#   succeed_with_ready_pods NAME SELECTOR SECS MSG   play the kubelet (mark the SELECTOR pods
#                              Ready every second) until DBRollout NAME is Succeeded; fail MSG
#                              (with the phase) after SECS
# Needs: KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_PG_URL (superuser), TIDEMARK_BIN; psql.

[[ -n "${TM_LIB_ROLLOUT_LOADED:-}" ]] && return 0
TM_LIB_ROLLOUT_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/kube.sh"
source "$(dirname "${BASH_SOURCE[0]}")/db.sh"
source "$(dirname "${BASH_SOURCE[0]}")/controller.sh"

rollout_setup() {
  local prefix=$1
  require_controlplane
  require_postgres
  require_tidemark
  NS="$(unique_ns "$prefix")"
  ROLE="r_${NS//-/_}"
  CANARY="canary$(random_hex 8)"
  PG_BASE="${TIDEMARK_PG_URL%/*}"
  CTL_LOG="$(mktemp "/tmp/tidemark-e2e-${prefix}.XXXXXX.log")"
  at_exit 'rm -f "$CTL_LOG"'
  new_role "$ROLE" "$CANARY"
  new_database "${NS//-/_}" "$ROLE"
  install_crds
  at_exit 'k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1'
  k create namespace "$NS" >/dev/null || fail "create namespace $NS"
  # the controller hook (stop it, check its exit) runs before the namespace goes
  at_exit _controller_exit_hook
  _tm_ctl_hooked=1
  log "namespace $NS, database $DB"
}

render_samples() {
  PGDATABASE="$DB" PGUSER="$ROLE" PGPASSWORD="$CANARY" "$ROOT/manifests/samples/render.sh"
}

phase() { k -n "$NS" get dbrollout "$1" -o jsonpath='{.status.phase}'; }

rollout_events() {
  k -n "$NS" get events --field-selector "involvedObject.kind=DBRollout,involvedObject.name=$1" \
    -o jsonpath='{range .items[*]}{.type} {.reason}{"\n"}{end}'
}

# (Captured first: `k ... | grep -q` under pipefail fails when grep exits early.)
has_event() {
  local all
  all="$(rollout_events "$1")" || return 1
  grep -qx "$2" <<<"$all"
}

assert_no_canary() { assert_no_secret "$CANARY" "$CTL_LOG"; }

apply_instance() { # NAME SCHEMA POLICY [EXTRA-SPEC-YAML (one line, e.g. "contexts: prod")]
  local name=$1 schema=$2 policy=$3 extra=${4:-} hostport host port
  hostport="${PG_BASE#*@}"; host="${hostport%:*}"; port="${hostport##*:}"
  k -n "$NS" create secret generic db-creds --from-literal=username="$ROLE" \
    --from-literal=password="$CANARY" --dry-run=client -o yaml | k -n "$NS" apply -f - >/dev/null
  k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBInstance
metadata: {name: $name}
spec:
  schemaRef: {name: $schema}
  connection:
    host: "$host"
    port: $port
    database: "$DB"
    sslMode: disable
    userSecretRef: {name: db-creds}
  policy: {destructiveChanges: $policy}
  $extra
YAML
}

apply_schema() {
  local name=$1 body
  body="$(sed 's/^/          /')"
  k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBSchema
metadata: {name: $name}
spec:
  changelog: changelog.yaml
  source:
    inline:
      files:
        changelog.yaml: |
$body
YAML
}

apply_rollout() {
  local dep=""
  [[ -n "${4:-}" ]] && dep="  deploymentRef: {name: $4}"
  k -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: tidemark.dev/v1alpha1
kind: DBRollout
metadata: {name: $1}
spec:
  instanceRef: {name: $2}
  tag: $3
$dep
YAML
}

changeset_yaml() {
  printf '  - changeSet:\n      id: %s\n      author: t\n      changes:\n        - sql: {sql: "%s"}\n      rollback:\n        - sql: {sql: "%s"}\n' "$1" "$2" "$3"
}

tag_yaml() {
  printf '  - changeSet:\n      id: %s\n      author: t\n      changes:\n        - tagDatabase: {tag: %s}\n' "$1" "$2"
}

table_changelog() {
  echo "databaseChangeLog:"
  changeset_yaml 1 "CREATE TABLE $1 (id int)" "DROP TABLE $1"
  tag_yaml 2 "$2"
}

slow_changelog() {
  local prefix=$1 n=$2 sleep=$3 i
  echo "databaseChangeLog:"
  for i in $(seq 1 "$n"); do
    changeset_yaml "$i" "SELECT pg_sleep($sleep); CREATE TABLE $prefix$i (id int)" "DROP TABLE $prefix$i"
  done
  tag_yaml tag v1
}

succeed_with_ready_pods() {
  local name=$1 selector=$2 secs=$3 msg=$4 deadline
  deadline=$(( $(date +%s) + secs ))
  until [[ "$(phase "$name")" == Succeeded ]]; do
    make_pods_ready "$NS" "$selector" >/dev/null 2>&1 || true
    (( $(date +%s) < deadline )) || fail "$msg (phase $(phase "$name"))"
    sleep 1
  done
}
