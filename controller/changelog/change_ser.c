/* change_ser: attribute schemas of Liquibase changes - validation of a change
 * node against its schema, and the v9 checksum of its serialisation.
 *
 * Sources (liquibase-core 4.33.0):
 *   serializer/core/string/StringChangeLogSerializer.java  the text hashed:
 *     name + ":" + object, an object is "[" + ("\n" + sorted field lines
 *     joined by "\n" + "\n" when any) + indent(level-1) + "]"; a field line
 *     is indent(level) + name="value"; a nested object (constraints) is
 *     indent(level) + the object without its name; a list is
 *     name=[\n + per item indent(level+1) + object + ",\n" (last comma
 *     dropped) + indent(level) + "]".  Lines are a TreeSet: sorted, unique.
 *   change/AbstractChange.java generateCheckSum + getExcludedFieldFilters
 *   change/CheckSum.java compute(): MD5 of the text (line ends standardised)
 *   change/ColumnConfig.java load()/getSerializableFieldValue: typed fields
 *     (Boolean, BigInteger, Number kept as written, valueDate in ISO form). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "changelog/change_int.h"
#include "changelog/chlog_int.h"
#include "common/caps.h"

#define F(n, k) {n, CHLOG_FIELD_##k, NULL, NULL}

static const struct chlog_field constraints_fields[] = {
    F("nullable", BOOL), F("notNullConstraintName", STRING), F("primaryKey", BOOL),
    F("primaryKeyName", STRING), F("primaryKeyTablespace", STRING), F("references", STRING),
    F("referencedTableCatalogName", STRING), F("referencedTableSchemaName", STRING),
    F("referencedTableName", STRING), F("referencedColumnNames", STRING), F("unique", BOOL),
    F("uniqueConstraintName", STRING), F("checkConstraint", STRING), F("deleteCascade", BOOL),
    F("foreignKeyName", STRING), F("initiallyDeferred", BOOL), F("deferrable", BOOL),
    F("validateNullable", BOOL), F("validateUnique", BOOL), F("validatePrimaryKey", BOOL),
    F("validateForeignKey", BOOL),
};
const struct chlog_schema chlog_schema_constraints = {
    "constraints", constraints_fields, sizeof constraints_fields / sizeof constraints_fields[0],
    NULL};

#define COLUMN_FIELDS                                                                      \
    F("name", STRING), F("computed", BOOL), F("type", STRING), F("value", STRING),         \
        F("valueNumeric", NUMBER), F("valueDate", DATE), F("valueBoolean", BOOL),          \
        F("valueBlobFile", STRING), F("valueClobFile", STRING), F("encoding", STRING),     \
        F("valueComputed", STRING), F("valueSequenceNext", STRING),                        \
        F("valueSequenceCurrent", STRING), F("defaultValue", STRING),                      \
        F("defaultValueNumeric", NUMBER), F("defaultValueDate", DATE),                     \
        F("defaultValueBoolean", BOOL), F("defaultValueComputed", STRING),                 \
        F("defaultValueSequenceNext", STRING), F("defaultValueConstraintName", STRING),    \
        {"constraints", CHLOG_FIELD_OBJECT, &chlog_schema_constraints, NULL},              \
        F("autoIncrement", BOOL), F("generationType", STRING), F("defaultOnNull", BOOL),   \
        F("startWith", INT), F("incrementBy", INT), F("remarks", STRING),                  \
        F("descending", BOOL), F("included", BOOL)

static const struct chlog_field column_fields[] = {COLUMN_FIELDS};
const struct chlog_schema chlog_schema_column = {
    "column", column_fields, sizeof column_fields / sizeof column_fields[0], "value"};

static const struct chlog_field add_column_fields[] = {
    COLUMN_FIELDS, F("afterColumn", STRING), F("beforeColumn", STRING), F("position", INT)};
const struct chlog_schema chlog_schema_add_column = {
    "column", add_column_fields, sizeof add_column_fields / sizeof add_column_fields[0],
    "value"};

static const struct chlog_field load_column_fields[] = {
    COLUMN_FIELDS, F("index", INT), F("header", STRING), F("allowUpdate", BOOL),
    F("loadType", STRING), F("nullPlaceholder", STRING)};
const struct chlog_schema chlog_schema_load_column = {
    "column", load_column_fields, sizeof load_column_fields / sizeof load_column_fields[0],
    "value"};

static const struct chlog_field *find_field(const struct chlog_schema *s, const char *name)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return &s->fields[i];
    return NULL;
}

/* the list item name and YAML wrapper of a LIST field ("column"/"columns") */
static const char *item_of(const struct chlog_field *f)
{
    return f->item ? f->item : f->sub->name;
}

static bool has_kid(const struct chlog_node *n, const char *name)
{
    for (size_t i = 0; i < n->nkids; i++)
        if (strcmp(n->kids[i]->name, name) == 0)
            return true;
    return false;
}

enum tm_code chlog_list_each(const struct chlog_node *node, const char *item, const char *wrapper,
                             enum tm_code (*fn)(const struct chlog_node *kid, void *arg),
                             void *arg)
{
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < node->nkids && rc == TM_OK; i++) {
        const struct chlog_node *k = node->kids[i];
        if (strcmp(k->name, item) == 0) {
            rc = fn(k, arg);
        } else if (wrapper && strcmp(k->name, wrapper) == 0) {
            if (!has_kid(k, item) && !k->is_list && k->nkids) {
                rc = fn(k, arg); /* the wrapper is the item */
                continue;
            }
            for (size_t j = 0; j < k->nkids && rc == TM_OK; j++)
                if (strcmp(k->kids[j]->name, item) == 0)
                    rc = fn(k->kids[j], arg);
        }
    }
    return rc;
}


static bool is_int_text(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return false;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

static enum tm_code check_node(struct chlog_ld *ld, const struct chlog_node *node,
                               const struct chlog_schema *s, const char *what,
                               struct tm_err *err);

enum tm_code chlog_schema_check(struct chlog_ld *ld, const struct chlog_node *node,
                                const struct chlog_schema *s, struct tm_err *err)
{
    return check_node(ld, node, s, s->name, err);
}

/* Liquibase validates XML against its XSD, so an unknown attribute or element
 * there is an error it reports too; YAML and JSON have no schema and
 * Liquibase ignores what no property reads.  Those become warnings. */
static bool lenient(struct chlog_ld *ld, const struct chlog_node *k)
{
    return ld && k->file && !chlog_has_suffix(k->file, ".xml");
}

static enum tm_code check_node(struct chlog_ld *ld, const struct chlog_node *node,
                               const struct chlog_schema *s, const char *what,
                               struct tm_err *err)
{
    for (size_t i = 0; i < node->nkids; i++) {
        const struct chlog_node *k = node->kids[i];
        const struct chlog_field *f = find_field(s, k->name);
        const struct chlog_field *wrapped = NULL;
        if (!f) {
            /* a YAML list wrapper ("columns") of a LIST field */
            for (size_t j = 0; j < s->nfields && !wrapped; j++) {
                const struct chlog_field *g = &s->fields[j];
                if (g->kind == CHLOG_FIELD_LIST && strcmp(g->name, k->name) == 0)
                    wrapped = g;
            }
        }
        if (f && f->kind == CHLOG_FIELD_LIST && strcmp(k->name, item_of(f)) != 0)
            wrapped = f; /* the list property itself ("columns") */
        if (!f) {
            /* an XML list item ("column") directly under the change */
            for (size_t j = 0; j < s->nfields && !f; j++)
                if (s->fields[j].kind == CHLOG_FIELD_LIST &&
                    strcmp(item_of(&s->fields[j]), k->name) == 0)
                    f = &s->fields[j];
        }
        if (wrapped && !has_kid(k, item_of(wrapped)) && !k->is_list && k->nkids) {
            enum tm_code rc = check_node(ld, k, wrapped->sub, item_of(wrapped), err);
            if (rc != TM_OK)
                return rc;
            continue;
        }
        if (wrapped) {
            for (size_t j = 0; j < k->nkids; j++) {
                const struct chlog_node *it = k->nkids ? k->kids[j] : NULL;
                if (strcmp(it->name, item_of(wrapped)) != 0 && lenient(ld, it)) {
                    if (chlog_ld_warn(ld, it->file, it->line,
                                      "%s: '%s' in %s is not a %s; ignored, as Liquibase does",
                                      what, it->name[0] ? it->name : "item", k->name,
                                      item_of(wrapped)) != TM_OK)
                        return tm_err_set(err, TM_E_NOMEM, "out of memory");
                    continue;
                }
                if (strcmp(it->name, item_of(wrapped)) != 0)
                    return chlog_ld_fail(err, TM_E_INVAL, it->file, it->line, 0,
                                         "%s: unexpected '%s' in %s (expected %s)", what,
                                         it->name[0] ? it->name : "item", k->name,
                                         item_of(wrapped));
                enum tm_code rc = check_node(ld, it, wrapped->sub, item_of(wrapped), err);
                if (rc != TM_OK)
                    return rc;
            }
            continue;
        }
        if (!f && lenient(ld, k)) {
            if (chlog_ld_warn(ld, k->file, k->line,
                              "%s: unknown attribute '%s'; ignored, as Liquibase does for %s",
                              what, k->name, "YAML and JSON") != TM_OK)
                return tm_err_set(err, TM_E_NOMEM, "out of memory");
            continue;
        }
        if (!f)
            return chlog_ld_fail(err, TM_E_INVAL, k->file, k->line, 0,
                                 "%s: unknown attribute '%s'", what, k->name);
        enum tm_code rc = TM_OK;
        switch (f->kind) {
        case CHLOG_FIELD_BOOL:
            if (k->value && !chlog_bool_text_ok(k->value))
                rc = chlog_ld_fail(err, TM_E_INVAL, k->file, k->line, 0,
                                   "%s: %s must be true or false, not '%s'", what, k->name,
                                   k->value);
            break;
        case CHLOG_FIELD_INT:
            if (k->value && !is_int_text(k->value))
                rc = chlog_ld_fail(err, TM_E_INVAL, k->file, k->line, 0,
                                   "%s: %s must be an integer, not '%s'", what, k->name,
                                   k->value);
            break;
        case CHLOG_FIELD_OBJECT:
            rc = check_node(ld, k, f->sub, f->name, err);
            break;
        case CHLOG_FIELD_LIST:
            rc = check_node(ld, k, f->sub, item_of(f), err);
            break;
        case CHLOG_FIELD_IGNORED: /* accepted as Liquibase reads it, not serialised */
            break;
        default:
            if (k->nkids)
                rc = chlog_ld_fail(err, TM_E_INVAL, k->file, k->line, 0,
                                   "%s: %s must be a value, not a mapping or list", what,
                                   k->name);
            break;
        }
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

/* ---- serialisation --------------------------------------------------------- */

struct lines {
    char **v;
    size_t n, alloc;
};

static enum tm_code lines_add_take(struct lines *l, char *s)
{
    if (!s)
        return TM_E_NOMEM;
    char **v = chlog_grow(l->v, l->n, &l->alloc, sizeof *v, 16);
    if (!v) {
        free(s);
        return TM_E_NOMEM;
    }
    l->v = v;
    l->v[l->n++] = s;
    return TM_OK;
}

static void lines_release(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static enum tm_code add_indent(struct tm_buf *b, int level)
{
    enum tm_code rc = TM_OK;
    for (int i = 0; i < level && rc == TM_OK; i++)
        rc = tm_buf_add(b, "    ", 4);
    return rc;
}

/* Appends a then b (plain appends: this runs for every field of every
 * change, where tm_buf_addf's two vsnprintf passes cost a third of a load). */
static enum tm_code add2(struct tm_buf *buf, const char *a, const char *b)
{
    enum tm_code rc = tm_buf_adds(buf, a);
    return rc == TM_OK ? tm_buf_adds(buf, b) : rc;
}

/* Appends name="text". */
static enum tm_code add_assign(struct tm_buf *b, const char *name, const char *text)
{
    enum tm_code rc = add2(b, name, "=\"");
    return rc == TM_OK ? add2(b, text, "\"") : rc;
}

/* The serialised value text of a scalar field (NULL: skip). *tmp gets any
 * allocated text. */
static const char *scalar_text(const struct chlog_field *f, const struct chlog_node *k,
                               const char *v, char **tmp)
{
    *tmp = NULL;
    if (!v)
        return NULL;
    switch (f->kind) {
    case CHLOG_FIELD_BOOL:
        return strcasecmp(v, "true") == 0 ? "true" : "false"; /* Boolean.valueOf */
    case CHLOG_FIELD_INT: { /* BigInteger/Integer toString: no sign '+', no leading zeros */
        const char *p = v;
        bool neg = false;
        if (*p == '-' || *p == '+') {
            neg = *p == '-';
            p++;
        }
        while (p[0] == '0' && p[1])
            p++;
        if (neg && strcmp(p, "0") != 0) {
            size_t n = strlen(p) + 2;
            *tmp = malloc(n);
            if (*tmp)
                snprintf(*tmp, n, "-%s", p);
            return *tmp;
        }
        return p;
    }
    case CHLOG_FIELD_NUMBER: { /* ValueNumeric: as written, (...) stripped; "null" is none */
        if (strcasecmp(v, "null") == 0)
            return NULL;
        size_t n = strlen(v);
        if (v[0] == '(' && n >= 2) {
            *tmp = strndup(v + 1, v[n - 1] == ')' ? n - 2 : n - 1);
            return *tmp;
        }
        return v;
    }
    case CHLOG_FIELD_DATE: { /* ColumnConfig: ISODateFormat of the parsed date */
        if (!k)
            return v;
        char iso[64];
        chlog_iso_date(k, iso);
        *tmp = strdup(iso);
        return *tmp;
    }
    default:
        return v;
    }
}

static enum tm_code ser_object(const struct chlog_node *node, const struct chlog_schema *s,
                               int level, struct tm_buf *out);

static enum tm_code ser_list_item(struct tm_buf *b, const struct chlog_node *it,
                                  const struct chlog_schema *sub, int level, bool *first)
{
    enum tm_code rc = *first ? TM_OK : tm_buf_adds(b, ",\n");
    *first = false;
    if (rc == TM_OK)
        rc = add_indent(b, level);
    return rc == TM_OK ? ser_object(it, sub, level + 1, b) : rc;
}

/* name=[ ... ] for a LIST field; items from node's direct children named
 * item and the children of wrappers named like the field. */
static enum tm_code ser_list(const struct chlog_node *node, const struct chlog_field *f,
                             int level, char **line)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
    enum tm_code rc = add_indent(&b, level);
    if (rc == TM_OK)
        rc = add2(&b, f->name, "=[\n");
    bool first = true;
    const char *item = item_of(f);
    for (size_t i = 0; i < node->nkids && rc == TM_OK; i++) {
        const struct chlog_node *k = node->kids[i];
        if (strcmp(k->name, item) == 0 && strcmp(item, f->name) != 0) {
            rc = ser_list_item(&b, k, f->sub, level + 1, &first);
        } else if (strcmp(k->name, f->name) == 0 && !has_kid(k, item) && !k->is_list &&
                   k->nkids) {
            rc = ser_list_item(&b, k, f->sub, level + 1, &first);
        } else if (strcmp(k->name, f->name) == 0) {
            for (size_t j = 0; j < k->nkids && rc == TM_OK; j++)
                if (strcmp(k->kids[j]->name, item) == 0)
                    rc = ser_list_item(&b, k->kids[j], f->sub, level + 1, &first);
        }
    }
    if (rc == TM_OK && first) { /* empty list: "[]" */
        tm_buf_reset(&b);
        rc = add_indent(&b, level);
        if (rc == TM_OK)
            rc = add2(&b, f->name, "=[]");
    } else if (rc == TM_OK) {
        rc = tm_buf_adds(&b, "\n");
        if (rc == TM_OK)
            rc = add_indent(&b, level);
        if (rc == TM_OK)
            rc = tm_buf_adds(&b, "]");
    }
    if (rc != TM_OK) {
        tm_buf_release(&b);
        return rc;
    }
    *line = tm_buf_detach(&b, NULL);
    return *line ? TM_OK : TM_E_NOMEM;
}

static bool has_list_items(const struct chlog_node *node, const struct chlog_field *f)
{
    const char *item = item_of(f);
    for (size_t i = 0; i < node->nkids; i++)
        if (strcmp(node->kids[i]->name, item) == 0 || strcmp(node->kids[i]->name, f->name) == 0)
            return true;
    return false;
}

/* ColumnConfig.load: valueNumeric/valueDate text that does not parse becomes
 * valueComputed (the date's failure is applied last, an explicit
 * valueComputed wins); the same for defaultValue*.  Returns the computed
 * text Liquibase ends up with when no explicit one is set.  The attribute
 * names come spelled out (value* or defaultValue*): this runs for every
 * column. */
static const char *computed_override(const struct chlog_node *node, const char *computed,
                                     const char *date, const char *numeric)
{
    if (chlog_node_text(node, computed))
        return NULL;
    const char *d = chlog_node_text(node, date);
    if (d && !chlog_value_is_date(d))
        return d;
    const char *nv = chlog_node_text(node, numeric);
    if (nv && strcasecmp(nv, "null") != 0 && !chlog_value_is_number(nv))
        return nv;
    return NULL;
}

static enum tm_code add_field_line(struct lines *l, int level, const char *name, const char *text)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
    enum tm_code rc = add_indent(&b, level);
    if (rc == TM_OK)
        rc = add_assign(&b, name, text);
    if (rc == TM_OK)
        rc = lines_add_take(l, tm_buf_detach(&b, NULL));
    tm_buf_release(&b);
    return rc;
}

static enum tm_code ser_object(const struct chlog_node *node, const struct chlog_schema *s,
                               int level, struct tm_buf *out)
{
    struct lines l = {0};
    enum tm_code rc = TM_OK;
    bool columnish = find_field(s, "valueComputed") != NULL;
    const char *value_computed =
        columnish ? computed_override(node, "valueComputed", "valueDate", "valueNumeric") : NULL;
    const char *default_computed =
        columnish ? computed_override(node, "defaultValueComputed", "defaultValueDate",
                                      "defaultValueNumeric")
                  : NULL;
    if (columnish && chlog_node_text(node, "valueDate")) /* ColumnConfig.rawDateValue */
        rc = add_field_line(&l, level, "rawDateValue", chlog_node_text(node, "valueDate"));
    for (size_t i = 0; i < s->nfields && rc == TM_OK; i++) {
        const struct chlog_field *f = &s->fields[i];
        if (f->kind == CHLOG_FIELD_IGNORED)
            continue;
        if (f->kind == CHLOG_FIELD_LIST) {
            if (!has_list_items(node, f))
                continue;
            char *line = NULL;
            rc = ser_list(node, f, level, &line);
            if (rc == TM_OK)
                rc = lines_add_take(&l, line);
            continue;
        }
        const struct chlog_node *k = chlog_node_child(node, f->name);
        if (f->kind == CHLOG_FIELD_OBJECT) {
            if (!k)
                continue;
            struct tm_buf b;
            tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
            rc = add_indent(&b, level);
            if (rc == TM_OK)
                rc = ser_object(k, f->sub, level + 1, &b);
            if (rc == TM_OK)
                rc = lines_add_take(&l, tm_buf_detach(&b, NULL));
            tm_buf_release(&b);
            continue;
        }
        const char *v = k ? k->value : NULL;
        char *trimmed = NULL;
        if (!v && s->text_field && strcmp(s->text_field, f->name) == 0 && node->value) {
            /* element text (ColumnConfig.load: trimToNull(value)) */
            v = node->value;
            if (strcmp(f->name, "value") == 0) { /* ColumnConfig.load: trimToNull */
                while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')
                    v++;
                size_t vl = strlen(v);
                while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\n' ||
                              v[vl - 1] == '\r'))
                    vl--;
                trimmed = strndup(v, vl);
                if (!trimmed) {
                    rc = TM_E_NOMEM;
                    break;
                }
                v = *trimmed ? trimmed : NULL;
            }
        }
        if (columnish && v) {
            bool bad_date = f->kind == CHLOG_FIELD_DATE && !chlog_value_is_date(v);
            bool bad_num = f->kind == CHLOG_FIELD_NUMBER && strcasecmp(v, "null") != 0 &&
                           !chlog_value_is_number(v);
            if (bad_date || bad_num)
                v = NULL; /* serialised as ...Computed (computed_override) */
        }
        if (columnish && !v && strcmp(f->name, "valueComputed") == 0)
            v = value_computed;
        if (columnish && !v && strcmp(f->name, "defaultValueComputed") == 0)
            v = default_computed;
        char *tmp = NULL;
        const char *text = scalar_text(f, k, v, &tmp);
        if (v && !text && f->kind != CHLOG_FIELD_NUMBER)
            rc = TM_E_NOMEM;
        if (rc == TM_OK && text) {
            struct tm_buf b;
            tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
            rc = add_indent(&b, level);
            if (rc == TM_OK)
                rc = add_assign(&b, f->name, text);
            if (rc == TM_OK)
                rc = lines_add_take(&l, tm_buf_detach(&b, NULL));
            tm_buf_release(&b);
        }
        free(tmp);
        free(trimmed);
    }
    if (rc == TM_OK) {
        if (l.n)
            qsort(l.v, l.n, sizeof *l.v, cmp_str);
        rc = tm_buf_adds(out, "[");
        if (rc == TM_OK && l.n)
            rc = tm_buf_adds(out, "\n");
        for (size_t i = 0; i < l.n && rc == TM_OK; i++) {
            if (i > 0 && strcmp(l.v[i], l.v[i - 1]) == 0)
                continue; /* TreeSet */
            rc = add2(out, i ? "\n" : "", l.v[i]);
        }
        if (rc == TM_OK && l.n)
            rc = tm_buf_adds(out, "\n");
        if (rc == TM_OK)
            rc = add_indent(out, level - 1);
        if (rc == TM_OK)
            rc = tm_buf_adds(out, "]");
    }
    lines_release(&l);
    return rc;
}

static enum tm_code schema_serialize(const struct chlog_node *node, const struct chlog_schema *s,
                                     char **out)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
    enum tm_code rc = add2(&b, s->name, ":");
    if (rc == TM_OK)
        rc = ser_object(node, s, 1, &b);
    if (rc != TM_OK) {
        tm_buf_release(&b);
        return rc;
    }
    /* standardizeLineEndings: \r\n and \r become \n */
    char *t = tm_buf_detach(&b, NULL);
    if (!t)
        return TM_E_NOMEM;
    char *w = t;
    for (const char *p = t; *p; p++) {
        if (*p == '\r') {
            *w++ = '\n';
            if (p[1] == '\n')
                p++;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    *out = t;
    return TM_OK;
}

enum tm_code chlog_schema_checksum(const struct chlog_node *node, const struct chlog_schema *s,
                                   char out[40], struct tm_err *err)
{
    char *text = NULL;
    enum tm_code rc = schema_serialize(node, s, &text);
    char hex[33];
    if (rc == TM_OK)
        rc = chlog_md5_hex(text, strlen(text), hex);
    free(text);
    if (rc != TM_OK) {
        if (err) {
            err->code = rc;
            snprintf(err->msg, sizeof err->msg, "%s: cannot compute the checksum", s->name);
        }
        return rc;
    }
    snprintf(out, 40, "9:%s", hex);
    return TM_OK;
}
