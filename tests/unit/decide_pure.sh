#!/usr/bin/env bash
# tidemark tests/unit/decide_pure.sh — the decide files of the reconcilers (and the DBRollout
# transition table) stay pure: no header they include, directly or through another, comes
# from the runtime (controller/runtime/: manager, informers, proc), the API client
# (controller/kube/) or the database driver (pgx).  The preprocessor lists every header a file
# reaches (cc -MM), so an include added anywhere on the way fails here.  STYLE.md rule 8.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cc="${CC:-cc}"
require_cmd "$cc"

files=("$ROOT"/reconcilers/*_decide.c "$ROOT/reconcilers/dbrollout_table.c")
(( ${#files[@]} >= 4 )) || fail "expected the three decide files and the table, found ${files[*]}"
for f in "${files[@]}"; do
  deps="$("$cc" -MM -std=c11 -I"$ROOT/controller" -I"$ROOT" -isystem /usr/include/cjson "$f")" \
    || fail "$cc -MM $f failed"
  bad="$(tr ' \\' '\n\n' <<<"$deps" | grep -E '/controller/(runtime|kube)/|/pgx' || true)"
  [[ -z "$bad" ]] || fail "${f#"$ROOT"/} reaches runtime headers: $(echo $bad)"
  log "${f#"$ROOT"/}: $(tr ' \\' '\n\n' <<<"$deps" | grep -c '\.h$') headers, none from the runtime"
done
