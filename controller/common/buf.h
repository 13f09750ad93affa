/* tm_buf: a bounded, growable, always NUL-terminated byte buffer (like curl's dynbuf).
 *
 * Invariants: after tm_buf_init, tm_buf_str() is never NULL; len never passes
 * cap; data[len] == '\0' whenever data != NULL.  An add that would pass the
 * cap (or fails to allocate) frees the buffer and returns TM_E_TOOBIG /
 * TM_E_NOMEM, leaving it empty and reusable.  Not thread-safe. */
#ifndef TM_COMMON_BUF_H
#define TM_COMMON_BUF_H

#include <stddef.h>

#include "common/err.h"

struct tm_buf {
    char *data;   /* owned; NULL until the first add */
    size_t len;   /* bytes used, not counting the NUL */
    size_t alloc; /* bytes allocated */
    size_t cap;   /* maximum len */
};

/* Initialises b with a maximum length; cannot fail, allocates nothing. */
void tm_buf_init(struct tm_buf *b, size_t cap);

/* Appends n bytes / a C string / formatted text. */
enum tm_code tm_buf_add(struct tm_buf *b, const void *p, size_t n) TM_MUST_CHECK;
enum tm_code tm_buf_adds(struct tm_buf *b, const char *s) TM_MUST_CHECK;
enum tm_code tm_buf_addf(struct tm_buf *b, const char *fmt, ...) TM_MUST_CHECK TM_PRINTF(2, 3);

/* Empties b but keeps its memory. */
void tm_buf_reset(struct tm_buf *b);

/* Frees the memory; b stays initialised (same cap) and reusable. NULL ok. */
void tm_buf_release(struct tm_buf *b);

/* Hands the string to the caller (free() it); *len_out gets its length
 * (NULL ok).  Never returns NULL unless allocation fails; b is left empty. */
char *tm_buf_detach(struct tm_buf *b, size_t *len_out);

/* The contents as a C string; "" when empty.  Borrowed until the next change. */
const char *tm_buf_str(const struct tm_buf *b);

#endif
