#!/usr/bin/env bash
# tidemark hack/controlplane.sh — owns the REAL Kubernetes control plane used by e2e tests.
#
# Why: tidemark's e2e tests must run against a genuine kube-apiserver (+ etcd and
# kube-controller-manager, so Deployments really roll out), but the machine has no
# container registry and no prebuilt binaries. So everything is built from Go modules
# (hack/controlplane/go.mod pins k8s.io/kubernetes v1.37.2 and an embedded-etcd launcher)
# into a cache outside the build tree, then started on loopback with free ports.
#
# Subcommands:
#   build   build etcd, kube-apiserver, kube-controller-manager, kubectl (and, for the node,
#           kube-scheduler and kubelet) into
#           ${XDG_CACHE_HOME:-$HOME/.cache}/tidemark/k8s-<version>/bin (skips when up to date)
#   start   build if needed, start etcd + kube-apiserver + kube-controller-manager, wait ready,
#           print env lines (idempotent: if already running just print env)
#           With TIDEMARK_NODE=1: node mode — also kube-scheduler, and a node with real pods
#           (hack/node.sh: containerd + kubelet). The apiserver then listens on every address
#           (pods reach it through the node IP), admits ServiceAccounts (pods get their tokens)
#           and reaches the kubelet by its InternalIP with a client certificate. A plain
#           control plane that is running is restarted in node mode; without TIDEMARK_NODE a
#           running one is used in whatever mode it has.
#           With TIDEMARK_AUDIT_POLICY=FILE (an audit.k8s.io/v1 Policy): the apiserver writes
#           an audit log, JSON lines, to <state>/controlplane/logs/audit.log, synchronously
#           (blocking mode), so a test can read exactly which requests a client made. Applies to
#           a fresh start only (a running control plane is used as it is).
#   stop    stop the node if any, then the control plane (SIGTERM, wait, SIGKILL); keeps cached
#           binaries; safe when nothing runs
#   status  exit 0 if running and /readyz answers
#   restart-apiserver [DOWN_SECONDS]
#           crash only kube-apiserver (SIGKILL), keep it down DOWN_SECONDS (default 0), start it
#           again with the same command line (same port, certs, etcd data) and wait for /readyz;
#           for fault tests (watches cut, clients reconnecting)
#   env     print `export KUBECONFIG=...` / `export TIDEMARK_K8S_BIN=...` / `export KUBECACHEDIR=...`
#           lines for eval
#
# State (certs, tokens, etcd data, logs, pids, kubeconfig):
#   ${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}/controlplane/
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
MOD_DIR="$REPO_ROOT/hack/controlplane"

K8S_VERSION="$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3} $1=="k8s.io/kubernetes" && $2 ~ /^v/ {print $2}' "$MOD_DIR/go.mod" | head -n1)"
[[ -n "$K8S_VERSION" ]] || { echo "controlplane.sh: cannot find k8s.io/kubernetes version in $MOD_DIR/go.mod" >&2; exit 1; }
CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/tidemark/k8s-${K8S_VERSION}"
BIN_DIR="$CACHE_DIR/bin"
STATE_DIR="${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}/controlplane"
KUBECONFIG_PATH="$STATE_DIR/kubeconfig"

# binary name -> Go package (relative to MOD_DIR)
# (kube-scheduler and kubelet are for the node, hack/node.sh: built in the same go build)
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl kube-scheduler kubelet)
declare -A PKG=(
  [etcd]=./cmd/etcd
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [kubelet]=k8s.io/kubernetes/cmd/kubelet
)
# start order; stop runs in reverse (kube-scheduler only runs in node mode)
COMPONENTS=(etcd kube-apiserver kube-controller-manager)
ALL_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler)
running_mode() { cat "$STATE_DIR/mode" 2>/dev/null || echo plain; }
[[ "$(running_mode)" == node ]] && COMPONENTS=("${ALL_COMPONENTS[@]}")

log() { printf 'controlplane: %s\n' "$*" >&2; }
die() { printf 'controlplane: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- build
stamp_value() {
  {
    echo "k8s=$K8S_VERSION recipe=2 (single go build, -trimpath, -s -w, version ldflags)"
    go env GOVERSION GOOS GOARCH
    cat "$MOD_DIR/go.mod" "$MOD_DIR/go.sum"
    find "$MOD_DIR" -name '*.go' -type f | LC_ALL=C sort | xargs cat
  } | sha256sum | awk '{print $1}'
}

binaries_up_to_date() {
  local b
  for b in "${BINARIES[@]}"; do
    [[ -x "$BIN_DIR/$b" ]] || { log "$BIN_DIR/$b missing: (re)building"; return 1; }
  done
  [[ -f "$CACHE_DIR/stamp" && "$(cat "$CACHE_DIR/stamp")" == "$(stamp_value)" ]] \
    || { log "build stamp differs from go.mod/go.sum/sources/recipe: rebuilding"; return 1; }
}

cmd_build() {
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null 2>&1 || die "go not found (need Go >= 1.26)"
  mkdir -p "$CACHE_DIR"
  # one builder at a time (several test runners may call build/start concurrently)
  exec 8>"$CACHE_DIR/build.lock"
  flock -w 1800 8 || die "another build has held $CACHE_DIR/build.lock for 30 min"
  if binaries_up_to_date; then
    log "binaries for Kubernetes $K8S_VERSION up to date in $BIN_DIR"
    exec 8>&-
    return 0
  fi
  local tmp="$CACHE_DIR/bin.tmp.$$" b t0 pkgs=() ldflags minor pid rc
  rm -rf "$tmp"; mkdir -p "$tmp"
  t0=$(date +%s)
  for b in "${BINARIES[@]}"; do pkgs+=("${PKG[$b]}"); done
  # version stamping like upstream hack/lib/version.sh (kubectl version / server /version)
  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  ldflags="-s -w"
  for b in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags+=" -X $b.gitVersion=$K8S_VERSION -X $b.gitMajor=1 -X $b.gitMinor=$minor -X $b.gitTreeState=clean"
  done
  log "building Kubernetes $K8S_VERSION (${BINARIES[*]}) from Go modules into $BIN_DIR"
  log "(cold: ~9 min on 2 cores incl. module download; warm cache: under a minute)"
  # ONE go build for all four binaries: they share thousands of packages and the go command
  # overlaps linking one binary with compiling the others (measured faster than sequential).
  ( cd "$MOD_DIR" && exec env GOFLAGS="-mod=readonly ${GOFLAGS:-}" \
      go build -trimpath -ldflags="$ldflags" -o "$tmp/" "${pkgs[@]}" ) >"$CACHE_DIR/build.log" 2>&1 8>&- 9>&- &
  pid=$!
  # if we are interrupted (ctest timeout, ^C), don't leave an orphaned go build behind
  trap 'kill "$pid" 2>/dev/null; rm -rf "$tmp"' INT TERM HUP
  trap 'kill "$pid" 2>/dev/null || true' EXIT
  while kill -0 "$pid" 2>/dev/null; do
    for b in "${BINARIES[@]}"; do
      if [[ -x "$tmp/$b" && ! -e "$tmp/.done-$b" ]]; then
        : >"$tmp/.done-$b"; log "built $b after $(( $(date +%s) - t0 ))s"
      fi
    done
    sleep 2
    if (( ($(date +%s) - t0) % 60 < 2 )); then log "... still compiling ($(( $(date +%s) - t0 ))s)"; fi
  done
  rc=0; wait "$pid" || rc=$?
  trap - INT TERM HUP EXIT
  if (( rc != 0 )); then
    tail -n 40 "$CACHE_DIR/build.log" >&2 || true
    rm -rf "$tmp"; die "go build failed (rc=$rc); full log: $CACHE_DIR/build.log"
  fi
  for b in "${BINARIES[@]}"; do
    [[ -x "$tmp/$b" ]] || { rm -rf "$tmp"; die "go build did not produce $b"; }
    [[ -e "$tmp/.done-$b" ]] || log "built $b after $(( $(date +%s) - t0 ))s"
  done
  rm -f "$tmp"/.done-*
  rm -rf "$BIN_DIR"
  mv "$tmp" "$BIN_DIR"
  stamp_value >"$CACHE_DIR/stamp"
  log "build complete in $(( $(date +%s) - t0 ))s"
  exec 8>&-
}

# ---------------------------------------------------------------- helpers for start/stop
DAEMON_DIR="$STATE_DIR"
daemon_bin() { echo "$BIN_DIR/$1"; }
# shellcheck source=hack/lib/daemons.sh
source "$SCRIPT_DIR/lib/daemons.sh"

all_alive() {
  local c
  for c in "${COMPONENTS[@]}"; do component_alive "$c" || return 1; done
}

gen_certs() { # gen_certs MODE [NODE_IP]
  local d="$STATE_DIR/pki" sans=""
  [[ "$1" == node ]] && sans=",IP:$2"
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=tidemark-test-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$d/apiserver.key" -out "$d/apiserver.csr" 2>/dev/null
  cat >"$d/apiserver.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1$sans,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  openssl x509 -req -in "$d/apiserver.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
    -days 3650 -extfile "$d/apiserver.ext" -out "$d/apiserver.crt" 2>/dev/null
  if [[ "$1" == node ]]; then # the apiserver's identity toward the kubelet (logs, exec)
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" \
      -keyout "$d/kubelet-client.key" -out "$d/kubelet-client.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' \
      >"$d/kubelet-client.ext"
    openssl x509 -req -in "$d/kubelet-client.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
      -days 3650 -extfile "$d/kubelet-client.ext" -out "$d/kubelet-client.crt" 2>/dev/null
  fi
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  chmod 600 "$d"/*.key
}

write_kubeconfig() { # write_kubeconfig PATH PORT TOKEN
  local ca; ca="$(base64 -w0 <"$STATE_DIR/pki/ca.crt")"
  rm -f "$1"; (umask 077; : >"$1")  # holds the admin token: owner-only
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: tidemark-test
  cluster:
    server: https://127.0.0.1:$2
    certificate-authority-data: $ca
users:
- name: tidemark-admin
  user:
    token: $3
contexts:
- name: tidemark-test
  context:
    cluster: tidemark-test
    user: tidemark-admin
    namespace: default
current-context: tidemark-test
EOF
}

print_env() {
  printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_PATH"
  printf 'export TIDEMARK_K8S_BIN=%q\n' "$BIN_DIR"
  printf 'export TIDEMARK_K8S_VERSION=%q\n' "$K8S_VERSION"
  # kubectl's discovery cache, beside the cluster: under ~/.kube/cache every cluster's port
  # left a directory that nothing removed (272 of them, 775 MB, on a developer's machine)
  printf 'export KUBECACHEDIR=%q\n' "$STATE_DIR/kubectl-cache"
}

kctl() { "$BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_PATH" --request-timeout=5s "$@"; }

# ---------------------------------------------------------------- start / stop
cmd_start() {
  local mode=plain node_ip=""
  [[ "${TIDEMARK_NODE:-0}" == 1 ]] && mode=node
  cmd_build
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/.lock"
  # (daemons started by older versions of this script inherited this lock: don't wait forever)
  flock -w 60 9 || log "warning: $STATE_DIR/.lock still held after 60s; proceeding anyway"
  if all_alive && [[ -f "$KUBECONFIG_PATH" ]] && kctl get --raw /readyz >/dev/null 2>&1 \
     && [[ $mode == plain || "$(running_mode)" == node ]]; then
    log "already running (state in $STATE_DIR)"
    if [[ "$(running_mode)" == node && $mode == node ]]; then "$SCRIPT_DIR/node.sh" start; fi
    print_env
    return 0
  fi
  if any_pidfile; then
    log "stale, partial or plain-mode control plane found; stopping it first"
    stop_node_if_any
    stop_components
  fi
  local t0; t0=$(date +%s.%N)
  if [[ $mode == node ]]; then
    node_ip="$("$SCRIPT_DIR/node.sh" ip)"
    [[ -n "$node_ip" && "$node_ip" != 127.* ]] || die "node mode needs a non-loopback IP (set TIDEMARK_NODE_IP)"
    COMPONENTS=("${ALL_COMPONENTS[@]}")
  fi
  echo "$mode" >"$STATE_DIR/mode"
  rm -rf "$STATE_DIR/etcd" "$STATE_DIR/pki" "$STATE_DIR/logs" "$STATE_DIR/pids" "$STATE_DIR/kcm-certs" "$STATE_DIR/apiserver-certs"
  rm -rf "$STATE_DIR/flexvolume"
  mkdir -p "$STATE_DIR/logs" "$STATE_DIR/pids" "$STATE_DIR/etcd" "$STATE_DIR/kcm-certs" "$STATE_DIR/apiserver-certs" "$STATE_DIR/flexvolume"
  chmod 700 "$STATE_DIR/etcd"
  gen_certs "$mode" "$node_ip"
  local token; token="$(openssl rand -hex 24)"
  (umask 077; printf '%s,admin,1,"system:masters"\n' "$token" >"$STATE_DIR/pki/tokens.csv")

  local ports; mapfile -t ports < <(free_ports 5)
  local etcd_client=${ports[0]} etcd_peer=${ports[1]} api_port=${ports[2]} kcm_port=${ports[3]} sched_port=${ports[4]}
  printf 'etcd_client=%s\netcd_peer=%s\napiserver=%s\nkube_controller_manager=%s\nkube_scheduler=%s\n' \
    "$etcd_client" "$etcd_peer" "$api_port" "$kcm_port" "$sched_port" >"$STATE_DIR/ports"
  # plain: loopback only, no ServiceAccount admission (no pod ever runs); node: see the header
  local mode_flags=(--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --disable-admission-plugins=ServiceAccount)
  [[ $mode == node ]] && mode_flags=(--bind-address=0.0.0.0 --advertise-address="$node_ip"
    --kubelet-preferred-address-types=InternalIP
    --kubelet-client-certificate="$STATE_DIR/pki/kubelet-client.crt"
    --kubelet-client-key="$STATE_DIR/pki/kubelet-client.key")
  write_kubeconfig "$KUBECONFIG_PATH" "$api_port" "$token"
  local audit_flags=()
  if [[ -n "${TIDEMARK_AUDIT_POLICY:-}" ]]; then
    [[ -f "$TIDEMARK_AUDIT_POLICY" ]] || die "TIDEMARK_AUDIT_POLICY=$TIDEMARK_AUDIT_POLICY: no such file"
    cp "$TIDEMARK_AUDIT_POLICY" "$STATE_DIR/pki/audit-policy.yaml"
    audit_flags=(--audit-policy-file="$STATE_DIR/pki/audit-policy.yaml" --audit-log-path="$STATE_DIR/logs/audit.log"
      --audit-log-format=json --audit-log-mode=blocking)
  fi

  # etcd
  launch etcd --data-dir "$STATE_DIR/etcd" \
    --listen-client-url "http://127.0.0.1:$etcd_client" --listen-peer-url "http://127.0.0.1:$etcd_peer"
  wait_until 120 "etcd health" etcd curl -fsS "http://127.0.0.1:$etcd_client/health" \
    || { stop_components; die "etcd did not become healthy (log: $STATE_DIR/logs/etcd.log)"; }

  # kube-apiserver (flags as controller-runtime envtest uses, plus our own CA-signed serving cert)
  launch kube-apiserver \
    --etcd-servers="http://127.0.0.1:$etcd_client" \
    --cert-dir="$STATE_DIR/apiserver-certs" \
    --tls-cert-file="$STATE_DIR/pki/apiserver.crt" \
    --tls-private-key-file="$STATE_DIR/pki/apiserver.key" \
    --secure-port="$api_port" \
    "${mode_flags[@]}" \
    "${audit_flags[@]}" \
    --endpoint-reconciler-type=none \
    --service-cluster-ip-range=10.0.0.0/24 \
    --authorization-mode=RBAC \
    --allow-privileged=true \
    --token-auth-file="$STATE_DIR/pki/tokens.csv" \
    --client-ca-file="$STATE_DIR/pki/ca.crt" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$STATE_DIR/pki/sa.pub" \
    --service-account-signing-key-file="$STATE_DIR/pki/sa.key" \
    --v=1
  wait_until 240 "kube-apiserver /readyz" kube-apiserver kctl get --raw /readyz \
    || { stop_components; die "kube-apiserver did not become ready (log: $STATE_DIR/logs/kube-apiserver.log)"; }
  wait_until 120 "namespace default" kube-apiserver kctl get namespace default \
    || { stop_components; die "namespace default never appeared"; }
  # kube-controller-manager's delegated authn reads this; avoids a burst of errors at its start
  wait_until 120 "configmap kube-system/extension-apiserver-authentication" kube-apiserver \
    kctl -n kube-system get configmap extension-apiserver-authentication \
    || { stop_components; die "configmap extension-apiserver-authentication never appeared"; }

  # kube-controller-manager (real Deployment/ReplicaSet/GC/namespace controllers)
  launch kube-controller-manager \
    --kubeconfig="$KUBECONFIG_PATH" \
    --authentication-kubeconfig="$KUBECONFIG_PATH" \
    --authorization-kubeconfig="$KUBECONFIG_PATH" \
    --leader-elect=false \
    --controllers='*' \
    --service-account-private-key-file="$STATE_DIR/pki/sa.key" \
    --root-ca-file="$STATE_DIR/pki/ca.crt" \
    --use-service-account-credentials=false \
    --bind-address=127.0.0.1 \
    --secure-port="$kcm_port" \
    --cert-dir="$STATE_DIR/kcm-certs" \
    --flex-volume-plugin-dir="$STATE_DIR/flexvolume" \
    --v=1
  wait_until 180 "kube-controller-manager /healthz" kube-controller-manager \
    curl -fsSk "https://127.0.0.1:$kcm_port/healthz" \
    || { stop_components; die "kube-controller-manager did not become healthy (log: $STATE_DIR/logs/kube-controller-manager.log)"; }

  if [[ $mode == node ]]; then
    launch kube-scheduler \
      --kubeconfig="$KUBECONFIG_PATH" \
      --authentication-kubeconfig="$KUBECONFIG_PATH" \
      --authorization-kubeconfig="$KUBECONFIG_PATH" \
      --leader-elect=false \
      --bind-address=127.0.0.1 \
      --secure-port="$sched_port" \
      --v=1
    wait_until 120 "kube-scheduler /healthz" kube-scheduler curl -fsSk "https://127.0.0.1:$sched_port/healthz" \
      || { stop_components; die "kube-scheduler did not become healthy (log: $STATE_DIR/logs/kube-scheduler.log)"; }
  fi

  log "control plane ($mode) ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s: apiserver https://127.0.0.1:$api_port, state in $STATE_DIR"
  if [[ $mode == node ]]; then
    "$SCRIPT_DIR/node.sh" start || { stop_node_if_any; stop_components; die "the node did not start"; }
  fi
  print_env
}

stop_components() {
  # etcd's clients at once (each takes ~2 s to shut down gracefully), then etcd
  local c pids=()
  for c in kube-scheduler kube-controller-manager kube-apiserver; do stop_one "$c" & pids+=($!); done
  wait "${pids[@]}" || true
  stop_one etcd
}

stop_node_if_any() { # the node's state dir is beside ours; stopping it is a no-op when none ran
  [[ -d "$STATE_DIR/../node" ]] || return 0
  "$SCRIPT_DIR/node.sh" stop || log "warning: hack/node.sh stop failed"
}

cmd_stop() {
  [[ -d "$STATE_DIR" ]] || { log "nothing to stop"; return 0; }
  exec 9>"$STATE_DIR/.lock"
  # (daemons started by older versions of this script inherited this lock: don't wait forever)
  flock -w 60 9 || log "warning: $STATE_DIR/.lock still held after 60s; proceeding anyway"
  stop_node_if_any
  if any_pidfile; then stop_components; else log "nothing running"; fi
}

cmd_status() {
  if all_alive && kctl get --raw /readyz >/dev/null 2>&1; then
    log "running (state in $STATE_DIR)"; return 0
  fi
  log "not running"; return 1
}

cmd_restart_apiserver() {
  local down=${1:-0} pid started args=()
  exec 9>"$STATE_DIR/.lock"
  flock -w 60 9 || log "warning: $STATE_DIR/.lock still held after 60s; proceeding anyway"
  all_alive || die "restart-apiserver: the control plane is not running"
  pid="$(pid_of kube-apiserver)"; started="$(started_of kube-apiserver)"
  # the running server's own arguments (after argv[0]): same port, certs and etcd
  mapfile -d '' -t args <"/proc/$pid/cmdline"
  # a crash, not a graceful stop: SIGTERM waits for open watches to drain (10 s and more)
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do proc_is "$pid" "$started" || break; sleep 0.1; done
  rm -f "$STATE_DIR/pids/kube-apiserver.pid"
  sleep "$down"
  launch kube-apiserver "${args[@]:1}"
  wait_until 240 "kube-apiserver /readyz" kube-apiserver kctl get --raw /readyz \
    || die "kube-apiserver did not become ready again (log: $STATE_DIR/logs/kube-apiserver.log)"
  log "kube-apiserver restarted (down ${down}s)"
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) print_env ;;
  restart-apiserver) cmd_restart_apiserver "${2:-0}" ;;
  *) echo "usage: $0 {build|start|stop|status|env|restart-apiserver [DOWN_SECONDS]}" >&2; exit 2 ;;
esac
