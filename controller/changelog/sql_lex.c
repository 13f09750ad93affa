/* sql_lex: comments, quotes and dollar quotes of PostgreSQL SQL text, for the
 * splitter, the pgjdbc rewrite and the linter (contracts in sql_lex.h).  Rules from
 * PostgreSQL's scan.l: '' inside '...', "" inside "...", backslash escapes
 * only in E'...', block comments nest, $tag$...$tag$ ends at the same tag. */
#include "changelog/sql_lex.h"

#include <string.h>

size_t chlog_lex_line_comment_end(const char *q, size_t i, size_t n)
{
    while (i < n && q[i] != '\n')
        i++;
    return i;
}

size_t chlog_lex_block_comment_end(const char *q, size_t i, size_t n)
{
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

size_t chlog_lex_quoted_end(const char *q, size_t i, size_t n, bool backslash)
{
    char c = q[i];
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

size_t chlog_lex_dollar_end(const char *q, size_t i, size_t tag_len, size_t n)
{
    for (size_t e = i + tag_len; e + tag_len <= n; e++)
        if (q[e] == '$' && memcmp(q + e, q + i, tag_len) == 0)
            return e + tag_len;
    return n;
}
