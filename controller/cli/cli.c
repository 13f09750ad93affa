/* cli: flag parsing, the verbs, and their table/JSON output (see cli.h).
 *
 * One verb = one function over a parsed struct cli_args.  Everything the
 * verbs do is an engine call; this file only turns flags into engine
 * options and results into text, and codes into exit codes.  The database
 * URL is taken from --url or $TIDEMARK_DB_URL and never echoed: error
 * messages come from pgx, which never includes it. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "changelog/chlog.h"
#include "engine/engine.h"
#include "engine/select.h"

struct cli_args {
    const char *verb;
    const char *url;
    const char *changelog;
    const char *search_path; /* --search-path: the root Liquibase resolves against */
    const char *props[64];   /* --property NAME=VALUE, in order */
    size_t nprops;
    const char *flyway[64];  /* --flyway SETTING=VALUE: the property flyway.SETTING */
    size_t nflyway;
    const char *table;
    const char *to_tag;
    const char *context;
    const char *label_filter; /* --label-filter: a Liquibase label expression */
    const char *positional; /* tag NAME */
    long count;             /* -1 = not given */
    enum engine_strategy strategy;
    enum lint_policy policy;
    bool policy_set;
    bool allow_drift;
    bool require_rollback;
    bool json;
    bool help;
    int lock_timeout_s;
    int statement_timeout_s;
};

/* Which flags a verb takes (bit per flag). */
enum {
    F_URL = 1 << 0,
    F_CHANGELOG = 1 << 1,
    F_TABLE = 1 << 2,
    F_TO_TAG = 1 << 3,
    F_COUNT = 1 << 4,
    F_STRATEGY = 1 << 5,
    F_DRIFT = 1 << 6,
    F_POLICY = 1 << 7,
    F_REQROLLBACK = 1 << 8,
    F_LOCK = 1 << 9,
    F_STMT = 1 << 10,
    F_OUTPUT = 1 << 11,
    F_CONTEXT = 1 << 12,
};

struct verb {
    const char *name;
    unsigned flags;
    const char *summary;
    const char *usage;
    int (*run)(const struct cli_args *a, FILE *out, FILE *errout);
};

static int run_status(const struct cli_args *a, FILE *out, FILE *errout);
static int run_update(const struct cli_args *a, FILE *out, FILE *errout);
static int run_validate(const struct cli_args *a, FILE *out, FILE *errout);
static int run_lint(const struct cli_args *a, FILE *out, FILE *errout);
static int run_tag(const struct cli_args *a, FILE *out, FILE *errout);
static int run_history(const struct cli_args *a, FILE *out, FILE *errout);

#define COMMON_DB F_URL | F_TABLE | F_LOCK | F_STMT | F_OUTPUT

static const struct verb verbs[] = {
    {"status", COMMON_DB | F_CHANGELOG | F_CONTEXT,
     "show the applied tag, pending changesets and drift",
     "tidemark status --changelog PATH [--url URL] [--context EXPR] [-o table|json]", run_status},
    {"update", COMMON_DB | F_CHANGELOG | F_TO_TAG | F_STRATEGY | F_DRIFT | F_POLICY |
                   F_REQROLLBACK | F_CONTEXT,
     "apply pending changesets (to the latest or --to-tag; an older tag rolls back)",
     "tidemark update --changelog PATH [--url URL] [--to-tag T] [--strategy "
     "rollback|mark-next-run|fail]\n    [--allow-drift] [--policy deny|warn|allow] "
     "[--require-rollback] [--context EXPR]",
     run_update},
    {"rollback", COMMON_DB | F_CHANGELOG | F_TO_TAG | F_COUNT | F_DRIFT | F_CONTEXT,
     "roll back to a tag (--to-tag T) or the last N changesets (--count N)",
     "tidemark rollback --changelog PATH [--url URL] (--to-tag T | --count N) [--allow-drift]",
     run_update},
    {"validate", F_URL | F_CHANGELOG | F_TABLE | F_STMT | F_OUTPUT,
     "parse the changelog; with a database, also check it for drift",
     "tidemark validate --changelog PATH [--url URL]", run_validate},
    {"lint", COMMON_DB | F_CHANGELOG | F_TO_TAG | F_POLICY | F_REQROLLBACK | F_CONTEXT,
     "flag destructive SQL (every changeset, or only pending ones with a database)",
     "tidemark lint --changelog PATH [--url URL] [--policy deny|warn|allow] "
     "[--require-rollback]",
     run_lint},
    {"tag", COMMON_DB, "set a tag on the newest history row (Liquibase `tag`)",
     "tidemark tag NAME [--url URL] [--changelog-table schema.table]", run_tag},
    {"history", COMMON_DB, "list the history table's rows",
     "tidemark history [--url URL] [--changelog-table schema.table] [-o table|json]",
     run_history},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const char *flag_help =
    "flags:\n"
    "  --url URL                 PostgreSQL URL or conninfo (default $TIDEMARK_DB_URL)\n"
    "  --changelog PATH          Liquibase XML / YAML / JSON / formatted SQL file, or a\n"
    "                            Flyway folder; its FILENAME in the history is this path\n"
    "                            relative to the search path, as Liquibase writes it\n"
    "  --search-path DIR         the folder changelog paths are relative to (default: the\n"
    "                            current folder, as Liquibase's CLI)\n"
    "  --property NAME=VALUE     a changelog ${NAME} property (repeatable; wins over the\n"
    "                            changelog's own)\n"
    "  --flyway SETTING=VALUE    a Flyway setting as flyway.conf names it, for a Flyway\n"
    "                            folder (repeatable; wins over flyway.conf/flyway.toml):\n"
    "                            sqlMigrationPrefix=, sqlMigrationSuffixes=.sql,\n"
    "                            placeholders.NAME=V, placeholderReplacement=false,\n"
    "                            table=T, schemas=A,B, locations=db/a,db/b, mixed=true\n"
    "  --changelog-table S.T     history table (default public.databasechangelog,\n"
    "                            public.flyway_schema_history for Flyway)\n"
    "  --to-tag T                target tag (\"\" = the empty database for rollback)\n"
    "  --count N                 rollback: the last N changesets\n"
    "  --strategy S              on a failed changeset: rollback (default), mark-next-run, fail\n"
    "  --allow-drift             apply even when history and changelog disagree\n"
    "  --policy P                destructive SQL: deny, warn, allow (update: allow; lint: deny)\n"
    "  --require-rollback        every changeset to apply must declare a rollback\n"
    "  --context EXPR            Liquibase contexts to run (comma-separated)\n"
    "  --label-filter EXPR       Liquibase label expression (\"a and !b\") the changesets'\n"
    "                            labels must match\n"
    "  --lock-timeout SECONDS    wait this long for another applier (default 30)\n"
    "  --statement-timeout SECONDS  per statement (default none)\n"
    "  -o table|json             output format (default table)\n";

bool cli_is_verb(const char *verb)
{
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(verbs[i].name, verb) == 0)
            return true;
    return false;
}

const char *cli_usage_lines(void)
{
    return "  status       show the applied tag, pending changesets and drift\n"
           "  update       apply pending changesets (to the latest or --to-tag)\n"
           "  rollback     roll back to a tag or by count\n"
           "  validate     parse the changelog (and check drift with --url)\n"
           "  lint         flag destructive SQL\n"
           "  tag          tag the newest history row\n"
           "  history      list the history table\n";
}

static int exit_of(enum tm_code rc)
{
    switch (rc) {
    case TM_OK:
        return CLI_EXIT_OK;
    case TM_E_PARSE:
    case TM_E_INVAL:
    case TM_E_NOTFOUND:
    case TM_E_TOOBIG:
        return CLI_EXIT_USAGE;
    case TM_E_DRIFT:
    case TM_E_POLICY:
        return CLI_EXIT_DRIFT;
    default:
        return CLI_EXIT_FAILED;
    }
}

/* ---- flags ------------------------------------------------------------- */

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int usage_error(FILE *errout, const struct verb *v, const char *fmt, const char *arg)
{
    fprintf(errout, "tidemark %s: ", v->name);
    fprintf(errout, fmt, arg);
    fprintf(errout, "\nusage: %s\n", v->usage);
    return CLI_EXIT_USAGE;
}

static int parse_args(const struct verb *v, int argc, char **argv, struct cli_args *a,
                      FILE *errout)
{
    memset(a, 0, sizeof(*a));
    a->verb = v->name;
    a->count = -1;
    a->lock_timeout_s = 30;
    a->policy = strcmp(v->name, "lint") == 0 ? LINT_DENY : LINT_ALLOW;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->help = true;
            continue;
        }
        if (arg[0] != '-') {
            if (strcmp(v->name, "tag") != 0 || a->positional)
                return usage_error(errout, v, "unexpected argument \"%s\"", arg);
            a->positional = arg;
            continue;
        }
        /* --name=value or --name value */
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(arg, '=');
        size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
        if (nl >= sizeof(name))
            return usage_error(errout, v, "unknown flag \"%s\"", arg);
        memcpy(name, arg, nl);
        name[nl] = '\0';
        static const char *const known[] = {
            "--url", "--changelog", "--search-path", "--property", "--flyway", "--changelog-table",
            "--to-tag", "--context",
            "--contexts", "--context-filter", "--label-filter", "--labels", "--count",
            "--strategy", "--policy",
            "--allow-drift",
            "--require-rollback", "--lock-timeout", "--statement-timeout", "-o", "--output"};
        bool is_known = false;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            is_known = is_known || strcmp(name, known[k]) == 0;
        if (!is_known)
            return usage_error(errout, v, "unknown flag \"%s\"", name);
        bool boolean = strcmp(name, "--allow-drift") == 0 ||
                       strcmp(name, "--require-rollback") == 0;
        if (boolean) {
            if (eq)
                return usage_error(errout, v, "flag %s takes no value", name);
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return usage_error(errout, v, "flag %s needs a value", name);
        }
        unsigned need = 0;
        if (strcmp(name, "--url") == 0) {
            need = F_URL;
            a->url = val;
        } else if (strcmp(name, "--changelog") == 0) {
            need = F_CHANGELOG;
            a->changelog = val;
        } else if (strcmp(name, "--search-path") == 0) {
            need = F_CHANGELOG;
            if (strchr(val, ','))
                return usage_error(errout, v, "%s",
                                   "--search-path: one folder only (Liquibase accepts a list; "
                                   "tidemark reads one root)");
            a->search_path = val;
        } else if (strcmp(name, "--property") == 0) {
            need = F_CHANGELOG;
            if (!strchr(val, '=') || val[0] == '=')
                return usage_error(errout, v, "--property: expected NAME=VALUE, got \"%s\"", val);
            if (a->nprops == sizeof(a->props) / sizeof(a->props[0]))
                return usage_error(errout, v, "%s", "--property: at most 64");
            a->props[a->nprops++] = val;
        } else if (strcmp(name, "--flyway") == 0) {
            need = F_CHANGELOG;
            if (!strchr(val, '=') || val[0] == '=')
                return usage_error(errout, v, "--flyway: expected SETTING=VALUE (e.g. "
                                              "sqlMigrationPrefix=), got \"%s\"", val);
            if (a->nflyway == sizeof(a->flyway) / sizeof(a->flyway[0]))
                return usage_error(errout, v, "%s", "--flyway: at most 64");
            a->flyway[a->nflyway++] = val;
        } else if (strcmp(name, "--changelog-table") == 0) {
            need = F_TABLE;
            a->table = val;
        } else if (strcmp(name, "--to-tag") == 0) {
            need = F_TO_TAG;
            a->to_tag = val;
        } else if (strcmp(name, "--context") == 0 || strcmp(name, "--contexts") == 0 ||
                   strcmp(name, "--context-filter") == 0) {
            need = F_CONTEXT;
            a->context = val;
        } else if (strcmp(name, "--label-filter") == 0 || strcmp(name, "--labels") == 0) {
            need = F_CONTEXT;
            a->label_filter = val;
        } else if (strcmp(name, "--count") == 0) {
            need = F_COUNT;
            if (!parse_long(val, 0, 1000000000L, &a->count))
                return usage_error(errout, v, "--count: not a count: \"%s\"", val);
        } else if (strcmp(name, "--strategy") == 0) {
            need = F_STRATEGY;
            if (strcmp(val, "rollback") == 0)
                a->strategy = ENGINE_STRATEGY_ROLLBACK;
            else if (strcmp(val, "mark-next-run") == 0)
                a->strategy = ENGINE_STRATEGY_MARK_NEXT_RUN;
            else if (strcmp(val, "fail") == 0)
                a->strategy = ENGINE_STRATEGY_FAIL;
            else
                return usage_error(errout, v,
                                   "--strategy: \"%s\" is not rollback|mark-next-run|fail", val);
        } else if (strcmp(name, "--policy") == 0) {
            need = F_POLICY;
            a->policy_set = true;
            if (strcmp(val, "deny") == 0)
                a->policy = LINT_DENY;
            else if (strcmp(val, "warn") == 0)
                a->policy = LINT_WARN;
            else if (strcmp(val, "allow") == 0)
                a->policy = LINT_ALLOW;
            else
                return usage_error(errout, v, "--policy: \"%s\" is not deny|warn|allow", val);
        } else if (strcmp(name, "--allow-drift") == 0) {
            need = F_DRIFT;
            a->allow_drift = true;
        } else if (strcmp(name, "--require-rollback") == 0) {
            need = F_REQROLLBACK;
            a->require_rollback = true;
        } else if (strcmp(name, "--lock-timeout") == 0) {
            long s;
            need = F_LOCK;
            if (!parse_long(val, 0, 86400, &s))
                return usage_error(errout, v, "--lock-timeout: not seconds: \"%s\"", val);
            a->lock_timeout_s = (int)s;
        } else if (strcmp(name, "--statement-timeout") == 0) {
            long s;
            need = F_STMT;
            if (!parse_long(val, 0, 86400, &s))
                return usage_error(errout, v, "--statement-timeout: not seconds: \"%s\"", val);
            a->statement_timeout_s = (int)s;
        } else if (strcmp(name, "-o") == 0 || strcmp(name, "--output") == 0) {
            need = F_OUTPUT;
            if (strcmp(val, "json") == 0)
                a->json = true;
            else if (strcmp(val, "table") != 0)
                return usage_error(errout, v, "-o: \"%s\" is not table|json", val);
        } else {
            return usage_error(errout, v, "unknown flag \"%s\"", name);
        }
        if (!(v->flags & need))
            return usage_error(errout, v, "flag %s does not apply to this command", name);
    }
    if (!a->url) {
        const char *env = getenv("TIDEMARK_DB_URL");
        if (env && *env)
            a->url = env;
    }
    return -1; /* parsed: go on */
}

/* ---- shared steps -------------------------------------------------------- */

struct loaded {
    struct chlog_fs fs;
    bool fs_ok;
    struct chlog *cl;
};

static void loaded_release(struct loaded *l)
{
    chlog_free(l->cl);
    if (l->fs_ok)
        chlog_fs_disk_release(&l->fs);
    memset(l, 0, sizeof(*l));
}

/* Where --changelog is read from: the search root and the entry below it.
 * As Liquibase's CLI: the search path (default: the current folder) is the
 * root and the changelog is named relative to it, so FILENAME is the path
 * as given (db/changelog/master.xml).  A changelog outside the current
 * folder (absolute, or climbing with ..) without --search-path is read from
 * its own folder and named by its file name. */
static enum tm_code changelog_root(const struct cli_args *a, char **root, char **entry,
                                   struct tm_err *err)
{
    const char *path = a->changelog;
    *root = *entry = NULL;
    if (a->search_path) {
        *root = strdup(a->search_path);
        *entry = strdup(path);
    } else {
        char *clean = NULL;
        if (path[0] != '/' && chlog_path_clean(path, &clean, NULL) == TM_OK && clean[0]) {
            *root = strdup(".");
            *entry = clean;
            clean = NULL;
        } else {
            char *d1 = strdup(path), *d2 = strdup(path);
            /* trailing slashes would make basename "" on some libcs: strip them */
            for (size_t n = d1 ? strlen(d1) : 0; d2 && n > 1 && d1[n - 1] == '/'; n--) {
                d1[n - 1] = '\0';
                d2[n - 1] = '\0';
            }
            if (d1 && d2) {
                *root = strdup(dirname(d1));
                *entry = strdup(basename(d2));
            }
            free(d1);
            free(d2);
        }
        free(clean);
    }
    if (!*root || !*entry) {
        free(*root);
        free(*entry);
        *root = *entry = NULL;
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    return TM_OK;
}

/* Loads --changelog (see changelog_root) with the --property values. */
static enum tm_code load_changelog(const struct cli_args *a, struct loaded *l, FILE *errout,
                                   struct tm_err *err)
{
    memset(l, 0, sizeof(*l));
    const char *path = a->changelog;
    struct stat sb;
    char *root = NULL, *entry = NULL;
    struct chlog_props props;
    chlog_props_init(&props);
    enum tm_code rc = changelog_root(a, &root, &entry, err);
    if (rc != TM_OK)
        return rc;
    if (a->search_path && stat(a->search_path, &sb) != 0) {
        rc = tm_err_set(err, TM_E_NOTFOUND, "search path %s: %s", a->search_path,
                        strerror(errno));
        goto out;
    }
    size_t fl = strlen(root) + strlen(entry) + 2;
    char *full = malloc(fl);
    if (!full) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(full, fl, "%s/%s", root, entry);
    int st = stat(full, &sb);
    free(full);
    if (st != 0) {
        rc = tm_err_set(err, TM_E_NOTFOUND, "changelog %s: %s%s%s", path, strerror(errno),
                        a->search_path ? " below search path " : "",
                        a->search_path ? a->search_path : "");
        goto out;
    }
    for (size_t i = 0; i < a->nprops && rc == TM_OK; i++) {
        const char *eq = strchr(a->props[i], '=');
        char name[256];
        size_t nl = (size_t)(eq - a->props[i]);
        if (nl >= sizeof(name)) {
            rc = tm_err_set(err, TM_E_INVAL, "--property: name too long");
            break;
        }
        memcpy(name, a->props[i], nl);
        name[nl] = '\0';
        rc = chlog_props_set(&props, name, eq + 1, err);
    }
    /* --flyway SETTING=VALUE wins over a --property flyway.SETTING (later) */
    for (size_t i = 0; i < a->nflyway && rc == TM_OK; i++) {
        const char *eq = strchr(a->flyway[i], '=');
        char name[256];
        int w = snprintf(name, sizeof(name), "flyway.%.*s", (int)(eq - a->flyway[i]),
                         a->flyway[i]);
        rc = w > 0 && (size_t)w < sizeof(name)
                 ? chlog_props_set(&props, name, eq + 1, err)
                 : tm_err_set(err, TM_E_INVAL, "--flyway: setting name too long");
    }
    if (rc != TM_OK)
        goto out;
    rc = chlog_fs_disk_init(&l->fs, root);
    if (rc != TM_OK) {
        tm_err_set(err, rc, "changelog %s: cannot open its folder", path);
        goto out;
    }
    l->fs_ok = true;
    rc = chlog_load(&l->fs, entry, &props, &l->cl, err);
    for (size_t i = 0; rc == TM_OK && i < l->cl->nwarnings; i++)
        fprintf(errout, "warning: %s\n", l->cl->warnings[i]);
out:
    free(root);
    free(entry);
    chlog_props_release(&props);
    if (rc != TM_OK)
        loaded_release(l);
    return rc;
}

static struct pgx_conn *connect_db(const struct cli_args *a, struct tm_err *err)
{
    struct pgx_params p = {0};
    if (!a->url) {
        tm_err_set(err, TM_E_INVAL, "no database: pass --url or set TIDEMARK_DB_URL");
        return NULL;
    }
    p.url = a->url;
    p.connect_timeout_s = 30;
    p.statement_timeout_ms = a->statement_timeout_s * 1000;
    p.application_name = "tidemark-cli";
    return pgx_conn_new(&p, err);
}

static int fail(FILE *errout, const struct cli_args *a, const struct tm_err *err,
                enum tm_code rc)
{
    fprintf(errout, "tidemark %s: %s\n", a->verb, err->msg[0] ? err->msg : tm_code_name(rc));
    return exit_of(rc);
}

static void print_json(FILE *out, cJSON *root)
{
    char *s = cJSON_Print(root);
    if (s) {
        fprintf(out, "%s\n", s);
        cJSON_free(s);
    }
    cJSON_Delete(root);
}

static const char *drift_reason(enum engine_drift_reason r)
{
    return r == ENGINE_DRIFT_CHECKSUM_MISMATCH ? "ChecksumMismatch" : "UnknownChangeSet";
}

static void name_of(const struct chlog_changeset *cs, char *buf, size_t n)
{
    engine_changeset_name(cs, buf, n);
}

/* ---- status -------------------------------------------------------------- */

static void status_json(FILE *out, const struct chlog *cl, const struct engine_status *s)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "appliedTag", s->applied_tag ? s->applied_tag : "");
    cJSON_AddNumberToObject(root, "changeSets", (double)cl->nsets);
    cJSON_AddNumberToObject(root, "appliedChangeSets", (double)s->applied);
    cJSON_AddNumberToObject(root, "pendingChangeSets", (double)s->npending);
    cJSON_AddNumberToObject(root, "historyRows", (double)s->nrows);
    cJSON *pend = cJSON_AddArrayToObject(root, "pending");
    for (size_t i = 0; i < s->npending; i++) {
        const struct chlog_changeset *cs = &cl->sets[s->pending[i]];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", cs->id ? cs->id : "");
        cJSON_AddStringToObject(o, "author", cs->author ? cs->author : "");
        cJSON_AddStringToObject(o, "file", cs->filename ? cs->filename : "");
        if (cs->tag)
            cJSON_AddStringToObject(o, "tag", cs->tag);
        cJSON_AddItemToArray(pend, o);
    }
    cJSON *dr = cJSON_AddArrayToObject(root, "drift");
    for (size_t i = 0; i < s->ndrift; i++) {
        const struct engine_drift *d = &s->drift[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", d->id ? d->id : "");
        cJSON_AddStringToObject(o, "author", d->author ? d->author : "");
        cJSON_AddStringToObject(o, "file", d->filename ? d->filename : "");
        cJSON_AddStringToObject(o, "reason", drift_reason(d->reason));
        cJSON_AddItemToArray(dr, o);
    }
    print_json(out, root);
}

static void status_table(FILE *out, const struct chlog *cl, const struct engine_status *s)
{
    char name[1024];
    fprintf(out, "applied tag    %s\n", s->applied_tag ? s->applied_tag : "(none)");
    fprintf(out, "changesets     %zu in the changelog, %zu applied, %zu pending\n", cl->nsets,
            s->applied, s->npending);
    for (size_t i = 0; i < s->npending; i++) {
        const struct chlog_changeset *cs = &cl->sets[s->pending[i]];
        name_of(cs, name, sizeof(name));
        fprintf(out, "  pending      %s%s%s\n", name, cs->tag ? "  tag " : "",
                cs->tag ? cs->tag : "");
    }
    if (s->ndrift == 0)
        fprintf(out, "drift          none\n");
    for (size_t i = 0; i < s->ndrift; i++) {
        const struct engine_drift *d = &s->drift[i];
        fprintf(out, "  drift        %s::%s::%s  %s\n", d->filename ? d->filename : "",
                d->id ? d->id : "", d->author ? d->author : "", drift_reason(d->reason));
    }
}

static int run_status(const struct cli_args *a, FILE *out, FILE *errout)
{
    struct tm_err err;
    struct loaded l;
    struct engine_status s;
    engine_status_init(&s);
    tm_err_clear(&err);
    enum tm_code rc = load_changelog(a, &l, errout, &err);
    if (rc != TM_OK)
        return fail(errout, a, &err, rc);
    struct pgx_conn *c = connect_db(a, &err);
    if (!c) {
        loaded_release(&l);
        return fail(errout, a, &err, err.code);
    }
    rc = engine_status_read_filtered(c, l.cl, a->table, a->context, a->label_filter, &s, &err);
    int code = CLI_EXIT_OK;
    if (rc != TM_OK) {
        code = fail(errout, a, &err, rc);
    } else {
        if (a->json)
            status_json(out, l.cl, &s);
        else
            status_table(out, l.cl, &s);
        if (s.ndrift > 0)
            code = CLI_EXIT_DRIFT;
    }
    engine_status_release(&s);
    pgx_conn_free(c);
    loaded_release(&l);
    return code;
}

/* ---- update / rollback --------------------------------------------------- */

struct progress {
    FILE *out;
    bool json;
};

static void on_step(void *ctx, const struct chlog_changeset *cs,
                    const struct engine_step_result *st)
{
    struct progress *p = ctx;
    (void)cs;
    if (p->json)
        return;
    fprintf(p->out, "%-12s %s (%ld ms)\n", engine_outcome_name(st->outcome), st->changeset,
            st->duration_ms);
    fflush(p->out);
}

static cJSON *lint_json(const struct lint_report *r)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < r->n; i++) {
        const struct lint_finding *f = &r->items[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", lint_kind_name(f->kind));
        cJSON_AddStringToObject(o, "changeset", f->changeset);
        cJSON_AddStringToObject(o, "file", f->file);
        cJSON_AddNumberToObject(o, "line", f->line);
        cJSON_AddStringToObject(o, "severity", f->denied ? "denied" : "warning");
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static void lint_table(FILE *out, const struct lint_report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct lint_finding *f = &r->items[i];
        fprintf(out, "%-8s %s:%d  %s  (%s)\n", f->denied ? "DENIED" : "WARNING", f->file,
                f->line, lint_kind_name(f->kind), f->changeset);
    }
}

static int run_update(const struct cli_args *a, FILE *out, FILE *errout)
{
    bool rollback = strcmp(a->verb, "rollback") == 0;
    const struct verb *v = &verbs[rollback ? 2 : 1];
    if (rollback && !a->to_tag && a->count < 0)
        return usage_error(errout, v, "%s", "needs --to-tag T or --count N");
    if (rollback && a->to_tag && a->count >= 0)
        return usage_error(errout, v, "%s", "--to-tag and --count exclude each other");
    struct tm_err err;
    struct loaded l;
    tm_err_clear(&err);
    enum tm_code rc = load_changelog(a, &l, errout, &err);
    if (rc != TM_OK)
        return fail(errout, a, &err, rc);
    struct pgx_conn *c = connect_db(a, &err);
    if (!c) {
        loaded_release(&l);
        return fail(errout, a, &err, err.code);
    }
    struct progress prog = {out, a->json};
    struct engine_opts o;
    engine_opts_init(&o);
    o.table = a->table;
    o.tag = a->to_tag;
    o.count = a->count;
    o.context = a->context;
    o.label_filter = a->label_filter;
    o.strategy = a->strategy;
    o.allow_drift = a->allow_drift;
    o.lint.destructive = a->policy;
    o.lint.require_rollback = a->require_rollback;
    o.lock_wait_ms = a->lock_timeout_s * 1000;
    o.rollback_only = rollback;
    o.progress = on_step;
    o.progress_ctx = &prog;
    struct engine_result res;
    engine_result_init(&res);
    rc = engine_run(c, l.cl, &o, &res, &err);
    for (size_t i = 0; i < res.nwarnings; i++) /* precondition onFail/onError WARN */
        fprintf(errout, "warning: %s\n", res.warnings[i]);
    if (a->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "result", rc == TM_OK ? "ok" : "failed");
        cJSON_AddNumberToObject(root, "applied", (double)res.applied);
        cJSON_AddNumberToObject(root, "rolledBack", (double)res.rolled_back);
        cJSON_AddNumberToObject(root, "markedRan", (double)res.marked_ran);
        cJSON_AddStringToObject(root, "appliedTag", res.applied_tag ? res.applied_tag : "");
        cJSON_AddStringToObject(root, "lastApplied", res.last_applied ? res.last_applied : "");
        cJSON_AddStringToObject(root, "deploymentId", res.deployment_id);
        cJSON *steps = cJSON_AddArrayToObject(root, "steps");
        for (size_t i = 0; i < res.nsteps; i++) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "changeset", res.steps[i].changeset);
            cJSON_AddStringToObject(s, "outcome", engine_outcome_name(res.steps[i].outcome));
            cJSON_AddNumberToObject(s, "durationMs", (double)res.steps[i].duration_ms);
            cJSON_AddItemToArray(steps, s);
        }
        cJSON_AddItemToObject(root, "lint", lint_json(&res.lint));
        if (rc != TM_OK) {
            cJSON *e = cJSON_AddObjectToObject(root, "error");
            cJSON_AddStringToObject(e, "code", tm_code_name(rc));
            cJSON_AddStringToObject(e, "message", err.msg);
            if (err.sqlstate[0])
                cJSON_AddStringToObject(e, "sqlstate", err.sqlstate);
        }
        print_json(out, root);
    } else {
        lint_table(out, &res.lint);
        fprintf(out, "%s: %zu applied, %zu rolled back%s%s; applied tag %s\n",
                rc == TM_OK ? "done" : "stopped", res.applied, res.rolled_back,
                res.marked_ran ? ", marked ran: " : "",
                res.marked_ran ? (res.marked_ran == 1 ? "1" : "several") : "",
                res.applied_tag ? res.applied_tag : "(none)");
    }
    int code = rc == TM_OK ? CLI_EXIT_OK : fail(errout, a, &err, rc);
    engine_result_release(&res);
    pgx_conn_free(c);
    loaded_release(&l);
    return code;
}

/* ---- validate ------------------------------------------------------------ */

static int run_validate(const struct cli_args *a, FILE *out, FILE *errout)
{
    struct tm_err err;
    struct loaded l;
    tm_err_clear(&err);
    enum tm_code rc = load_changelog(a, &l, errout, &err);
    if (rc != TM_OK)
        return fail(errout, a, &err, rc);
    size_t ntags = 0;
    for (size_t i = 0; i < l.cl->nsets; i++)
        ntags += l.cl->sets[i].tag != NULL;
    struct engine_status s;
    engine_status_init(&s);
    int code = CLI_EXIT_OK;
    bool checked = false;
    if (a->url) {
        struct pgx_conn *c = connect_db(a, &err);
        if (!c) {
            loaded_release(&l);
            return fail(errout, a, &err, err.code);
        }
        rc = engine_status_read(c, l.cl, a->table, NULL, &s, &err);
        pgx_conn_free(c);
        if (rc != TM_OK) {
            loaded_release(&l);
            return fail(errout, a, &err, rc);
        }
        checked = true;
        if (s.ndrift > 0)
            code = CLI_EXIT_DRIFT;
    }
    if (a->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddBoolToObject(root, "valid", code == CLI_EXIT_OK);
        cJSON_AddNumberToObject(root, "changeSets", (double)l.cl->nsets);
        cJSON *tags = cJSON_AddArrayToObject(root, "tags");
        for (size_t i = 0; i < l.cl->nsets; i++)
            if (l.cl->sets[i].tag)
                cJSON_AddItemToArray(tags, cJSON_CreateString(l.cl->sets[i].tag));
        if (checked)
            cJSON_AddNumberToObject(root, "drift", (double)s.ndrift);
        print_json(out, root);
    } else {
        fprintf(out, "changelog ok: %zu changesets, %zu tags\n", l.cl->nsets, ntags);
        if (checked)
            status_table(out, l.cl, &s);
    }
    if (code == CLI_EXIT_DRIFT)
        fprintf(errout, "tidemark validate: the history has drifted from the changelog\n");
    engine_status_release(&s);
    loaded_release(&l);
    return code;
}

/* ---- lint ---------------------------------------------------------------- */

static int run_lint(const struct cli_args *a, FILE *out, FILE *errout)
{
    struct tm_err err;
    struct loaded l;
    struct lint_report r;
    tm_err_clear(&err);
    lint_report_init(&r);
    enum tm_code rc = load_changelog(a, &l, errout, &err);
    if (rc != TM_OK)
        return fail(errout, a, &err, rc);
    struct lint_opts lo = {.destructive = a->policy, .require_rollback = a->require_rollback};
    size_t checked = 0;
    if (a->url) {
        /* only what an update would apply */
        struct pgx_conn *c = connect_db(a, &err);
        if (!c) {
            loaded_release(&l);
            return fail(errout, a, &err, err.code);
        }
        struct engine_history h;
        struct plan p;
        plan_init(&p);
        rc = engine_history_read(c, a->table, l.cl->format == CHLOG_FORMAT_FLYWAY, &h, &err);
        pgx_conn_free(c);
        if (rc == TM_OK) {
            struct plan_opts po = {.tag = a->to_tag, .count = -1, .context = a->context,
                                   .label_filter = a->label_filter,
                                   .allow_drift = true};
            rc = plan_build(l.cl, &h, &po, &p, &err);
            if (rc == TM_OK) {
                checked = p.nsteps;
                rc = lint_plan(l.cl, &p, &lo, &r, &err);
            }
            plan_release(&p);
            engine_history_release(&h);
        }
    } else {
        for (size_t i = 0; i < l.cl->nsets && rc == TM_OK; i++) {
            const struct select_run run = {a->context, a->label_filter};
            bool sel = false;
            rc = select_changeset(&run, &l.cl->sets[i], &sel, &err);
            if (rc == TM_OK && sel) {
                rc = lint_changeset(&l.cl->sets[i], &lo, &r, &err);
                checked++;
            }
        }
        if (rc == TM_OK && r.ndenied > 0)
            rc = TM_E_POLICY;
    }
    if (rc != TM_OK && rc != TM_E_POLICY) {
        lint_report_release(&r);
        loaded_release(&l);
        return fail(errout, a, &err, rc);
    }
    if (a->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "checkedChangeSets", (double)checked);
        cJSON_AddNumberToObject(root, "denied", (double)r.ndenied);
        cJSON_AddItemToObject(root, "findings", lint_json(&r));
        print_json(out, root);
    } else {
        lint_table(out, &r);
        fprintf(out, "%zu changesets checked, %zu findings, %zu denied\n", checked, r.n,
                r.ndenied);
    }
    int code = r.ndenied > 0 ? CLI_EXIT_DRIFT : CLI_EXIT_OK;
    lint_report_release(&r);
    loaded_release(&l);
    return code;
}

/* ---- tag / history ------------------------------------------------------- */

static int run_tag(const struct cli_args *a, FILE *out, FILE *errout)
{
    if (!a->positional || !*a->positional)
        return usage_error(errout, &verbs[5], "%s", "needs a tag NAME");
    struct tm_err err;
    tm_err_clear(&err);
    struct pgx_conn *c = connect_db(a, &err);
    if (!c)
        return fail(errout, a, &err, err.code);
    enum tm_code rc = engine_tag(c, a->table, a->positional, &err);
    pgx_conn_free(c);
    if (rc != TM_OK)
        return fail(errout, a, &err, rc);
    if (a->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "tag", a->positional);
        print_json(out, root);
    } else {
        fprintf(out, "tagged the newest change with %s\n", a->positional);
    }
    return CLI_EXIT_OK;
}

static int run_history(const struct cli_args *a, FILE *out, FILE *errout)
{
    struct tm_err err;
    struct engine_history h;
    tm_err_clear(&err);
    struct pgx_conn *c = connect_db(a, &err);
    if (!c)
        return fail(errout, a, &err, err.code);
    bool flyway = a->table && strstr(a->table, "flyway_schema_history") != NULL;
    enum tm_code rc = engine_history_read(c, a->table, flyway, &h, &err);
    pgx_conn_free(c);
    if (rc != TM_OK)
        return fail(errout, a, &err, rc);
    static const char *types[] = {"EXECUTED", "MARK_RAN", "RERAN", "FAILED", "OTHER"};
    if (a->json) {
        cJSON *root = cJSON_CreateArray();
        for (size_t i = 0; i < h.nrows; i++) {
            const struct engine_row *r = &h.rows[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddNumberToObject(o, "orderExecuted", (double)r->orderexecuted);
            cJSON_AddStringToObject(o, "dateExecuted", r->dateexecuted ? r->dateexecuted : "");
            cJSON_AddStringToObject(o, "id", r->id ? r->id : "");
            cJSON_AddStringToObject(o, "author", r->author ? r->author : "");
            cJSON_AddStringToObject(o, "file", r->filename ? r->filename : "");
            cJSON_AddStringToObject(o, "execType", types[r->exectype]);
            cJSON_AddStringToObject(o, "md5sum", r->md5sum ? r->md5sum : "");
            cJSON_AddStringToObject(o, "tag", r->tag ? r->tag : "");
            cJSON_AddStringToObject(o, "deploymentId", r->deployment_id ? r->deployment_id : "");
            cJSON_AddItemToArray(root, o);
        }
        print_json(out, root);
    } else {
        if (!h.exists)
            fprintf(out, "no history table\n");
        for (size_t i = 0; i < h.nrows; i++) {
            const struct engine_row *r = &h.rows[i];
            fprintf(out, "%4ld  %-26s  %-8s  %s::%s::%s%s%s\n", r->orderexecuted,
                    r->dateexecuted ? r->dateexecuted : "", types[r->exectype],
                    r->filename ? r->filename : "", r->id ? r->id : "",
                    r->author ? r->author : "", r->tag ? "  tag " : "", r->tag ? r->tag : "");
        }
    }
    engine_history_release(&h);
    return CLI_EXIT_OK;
}

/* ---- entry --------------------------------------------------------------- */

int cli_main(int argc, char **argv, FILE *out, FILE *errout)
{
    const struct verb *v = NULL;
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(verbs[i].name, argv[0]) == 0)
            v = &verbs[i];
    if (!v) {
        fprintf(errout, "tidemark: unknown command \"%s\"\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    struct cli_args a;
    int code = parse_args(v, argc, argv, &a, errout);
    if (code >= 0)
        return code;
    if (a.help) {
        fprintf(out, "%s\n\nusage: %s\n\n%s", v->summary, v->usage, flag_help);
        return CLI_EXIT_OK;
    }
    if ((v->flags & F_CHANGELOG) && !a.changelog)
        return usage_error(errout, v, "%s", "needs --changelog PATH");
    return v->run(&a, out, errout);
}
