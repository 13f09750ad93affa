/* Unit tests of the work queue (controller/runtime/wq.c): de-duplication,
 * the one-worker-per-key invariant under many threads, exponential backoff,
 * delayed adds on a moved clock, and shutdown (drain, drop, wake). */
#include "../tm_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "runtime/wq.h"

static struct wq *new_queue(struct tm_manual_clock *mc, int64_t max_ms)
{
    struct tm_clock c = tm_manual_clock_get(mc);
    struct wq_opts o = {.base_delay_ms = 5, .max_delay_ms = max_ms};
    struct tm_err e;
    return wq_new(&c, &o, &e);
}

TM_TEST(wq_merges_duplicate_keys)
{
    struct tm_manual_clock mc;
    tm_manual_clock_init(&mc, 1000);
    struct wq *q = new_queue(&mc, 1000);
    TM_ASSERT(q != NULL);
    TM_EXPECT_INT(wq_add(q, "ns/a"), TM_OK);
    TM_EXPECT_INT(wq_add(q, "ns/b"), TM_OK);
    TM_EXPECT_INT(wq_add(q, "ns/a"), TM_OK);
    TM_EXPECT_INT(wq_len(q), 2);
    const char *k1, *k2, *k3;
    TM_ASSERT(wq_try_get(q, &k1));
    TM_ASSERT(wq_try_get(q, &k2));
    TM_EXPECT_STR(k1, "ns/a"); /* FIFO order of first add */
    TM_EXPECT_STR(k2, "ns/b");
    TM_EXPECT(!wq_try_get(q, &k3));
    TM_EXPECT(k3 == NULL);
    wq_done(q, k1);
    wq_done(q, k2);
    TM_EXPECT_INT(wq_len(q), 0);
    wq_free(q);
}

TM_TEST(wq_requeues_key_added_while_processing_only_after_done)
{
    struct tm_manual_clock mc;
    tm_manual_clock_init(&mc, 0);
    struct wq *q = new_queue(&mc, 1000);
    TM_ASSERT(q != NULL);
    const char *k, *k2;
    TM_ASSERT_INT(wq_add(q, "ns/a"), TM_OK);
    TM_ASSERT(wq_try_get(q, &k));
    TM_ASSERT_INT(wq_add(q, "ns/a"), TM_OK);
    TM_ASSERT_INT(wq_add(q, "ns/a"), TM_OK);
    TM_EXPECT_INT(wq_len(q), 0);
    TM_EXPECT(!wq_try_get(q, &k2)); /* never to a second worker */
    TM_EXPECT_INT(wq_processing_len(q), 1);
    wq_done(q, k);
    TM_EXPECT_INT(wq_len(q), 1);
    TM_ASSERT(wq_try_get(q, &k2));
    TM_EXPECT_STR(k2, "ns/a");
    wq_done(q, k2);
    TM_EXPECT(!wq_try_get(q, &k2));
    wq_free(q);
}

#define NKEYS 16
#define NWORKERS 8
#define NPRODUCERS 4
#define ADDS_PER_PRODUCER 10000

struct stress {
    struct wq *q;
    char keys[NKEYS][16];
    atomic_int held[NKEYS];     /* workers holding key i right now */
    atomic_int version[NKEYS];  /* bumped before each add */
    atomic_int seen[NKEYS];     /* version a worker saw when it took key i */
    atomic_int violations;
    atomic_int max_concurrent;
    atomic_int concurrent;
    atomic_long processed;
};

static int key_index(const char *k)
{
    return (int)strtol(k + 3, NULL, 10);
}

static void *stress_worker(void *arg)
{
    struct stress *s = arg;
    const char *k;
    while (wq_get(s->q, &k)) {
        int i = key_index(k);
        if (atomic_fetch_add(&s->held[i], 1) != 0)
            atomic_fetch_add(&s->violations, 1);
        int c = atomic_fetch_add(&s->concurrent, 1) + 1;
        int m = atomic_load(&s->max_concurrent);
        while (c > m && !atomic_compare_exchange_weak(&s->max_concurrent, &m, c))
            ;
        atomic_store(&s->seen[i], atomic_load(&s->version[i]));
        /* hold the key a while, giving other workers the CPU: the invariant
         * is only tested when several workers are busy at once */
        for (int y = 0; y < 3; y++)
            sched_yield();
        atomic_fetch_sub(&s->concurrent, 1);
        atomic_fetch_sub(&s->held[i], 1);
        atomic_fetch_add(&s->processed, 1);
        wq_done(s->q, k);
    }
    return NULL;
}

static void *stress_producer(void *arg)
{
    struct stress *s = arg;
    unsigned r = (unsigned)(uintptr_t)&r;
    for (int n = 0; n < ADDS_PER_PRODUCER; n++) {
        r = r * 1103515245u + 12345u;
        int i = (int)((r >> 8) % NKEYS);
        atomic_fetch_add(&s->version[i], 1);
        if (wq_add(s->q, s->keys[i]) != TM_OK)
            atomic_fetch_add(&s->violations, 1000000);
        if (n % 8 == 0)
            sched_yield(); /* let workers take keys while we add */
    }
    return NULL;
}

TM_TEST(wq_never_hands_one_key_to_two_workers)
{
    static struct stress s;
    memset(&s, 0, sizeof(s));
    struct tm_err e;
    s.q = wq_new(NULL, NULL, &e);
    TM_ASSERT(s.q != NULL);
    for (int i = 0; i < NKEYS; i++)
        snprintf(s.keys[i], sizeof(s.keys[i]), "ns/%d", i);
    pthread_t w[NWORKERS], p[NPRODUCERS];
    for (int i = 0; i < NWORKERS; i++)
        pthread_create(&w[i], NULL, stress_worker, &s);
    for (int i = 0; i < NPRODUCERS; i++)
        pthread_create(&p[i], NULL, stress_producer, &s);
    for (int i = 0; i < NPRODUCERS; i++)
        pthread_join(p[i], NULL);
    /* drain: every key added must be processed after its last add */
    wq_shutdown(s.q, WQ_SHUTDOWN_DRAIN);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(w[i], NULL);
    TM_EXPECT_INT(atomic_load(&s.violations), 0);
    TM_EXPECT(atomic_load(&s.max_concurrent) <= NKEYS);
    TM_EXPECT(atomic_load(&s.max_concurrent) >= 2); /* the test did exercise concurrency */
    TM_EXPECT(atomic_load(&s.processed) > NKEYS); /* keys were handed out again and again */
    for (int i = 0; i < NKEYS; i++) {
        /* a worker took key i after its latest version was set: DRAIN hands
         * out queued keys and keys re-added while processing */
        if (atomic_load(&s.version[i]) > 0)
            TM_EXPECT_INT(atomic_load(&s.seen[i]), atomic_load(&s.version[i]));
    }
    TM_EXPECT_INT(wq_len(s.q), 0);
    TM_EXPECT_INT(wq_processing_len(s.q), 0);
    fprintf(stderr, "processed %ld keys for %d adds, max %d workers busy at once\n",
            atomic_load(&s.processed), NPRODUCERS * ADDS_PER_PRODUCER,
            atomic_load(&s.max_concurrent));
    wq_free(s.q);
}

TM_TEST(wq_rate_limited_backoff_doubles_and_caps_until_forget)
{
    struct tm_manual_clock mc;
    tm_manual_clock_init(&mc, 0);
    struct wq *q = new_queue(&mc, 40);
    TM_ASSERT(q != NULL);
    const int64_t want[] = {5, 10, 20, 40, 40, 40};
    const char *k;
    for (int i = 0; i < 6; i++) {
        TM_EXPECT_INT(wq_num_requeues(q, "ns/a"), i);
        TM_EXPECT_INT(wq_backoff_ms(q, "ns/a"), want[i]);
        TM_ASSERT_INT(wq_add_rate_limited(q, "ns/a"), TM_OK);
        TM_EXPECT_INT(wq_delayed_len(q), 1);
        tm_manual_clock_advance(&mc, want[i] - 1);
        TM_EXPECT(!wq_try_get(q, &k));
        tm_manual_clock_advance(&mc, 1);
        TM_ASSERT(wq_try_get(q, &k));
        TM_EXPECT_STR(k, "ns/a");
        wq_done(q, k);
    }
    wq_forget(q, "ns/a");
    TM_EXPECT_INT(wq_num_requeues(q, "ns/a"), 0);
    TM_EXPECT_INT(wq_backoff_ms(q, "ns/a"), 5);
    wq_free(q);
}

TM_TEST(wq_backoff_caps_at_five_minutes_by_default)
{
    struct tm_err e;
    struct wq *q = wq_new(NULL, NULL, &e);
    TM_ASSERT(q != NULL);
    for (int i = 0; i < 100; i++) {
        TM_ASSERT_INT(wq_add_rate_limited(q, "ns/x"), TM_OK);
    }
    TM_EXPECT_INT(wq_backoff_ms(q, "ns/x"), 300000);
    TM_EXPECT_INT(wq_num_requeues(q, "ns/x"), 100);
    wq_free(q);
}

TM_TEST(wq_token_bucket_spaces_out_mass_failures)
{
    struct tm_manual_clock mc;
    tm_manual_clock_init(&mc, 0);
    struct tm_clock c = tm_manual_clock_get(&mc);
    struct wq_opts o = {.base_delay_ms = 5, .max_delay_ms = 1000, .bucket_qps = 10,
                        .bucket_burst = 3};
    struct tm_err e;
    struct wq *q = wq_new(&c, &o, &e);
    TM_ASSERT(q != NULL);
    const char *keys[] = {"ns/a", "ns/b", "ns/c", "ns/d", "ns/e"};
    for (int i = 0; i < 5; i++)
        TM_ASSERT_INT(wq_add_rate_limited(q, keys[i]), TM_OK);
    const char *k;
    int got = 0;
    tm_manual_clock_advance(&mc, 5); /* the burst: three keys after their own 5 ms */
    while (wq_try_get(q, &k)) {
        got++;
        wq_done(q, k);
    }
    TM_EXPECT_INT(got, 3);
    tm_manual_clock_advance(&mc, 94); /* t = 99 ms: the 4th token is not there yet */
    TM_EXPECT(!wq_try_get(q, &k));
    tm_manual_clock_advance(&mc, 1);  /* t = 100 ms */
    TM_ASSERT(wq_try_get(q, &k));
    TM_EXPECT_STR(k, "ns/d");
    wq_done(q, k);
    TM_EXPECT(!wq_try_get(q, &k));
    tm_manual_clock_advance(&mc, 100); /* t = 200 ms */
    TM_ASSERT(wq_try_get(q, &k));
    TM_EXPECT_STR(k, "ns/e");
    wq_done(q, k);
    /* plain adds are never held back by the bucket */
    TM_ASSERT_INT(wq_add(q, "ns/plain"), TM_OK);
    TM_ASSERT(wq_try_get(q, &k));
    wq_done(q, k);
    /* after a quiet second the burst is available again */
    tm_manual_clock_advance(&mc, 1000);
    TM_ASSERT_INT(wq_add_rate_limited(q, "ns/x"), TM_OK);
    tm_manual_clock_advance(&mc, 5);
    TM_EXPECT(wq_try_get(q, &k));
    wq_done(q, k);
    wq_free(q);
}

TM_TEST(wq_add_after_waits_for_the_moved_clock_and_keeps_earliest)
{
    struct tm_manual_clock mc;
    tm_manual_clock_init(&mc, 50);
    struct wq *q = new_queue(&mc, 1000);
    TM_ASSERT(q != NULL);
    const char *k;
    TM_ASSERT_INT(wq_add_after(q, "ns/late", 10000), TM_OK);
    TM_ASSERT_INT(wq_add_after(q, "ns/soon", 3000), TM_OK);
    TM_ASSERT_INT(wq_add_after(q, "ns/late", 5000), TM_OK); /* earlier wins */
    TM_ASSERT_INT(wq_add_after(q, "ns/soon", 8000), TM_OK); /* later ignored */
    TM_EXPECT_INT(wq_delayed_len(q), 2);
    tm_manual_clock_advance(&mc, 2999);
    TM_EXPECT(!wq_try_get(q, &k));
    tm_manual_clock_advance(&mc, 1);
    TM_ASSERT(wq_try_get(q, &k));
    TM_EXPECT_STR(k, "ns/soon");
    wq_done(q, k);
    tm_manual_clock_advance(&mc, 1999);
    TM_EXPECT(!wq_try_get(q, &k));
    tm_manual_clock_advance(&mc, 1);
    TM_ASSERT(wq_try_get(q, &k));
    TM_EXPECT_STR(k, "ns/late");
    wq_done(q, k);
    tm_manual_clock_advance(&mc, 100000);
    TM_EXPECT(!wq_try_get(q, &k)); /* each timer fired once */
    TM_EXPECT_INT(wq_delayed_len(q), 0);
    wq_free(q);
}

struct getter {
    struct wq *q;
    bool got;
    char key[32];
};

static void *getter_thread(void *arg)
{
    struct getter *g = arg;
    const char *k;
    g->got = wq_get(g->q, &k);
    if (g->got) {
        snprintf(g->key, sizeof(g->key), "%s", k);
        wq_done(g->q, k);
    }
    return NULL;
}

TM_TEST(wq_blocked_getter_wakes_when_manual_clock_moves_and_kicked)
{
    struct tm_manual_clock mc;
    tm_manual_clock_init(&mc, 0);
    struct wq *q = new_queue(&mc, 1000);
    TM_ASSERT(q != NULL);
    TM_ASSERT_INT(wq_add_after(q, "ns/a", 60000), TM_OK);
    struct getter g = {.q = q};
    pthread_t t;
    pthread_create(&t, NULL, getter_thread, &g);
    tm_manual_clock_advance(&mc, 60000);
    wq_kick(q);
    pthread_join(t, NULL);
    TM_EXPECT(g.got);
    TM_EXPECT_STR(g.key, "ns/a");
    wq_free(q);
}

TM_TEST(wq_get_blocks_until_delay_passes_on_real_clock)
{
    struct tm_err e;
    struct wq *q = wq_new(NULL, NULL, &e);
    TM_ASSERT(q != NULL);
    struct tm_clock c = tm_clock_monotonic();
    int64_t t0 = tm_clock_now(&c);
    TM_ASSERT_INT(wq_add_after(q, "ns/a", 30), TM_OK);
    const char *k;
    TM_ASSERT(wq_get(q, &k));
    TM_EXPECT(tm_clock_now(&c) - t0 >= 30);
    TM_EXPECT_STR(k, "ns/a");
    wq_done(q, k);
    wq_free(q);
}

TM_TEST(wq_shutdown_drain_hands_out_queued_keys_then_false)
{
    struct tm_err e;
    struct wq *q = wq_new(NULL, NULL, &e);
    TM_ASSERT(q != NULL);
    const char *k;
    TM_ASSERT_INT(wq_add(q, "ns/a"), TM_OK);
    TM_ASSERT_INT(wq_add(q, "ns/b"), TM_OK);
    TM_ASSERT_INT(wq_add_after(q, "ns/timer", 100000), TM_OK);
    wq_shutdown(q, WQ_SHUTDOWN_DRAIN);
    TM_EXPECT(wq_shutting_down(q));
    TM_EXPECT_INT(wq_add(q, "ns/c"), TM_OK); /* ignored */
    TM_EXPECT_INT(wq_delayed_len(q), 0);
    TM_ASSERT(wq_get(q, &k));
    TM_EXPECT_STR(k, "ns/a");
    TM_ASSERT_INT(wq_add(q, "ns/a"), TM_OK); /* ignored after shutdown */
    wq_done(q, k);
    TM_ASSERT(wq_get(q, &k));
    TM_EXPECT_STR(k, "ns/b");
    wq_done(q, k);
    TM_EXPECT(!wq_get(q, &k));
    TM_EXPECT(k == NULL);
    wq_free(q);
}

TM_TEST(wq_shutdown_drop_discards_and_wakes_blocked_getters)
{
    struct tm_err e;
    struct wq *q = wq_new(NULL, NULL, &e);
    TM_ASSERT(q != NULL);
    struct getter g[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        g[i] = (struct getter){.q = q};
        pthread_create(&t[i], NULL, getter_thread, &g[i]);
    }
    wq_shutdown(q, WQ_SHUTDOWN_DROP);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        TM_EXPECT(!g[i].got);
    }
    const char *k;
    TM_EXPECT(!wq_get(q, &k));
    wq_free(q);

    q = wq_new(NULL, NULL, &e);
    TM_ASSERT(q != NULL);
    TM_ASSERT_INT(wq_add(q, "ns/a"), TM_OK);
    wq_shutdown(q, WQ_SHUTDOWN_DROP);
    TM_EXPECT_INT(wq_len(q), 0);
    TM_EXPECT(!wq_get(q, &k));
    wq_free(q);
}

struct slow_done {
    struct wq *q;
    const char *key;
    atomic_int go;
};

static void *finish_later(void *arg)
{
    struct slow_done *s = arg;
    while (!atomic_load(&s->go))
        ;
    wq_done(s->q, s->key);
    return NULL;
}

TM_TEST(wq_wait_idle_returns_when_in_flight_keys_are_done)
{
    struct tm_err e;
    struct wq *q = wq_new(NULL, NULL, &e);
    TM_ASSERT(q != NULL);
    const char *k;
    TM_ASSERT_INT(wq_add(q, "ns/a"), TM_OK);
    TM_ASSERT(wq_get(q, &k));
    wq_shutdown(q, WQ_SHUTDOWN_DROP);
    TM_EXPECT(!wq_wait_idle(q, 20)); /* still processing: times out */
    struct slow_done s = {.q = q, .key = k};
    pthread_t t;
    pthread_create(&t, NULL, finish_later, &s);
    atomic_store(&s.go, 1);
    TM_EXPECT(wq_wait_idle(q, 10000));
    pthread_join(t, NULL);
    TM_EXPECT_INT(wq_processing_len(q), 0);
    wq_free(q);
}

TM_TEST(wq_add_first_jumps_the_queue_and_requeues_a_processing_key_at_the_head)
{
    struct tm_manual_clock mc;
    tm_manual_clock_init(&mc, 1000);
    struct wq *q = new_queue(&mc, 1000);
    TM_ASSERT(q != NULL);
    TM_EXPECT_INT(wq_add(q, "ns/a"), TM_OK);
    TM_EXPECT_INT(wq_add(q, "ns/b"), TM_OK);
    TM_EXPECT_INT(wq_add(q, "ns/c"), TM_OK);
    TM_EXPECT_INT(wq_add_first(q, "ns/c"), TM_OK); /* queued: moved to the head */
    TM_EXPECT_INT(wq_add_first(q, "ns/d"), TM_OK); /* new: at the head */
    TM_EXPECT_INT(wq_len(q), 4);
    const char *k[4];
    for (int i = 0; i < 4; i++)
        TM_ASSERT(wq_try_get(q, &k[i]));
    TM_EXPECT_STR(k[0], "ns/d");
    TM_EXPECT_STR(k[1], "ns/c");
    TM_EXPECT_STR(k[2], "ns/a");
    TM_EXPECT_STR(k[3], "ns/b");
    /* while processing: queued again at wq_done, ahead of what was added meanwhile */
    TM_EXPECT_INT(wq_add(q, "ns/e"), TM_OK);
    TM_EXPECT_INT(wq_add_first(q, "ns/b"), TM_OK);
    for (int i = 0; i < 4; i++)
        wq_done(q, k[i]);
    const char *n1, *n2, *n3;
    TM_ASSERT(wq_try_get(q, &n1));
    TM_ASSERT(wq_try_get(q, &n2));
    TM_EXPECT_STR(n1, "ns/b");
    TM_EXPECT_STR(n2, "ns/e");
    TM_EXPECT(!wq_try_get(q, &n3));
    wq_done(q, n1);
    wq_done(q, n2);
    /* a plain add after the head add keeps FIFO order behind it */
    TM_EXPECT_INT(wq_add(q, "ns/x"), TM_OK);
    TM_EXPECT_INT(wq_add_first(q, "ns/y"), TM_OK);
    TM_ASSERT(wq_try_get(q, &n1));
    TM_EXPECT_STR(n1, "ns/y");
    TM_ASSERT(wq_try_get(q, &n2));
    TM_EXPECT_STR(n2, "ns/x");
    wq_done(q, n1);
    wq_done(q, n2);
    TM_EXPECT_INT(wq_len(q), 0);
    wq_free(q);
}

TM_TEST_MAIN()
