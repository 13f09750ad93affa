#!/usr/bin/env bash
# tidemark tests/unit/argocd_health.sh — the Argo CD health checks in
# manifests/argocd/ give the expected health for every case in their health_test.yaml
# (objects captured from the real controller, one per phase), run by a Lua 5.1
# interpreter as Argo CD's gopher-lua would; and manifests/argocd/argocd-cm-patch.yaml
# carries exactly those scripts. Needs lua5.1 (or lua5.4/5.3) and lyaml (Debian:
# lua5.1 lua-yaml); exits 77 (ctest SKIP) when they are absent.
# `tests/unit/argocd_health.sh --write` regenerates the argocd-cm patch from the .lua files.
set -euo pipefail
root="${TIDEMARK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
lua=""
for l in lua5.1 lua5.4 lua5.3; do
  if command -v "$l" >/dev/null && "$l" -e 'require("lyaml")' 2>/dev/null; then lua=$l; break; fi
done
if [[ -z "$lua" ]]; then
  echo "SKIP: no Lua interpreter with lyaml (apt-get install lua5.1 lua-yaml)" >&2
  exit 77
fi
dirs=("$root"/manifests/argocd/resource_customizations/tidemark.dev/*/)
(( ${#dirs[@]} == 3 )) || { echo "want 3 kinds under manifests/argocd/resource_customizations/tidemark.dev, found ${#dirs[@]}" >&2; exit 1; }
dirs=("${dirs[@]%/}")
write=()
[[ "${1:-}" == --write ]] && write=(--write)
exec "$lua" "$root/tests/unit/argocd_health.lua" "${write[@]}" "$root/manifests/argocd/argocd-cm-patch.yaml" "${dirs[@]}"
