# shellcheck shell=bash
# tidemark tests/e2e/lib.sh — kept so scripts that still source it work: the helpers live in
# tests/lib/ (common.sh: log, fail, wait_for...; kube.sh: k, CRDs, namespaces, pods Ready).
# New tests source tests/lib/*.sh directly.  Not a test (CMake skips lib.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/kube.sh"
