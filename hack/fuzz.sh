#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/fuzz_*.c) for a while and fails if
# any of them crashes, leaks or trips ASan/UBSan.
#   hack/fuzz.sh            10 s per target (what hack/test.sh runs with 5)
#   hack/fuzz.sh 600        the long run
#   hack/fuzz.sh build      only build the targets (hack/test.sh builds them beside its tests)
#   FUZZ_JOBS=1 hack/fuzz.sh  one target at a time (default: as many as there are cores)
#   FUZZ_TARGETS="kubeconfig watch_framer" hack/fuzz.sh 60    only these
# Builds with clang in build-fuzz (-DTM_FUZZ=ON -DTM_SANITIZE=ON), only the
# fuzz_* targets.  Each target starts from a temporary copy of its checked-in
# corpus (tests/fuzz/corpus/<name>/), so new coverage inputs never pollute
# the repository; crash artifacts also go to a temporary folder.  A crash is
# printed as a hex dump with the command that reproduces it; save the input
# into the corpus once fixed, so the replay unit test keeps it.
# Prints one line per target, "fuzz: <name> passed|FAILED", and at the end
# "fuzz: N passed, N failed" (hack/test.sh adds these to its tally).
# Exit code 0 = no target failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

secs=${1:-10}
build_only=0
[ "$secs" = build ] && build_only=1 && secs=0
case "$secs" in ''|*[!0-9]*) echo "usage: hack/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac
rss_mb=${FUZZ_RSS_MB:-2048}
build=${FUZZ_BUILD_DIR:-build-fuzz}

command -v clang >/dev/null 2>&1 || { echo "fuzz.sh: clang not found (apt-get install clang)" >&2; exit 1; }

if [ -n "${FUZZ_TARGETS:-}" ]; then
  names=$FUZZ_TARGETS
else
  names=$(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi
targets=()
for n in $names; do targets+=("fuzz_$n"); done

CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTM_WERROR=ON \
  -DTM_FUZZ=ON -DTM_SANITIZE=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]}"
[ "$build_only" = 0 ] || exit 0

work=$(mktemp -d /tmp/tidemark-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# fuzz_one NAME: one target's run; its report goes to $work/NAME/out, and $work/NAME/ok is
# created when it passed
fuzz_one() {
  local n=$1 exe corpus art log runs cov keep a
  exe=$root/$build/tests/fuzz_$n
  corpus=$work/$n/corpus
  art=$work/$n/artifacts/
  mkdir -p "$corpus" "$art"
  if [ -d "tests/fuzz/corpus/$n" ]; then
    cp -R "tests/fuzz/corpus/$n/." "$corpus/"
  fi
  log=$work/$n/log
  echo "fuzz: $n for ${secs}s"
  if "$exe" -max_total_time="$secs" -rss_limit_mb="$rss_mb" -timeout=25 \
       -print_final_stats=1 -artifact_prefix="$art" "$corpus" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz: $n passed (${runs:-?} runs, ${cov:-cov: ?}, corpus $(ls "$corpus" | wc -l) inputs)"
    touch "$work/$n/ok"
  else
    echo "fuzz: $n FAILED"
    # The sanitizer report: from the first error banner on, bounded.
    grep -n -m1 -E '^==[0-9]+==ERROR|runtime error|^==[0-9]+== ERROR|deadly signal|Timeout|out-of-memory' "$log" >/dev/null &&
      sed -n '/==ERROR\|runtime error\|deadly signal\|Timeout\|out-of-memory/,$p' "$log" | head -80
    for a in "$art"*; do
      [ -f "$a" ] || continue
      keep=$root/$build/fuzz-artifacts/$n
      mkdir -p "$keep"
      cp "$a" "$keep/"
      echo "fuzz: $n crash input $keep/$(basename "$a") ($(wc -c <"$a") bytes):"
      od -A x -t x1z -v "$a" | head -64
      echo "fuzz: reproduce: $exe $keep/$(basename "$a")"
      echo "fuzz: once fixed, keep it: cp $keep/$(basename "$a") tests/fuzz/corpus/$n/"
    done
  fi
}

# The targets run FUZZ_JOBS at a time (default: one per core; each libFuzzer process is
# single-threaded), their reports printed in order.
jobs=${FUZZ_JOBS:-$(nproc)}
list=($names)
passed=0
failed=0
for ((i = 0; i < ${#list[@]}; i += jobs)); do
  batch=("${list[@]:i:jobs}")
  for n in "${batch[@]}"; do
    mkdir -p "$work/$n"
    fuzz_one "$n" >"$work/$n/out" 2>&1 &
  done
  wait
  for n in "${batch[@]}"; do
    cat "$work/$n/out"
    if [ -f "$work/$n/ok" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
