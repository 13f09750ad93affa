/* Fuzz target: the policy linter's SQL lexer (engine/lint.c) on arbitrary
 * bytes.  It must never crash, read out of bounds or leak, and every hit it
 * reports must carry a known kind and a line within the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = malloc(size + 1);
    if (!sql)
        return 0;
    memcpy(sql, data, size);
    sql[size] = '\0';
    int lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += sql[i] == '\n';
    struct lint_hit *hits = NULL;
    size_t n = 0;
    struct tm_err err;
    if (lint_sql(sql, &hits, &n, &err) == TM_OK) {
        for (size_t i = 0; i < n; i++)
            if (hits[i].kind > LINT_NO_ROLLBACK || hits[i].line < 1 || hits[i].line > lines)
                abort();
    }
    free(hits);
    free(sql);
    return 0;
}
