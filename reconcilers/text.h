/* Small pure text helpers shared by the reconcilers' decide functions
 * (dbschema_decide.c, dbinstance_decide.c, dbrollout_decide.c).  No I/O,
 * no globals, so the decide functions stay pure. */
#ifndef TM_RECONCILERS_TEXT_H
#define TM_RECONCILERS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* snprintf that may cut on purpose: status text is bounded, and gcc's
 * -Wformat-truncation does not look through a va_list.  out is always
 * NUL-terminated when n > 0. */
void text_cut(char *out, size_t n, const char *fmt, ...) TM_PRINTF(3, 4);

/* A duration of hours, minutes and seconds as the CRDs write them ("90s",
 * "5m", "1h30m": each unit at most once, in that order, up to 9 digits)
 * into *ms.  False (ms untouched) for anything else, or a total of 0. */
bool text_duration_ms(const char *s, int64_t *ms);

/* True when both are NULL or both are equal strings. */
bool text_streq(const char *a, const char *b);

#endif
