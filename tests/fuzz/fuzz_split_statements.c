/* Fuzz target: chlog_split_statements (controller/changelog/split.c).
 * The first byte picks the delimiter and strip_comments; the rest is SQL.
 * Checks: statements are non-empty, trimmed, and (without stripping) each
 * one occurs in the input in order. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "changelog/chlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const delims[] = {NULL, ";", "GO", "\\nGO", "/", "$$", "@@", "\n/"};
    const char *delim = delims[data[0] & 7];
    bool strip = (data[0] & 8) != 0;
    char *sql = malloc(size);
    if (!sql)
        return 0;
    memcpy(sql, data + 1, size - 1);
    sql[size - 1] = '\0';
    char **st = NULL;
    size_t n = 0;
    struct tm_err err;
    if (chlog_split_statements(sql, delim, strip, &st, &n, &err) == TM_OK) {
        const char *pos = sql;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(st[i]);
            if (l == 0 || isspace((unsigned char)st[i][0]) ||
                isspace((unsigned char)st[i][l - 1]))
                abort();
            if (!strip) {
                const char *f = strstr(pos, st[i]);
                if (!f)
                    abort();
                pos = f + l;
            }
        }
        chlog_statements_free(st, n);
    }
    free(sql);
    return 0;
}
