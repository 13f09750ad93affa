#!/usr/bin/env bash
# Every corpus set (../shared/corpus/SOURCES.tsv) has exactly one line in
# tests/compat/sets.tsv and in tests/compat/expected.tsv, and neither file
# names a set the corpus does not have: a set added to the corpus cannot go
# untested, and the expectations are about the corpus that is there.
set -uo pipefail
: "${TIDEMARK_SOURCE_DIR:?}"
. "$TIDEMARK_SOURCE_DIR/tests/compat/lib.sh"
[ -f "$compat_corpus/SOURCES.tsv" ] || { echo "FAIL: no corpus at $compat_corpus"; exit 1; }
names() { awk -F'\t' '!/^#/ && NF { print $1 }' "$1" | sort; }
corpus=$(awk -F'\t' 'NR > 1 && NF { print $1 }' "$compat_corpus/SOURCES.tsv" | sort)
rc=0
for f in sets.tsv expected.tsv; do
  got=$(names "$compat_dir/$f")
  if [ "$got" != "$corpus" ]; then
    echo "FAIL: tests/compat/$f does not list exactly the corpus sets (< corpus, > $f):"
    diff <(echo "$corpus") <(echo "$got")
    rc=1
  fi
  dup=$(echo "$got" | uniq -d)
  [ -z "$dup" ] || { echo "FAIL: tests/compat/$f lists twice: $dup"; rc=1; }
done
bad=$(awk -F'\t' '!/^#/ && NF && $2 != "identical" && !($2 ~ /^(gap|reference-fails)$/ && $3 != "") { print $1 }' \
  "$compat_dir/expected.tsv")
[ -z "$bad" ] || { echo "FAIL: expected.tsv: status must be identical, or gap/reference-fails with a reason: $bad"; rc=1; }
for d in "$compat_corpus"/*/; do
  s=$(basename "$d")
  grep -qxF -- "$s" <<<"$corpus" || { echo "FAIL: corpus folder $s is not in SOURCES.tsv"; rc=1; }
done
[ "$rc" -eq 0 ] && echo "PASS: $(echo "$corpus" | wc -l) corpus sets, each with settings and an expectation"
exit "$rc"
