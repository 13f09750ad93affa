# shellcheck shell=bash
# tidemark tests/lib/git.sh — Git repositories for the source tests: a repository in a work
# folder and a real smart-HTTP server with Basic auth in front of it
# (tests/integration/source_git_http.py: git http-backend), stopped at exit.
#
#   git_in DIR ARGS...         git in DIR as a fixed test author (no signing)
#   start_git_http DIR USER PASSWORD TOKEN   serve the repositories under DIR on a loopback
#                              port (GIT_HTTP_PORT; pid GIT_HTTP_PID)

[[ -n "${TM_LIB_GIT_LOADED:-}" ]] && return 0
TM_LIB_GIT_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

git_in() { local dir=$1; shift; git -C "$dir" -c user.name=e2e -c user.email=e2e@example.com -c commit.gpgsign=false "$@"; }

start_git_http() {
  local out
  out="$(mktemp)"
  python3 "$ROOT/tests/integration/source_git_http.py" "$@" >"$out" &
  GIT_HTTP_PID=$!
  at_exit 'kill "$GIT_HTTP_PID" 2>/dev/null; wait "$GIT_HTTP_PID" 2>/dev/null'
  wait_for -t 20 grep -q '^port ' "$out" || { rm -f "$out"; fail "git http server did not start"; }
  GIT_HTTP_PORT="$(sed -n 's/^port //p' "$out")"
  rm -f "$out"
}
