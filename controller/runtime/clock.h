/* tm_clock: an injectable millisecond clock, so that time-driven code (work
 * queue delays and backoff, lease expiry) can be tested by moving time
 * instead of sleeping.
 *
 * Design: a function pointer plus context, copied by value into whoever
 * needs it.  tm_clock_monotonic() reads CLOCK_MONOTONIC (never jumps back,
 * unaffected by NTP steps), which is what every duration in the runtime is
 * measured with.  struct tm_manual_clock is a clock that only moves when a
 * test calls tm_manual_clock_advance(); it is thread-safe (an atomic), so a
 * test thread may move it while workers read it.
 *
 * Not wall-clock time: Lease timestamps (RFC 3339 MicroTime) are formatted
 * from CLOCK_REALTIME by the lease code itself and are informational only. */
#ifndef TM_RUNTIME_CLOCK_H
#define TM_RUNTIME_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

struct tm_clock {
    int64_t (*now_ms)(void *ctx);
    void *ctx;
};

/* Milliseconds from c; a zeroed clock (now_ms NULL) reads the monotonic one. */
int64_t tm_clock_now(const struct tm_clock *c);

/* The process's monotonic clock (CLOCK_MONOTONIC, in ms). */
struct tm_clock tm_clock_monotonic(void);

/* A clock that tests move by hand.  Starts at start_ms. */
struct tm_manual_clock {
    _Atomic int64_t now;
};

void tm_manual_clock_init(struct tm_manual_clock *mc, int64_t start_ms);
void tm_manual_clock_advance(struct tm_manual_clock *mc, int64_t delta_ms);
/* A struct tm_clock reading mc (borrowed: mc must outlive it). */
struct tm_clock tm_manual_clock_get(struct tm_manual_clock *mc);

#endif
