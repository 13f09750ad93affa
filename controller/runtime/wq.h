/* wq: the controller work queue (client-go util/workqueue semantics in C).
 *
 * A queue holds keys ("namespace/name" strings, or "name" for cluster-scoped
 * objects), never objects: a reconciler reads the current state from the
 * informer cache when it gets the key (level-triggered).
 *
 * Invariants (what the unit tests check under many threads):
 *   - a key is queued at most once (adding a queued key is a no-op);
 *   - a key handed out by wq_get() is "processing" until wq_done(); while it
 *     is, no other wq_get() returns it.  Adding it meanwhile marks it dirty and
 *     it is queued again by wq_done(), so the latest change is never lost;
 *   - wq_add_after() keeps one pending timer per key: the earliest wins;
 *   - wq_add_rate_limited() waits base*2^n ms (n = failures so far for that
 *     key, capped at max); wq_forget() resets n after a success.
 *
 * Time: ready times are read from the injected struct tm_clock (clock.h) so
 * tests can move time; blocking waits sleep on a CLOCK_MONOTONIC condvar for
 * the computed delay.  With a manual clock, move it and call wq_kick() (or use
 * wq_try_get()) to have delayed keys looked at again.
 *
 * Rate limiting (client-go's DefaultControllerRateLimiter): a rate-limited
 * add waits the larger of the key's backoff and the delay of an overall token
 * bucket (default 10 per second, burst 100) shared by all keys, so a mass
 * failure (API server down, every object failing) cannot turn into a retry
 * storm.  Plain and delayed adds are not rate limited.
 *
 * Threads: every function is thread-safe (one mutex per queue); wq_get()
 * blocks on a condition variable.  Not a priority queue.
 *
 * Shutdown: wq_shutdown() stops accepting keys and drops pending timers.
 * WQ_SHUTDOWN_DRAIN lets wq_get() hand out the keys already queued (and
 * keys that were added while processing, once done), then return false; WQ_SHUTDOWN_DROP discards them so wq_get() returns false at
 * once.  Keys in processing finish normally; wq_wait_idle() waits for them. */
#ifndef TM_RUNTIME_WQ_H
#define TM_RUNTIME_WQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/clock.h"

struct wq;

struct wq_opts {
    int64_t base_delay_ms; /* first rate-limited delay; default 5 */
    int64_t max_delay_ms;  /* cap of the exponential backoff; default 300000 (5 min) */
    int bucket_qps;        /* overall rate-limited adds per second; 0 = 10, < 0 = no bucket */
    int bucket_burst;      /* adds allowed at once; 0 = 100 */
};

enum wq_shutdown_mode {
    WQ_SHUTDOWN_DROP = 0, /* discard queued keys; wq_get returns false at once */
    WQ_SHUTDOWN_DRAIN,    /* hand out queued keys first, then false */
};

/* ---- lifecycle ---- */

/* Creates an empty queue.  clock is copied (NULL = monotonic); opts NULL =
 * defaults.  Returns NULL and fills err on allocation failure. */
struct wq *wq_new(const struct tm_clock *clock, const struct wq_opts *opts, struct tm_err *err);

/* Frees q and every key in it.  No thread may be using q.  NULL ok. */
void wq_free(struct wq *q);

/* ---- adding ---- */

/* Queues key (copied) unless it is already queued; a key being processed is
 * marked to be queued again at wq_done().  After wq_shutdown it is a no-op
 * returning TM_OK.  Fails only with TM_E_NOMEM (queue unchanged). */
enum tm_code wq_add(struct wq *q, const char *key) TM_MUST_CHECK;

/* Like wq_add, but at the head of the queue (moved there when already queued; queued at the
 * head by wq_done when processing): for a key whose turn for a scarce resource came (the
 * apply limiter's wake-up), which must not wait behind a long queue.  Not a priority queue:
 * the last key added first is handed out first. */
enum tm_code wq_add_first(struct wq *q, const char *key) TM_MUST_CHECK;

/* Queues key once delay_ms has passed on the queue's clock (<= 0: now).
 * If a timer is pending for key, the earlier of the two is kept. */
enum tm_code wq_add_after(struct wq *q, const char *key, int64_t delay_ms) TM_MUST_CHECK;

/* wq_add_after with max(the key's backoff delay, the token bucket's delay),
 * then counts one more failure for the key. */
enum tm_code wq_add_rate_limited(struct wq *q, const char *key) TM_MUST_CHECK;

/* Resets the failure count of key (after a successful reconcile). */
void wq_forget(struct wq *q, const char *key);

/* Failures counted for key since the last wq_forget (0 when unknown). */
unsigned wq_num_requeues(struct wq *q, const char *key);

/* The key's own backoff delay wq_add_rate_limited would use now (without
 * the token bucket; for logs and tests). */
int64_t wq_backoff_ms(struct wq *q, const char *key);

/* ---- taking ---- */

/* Blocks until a key is ready, marks it processing and sets *key to it
 * (borrowed: valid until wq_done with that key).  Returns false, *key NULL,
 * once the queue is shut down and (in DRAIN mode) empty. */
bool wq_get(struct wq *q, const char **key);

/* Like wq_get but never blocks: false when nothing is ready now. */
bool wq_try_get(struct wq *q, const char **key);

/* Ends processing of key (the pointer wq_get gave, or an equal string); if it
 * was added meanwhile, it is queued again.  Unknown keys are ignored. */
void wq_done(struct wq *q, const char *key);

/* ---- state ---- */

/* Keys queued and ready (the "depth" metric); excludes delayed and processing keys. */
size_t wq_len(struct wq *q);
/* Keys waiting on a timer. */
size_t wq_delayed_len(struct wq *q);
/* Keys currently being processed. */
size_t wq_processing_len(struct wq *q);

/* Wakes blocked getters so they look at delayed keys again (after a manual
 * clock moved). */
void wq_kick(struct wq *q);

/* ---- shutdown ---- */

/* Stops the queue (see the header comment); wakes every blocked getter.
 * Idempotent. */
void wq_shutdown(struct wq *q, enum wq_shutdown_mode mode);

bool wq_shutting_down(struct wq *q);

/* Waits up to timeout_ms of real time until no key is processing.
 * Returns true when idle. */
bool wq_wait_idle(struct wq *q, int64_t timeout_ms);

#endif
