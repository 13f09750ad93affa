/* tm_clock: the one clock of the process, and an injectable millisecond
 * clock, so that time-driven code (work queue delays and backoff, lease
 * expiry) can be tested by moving time instead of sleeping.  Every duration,
 * deadline and sleep in the product goes through this file.
 *
 * Design: a function pointer plus context, copied by value into whoever
 * needs it.  tm_clock_monotonic() reads CLOCK_MONOTONIC (never jumps back,
 * unaffected by NTP steps), which is what every duration in the runtime is
 * measured with.  struct tm_manual_clock is a clock that only moves when a
 * test calls tm_manual_clock_advance(); it is thread-safe (an atomic), so a
 * test thread may move it while workers read it.
 *
 * Wall-clock time (CLOCK_REALTIME) is tm_wall_ms()/tm_clock_wall(): only for
 * timestamps that leave the process (Lease MicroTime, Event times), never for
 * measuring a duration. */
#ifndef TM_COMMON_CLOCK_H
#define TM_COMMON_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

struct tm_clock {
    int64_t (*now_ms)(void *ctx);
    void *ctx;
};

/* Milliseconds from c; a zeroed clock (now_ms NULL) reads the monotonic one. */
int64_t tm_clock_now(const struct tm_clock *c);

/* The process's monotonic clock (CLOCK_MONOTONIC, in ms). */
struct tm_clock tm_clock_monotonic(void);

/* The process's wall clock (CLOCK_REALTIME, ms since the Unix epoch). */
struct tm_clock tm_clock_wall(void);

/* Shorthands: CLOCK_MONOTONIC and CLOCK_REALTIME in milliseconds. */
int64_t tm_mono_ms(void);
int64_t tm_wall_ms(void);

/* Sleeps ms milliseconds (resumed after a signal; <= 0 returns at once). */
void tm_sleep_ms(int64_t ms);

/* The CLOCK_MONOTONIC time ms milliseconds from now (<= 0: now), as the
 * absolute deadline pthread_cond_timedwait wants on a condition variable
 * made with pthread_condattr_setclock(CLOCK_MONOTONIC). */
struct timespec tm_mono_deadline(int64_t ms);

/* A clock that tests move by hand.  Starts at start_ms. */
struct tm_manual_clock {
    _Atomic int64_t now;
};

void tm_manual_clock_init(struct tm_manual_clock *mc, int64_t start_ms);
void tm_manual_clock_advance(struct tm_manual_clock *mc, int64_t delta_ms);
/* A struct tm_clock reading mc (borrowed: mc must outlive it). */
struct tm_clock tm_manual_clock_get(struct tm_manual_clock *mc);

#endif
