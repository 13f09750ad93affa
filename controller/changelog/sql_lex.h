/* sql_lex: the PostgreSQL lexical constructs that hide a ';', a "??" or a
 * keyword - comments, quoted strings and identifiers, dollar quotes - scanned
 * once for every reader of SQL text: the statement splitter (split.c),
 * pgjdbc's "??" rewrite (jdbc_sql.c) and the linter (engine/lint.c).
 *
 * Each function takes the text q of length n and the offset i where the
 * construct starts, and returns the offset just past its end, or n when it is
 * not closed (the rest of the text belongs to it, as the server would read
 * it).  Where a construct starts (and what a dollar tag may hold) is the
 * caller's rule: psql and pgjdbc differ there.  No allocation, cannot fail. */
#ifndef TM_CHANGELOG_SQL_LEX_H
#define TM_CHANGELOG_SQL_LEX_H

#include <stdbool.h>
#include <stddef.h>

/* "--" at q[i]: up to the newline (not included). */
size_t chlog_lex_line_comment_end(const char *q, size_t i, size_t n);

/* A slash-star comment at q[i]; comments nest, as in PostgreSQL. */
size_t chlog_lex_block_comment_end(const char *q, size_t i, size_t n);

/* A quote (' or ") at q[i] and what it quotes; a doubled quote stays
 * inside, and with backslash (E'...') so does a backslash-escaped char. */
size_t chlog_lex_quoted_end(const char *q, size_t i, size_t n, bool backslash);

/* A dollar quote whose opening tag ($$ or $tag$) is q[i..i+tag_len): through
 * the next copy of the same tag. */
size_t chlog_lex_dollar_end(const char *q, size_t i, size_t tag_len, size_t n);

#endif
