/* Work queue implementation (see wq.h).
 *
 * One record per known key holds all its state: queued (dirty), processing,
 * pending timer (a slot in a binary min-heap ordered by ready time) and the
 * failure count.  Records live in a tm_hashmap (common/hashmap.h) keyed by
 * the key and are freed as soon as they carry no state.  The ready FIFO is a singly linked list through the
 * records (a record is in it at most once).  All operations are O(1) except
 * timers, O(log n).  Delayed keys are moved to the FIFO by getters, which
 * sleep until the earliest timer. */
#include "runtime/wq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hashmap.h"

struct wq_item {
    char *key;
    struct wq_item *fnext; /* ready FIFO */
    bool dirty;            /* must be (re)processed */
    bool in_fifo;
    bool processing;
    bool first;            /* queue at the head when next queued (wq_add_first) */
    size_t heap_idx;       /* SIZE_MAX: no timer */
    int64_t ready_at;
    unsigned failures;
};

struct wq {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* getters: something ready or shutdown */
    pthread_cond_t idle_cv; /* wq_wait_idle: processing dropped to 0 */
    struct tm_clock clock;
    int64_t base_ms, max_ms;
    /* token bucket as GCRA: tat is the theoretical arrival time of the next
     * add; an add is free while tat - tolerance <= now */
    bool bucket;
    int64_t interval_us, tolerance_us, tat_us;

    struct tm_hashmap items; /* key -> struct wq_item */

    struct wq_item *fhead, *ftail;
    size_t flen;

    struct wq_item **heap;
    size_t hlen, halloc;

    size_t nprocessing;
    bool shutting_down;
    bool draining; /* shut down in DRAIN mode: dirty keys still go out */
};

static struct wq_item *find(struct wq *q, const char *key)
{
    return tm_hashmap_get(&q->items, key);
}

/* Finds or creates the record of key; NULL only on allocation failure. */
static struct wq_item *get_item(struct wq *q, const char *key)
{
    struct wq_item *it = find(q, key);
    if (it)
        return it;
    it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->key = strdup(key);
    if (!it->key || tm_hashmap_put(&q->items, key, it, NULL) != TM_OK) {
        free(it->key);
        free(it);
        return NULL;
    }
    it->heap_idx = SIZE_MAX;
    return it;
}

static void item_free(void *p)
{
    struct wq_item *it = p;
    free(it->key);
    free(it);
}

/* Frees it when it carries no state any more. */
static void maybe_free(struct wq *q, struct wq_item *it)
{
    if (it->dirty || it->in_fifo || it->processing || it->heap_idx != SIZE_MAX || it->failures)
        return;
    tm_hashmap_del(&q->items, it->key);
    item_free(it);
}

static void fifo_push(struct wq *q, struct wq_item *it)
{
    it->in_fifo = true;
    it->fnext = NULL;
    if (q->ftail)
        q->ftail->fnext = it;
    else
        q->fhead = it;
    q->ftail = it;
    q->flen++;
}

/* Puts it at the head of the FIFO, taking it out of its place first when queued (O(queued):
 * rare, for the few keys wq_add_first moves). */
static void fifo_push_front(struct wq *q, struct wq_item *it)
{
    if (it->in_fifo) {
        struct wq_item *prev = NULL;
        for (struct wq_item *c = q->fhead; c && c != it; c = c->fnext)
            prev = c;
        if (prev) {
            prev->fnext = it->fnext;
            if (q->ftail == it)
                q->ftail = prev;
            it->fnext = q->fhead;
            q->fhead = it;
        }
        return; /* already at the head */
    }
    it->in_fifo = true;
    it->fnext = q->fhead;
    q->fhead = it;
    if (!q->ftail)
        q->ftail = it;
    q->flen++;
}

static struct wq_item *fifo_pop(struct wq *q)
{
    struct wq_item *it = q->fhead;
    if (!it)
        return NULL;
    q->fhead = it->fnext;
    if (!q->fhead)
        q->ftail = NULL;
    it->fnext = NULL;
    it->in_fifo = false;
    q->flen--;
    return it;
}

/* ---- timer heap ---- */

static void heap_swap(struct wq *q, size_t a, size_t b)
{
    struct wq_item *t = q->heap[a];
    q->heap[a] = q->heap[b];
    q->heap[b] = t;
    q->heap[a]->heap_idx = a;
    q->heap[b]->heap_idx = b;
}

static void heap_up(struct wq *q, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (q->heap[p]->ready_at <= q->heap[i]->ready_at)
            break;
        heap_swap(q, p, i);
        i = p;
    }
}

static void heap_down(struct wq *q, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->hlen && q->heap[l]->ready_at < q->heap[m]->ready_at)
            m = l;
        if (r < q->hlen && q->heap[r]->ready_at < q->heap[m]->ready_at)
            m = r;
        if (m == i)
            return;
        heap_swap(q, i, m);
        i = m;
    }
}

static enum tm_code heap_push(struct wq *q, struct wq_item *it)
{
    if (q->hlen == q->halloc) {
        size_t n = q->halloc ? q->halloc * 2 : 16;
        struct wq_item **h = realloc(q->heap, n * sizeof(*h));
        if (!h)
            return TM_E_NOMEM;
        q->heap = h;
        q->halloc = n;
    }
    it->heap_idx = q->hlen;
    q->heap[q->hlen++] = it;
    heap_up(q, it->heap_idx);
    return TM_OK;
}

static void heap_remove(struct wq *q, struct wq_item *it)
{
    size_t i = it->heap_idx;
    q->hlen--;
    if (i != q->hlen) {
        heap_swap(q, i, q->hlen);
        heap_down(q, i);
        heap_up(q, i);
    }
    it->heap_idx = SIZE_MAX;
}

/* ---- core (mutex held) ---- */

static void add_locked(struct wq *q, struct wq_item *it)
{
    if (it->dirty)
        return;
    it->dirty = true;
    if (it->processing)
        return; /* wq_done queues it again */
    fifo_push(q, it);
    pthread_cond_signal(&q->cv);
}

/* Moves every timer that is due to the FIFO; returns the earliest pending
 * ready time, or INT64_MAX. */
static int64_t promote_due(struct wq *q)
{
    int64_t now = tm_clock_now(&q->clock);
    while (q->hlen > 0 && q->heap[0]->ready_at <= now) {
        struct wq_item *it = q->heap[0];
        heap_remove(q, it);
        add_locked(q, it);
    }
    return q->hlen > 0 ? q->heap[0]->ready_at : INT64_MAX;
}

static void take_locked(struct wq *q, const char **key)
{
    struct wq_item *it = fifo_pop(q);
    it->dirty = false;
    it->processing = true;
    q->nprocessing++;
    *key = it->key;
}

/* ---- public ---- */

struct wq *wq_new(const struct tm_clock *clock, const struct wq_opts *opts, struct tm_err *err)
{
    struct wq *q = calloc(1, sizeof(*q));
    if (!q) {
        tm_err_set(err, TM_E_NOMEM, "work queue: out of memory");
        return NULL;
    }
    tm_hashmap_init(&q->items);
    q->clock = clock ? *clock : tm_clock_monotonic();
    q->base_ms = opts && opts->base_delay_ms > 0 ? opts->base_delay_ms : 5;
    q->max_ms = opts && opts->max_delay_ms > 0 ? opts->max_delay_ms : 300000;
    int qps = opts && opts->bucket_qps ? opts->bucket_qps : 10;
    int burst = opts && opts->bucket_burst > 0 ? opts->bucket_burst : 100;
    q->bucket = qps > 0;
    if (q->bucket) {
        q->interval_us = 1000000 / qps;
        q->tolerance_us = (int64_t)(burst - 1) * q->interval_us;
        q->tat_us = INT64_MIN / 2;
    }
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_cond_init(&q->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    return q;
}

void wq_free(struct wq *q)
{
    if (!q)
        return;
    tm_hashmap_release(&q->items, item_free);
    free(q->heap);
    pthread_cond_destroy(&q->cv);
    pthread_cond_destroy(&q->idle_cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

enum tm_code wq_add(struct wq *q, const char *key)
{
    return wq_add_after(q, key, 0);
}

enum tm_code wq_add_first(struct wq *q, const char *key)
{
    enum tm_code rc = TM_OK;
    pthread_mutex_lock(&q->mu);
    if (q->shutting_down)
        goto out;
    struct wq_item *it = get_item(q, key);
    if (!it) {
        rc = TM_E_NOMEM;
        goto out;
    }
    it->dirty = true;
    if (it->processing) {
        it->first = true; /* wq_done queues it at the head */
        goto out;
    }
    fifo_push_front(q, it);
    pthread_cond_signal(&q->cv);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

enum tm_code wq_add_after(struct wq *q, const char *key, int64_t delay_ms)
{
    enum tm_code rc = TM_OK;
    pthread_mutex_lock(&q->mu);
    if (q->shutting_down)
        goto out;
    struct wq_item *it = get_item(q, key);
    if (!it) {
        rc = TM_E_NOMEM;
        goto out;
    }
    if (delay_ms <= 0) {
        add_locked(q, it);
        goto out;
    }
    int64_t at = tm_clock_now(&q->clock) + delay_ms;
    if (it->heap_idx != SIZE_MAX) {
        if (at < it->ready_at) {
            it->ready_at = at;
            heap_up(q, it->heap_idx);
            pthread_cond_broadcast(&q->cv); /* a sleeper may wait for a later time */
        }
        goto out;
    }
    it->ready_at = at;
    rc = heap_push(q, it);
    if (rc != TM_OK)
        maybe_free(q, it);
    else
        pthread_cond_broadcast(&q->cv);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static int64_t backoff_for(const struct wq *q, unsigned failures)
{
    int64_t d = q->base_ms;
    for (unsigned i = 0; i < failures; i++) {
        if (d >= q->max_ms / 2)
            return q->max_ms;
        d *= 2;
    }
    return d < q->max_ms ? d : q->max_ms;
}

int64_t wq_backoff_ms(struct wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    struct wq_item *it = find(q, key);
    int64_t d = backoff_for(q, it ? it->failures : 0);
    pthread_mutex_unlock(&q->mu);
    return d;
}

enum tm_code wq_add_rate_limited(struct wq *q, const char *key)
{
    int64_t delay;
    pthread_mutex_lock(&q->mu);
    if (q->shutting_down) {
        pthread_mutex_unlock(&q->mu);
        return TM_OK;
    }
    struct wq_item *it = get_item(q, key);
    if (!it) {
        pthread_mutex_unlock(&q->mu);
        return TM_E_NOMEM;
    }
    delay = backoff_for(q, it->failures);
    if (it->failures < UINT32_MAX)
        it->failures++;
    if (q->bucket) {
        /* reserve one token (like rate.Limiter.Reserve): later adds wait longer */
        int64_t now_us = tm_clock_now(&q->clock) * 1000;
        if (q->tat_us < now_us - q->tolerance_us)
            q->tat_us = now_us - q->tolerance_us;
        int64_t wait_ms = (q->tat_us - now_us + 999) / 1000;
        q->tat_us += q->interval_us;
        if (wait_ms > delay)
            delay = wait_ms;
    }
    pthread_mutex_unlock(&q->mu);
    /* the record keeps its failure count, so it cannot be freed in between */
    return wq_add_after(q, key, delay);
}

void wq_forget(struct wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    struct wq_item *it = find(q, key);
    if (it) {
        it->failures = 0;
        maybe_free(q, it);
    }
    pthread_mutex_unlock(&q->mu);
}

unsigned wq_num_requeues(struct wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    struct wq_item *it = find(q, key);
    unsigned n = it ? it->failures : 0;
    pthread_mutex_unlock(&q->mu);
    return n;
}

bool wq_get(struct wq *q, const char **key)
{
    bool ok = false;
    *key = NULL;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        int64_t next = q->shutting_down ? INT64_MAX : promote_due(q);
        if (q->flen > 0) {
            take_locked(q, key);
            ok = true;
            break;
        }
        if (q->shutting_down)
            break;
        if (next == INT64_MAX) {
            pthread_cond_wait(&q->cv, &q->mu);
        } else {
            int64_t wait = next - tm_clock_now(&q->clock);
            if (wait < 1)
                wait = 1;
            struct timespec ts = tm_mono_deadline(wait);
            int rc = pthread_cond_timedwait(&q->cv, &q->mu, &ts);
            (void)rc; /* ETIMEDOUT or woken: loop re-evaluates either way */
        }
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

bool wq_try_get(struct wq *q, const char **key)
{
    bool ok = false;
    *key = NULL;
    pthread_mutex_lock(&q->mu);
    if (!q->shutting_down)
        promote_due(q);
    if (q->flen > 0) {
        take_locked(q, key);
        ok = true;
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

void wq_done(struct wq *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    struct wq_item *it = find(q, key);
    if (it && it->processing) {
        it->processing = false;
        q->nprocessing--;
        if (it->dirty) {
            if (q->shutting_down && !q->draining) {
                it->dirty = false; /* no new work after a DROP shutdown */
            } else {
                if (it->first)
                    fifo_push_front(q, it);
                else
                    fifo_push(q, it);
                it->first = false;
                pthread_cond_signal(&q->cv);
            }
        }
        maybe_free(q, it);
        if (q->nprocessing == 0)
            pthread_cond_broadcast(&q->idle_cv);
    }
    pthread_mutex_unlock(&q->mu);
}

size_t wq_len(struct wq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->flen;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t wq_delayed_len(struct wq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->hlen;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t wq_processing_len(struct wq *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->nprocessing;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void wq_kick(struct wq *q)
{
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void wq_shutdown(struct wq *q, enum wq_shutdown_mode mode)
{
    pthread_mutex_lock(&q->mu);
    q->shutting_down = true;
    q->draining = mode == WQ_SHUTDOWN_DRAIN;
    while (q->hlen > 0) {
        struct wq_item *it = q->heap[0];
        heap_remove(q, it);
        maybe_free(q, it);
    }
    if (mode == WQ_SHUTDOWN_DROP) {
        struct wq_item *it;
        while ((it = fifo_pop(q)) != NULL) {
            it->dirty = false;
            maybe_free(q, it);
        }
    }
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

bool wq_shutting_down(struct wq *q)
{
    pthread_mutex_lock(&q->mu);
    bool s = q->shutting_down;
    pthread_mutex_unlock(&q->mu);
    return s;
}

bool wq_wait_idle(struct wq *q, int64_t timeout_ms)
{
    struct timespec ts = tm_mono_deadline(timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&q->mu);
    while (q->nprocessing > 0) {
        if (pthread_cond_timedwait(&q->idle_cv, &q->mu, &ts) == ETIMEDOUT)
            break;
    }
    bool idle = q->nprocessing == 0;
    pthread_mutex_unlock(&q->mu);
    return idle;
}
