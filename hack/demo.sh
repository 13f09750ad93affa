#!/usr/bin/env bash
# tidemark demo: everything a newcomer needs to see the operator work, on one machine.
#   hack/demo.sh        install what is missing, build, start a local PostgreSQL and a
#                       local control plane (kube-apiserver + etcd + kube-controller-manager),
#                       run the controller, apply the samples, and show:
#                         1. DBRollout to v1.0.0 -> tables created, Succeeded
#                         2. tag v1.1.0 + app image 1.1.0 together -> Succeeded
#                         3. tag v1.2.0 + an app whose pods never become Ready ->
#                            ProgressDeadlineExceeded -> schema rolled back to v1.1.0 and,
#                            with onAppFailure: RollbackBoth, the Deployment too
#                       then leaves everything running until Ctrl-C.
#   hack/demo.sh down   stop the controller, the control plane and PostgreSQL.
# The local control plane has no kubelet, so no container ever runs: a small loop in this
# script plays the kubelet's part and marks pods Ready through pods/status -- except pods
# whose image tag is ":broken", which stay unready, as a crashing app's would.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export TIDEMARK_STATE_DIR=${TIDEMARK_STATE_DIR:-/tmp/tidemark-demo}
demo_dir=$TIDEMARK_STATE_DIR/demo
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
  stop_pidfile "$demo_dir/kubelet.pid"
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
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target tidemark
hack/controlplane.sh build

say "Starting PostgreSQL and the control plane"
eval "$(hack/postgres.sh start)"
eval "$(hack/controlplane.sh start)"
export KUBECONFIG TIDEMARK_K8S_BIN TIDEMARK_PG_URL
# the test helpers: k (kubectl), install_crds, set_pod_ready, wait_for_output, q_admin
source tests/lib/kube.sh
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
build/tidemark controller --namespace "$NS" --metrics-addr 127.0.0.1:9464 \
  --health-addr 127.0.0.1:9465 --log-format text >"$demo_dir/controller.log" 2>&1 &
echo $! >"$demo_dir/controller.pid"
echo "controller pid $(cat "$demo_dir/controller.pid"), log $demo_dir/controller.log"

# The stand-in kubelet: pods of any image but ":broken" become Ready.
stop_pidfile "$demo_dir/kubelet.pid"
(
  while sleep 1; do
    k -n "$NS" get pods -o jsonpath='{range .items[*]}{.metadata.name} {.spec.containers[0].image} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null |
    while read -r pod image ready; do
      [[ -n "$pod" && "$image" != *:broken && "$ready" != True ]] || continue
      set_pod_ready "$NS" "$pod" True >/dev/null 2>&1 || true
    done
  done
) &
echo $! >"$demo_dir/kubelet.pid"

show() {
  run kubectl -n "$NS" get dbschemas,dbinstances,dbrollouts
  printf '$ psql orders -c "select id, exectype, tag from databasechangelog order by orderexecuted"\n'
  psql "$orders_url" -c "select id, exectype, tag from databasechangelog order by orderexecuted"
}

wait_phase() { # phase, timeout
  if ! wait_for_output -t "$2" "$1" k -n "$NS" get dbrollout orders-dev -o jsonpath='{.status.phase}'; then
    echo "demo: the rollout did not reach $1; controller log: $demo_dir/controller.log" >&2
    k -n "$NS" describe dbrollout orders-dev >&2 || true
    exit 1
  fi
}

say "1. Applying the samples: DBSchema orders (tags v1.0.0 v1.1.0 v1.2.0), DBInstance orders-dev, Deployment orders-app, DBRollout orders-dev -> v1.0.0"
manifests/samples/render.sh | k -n "$NS" apply -f -
wait_phase Succeeded 120
run kubectl -n "$NS" wait --for=condition=Ready dbrollout/orders-dev --timeout=60s
show

say "2. Moving schema and app together: tag v1.1.0 and image orders-app:1.1.0"
run kubectl -n "$NS" set image deployment/orders-app app=registry.example.com/orders-app:1.1.0
run kubectl -n "$NS" patch dbrollout orders-dev --type=merge -p '{"spec":{"tag":"v1.1.0"}}'
wait_phase Succeeded 120
show

say "3. A bad release: tag v1.2.0 with an app whose pods never become Ready"
run kubectl -n "$NS" patch deployment orders-app --type=merge -p '{"spec":{"progressDeadlineSeconds":10}}'
run kubectl -n "$NS" set image deployment/orders-app app=registry.example.com/orders-app:broken
run kubectl -n "$NS" patch dbrollout orders-dev --type=merge -p '{"spec":{"tag":"v1.2.0","onAppFailure":"RollbackBoth"}}'
echo "(the Deployment controller reports ProgressDeadlineExceeded after 10 s; tidemark then rolls back)"
wait_phase RolledBack 180
show
run kubectl -n "$NS" get events --field-selector involvedObject.kind=DBRollout --sort-by=.metadata.creationTimestamp
printf '$ kubectl -n %s get deployment orders-app -o jsonpath={.spec.template.spec.containers[0].image}\n' "$NS"
wait_for_output -t 30 "registry.example.com/orders-app:1.1.0" k -n "$NS" get deployment orders-app \
  -o jsonpath='{.spec.template.spec.containers[0].image}' || true
k -n "$NS" get deployment orders-app -o jsonpath='{.spec.template.spec.containers[0].image}{"\n"}'

mkdir -p "$demo_dir/schema"
k -n "$NS" get dbschema orders -o jsonpath='{.spec.source.inline.files.changelog\.yaml}' >"$demo_dir/schema/changelog.yaml"
say "The same engine as a CLI, no cluster: tidemark status"
printf '$ build/tidemark status --url %s --changelog %s\n' "$(sed -E 's|//([^:]*):[^@]*@|//\1:***@|' <<<"$orders_url")" "$demo_dir/schema/changelog.yaml"
build/tidemark status --url "$orders_url" --changelog "$demo_dir/schema/changelog.yaml" || true

say "Done. Everything stays up; look around:"
cat <<EOT
  export KUBECONFIG=$KUBECONFIG PATH=$TIDEMARK_K8S_BIN:\$PATH
  kubectl -n $NS get dbrollouts,dbinstances,dbschemas
  kubectl -n $NS describe dbrollout orders-dev
  kubectl explain dbrollout.spec.onAppFailure
  curl -s 127.0.0.1:9464/metrics | grep ^tidemark_
  build/tidemark status --url "\$(TIDEMARK_STATE_DIR=$TIDEMARK_STATE_DIR hack/postgres.sh env | sed -n 's/^export TIDEMARK_PG_URL=//p' | sed 's|/postgres\$|/orders|')" --changelog $demo_dir/schema/changelog.yaml
  tail -f $demo_dir/controller.log
Stop with Ctrl-C here, or 'hack/demo.sh down' from another shell.
EOT
trap 'echo; down; exit 0' INT TERM
if [[ -n "${TIDEMARK_DEMO_NO_WAIT:-}" ]]; then
  exit 0
fi
while sleep 3600; do :; done
