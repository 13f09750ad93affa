#!/usr/bin/env bash
# tidemark tests/unit/dockerfile_runtime_libs.sh — every shared library the
# tidemark binary links (its NEEDED entries) is installed by the runtime stage
# of manifests/Dockerfile, and every -dev package the build needs by its build
# stage.  The image cannot be built on this machine (no container engine), so
# this is what keeps a new library (libxml2 came with the Liquibase XML reader)
# from being forgotten there.  The C library is the base image's.
set -euo pipefail
root="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
bin="${TIDEMARK_BIN:?TIDEMARK_BIN: run through ctest}"
df="$root/manifests/Dockerfile"
# the two apt-get install lists: build stage first, runtime stage second
build_pkgs=$(awk '/^FROM .* AS build/{s=1} /^FROM /&&!/AS build/{s=2} s==1' "$df" | tr ' \\' '\n\n')
run_pkgs=$(awk '/^FROM /&&!/AS build/{s=1} s==1' "$df" | tr ' \\' '\n\n')
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
