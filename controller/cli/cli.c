/* cli: the verbs, their flag table, and their table/JSON output (see cli.h).
 *
 * One verb = one function over a parsed struct cli_args and what cli_main
 * opened for it (the changelog, the connection: struct verb's needs), which
 * cli_main also closes.  Everything the verbs do is an engine call; this
 * file only turns flags into engine options and results into text, and
 * codes into exit codes.  Each flag is one row of cli_flags
 * (common/flags.h): its spellings, the field it fills, the verbs that
 * accept it and its help line; the parse and every verb's --help come from
 * that table.  The database URL is taken from --url or $TIDEMARK_DB_URL and
 * never echoed: error messages come from pgx, which never includes it. */
#include "cli/cli.h"
#include "cli/output.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "changelog/chlog.h"
#include "common/flags.h"
#include "engine/engine.h"
#include "engine/plan_review.h"
#include "engine/select.h"

struct verb;

struct cli_args {
    const struct verb *verb;
    const char *url;
    const char *changelog;
    const char *search_path;         /* --search-path: the root Liquibase resolves against */
    struct tm_flag_list props;       /* --property NAME=VALUE, in order */
    struct tm_flag_list flyway;      /* --flyway SETTING=VALUE: the property flyway.SETTING */
    const char *table;
    const char *to_tag;
    const char *context;
    const char *label_filter; /* --label-filter: a Liquibase label expression */
    const char *positional;   /* tag NAME */
    const char *instance;     /* plan: the DBInstance the plan is for (part of its hash) */
    long count;               /* -1 = not given */
    enum engine_strategy strategy;
    enum lint_policy policy;
    bool allow_drift;
    bool require_rollback;
    enum cli_output output; /* -o */
    int lock_timeout_s;
    int statement_timeout_s;
};

/* The verbs, as flag-table command bits. */
enum {
    V_STATUS = 1 << 0,
    V_UPDATE = 1 << 1,
    V_ROLLBACK = 1 << 2,
    V_VALIDATE = 1 << 3,
    V_LINT = 1 << 4,
    V_TAG = 1 << 5,
    V_HISTORY = 1 << 6,
    V_PLAN = 1 << 7,
    V_ALL = (1 << 8) - 1,
    V_CHANGELOG = V_STATUS | V_UPDATE | V_ROLLBACK | V_VALIDATE | V_LINT | V_PLAN, /* read one */
    V_SELECT = V_STATUS | V_UPDATE | V_ROLLBACK | V_LINT | V_PLAN, /* pick changesets by
                                                                      * context/label */
};

/* What cli_main opens before it runs a verb. */
enum verb_needs {
    NEEDS_DB,               /* a connection (tag, history) */
    NEEDS_CHANGELOG_DB,     /* the changelog and a connection */
    NEEDS_CHANGELOG,        /* the changelog, and a connection when --url is given */
};

struct verb {
    const char *name;
    unsigned bit;
    size_t max_args;     /* positional arguments (tag NAME) */
    const char *line;    /* its line in `tidemark --help` */
    const char *summary; /* the first line of its --help */
    const char *usage;
    enum verb_needs needs;
    /* cl: the loaded --changelog (NULL for NEEDS_DB); db: the connection
     * (NULL for NEEDS_CHANGELOG without --url); both borrowed */
    int (*run)(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
               FILE *out, FILE *errout);
};

static int run_status(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                      FILE *out, FILE *errout);
static int run_update(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                      FILE *out, FILE *errout);
static int run_validate(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                        FILE *out, FILE *errout);
static int run_lint(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                    FILE *out, FILE *errout);
static int run_tag(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                   FILE *out, FILE *errout);
static int run_history(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                       FILE *out, FILE *errout);
static int run_plan(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                    FILE *out, FILE *errout);

static const struct verb verbs[] = {
    {.name = "status", .bit = V_STATUS, .needs = NEEDS_CHANGELOG_DB, .run = run_status,
     .line = "show the applied tag, pending changesets and drift",
     .summary = "show the applied tag, pending changesets and drift",
     .usage = "tidemark status --changelog PATH [--url URL] [--context EXPR] [-o table|json|yaml]"},
    {.name = "update", .bit = V_UPDATE, .needs = NEEDS_CHANGELOG_DB, .run = run_update,
     .line = "apply pending changesets (to the latest or --to-tag)",
     .summary = "apply pending changesets (to the latest or --to-tag; an older tag rolls back)",
     .usage = "tidemark update --changelog PATH [--url URL] [--to-tag T] [--strategy "
              "rollback|mark-next-run|fail]\n    [--allow-drift] [--policy deny|warn|allow] "
              "[--require-rollback] [--context EXPR]"},
    {.name = "rollback", .bit = V_ROLLBACK, .needs = NEEDS_CHANGELOG_DB, .run = run_update,
     .line = "roll back to a tag or by count",
     .summary = "roll back to a tag (--to-tag T) or the last N changesets (--count N)",
     .usage = "tidemark rollback --changelog PATH [--url URL] (--to-tag T | --count N) "
              "[--allow-drift]"},
    {.name = "plan", .bit = V_PLAN, .needs = NEEDS_CHANGELOG_DB, .run = run_plan,
     .line = "show the plan to a tag and its hash (what a DBRollout approves)",
     .summary = "show the changesets a move to --to-tag would apply or roll back, and the\n"
                "plan hash a DBRollout with spec.approval Required waits for",
     .usage = "tidemark plan --changelog PATH --to-tag T --instance NAME [--url URL]\n"
              "    [--context EXPR] [--label-filter EXPR] [--allow-drift] [-o table|json|yaml]"},
    {.name = "validate", .bit = V_VALIDATE, .needs = NEEDS_CHANGELOG, .run = run_validate,
     .line = "parse the changelog (and check drift with --url)",
     .summary = "parse the changelog; with a database, also check it for drift",
     .usage = "tidemark validate --changelog PATH [--url URL]"},
    {.name = "lint", .bit = V_LINT, .needs = NEEDS_CHANGELOG, .run = run_lint,
     .line = "flag destructive SQL",
     .summary = "flag destructive SQL (every changeset, or only pending ones with a database)",
     .usage = "tidemark lint --changelog PATH [--url URL] [--policy deny|warn|allow] "
              "[--require-rollback]"},
    {.name = "tag", .bit = V_TAG, .max_args = 1, .needs = NEEDS_DB, .run = run_tag,
     .line = "tag the newest history row",
     .summary = "set a tag on the newest history row (Liquibase `tag`)",
     .usage = "tidemark tag NAME [--url URL] [--changelog-table schema.table]"},
    {.name = "history", .bit = V_HISTORY, .needs = NEEDS_DB, .run = run_history,
     .line = "list the history table", .summary = "list the history table's rows",
     .usage = "tidemark history [--url URL] [--changelog-table schema.table] [-o table|json|yaml]"},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

/* ---- flag values ------------------------------------------------------- */

static bool parse_search_path(const char *val, void *field, char *why, size_t whyn)
{
    if (strchr(val, ',')) {
        snprintf(why, whyn, "one folder only (Liquibase accepts a list; tidemark reads one root)");
        return false;
    }
    *(const char **)field = val;
    return true;
}

static bool is_assignment(const char *val)
{
    return strchr(val, '=') && val[0] != '=';
}

static bool parse_property(const char *val, void *field, char *why, size_t whyn)
{
    if (!is_assignment(val))
        snprintf(why, whyn, "expected NAME=VALUE, got \"%s\"", val);
    return is_assignment(val);
}

static bool parse_flyway_setting(const char *val, void *field, char *why, size_t whyn)
{
    if (!is_assignment(val))
        snprintf(why, whyn, "expected SETTING=VALUE (e.g. sqlMigrationPrefix=), got \"%s\"", val);
    return is_assignment(val);
}

static bool parse_count(const char *val, void *field, char *why, size_t whyn)
{
    if (tm_flag_long(val, 0, 1000000000L, field))
        return true;
    snprintf(why, whyn, "not a count: \"%s\"", val);
    return false;
}

static bool parse_seconds(const char *val, void *field, char *why, size_t whyn)
{
    long s;
    if (tm_flag_long(val, 0, 86400, &s)) {
        *(int *)field = (int)s;
        return true;
    }
    snprintf(why, whyn, "not seconds: \"%s\"", val);
    return false;
}

/* The index of val in the NULL-terminated choices; -1 with why "\"val\" is
 * not a|b|c" when it is none of them. */
static int pick(const char *val, const char *const *choices, char *why, size_t whyn)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(val, choices[i]) == 0)
            return i;
    int w = snprintf(why, whyn, "\"%s\" is not ", val);
    for (int i = 0; choices[i] && w >= 0 && (size_t)w < whyn; i++)
        w += snprintf(why + w, whyn - (size_t)w, "%s%s", i ? "|" : "", choices[i]);
    return -1;
}

static bool parse_strategy(const char *val, void *field, char *why, size_t whyn)
{
    static const char *const names[] = {"rollback", "mark-next-run", "fail", NULL};
    static const enum engine_strategy values[] = {
        ENGINE_STRATEGY_ROLLBACK, ENGINE_STRATEGY_MARK_NEXT_RUN, ENGINE_STRATEGY_FAIL};
    int k = pick(val, names, why, whyn);
    if (k >= 0)
        *(enum engine_strategy *)field = values[k];
    return k >= 0;
}

static bool parse_policy(const char *val, void *field, char *why, size_t whyn)
{
    static const char *const names[] = {"deny", "warn", "allow", NULL};
    static const enum lint_policy values[] = {LINT_DENY, LINT_WARN, LINT_ALLOW};
    int k = pick(val, names, why, whyn);
    if (k >= 0)
        *(enum lint_policy *)field = values[k];
    return k >= 0;
}

/* ---- the flag table ------------------------------------------------------ */

#define ARG(field) offsetof(struct cli_args, field)

static const struct tm_flag cli_flags[] = {
    {.names = {"--url"}, .kind = TM_FLAG_VALUE, .offset = ARG(url), .commands = V_ALL,
     .metavar = "URL", .help = "PostgreSQL URL or conninfo", .env = "TIDEMARK_DB_URL"},
    {.names = {"--changelog"}, .kind = TM_FLAG_VALUE, .offset = ARG(changelog),
     .commands = V_CHANGELOG, .required = V_CHANGELOG, .metavar = "PATH",
     .help = "Liquibase XML / YAML / JSON / formatted SQL file, or a\n"
             "Flyway folder; its FILENAME in the history is this path\n"
             "relative to the search path, as Liquibase writes it"},
    {.names = {"--search-path"}, .kind = TM_FLAG_VALUE, .offset = ARG(search_path),
     .parse = parse_search_path, .commands = V_CHANGELOG, .metavar = "DIR",
     .help = "the folder changelog paths are relative to (default: the\n"
             "current folder, as Liquibase's CLI)"},
    {.names = {"--property"}, .kind = TM_FLAG_LIST, .offset = ARG(props),
     .parse = parse_property, .commands = V_CHANGELOG, .metavar = "NAME=VALUE",
     .help = "a changelog ${NAME} property (repeatable; wins over the\n"
             "changelog's own)"},
    {.names = {"--flyway"}, .kind = TM_FLAG_LIST, .offset = ARG(flyway),
     .parse = parse_flyway_setting, .commands = V_CHANGELOG, .metavar = "SETTING=VALUE",
     .help = "a Flyway setting as flyway.conf names it, for a Flyway\n"
             "folder (repeatable; wins over flyway.conf/flyway.toml):\n"
             "sqlMigrationPrefix=, sqlMigrationSuffixes=.sql,\n"
             "placeholders.NAME=V, placeholderReplacement=false,\n"
             "table=T, schemas=A,B, locations=db/a,db/b, mixed=true"},
    {.names = {"--changelog-table"}, .kind = TM_FLAG_VALUE, .offset = ARG(table),
     .commands = V_ALL, .metavar = "S.T",
     .help = "history table (default public.databasechangelog,\n"
             "public.flyway_schema_history for Flyway)"},
    {.names = {"--to-tag"}, .kind = TM_FLAG_VALUE, .offset = ARG(to_tag),
     .commands = V_UPDATE | V_ROLLBACK | V_LINT | V_PLAN, .required = V_PLAN, .metavar = "T",
     .help = "target tag (\"\" = the empty database for rollback)"},
    {.names = {"--instance"}, .kind = TM_FLAG_VALUE, .offset = ARG(instance),
     .commands = V_PLAN, .required = V_PLAN, .metavar = "NAME",
     .help = "plan: the DBInstance the plan is for (the DBRollout's\n"
             "spec.instanceRef.name; part of the plan hash)"},
    {.names = {"--count"}, .kind = TM_FLAG_VALUE, .offset = ARG(count), .parse = parse_count,
     .commands = V_ROLLBACK, .metavar = "N", .help = "rollback: the last N changesets"},
    {.names = {"--strategy"}, .kind = TM_FLAG_VALUE, .offset = ARG(strategy),
     .parse = parse_strategy, .commands = V_UPDATE, .metavar = "S",
     .help = "on a failed changeset: rollback (default), mark-next-run, fail"},
    {.names = {"--allow-drift"}, .kind = TM_FLAG_BOOL, .offset = ARG(allow_drift),
     .commands = V_UPDATE | V_ROLLBACK | V_PLAN,
     .help = "apply even when history and changelog disagree"},
    {.names = {"--policy"}, .kind = TM_FLAG_VALUE, .offset = ARG(policy),
     .parse = parse_policy, .commands = V_UPDATE | V_LINT, .metavar = "P",
     .help = "destructive SQL: deny, warn, allow (update: allow; lint: deny)"},
    {.names = {"--require-rollback"}, .kind = TM_FLAG_BOOL, .offset = ARG(require_rollback),
     .commands = V_UPDATE | V_LINT,
     .help = "every changeset to apply must declare a rollback"},
    {.names = {"--context", "--contexts", "--context-filter"}, .kind = TM_FLAG_VALUE,
     .offset = ARG(context), .commands = V_SELECT, .metavar = "EXPR",
     .help = "Liquibase contexts to run (comma-separated)"},
    {.names = {"--label-filter", "--labels"}, .kind = TM_FLAG_VALUE,
     .offset = ARG(label_filter), .commands = V_SELECT, .metavar = "EXPR",
     .help = "Liquibase label expression (\"a and !b\") the changesets'\n"
             "labels must match"},
    {.names = {"--lock-timeout"}, .kind = TM_FLAG_VALUE, .offset = ARG(lock_timeout_s),
     .parse = parse_seconds, .commands = V_ALL & ~V_VALIDATE, .metavar = "SECONDS",
     .help = "wait this long for another applier (default 30)"},
    {.names = {"--statement-timeout"}, .kind = TM_FLAG_VALUE,
     .offset = ARG(statement_timeout_s), .parse = parse_seconds, .commands = V_ALL,
     .metavar = "SECONDS", .help = "per statement (default none)"},
    {.names = {"-o", "--output"}, .kind = TM_FLAG_VALUE, .offset = ARG(output),
     .parse = cli_output_parse, .commands = V_ALL, .metavar = CLI_OUTPUT_METAVAR,
     .help = "output format (default table)"},
};

#define NFLAGS (sizeof(cli_flags) / sizeof(cli_flags[0]))

/* ---- verbs, usage, exit codes ------------------------------------------ */

static const struct verb *verb_find(const char *name)
{
    for (size_t i = 0; i < NVERBS; i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}

bool cli_is_verb(const char *verb)
{
    return verb_find(verb) != NULL;
}

size_t cli_verb_commands(struct cli_command *cmds, size_t max)
{
    size_t i;
    for (i = 0; i < NVERBS && i < max; i++)
        cmds[i] = (struct cli_command){.name = verbs[i].name, .line = verbs[i].line,
                                       .flags = cli_flags, .nflags = NFLAGS,
                                       .bit = verbs[i].bit};
    return i;
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

static int usage_error(FILE *errout, const struct verb *v, const char *fmt, ...)
    TM_PRINTF(3, 4);

static int usage_error(FILE *errout, const struct verb *v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(errout, "tidemark %s: ", v->name);
    vfprintf(errout, fmt, ap);
    fprintf(errout, "\nusage: %s\n", v->usage);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

/* The message and exit code of a flag problem (common/flags.h). */
static int flag_error(FILE *errout, const struct verb *v, const struct tm_flag_result *r)
{
    int nl = r->name_len;
    switch (r->problem) {
    case TM_FLAG_NEEDS_VALUE:
        return usage_error(errout, v, "flag %.*s needs a value", nl, r->name);
    case TM_FLAG_TAKES_NO_VALUE:
        return usage_error(errout, v, "flag %.*s takes no value", nl, r->name);
    case TM_FLAG_BAD_VALUE:
        return usage_error(errout, v, "%s: %s", r->flag->names[0], r->why);
    case TM_FLAG_TOO_MANY:
        return usage_error(errout, v, "%s: at most %d", r->flag->names[0], TM_FLAG_LIST_MAX);
    case TM_FLAG_NOT_FOR_COMMAND:
        return usage_error(errout, v, "flag %.*s does not apply to this command", nl, r->name);
    case TM_FLAG_EXTRA_ARG:
        return usage_error(errout, v, "unexpected argument \"%s\"", r->arg);
    case TM_FLAG_MISSING:
        return usage_error(errout, v, "needs %s %s", r->flag->names[0], r->flag->metavar);
    case TM_FLAG_UNKNOWN:
    default:
        return usage_error(errout, v, "unknown flag \"%.*s\"", nl, r->name);
    }
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
    for (size_t i = 0; i < a->props.n && rc == TM_OK; i++) {
        const char *eq = strchr(a->props.items[i], '=');
        char name[256];
        size_t nl = (size_t)(eq - a->props.items[i]);
        if (nl >= sizeof(name)) {
            rc = tm_err_set(err, TM_E_INVAL, "--property: name too long");
            break;
        }
        memcpy(name, a->props.items[i], nl);
        name[nl] = '\0';
        rc = chlog_props_set(&props, name, eq + 1, err);
    }
    /* --flyway SETTING=VALUE wins over a --property flyway.SETTING (later) */
    for (size_t i = 0; i < a->flyway.n && rc == TM_OK; i++) {
        const char *eq = strchr(a->flyway.items[i], '=');
        char name[256];
        int w = snprintf(name, sizeof(name), "flyway.%.*s", (int)(eq - a->flyway.items[i]),
                         a->flyway.items[i]);
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
    fprintf(errout, "tidemark %s: %s\n", a->verb->name, err->msg[0] ? err->msg : tm_code_name(rc));
    return exit_of(rc);
}

/* Opens what a->verb needs: --changelog into l (zeroed when not needed)
 * and the database into *db (NULL when not needed).  -1 when all worked;
 * otherwise the error is printed, nothing is left open, and the exit code
 * is returned. */
static int open_inputs(const struct cli_args *a, struct loaded *l, struct pgx_conn **db,
                       FILE *errout)
{
    struct tm_err err;
    tm_err_clear(&err);
    memset(l, 0, sizeof(*l));
    *db = NULL;
    enum verb_needs needs = a->verb->needs;
    if (needs != NEEDS_DB) {
        enum tm_code rc = load_changelog(a, l, errout, &err);
        if (rc != TM_OK)
            return fail(errout, a, &err, rc);
    }
    if (needs == NEEDS_CHANGELOG && !a->url)
        return -1;
    *db = connect_db(a, &err);
    if (!*db) {
        loaded_release(l);
        return fail(errout, a, &err, err.code);
    }
    return -1;
}

/* The rules between flags that the table cannot say; checked before
 * anything is opened.  -1 when they hold, else the exit code. */
static int check_usage(const struct cli_args *a, FILE *errout)
{
    const struct verb *v = a->verb;
    if (v->bit == V_ROLLBACK && !a->to_tag && a->count < 0)
        return usage_error(errout, v, "needs --to-tag T or --count N");
    if (v->bit == V_ROLLBACK && a->to_tag && a->count >= 0)
        return usage_error(errout, v, "--to-tag and --count exclude each other");
    if (v->bit == V_TAG && (!a->positional || !*a->positional))
        return usage_error(errout, v, "needs a tag NAME");
    return -1;
}

/* -o json or yaml: one tree, written as the flag says, then freed. */
static void print_doc(FILE *out, const struct cli_args *a, cJSON *root)
{
    char who[64];
    snprintf(who, sizeof(who), "tidemark %s", a->verb->name);
    cli_output_write(out, a->output, root, stderr, who);
}

/* -o json or -o yaml: a document, not a table. */
static bool structured(const struct cli_args *a)
{
    return a->output != CLI_OUTPUT_TABLE;
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

static void status_json(FILE *out, const struct cli_args *a, const struct chlog *cl,
                        const struct engine_status *s)
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
    print_doc(out, a, root);
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

static int run_status(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                      FILE *out, FILE *errout)
{
    struct tm_err err;
    struct engine_status s;
    tm_err_clear(&err);
    engine_status_init(&s);
    enum tm_code rc =
        engine_status_read_filtered(db, cl, a->table, a->context, a->label_filter, &s, &err);
    int code = CLI_EXIT_OK;
    if (rc != TM_OK) {
        code = fail(errout, a, &err, rc);
    } else {
        if (structured(a))
            status_json(out, a, cl, &s);
        else
            status_table(out, cl, &s);
        if (s.ndrift > 0)
            code = CLI_EXIT_DRIFT;
    }
    engine_status_release(&s);
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

static int run_update(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                      FILE *out, FILE *errout)
{
    struct tm_err err;
    tm_err_clear(&err);
    struct progress prog = {out, structured(a)};
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
    o.rollback_only = a->verb->bit == V_ROLLBACK;
    o.progress = on_step;
    o.progress_ctx = &prog;
    struct engine_result res;
    engine_result_init(&res);
    enum tm_code rc = engine_run(db, cl, &o, &res, &err);
    for (size_t i = 0; i < res.nwarnings; i++) /* precondition onFail/onError WARN */
        fprintf(errout, "warning: %s\n", res.warnings[i]);
    if (structured(a)) {
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
        print_doc(out, a, root);
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
    return code;
}

/* ---- validate ------------------------------------------------------------ */

static int run_validate(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                        FILE *out, FILE *errout)
{
    struct tm_err err;
    tm_err_clear(&err);
    size_t ntags = 0;
    for (size_t i = 0; i < cl->nsets; i++)
        ntags += cl->sets[i].tag != NULL;
    struct engine_status s;
    engine_status_init(&s);
    int code = CLI_EXIT_OK;
    bool checked = false;
    if (db) {
        enum tm_code rc = engine_status_read(db, cl, a->table, NULL, &s, &err);
        if (rc != TM_OK) {
            engine_status_release(&s);
            return fail(errout, a, &err, rc);
        }
        checked = true;
        if (s.ndrift > 0)
            code = CLI_EXIT_DRIFT;
    }
    if (structured(a)) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddBoolToObject(root, "valid", code == CLI_EXIT_OK);
        cJSON_AddNumberToObject(root, "changeSets", (double)cl->nsets);
        cJSON *tags = cJSON_AddArrayToObject(root, "tags");
        for (size_t i = 0; i < cl->nsets; i++)
            if (cl->sets[i].tag)
                cJSON_AddItemToArray(tags, cJSON_CreateString(cl->sets[i].tag));
        if (checked)
            cJSON_AddNumberToObject(root, "drift", (double)s.ndrift);
        print_doc(out, a, root);
    } else {
        fprintf(out, "changelog ok: %zu changesets, %zu tags\n", cl->nsets, ntags);
        if (checked)
            status_table(out, cl, &s);
    }
    if (code == CLI_EXIT_DRIFT)
        fprintf(errout, "tidemark validate: the history has drifted from the changelog\n");
    engine_status_release(&s);
    return code;
}

/* ---- lint ---------------------------------------------------------------- */

static int run_lint(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                    FILE *out, FILE *errout)
{
    struct tm_err err;
    struct lint_report r;
    tm_err_clear(&err);
    lint_report_init(&r);
    enum tm_code rc = TM_OK;
    struct lint_opts lo = {.destructive = a->policy, .require_rollback = a->require_rollback};
    size_t checked = 0;
    if (db) {
        /* only what an update would apply */
        struct engine_history h;
        struct plan p;
        plan_init(&p);
        rc = engine_history_read(db, a->table, cl->format == CHLOG_FORMAT_FLYWAY, &h, &err);
        if (rc == TM_OK) {
            struct plan_opts po = {.tag = a->to_tag, .count = -1, .context = a->context,
                                   .label_filter = a->label_filter,
                                   .allow_drift = true};
            rc = plan_build(cl, &h, &po, &p, &err);
            if (rc == TM_OK) {
                checked = p.nsteps;
                rc = lint_plan(cl, &p, &lo, &r, &err);
            }
            plan_release(&p);
            engine_history_release(&h);
        }
    } else {
        for (size_t i = 0; i < cl->nsets && rc == TM_OK; i++) {
            const struct select_run run = {a->context, a->label_filter};
            bool sel = false;
            rc = select_changeset(&run, &cl->sets[i], &sel, &err);
            if (rc == TM_OK && sel) {
                rc = lint_changeset(&cl->sets[i], &lo, &r, &err);
                checked++;
            }
        }
        if (rc == TM_OK && r.ndenied > 0)
            rc = TM_E_POLICY;
    }
    if (rc != TM_OK && rc != TM_E_POLICY) {
        lint_report_release(&r);
        return fail(errout, a, &err, rc);
    }
    if (structured(a)) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "checkedChangeSets", (double)checked);
        cJSON_AddNumberToObject(root, "denied", (double)r.ndenied);
        cJSON_AddItemToObject(root, "findings", lint_json(&r));
        print_doc(out, a, root);
    } else {
        lint_table(out, &r);
        fprintf(out, "%zu changesets checked, %zu findings, %zu denied\n", checked, r.n,
                r.ndenied);
    }
    int code = r.ndenied > 0 ? CLI_EXIT_DRIFT : CLI_EXIT_OK;
    lint_report_release(&r);
    return code;
}

/* ---- plan ---------------------------------------------------------------- */

static void plan_table(FILE *out, const struct plan_review *r)
{
    char sh[PLAN_REVIEW_SHORT_HASH + 1];
    fprintf(out, "plan hash    %s\n", r->hash);
    fprintf(out, "instance     %s\n", r->instance);
    fprintf(out, "direction    %s to tag %s: %zu changeset(s)\n",
            plan_review_direction_name(r->direction), r->tag, r->total);
    for (size_t i = 0; i < r->nlisted; i++) {
        const struct plan_review_step *s = &r->listed[i];
        plan_review_short_hash(s->sql_hash, sh, sizeof(sh));
        fprintf(out, "  %-9s %s  sql %s", plan_review_action_name(s->action), s->changeset, sh);
        const char *sep = "  destructive: ";
        for (int k = 0; k <= (int)LINT_NO_ROLLBACK; k++) {
            if (!(s->destructive & (1u << k)))
                continue;
            fprintf(out, "%s%s", sep, lint_kind_name((enum lint_kind)k));
            sep = ", ";
        }
        fputc('\n', out);
    }
    if (r->total > r->nlisted)
        fprintf(out, "  ... and %zu more\n", r->total - r->nlisted);
    if (r->direction != PLAN_REVIEW_NONE)
        fprintf(out, "approve with spec.approvedPlanHash: \"%s\"\n", r->hash);
}

/* The plan a DBRollout of --instance to --to-tag would run (engine/plan_review.h):
 * the same selection as the rollout (contexts, labels), its hash printed for
 * an approval. */
static int run_plan(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                    FILE *out, FILE *errout)
{
    struct tm_err err;
    struct engine_history h;
    struct plan p;
    struct plan_review *r = malloc(sizeof(*r));
    tm_err_clear(&err);
    plan_init(&p);
    engine_history_init(&h);
    enum tm_code rc = r ? TM_OK : tm_err_set(&err, TM_E_NOMEM, "out of memory");
    if (rc == TM_OK)
        rc = engine_history_read(db, a->table, cl->format == CHLOG_FORMAT_FLYWAY, &h, &err);
    struct plan_opts po = {.tag = a->to_tag, .count = -1, .context = a->context,
                           .label_filter = a->label_filter, .allow_drift = a->allow_drift};
    if (rc == TM_OK)
        rc = plan_build(cl, &h, &po, &p, &err);
    if (rc == TM_OK)
        rc = plan_review_build(cl, &p, a->instance, a->to_tag, r, &err);
    int code = CLI_EXIT_OK;
    if (rc != TM_OK)
        code = fail(errout, a, &err, rc);
    else if (structured(a))
        print_doc(out, a, plan_review_json(r));
    else
        plan_table(out, r);
    plan_release(&p);
    engine_history_release(&h);
    free(r);
    return code;
}

/* ---- tag / history ------------------------------------------------------- */

static int run_tag(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                   FILE *out, FILE *errout)
{
    struct tm_err err;
    tm_err_clear(&err);
    enum tm_code rc = engine_tag(db, a->table, a->positional, &err);
    if (rc != TM_OK)
        return fail(errout, a, &err, rc);
    if (structured(a)) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "tag", a->positional);
        print_doc(out, a, root);
    } else {
        fprintf(out, "tagged the newest change with %s\n", a->positional);
    }
    return CLI_EXIT_OK;
}

static int run_history(const struct cli_args *a, const struct chlog *cl, struct pgx_conn *db,
                       FILE *out, FILE *errout)
{
    struct tm_err err;
    struct engine_history h;
    tm_err_clear(&err);
    bool flyway = a->table && strstr(a->table, "flyway_schema_history") != NULL;
    enum tm_code rc = engine_history_read(db, a->table, flyway, &h, &err);
    if (rc != TM_OK)
        return fail(errout, a, &err, rc);
    static const char *types[] = {"EXECUTED", "MARK_RAN", "RERAN", "FAILED", "OTHER"};
    if (structured(a)) {
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
        print_doc(out, a, root);
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
    const struct verb *v = verb_find(argv[0]);
    if (!v) {
        fprintf(errout, "tidemark: unknown command \"%s\"\n", argv[0]);
        return CLI_EXIT_USAGE;
    }
    struct cli_args a;
    memset(&a, 0, sizeof(a));
    a.verb = v;
    a.count = -1;
    a.lock_timeout_s = 30;
    a.policy = v->bit == V_LINT ? LINT_DENY : LINT_ALLOW;
    const struct tm_flag_set set = {cli_flags, NFLAGS, v->bit, v->max_args, false};
    struct tm_flag_result r;
    if (tm_flags_parse(&set, argc, argv, &a, &r) != TM_OK)
        return flag_error(errout, v, &r);
    if (r.help) {
        fprintf(out, "%s\n\nusage: %s\n\nflags:\n", v->summary, v->usage);
        tm_flags_help(out, cli_flags, NFLAGS, V_ALL, 24);
        return CLI_EXIT_OK;
    }
    a.positional = r.nargs ? r.args[0] : NULL;
    int code = check_usage(&a, errout);
    if (code >= 0)
        return code;
    struct loaded l;
    struct pgx_conn *db;
    code = open_inputs(&a, &l, &db, errout);
    if (code >= 0)
        return code;
    code = v->run(&a, l.cl, db, out, errout);
    pgx_conn_free(db);
    loaded_release(&l);
    return code;
}
