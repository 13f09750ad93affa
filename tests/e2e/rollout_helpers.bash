# shellcheck shell=bash
# tidemark tests/e2e/rollout_helpers.bash — kept so scripts that still source it (after
# lib.sh) work: the reconciler e2e set-up lives in tests/lib/rollout.sh.  The two names only
# this file had: sql (= q) and CLEANUP_PATHS (paths removed at exit, after everything else).
# New tests source tests/lib/rollout.sh and use q and at_exit.  Not a test (not *.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/rollout.sh"
sql() { q "$@"; }
CLEANUP_PATHS=()
at_exit '(( ${#CLEANUP_PATHS[@]} == 0 )) || rm -rf "${CLEANUP_PATHS[@]}"'
