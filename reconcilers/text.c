/* Pure text helpers for the decide functions (see text.h). */
#include "reconcilers/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void text_cut(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, n, fmt, ap);
    va_end(ap);
}

bool text_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}
