#!/usr/bin/env bash
# Builds tidemark (normal, ASan+UBSan, and Release with GCC and clang), starts a real PostgreSQL and a real
# Kubernetes control plane with a node (real pods, from images built here), runs every test but
# the benchmarks, and stops the servers again, also on failure.  Exit code 0 = everything passed.
#   hack/test.sh            the whole suite (what CI runs)
#   hack/test.sh -L unit    extra arguments go to both ctest runs
#   TM_BENCH=1 hack/test.sh runs the benchmarks (label bench) afterwards
# After the ctest runs, hack/fuzz.sh 5 runs every fuzz target for 5 s.
# The control plane binaries are cached in ~/.cache/tidemark (built once).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
start_ts=$(date +%s)

hack/deps.sh
command -v go >/dev/null 2>&1 || export PATH=/usr/local/go/bin:$PATH

# The cold Go build of the control plane is the long pole: run it beside the C builds.
# helm (the chart tests), promtool (the alert rules) and kstatus (Flux's health reading) build after it, from the
# k8s.io packages it has just compiled (cached in ~/.cache/tidemark: a warm run checks a stamp and builds nothing).
# Last the Argo Rollouts controller (e2e.rollout_argo_rollouts): cold ~6.5 min of CPU (18 min on 2 cores
# shared with 4 other builds), warm a stamp check (0.3 s).
cp_log=$(mktemp)
{ hack/controlplane.sh build && hack/helm.sh build && hack/promtool.sh build && hack/kstatus.sh build \
    && hack/argo-rollouts.sh build; } >"$cp_log" 2>&1 &
cp_pid=$!
# The test node's images build beside the C builds, cached in ~/.cache/tidemark/images (warm:
# podman's layer cache; the tidemark image recompiles only when the sources changed). pause
# (the node's sandbox) and testapp (the app every rollout e2e test runs, valgrind.e2e.* too) are
# quick and needed when the node starts; the tidemark image (node_pods, the in-cluster tests)
# builds after them (image.sh builds one at a time) and is only waited for before the e2e run.
apps_log=$(mktemp)
{ hack/image.sh pause && hack/image.sh testapp; } >"$apps_log" 2>&1 &
apps_pid=$!
tm_img_log=$(mktemp)
{ tail --pid="$apps_pid" -f /dev/null; hack/image.sh tidemark; } >"$tm_img_log" 2>&1 &
tm_img_pid=$!

jobs_n=$(nproc)
# The five C builds (normal, ASan, Release with gcc and clang, the fuzz targets) compile through
# ccache, its cache beside the other caches: a warm run recompiles only what changed.  CMake
# reads the launcher from the environment when it configures a new build directory.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/tidemark/ccache} CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
command -v ccache >/dev/null 2>&1 && export CMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER:-ccache}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTM_WERROR=ON >/dev/null
cmake --build build -j "$jobs_n"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTM_SANITIZE=ON -DTM_WERROR=ON >/dev/null
cmake --build build-asan -j "$jobs_n"
# The build packagers run: Release (-O3, NDEBUG) with GCC and with clang, every
# target, warnings as errors, so a warning only optimisation reveals fails CI
# rather than a user's build.  Compiled, not run (the tests run above).  These builds and the
# fuzz targets' (clang, libFuzzer) run beside the sanitizer build's tests, at the lowest
# priority: those mostly wait on pods and servers, and the builds take only the idle CPU.
late_builds() {
  local cc
  for cc in gcc clang; do
    CC=$cc cmake -S . -B "build-release-$cc" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTM_WERROR=ON >/dev/null
    cmake --build "build-release-$cc" -j "$jobs_n"
  done
  hack/fuzz.sh build
}

if ! wait "$cp_pid"; then
  cat "$cp_log" >&2
  echo "test.sh: building the control plane, helm, promtool, kstatus or Argo Rollouts failed" >&2
  exit 1
fi
cat "$cp_log"; rm -f "$cp_log"

cleanup() {
  hack/argo-rollouts.sh stop || true # e2e.rollout_argo_rollouts stops its own, unless it was killed
  hack/controlplane.sh stop || true
  hack/postgres.sh stop || true
}
trap cleanup EXIT
eval "$(hack/postgres.sh start)"
if ! wait "$apps_pid"; then
  cat "$apps_log" >&2
  echo "test.sh: building the pause or testapp image failed" >&2
  exit 1
fi
cat "$apps_log"; rm -f "$apps_log"
# The cluster has a node (kube-scheduler, kubelet, containerd: hack/node.sh), so the e2e tests'
# apps and the in-cluster controller run as real pods.
eval "$(TIDEMARK_NODE=1 hack/controlplane.sh start)"
export TIDEMARK_PG_URL TIDEMARK_PG_POD_HOST KUBECONFIG TIDEMARK_K8S_BIN
hack/image.sh load testapp
# the tidemark image goes into the node while the first ctest run goes on
tm_load_log=$(mktemp)
{ tail --pid="$tm_img_pid" -f /dev/null; hack/image.sh load tidemark; } >"$tm_load_log" 2>&1 &
tm_load_pid=$!

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ctest runs twice as many tests as there are cores: most e2e tests wait on pods, the API
# server or PostgreSQL.  The CPU-bound ones (valgrind's C test files, the compat suite's JVMs,
# the tests starting a cluster of their own) count as 2 (their PROCESSORS property,
# tests/CMakeLists.txt), so no more than the cores' worth of them run at once.
ctest_jobs=${TM_CTEST_JOBS:-$((jobs_n * 2))}
status=0
passed=0
failed=0
run_ctest() { # dir, then ctest args
  local dir=$1; shift
  local out
  out=$(mktemp)
  if ! ctest --test-dir "$dir" --output-on-failure -j "$ctest_jobs" "$@" 2>&1 | tee "$out"; then
    status=1
  fi
  grep -q 'tests failed out of' "$out" || status=1
  local total fail
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$out" | tail -1)
  fail=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$out" | tail -1)
  passed=$((passed + ${total:-0} - ${fail:-0}))
  failed=$((failed + ${fail:-0}))
  rm -f "$out"
}

# Normal build: unit, integration and their valgrind runs.
run_ctest build -L 'unit|integration|valgrind' "$@"
wait "$tm_img_pid" || true
if ! wait "$tm_load_pid"; then
  cat "$tm_img_log" "$tm_load_log" >&2
  echo "test.sh: building or loading the tidemark image failed (e2e.node_pods and the in-cluster tests will fail)" >&2
fi
cat "$tm_img_log" "$tm_load_log"; rm -f "$tm_img_log" "$tm_load_log"
late_log=$(mktemp)
( renice -n 19 -p "$BASHPID" >/dev/null; set -e; late_builds ) >"$late_log" 2>&1 &
late_pid=$!
# Sanitizer build: unit, integration and e2e (the e2e tests drive the ASan binary).
run_ctest build-asan -L 'unit|integration|e2e' "$@"
if ! wait "$late_pid"; then
  cat "$late_log" >&2
  echo "test.sh: the Release (gcc, clang) or fuzz build failed" >&2
  status=1
fi
rm -f "$late_log"
# A short libFuzzer run of every fuzz target (clang build in build-fuzz); each
# target counts as one test.  The long run is `hack/fuzz.sh 600`.
fuzz_out=$(mktemp)
if ! hack/fuzz.sh 5 2>&1 | tee "$fuzz_out"; then
  status=1
fi
fuzz_tally=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$fuzz_out" | tail -1)
if [ -n "$fuzz_tally" ]; then
  passed=$((passed + ${fuzz_tally% *}))
  failed=$((failed + ${fuzz_tally#* }))
else
  failed=$((failed + 1)) # the fuzz build itself failed
fi
rm -f "$fuzz_out"
if [ "${TM_BENCH:-0}" = 1 ]; then
  run_ctest build -L bench -j 1 "$@"
fi

echo "test.sh: took $(( $(date +%s) - start_ts ))s"
echo "$passed passed, $failed failed"
exit $status
