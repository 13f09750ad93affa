/* change_data: Liquibase's data change types compiled for PostgreSQL -
 * insert, update, delete, loadData and loadUpdateData - as Liquibase 4.33.0
 * does it (sources read: liquibase/change/core/{InsertDataChange,
 * UpdateDataChange,DeleteDataChange,AbstractModifyDataChange,LoadDataChange,
 * LoadDataColumnConfig,LoadUpdateDataChange}.java, liquibase/change/
 * ColumnConfig.java, liquibase/sqlgenerator/core/{InsertGenerator,
 * InsertSetGenerator,UpdateGenerator,DeleteGenerator,InsertOrUpdateGenerator,
 * InsertOrUpdateGeneratorPostgres}.java, liquibase/util/SqlUtil.java
 * replacePredicatePlaceholders, liquibase/util/{BooleanUtil,NowAndTodayUtil}
 * .java, liquibase/io/EmptyLineAndCommentSkippingInputStream.java,
 * liquibase/util/csv/CSVReader.java and the opencsv 5.11.2 RFC4180Parser and
 * CSVReader it configures).
 *
 * What comes out, and the rules decided here (and why):
 *   - insert: INSERT INTO t (cols in changelog order) VALUES (...); columns
 *     with autoIncrement="true" are left out; a repeated column name keeps its
 *     first position and its last value (LinkedHashMap).
 *   - update: UPDATE t SET <columns sorted by name> WHERE <where>; delete:
 *     DELETE FROM t [WHERE ...].  whereParams replace :name, :value and ? in
 *     the trimmed where text, in order.
 *   - loadData: one INSERT per 51 rows ("VALUES (..),(..)") or, when a row
 *     needs a JDBC prepared statement in Liquibase (usePreparedStatements,
 *     BLOB/CLOB columns), one INSERT per such row - and, exactly as Liquibase
 *     does for PostgreSQL, the rows that did not need one are then NOT loaded.
 *   - loadUpdateData: one DO $$ BEGIN UPDATE ...; IF not found THEN INSERT
 *     ...; END IF; END; $$ LANGUAGE plpgsql block per row; its automatic
 *     rollback deletes each row by its primaryKey.  The others have none.
 *   - Checksums: insert/update/delete hash their StringChangeLogSerializer
 *     form (change_int.h schemas); loadData/loadUpdateData hash
 *     "<tableName>:9:<md5 of the CSV without \r, blank lines, comment lines,
 *     leading and trailing newline>" exactly as Liquibase's byte-level
 *     EmptyLineAndCommentSkippingInputStream produces it.
 *   - Column types in loadData: Liquibase asks a live database for the type of
 *     every CSV column the changelog leaves untyped (a snapshot of the table).
 *     tidemark compiles without a connection, so an untyped column is treated
 *     the way Liquibase treats it when that snapshot is unavailable (what
 *     `update-sql` produces): the cell as a quoted string, which PostgreSQL
 *     converts to the column's type, "NULL" and empty cells as NULL.  Where the
 *     live snapshot gives a different row (an empty cell in an untyped
 *     varchar/char column becomes '' in Liquibase; untyped text columns are
 *     loaded as CLOBs; untyped boolean cells other than PostgreSQL's
 *     spellings; untyped date cells 'now'/'today') give the column a type in
 *     the changelog to get the same row from both tools.
 *   - An empty line in a CSV ends it, as in Liquibase (opencsv returns no
 *     record for it and LoadDataChange stops); "#" lines and blank-only lines
 *     are skipped; the header line is never a comment.
 *   - Values Liquibase binds to a JDBC prepared statement are written as
 *     literals instead (same rows).  A date/datetime/time CSV cell of
 *     "now"/"today" (with offsets) is the database's LOCALTIMESTAMP(3),
 *     CAST(LOCALTIMESTAMP(3) AS DATE) or LOCALTIME(3) instead of the JVM's
 *     clock.  A base64 BLOB cell is decode(..., 'base64') (Liquibase 4.33.0's
 *     binding of it fails on a bytea column).
 *   - loadUpdateData's rollback compares the key with the CSV text
 *     (id = '1'); Liquibase, snapshotting the table, writes id = 1: the same
 *     rows go.
 *   - Refused with an error naming them: valueBlobFile, BLOB cells that are
 *     file names (binary files cannot be read), encodings other than UTF-8,
 *     multi-byte separator or quote characters, gzipped CSVs. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/change_int.h"
#include "changelog/chlog_int.h"
#include "common/buf.h"
#include "common/caps.h"

#define SQL_CAP TM_CAP_CHANGELOG_TOTAL /* one change's SQL */
#define INSERT_BATCH 50                /* InsertSetStatement batch threshold */

/* ---- small helpers ------------------------------------------------------- */

struct strv {
    char **v;
    size_t n, alloc;
};

static void strv_release(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->alloc = 0;
}

/* Appends str (taken: freed on failure). */
static enum tm_code strv_push_take(struct strv *s, char *str)
{
    if (!str)
        return TM_E_NOMEM;
    char **nv = chlog_grow(s->v, s->n, &s->alloc, sizeof(*nv), 8);
    if (!nv) {
        free(str);
        return TM_E_NOMEM;
    }
    s->v = nv;
    s->v[s->n++] = str;
    return TM_OK;
}

/* Java String.trim(): drops chars <= ' ' at both ends.  Returns a copy. */
static char *java_trim_dup(const char *s)
{
    size_t a = 0, b = strlen(s);
    while (a < b && (unsigned char)s[a] <= ' ')
        a++;
    while (b > a && (unsigned char)s[b - 1] <= ' ')
        b--;
    return strndup(s + a, b - a);
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s > ' ')
            return false;
    return true;
}

static bool ieq(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}


static enum tm_code fail(struct tm_err *err, enum tm_code code, const struct chlog_node *n,
                         const char *fmt, ...) TM_PRINTF(4, 5);

static enum tm_code fail(struct tm_err *err, enum tm_code code, const struct chlog_node *n,
                         const char *fmt, ...)
{
    char msg[TM_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return chlog_ld_fail(err, code, n && n->file ? n->file : "?", n ? n->line : 0, 0, "%s",
                         msg);
}

/* ---- values -------------------------------------------------------------- *
 * The Java object a ColumnConfig / CSV cell turns into, and the three ways
 * Liquibase writes one: InsertGenerator.appendValue / UpdateGenerator
 * .convertToString (VAL_INSERT; identical rules), LiquibaseDataType
 * .objectToSql (VAL_WHERE: where parameters, loadUpdateData keys), and a JDBC
 * bind (VAL_BOUND: prepared statements take strings as they are). */
enum cell_kind {
    CELL_NULL = 0,
    CELL_STRING,   /* java.lang.String */
    CELL_BOOL,     /* java.lang.Boolean (b) */
    CELL_NUMBER,   /* ColumnConfig.ValueNumeric: toString() is the text */
    CELL_FUNCTION, /* DatabaseFunction */
    CELL_SQL,      /* SQL tidemark writes for Liquibase's JVM-side value (now, base64) */
    CELL_VALUE,    /* a change_int.h value (valueDate, valueBoolean, valueSequence*) */
};

struct cell {
    enum cell_kind kind;
    char *text; /* owned; NULL for CELL_NULL/CELL_BOOL/CELL_VALUE */
    bool b;
    struct chlog_value v; /* CELL_VALUE (borrows from the node) */
};

enum val_mode { VAL_INSERT, VAL_WHERE, VAL_BOUND };

static void cell_clear(struct cell *c)
{
    free(c->text);
    memset(c, 0, sizeof(*c));
}

/* AbstractSqlGenerator.looksLikeFunctionCall for PostgreSQL (NOW()). */
static bool looks_like_function_call(const char *s)
{
    return strncmp(s, "\"SYSIBM\"", 8) == 0 || strncmp(s, "to_date(", 8) == 0 ||
           strcasecmp(s, "NOW()") == 0;
}

/* AbstractJdbcDatabase.generateDatabaseFunctionValue for a plain function. */
static enum tm_code add_function(struct tm_buf *b, const char *fn)
{
    size_t n = strlen(fn);
    char low[32];
    size_t k = n < sizeof(low) - 1 ? n : sizeof(low) - 1;
    for (size_t i = 0; i < k; i++)
        low[i] = (char)tolower((unsigned char)fn[i]);
    low[k] = '\0';
    if (strncmp(low, "current_timestamp", 17) == 0 || strncmp(low, "current_datetime", 16) == 0 ||
        strcasecmp(fn, "NOW()") == 0)
        return tm_buf_adds(b, "NOW()");
    return tm_buf_adds(b, fn);
}

/* LiquibaseDataType.formatNumber: drops a trailing ".0+" (objectToSql only). */
static enum tm_code add_number_formatted(struct tm_buf *b, const char *s)
{
    size_t n = strlen(s);
    const char *dot = strrchr(s, '.');
    if (dot && dot[1]) {
        const char *p = dot + 1;
        while (*p == '0')
            p++;
        if (!*p)
            n = (size_t)(dot - s);
    }
    return tm_buf_add(b, s, n);
}

static enum tm_code cell_sql(struct tm_buf *b, const struct cell *c, enum val_mode mode,
                             struct tm_err *err)
{
    switch (c->kind) {
    case CELL_NULL:
        return tm_buf_adds(b, "NULL");
    case CELL_STRING:
        if (mode == VAL_BOUND)
            return chlog_sql_add_string(b, c->text);
        if (strcasecmp(c->text, "NULL") == 0)
            return tm_buf_adds(b, "NULL");
        if (mode == VAL_INSERT && looks_like_function_call(c->text))
            return tm_buf_adds(b, c->text);
        return chlog_sql_add_string(b, c->text);
    case CELL_BOOL:
        return tm_buf_adds(b, c->b ? "TRUE" : "FALSE");
    case CELL_NUMBER:
        return mode == VAL_WHERE ? add_number_formatted(b, c->text) : tm_buf_adds(b, c->text);
    case CELL_FUNCTION:
        return add_function(b, c->text);
    case CELL_SQL:
        return tm_buf_adds(b, c->text);
    case CELL_VALUE:
        return chlog_value_sql(b, &c->v, CHLOG_TYPE_OTHER, err);
    }
    return TM_E_INTERNAL;
}

/* True when the cell is SQL NULL where Liquibase tests `value == null ||
 * "NULL".equalsIgnoreCase(value.toString())` (InsertOrUpdateGenerator). */
static bool cell_is_null(const struct cell *c)
{
    if (c->kind == CELL_NULL)
        return true;
    if (c->kind == CELL_VALUE)
        return c->v.kind == CHLOG_VALUE_NULL || c->v.kind == CHLOG_VALUE_NONE;
    return c->text && strcasecmp(c->text, "NULL") == 0;
}

/* ColumnConfig.setValueNumeric(String): "null" -> null; "(x)" loses its
 * parentheses when x parses as a US number (NumberFormat parses a prefix);
 * otherwise the text is a function.  Either way it is written as text. */
static bool java_number_prefix(const char *s)
{
    if (*s == '-')
        s++;
    return isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1]));
}

static enum tm_code cell_numeric(struct cell *c, const char *s)
{
    memset(c, 0, sizeof(*c));
    if (!s || strcasecmp(s, "null") == 0)
        return TM_OK; /* CELL_NULL */
    const char *a = s;
    size_t n = strlen(s);
    if (*a == '(') {
        a++;
        n--;
        if (n && a[n - 1] == ')')
            n--;
    }
    char *inner = strndup(a, n);
    if (!inner)
        return TM_E_NOMEM;
    if (java_number_prefix(inner)) {
        c->kind = CELL_NUMBER;
        c->text = inner;
    } else {
        free(inner);
        c->kind = CELL_FUNCTION;
        c->text = strdup(s);
        if (!c->text)
            return TM_E_NOMEM;
    }
    return TM_OK;
}

static enum tm_code cell_text(struct cell *c, enum cell_kind kind, const char *s)
{
    memset(c, 0, sizeof(*c));
    if (!s)
        return TM_OK;
    c->kind = kind;
    c->text = strdup(s);
    return c->text ? TM_OK : TM_E_NOMEM;
}

/* nextval('schema.seq') as generateDatabaseFunctionValue writes it */
static enum tm_code cell_sequence(struct cell *c, const char *fn, const char *schema,
                                  const char *seq)
{
    memset(c, 0, sizeof(*c));
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_addf(&b, "%s('", fn);
    if (rc == TM_OK)
        rc = chlog_sql_add_table(&b, NULL, schema, seq);
    if (rc == TM_OK)
        rc = tm_buf_adds(&b, "')");
    if (rc != TM_OK)
        return rc;
    c->kind = CELL_SQL;
    c->text = tm_buf_detach(&b, NULL);
    return c->text ? TM_OK : TM_E_NOMEM;
}

/* ISODateFormat.parse succeeds (else ColumnConfig.setValueDate makes the
 * text a function): HH:mm:ss, yyyy-MM-dd, yyyy-MM-dd[T ]HH:mm:ss, with an
 * offset (25 chars) or a fraction after the seconds. */
static bool digits_at(const char *s, const char *shape)
{
    for (; *shape; shape++, s++) {
        if (*shape == 'd' ? !isdigit((unsigned char)*s) : *s != *shape)
            return false;
    }
    return true;
}

static bool looks_iso_date(const char *s)
{
    size_t n = strlen(s);
    if (n == 8)
        return digits_at(s, "dd:dd:dd");
    if (n == 10)
        return digits_at(s, "dddd-dd-dd");
    bool dt = n >= 19 && digits_at(s, "dddd-dd-dd") && (s[10] == 'T' || s[10] == ' ') &&
              digits_at(s + 11, "dd:dd:dd");
    if (n == 19)
        return dt;
    if (!strchr(s, '-') && strchr(s, ':'))
        return !strchr(s, '.') && digits_at(s, "dd:dd:dd");
    if (n == 25 && dt && (s[19] == '+' || s[19] == '-') && digits_at(s + 20, "dd:dd"))
        return true;
    if (!dt || s[19] != '.')
        return false;
    const char *p = s + 20;
    while (isdigit((unsigned char)*p))
        p++;
    return p > s + 20 && (!*p || *p == 'Z' || *p == '+' || *p == '-');
}

/* ---- file access --------------------------------------------------------- */

/* Resolves a file attribute the way sqlFile is: against the changelog's
 * folder when relative, else from the root. */
static enum tm_code resolve_path(const struct chlog_change_env *env, const char *file,
                                 bool relative, char **out, struct tm_err *err)
{
    if (strncmp(file, "classpath:", 10) == 0)
        file += 10;
    return relative ? chlog_path_sibling(env->path, file, out, err)
                    : chlog_path_clean(file, out, err);
}

static enum tm_code read_file(const struct chlog_change_env *env, const struct chlog_node *at,
                              const char *what, const char *file, bool relative, char **data,
                              size_t *len, struct tm_err *err)
{
    char *path = NULL;
    enum tm_code rc = resolve_path(env, file, relative, &path, err);
    if (rc != TM_OK)
        return fail(err, rc, at, "%s: %s", what, err ? err->msg : file);
    rc = chlog_ld_read(env->ld, path, data, len, err);
    if (rc == TM_E_NOTFOUND)
        rc = fail(err, TM_E_NOTFOUND, at, "%s: file %s not found", what, path);
    free(path);
    return rc;
}

/* ---- attribute checks ---------------------------------------------------- */

static bool in_list(const char *name, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(name, *names) == 0)
            return true;
    return false;
}

/* A Boolean attribute: NULL when absent; TM_E_INVAL when not true/false. */
static enum tm_code get_bool(const struct chlog_node *n, const char *name, int *out,
                             struct tm_err *err)
{
    *out = -1;
    const struct chlog_node *k = chlog_node_child(n, name);
    if (!k || !k->value)
        return TM_OK;
    bool ok = false;
    bool v = chlog_parse_bool(k->value, &ok);
    if (!ok)
        return chlog_ld_fail(err, TM_E_INVAL, k->file ? k->file : "?", k->line, 0,
                             "%s: %s must be true or false, not '%s'", n->name, name, k->value);
    *out = v;
    return TM_OK;
}

/* ---- insert / update / delete -------------------------------------------- */

static const struct chlog_field insert_fields[] = {
    {"catalogName", CHLOG_FIELD_STRING, NULL, NULL},
    {"columns", CHLOG_FIELD_LIST, &chlog_schema_column, "column"},
    {"dbms", CHLOG_FIELD_STRING, NULL, NULL},
    {"schemaName", CHLOG_FIELD_STRING, NULL, NULL},
    {"tableName", CHLOG_FIELD_STRING, NULL, NULL},
};
static const struct chlog_schema insert_schema = {"insert", insert_fields, 5, NULL};

/* update/delete: whereParams are validated (as ColumnConfigs) but, as
 * observed from Liquibase 4.33.0, never part of the serialised change, so
 * the checksum uses a copy of the schema that ignores them. */
#define MODIFY_FIELDS(wp_kind)                                                   \
    {"catalogName", CHLOG_FIELD_STRING, NULL, NULL},                             \
        {"schemaName", CHLOG_FIELD_STRING, NULL, NULL},                          \
        {"tableName", CHLOG_FIELD_STRING, NULL, NULL},                           \
        {"where", CHLOG_FIELD_STRING, NULL, NULL},                               \
        {"whereParams", wp_kind, &chlog_schema_column, "param"}

static const struct chlog_field update_fields[] = {
    MODIFY_FIELDS(CHLOG_FIELD_LIST), {"columns", CHLOG_FIELD_LIST, &chlog_schema_column, "column"}};
static const struct chlog_field update_ser_fields[] = {
    MODIFY_FIELDS(CHLOG_FIELD_IGNORED),
    {"columns", CHLOG_FIELD_LIST, &chlog_schema_column, "column"}};
static const struct chlog_schema update_schema = {"update", update_fields, 6, NULL};
static const struct chlog_schema update_ser_schema = {"update", update_ser_fields, 6, NULL};

static const struct chlog_field delete_fields[] = {MODIFY_FIELDS(CHLOG_FIELD_LIST)};
static const struct chlog_field delete_ser_fields[] = {MODIFY_FIELDS(CHLOG_FIELD_IGNORED)};
static const struct chlog_schema delete_schema = {"delete", delete_fields, 5, NULL};
static const struct chlog_schema delete_ser_schema = {"delete", delete_ser_fields, 5, NULL};

/* One column of an insert/update, or one where parameter. */
struct colval {
    const char *name; /* borrowed; NULL for an unnamed where parameter */
    struct cell val;
};

struct colvals {
    struct colval *v;
    size_t n, alloc;
};

static void colvals_release(struct colvals *c)
{
    for (size_t i = 0; i < c->n; i++)
        cell_clear(&c->v[i].val);
    free(c->v);
    memset(c, 0, sizeof(*c));
}

/* Appends (name, val) taking val; a repeated name keeps its slot and gets the
 * new value when dedupe (LinkedHashMap/TreeMap put). */
static enum tm_code colvals_put(struct colvals *c, const char *name, struct cell *val, bool dedupe)
{
    if (dedupe && name) {
        for (size_t i = 0; i < c->n; i++) {
            if (c->v[i].name && strcmp(c->v[i].name, name) == 0) {
                cell_clear(&c->v[i].val);
                c->v[i].val = *val;
                memset(val, 0, sizeof(*val));
                return TM_OK;
            }
        }
    }
    struct colval *nv = chlog_grow(c->v, c->n, &c->alloc, sizeof(*nv), 8);
    if (!nv) {
        cell_clear(val);
        return TM_E_NOMEM;
    }
    c->v = nv;
    c->v[c->n].name = name;
    c->v[c->n].val = *val;
    memset(val, 0, sizeof(*val));
    c->n++;
    return TM_OK;
}

/* ColumnConfig.getValueObject() of a <column>/<param> node.  *bound is set
 * when Liquibase would use a prepared statement (valueClobFile). */
static enum tm_code column_value(const struct chlog_change_env *env, const struct chlog_node *col,
                                 const char *what, const char *schema, struct cell *out,
                                 bool *bound, struct tm_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *clob = chlog_node_text(col, "valueClobFile");
    if (chlog_node_child(col, "valueBlobFile"))
        return fail(err, TM_E_INVAL, col, "%s: valueBlobFile is not supported (binary files "
                                          "cannot be read)", what);
    struct chlog_value v;
    enum tm_code rc = chlog_value_get(col, "value", &v, err);
    if (rc != TM_OK)
        return rc;
    switch (v.kind) {
    case CHLOG_VALUE_STRING:
        return cell_text(out, CELL_STRING, v.text);
    case CHLOG_VALUE_NUMERIC:
        return cell_numeric(out, v.text);
    case CHLOG_VALUE_COMPUTED:
        return cell_text(out, CELL_FUNCTION, v.text);
    case CHLOG_VALUE_SEQ_NEXT:
    case CHLOG_VALUE_SEQ_CURRENT:
        /* prepareColumn gives the function the change's schemaName */
        return cell_sequence(out, v.kind == CHLOG_VALUE_SEQ_NEXT ? "nextval" : "currval", schema,
                             v.text);
    case CHLOG_VALUE_NONE:
    case CHLOG_VALUE_NULL:
        break;
    default:
        out->kind = CELL_VALUE;
        out->v = v;
        return TM_OK;
    }
    /* ColumnConfig.load: no value attribute -> the element's trimmed text */
    if (v.kind == CHLOG_VALUE_NONE && col->value && !blank(col->value)) {
        out->kind = CELL_STRING;
        out->text = java_trim_dup(col->value);
        return out->text ? TM_OK : TM_E_NOMEM;
    }
    if (clob) {
        /* ExecutablePreparedStatementBase: the file beside the changelog, bound
         * as a character stream */
        char *data = NULL;
        size_t len = 0;
        rc = read_file(env, col, what, clob, true, &data, &len, err);
        if (rc != TM_OK)
            return rc;
        out->kind = CELL_STRING;
        out->text = data;
        *bound = true;
    }
    return TM_OK;
}

struct collect_arg {
    const struct chlog_change_env *env;
    const char *schema; /* the change's schemaName (sequence functions) */
    struct colvals *cv;
    const char *what;
    bool skip_auto_increment;
    bool dedupe;
    bool bound;
    struct tm_err *err;
};

static enum tm_code collect_column(const struct chlog_node *col, void *argp)
{
    struct collect_arg *a = argp;
    const char *name = chlog_node_text(col, "name");
    if (a->skip_auto_increment) {
        int ai = -1;
        enum tm_code rc = get_bool(col, "autoIncrement", &ai, a->err);
        if (rc != TM_OK)
            return rc;
        if (ai == 1)
            return TM_OK; /* InsertDataChange.prepareColumn: the database generates it */
    }
    if (!name && a->dedupe)
        return fail(a->err, TM_E_INVAL, col, "%s: a column needs a name", a->what);
    struct cell val;
    enum tm_code rc = column_value(a->env, col, a->what, a->schema, &val, &a->bound, a->err);
    if (rc != TM_OK)
        return rc;
    return colvals_put(a->cv, name, &val, a->dedupe);
}

static int cmp_colval(const void *x, const void *y)
{
    const struct colval *a = x, *b = y;
    return strcmp(a->name, b->name);
}

/* SqlUtil.replacePredicatePlaceholders: trims the predicate, then replaces
 * each :name with the next named parameter's quoted name and each :value or
 * ? with the next parameter's value (objectToSql); extra placeholders stay. */
static enum tm_code add_predicate(struct tm_buf *b, const char *where, const struct colvals *params,
                                  const struct chlog_node *at, struct tm_err *err)
{
    char *w = java_trim_dup(where);
    if (!w)
        return TM_E_NOMEM;
    size_t ni = 0, pi = 0;
    enum tm_code rc = TM_OK;
    const char *p = w;
    while (*p && rc == TM_OK) {
        size_t mlen = 0;
        if (strncmp(p, ":name", 5) == 0)
            mlen = 5;
        else if (strncmp(p, ":value", 6) == 0)
            mlen = 6;
        else if (*p == '?')
            mlen = 1;
        if (!mlen) {
            rc = tm_buf_add(b, p, 1);
            p++;
            continue;
        }
        if (mlen == 5) {
            while (ni < params->n && !params->v[ni].name)
                ni++;
            if (ni < params->n)
                rc = chlog_sql_add_name(b, params->v[ni++].name);
            else
                rc = tm_buf_add(b, p, mlen);
        } else if (pi < params->n) {
            const struct cell *c = &params->v[pi++].val;
            if (cell_is_null(c))
                rc = fail(err, TM_E_INVAL, at, "whereParams: a parameter has no value");
            else
                rc = cell_sql(b, c, VAL_WHERE, err);
        } else {
            rc = tm_buf_add(b, p, mlen);
        }
        p += mlen;
    }
    free(w);
    return rc;
}

static enum tm_code add_table(struct tm_buf *b, const struct chlog_node *n)
{
    return chlog_sql_add_table(b, chlog_node_text(n, "catalogName"),
                               chlog_node_text(n, "schemaName"), chlog_node_text(n, "tableName"));
}

static enum tm_code need_table(const struct chlog_node *n, struct tm_err *err)
{
    const char *t = chlog_node_text(n, "tableName");
    if (!t || blank(t))
        return fail(err, TM_E_INVAL, n, "%s: tableName is required", n->name);
    return TM_OK;
}

static enum tm_code where_params(const struct chlog_change_env *env, const struct chlog_node *node,
                                 struct colvals *params, struct tm_err *err)
{
    struct collect_arg a = {env, chlog_node_text(node, "schemaName"), params, "whereParams", false, false, false, err};
    const struct chlog_node *wp = chlog_node_child(node, "whereParams");
    if (!wp)
        return TM_OK;
    enum tm_code rc = chlog_node_each(wp, "param", NULL, collect_column, &a);
    if (rc == TM_OK && params->n && !chlog_node_text(node, "where"))
        rc = fail(err, TM_E_INVAL, node, "%s: whereParams set but no where clause", node->name);
    return rc;
}

static enum tm_code compile_insert(const struct chlog_change_env *env, const struct chlog_node *node,
                                   struct tm_buf *sql, struct tm_err *err)
{
    struct colvals cv = {0};
    struct collect_arg a = {env, chlog_node_text(node, "schemaName"), &cv, "insert", true, true, false, err};
    enum tm_code rc = chlog_node_each(node, "column", "columns", collect_column, &a);
    if (rc == TM_OK && cv.n == 0)
        rc = fail(err, TM_E_INVAL, node, "insert: columns is required");
    /* InsertGenerator.generateHeader/generateValues */
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, "INSERT INTO ");
    if (rc == TM_OK)
        rc = add_table(sql, node);
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, " (");
    for (size_t i = 0; i < cv.n && rc == TM_OK; i++) {
        rc = i ? tm_buf_adds(sql, ", ") : TM_OK;
        if (rc == TM_OK)
            rc = chlog_sql_add_column(sql, cv.v[i].name, false);
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, ") VALUES (");
    for (size_t i = 0; i < cv.n && rc == TM_OK; i++) {
        rc = i ? tm_buf_adds(sql, ", ") : TM_OK;
        if (rc == TM_OK)
            rc = cell_sql(sql, &cv.v[i].val, a.bound ? VAL_BOUND : VAL_INSERT, err);
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, ")");
    colvals_release(&cv);
    return rc;
}

static enum tm_code compile_update(const struct chlog_change_env *env, const struct chlog_node *node,
                                   struct tm_buf *sql, struct tm_err *err)
{
    struct colvals cv = {0}, params = {0};
    struct collect_arg a = {env, chlog_node_text(node, "schemaName"), &cv, "update", false, true, false, err};
    enum tm_code rc = chlog_node_each(node, "column", "columns", collect_column, &a);
    if (rc == TM_OK && cv.n == 0)
        rc = fail(err, TM_E_INVAL, node, "update: columns is required");
    if (rc == TM_OK)
        rc = where_params(env, node, &params, err);
    if (rc == TM_OK) {
        /* UpdateStatement keeps its new values in a TreeMap: sorted by name */
        qsort(cv.v, cv.n, sizeof(*cv.v), cmp_colval);
        rc = tm_buf_adds(sql, "UPDATE ");
    }
    if (rc == TM_OK)
        rc = add_table(sql, node);
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, " SET");
    for (size_t i = 0; i < cv.n && rc == TM_OK; i++) {
        rc = tm_buf_adds(sql, i ? ", " : " ");
        if (rc == TM_OK)
            rc = chlog_sql_add_column(sql, cv.v[i].name, false);
        if (rc == TM_OK)
            rc = tm_buf_adds(sql, " = ");
        if (rc == TM_OK)
            rc = cell_sql(sql, &cv.v[i].val, a.bound ? VAL_BOUND : VAL_INSERT, err);
    }
    const char *where = chlog_node_text(node, "where");
    if (rc == TM_OK && where) {
        rc = tm_buf_adds(sql, " WHERE ");
        if (rc == TM_OK)
            rc = add_predicate(sql, where, &params, node, err);
    }
    colvals_release(&params);
    colvals_release(&cv);
    return rc;
}

static enum tm_code compile_delete(const struct chlog_change_env *env, const struct chlog_node *node,
                                   struct tm_buf *sql, struct tm_err *err)
{
    struct colvals params = {0};
    enum tm_code rc = where_params(env, node, &params, err);
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, "DELETE FROM ");
    if (rc == TM_OK)
        rc = add_table(sql, node);
    const char *where = chlog_node_text(node, "where");
    if (rc == TM_OK && where) {
        rc = tm_buf_adds(sql, " WHERE ");
        if (rc == TM_OK)
            rc = add_predicate(sql, where, &params, node, err);
    }
    colvals_release(&params);
    return rc;
}

/* ---- CSV reading (opencsv RFC4180Parser + CSVReader.readNext) ------------- */

struct csv {
    const char *p, *end; /* the rest of the file (after a UTF-8 BOM) */
    char sep, quote;
    char *pending; /* RFC4180Parser.pending: an open quoted field + "\n" */
    long records;  /* records returned so far */
};

/* BufferedReader.readLine(): up to \n, \r or \r\n; NULL at the end. */
static bool csv_line(struct csv *c, const char **s, size_t *n)
{
    if (c->p >= c->end)
        return false;
    const char *a = c->p, *q = a;
    while (q < c->end && *q != '\n' && *q != '\r')
        q++;
    *s = a;
    *n = (size_t)(q - a);
    if (q < c->end && *q == '\r') {
        q++;
        if (q < c->end && *q == '\n')
            q++;
    } else if (q < c->end) {
        q++;
    }
    c->p = q;
    return true;
}

static long index_of(const char *s, size_t n, char ch, size_t from)
{
    for (size_t i = from; i < n; i++)
        if (s[i] == ch)
            return (long)i;
    return -1;
}

static size_t count_of(const char *s, char ch)
{
    size_t k = 0;
    for (; *s; s++)
        k += *s == ch;
    return k;
}

/* RFC4180Parser.findEndOfFieldFromPosition */
static size_t csv_field_end(const struct csv *c, const char *s, size_t n, size_t cur)
{
    long nq = index_of(s, n, c->quote, cur + 1);
    bool in_quote = false;
    while (nq != -1 && (size_t)nq < n - 1) {
        if (!in_quote && s[nq + 1] == c->sep)
            return (size_t)nq + 1;
        do {
            nq = index_of(s, n, c->quote, (size_t)nq + 1);
            in_quote = !in_quote;
        } while (nq != -1 && (size_t)nq < n - 1 && s[nq + 1] == c->quote);
    }
    return n;
}

/* RFC4180Parser.handleQuotes, in place. */
static void csv_unquote(const struct csv *c, char *e)
{
    size_t n = strlen(e);
    if (count_of(e, c->quote) != 1 && e[0] == c->quote) {
        memmove(e, e + 1, n);
        n--;
        if (n && e[n - 1] == c->quote)
            e[--n] = '\0';
    }
    char *w = e;
    for (const char *r = e; *r;) {
        if (r[0] == c->quote && r[1] == c->quote) {
            *w++ = c->quote;
            r += 2;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* RFC4180Parser.parseLine(line, multi=true): appends the line's fields to
 * out; an unterminated quoted last field goes to c->pending instead. */
static enum tm_code csv_parse(struct csv *c, const char *line, size_t len, struct strv *out)
{
    struct tm_buf lb;
    tm_buf_init(&lb, TM_CAP_CHANGELOG_FILE + 2);
    enum tm_code rc = TM_OK;
    if (c->pending)
        rc = tm_buf_adds(&lb, c->pending);
    if (rc == TM_OK)
        rc = tm_buf_add(&lb, line, len);
    free(c->pending);
    c->pending = NULL;
    if (rc != TM_OK)
        return rc;
    const char *s = tm_buf_str(&lb);
    size_t n = lb.len;
    size_t first = out->n;
    if (index_of(s, n, c->quote, 0) < 0) {
        /* StringUtils.splitPreserveAllTokens: "" gives no field at all */
        size_t a = 0;
        for (size_t i = 0; n && i <= n && rc == TM_OK; i++) {
            if (i == n || s[i] == c->sep) {
                rc = strv_push_take(out, strndup(s + a, i - a));
                a = i + 1;
            }
        }
        tm_buf_release(&lb);
        return rc;
    }
    size_t cur = 0;
    while (cur < n && rc == TM_OK) {
        long ns = index_of(s, n, c->sep, cur);
        long nq = index_of(s, n, c->quote, cur);
        if (ns == -1) {
            rc = strv_push_take(out, strndup(s + cur, n - cur));
            cur = n;
        } else if (nq == -1 || nq > ns || (size_t)nq != cur) {
            rc = strv_push_take(out, strndup(s + cur, (size_t)ns - cur));
            cur = (size_t)ns + 1;
        } else {
            size_t fe = csv_field_end(c, s, n, cur);
            rc = strv_push_take(out, strndup(s + cur, (fe >= n ? n : fe) - cur));
            cur = fe + 1;
        }
    }
    if (rc == TM_OK && out->n > first) {
        char *last = out->v[out->n - 1];
        size_t ll = strlen(last), q = count_of(last, c->quote);
        bool open = (ll && last[0] == c->quote && last[ll - 1] != c->quote) || q == 1 || q % 2;
        long lastsep = -1;
        for (size_t i = 0; i < n; i++)
            if (s[i] == c->sep)
                lastsep = (long)i;
        if (open) {
            c->pending = malloc(ll + 2);
            if (!c->pending) {
                rc = TM_E_NOMEM;
            } else {
                memcpy(c->pending, last, ll);
                c->pending[ll] = '\n';
                c->pending[ll + 1] = '\0';
                free(last);
                out->n--;
            }
        } else if (lastsep == (long)n - 1) {
            rc = strv_push_take(out, strdup(""));
        }
    }
    for (size_t i = first; i < out->n && rc == TM_OK; i++)
        if (strchr(out->v[i], c->quote))
            csv_unquote(c, out->v[i]);
    tm_buf_release(&lb);
    return rc;
}

/* CSVReader.readNext(): *got false when it returns null - at the end of the
 * file, and also at an empty line (no field), which ends Liquibase's loop. */
static enum tm_code csv_next(struct csv *c, struct strv *row, bool *got, bool *unterminated)
{
    strv_release(row);
    *got = false;
    *unterminated = false;
    do {
        const char *s;
        size_t n;
        if (!csv_line(c, &s, &n)) {
            if (c->pending) {
                *unterminated = true;
                return TM_E_PARSE;
            }
            break;
        }
        enum tm_code rc = csv_parse(c, s, n, row);
        if (rc != TM_OK)
            return rc;
        if (row->n > 0)
            *got = true;
    } while (c->pending);
    if (*got)
        c->records++;
    return TM_OK;
}

/* ---- loadData checksum ---------------------------------------------------- *
 * EmptyLineAndCommentSkippingInputStream, byte for byte, including its single
 * BufferedInputStream mark (a nested look-ahead moves it), so that the rare
 * files where it does not simply "drop blank and comment lines" still hash
 * like Liquibase.  Written as loops: Liquibase's recursion has the same
 * results. */
struct skip_stream {
    const unsigned char *d;
    size_t n, pos, mark;
    int last;  /* lastRead field */
    int c0;    /* first char of commentLineStartsWith, -1 when disabled */
};

static int ss_getc(struct skip_stream *s)
{
    return s->pos < s->n ? s->d[s->pos++] : -1;
}

static int ss_skip_comment(struct skip_stream *s)
{
    int r;
    while ((r = ss_getc(s)) != '\n' && r != '\r' && r > 0)
        ;
    return r;
}

/* read('\n', true): the look-ahead after a newline.  Returns <0 when only
 * skippable bytes remain. */
static int ss_lookahead(struct skip_stream *s)
{
    int lastp = '\n';
    for (;;) {
        int r = ss_getc(s);
        if (s->c0 >= 0 && r == s->c0 && (lastp == '\n' || lastp < 0))
            r = ss_skip_comment(s);
        if (r < 0)
            return r;
        if (r == '\r' || (r == '\n' && lastp == '\n') || (r == '\n' && lastp < 0)) {
            lastp = s->last; /* this.read(): uses the field */
            continue;
        }
        if (r == '\n') {
            s->mark = s->pos; /* nested mark(); its look-ahead continues here */
            lastp = '\n';
            continue;
        }
        return r;
    }
}

static int ss_read(struct skip_stream *s)
{
    for (;;) {
        int lastp = s->last;
        int r = ss_getc(s);
        if (s->c0 >= 0 && r == s->c0 && (lastp == '\n' || lastp < 0))
            r = ss_skip_comment(s);
        if (r < 0)
            return r;
        if (r == '\r' || (r == '\n' && lastp == '\n') || (r == '\n' && lastp < 0))
            continue;
        if (r == '\n') {
            s->mark = s->pos;
            if (ss_lookahead(s) < 0)
                return -1;
            s->pos = s->mark;
        }
        s->last = r;
        return r;
    }
}

static enum tm_code load_checksum(const char *table, const char *data, size_t len,
                                  const char *comment, char out[40])
{
    struct skip_stream s = {(const unsigned char *)data, len, 0, 0, -1,
                            comment && *comment ? (unsigned char)comment[0] : -1};
    struct chlog_md5 m;
    enum tm_code rc = chlog_md5_begin(&m);
    if (rc != TM_OK)
        return rc;
    for (int r = ss_read(&s); r >= 0 && m.ok; r = ss_read(&s))
        chlog_md5_put(&m, (unsigned char)r);
    char inner[33];
    rc = chlog_md5_end(&m, inner);
    /* CheckSum.compute(getTableName() + ":" + CheckSum.compute(stream, true)) */
    return rc == TM_OK ? chlog_checksum_of_parts(table, inner, out) : rc;
}

/* ---- loadData / loadUpdateData ------------------------------------------- */

enum load_type {
    LT_NONE = 0, LT_BOOLEAN, LT_NUMERIC, LT_DATE, LT_STRING, LT_COMPUTED, LT_SEQUENCE,
    LT_BLOB, LT_CLOB, LT_SKIP, LT_UUID, LT_OTHER, LT_UNKNOWN,
};

/* LoadDataColumnConfig.getTypeEnum: LOAD_DATA_TYPE.valueOf(type.toUpperCase()) */
static enum load_type load_type_of(const char *t)
{
    static const char *const names[] = {"BOOLEAN", "NUMERIC", "DATE", "STRING", "COMPUTED",
                                        "SEQUENCE", "BLOB", "CLOB", "SKIP", "UUID", "OTHER",
                                        "UNKNOWN"};
    if (!t)
        return LT_NONE;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(t, names[i]) == 0 && strlen(t) == strlen(names[i]))
            return (enum load_type)(i + 1);
    return LT_UNKNOWN;
}

struct load_col {
    const struct chlog_node *node; /* NULL for a column taken from the header */
    char *name;                    /* owned */
    char *header;                  /* owned; set from the CSV header */
    bool has_index;
    long index;
    const char *type;
    int allow_update; /* -1 unset */
};

struct load {
    const struct chlog_change_env *env;
    const struct chlog_node *node;
    bool update;       /* loadUpdateData */
    bool relative;
    const char *table;
    const char *comment; /* NULL: comments disabled */
    int use_prepared;    /* -1 unset */
    struct load_col *cols;
    size_t ncols, alloc;
    struct tm_err *err;
};

static void load_release(struct load *l)
{
    for (size_t i = 0; i < l->ncols; i++) {
        free(l->cols[i].name);
        free(l->cols[i].header);
    }
    free(l->cols);
    l->cols = NULL;
    l->ncols = l->alloc = 0;
}

static struct load_col *load_add_col(struct load *l)
{
    struct load_col *nc = chlog_grow(l->cols, l->ncols, &l->alloc, sizeof(*nc), 8);
    if (!nc)
        return NULL;
    l->cols = nc;
    struct load_col *c = &l->cols[l->ncols++];
    memset(c, 0, sizeof(*c));
    c->allow_update = -1;
    return c;
}

static enum tm_code load_column_cfg(const struct chlog_node *col, void *argp)
{
    struct load *l = argp;
    struct load_col *c = load_add_col(l);
    if (!c)
        return TM_E_NOMEM;
    c->node = col;
    const char *name = chlog_node_text(col, "name");
    const char *header = chlog_node_text(col, "header");
    if ((name && !(c->name = strdup(name))) || (header && !(c->header = strdup(header))))
        return TM_E_NOMEM;
    c->type = chlog_node_text(col, "type");
    const char *idx = chlog_node_text(col, "index");
    if (idx) {
        char *e = NULL;
        long v = strtol(idx, &e, 10);
        if (!*idx || *e || v < 0 || v > INT32_MAX)
            return fail(l->err, TM_E_INVAL, col, "loadData column: index must be an integer, "
                                                 "not '%s'", idx);
        c->has_index = true;
        c->index = v;
    }
    return get_bool(col, "allowUpdate", &c->allow_update, l->err);
}

/* LoadDataChange.columnConfigFromName + addColumnsFromHeaders */
static enum tm_code load_bind_headers(struct load *l, const struct strv *headers)
{
    for (size_t i = 0; i < headers->n; i++) {
        const char *h = headers->v[i];
        struct load_col *c = NULL;
        for (size_t k = 0; k < l->ncols && !c; k++) {
            struct load_col *x = &l->cols[k];
            if ((x->name && strcmp(h, x->name) == 0) || (x->header && strcmp(h, x->header) == 0) ||
                (x->has_index && x->index == (long)i))
                c = x;
        }
        if (!c) {
            if (blank(h))
                return fail(l->err, TM_E_INVAL, l->node,
                            "%s: unreferenced unnamed column %zu in the CSV header is not "
                            "supported", l->node->name, i + 1);
            c = load_add_col(l);
            if (!c || !(c->name = strdup(h)))
                return TM_E_NOMEM;
        }
        char *nh = strdup(h);
        if (!nh)
            return TM_E_NOMEM;
        free(c->header);
        c->header = nh;
        c->has_index = true;
        c->index = (long)i;
    }
    return TM_OK;
}

/* LoadDataChange.getColumnConfig(index, trimmed header) */
static struct load_col *load_col_for(struct load *l, size_t i, const char *h)
{
    for (size_t k = 0; k < l->ncols; k++) {
        struct load_col *x = &l->cols[k];
        if ((x->has_index && x->index == (long)i) || ieq(x->header, h) || ieq(x->name, h))
            return x;
    }
    return NULL;
}

/* "now"/"today" (NowAndTodayUtil) as SQL for a date/datetime/time column:
 * the database's clock instead of the JVM's. */
static enum tm_code now_today_sql(struct load *l, const char *value, const char *type,
                                  struct cell *out)
{
    char low[64];
    size_t n = strlen(value);
    if (n >= sizeof(low))
        return fail(l->err, TM_E_INVAL, l->node, "%s: improper date value '%s'", l->node->name,
                    value);
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)value[i]);
    bool now = strncmp(low, "now", 3) == 0;
    const char *rest = low + (now ? 3 : 5);
    const char *unit = "day";
    char sign = 0;
    long amount = 0;
    if (*rest) {
        sign = *rest;
        const char *d = rest + 1;
        char *e = NULL;
        amount = (sign == '+' || sign == '-') && isdigit((unsigned char)*d) ? strtol(d, &e, 10) : -1;
        bool bad = amount < 0 || amount > INT32_MAX;
        if (!bad && now) {
            /* units: any prefix of years/days/hours/minutes after [mhdy] */
            if (*e && strncmp("years", e, strlen(e)) == 0)
                unit = "year";
            else if (*e && strncmp("days", e, strlen(e)) == 0)
                unit = "day";
            else if (*e && strncmp("hours", e, strlen(e)) == 0)
                unit = "hour";
            else if (*e && strncmp("minutes", e, strlen(e)) == 0)
                unit = "minute";
            else
                bad = true;
        } else if (!bad && *e) {
            bad = true;
        }
        if (bad)
            return fail(l->err, TM_E_INVAL, l->node, "%s: improper '%s' value '%s'",
                        l->node->name, now ? "NOW" : "TODAY", value);
    }
    const char *base = ieq(type, "date") ? "LOCALTIMESTAMP(3)"
                       : ieq(type, "time") ? "LOCALTIME(3)" : "LOCALTIMESTAMP(3)";
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc = TM_OK;
    bool as_date = ieq(type, "date");
    if (as_date)
        rc = tm_buf_adds(&b, "CAST(");
    if (rc == TM_OK)
        rc = tm_buf_adds(&b, base);
    if (rc == TM_OK && sign)
        rc = tm_buf_addf(&b, " %c INTERVAL '%ld %s'", sign, amount, unit);
    if (rc == TM_OK && as_date)
        rc = tm_buf_adds(&b, " AS DATE)");
    if (rc != TM_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    out->kind = CELL_SQL;
    out->text = tm_buf_detach(&b, NULL);
    return out->text ? TM_OK : TM_E_NOMEM;
}

/* LoadDataChange.BASE64_PATTERN */
static bool is_base64(const char *s)
{
    size_t n = strlen(s);
    if (n % 4)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '+' || ch == '/')
            continue;
        /* '=' only as the last char, or the last two */
        if (ch == '=' && (i == n - 1 || (i == n - 2 && s[n - 1] == '=')))
            continue;
        return false;
    }
    return true;
}

/* The default value a column config holds for an empty cell, by kind. */
static const char *cfg_text(const struct load_col *c, const char *name)
{
    return c->node ? chlog_node_text(c->node, name) : NULL;
}

/* An untyped CSV column whose table column, as declared earlier in the
 * changelog, is a varchar or char: Liquibase types it STRING from its live
 * snapshot of the table, so an empty cell is '' there, not NULL. */
static bool untyped_is_string(const struct load *l, const struct load_col *cfg)
{
    const char *t = chlog_ld_column_type(l->env ? l->env->ld : NULL, l->table,
                                         cfg->name ? cfg->name : cfg->header);
    if (!t)
        return false;
    while (*t == ' ')
        t++;
    static const char *const kinds[] = {"varchar", "nvarchar", "character varying", "char",
                                        "nchar", "character", "varchar2", "nvarchar2",
                                        "java.sql.Types.VARCHAR", "java.sql.Types.CHAR",
                                        "java.sql.Types.NVARCHAR", "java.sql.Types.NCHAR"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i]);
        if (strncasecmp(t, kinds[i], n) == 0 && (t[n] == '\0' || t[n] == '(' || t[n] == ' '))
            return true;
    }
    return false;
}

/* BOOLEAN cell: BooleanUtil.parseBoolean of the text, or
 * defaultValueBoolean for an empty one (nothing when that does not parse). */
static enum tm_code cell_boolean(const struct load_col *cfg, const char *value, struct cell *out)
{
    if (!value) {
        const char *d = cfg_text(cfg, "defaultValueBoolean");
        bool ok = false;
        bool v = d ? chlog_parse_bool(d, &ok) : false;
        if (ok) {
            out->kind = CELL_BOOL;
            out->b = v;
        }
        return TM_OK;
    }
    /* BooleanUtil.parseBoolean */
    char *t = java_trim_dup(value);
    if (!t)
        return TM_E_NOMEM;
    for (char *p = t; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    static const char *const yes[] = {"true", "t", "yes", "y", "1", NULL};
    static const char *const no[] = {"false", "f", "no", "n", "0", NULL};
    bool v = in_list(t, yes);
    if (!v && !in_list(t, no)) {
        char *e = NULL;
        long k = strtol(t, &e, 10);
        size_t tl = strlen(t);
        /* Integer.parseInt: optional sign, digits, fits in an int */
        v = tl && tl <= 11 && !*e && isdigit((unsigned char)t[tl - 1]) && k > 0 &&
            k <= INT32_MAX && t[0] != ' ';
    }
    free(t);
    out->kind = CELL_BOOL;
    out->b = v;
    return TM_OK;
}

/* DATE, DATETIME, TIME cell: an ISO date/time as a date value, now/today as
 * the server's clock, other text as a function; empty: defaultValueDate. */
static enum tm_code cell_date(struct load *l, const struct load_col *cfg, const char *type,
                              const char *value, struct cell *out)
{
    if (!value || !*value || strcasecmp(value, "null") == 0) {
        const char *d = cfg_text(cfg, "defaultValueDate");
        if (!d || !looks_iso_date(d))
            return TM_OK; /* not a Date: getDefaultValueDate() is null */
        out->kind = CELL_VALUE;
        out->v.kind = CHLOG_VALUE_DATE;
        out->v.text = d;
        out->v.node = chlog_node_child(cfg->node, "defaultValueDate");
        return TM_OK;
    }
    if (strncasecmp(value, "now", 3) == 0 || strncasecmp(value, "today", 5) == 0)
        return now_today_sql(l, value, type, out);
    if (!looks_iso_date(value))
        return cell_text(out, CELL_FUNCTION, value);
    out->text = strdup(value);
    if (!out->text)
        return TM_E_NOMEM;
    out->kind = CELL_VALUE;
    out->v.kind = CHLOG_VALUE_DATE;
    out->v.text = out->text;
    out->v.node = NULL; /* the text is the cell's, not an attribute's */
    return TM_OK;
}

/* BLOB cell: base64 text as decode(..., 'base64') in a prepared statement
 * (*bound); loadUpdateData writes the text itself. */
static enum tm_code cell_blob(struct load *l, const char *value, struct cell *out, bool *bound)
{
    if (!value || strcasecmp(value, "NULL") == 0)
        return TM_OK;
    if (l->update) /* loadUpdateData: no prepared statement, the text itself */
        return cell_text(out, CELL_STRING, value);
    if (!is_base64(value))
        return fail(l->err, TM_E_INVAL, l->node,
                    "%s: BLOB cell '%s' names a file; binary files are not supported",
                    l->node->name, value);
    *bound = true;
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE * 2);
    enum tm_code rc = tm_buf_adds(&b, "decode(");
    if (rc == TM_OK)
        rc = chlog_sql_add_string(&b, value);
    if (rc == TM_OK)
        rc = tm_buf_adds(&b, ", 'base64')");
    if (rc != TM_OK)
        return rc;
    out->kind = CELL_SQL;
    out->text = tm_buf_detach(&b, NULL);
    return out->text ? TM_OK : TM_E_NOMEM;
}

/* CLOB cell: loadData loads a file of that name (beside the changelog when
 * relative) when there is one; otherwise (and for loadUpdateData) the text. */
static enum tm_code cell_clob(struct load *l, const char *value, struct cell *out)
{
    if (!value)
        return TM_OK;
    if (!l->update) {
        char *path = NULL, *data = NULL;
        size_t len = 0;
        struct tm_err e2 = {0};
        enum tm_code prc = resolve_path(l->env, value, l->relative, &path, &e2);
        if (prc == TM_OK && l->env->ld->fs->is_dir &&
            l->env->ld->fs->is_dir(l->env->ld->fs->ctx, path))
            prc = TM_E_NOTFOUND;
        if (prc == TM_OK)
            prc = chlog_ld_read(l->env->ld, path, &data, &len, &e2);
        free(path);
        if (prc == TM_OK) {
            out->kind = CELL_STRING;
            out->text = data;
            return TM_OK;
        }
        if (prc != TM_E_NOTFOUND && prc != TM_E_INVAL)
            return tm_err_set(l->err, prc, "%s", e2.msg);
    }
    return cell_text(out, CELL_STRING, value);
}

/* One CSV cell -> its value, as LoadDataChange.generateStatements decides.
 * *bound: Liquibase needs a prepared statement for it.  *skip: SKIP column. */
static enum tm_code load_cell(struct load *l, struct load_col *cfg, const char *raw,
                              struct cell *out, bool *bound)
{
    memset(out, 0, sizeof(*out));
    const char *type = cfg->type;
    const char *ph = cfg_text(cfg, "nullPlaceholder");
    bool is_null = ph ? strcmp(raw, ph) == 0 : strcasecmp(raw, "NULL") == 0;
    const char *value = *raw ? raw : cfg_text(cfg, "defaultValue");
    enum load_type lt = load_type_of(type);
    if (is_null)
        return TM_OK;
    if (!type && !value && untyped_is_string(l, cfg))
        return cell_text(out, CELL_STRING, ""); /* Liquibase: '' for a varchar/char column */
    if (!type)
        return cell_text(out, CELL_STRING, value);
    if (lt == LT_BOOLEAN)
        return cell_boolean(cfg, value, out);
    if (lt == LT_NUMERIC) {
        if (value)
            return cell_numeric(out, value);
        /* getDefaultValueNumeric(): a Number, or null when the attribute
         * did not parse (it became defaultValueComputed) */
        enum tm_code rc = cell_numeric(out, cfg_text(cfg, "defaultValueNumeric"));
        if (rc == TM_OK && out->kind == CELL_FUNCTION)
            cell_clear(out);
        return rc;
    }
    if (ieq(type, "date") || ieq(type, "datetime") || ieq(type, "time"))
        return cell_date(l, cfg, type, value, out);
    if (lt == LT_STRING)
        return cell_text(out, CELL_STRING, value ? value : "");
    if (lt == LT_COMPUTED)
        return cell_text(out, CELL_FUNCTION, value ? value : cfg_text(cfg, "defaultValueComputed"));
    if (lt == LT_SEQUENCE) {
        if (!value)
            return fail(l->err, TM_E_INVAL, l->node, "%s: must set a sequence name in the "
                                                     "loadData column defaultValue attribute",
                        l->node->name);
        return cell_sequence(out, "nextval", chlog_node_text(l->node, "schemaName"), value);
    }
    if (ieq(type, "BLOB"))
        return cell_blob(l, value, out, bound);
    if (lt == LT_CLOB) {
        *bound = true;
        return cell_clob(l, value, out);
    }
    if (lt == LT_UUID || ieq(type, "OTHER") || lt == LT_UNKNOWN) {
        if (!value || strcasecmp(value, "NULL") == 0)
            return TM_OK;
        return cell_text(out, CELL_STRING, value);
    }
    return fail(l->err, TM_E_INVAL, l->node, "%s: type %s is not supported", l->node->name, type);
}

struct load_row {
    struct colvals cols; /* names borrowed from struct load_col */
    bool bound;          /* Liquibase runs it as a prepared statement */
};

static enum tm_code add_insert_header(struct tm_buf *sql, const struct chlog_node *node,
                                      const struct colvals *cv)
{
    enum tm_code rc = tm_buf_adds(sql, "INSERT INTO ");
    if (rc == TM_OK)
        rc = add_table(sql, node);
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, " (");
    for (size_t i = 0; i < cv->n && rc == TM_OK; i++) {
        rc = i ? tm_buf_adds(sql, ", ") : TM_OK;
        if (rc == TM_OK)
            rc = chlog_sql_add_column(sql, cv->v[i].name, false);
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, ") VALUES ");
    return rc;
}

static enum tm_code add_values(struct tm_buf *sql, const struct colvals *cv, enum val_mode mode,
                               struct tm_err *err)
{
    enum tm_code rc = tm_buf_adds(sql, "(");
    for (size_t i = 0; i < cv->n && rc == TM_OK; i++) {
        rc = i ? tm_buf_adds(sql, ", ") : TM_OK;
        if (rc == TM_OK)
            rc = cell_sql(sql, &cv->v[i].val, mode, err);
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, ")");
    return rc;
}

static enum tm_code stmt_sep(struct tm_buf *sql)
{
    return sql->len ? tm_buf_adds(sql, ";\n") : TM_OK;
}

/* The primaryKey condition of InsertOrUpdateGenerator.getWhereClause and
 * LoadUpdateDataChange.getWhere (identical for PostgreSQL). */
static enum tm_code add_pk_where(struct tm_buf *b, const char *pk, const struct colvals *cv,
                                 struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    const char *p = pk;
    bool first = true;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *col = strndup(p, n);
        if (!col)
            return TM_E_NOMEM;
        const struct cell *v = NULL;
        for (size_t i = 0; i < cv->n && !v; i++)
            if (strcmp(cv->v[i].name, col) == 0)
                v = &cv->v[i].val;
        if (!first)
            rc = tm_buf_adds(b, " AND ");
        first = false;
        if (rc == TM_OK)
            rc = chlog_sql_add_column(b, col, false);
        bool null = !v || cell_is_null(v);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, null ? " is NULL" : " = ");
        if (rc == TM_OK && !null)
            rc = cell_sql(b, v, VAL_WHERE, err);
        free(col);
        if (rc != TM_OK || !e)
            return rc;
        p = e + 1;
    }
}

/* InsertOrUpdateGeneratorPostgres.generateSql for one row, without its final
 * ";\n" (the statement separator). */
static enum tm_code add_upsert(struct load *l, struct tm_buf *sql, const char *pk, bool only_update,
                               const struct colvals *cv)
{
    struct tm_buf where;
    tm_buf_init(&where, SQL_CAP);
    enum tm_code rc = add_pk_where(&where, pk, cv, l->err);
    /* the columns to update: all but the key, allowUpdate, sorted by name */
    struct colval *set = NULL;
    size_t nset = 0;
    if (rc == TM_OK && cv->n) {
        set = calloc(cv->n, sizeof(*set));
        if (!set)
            rc = TM_E_NOMEM;
    }
    for (size_t i = 0; i < cv->n && rc == TM_OK; i++) {
        bool is_pk = false;
        const char *p = pk;
        for (;;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (strlen(cv->v[i].name) == n && strncmp(cv->v[i].name, p, n) == 0)
                is_pk = true;
            if (!e)
                break;
            p = e + 1;
        }
        const struct load_col *c = NULL;
        for (size_t k = 0; k < l->ncols && !c; k++)
            if (l->cols[k].name && strcmp(l->cols[k].name, cv->v[i].name) == 0)
                c = &l->cols[k];
        bool allow = !c || c->allow_update != 0;
        if (!is_pk && allow) {
            set[nset] = cv->v[i];
            /* TreeMap: the last value of a repeated name wins */
            size_t k;
            for (k = 0; k < nset; k++)
                if (strcmp(set[k].name, cv->v[i].name) == 0)
                    break;
            set[k] = cv->v[i];
            if (k == nset)
                nset++;
        }
    }
    if (rc == TM_OK) {
        qsort(set, nset, sizeof(*set), cmp_colval);
        rc = tm_buf_adds(sql, "DO\n$$\nBEGIN\n");
    }
    if (rc == TM_OK && nset) {
        rc = tm_buf_adds(sql, "UPDATE ");
        if (rc == TM_OK)
            rc = add_table(sql, l->node);
        if (rc == TM_OK)
            rc = tm_buf_adds(sql, " SET");
        for (size_t i = 0; i < nset && rc == TM_OK; i++) {
            rc = tm_buf_adds(sql, i ? ", " : " ");
            if (rc == TM_OK)
                rc = chlog_sql_add_column(sql, set[i].name, false);
            if (rc == TM_OK)
                rc = tm_buf_adds(sql, " = ");
            if (rc == TM_OK)
                rc = cell_sql(sql, &set[i].val, VAL_INSERT, l->err);
        }
        if (rc == TM_OK)
            rc = tm_buf_addf(sql, " WHERE %s;\n", tm_buf_str(&where));
    } else if (rc == TM_OK) {
        /* "No fields to update in set clause": PERFORM instead */
        rc = tm_buf_adds(sql, "perform * from ");
        if (rc == TM_OK)
            rc = add_table(sql, l->node);
        if (rc == TM_OK)
            rc = tm_buf_addf(sql, " WHERE %s;\n", tm_buf_str(&where));
    }
    if (rc == TM_OK && !only_update) {
        rc = tm_buf_adds(sql, "IF not found THEN\n");
        if (rc == TM_OK)
            rc = add_insert_header(sql, l->node, cv);
        if (rc == TM_OK)
            rc = add_values(sql, cv, VAL_INSERT, l->err);
        if (rc == TM_OK)
            rc = tm_buf_adds(sql, ";\nEND IF;\n");
    }
    if (rc == TM_OK)
        rc = tm_buf_adds(sql, "END;\n$$\nLANGUAGE plpgsql");
    free(set);
    tm_buf_release(&where);
    return rc;
}

static const struct chlog_field load_fields[] = {
    {"catalogName", CHLOG_FIELD_STRING, NULL, NULL},
    {"columns", CHLOG_FIELD_LIST, &chlog_schema_load_column, "column"},
    {"commentLineStartsWith", CHLOG_FIELD_STRING, NULL, NULL},
    {"encoding", CHLOG_FIELD_STRING, NULL, NULL},
    {"file", CHLOG_FIELD_STRING, NULL, NULL},
    {"quotchar", CHLOG_FIELD_STRING, NULL, NULL},
    {"relativeToChangelogFile", CHLOG_FIELD_BOOL, NULL, NULL},
    {"schemaName", CHLOG_FIELD_STRING, NULL, NULL},
    {"separator", CHLOG_FIELD_STRING, NULL, NULL},
    {"tableName", CHLOG_FIELD_STRING, NULL, NULL},
    {"usePreparedStatements", CHLOG_FIELD_BOOL, NULL, NULL},
    /* loadUpdateData only (after the shared ones) */
    {"onlyUpdate", CHLOG_FIELD_BOOL, NULL, NULL},
    {"primaryKey", CHLOG_FIELD_STRING, NULL, NULL},
};
static const struct chlog_schema load_schema = {"loadData", load_fields, 11, NULL};
static const struct chlog_schema load_update_schema = {"loadUpdateData", load_fields, 13, NULL};

static bool utf8_name(const char *e)
{
    return ieq(e, "UTF-8") || ieq(e, "UTF8");
}

/* One changeset's loadData / loadUpdateData. */
/* The rows of a loadData file once read: each its column values. */
struct load_rows {
    struct load_row *v;
    size_t n, alloc;
};

static void load_rows_release(struct load_rows *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        colvals_release(&rs->v[i].cols);
    free(rs->v);
}

/* A new zeroed row at the end of rs, or NULL when out of memory. */
static struct load_row *load_rows_add(struct load_rows *rs)
{
    struct load_row *nr = chlog_grow(rs->v, rs->n, &rs->alloc, sizeof(*nr), 64);
    if (!nr)
        return NULL;
    rs->v = nr;
    struct load_row *r = &rs->v[rs->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

/* The change's attributes into l and csv: the file, primaryKey and
 * onlyUpdate (loadUpdateData), flags, comment prefix, encoding, separator,
 * quote character and column configs; TM_E_INVAL names a bad one. */
static enum tm_code load_options(struct load *l, struct csv *csv, const char **file,
                                 const char **pk, int *only_update)
{
    const struct chlog_node *node = l->node;
    const char *what = node->name;
    struct tm_err *err = l->err;
    enum tm_code rc = chlog_schema_check(l->env->ld, node,
                                         l->update ? &load_update_schema : &load_schema, err);
    if (rc == TM_OK)
        rc = need_table(node, err);
    l->table = chlog_node_text(node, "tableName");
    *file = chlog_node_text(node, "file");
    if (rc == TM_OK && (!*file || !**file))
        rc = fail(err, TM_E_INVAL, node, "%s: file is required", what);
    *pk = chlog_node_text(node, "primaryKey");
    if (rc == TM_OK && l->update && (!*pk || !**pk))
        rc = fail(err, TM_E_INVAL, node, "%s: primaryKey is required", what);
    int rel = -1;
    if (rc == TM_OK)
        rc = get_bool(node, "relativeToChangelogFile", &rel, err);
    if (rc == TM_OK)
        rc = get_bool(node, "usePreparedStatements", &l->use_prepared, err);
    if (rc == TM_OK && l->update)
        rc = get_bool(node, "onlyUpdate", only_update, err);
    l->relative = rel == 1;
    const struct chlog_node *cl = chlog_node_child(node, "commentLineStartsWith");
    if (cl && cl->value) /* setCommentLineStartsWith: null keeps "#", "" disables */
        l->comment = *cl->value ? cl->value : NULL;
    const char *enc = chlog_node_text(node, "encoding");
    if (rc == TM_OK && enc && !utf8_name(enc))
        rc = fail(err, TM_E_INVAL, node, "%s: encoding %s is not supported (UTF-8 only)", what,
                  enc);
    /* setSeparator("\\t") -> tab; CSVReader takes the first character */
    const char *sep = chlog_node_text(node, "separator");
    if (!sep)
        sep = ",";
    if (strcmp(sep, "\\t") == 0)
        sep = "\t";
    const char *quot = chlog_node_text(node, "quotchar");
    if (rc == TM_OK && (!*sep || (unsigned char)sep[0] >= 0x80))
        rc = fail(err, TM_E_INVAL, node, "%s: separator must be one ASCII character", what);
    csv->sep = sep[0];
    if (!quot || blank(quot))
        csv->quote = '\1'; /* StringUtils.trimToEmpty(quotchar).isEmpty() */
    else
        csv->quote = quot[0];
    if (!quot)
        csv->quote = '"';
    if (rc == TM_OK && (unsigned char)csv->quote >= 0x80)
        rc = fail(err, TM_E_INVAL, node, "%s: quotchar must be one ASCII character", what);
    if (rc == TM_OK)
        rc = chlog_node_each(node, "column", "columns", load_column_cfg, l);
    if (rc == TM_OK && chlog_has_suffix(*file, ".gz"))
        rc = fail(err, TM_E_INVAL, node, "%s: gzipped files are not supported: %s", what, *file);
    return rc;
}

/* Reads the header and every data row of the CSV text in csv into rows
 * (LoadDataChange.generateStatements: blank and comment lines skipped, a
 * row with another number of values than the header refused). */
static enum tm_code load_read_rows(struct load *l, struct csv *csv, const char *file,
                                   struct load_rows *rows)
{
    const struct chlog_node *node = l->node;
    const char *what = node->name;
    struct tm_err *err = l->err;
    struct strv headers = {0}, htrim = {0}, row = {0};
    bool got = false, unterminated = false;
    enum tm_code rc = csv_next(csv, &headers, &got, &unterminated);
    if (rc == TM_OK && !got)
        rc = fail(err, TM_E_INVAL, node, "%s: data file %s was empty", what, file);
    if (rc == TM_OK)
        rc = load_bind_headers(l, &headers);
    for (size_t i = 0; i < headers.n && rc == TM_OK; i++)
        rc = strv_push_take(&htrim, java_trim_dup(headers.v[i]));
    long line_no = 1;
    while (rc == TM_OK) {
        rc = csv_next(csv, &row, &got, &unterminated);
        if (rc != TM_OK || !got)
            break;
        line_no++;
        if (row.n == 1 && blank(row.v[0]))
            continue;
        if (l->comment && strncmp(row.v[0], l->comment, strlen(l->comment)) == 0)
            continue;
        if (row.n != headers.n) {
            rc = fail(err, TM_E_INVAL, node,
                      "%s: CSV file %s line %ld has %zu values defined, header has %zu. "
                      "Numbers MUST be equal (check for unquoted string with embedded commas)",
                      what, file, line_no, row.n, headers.n);
            break;
        }
        struct load_row *r = load_rows_add(rows);
        if (!r) {
            rc = TM_E_NOMEM;
            break;
        }
        bool needs = false;
        for (size_t i = 0; i < headers.n && rc == TM_OK; i++) {
            struct load_col *cfg = load_col_for(l, i, htrim.v[i]);
            if (!cfg) /* addColumnsFromHeaders gave every header a config */
                rc = TM_E_INTERNAL;
            else if (!ieq(cfg->type, "skip")) {
                struct cell val;
                rc = load_cell(l, cfg, row.v[i], &val, &needs);
                if (rc == TM_OK)
                    rc = colvals_put(&r->cols, cfg->name ? cfg->name : htrim.v[i], &val, false);
            }
        }
        if (rc != TM_OK)
            break;
        if (!l->update) {
            if (l->use_prepared == 0 && needs)
                rc = fail(err, TM_E_INVAL, node, "%s: usePreparedStatements=false but "
                                                 "prepared statements are required", what);
            r->bound = l->use_prepared >= 0 ? l->use_prepared == 1 : needs;
        }
    }
    if (rc == TM_E_PARSE && unterminated)
        rc = fail(err, TM_E_PARSE, node, "%s: error parsing %s: unterminated quoted field", what,
                  file);
    strv_release(&headers);
    strv_release(&htrim);
    strv_release(&row);
    return rc;
}

/* LoadUpdateDataChange: an upsert per row; rollback (generateRollbackStatements)
 * one DELETE per row, into ch->rollback_auto. */
static enum tm_code load_update_statements(struct load *l, const struct load_rows *rows,
                                           const char *pk, bool only_update,
                                           struct chlog_change *ch, struct tm_buf *sql)
{
    struct tm_buf rb;
    tm_buf_init(&rb, SQL_CAP);
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < rows->n && rc == TM_OK; i++) {
        rc = stmt_sep(sql);
        if (rc == TM_OK)
            rc = add_upsert(l, sql, pk, only_update, &rows->v[i].cols);
        if (rc == TM_OK)
            rc = stmt_sep(&rb);
        if (rc == TM_OK)
            rc = tm_buf_adds(&rb, "DELETE FROM ");
        if (rc == TM_OK)
            rc = add_table(&rb, l->node);
        if (rc == TM_OK)
            rc = tm_buf_adds(&rb, " WHERE ");
        if (rc == TM_OK)
            rc = add_pk_where(&rb, pk, &rows->v[i].cols, l->err);
    }
    if (rc == TM_OK) {
        ch->rollback_auto = tm_buf_detach(&rb, NULL);
        if (!ch->rollback_auto)
            rc = TM_E_NOMEM;
    }
    tm_buf_release(&rb);
    return rc;
}

/* LoadDataChange.generateStatementsFromRows (insert). */
static enum tm_code load_insert_statements(struct load *l, const struct load_rows *rows,
                                           struct tm_buf *sql)
{
    enum tm_code rc = TM_OK;
    bool any_bound = false;
    for (size_t i = 0; i < rows->n; i++)
        any_bound |= rows->v[i].bound;
    if (any_bound) {
        /* PostgreSQL: only the prepared statements run (LB-744); rows that did
         * not need one are dropped, as in Liquibase */
        for (size_t i = 0; i < rows->n && rc == TM_OK; i++) {
            if (!rows->v[i].bound)
                continue;
            rc = stmt_sep(sql);
            if (rc == TM_OK)
                rc = add_insert_header(sql, l->node, &rows->v[i].cols);
            if (rc == TM_OK)
                rc = add_values(sql, &rows->v[i].cols, VAL_BOUND, l->err);
        }
        return rc;
    }
    /* InsertSetGenerator: the first row's columns, 51 rows a statement */
    size_t in_batch = 0;
    for (size_t i = 0; i < rows->n && rc == TM_OK; i++) {
        if (in_batch == 0) {
            rc = stmt_sep(sql);
            if (rc == TM_OK)
                rc = add_insert_header(sql, l->node, &rows->v[0].cols);
        } else {
            rc = tm_buf_adds(sql, ",");
        }
        if (rc == TM_OK)
            rc = add_values(sql, &rows->v[i].cols, VAL_INSERT, l->err);
        if (++in_batch > INSERT_BATCH)
            in_batch = 0;
    }
    return rc;
}

static enum tm_code compile_load(const struct chlog_change_env *env, const struct chlog_node *node,
                                 bool update, struct chlog_change *ch, struct tm_buf *sql,
                                 struct tm_err *err)
{
    struct load l = {env, node, update, false, NULL, "#", -1, NULL, 0, 0, err};
    char *data = NULL;
    size_t len = 0;
    struct load_rows rows = {0};
    struct csv csv = {0};
    const char *file = NULL, *pk = NULL;
    int only_update = -1;

    enum tm_code rc = load_options(&l, &csv, &file, &pk, &only_update);
    if (rc == TM_OK)
        rc = read_file(env, node, node->name, file, l.relative, &data, &len, err);
    if (rc == TM_OK)
        rc = load_checksum(l.table, data, len, l.comment, ch->checksum_v9);
    if (rc == TM_OK) {
        csv.p = data;
        csv.end = data + len;
        if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
            csv.p += 3; /* BomAwareInputStream */
        rc = load_read_rows(&l, &csv, file, &rows);
    }
    if (rc == TM_OK && update)
        rc = load_update_statements(&l, &rows, pk, only_update == 1, ch, sql);
    else if (rc == TM_OK)
        rc = load_insert_statements(&l, &rows, sql);
    free(csv.pending);
    load_rows_release(&rows);
    load_release(&l);
    free(data);
    return rc;
}

/* ---- entry points --------------------------------------------------------- */

bool chlog_change_data_handles(const char *type)
{
    return type && (strcmp(type, "insert") == 0 || strcmp(type, "update") == 0 ||
                    strcmp(type, "delete") == 0 || strcmp(type, "loadData") == 0 ||
                    strcmp(type, "loadUpdateData") == 0);
}

enum tm_code chlog_change_data_compile(const struct chlog_change_env *env,
                                       const struct chlog_node *node, struct chlog_change *ch,
                                       struct tm_err *err)
{
    const char *type = node->name;
    struct tm_buf sql;
    tm_buf_init(&sql, SQL_CAP);
    enum tm_code rc;
    const struct chlog_schema *schema = NULL, *ser = NULL;
    if (strcmp(type, "insert") == 0)
        schema = ser = &insert_schema;
    else if (strcmp(type, "update") == 0)
        schema = &update_schema, ser = &update_ser_schema;
    else if (strcmp(type, "delete") == 0)
        schema = &delete_schema, ser = &delete_ser_schema;
    if (schema) {
        rc = chlog_schema_check(env->ld, node, schema, err);
        if (rc == TM_OK)
            rc = need_table(node, err);
        if (rc == TM_OK && schema == &insert_schema)
            rc = compile_insert(env, node, &sql, err);
        else if (rc == TM_OK && schema == &update_schema)
            rc = compile_update(env, node, &sql, err);
        else if (rc == TM_OK)
            rc = compile_delete(env, node, &sql, err);
        if (rc == TM_OK)
            rc = chlog_schema_checksum(node, ser, ch->checksum_v9, err);
        /* InsertDataChange is a DbmsTargetedChange: lbparse drops it (and its
         * checksum) when the dbms excludes PostgreSQL */
        const char *dbms = schema == &insert_schema ? chlog_node_text(node, "dbms") : NULL;
        if (rc == TM_OK && dbms && !(ch->dbms = strdup(dbms)))
            rc = TM_E_NOMEM;
    } else if (strcmp(type, "loadData") == 0 || strcmp(type, "loadUpdateData") == 0) {
        rc = compile_load(env, node, strcmp(type, "loadUpdateData") == 0, ch, &sql, err);
    } else {
        rc = fail(err, TM_E_INVAL, node, "unknown data change type '%s'", type);
    }
    if (rc == TM_OK) {
        if (env->ld && sql.len > SQL_CAP - env->ld->produced) {
            env->ld->over_cap = true;
            rc = fail(err, TM_E_TOOBIG, node, "%s: generated SQL passes %u bytes", type,
                      (unsigned)SQL_CAP);
        } else if (env->ld) {
            env->ld->produced += sql.len;
        }
    }
    if (rc == TM_OK) {
        size_t n = 0;
        ch->sql = sql.len ? tm_buf_detach(&sql, &n) : strdup("");
        if (!ch->sql)
            rc = TM_E_NOMEM;
    }
    if (rc != TM_OK && rc != TM_E_NOMEM && err && !err->msg[0])
        fail(err, rc, node, "%s: cannot compile", type);
    if (rc == TM_E_TOOBIG && err && !strstr(err->msg, ":"))
        fail(err, rc, node, "%s: too large", type);
    tm_buf_release(&sql);
    return rc;
}
