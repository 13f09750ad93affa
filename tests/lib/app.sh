# shellcheck shell=bash
# tidemark tests/lib/app.sh — the test app (hack/testapp, image localhost/tidemark/testapp:1) run
# as a REAL Deployment on the test cluster's node (hack/node.sh), for the e2e tests and the demo.
#
# The app needs a schema: its readiness probe (`testapp ready`) passes only while column COLUMN
# of table TABLE exists in its database, so "this app version needs the schema at tag T" is
# physically true when COLUMN is one that tag T adds; with CRASH=1 the container exits 1 at once
# (a broken release: CrashLoopBackOff, never Ready, a real ProgressDeadlineExceeded). Pods run on
# the pod network and reach the test PostgreSQL at TIDEMARK_PG_POD_HOST (hack/postgres.sh).
# To hold an app un-Ready until the test says so, make it need a column of a table the test
# creates later (a "gate"); the database role in its URL must be able to see that table
# (information_schema shows only what the role has a privilege on).
#
#   require_node               fail unless the cluster has a Ready node (real pods:
#                              TIDEMARK_NODE=1 hack/controlplane.sh start, as hack/test.sh does);
#                              loads the testapp image into the node (hack/image.sh load
#                              testapp) when the node does not list it
#   app_db_secret NS NAME DB ROLE PASSWORD   Secret NAME in NS, key url =
#                              postgresql://ROLE:PASSWORD@$TIDEMARK_PG_POD_HOST:<port of
#                              TIDEMARK_PG_URL>/DB (ROLE and PASSWORD URL-safe; applied, so idempotent)
#   testapp_patch [OPTS] TABLE COLUMN [CRASH]   print a strategic merge patch (JSON) that turns a
#                              Deployment's container "app" into the testapp needing TABLE.COLUMN
#                              (image, imagePullPolicy Never, env DATABASE_URL from the Secret's
#                              key url, APP_TABLE, APP_COLUMN, APP_CRASH=CRASH (default 0), an exec
#                              readiness probe every second replacing any httpGet one). Apply it
#                              with `kubectl patch deployment X -p "$(testapp_patch ...)"` (the
#                              default strategic type merges containers by name), or offline with
#                              `kubectl patch --local -f FILE -o yaml -p ...`. OPTS:
#                                --tag TAG        pod template annotation tidemark.dev/tag: TAG
#                                --secret NAME    the Secret with the URL (default app-db)
#                                --replicas N     spec.replicas
#                                --deadline S     spec.progressDeadlineSeconds
#   testapp_deployment NAME [OPTS] TABLE COLUMN [CRASH]   print a Deployment NAME (JSON; replicas
#                              1 unless --replicas, selector app=NAME, container app as above)
#   wait_deployment_available NS NAME [SECS]   wait (default 120 s) until every replica of the
#                              Deployment's current template is updated and available; fail with
#                              its pods otherwise
#   deployment_available NS NAME   true when every replica runs the current template, available
#   patch_file FILE PATCH-ARGS...  rewrite FILE with `kubectl patch --local -o yaml PATCH-ARGS`
#   app_pods NS [SELECTOR]     one line per pod: name, phase, ready, restarts, image, APP_COLUMN
#                              (for failure messages and the demo)
# The samples' orders-app (manifests/samples/03-deployment.yaml, a placeholder image for users) as
# the testapp: each tag's version needs the column that tag adds (01-dbschema.yaml):
#   v1.0.0 orders.customer_id, v1.1.0 orders.status, v1.2.0 customers.name.
#   sample_app_patch TAG [CRASH [OPTS...]]   testapp_patch --tag TAG OPTS for the column TAG adds
#   samples_use_testapp DIR [OPTS...]        rewrite DIR/03-deployment.yaml (render.sh -o DIR) in
#                              place: orders-app runs the testapp of v1.0.0 (OPTS as testapp_patch's)
# Needs KUBECONFIG, TIDEMARK_K8S_BIN, TIDEMARK_PG_URL, TIDEMARK_PG_POD_HOST (exported by
# hack/test.sh, or `eval "$(hack/postgres.sh start)"` and `eval "$(hack/controlplane.sh env)"`).

[[ -n "${TM_LIB_APP_LOADED:-}" ]] && return 0
TM_LIB_APP_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/kube.sh"

TESTAPP_IMAGE=localhost/tidemark/testapp:1

# the state dir of the cluster KUBECONFIG belongs to (hack/controlplane.sh keeps its kubeconfig
# in STATE/controlplane/), which hack/image.sh needs to find that cluster's node
_app_state_dir() {
  if [[ "$KUBECONFIG" == */controlplane/kubeconfig ]]; then
    printf '%s\n' "${KUBECONFIG%/controlplane/kubeconfig}"
  else
    printf '%s\n' "${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}"
  fi
}

require_node() {
  require_controlplane
  local nodes images
  nodes="$(k get nodes -o 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')" \
    || fail "kubectl get nodes failed: $nodes"
  grep -q '=True$' <<<"$nodes" \
    || fail "the cluster has no Ready node, so no pod can run (start it with TIDEMARK_NODE=1 hack/controlplane.sh start, as hack/test.sh does); nodes: ${nodes:-none}"
  images="$(k get nodes -o 'jsonpath={.items[*].status.images[*].names}')" || images=""
  [[ "$images" == *"\"$TESTAPP_IMAGE\""* ]] && return 0
  TIDEMARK_STATE_DIR="$(_app_state_dir)" "$ROOT/hack/image.sh" load testapp >/dev/null \
    || fail "could not load $TESTAPP_IMAGE into the node (hack/image.sh load testapp)"
}

app_db_secret() {
  local ns=$1 name=$2 db=$3 role=$4 password=$5 hostport port
  [[ -n "${TIDEMARK_PG_POD_HOST:-}" ]] \
    || fail "TIDEMARK_PG_POD_HOST is not set: the address pods reach PostgreSQL at (eval \"\$(hack/postgres.sh env)\")"
  hostport="${TIDEMARK_PG_URL#*@}"; hostport="${hostport%%/*}"; port="${hostport##*:}"
  [[ "$port" =~ ^[0-9]+$ ]] || fail "app_db_secret: no port in TIDEMARK_PG_URL"
  k -n "$ns" create secret generic "$name" \
    --from-literal=url="postgresql://$role:$password@$TIDEMARK_PG_POD_HOST:$port/$db?connect_timeout=5" \
    --dry-run=client -o yaml | k -n "$ns" apply -f - >/dev/null || fail "could not create Secret $ns/$name"
}

# _testapp_args "$@": reads OPTS TABLE COLUMN [CRASH] into _TA_* (shared by the two printers)
_testapp_args() {
  _TA_TAG="" _TA_SECRET=app-db _TA_REPLICAS="" _TA_DEADLINE=""
  while [[ "${1:-}" == --* ]]; do
    case "$1" in
      --tag) _TA_TAG=$2 ;;
      --secret) _TA_SECRET=$2 ;;
      --replicas) _TA_REPLICAS=$2 ;;
      --deadline) _TA_DEADLINE=$2 ;;
      *) fail "testapp: unknown option $1" ;;
    esac
    shift 2
  done
  (( $# >= 2 )) || fail "testapp: usage: [--tag T] [--secret S] [--replicas N] [--deadline S] TABLE COLUMN [CRASH]"
  _TA_TABLE=$1 _TA_COLUMN=$2 _TA_CRASH=${3:-0}
}

# _testapp_container EXTRA-PROBE-FIELDS: the container "app" as JSON
_testapp_container() {
  printf '{"name":"app","image":"%s","imagePullPolicy":"Never","env":[' "$TESTAPP_IMAGE"
  printf '{"name":"DATABASE_URL","valueFrom":{"secretKeyRef":{"name":"%s","key":"url"}}},' "$_TA_SECRET"
  printf '{"name":"APP_TABLE","value":"%s"},{"name":"APP_COLUMN","value":"%s"},{"name":"APP_CRASH","value":"%s"}],' \
    "$_TA_TABLE" "$_TA_COLUMN" "$_TA_CRASH"
  # timeoutSeconds above the default 1: a probe is a runc exec plus a connection, slow on a busy host
  printf '"readinessProbe":{%s"exec":{"command":["/usr/local/bin/testapp","ready"]},"periodSeconds":1,"timeoutSeconds":5,"failureThreshold":3}}' "$1"
}

# _testapp_spec_fields: ',"replicas":N' and ',"progressDeadlineSeconds":S' as given
_testapp_spec_fields() {
  [[ -z "$_TA_REPLICAS" ]] || printf ',"replicas":%s' "$_TA_REPLICAS"
  [[ -z "$_TA_DEADLINE" ]] || printf ',"progressDeadlineSeconds":%s' "$_TA_DEADLINE"
}

_testapp_annotations() {
  [[ -z "$_TA_TAG" ]] || printf '"annotations":{"tidemark.dev/tag":"%s"}' "$_TA_TAG"
}

testapp_patch() {
  _testapp_args "$@"
  local meta=""
  [[ -z "$_TA_TAG" ]] || meta="\"metadata\":{$(_testapp_annotations)},"
  printf '{"spec":{"template":{%s"spec":{"containers":[%s]}}%s}}\n' \
    "$meta" "$(_testapp_container '"httpGet":null,')" "$(_testapp_spec_fields)"
}

testapp_deployment() {
  local name=$1; shift
  _testapp_args "$@"
  [[ -n "$_TA_REPLICAS" ]] || _TA_REPLICAS=1
  printf '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%s"},' "$name"
  printf '"spec":{"selector":{"matchLabels":{"app":"%s"}}%s,' "$name" "$(_testapp_spec_fields)"
  printf '"template":{"metadata":{"labels":{"app":"%s"}%s},' "$name" "$(_testapp_annotations | sed 's/^./,&/')"
  printf '"spec":{"containers":[%s]}}}}\n' "$(_testapp_container "")"
}

app_pods() {
  local selector=()
  [[ -n "${2:-}" ]] && selector=(-l "$2")
  k -n "$1" get pods "${selector[@]}" -o 'jsonpath={range .items[*]}{.metadata.name} {.status.phase} ready={.status.conditions[?(@.type=="Ready")].status} restarts={.status.containerStatuses[0].restartCount} {.spec.containers[0].image} column={.spec.containers[0].env[?(@.name=="APP_COLUMN")].value}{"\n"}{end}'
}

# the Deployment's fields that say it is available: its controller has seen its spec and every
# replica runs the current template, available (what `kubectl rollout status` waits for)
_DEPLOYMENT_AVAILABLE_PATH='{.metadata.generation}/{.spec.replicas} {.status.observedGeneration}/{.status.updatedReplicas}/{.status.availableReplicas}/{.status.replicas}'
_deployment_available_line() { # LINE (the fields above)
  local want="${1% *}" have="${1#* }" gen replicas
  gen="${want%/*}" replicas="${want#*/}"
  [[ "$have" == "$gen/$replicas/$replicas/$replicas" ]]
}

deployment_available() {
  local got
  got="$(k -n "$1" get deployment "$2" -o "jsonpath=$_DEPLOYMENT_AVAILABLE_PATH")" || return 1
  _deployment_available_line "$got"
}

wait_deployment_available() {
  local ns=$1 name=$2 secs=${3:-120}
  watch_until "$secs" "$ns" deployment "$name" "$_DEPLOYMENT_AVAILABLE_PATH" _deployment_available_line \
    || fail "Deployment $ns/$name did not become available within ${secs}s; its pods: $(app_pods "$ns" 2>&1 | tr '\n' ';')"
}

sample_app_patch() {
  local tag=$1 crash=${2:-0} column
  shift; (( $# )) && shift
  case "$tag" in
    v1.0.0) column="orders customer_id" ;;
    v1.1.0) column="orders status" ;;
    v1.2.0) column="customers name" ;;
    *) fail "sample_app_patch: the samples have no tag $tag" ;;
  esac
  # shellcheck disable=SC2086 # column is "TABLE COLUMN"
  testapp_patch --tag "$tag" "$@" $column "$crash"
}

# patch_file FILE PATCH-ARGS...: FILE rewritten in place by `kubectl patch --local -o yaml`
# with PATCH-ARGS (-p ..., --type=...); FILE is left as it was when the patch fails
patch_file() {
  local f=$1 patched; shift
  patched="$(k patch --local -f "$f" -o yaml "$@")" || return 1
  printf '%s\n' "$patched" >"$f"
}

samples_use_testapp() {
  local dir=$1; shift
  patch_file "$dir/03-deployment.yaml" -p "$(sample_app_patch v1.0.0 0 "$@")" \
    || fail "could not turn $dir/03-deployment.yaml into the testapp"
}

# samples_gate DIR: the rendered samples' Deployment (DIR/03-deployment.yaml) declares the schema
# gate (README "The schema gate"): its pods are created with the scheduling gate
# tidemark.dev/schema and the label tidemark.dev/schema-gate=true, and wait, containers not
# started, until the DBRollout has brought the schema to the tag the template names
SCHEMA_GATE_PATCH='{"spec":{"template":{"metadata":{"labels":{"tidemark.dev/schema-gate":"true"}},"spec":{"schedulingGates":[{"name":"tidemark.dev/schema"}]}}}}'
samples_gate() {
  patch_file "$1/03-deployment.yaml" -p "$SCHEMA_GATE_PATCH" \
    || fail "could not add the schema gate to $1/03-deployment.yaml"
}
