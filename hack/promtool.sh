#!/usr/bin/env bash
# tidemark hack/promtool.sh — owns the `promtool` binary that checks and unit-tests
# manifests/prometheus/ (promtool check rules, promtool test rules).
#
# Why: promtool is not in Debian and nothing prebuilt may be downloaded, so it is built
# from Go modules (hack/promtool/go.mod pins github.com/prometheus/prometheus) the way
# hack/controlplane.sh builds Kubernetes: the same Go settings (default GOPATH/GOCACHE,
# GOFLAGS=-mod=readonly plus the caller's GOFLAGS, -trimpath, -s -w), into a cache outside
# the build tree keyed by the Prometheus version, with a stamp over go.mod/go.sum and the
# Go version so a bump rebuilds. Built with -tags remove_all_sd: promtool's rule commands
# need no service-discovery plugin, and leaving the cloud SDKs out roughly halves a cold
# build.
#
# Subcommands:
#   build   build promtool into ${XDG_CACHE_HOME:-$HOME/.cache}/tidemark/promtool-<version>/bin
#           (a no-op when up to date: one stamp comparison, no go command run)
#   path    build if needed, then print the binary's path (for `promtool="$(hack/promtool.sh path)"`)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD_DIR="$SCRIPT_DIR/promtool"

PROM_VERSION="$(awk '$1=="github.com/prometheus/prometheus" && $2 ~ /^v/ {print $2; exit}' "$MOD_DIR/go.mod")"
[[ -n "$PROM_VERSION" ]] || { echo "promtool.sh: cannot find github.com/prometheus/prometheus in $MOD_DIR/go.mod" >&2; exit 1; }
CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/tidemark/promtool-${PROM_VERSION}"
BIN="$CACHE_DIR/bin/promtool"
TAGS="remove_all_sd"

log() { printf 'promtool: %s\n' "$*" >&2; }
die() { printf 'promtool: ERROR: %s\n' "$*" >&2; exit 1; }

# Everything the binary depends on besides the module cache; no go command (kept cheap).
stamp_value() {
  {
    echo "prometheus=$PROM_VERSION recipe=1 (-trimpath, -s -w, -tags $TAGS)"
    cat "$MOD_DIR/go.mod" "$MOD_DIR/go.sum"
    command -v go >/dev/null 2>&1 && readlink -f "$(command -v go)"
    cat "$(dirname "$(readlink -f "$(command -v go)")")/../VERSION" 2>/dev/null || true
  } | sha256sum | awk '{print $1}'
}

up_to_date() {
  [[ -x "$BIN" && -f "$CACHE_DIR/stamp" && "$(cat "$CACHE_DIR/stamp")" == "$(stamp_value)" ]]
}

cmd_build() {
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null 2>&1 || die "go not found (need Go >= 1.26; see hack/deps.sh)"
  up_to_date && return 0
  mkdir -p "$CACHE_DIR"
  # one builder at a time (parallel ctest runs may all ask for it)
  exec 8>"$CACHE_DIR/build.lock"
  flock -w 1800 8 || die "another build has held $CACHE_DIR/build.lock for 30 min"
  if up_to_date; then exec 8>&-; return 0; fi
  local tmp="$CACHE_DIR/bin.tmp.$$" t0 rc=0
  rm -rf "$tmp"; mkdir -p "$tmp"
  t0=$(date +%s)
  log "building promtool $PROM_VERSION from Go modules into $CACHE_DIR/bin (cold: a few minutes)"
  ( cd "$MOD_DIR" && exec env GOFLAGS="-mod=readonly ${GOFLAGS:-}" \
      go build -trimpath -tags "$TAGS" -ldflags="-s -w" -o "$tmp/promtool" \
      github.com/prometheus/prometheus/cmd/promtool ) >"$CACHE_DIR/build.log" 2>&1 8>&- || rc=$?
  if (( rc != 0 )); then
    tail -n 40 "$CACHE_DIR/build.log" >&2 || true
    rm -rf "$tmp"; die "go build failed (rc=$rc); full log: $CACHE_DIR/build.log"
  fi
  "$tmp/promtool" --version >/dev/null 2>&1 || { rm -rf "$tmp"; die "the built promtool does not run"; }
  rm -rf "$CACHE_DIR/bin"
  mv "$tmp" "$CACHE_DIR/bin"
  stamp_value >"$CACHE_DIR/stamp"
  log "built in $(( $(date +%s) - t0 ))s"
  exec 8>&-
}

case "${1:-}" in
  build) cmd_build ;;
  path) cmd_build; echo "$BIN" ;;
  *) echo "usage: $0 build|path" >&2; exit 2 ;;
esac
