/* change_sql: identifiers, string literals and column values written the way
 * Liquibase 4.33.0 writes them for PostgreSQL (see change_int.h).
 *
 * Sources followed (liquibase-core 4.33.0):
 *   database/core/PostgresDatabase.java      escapeObjectName (LEGACY mixed case),
 *                                            reservedWords, sequenceNextValueFunction
 *   database/AbstractJdbcDatabase.java       mustQuoteObjectName, quoteObject,
 *                                            escapeColumnName(List), escapeStringForDatabase,
 *                                            generateDatabaseFunctionValue, getDateLiteral
 *   datatype/LiquibaseDataType.java + core/<X>Type.java objectToSql
 *   change/ColumnConfig.java                 load(): which attribute becomes which object */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/change_int.h"
#include "changelog/chlog_int.h"

/* PostgresDatabase() reservedWords: "reserved" and "reserved (can be function
 * or type)" words of PostgreSQL 9.6, sorted for bsearch. */
static const char *const reserved_words[] = {
    "ALL", "ANALYSE", "ANALYZE", "AND", "ANY", "ARRAY", "AS", "ASC", "ASYMMETRIC",
    "AUTHORIZATION", "BINARY", "BOTH", "CASE", "CAST", "CHECK", "COLLATE", "COLLATION",
    "COLUMN", "CONCURRENTLY", "CONSTRAINT", "CREATE", "CROSS", "CURRENT_CATALOG",
    "CURRENT_DATE", "CURRENT_ROLE", "CURRENT_SCHEMA", "CURRENT_TIME", "CURRENT_TIMESTAMP",
    "CURRENT_USER", "DEFAULT", "DEFERRABLE", "DESC", "DISTINCT", "DO", "ELSE", "END",
    "EXCEPT", "FALSE", "FETCH", "FOR", "FOREIGN", "FREEZE", "FROM", "FULL", "GRANT",
    "GROUP", "HAVING", "ILIKE", "IN", "INITIALLY", "INNER", "INTERSECT", "INTO", "IS",
    "ISNULL", "JOIN", "LATERAL", "LEADING", "LEFT", "LIKE", "LIMIT", "LOCALTIME",
    "LOCALTIMESTAMP", "NATURAL", "NOT", "NOTNULL", "NULL", "OFFSET", "ON", "ONLY", "OR",
    "ORDER", "OUTER", "OVERLAPS", "PLACING", "PRIMARY", "REFERENCES", "RETURNING", "RIGHT",
    "SELECT", "SESSION_USER", "SIMILAR", "SOME", "SYMMETRIC", "TABLE", "TABLESAMPLE",
    "THEN", "TO", "TRAILING", "TRUE", "UNION", "UNIQUE", "USER", "USING", "VARIADIC",
    "VERBOSE", "WHEN", "WHERE", "WINDOW", "WITH",
};

static int cmp_word(const void *key, const void *elem)
{
    return strcasecmp((const char *)key, *(const char *const *)elem);
}

bool chlog_sql_is_reserved(const char *name)
{
    return bsearch(name, reserved_words, sizeof reserved_words / sizeof reserved_words[0],
                   sizeof reserved_words[0], cmp_word) != NULL;
}

static bool has_upper(const char *s)
{
    for (; *s; s++)
        if (isupper((unsigned char)*s))
            return true;
    return false;
}

static bool has_lower(const char *s)
{
    for (; *s; s++)
        if (islower((unsigned char)*s))
            return true;
    return false;
}

bool chlog_sql_must_quote(const char *name)
{
    if (has_upper(name) && has_lower(name))
        return true;
    if (strchr(name, '-') || isdigit((unsigned char)name[0]) || chlog_sql_is_reserved(name))
        return true;
    /* NON_WORD_REGEX ".*\W.*": any character outside [A-Za-z0-9_] */
    for (const char *p = name; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_'))
            return true;
    return false;
}

enum tm_code chlog_sql_add_name(struct tm_buf *b, const char *name)
{
    if (has_upper(name) && has_lower(name)) /* PostgresDatabase: quoted as is */
        return tm_buf_addf(b, "\"%s\"", name);
    if (chlog_sql_must_quote(name)) {
        enum tm_code rc = tm_buf_adds(b, "\"");
        for (const char *p = name; *p && rc == TM_OK; p++)
            rc = *p == '"' ? tm_buf_adds(b, "\"\"") : tm_buf_add(b, p, 1);
        return rc == TM_OK ? tm_buf_adds(b, "\"") : rc;
    }
    /* an unquoted name is trimmed */
    const char *s = name, *e = name + strlen(name);
    while (*s == ' ' || *s == '\t')
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return tm_buf_add(b, s, (size_t)(e - s));
}

/* StringUtil.trimToNull */
static bool blank(const char *s)
{
    if (!s)
        return true;
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

enum tm_code chlog_sql_add_table(struct tm_buf *b, const char *catalog, const char *schema,
                                 const char *name)
{
    (void)catalog; /* PostgresDatabase.supportsCatalogInObjectName() is false */
    enum tm_code rc = TM_OK;
    if (!blank(schema)) {
        const char *s = schema, *e = schema + strlen(schema);
        while (isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        char *t = strndup(s, (size_t)(e - s));
        if (!t)
            return TM_E_NOMEM;
        rc = chlog_sql_add_name(b, t);
        free(t);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, ".");
    }
    return rc == TM_OK ? chlog_sql_add_name(b, name) : rc;
}

enum tm_code chlog_sql_add_column(struct tm_buf *b, const char *name, bool quote_functions)
{
    if (strchr(name, '(')) {
        if (!quote_functions)
            return tm_buf_adds(b, name);
        enum tm_code rc = tm_buf_adds(b, "\"");
        for (const char *p = name; *p && rc == TM_OK; p++)
            rc = *p == '"' ? tm_buf_adds(b, "\"\"") : tm_buf_add(b, p, 1);
        return rc == TM_OK ? tm_buf_adds(b, "\"") : rc;
    }
    return chlog_sql_add_name(b, name);
}

/* true when [s, e) ends with a blank then word (case-insensitive) */
static bool ends_with_word(const char *s, const char *e, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(e - s) < n + 2)
        return false;
    if (strncasecmp(e - n, word, n) != 0 || !isspace((unsigned char)e[-(long)n - 1]))
        return false;
    return true;
}

enum tm_code chlog_sql_add_column_list(struct tm_buf *b, const char *names)
{
    enum tm_code rc = TM_OK;
    bool first = true;
    const char *p = names, *end = names + strlen(names), *s;
    size_t n;
    /* StringUtil.splitAndTrim drops empty parts */
    while (rc == TM_OK && chlog_list_item(&p, end, true, &s, &n)) {
        const char *e = s + n;
        bool desc = false;
        if (ends_with_word(s, e, "DESC")) {
            desc = true;
            e -= 4;
        } else if (ends_with_word(s, e, "ASC")) {
            e -= 3;
        }
        while (e > s && isspace((unsigned char)e[-1]))
            e--;
        char *one = strndup(s, (size_t)(e - s));
        if (!one)
            return TM_E_NOMEM;
        if (!first)
            rc = tm_buf_adds(b, ", ");
        if (rc == TM_OK)
            rc = chlog_sql_add_name(b, one);
        if (rc == TM_OK && desc)
            rc = tm_buf_adds(b, " DESC");
        free(one);
        first = false;
    }
    return rc;
}

enum tm_code chlog_sql_add_string(struct tm_buf *b, const char *s)
{
    enum tm_code rc = tm_buf_adds(b, "'");
    for (const char *p = s; *p && rc == TM_OK; p++)
        rc = *p == '\'' ? tm_buf_adds(b, "''") : tm_buf_add(b, p, 1);
    return rc == TM_OK ? tm_buf_adds(b, "'") : rc;
}

/* ---- values ---------------------------------------------------------------- */

/* ColumnConfig.setValueNumeric: NumberFormat(Locale.US).parse accepts a
 * leading number; we accept what it would parse completely: [-]digits[.digits]
 * (grouping commas allowed), optional exponent.  Parentheses are stripped. */
static bool looks_numeric(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    bool digits = false;
    while (isdigit((unsigned char)*p) || *p == ',') {
        digits = digits || isdigit((unsigned char)*p);
        p++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            digits = true;
            p++;
        }
    }
    if (digits && (*p == 'E' || *p == 'e')) {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return digits && *p == '\0';
}

/* A date Liquibase's parseDate/ISODateFormat accepts: yyyy-MM-dd,
 * HH:mm:ss, or yyyy-MM-dd[T ]HH:mm:ss[.fraction]. */
static bool looks_date(const char *s)
{
    size_t n = strlen(s);
    bool date = n >= 10 && isdigit((unsigned char)s[0]) && s[4] == '-' && s[7] == '-';
    bool time = n >= 8 && isdigit((unsigned char)s[0]) && s[2] == ':' && s[5] == ':';
    if (time && n == 8)
        return true;
    if (!date)
        return false;
    if (n == 10)
        return true;
    return (s[10] == 'T' || s[10] == ' ') && n >= 19 && s[13] == ':' && s[16] == ':';
}

static bool str_true(const char *s)
{
    return strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0;
}

/* Boolean.valueOf(String): only "true" (any case) is true - what ParsedNode
 * makes of a Boolean attribute (valueBoolean="1" is false to Liquibase). */
static bool java_bool(const char *s)
{
    return strcasecmp(s, "true") == 0;
}

bool chlog_bool_text_ok(const char *s)
{
    size_t n = strlen(s);
    /* xsd:boolean, or an unexpanded ${property} (booleanExp) */
    return strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0 || strcmp(s, "1") == 0 ||
           strcmp(s, "0") == 0 || (n > 3 && s[0] == '$' && s[1] == '{' && s[n - 1] == '}');
}

static bool str_false(const char *s)
{
    return strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0;
}

bool chlog_value_is_number(const char *text)
{
    size_t n = strlen(text);
    if (text[0] == '(' && n >= 2 && text[n - 1] == ')') {
        char *in = strndup(text + 1, n - 2);
        bool ok = in && looks_numeric(in);
        free(in);
        return ok;
    }
    return looks_numeric(text);
}

bool chlog_value_is_date(const char *text)
{
    return looks_date(text);
}

struct value_attr {
    const char *suffix;
    enum chlog_value_kind kind;
};

static const struct value_attr value_attrs[] = {
    {"", CHLOG_VALUE_STRING},
    {"Boolean", CHLOG_VALUE_BOOLEAN},
    {"Numeric", CHLOG_VALUE_NUMERIC},
    {"Date", CHLOG_VALUE_DATE},
    {"Computed", CHLOG_VALUE_COMPUTED},
    {"SequenceNext", CHLOG_VALUE_SEQ_NEXT},
    {"SequenceCurrent", CHLOG_VALUE_SEQ_CURRENT},
};

enum tm_code chlog_value_get(const struct chlog_node *col, const char *prefix,
                             struct chlog_value *v, struct tm_err *err)
{
    memset(v, 0, sizeof *v);
    /* ColumnConfig.getValueObject/getDefaultValueObject take the first set in
     * this order: plain, Boolean, Numeric, Date, Computed, SequenceNext,
     * SequenceCurrent.  A second one set is refused (Liquibase would silently
     * ignore it). */
    for (size_t i = 0; i < sizeof value_attrs / sizeof value_attrs[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s%s", prefix, value_attrs[i].suffix);
        const struct chlog_node *a = chlog_node_child(col, name);
        if (!a)
            continue;
        if (v->node)
            return chlog_ld_fail(err, TM_E_INVAL, a->file, a->line, 0,
                                 "column: both '%s' and '%s' are set; keep one", v->node->name,
                                 a->name);
        v->node = a;
        v->text = a->value;
        v->kind = a->value ? value_attrs[i].kind : CHLOG_VALUE_NULL;
        if (!a->value)
            continue;
        /* ColumnConfig.load: text that does not parse as the typed value
         * becomes a computed value (setValueNumeric, valueDate, ...) */
        if (v->kind == CHLOG_VALUE_NUMERIC) {
            if (strcasecmp(a->value, "null") == 0) {
                v->kind = CHLOG_VALUE_NULL;
                v->text = NULL;
            } else if (!chlog_value_is_number(a->value)) {
                v->kind = CHLOG_VALUE_COMPUTED;
            }
        } else if (v->kind == CHLOG_VALUE_DATE && !looks_date(a->value)) {
            v->kind = CHLOG_VALUE_COMPUTED;
        } else if (v->kind == CHLOG_VALUE_BOOLEAN && !chlog_bool_text_ok(a->value)) {
            return chlog_ld_fail(err, TM_E_INVAL, a->file, a->line, 0,
                                 "column: %s must be true or false, not '%s'", a->name, a->value);
        }
    }
    return TM_OK;
}

/* AbstractJdbcDatabase.generateDatabaseFunctionValue for PostgreSQL. */
static enum tm_code add_function(struct tm_buf *b, const char *fn)
{
    if (strncasecmp(fn, "current_timestamp", 17) == 0 ||
        strncasecmp(fn, "current_datetime", 16) == 0 || strcasecmp(fn, "NOW()") == 0)
        return tm_buf_adds(b, "NOW()");
    return tm_buf_adds(b, fn);
}

/* sequence names: escapeObjectName(null, schema, name, Sequence) inside '...' */
static enum tm_code add_sequence_fn(struct tm_buf *b, const char *fn, const char *seq)
{
    enum tm_code rc = tm_buf_addf(b, "%s('", fn);
    if (rc == TM_OK)
        rc = chlog_sql_add_name(b, seq);
    return rc == TM_OK ? tm_buf_adds(b, "')") : rc;
}

/* LiquibaseDataType.formatNumber: drops a ".0+" tail */
static enum tm_code add_number(struct tm_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (s[0] == '(' && n > 2 && s[n - 1] == ')') { /* setValueNumeric strips (...) */
        s++;
        n -= 2;
    }
    const char *dot = memchr(s, '.', n);
    if (dot) {
        const char *p = dot + 1;
        while (p < s + n && *p == '0')
            p++;
        if (p == s + n && p > dot + 1)
            n = (size_t)(dot - s);
    }
    return tm_buf_add(b, s, n);
}

void chlog_iso_date(const struct chlog_node *attr, char out[64])
{
    const char *s = attr && attr->value ? attr->value : "";
    snprintf(out, 64, "%s", s);
    size_t n = strlen(out);
    if (n == 10 && attr && attr->style == CHLOG_NODE_PLAIN) {
        snprintf(out, 64, "%sT00:00:00", s);
        return;
    }
    if (n >= 19 && out[10] == ' ')
        out[10] = 'T';
    if (n > 20 && out[19] == '.') { /* ISODateFormat: nanos without trailing zeros */
        size_t e = n;
        while (e > 20 && out[e - 1] == '0')
            e--;
        out[e == 20 ? 19 : e] = '\0';
    }
}

/* AbstractJdbcDatabase.getDateLiteral(iso): date or time only as is, a date
 * time with ' ' for 'T' */
static enum tm_code add_date(struct tm_buf *b, const struct chlog_value *v)
{
    char iso[64];
    if (v->node) {
        chlog_iso_date(v->node, iso);
    } else {
        struct chlog_node tmp = {0};
        tmp.value = (char *)v->text;
        chlog_iso_date(&tmp, iso);
    }
    for (char *p = iso; *p; p++)
        if (*p == 'T')
            *p = ' ';
    return tm_buf_addf(b, "'%s'", iso);
}

enum tm_code chlog_value_sql(struct tm_buf *b, const struct chlog_value *v,
                             enum chlog_type_kind kind, struct tm_err *err)
{
    (void)err;
    const char *t = v->text;
    switch (v->kind) {
    case CHLOG_VALUE_NONE:
    case CHLOG_VALUE_NULL:
        return tm_buf_adds(b, "NULL");
    case CHLOG_VALUE_COMPUTED:
        return add_function(b, t);
    case CHLOG_VALUE_SEQ_NEXT:
        return add_sequence_fn(b, "nextval", t);
    case CHLOG_VALUE_SEQ_CURRENT:
        return add_sequence_fn(b, "currval", t);
    default:
        break;
    }
    if (strcasecmp(t, "null") == 0) /* objectToSql: "null" is no value */
        return tm_buf_adds(b, "NULL");
    switch (kind) {
    case CHLOG_TYPE_BOOLEAN: /* BooleanType.objectToSql */
        if (v->kind == CHLOG_VALUE_BOOLEAN || v->kind == CHLOG_VALUE_NUMERIC ||
            v->kind == CHLOG_VALUE_STRING) {
            if (v->kind == CHLOG_VALUE_BOOLEAN) /* a Boolean object */
                return tm_buf_adds(b, java_bool(t) ? "TRUE" : "FALSE");
            char *s = strdup(t), *w = s;
            if (!s)
                return TM_E_NOMEM;
            for (const char *p = t; *p; p++) /* quotes removed first */
                if (*p != '\'')
                    *w++ = *p;
            *w = '\0';
            enum tm_code rc;
            if (str_true(s) || strcasecmp(s, "t") == 0 || strcasecmp(s, "b'1'") == 0 ||
                (v->kind == CHLOG_VALUE_NUMERIC && strcmp(s, "1.0") == 0))
                rc = tm_buf_adds(b, "TRUE");
            else if (str_false(s) || strcasecmp(s, "f") == 0 || strcasecmp(s, "b'0'") == 0 ||
                     v->kind == CHLOG_VALUE_NUMERIC)
                rc = tm_buf_adds(b, "FALSE");
            else
                rc = tm_buf_adds(b, s); /* Liquibase throws "Unknown boolean value" */
            free(s);
            return rc;
        }
        return add_date(b, v);
    case CHLOG_TYPE_NUMERIC: /* IntType/BigIntType/DecimalType...: formatNumber */
        if (v->kind == CHLOG_VALUE_BOOLEAN)
            return tm_buf_adds(b, java_bool(t) ? "true" : "false");
        if (v->kind == CHLOG_VALUE_DATE)
            return add_date(b, v);
        return add_number(b, t);
    case CHLOG_TYPE_STRING: /* CharType/ClobType: quoted (a leading ' kept for clob) */
        if (v->kind == CHLOG_VALUE_DATE)
            return add_date(b, v);
        if (v->kind == CHLOG_VALUE_BOOLEAN)
            return chlog_sql_add_string(b, java_bool(t) ? "true" : "false");
        return chlog_sql_add_string(b, t);
    case CHLOG_TYPE_DATE:
    case CHLOG_TYPE_TIME:
    case CHLOG_TYPE_DATETIME:
        if (v->kind == CHLOG_VALUE_DATE)
            return add_date(b, v);
        if (v->kind == CHLOG_VALUE_STRING && kind == CHLOG_TYPE_DATETIME &&
            strlen(t) > 2 && strcmp(t + strlen(t) - 2, "()") == 0)
            return tm_buf_adds(b, t); /* DateTimeType: database.isFunction() */
        if (v->kind == CHLOG_VALUE_STRING && strcmp(t, "CURRENT_TIMESTAMP()") == 0 &&
            kind == CHLOG_TYPE_DATE)
            return tm_buf_adds(b, "NOW()");
        if (v->kind == CHLOG_VALUE_NUMERIC)
            return add_number(b, t);
        if (v->kind == CHLOG_VALUE_BOOLEAN)
            return tm_buf_adds(b, java_bool(t) ? "true" : "false");
        return chlog_sql_add_string(b, t);
    case CHLOG_TYPE_UUID: /* UUIDType: LiquibaseDataType.otherToSql, the text as is */
        if (v->kind == CHLOG_VALUE_NUMERIC)
            return add_number(b, t);
        if (v->kind == CHLOG_VALUE_BOOLEAN)
            return tm_buf_adds(b, java_bool(t) ? "true" : "false");
        if (v->kind == CHLOG_VALUE_DATE)
            return add_date(b, v);
        return tm_buf_adds(b, t);
    case CHLOG_TYPE_XML: /* XMLType (PostgreSQL): xml '...' */
        if (v->kind == CHLOG_VALUE_STRING) {
            enum tm_code rc = tm_buf_adds(b, "xml ");
            return rc == TM_OK ? chlog_sql_add_string(b, t) : rc;
        }
        return chlog_sql_add_string(b, t);
    case CHLOG_TYPE_BLOB:
    case CHLOG_TYPE_OTHER:
    default:
        /* the value's own type decides (DataTypeFactory.fromObject), as for
         * inserts; UnknownType quotes strings */
        if (v->kind == CHLOG_VALUE_NUMERIC)
            return add_number(b, t);
        if (v->kind == CHLOG_VALUE_BOOLEAN)
            return tm_buf_adds(b, java_bool(t) ? "TRUE" : "FALSE");
        if (v->kind == CHLOG_VALUE_DATE)
            return add_date(b, v);
        return chlog_sql_add_string(b, t);
    }
}
