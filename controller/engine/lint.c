/* lint: flags destructive SQL in the changesets a plan would apply (pure).
 *
 * A small PostgreSQL lexer turns SQL into words and punctuation, skipping
 * comments (-- and nested slash-star), string literals ('..', E'..' with
 * backslash escapes), quoted identifiers ("..", never keywords) and
 * dollar-quoted bodies ($$..$$, $tag$..$tag$).  Statements end at a
 * top-level ';'.  Each statement is classified by its leading words.
 *
 * What counts as destructive (data is lost): DROP TABLE, DROP SCHEMA,
 * DROP DATABASE, ALTER TABLE .. DROP [COLUMN], TRUNCATE, ALTER TABLE ..
 * ALTER [COLUMN] .. [SET DATA] TYPE (rewrites, may truncate or fail on
 * values), DELETE or UPDATE without a top-level WHERE.  ALTER TABLE .. DROP
 * CONSTRAINT loses no data: it is reported as a warning, never denied.  DROP
 * INDEX/VIEW/FUNCTION are not flagged (rebuildable from the changelog).
 * Not inspected: dollar-quoted bodies (a DO block's DROP is not seen) and
 * dynamic SQL.  Rollback SQL is never linted (undoing CREATE TABLE is a DROP
 * TABLE by nature). */
#include "engine/engine.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/sql_lex.h"

#define LINT_MAX_TOKENS 64 /* leading words kept per statement: enough to classify */

struct tok {
    char word[32];   /* upper-cased keyword/identifier, "" for punctuation */
    char punct;      /* ',' '(' ')' or 0 */
    int depth;       /* parenthesis depth */
    int line;
};

struct stmt {
    struct tok t[LINT_MAX_TOKENS];
    int n;
    int line;        /* line of the first token */
    bool has_where;  /* a top-level WHERE anywhere in the statement */
    int depth;
};

const char *lint_kind_name(enum lint_kind k)
{
    switch (k) {
    case LINT_DROP_TABLE: return "DROP TABLE";
    case LINT_DROP_COLUMN: return "DROP COLUMN";
    case LINT_DROP_SCHEMA: return "DROP SCHEMA";
    case LINT_DROP_DATABASE: return "DROP DATABASE";
    case LINT_TRUNCATE: return "TRUNCATE";
    case LINT_ALTER_COLUMN_TYPE: return "ALTER COLUMN TYPE";
    case LINT_DELETE_WITHOUT_WHERE: return "DELETE without WHERE";
    case LINT_UPDATE_WITHOUT_WHERE: return "UPDATE without WHERE";
    case LINT_DROP_CONSTRAINT: return "DROP CONSTRAINT";
    case LINT_NO_ROLLBACK: return "no rollback";
    }
    return "unknown";
}

static bool is(const struct tok *t, const char *w)
{
    return t->word[0] && strcmp(t->word, w) == 0;
}

static enum tm_code add_hit(struct lint_hit **hits, size_t *n, enum lint_kind k, int line,
                            struct tm_err *err)
{
    struct lint_hit *nh = realloc(*hits, (*n + 1) * sizeof(**hits));
    if (!nh)
        return tm_err_set(err, TM_E_NOMEM, "lint: out of memory");
    *hits = nh;
    (*hits)[(*n)++] = (struct lint_hit){k, line};
    return TM_OK;
}

/* Index of the first top-level token of the next ALTER TABLE action after i. */
static int next_action(const struct stmt *s, int i)
{
    for (; i < s->n; i++)
        if (s->t[i].punct == ',' && s->t[i].depth == 0)
            return i + 1;
    return s->n;
}

static enum tm_code classify(const struct stmt *s, struct lint_hit **hits, size_t *n,
                             struct tm_err *err)
{
    if (s->n == 0)
        return TM_OK;
    const struct tok *t = s->t;
    if (is(&t[0], "DROP") && s->n > 1) {
        if (is(&t[1], "TABLE"))
            return add_hit(hits, n, LINT_DROP_TABLE, s->line, err);
        if (is(&t[1], "SCHEMA"))
            return add_hit(hits, n, LINT_DROP_SCHEMA, s->line, err);
        if (is(&t[1], "DATABASE"))
            return add_hit(hits, n, LINT_DROP_DATABASE, s->line, err);
        return TM_OK;
    }
    if (is(&t[0], "TRUNCATE"))
        return add_hit(hits, n, LINT_TRUNCATE, s->line, err);
    if (is(&t[0], "DELETE") && !s->has_where)
        return add_hit(hits, n, LINT_DELETE_WITHOUT_WHERE, s->line, err);
    if (is(&t[0], "UPDATE") && !s->has_where)
        return add_hit(hits, n, LINT_UPDATE_WITHOUT_WHERE, s->line, err);
    if (is(&t[0], "ALTER") && s->n > 1 && is(&t[1], "TABLE")) {
        /* ALTER TABLE [IF EXISTS] [ONLY] name action [, action]... */
        int i = 2;
        if (i + 1 < s->n && is(&t[i], "IF") && is(&t[i + 1], "EXISTS"))
            i += 2;
        if (i < s->n && is(&t[i], "ONLY"))
            i++;
        /* The name is one or more tokens ("s"."t" lexes as two): the first
         * action starts at the first action keyword after it. */
        i++;
        while (i < s->n && !is(&t[i], "DROP") && !is(&t[i], "ALTER") && !is(&t[i], "ADD") &&
               !is(&t[i], "RENAME") && !is(&t[i], "SET") && !is(&t[i], "OWNER") &&
               !is(&t[i], "ENABLE") && !is(&t[i], "DISABLE") && !is(&t[i], "VALIDATE") &&
               !is(&t[i], "ATTACH") && !is(&t[i], "DETACH") && !is(&t[i], "RESET"))
            i++;
        for (; i < s->n; i = next_action(s, i)) {
            if (is(&t[i], "DROP") && i + 1 < s->n) {
                enum tm_code rc;
                if (is(&t[i + 1], "CONSTRAINT"))
                    rc = add_hit(hits, n, LINT_DROP_CONSTRAINT, t[i].line, err);
                else
                    rc = add_hit(hits, n, LINT_DROP_COLUMN, t[i].line, err);
                if (rc != TM_OK)
                    return rc;
            } else if (is(&t[i], "ALTER")) {
                for (int j = i + 1; j < s->n && !(t[j].punct == ',' && t[j].depth == 0); j++) {
                    if (is(&t[j], "TYPE") && t[j].depth == 0) {
                        enum tm_code rc = add_hit(hits, n, LINT_ALTER_COLUMN_TYPE, t[i].line, err);
                        if (rc != TM_OK)
                            return rc;
                        break;
                    }
                }
            }
        }
    }
    return TM_OK;
}

static void push_tok(struct stmt *s, const char *w, size_t wn, char punct, int line)
{
    if (s->n == 0)
        s->line = line;
    if (wn > 0 && s->depth == 0 && wn == 5 && strncmp(w, "WHERE", 5) == 0)
        s->has_where = true;
    if (s->n >= LINT_MAX_TOKENS)
        return;
    struct tok *t = &s->t[s->n++];
    memset(t, 0, sizeof(*t));
    if (wn >= sizeof(t->word))
        wn = sizeof(t->word) - 1;
    memcpy(t->word, w, wn);
    t->punct = punct;
    t->depth = s->depth;
    t->line = line;
}

/* The text up to q[end] (sql_lex.h measured it from p): counts its newlines
 * into *line and returns where lexing goes on. */
static const char *skip_counting_lines(const char *q, const char *p, size_t end, int *line)
{
    for (; p < q + end; p++)
        if (*p == '\n')
            (*line)++;
    return p;
}

enum tm_code lint_sql(const char *sql, struct lint_hit **hits, size_t *n, struct tm_err *err)
{
    struct stmt s;
    memset(&s, 0, sizeof(s));
    int line = 1;
    const char *q = sql ? sql : "", *p = q;
    size_t len = strlen(q);
    enum tm_code rc = TM_OK;
    while (*p && rc == TM_OK) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n') {
            line++;
            p++;
        } else if (isspace(c)) {
            p++;
        } else if (c == '-' && p[1] == '-') {
            p = q + chlog_lex_line_comment_end(q, (size_t)(p - q), len);
        } else if (c == '/' && p[1] == '*') {
            p = skip_counting_lines(q, p, chlog_lex_block_comment_end(q, (size_t)(p - q), len),
                                    &line);
        } else if (c == '\'' || ((c == 'E' || c == 'e') && p[1] == '\'')) {
            bool esc = c != '\'';
            int l0 = line;
            size_t quote = (size_t)(p - q) + (esc ? 1 : 0);
            p = skip_counting_lines(q, p, chlog_lex_quoted_end(q, quote, len, esc), &line);
            push_tok(&s, "'", 0, 0, l0); /* a literal: a token that is no keyword */
        } else if (c == '"') {
            int l0 = line;
            p = skip_counting_lines(q, p, chlog_lex_quoted_end(q, (size_t)(p - q), len, false),
                                    &line);
            push_tok(&s, "\"", 1, 0, l0); /* quoted identifier: never a keyword */
        } else if (c == '$' && (p[1] == '$' || isalpha((unsigned char)p[1]) || p[1] == '_')) {
            /* $tag$ ... $tag$ (a $1 parameter is not a dollar quote) */
            const char *t = p + 1;
            while (*t && *t != '$' && (isalnum((unsigned char)*t) || *t == '_'))
                t++;
            if (*t != '$') {
                p = t;
                continue;
            }
            size_t dl = (size_t)(t - p) + 1; /* delimiter length including both $ */
            int l0 = line;
            p = skip_counting_lines(q, p, chlog_lex_dollar_end(q, (size_t)(p - q), dl, len), &line);
            push_tok(&s, "$", 1, 0, l0);
        } else if (c == ';') {
            if (s.depth <= 0) {
                rc = classify(&s, hits, n, err);
                memset(&s, 0, sizeof(s));
            }
            p++;
        } else if (c == '(' || c == ')' || c == ',') {
            if (c == ')' && s.depth > 0)
                s.depth--;
            push_tok(&s, "", 0, (char)c, line);
            if (c == '(')
                s.depth++;
            p++;
        } else if (isalpha(c) || c == '_' || c >= 0x80) {
            char w[32];
            size_t wn = 0;
            while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '$' ||
                          (unsigned char)*p >= 0x80 || *p == '.')) {
                if (wn < sizeof(w) - 1)
                    w[wn++] = (char)toupper((unsigned char)*p);
                p++;
            }
            push_tok(&s, w, wn, 0, line);
        } else {
            p++; /* numbers, operators: not needed to classify */
        }
    }
    if (rc == TM_OK)
        rc = classify(&s, hits, n, err);
    return rc;
}

/* ---- findings ---------------------------------------------------------- */

void lint_report_init(struct lint_report *r)
{
    memset(r, 0, sizeof(*r));
}

void lint_report_release(struct lint_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].changeset);
        free(r->items[i].file);
    }
    free(r->items);
    lint_report_init(r);
}

static enum tm_code add_finding(struct lint_report *r, enum lint_kind k, bool denied,
                                const char *changeset, const char *file, int line,
                                struct tm_err *err)
{
    struct lint_finding *ni = realloc(r->items, (r->n + 1) * sizeof(*ni));
    if (!ni)
        return tm_err_set(err, TM_E_NOMEM, "lint: out of memory");
    r->items = ni;
    struct lint_finding *f = &r->items[r->n];
    f->kind = k;
    f->denied = denied;
    f->line = line;
    f->changeset = strdup(changeset);
    f->file = strdup(file ? file : "");
    r->n++;
    if (denied)
        r->ndenied++;
    if (!f->changeset || !f->file)
        return tm_err_set(err, TM_E_NOMEM, "lint: out of memory");
    return TM_OK;
}

static bool self_undoing(const struct chlog_changeset *cs)
{
    for (size_t i = 0; i < cs->nchanges; i++)
        if (cs->changes[i].kind != CHLOG_CHANGE_TAG)
            return false;
    return true;
}

enum tm_code lint_changeset(const struct chlog_changeset *cs, const struct lint_opts *o,
                            struct lint_report *r, struct tm_err *err)
{
    char name[1024];
    engine_changeset_name(cs, name, sizeof(name));
    enum tm_code rc = TM_OK;
    if (o->require_rollback && !cs->has_rollback && !self_undoing(cs)) {
        rc = add_finding(r, LINT_NO_ROLLBACK, true, name, cs->filename, cs->line, err);
        if (rc != TM_OK)
            return rc;
    }
    if (o->destructive == LINT_ALLOW)
        return TM_OK;
    for (size_t i = 0; i < cs->nchanges && rc == TM_OK; i++) {
        const struct chlog_change *ch = &cs->changes[i];
        if (!ch->sql)
            continue;
        struct lint_hit *hits = NULL;
        size_t nh = 0;
        rc = lint_sql(ch->sql, &hits, &nh, err);
        for (size_t k = 0; k < nh && rc == TM_OK; k++) {
            bool denied = o->destructive == LINT_DENY && hits[k].kind != LINT_DROP_CONSTRAINT;
            /* sqlFile: exact line in that file.  Inline SQL: the line of
             * the change (or changeset) plus the statement's line in the
             * body, exact for formatted SQL without directive lines between
             * --changeset and the body, approximate otherwise. */
            const char *file = cs->path ? cs->path : cs->filename;
            int line = 0;
            if (ch->kind == CHLOG_CHANGE_SQL_FILE && ch->path) {
                file = ch->path;
                line = hits[k].line;
            } else if (ch->line > 0) {
                line = ch->line + hits[k].line;
            } else if (cs->line > 0) {
                line = cs->line + hits[k].line;
            }
            rc = add_finding(r, hits[k].kind, denied, name, file, line, err);
        }
        free(hits);
    }
    return rc;
}

enum tm_code lint_plan(const struct chlog *cl, const struct plan *p, const struct lint_opts *o,
                       struct lint_report *r, struct tm_err *err)
{
    for (size_t i = 0; i < p->nsteps; i++) {
        const struct plan_step *st = &p->steps[i];
        if (st->action == PLAN_ROLLBACK)
            continue;
        enum tm_code rc = lint_changeset(&cl->sets[st->set], o, r, err);
        if (rc != TM_OK)
            return rc;
    }
    for (size_t i = 0; i < r->n; i++) {
        const struct lint_finding *f = &r->items[i];
        if (f->denied)
            return tm_err_set(err, TM_E_POLICY, "policy: %s in changeset %s (%s:%d)%s",
                              lint_kind_name(f->kind), f->changeset, f->file, f->line,
                              r->ndenied > 1 ? " and more" : "");
    }
    return TM_OK;
}
