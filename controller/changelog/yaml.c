/* chlog yaml: reads a Liquibase YAML or JSON changelog file into the node
 * tree (node.h) with libyaml's document API.  Liquibase reads .json with
 * SnakeYAML too, so JSON that is only valid as YAML (a bare "key": value pair
 * inside a flow sequence) loads here as well.
 *
 * Shapes (see node.h): a mapping key is a child named by the key; a list item
 * that is a mapping gives one child per key (Liquibase's ParsedNode does the
 * same); a list item that is a scalar gives a child named "" holding it; a
 * scalar is the node's value.  Plain scalars are typed as SnakeYAML types
 * them and turned back into text as Liquibase's toString() would (below);
 * YAML null gives a node without a value.  No interpretation here: lbparse.c
 * does that for XML, YAML and JSON alike. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/node.h"
#include "common/buf.h"
#include "common/caps.h"

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


struct yread {
    struct chlog_ld *ld;
    yaml_document_t doc;
    const char *file; /* ld-kept path */
    int depth;
};

#define YAML_MAX_NEST 256 /* nesting of mappings/lists (aliases could loop) */

static enum tm_code fail_at(struct yread *y, const yaml_node_t *n, struct tm_err *err,
                            const char *msg)
{
    return chlog_ld_fail(err, TM_E_PARSE, y->file, n ? (int)n->start_mark.line + 1 : 0,
                         n ? (int)n->start_mark.column + 1 : 0, "%s", msg);
}

/* Sets kid's value from scalar n (typed like SnakeYAML when plain). */
static enum tm_code scalar_value(struct yread *y, const yaml_node_t *n, struct chlog_node *kid)
{
    const char *v = (const char *)n->data.scalar.value;
    size_t vlen = n->data.scalar.length;
    /* every visit counts (at least 1 byte), so aliases of empty values
     * cannot multiply the walk without bound either */
    if (vlen + 1 > TM_CAP_CHANGELOG_TOTAL - y->ld->produced) {
        y->ld->over_cap = true;
        return TM_E_NOMEM;
    }
    y->ld->produced += vlen + 1;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        kid->style = CHLOG_NODE_PLAIN;
        bool is_null = false;
        char *canon = snake_canonical(v, &is_null);
        if (is_null)
            return TM_OK;
        kid->value = canon ? canon : strdup(v);
    } else {
        kid->value = strdup(v);
    }
    return kid->value ? TM_OK : TM_E_NOMEM;
}

static enum tm_code fill(struct yread *y, const yaml_node_t *n, struct chlog_node *into,
                         struct tm_err *err);

/* Adds to parent the children that list item or mapping n stands for. */
static enum tm_code add_entries(struct yread *y, const yaml_node_t *n, struct chlog_node *parent,
                                struct tm_err *err)
{
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&y->doc, p->value);
        if (!k || k->type != YAML_SCALAR_NODE)
            return fail_at(y, k, err, "expected a text key");
        /* a text value's own position (errors about it point there) */
        const yaml_node_t *at = v && v->type == YAML_SCALAR_NODE ? v : k;
        struct chlog_node *kid = chlog_node_add_new(parent, (const char *)k->data.scalar.value,
                                                    NULL, (int)at->start_mark.line + 1,
                                                    (int)at->start_mark.column + 1);
        if (!kid)
            return tm_err_set(err, TM_E_NOMEM, "out of memory");
        enum tm_code rc = fill(y, v, kid, err);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

/* Makes into stand for YAML node n. */
static enum tm_code fill(struct yread *y, const yaml_node_t *n, struct chlog_node *into,
                         struct tm_err *err)
{
    if (!n)
        return TM_OK;
    if (n->type == YAML_SCALAR_NODE) {
        enum tm_code rc = scalar_value(y, n, into);
        return rc == TM_OK ? TM_OK : tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    if (++y->depth > YAML_MAX_NEST)
        return fail_at(y, n, err, "nested too deep (more than 256 levels)");
    if (y->ld->produced >= TM_CAP_CHANGELOG_TOTAL) {
        y->ld->over_cap = true;
        return TM_E_NOMEM;
    }
    y->ld->produced++;
    enum tm_code rc = TM_OK;
    if (n->type == YAML_MAPPING_NODE) {
        rc = add_entries(y, n, into, err);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        into->is_list = true;
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top && rc == TM_OK; it++) {
            yaml_node_t *item = yaml_document_get_node(&y->doc, *it);
            if (item && item->type == YAML_MAPPING_NODE) {
                rc = add_entries(y, item, into, err);
            } else {
                struct chlog_node *kid = chlog_node_add_new(
                    into, "", NULL, item ? (int)item->start_mark.line + 1 : 0,
                    item ? (int)item->start_mark.column + 1 : 0);
                rc = kid ? fill(y, item, kid, err) : tm_err_set(err, TM_E_NOMEM, "out of memory");
            }
        }
    }
    y->depth--;
    return rc;
}

enum tm_code chlog_yaml_read(struct chlog_ld *ld, const char *path, struct chlog_node **root,
                             struct tm_err *err)
{
    *root = NULL;
    char *data = NULL;
    size_t len = 0;
    struct yread y;
    memset(&y, 0, sizeof(y));
    y.ld = ld;
    enum tm_code rc = chlog_ld_read_kept(ld, path, &data, &len, &y.file, err);
    if (rc != TM_OK)
        return rc;
    yaml_parser_t parser;
    bool have_doc = false;
    struct chlog_node *top = NULL;
    if (!yaml_parser_initialize(&parser)) {
        free(data);
        return tm_err_set(err, TM_E_NOMEM, "yaml: cannot initialise the parser");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &y.doc)) {
        const char *problem = parser.problem ? parser.problem : "syntax error";
        int line = (int)parser.problem_mark.line + 1, col = (int)parser.problem_mark.column + 1;
        if (parser.context)
            rc = chlog_ld_fail(err, TM_E_PARSE, path, line, col, "invalid YAML: %s %s", problem,
                               parser.context);
        else
            rc = chlog_ld_fail(err, TM_E_PARSE, path, line, col, "invalid YAML: %s", problem);
        goto out;
    }
    have_doc = true;
    yaml_node_t *ydoc = yaml_document_get_root_node(&y.doc);
    if (!ydoc) {
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
    yaml_node_t *list = NULL, *key = NULL;
    if (ydoc->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *p = ydoc->data.mapping.pairs.start;
             p < ydoc->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(&y.doc, p->key);
            if (k && k->type == YAML_SCALAR_NODE &&
                strcmp((const char *)k->data.scalar.value, "databaseChangeLog") == 0) {
                list = yaml_document_get_node(&y.doc, p->value);
                key = k;
            } else {
                rc = chlog_ld_fail(err, TM_E_PARSE, path, k ? (int)k->start_mark.line + 1 : 0,
                                   k ? (int)k->start_mark.column + 1 : 0,
                                   "unexpected top-level key '%s' (expected databaseChangeLog)",
                                   k && k->type == YAML_SCALAR_NODE
                                       ? (const char *)k->data.scalar.value
                                       : "?");
                goto out;
            }
        }
    }
    if (!key) {
        rc = fail_at(&y, ydoc, err, "expected a mapping with databaseChangeLog:");
        goto out;
    }
    top = chlog_node_new("databaseChangeLog", NULL, y.file, (int)key->start_mark.line + 1,
                         (int)key->start_mark.column + 1);
    if (!top) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    if (list && list->type == YAML_SCALAR_NODE) {
        bool is_null = list->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                       (list->data.scalar.length == 0 ||
                        strcmp((const char *)list->data.scalar.value, "~") == 0 ||
                        strcmp((const char *)list->data.scalar.value, "null") == 0);
        if (!is_null) {
            rc = fail_at(&y, list, err, "databaseChangeLog: expected a list");
            goto out;
        }
    } else if (list && list->type != YAML_SEQUENCE_NODE) {
        rc = fail_at(&y, list, err, "databaseChangeLog: expected a list");
        goto out;
    } else {
        rc = fill(&y, list, top, err);
    }
out:
    if (rc == TM_OK) {
        *root = top;
    } else {
        chlog_node_free(top);
    }
    if (have_doc)
        yaml_document_delete(&y.doc);
    yaml_parser_delete(&parser);
    free(data);
    return rc;
}
