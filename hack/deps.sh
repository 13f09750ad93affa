#!/usr/bin/env bash
# Installs what building and testing tidemark needs, from Debian's packages.
# Idempotent and quiet when everything is present.  Go (for the test control
# plane under hack/controlplane) must be on the machine already: Debian 12's
# golang-go is too old for Kubernetes, so we check its version and say so.
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl python3 openssl
  libcurl4-openssl-dev libcjson-dev libyaml-dev libxml2-dev libpq-dev libssl-dev
  postgresql postgresql-client
  valgrind clang libclang-rt-14-dev
  # tests/compat: real Liquibase/Flyway (hack/reference-tools.sh) and the PostGIS sets
  openjdk-17-jdk-headless maven postgresql-15-postgis-3
  # the test cluster's node (hack/node.sh) and its images (hack/image.sh)
  containerd runc containernetworking-plugins iptables podman mmdebstrap
  # manifests/argocd: the health checks run under Lua 5.1 (Argo CD's gopher-lua dialect)
  lua5.1 lua-yaml
  # tests/unit/cli_completion.sh loads `tidemark completion zsh` in a real zsh
  zsh
  # e2e tests read API objects as JSON (incluster_scenario, rollout_schema_gate, rollout_argo_rollouts)
  jq
  # hack/test.sh's five C builds reuse what an earlier run compiled (~/.cache/tidemark/ccache)
  ccache
)
# One dpkg-query for the whole list: when nothing is missing this is the only
# work done (no apt, no network), so hack/test.sh can call it on every run.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null |
  awk '/ install ok installed$/ {print $1}' || true)
missing=()
for p in "${pkgs[@]}"; do
  grep -qx "$p" <<<"$installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  for d in /usr/local/go/bin /usr/lib/go/bin "$HOME/go/bin"; do
    [ -x "$d/go" ] && export PATH="$d:$PATH" && break
  done
fi
if ! command -v go >/dev/null 2>&1; then
  echo "deps: Go is needed to build the test control plane (hack/controlplane); install Go >= 1.24" >&2
  exit 1
fi
