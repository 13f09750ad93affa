#!/usr/bin/env bash
# tidemark manifests/samples/render.sh — fills the samples' placeholders and prints them.
#
# The samples carry five placeholders: ${PGHOST} ${PGPORT} ${PGDATABASE} ${PGUSER}
# ${PGPASSWORD}.  They come from the environment variables of the same names; any that
# is unset is taken from TIDEMARK_PG_URL (postgresql://user:password@host:port/db, what
# `eval "$(hack/postgres.sh start)"` exports); PGDATABASE defaults to "orders" (the
# database itself must exist: createdb it first).  Only these five names are replaced
# (like `envsubst '$PGHOST ...'`), so any other `$` in the files is left alone.
#
# Usage:
#   manifests/samples/render.sh            print all samples as one multi-document YAML
#   manifests/samples/render.sh -o DIR     write each rendered file into DIR
# e.g.  manifests/samples/render.sh | kubectl -n demo apply -f -
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out=""
if [[ "${1:-}" == "-o" ]]; then out="${2:?usage: render.sh [-o DIR]}"; fi

url="${TIDEMARK_PG_URL:-}"
if [[ -n "$url" ]]; then
  rest="${url#*://}"                      # user:password@host:port/db?params
  userinfo="${rest%%@*}"
  hostpart="${rest#*@}"; hostpart="${hostpart%%/*}"
  dbpart="${rest#*@}"; dbpart="${dbpart#*/}"; dbpart="${dbpart%%\?*}"
  : "${PGUSER:=${userinfo%%:*}}"
  : "${PGPASSWORD:=${userinfo#*:}}"
  : "${PGHOST:=${hostpart%:*}}"
  : "${PGPORT:=${hostpart##*:}}"
fi
: "${PGDATABASE:=orders}"
for v in PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE; do
  [[ -n "${!v:-}" ]] || { echo "render.sh: $v is not set and TIDEMARK_PG_URL does not give it" >&2; exit 1; }
done
[[ "$PGPORT" =~ ^[0-9]+$ ]] || { echo "render.sh: PGPORT must be a number, got '$PGPORT'" >&2; exit 1; }

# Escape a value for the replacement side of a sed s|||: backslash, '|' and '&'.
esc() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }
script="s|\${PGHOST}|$(esc "$PGHOST")|g;s|\${PGPORT}|$(esc "$PGPORT")|g;s|\${PGDATABASE}|$(esc "$PGDATABASE")|g;s|\${PGUSER}|$(esc "$PGUSER")|g;s|\${PGPASSWORD}|$(esc "$PGPASSWORD")|g"

[[ -z "$out" ]] || mkdir -p "$out"
first=1
for f in "$here"/*.yaml; do
  if [[ -n "$out" ]]; then
    sed -e "$script" "$f" >"$out/$(basename "$f")"
  else
    (( first )) || printf -- '---\n'
    first=0
    sed -e "$script" "$f"
  fi
done
