#!/usr/bin/env bash
# tidemark tests/bench/node_images.sh — what the test node and its images cost: figures for the
# suite's time budget and for issue 12's note, printed as one table and one key=value line.
#   image_build_s   `hack/image.sh NAME` for base, pause, testapp and tidemark: first call
#                   (builds whatever changed since the cache was made) and warm (all cached);
#                   podman_build_s: podman's part of it, when podman ran (testapp, tidemark)
#   rebuild_s       the tidemark image rebuilt under a throwaway tag (hack/image.sh rebuild):
#                   after a source change (edit: its compile and what follows) and with no layer
#                   cache at all (cold: apt-get downloads from Debian's mirror included); the
#                   cached image and the layer cache others use are left as they were
#   size_mb         each image's size (podman's figure), and the podman storage on disk
#   cluster_start_s `TIDEMARK_NODE=1 hack/controlplane.sh start`: etcd, apiserver, controller
#                   manager, scheduler, containerd and kubelet, the pause image, Node Ready
#   load_s          importing testapp and tidemark into the fresh node's containerd
#   node_start_s    `hack/node.sh start` alone (the control plane kept running, the Node object
#                   deleted): containerd, kubelet, the Node registered and Ready (the pause image
#                   stays in containerd's root); node_stop_s and cluster_stop_s likewise
# Times are wall clock (a wait for another runner's image build lock included). No figure is
# asserted; every step must succeed, or the bench fails. It makes its own cluster (state dir
# under /tmp), so it runs standalone: `ctest -L bench -R node_images`. Needs root, podman and
# mmdebstrap (hack/deps.sh), the control plane's cached binaries, and Debian's mirror for the
# cold rebuild. About 3.5 minutes on 2 cores with warm caches, a third of it the cold rebuild.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
WORK="$(mktemp -d /tmp/tm-nodeimages.XXXXXX)"
export TIDEMARK_STATE_DIR="$WORK/state"
at_exit '"$ROOT/hack/controlplane.sh" stop >/dev/null 2>&1 || true; rm -rf --one-file-system "$WORK"'
image_sh() { "$ROOT/hack/image.sh" "$@"; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
declare -A F=()
ORDER=()
put() { F[$1]=$2; ORDER+=("$1"); log "$1 = $2"; }
# measure KEY CMD...: run CMD (output to $WORK/steps.log) and put the seconds it took; fail if it fails
measure() {
  local key=$1 t0 rc=0; shift
  t0=$(date +%s.%N)
  "$@" >"$WORK/step.log" 2>&1 || rc=$?
  cat "$WORK/step.log" >>"$WORK/steps.log"
  ((rc == 0)) || { tail -n 20 "$WORK/step.log" >&2; fail "$* failed"; }
  put "$key" "$(elapsed "$t0")"
}

# ---- image builds: first (brings the cache up to date), then warm (everything cached)
for n in base pause testapp tidemark; do
  for pass in first warm; do
    measure "image_build_s.$n.$pass" image_sh "$n"
    # podman's build alone, without the wait for the lock (image.sh logs it when podman ran)
    s="$(sed -n 's/.* ready in \([0-9.]*\)s.*/\1/p' "$WORK/step.log")"
    [[ -z "$s" ]] || put "podman_build_s.$n.$pass" "$s"
  done
done
for mode in edit cold; do
  s="$(image_sh rebuild tidemark "$mode" 2>>"$WORK/steps.log")" \
    || { tail -n 20 "$WORK/steps.log" >&2; fail "hack/image.sh rebuild tidemark $mode failed"; }
  put "rebuild_s.tidemark.$mode" "$s"
done
for n in base pause testapp tidemark; do
  bytes="$(image_sh size "$n")" || fail "hack/image.sh size $n failed"
  put "size_mb.$n" "$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}')"
done
storage="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/tidemark/images/podman"
put size_mb.podman_storage "$(du -sm "$storage" | cut -f1)"

# ---- the cluster with its node, image loads, the node alone
t0=$(date +%s.%N)
eval "$(TIDEMARK_NODE=1 "$ROOT/hack/controlplane.sh" start 2>>"$WORK/steps.log")" \
  || { tail -n 20 "$WORK/steps.log" >&2; fail "TIDEMARK_NODE=1 hack/controlplane.sh start failed"; }
put cluster_start_s "$(elapsed "$t0")"
for n in testapp tidemark; do
  image_sh load "$n" 2>"$WORK/load.log" || { cat "$WORK/load.log" >&2; fail "hack/image.sh load $n failed"; }
  s="$(sed -n 's/.*loaded .* into the node in \([0-9.]*\)s.*/\1/p' "$WORK/load.log")"
  [[ -n "$s" ]] || fail "hack/image.sh load $n imported nothing into a fresh node: $(cat "$WORK/load.log")"
  put "load_s.$n" "$s"
done
measure node_stop_s "$ROOT/hack/node.sh" stop
# the Node object would keep its last Ready status for the node controller's grace period (40 s),
# and node.sh start would return on it: without it, start waits for a kubelet that registers anew
k delete node tidemark-node >/dev/null || fail "could not delete the Node object"
measure node_start_s "$ROOT/hack/node.sh" start
"$ROOT/hack/node.sh" status || fail "the node is not Ready after hack/node.sh start"
measure cluster_stop_s "$ROOT/hack/controlplane.sh" stop

printf '\n%-34s %s\n' figure value
line="node_images"
for key in "${ORDER[@]}"; do
  printf '%-34s %s\n' "$key" "${F[$key]}"
  line+=" $key=${F[$key]}"
done
echo "$line"
