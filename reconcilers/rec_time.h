/* rec_time: RFC 3339 times as the API writes them <-> wall-clock ms since
 * the epoch (implemented in rec_json.c).  Pure: no clock is read here, so
 * the decide functions may use it (they must not include runtime headers,
 * which rec.h does; tests/unit/decide_pure.sh checks). */
#ifndef TM_RECONCILERS_REC_TIME_H
#define TM_RECONCILERS_REC_TIME_H

#include <stddef.h>
#include <stdint.h>

/* "2006-01-02T15:04:05Z" into out (>= 32 bytes). */
void rec_time_format(int64_t ms, char *out, size_t n);
/* 0 when s is NULL or not RFC 3339. */
int64_t rec_time_parse(const char *s);

#endif
