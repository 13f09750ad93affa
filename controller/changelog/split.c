/* chlog split: cuts SQL text into statements the way PostgreSQL's psql does.
 *
 * Why not Liquibase's splitter: it splits on ";" at line ends and "GO"
 * lines with a regex and breaks on dollar-quoted function bodies; the engine
 * sends each statement to PostgreSQL, so the rules here are the server's
 * lexical rules (as psql applies them, src/bin/psql/psqlscan.l):
 *   - '...' strings ('' escapes a quote), E'...' strings (backslash escapes
 *     too), "..." identifiers ("" escapes), $$...$$ and $tag$...$tag$;
 *   - -- comments to the end of the line, block comments that nest;
 *   - ';' inside parentheses does not end a statement, nor inside the
 *     BEGIN ... END of CREATE [OR REPLACE] FUNCTION|PROCEDURE (SQL-standard
 *     bodies), tracked with psql's heuristic (CASE ... END nests there).
 * An unterminated quote or comment swallows the rest of the text into the
 * last statement; the server reports it.  Linear in the input. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "changelog/chlog.h"
#include "changelog/chlog_int.h"
#include "changelog/sql_lex.h"
#include "common/buf.h"
#include "common/caps.h"

static bool ident_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static bool ident_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

struct splitter {
    const char *sql;
    size_t len;
    const char *delim; /* NULL = ";" */
    size_t dlen;
    bool delim_line;   /* delimiter must stand on a line of its own */
    bool strip;
    struct tm_buf cur; /* the statement being built */
    bool content;      /* cur holds something other than whitespace/comments */
    int paren;
    int begin_depth;
    int nident;        /* identifiers seen in this statement */
    char idents[4];    /* first letters of create/or/replace/function/procedure */
    char **out;
    size_t n, cap;
};

static enum tm_code emit(struct splitter *s)
{
    enum tm_code rc = TM_OK;
    if (s->content) {
        const char *b = tm_buf_str(&s->cur), *e = b + s->cur.len;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        char **no = chlog_grow(s->out, s->n, &s->cap, sizeof(*no), 8);
        if (!no)
            return TM_E_NOMEM;
        s->out = no;
        char *st = strndup(b, (size_t)(e - b));
        if (!st)
            return TM_E_NOMEM;
        s->out[s->n++] = st;
    }
    tm_buf_reset(&s->cur);
    s->content = false;
    s->paren = 0;
    s->begin_depth = 0;
    s->nident = 0;
    memset(s->idents, 0, sizeof(s->idents));
    return rc;
}

static enum tm_code put(struct splitter *s, const char *p, size_t n, bool content)
{
    if (content)
        s->content = true;
    return tm_buf_add(&s->cur, p, n);
}

/* psql's heuristic for BEGIN ... END inside CREATE FUNCTION/PROCEDURE. */
static void track_ident(struct splitter *s, const char *w, size_t n)
{
    static const char *const kw[] = {"create", "function", "procedure", "or", "replace"};
    if (s->nident < (int)sizeof(s->idents)) {
        for (size_t k = 0; k < 5; k++)
            if (strlen(kw[k]) == n && strncasecmp(w, kw[k], n) == 0)
                s->idents[s->nident] = (char)tolower((unsigned char)w[0]);
    }
    s->nident++;
    const char *id = s->idents;
    bool in_routine = id[0] == 'c' &&
                      (id[1] == 'f' || id[1] == 'p' ||
                       (id[1] == 'o' && id[2] == 'r' && (id[3] == 'f' || id[3] == 'p')));
    if (!in_routine || s->paren != 0)
        return;
    if (n == 5 && strncasecmp(w, "begin", 5) == 0)
        s->begin_depth++;
    else if (n == 4 && strncasecmp(w, "case", 4) == 0) {
        if (s->begin_depth >= 1)
            s->begin_depth++;
    } else if (n == 3 && strncasecmp(w, "end", 3) == 0) {
        if (s->begin_depth > 0)
            s->begin_depth--;
    }
}

/* Does a custom delimiter start at i? Sets *skip to its length. */
static bool at_delim(const struct splitter *s, size_t i, size_t *skip)
{
    if (!s->delim)
        return false;
    if (s->len - i < s->dlen || strncasecmp(s->sql + i, s->delim, s->dlen) != 0)
        return false;
    if (!s->delim_line) {
        *skip = s->dlen;
        return true;
    }
    /* only whitespace between the line start and i, and after it to the end of line */
    size_t b = i;
    while (b > 0 && (s->sql[b - 1] == ' ' || s->sql[b - 1] == '\t'))
        b--;
    if (b > 0 && s->sql[b - 1] != '\n' && s->sql[b - 1] != '\r')
        return false;
    size_t e = i + s->dlen;
    while (e < s->len && (s->sql[e] == ' ' || s->sql[e] == '\t' || s->sql[e] == '\r'))
        e++;
    if (e < s->len && s->sql[e] != '\n')
        return false;
    *skip = e - i;
    return true;
}

static enum tm_code run(struct splitter *s)
{
    const char *q = s->sql;
    size_t i = 0, n = s->len;
    enum tm_code rc = TM_OK;
    while (i < n && rc == TM_OK) {
        unsigned char c = (unsigned char)q[i];
        size_t skip = 0;
        if (s->paren == 0 && s->begin_depth == 0 && at_delim(s, i, &skip)) {
            rc = emit(s);
            i += skip;
            continue;
        }
        if (!s->delim && c == ';' && s->paren == 0 && s->begin_depth == 0) {
            rc = emit(s);
            i++;
            continue;
        }
        if (c == '-' && i + 1 < n && q[i + 1] == '-') {
            size_t e = chlog_lex_line_comment_end(q, i, n);
            if (!s->strip)
                rc = put(s, q + i, e - i, false);
            i = e;
            continue;
        }
        if (c == '/' && i + 1 < n && q[i + 1] == '*') {
            size_t e = chlog_lex_block_comment_end(q, i, n);
            rc = s->strip ? put(s, " ", 1, false) : put(s, q + i, e - i, false);
            i = e;
            continue;
        }
        if (c == '\'' || c == '"') {
            /* E'...' is handled with the identifier below; here plain quotes */
            size_t e = chlog_lex_quoted_end(q, i, n, false);
            if (c == '"')
                track_ident(s, "\"", 1);
            rc = put(s, q + i, e - i, true);
            i = e;
            continue;
        }
        if (c == '$') {
            size_t t = i + 1;
            if (t < n && ident_start((unsigned char)q[t]) && !isdigit((unsigned char)q[t])) {
                while (t < n && ident_char((unsigned char)q[t]) && q[t] != '$')
                    t++;
            }
            if (t < n && q[t] == '$') {
                size_t end = chlog_lex_dollar_end(q, i, t + 1 - i, n); /* the whole $tag$ */
                rc = put(s, q + i, end - i, true);
                i = end;
                continue;
            }
            rc = put(s, q + i, 1, true);
            i++;
            continue;
        }
        if (ident_start(c)) {
            size_t e = i;
            while (e < n && ident_char((unsigned char)q[e]))
                e++;
            if (e - i == 1 && (c == 'E' || c == 'e') && e < n && q[e] == '\'') {
                /* E'...': backslash escapes, '' too */
                size_t k = chlog_lex_quoted_end(q, e, n, true);
                rc = put(s, q + i, k - i, true);
                i = k;
                continue;
            }
            track_ident(s, q + i, e - i);
            rc = put(s, q + i, e - i, true);
            i = e;
            continue;
        }
        if (isdigit(c)) {
            size_t e = i;
            while (e < n && (isalnum((unsigned char)q[e]) || q[e] == '.' || q[e] == '_'))
                e++;
            rc = put(s, q + i, e - i, true);
            i = e;
            continue;
        }
        if (c == '(')
            s->paren++;
        else if (c == ')' && s->paren > 0)
            s->paren--;
        rc = put(s, q + i, 1, !isspace(c));
        i++;
    }
    if (rc == TM_OK)
        rc = emit(s);
    return rc;
}

void chlog_statements_free(char **stmts, size_t n)
{
    if (!stmts)
        return;
    for (size_t i = 0; i < n; i++)
        free(stmts[i]);
    free(stmts);
}

enum tm_code chlog_split_statements(const char *sql, const char *end_delimiter,
                                    bool strip_comments, char ***stmts, size_t *n,
                                    struct tm_err *err)
{
    *stmts = NULL;
    *n = 0;
    struct splitter s;
    memset(&s, 0, sizeof(s));
    s.sql = sql ? sql : "";
    s.len = strlen(s.sql);
    s.strip = strip_comments;
    tm_buf_init(&s.cur, TM_CAP_CHANGELOG_FILE);
    if (end_delimiter && end_delimiter[0] && strcmp(end_delimiter, ";") != 0) {
        const char *d = end_delimiter;
        /* Liquibase writes line-start delimiters as "\nGO" (a newline or the
         * two characters backslash-n) */
        if (d[0] == '\n') {
            d++;
            s.delim_line = true;
        } else if (d[0] == '\\' && d[1] == 'n') {
            d += 2;
            s.delim_line = true;
        }
        size_t dl = strlen(d);
        while (dl && (d[dl - 1] == '$' || d[dl - 1] == '\n'))
            dl--; /* "\n/$" regex anchors */
        if (dl == 0)
            return tm_err_set(err, TM_E_INVAL, "endDelimiter '%s' is empty", end_delimiter);
        bool word = true;
        for (size_t i = 0; i < dl; i++)
            word = word && isalpha((unsigned char)d[i]);
        if (word || (dl == 1 && d[0] == '/'))
            s.delim_line = true; /* GO, / : Oracle/SQL Server style, own line */
        s.delim = d;
        s.dlen = dl;
    }
    enum tm_code rc = run(&s);
    tm_buf_release(&s.cur);
    if (rc != TM_OK) {
        chlog_statements_free(s.out, s.n);
        return tm_err_set(err, rc, rc == TM_E_TOOBIG ? "statement too large" : "out of memory");
    }
    *stmts = s.out;
    *n = s.n;
    return TM_OK;
}
