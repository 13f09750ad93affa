/* tm_buf implementation (see buf.h): doubling growth bounded by the cap. */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tm_buf_init(struct tm_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void tm_buf_release(struct tm_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void tm_buf_reset(struct tm_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static enum tm_code buf_reserve(struct tm_buf *b, size_t extra)
{
    if (extra > b->cap || b->len > b->cap - extra) {
        tm_buf_release(b);
        return TM_E_TOOBIG;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->alloc)
        return TM_OK;
    size_t n = b->alloc ? b->alloc : 64;
    while (n < need)
        n *= 2;
    if (n > b->cap + 1)
        n = b->cap + 1;
    char *p = realloc(b->data, n);
    if (!p) {
        tm_buf_release(b);
        return TM_E_NOMEM;
    }
    b->data = p;
    b->alloc = n;
    return TM_OK;
}

enum tm_code tm_buf_add(struct tm_buf *b, const void *p, size_t n)
{
    enum tm_code rc = buf_reserve(b, n);
    if (rc != TM_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return TM_OK;
}

enum tm_code tm_buf_adds(struct tm_buf *b, const char *s)
{
    return tm_buf_add(b, s, strlen(s));
}

enum tm_code tm_buf_addf(struct tm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TM_E_INVAL;
    enum tm_code rc = buf_reserve(b, (size_t)n);
    if (rc != TM_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return TM_OK;
}

char *tm_buf_detach(struct tm_buf *b, size_t *len_out)
{
    char *p = b->data;
    size_t len = b->len;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    if (len_out)
        *len_out = p ? len : 0;
    return p;
}

const char *tm_buf_str(const struct tm_buf *b)
{
    return b->data ? b->data : "";
}
