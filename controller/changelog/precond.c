/* chlog precond: compiles a Liquibase preConditions node (node.h) into the
 * tree of struct chlog_precondition the engine evaluates on PostgreSQL.
 *
 * Design: every check becomes one node; catalog checks are our own SQL over
 * pg_catalog with the names as parameters ($1..), returning 'true'/'false';
 * sqlCheck, rowCount and tableIsEmpty run the user's (or Liquibase's) query
 * and compare its first value; dbms and changeLogPropertyDefined are decided
 * here (the engine only targets PostgreSQL); changeSetExecuted is left to
 * the engine, which knows its history table.  The tree keeps and/or/not, so
 * the engine short-circuits exactly as Liquibase does: a check after a
 * failed sibling of an <and> never runs (the common pattern
 * <tableExists/><sqlCheck>SELECT count(*) FROM that_table</sqlCheck> must not
 * fail on the missing table).  One big query could not do that.
 *
 * Rules (Liquibase 4.33.0 sources, liquibase/precondition/...):
 *   - core/PreconditionContainer.java: onFail/onError HALT (default),
 *     CONTINUE, MARK_RAN, WARN, case-insensitive, anything else is an error;
 *     onFailMessage/onErrorMessage replace the failure text; onSqlOutput
 *     (IGNORE, TEST, FAIL) only matters for updateSQL, which tidemark has
 *     not: checked and otherwise ignored.  The container is an AND.
 *   - core/AndPrecondition.java, OrPrecondition.java, NotPrecondition.java:
 *     and stops at the first failure, or at the first pass, not fails when
 *     any kid passes (a not of several kids is "none of them");
 *     PreconditionLogic.java: "nestedPreconditions" wraps more kids.
 *   - Names on PostgreSQL: database.correctObjectName (PostgresDatabase,
 *     quoting LEGACY) lowercases a name unless it has a '-', mixed case,
 *     starts with a digit or is a reserved word; schemaName null = the
 *     default schema (current_schema()).
 *   - core/TableExistsPrecondition.java, ViewExistsPrecondition.java: the
 *     corrected name in the schema.
 *   - core/ColumnExistsPrecondition.java: with no catalogName and a column
 *     name matching [a-z][a-z_0-9]* (any case), its PostgreSQL query:
 *     schema, table and column compared with lower() on both sides;
 *     otherwise the corrected names, exactly.
 *   - core/IndexExistsPrecondition.java and snapshot/jvm/
 *     IndexSnapshotGenerator.java, diff/compare/core/IndexComparator.java:
 *     indexName OR (tableName and columnNames) is required; with a name the
 *     corrected name must match (and the table when given); without one the
 *     index's key columns, in order, equal columnNames (split on commas,
 *     compared case-insensitively).
 *   - core/ForeignKeyExistsPrecondition.java, ForeignKeyComparator.java:
 *     foreignKeyName compared case-insensitively, foreignKeyTableName too
 *     when given, in the schema.
 *   - core/PrimaryKeyExistsPrecondition.java, PrimaryKeySnapshotGenerator,
 *     PrimaryKeyComparator: primaryKeyName or tableName required; with a
 *     table: that table has a primary key (named primaryKeyName, ignoring
 *     case, when given); without: a primary key of that name in the schema.
 *   - core/SequenceExistsPrecondition.java: its PostgreSQL query, schema as
 *     written (or the default) and relname ILIKE sequenceName.
 *   - core/SqlPrecondition.java: the first value equals expectedResult; no
 *     row or NULL fails; a failing query is an error.
 *   - core/RowCountPrecondition.java (tableName, expectedRows),
 *     TableIsEmptyPrecondition.java (tableName): a query on the table; a
 *     missing table is an error (onError), not a failure.
 *   - core/DBMSPrecondition.java: DatabaseList.definitionMatches(type,
 *     postgresql, false): empty fails.
 *   - core/ChangeSetExecutedPrecondition.java: id, author, changeLogFile
 *     (default: the changelog's own path); ran = EXECUTED, RERAN, MARK_RAN.
 *   - core/RunningAsPrecondition.java: username equals the connection's user
 *     (before any '@') ignoring case.
 *   - core/ChangeLogPropertyDefinedPrecondition.java: the property is set
 *     (and equals value when given); decided from the properties known when
 *     the precondition is compiled.
 * An unknown attribute of a precondition is ignored with a warning in the
 * changelog's warnings (Liquibase ignores it silently).  Stricter than
 * Liquibase: an unknown precondition is an error naming it even without
 * children (Liquibase's STRICT parse mode refuses those with children and
 * skips the others); required attributes are checked here rather than at
 * run time.
 *   - core/UniqueConstraintExistsPrecondition.java, UniqueConstraintComparator:
 *     tableName and (constraintName or columnNames) required; a UNIQUE
 *     constraint of the table (names compared ignoring case) whose name
 *     matches, or whose columns are columnNames in order.
 * Not supported (refused by name): expectedQuotingStrategy,
 * customPrecondition. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/change_int.h"
#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/node.h"
#include "common/buf.h"

/* ---- freeing ---------------------------------------------------------------- */

static void precond_release(struct chlog_precondition *pc)
{
    free(pc->sql);
    free(pc->expected);
    free(pc->on_fail_message);
    free(pc->on_error_message);
    free(pc->what);
    for (size_t i = 0; i < pc->nparams; i++)
        free(pc->params[i]);
    free(pc->params);
    for (size_t i = 0; i < pc->nkids; i++)
        precond_release(&pc->kids[i]);
    free(pc->kids);
    free(pc->cs_id);
    free(pc->cs_author);
    free(pc->cs_file);
    memset(pc, 0, sizeof(*pc));
}

void chlog_precond_free(struct chlog_precondition *pc)
{
    if (!pc)
        return;
    precond_release(pc);
    free(pc);
}

/* ---- helpers ---------------------------------------------------------------- */

static enum tm_code nomem(struct tm_err *err)
{
    return tm_err_set(err, TM_E_NOMEM, "preconditions: out of memory");
}

static bool is(const struct chlog_node *n, const char *name)
{
    return strcmp(n->name, name) == 0;
}

/* "file:line: " + formatted text (malloc'd), NULL on allocation failure. */
static char *where_fmt(const struct chlog_node *n, const char *fmt, ...) TM_PRINTF(2, 3);
static char *where_fmt(const struct chlog_node *n, const char *fmt, ...)
{
    struct tm_buf b;
    tm_buf_init(&b, 4096);
    enum tm_code rc = TM_OK;
    if (n->file && n->line > 0 && n->col > 0)
        rc = tm_buf_addf(&b, "%s:%d:%d: ", n->file, n->line, n->col);
    else if (n->file && n->line > 0)
        rc = tm_buf_addf(&b, "%s:%d: ", n->file, n->line);
    else if (n->file)
        rc = tm_buf_addf(&b, "%s: ", n->file);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (rc == TM_OK)
        rc = tm_buf_adds(&b, msg);
    if (rc != TM_OK) {
        tm_buf_release(&b);
        return NULL;
    }
    return tm_buf_detach(&b, NULL);
}

/* chlog_ld_fail at node n's position. */
#define FAILN(n, err, code, ...) chlog_ld_fail((err), (code), (n)->file, (n)->line, (n)->col, __VA_ARGS__)

/* Liquibase StringUtil.trimToNull on an attribute value. */
static const char *attr(const struct chlog_node *n, const char *name)
{
    const char *v = chlog_node_text(n, name);
    if (!v)
        return NULL;
    while (*v && isspace((unsigned char)*v))
        v++;
    return *v ? v : NULL;
}

/* Copy of v without trailing whitespace; NULL for NULL. ok=false on OOM. */
static char *trimmed_dup(const char *v, bool *ok)
{
    if (!v)
        return NULL;
    size_t n = strlen(v);
    while (n > 0 && isspace((unsigned char)v[n - 1]))
        n--;
    char *s = strndup(v, n);
    if (!s)
        *ok = false;
    return s;
}

/* PostgresDatabase.correctObjectName (quoting LEGACY): lowercase unless the
 * name has '-', mixed case, a leading digit, or is a reserved word (the list
 * of PostgresDatabase's constructor).  malloc'd; NULL for NULL (ok=false on
 * OOM). */
static char *pg_correct(const char *name, bool *ok)
{
    if (!name)
        return NULL;
    bool upper = false, lower = false;
    for (const char *p = name; *p; p++) {
        upper |= isupper((unsigned char)*p) != 0;
        lower |= islower((unsigned char)*p) != 0;
    }
    bool keep = strchr(name, '-') || (upper && lower) || isdigit((unsigned char)name[0]);
    keep = keep || chlog_sql_is_reserved(name);
    char *s = strdup(name);
    if (!s) {
        *ok = false;
        return NULL;
    }
    if (!keep)
        for (char *p = s; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return s;
}

/* A double-quoted identifier ("" doubled) appended to b. */
static enum tm_code add_ident(struct tm_buf *b, const char *id)
{
    enum tm_code rc = tm_buf_adds(b, "\"");
    for (const char *p = id; *p && rc == TM_OK; p++)
        rc = *p == '"' ? tm_buf_adds(b, "\"\"") : tm_buf_add(b, p, 1);
    return rc == TM_OK ? tm_buf_adds(b, "\"") : rc;
}

/* "schema.table" or "table" for messages. */
static void qualified(char *out, size_t n, const char *schema, const char *name)
{
    if (schema)
        snprintf(out, n, "%s.%s", schema, name ? name : "");
    else
        snprintf(out, n, "%s", name ? name : "");
}

/* ---- leaves ----------------------------------------------------------------- */

struct leaf {
    const char *name;
    const char *const *attrs; /* allowed attributes, NULL-ended */
};

/* Appends "file:line: text" to the changelog's warnings (things Liquibase
 * tolerates silently); nothing when the load has no changelog yet. */
static enum tm_code add_warning(struct chlog_ld *ld, const struct chlog_node *n,
                                const char *text, struct tm_err *err)
{
    if (!ld || !ld->c)
        return TM_OK;
    char *w = where_fmt(n, "%s", text);
    char **nv = w ? realloc(ld->c->warnings, (ld->c->nwarnings + 1) * sizeof(*nv)) : NULL;
    if (!nv) {
        free(w);
        return nomem(err);
    }
    ld->c->warnings = nv;
    ld->c->warnings[ld->c->nwarnings++] = w;
    return TM_OK;
}

/* Attributes not in allowed: Liquibase's AbstractLiquibaseSerializable.load
 * skips fields a precondition does not have (changeSetExecuted's
 * "changelog-file" in a real changelog), so they are ignored with a
 * warning; a known attribute holding a structure is an error. */
static enum tm_code only_attrs(struct chlog_ld *ld, const struct chlog_node *n,
                               const char *const *allowed, struct tm_err *err)
{
    for (size_t i = 0; i < n->nkids; i++) {
        const struct chlog_node *k = n->kids[i];
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = is(k, *a);
        if (!ok) {
            char msg[300];
            snprintf(msg, sizeof(msg), "%s: unknown attribute '%s' ignored, as Liquibase does",
                     n->name, k->name);
            enum tm_code rc = add_warning(ld, k, msg, err);
            if (rc != TM_OK)
                return rc;
            continue;
        }
        if (k->nkids > 0)
            return FAILN(k, err, TM_E_INVAL, "%s: '%s' must be a plain value", n->name,
                         k->name);
    }
    return TM_OK;
}

static enum tm_code need(const struct chlog_node *n, const char *v, const char *what,
                         struct tm_err *err)
{
    if (v)
        return TM_OK;
    return FAILN(n, err, TM_E_INVAL, "%s needs %s", n->name, what);
}

/* A CHECK node: sql (copied) with nparams parameters (copied; NULL allowed),
 * expected "true" unless given. */
static enum tm_code set_check(struct chlog_precondition *pc, const char *sql,
                              const char *expected, size_t nparams, const char *const *params,
                              struct tm_err *err)
{
    pc->kind = CHLOG_PRECOND_CHECK;
    pc->sql = strdup(sql);
    pc->expected = strdup(expected ? expected : "true");
    if (!pc->sql || !pc->expected)
        return nomem(err);
    if (nparams > 0) {
        pc->params = calloc(nparams, sizeof(*pc->params));
        if (!pc->params)
            return nomem(err);
        pc->nparams = nparams;
        for (size_t i = 0; i < nparams; i++) {
            if (params[i] && !(pc->params[i] = strdup(params[i])))
                return nomem(err);
        }
    }
    return TM_OK;
}

static const char *const A_TABLE[] = {"catalogName", "schemaName", "tableName", NULL};
static const char *const A_VIEW[] = {"catalogName", "schemaName", "viewName", NULL};
static const char *const A_COLUMN[] = {"catalogName", "schemaName", "tableName", "columnName",
                                       NULL};
static const char *const A_INDEX[] = {"catalogName", "schemaName", "tableName",
                                      "columnNames", "indexName",  NULL};
static const char *const A_FK[] = {"catalogName", "schemaName", "foreignKeyTableName",
                                   "foreignKeyName", NULL};
static const char *const A_UNIQUE[] = {"catalogName", "schemaName", "tableName", "columnNames",
                                       "constraintName", NULL};
static const char *const A_PK[] = {"catalogName", "schemaName", "primaryKeyName", "tableName",
                                   NULL};
static const char *const A_SEQ[] = {"catalogName", "schemaName", "sequenceName", NULL};
static const char *const A_ROWS[] = {"catalogName", "schemaName", "tableName", "expectedRows",
                                     NULL};
static const char *const A_DBMS[] = {"type", NULL};
static const char *const A_EXEC[] = {"id", "author", "changeLogFile", NULL};
static const char *const A_SQL[] = {"expectedResult", "sql", NULL};
static const char *const A_USER[] = {"username", NULL};
static const char *const A_PROP[] = {"property", "value", NULL};

#define SQL_BOOL(q) "SELECT (" q ")::text"

static enum tm_code table_exists(const struct chlog_node *n, struct chlog_precondition *pc,
                                 bool view, struct tm_err *err)
{
    const char *name = attr(n, view ? "viewName" : "tableName");
    enum tm_code rc = need(n, name, view ? "viewName" : "tableName", err);
    if (rc != TM_OK)
        return rc;
    bool ok = true;
    char *schema = pg_correct(attr(n, "schemaName"), &ok);
    char *rel = pg_correct(name, &ok);
    if (ok) {
        const char *params[2] = {schema, rel};
        rc = set_check(pc,
                       view ? SQL_BOOL("EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN "
                                       "pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                       "WHERE n.nspname = COALESCE($1, current_schema()) AND "
                                       "c.relname = $2 AND c.relkind = 'v')")
                            : SQL_BOOL("EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN "
                                       "pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                       "WHERE n.nspname = COALESCE($1, current_schema()) AND "
                                       "c.relname = $2 AND c.relkind IN ('r', 'p'))"),
                       NULL, 2, params, err);
        char q[600];
        qualified(q, sizeof(q), attr(n, "schemaName"), name);
        if (rc == TM_OK && !(pc->what = where_fmt(n, "%s %s does not exist",
                                                  view ? "View" : "Table", q)))
            rc = nomem(err);
    } else {
        rc = nomem(err);
    }
    free(schema);
    free(rel);
    return rc;
}

static bool simple_column_name(const char *s)
{
    if (!isalpha((unsigned char)s[0]))
        return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

static enum tm_code column_exists(const struct chlog_node *n, struct chlog_precondition *pc,
                                  struct tm_err *err)
{
    const char *table = attr(n, "tableName"), *column = attr(n, "columnName");
    enum tm_code rc = need(n, table, "tableName", err);
    if (rc == TM_OK)
        rc = need(n, column, "columnName", err);
    if (rc != TM_OK)
        return rc;
    const char *schema = attr(n, "schemaName");
    char q[600];
    qualified(q, sizeof(q), schema, table);
    if (!(pc->what = where_fmt(n, "Column %s.%s does not exist", q, column)))
        return nomem(err);
    if (!attr(n, "catalogName") && simple_column_name(column)) {
        /* ColumnExistsPrecondition.makeSureColumnExistsInPostgres */
        const char *params[3] = {schema, table, column};
        return set_check(pc,
                         SQL_BOOL("EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE EXISTS "
                                  "(SELECT 1 FROM pg_catalog.pg_class JOIN "
                                  "pg_catalog.pg_namespace ns ON ns.oid = pg_class.relnamespace "
                                  "WHERE lower(ns.nspname) = lower(COALESCE($1, "
                                  "current_schema())) AND lower(relname) = lower($2) AND "
                                  "pg_class.oid = a.attrelid) AND lower(a.attname) = lower($3))"),
                         NULL, 3, params, err);
    }
    bool ok = true;
    char *s = pg_correct(schema, &ok), *t = pg_correct(table, &ok), *c = pg_correct(column, &ok);
    if (ok) {
        const char *params[3] = {s, t, c};
        rc = set_check(pc,
                       SQL_BOOL("EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a JOIN "
                                "pg_catalog.pg_class t ON t.oid = a.attrelid JOIN "
                                "pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE "
                                "n.nspname = COALESCE($1, current_schema()) AND t.relname = $2 "
                                "AND a.attname = $3 AND a.attnum > 0 AND NOT a.attisdropped)"),
                       NULL, 3, params, err);
    } else {
        rc = nomem(err);
    }
    free(s);
    free(t);
    free(c);
    return rc;
}

/* columnNames split on commas (trimmed), each corrected and lowercased, joined
 * with ","; *count gets how many. */
static char *index_columns(const char *list, int *count, bool *ok)
{
    struct tm_buf b;
    tm_buf_init(&b, 65536);
    *count = 0;
    const char *p = list;
    enum tm_code rc = TM_OK;
    while (rc == TM_OK) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        char *one = strndup(p, len);
        if (!one) {
            rc = TM_E_NOMEM;
            break;
        }
        for (char *q = one; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        if (*count > 0)
            rc = tm_buf_adds(&b, ",");
        if (rc == TM_OK)
            rc = tm_buf_adds(&b, one);
        free(one);
        (*count)++;
        if (!e)
            break;
        p = e + 1;
    }
    if (rc != TM_OK) {
        tm_buf_release(&b);
        *ok = false;
        return NULL;
    }
    return tm_buf_detach(&b, NULL);
}

static enum tm_code index_exists(const struct chlog_node *n, struct chlog_precondition *pc,
                                 struct tm_err *err)
{
    const char *name = attr(n, "indexName"), *table = attr(n, "tableName");
    const char *cols = attr(n, "columnNames");
    if (!name && (!table || !cols))
        return FAILN(n, err, TM_E_INVAL, "indexExists needs indexName OR (tableName and columnNames)");
    bool ok = true;
    char *s = pg_correct(attr(n, "schemaName"), &ok), *t = pg_correct(table, &ok);
    char *i = pg_correct(name, &ok);
    int ncols = 0;
    char *c = name ? NULL : index_columns(cols, &ncols, &ok);
    char nbuf[16];
    snprintf(nbuf, sizeof(nbuf), "%d", ncols);
    enum tm_code rc = TM_OK;
    if (!ok) {
        rc = nomem(err);
    } else if (name) {
        const char *params[3] = {s, i, t};
        rc = set_check(pc,
                       SQL_BOOL("EXISTS (SELECT 1 FROM pg_catalog.pg_index x JOIN "
                                "pg_catalog.pg_class i ON i.oid = x.indexrelid JOIN "
                                "pg_catalog.pg_class t ON t.oid = x.indrelid JOIN "
                                "pg_catalog.pg_namespace n ON n.oid = i.relnamespace WHERE "
                                "n.nspname = COALESCE($1, current_schema()) AND i.relname = $2 "
                                "AND ($3::text IS NULL OR t.relname = $3))"),
                       NULL, 3, params, err);
    } else {
        const char *params[4] = {s, t, c, nbuf};
        rc = set_check(pc,
                       SQL_BOOL("EXISTS (SELECT 1 FROM pg_catalog.pg_index x JOIN "
                                "pg_catalog.pg_class t ON t.oid = x.indrelid JOIN "
                                "pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE "
                                "n.nspname = COALESCE($1, current_schema()) AND t.relname = $2 "
                                "AND x.indnkeyatts = $4::int AND (SELECT string_agg(lower("
                                "a.attname), ',' ORDER BY k.ord) FROM unnest(x.indkey::int2[]) "
                                "WITH ORDINALITY AS k(attnum, ord) JOIN pg_catalog.pg_attribute a "
                                "ON a.attrelid = x.indrelid AND a.attnum = k.attnum WHERE k.ord <= "
                                "x.indnkeyatts) = $3)"),
                       NULL, 4, params, err);
    }
    if (rc == TM_OK) {
        char desc[900];
        snprintf(desc, sizeof(desc), "%s%s%s%s%s", name ? name : "", table ? " on " : "",
                 table ? table : "", table && cols ? " columns " : "", table && cols ? cols : "");
        if (!(pc->what = where_fmt(n, "Index %s does not exist", desc)))
            rc = nomem(err);
    }
    free(s);
    free(t);
    free(i);
    free(c);
    return rc;
}

static enum tm_code fk_exists(const struct chlog_node *n, struct chlog_precondition *pc,
                              struct tm_err *err)
{
    const char *name = attr(n, "foreignKeyName");
    enum tm_code rc = need(n, name, "foreignKeyName", err);
    if (rc != TM_OK)
        return rc;
    bool ok = true;
    char *s = pg_correct(attr(n, "schemaName"), &ok);
    char *t = pg_correct(attr(n, "foreignKeyTableName"), &ok);
    if (!ok) {
        rc = nomem(err);
    } else {
        const char *params[3] = {s, name, t};
        rc = set_check(pc,
                       SQL_BOOL("EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k JOIN "
                                "pg_catalog.pg_class t ON t.oid = k.conrelid JOIN "
                                "pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE "
                                "k.contype = 'f' AND n.nspname = COALESCE($1, current_schema()) "
                                "AND lower(k.conname) = lower($2) AND ($3::text IS NULL OR "
                                "lower(t.relname) = lower($3)))"),
                       NULL, 3, params, err);
    }
    if (rc == TM_OK && !(pc->what = where_fmt(n, "Foreign Key %s does not exist", name)))
        rc = nomem(err);
    free(s);
    free(t);
    return rc;
}

static enum tm_code pk_exists(const struct chlog_node *n, struct chlog_precondition *pc,
                              struct tm_err *err)
{
    const char *name = attr(n, "primaryKeyName"), *table = attr(n, "tableName");
    if (!name && !table)
        return FAILN(n, err, TM_E_INVAL, "primaryKeyExists needs primaryKeyName or tableName");
    bool ok = true;
    char *s = pg_correct(attr(n, "schemaName"), &ok), *t = pg_correct(table, &ok);
    enum tm_code rc = TM_OK;
    if (!ok) {
        rc = nomem(err);
    } else {
        const char *params[3] = {s, t, name};
        rc = set_check(pc,
                       SQL_BOOL("EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k JOIN "
                                "pg_catalog.pg_class t ON t.oid = k.conrelid JOIN "
                                "pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE "
                                "k.contype = 'p' AND n.nspname = COALESCE($1, current_schema()) "
                                "AND ($2::text IS NULL OR t.relname = $2) AND ($3::text IS NULL "
                                "OR lower(k.conname) = lower($3)))"),
                       NULL, 3, params, err);
    }
    if (rc == TM_OK) {
        pc->what = table ? where_fmt(n, "Primary Key does not exist on %s", table)
                         : where_fmt(n, "Primary Key %s does not exist", name);
        if (!pc->what)
            rc = nomem(err);
    }
    free(s);
    free(t);
    return rc;
}

/* UniqueConstraintExistsPrecondition + UniqueConstraintComparator: a UNIQUE
 * constraint on the table whose name matches (ignoring case), or, when
 * columnNames are given, whose columns are those, in order. */
static enum tm_code unique_exists(const struct chlog_node *n, struct chlog_precondition *pc,
                                  struct tm_err *err)
{
    const char *table = attr(n, "tableName"), *name = attr(n, "constraintName");
    const char *cols = attr(n, "columnNames");
    enum tm_code rc = need(n, table, "tableName", err);
    if (rc != TM_OK)
        return rc;
    if (!name && !cols)
        return FAILN(n, err, TM_E_INVAL,
                     "constraintName OR columnNames is required for uniqueConstraintExists");
    bool ok = true;
    char *s = pg_correct(attr(n, "schemaName"), &ok);
    int ncols = 0;
    char *c = cols ? index_columns(cols, &ncols, &ok) : NULL;
    if (!ok) {
        rc = nomem(err);
    } else {
        const char *params[4] = {s, table, name, c};
        rc = set_check(pc,
                       SQL_BOOL("EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k JOIN "
                                "pg_catalog.pg_class t ON t.oid = k.conrelid JOIN "
                                "pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE "
                                "k.contype = 'u' AND n.nspname = COALESCE($1, current_schema()) "
                                "AND lower(t.relname) = lower($2) AND (($3::text IS NOT NULL AND "
                                "lower(k.conname) = lower($3)) OR ($4::text IS NOT NULL AND "
                                "(SELECT string_agg(lower(a.attname), ',' ORDER BY u.ord) FROM "
                                "unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord) JOIN "
                                "pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND "
                                "a.attnum = u.attnum) = $4)))"),
                       NULL, 4, params, err);
    }
    if (rc == TM_OK) {
        char desc[900];
        snprintf(desc, sizeof(desc), "%s on %s%s%s", name ? name : "", table,
                 cols ? " columns " : "", cols ? cols : "");
        if (!(pc->what = where_fmt(n, "Unique Constraint %s does not exist", desc)))
            rc = nomem(err);
    }
    free(s);
    free(c);
    return rc;
}

static enum tm_code seq_exists(const struct chlog_node *n, struct chlog_precondition *pc,
                               struct tm_err *err)
{
    const char *name = attr(n, "sequenceName");
    enum tm_code rc = need(n, name, "sequenceName", err);
    if (rc != TM_OK)
        return rc;
    /* SequenceExistsPrecondition.SQL_CHECK_POSTGRES_SEQUENCE_EXISTS: the
     * schema as written, the name with ILIKE */
    const char *params[2] = {attr(n, "schemaName"), name};
    rc = set_check(pc,
                   SQL_BOOL("EXISTS (SELECT c.relname FROM pg_catalog.pg_class c JOIN "
                            "pg_catalog.pg_namespace ns ON c.relnamespace = ns.oid WHERE "
                            "c.relkind = 'S' AND ns.nspname = COALESCE($1, current_schema()) "
                            "AND c.relname ILIKE $2)"),
                   NULL, 2, params, err);
    char q[600];
    qualified(q, sizeof(q), attr(n, "schemaName"), name);
    if (rc == TM_OK && !(pc->what = where_fmt(n, "Sequence %s does not exist", q)))
        rc = nomem(err);
    return rc;
}

/* rowCount / tableIsEmpty: a query on the table itself (a missing table is
 * an error, as in Liquibase). */
static enum tm_code table_rows(const struct chlog_node *n, struct chlog_precondition *pc,
                               bool empty, struct tm_err *err)
{
    const char *table = attr(n, "tableName");
    enum tm_code rc = need(n, table, "tableName", err);
    const char *rows = attr(n, "expectedRows");
    if (rc == TM_OK && !empty)
        rc = need(n, rows, "expectedRows", err);
    if (rc != TM_OK)
        return rc;
    char *end = NULL;
    long long want = 0;
    if (!empty) {
        want = strtoll(rows, &end, 10);
        while (end && isspace((unsigned char)*end))
            end++;
        if (!end || *end)
            return FAILN(n, err, TM_E_INVAL, "rowCount: expectedRows '%s' is not a number", rows);
    }
    bool ok = true;
    char *s = pg_correct(attr(n, "schemaName"), &ok), *t = pg_correct(table, &ok);
    struct tm_buf q;
    tm_buf_init(&q, 4096);
    rc = ok ? tm_buf_adds(&q, empty ? "SELECT CASE WHEN EXISTS (SELECT * FROM "
                                    : "SELECT count(*) FROM ")
            : TM_E_NOMEM;
    if (rc == TM_OK && s) {
        rc = add_ident(&q, s);
        if (rc == TM_OK)
            rc = tm_buf_adds(&q, ".");
    }
    if (rc == TM_OK)
        rc = add_ident(&q, t);
    if (rc == TM_OK && empty)
        rc = tm_buf_adds(&q, ") THEN 'false' ELSE 'true' END");
    char wbuf[32];
    snprintf(wbuf, sizeof(wbuf), "%lld", want);
    if (rc == TM_OK)
        rc = set_check(pc, tm_buf_str(&q), empty ? "true" : wbuf, 0, NULL, err);
    else
        rc = nomem(err);
    if (rc == TM_OK) {
        pc->report_value = !empty;
        pc->what = empty ? where_fmt(n, "Table %s is not empty.", table)
                         : where_fmt(n, "Table %s does not have the expected row count of %lld",
                                     table, want);
        if (!pc->what)
            rc = nomem(err);
    }
    tm_buf_release(&q);
    free(s);
    free(t);
    return rc;
}

static enum tm_code sql_check(const struct chlog_node *n, struct chlog_precondition *pc,
                              struct tm_err *err)
{
    const char *expected = chlog_node_text(n, "expectedResult");
    const char *sql = chlog_node_text(n, "sql");
    if (!sql)
        sql = n->value; /* XML: the element's text (SqlPrecondition's DIRECT_VALUE) */
    enum tm_code rc = need(n, expected, "expectedResult", err);
    if (rc == TM_OK && (!sql || !*sql))
        rc = FAILN(n, err, TM_E_INVAL, "sqlCheck needs SQL");
    if (rc != TM_OK)
        return rc;
    /* SqlPrecondition: getSql().replaceFirst(";$", "") */
    size_t len = strlen(sql);
    if (len > 0 && sql[len - 1] == ';')
        len--;
    else if (len > 1 && sql[len - 1] == '\n' && sql[len - 2] == ';')
        len -= 2;
    char *q = strndup(sql, len);
    if (!q)
        return nomem(err);
    rc = set_check(pc, q, expected, 0, NULL, err);
    free(q);
    if (rc == TM_OK) {
        pc->report_value = true;
        if (!(pc->what = where_fmt(n, "SQL Precondition failed")))
            rc = nomem(err);
    }
    return rc;
}

static enum tm_code dbms_check(const struct chlog_node *n, struct chlog_precondition *pc,
                               struct tm_err *err)
{
    const char *type = attr(n, "type");
    pc->kind = CHLOG_PRECOND_CONST;
    pc->const_pass = type != NULL && chlog_dbms_matches_postgres(type);
    if (!(pc->what = where_fmt(n, "DBMS Precondition failed: expected %s, got postgresql",
                               type ? type : "")))
        return nomem(err);
    return TM_OK;
}

static enum tm_code executed_check(const struct chlog_node *n, struct chlog_precondition *pc,
                                   struct tm_err *err)
{
    const char *id = attr(n, "id"), *author = attr(n, "author");
    enum tm_code rc = need(n, id, "id", err);
    if (rc == TM_OK)
        rc = need(n, author, "author", err);
    if (rc != TM_OK)
        return rc;
    pc->kind = CHLOG_PRECOND_EXECUTED;
    bool ok = true;
    pc->cs_id = trimmed_dup(id, &ok);
    pc->cs_author = trimmed_dup(author, &ok);
    pc->cs_file = trimmed_dup(attr(n, "changeLogFile"), &ok);
    const char *file = attr(n, "changeLogFile");
    if (ok)
        pc->what = where_fmt(n, "Changeset '%s%s%s::%s' has not been run", file ? file : "",
                             file ? "::" : "", id, author);
    if (!ok || !pc->what)
        return nomem(err);
    return TM_OK;
}

static enum tm_code running_as(const struct chlog_node *n, struct chlog_precondition *pc,
                               struct tm_err *err)
{
    const char *user = attr(n, "username");
    enum tm_code rc = need(n, user, "username", err);
    if (rc != TM_OK)
        return rc;
    const char *params[1] = {user};
    rc = set_check(pc, "SELECT (lower(split_part(session_user, '@', 1)) = lower($1))::text",
                   NULL, 1, params, err);
    if (rc == TM_OK && !(pc->what = where_fmt(n, "RunningAs Precondition failed: expected %s",
                                              user)))
        rc = nomem(err);
    return rc;
}

static enum tm_code property_defined(struct chlog_ld *ld, const struct chlog_node *n,
                                     struct chlog_precondition *pc, struct tm_err *err)
{
    const char *prop = attr(n, "property"), *want = chlog_node_text(n, "value");
    enum tm_code rc = need(n, prop, "property", err);
    if (rc != TM_OK)
        return rc;
    const char *got = chlog_props_get(&ld->props, prop);
    pc->kind = CHLOG_PRECOND_CONST;
    pc->const_pass = got && (!want || strcmp(got, want) == 0);
    pc->what = !got ? where_fmt(n, "Changelog property '%s' was not set", prop)
                    : where_fmt(n, "Expected changelog property '%s' to have a value of '%s'.  "
                                   "Got '%s'",
                                prop, want ? want : "", got);
    return pc->what ? TM_OK : nomem(err);
}

/* ---- the tree --------------------------------------------------------------- */

static enum tm_code compile_node(struct chlog_ld *ld, const struct chlog_node *n,
                                 struct chlog_precondition *pc, int depth, struct tm_err *err);

static bool container_attr(const struct chlog_node *k)
{
    return is(k, "onFail") || is(k, "onError") || is(k, "onFailMessage") ||
           is(k, "onErrorMessage") || is(k, "onSqlOutput");
}

/* The precondition children of a logic node n (nestedPreconditions
 * unwrapped) compiled into pc->kids. */
static enum tm_code compile_kids(struct chlog_ld *ld, const struct chlog_node *n,
                                 struct chlog_precondition *pc, bool container, int depth,
                                 struct tm_err *err)
{
    size_t count = 0;
    for (size_t i = 0; i < n->nkids; i++) {
        const struct chlog_node *k = n->kids[i];
        if (container && container_attr(k))
            continue;
        count += is(k, "nestedPreconditions") ? k->nkids : 1;
    }
    if (count == 0)
        return TM_OK;
    pc->kids = calloc(count, sizeof(*pc->kids));
    if (!pc->kids)
        return nomem(err);
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < n->nkids && rc == TM_OK; i++) {
        const struct chlog_node *k = n->kids[i];
        if (container && container_attr(k))
            continue;
        if (is(k, "nestedPreconditions")) {
            for (size_t j = 0; j < k->nkids && rc == TM_OK; j++)
                rc = compile_node(ld, k->kids[j], &pc->kids[pc->nkids++], depth + 1, err);
        } else {
            rc = compile_node(ld, k, &pc->kids[pc->nkids++], depth + 1, err);
        }
    }
    return rc;
}

static enum tm_code parse_option(const struct chlog_node *n, const char *name,
                                 enum chlog_on_fail *out, struct tm_err *err)
{
    const char *v = chlog_node_text(n, name);
    if (!v)
        return TM_OK; /* HALT, the default */
    static const char *const names[] = {"HALT", "CONTINUE", "MARK_RAN", "WARN"};
    static const enum chlog_on_fail vals[] = {CHLOG_ONFAIL_HALT, CHLOG_ONFAIL_CONTINUE,
                                              CHLOG_ONFAIL_MARK_RAN, CHLOG_ONFAIL_WARN};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, names[i]) == 0) {
            *out = vals[i];
            return TM_OK;
        }
    }
    return FAILN(chlog_node_child(n, name), err, TM_E_INVAL,
                 "Unknown %s attribute value '%s'.  Possible values: HALT, CONTINUE, MARK_RAN, "
                 "WARN",
                 name, v);
}

static enum tm_code container(struct chlog_ld *ld, const struct chlog_node *n,
                              struct chlog_precondition *pc, int depth, struct tm_err *err)
{
    pc->kind = CHLOG_PRECOND_AND;
    pc->container = true;
    enum tm_code rc = parse_option(n, "onFail", &pc->on_fail, err);
    if (rc == TM_OK)
        rc = parse_option(n, "onError", &pc->on_error, err);
    if (rc != TM_OK)
        return rc;
    const char *out = chlog_node_text(n, "onSqlOutput");
    if (out && strcasecmp(out, "IGNORE") != 0 && strcasecmp(out, "TEST") != 0 &&
        strcasecmp(out, "FAIL") != 0)
        return FAILN(chlog_node_child(n, "onSqlOutput"), err, TM_E_INVAL,
                     "Unknown onSqlOutput attribute value '%s'.  Possible values: IGNORE, TEST, "
                     "FAIL",
                     out);
    const char *fm = chlog_node_text(n, "onFailMessage");
    const char *em = chlog_node_text(n, "onErrorMessage");
    if ((fm && !(pc->on_fail_message = strdup(fm))) ||
        (em && !(pc->on_error_message = strdup(em))))
        return nomem(err);
    if (!(pc->what = where_fmt(n, "preConditions failed")))
        return nomem(err);
    return compile_kids(ld, n, pc, true, depth, err);
}

static enum tm_code compile_node(struct chlog_ld *ld, const struct chlog_node *n,
                                 struct chlog_precondition *pc, int depth, struct tm_err *err)
{
    if (depth > 64)
        return FAILN(n, err, TM_E_INVAL, "preConditions nested too deep");
    enum tm_code rc;
    if (is(n, "and") || is(n, "or") || is(n, "not")) {
        pc->kind = is(n, "and") ? CHLOG_PRECOND_AND
                   : is(n, "or") ? CHLOG_PRECOND_OR
                                 : CHLOG_PRECOND_NOT;
        rc = compile_kids(ld, n, pc, false, depth, err);
        if (rc == TM_OK && !(pc->what = where_fmt(n, pc->kind == CHLOG_PRECOND_NOT
                                                         ? "Not precondition failed"
                                                         : "%s precondition failed",
                                                  n->name)))
            rc = nomem(err);
        return rc;
    }
    if (is(n, "preConditions") || is(n, "preconditions"))
        return container(ld, n, pc, depth, err);
    static const struct leaf leaves[] = {
        {"tableExists", A_TABLE},      {"viewExists", A_VIEW},
        {"columnExists", A_COLUMN},    {"indexExists", A_INDEX},
        {"foreignKeyConstraintExists", A_FK},
        {"primaryKeyExists", A_PK},    {"sequenceExists", A_SEQ},
        {"uniqueConstraintExists", A_UNIQUE},
        {"rowCount", A_ROWS},          {"tableIsEmpty", A_TABLE},
        {"dbms", A_DBMS},              {"changeSetExecuted", A_EXEC},
        {"sqlCheck", A_SQL},           {"runningAs", A_USER},
        {"changeLogPropertyDefined", A_PROP},
    };
    const struct leaf *l = NULL;
    for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]) && !l; i++)
        if (is(n, leaves[i].name))
            l = &leaves[i];
    if (!l)
        return FAILN(n, err, TM_E_INVAL,
                     "unknown precondition '%s' (supported: tableExists, viewExists, "
                     "columnExists, indexExists, foreignKeyConstraintExists, primaryKeyExists, "
                     "uniqueConstraintExists, sequenceExists, rowCount, tableIsEmpty, dbms, changeSetExecuted, sqlCheck, "
                     "runningAs, changeLogPropertyDefined, and, or, not)",
                     n->name[0] ? n->name : "(a list item without a name)");
    rc = only_attrs(ld, n, l->attrs, err);
    if (rc != TM_OK)
        return rc;
    if (n->value && !is(n, "sqlCheck"))
        return FAILN(n, err, TM_E_INVAL, "%s: unexpected text '%s'", n->name, n->value);
    if (is(n, "tableExists"))
        return table_exists(n, pc, false, err);
    if (is(n, "viewExists"))
        return table_exists(n, pc, true, err);
    if (is(n, "columnExists"))
        return column_exists(n, pc, err);
    if (is(n, "indexExists"))
        return index_exists(n, pc, err);
    if (is(n, "foreignKeyConstraintExists"))
        return fk_exists(n, pc, err);
    if (is(n, "primaryKeyExists"))
        return pk_exists(n, pc, err);
    if (is(n, "sequenceExists"))
        return seq_exists(n, pc, err);
    if (is(n, "uniqueConstraintExists"))
        return unique_exists(n, pc, err);
    if (is(n, "rowCount"))
        return table_rows(n, pc, false, err);
    if (is(n, "tableIsEmpty"))
        return table_rows(n, pc, true, err);
    if (is(n, "dbms"))
        return dbms_check(n, pc, err);
    if (is(n, "changeSetExecuted"))
        return executed_check(n, pc, err);
    if (is(n, "runningAs"))
        return running_as(n, pc, err);
    if (is(n, "changeLogPropertyDefined"))
        return property_defined(ld, n, pc, err);
    return sql_check(n, pc, err);
}

enum tm_code chlog_precond_compile(struct chlog_ld *ld, const struct chlog_node *pre,
                                   struct chlog_precondition **out, struct tm_err *err)
{
    *out = NULL;
    struct chlog_precondition *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return nomem(err);
    enum tm_code rc = container(ld, pre, pc, 0, err);
    if (rc != TM_OK) {
        chlog_precond_free(pc);
        return rc;
    }
    *out = pc;
    return TM_OK;
}
