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

/* End of the literal, identifier, dollar quote or comment starting at q[i],
 * or i when none starts there. */
static size_t skip_construct(const char *q, size_t i, size_t n)
{
    char c = q[i];
    if (c == '-' && i + 1 < n && q[i + 1] == '-') {
        while (i < n && q[i] != '\n')
            i++;
        return i;
    }
    if (c == '/' && i + 1 < n && q[i + 1] == '*') {
        size_t e = i + 2;
        int depth = 1;
        while (e < n && depth > 0) {
            if (q[e] == '/' && e + 1 < n && q[e + 1] == '*') {
                depth++;
                e += 2;
            } else if (q[e] == '*' && e + 1 < n && q[e + 1] == '/') {
                depth--;
                e += 2;
            } else {
                e++;
            }
        }
        return e;
    }
    if (c == '\'' || c == '"') {
        bool backslash = c == '\'' && i > 0 && (q[i - 1] == 'E' || q[i - 1] == 'e');
        size_t e = i + 1;
        while (e < n) {
            if (backslash && q[e] == '\\' && e + 1 < n) {
                e += 2;
                continue;
            }
            if (q[e] == c) {
                if (e + 1 < n && q[e + 1] == c) {
                    e += 2;
                    continue;
                }
                return e + 1;
            }
            e++;
        }
        return n;
    }
    if (c == '$') {
        size_t t = i + 1;
        while (t < n && (q[t] == '_' || (q[t] >= 'a' && q[t] <= 'z') || (q[t] >= 'A' && q[t] <= 'Z') ||
                         (t > i + 1 && q[t] >= '0' && q[t] <= '9')))
            t++;
        if (t < n && q[t] == '$') {
            size_t tl = t + 1 - i;
            for (size_t e = t + 1; e + tl <= n; e++)
                if (q[e] == '$' && memcmp(q + e, q + i, tl) == 0)
                    return e + tl;
            return n;
        }
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
