#!/usr/bin/env bash
# tidemark tests/valgrind_run.sh — runs one test script with every `tidemark` it starts (CLI
# runs and the controller) under valgrind, and fails when any of them reports an error or a
# leak.  The script gets TIDEMARK_BIN pointing at a wrapper that execs valgrind with the real
# binary (same pid, same exit code unless valgrind found something: then 99), each process
# writing its report to its own log.  After the script ends every report is read:
#   - "ERROR SUMMARY: N errors" with N > 0: the test fails and the report is printed;
#   - no summary at all: that process was killed (kill -9 is part of several fault tests),
#     which proves nothing either way; the count is printed.
# usage: valgrind_run.sh SCRIPT [ARGS...]   (env: TIDEMARK_BIN, VALGRIND, TIDEMARK_SOURCE_DIR)
set -uo pipefail
script=${1:?usage: valgrind_run.sh SCRIPT [ARGS...]}
shift
real_bin=${TIDEMARK_BIN:?TIDEMARK_BIN must name the tidemark binary}
valgrind_bin=${VALGRIND:-valgrind}
src=${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

dir="$(mktemp -d /tmp/tidemark-valgrind.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
cat >"$dir/tidemark" <<EOF
#!/bin/sh
exec "$valgrind_bin" --log-file="$dir/vg.%p.log" --error-exitcode=99 --leak-check=full \\
  --errors-for-leak-kinds=definite,indirect --suppressions="$src/tests/valgrind.supp" \\
  "$real_bin" "\$@"
EOF
chmod +x "$dir/tidemark"

# every wait_for / wait_for_output / wait_for_phase waits 3 times as long (tests/lib/common.sh):
# a controller under valgrind lists its caches and reconciles several times slower, more so
# beside other tests
TM_WAIT_SCALE=${TM_WAIT_SCALE:-3} TIDEMARK_BIN="$dir/tidemark" bash "$script" "$@"
rc=$?

runs=0 clean=0 unfinished=0 bad=0
for f in "$dir"/vg.*.log; do
  [[ -e "$f" ]] || continue
  runs=$((runs + 1))
  summary="$(grep -E "ERROR SUMMARY: [0-9]+ errors" "$f" | tail -n 1)"
  if [[ -z "$summary" ]]; then
    unfinished=$((unfinished + 1))
  elif [[ "$summary" =~ "ERROR SUMMARY: 0 errors" ]]; then
    clean=$((clean + 1))
  else
    bad=$((bad + 1))
    # the command line may carry a database URL: its password is not printed
    sed -E 's#(://[^:/@ ]*:)[^@ ]*@#\1***@#g' "$f" | head -n 120 >&2
  fi
done
echo "valgrind_run: $runs tidemark processes: $clean clean, $bad with errors, $unfinished killed before a report" >&2
if [[ $bad -gt 0 ]]; then
  exit 1
fi
if [[ $rc -eq 0 && $clean -eq 0 ]]; then
  echo "valgrind_run: no tidemark process ran to completion under valgrind: this run proves nothing" >&2
  exit 1
fi
exit "$rc"
