/* Unit test of runtime/heap: heap_trim_due gives a fragmented arena's free
 * pages back to the system, and only when due. */
#include "../tm_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/heap.h"
#include "runtime/metrics.h"

#define CHUNKS 200000
#define CHUNK_SIZE 256
#define KEEP_EVERY 64

/* Under ASan or valgrind malloc is not glibc's, and trimming is theirs. */
static bool glibc_malloc(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return false;
#else
    const char *pre = getenv("LD_PRELOAD");
    return !(pre && strstr(pre, "vgpreload"));
#endif
}

static void **kept;

/* On its own thread (its own arena, as a worker or the informer has):
 * about 50 MB of small chunks, then all but one in KEEP_EVERY freed, so the
 * free memory sits between live chunks where glibc's own trimming of the
 * heap's top cannot reach it. */
static void *fragment(void *arg)
{
    (void)arg;
    void **all = malloc(CHUNKS * sizeof(*all));
    kept = calloc(CHUNKS / KEEP_EVERY + 1, sizeof(*kept));
    if (!all || !kept)
        return NULL;
    for (size_t i = 0; i < CHUNKS; i++) {
        all[i] = malloc(CHUNK_SIZE);
        if (all[i])
            memset(all[i], 1, CHUNK_SIZE);
    }
    for (size_t i = 0; i < CHUNKS; i++) {
        if (i % KEEP_EVERY == 0)
            kept[i / KEEP_EVERY] = all[i];
        else
            free(all[i]);
    }
    free(all);
    return NULL;
}

TM_TEST(heap_trim_returns_fragmented_free_pages_when_due)
{
    pthread_t t;
    TM_ASSERT_INT(pthread_create(&t, NULL, fragment, NULL), 0);
    pthread_join(t, NULL);
    TM_ASSERT(kept != NULL);
    uint64_t before = metrics_rss_bytes();
    int64_t next = 1000;
    heap_trim_due(999, &next); /* not due: nothing */
    TM_EXPECT_INT(next, 1000);
    heap_trim_due(1000, &next);
    TM_EXPECT_INT(next, 1000 + HEAP_TRIM_EVERY_MS);
    uint64_t after = metrics_rss_bytes();
    if (glibc_malloc()) {
        /* 50 MB were freed: most of it must leave the resident set */
        TM_EXPECT(before > after);
        TM_EXPECT(before - after > 30u * 1024 * 1024);
    }
    for (size_t i = 0; i < CHUNKS / KEEP_EVERY + 1; i++)
        free(kept[i]);
    free(kept);
}

TM_TEST_MAIN()
