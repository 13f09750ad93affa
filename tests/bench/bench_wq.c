/* Benchmark of the work queue: enqueue/dequeue throughput with one and with
 * four worker threads.  Prints figures; asserts only correctness (every
 * distinct key added is processed). */
#include "../tm_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "runtime/wq.h"

#define BENCH_KEYS 10000
#define BENCH_ROUNDS 50

struct bench {
    struct wq *q;
    atomic_long processed;
};

static void *worker(void *arg)
{
    struct bench *b = arg;
    const char *k;
    while (wq_get(b->q, &k)) {
        atomic_fetch_add(&b->processed, 1);
        wq_done(b->q, k);
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(int nworkers)
{
    struct bench b = {0};
    struct tm_err e;
    b.q = wq_new(NULL, NULL, &e);
    TM_ASSERT(b.q != NULL);
    static char keys[BENCH_KEYS][24];
    for (int i = 0; i < BENCH_KEYS; i++)
        snprintf(keys[i], sizeof(keys[i]), "bench/obj-%d", i);
    pthread_t t[8];
    for (int i = 0; i < nworkers; i++)
        pthread_create(&t[i], NULL, worker, &b);
    double t0 = now_s();
    long adds = 0;
    for (int r = 0; r < BENCH_ROUNDS; r++) {
        for (int i = 0; i < BENCH_KEYS; i++) {
            TM_ASSERT_INT(wq_add(b.q, keys[i]), TM_OK);
            adds++;
        }
    }
    wq_shutdown(b.q, WQ_SHUTDOWN_DRAIN);
    for (int i = 0; i < nworkers; i++)
        pthread_join(t[i], NULL);
    double dt = now_s() - t0;
    long done = atomic_load(&b.processed);
    printf("wq_throughput workers=%d adds=%ld processed=%ld (merged %ld) seconds=%.3f "
           "adds_per_s=%.0f gets_per_s=%.0f\n",
           nworkers, adds, done, adds - done, dt, (double)adds / dt, (double)done / dt);
    TM_EXPECT(done >= BENCH_KEYS);
    wq_free(b.q);
}

TM_TEST(wq_throughput_one_worker)
{
    run(1);
}

TM_TEST(wq_throughput_four_workers)
{
    run(4);
}

TM_TEST_MAIN()
