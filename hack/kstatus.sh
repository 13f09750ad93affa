#!/usr/bin/env bash
# tidemark hack/kstatus.sh — owns the `kstatus` classifier (hack/kstatus/main.go) the tests use
# to read DBRollouts, DBInstances and DBSchemas the way Flux does.
#
# Why: Flux's `wait: true` and `healthChecks` decide with sigs.k8s.io/cli-utils'
# kstatus status.Compute; the tests run that very library (pinned in hack/kstatus/go.mod)
# rather than a re-implementation. Built like promtool (hack/lib/gotool.sh) into a cache
# keyed by the cli-utils version; ~10 s with the module cache warm, then a stamp check.
#
# Subcommands:
#   build   build kstatus into ${XDG_CACHE_HOME:-$HOME/.cache}/tidemark/kstatus-<version>/bin
#           (a no-op when up to date)
#   path    build if needed, then print the binary's path
# Usage of the binary: objects (JSON or YAML, lists too) on stdin; one line per object
# "<status>\t<kind>/<namespace>/<name>\t<message>" on stdout.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MOD_DIR="$SCRIPT_DIR/kstatus"

log() { printf 'kstatus: %s\n' "$*" >&2; }
die() { printf 'kstatus: ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=hack/lib/gotool.sh
source "$SCRIPT_DIR/lib/gotool.sh"

VERSION="$(awk '$1=="sigs.k8s.io/cli-utils" && $2 ~ /^v/ {print $2; exit}' "$MOD_DIR/go.mod")"
[[ -n "$VERSION" ]] || die "cannot find sigs.k8s.io/cli-utils in $MOD_DIR/go.mod"
CACHE_DIR="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/tidemark/kstatus-${VERSION}"

case "${1:-}" in
  build) gotool_build "$MOD_DIR" "$CACHE_DIR" kstatus . ;;
  path) gotool_build "$MOD_DIR" "$CACHE_DIR" kstatus . && echo "$CACHE_DIR/bin/kstatus" ;;
  *) echo "usage: $0 build|path" >&2; exit 2 ;;
esac
