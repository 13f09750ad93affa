/* Test helper for changelog unit tests: load a changelog from an in-memory
 * file set given inline.  Header-only; include after changelog/chlog.h. */
#ifndef TM_TESTS_CHLOG_FIXTURE_H
#define TM_TESTS_CHLOG_FIXTURE_H

#include <stdarg.h>
#include <string.h>

#include "changelog/chlog.h"

/* Loads files given as path, content, path, content, ..., NULL; *out is the
 * caller's to chlog_free(). */
static inline enum tm_code load_mem(const char *entry, struct chlog **out, struct tm_err *err, ...)
{
    struct chlog_fs fs;
    if (chlog_fs_mem_init(&fs) != TM_OK)
        return TM_E_NOMEM;
    va_list ap;
    va_start(ap, err);
    const char *p;
    enum tm_code rc = TM_OK;
    while (rc == TM_OK && (p = va_arg(ap, const char *)) != NULL) {
        const char *d = va_arg(ap, const char *);
        rc = chlog_fs_mem_add(&fs, p, d, strlen(d), err);
    }
    va_end(ap);
    if (rc == TM_OK)
        rc = chlog_load(&fs, entry, NULL, out, err);
    chlog_fs_mem_release(&fs);
    return rc;
}

#endif
