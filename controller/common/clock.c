/* The process clock and tm_clock implementations (see clock.h). */
#include "common/clock.h"

#include <errno.h>
#include <time.h>

static int64_t read_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tm_mono_ms(void)
{
    return read_ms(CLOCK_MONOTONIC);
}

int64_t tm_wall_ms(void)
{
    return read_ms(CLOCK_REALTIME);
}

void tm_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

struct timespec tm_mono_deadline(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ms <= 0)
        return ts;
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int64_t monotonic_now(void *ctx)
{
    (void)ctx;
    return tm_mono_ms();
}

static int64_t wall_now(void *ctx)
{
    (void)ctx;
    return tm_wall_ms();
}

int64_t tm_clock_now(const struct tm_clock *c)
{
    if (!c || !c->now_ms)
        return monotonic_now(NULL);
    return c->now_ms(c->ctx);
}

struct tm_clock tm_clock_monotonic(void)
{
    return (struct tm_clock){.now_ms = monotonic_now, .ctx = NULL};
}

struct tm_clock tm_clock_wall(void)
{
    return (struct tm_clock){.now_ms = wall_now, .ctx = NULL};
}

static int64_t manual_now(void *ctx)
{
    struct tm_manual_clock *mc = ctx;
    return atomic_load(&mc->now);
}

void tm_manual_clock_init(struct tm_manual_clock *mc, int64_t start_ms)
{
    atomic_init(&mc->now, start_ms);
}

void tm_manual_clock_advance(struct tm_manual_clock *mc, int64_t delta_ms)
{
    atomic_fetch_add(&mc->now, delta_ms);
}

struct tm_clock tm_manual_clock_get(struct tm_manual_clock *mc)
{
    return (struct tm_clock){.now_ms = manual_now, .ctx = mc};
}
