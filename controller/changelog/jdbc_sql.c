/* chlog jdbc_sql: the one rewrite PostgreSQL's JDBC driver makes to every
 * statement Liquibase and Flyway send, so that tidemark sends the same SQL.
 * pgjdbc's Parser.parseJdbcSql turns "??" (its escape for the "?" operator,
 * e.g. jsonb's `d ?? 'key'`) into "?" outside string literals, quoted
 * identifiers, dollar quotes and comments.  Observed with Liquibase 4.33.0
 * and Flyway 13.12.2 on pgjdbc 42.x: both apply `WHERE d ?? 'x'` (a real
 * changelog, alphagov pay-ledger, relies on it).  Checksums are computed on
 * the text as written; only what is sent changes. */
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"
#include "changelog/sql_lex.h"

/* End of the literal, identifier, dollar quote or comment starting at q[i],
 * or i when none starts there (pgjdbc Parser's rules for where they start:
 * E'...' after any E, a dollar tag of letters and _, digits after the first). */
static size_t skip_construct(const char *q, size_t i, size_t n)
{
    char c = q[i];
    if (c == '-' && i + 1 < n && q[i + 1] == '-')
        return chlog_lex_line_comment_end(q, i, n);
    if (c == '/' && i + 1 < n && q[i + 1] == '*')
        return chlog_lex_block_comment_end(q, i, n);
    if (c == '\'' || c == '"') {
        bool backslash = c == '\'' && i > 0 && (q[i - 1] == 'E' || q[i - 1] == 'e');
        return chlog_lex_quoted_end(q, i, n, backslash);
    }
    if (c == '$') {
        size_t t = i + 1;
        while (t < n && (q[t] == '_' || (q[t] >= 'a' && q[t] <= 'z') || (q[t] >= 'A' && q[t] <= 'Z') ||
                         (t > i + 1 && q[t] >= '0' && q[t] <= '9')))
            t++;
        if (t < n && q[t] == '$')
            return chlog_lex_dollar_end(q, i, t + 1 - i, n);
    }
    return i;
}

char *chlog_jdbc_sql(const char *sql)
{
    if (!sql || !strstr(sql, "??"))
        return NULL;
    size_t n = strlen(sql), o = 0;
    bool changed = false;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t e = skip_construct(sql, i, n);
        if (e > i) {
            memcpy(out + o, sql + i, e - i);
            o += e - i;
            i = e;
        } else if (sql[i] == '?' && i + 1 < n && sql[i + 1] == '?') {
            out[o++] = '?';
            i += 2;
            changed = true;
        } else {
            out[o++] = sql[i++];
        }
    }
    out[o] = '\0';
    if (!changed) {
        free(out);
        return NULL;
    }
    return out;
}
