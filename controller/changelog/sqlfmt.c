/* chlog sqlfmt: the Liquibase formatted SQL changelog parser.
 *
 * Follows liquibase-standard's AbstractFormattedChangeLogParser line by
 * line: the first non-blank line is `--liquibase formatted sql`; a changeset
 * starts at `--changeset author:id attr:value...` and its body is every
 * following line that is not a directive, up to the next `--changeset`
 * (joined with "\n", trimmed, ${} expanded).  Directives inside a changeset:
 *   --rollback SQL            (several lines are joined with "\n"; text
 *                              starting with `empty` or `not required`
 *                              declares an empty rollback, as Liquibase's
 *                              EmptyChange; a `changesetId` reference is
 *                              refused; a bare `--rollback` is an ordinary
 *                              comment of the body, as in Liquibase)
 *   a block comment opened by a "liquibase rollback" line: rollback SQL up to the
 *                              comment end (the markers on their own lines;
 *                              lines keep their "\n", where Liquibase glues
 *                              them together - harmless to its checksum,
 *                              which does not cover rollbacks)
 *   --comment: text           (also `--comment text`; from the line start)
 *   --preconditions onFail:HALT|CONTINUE|MARK_RAN|WARN [onError:...]
 *   --precondition-sql-check expectedResult:V SQL   (V a word, 'x y' or "x y")
 *   --validCheckSum: 9:...
 *   --property name:x value:y (anywhere; first value wins)
 *   --ignoreLines:start ... --ignoreLines:end, --ignoreLines:N
 * Changeset attributes: runOnChange, runAlways, runInTransaction,
 * failOnError, splitStatements, stripComments (true/false), endDelimiter,
 * context/contextFilter, labels, dbms, logicalFilePath; others are ignored
 * as Liquibase's regex matching ignores them.
 *
 * Tags: open-source Liquibase has no tag syntax in formatted SQL (the patterns
 * of liquibase-standard/src/main/java/liquibase/parser/
 * AbstractFormattedChangeLogParser.java have none).  Liquibase Pro has
 * `--tagDatabase: NAME`, which the open-source parser refuses without a Pro
 * license (liquibase/parser/core/formattedsql/InvalidFormattedSqlPatternsForOssUtil.java);
 * how Pro models it (and whether it changes the checksum) cannot be read in
 * public sources.  tidemark accepts that line, and adds its own extension
 * `--tag NAME` (no space after "--"), which is a plain SQL comment to every
 * Liquibase, so such files still run there with the same checksum.  Either
 * line tags the changeset it is in and stays in its SQL body.
 *
 * Stricter than Liquibase on purpose: SQL text outside any changeset and a
 * changeset with an empty body are errors (Liquibase drops the first). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "common/buf.h"
#include "common/caps.h"

struct sctx {
    struct chlog_ld *ld;
    const char *path;
    const char *filename;
    struct chlog_changeset *cs; /* current, NULL before the first */
    struct tm_buf body;
    struct tm_buf rollback;
    int line; /* current line number */
};

/* A line: [s, e) without its terminator. */
struct line {
    const char *s;
    const char *e;
};

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* "--\s*<word>" (case-insensitive) at p: the position after word, or NULL. */
static const char *dashes_word(const char *p, const char *e, const char *word)
{
    if (e - p < 2 || p[0] != '-' || p[1] != '-')
        return NULL;
    p = skip_ws(p + 2, e);
    size_t n = strlen(word);
    if ((size_t)(e - p) < n || strncasecmp(p, word, n) != 0)
        return NULL;
    return p + n;
}

/* If the line is "\s*--\s*<word>" (case-insensitive) followed by end, a
 * space, or (when colon_ok) a ':', returns the position after word. */
static const char *directive(struct line l, const char *word, bool colon_ok)
{
    const char *p = dashes_word(skip_ws(l.s, l.e), l.e, word);
    if (p && (p == l.e || *p == ' ' || *p == '\t' || (colon_ok && *p == ':')))
        return p;
    return NULL;
}

/* Liquibase's COMMENT and VALID_CHECK_SUM patterns, `--[\s]*word:? (.*)`
 * matched from the line start: returns the value after the space. */
static const char *value_directive(struct line l, const char *word)
{
    const char *p = dashes_word(l.s, l.e, word);
    if (!p)
        return NULL;
    if (p < l.e && *p == ':')
        p++;
    if (p >= l.e || *p != ' ')
        return NULL;
    return p + 1;
}

/* Liquibase's ROLLBACK pattern `\s*--[\s]*rollback (.*)`: the text after
 * "rollback " (a bare "--rollback" is an ordinary SQL comment to it). */
static const char *rollback_directive(struct line l)
{
    const char *p = skip_ws(l.s, l.e);
    if (l.e - p < 2 || p[0] != '-' || p[1] != '-')
        return NULL;
    p = skip_ws(p + 2, l.e);
    if (l.e - p < 9 || strncasecmp(p, "rollback ", 9) != 0)
        return NULL;
    return p + 9;
}

/* Tag lines; returns the position of the tag name.
 *   "--tag NAME"           tidemark, written without a space after "--" (so
 *                          that prose such as "-- tag the orders" stays a comment);
 *   "--tagDatabase: NAME"  Liquibase Pro's pattern, `\s*?--[\s]*?tagDatabase:[\s]+?(.*)`
 *                          (open-source Liquibase refuses this line without a
 *                          Pro license: InvalidFormattedSqlPatternsForOssUtil). */
static const char *tag_directive(struct line l)
{
    const char *p = skip_ws(l.s, l.e);
    if ((size_t)(l.e - p) >= 5 && strncasecmp(p, "--tag", 5) == 0 &&
        (p + 5 == l.e || p[5] == ' ' || p[5] == '\t'))
        return p + 5;
    if (l.e - p < 2 || p[0] != '-' || p[1] != '-')
        return NULL;
    const char *q = skip_ws(p + 2, l.e);
    if ((size_t)(l.e - q) >= 12 && strncasecmp(q, "tagDatabase:", 12) == 0 &&
        (q + 12 == l.e || q[12] == ' ' || q[12] == '\t'))
        return q + 12;
    return NULL;
}

static char *dup_range(const char *s, const char *e)
{
    return strndup(s, (size_t)(e - s));
}

static enum tm_code fail(struct sctx *x, struct tm_err *err, enum tm_code code, int col,
                         const char *msg)
{
    return chlog_ld_fail(err, code, x->path, x->line, col, "%s", msg);
}

static enum tm_code nomem(struct tm_err *err)
{
    return tm_err_set(err, TM_E_NOMEM, "out of memory");
}

static void trim_range(const char **s, const char **e)
{
    while (*s < *e && isspace((unsigned char)**s))
        (*s)++;
    while (*e > *s && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* Closes the current changeset: body -> its SQL change, rollback text. */
static enum tm_code close_set(struct sctx *x, int set_line, struct tm_err *err)
{
    if (!x->cs)
        return TM_OK;
    struct chlog_changeset *cs = x->cs;
    const char *s = tm_buf_str(&x->body), *e = s + x->body.len;
    trim_range(&s, &e);
    if (s == e)
        return chlog_ld_fail(err, TM_E_INVAL, x->path, set_line, 0,
                             "changeset %s:%s has no SQL (expected SQL lines after --changeset)",
                             cs->author, cs->id);
    char *raw = dup_range(s, e);
    if (!raw)
        return nomem(err);
    cs->changes[0].sql = chlog_ld_expand(x->ld, raw);
    free(raw);
    if (!cs->changes[0].sql)
        return nomem(err);
    s = tm_buf_str(&x->rollback);
    e = s + x->rollback.len;
    trim_range(&s, &e);
    if (s != e) { /* Liquibase: an empty rollback text declares nothing */
        size_t n = (size_t)(e - s);
        /* Liquibase handleRollbackSequence: "^empty.*" / "^not required.*"
         * (lowercased) mean an empty rollback; "changesetId" a reference */
        if ((n >= 5 && strncasecmp(s, "empty", 5) == 0) ||
            (n >= 12 && strncasecmp(s, "not required", 12) == 0))
            e = s;
        for (const char *q = s; q + 11 <= e; q++)
            if (strncasecmp(q, "changesetid", 11) == 0)
                return chlog_ld_fail(err, TM_E_INVAL, x->path, set_line, 0,
                                     "rollback by changesetId reference is not supported "
                                     "(write the rollback SQL)");
        raw = dup_range(s, e);
        if (!raw)
            return nomem(err);
        cs->rollback_sql = chlog_ld_expand(x->ld, raw);
        free(raw);
        if (!cs->rollback_sql)
            return nomem(err);
        cs->has_rollback = true;
    }
    tm_buf_reset(&x->body);
    tm_buf_reset(&x->rollback);
    x->cs = NULL;
    return TM_OK;
}

/* Reads a token at p: "quoted" or up to whitespace (or stop char). */
static const char *token_end(const char *p, const char *e, char stop)
{
    if (p < e && *p == '"') {
        const char *q = memchr(p + 1, '"', (size_t)(e - p - 1));
        return q ? q + 1 : e;
    }
    while (p < e && *p != ' ' && *p != '\t' && *p != stop)
        p++;
    return p;
}

static char *unquote(const char *s, const char *e)
{
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        s++;
        e--;
    }
    return dup_range(s, e);
}

static enum tm_code set_bool_attr(struct sctx *x, const char *key, const char *v, int col,
                                  bool *dst, struct tm_err *err)
{
    bool ok = false;
    bool b = chlog_parse_bool(v, &ok);
    if (!ok)
        return chlog_ld_fail(err, TM_E_INVAL, x->path, x->line, col,
                             "%s: expected true or false, got '%s'", key, v);
    *dst = b;
    return TM_OK;
}

static enum tm_code start_set(struct sctx *x, struct line l, const char *after,
                              struct tm_err *err)
{
    const char *p = skip_ws(after, l.e);
    /* author: "quoted" or up to ':' */
    const char *as = p, *ae;
    if (p < l.e && *p == '"') {
        const char *q = memchr(p + 1, '"', (size_t)(l.e - p - 1));
        ae = q ? q + 1 : l.e;
    } else {
        ae = p;
        while (ae < l.e && *ae != ':')
            ae++;
    }
    if (ae >= l.e || *ae != ':' || ae == as)
        return fail(x, err, TM_E_PARSE, (int)(as - l.s) + 1,
                    "expected --changeset author:id");
    p = ae + 1;
    if (p < l.e && (*p == ' ' || *p == '\t'))
        return fail(x, err, TM_E_PARSE, (int)(p - l.s) + 1,
                    "expected --changeset author:id (no space after ':', as Liquibase requires)");
    const char *is = p, *ie = token_end(p, l.e, '\0');
    if (ie == is)
        return fail(x, err, TM_E_PARSE, (int)(is - l.s) + 1,
                    "expected --changeset author:id (the id is missing)");
    struct chlog_changeset *cs = chlog_ld_add_set(x->ld);
    if (!cs)
        return nomem(err);
    x->cs = cs;
    cs->line = x->line;
    char *a = unquote(as, ae), *i = unquote(is, ie);
    cs->author = a ? chlog_ld_expand(x->ld, a) : NULL;
    cs->id = i ? chlog_ld_expand(x->ld, i) : NULL;
    free(a);
    free(i);
    cs->filename = strdup(x->filename);
    cs->path = strdup(x->path);
    struct chlog_change *ch = chlog_set_add_change(cs);
    if (!cs->author || !cs->id || !cs->filename || !cs->path || !ch)
        return nomem(err);
    ch->kind = CHLOG_CHANGE_SQL;
    ch->line = x->line;
    if (!cs->id[0] || strspn(cs->id, ": ") == strlen(cs->id))
        return fail(x, err, TM_E_INVAL, (int)(is - l.s) + 1, "changeset id cannot be empty");
    if (!cs->author[0])
        return fail(x, err, TM_E_INVAL, (int)(as - l.s) + 1, "changeSet needs an author");
    char *context = NULL, *context_filter = NULL;
    enum tm_code rc = TM_OK;
    p = ie;
    while (rc == TM_OK) {
        p = skip_ws(p, l.e);
        if (p >= l.e)
            break;
        int col = (int)(p - l.s) + 1;
        const char *ks = p;
        while (p < l.e && *p != ':' && *p != ' ' && *p != '\t')
            p++;
        if (p >= l.e || *p != ':') {
            p = token_end(p, l.e, '\0'); /* a stray word: ignored, like Liquibase */
            continue;
        }
        char key[64];
        size_t kl = (size_t)(p - ks);
        if (kl >= sizeof(key))
            kl = sizeof(key) - 1;
        memcpy(key, ks, kl);
        key[kl] = '\0';
        const char *vs = p + 1, *ve = token_end(vs, l.e, '\0');
        p = ve;
        char *v = unquote(vs, ve);
        if (!v)
            return nomem(err);
        char *xv = chlog_ld_expand(x->ld, v);
        free(v);
        if (!xv)
            return nomem(err);
        if (strcasecmp(key, "runOnChange") == 0)
            rc = set_bool_attr(x, key, xv, col, &cs->run_on_change, err);
        else if (strcasecmp(key, "runAlways") == 0)
            rc = set_bool_attr(x, key, xv, col, &cs->run_always, err);
        else if (strcasecmp(key, "runInTransaction") == 0)
            rc = set_bool_attr(x, key, xv, col, &cs->run_in_transaction, err);
        else if (strcasecmp(key, "failOnError") == 0)
            rc = set_bool_attr(x, key, xv, col, &cs->fail_on_error, err);
        else if (strcasecmp(key, "splitStatements") == 0)
            rc = set_bool_attr(x, key, xv, col, &ch->split_statements, err);
        else if (strcasecmp(key, "stripComments") == 0)
            rc = set_bool_attr(x, key, xv, col, &ch->strip_comments, err);
        else if (strcasecmp(key, "endDelimiter") == 0) {
            free(ch->end_delimiter);
            ch->end_delimiter = xv;
            xv = NULL;
        } else if (strcasecmp(key, "context") == 0) {
            free(context);
            context = xv;
            xv = NULL;
        } else if (strcasecmp(key, "contextFilter") == 0) {
            free(context_filter);
            context_filter = xv;
            xv = NULL;
        } else if (strcasecmp(key, "labels") == 0) {
            free(cs->labels);
            cs->labels = xv;
            xv = NULL;
        } else if (strcasecmp(key, "dbms") == 0) {
            free(cs->dbms);
            cs->dbms = xv;
            xv = NULL;
        } else if (strcasecmp(key, "logicalFilePath") == 0) {
            free(cs->filename);
            cs->filename = xv;
            xv = NULL;
        }
        free(xv);
    }
    if (rc == TM_OK) {
        cs->contexts = context_filter && context_filter[0] ? context_filter : context;
        if (cs->contexts == context_filter)
            free(context);
        else
            free(context_filter);
        context = context_filter = NULL;
        if (cs->contexts && !cs->contexts[0]) {
            free(cs->contexts);
            cs->contexts = NULL;
        }
    }
    free(context);
    free(context_filter);
    return rc;
}

static enum tm_code on_fail(struct sctx *x, const char *what, const char *s, const char *e,
                            int col, enum chlog_on_fail *dst, struct tm_err *err)
{
    size_t n = (size_t)(e - s);
    if (n == 4 && strncasecmp(s, "HALT", 4) == 0)
        *dst = CHLOG_ONFAIL_HALT;
    else if (n == 8 && strncasecmp(s, "CONTINUE", 8) == 0)
        *dst = CHLOG_ONFAIL_CONTINUE;
    else if (n == 8 && strncasecmp(s, "MARK_RAN", 8) == 0)
        *dst = CHLOG_ONFAIL_MARK_RAN;
    else if (n == 4 && strncasecmp(s, "WARN", 4) == 0)
        *dst = CHLOG_ONFAIL_WARN;
    else
        return fail(x, err, TM_E_INVAL, col,
                    strcmp(what, "onError") == 0
                        ? "onError: expected HALT, CONTINUE, MARK_RAN or WARN"
                        : "onFail: expected HALT, CONTINUE, MARK_RAN or WARN");
    return TM_OK;
}

static enum tm_code ensure_pc(struct sctx *x, struct tm_err *err)
{
    if (!x->cs->precondition) {
        x->cs->precondition = calloc(1, sizeof(*x->cs->precondition));
        if (!x->cs->precondition)
            return nomem(err);
    }
    return TM_OK;
}

static enum tm_code preconditions_line(struct sctx *x, struct line l, const char *p,
                                       struct tm_err *err)
{
    enum tm_code rc = ensure_pc(x, err);
    while (rc == TM_OK) {
        p = skip_ws(p, l.e);
        if (p >= l.e)
            break;
        const char *ts = p, *te = token_end(p, l.e, '\0');
        p = te;
        if (te - ts > 7 && strncasecmp(ts, "onFail:", 7) == 0)
            rc = on_fail(x, "onFail", ts + 7, te, (int)(ts - l.s) + 1,
                         &x->cs->precondition->on_fail, err);
        else if (te - ts > 8 && strncasecmp(ts, "onError:", 8) == 0)
            rc = on_fail(x, "onError", ts + 8, te, (int)(ts - l.s) + 1,
                         &x->cs->precondition->on_error, err);
    }
    return rc;
}

static enum tm_code sql_check_line(struct sctx *x, struct line l, const char *p,
                                   struct tm_err *err)
{
    enum tm_code rc = ensure_pc(x, err);
    if (rc != TM_OK)
        return rc;
    struct chlog_precondition *pc = x->cs->precondition;
    if (pc->sql)
        return fail(x, err, TM_E_INVAL, 0, "only one --precondition-sql-check per changeset");
    p = skip_ws(p, l.e);
    if (l.e - p >= 15 && strncasecmp(p, "expectedResult:", 15) == 0)
        p += 15;
    const char *vs, *ve;
    if (p < l.e && (*p == '\'' || *p == '"')) {
        const char *q = memchr(p + 1, *p, (size_t)(l.e - p - 1));
        if (!q)
            return fail(x, err, TM_E_PARSE, (int)(p - l.s) + 1, "unterminated expectedResult");
        vs = p + 1;
        ve = q;
        p = q + 1;
    } else {
        vs = p;
        while (p < l.e && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        ve = p;
    }
    if (ve == vs && !(vs > l.s && (vs[-1] == '\'' || vs[-1] == '"')))
        return fail(x, err, TM_E_PARSE, (int)(vs - l.s) + 1,
                    "expected --precondition-sql-check expectedResult:<value> <sql>");
    if (p >= l.e || (*p != ' ' && *p != '\t'))
        return fail(x, err, TM_E_PARSE, (int)(p - l.s) + 1,
                    "expected --precondition-sql-check expectedResult:<value> <sql>");
    const char *ss = skip_ws(p, l.e), *se = l.e;
    trim_range(&ss, &se);
    if (ss == se)
        return fail(x, err, TM_E_PARSE, (int)(p - l.s) + 1,
                    "--precondition-sql-check needs SQL after the expected result");
    char *v = dup_range(vs, ve), *s = dup_range(ss, se);
    if (v && s) {
        pc->expected = chlog_ld_expand(x->ld, v);
        pc->sql = chlog_ld_expand(x->ld, s);
    }
    free(v);
    free(s);
    if (!pc->expected || !pc->sql)
        return nomem(err);
    return TM_OK;
}

static enum tm_code property_line(struct sctx *x, struct line l, const char *p,
                                  struct tm_err *err)
{
    char *name = NULL, *value = NULL;
    while (p < l.e) {
        p = skip_ws(p, l.e);
        if (p >= l.e)
            break;
        const char *ts = p, *te = token_end(p, l.e, '\0');
        p = te;
        bool is_name = te - ts >= 5 && strncasecmp(ts, "name:", 5) == 0;
        bool is_value = te - ts >= 6 && strncasecmp(ts, "value:", 6) == 0;
        if (!is_name && !is_value)
            continue;
        const char *vs = ts + (is_name ? 5 : 6);
        if (vs == te) { /* "name: x": the value is the next word */
            vs = skip_ws(te, l.e);
            te = token_end(vs, l.e, '\0');
            p = te;
        }
        char *v = unquote(vs, te);
        if (is_name) {
            free(name);
            name = v;
        } else {
            free(value);
            value = v;
        }
    }
    enum tm_code rc = TM_OK;
    if (!name || !value || !name[0])
        rc = fail(x, err, TM_E_PARSE, 0, "expected --property name:<name> value:<value>");
    else if (!chlog_props_get(&x->ld->props, name))
        rc = chlog_props_set(&x->ld->props, name, value, err);
    free(name);
    free(value);
    return rc;
}

static enum tm_code tag_line(struct sctx *x, struct line l, const char *p, struct tm_err *err)
{
    p = skip_ws(p, l.e);
    const char *ts = p, *te = p;
    while (te < l.e && *te != ' ' && *te != '\t')
        te++;
    const char *rest = skip_ws(te, l.e);
    if (te == ts || rest != l.e)
        return fail(x, err, TM_E_PARSE, (int)(ts - l.s) + 1,
                    "expected --tag <name> or --tagDatabase: <name> (one word)");
    if (x->cs->own_tag)
        return fail(x, err, TM_E_INVAL, (int)(ts - l.s) + 1,
                    "changeset already has a tag (one --tag per changeset)");
    char *t = dup_range(ts, te);
    if (!t)
        return nomem(err);
    x->cs->own_tag = chlog_ld_expand(x->ld, t);
    free(t);
    if (!x->cs->own_tag)
        return nomem(err);
    x->cs->tag = x->cs->own_tag;
    return TM_OK;
}

static bool blank(struct line l)
{
    return skip_ws(l.s, l.e) == l.e;
}

/* A plain "-- ..." comment line. */
static bool comment_only(struct line l)
{
    const char *p = skip_ws(l.s, l.e);
    return l.e - p >= 2 && p[0] == '-' && p[1] == '-';
}

static bool next_line(const char **pos, const char *end, struct line *l)
{
    if (*pos >= end)
        return false;
    const char *s = *pos;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    *pos = nl ? nl + 1 : end;
    if (e > s && e[-1] == '\r')
        e--;
    l->s = s;
    l->e = e;
    return true;
}

/* The changeset directives that are not SQL: --comment, --validCheckSum and
 * the preconditions.  *meta: l was one of them (then it is not body). */
static enum tm_code metadata_line(struct sctx *x, struct line l, bool *meta, struct tm_err *err)
{
    const char *p;
    *meta = true;
    if ((p = value_directive(l, "comment")) != NULL) {
        free(x->cs->comment);
        x->cs->comment = dup_range(p, l.e);
        return x->cs->comment ? TM_OK : nomem(err);
    }
    if ((p = value_directive(l, "validCheckSum")) != NULL) {
        const char *s = p, *e = l.e;
        trim_range(&s, &e);
        if (s == e)
            return fail(x, err, TM_E_PARSE, 0, "expected --validCheckSum: <checksum>");
        char *v = dup_range(s, e);
        enum tm_code rc = !v || chlog_set_add_valid(x->cs, v) != TM_OK ? nomem(err) : TM_OK;
        free(v);
        return rc;
    }
    if ((p = directive(l, "preconditions", false)) != NULL)
        return preconditions_line(x, l, p, err);
    if ((p = directive(l, "precondition-sql-check", false)) != NULL)
        return sql_check_line(x, l, p, err);
    if (directive(l, "precondition-table-exists", false) ||
        directive(l, "precondition-view-exists", false))
        return fail(x, err, TM_E_INVAL, 0,
                    "only --precondition-sql-check is supported as a precondition");
    *meta = false;
    return TM_OK;
}

/* Appends [s, e) and a newline to b (the body or the rollback: what names
 * it in the too-large error). */
static enum tm_code add_line(struct sctx *x, struct tm_buf *b, const char *s, const char *e,
                             const char *what, struct tm_err *err)
{
    if (tm_buf_add(b, s, (size_t)(e - s)) != TM_OK || tm_buf_adds(b, "\n") != TM_OK)
        return tm_err_set(err, TM_E_TOOBIG, "%s: %s too large", x->path, what);
    return TM_OK;
}

/* --ignoreLines:<count> skips that many lines; --ignoreLines:start skips
 * through --ignoreLines:end.  v: the text after "--ignoreLines:" on l. */
static enum tm_code skip_ignored_lines(struct sctx *x, const char **pos, const char *end,
                                       struct line l, const char *v, struct tm_err *err)
{
    if (l.e - v >= 5 && strncasecmp(v, "start", 5) == 0) {
        while (next_line(pos, end, &l)) {
            x->line++;
            const char *q = directive(l, "ignoreLines", true);
            if (q && l.e - q >= 4 && strncasecmp(q, ":end", 4) == 0)
                return TM_OK;
        }
        return fail(x, err, TM_E_PARSE, 0, "--ignoreLines:start without --ignoreLines:end");
    }
    char *endp = NULL;
    long n = strtol(v, &endp, 10);
    if (endp == v || n < 0)
        return fail(x, err, TM_E_PARSE, 0, "expected --ignoreLines:<count|start|end>");
    while (n-- > 0 && next_line(pos, end, &l))
        x->line++;
    return TM_OK;
}

/* A line that opens a rollback block: slash-star, "liquibase", "rollback"
 * and nothing else (blanks between). */
static bool rollback_block_start(struct line l)
{
    const char *q = skip_ws(l.s, l.e);
    if (l.e - q < 2 || q[0] != '/' || q[1] != '*')
        return false;
    const char *r = skip_ws(q + 2, l.e);
    if (l.e - r < 9 || strncasecmp(r, "liquibase", 9) != 0)
        return false;
    r = skip_ws(r + 9, l.e);
    return l.e - r >= 8 && strncasecmp(r, "rollback", 8) == 0 && skip_ws(r + 8, l.e) == l.e;
}

/* The lines of a rollback block into x->rollback, through the line that
 * ends with star-slash (which is left out). */
static enum tm_code read_rollback_block(struct sctx *x, const char **pos, const char *end,
                                        struct tm_err *err)
{
    int start = x->line;
    struct line l;
    enum tm_code rc = TM_OK;
    while (rc == TM_OK && next_line(pos, end, &l)) {
        x->line++;
        const char *ce = l.e;
        while (ce > l.s && (ce[-1] == ' ' || ce[-1] == '\t'))
            ce--;
        bool last = ce - l.s >= 2 && ce[-2] == '*' && ce[-1] == '/';
        rc = add_line(x, &x->rollback, l.s, last ? ce - 2 : l.e, "rollback", err);
        if (last)
            return rc;
    }
    if (rc == TM_OK)
        rc = chlog_ld_fail(err, TM_E_PARSE, x->path, start, 0,
                           "unterminated /* liquibase rollback block "
                           "(expected */ at the end of a line)");
    return rc;
}

enum tm_code chlog_sqlfmt_parse(struct chlog_ld *ld, const char *path, const char *filename,
                                const char *data, size_t len, struct tm_err *err)
{
    struct sctx x;
    memset(&x, 0, sizeof(x));
    x.ld = ld;
    x.path = path;
    x.filename = filename;
    tm_buf_init(&x.body, TM_CAP_CHANGELOG_FILE);
    tm_buf_init(&x.rollback, TM_CAP_CHANGELOG_FILE);
    const char *pos = data, *end = data + len;
    if (len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
        (unsigned char)data[2] == 0xBF)
        pos += 3;
    enum tm_code rc = TM_OK;
    bool header = false;
    int set_line = 0;
    struct line l;
    while (rc == TM_OK && next_line(&pos, end, &l)) {
        x.line++;
        const char *p;
        if (!header) {
            if (blank(l))
                continue;
            if (!chlog_is_formatted_sql(l.s, (size_t)(l.e - l.s))) {
                rc = fail(&x, err, TM_E_PARSE, 0,
                          "expected '--liquibase formatted sql' as the first non-blank line");
                break;
            }
            header = true;
            continue;
        }
        if ((p = directive(l, "ignoreLines", true)) != NULL && p < l.e && *p == ':') {
            rc = skip_ignored_lines(&x, &pos, end, l, p + 1, err);
            continue;
        }
        if ((p = directive(l, "property", false)) != NULL) {
            rc = property_line(&x, l, p, err);
            continue;
        }
        if ((p = directive(l, "changeset", false)) != NULL) {
            rc = close_set(&x, set_line, err);
            if (rc == TM_OK) {
                set_line = x.line;
                rc = start_set(&x, l, p, err);
            }
            continue;
        }
        if (!x.cs) {
            if (blank(l) || comment_only(l))
                continue;
            const char *q = skip_ws(l.s, l.e);
            if (l.e - q >= 2 && q[0] == '/' && q[1] == '*')
                continue; /* a block comment line before the first changeset */
            rc = fail(&x, err, TM_E_PARSE, 0,
                      "SQL outside a changeset (expected --changeset author:id before it)");
            break;
        }
        if ((p = rollback_directive(l)) != NULL) {
            rc = add_line(&x, &x.rollback, p, l.e, "rollback", err);
            continue;
        }
        if (rollback_block_start(l)) {
            rc = read_rollback_block(&x, &pos, end, err);
            continue;
        }
        bool meta = false;
        rc = metadata_line(&x, l, &meta, err);
        if (meta)
            continue;
        if ((p = tag_directive(l)) != NULL) {
            rc = tag_line(&x, l, p, err);
            if (rc != TM_OK)
                continue;
            /* fall through: the line stays in the body (see header) */
        }
        rc = add_line(&x, &x.body, l.s, l.e, "changeset", err);
    }
    if (rc == TM_OK && !header)
        rc = chlog_ld_fail(err, TM_E_PARSE, path, 1, 0,
                           "expected '--liquibase formatted sql' as the first non-blank line");
    if (rc == TM_OK)
        rc = close_set(&x, set_line, err);
    tm_buf_release(&x.body);
    tm_buf_release(&x.rollback);
    return rc;
}
