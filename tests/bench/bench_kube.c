/* Benchmarks of controller/kube: watch framing throughput (no server), and
 * against the real kube-apiserver: GET latency on a warm keep-alive handle
 * and a paged list.  Prints figures; asserts only correctness. */
#include "../tm_test.h"

#include "../e2e/test_kube_e2e.h"

static double secs_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static enum tm_code count_event(void *ctx, struct kube_watch_event *ev, struct tm_err *err)
{
    (*(long *)ctx)++;
    return TM_OK;
}

TM_TEST(bench_watch_framer_throughput)
{
    enum { EVENTS = 20000 };
    struct tm_buf s;
    tm_buf_init(&s, 64u << 20);
    char pad[900];
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < EVENTS; i++) {
        if (tm_buf_addf(&s, "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":"
                            "{\"name\":\"cm-%d\",\"namespace\":\"ns\",\"resourceVersion\":\"%d\"},"
                            "\"data\":{\"k\":\"%s\"}}}\n", i, i + 1, pad) != TM_OK) {
            TM_FAIL_("stream too big");
            return;
        }
    }
    size_t chunks[] = {1024, 16384, 1 << 20};
    for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        long n = 0;
        struct kube_watch_framer f;
        kube_watch_framer_init(&f, 0, count_event, &n);
        struct tm_err err;
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t off = 0; off < s.len; off += chunks[c]) {
            size_t k = s.len - off < chunks[c] ? s.len - off : chunks[c];
            if (kube_watch_framer_feed(&f, s.data + off, k, &err) != TM_OK)
                break;
        }
        double dt = secs_since(&t0);
        kube_watch_framer_release(&f);
        TM_EXPECT_INT(n, EVENTS);
        printf("watch framer: %d events (%.1f MB) in %zu-byte chunks: %.3f s, %.0f events/s, "
               "%.1f MB/s\n", EVENTS, (double)s.len / 1e6, chunks[c], dt, EVENTS / dt,
               (double)s.len / 1e6 / dt);
    }
    tm_buf_release(&s);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

TM_TEST(bench_get_latency_and_paged_list_against_the_apiserver)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-bench"));
    enum { N = 300, ITEMS = 200 };
    TM_ASSERT_INT(e2e_make_configmap(&t, "target", "v", NULL, NULL), TM_OK);
    char *path = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                             .resource = "configmaps", .name = "target"});
    static double lat[N];
    struct timespec all;
    clock_gettime(CLOCK_MONOTONIC, &all);
    for (int i = 0; i < N; i++) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cJSON *o = NULL;
        if (kube_get(t.c, path, &o, &t.err) != TM_OK) {
            TM_FAIL_("get: %s", t.err.msg);
            break;
        }
        cJSON_Delete(o);
        lat[i] = secs_since(&t0) * 1000.0;
    }
    double total = secs_since(&all);
    qsort(lat, N, sizeof(lat[0]), cmp_double);
    printf("get (keep-alive, one handle): %d requests in %.3f s = %.0f req/s; p50 %.2f ms, "
           "p99 %.2f ms, max %.2f ms\n", N, total, N / total, lat[N / 2], lat[N * 99 / 100],
           lat[N - 1]);
    for (int i = 0; i < ITEMS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "item-%03d", i);
        TM_ASSERT_INT(e2e_make_configmap(&t, name, "x", "{\"set\":\"bench\"}", NULL), TM_OK);
    }
    char *coll = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                             .resource = "configmaps"});
    long limits[] = {20, 100, 500};
    for (size_t i = 0; i < 3; i++) {
        struct kube_list_opts o = {.label_selector = "set=bench", .limit = limits[i]};
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        cJSON *list = NULL;
        TM_ASSERT_INT(kube_list(t.c, coll, &o, &list, &t.err), TM_OK);
        double dt = secs_since(&t0);
        TM_EXPECT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), ITEMS);
        cJSON_Delete(list);
        printf("list %d configmaps, limit %ld: %.1f ms\n", ITEMS, limits[i], dt * 1000.0);
    }
    free(coll);
    free(path);
    e2e_teardown(&t);
}

TM_TEST_MAIN()
