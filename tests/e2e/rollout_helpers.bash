# shellcheck shell=bash
# tidemark tests/e2e/rollout_helpers.bash — shared set-up for the reconciler e2e tests
# (rollout_*.sh).  Source it after lib.sh.  Not a test itself (ctest only globs *.sh).
#
# Each test gets: a fresh namespace NS, a fresh PostgreSQL database DB owned by a fresh
# role whose password holds a canary string (CANARY) that must never show up in status,
# Events or logs, the tidemark CRDs, the samples rendered for that database, and its own
# `tidemark controller --namespace NS` (start_controller / stop_controller), logging to
# CTL_LOG.  cleanup (trap EXIT) stops the controller, deletes the namespace, drops the
# database and the role.
# Needs: KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_PG_URL (superuser), TIDEMARK_BIN,
# TIDEMARK_SOURCE_DIR; psql on PATH.

ROOT="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
CTL_PID=""
CLEANUP_PATHS=() # extra files/folders rollout_cleanup removes

rollout_setup() {
  local prefix=$1
  require_controlplane
  [[ -n "${TIDEMARK_PG_URL:-}" ]] || fail "TIDEMARK_PG_URL is not set (eval \"\$(hack/postgres.sh start)\")"
  [[ -x "${TIDEMARK_BIN:-}" ]] || fail "TIDEMARK_BIN is not an executable (the built tidemark)"
  command -v psql >/dev/null || fail "psql is not installed"
  NS="$(unique_ns "$prefix")"
  DB="${NS//-/_}"
  ROLE="r_${DB}"
  CANARY="canary$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  PG_BASE="${TIDEMARK_PG_URL%/*}"
  DB_URL="$PG_BASE/$DB"
  CTL_LOG="$(mktemp "/tmp/tidemark-e2e-${prefix}.XXXXXX.log")"
  trap rollout_cleanup EXIT
  psql "$TIDEMARK_PG_URL" -qAtc "CREATE ROLE $ROLE LOGIN PASSWORD '$CANARY'" >/dev/null \
    || fail "create role"
  psql "$TIDEMARK_PG_URL" -qAtc "CREATE DATABASE $DB OWNER $ROLE" >/dev/null || fail "create database"
  for f in "$ROOT"/crds/tidemark.dev_*.yaml; do k apply -f "$f" >/dev/null || fail "apply $f"; done
  for c in dbschemas dbinstances dbrollouts; do
    k wait --for=condition=Established "crd/$c.tidemark.dev" --timeout=60s >/dev/null \
      || fail "crd $c not established"
  done
  k create namespace "$NS" >/dev/null || fail "create namespace $NS"
  log "namespace $NS, database $DB"
}

rollout_cleanup() {
  local rc=$?
  stop_controller
  # an ASan/UBSan build of the controller reports into its log (and aborts)
  if [[ -f "$CTL_LOG" ]] && grep -qE "Sanitizer|runtime error:" "$CTL_LOG"; then
    log "the controller reported a sanitizer error:"
    grep -E -A20 "Sanitizer|runtime error:" "$CTL_LOG" | head -n 60 >&2 || true
    rc=1
  fi
  # every graceful stop exits 0
  local stop_rc
  for stop_rc in "${CTL_STOP_RCS[@]}"; do
    if [[ "$stop_rc" != 0 && "$stop_rc" != "?" ]]; then
      log "the controller exited $stop_rc on SIGTERM (want 0)"
      rc=1
      break
    fi
  done
  if [[ $rc -ne 0 && -f "$CTL_LOG" ]]; then
    log "controller log (last 40 lines):"
    grep -v "\"reconciled\"" "$CTL_LOG" | tail -n 40 >&2 || true
    k -n "$NS" get dbschemas,dbinstances,dbrollouts,deployments -o yaml 2>/dev/null | tail -n 120 >&2 || true
  fi
  k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  psql "$TIDEMARK_PG_URL" -qAtc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  psql "$TIDEMARK_PG_URL" -qAtc "DROP ROLE IF EXISTS $ROLE" >/dev/null 2>&1 || true
  rm -f "$CTL_LOG"
  (( ${#CLEANUP_PATHS[@]} == 0 )) || rm -rf "${CLEANUP_PATHS[@]}"
  if [[ $rc -eq 0 ]]; then log "PASS $(basename "$0")"; fi
  exit "$rc"
}

# Renders manifests/samples for this test's database and role (prints YAML).
render_samples() {
  PGDATABASE="$DB" PGUSER="$ROLE" PGPASSWORD="$CANARY" "$ROOT/manifests/samples/render.sh"
}

start_controller() {
  "$TIDEMARK_BIN" controller --namespace "$NS" --metrics-addr 127.0.0.1:0 \
    --health-addr 127.0.0.1:0 --log-format json >>"$CTL_LOG" 2>&1 &
  CTL_PID=$!
  log "controller pid $CTL_PID"
}

# SIGTERM and wait: the controller drains and must exit 0 (rollout_cleanup fails the
# test otherwise; under tests/valgrind_run.sh an error report makes it 99).  CTL_STOP_RCS
# holds the exit status of each graceful stop that found a controller running (after a
# crash_controller there is nothing to stop); "?" when this shell is not its parent (a
# cleanup run in a subshell) and can only wait for it to be gone.
CTL_STOP_RCS=()
stop_controller() {
  if [[ -n "$CTL_PID" ]]; then
    local rc=0 i
    kill "$CTL_PID" 2>/dev/null || true
    wait "$CTL_PID" 2>/dev/null || rc=$?
    if [[ $rc -eq 127 ]]; then
      rc="?"
      for ((i = 0; i < 1200; i++)); do kill -0 "$CTL_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    CTL_STOP_RCS+=("$rc")
    CTL_PID=""
  fi
}

# kill -9: a crash, no graceful shutdown.
crash_controller() {
  if [[ -n "$CTL_PID" ]]; then
    kill -9 "$CTL_PID" 2>/dev/null || true
    wait "$CTL_PID" 2>/dev/null || true
    CTL_PID=""
  fi
}

sql() { psql "$DB_URL" -qAtc "$1"; }

phase() { k -n "$NS" get dbrollout "$1" -o jsonpath='{.status.phase}'; }

# rollout_events NAME: "TYPE REASON" lines of Events about DBRollout NAME.
rollout_events() {
  k -n "$NS" get events --field-selector "involvedObject.kind=DBRollout,involvedObject.name=$1" \
    -o jsonpath='{range .items[*]}{.type} {.reason}{"\n"}{end}'
}

# Fails when the canary password appears in any object, Event or the controller log.
assert_no_canary() {
  local dump
  dump="$(k -n "$NS" get dbschemas,dbinstances,dbrollouts,events -o yaml 2>&1)"
  [[ "$dump" != *"$CANARY"* ]] || fail "the database password appears in the API objects or Events"
  ! grep -q "$CANARY" "$CTL_LOG" || fail "the database password appears in the controller log"
}

# has_event NAME "TYPE REASON": true when such an Event about DBRollout NAME exists.
# (Captured first: `k ... | grep -q` under pipefail fails when grep exits early.)
has_event() {
  local all
  all="$(rollout_events "$1")" || return 1
  grep -qx "$2" <<<"$all"
}

# apply_instance NAME SCHEMA POLICY: a Secret "db-creds" (this test's role) and a DBInstance
# NAME of SCHEMA on this test's database with destructiveChanges POLICY.
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

# apply_schema NAME < changelog.yaml: an inline DBSchema whose changelog.yaml is stdin.
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

# apply_rollout NAME INSTANCE TAG [DEPLOYMENT]
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

# metrics: the controller's /metrics text (port from its "http listening" log line).
metrics() {
  local port
  port="$(grep -o '"metrics_port":[0-9]*' "$CTL_LOG" | tail -n 1 | cut -d: -f2)"
  [[ -n "$port" ]] || return 1
  curl -fsS "http://127.0.0.1:$port/metrics"
}
