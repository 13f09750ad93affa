# shellcheck shell=bash
# tidemark tests/lib/rollout.sh — set-up shared by the reconciler e2e tests: each test gets a
# fresh namespace NS, a fresh PostgreSQL database DB owned by a fresh role ROLE whose password
# is a canary (CANARY) that must never show up in status, Events or logs, the tidemark CRDs,
# and its own controller (tests/lib/controller.sh) logging to CTL_LOG; everything is removed
# at exit.  Plus builders for the DBSchema / DBInstance / DBRollout objects and changelogs, and
# the app a rollout waits for: the testapp as real pods on the test node (tests/lib/app.sh).
#
#   rollout_setup PREFIX       all of the above (no controller started yet)
#   phase NAME                 .status.phase of DBRollout NAME
#   rollout_events NAME        "TYPE REASON" lines of the Events about DBRollout NAME
#   has_event NAME "TYPE REASON"   true when such an Event exists, polling up to 10 s: the
#                              controller sends Events from its own thread, a moment after
#                              the status write a test waited for
#   assert_no_canary           the canary password is in no object, Event or controller log
#   apply_instance NAME SCHEMA POLICY [EXTRA-SPEC-YAML]   Secret db-creds + DBInstance NAME
#   apply_schema NAME < changelog.yaml     an inline DBSchema
#   apply_rollout NAME INSTANCE TAG [DEPLOYMENT] [EXTRA-SPEC-YAML]   (DEPLOYMENT "" for none;
#                              EXTRA one line, e.g. "approval: Required")
#   plan_hash NAME             .status.plan.hash of DBRollout NAME (what an approval names)
#   approve_plan NAME HASH     set spec.approvedPlanHash of DBRollout NAME to HASH
#   changeset_yaml ID SQL ROLLBACK-SQL     one YAML changeset
#   tag_yaml ID TAG                        one tagDatabase changeset
#   table_changelog TABLE TAG  a changelog: changeset 1 creates TABLE (rollback drops it),
#                              changeset 2 tags TAG
#   slow_changelog PREFIX N SLEEP          a changelog of N changesets "SELECT pg_sleep(SLEEP);
#                              CREATE TABLE PREFIXi (id int)" (rollbacks drop them), then tag v1
#   app_setup                  for the tests that run the app: require_node, and the Secret
#                              app-db with the app's URL to DB as ROLE (tests/lib/app.sh)
#   render_samples             manifests/samples rendered for DB and ROLE, orders-app as the
#                              testapp of v1.0.0 with 1 replica (prints YAML; needs app_setup)
#   gated_app_patch TAG [OPTS...]   testapp_patch for an app tagged TAG that becomes Ready only
#                              once open_app_gate ran (it needs column app_gate.open), so a test
#                              can look at WaitingForApp for as long as it needs
#   open_app_gate              create table app_gate (open) owned by ROLE
#   phase_becomes NAME PHASE SECS    watch DBRollout NAME until its phase is PHASE, whatever the
#                              generation; 1 (the last phase logged) after SECS * TM_WAIT_SCALE
#   wait_for_phase NAME PHASE SECS   watch DBRollout NAME until its phase is PHASE (a terminal
#                              phase counts only once observedGeneration is the generation, so a
#                              stale Succeeded right after a spec change does not); fail at once
#                              when this generation ends in another terminal phase, or after
#                              SECS, with the Ready message and the app's pods
# Needs: KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_PG_URL (superuser), TIDEMARK_BIN; psql; for the
# app, a Ready node and TIDEMARK_PG_POD_HOST.

[[ -n "${TM_LIB_ROLLOUT_LOADED:-}" ]] && return 0
TM_LIB_ROLLOUT_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/kube.sh"
source "$(dirname "${BASH_SOURCE[0]}")/db.sh"
source "$(dirname "${BASH_SOURCE[0]}")/controller.sh"
source "$(dirname "${BASH_SOURCE[0]}")/app.sh"

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


phase() { k -n "$NS" get dbrollout "$1" -o jsonpath='{.status.phase}'; }

rollout_events() {
  k -n "$NS" get events --field-selector "involvedObject.kind=DBRollout,involvedObject.name=$1" \
    -o jsonpath='{range .items[*]}{.type} {.reason}{"\n"}{end}'
}

# (Captured first: `k ... | grep -q` under pipefail fails when grep exits early.)
event_listed() {
  local all
  all="$(rollout_events "$1")" || return 1
  grep -qx "$2" <<<"$all"
}
has_event() { wait_for -t 10 -i 0.2 event_listed "$@"; }

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
  ${5:-}
YAML
}

plan_hash() { k -n "$NS" get dbrollout "$1" -o jsonpath='{.status.plan.hash}'; }

approve_plan() {
  k -n "$NS" patch dbrollout "$1" --type=merge -p "{\"spec\":{\"approvedPlanHash\":\"$2\"}}" >/dev/null \
    || fail "could not approve plan $2 of DBRollout $1"
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

app_setup() {
  require_node
  app_db_secret "$NS" app-db "$DB" "$ROLE" "$CANARY"
}

render_samples() {
  local dir rc=0 f first=1
  dir="$(mktemp -d)"
  PGDATABASE="$DB" PGUSER="$ROLE" PGPASSWORD="$CANARY" "$ROOT/manifests/samples/render.sh" -o "$dir" \
    && (samples_use_testapp "$dir" --replicas 1) || rc=1
  if (( rc == 0 )); then
    for f in "$dir"/*.yaml; do
      (( first )) || printf -- '---\n'
      first=0
      cat "$f"
    done
  fi
  rm -rf "$dir"
  return "$rc"
}

gated_app_patch() { testapp_patch --tag "$1" "${@:2}" app_gate open; }

open_app_gate() {
  q "CREATE TABLE app_gate (open int); ALTER TABLE app_gate OWNER TO $ROLE" >/dev/null || fail "could not open the app gate"
}

_phase_is() { [[ "$2" == "$1" ]]; } # WANT PHASE

phase_becomes() {
  watch_until "$3" "$NS" dbrollout "$1" '{.status.phase}' _phase_is "$2" && return 0
  log "timed out after $(( $3 * ${TM_WAIT_SCALE:-1} ))s: DBRollout $1 is '$(phase "$1" 2>&1)', not $2"
  return 1
}

# watch_until's judge for wait_for_phase: 0 at WANT, 2 at another terminal phase of this generation
_phase_reached() { # WANT "PHASE|OBSERVED-GENERATION|GENERATION"
  local p seen gen
  IFS='|' read -r p seen gen <<<"$2"
  case "$p" in
    Succeeded | Failed | RolledBack | Blocked) # terminal: count it only for this generation
      [[ -n "$gen" && "$seen" == "$gen" ]] || return 1
      [[ "$p" == "$1" ]] && return 0
      return 2 ;;
    "$1") return 0 ;;
  esac
  return 1
}

wait_for_phase() {
  local name=$1 want=$2 secs=$3 rc=0
  watch_until "$secs" "$NS" dbrollout "$name" '{.status.phase}|{.status.observedGeneration}|{.metadata.generation}' \
    _phase_reached "$want" || rc=$?
  (( rc == 0 )) && return 0
  local p why
  p="$(phase "$name" 2>/dev/null)"
  why="$(k -n "$NS" get dbrollout "$name" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].message}' 2>/dev/null)"
  (( rc == 2 )) && fail "DBRollout $name ended $p, not $want: $why; pods: $(app_pods "$NS" | tr '\n' ';')"
  fail "DBRollout $name not $want after ${secs}s (phase '$p': $why); pods: $(app_pods "$NS" | tr '\n' ';')"
}
