# shellcheck shell=bash
# tidemark hack/lib/gotool.sh — owns how a small tool with its own go.mod under hack/ is
# built into the user cache (sourced by hack/kstatus.sh and hack/promtool.sh; not run on its
# own).  hack/helm.sh builds differently (`go install module@version`, no go.mod of ours).
#
# The recipe, in one place: the default
# GOPATH/GOCACHE (so the module and build caches are shared with the control plane and helm
# builds), GOFLAGS=-mod=readonly plus the caller's GOFLAGS, -trimpath, -s -w; output into
# ${XDG_CACHE_HOME:-$HOME/.cache}/tidemark/<name>-<version>/bin, keyed by a stamp over
# go.mod, go.sum, the tool's Go sources and the Go toolchain, so any change rebuilds and an
# unchanged tool costs one hash (no go command). One builder at a time (flock): parallel
# ctest runs may all ask at once.
#
# The sourcing script defines log and die.

gotool_find_go() {
  command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null 2>&1 || die "go not found (need Go >= 1.26; see hack/deps.sh)"
}

# gotool_stamp MOD_DIR [TAGS] [LDFLAGS]: everything the binary depends on besides the module cache.
gotool_stamp() {
  {
    echo "recipe=1 (-trimpath, -s -w)"
    [[ -z "${2:-}" ]] || echo "tags=$2"
    [[ -z "${3:-}" ]] || echo "ldflags=$3"
    [[ -z "${GOTOOLCHAIN:-}" ]] || echo "toolchain=$GOTOOLCHAIN"
    cat "$1/go.mod" "$1/go.sum"
    find "$1" -maxdepth 1 -name '*.go' -print0 | sort -z | xargs -0 -r cat
    readlink -f "$(command -v go)"
    cat "$(dirname "$(readlink -f "$(command -v go)")")/../VERSION" 2>/dev/null || true
  } | sha256sum | awk '{print $1}'
}

# gotool_build MOD_DIR CACHE_DIR NAME PACKAGE [TAGS] [CHECK_ARG] [LDFLAGS]: builds PACKAGE (as
# seen from MOD_DIR, with build tags TAGS and extra linker flags LDFLAGS, such as -X version
# stamps) into CACHE_DIR/bin/NAME unless its stamp is current; a fresh binary must exit 0 when
# run with CHECK_ARG (when given) before it replaces the cached one.  Dies with the log's tail
# on failure.  A GOTOOLCHAIN the caller exports (a module needing a newer Go than the
# machine's) is used and is part of the stamp.
gotool_build() {
  local mod="$1" cache="$2" name="$3" pkg="$4" tags="${5:-}" check="${6:-}" ldflags="${7:-}"
  gotool_find_go
  local stamp; stamp="$(gotool_stamp "$mod" "$tags" "$ldflags")"
  [[ -x "$cache/bin/$name" && -f "$cache/stamp" && "$(cat "$cache/stamp")" == "$stamp" ]] && return 0
  mkdir -p "$cache"
  exec 8>"$cache/build.lock"
  flock -w 1800 8 || die "another build has held $cache/build.lock for 30 min"
  if [[ -x "$cache/bin/$name" && -f "$cache/stamp" && "$(cat "$cache/stamp")" == "$stamp" ]]; then
    exec 8>&-; return 0
  fi
  local tmp="$cache/bin.tmp.$$" t0 rc=0
  rm -rf "$tmp"; mkdir -p "$tmp"
  t0=$(date +%s)
  log "building $name from $mod into $cache/bin"
  ( cd "$mod" && exec env GOFLAGS="-mod=readonly ${GOFLAGS:-}" \
      go build -trimpath ${tags:+-tags "$tags"} -ldflags="-s -w${ldflags:+ $ldflags}" -o "$tmp/$name" "$pkg" ) \
      >"$cache/build.log" 2>&1 8>&- || rc=$?
  if (( rc != 0 )) || [[ ! -x "$tmp/$name" ]]; then
    tail -n 40 "$cache/build.log" >&2 || true
    rm -rf "$tmp"; exec 8>&-; die "go build failed (rc=$rc); full log: $cache/build.log"
  fi
  if [[ -n "$check" ]] && ! "$tmp/$name" "$check" >/dev/null 2>&1 8>&-; then
    rm -rf "$tmp"; exec 8>&-; die "the built $name does not run ($name $check failed)"
  fi
  rm -rf "$cache/bin"
  mv "$tmp" "$cache/bin"
  echo "$stamp" >"$cache/stamp"
  log "built in $(( $(date +%s) - t0 ))s"
  exec 8>&-
}
