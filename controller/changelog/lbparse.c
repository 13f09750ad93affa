/* chlog lbparse: the one interpreter of Liquibase changelogs read into node
 * trees (node.h) from XML (xml.c), YAML or JSON (yaml.c).  It follows
 * liquibase-core 4.33.0:
 *   - liquibase/changelog/DatabaseChangeLog.java load()/handleChildNode():
 *     property, changeSet, include, includeAll, preConditions; ${} expansion
 *     of every node as it is handled; logicalFilePath inheritance;
 *   - liquibase/changelog/ChangeSet.java load()/handleChildNode(): the
 *     changeSet attributes, comment, rollback (text, changes, changeSetId
 *     reference, empty), validCheckSum, changes (also nested in "changes",
 *     where rollback/comment/preConditions may appear too, as aqts writes);
 *   - DatabaseChangeLog.normalizePath() for FILENAME;
 *   - YamlChangeLogParser: a YAML file's properties are read before its
 *     changeSets (XML: in document order).
 * sql, sqlFile and tagDatabase are modelled here; every other change type
 * goes to change.c (chlog_change_compile).  A changeSet or change whose dbms
 * excludes PostgreSQL is dropped: Liquibase neither runs nor records it, and
 * the v9 checksum skips such changes.  Tolerated quirks Liquibase ignores
 * (keys without a change type inside changes, an unknown top-level entry)
 * become warnings in chlog.warnings, never silent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/change.h"
#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/node.h"
#include "common/buf.h"
#include "common/caps.h"

struct lbctx {
    struct chlog_ld *ld;
    const char *path;     /* fs path of this file */
    const char *filename; /* FILENAME of this file's changesets */
    struct chlog_scope scope; /* what the includes above pass down (borrowed) */
    bool yaml;
};

/* scope with one more context and/or labels entry (NULL/empty = none) at
 * the inner end; *ctx_v and *lab_v are the new arrays (caller frees them,
 * not their strings). */
static enum tm_code scope_push(const struct chlog_scope *in, const char *ctx, const char *labels,
                               struct chlog_scope *out, const char ***ctx_v, const char ***lab_v)
{
    *out = *in;
    *ctx_v = *lab_v = NULL;
    if (ctx && ctx[0]) {
        *ctx_v = malloc((in->ncontexts + 1) * sizeof(**ctx_v));
        if (!*ctx_v)
            return TM_E_NOMEM;
        for (size_t i = 0; i < in->ncontexts; i++)
            (*ctx_v)[i] = in->contexts[i];
        (*ctx_v)[in->ncontexts] = ctx;
        out->contexts = *ctx_v;
        out->ncontexts = in->ncontexts + 1;
    }
    if (labels && labels[0]) {
        *lab_v = malloc((in->nlabels + 1) * sizeof(**lab_v));
        if (!*lab_v) {
            free(*ctx_v);
            *ctx_v = NULL;
            return TM_E_NOMEM;
        }
        for (size_t i = 0; i < in->nlabels; i++)
            (*lab_v)[i] = in->labels[i];
        (*lab_v)[in->nlabels] = labels;
        out->labels = *lab_v;
        out->nlabels = in->nlabels + 1;
    }
    return TM_OK;
}

static enum tm_code fail_node(const struct lbctx *x, struct tm_err *err, enum tm_code code,
                              const struct chlog_node *n, const char *fmt, const char *arg)
{
    const char *file = n && n->file ? n->file : x->path;
    if (arg)
        return chlog_ld_fail(err, code, file, n ? n->line : 0, n ? n->col : 0, fmt, arg);
    return chlog_ld_fail(err, code, file, n ? n->line : 0, n ? n->col : 0, "%s", fmt);
}

static enum tm_code nomem(struct tm_err *err)
{
    return tm_err_set(err, TM_E_NOMEM, "out of memory");
}

static bool is(const struct chlog_node *n, const char *name)
{
    return strcmp(n->name, name) == 0;
}

/* Adds "file:line: text" to the changelog's warnings. */
static enum tm_code warn(const struct lbctx *x, const struct chlog_node *n, const char *fmt,
                         const char *arg, struct tm_err *err)
{
    char msg[TM_ERR_MSG_MAX];
    snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
    if (chlog_ld_warn(x->ld, n && n->file ? n->file : x->path, n ? n->line : 0, "%s", msg) !=
        TM_OK)
        return nomem(err);
    return TM_OK;
}

/* ---- values ------------------------------------------------------------------------- */

/* Expanded copy of a node's text into *dst (replacing it); a node without
 * text gives NULL. */
static enum tm_code text_set(struct lbctx *x, const struct chlog_node *n, char **dst,
                             struct tm_err *err)
{
    if (n->nkids && !n->value)
        return fail_node(x, err, TM_E_PARSE, n, "%s: expected a text value", n->name);
    char *v = NULL;
    if (n->value) {
        v = chlog_ld_expand(x->ld, n->value);
        if (!v)
            return nomem(err);
    }
    free(*dst);
    *dst = v;
    return TM_OK;
}

static enum tm_code bool_set(struct lbctx *x, const struct chlog_node *n, bool *dst,
                             struct tm_err *err)
{
    char *v = NULL;
    enum tm_code rc = text_set(x, n, &v, err);
    if (rc != TM_OK)
        return rc;
    bool ok = false;
    bool b = v ? chlog_parse_bool(v, &ok) : false;
    free(v);
    if (!ok)
        return fail_node(x, err, TM_E_INVAL, n, "%s: expected true or false", n->name);
    *dst = b;
    return TM_OK;
}

/* Strips leading/trailing whitespace in place (Liquibase setSql trims). */
static void trim_inplace(char *s)
{
    if (!s)
        return;
    size_t n = strlen(s), a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r'))
        a++;
    while (n > a && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    memmove(s, s + a, n - a);
    s[n - a] = '\0';
}

/* Deep copy of n with every value ${}-expanded (what change.c receives). */
static struct chlog_node *expanded_copy(struct lbctx *x, const struct chlog_node *n)
{
    struct chlog_node *c = chlog_node_new(n->name, NULL, n->file, n->line, n->col);
    if (!c)
        return NULL;
    c->style = n->style;
    c->is_list = n->is_list;
    if (n->value) {
        c->value = chlog_ld_expand(x->ld, n->value);
        if (!c->value) {
            chlog_node_free(c);
            return NULL;
        }
    }
    for (size_t i = 0; i < n->nkids; i++) {
        struct chlog_node *k = expanded_copy(x, n->kids[i]);
        if (!k || chlog_node_add(c, k) != TM_OK) {
            chlog_node_free(c);
            return NULL;
        }
    }
    return c;
}

/* ---- paths -------------------------------------------------------------------------- */

char *chlog_lb_normalize_path(const char *path)
{
    const char *p = path;
    if (strncmp(p, "classpath:", 10) == 0)
        p += 10;
    char *t = strdup(p);
    if (!t)
        return NULL;
    for (char *q = t; *q; q++)
        if (*q == '\\')
            *q = '/';
    const char *s = t;
    if (*s == '/')
        s++;
    char *out = NULL;
    if (chlog_path_clean(s, &out, NULL) != TM_OK)
        out = NULL;
    free(t);
    return out;
}

/* fs path for a file named in the changelog: relative to this file, or to
 * the search root ("classpath:" and a leading '/' dropped either way). */
static enum tm_code resolve(struct lbctx *x, const struct chlog_node *at, const char *written,
                            bool relative, char **out, struct tm_err *err)
{
    *out = NULL;
    const char *w = written;
    if (strncmp(w, "classpath:", 10) == 0)
        w += 10;
    while (*w == '/')
        w++;
    enum tm_code rc = relative ? chlog_path_sibling(x->path, w, out, err)
                               : chlog_path_clean(w, out, err);
    if (rc != TM_OK) {
        char msg[TM_ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "%s", err ? err->msg : "bad path");
        return fail_node(x, err, rc, at, "%s", msg);
    }
    return TM_OK;
}

/* ---- changes ------------------------------------------------------------------------ */

static enum tm_code read_sql_file(struct lbctx *x, const struct chlog_node *at,
                                  struct chlog_change *ch, bool relative, struct tm_err *err)
{
    char *fp = NULL;
    enum tm_code rc = resolve(x, at, ch->path, relative, &fp, err);
    if (rc != TM_OK)
        return rc;
    char *data = NULL;
    size_t len = 0;
    rc = chlog_ld_read(x->ld, fp, &data, &len, err);
    if (rc == TM_E_NOTFOUND)
        rc = fail_node(x, err, rc, at, "sqlFile %s not found", fp);
    free(fp);
    if (rc != TM_OK)
        return rc;
    ch->sql = chlog_ld_expand(x->ld, data);
    ch->raw_sql = data;
    return ch->sql ? TM_OK : nomem(err);
}

/* sql and sqlFile: their attributes (XML attributes or YAML keys). */
static enum tm_code sql_attrs(struct lbctx *x, const struct chlog_node *n, struct chlog_change *ch,
                              bool file, bool *relative, struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < n->nkids && rc == TM_OK; i++) {
        const struct chlog_node *k = n->kids[i];
        if (!file && is(k, "sql"))
            rc = text_set(x, k, &ch->sql, err);
        else if (file && is(k, "path"))
            rc = text_set(x, k, &ch->path, err);
        else if (file && is(k, "relativeToChangelogFile"))
            rc = bool_set(x, k, relative, err);
        else if (is(k, "splitStatements"))
            rc = bool_set(x, k, &ch->split_statements, err);
        else if (is(k, "stripComments"))
            rc = bool_set(x, k, &ch->strip_comments, err);
        else if (is(k, "endDelimiter"))
            rc = text_set(x, k, &ch->end_delimiter, err);
        else if (is(k, "dbms"))
            rc = text_set(x, k, &ch->dbms, err);
        else if (is(k, "comment"))
            rc = TM_OK; /* informational */
        else if (file && is(k, "encoding")) {
            const char *e = k->value ? k->value : "";
            if (strcasecmp(e, "utf-8") != 0 && strcasecmp(e, "utf8") != 0)
                rc = fail_node(x, err, TM_E_INVAL, k, "sqlFile: only utf-8 encoding is supported",
                               NULL);
        } else
            rc = fail_node(x, err, TM_E_INVAL, k,
                           file ? "unknown sqlFile attribute '%s' (expected path, "
                                  "relativeToChangelogFile, splitStatements, stripComments, "
                                  "endDelimiter, dbms, encoding)"
                                : "unknown sql attribute '%s' (expected sql, splitStatements, "
                                  "stripComments, endDelimiter, dbms, comment)",
                           k->name);
    }
    return rc;
}

static bool ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* AbstractChange.getDescription(): the change name, then "key=value" for
 * each set attribute whose name ends with "name" (not schema/catalog) or is
 * "path", sorted as strings and joined by ", ". */
static enum tm_code describe(struct lbctx *x, const struct chlog_node *n, struct chlog_change *ch,
                             struct tm_err *err)
{
    char *items[64];
    size_t ni = 0;
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < n->nkids && ni < 64 && rc == TM_OK; i++) {
        const struct chlog_node *k = n->kids[i];
        size_t kl = strlen(k->name);
        if (!k->value || k->nkids)
            continue;
        bool named = kl >= 4 && strcasecmp(k->name + kl - 4, "name") == 0 &&
                     !ci_contains(k->name, "schema") && !ci_contains(k->name, "catalog");
        if (!named && strcmp(k->name, "path") != 0)
            continue;
        char *v = chlog_ld_expand(x->ld, k->value);
        size_t l = kl + (v ? strlen(v) : 0) + 2;
        char *it = v ? malloc(l) : NULL;
        if (!it) {
            free(v);
            rc = nomem(err);
            break;
        }
        snprintf(it, l, "%s=%s", k->name, v);
        free(v);
        items[ni++] = it;
    }
    if (rc == TM_OK && ni) {
        qsort(items, ni, sizeof(items[0]), cmp_cstr);
        struct tm_buf b;
        tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
        rc = tm_buf_addf(&b, "%s ", n->name);
        for (size_t i = 0; i < ni && rc == TM_OK; i++)
            rc = tm_buf_addf(&b, "%s%s", i ? ", " : "", items[i]);
        ch->description = rc == TM_OK ? tm_buf_detach(&b, NULL) : NULL;
        tm_buf_release(&b);
        if (!ch->description)
            rc = nomem(err);
    }
    for (size_t i = 0; i < ni; i++)
        free(items[i]);
    return rc;
}

struct note_ctx {
    struct lbctx *x;
    const char *table;
};

static enum tm_code note_one(const struct chlog_node *col, void *arg)
{
    const struct note_ctx *nc = arg;
    return chlog_ld_note_column(nc->x->ld, nc->table, chlog_node_text(col, "name"),
                                chlog_node_text(col, "type"));
}

/* Remembers the column types a createTable/addColumn declares, for a later
 * loadData that leaves them untyped (Liquibase reads them from the table). */
static enum tm_code note_columns(struct lbctx *x, const struct chlog_node *c, struct tm_err *err)
{
    struct note_ctx nc = {x, chlog_node_text(c, "tableName")};
    if (!nc.table)
        return TM_OK;
    return chlog_node_each(c, "column", "columns", note_one, &nc) == TM_OK ? TM_OK : nomem(err);
}

/* Fills ch from change node n (sql, sqlFile, tagDatabase or structured). */
static enum tm_code parse_change(struct lbctx *x, const struct chlog_node *n,
                                 struct chlog_change *ch, struct tm_err *err)
{
    ch->line = n->line;
    ch->split_statements = true;
    enum tm_code rc = TM_OK;
    if (is(n, "sql")) {
        ch->kind = CHLOG_CHANGE_SQL;
        rc = sql_attrs(x, n, ch, false, NULL, err);
        if (rc == TM_OK && n->value && !ch->sql) {
            ch->sql = chlog_ld_expand(x->ld, n->value);
            if (!ch->sql)
                return nomem(err);
        }
        if (rc != TM_OK)
            return rc;
        trim_inplace(ch->sql);
        if (!ch->sql || !ch->sql[0])
            return fail_node(x, err, TM_E_INVAL, n, "sql change needs SQL text", NULL);
        return TM_OK;
    }
    if (is(n, "sqlFile")) {
        ch->kind = CHLOG_CHANGE_SQL_FILE;
        bool relative = false;
        if (n->value && !n->nkids)
            return fail_node(x, err, TM_E_PARSE, n, "sqlFile: expected a mapping with path", NULL);
        rc = sql_attrs(x, n, ch, true, &relative, err);
        if (rc != TM_OK)
            return rc;
        if (!ch->path || !ch->path[0])
            return fail_node(x, err, TM_E_INVAL, n, "sqlFile needs a path", NULL);
        rc = describe(x, n, ch, err);
        return rc == TM_OK ? read_sql_file(x, n, ch, relative, err) : rc;
    }
    if (is(n, "tagDatabase")) {
        ch->kind = CHLOG_CHANGE_TAG;
        for (size_t i = 0; i < n->nkids && rc == TM_OK; i++) {
            if (is(n->kids[i], "tag"))
                rc = text_set(x, n->kids[i], &ch->tag, err);
            else
                rc = fail_node(x, err, TM_E_INVAL, n->kids[i],
                               "unknown tagDatabase attribute '%s'", n->kids[i]->name);
        }
        if (rc != TM_OK)
            return rc;
        if (!ch->tag || !ch->tag[0])
            return fail_node(x, err, TM_E_INVAL, n, "tagDatabase needs a tag", NULL);
        return TM_OK;
    }
    struct chlog_node *c = expanded_copy(x, n);
    if (!c)
        return nomem(err);
    struct chlog_change_env env = {x->ld, x->path};
    rc = chlog_change_compile(&env, c, ch, err);
    if (rc == TM_OK && (is(c, "createTable") || is(c, "addColumn")))
        rc = note_columns(x, c, err);
    chlog_node_free(c);
    return rc == TM_OK ? describe(x, n, ch, err) : rc;
}

static bool is_change_type(const char *name)
{
    return strcmp(name, "sql") == 0 || strcmp(name, "sqlFile") == 0 ||
           strcmp(name, "tagDatabase") == 0 || chlog_change_is_structured(name);
}

/* ---- rollback ----------------------------------------------------------------------- */

/* Appends one rollback statement text to b, ';'-separated. */
static enum tm_code add_piece(struct tm_buf *b, const char *sql)
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
        if (tm_buf_str(b)[b->len - 1] != ';')
            rc = tm_buf_adds(b, ";");
        if (rc == TM_OK)
            rc = tm_buf_adds(b, "\n");
    }
    return rc == TM_OK ? tm_buf_add(b, sql + a, n - a) : rc;
}

/* rollback changeSetId=…: the referenced changeset's changes, re-run. */
static enum tm_code rollback_ref(struct lbctx *x, const struct chlog_node *n,
                                 const struct chlog_changeset *cs, struct tm_buf *b,
                                 struct tm_err *err)
{
    const char *id = chlog_node_text(n, "changeSetId");
    const char *author = chlog_node_text(n, "changeSetAuthor");
    const char *path = chlog_node_text(n, "changeSetPath");
    if (!path)
        path = cs->filename;
    const struct chlog *c = x->ld->c;
    bool found = false;
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < c->nsets && rc == TM_OK; i++) {
        const struct chlog_changeset *o = &c->sets[i];
        if (o == cs || strcmp(o->id, id) != 0 || (author && strcmp(o->author, author) != 0) ||
            strcmp(o->filename, path) != 0)
            continue;
        found = true;
        for (size_t k = 0; k < o->nchanges && rc == TM_OK; k++)
            if (o->changes[k].sql)
                rc = add_piece(b, o->changes[k].sql);
    }
    if (rc != TM_OK)
        return tm_err_set(err, rc, "%s: rollback too large", x->path);
    if (!found)
        return fail_node(x, err, TM_E_INVAL, n,
                         "rollback: changeSet %s does not exist (before this one)", id);
    return TM_OK;
}

static enum tm_code parse_rollback(struct lbctx *x, const struct chlog_node *n,
                                   struct chlog_changeset *cs, struct tm_err *err)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
    enum tm_code rc = TM_OK;
    if (chlog_node_text(n, "changeSetId")) {
        rc = rollback_ref(x, n, cs, &b, err);
    } else {
        for (size_t i = 0; i < n->nkids && rc == TM_OK; i++) {
            const struct chlog_node *k = n->kids[i];
            if (k->name[0] == '\0' && k->value) {
                /* YAML list of SQL texts */
                char *v = chlog_ld_expand(x->ld, k->value);
                rc = v ? add_piece(&b, v) : TM_E_NOMEM;
                free(v);
                if (rc != TM_OK)
                    rc = tm_err_set(err, rc, "%s: rollback too large", x->path);
                continue;
            }
            if (is(k, "changeSetAuthor") || is(k, "changeSetPath"))
                continue;
            if (!is_change_type(k->name)) {
                rc = fail_node(x, err, TM_E_INVAL, k,
                               "unknown change type '%s' in rollback", k->name);
                break;
            }
            struct chlog_change ch;
            memset(&ch, 0, sizeof(ch));
            rc = parse_change(x, k, &ch, err);
            if (rc == TM_OK && ch.kind != CHLOG_CHANGE_TAG && ch.sql &&
                chlog_dbms_matches_postgres(ch.dbms) && add_piece(&b, ch.sql) != TM_OK)
                rc = tm_err_set(err, TM_E_TOOBIG, "%s: rollback too large", x->path);
            chlog_change_release(&ch);
        }
        if (rc == TM_OK && n->value) {
            char *v = chlog_ld_expand(x->ld, n->value);
            rc = v ? add_piece(&b, v) : TM_E_NOMEM;
            free(v);
            if (rc != TM_OK)
                rc = tm_err_set(err, rc, "%s: rollback too large", x->path);
        }
    }
    if (rc != TM_OK) {
        tm_buf_release(&b);
        return rc;
    }
    free(cs->rollback_sql); /* a repeated rollback replaces the earlier one */
    cs->rollback_sql = tm_buf_detach(&b, NULL);
    if (!cs->rollback_sql)
        return nomem(err);
    cs->has_rollback = true;
    return TM_OK;
}

/* Liquibase's automatic rollback when none is written: every change's
 * inverse, last change first.  Left unset when a change has none. */
static enum tm_code auto_rollback(struct chlog_changeset *cs, struct tm_err *err)
{
    bool any = false;
    for (size_t i = 0; i < cs->nchanges; i++) {
        const struct chlog_change *ch = &cs->changes[i];
        if (ch->kind == CHLOG_CHANGE_TAG || !chlog_dbms_matches_postgres(ch->dbms))
            continue;
        if (ch->kind != CHLOG_CHANGE_STRUCT || !ch->rollback_auto)
            return TM_OK;
        any = true;
    }
    if (!any)
        return TM_OK;
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_CHANGELOG_FILE);
    enum tm_code rc = TM_OK;
    for (size_t i = cs->nchanges; i-- > 0 && rc == TM_OK;)
        if (cs->changes[i].kind == CHLOG_CHANGE_STRUCT)
            rc = add_piece(&b, cs->changes[i].rollback_auto);
    if (rc != TM_OK) {
        tm_buf_release(&b);
        return tm_err_set(err, rc, "automatic rollback too large");
    }
    cs->rollback_sql = tm_buf_detach(&b, NULL);
    if (!cs->rollback_sql)
        return nomem(err);
    cs->has_rollback = true;
    return TM_OK;
}

/* ---- changeSet ---------------------------------------------------------------------- */

static enum tm_code valid_checksums(struct lbctx *x, const struct chlog_node *n,
                                    struct chlog_changeset *cs, struct tm_err *err)
{
    if (n->value) {
        char *v = NULL;
        enum tm_code rc = text_set(x, n, &v, err);
        if (rc == TM_OK) {
            trim_inplace(v);
            if (chlog_set_add_valid(cs, v) != TM_OK)
                rc = nomem(err);
        }
        free(v);
        return rc;
    }
    for (size_t i = 0; i < n->nkids; i++) {
        const struct chlog_node *k = n->kids[i];
        if (k->name[0] != '\0' && !is(k, "validCheckSum"))
            return fail_node(x, err, TM_E_INVAL, k, "validCheckSum: unexpected '%s'", k->name);
        enum tm_code rc = valid_checksums(x, k, cs, err);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

static enum tm_code set_precondition(struct lbctx *x, const struct chlog_node *n,
                                     struct chlog_precondition **dst, struct tm_err *err)
{
    struct chlog_node *c = expanded_copy(x, n);
    if (!c)
        return nomem(err);
    struct chlog_precondition *pc = NULL;
    enum tm_code rc = chlog_precond_compile(x->ld, c, &pc, err);
    chlog_node_free(c);
    if (rc != TM_OK)
        return rc;
    chlog_precond_free(*dst); /* a repeated key: the last one wins */
    *dst = pc;
    return TM_OK;
}

/* A changelog-level preConditions: nested into the root's container, as
 * DatabaseChangeLog.include() adds each included changelog's container to
 * its parent's (all must pass; each keeps its own onFail/onError). */
static enum tm_code add_changelog_precondition(struct lbctx *x, const struct chlog_node *n,
                                               struct tm_err *err)
{
    struct chlog_precondition *pc = NULL;
    enum tm_code rc = set_precondition(x, n, &pc, err);
    if (rc != TM_OK)
        return rc;
    struct chlog *c = x->ld->c;
    if (!c->precondition) {
        c->precondition = calloc(1, sizeof(*c->precondition));
        if (!c->precondition) {
            chlog_precond_free(pc);
            return nomem(err);
        }
        c->precondition->kind = CHLOG_PRECOND_AND;
        c->precondition->container = true;
    }
    struct chlog_precondition *root = c->precondition;
    struct chlog_precondition *k = realloc(root->kids, (root->nkids + 1) * sizeof(*k));
    if (!k) {
        chlog_precond_free(pc);
        return nomem(err);
    }
    root->kids = k;
    root->kids[root->nkids++] = *pc; /* moved: the kid owns what pc owned */
    free(pc);
    return TM_OK;
}

/* The items a changeSet holds (its own children, and those of "changes"). */
static enum tm_code changeset_item(struct lbctx *x, const struct chlog_node *k,
                                   struct chlog_changeset *cs, struct tm_buf *comment,
                                   bool in_changes, struct tm_err *err)
{
    if (is(k, "changes")) {
        enum tm_code rc = TM_OK;
        for (size_t i = 0; i < k->nkids && rc == TM_OK; i++)
            rc = changeset_item(x, k->kids[i], cs, comment, true, err);
        return rc;
    }
    if (is(k, "rollback"))
        return parse_rollback(x, k, cs, err);
    if (is(k, "validCheckSum") || is(k, "validCheckSums"))
        return valid_checksums(x, k, cs, err);
    if (is(k, "preConditions") || is(k, "preconditions"))
        return set_precondition(x, k, &cs->precondition, err);
    if (is(k, "comment")) {
        if (!k->value)
            return TM_OK;
        char *v = chlog_ld_expand(x->ld, k->value);
        if (!v)
            return nomem(err);
        enum tm_code rc = comment->len ? tm_buf_adds(comment, "\n") : TM_OK;
        if (rc == TM_OK)
            rc = tm_buf_adds(comment, v);
        free(v);
        return rc == TM_OK ? TM_OK : tm_err_set(err, rc, "%s: comment too long", x->path);
    }
    if (is(k, "modifySql")) {
        const char *dbms = chlog_node_text(k, "dbms");
        if (dbms && !chlog_dbms_matches_postgres(dbms))
            return TM_OK; /* for another database */
        return fail_node(x, err, TM_E_INVAL, k,
                         "modifySql for PostgreSQL is not supported (its dbms must exclude "
                         "postgresql)",
                         NULL);
    }
    if (is_change_type(k->name)) {
        struct chlog_change *ch = chlog_set_add_change(cs);
        if (!ch)
            return nomem(err);
        enum tm_code rc = parse_change(x, k, ch, err);
        if (rc != TM_OK)
            return rc;
        if (!chlog_dbms_matches_postgres(ch->dbms)) {
            /* not for PostgreSQL: never run and not part of the v9 checksum,
             * but still one of the changeset's changes (its DESCRIPTION
             * names it, as Liquibase's getDescription does) */
            free(ch->sql);
            ch->sql = NULL;
            free(ch->rollback_auto);
            ch->rollback_auto = NULL;
        }
        return TM_OK;
    }
    if (in_changes && !k->nkids && !k->is_list && k->value)
        return warn(x, k, "'%s' inside changes is not a change type; ignored, as Liquibase does",
                    k->name, err);
    if (in_changes && (is(k, "columns") || is(k, "where") || is(k, "column")))
        return warn(x, k, "'%s' inside changes is not a change type; ignored, as Liquibase does",
                    k->name, err);
    if (k->nkids || k->is_list)
        return fail_node(x, err, TM_E_INVAL, k,
                         "unknown change type '%s' (check spelling and capitalisation)", k->name);
    if (x->yaml) /* no schema: Liquibase keeps it as an unused attribute */
        return warn(x, k, "unknown changeSet attribute '%s'; ignored, as Liquibase does for "
                          "YAML and JSON",
                    k->name, err);
    return fail_node(x, err, TM_E_INVAL, k, "unknown changeSet attribute '%s'", k->name);
}

static enum tm_code parse_changeset(struct lbctx *x, const struct chlog_node *n,
                                    struct tm_err *err)
{
    /* ignore: true and a dbms that excludes PostgreSQL drop the changeset */
    for (size_t i = 0; i < n->nkids; i++) {
        const struct chlog_node *k = n->kids[i];
        if (is(k, "ignore")) {
            bool ign = false;
            enum tm_code rc = bool_set(x, k, &ign, err);
            if (rc != TM_OK)
                return rc;
            if (ign)
                return TM_OK;
        }
        if (is(k, "dbms") && k->value) {
            char *d = chlog_ld_expand(x->ld, k->value);
            if (!d)
                return nomem(err);
            bool match = chlog_dbms_matches_postgres(d);
            free(d);
            if (!match)
                return TM_OK;
        }
    }
    struct chlog_changeset *cs = chlog_ld_add_set(x->ld);
    if (!cs)
        return nomem(err);
    cs->line = n->line;
    cs->path = strdup(x->path);
    cs->filename = strdup(x->scope.logical ? x->scope.logical : x->filename);
    if (!cs->filename || !cs->path)
        return nomem(err);
    enum tm_code rc = TM_OK;
    char *context = NULL, *context_filter = NULL, *logical = NULL;
    struct tm_buf comment;
    tm_buf_init(&comment, TM_CAP_CHANGELOG_FILE);
    for (size_t i = 0; i < n->nkids && rc == TM_OK; i++) {
        const struct chlog_node *k = n->kids[i];
        if (is(k, "id"))
            rc = text_set(x, k, &cs->id, err);
        else if (is(k, "author"))
            rc = text_set(x, k, &cs->author, err);
        else if (is(k, "runOnChange"))
            rc = bool_set(x, k, &cs->run_on_change, err);
        else if (is(k, "runAlways") || is(k, "alwaysRun"))
            rc = bool_set(x, k, &cs->run_always, err);
        else if (is(k, "runInTransaction"))
            rc = bool_set(x, k, &cs->run_in_transaction, err);
        else if (is(k, "failOnError"))
            rc = bool_set(x, k, &cs->fail_on_error, err);
        else if (is(k, "context"))
            rc = text_set(x, k, &context, err);
        else if (is(k, "contextFilter"))
            rc = text_set(x, k, &context_filter, err);
        else if (is(k, "labels"))
            rc = text_set(x, k, &cs->labels, err);
        else if (is(k, "dbms"))
            rc = text_set(x, k, &cs->dbms, err);
        else if (is(k, "logicalFilePath"))
            rc = text_set(x, k, &logical, err);
        else if (is(k, "ignore") || is(k, "created") || is(k, "objectQuotingStrategy") ||
                 is(k, "runOrder") || is(k, "onValidationFail") || is(k, "runWith") ||
                 is(k, "runWithSpoolFile"))
            rc = TM_OK; /* informational here */
        else
            rc = changeset_item(x, k, cs, &comment, false, err);
    }
    if (rc == TM_OK && comment.len) {
        cs->comment = tm_buf_detach(&comment, NULL);
        trim_inplace(cs->comment);
    }
    tm_buf_release(&comment);
    if (rc == TM_OK && logical) {
        /* ChangeSet.load: '\' -> '/', one leading '/' dropped */
        for (char *q = logical; *q; q++)
            if (*q == '\\')
                *q = '/';
        trim_inplace(logical);
        if (logical[0]) {
            free(cs->filename);
            cs->filename = strdup(logical[0] == '/' ? logical + 1 : logical);
            if (!cs->filename)
                rc = nomem(err);
        }
    }
    if (rc == TM_OK) {
        /* ChangeSet.load: contextFilter, else context (an empty one counts
         * as none) */
        char **own = context_filter && context_filter[0] ? &context_filter : &context;
        cs->contexts = *own;
        *own = NULL;
        if (chlog_scope_apply(&x->scope, cs) != TM_OK)
            rc = nomem(err);
    }
    free(context);
    free(context_filter);
    free(logical);
    if (rc != TM_OK)
        return rc;
    /* id and author are taken as written (ChangeSet.load does not trim: a
     * real changelog has the author "dwatkins ", and Liquibase's rows say so) */
    if (!cs->id || !cs->id[0])
        return fail_node(x, err, TM_E_INVAL, n, "changeSet needs an id", NULL);
    if (!cs->author || !cs->author[0])
        return fail_node(x, err, TM_E_INVAL, n, "changeSet needs an author", NULL);
    if (!cs->has_rollback)
        return auto_rollback(cs, err);
    return TM_OK;
}

/* ---- include, includeAll, property -------------------------------------------------- */

struct incargs {
    char *file;    /* include: file; includeAll: path */
    bool relative;
    bool error_if_missing;
    char *context;
    char *labels;
    bool ignore;
    char *logical;
    char *ends_with;
    int min_depth, max_depth;
};

static void incargs_release(struct incargs *a)
{
    free(a->file);
    free(a->context);
    free(a->labels);
    free(a->logical);
    free(a->ends_with);
}

static enum tm_code int_set(struct lbctx *x, const struct chlog_node *k, int *dst,
                            struct tm_err *err)
{
    char *e = NULL;
    long v = k->value ? strtol(k->value, &e, 10) : -1;
    if (!k->value || *e || v < 0 || v > 1000)
        return fail_node(x, err, TM_E_INVAL, k, "%s: expected a number", k->name);
    *dst = (int)v;
    return TM_OK;
}

static enum tm_code include_args(struct lbctx *x, const struct chlog_node *n, bool all,
                                 struct incargs *a, struct tm_err *err)
{
    memset(a, 0, sizeof(*a));
    a->error_if_missing = true;
    a->max_depth = 1000;
    const char *pathkey = all ? "path" : "file";
    enum tm_code rc = TM_OK;
    char *cf = NULL;
    for (size_t i = 0; i < n->nkids && rc == TM_OK; i++) {
        const struct chlog_node *k = n->kids[i];
        if (is(k, pathkey))
            rc = text_set(x, k, &a->file, err);
        else if (is(k, "relativeToChangelogFile"))
            rc = bool_set(x, k, &a->relative, err);
        else if (is(k, all ? "errorIfMissingOrEmpty" : "errorIfMissing"))
            rc = bool_set(x, k, &a->error_if_missing, err);
        else if (is(k, "context"))
            rc = text_set(x, k, &a->context, err);
        else if (is(k, "contextFilter"))
            rc = text_set(x, k, &cf, err);
        else if (is(k, "labels"))
            rc = text_set(x, k, &a->labels, err);
        else if (is(k, "ignore"))
            rc = bool_set(x, k, &a->ignore, err);
        else if (is(k, "logicalFilePath"))
            rc = text_set(x, k, &a->logical, err);
        else if (all && is(k, "endsWithFilter"))
            rc = text_set(x, k, &a->ends_with, err);
        else if (all && is(k, "minDepth"))
            rc = int_set(x, k, &a->min_depth, err);
        else if (all && is(k, "maxDepth"))
            rc = int_set(x, k, &a->max_depth, err);
        else
            rc = fail_node(x, err, TM_E_INVAL, k,
                           all ? "unknown includeAll attribute '%s' (expected path, "
                                 "relativeToChangelogFile, errorIfMissingOrEmpty, context, labels, "
                                 "ignore, logicalFilePath, endsWithFilter, minDepth, maxDepth)"
                               : "unknown include attribute '%s' (expected file, "
                                 "relativeToChangelogFile, errorIfMissing, context, labels, "
                                 "ignore, logicalFilePath)",
                           k->name);
    }
    if (cf) {
        free(a->context);
        a->context = cf;
    }
    if (rc == TM_OK && (!a->file || !a->file[0]))
        rc = fail_node(x, err, TM_E_INVAL, n, all ? "includeAll needs a path" : "include needs a file",
                       NULL);
    return rc;
}

/* Parses one included file; FILENAME is its normalised path. */
static enum tm_code include_one(struct lbctx *x, const struct chlog_node *at, const char *fspath,
                                const char *filename, const struct incargs *a,
                                struct tm_err *err)
{
    struct chlog_scope sc;
    const char **cv = NULL, **lv = NULL;
    if (scope_push(&x->scope, a->context, a->labels, &sc, &cv, &lv) != TM_OK)
        return nomem(err);
    /* DatabaseChangeLog.getActualLogicalFilePath: the included file's own,
     * else the nearest including changelog's, else the include's */
    if (!sc.logical)
        sc.logical = a->logical;
    size_t before = x->ld->c->nsets;
    enum tm_code rc = chlog_ld_include_lb(x->ld, fspath, filename, &sc, x->path, at->line, err);
    if (rc == TM_OK && a->ignore) {
        /* ignore="true" on the include: its changesets are skipped */
        for (size_t i = before; i < x->ld->c->nsets; i++)
            chlog_set_release(&x->ld->c->sets[i]);
        x->ld->c->nsets = before;
    }
    free(cv);
    free(lv);
    return rc;
}

static enum tm_code do_include(struct lbctx *x, const struct chlog_node *n, struct tm_err *err)
{
    struct incargs a;
    enum tm_code rc = include_args(x, n, false, &a, err);
    char *fspath = NULL, *filename = NULL;
    if (rc == TM_OK)
        rc = resolve(x, n, a.file, a.relative, &fspath, err);
    if (rc == TM_OK) {
        /* FILENAME: DatabaseChangeLog.include() resolves a relative file against
         * the including one; the parser then normalises either way */
        filename = chlog_lb_normalize_path(a.relative ? fspath : a.file);
        if (!filename)
            rc = fail_node(x, err, TM_E_INVAL, n, "include: bad path '%s'", a.file);
    }
    if (rc == TM_OK && !x->ld->fs->is_dir(x->ld->fs->ctx, fspath)) {
        char *probe = NULL;
        size_t len = 0;
        enum tm_code prc = x->ld->fs->read(x->ld->fs->ctx, fspath, &probe, &len, NULL);
        free(probe);
        if (prc == TM_E_NOTFOUND) {
            if (a.error_if_missing)
                rc = fail_node(x, err, TM_E_NOTFOUND, n, "included file %s not found", fspath);
            else
                rc = warn(x, n, "included file %s not found; skipped (errorIfMissing=false)",
                          fspath, err);
            goto out;
        }
    }
    if (rc == TM_OK)
        rc = include_one(x, n, fspath, filename, &a, err);
out:
    free(fspath);
    free(filename);
    incargs_release(&a);
    return rc;
}

static bool changelog_ext(const char *p)
{
    return chlog_has_suffix(p, ".xml") || chlog_has_suffix(p, ".yaml") ||
           chlog_has_suffix(p, ".yml") || chlog_has_suffix(p, ".json") ||
           chlog_has_suffix(p, ".sql");
}

/* includeAll's filter: the changelog extensions and endsWithFilter. */
static bool include_all_keeps(const char *path, void *arg)
{
    const struct incargs *a = arg;
    return changelog_ext(path) &&
           (!a->ends_with || !a->ends_with[0] || chlog_has_suffix(path, a->ends_with));
}

static enum tm_code do_include_all(struct lbctx *x, const struct chlog_node *n, struct tm_err *err)
{
    struct incargs a;
    char **paths = NULL;
    size_t npaths = 0;
    char *dir = NULL;
    enum tm_code rc = include_args(x, n, true, &a, err);
    if (rc == TM_OK)
        rc = resolve(x, n, a.file, a.relative, &dir, err);
    if (rc != TM_OK)
        goto out;
    if (!x->ld->fs->is_dir(x->ld->fs->ctx, dir)) {
        if (a.error_if_missing)
            rc = fail_node(x, err, TM_E_NOTFOUND, n, "includeAll: folder %s not found", dir);
        else
            rc = warn(x, n, "includeAll: folder %s not found; skipped (errorIfMissingOrEmpty=false)",
                      dir, err);
        goto out;
    }
    struct chlog_walk w = {a.min_depth > 0 ? a.min_depth : 1, a.max_depth, include_all_keeps,
                           &a};
    rc = chlog_fs_walk(x->ld->fs, dir, &w, &paths, &npaths, err);
    if (rc != TM_OK)
        goto out;
    if (npaths == 0) {
        if (a.error_if_missing)
            rc = fail_node(x, err, TM_E_NOTFOUND, n,
                           "includeAll: folder %s holds no changelog files", dir);
        goto out;
    }
    /* Liquibase's standard comparator: the resource paths, in String order */
    for (size_t i = 0; i < npaths && rc == TM_OK; i++)
        rc = include_one(x, n, paths[i], paths[i], &a, err);
out:
    chlog_paths_free(paths, npaths);
    free(dir);
    incargs_release(&a);
    return rc;
}

/* property: name/value, with dbms (only PostgreSQL's values count); the
 * first value set wins (ChangeLogParameters). */
static enum tm_code set_property(struct lbctx *x, const struct chlog_node *n, struct tm_err *err)
{
    const char *name = NULL, *value = NULL, *dbms = NULL;
    for (size_t i = 0; i < n->nkids; i++) {
        const struct chlog_node *k = n->kids[i];
        if (is(k, "name"))
            name = k->value;
        else if (is(k, "value"))
            value = k->value ? k->value : "";
        else if (is(k, "dbms"))
            dbms = k->value;
        else if (is(k, "global") || is(k, "context") || is(k, "contextFilter") || is(k, "labels"))
            continue; /* properties are global here; see changelog/README.md */
        else if (is(k, "file"))
            return fail_node(x, err, TM_E_INVAL, k,
                             "property file= is not supported: give the properties with "
                             "--property or in the DBSchema",
                             NULL);
        else
            return fail_node(x, err, TM_E_INVAL, k,
                             "property: unsupported attribute '%s' (expected name, value, dbms, "
                             "context, labels, global)",
                             k->name);
    }
    if (!value && n->value)
        value = n->value; /* XML <property name="x">value</property> */
    if (!name || !name[0] || !value)
        return fail_node(x, err, TM_E_INVAL, n, "property needs a name and a value", NULL);
    if (dbms && !chlog_dbms_matches_postgres(dbms))
        return TM_OK;
    if (chlog_props_get(&x->ld->props, name))
        return TM_OK; /* first value wins */
    char *v = chlog_ld_expand(x->ld, value);
    if (!v)
        return nomem(err);
    enum tm_code rc = chlog_props_set(&x->ld->props, name, v, err);
    free(v);
    return rc;
}

/* ---- the file ----------------------------------------------------------------------- */

static enum tm_code interpret(struct lbctx *x, const struct chlog_node *root, struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    char *own_logical = NULL;
    char *own_context = NULL;
    for (size_t i = 0; i < root->nkids && rc == TM_OK; i++) {
        const struct chlog_node *k = root->kids[i];
        if (is(k, "logicalFilePath"))
            rc = text_set(x, k, &own_logical, err);
        else if (is(k, "contextFilter") || (is(k, "context") && !own_context))
            rc = text_set(x, k, &own_context, err);
    }
    if (rc == TM_OK && x->yaml)
        for (size_t i = 0; i < root->nkids && rc == TM_OK; i++)
            if (is(root->kids[i], "property"))
                rc = set_property(x, root->kids[i], err);
    struct lbctx me = *x;
    const char **cv = NULL, **lv = NULL;
    /* DatabaseChangeLog.setContextFilter: the root's context is inherited */
    if (rc == TM_OK && scope_push(&x->scope, own_context, NULL, &me.scope, &cv, &lv) != TM_OK)
        rc = nomem(err);
    if (rc == TM_OK && own_logical && own_logical[0]) {
        /* DatabaseChangeLog.getLogicalFilePath: '\' -> '/', leading '/' dropped */
        for (char *q = own_logical; *q; q++)
            if (*q == '\\')
                *q = '/';
        me.scope.logical = own_logical[0] == '/' ? own_logical + 1 : own_logical;
    }
    for (size_t i = 0; i < root->nkids && rc == TM_OK; i++) {
        const struct chlog_node *k = root->kids[i];
        if (is(k, "changeSet"))
            rc = parse_changeset(&me, k, err);
        else if (is(k, "include"))
            rc = do_include(&me, k, err); /* also gravitee's list form */
        else if (is(k, "includeAll"))
            rc = do_include_all(&me, k, err);
        else if (is(k, "property"))
            rc = x->yaml ? TM_OK : set_property(&me, k, err);
        else if (is(k, "preConditions") || is(k, "preconditions"))
            rc = add_changelog_precondition(&me, k, err);
        else if (is(k, "logicalFilePath") || is(k, "context") || is(k, "contextFilter") ||
                 is(k, "objectQuotingStrategy") || is(k, "schemaLocation"))
            rc = TM_OK;
        else if (k->nkids || k->is_list)
            rc = warn(&me, k, "unknown entry '%s' in databaseChangeLog; ignored, as Liquibase "
                              "does",
                      k->name, err);
        else
            rc = fail_node(&me, err, TM_E_INVAL, k,
                           "unknown databaseChangeLog attribute '%s'", k->name);
    }
    free(own_logical);
    free(own_context);
    free(cv);
    free(lv);
    return rc;
}

enum tm_code chlog_lb_parse(struct chlog_ld *ld, const char *path, const char *filename,
                            const struct chlog_scope *scope, struct tm_err *err)
{
    struct chlog_node *root = NULL;
    bool xml = chlog_has_suffix(path, ".xml");
    enum tm_code rc = xml ? chlog_xml_read(ld, path, &root, err)
                          : chlog_yaml_read(ld, path, &root, err);
    if (rc != TM_OK)
        return rc;
    struct lbctx x = {.ld = ld, .path = path, .filename = filename, .yaml = !xml};
    if (scope)
        x.scope = *scope;
    rc = interpret(&x, root, err);
    chlog_node_free(root);
    return rc;
}
