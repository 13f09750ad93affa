#!/usr/bin/env bash
# tidemark tests/unit/cli_version.sh — `tidemark version` and `--version` print the project version and the
# git revision CMake computed: in this checkout a revision git knows (describe output, "-dirty" allowed); in a
# tree without .git (a release tarball) the build still configures and the revision reads "unknown".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
require_tidemark
require_cmd cmake
BIN=$TIDEMARK_BIN
SRC=${TIDEMARK_SOURCE_DIR:?}
new_work_dir

v1=$("$BIN" version) || fail "tidemark version: exit $?"
v2=$("$BIN" --version) || fail "tidemark --version: exit $?"
[[ $v1 == "$v2" ]] || fail "version and --version differ: '$v1' vs '$v2'"
want=$(sed -n 's/^project(tidemark VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[[ $v1 =~ ^tidemark\ ${want//./\\.}\ \(revision\ ([^ ]+)\)$ ]] || fail "unexpected version line: '$v1' (want tidemark $want (revision R))"
rev=${BASH_REMATCH[1]}

if [[ -e $SRC/.git ]] && command -v git >/dev/null; then
  [[ $rev != unknown ]] || fail "a checkout should print its git revision, got unknown"
  commit=${rev%-dirty}
  [[ $commit =~ -g([0-9a-f]+)$ ]] && commit=${BASH_REMATCH[1]} # tag-N-gHASH
  git -C "$SRC" cat-file -e "$commit^{commit}" 2>/dev/null || fail "revision '$rev' is not a commit of $SRC"
fi

# A tree without .git (what a release tarball holds) configures, and its revision is "unknown".
mkdir -p "$WORK/src"
cp -r "$SRC/CMakeLists.txt" "$SRC/controller" "$SRC/reconcilers" "$SRC/tests" "$WORK/src/"
[[ -d $SRC/cmake ]] && cp -r "$SRC/cmake" "$WORK/src/"
cmake -S "$WORK/src" -B "$WORK/build" -G Ninja >"$WORK/cmake.log" 2>&1 || fail "configure without .git failed: $(tail -20 "$WORK/cmake.log")"
grep -q 'TM_GIT_REVISION=\\"unknown\\"' "$WORK/build/build.ninja" \
  || fail "without .git the revision should be unknown: $(grep -o 'TM_GIT_REVISION=[^ ]*' "$WORK/build/build.ninja" | head -1)"
echo "cli_version: ok"
