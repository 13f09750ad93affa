#!/usr/bin/env bash
# tidemark hack/helm.sh — owns the `helm` binary the chart tests use (manifests/chart/tidemark).
#
# Why: Helm is not packaged in Debian and nothing prebuilt can be downloaded here, so, like
# the control plane (hack/controlplane.sh), it is built from Go modules with the same Go
# toolchain, module cache and build cache.  helm.sh/helm/v4 is built with its own go.mod
# and go.sum (`go install MODULE@VERSION`: the exact dependency versions upstream tested,
# checked against the checksum database).  Helm 4 rather than 3: it is the current major,
# and v4.3.2 requires k8s.io/* v0.37.2 like the control plane (the last v3, v3.21.4, brings
# v0.36.2), so the two builds share compiled packages.  Measured on 2 busy cores: 304 s
# with the control plane's build cache warm; then a stamp check, ~0.05 s.
#
# Subcommands:
#   build   build helm into ${XDG_CACHE_HOME:-$HOME/.cache}/tidemark/helm-<version>/bin
#           (skips when the binary and its build stamp are there)
#   path    print the absolute path of the built helm binary; fails, saying to run
#           `hack/helm.sh build`, when it is not built (tests call this: never a cold build)
set -euo pipefail

HELM_MODULE=helm.sh/helm/v4
HELM_VERSION=v4.3.2
CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/tidemark/helm-${HELM_VERSION}"
BIN_DIR="$CACHE_DIR/bin"

log() { printf 'helm.sh: %s\n' "$*" >&2; }
die() { printf 'helm.sh: ERROR: %s\n' "$*" >&2; exit 1; }

stamp_value() {
  printf '%s@%s recipe=1 (go install, -trimpath, -s -w, version ldflags)\n' "$HELM_MODULE" "$HELM_VERSION"
  go env GOVERSION GOOS GOARCH
}

up_to_date() {
  [[ -x "$BIN_DIR/helm" && -f "$CACHE_DIR/stamp" && "$(cat "$CACHE_DIR/stamp")" == "$(stamp_value)" ]]
}

cmd_build() {
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null 2>&1 || die "go not found (need Go >= 1.26)"
  mkdir -p "$CACHE_DIR"
  # one builder at a time (test.sh and a test may ask at once)
  exec 8>"$CACHE_DIR/build.lock"
  flock -w 1200 8 || die "another build has held $CACHE_DIR/build.lock for 20 min"
  if up_to_date; then log "helm $HELM_VERSION up to date in $BIN_DIR"; exec 8>&-; return 0; fi
  local tmp="$CACHE_DIR/bin.tmp.$$" t0 v=internal/version rc=0
  rm -rf "$tmp"; mkdir -p "$tmp"
  t0=$(date +%s)
  log "building $HELM_MODULE@$HELM_VERSION into $BIN_DIR (cold: a few minutes; warm Go cache: seconds)"
  # -trimpath like the control plane build, so both share the Go build cache
  GOBIN="$tmp" GOFLAGS="-mod=readonly ${GOFLAGS:-}" go install -trimpath \
    -ldflags="-s -w -X $HELM_MODULE/$v.version=$HELM_VERSION -X $HELM_MODULE/$v.gitTreeState=clean" \
    "$HELM_MODULE/cmd/helm@$HELM_VERSION" >"$CACHE_DIR/build.log" 2>&1 8>&- || rc=$?
  if (( rc != 0 )) || [[ ! -x "$tmp/helm" ]]; then
    tail -n 40 "$CACHE_DIR/build.log" >&2 || true
    rm -rf "$tmp"; die "go install $HELM_MODULE/cmd/helm@$HELM_VERSION failed (rc=$rc); log: $CACHE_DIR/build.log"
  fi
  rm -rf "$BIN_DIR"
  mv "$tmp" "$BIN_DIR"
  stamp_value >"$CACHE_DIR/stamp"
  log "built $("$BIN_DIR/helm" version --short) in $(( $(date +%s) - t0 ))s"
  exec 8>&-
}

case "${1:-}" in
  build) cmd_build ;;
  path)
    command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
    up_to_date || die "helm $HELM_VERSION is not built (or was built by another Go): run hack/helm.sh build"
    printf '%s\n' "$BIN_DIR/helm" ;;
  *) echo "usage: $0 {build|path}" >&2; exit 2 ;;
esac
