/* flyway_tx: which statements of a Flyway migration PostgreSQL refuses to run
 * inside a transaction, decided the way Flyway 13 decides it.
 *
 * Rules followed (flyway-core Parser.getNextStatement and
 * determineCanExecuteInTransaction; flyway-database-postgresql
 * PostgreSQLParser.detectCanExecuteInTransaction, 13.12.2):
 *   - the words of a statement outside parentheses, comments, '...' and
 *     "..." and $tag$ bodies are its keywords; after each keyword, the
 *     upper-cased keywords so far, joined by one space, are matched (whole
 *     string) against PostgreSQL's list; the first decision sticks;
 *   - only the first 10 keywords count: a statement undecided by then runs in
 *     a transaction;
 *   - non-transactional: CREATE|DROP DATABASE|TABLESPACE|SUBSCRIPTION,
 *     ALTER SYSTEM, CREATE|DROP [UNIQUE] INDEX CONCURRENTLY,
 *     REINDEX [VERBOSE] SCHEMA|DATABASE|SYSTEM, VACUUM, DISCARD ALL;
 *   - ALTER TYPE ... ADD VALUE only on servers older than PostgreSQL 12.
 * Flyway does not list REINDEX INDEX|TABLE ... CONCURRENTLY: it runs such a
 * statement in a transaction and PostgreSQL refuses it; we do the same.
 * Pure: no allocation, no I/O. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "changelog/flyway_int.h"

#define FLYWAY_TX_CUTOFF 10 /* Parser.getTransactionalDetectionCutoff */
#define FLYWAY_TX_MAXLEN 512

static const char *const no_tx[] = {
    "CREATE DATABASE",
    "CREATE TABLESPACE",
    "CREATE SUBSCRIPTION",
    "DROP DATABASE",
    "DROP TABLESPACE",
    "DROP SUBSCRIPTION",
    "ALTER SYSTEM",
    "CREATE INDEX CONCURRENTLY",
    "CREATE UNIQUE INDEX CONCURRENTLY",
    "DROP INDEX CONCURRENTLY",
    "DROP UNIQUE INDEX CONCURRENTLY",
    "REINDEX SCHEMA",
    "REINDEX DATABASE",
    "REINDEX SYSTEM",
    "REINDEX VERBOSE SCHEMA",
    "REINDEX VERBOSE DATABASE",
    "REINDEX VERBOSE SYSTEM",
    "VACUUM",
    "DISCARD ALL",
};

/* "^ALTER TYPE( .*)? ADD VALUE" matched against the whole string. */
static bool alter_type_add_value(const char *s, size_t n)
{
    static const char head[] = "ALTER TYPE", tail[] = " ADD VALUE";
    size_t hl = sizeof(head) - 1, tl = sizeof(tail) - 1;
    if (n < hl + tl || memcmp(s, head, hl) != 0 || memcmp(s + n - tl, tail, tl) != 0)
        return false;
    return n == hl + tl || s[hl] == ' ';
}

static bool word_start(unsigned char c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static bool word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* Skips a $tag$ ... $tag$ body starting at p (p[0] == '$'); returns the end,
 * or NULL when p does not open one. */
static const char *skip_dollar(const char *p)
{
    const char *q = p + 1;
    while (*q && (isalnum((unsigned char)*q) || *q == '_'))
        q++;
    if (*q != '$' || isdigit((unsigned char)p[1]))
        return NULL;
    size_t tl = (size_t)(q - p) + 1;
    const char *end = q + 1;
    while (*end) {
        if (*end == '$' && strncmp(end, p, tl) == 0)
            return end + tl;
        end++;
    }
    return end;
}

enum flyway_tx flyway_statement_tx(const char *stmt)
{
    char simple[FLYWAY_TX_MAXLEN];
    size_t sl = 0;
    int depth = 0, keywords = 0;
    bool below12 = false;
    const char *p = stmt;
    while (p && *p) {
        unsigned char c = (unsigned char)*p;
        if (c == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
            continue;
        }
        if (c == '/' && p[1] == '*') {
            int nest = 1;
            p += 2;
            while (*p && nest > 0) {
                if (p[0] == '/' && p[1] == '*') {
                    nest++;
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    nest--;
                    p += 2;
                } else {
                    p++;
                }
            }
            continue;
        }
        if (c == '\'' || c == '"') {
            p++;
            while (*p) {
                if ((unsigned char)*p == c) {
                    if ((unsigned char)p[1] == c) {
                        p += 2;
                        continue;
                    }
                    break;
                }
                p++;
            }
            if (*p)
                p++;
            continue;
        }
        if (c == '$') {
            const char *e = skip_dollar(p);
            p = e ? e : p + 1;
            continue;
        }
        if (c == '(') {
            depth++;
            p++;
            continue;
        }
        if (c == ')') {
            if (depth > 0)
                depth--;
            p++;
            continue;
        }
        if (isdigit(c)) {
            while (*p && word_char((unsigned char)*p))
                p++;
            continue;
        }
        if (!word_start(c)) {
            p++;
            continue;
        }
        const char *w = p;
        while (*p && (word_char((unsigned char)*p) ||
                      (*p == '.' && word_start((unsigned char)p[1]))))
            p++;
        if (depth > 0)
            continue;
        if (++keywords > FLYWAY_TX_CUTOFF)
            break;
        size_t wl = (size_t)(p - w);
        if (sl + wl + 2 > sizeof(simple))
            break;
        if (sl)
            simple[sl++] = ' ';
        for (size_t i = 0; i < wl; i++)
            simple[sl++] = (char)toupper((unsigned char)w[i]);
        simple[sl] = '\0';
        for (size_t i = 0; i < sizeof(no_tx) / sizeof(no_tx[0]); i++)
            if (strcmp(simple, no_tx[i]) == 0)
                return FLYWAY_NO_TX;
        if (alter_type_add_value(simple, sl))
            below12 = true;
    }
    return below12 ? FLYWAY_NO_TX_BELOW_PG12 : FLYWAY_TX;
}
