# shellcheck shell=bash
# tidemark tests/lib/cli.sh — running the tidemark CLI in the integration scripts.
#
#   cli_test_setup PREFIX      what a CLI integration script starts with: TIDEMARK_BIN and
#                              PostgreSQL present, a work folder WORK and a database
#                              PREFIX_<pid> (DB, DB_URL), both removed at exit
#   run_cli CODE ARGS...       run `tidemark ARGS`; stdout in $out, stderr in $err (and in
#                              $WORK/err); soft_fail unless it exits CODE (the message shows
#                              the arguments with DB_URL replaced by URL, and the stderr)
# Needs: TIDEMARK_BIN, TIDEMARK_PG_URL; psql.

[[ -n "${TM_LIB_CLI_LOADED:-}" ]] && return 0
TM_LIB_CLI_LOADED=1
source "$(dirname "${BASH_SOURCE[0]}")/db.sh"

cli_test_setup() {
  require_tidemark
  require_postgres
  new_work_dir
  new_database "${1}_$$"
}

run_cli() {
  local want=$1 got args; shift
  out=$("$TIDEMARK_BIN" "$@" 2>"$WORK/err"); got=$?
  err=$(cat "$WORK/err")
  args="$*"
  [ "$got" = "$want" ] || soft_fail "tidemark ${args//${DB_URL:-}/URL}: exit $got, want $want; stderr: $err"
}
