/* chlog load: the changelog builder every parser appends to (struct
 * chlog_ld: file reads under the caps, ${} expansion, kept strings, the
 * include stack, changesets and changes), entry detection (chlog_load),
 * the end-of-load checks (chlog_finish: tags, checksums, identities) and the
 * model's lifetime.  Parsers are leaves over this: xml.c/yaml.c read, lbparse.c
 * interprets Liquibase files, sqlfmt.c and flyway*.c parse theirs, and
 * include.c dispatches included files by kind.
 *
 * Identity is Liquibase's: id + author + FILENAME, where FILENAME is written
 * as Liquibase 4.x writes it (DatabaseChangeLog.normalizePath; see
 * controller/changelog/README.md).  Contexts and labels are selected by the
 * engine; changesets for other databases (dbms) never reach the model. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "common/buf.h"
#include "common/caps.h"

enum tm_code chlog_ld_fail(struct tm_err *err, enum tm_code code, const char *file, int line,
                           int col, const char *fmt, ...)
{
    char msg[TM_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0 && col > 0)
        return tm_err_set(err, code, "%s:%d:%d: %s", file, line, col, msg);
    if (line > 0)
        return tm_err_set(err, code, "%s:%d: %s", file, line, msg);
    return tm_err_set(err, code, "%s: %s", file, msg);
}

/* ---- properties ---------------------------------------------------------------- */

void chlog_props_init(struct chlog_props *p)
{
    p->items = NULL;
    p->n = 0;
    p->alloc = 0;
}

const char *chlog_props_get(const struct chlog_props *p, const char *name)
{
    for (size_t i = 0; p && i < p->n; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return p->items[i].value;
    return NULL;
}

enum tm_code chlog_props_set(struct chlog_props *p, const char *name, const char *value,
                             struct tm_err *err)
{
    if (!name || !*name)
        return tm_err_set(err, TM_E_INVAL, "property needs a name");
    char *v = strdup(value ? value : "");
    if (!v)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->items[i].name, name) == 0) {
            free(p->items[i].value);
            p->items[i].value = v;
            return TM_OK;
        }
    }
    struct chlog_prop *ni = chlog_grow(p->items, p->n, &p->alloc, sizeof(*ni), 8);
    if (!ni) {
        free(v);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    p->items = ni;
    char *nm = strdup(name);
    if (!nm) {
        free(v);
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    }
    p->items[p->n++] = (struct chlog_prop){nm, v};
    return TM_OK;
}

void chlog_props_release(struct chlog_props *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->items[i].name);
        free(p->items[i].value);
    }
    free(p->items);
    chlog_props_init(p);
}

enum tm_code chlog_ld_warn(struct chlog_ld *ld, const char *file, int line, const char *fmt, ...)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc = tm_buf_addf(&b, "%s:%d: ", file ? file : "", line);
    if (rc == TM_OK) {
        char msg[TM_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        rc = tm_buf_adds(&b, msg);
    }
    char *w = rc == TM_OK ? tm_buf_detach(&b, NULL) : NULL;
    tm_buf_release(&b);
    struct chlog *c = ld->c;
    char **nv = w ? realloc(c->warnings, (c->nwarnings + 1) * sizeof(*nv)) : NULL;
    if (!nv) {
        free(w);
        return TM_E_NOMEM;
    }
    c->warnings = nv;
    c->warnings[c->nwarnings++] = w;
    return TM_OK;
}

/* "table.column" lowercased into key; false when it does not fit. */
static bool column_key(const char *table, const char *column, char *key, size_t n)
{
    int w = snprintf(key, n, "%s.%s", table, column);
    if (w < 0 || (size_t)w >= n)
        return false;
    for (char *p = key; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return true;
}

enum tm_code chlog_ld_note_column(struct chlog_ld *ld, const char *table, const char *column,
                                  const char *type)
{
    char key[512];
    if (!table || !column || !type || !column_key(table, column, key, sizeof(key)))
        return TM_OK;
    /* room for two: the key and the type */
    char **nv = chlog_grow(ld->coltypes, ld->ncoltypes + 1, &ld->acoltypes, sizeof(*nv), 64);
    if (!nv)
        return TM_E_NOMEM;
    ld->coltypes = nv;
    char *k = strdup(key), *t = strdup(type);
    if (!k || !t) {
        free(k);
        free(t);
        return TM_E_NOMEM;
    }
    ld->coltypes[ld->ncoltypes++] = k;
    ld->coltypes[ld->ncoltypes++] = t;
    return TM_OK;
}

const char *chlog_ld_column_type(const struct chlog_ld *ld, const char *table, const char *column)
{
    char key[512];
    if (!ld || !table || !column || !column_key(table, column, key, sizeof(key)))
        return NULL;
    for (size_t i = ld->ncoltypes; i >= 2; i -= 2)
        if (strcmp(ld->coltypes[i - 2], key) == 0)
            return ld->coltypes[i - 1];
    return NULL;
}

const char *chlog_ld_keep(struct chlog_ld *ld, const char *s)
{
    for (size_t i = 0; i < ld->nkept; i++)
        if (strcmp(ld->kept[i], s) == 0)
            return ld->kept[i];
    char **k = realloc(ld->kept, (ld->nkept + 1) * sizeof *k);
    if (!k)
        return NULL;
    ld->kept = k;
    char *c = strdup(s);
    if (!c)
        return NULL;
    ld->kept[ld->nkept++] = c;
    return c;
}

char *chlog_ld_expand(struct chlog_ld *ld, const char *text)
{
    if (!text)
        return NULL;
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
    const char *p = text;
    enum tm_code rc = TM_OK;
    while (*p && rc == TM_OK) {
        const char *d = strstr(p, "${");
        if (!d) {
            rc = tm_buf_adds(&b, p);
            break;
        }
        rc = tm_buf_add(&b, p, (size_t)(d - p));
        if (rc != TM_OK)
            break;
        const char *e = strchr(d + 2, '}');
        if (!e) {
            rc = tm_buf_adds(&b, d);
            break;
        }
        size_t nl = (size_t)(e - d - 2);
        const char *val = NULL;
        if (nl > 0 && nl < 256) {
            char name[256];
            memcpy(name, d + 2, nl);
            name[nl] = '\0';
            val = chlog_props_get(&ld->props, name);
        }
        if (val) {
            rc = tm_buf_adds(&b, val);
            p = e + 1;
        } else {
            /* unknown: keep "${" and go on after it (Liquibase leaves it) */
            rc = tm_buf_add(&b, d, 2);
            p = d + 2;
        }
    }
    if (rc == TM_OK && b.len > TM_CAP_CHANGELOG_TOTAL - ld->produced)
        rc = TM_E_TOOBIG;
    if (rc != TM_OK) {
        if (rc == TM_E_TOOBIG)
            ld->over_cap = true;
        tm_buf_release(&b);
        return NULL;
    }
    ld->produced += b.len;
    return tm_buf_detach(&b, NULL);
}

/* ---- parser state ----------------------------------------------------------------- */

enum tm_code chlog_ld_read(struct chlog_ld *ld, const char *path, char **data, size_t *len,
                           struct tm_err *err)
{
    enum tm_code rc = ld->fs->read(ld->fs->ctx, path, data, len, err);
    if (rc != TM_OK)
        return rc;
    if (*len > TM_CAP_CHANGELOG_FILE) {
        free(*data);
        *data = NULL;
        return tm_err_set(err, TM_E_TOOBIG, "%s: file is larger than %u bytes", path,
                          (unsigned)TM_CAP_CHANGELOG_FILE);
    }
    if (*len > TM_CAP_CHANGELOG_TOTAL - ld->total) {
        free(*data);
        *data = NULL;
        return tm_err_set(err, TM_E_TOOBIG, "%s: changelog files exceed %u bytes in total",
                          path, (unsigned)TM_CAP_CHANGELOG_TOTAL);
    }
    ld->total += *len;
    const char *nul = memchr(*data, '\0', *len);
    if (nul) {
        int line = 1;
        for (const char *q = *data; q < nul; q++)
            line += *q == '\n';
        free(*data);
        *data = NULL;
        return chlog_ld_fail(err, TM_E_PARSE, path, line, 0,
                             "binary content (NUL byte) where text was expected");
    }
    return TM_OK;
}

enum tm_code chlog_ld_read_kept(struct chlog_ld *ld, const char *path, char **data, size_t *len,
                                const char **kept, struct tm_err *err)
{
    enum tm_code rc = chlog_ld_read(ld, path, data, len, err);
    if (rc != TM_OK)
        return rc;
    *kept = chlog_ld_keep(ld, path);
    if (!*kept) {
        free(*data);
        *data = NULL;
        return tm_err_set(err, TM_E_NOMEM, "%s: out of memory", path);
    }
    return TM_OK;
}

enum tm_code chlog_ld_read_optional(struct chlog_ld *ld, const char *path, char **data,
                                    size_t *len, struct tm_err *err)
{
    *data = NULL;
    *len = 0;
    if (ld->fs->is_dir(ld->fs->ctx, path))
        return TM_OK;
    struct tm_err rerr;
    tm_err_clear(&rerr);
    enum tm_code rc = chlog_ld_read(ld, path, data, len, &rerr);
    if (rc == TM_E_NOTFOUND) {
        *data = NULL;
        return TM_OK;
    }
    if (rc != TM_OK && err)
        *err = rerr;
    return rc;
}

struct chlog_changeset *chlog_add_set(struct chlog *c, const char *id, const char *author,
                                      const char *filename)
{
    struct chlog_changeset *ns = chlog_grow(c->sets, c->nsets, &c->cap_sets, sizeof(*ns), 16);
    if (!ns)
        return NULL;
    c->sets = ns;
    struct chlog_changeset *cs = &c->sets[c->nsets++];
    memset(cs, 0, sizeof(*cs));
    cs->run_in_transaction = true;
    cs->fail_on_error = true;
    cs->id = chlog_strdup(id);
    cs->author = chlog_strdup(author);
    cs->filename = chlog_strdup(filename);
    if ((id && !cs->id) || (author && !cs->author) || (filename && !cs->filename)) {
        chlog_set_release(cs);
        c->nsets--;
        return NULL;
    }
    return cs;
}

struct chlog_changeset *chlog_ld_add_set(struct chlog_ld *ld)
{
    if (ld->c->nsets >= CHLOG_MAX_SETS) {
        ld->over_cap = true;
        return NULL;
    }
    return chlog_add_set(ld->c, NULL, NULL, NULL);
}

struct chlog_change *chlog_set_add_change(struct chlog_changeset *cs)
{
    struct chlog_change *nc = realloc(cs->changes, (cs->nchanges + 1) * sizeof(*nc));
    if (!nc)
        return NULL;
    cs->changes = nc;
    struct chlog_change *ch = &nc[cs->nchanges++];
    memset(ch, 0, sizeof(*ch));
    ch->split_statements = true;
    return ch;
}

struct chlog_change *chlog_set_add_sql(struct chlog_changeset *cs, const char *sql)
{
    char *copy = strdup(sql ? sql : "");
    struct chlog_change *ch = copy ? chlog_set_add_change(cs) : NULL;
    if (!ch) {
        free(copy);
        return NULL;
    }
    ch->kind = CHLOG_CHANGE_SQL;
    ch->sql = copy;
    return ch;
}

struct chlog_change *chlog_set_add_tag(struct chlog_changeset *cs, const char *tag)
{
    char *copy = strdup(tag ? tag : "");
    struct chlog_change *ch = copy ? chlog_set_add_change(cs) : NULL;
    if (!ch) {
        free(copy);
        return NULL;
    }
    ch->kind = CHLOG_CHANGE_TAG;
    ch->tag = copy;
    /* the changes array may have moved: re-point every borrowed tag */
    cs->tag = NULL;
    for (size_t i = 0; i < cs->nchanges && !cs->tag; i++)
        if (cs->changes[i].kind == CHLOG_CHANGE_TAG)
            cs->tag = cs->changes[i].tag;
    return ch;
}

enum tm_code chlog_set_add_valid(struct chlog_changeset *cs, const char *value)
{
    char **nv = realloc(cs->valid_checksums, (cs->nvalid_checksums + 1) * sizeof(*nv));
    if (!nv)
        return TM_E_NOMEM;
    cs->valid_checksums = nv;
    nv[cs->nvalid_checksums] = strdup(value);
    if (!nv[cs->nvalid_checksums])
        return TM_E_NOMEM;
    cs->nvalid_checksums++;
    return TM_OK;
}

enum tm_code chlog_ld_push(struct chlog_ld *ld, const char *path, const char *from, int line,
                           struct tm_err *err)
{
    for (int i = 0; i < ld->depth; i++)
        if (strcmp(ld->stack[i], path) == 0)
            return chlog_ld_fail(err, TM_E_INVAL, from ? from : path, line, 0,
                                 "include cycle: %s includes itself", path);
    if (ld->depth >= CHLOG_MAX_DEPTH)
        return chlog_ld_fail(err, TM_E_INVAL, from ? from : path, line, 0,
                             "includes nested deeper than %d", CHLOG_MAX_DEPTH);
    ld->stack[ld->depth++] = path;
    return TM_OK;
}

void chlog_ld_pop(struct chlog_ld *ld)
{
    if (ld->depth > 0)
        ld->depth--;
}

bool chlog_is_formatted_sql(const char *data, size_t len)
{
    size_t i = 0;
    if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
        (unsigned char)data[2] == 0xBF)
        i = 3;
    /* first non-blank line */
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    if (i + 2 > len || data[i] != '-' || data[i + 1] != '-')
        return false;
    i += 2;
    while (i < len && (data[i] == ' ' || data[i] == '\t'))
        i++;
    if (len - i < 9 || strncasecmp(data + i, "liquibase", 9) != 0)
        return false;
    i += 9;
    while (i < len && (data[i] == ' ' || data[i] == '\t'))
        i++;
    return len - i >= 9 && strncasecmp(data + i, "formatted", 9) == 0;
}

/* ---- validation and checksums ----------------------------------------------------- */

/* Orders pointers into one changeset array by identity, then by position
 * (the pointers' order), so that equal identities sit together, oldest first. */
static int same_identity(const struct chlog_changeset *a, const struct chlog_changeset *b)
{
    int c = strcmp(a->id, b->id);
    if (c == 0)
        c = strcmp(a->author, b->author);
    if (c == 0)
        c = strcmp(a->filename, b->filename);
    return c;
}

static int cmp_identity(const void *x, const void *y)
{
    const struct chlog_changeset *a = *(const struct chlog_changeset *const *)x;
    const struct chlog_changeset *b = *(const struct chlog_changeset *const *)y;
    int c = same_identity(a, b);
    if (c == 0)
        c = a < b ? -1 : a > b;
    return c;
}

enum tm_code chlog_finish(struct chlog *c, struct tm_err *err)
{
    for (size_t i = 0; i < c->nsets; i++) {
        struct chlog_changeset *cs = &c->sets[i];
        const char *file = cs->path ? cs->path : (cs->filename ? cs->filename : c->entry);
        if (!cs->id || !cs->id[0])
            return chlog_ld_fail(err, TM_E_INVAL, file, cs->line, 0, "changeSet needs an id");
        if (!cs->author || !cs->author[0])
            return chlog_ld_fail(err, TM_E_INVAL, file, cs->line, 0,
                                 "changeSet needs an author");
        /* tag from a TAG change when not set yet */
        if (!cs->tag)
            for (size_t k = 0; k < cs->nchanges; k++)
                if (cs->changes[k].kind == CHLOG_CHANGE_TAG && cs->changes[k].tag) {
                    cs->tag = cs->changes[k].tag;
                    break;
                }
        if (c->format != CHLOG_FORMAT_FLYWAY) {
            enum tm_code rc = chlog_checksum_v9(cs, cs->checksum);
            bool legacy = false; /* only sqlFile text that ${} expansion changed */
            for (size_t k = 0; k < cs->nchanges && !legacy; k++)
                legacy = cs->changes[k].kind == CHLOG_CHANGE_SQL_FILE && cs->changes[k].raw_sql &&
                         cs->changes[k].sql && strcmp(cs->changes[k].raw_sql, cs->changes[k].sql);
            if (rc == TM_OK && legacy)
                rc = chlog_checksum_v9_legacy(cs, cs->checksum_legacy);
            if (rc != TM_OK)
                return tm_err_set(err, rc, "%s: checksum failed", file);
            if (strcmp(cs->checksum, cs->checksum_legacy) == 0)
                cs->checksum_legacy[0] = '\0';
        }
    }
    /* duplicates: sort pointers by identity, compare neighbours; report the
     * duplicate that comes first in changelog order */
    if (c->nsets < 2)
        return TM_OK;
    const struct chlog_changeset **ix = malloc(c->nsets * sizeof(*ix));
    if (!ix)
        return tm_err_set(err, TM_E_NOMEM, "out of memory");
    for (size_t i = 0; i < c->nsets; i++)
        ix[i] = &c->sets[i];
    qsort(ix, c->nsets, sizeof(*ix), cmp_identity);
    const struct chlog_changeset *dup = NULL, *first = NULL;
    for (size_t k = 1; k < c->nsets; k++) {
        if (same_identity(ix[k - 1], ix[k]) != 0)
            continue;
        if (!dup || ix[k] < dup) {
            dup = ix[k];
            first = ix[k - 1];
        }
    }
    free(ix);
    if (dup)
        return chlog_ld_fail(err, TM_E_INVAL, dup->path ? dup->path : dup->filename, dup->line, 0,
                             "duplicate changeSet %s::%s::%s (first at line %d)", dup->id,
                             dup->author, dup->filename, first->line);
    return TM_OK;
}

/* The database.* properties Liquibase defines before any other
 * (ChangeLogParameters's constructor, PostgresDatabase), so a changelog's
 * own property entries cannot change them.  tidemark loads a changelog
 * without a connection: the default schema is PostgreSQL's usual "public"
 * unless the caller gives database.defaultSchemaName (and the rest). */
static enum tm_code database_props(struct chlog_props *p, struct tm_err *err)
{
    static const char *const kv[][2] = {
        {"database.typeName", "postgresql"},
        {"database.databaseProductName", "PostgreSQL"},
        {"database.currentDateTimeFunction", "NOW()"},
        {"database.lineComment", "--"},
        {"database.defaultSchemaName", "public"},
        {"database.liquibaseSchemaName", "public"},
        {"database.databaseChangeLogTableName", "databasechangelog"},
        {"database.databaseChangeLogLockTableName", "databasechangeloglock"},
        {"database.supportsSchemas", "true"},
        {"database.supportsSequences", "true"},
        {"database.supportsTablespaces", "true"},
    };
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
        if (chlog_props_get(p, kv[i][0]))
            continue;
        enum tm_code rc = chlog_props_set(p, kv[i][0], kv[i][1], err);
        if (rc != TM_OK)
            return rc;
    }
    if (!chlog_props_get(p, "database.defaultSchemaNamePrefix")) {
        /* as written in ChangeLogParameters: "." + the schema */
        char pre[300];
        snprintf(pre, sizeof(pre), ".%s", chlog_props_get(p, "database.defaultSchemaName"));
        return chlog_props_set(p, "database.defaultSchemaNamePrefix", pre, err);
    }
    return TM_OK;
}

enum tm_code chlog_load(const struct chlog_fs *fs, const char *entry,
                        const struct chlog_props *props, struct chlog **out, struct tm_err *err)
{
    *out = NULL;
    struct chlog_ld ld;
    memset(&ld, 0, sizeof(ld));
    ld.fs = fs;
    chlog_props_init(&ld.props);
    char *path = NULL, *filename = NULL;
    char *data = NULL;
    enum tm_code rc;
    ld.c = calloc(1, sizeof(*ld.c));
    if (!ld.c) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    ld.c->entry = strdup(entry ? entry : "");
    if (!ld.c->entry) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; props && i < props->n; i++) {
        rc = chlog_props_set(&ld.props, props->items[i].name, props->items[i].value, err);
        if (rc != TM_OK)
            goto out;
    }
    rc = database_props(&ld.props, err);
    if (rc != TM_OK)
        goto out;
    /* "classpath:" and a leading '/' name the root, as in Liquibase */
    {
        const char *e = entry ? entry : "";
        if (strncmp(e, "classpath:", 10) == 0)
            e += 10;
        while (*e == '/')
            e++;
        rc = chlog_path_clean(e, &path, err);
    }
    if (rc != TM_OK)
        goto out;
    /* FILENAME of the entry's changesets: the path as given, normalised as
     * Liquibase's parsers do (AbstractChangeLogParser: normalizePath) */
    filename = chlog_lb_normalize_path(entry ? entry : "");
    if (!filename) {
        rc = tm_err_set(err, TM_E_NOMEM, "out of memory");
        goto out;
    }
    if (fs->is_dir(fs->ctx, path)) {
        /* a folder is Flyway: flyway.c reads its settings (prefix, suffixes,
         * locations) and refuses a folder without migrations */
        ld.c->format = CHLOG_FORMAT_FLYWAY;
        rc = chlog_flyway_parse(&ld, path, err);
    } else if (chlog_has_suffix(path, ".yaml") || chlog_has_suffix(path, ".yml") ||
               chlog_has_suffix(path, ".json") || chlog_has_suffix(path, ".xml")) {
        ld.c->format = chlog_has_suffix(path, ".xml")    ? CHLOG_FORMAT_LIQUIBASE_XML
                       : chlog_has_suffix(path, ".json") ? CHLOG_FORMAT_LIQUIBASE_JSON
                                                         : CHLOG_FORMAT_LIQUIBASE_YAML;
        rc = chlog_ld_push(&ld, path, NULL, 0, err);
        if (rc == TM_OK) {
            rc = chlog_lb_parse(&ld, path, filename, NULL, err);
            chlog_ld_pop(&ld);
        }
    } else {
        size_t len = 0;
        rc = chlog_ld_read(&ld, path, &data, &len, err);
        if (rc != TM_OK)
            goto out;
        if (!chlog_is_formatted_sql(data, len) && chlog_has_suffix(path, ".sql")) {
            rc = tm_err_set(err, TM_E_PARSE,
                            "%s:1: expected '--liquibase formatted sql' as the first non-blank "
                            "line (or give a .yaml changelog or a Flyway folder)",
                            entry);
            goto out;
        }
        if (!chlog_is_formatted_sql(data, len)) {
            rc = tm_err_set(err, TM_E_INVAL,
                            "%s:1: unknown changelog format: expected a Liquibase .xml, "
                            ".yaml/.yml or .json file, a file starting with '--liquibase "
                            "formatted sql', or a Flyway folder",
                            entry);
            goto out;
        }
        ld.c->format = CHLOG_FORMAT_LIQUIBASE_SQL;
        rc = chlog_ld_push(&ld, path, NULL, 0, err);
        if (rc == TM_OK) {
            rc = chlog_sqlfmt_parse(&ld, path, filename, data, len, err);
            chlog_ld_pop(&ld);
        }
    }
    if (rc != TM_OK)
        goto out;
    rc = chlog_finish(ld.c, err);
    if (rc != TM_OK)
        goto out;
    *out = ld.c;
    ld.c = NULL;
out:
    if (rc == TM_E_NOMEM && ld.over_cap)
        rc = tm_err_set(err, TM_E_TOOBIG,
                        "%s: changelog too large: more than %u changesets or %u bytes of "
                        "text after ${} expansion and YAML aliases",
                        entry ? entry : "", (unsigned)CHLOG_MAX_SETS,
                        (unsigned)TM_CAP_CHANGELOG_TOTAL);
    free(data);
    free(path);
    free(filename);
    chlog_props_release(&ld.props);
    for (size_t i = 0; i < ld.ncoltypes; i++)
        free(ld.coltypes[i]);
    free(ld.coltypes);
    for (size_t i = 0; i < ld.nkept; i++)
        free(ld.kept[i]);
    free(ld.kept);
    chlog_free(ld.c);
    return rc;
}

/* ---- lifetime ---------------------------------------------------------------------- */

void chlog_change_release(struct chlog_change *ch)
{
    free(ch->sql);
    free(ch->path);
    free(ch->tag);
    free(ch->end_delimiter);
    free(ch->dbms);
    free(ch->raw_sql);
    free(ch->type);
    free(ch->rollback_auto);
    free(ch->description);
    memset(ch, 0, sizeof(*ch));
}

void chlog_set_release(struct chlog_changeset *cs)
{
    free(cs->id);
    free(cs->author);
    free(cs->filename);
    free(cs->comment);
    free(cs->contexts);
    free(cs->labels);
    free(cs->dbms);
    for (size_t i = 0; i < cs->nchanges; i++)
        chlog_change_release(&cs->changes[i]);
    free(cs->changes);
    free(cs->rollback_sql);
    chlog_precond_free(cs->precondition);
    for (size_t i = 0; i < cs->nvalid_checksums; i++)
        free(cs->valid_checksums[i]);
    free(cs->valid_checksums);
    free(cs->version);
    free(cs->description);
    free(cs->own_tag);
    free(cs->path);
    for (size_t i = 0; i < cs->ninherited_contexts; i++)
        free(cs->inherited_contexts[i]);
    free(cs->inherited_contexts);
    for (size_t i = 0; i < cs->ninherited_labels; i++)
        free(cs->inherited_labels[i]);
    free(cs->inherited_labels);
}

void chlog_free(struct chlog *c)
{
    chlog_release(c);
    free(c);
}

void chlog_release(struct chlog *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nsets; i++)
        chlog_set_release(&c->sets[i]);
    free(c->sets);
    free(c->entry);
    chlog_precond_free(c->precondition);
    for (size_t i = 0; i < c->nwarnings; i++)
        free(c->warnings[i]);
    free(c->warnings);
    memset(c, 0, sizeof(*c));
}

long chlog_find_tag(const struct chlog *c, const char *tag)
{
    if (!c || !tag)
        return -1;
    for (size_t i = 0; i < c->nsets; i++)
        if (c->sets[i].tag && strcmp(c->sets[i].tag, tag) == 0)
            return (long)i;
    return -1;
}
