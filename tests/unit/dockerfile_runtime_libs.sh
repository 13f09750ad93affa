#!/usr/bin/env bash
# tidemark tests/unit/dockerfile_runtime_libs.sh — every shared library the
# tidemark binary links (its NEEDED entries) is installed by the runtime stage
# of manifests/Dockerfile and not taken away again by its `dpkg --purge` or
# `dpkg --remove` (the lean runtime stage drops perl, git-man, openssl, ...
# with --force-depends), and every -dev package the build needs is installed
# by its build stage.
# A second, cheaper net than building the image (hack/image.sh tidemark,
# tests/e2e/node_pods.sh): a new library (libxml2 came with the Liquibase XML
# reader) is caught here in a second.  The C library is the base image's.
set -euo pipefail
root="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
bin="${TIDEMARK_BIN:?TIDEMARK_BIN: run through ctest}"
df="$root/manifests/Dockerfile"
# stage_words STAGE START: the words of STAGE (build or runtime) after each START up to the
# next "&&", one a line (RUN lines joined, so the lists may span lines)
stage_words() {
  awk -v want="$1" '/^FROM .* AS build/{s="build"; next} /^FROM /{s="runtime"; next} s==want' "$df" \
    | tr '\\\n' '  ' | sed 's/&&/\n/g' | sed -n "s/.*$2//p" | tr ' ' '\n' | grep -v '^-' | grep .
}
build_pkgs=$(stage_words build 'apt-get install')
run_pkgs=$(stage_words runtime 'apt-get install')
removed_pkgs=$(stage_words runtime 'dpkg --purge'; stage_words runtime 'dpkg --remove')
fail=0
for lib in $(readelf -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  case "$lib" in libasan* | libubsan* | liblsan* | libtsan*) continue ;; esac # sanitizer builds
  path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3}')
  [ -n "$path" ] || { echo "dockerfile_runtime_libs: $lib not found by ldd"; fail=1; continue; }
  pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)
  pkg=${pkg%%:*}
  [ -n "$pkg" ] || { echo "dockerfile_runtime_libs: no Debian package owns $path"; fail=1; continue; }
  [ "$pkg" = libc6 ] && continue
  if ! grep -qx -- "$pkg" <<<"$run_pkgs"; then
    echo "dockerfile_runtime_libs: $lib ($pkg) is not installed by the runtime stage of manifests/Dockerfile"
    fail=1
  fi
  if grep -qx -- "$pkg" <<<"$removed_pkgs"; then
    echo "dockerfile_runtime_libs: $lib ($pkg) is removed again by the runtime stage of manifests/Dockerfile"
    fail=1
  fi
done
# the -dev packages hack/deps.sh installs for the product's libraries
for dev in $(grep -o 'lib[a-z0-9.-]*-dev' "$root/hack/deps.sh" | sort -u); do
  case "$dev" in libclang-rt-*) continue ;; esac
  grep -qx -- "$dev" <<<"$build_pkgs" || {
    echo "dockerfile_runtime_libs: $dev (hack/deps.sh) is not installed by the build stage of manifests/Dockerfile"
    fail=1
  }
done
[ "$fail" -eq 0 ] && echo "dockerfile_runtime_libs: ok"
exit "$fail"
