#!/usr/bin/env bash
# Fetches and caches the reference tools the compatibility suite (tests/compat)
# compares tidemark with: Liquibase 4.33.0 (the last Apache-2.0 release; 5.x is
# not open-source licensed) and Flyway 13.12.2, each with the PostgreSQL JDBC
# driver, from Maven Central through Maven (`dependency:copy-dependencies` over
# the poms in tests/compat/{liquibase,flyway,spring}).  Also compiles the Java
# drivers of tests/compat (FlywayRun, LiquibaseRun, SpringRun).
#
#   hack/reference-tools.sh env     fetch if needed, print the exports:
#                                   TM_LIQUIBASE_CP  classpath for
#                                     liquibase.integration.commandline.LiquibaseCommandLine
#                                     and LiquibaseRun
#                                   TM_LIQUIBASE_SPRING_CP  the same plus Spring, for
#                                     SpringRun (SpringLiquibase: classpath: paths)
#                                   TM_FLYWAY_CP     classpath for FlywayRun
#   hack/reference-tools.sh fetch   fetch if needed, print nothing
#
# The cache lives outside the build tree, in ${XDG_CACHE_HOME:-~/.cache}/tidemark/
# reference-tools (jars and classes) and ~/.m2 (Maven's own), keyed by the
# hash of the poms and Java files: a warm run costs a hash and a stat, and
# starts no JVM.  Entries unused for two weeks are removed when a new one is
# made.  A lock makes concurrent callers (ctest -j) fetch once.
# Needs java (JDK 17, Debian's openjdk-17-jdk-headless) and mvn (hack/deps.sh).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
compat=$src/tests/compat
cache=${XDG_CACHE_HOME:-$HOME/.cache}/tidemark/reference-tools
mkdir -p "$cache"

key() { # the inputs that decide a cache entry's content
  cat "$compat"/*/pom.xml "$compat"/*.java | sha256sum | cut -c1-16
}

fetch_into() { # pom, dest dir
  rm -rf "$2.tmp"
  if ! mvn -q -B -f "$1" dependency:copy-dependencies -DoutputDirectory="$2.tmp" >"$2.log" 2>&1; then
    echo "reference-tools: mvn dependency:copy-dependencies -f $1 failed:" >&2
    grep -E 'ERROR' "$2.log" | head -5 >&2
    exit 1
  fi
  rm -rf "$2" && mv "$2.tmp" "$2"
}

fetch() {
  local k dir
  k=$(key)
  dir=$cache/$k
  if [ -f "$dir/ok" ]; then
    touch "$dir/ok" # last use, for the pruning below
    echo "$dir"
    return
  fi
  exec 9>"$cache/lock"
  flock 9
  if [ ! -f "$dir/ok" ]; then
    command -v java >/dev/null && command -v javac >/dev/null && command -v mvn >/dev/null || {
      echo "reference-tools: needs java, javac and mvn (run hack/deps.sh)" >&2; exit 1; }
    mkdir -p "$dir"
    fetch_into "$compat/liquibase/pom.xml" "$dir/liquibase-4.33.0"
    fetch_into "$compat/flyway/pom.xml" "$dir/flyway-13.12.2"
    fetch_into "$compat/spring/pom.xml" "$dir/spring"
    mkdir -p "$dir/classes"
    javac -nowarn -d "$dir/classes" -cp "$dir/flyway-13.12.2/*" "$compat/FlywayRun.java"
    javac -nowarn -d "$dir/classes" -cp "$dir/liquibase-4.33.0/*" "$compat/LiquibaseRun.java"
    javac -nowarn -d "$dir/classes" -cp "$dir/liquibase-4.33.0/*:$dir/spring/*" "$compat/SpringRun.java"
    touch "$dir/ok"
    # entries of older poms/drivers unused for two weeks
    find "$cache" -mindepth 2 -maxdepth 2 -name ok -mtime +14 -printf '%h\n' | xargs -r rm -rf
  fi
  flock -u 9
  echo "$dir"
}

case "${1:-}" in
  env)
    dir=$(fetch)
    echo "export TM_LIQUIBASE_CP='$dir/liquibase-4.33.0/*:$dir/classes'"
    echo "export TM_LIQUIBASE_SPRING_CP='$dir/liquibase-4.33.0/*:$dir/spring/*:$dir/classes'"
    echo "export TM_FLYWAY_CP='$dir/flyway-13.12.2/*:$dir/classes'"
    ;;
  fetch) fetch >/dev/null ;;
  *) echo "usage: $0 env|fetch" >&2; exit 2 ;;
esac
