#!/usr/bin/env bash
# tidemark demo: everything a newcomer needs to see the operator work, on one machine.
#   hack/demo.sh        install what is missing, build, start a local PostgreSQL and a
#                       local cluster (kube-apiserver + etcd + kube-controller-manager +
#                       kube-scheduler, and a node: a kubelet with its own containerd), run
#                       the controller, apply the samples, and show, with the app's real pods
#                       (`kubectl get pods`) beside the rollout at each step:
#                         1. DBRollout to v1.0.0 -> tables created, pods Ready, Succeeded
#                         2. tag v1.1.0 + the app version that needs it, in one apply (as one
#                            GitOps sync) -> the new pod waits at the schema gate -> Succeeded
#                         3. tag v1.2.0 + an app version that crashes at start, in one apply ->
#                            ProgressDeadlineExceeded -> schema rolled back to v1.1.0 and,
#                            with onAppFailure: RollbackBoth, the Deployment too (its pods
#                            Ready again)
#                       then leaves everything running until Ctrl-C.
#   hack/demo.sh down   stop the controller, the cluster and PostgreSQL.
# The app is the test app (hack/testapp, image built locally by hack/image.sh): the samples'
# Deployment runs it (tests/lib/app.sh's samples_use_testapp), and each version's readiness
# probe passes only once the column its tag adds exists, so the pods really wait for their schema.
# TIDEMARK_STATE_DIR (default /tmp/tidemark-demo) holds the servers' state; TIDEMARK_BUILD_DIR
# (default build) is the build directory; the controller serves metrics on 127.0.0.1:9464.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export TIDEMARK_STATE_DIR=${TIDEMARK_STATE_DIR:-/tmp/tidemark-demo}
demo_dir=$TIDEMARK_STATE_DIR/demo
build_dir=${TIDEMARK_BUILD_DIR:-build}
NS=tidemark-demo
mkdir -p "$demo_dir"

stop_pidfile() {
  local f=$1
  if [[ -f "$f" ]]; then
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  fi
}

down() {
  stop_pidfile "$demo_dir/controller.pid"
  hack/controlplane.sh stop || true
  hack/postgres.sh stop || true
  echo "demo: stopped (state kept in $TIDEMARK_STATE_DIR; delete it for a fresh start)"
}

if [[ "${1:-}" == "down" ]]; then
  down
  exit 0
fi

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "Installing what is missing and building"
hack/deps.sh
command -v go >/dev/null 2>&1 || export PATH=/usr/local/go/bin:$PATH
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target tidemark
hack/controlplane.sh build

say "Starting PostgreSQL and the cluster, with a node that runs real pods"
eval "$(hack/postgres.sh start)"
eval "$(TIDEMARK_NODE=1 hack/controlplane.sh start)"
export KUBECONFIG TIDEMARK_K8S_BIN TIDEMARK_PG_URL TIDEMARK_PG_POD_HOST
hack/image.sh load testapp   # built from Debian packages on first use, then cached
# the test helpers: k (kubectl), install_crds, wait_for_output, q_admin, the test app
source tests/lib/app.sh
source tests/lib/db.sh
ROOT=$root
kubectl() { k "$@"; }

q_admin "DROP DATABASE IF EXISTS orders WITH (FORCE)" >/dev/null
q_admin "CREATE DATABASE orders" >/dev/null
orders_url="$(pg_url_of orders)"
k delete namespace "$NS" --ignore-not-found --wait=true >/dev/null

say "Installing the CRDs and starting the controller"
printf '$ kubectl apply --server-side -k crds/\n'
install_crds
k create namespace "$NS" >/dev/null
stop_pidfile "$demo_dir/controller.pid"
"$build_dir/tidemark" controller --namespace "$NS" --metrics-addr 127.0.0.1:9464 \
  --health-addr 127.0.0.1:9465 --log-format text >"$demo_dir/controller.log" 2>&1 &
echo $! >"$demo_dir/controller.pid"
echo "controller pid $(cat "$demo_dir/controller.pid"), log $demo_dir/controller.log"

show() {
  run kubectl -n "$NS" get dbschemas,dbinstances,dbrollouts
  run kubectl -n "$NS" get pods
  printf '$ psql orders -c "select id, exectype, tag from databasechangelog order by orderexecuted"\n'
  psql "$orders_url" -c "select id, exectype, tag from databasechangelog order by orderexecuted"
}

# the rollout's phase beside the app's pods (NAME READY STATUS RESTARTS), a line each time
# either changes
rollout_and_pods() {
  local phase pods
  phase="$(k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.phase}' 2>/dev/null)" || phase="?"
  pods="$(k -n "$NS" get pods --no-headers 2>/dev/null | awk '{printf "%s%s %s %s %s", sep, $1, $2, $3, $4; sep="  |  "}')"
  printf 'dbrollout/orders-dev %-13s pods: %s\n' "${phase:--}" "${pods:-none}"
}

wait_phase() { # phase, timeout: print rollout_and_pods as they change until the phase is reached
  local want=$1 deadline=$(( $(date +%s) + $2 )) line last=""
  while :; do
    line="$(rollout_and_pods)"
    [[ "$line" == "$last" ]] || printf '  %s\n' "$line"
    last=$line
    # (a phase counts once the controller has seen this generation: not the last step's Succeeded)
    [[ "$line" == "dbrollout/orders-dev $want "* && "$(k -n "$NS" get dbrollout orders-dev \
      -o 'jsonpath={.status.observedGeneration}/{.metadata.generation}')" =~ ^([0-9]+)/([0-9]+)$ \
      && "${BASH_REMATCH[1]}" == "${BASH_REMATCH[2]}" ]] && return 0
    if (( $(date +%s) >= deadline )); then
      echo "demo: the rollout did not reach $want; controller log: $demo_dir/controller.log" >&2
      k -n "$NS" describe dbrollout orders-dev >&2 || true
      exit 1
    fi
    sleep 1
  done
}

# one GitOps sync: the samples' Deployment at an app version (sample_app_patch, tests/lib/app.sh)
# and the DBRollout at its tag, written into the rendered samples and applied together with one
# `kubectl apply`, as Argo CD or Flux applies a commit that changes both
sync() { # tag, crash (0|1), what the app version is, extra DBRollout spec JSON, extra Deployment patch
  local dir=$demo_dir/samples
  patch_file "$dir/03-deployment.yaml" -p "$(sample_app_patch "$1" "$2")"
  [[ -z "${5:-}" ]] || patch_file "$dir/03-deployment.yaml" -p "$5"
  patch_file "$dir/04-dbrollout.yaml" --type=merge -p "{\"spec\":{\"tag\":\"$1\"${4:+,$4}}}"
  echo "(one commit: 03-deployment.yaml runs the app version for $1 ($3), 04-dbrollout.yaml says tag $1)"
  run kubectl -n "$NS" apply -f "$dir/"
}

say "1. Applying the samples: DBSchema orders (tags v1.0.0 v1.1.0 v1.2.0), DBInstance orders-dev, Deployment orders-app, DBRollout orders-dev -> v1.0.0"
echo "(orders-app runs the test app, hack/testapp, through tests/lib/app.sh's samples_use_testapp:"
echo " its pods are Ready only once orders.customer_id exists, which v1.0.0 creates; and its pod"
echo " template declares the schema gate (samples_gate), so its pods wait SchedulingGated, containers"
echo " not started, until tidemark has brought the schema to the tag the template names)"
rm -rf "$demo_dir/samples"
manifests/samples/render.sh -o "$demo_dir/samples"
samples_use_testapp "$demo_dir/samples"
samples_gate "$demo_dir/samples"
pg_user="${TIDEMARK_PG_URL#*://}"
app_db_secret "$NS" app-db orders "${pg_user%%:*}" "$(url_password "$TIDEMARK_PG_URL")"
run kubectl -n "$NS" apply -f "$demo_dir/samples/"
wait_phase Succeeded 180
run kubectl -n "$NS" wait --for=condition=Ready dbrollout/orders-dev --timeout=60s
show

say "2. Moving schema and app together in one sync: tag v1.1.0 and the app version that needs orders.status"
sync v1.1.0 0 "Ready only once orders.status exists"
echo "(the new pod waits SchedulingGated while the schema moves; the old one keeps serving)"
wait_phase Succeeded 180
show

say "3. A bad release, in one sync: tag v1.2.0 with an app version that crashes at start"
sync v1.2.0 1 "exits 1 at once: CrashLoopBackOff" '"onAppFailure":"RollbackBoth"' '{"spec":{"progressDeadlineSeconds":10}}'
echo "(the gate opens at v1.2.0, the container crashes, the Deployment controller reports"
echo " ProgressDeadlineExceeded after 10 s; tidemark then rolls back)"
wait_phase RolledBack 240
show
run kubectl -n "$NS" get events --field-selector involvedObject.kind=DBRollout --sort-by=.metadata.creationTimestamp
echo "(RollbackBoth restored the Deployment's previous template: the v1.1.0 app, released from the"
echo " gate once the schema was back at v1.1.0, Ready again)"
if ! wait_for -t 90 deployment_available "$NS" orders-app; then
  echo "demo: orders-app did not become available again after the rollback" >&2
fi
printf '$ kubectl -n %s get deployment orders-app -o jsonpath={.spec.template.metadata.annotations.tidemark\\.dev/tag}\n' "$NS"
k -n "$NS" get deployment orders-app -o 'jsonpath={.spec.template.metadata.annotations.tidemark\.dev/tag}{"\n"}'
run kubectl -n "$NS" get pods

mkdir -p "$demo_dir/schema"
k -n "$NS" get dbschema orders -o jsonpath='{.spec.source.inline.files.changelog\.yaml}' >"$demo_dir/schema/changelog.yaml"
say "The same engine as a CLI, no cluster: tidemark status"
printf '$ %s/tidemark status --url %s --changelog %s\n' "$build_dir" "$(sed -E 's|//([^:]*):[^@]*@|//\1:***@|' <<<"$orders_url")" "$demo_dir/schema/changelog.yaml"
"$build_dir/tidemark" status --url "$orders_url" --changelog "$demo_dir/schema/changelog.yaml" || true

say "Done. Everything stays up; look around:"
cat <<EOT
  export KUBECONFIG=$KUBECONFIG PATH=$TIDEMARK_K8S_BIN:\$PATH
  kubectl -n $NS get dbrollouts,dbinstances,dbschemas,pods
  kubectl -n $NS describe dbrollout orders-dev
  kubectl explain dbrollout.spec.onAppFailure
  curl -s 127.0.0.1:9464/metrics | grep ^tidemark_
  $build_dir/tidemark status --url "\$(TIDEMARK_STATE_DIR=$TIDEMARK_STATE_DIR hack/postgres.sh env | sed -n 's/^export TIDEMARK_PG_URL=//p' | sed 's|/postgres\$|/orders|')" --changelog $demo_dir/schema/changelog.yaml
  tail -f $demo_dir/controller.log
Stop with Ctrl-C here, or 'hack/demo.sh down' from another shell.
EOT
trap 'echo; down; exit 0' INT TERM
if [[ -n "${TIDEMARK_DEMO_NO_WAIT:-}" ]]; then
  exit 0
fi
while sleep 3600; do :; done
