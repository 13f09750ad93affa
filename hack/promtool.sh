#!/usr/bin/env bash
# tidemark hack/promtool.sh — owns the `promtool` binary that checks and unit-tests
# manifests/prometheus/ (promtool check rules, promtool test rules).
#
# Why: promtool is not in Debian and nothing prebuilt may be downloaded, so it is built
# from Go modules (hack/promtool/go.mod pins github.com/prometheus/prometheus) the way
# hack/controlplane.sh builds Kubernetes, through hack/lib/gotool.sh (the same Go settings,
# a cache outside the build tree keyed by the Prometheus version, a stamp so a bump
# rebuilds). Built with -tags remove_all_sd: promtool's rule commands
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
# shellcheck source=hack/lib/gotool.sh
source "$SCRIPT_DIR/lib/gotool.sh"

cmd_build() {
  gotool_build "$MOD_DIR" "$CACHE_DIR" promtool github.com/prometheus/prometheus/cmd/promtool \
    "$TAGS" --version
}

case "${1:-}" in
  build) cmd_build ;;
  path) cmd_build; echo "$BIN" ;;
  *) echo "usage: $0 build|path" >&2; exit 2 ;;
esac
