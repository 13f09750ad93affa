/* change_types: Liquibase's data type mapping for PostgreSQL (see change_int.h).
 *
 * Follows liquibase-core 4.33.0 datatype/DataTypeFactory.java fromDescription()
 * (how "name(params) extra{...}" is split and looked up by name or alias) and
 * the PostgreSQL branch of each datatype/core/<X>Type.java toDatabaseDataType();
 * a name it does not know is UnknownType: upper-cased, at most two parameters,
 * then the extra words as written.  The table of expected outputs in
 * tests/unit/test_change_ddl.c came from Liquibase 4.33.0 update-sql. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/change_int.h"
#include "changelog/chlog_int.h"

enum tclass {
    T_UNKNOWN = 0, T_INT, T_BIGINT, T_SMALLINT, T_TINYINT, T_MEDIUMINT, T_VARCHAR, T_NVARCHAR,
    T_CHAR, T_NCHAR, T_CLOB, T_BLOB, T_BOOLEAN, T_DATETIME, T_TIMESTAMP, T_DATE, T_TIME,
    T_UUID, T_DECIMAL, T_NUMBER, T_DOUBLE, T_FLOAT, T_CURRENCY, T_XML,
};

struct alias {
    const char *name; /* lower case (java.* as written, compared case-insensitively) */
    enum tclass cls;
};

/* @DataTypeInfo names and aliases of the types that support PostgreSQL */
static const struct alias aliases[] = {
    {"int", T_INT}, {"integer", T_INT}, {"java.sql.types.integer", T_INT},
    {"java.lang.integer", T_INT}, {"serial", T_INT}, {"int4", T_INT}, {"serial4", T_INT},
    {"bigint", T_BIGINT}, {"java.sql.types.bigint", T_BIGINT}, {"java.math.biginteger", T_BIGINT},
    {"java.lang.long", T_BIGINT}, {"integer8", T_BIGINT}, {"bigserial", T_BIGINT},
    {"serial8", T_BIGINT}, {"int8", T_BIGINT},
    {"smallint", T_SMALLINT}, {"java.sql.types.smallint", T_SMALLINT}, {"int2", T_SMALLINT},
    {"smallserial", T_SMALLINT},
    {"tinyint", T_TINYINT}, {"java.sql.types.tinyint", T_TINYINT},
    {"mediumint", T_MEDIUMINT},
    {"varchar", T_VARCHAR}, {"java.sql.types.varchar", T_VARCHAR}, {"java.lang.string", T_VARCHAR},
    {"varchar2", T_VARCHAR}, {"character varying", T_VARCHAR},
    {"nvarchar", T_NVARCHAR}, {"java.sql.types.nvarchar", T_NVARCHAR}, {"nvarchar2", T_NVARCHAR},
    {"national", T_NVARCHAR},
    {"char", T_CHAR}, {"java.sql.types.char", T_CHAR}, {"bpchar", T_CHAR}, {"character", T_CHAR},
    {"nchar", T_NCHAR}, {"java.sql.types.nchar", T_NCHAR}, {"nchar2", T_NCHAR},
    {"clob", T_CLOB}, {"longvarchar", T_CLOB}, {"text", T_CLOB}, {"longtext", T_CLOB},
    {"java.sql.types.longvarchar", T_CLOB}, {"java.sql.types.clob", T_CLOB}, {"nclob", T_CLOB},
    {"longnvarchar", T_CLOB}, {"ntext", T_CLOB}, {"java.sql.types.longnvarchar", T_CLOB},
    {"java.sql.types.nclob", T_CLOB}, {"tinytext", T_CLOB}, {"mediumtext", T_CLOB},
    {"long varchar", T_CLOB}, {"long nvarchar", T_CLOB},
    {"blob", T_BLOB}, {"longblob", T_BLOB}, {"longvarbinary", T_BLOB},
    {"java.sql.types.blob", T_BLOB},
    {"java.sql.types.longblob", T_BLOB}, {"java.sql.types.longvarbinary", T_BLOB},
    {"java.sql.types.varbinary", T_BLOB}, {"java.sql.types.binary", T_BLOB}, {"varbinary", T_BLOB},
    {"binary", T_BLOB}, {"image", T_BLOB}, {"tinyblob", T_BLOB}, {"mediumblob", T_BLOB},
    {"long binary", T_BLOB}, {"long varbinary", T_BLOB},
    {"boolean", T_BOOLEAN}, {"java.sql.types.boolean", T_BOOLEAN}, {"java.lang.boolean", T_BOOLEAN},
    {"bit", T_BOOLEAN}, {"bool", T_BOOLEAN},
    {"datetime", T_DATETIME}, {"java.sql.types.datetime", T_DATETIME},
    {"java.util.date", T_DATETIME},
    {"smalldatetime", T_DATETIME}, {"datetime2", T_DATETIME},
    {"timestamp", T_TIMESTAMP}, {"java.sql.types.timestamp", T_TIMESTAMP},
    {"java.sql.types.timestamp_with_timezone", T_TIMESTAMP}, {"java.sql.timestamp", T_TIMESTAMP},
    {"timestamptz", T_TIMESTAMP},
    {"date", T_DATE}, {"java.sql.types.date", T_DATE}, {"java.sql.date", T_DATE},
    {"time", T_TIME}, {"java.sql.types.time", T_TIME}, {"java.sql.time", T_TIME},
    {"timetz", T_TIME},
    {"uuid", T_UUID}, {"uniqueidentifier", T_UUID}, {"java.util.uuid", T_UUID},
    {"decimal", T_DECIMAL}, {"java.sql.types.decimal", T_DECIMAL},
    {"java.math.bigdecimal", T_DECIMAL},
    {"number", T_NUMBER}, {"numeric", T_NUMBER}, {"java.sql.types.numeric", T_NUMBER},
    {"double", T_DOUBLE}, {"java.sql.types.double", T_DOUBLE}, {"java.lang.double", T_DOUBLE},
    {"float", T_FLOAT}, {"java.sql.types.float", T_FLOAT}, {"java.lang.float", T_FLOAT},
    {"real", T_FLOAT}, {"java.sql.types.real", T_FLOAT},
    {"currency", T_CURRENCY}, {"money", T_CURRENCY}, {"smallmoney", T_CURRENCY},
    {"xml", T_XML}, {"xmltype", T_XML}, {"java.sql.types.sqlxml", T_XML},
};

static enum tclass lookup(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strlen(aliases[i].name) == n && strncasecmp(aliases[i].name, name, n) == 0)
            return aliases[i].cls;
    return T_UNKNOWN;
}

/* A parsed description (DataTypeFactory.fromDescription). */
struct desc {
    char name[128];     /* bare type name */
    char extra[128];    /* additional information (after the first blank) */
    char params[4][64]; /* parameters between the first ( and the next ) */
    int nparams;
    bool identity;      /* " identity" suffix */
    enum tclass cls;
};

static void copy_n(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static bool starts_ci(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

static void parse_desc(const char *def, struct desc *d)
{
    memset(d, 0, sizeof *d);
    char work[256];
    copy_n(work, sizeof work, def, strlen(def));
    /* ".+\(.*\).*": drop "\s*\(.*\)" (greedy: to the last ')') */
    char *open = strchr(work, '(');
    char *close = strrchr(work, ')');
    if (open && open > work && close && close > open) {
        char *s = open;
        while (s > work && isspace((unsigned char)s[-1]))
            s--;
        memmove(s, close + 1, strlen(close + 1) + 1);
    }
    char *brace = strchr(work, '{');
    if (brace && brace > work) {
        while (brace > work && isspace((unsigned char)brace[-1]))
            brace--;
        *brace = '\0';
    }
    size_t wl = strlen(work);
    if (wl > 9 && strcasecmp(work + wl - 9, " identity") == 0) {
        work[wl - 9] = '\0';
        for (char *p = work; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        d->identity = true;
    }
    /* unquote "x", [x], `x`, 'x' */
    static const char quotes[][2] = {{'"', '"'}, {'[', ']'}, {'`', '`'}, {'\'', '\''}};
    for (size_t q = 0; q < 4; q++) {
        if (work[0] != quotes[q][0])
            continue;
        char *c = strchr(work + 1, quotes[q][1]);
        if (c && !strchr(c + 1, quotes[q][1])) {
            memmove(c, c + 1, strlen(c + 1) + 1);
            memmove(work, work + 1, strlen(work + 1) + 1);
            break;
        }
    }
    if (starts_ci(work, "bit varying") || starts_ci(work, "character varying") ||
        starts_ci(work, "long varchar") || starts_ci(work, "long nvarchar") ||
        starts_ci(work, "long binary") || starts_ci(work, "long varbinary")) {
        copy_n(d->name, sizeof d->name, work, strlen(work));
    } else {
        char *s = work;
        while (isspace((unsigned char)*s))
            s++;
        char *e = s;
        while (*e && !isspace((unsigned char)*e))
            e++;
        copy_n(d->name, sizeof d->name, s, (size_t)(e - s));
        while (isspace((unsigned char)*e))
            e++;
        size_t el = strlen(e);
        while (el > 0 && isspace((unsigned char)e[el - 1]))
            el--;
        copy_n(d->extra, sizeof d->extra, e, el);
    }
    d->cls = lookup(d->name, strlen(d->name));
    if (d->cls == T_UNKNOWN && starts_ci(d->name, "INTERVAL"))
        copy_n(d->name, sizeof d->name, def, strlen(def)); /* UnknownType(dataTypeDefinition) */
    /* parameters: between the first '(' and the first ')' after it */
    const char *po = strchr(def, '(');
    if (po && po > def && strchr(po, ')')) {
        const char *pc = strchr(po, ')');
        const char *p = po + 1, *s;
        size_t n;
        while (d->nparams < 4 && chlog_list_item(&p, pc, true, &s, &n)) {
            char *dst = d->params[d->nparams++];
            copy_n(dst, 64, s, n);
            bool charlike = d->cls == T_VARCHAR || d->cls == T_NVARCHAR ||
                            d->cls == T_CHAR || d->cls == T_NCHAR;
            char *byte = strstr(dst, " BYTE");
            if (charlike && byte)
                memmove(byte, byte + 5, strlen(byte + 5) + 1);
        }
    }
}

static enum tm_code add_upper(struct tm_buf *b, const char *s)
{
    enum tm_code rc = TM_OK;
    for (; *s && rc == TM_OK; s++) {
        char c = (char)toupper((unsigned char)*s);
        rc = tm_buf_add(b, &c, 1);
    }
    return rc;
}

static enum tm_code add_params(struct tm_buf *b, const struct desc *d, int max)
{
    int n = d->nparams < max ? d->nparams : max;
    if (n == 0)
        return TM_OK;
    enum tm_code rc = tm_buf_adds(b, "(");
    for (int i = 0; i < n && rc == TM_OK; i++)
        rc = tm_buf_addf(b, "%s%s", i ? ", " : "", d->params[i]);
    return rc == TM_OK ? tm_buf_adds(b, ")") : rc;
}

static bool contains_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return true;
    return false;
}

static enum chlog_type_kind kind_of(enum tclass c)
{
    switch (c) {
    case T_INT: case T_BIGINT: case T_SMALLINT: case T_TINYINT: case T_MEDIUMINT:
    case T_DECIMAL: case T_NUMBER: case T_DOUBLE: case T_FLOAT: case T_CURRENCY:
        return CHLOG_TYPE_NUMERIC;
    case T_BOOLEAN:
        return CHLOG_TYPE_BOOLEAN;
    case T_VARCHAR: case T_NVARCHAR: case T_CHAR: case T_NCHAR: case T_CLOB:
        return CHLOG_TYPE_STRING;
    case T_DATE:
        return CHLOG_TYPE_DATE;
    case T_TIME:
        return CHLOG_TYPE_TIME;
    case T_DATETIME: case T_TIMESTAMP:
        return CHLOG_TYPE_DATETIME;
    case T_BLOB:
        return CHLOG_TYPE_BLOB;
    case T_UUID:
        return CHLOG_TYPE_UUID;
    case T_XML:
        return CHLOG_TYPE_XML;
    case T_UNKNOWN:
    default:
        return CHLOG_TYPE_OTHER;
    }
}

enum chlog_type_kind chlog_type_kind_of(const char *type)
{
    if (!type || !*type)
        return CHLOG_TYPE_OTHER;
    struct desc d;
    parse_desc(type, &d);
    return kind_of(d.cls);
}

bool chlog_type_is_auto_increment(const char *type)
{
    if (!type || !*type)
        return false;
    struct desc d;
    parse_desc(type, &d);
    /* IntType.finishInitialization: "serial*"; BigIntType/SmallIntType alike;
     * " identity" on int/bigint; {autoIncrement:true} */
    bool serial = starts_ci(type, "serial") || starts_ci(type, "bigserial") ||
                  starts_ci(type, "smallserial");
    bool ints = d.cls == T_INT || d.cls == T_BIGINT || d.cls == T_SMALLINT;
    return (ints && serial) || ((d.cls == T_INT || d.cls == T_BIGINT) && d.identity) ||
           contains_ci(type, "autoIncrement:true");
}

/* CharType/VarcharType (PostgreSQL): CHAR, NCHAR, VARCHAR (NVARCHAR) with
 * its length. */
static enum tm_code add_char_type(struct tm_buf *b, const struct desc *d)
{
    enum tm_code rc;
    /* CharType (PostgreSQL): VARCHAR(2147483647) is CHARACTER VARYING */
    if (d->nparams == 1 && strcmp(d->params[0], "2147483647") == 0)
        return tm_buf_adds(b, "CHARACTER VARYING");
    const char *n = d->cls == T_CHAR ? "CHAR" : d->cls == T_NCHAR ? "NCHAR" : "VARCHAR";
    rc = tm_buf_adds(b, n);
    if (rc == TM_OK)
        rc = add_params(b, d, 1);
    /* VarcharType/CharType (PostgreSQL, one parameter): the additional
     * information follows, so "varchar(63) []" is an array column */
    if (rc == TM_OK && d->nparams == 1 && d->extra[0] &&
        (d->cls == T_VARCHAR || d->cls == T_CHAR))
        rc = tm_buf_addf(b, " %s", d->extra);
    return rc;
}

/* TimestampType / DateTimeType (PostgreSQL): TIMESTAMP[(p)] WITH[OUT] TIME
 * ZONE, or the words written after the name. */
static enum tm_code add_timestamp(struct tm_buf *b, const struct desc *d, const char *raw)
{
    enum tm_code rc;
    const char *p = d->nparams == 0 ? NULL : d->params[d->nparams >= 2 ? 1 : 0];
    if (d->cls == T_TIMESTAMP) {
        /* TimestampType (PostgreSQL): TIMESTAMP[(first parameter)], then
         * WITH TIME ZONE for java.sql.Types.TIMESTAMP_WITH_TIMEZONE, or
         * the words after the name as written - upper-cased with
         * TIMEZONE made TIME ZONE when they hold TIMEZONE */
        const char *p0 = d->nparams ? d->params[0] : NULL;
        bool jtz = starts_ci(raw, "java.sql.Types.TIMESTAMP_WITH_TIMEZONE");
        if (jtz || d->extra[0]) {
            rc = tm_buf_adds(b, "TIMESTAMP");
            if (rc == TM_OK && p0)
                rc = tm_buf_addf(b, "(%s)", p0);
            if (rc == TM_OK && jtz)
                return tm_buf_adds(b, " WITH TIME ZONE");
            if (rc == TM_OK && contains_ci(d->extra, "TIMEZONE")) {
                rc = tm_buf_adds(b, " ");
                for (const char *q = d->extra; *q && rc == TM_OK; q++) {
                    if (strncasecmp(q, "TIMEZONE", 8) == 0) {
                        rc = tm_buf_adds(b, "TIME ZONE");
                        q += 7;
                        continue;
                    }
                    char u = (char)toupper((unsigned char)*q);
                    rc = tm_buf_add(b, &u, 1);
                }
                return rc;
            }
            return rc == TM_OK ? tm_buf_addf(b, " %s", d->extra) : rc;
        }
    }
    /* DateTimeType (PostgreSQL): the last of two parameters, WITH TIME
     * ZONE when the definition says tz or with time zone */
    bool tz = contains_ci(raw, "tz") || contains_ci(raw, "with time zone");
    rc = tm_buf_adds(b, "TIMESTAMP");
    if (rc == TM_OK && p)
        rc = tm_buf_addf(b, "(%s)", p);
    return rc == TM_OK ? tm_buf_adds(b, tz ? " WITH TIME ZONE" : " WITHOUT TIME ZONE") : rc;
}

enum tm_code chlog_sql_add_type(struct tm_buf *b, const char *type, bool auto_increment,
                                enum chlog_type_kind *kind, struct tm_err *err)
{
    (void)auto_increment; /* PostgreSQL >= 10: identity columns keep INTEGER/BIGINT */
    if (!type || !*type) {
        if (err) {
            err->code = TM_E_INVAL;
            snprintf(err->msg, sizeof err->msg, "empty column type");
        }
        return TM_E_INVAL;
    }
    struct desc d;
    if (strncmp(type, "${", 2) == 0 && type[strlen(type) - 1] == '}') {
        if (kind)
            *kind = CHLOG_TYPE_OTHER;
        return add_upper(b, type);
    }
    parse_desc(type, &d);
    if (kind)
        *kind = kind_of(d.cls);
    const char *raw = type;
    enum tm_code rc;
    switch (d.cls) {
    case T_INT:
        return tm_buf_adds(b, "INTEGER");
    case T_BIGINT:
        return tm_buf_adds(b, "BIGINT");
    case T_SMALLINT:
    case T_TINYINT:
        return tm_buf_adds(b, "SMALLINT");
    case T_VARCHAR:
    case T_NVARCHAR:
    case T_CHAR:
    case T_NCHAR:
        return add_char_type(b, &d);
    case T_CLOB:
        return tm_buf_adds(b, "TEXT");
    case T_BLOB:
        /* BlobType (PostgreSQL): blob and java.sql.Types.BLOB are OID, the rest BYTEA */
        if (starts_ci(raw, "blob") || strcmp(raw, "java.sql.Types.BLOB") == 0)
            return tm_buf_adds(b, "OID");
        return tm_buf_adds(b, "BYTEA");
    case T_BOOLEAN:
        if (starts_ci(raw, "bit")) {
            rc = tm_buf_adds(b, "BIT");
            return rc == TM_OK ? add_params(b, &d, 2) : rc;
        }
        return tm_buf_adds(b, "BOOLEAN");
    case T_DATETIME:
    case T_TIMESTAMP:
        return add_timestamp(b, &d, raw);
    case T_DATE:
        return tm_buf_adds(b, "date");
    case T_TIME: {
        bool tz = contains_ci(raw, "tz") || contains_ci(raw, "with time zone");
        rc = tm_buf_adds(b, "time");
        if (rc == TM_OK && d.nparams)
            rc = tm_buf_addf(b, "(%s)", d.params[d.nparams >= 2 ? 1 : 0]);
        return rc == TM_OK ? tm_buf_adds(b, tz ? " WITH TIME ZONE" : " WITHOUT TIME ZONE") : rc;
    }
    case T_UUID:
        return tm_buf_adds(b, "UUID");
    case T_DECIMAL:
        rc = tm_buf_adds(b, "DECIMAL");
        return rc == TM_OK ? add_params(b, &d, 2) : rc;
    case T_NUMBER:
        rc = tm_buf_adds(b, "numeric");
        return rc == TM_OK ? add_params(b, &d, 2) : rc;
    case T_DOUBLE:
        return tm_buf_adds(b, "DOUBLE PRECISION");
    case T_FLOAT:
        if (strcasecmp(raw, "real") == 0)
            return tm_buf_adds(b, "REAL");
        rc = tm_buf_adds(b, "FLOAT");
        return rc == TM_OK ? add_params(b, &d, 2) : rc;
    case T_CURRENCY:
        return tm_buf_adds(b, "DECIMAL");
    case T_XML:
        rc = tm_buf_adds(b, "XML");
        return rc == TM_OK ? add_params(b, &d, 1) : rc;
    case T_MEDIUMINT:
    case T_UNKNOWN:
    default:
        /* LiquibaseDataType/UnknownType: NAME(p1, p2) extra */
        rc = add_upper(b, d.name);
        if (rc == TM_OK)
            rc = add_params(b, &d, 2);
        if (rc == TM_OK && d.extra[0])
            rc = tm_buf_addf(b, " %s", d.extra);
        return rc;
    }
}

enum tm_code chlog_sql_add_auto_increment(struct tm_buf *b, const char *generation_type,
                                          const char *start_with, const char *increment_by)
{
    /* PostgresDatabase.getAutoIncrementClause + AbstractJdbcDatabase: the
     * options only when they differ from 1, joined by a blank */
    enum tm_code rc;
    if (generation_type && *generation_type)
        rc = tm_buf_addf(b, "GENERATED %s AS IDENTITY", generation_type);
    else
        rc = tm_buf_adds(b, "GENERATED BY DEFAULT AS IDENTITY");
    bool sw = start_with && *start_with && strcmp(start_with, "1") != 0;
    bool ib = increment_by && *increment_by && strcmp(increment_by, "1") != 0;
    if (rc == TM_OK && (sw || ib)) {
        rc = tm_buf_adds(b, " (");
        if (rc == TM_OK && sw)
            rc = tm_buf_addf(b, "START WITH %s", start_with);
        if (rc == TM_OK && ib)
            rc = tm_buf_addf(b, "%sINCREMENT BY %s", sw ? " " : "", increment_by);
        if (rc == TM_OK)
            rc = tm_buf_adds(b, ")");
    }
    return rc;
}
