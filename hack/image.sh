#!/usr/bin/env bash
# tidemark hack/image.sh — owns the container images of the test node, all built here from
# Debian's packages and this repository (no registry is reachable, none is needed), cached, and
# loaded into the node's containerd (hack/node.sh).
#
# Subcommands:
#   base        debian:bookworm-slim, made with mmdebstrap --variant=minbase (slim's dpkg
#               excludes) and imported into podman under the name manifests/Dockerfile's FROM uses
#   pause       localhost/tidemark/pause:1, the pod sandbox image (hack/pause/pause.c, static)
#   tidemark    localhost/tidemark/tidemark:dev, `podman build -f manifests/Dockerfile .`
#   testapp     localhost/tidemark/testapp:1 (hack/testapp/)
#   load NAME...  build NAME if needed, then import it into the running node's containerd
#               (for ${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}); skipped when already there
#   size NAME   print the image's size in bytes
#   rebuild tidemark [edit|cold]
#               a throwaway build of manifests/Dockerfile under localhost/tidemark/tidemark:rebuild,
#               for timing (tests/bench/node_images.sh); prints its seconds on stdout. edit
#               (default): as after a source change: the committed tree's files the Dockerfile
#               COPYs (git archive HEAD, so others' edits in this checkout cannot break it) with
#               a comment appended to controller/main.c, so every step from there on runs again;
#               cold: the same files with no layer cache at all (apt-get downloads included).
#               Every image the build made is removed again: the cached image, its tar and the
#               layer cache that other runners use stay as they were.
# Each build prints nothing on stdout; its time goes to stderr.
#
# Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/tidemark/images/: podman's own storage (podman/, so the
# machine's /var/lib/containers is never touched) with its layer cache, and NAME.tar
# (docker-archive) + NAME.id for each image. podman runs with the containers.conf there
# (nofile/nproc ulimits this host allows, cgroupfs, no journald) and builds with --network=host
# (RUN apt-get needs Debian's mirror; no bridge or firewall rules are made).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
CACHE="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/tidemark/images"
STATE_ROOT="${TIDEMARK_STATE_DIR:-/tmp/tidemark-state}"
DEBIAN_MIRROR="${TIDEMARK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DEBIAN_SECURITY="${TIDEMARK_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}"
BASE_RECIPE="bookworm minbase merged-usr slim-excludes apt-clean 3"   # bump to rebuild the base image

declare -A IMAGE=(
  [base]=docker.io/library/debian:bookworm-slim
  [pause]=localhost/tidemark/pause:1
  [tidemark]=localhost/tidemark/tidemark:dev
  [testapp]=localhost/tidemark/testapp:1
)

log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

pod() {
  CONTAINERS_CONF="$CACHE/containers.conf" podman --root "$CACHE/podman/storage" \
    --runroot "/run/tidemark-podman-$(id -u)" --storage-driver overlay "$@"
}

setup() {
  command -v podman >/dev/null && command -v mmdebstrap >/dev/null \
    || die "podman or mmdebstrap missing: run hack/deps.sh"
  mkdir -p "$CACHE/podman"
  cat >"$CACHE/containers.conf.tmp.$$" <<'EOF'
# podman for tidemark's image builds (hack/image.sh)
[containers]
# the host's hard nofile limit is 20000: podman's default (1048576) fails with "error setting rlimit type 7"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
EOF
  mv "$CACHE/containers.conf.tmp.$$" "$CACHE/containers.conf" # per process: concurrent setups (a node start loading pause beside a build) raced on one name
  # one builder at a time: several test runners may build at once
  exec 8>"$CACHE/.lock"
  flock -w 1800 8 || die "another build has held $CACHE/.lock for 30 min"
}

unlock() { # podman leaves its storage's overlay dir bind-mounted: undo that, then let others build
  umount "$CACHE/podman/storage/overlay" 2>/dev/null || true
  exec 8>&-
}

image_id() { pod image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

save() { # save NAME: refresh NAME.tar when the image changed
  local name=$1 id
  id="$(image_id "${IMAGE[$name]}")"
  [[ -n "$id" ]] || die "image ${IMAGE[$name]} was not built"
  if [[ "$(cat "$CACHE/$name.id" 2>/dev/null)" != "$id" || ! -s "$CACHE/$name.tar" ]]; then
    rm -f "$CACHE/$name.tar.tmp"
    pod save --quiet --format docker-archive -o "$CACHE/$name.tar.tmp" "${IMAGE[$name]}"
    mv "$CACHE/$name.tar.tmp" "$CACHE/$name.tar"
    echo "$id" >"$CACHE/$name.id"
  fi
}

build_base() {
  if [[ -n "$(image_id "${IMAGE[base]}")" && "$(cat "$CACHE/base.recipe" 2>/dev/null)" == "$BASE_RECIPE" ]]; then
    return 0
  fi
  local t0 tar="$CACHE/base.tmp.tar"   # mmdebstrap picks the format from the extension
  t0=$(date +%s.%N)
  export APT_CLEAN='DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";'
  log "making debian:bookworm-slim with mmdebstrap from $DEBIAN_MIRROR (~1 min)"
  # what the official slim image does: merged /usr by a hook (not the usrmerge package, which
  # pulls in perl), no docs, man pages or locales, and apt keeps no .debs or package caches
  mmdebstrap --variant=minbase --quiet --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --customize-hook='printf "%s\n" "$APT_CLEAN" >"$1/etc/apt/apt.conf.d/docker-clean"' \
    --customize-hook='echo "Acquire::Languages \"none\";" >"$1/etc/apt/apt.conf.d/docker-no-languages"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    bookworm "$tar" \
    "deb $DEBIAN_MIRROR bookworm main" "deb $DEBIAN_MIRROR bookworm-updates main" \
    "deb $DEBIAN_SECURITY bookworm-security main" >"$CACHE/base.log" 2>&1 \
    || { rm -f "$tar"; tail -n 30 "$CACHE/base.log" >&2; die "mmdebstrap failed (log: $CACHE/base.log)"; }
  pod import --quiet "$tar" "${IMAGE[base]}" >/dev/null
  pod tag "${IMAGE[base]}" localhost/debian:bookworm-slim
  rm -f "$tar"
  pod image prune --force >/dev/null   # what was built on a previous base
  echo "$BASE_RECIPE" >"$CACHE/base.recipe"
  log "base image ready in $(elapsed "$t0")s"
}

podman_build() { # podman_build NAME CONTEXT [podman build args...]
  local name=$1 context=$2 t0; shift 2
  t0=$(date +%s.%N)
  pod build --quiet --pull=never --network=host -t "${IMAGE[$name]}" "$@" "$context" >/dev/null \
    || die "podman build of ${IMAGE[$name]} failed"
  save "$name"
  log "${IMAGE[$name]} ready in $(elapsed "$t0")s ($(size_of "$name") bytes)"
}

build_pause() {
  local key ctx
  key="$(cat "$SCRIPT_DIR/pause/pause.c" | sha256sum | cut -c1-16) static-1"
  [[ "$(cat "$CACHE/pause.key" 2>/dev/null)" == "$key" && -s "$CACHE/pause.tar" ]] && return 0
  ctx="$(mktemp -d)"
  cc -std=c11 -Wall -Wextra -Werror -Os -static -s -o "$ctx/pause" "$SCRIPT_DIR/pause/pause.c" \
    || { rm -rf "$ctx"; die "could not build hack/pause/pause.c statically (needs libc6-dev)"; }
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$ctx/Containerfile"
  podman_build pause "$ctx" -f "$ctx/Containerfile"
  rm -rf "$ctx"
  echo "$key" >"$CACHE/pause.key"
}

build_tidemark() {
  build_base
  podman_build tidemark "$REPO_ROOT" -f "$REPO_ROOT/manifests/Dockerfile"
}

build_testapp() {
  build_base
  podman_build testapp "$SCRIPT_DIR/testapp" -f "$SCRIPT_DIR/testapp/Containerfile"
}

size_of() { pod image inspect --format '{{.Size}}' "${IMAGE[$1]}"; }

rebuild_tidemark() { # rebuild_tidemark edit|cold: see the header
  local mode=$1 ctx before t0 secs rc=0 made
  [[ $mode == edit || $mode == cold ]] || die "rebuild tidemark: edit or cold, not '$mode'"
  build_base
  # the committed tree (HEAD), so that files others are editing in this checkout cannot fail it
  ctx="$(mktemp -d)"
  git -C "$REPO_ROOT" archive HEAD -- $(awk '/^COPY / && !/--from/ {print $2}' "$REPO_ROOT/manifests/Dockerfile") \
    | tar -x -C "$ctx" || { rm -rf "$ctx"; die "rebuild: git archive HEAD of $REPO_ROOT failed"; }
  [[ $mode == cold ]] || printf '/* hack/image.sh rebuild %s */\n' "$(date +%s.%N)" >>"$ctx/controller/main.c"
  before="$(pod images -a -q --no-trunc | sort)"
  t0=$(date +%s.%N)
  pod build --pull=never --network=host -t localhost/tidemark/tidemark:rebuild \
    $([[ $mode == cold ]] && echo --no-cache) -f "$REPO_ROOT/manifests/Dockerfile" "$ctx" \
    >"$CACHE/rebuild.log" 2>&1 || rc=$?
  secs="$(elapsed "$t0")"
  rm -rf "$ctx"
  made="$(comm -13 <(echo "$before") <(pod images -a -q --no-trunc | sort))"
  if [[ -n "$made" ]]; then
    # shellcheck disable=SC2086 # one id a word
    pod rmi --force $made >/dev/null || log "warning: could not remove every image the rebuild made"
  fi
  ((rc == 0)) || { tail -n 20 "$CACHE/rebuild.log" >&2; die "podman build of localhost/tidemark/tidemark:rebuild ($mode) failed (log: $CACHE/rebuild.log)"; }
  echo "$secs"
}

build() {
  case $1 in
    base) build_base ;;
    pause) build_pause ;;
    tidemark) build_tidemark ;;
    testapp) build_testapp ;;
    *) die "unknown image '$1' (base, pause, tidemark, testapp)" ;;
  esac
}

load() { # load NAME: import NAME.tar into the node's containerd unless that very image is there
  local name=$1 have t0 rec="$STATE_ROOT/node/images/$1.id"
  t0=$(date +%s.%N)
  [[ -S "$STATE_ROOT/node/containerd/containerd.sock" ]] || die "no node running for $STATE_ROOT (hack/node.sh start)"
  have="$("$SCRIPT_DIR/node.sh" ctr images ls -q 2>/dev/null | grep -Fx "${IMAGE[$name]}" || true)"
  [[ -n "$have" && "$(cat "$rec" 2>/dev/null)" == "$(cat "$CACHE/$name.id")" ]] && return 0
  "$SCRIPT_DIR/node.sh" ctr images import "$CACHE/$name.tar" >/dev/null \
    || die "ctr could not import $CACHE/$name.tar"
  mkdir -p "$(dirname "$rec")"
  cp "$CACHE/$name.id" "$rec"
  log "loaded ${IMAGE[$name]} into the node in $(elapsed "$t0")s"
}

case "${1:-}" in
  base | pause | tidemark | testapp) setup; build "$1"; unlock ;;
  load)
    shift; (($#)) || die "load: name an image (pause, tidemark, testapp)"
    setup
    for n in "$@"; do build "$n"; done
    unlock   # builds done: let other runners build while this one imports
    for n in "$@"; do load "$n"; done ;;
  size) setup; size_of "${2:?size: name an image}"; unlock ;;
  rebuild)
    [[ "${2:-}" == tidemark ]] || die "rebuild: only tidemark can be rebuilt"
    setup; rebuild_tidemark "${3:-edit}"; unlock ;;
  *) echo "usage: $0 {base|pause|tidemark|testapp|load NAME...|size NAME|rebuild tidemark [edit|cold]}" >&2; exit 2 ;;
esac
