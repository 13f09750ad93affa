#!/usr/bin/env bash
# tidemark hack/node.sh — owns the test cluster's NODE: a real kubelet with its own containerd,
# so pods really run (images from hack/image.sh, nothing is ever pulled from a registry).
#
# The control plane must run in node mode (TIDEMARK_NODE=1 hack/controlplane.sh start starts it
# and then this node; hack/controlplane.sh stop stops both). Subcommands:
#   start   start containerd and the kubelet for ${TIDEMARK_STATE_DIR:-/tmp/tidemark-state},
#           import the pause image, wait until the Node is Ready (idempotent)
#   stop    kill every pod's processes, stop the kubelet and containerd, and undo everything the
#           node made outside its state dir (mounts, bridge, iptables chain, cgroups, CNI cache,
#           /var/log/containers links, kernel settings); safe when nothing runs
#   status  exit 0 if containerd and the kubelet run and the Node is Ready
#   restart-kubelet [DOWN_SECONDS]
#           crash the kubelet (SIGKILL), keep it down DOWN_SECONDS (default 0), start it again
#           with the same command line; containers keep running (a fault for tests)
#   ctr ARGS...  run ctr against this node's containerd (namespace k8s.io)
#   ip      print the node IP (the host's source address for its default route)
#
# Everything lives in ${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}/node/: containerd's root, state,
# socket, runc root and netns mounts; the kubelet's root, cert, pod-log and volume-plugin dirs;
# the CNI config and IPAM data. Several nodes (one per state dir) can run on one machine: each
# has its own bridge tm-<id> and pod subnet 10.244.<n>.0/24, and its own cgroup root
# /tidemark-<id>, so no kubelet ever sees (or cleans up) another's pods.
#
# How pods reach the API server: the apiserver listens on every address in node mode, and a
# per-node iptables nat chain TM-<id> sends the pod subnet's traffic for the `kubernetes`
# Service (10.0.0.1:443) to <node IP>:<apiserver port> — what kube-proxy would do for that one
# Service, so in-cluster clients use KUBERNETES_SERVICE_HOST/PORT unchanged. hostNetwork pods
# reach it (and the test PostgreSQL) on 127.0.0.1 instead.
#
# Outside the state dir, unavoidably: containerd's shim sockets in /run/containerd/s (removed
# by each shim), CNI's result cache in /var/lib/cni/results, the kubelet's links in
# /var/log/containers and its /var/lib/kubelet/device-plugins socket, and the kernel settings
# the kubelet and the bridge plugin set (vm.overcommit_memory, vm.panic_on_oom, kernel.panic,
# kernel.panic_on_oops, kernel.keys.root_max*, net.ipv4.ip_forward): recorded under
# /run/tidemark-nodes before the first node starts, restored when the last one stops.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_ROOT="${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}"
CP_DIR="$STATE_ROOT/controlplane"
ND="$STATE_ROOT/node"
NODE_NAME="${TIDEMARK_NODE_NAME:-tidemark-node}"
ID="$(printf '%s' "$STATE_ROOT" | sha256sum | cut -c1-8)"
BRIDGE="tm-$ID"
CHAIN="TM-$ID"
CGROUP_ROOT="/tidemark-$ID"
MACHINE_DIR=/run/tidemark-nodes   # shared by every node on this machine (kernel settings)
CNI_BIN_DIR=/usr/lib/cni
PAUSE_IMAGE=localhost/tidemark/pause:1
KERNEL_SETTINGS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward)

log() { printf 'node: %s\n' "$*" >&2; }
die() { printf 'node: ERROR: %s\n' "$*" >&2; exit 1; }
trap 'log "ERROR: failed (status $?) at line $LINENO: $BASH_COMMAND"' ERR

eval "$("$SCRIPT_DIR/controlplane.sh" env)"   # TIDEMARK_K8S_BIN: the cached kubelet and kubectl
DAEMON_DIR="$ND"
daemon_bin() {
  case $1 in
    containerd) command -v containerd || echo /usr/bin/containerd ;;
    kubelet) echo "$TIDEMARK_K8S_BIN/kubelet" ;;
  esac
}
# shellcheck source=hack/lib/daemons.sh
source "$SCRIPT_DIR/lib/daemons.sh"

kctl() { "$TIDEMARK_K8S_BIN/kubectl" --kubeconfig "$CP_DIR/kubeconfig" --request-timeout=5s "$@"; }
node_ctr() { ctr --address "$ND/containerd/containerd.sock" --namespace k8s.io "$@"; }

node_ip() {
  [[ -n "${TIDEMARK_NODE_IP:-}" ]] && { echo "$TIDEMARK_NODE_IP"; return; }
  ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") {print $(i + 1); exit}}'
}

# ---------------------------------------------------------------- machine-wide bookkeeping
# Kernel settings are one per machine: record them before the first node, restore after the last.
machine_lock() { mkdir -p "$MACHINE_DIR/nodes"; exec 7>"$MACHINE_DIR/.lock"; flock -w 60 7 || die "$MACHINE_DIR/.lock held for 60 s"; }
machine_unlock() { exec 7>&-; }

kernel_settings_record() {
  [[ -f "$MACHINE_DIR/sysctl.orig" ]] && return 0
  local k
  for k in "${KERNEL_SETTINGS[@]}"; do printf '%s=%s\n' "$k" "$(sysctl -n "$k")"; done >"$MACHINE_DIR/sysctl.orig.tmp"
  mv "$MACHINE_DIR/sysctl.orig.tmp" "$MACHINE_DIR/sysctl.orig"
}

other_node_running() { # is a node of another state dir still running? (its own pidfiles decide)
  local f dir
  for f in "$MACHINE_DIR"/nodes/*; do
    [[ -f "$f" ]] || continue
    dir="$(cat "$f")"
    [[ "$dir" == "$ND" ]] && continue
    if (DAEMON_DIR="$dir"; component_alive containerd || component_alive kubelet); then return 0; fi
    rm -f "$f"   # that node was never stopped and is gone: forget it
  done
  return 1
}

kernel_settings_restore() {
  [[ -f "$MACHINE_DIR/sysctl.orig" ]] || return 0
  other_node_running && return 0
  local line
  while IFS= read -r line; do sysctl -q -w "$line" >/dev/null || log "could not restore $line"; done <"$MACHINE_DIR/sysctl.orig"
  rm -f "$MACHINE_DIR/sysctl.orig"
  log "kernel settings restored"
}

# ---------------------------------------------------------------- network
pod_subnet_index() { # a free 10.244.<n>.0/24 for this node, starting from its id (under machine lock)
  local n i
  n=$(( 16#${ID:0:4} % 254 + 1 ))
  for ((i = 0; i < 254; i++)); do
    if [[ -z "$(ip -4 route show "10.244.$n.0/24")" ]]; then echo "$n"; return 0; fi
    n=$(( n % 254 + 1 ))
  done
  die "no free pod subnet in 10.244.0.0/16"
}

network_up() { # network_up NODE_IP API_PORT: bridge, pod subnet, CNI config, API Service DNAT
  local node_ip=$1 api_port=$2 n subnet svc_ip
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    n="$(cat "$ND/cni/subnet-index")"
  else
    n="$(pod_subnet_index)"
    ip link add "$BRIDGE" type bridge
    ip addr add "10.244.$n.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    echo "$n" >"$ND/cni/subnet-index"
  fi
  subnet="10.244.$n.0/24"
  mkdir -p "$ND/cni/net.d" "$ND/cni/ipam"
  cat >"$ND/cni/net.d/10-tidemark.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$BRIDGE",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
      "ipam": {
        "type": "host-local", "dataDir": "$ND/cni/ipam",
        "ranges": [[{"subnet": "$subnet", "gateway": "10.244.$n.1"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
  svc_ip="$(kctl get service kubernetes -o 'jsonpath={.spec.clusterIP}')" || die "cannot read Service default/kubernetes"
  iptables -t nat -N "$CHAIN" 2>/dev/null || iptables -t nat -F "$CHAIN"
  iptables -t nat -A "$CHAIN" -d "$svc_ip/32" -p tcp --dport 443 -j DNAT --to-destination "$node_ip:$api_port"
  iptables -t nat -C PREROUTING -s "$subnet" -j "$CHAIN" 2>/dev/null \
    || iptables -t nat -A PREROUTING -s "$subnet" -j "$CHAIN" -m comment --comment "tidemark node $ND"
  echo "$subnet" >"$ND/cni/subnet"
}

network_down() {
  local subnet
  subnet="$(cat "$ND/cni/subnet" 2>/dev/null || true)"
  if [[ -n "$subnet" ]]; then
    while iptables -t nat -D PREROUTING -s "$subnet" -j "$CHAIN" -m comment --comment "tidemark node $ND" 2>/dev/null; do :; done
  fi
  iptables -t nat -F "$CHAIN" 2>/dev/null && iptables -t nat -X "$CHAIN" 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
  # libcni's result cache: <network>-<container id>-<interface>, ours and our sandboxes' loopback
  local f cid
  for f in /var/lib/cni/results/"$BRIDGE"-*; do
    [[ -e "$f" ]] || continue
    cid="${f#/var/lib/cni/results/"$BRIDGE"-}"; cid="${cid%-*}"
    rm -f "$f" "/var/lib/cni/results/cni-loopback-$cid-lo"
  done
  rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
}

kubelet_machine_files_down() { # the kubelet's fixed paths; only when no other node uses them
  other_node_running && return 0
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/kubelet_internal_checkpoint
  rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet /run/containerd/s /run/containerd 2>/dev/null || true
}

# ---------------------------------------------------------------- cgroups
cgroup_hierarchies() { awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts; }

cgroups_up() { # the kubelet's cgroupRoot must exist in every hierarchy; cpuset needs cpus and mems
  local h
  for h in $(cgroup_hierarchies); do
    mkdir -p "$h$CGROUP_ROOT"
    if [[ -f "$h$CGROUP_ROOT/cpuset.cpus" && -z "$(cat "$h$CGROUP_ROOT/cpuset.cpus")" ]]; then
      cat "$h/cpuset.cpus" >"$h$CGROUP_ROOT/cpuset.cpus"
      cat "$h/cpuset.mems" >"$h$CGROUP_ROOT/cpuset.mems"
    fi
  done
}

cgroups_down() {
  local h pid killed=0
  # whatever is still inside the node's cgroup root is one of its pods' processes (say, a
  # container whose shim died with containerd): nothing else can be in there
  for h in $(cgroup_hierarchies); do
    [[ -d "$h$CGROUP_ROOT" ]] || continue
    for pid in $(find "$h$CGROUP_ROOT" -name cgroup.procs -exec cat {} + 2>/dev/null); do
      kill -KILL "$pid" 2>/dev/null && killed=1
    done
  done
  ((killed)) && sleep 0.5
  for h in $(cgroup_hierarchies); do
    [[ -d "$h$CGROUP_ROOT" ]] || continue
    find "$h$CGROUP_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [[ -d "$h$CGROUP_ROOT" ]] && log "cgroup $h$CGROUP_ROOT still holds processes: $(cat "$h$CGROUP_ROOT"/cgroup.procs 2>/dev/null | head -5 | tr '\n' ' ')"
  done
  return 0
}

# ---------------------------------------------------------------- config files
write_containerd_config() {
  mkdir -p "$ND/containerd"
  cat >"$ND/containerd/config.toml" <<EOF
# containerd for the tidemark test node $ND (written by hack/node.sh)
version = 2
root = "$ND/containerd/root"
state = "$ND/containerd/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "$ND/containerd/containerd.sock"
[ttrpc]
  address = "$ND/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$ND/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$ND/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$ND/cni/net.d"
    max_conf_num = 1
EOF
}

write_kubelet_config() { # write_kubelet_config NODE_IP PORT HEALTHZ_PORT
  mkdir -p "$ND/kubelet" "$ND/kubelet-pki" "$ND/pod-logs" "$ND/volume-plugins"
  cat >"$ND/kubelet-config.yaml" <<EOF
# kubelet for the tidemark test node $ND (written by hack/node.sh)
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $1
port: $2
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $3
tlsCertFile: $ND/kubelet-pki/kubelet.crt
tlsPrivateKeyFile: $ND/kubelet-pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CP_DIR/pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$ND/containerd/containerd.sock
# cgroup v1 host, no systemd; a cgroup root of its own so no kubelet touches another's pods
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
failSwapOn: false
oomScoreAdj: 0
makeIPTablesUtilChains: false
volumePluginDir: $ND/volume-plugins
podLogsDir: $ND/pod-logs
# images are imported, never pulled: keep them
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
shutdownGracePeriod: 0s
EOF
}

kubelet_serving_cert() { # signed by the cluster CA for the node IP and name
  local d="$ND/kubelet-pki" node_ip=$1
  mkdir -p "$d"
  [[ -s "$d/kubelet.crt" && "$(cat "$d/kubelet.ip" 2>/dev/null)" == "$node_ip" \
     && "$d/kubelet.crt" -nt "$CP_DIR/pki/ca.crt" ]] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$NODE_NAME" -keyout "$d/kubelet.key" -out "$d/kubelet.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:%s,IP:127.0.0.1,DNS:%s\n' \
    "$node_ip" "$NODE_NAME" >"$d/kubelet.ext"
  openssl x509 -req -in "$d/kubelet.csr" -CA "$CP_DIR/pki/ca.crt" -CAkey "$CP_DIR/pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$d/kubelet.ext" -out "$d/kubelet.crt" 2>/dev/null
  chmod 600 "$d/kubelet.key"
  echo "$node_ip" >"$d/kubelet.ip"
}

# node_ready [SINCE]: the Node reports Ready; with SINCE (epoch seconds), only a Ready the
# kubelet posted at or after SINCE counts: a restarted node's Node object keeps the last
# kubelet's Ready for about 40 s, which says nothing about the new one.
node_ready() {
  local out hb
  out="$(kctl get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}' 2>/dev/null)" || return 1
  [[ "${out%% *}" == True ]] || return 1
  [[ -z "${1:-}" ]] && return 0
  hb="$(date -d "${out#* }" +%s 2>/dev/null)" || return 1
  (( hb >= $1 ))
}

# ---------------------------------------------------------------- start / stop
cmd_start() {
  [[ "$(id -u)" -eq 0 ]] || die "the node needs root (containerd, cgroups, bridges)"
  command -v containerd >/dev/null && command -v runc >/dev/null && [[ -x "$CNI_BIN_DIR/bridge" ]] \
    || die "containerd, runc or the CNI plugins are missing: run hack/deps.sh"
  [[ -x "$TIDEMARK_K8S_BIN/kubelet" ]] || die "no kubelet in $TIDEMARK_K8S_BIN: run hack/controlplane.sh build"
  [[ "$(cat "$CP_DIR/mode" 2>/dev/null)" == node ]] \
    || die "the control plane in $CP_DIR is not in node mode: start it with TIDEMARK_NODE=1 hack/controlplane.sh start"
  kctl get --raw /readyz >/dev/null 2>&1 || die "the control plane in $CP_DIR is not running"
  mkdir -p "$ND"
  exec 9>"$ND/.lock"
  flock -w 120 9 || die "$ND/.lock held for 120 s"
  if component_alive containerd && component_alive kubelet && node_ready; then
    log "already running (state in $ND)"; return 0
  fi
  local t0 node_ip api_port ports
  t0=$(date +%s.%N)
  any_pidfile && stop_node
  # what a node run leaves is not reused (containerd's root keeps the imported images)
  rm -rf --one-file-system "$ND/kubelet" "$ND/containerd/state" "$ND/runc" "$ND/pod-logs" "$ND/logs" "$ND/pids"
  node_ip="$(node_ip)"
  [[ -n "$node_ip" && "$node_ip" != 127.* ]] || die "no non-loopback node IP (set TIDEMARK_NODE_IP)"
  api_port="$(awk -F= '$1 == "apiserver" {print $2}' "$CP_DIR/ports")"

  machine_lock
  kernel_settings_record
  echo "$ND" >"$MACHINE_DIR/nodes/$ID"
  mkdir -p "$ND/cni"
  network_up "$node_ip" "$api_port"
  machine_unlock
  cgroups_up

  write_containerd_config
  launch containerd --config "$ND/containerd/config.toml"
  wait_until 60 "containerd" containerd node_ctr version \
    || { stop_node; die "containerd did not start (log: $ND/logs/containerd.log)"; }
  "$SCRIPT_DIR/image.sh" load pause >&2 || { stop_node; die "could not load the pause image"; }

  mapfile -t ports < <(free_ports 2)
  kubelet_serving_cert "$node_ip"
  write_kubelet_config "$node_ip" "${ports[0]}" "${ports[1]}"
  local since; since="$(date +%s)"
  launch kubelet --config="$ND/kubelet-config.yaml" --kubeconfig="$CP_DIR/kubeconfig" \
    --root-dir="$ND/kubelet" --cert-dir="$ND/kubelet-pki" \
    --hostname-override="$NODE_NAME" --node-ip="$node_ip" --v=1
  wait_until 120 "Node $NODE_NAME Ready" kubelet node_ready "$since" \
    || { stop_node; die "node $NODE_NAME did not become Ready (log: $ND/logs/kubelet.log)"; }
  log "node $NODE_NAME Ready in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s: IP $node_ip, pods in $(cat "$ND/cni/subnet"), state in $ND"
}

kill_pod_processes() { # with the kubelet gone: every container task, then every leftover shim
  local ids id pid
  if component_alive containerd; then
    ids="$(node_ctr tasks ls -q 2>/dev/null || true)"
    for id in $ids; do node_ctr tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
    # containerd's CRI plugin deletes a task once it has exited; delete what it has not yet
    for _ in $(seq 50); do
      ids="$(node_ctr tasks ls -q 2>/dev/null || true)"
      [[ -z "$ids" ]] && break
      for id in $ids; do node_ctr tasks delete "$id" >/dev/null 2>&1 || true; done
      sleep 0.1
    done
    for id in $(node_ctr containers ls -q 2>/dev/null || true); do node_ctr containers rm "$id" >/dev/null 2>&1 || true; done
  fi
  # a shim serves exactly one containerd: ours name our socket on their command line
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $ND/containerd/containerd.sock" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

unmount_under() { # every mount point below $1, deepest first
  local m
  findmnt -rn -o TARGET | awk -v d="$1/" 'index($0, d) == 1' | sort -r | while IFS= read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
  done
}

stop_node() {
  stop_one kubelet 15
  kill_pod_processes
  stop_one containerd 15
  unmount_under "$ND"
  find /var/log/containers -maxdepth 1 -type l -lname "$ND/*" -delete 2>/dev/null || true
  rmdir /var/log/containers 2>/dev/null || true
  cgroups_down
  machine_lock
  network_down
  rm -f "$MACHINE_DIR/nodes/$ID"
  kubelet_machine_files_down
  kernel_settings_restore
  machine_unlock
}

cmd_stop() {
  [[ -d "$ND" ]] || { log "nothing to stop"; return 0; }
  exec 9>"$ND/.lock"
  flock -w 120 9 || log "warning: $ND/.lock still held after 120s; proceeding anyway"
  stop_node
}

kubelet_healthy() {
  local port
  port="$(awk '$1 == "healthzPort:" {print $2}' "$ND/kubelet-config.yaml")"
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1
}

cmd_restart_kubelet() { # a kubelet crash (SIGKILL) and restart with the same command line
  local down=${1:-0} pid started args=()
  exec 9>"$ND/.lock"
  flock -w 120 9 || die "$ND/.lock held for 120 s"
  component_alive kubelet || die "restart-kubelet: the kubelet is not running"
  pid="$(pid_of kubelet)"; started="$(started_of kubelet)"
  mapfile -d '' -t args <"/proc/$pid/cmdline"
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do proc_is "$pid" "$started" || break; sleep 0.1; done
  rm -f "$ND/pids/kubelet.pid"
  sleep "$down"
  launch kubelet "${args[@]:1}"
  wait_until 60 "kubelet /healthz" kubelet kubelet_healthy \
    || die "the kubelet did not come back (log: $ND/logs/kubelet.log)"
  log "kubelet restarted (down ${down}s); its pods kept running"
}

cmd_status() {
  if component_alive containerd && component_alive kubelet && node_ready; then
    log "running, node $NODE_NAME Ready (state in $ND)"; return 0
  fi
  log "not running"; return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status || exit 1 ;;
  restart-kubelet) cmd_restart_kubelet "${2:-0}" ;;
  ctr) shift; node_ctr "$@" ;;
  ip) node_ip ;;
  *) echo "usage: $0 {start|stop|status|restart-kubelet [DOWN_SECONDS]|ctr ARGS...|ip}" >&2; exit 2 ;;
esac
