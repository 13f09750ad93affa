/* chlog yaml: the Liquibase YAML changelog parser (libyaml document API).
 *
 * A changelog is small, so the whole file is loaded as one document and
 * walked by node index; every error carries the node's file:line:col.
 * Supported (the rest is refused with an error naming the element, rather
 * than silently skipped, so a changelog never means less than it says):
 *   databaseChangeLog: [ property{name,value} | changeSet | include{file,
 *     relativeToChangelogFile} | includeAll{path, relativeToChangelogFile} ]
 *   changeSet: id, author, changes[sql | sqlFile | tagDatabase], rollback,
 *     runOnChange, runAlways, runInTransaction, failOnError, context,
 *     contextFilter, labels, comment, dbms, logicalFilePath, ignore,
 *     preConditions[onFail, onError, sqlCheck{expectedResult, sql}],
 *     validCheckSum, and the informational created/objectQuotingStrategy/runOrder.
 * Properties: all `property` entries of a file are read before its changesets
 * and ${name} is then expanded in every value, as Liquibase's
 * YamlChangeLogParser does (replaceParameters); the first value set wins.
 * Rollback given as several sql/sqlFile changes is joined into one text,
 * with ";" added between pieces that do not end with one. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "common/buf.h"
#include "common/caps.h"

struct yctx {
    struct chlog_ld *ld;
    yaml_document_t doc;
    const char *path;     /* fs path of this file */
    const char *filename; /* FILENAME for its changesets */
};

static int nline(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 0;
}

static int ncol(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.column + 1 : 0;
}

static yaml_node_t *node_at(struct yctx *y, int idx)
{
    return yaml_document_get_node(&y->doc, idx);
}

static enum tm_code failn(struct yctx *y, struct tm_err *err, enum tm_code code,
                          const yaml_node_t *n, const char *msg, const char *arg)
{
    if (arg)
        return chlog_ld_fail(err, code, y->path, nline(n), ncol(n), msg, arg);
    return chlog_ld_fail(err, code, y->path, nline(n), ncol(n), "%s", msg);
}

static bool is_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE;
}

static const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A plain empty scalar ("key:" with nothing) is YAML null. */
static bool is_null(const yaml_node_t *n)
{
    if (!is_scalar(n))
        return false;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = sval(n);
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0;
}

/* Iterates the pairs of a mapping. */
#define FOR_PAIRS(y, map, kn, vn)                                                     \
    for (yaml_node_pair_t *pp_ = (map)->data.mapping.pairs.start;                     \
         pp_ < (map)->data.mapping.pairs.top &&                                       \
         ((kn) = node_at((y), pp_->key), (vn) = node_at((y), pp_->value), 1);         \
         pp_++)

/* The only key of a one-entry mapping (list items like "- changeSet: ..."). */
static enum tm_code single_key(struct yctx *y, yaml_node_t *item, const char *what,
                               const char **key, yaml_node_t **val, struct tm_err *err)
{
    if (!item || item->type != YAML_MAPPING_NODE)
        return failn(y, err, TM_E_PARSE, item, "expected a mapping (%s)", what);
    yaml_node_pair_t *p = item->data.mapping.pairs.start;
    if (p == item->data.mapping.pairs.top)
        return failn(y, err, TM_E_PARSE, item, "expected one key (%s), got an empty mapping",
                     what);
    if (p + 1 != item->data.mapping.pairs.top)
        return failn(y, err, TM_E_PARSE, node_at(y, (p + 1)->key),
                     "expected one key per list item (%s)", what);
    yaml_node_t *k = node_at(y, p->key);
    if (!is_scalar(k))
        return failn(y, err, TM_E_PARSE, k, "expected a key (%s)", what);
    *key = sval(k);
    *val = node_at(y, p->value);
    return TM_OK;
}

/* Copy of a scalar with ${} expanded.  Errors when n is not a scalar. */
static enum tm_code scalar_x(struct yctx *y, yaml_node_t *n, const char *what, char **out,
                             struct tm_err *err)
{
    *out = NULL;
    if (!is_scalar(n))
        return failn(y, err, TM_E_PARSE, n, "%s: expected a text value", what);
    *out = chlog_ld_expand(y->ld, sval(n));
    if (!*out)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    return TM_OK;
}

static enum tm_code scalar_set(struct yctx *y, yaml_node_t *n, const char *what, char **dst,
                               struct tm_err *err)
{
    char *v = NULL;
    enum tm_code rc = scalar_x(y, n, what, &v, err);
    if (rc != TM_OK)
        return rc;
    free(*dst);
    *dst = v;
    return TM_OK;
}

static enum tm_code bool_val(struct yctx *y, yaml_node_t *n, const char *what, bool *dst,
                             struct tm_err *err)
{
    bool ok = false;
    bool v = is_scalar(n) ? chlog_parse_bool(sval(n), &ok) : false;
    if (!ok)
        return failn(y, err, TM_E_INVAL, n, "%s: expected true or false", what);
    *dst = v;
    return TM_OK;
}

/* ---- SnakeYAML typing of plain scalars --------------------------------------
 * Liquibase reads YAML with SnakeYAML (YAML 1.1 implicit types) and turns
 * values into strings with toString(): `id: 1.10` becomes "1.1", `id: 007`
 * (octal) "7", `id: 0x1F` "31", `author: yes` "true".  FILENAME/ID/AUTHOR
 * must match the history rows Liquibase wrote, so identity fields (id,
 * author, tag, expectedResult) given as plain scalars are canonicalised the
 * same way (org.yaml.snakeyaml.resolver.Resolver patterns; Java
 * Double.toString layout).  Quoted scalars are taken as written.
 * Not handled: sexagesimal floats and timestamps (kept as written; an id
 * that is a bare date, `id: 2024-01-15`, would differ from Liquibase's). */

static bool all_of(const char *s, const char *e, const char *set)
{
    if (s == e)
        return false;
    for (; s < e; s++)
        if (!strchr(set, *s))
            return false;
    return true;
}

/* Integer value of digits in base (underscores ignored) into *v; false on overflow. */
static bool int_value(const char *s, const char *e, int base, unsigned long long *v)
{
    unsigned long long r = 0;
    for (; s < e; s++) {
        if (*s == '_')
            continue;
        int d = isdigit((unsigned char)*s) ? *s - '0' : tolower((unsigned char)*s) - 'a' + 10;
        if (r > (~0ULL - (unsigned)d) / (unsigned)base)
            return false;
        r = r * (unsigned)base + (unsigned)d;
    }
    *v = r;
    return true;
}

/* Java Double.toString layout of d into out. */
static void java_double(double d, char *out, size_t n)
{
    if (isnan(d)) {
        snprintf(out, n, "NaN");
        return;
    }
    if (isinf(d)) {
        snprintf(out, n, "%sInfinity", d < 0 ? "-" : "");
        return;
    }
    if (d == 0) {
        snprintf(out, n, "%s0.0", signbit(d) ? "-" : "");
        return;
    }
    /* shortest digits that read back as d */
    char sci[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(sci, sizeof(sci), "%.*e", p - 1, d);
        if (strtod(sci, NULL) == d)
            break;
    }
    /* sci: [-]D[.DDD]e[+-]XX */
    const char *q = sci;
    bool neg = *q == '-';
    if (neg)
        q++;
    char digits[24];
    size_t nd = 0;
    for (; *q && *q != 'e'; q++)
        if (isdigit((unsigned char)*q) && nd < sizeof(digits) - 1)
            digits[nd++] = *q;
    digits[nd] = '\0';
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    int ex = (int)strtol(q + 1, NULL, 10);
    double a = neg ? -d : d;
    struct tm_buf b;
    tm_buf_init(&b, 64);
    enum tm_code rc = neg ? tm_buf_adds(&b, "-") : TM_OK;
    if (a >= 1e-3 && a < 1e7) {
        if (ex >= 0) {
            for (int i = 0; i <= ex && rc == TM_OK; i++)
                rc = tm_buf_add(&b, (size_t)i < nd ? &digits[i] : "0", 1);
            if (rc == TM_OK)
                rc = tm_buf_adds(&b, ".");
            if (rc == TM_OK)
                rc = (size_t)(ex + 1) < nd ? tm_buf_adds(&b, digits + ex + 1) : tm_buf_adds(&b, "0");
        } else {
            rc = tm_buf_adds(&b, "0.");
            for (int i = 0; i < -ex - 1 && rc == TM_OK; i++)
                rc = tm_buf_adds(&b, "0");
            if (rc == TM_OK)
                rc = tm_buf_adds(&b, digits);
        }
    } else {
        rc = tm_buf_add(&b, digits, 1);
        if (rc == TM_OK)
            rc = tm_buf_addf(&b, ".%sE%d", nd > 1 ? digits + 1 : "0", ex);
    }
    snprintf(out, n, "%s", rc == TM_OK ? tm_buf_str(&b) : "");
    tm_buf_release(&b);
}

/* The string Liquibase would see for plain scalar v: a malloc'd copy when
 * YAML 1.1 types it as bool/int/float, else NULL (use v as written).
 * *is_null when it is YAML null. */
static char *snake_canonical(const char *v, bool *is_null)
{
    *is_null = false;
    static const char *const trues[] = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
    static const char *const falses[] = {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
    for (size_t i = 0; i < 9; i++) {
        if (strcmp(v, trues[i]) == 0)
            return strdup("true");
        if (strcmp(v, falses[i]) == 0)
            return strdup("false");
    }
    if (!v[0] || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
        strcmp(v, "NULL") == 0) {
        *is_null = true;
        return NULL;
    }
    const char *s = v, *e = v + strlen(v);
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    unsigned long long iv = 0;
    bool is_int = false, ok = true;
    if (e - s > 2 && s[0] == '0' && s[1] == 'b' && all_of(s + 2, e, "01_")) {
        is_int = true;
        ok = int_value(s + 2, e, 2, &iv);
    } else if (e - s > 2 && s[0] == '0' && s[1] == 'x' && all_of(s + 2, e, "0123456789abcdefABCDEF_")) {
        is_int = true;
        ok = int_value(s + 2, e, 16, &iv);
    } else if (e - s > 1 && s[0] == '0' && all_of(s + 1, e, "01234567_")) {
        is_int = true;
        ok = int_value(s + 1, e, 8, &iv);
    } else if ((e - s == 1 && s[0] == '0') ||
               (e - s >= 1 && s[0] >= '1' && s[0] <= '9' && all_of(s, e, "0123456789_"))) {
        is_int = true;
        ok = int_value(s, e, 10, &iv);
    }
    if (!is_int && e - s >= 3 && s[0] >= '1' && s[0] <= '9' && memchr(s, ':', (size_t)(e - s))) {
        /* sexagesimal int: [1-9][0-9_]*(:[0-5]?[0-9])+, e.g. 1:30 = 90 */
        const char *c = memchr(s, ':', (size_t)(e - s));
        bool sx = all_of(s, c, "0123456789_");
        unsigned long long acc = 0;
        if (sx)
            sx = int_value(s, c, 10, &acc);
        while (sx && c < e) {
            const char *ps = c + 1, *pe = memchr(ps, ':', (size_t)(e - ps));
            if (!pe)
                pe = e;
            unsigned long long part = 0;
            sx = pe - ps >= 1 && pe - ps <= 2 && all_of(ps, pe, "0123456789") &&
                 int_value(ps, pe, 10, &part) && part < 60 && (pe - ps == 1 || ps[0] <= '5') &&
                 acc <= (~0ULL - part) / 60;
            if (sx)
                acc = acc * 60 + part;
            c = pe;
        }
        if (sx) {
            is_int = true;
            iv = acc;
        }
    }
    if (is_int) {
        if (!ok)
            return NULL; /* BigInteger: keep as written (rare) */
        char buf[32];
        snprintf(buf, sizeof(buf), "%s%llu", neg && iv ? "-" : "", iv);
        return strdup(buf);
    }
    /* float: [-+]?(\.[0-9]+|[0-9_]+(\.[0-9_]*)?)([eE][-+]?[0-9]+)? and .inf/.nan */
    if (strcmp(s, ".inf") == 0 || strcmp(s, ".Inf") == 0 || strcmp(s, ".INF") == 0)
        return strdup(neg ? "-Infinity" : "Infinity");
    if (s == v && (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0 || strcmp(s, ".NAN") == 0))
        return strdup("NaN");
    const char *p = s;
    size_t intd = 0, fracd = 0;
    bool dot = false;
    while (p < e && (isdigit((unsigned char)*p) || *p == '_')) {
        intd++;
        p++;
    }
    if (p < e && *p == '.') {
        dot = true;
        p++;
        while (p < e && (isdigit((unsigned char)*p) || *p == '_')) {
            fracd++;
            p++;
        }
    }
    if (intd == 0 && fracd == 0)
        return NULL;
    bool any_digit = false;
    for (const char *q = s; q < p; q++)
        any_digit = any_digit || isdigit((unsigned char)*q);
    if (!any_digit)
        return NULL; /* "_" or "._": SnakeYAML fails on these; keep as written */
    if (intd == 0 && !dot)
        return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '-' || *p == '+'))
            p++;
        if (!all_of(p, e, "0123456789"))
            return NULL;
        p = e;
    }
    if (p != e)
        return NULL;
    char num[128];
    size_t k = 0;
    for (const char *q = v; q < e && k < sizeof(num) - 1; q++)
        if (*q != '_')
            num[k++] = *q;
    num[k] = '\0';
    char out[64];
    java_double(strtod(num, NULL), out, sizeof(out));
    return out[0] ? strdup(out) : NULL;
}

/* Copy of an identity scalar: typed like SnakeYAML when plain, then ${}
 * expanded.  A YAML null gives NULL with TM_OK (the caller reports it). */
static enum tm_code ident_scalar(struct yctx *y, yaml_node_t *n, const char *what, char **dst,
                                 struct tm_err *err)
{
    if (!is_scalar(n))
        return failn(y, err, TM_E_PARSE, n, "%s: expected a text value", what);
    const char *v = sval(n);
    char *canon = NULL;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        bool is_null = false;
        canon = snake_canonical(v, &is_null);
        if (is_null) {
            free(*dst);
            *dst = NULL;
            return TM_OK;
        }
    }
    char *x = chlog_ld_expand(y->ld, canon ? canon : v);
    free(canon);
    if (!x)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    free(*dst);
    *dst = x;
    return TM_OK;
}

/* Strips leading/trailing whitespace in place (Liquibase setSql trims). */
static void trim_inplace(char *s)
{
    size_t n = strlen(s), a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

/* Reads an sqlFile's text into ch->sql (expanded). */
static enum tm_code read_sql_file(struct yctx *y, struct chlog_change *ch, bool relative,
                                  yaml_node_t *at, struct tm_err *err)
{
    char *fp = NULL;
    enum tm_code rc = relative ? chlog_path_sibling(y->path, ch->path, &fp, err)
                               : chlog_path_clean(ch->path, &fp, err);
    if (rc != TM_OK)
        return chlog_ld_fail(err, rc, y->path, nline(at), ncol(at), "sqlFile: %s",
                             err ? err->msg : "bad path");
    char *data = NULL;
    size_t len = 0;
    rc = chlog_ld_read(y->ld, fp, &data, &len, err);
    if (rc == TM_E_NOTFOUND)
        rc = chlog_ld_fail(err, rc, y->path, nline(at), ncol(at), "sqlFile %s not found", fp);
    free(fp);
    if (rc != TM_OK)
        return rc;
    ch->sql = chlog_ld_expand(y->ld, data);
    ch->raw_sql = data;
    if (!ch->sql)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    return TM_OK;
}

/* Parses one change value: kind is "sql", "sqlFile" or "tagDatabase". */
static enum tm_code parse_change(struct yctx *y, const char *kind, yaml_node_t *v,
                                 yaml_node_t *at, struct chlog_change *ch, struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    yaml_node_t *k, *val;
    ch->line = nline(at);
    if (strcmp(kind, "sql") == 0) {
        ch->kind = CHLOG_CHANGE_SQL;
        if (is_scalar(v)) {
            rc = scalar_set(y, v, "sql", &ch->sql, err);
        } else if (v && v->type == YAML_MAPPING_NODE) {
            FOR_PAIRS(y, v, k, val)
            {
                const char *key = is_scalar(k) ? sval(k) : "";
                if (strcmp(key, "sql") == 0)
                    rc = scalar_set(y, val, "sql", &ch->sql, err);
                else if (strcmp(key, "splitStatements") == 0)
                    rc = bool_val(y, val, key, &ch->split_statements, err);
                else if (strcmp(key, "stripComments") == 0)
                    rc = bool_val(y, val, key, &ch->strip_comments, err);
                else if (strcmp(key, "endDelimiter") == 0)
                    rc = scalar_set(y, val, key, &ch->end_delimiter, err);
                else if (strcmp(key, "dbms") == 0)
                    rc = scalar_set(y, val, key, &ch->dbms, err);
                else if (strcmp(key, "comment") == 0)
                    rc = TM_OK; /* informational */
                else
                    rc = failn(y, err, TM_E_INVAL, k,
                               "unknown sql attribute '%s' (expected sql, splitStatements, "
                               "stripComments, endDelimiter, dbms, comment)",
                               key);
                if (rc != TM_OK)
                    return rc;
            }
        } else {
            return failn(y, err, TM_E_PARSE, v, "sql: expected SQL text or a mapping", NULL);
        }
        if (rc != TM_OK)
            return rc;
        if (ch->sql)
            trim_inplace(ch->sql);
        if (!ch->sql || !ch->sql[0])
            return failn(y, err, TM_E_INVAL, at, "sql change needs SQL text", NULL);
        return TM_OK;
    }
    if (strcmp(kind, "sqlFile") == 0) {
        ch->kind = CHLOG_CHANGE_SQL_FILE;
        bool relative = false;
        if (!v || v->type != YAML_MAPPING_NODE)
            return failn(y, err, TM_E_PARSE, v, "sqlFile: expected a mapping with path", NULL);
        FOR_PAIRS(y, v, k, val)
        {
            const char *key = is_scalar(k) ? sval(k) : "";
            if (strcmp(key, "path") == 0)
                rc = scalar_set(y, val, key, &ch->path, err);
            else if (strcmp(key, "relativeToChangelogFile") == 0)
                rc = bool_val(y, val, key, &relative, err);
            else if (strcmp(key, "splitStatements") == 0)
                rc = bool_val(y, val, key, &ch->split_statements, err);
            else if (strcmp(key, "stripComments") == 0)
                rc = bool_val(y, val, key, &ch->strip_comments, err);
            else if (strcmp(key, "endDelimiter") == 0)
                rc = scalar_set(y, val, key, &ch->end_delimiter, err);
            else if (strcmp(key, "dbms") == 0)
                rc = scalar_set(y, val, key, &ch->dbms, err);
            else if (strcmp(key, "encoding") == 0) {
                if (!is_scalar(val) || (strcasecmp(sval(val), "utf-8") != 0 &&
                                        strcasecmp(sval(val), "utf8") != 0))
                    rc = failn(y, err, TM_E_INVAL, val, "sqlFile: only utf-8 encoding is supported",
                               NULL);
            } else
                rc = failn(y, err, TM_E_INVAL, k,
                           "unknown sqlFile attribute '%s' (expected path, "
                           "relativeToChangelogFile, splitStatements, stripComments, "
                           "endDelimiter, dbms, encoding)",
                           key);
            if (rc != TM_OK)
                return rc;
        }
        if (!ch->path || !ch->path[0])
            return failn(y, err, TM_E_INVAL, at, "sqlFile needs a path", NULL);
        return read_sql_file(y, ch, relative, at, err);
    }
    if (strcmp(kind, "tagDatabase") == 0) {
        ch->kind = CHLOG_CHANGE_TAG;
        if (!v || v->type != YAML_MAPPING_NODE)
            return failn(y, err, TM_E_PARSE, v, "tagDatabase: expected a mapping with tag", NULL);
        FOR_PAIRS(y, v, k, val)
        {
            const char *key = is_scalar(k) ? sval(k) : "";
            if (strcmp(key, "tag") == 0)
                rc = ident_scalar(y, val, key, &ch->tag, err);
            else
                rc = failn(y, err, TM_E_INVAL, k, "unknown tagDatabase attribute '%s'", key);
            if (rc != TM_OK)
                return rc;
        }
        if (!ch->tag || !ch->tag[0])
            return failn(y, err, TM_E_INVAL, at, "tagDatabase needs a tag", NULL);
        return TM_OK;
    }
    return failn(y, err, TM_E_INVAL, at,
                 "change type '%s' is not supported (expected sql, sqlFile or tagDatabase)", kind);
}

static enum tm_code parse_changes(struct yctx *y, yaml_node_t *v, struct chlog_changeset *cs,
                                  struct tm_err *err)
{
    if (is_null(v))
        return TM_OK;
    if (!v || v->type != YAML_SEQUENCE_NODE)
        return failn(y, err, TM_E_PARSE, v, "changes: expected a list", NULL);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *item = node_at(y, *it);
        const char *kind;
        yaml_node_t *val;
        enum tm_code rc = single_key(y, item, "a change such as sql:", &kind, &val, err);
        if (rc != TM_OK)
            return rc;
        struct chlog_change *ch = chlog_set_add_change(cs);
        if (!ch)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        rc = parse_change(y, kind, val, item, ch, err);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

static void free_change(struct chlog_change *ch)
{
    free(ch->sql);
    free(ch->path);
    free(ch->tag);
    free(ch->end_delimiter);
    free(ch->dbms);
    free(ch->raw_sql);
    memset(ch, 0, sizeof(*ch));
}

/* Appends one rollback piece to b. */
static enum tm_code add_rollback_piece(struct tm_buf *b, const char *sql)
{
    size_t n = strlen(sql);
    while (n && (sql[n - 1] == ' ' || sql[n - 1] == '\n' || sql[n - 1] == '\t' || sql[n - 1] == '\r'))
        n--;
    size_t a = 0;
    while (a < n && (sql[a] == ' ' || sql[a] == '\n' || sql[a] == '\t' || sql[a] == '\r'))
        a++;
    if (a == n)
        return TM_OK;
    enum tm_code rc = TM_OK;
    if (b->len) {
        const char *s = tm_buf_str(b);
        if (s[b->len - 1] != ';')
            rc = tm_buf_adds(b, ";");
        if (rc == TM_OK)
            rc = tm_buf_adds(b, "\n");
    }
    if (rc == TM_OK)
        rc = tm_buf_add(b, sql + a, n - a);
    return rc;
}

static enum tm_code rollback_item(struct yctx *y, yaml_node_t *item, struct tm_buf *b,
                                  struct tm_err *err)
{
    enum tm_code rc;
    if (is_scalar(item)) {
        char *v = NULL;
        rc = scalar_x(y, item, "rollback", &v, err);
        if (rc == TM_OK && add_rollback_piece(b, v) != TM_OK)
            rc = tm_err_set(err, TM_E_TOOBIG, "%s: rollback too large", y->path);
        free(v);
        return rc;
    }
    const char *kind;
    yaml_node_t *val;
    rc = single_key(y, item, "a rollback change such as sql:", &kind, &val, err);
    if (rc != TM_OK)
        return rc;
    if (strcmp(kind, "sql") != 0 && strcmp(kind, "sqlFile") != 0)
        return failn(y, err, TM_E_INVAL, item,
                     "rollback change '%s' is not supported (expected SQL text, sql or sqlFile)",
                     kind);
    struct chlog_change ch;
    memset(&ch, 0, sizeof(ch));
    rc = parse_change(y, kind, val, item, &ch, err);
    if (rc == TM_OK && add_rollback_piece(b, ch.sql) != TM_OK)
        rc = tm_err_set(err, TM_E_TOOBIG, "%s: rollback too large", y->path);
    free_change(&ch);
    return rc;
}

static enum tm_code parse_rollback(struct yctx *y, yaml_node_t *v, struct chlog_changeset *cs,
                                   struct tm_err *err)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
    enum tm_code rc = TM_OK;
    if (is_null(v)) {
        /* explicitly empty rollback */
    } else if (v && v->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             it < v->data.sequence.items.top && rc == TM_OK; it++)
            rc = rollback_item(y, node_at(y, *it), &b, err);
    } else if (v && v->type == YAML_MAPPING_NODE) {
        yaml_node_t *k, *val;
        FOR_PAIRS(y, v, k, val)
        {
            (void)val;
            const char *key = is_scalar(k) ? sval(k) : "";
            if (strcmp(key, "changeSetId") == 0 || strcmp(key, "changeSetAuthor") == 0)
                rc = failn(y, err, TM_E_INVAL, k,
                           "rollback by changeSetId reference is not supported", NULL);
            if (rc != TM_OK)
                break;
        }
        if (rc == TM_OK)
            rc = rollback_item(y, v, &b, err);
    } else {
        rc = rollback_item(y, v, &b, err);
    }
    if (rc != TM_OK) {
        tm_buf_release(&b);
        return rc;
    }
    free(cs->rollback_sql); /* a repeated rollback: key replaces the earlier one */
    cs->rollback_sql = tm_buf_detach(&b, NULL);
    if (!cs->rollback_sql)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    cs->has_rollback = true;
    return TM_OK;
}

static enum tm_code on_fail_val(struct yctx *y, yaml_node_t *n, enum chlog_on_fail *dst,
                                struct tm_err *err)
{
    const char *s = is_scalar(n) ? sval(n) : "";
    if (strcasecmp(s, "HALT") == 0)
        *dst = CHLOG_ONFAIL_HALT;
    else if (strcasecmp(s, "CONTINUE") == 0)
        *dst = CHLOG_ONFAIL_CONTINUE;
    else if (strcasecmp(s, "MARK_RAN") == 0)
        *dst = CHLOG_ONFAIL_MARK_RAN;
    else if (strcasecmp(s, "WARN") == 0)
        *dst = CHLOG_ONFAIL_WARN;
    else
        return failn(y, err, TM_E_INVAL, n,
                     "onFail: expected HALT, CONTINUE, MARK_RAN or WARN, got '%s'", s);
    return TM_OK;
}

/* One precondition entry (key/value from a mapping or a list item). */
static enum tm_code precond_entry(struct yctx *y, const char *key, yaml_node_t *kn,
                                  yaml_node_t *val, struct chlog_precondition *pc, bool *has_check,
                                  struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    if (strcmp(key, "onFail") == 0)
        return on_fail_val(y, val, &pc->on_fail, err);
    if (strcmp(key, "onError") == 0 || strcmp(key, "onFailMessage") == 0 ||
        strcmp(key, "onErrorMessage") == 0 || strcmp(key, "onSqlOutput") == 0 ||
        strcmp(key, "onUpdateSQL") == 0)
        return TM_OK; /* not modelled: an error in the check halts */
    if (strcmp(key, "sqlCheck") != 0)
        return failn(y, err, TM_E_INVAL, kn,
                     "precondition '%s' is not supported (expected sqlCheck, onFail)", key);
    if (*has_check)
        return failn(y, err, TM_E_INVAL, kn, "only one sqlCheck per changeSet is supported", NULL);
    *has_check = true;
    if (!val || val->type != YAML_MAPPING_NODE)
        return failn(y, err, TM_E_PARSE, val, "sqlCheck: expected a mapping", NULL);
    yaml_node_t *k, *v;
    FOR_PAIRS(y, val, k, v)
    {
        const char *kk = is_scalar(k) ? sval(k) : "";
        if (strcmp(kk, "expectedResult") == 0)
            rc = ident_scalar(y, v, kk, &pc->expected, err);
        else if (strcmp(kk, "sql") == 0)
            rc = scalar_set(y, v, kk, &pc->sql, err);
        else
            rc = failn(y, err, TM_E_INVAL, k, "unknown sqlCheck attribute '%s'", kk);
        if (rc != TM_OK)
            return rc;
    }
    if (!pc->sql || !pc->expected)
        return failn(y, err, TM_E_INVAL, kn, "sqlCheck needs expectedResult and sql", NULL);
    trim_inplace(pc->sql);
    return TM_OK;
}

static enum tm_code parse_preconditions(struct yctx *y, yaml_node_t *v,
                                        struct chlog_changeset *cs, struct tm_err *err)
{
    if (cs->precondition) {
        /* a repeated key: the last one wins, as for the other keys and in SnakeYAML
         * (found by fuzz_yaml_changelog: the first one leaked) */
        free(cs->precondition->sql);
        free(cs->precondition->expected);
        free(cs->precondition);
        cs->precondition = NULL;
    }
    struct chlog_precondition *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    cs->precondition = pc; /* freed with the changeset */
    bool has_check = false;
    enum tm_code rc = TM_OK;
    if (v && v->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             it < v->data.sequence.items.top && rc == TM_OK; it++) {
            yaml_node_t *item = node_at(y, *it);
            const char *key;
            yaml_node_t *val;
            rc = single_key(y, item, "a precondition", &key, &val, err);
            if (rc == TM_OK)
                rc = precond_entry(y, key, item, val, pc, &has_check, err);
        }
    } else if (v && v->type == YAML_MAPPING_NODE) {
        yaml_node_t *k, *val;
        FOR_PAIRS(y, v, k, val)
        {
            rc = precond_entry(y, is_scalar(k) ? sval(k) : "", k, val, pc, &has_check, err);
            if (rc != TM_OK)
                break;
        }
    } else if (!is_null(v)) {
        rc = failn(y, err, TM_E_PARSE, v, "preConditions: expected a list or mapping", NULL);
    }
    if (rc != TM_OK)
        return rc;
    if (!has_check) {
        free(pc);
        cs->precondition = NULL;
    }
    return TM_OK;
}

static enum tm_code parse_changeset(struct yctx *y, yaml_node_t *item, yaml_node_t *v,
                                    struct tm_err *err)
{
    if (!v || v->type != YAML_MAPPING_NODE)
        return failn(y, err, TM_E_PARSE, v, "changeSet: expected a mapping", NULL);
    /* ignore: true drops the changeset (Liquibase skips it) */
    yaml_node_t *k, *val;
    FOR_PAIRS(y, v, k, val)
    {
        if (is_scalar(k) && strcmp(sval(k), "ignore") == 0) {
            bool ign = false;
            enum tm_code rc = bool_val(y, val, "ignore", &ign, err);
            if (rc != TM_OK)
                return rc;
            if (ign)
                return TM_OK;
        }
    }
    struct chlog_changeset *cs = chlog_ld_add_set(y->ld);
    if (!cs)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    cs->line = nline(item);
    cs->filename = strdup(y->filename);
    cs->path = strdup(y->path);
    if (!cs->filename || !cs->path)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    enum tm_code rc = TM_OK;
    char *context = NULL, *context_filter = NULL;
    FOR_PAIRS(y, v, k, val)
    {
        const char *key = is_scalar(k) ? sval(k) : "";
        if (strcmp(key, "id") == 0)
            rc = ident_scalar(y, val, key, &cs->id, err);
        else if (strcmp(key, "author") == 0)
            rc = ident_scalar(y, val, key, &cs->author, err);
        else if (strcmp(key, "changes") == 0)
            rc = parse_changes(y, val, cs, err);
        else if (strcmp(key, "rollback") == 0)
            rc = parse_rollback(y, val, cs, err);
        else if (strcmp(key, "runOnChange") == 0)
            rc = bool_val(y, val, key, &cs->run_on_change, err);
        else if (strcmp(key, "runAlways") == 0 || strcmp(key, "alwaysRun") == 0)
            rc = bool_val(y, val, key, &cs->run_always, err);
        else if (strcmp(key, "runInTransaction") == 0)
            rc = bool_val(y, val, key, &cs->run_in_transaction, err);
        else if (strcmp(key, "failOnError") == 0)
            rc = bool_val(y, val, key, &cs->fail_on_error, err);
        else if (strcmp(key, "context") == 0)
            rc = scalar_set(y, val, key, &context, err);
        else if (strcmp(key, "contextFilter") == 0)
            rc = scalar_set(y, val, key, &context_filter, err);
        else if (strcmp(key, "labels") == 0)
            rc = scalar_set(y, val, key, &cs->labels, err);
        else if (strcmp(key, "comment") == 0)
            rc = scalar_set(y, val, key, &cs->comment, err);
        else if (strcmp(key, "dbms") == 0)
            rc = scalar_set(y, val, key, &cs->dbms, err);
        else if (strcmp(key, "logicalFilePath") == 0)
            rc = scalar_set(y, val, key, &cs->filename, err);
        else if (strcmp(key, "preConditions") == 0)
            rc = parse_preconditions(y, val, cs, err);
        else if (strcmp(key, "validCheckSum") == 0) {
            if (val && val->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = val->data.sequence.items.start;
                     it < val->data.sequence.items.top && rc == TM_OK; it++) {
                    yaml_node_t *e = node_at(y, *it);
                    if (!is_scalar(e))
                        rc = failn(y, err, TM_E_PARSE, e, "validCheckSum: expected text", NULL);
                    else if (chlog_set_add_valid(cs, sval(e)) != TM_OK)
                        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
                }
            } else if (is_scalar(val)) {
                if (chlog_set_add_valid(cs, sval(val)) != TM_OK)
                    rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            } else {
                rc = failn(y, err, TM_E_PARSE, val, "validCheckSum: expected text or a list",
                           NULL);
            }
        } else if (strcmp(key, "ignore") == 0 || strcmp(key, "created") == 0 ||
                   strcmp(key, "objectQuotingStrategy") == 0 || strcmp(key, "runOrder") == 0)
            rc = TM_OK; /* informational */
        else
            rc = failn(y, err, TM_E_INVAL, k, "unknown changeSet attribute '%s'", key);
        if (rc != TM_OK)
            break;
    }
    if (rc == TM_OK) {
        if (context_filter) {
            cs->contexts = context_filter;
            context_filter = NULL;
        } else {
            cs->contexts = context;
            context = NULL;
        }
    }
    free(context);
    free(context_filter);
    if (rc != TM_OK)
        return rc;
    if (!cs->id || !cs->id[0])
        return failn(y, err, TM_E_INVAL, item, "changeSet needs an id", NULL);
    if (!cs->author || !cs->author[0])
        return failn(y, err, TM_E_INVAL, item, "changeSet needs an author", NULL);
    return TM_OK;
}

/* include / includeAll: returns the path and relativeToChangelogFile. */
static enum tm_code include_args(struct yctx *y, yaml_node_t *v, const char *what,
                                 const char *pathkey, char **path, bool *relative,
                                 struct tm_err *err)
{
    *path = NULL;
    *relative = false;
    if (!v || v->type != YAML_MAPPING_NODE)
        return failn(y, err, TM_E_PARSE, v, "%s: expected a mapping", what);
    yaml_node_t *k, *val;
    enum tm_code rc = TM_OK;
    FOR_PAIRS(y, v, k, val)
    {
        const char *key = is_scalar(k) ? sval(k) : "";
        if (strcmp(key, pathkey) == 0)
            rc = scalar_set(y, val, key, path, err);
        else if (strcmp(key, "relativeToChangelogFile") == 0)
            rc = bool_val(y, val, key, relative, err);
        else if (strcmp(key, "errorIfMissing") == 0 || strcmp(key, "errorIfMissingOrEmpty") == 0)
            rc = TM_OK; /* always an error here */
        else
            rc = failn(y, err, TM_E_INVAL, k, "unknown include attribute '%s'", key);
        if (rc != TM_OK)
            return rc;
    }
    if (!*path || !(*path)[0])
        return chlog_ld_fail(err, TM_E_INVAL, y->path, nline(v), ncol(v), "%s needs %s", what,
                             pathkey);
    return TM_OK;
}

static enum tm_code do_include(struct yctx *y, yaml_node_t *item, yaml_node_t *v,
                               struct tm_err *err)
{
    char *file = NULL, *clean = NULL;
    bool relative = false;
    enum tm_code rc = include_args(y, v, "include", "file", &file, &relative, err);
    if (rc != TM_OK)
        goto out;
    rc = relative ? chlog_path_sibling(y->path, file, &clean, err)
                  : chlog_path_clean(file, &clean, err);
    if (rc != TM_OK) {
        rc = chlog_ld_fail(err, rc, y->path, nline(item), ncol(item), "include: %s",
                           err ? err->msg : "bad path");
        goto out;
    }
    /* FILENAME: as written, or resolved+normalised when relative */
    rc = chlog_ld_include(y->ld, clean, relative ? clean : file, y->path, nline(item), err);
    if (rc == TM_E_NOTFOUND && err && !strstr(err->msg, "not found"))
        rc = chlog_ld_fail(err, rc, y->path, nline(item), ncol(item), "included file %s not found",
                           clean);
out:
    free(file);
    free(clean);
    return rc;
}

struct flist {
    char **v;
    size_t n, cap;
};

static void flist_free(struct flist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Every .yaml/.yml/.sql file below dir (recursively) as dir/name paths. */
static enum tm_code collect(const struct chlog_fs *fs, const char *dir, struct flist *l, int depth,
                            struct tm_err *err)
{
    if (depth > CHLOG_MAX_DEPTH)
        return tm_err_set(err, TM_E_INVAL, "%s: folders nested too deep", dir);
    char **names = NULL;
    size_t n = 0;
    enum tm_code rc = fs->list(fs->ctx, dir, &names, &n, err);
    if (rc != TM_OK)
        return rc;
    for (size_t i = 0; i < n && rc == TM_OK; i++) {
        struct tm_buf b;
        tm_buf_init(&b, TM_CAP_SMALL);
        rc = dir[0] ? tm_buf_addf(&b, "%s/%s", dir, names[i]) : tm_buf_adds(&b, names[i]);
        if (rc != TM_OK) {
            rc = tm_err_set(err, rc, "%s: path too long", names[i]);
            break;
        }
        char *p = tm_buf_detach(&b, NULL);
        if (!p) {
            rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
            break;
        }
        if (fs->is_dir(fs->ctx, p)) {
            rc = collect(fs, p, l, depth + 1, err);
            free(p);
        } else if (chlog_has_suffix(p, ".yaml") || chlog_has_suffix(p, ".yml") ||
                   chlog_has_suffix(p, ".sql")) {
            if (l->n == l->cap) {
                size_t nc = l->cap ? l->cap * 2 : 16;
                char **nv = realloc(l->v, nc * sizeof(*nv));
                if (!nv) {
                    free(p);
                    rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
                    break;
                }
                l->v = nv;
                l->cap = nc;
            }
            l->v[l->n++] = p;
        } else {
            free(p);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum tm_code do_include_all(struct yctx *y, yaml_node_t *item, yaml_node_t *v,
                                   struct tm_err *err)
{
    char *dir = NULL, *clean = NULL;
    bool relative = false;
    struct flist l = {0};
    enum tm_code rc = include_args(y, v, "includeAll", "path", &dir, &relative, err);
    if (rc != TM_OK)
        goto out;
    rc = relative ? chlog_path_sibling(y->path, dir, &clean, err)
                  : chlog_path_clean(dir, &clean, err);
    if (rc != TM_OK) {
        rc = chlog_ld_fail(err, rc, y->path, nline(item), ncol(item), "includeAll: %s",
                           err ? err->msg : "bad path");
        goto out;
    }
    if (!y->ld->fs->is_dir(y->ld->fs->ctx, clean)) {
        rc = chlog_ld_fail(err, TM_E_NOTFOUND, y->path, nline(item), ncol(item),
                           "includeAll: folder %s not found", clean);
        goto out;
    }
    rc = collect(y->ld->fs, clean, &l, 0, err);
    if (rc != TM_OK)
        goto out;
    if (l.n == 0) {
        rc = chlog_ld_fail(err, TM_E_NOTFOUND, y->path, nline(item), ncol(item),
                           "includeAll: folder %s holds no changelog files", clean);
        goto out;
    }
    qsort(l.v, l.n, sizeof(*l.v), cmp_str);
    for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
        /* FILENAME: the resource path Liquibase's search returns, i.e. the
         * normalised folder path + the file's path below it */
        rc = chlog_ld_include(y->ld, l.v[i], l.v[i], y->path, nline(item), err);
    }
out:
    flist_free(&l);
    free(dir);
    free(clean);
    return rc;
}

static enum tm_code set_property(struct yctx *y, yaml_node_t *v, struct tm_err *err)
{
    if (!v || v->type != YAML_MAPPING_NODE)
        return failn(y, err, TM_E_PARSE, v, "property: expected a mapping with name and value",
                     NULL);
    const char *name = NULL, *value = NULL;
    yaml_node_t *k, *val;
    FOR_PAIRS(y, v, k, val)
    {
        const char *key = is_scalar(k) ? sval(k) : "";
        if (strcmp(key, "name") == 0 && is_scalar(val))
            name = sval(val);
        else if (strcmp(key, "value") == 0 && is_scalar(val))
            value = sval(val);
        else if (strcmp(key, "global") == 0 || strcmp(key, "context") == 0 ||
                 strcmp(key, "contextFilter") == 0 || strcmp(key, "labels") == 0 ||
                 strcmp(key, "dbms") == 0)
            continue; /* not modelled: properties are global */
        else
            return failn(y, err, TM_E_INVAL, k,
                         "property: unsupported attribute '%s' (expected name, value)", key);
    }
    if (!name || !name[0] || !value)
        return failn(y, err, TM_E_INVAL, v, "property needs a name and a value", NULL);
    if (chlog_props_get(&y->ld->props, name))
        return TM_OK; /* first value wins */
    return chlog_props_set(&y->ld->props, name, value, err);
}

enum tm_code chlog_yaml_parse(struct chlog_ld *ld, const char *path, const char *filename,
                              struct tm_err *err)
{
    char *data = NULL;
    size_t len = 0;
    enum tm_code rc = chlog_ld_read(ld, path, &data, &len, err);
    if (rc != TM_OK)
        return rc;
    struct yctx y;
    memset(&y, 0, sizeof(y));
    y.ld = ld;
    y.path = path;
    y.filename = filename;
    yaml_parser_t parser;
    bool have_doc = false;
    if (!yaml_parser_initialize(&parser)) {
        free(data);
        return tm_err_set(err, TM_E_NOMEM, "yaml: cannot initialise the parser");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &y.doc)) {
        const char *problem = parser.problem ? parser.problem : "syntax error";
        int line = (int)parser.problem_mark.line + 1, col = (int)parser.problem_mark.column + 1;
        if (parser.context)
            rc = chlog_ld_fail(err, TM_E_PARSE, path, line, col, "invalid YAML: %s %s",
                               problem, parser.context);
        else
            rc = chlog_ld_fail(err, TM_E_PARSE, path, line, col, "invalid YAML: %s", problem);
        goto out;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&y.doc);
    if (!root) {
        rc = chlog_ld_fail(err, TM_E_PARSE, path, 1, 0, "empty file: expected databaseChangeLog:");
        goto out;
    }
    {
        /* a second document would be ignored silently: refuse it, as
         * SnakeYAML's load() does */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = chlog_ld_fail(err, TM_E_PARSE, path, (int)parser.problem_mark.line + 1,
                               (int)parser.problem_mark.column + 1, "invalid YAML: %s",
                               parser.problem ? parser.problem : "syntax error");
            goto out;
        }
        yaml_node_t *nroot = yaml_document_get_root_node(&next);
        int nline_ = nroot ? (int)nroot->start_mark.line + 1 : 0;
        yaml_document_delete(&next);
        if (nroot) {
            rc = chlog_ld_fail(err, TM_E_PARSE, path, nline_, 0,
                               "expected one YAML document, found a second one");
            goto out;
        }
    }
    yaml_node_t *list = NULL;
    if (root->type == YAML_MAPPING_NODE) {
        yaml_node_t *k, *val;
        FOR_PAIRS(&y, root, k, val)
        {
            if (is_scalar(k) && strcmp(sval(k), "databaseChangeLog") == 0)
                list = val;
            else {
                rc = failn(&y, err, TM_E_PARSE, k, "unexpected top-level key '%s' (expected "
                           "databaseChangeLog)", is_scalar(k) ? sval(k) : "?");
                goto out;
            }
        }
    }
    if (!list) {
        rc = failn(&y, err, TM_E_PARSE, root, "expected a mapping with databaseChangeLog:", NULL);
        goto out;
    }
    if (is_null(list))
        goto out; /* empty changelog */
    if (list->type != YAML_SEQUENCE_NODE) {
        rc = failn(&y, err, TM_E_PARSE, list, "databaseChangeLog: expected a list", NULL);
        goto out;
    }
    /* properties first */
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *item = node_at(&y, *it);
        const char *key;
        yaml_node_t *val;
        rc = single_key(&y, item, "changeSet, include, includeAll or property", &key, &val, err);
        if (rc != TM_OK)
            goto out;
        if (strcmp(key, "property") == 0) {
            rc = set_property(&y, val, err);
            if (rc != TM_OK)
                goto out;
        }
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *item = node_at(&y, *it);
        const char *key;
        yaml_node_t *val;
        rc = single_key(&y, item, "changeSet, include, includeAll or property", &key, &val, err);
        if (rc != TM_OK)
            goto out;
        if (strcmp(key, "changeSet") == 0)
            rc = parse_changeset(&y, item, val, err);
        else if (strcmp(key, "include") == 0)
            rc = do_include(&y, item, val, err);
        else if (strcmp(key, "includeAll") == 0)
            rc = do_include_all(&y, item, val, err);
        else if (strcmp(key, "property") == 0)
            rc = TM_OK;
        else
            rc = failn(&y, err, TM_E_INVAL, item,
                       "unsupported entry '%s' (expected changeSet, include, includeAll or "
                       "property)", key);
        if (rc != TM_OK)
            goto out;
    }
out:
    if (have_doc)
        yaml_document_delete(&y.doc);
    yaml_parser_delete(&parser);
    free(data);
    return rc;
}
