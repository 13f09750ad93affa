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

bool text_duration_ms(const char *s, int64_t *ms)
{
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'h', 3600000}, {'m', 60000}, {'s', 1000}};
    int64_t total = 0;
    size_t next = 0; /* the units still allowed start here */
    if (!s || !*s)
        return false;
    while (*s) {
        int64_t v = 0;
        int digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 9) {
            v = v * 10 + (*s++ - '0');
            digits++;
        }
        if (digits == 0)
            return false;
        size_t u = next;
        while (u < sizeof(units) / sizeof(units[0]) && units[u].unit != *s)
            u++;
        if (u == sizeof(units) / sizeof(units[0]))
            return false;
        total += v * units[u].ms;
        next = u + 1;
        s++;
    }
    if (total <= 0)
        return false;
    *ms = total;
    return true;
}
