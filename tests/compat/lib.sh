# Shared shell of the compatibility suite (tests/compat/compat.sh) and its
# benchmark (tests/bench/compat_speed.sh): where a corpus set is, its settings
# (sets.tsv), databases on $TIDEMARK_PG_URL's server, running the reference
# tools and tidemark from the set's folder as a user would, and the
# comparable snapshots of a database (schema, data, history).
# Sourced, never run.  Needs TIDEMARK_PG_URL, TIDEMARK_BIN, TIDEMARK_SOURCE_DIR.

compat_dir=$TIDEMARK_SOURCE_DIR/tests/compat
compat_corpus=${TIDEMARK_CORPUS_DIR:-$TIDEMARK_SOURCE_DIR/../shared/corpus}

# --- the set ---------------------------------------------------------------

# compat_source SET COLUMN: a column of corpus SOURCES.tsv (5 entry, 6 format, 7 dbms)
compat_source() {
  awk -F'\t' -v s="$1" -v c="$2" '$1 == s { print $c; exit }' "$compat_corpus/SOURCES.tsv"
}

# compat_setting SET COLUMN: a column of tests/compat/sets.tsv, "" for "-"
#   2 tool (liquibase: the CLI; liquibase-spring: SpringLiquibase, for classpath: paths;
#     flyway)  3 needs (postgis|-)  4 rollback (tag:T|count:N|-)
#   5 settings: ';'-separated key=value (Liquibase changelog properties, or
#     flyway.* settings as in a flyway.conf)
#   6 extra tidemark flags (space-separated)
# @USER@ stands for the connecting user (TIDEMARK_PG_URL's).
compat_setting() {
  awk -F'\t' -v s="$1" -v c="$2" -v u="${compat_pg_user:-}" \
    '$1 == s { v = $c; if (v == "-") v = ""; gsub(/@USER@/, u, v); print v; exit }' \
    "$compat_dir/sets.tsv"
}

compat_is_liquibase() { [[ $(compat_setting "$1" 2) == liquibase* ]]; }
compat_is_spring() { [ "$(compat_setting "$1" 2)" = liquibase-spring ]; }

# compat_expected SET: "status<TAB>reason" from tests/compat/expected.tsv
compat_expected() {
  awk -F'\t' -v s="$1" '$1 == s { print $2 "\t" $3; exit }' "$compat_dir/expected.tsv"
}

# --- databases ---------------------------------------------------------------

compat_pg_parse() { # sets compat_pg_{user,pw,host,port} from TIDEMARK_PG_URL
  local re='^postgres(ql)?://([^:@/]+)(:([^@/]*))?@([^:/]+)(:([0-9]+))?/'
  [[ $TIDEMARK_PG_URL =~ $re ]] || { echo "compat: cannot read TIDEMARK_PG_URL" >&2; return 1; }
  compat_pg_user=${BASH_REMATCH[2]}
  compat_pg_pw=${BASH_REMATCH[4]}
  compat_pg_host=${BASH_REMATCH[5]}
  compat_pg_port=${BASH_REMATCH[7]:-5432}
}
compat_url()  { echo "postgresql://$compat_pg_user:$compat_pg_pw@$compat_pg_host:$compat_pg_port/$1"; }
compat_jdbc() { echo "jdbc:postgresql://$compat_pg_host:$compat_pg_port/$1"; }

compat_psql() { # DB, psql args...
  local db=$1; shift
  PGTZ=UTC PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$(compat_url "$db")" "$@"
}

# compat_db_create DB NEEDS: a fresh database with what the set needs beforehand
# (sets.tsv column 3): ext:NAME (an extension), schema:NAME, role:NAME (cluster-wide,
# made once), grant:GROUP>ROLE (GRANT GROUP TO ROLE)
compat_db_create() {
  local -a needs
  compat_psql postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" -c "CREATE DATABASE \"$1\"" || return 1
  IFS=',' read -ra needs <<<"$2"
  for n in "${needs[@]}"; do
    case $n in
      ext:*) compat_psql "$1" -c "CREATE EXTENSION \"${n#ext:}\"" || return 1 ;;
      schema:*) compat_psql "$1" -c "CREATE SCHEMA \"${n#schema:}\"" || return 1 ;;
      role:*) compat_psql "$1" -c "DO \$\$ BEGIN CREATE ROLE \"${n#role:}\"; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END \$\$" || return 1 ;;
      grant:*) g=${n#grant:}; compat_psql "$1" -c "GRANT \"${g%%>*}\" TO \"${g#*>}\"" >/dev/null || return 1 ;;
      '') ;;
      *) echo "compat: unknown need '$n' in sets.tsv" >&2; return 1 ;;
    esac
  done
}
compat_db_drop() {
  compat_psql postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null 2>&1 || true
}

# --- running the tools (cwd = the set's folder) ---------------------------------

compat_now_ms() { date +%s%3N; }

compat_ref_env() { # exports TM_LIQUIBASE_CP / TM_LIQUIBASE_SPRING_CP / TM_FLYWAY_CP (fetching once)
  [ -n "${TM_LIQUIBASE_CP:-}" ] && return 0
  local e
  e=$("$TIDEMARK_SOURCE_DIR/hack/reference-tools.sh" env) || return 1
  eval "$e"
}

# compat_lb_args SET DB: the connection and changelog arguments of `liquibase`
compat_lb_args() {
  printf '%s\n' --show-banner=false --analytics-enabled=false \
    "--url=$(compat_jdbc "$2")" "--username=$compat_pg_user" "--password=$compat_pg_pw" \
    --search-path=. "--changelog-file=$(compat_source "$1" 5)"
}
# compat_lb_props SET: the set's changelog properties as -Dk=v (after the command)
compat_lb_props() {
  local kv
  IFS=';' read -ra kv <<<"$(compat_setting "$1" 5)"
  for p in "${kv[@]}"; do [ -n "$p" ] && printf -- '-D%s\n' "$p"; done
  return 0
}

# compat_java ARGS...: the reference tool's JVM, limited to the C1 compiler and the serial
# collector: each run is a short batch job, and C2's compiler threads and G1's workers
# doubled the CPU a set costs (lbxml-finos-waltz: 25 s of user CPU, 12.8 s with these) on a
# 2-core CI machine shared with the other tests.  Neither changes what the tool does.
compat_java() {
  timeout 900 java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:CICompilerCount=1 "$@"
}

# compat_liquibase SET DB OUT CMD [ARGS...]: one `liquibase CMD` process, as a
# user starts it; output in OUT
compat_liquibase() {
  local set=$1 db=$2 out=$3 cmd=$4; shift 4
  local -a a p
  if compat_is_spring "$set"; then # the same verbs through SpringRun
    [ "$cmd" = rollback-count ] && cmd=rollback-count:${1#--count=}
    compat_spring "$set" "$db" "$out" "$cmd"
    return
  fi
  mapfile -t a < <(compat_lb_args "$set" "$db")
  mapfile -t p < <(compat_lb_props "$set")
  compat_java -cp "$TM_LIQUIBASE_CP" liquibase.integration.commandline.LiquibaseCommandLine \
    "${a[@]}" "$cmd" "$@" "${p[@]}" >"$out" 2>&1
}

# compat_liquibase_many SET OUTPREFIX DB:CMD...: each CMD on its DB, all in one
# JVM (LiquibaseRun; SpringRun: one JVM per database); the output of the i-th
# goes to OUTPREFIX.i, and the status is the worst
compat_liquibase_many() {
  local set=$1 out=$2; shift 2
  local -a a p all=()
  local i=0 rc=0 g db
  if compat_is_spring "$set"; then
    for g in "$@"; do
      i=$((i + 1))
      compat_spring "$set" "${g%%:*}" "$out.$i" "$(echo "${g#*:}" | cut -d' ' -f1)" || rc=1
    done
    return $rc
  fi
  mapfile -t p < <(compat_lb_props "$set")
  for g in "$@"; do
    db=${g%%:*}
    mapfile -t a < <(compat_lb_args "$set" "$db")
    ((${#all[@]})) && all+=(--then)
    # shellcheck disable=SC2206 # a CMD may carry its own arguments
    all+=("${a[@]}" ${g#*:} "${p[@]}")
  done
  compat_java -cp "$TM_LIQUIBASE_CP" LiquibaseRun "${all[@]}" >"$out" 2>&1
  rc=$?
  awk -v o="$out" '/^=== group [0-9]+$/ { f = o "." $3; printf "" > f; next } f { print > f }' "$out"
  return $rc
}

# compat_lb_pending FILE: the changesets a `status --verbose` output lists as
# not applied (path::id::author, sorted; authors keep their spaces)
compat_lb_pending() {
  sed -n 's/^     \([^ ].*::.*::.*\)$/\1/p' "$1" | sort
}

# compat_tm_pending FILE: the same from `tidemark status -o json`, and any drift
compat_tm_pending() {
  python3 - "$1" <<'PY'
import json, sys
try:
    # stderr is in the same file: warnings ("warning: file:line: ...") come
    # before the JSON document, which starts at a line holding "{"
    text = open(sys.argv[1]).read()
    at = text.find("\n{") + 1 if not text.startswith("{") else 0
    s = json.loads(text[at:])
except Exception as e:
    print("unreadable status output: %s" % e)
    sys.exit(0)
for p in sorted("%s::%s::%s" % (p["file"], p["id"], p["author"]) for p in s.get("pending", [])):
    print(p)
for d in s.get("drift", []):
    print("DRIFT %s::%s::%s %s" % (d["file"], d["id"], d["author"], d["reason"]))
PY
}

# compat_spring SET DB OUT CMD[,CMD...]: SpringRun (Liquibase as a Spring Boot app
# runs it: the set's folder on the class path, changelog classpath:ENTRY)
compat_spring() {
  local set=$1 db=$2 out=$3 cmds=$4
  local -a kv p=()
  IFS=';' read -ra kv <<<"$(compat_setting "$set" 5)"
  for x in "${kv[@]}"; do [ -n "$x" ] && p+=("$x"); done
  compat_java -cp "$TM_LIQUIBASE_SPRING_CP" SpringRun "$cmds" "classpath:$(compat_source "$set" 5)" \
    "$(compat_jdbc "$db")" "$compat_pg_user" "$compat_pg_pw" "${p[@]}" >"$out" 2>&1
}

# compat_flyway SET DB OUT CMD[,CMD...]: FlywayRun with the set's flyway.* settings
compat_flyway() {
  local set=$1 db=$2 out=$3 cmds=$4
  local -a kv conf=()
  IFS=';' read -ra kv <<<"$(compat_setting "$set" 5)"
  for p in "${kv[@]}"; do [ -n "$p" ] && conf+=("$p"); done
  compat_java -cp "$TM_FLYWAY_CP" FlywayRun "$cmds" \
    "flyway.url=$(compat_jdbc "$db")" "flyway.user=$compat_pg_user" "flyway.password=$compat_pg_pw" \
    "flyway.locations=filesystem:$(compat_source "$set" 5)" "${conf[@]}" >"$out" 2>&1
}

# compat_tidemark SET DB OUT VERB [ARGS...]: `tidemark VERB --changelog ENTRY --url DB`
# with the set's settings as --property k=v (Liquibase properties, or flyway.*
# settings, which tidemark reads as Flyway does) and its extra flags
compat_tidemark() {
  local set=$1 db=$2 out=$3 verb=$4; shift 4
  local -a kv extra props=()
  IFS=';' read -ra kv <<<"$(compat_setting "$set" 5)"
  for p in "${kv[@]}"; do [ -n "$p" ] && props+=(--property "$p"); done
  read -ra extra <<<"$(compat_setting "$set" 6)"
  timeout 900 "$TIDEMARK_BIN" "$verb" --changelog "$(compat_source "$set" 5)" \
    --url "$(compat_url "$db")" "${props[@]}" "${extra[@]}" "$@" >"$out" 2>&1
}

# --- snapshots ---------------------------------------------------------------

# The history and lock tables of the set's tool (excluded from schema/data).
compat_history_table() { # SET: schema.table of the history
  local t
  if compat_is_liquibase "$1"; then echo public.databasechangelog; return; fi
  t=$(compat_setting "$1" 5 | tr ';' '\n' | sed -n 's/^flyway.table=//p')
  local s
  s=$(compat_setting "$1" 5 | tr ';' '\n' | sed -n 's/^flyway.schemas=//p' | cut -d, -f1)
  echo "${s:-public}.${t:-flyway_schema_history}"
}

# compat_schema DB SET: pg_dump --schema-only, less what must differ: the
# \restrict key pg_dump makes up per run, and Liquibase's lock table (tidemark
# locks with a session advisory lock by design, controller/cli/README.md)
compat_schema() {
  pg_dump --schema-only --exclude-table=public.databasechangeloglock "$(compat_url "$1")" |
    sed -E '/^\\(un)?restrict /d; /^-- Dumped (from|by)/d'
}

# compat_data DB SET: every user table's rows (history and extension tables
# excluded), sorted, then every sequence's state.  Timestamps of the run's own
# day are replaced by <run-day> (now() defaults must differ between two runs).
compat_data() {
  local utc day
  utc=$(date -u +%F) day=$(date +%F)
  compat_data_raw "$@" 2>&1 | sed -E "s/($utc|$day)[ T][0-9:.]+([+-][0-9:]+)?/<run-day>/g"
}
compat_data_raw() {
  local hist
  hist=$(compat_history_table "$2")
  compat_psql "$1" -At -c "
    SELECT format('\\echo == %s.%s', quote_ident(n.nspname), quote_ident(c.relname)) || chr(10) ||
           format('COPY (SELECT * FROM %I.%I x ORDER BY x::text) TO STDOUT;', n.nspname, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%'
      AND format('%s.%s', n.nspname, c.relname) NOT IN ('$hist', 'public.databasechangeloglock')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY n.nspname, c.relname" >"$compat_work/copy.$1.sql" || return 1
  compat_psql "$1" -f "$compat_work/copy.$1.sql" || return 1
  echo "== sequences"
  compat_psql "$1" -At -c "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"
}

# compat_history DB SET: the history rows that must match
compat_history() {
  local t
  t=$(compat_history_table "$2")
  if compat_is_liquibase "$2"; then
    compat_psql "$1" -c "COPY (SELECT orderexecuted, id, author, filename, md5sum, exectype, tag,
        description, comments, contexts, labels FROM $t ORDER BY orderexecuted, id) TO STDOUT WITH (HEADER)"
  else
    compat_psql "$1" -c "COPY (SELECT installed_rank, version, description, type, script, checksum,
        success FROM $t ORDER BY installed_rank) TO STDOUT WITH (HEADER)"
  fi 2>&1
}
