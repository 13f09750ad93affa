/* Benchmarks of the runtime against the real kube-apiserver (label bench;
 * figures are printed, nothing is timed-asserted):
 *   - time and memory to sync an informer over 1,000 custom objects (target
 *     <= 2 s, <= 50 MiB RSS);
 *   - event-to-reconcile latency (p50/p99) under 1,000 ConfigMap updates,
 *     through the manager with a test-only reconciler. */
#include "../tm_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "runtime/informer.h"
#include "runtime/metrics.h"
#include "runtime/mgr.h"

struct env {
    struct kube_config *cfg;
    struct kube_client *c;
    struct tm_log log;
    struct metrics *metrics;
    struct tm_proc proc;
    char ns[64];
};

static bool env_init(struct env *e, const char *prefix)
{
    struct tm_err err;
    memset(e, 0, sizeof(*e));
    if (!tm_test_env("KUBECONFIG"))
        return false;
    e->cfg = kube_config_load(NULL, &err);
    if (!e->cfg)
        return false;
    e->c = kube_client_new(e->cfg, NULL, &err);
    e->metrics = metrics_new(&err);
    if (!e->c || !e->metrics)
        return false;
    log_init(&e->log, stderr, LOG_WARN, true);
    e->proc = (struct tm_proc){.log = &e->log, .clock = tm_clock_monotonic(),
                               .metrics = e->metrics, .kube_config = e->cfg};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(e->ns, sizeof(e->ns), "%s-%ld-%d", prefix, (long)(ts.tv_nsec % 100000000),
             (int)getpid());
    char json[256];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}", e->ns);
    cJSON *ns = cJSON_Parse(json);
    enum tm_code rc = kube_create(e->c, "/api/v1/namespaces", ns, NULL, &err);
    cJSON_Delete(ns);
    return rc == TM_OK;
}

static void env_release(struct env *e)
{
    struct tm_err err;
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s", e->ns);
    if (e->c && kube_delete(e->c, path, "Background", NULL, &err) != TM_OK)
        fprintf(stderr, "delete namespace: %s\n", err.msg);
    kube_client_free(e->c);
    kube_config_free(e->cfg);
    metrics_free(e->metrics);
    log_release(&e->log);
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- 1,000 custom objects ---- */

struct creator {
    struct env *e;
    const char *group;
    int from, to;
    atomic_int *failed;
};

static void *create_range(void *arg)
{
    struct creator *cr = arg;
    struct tm_err err;
    struct kube_client *c = kube_client_new(cr->e->cfg, NULL, &err);
    if (!c) {
        atomic_fetch_add(cr->failed, 1);
        return NULL;
    }
    char path[256], json[1024];
    snprintf(path, sizeof(path), "/apis/%s/v1/namespaces/%s/gadgets", cr->group, cr->e->ns);
    for (int i = cr->from; i < cr->to; i++) {
        /* a realistic size: ~600 bytes of spec, like a DBRollout */
        snprintf(json, sizeof(json),
                 "{\"apiVersion\":\"%s/v1\",\"kind\":\"Gadget\",\"metadata\":{\"name\":\"g-%04d\","
                 "\"labels\":{\"app\":\"bench\",\"tier\":\"db\"}},\"spec\":{\"instanceRef\":{"
                 "\"name\":\"orders-prod\"},\"tag\":\"v1.%d.0\",\"deploymentRef\":{\"name\":"
                 "\"orders-app-%d\"},\"order\":\"SchemaFirst\",\"onAppFailure\":\"RollbackSchema\","
                 "\"changeSetFailureStrategy\":\"Rollback\",\"appTimeoutSeconds\":600,\"note\":"
                 "\"padding padding padding padding padding padding padding padding padding\"}}",
                 cr->group, i, i % 50, i % 20);
        cJSON *o = cJSON_Parse(json);
        if (kube_create(c, path, o, NULL, &err) != TM_OK && err.code != TM_E_CONFLICT)
            atomic_fetch_add(cr->failed, 1);
        cJSON_Delete(o);
    }
    kube_client_free(c);
    return NULL;
}

TM_TEST(bench_informer_sync_of_1000_custom_objects)
{
    struct env e;
    TM_ASSERT(env_init(&e, "bench-sync"));
    struct tm_err err;
    char group[128], json[2048];
    snprintf(group, sizeof(group), "%s.bench.tidemark.dev", e.ns);
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
             "\"metadata\":{\"name\":\"gadgets.%s\"},\"spec\":{\"group\":\"%s\",\"scope\":"
             "\"Namespaced\",\"names\":{\"plural\":\"gadgets\",\"singular\":\"gadget\",\"kind\":"
             "\"Gadget\",\"listKind\":\"GadgetList\"},\"versions\":[{\"name\":\"v1\",\"served\":"
             "true,\"storage\":true,\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
             "\"x-kubernetes-preserve-unknown-fields\":true}}}]}}",
             group, group);
    cJSON *crd = cJSON_Parse(json);
    TM_ASSERT_INT(kube_create(e.c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd,
                              NULL, &err),
                  TM_OK);
    cJSON_Delete(crd);
    /* wait until the resource is served */
    char path[256];
    snprintf(path, sizeof(path), "/apis/%s/v1/namespaces/%s/gadgets", group, e.ns);
    int64_t dl = mono_us() + 30000000;
    cJSON *l = NULL;
    while (kube_get(e.c, path, &l, &err) != TM_OK && mono_us() < dl)
        pause_ms(100);
    cJSON_Delete(l);

    atomic_int failed = 0;
    pthread_t t[8];
    struct creator cr[8];
    int64_t c0 = mono_us();
    for (int i = 0; i < 8; i++) {
        cr[i] = (struct creator){&e, group, i * 125, (i + 1) * 125, &failed};
        pthread_create(&t[i], NULL, create_range, &cr[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    TM_ASSERT_INT(atomic_load(&failed), 0);
    printf("created 1000 objects in %.2f s\n", (double)(mono_us() - c0) / 1e6);

    uint64_t rss0 = metrics_rss_bytes();
    struct informer_group *g = informer_group_new(e.cfg, &e.proc, &err);
    TM_ASSERT(g != NULL);
    struct informer_opts o = {.group = group, .version = "v1", .resource = "gadgets", .ns = e.ns};
    struct informer *inf = informer_group_add(g, &o, &err);
    TM_ASSERT(inf != NULL);
    TM_ASSERT_INT(informer_add_field_index(inf, "spec.deploymentRef.name", &err), TM_OK);
    int64_t s0 = mono_us();
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    dl = s0 + 60000000;
    while (!informer_group_synced(g) && mono_us() < dl)
        pause_ms(1);
    int64_t synced_us = mono_us() - s0;
    TM_ASSERT(informer_group_synced(g));
    TM_EXPECT_INT(informer_len(inf), 1000);
    uint64_t rss1 = metrics_rss_bytes();
    printf("informer_sync_1000 objects=%zu sync_ms=%.1f rss_before_mib=%.1f rss_after_mib=%.1f "
           "cache_delta_mib=%.1f targets: sync_ms<=2000 rss_mib<=50\n",
           informer_len(inf), (double)synced_us / 1000.0, (double)rss0 / 1048576.0,
           (double)rss1 / 1048576.0, ((double)rss1 - (double)rss0) / 1048576.0);
    informer_group_free(g);
    snprintf(path, sizeof(path), "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.%s",
             group);
    if (kube_delete(e.c, path, NULL, NULL, &err) != TM_OK)
        fprintf(stderr, "delete crd: %s\n", err.msg);
    env_release(&e);
}

/* ---- event-to-reconcile latency ---- */

#define LAT_OBJECTS 50
#define LAT_UPDATES 1000

struct lat {
    pthread_mutex_t mu;
    int64_t samples[LAT_UPDATES * 2];
    int n;
    long long last_seen[LAT_OBJECTS];
    atomic_int reconciles;
};

static enum tm_code lat_reconcile(void *ctx, struct tm_proc *proc, const char *ns,
                                  const char *name, struct mgr_result *res, struct tm_err *err)
{
    struct lat *l = ctx;
    int64_t now = mono_us();
    atomic_fetch_add(&l->reconciles, 1);
    int idx = -1;
    if (sscanf(name, "lat-%d", &idx) != 1 || idx < 0 || idx >= LAT_OBJECTS)
        return TM_OK;
    cJSON *obj = NULL;
    enum tm_code rc = mgr_cache_get(proc->mgr, "", "v1", "configmaps", ns, name, &obj, err);
    if (rc == TM_E_NOTFOUND)
        return TM_OK;
    if (rc != TM_OK)
        return rc;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "data"),
                                                      "t");
    long long sent = cJSON_IsString(t) ? strtoll(t->valuestring, NULL, 10) : 0;
    pthread_mutex_lock(&l->mu);
    if (sent > l->last_seen[idx] && l->n < LAT_UPDATES * 2) {
        l->last_seen[idx] = sent;
        l->samples[l->n++] = now - sent;
    }
    pthread_mutex_unlock(&l->mu);
    cJSON_Delete(obj);
    (void)res;
    return TM_OK;
}

static void *run_mgr(void *arg)
{
    struct tm_err err;
    if (mgr_run(arg, &err) != TM_OK)
        fprintf(stderr, "mgr_run: %s\n", err.msg);
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

TM_TEST(bench_event_to_reconcile_latency_under_1000_updates)
{
    struct env e;
    TM_ASSERT(env_init(&e, "bench-lat"));
    static struct lat l;
    memset(&l, 0, sizeof(l));
    pthread_mutex_init(&l.mu, NULL);
    struct mgr_reconciler rec = {.kind = "BenchConfigMap", .version = "v1",
                                 .resource = "configmaps", .reconcile = lat_reconcile, .ctx = &l};
    const struct mgr_reconciler *list[] = {&rec, NULL};
    struct mgr_opts o = {.ns = e.ns, .workers = 4};
    struct tm_err err;
    struct mgr *m = mgr_new(&e.proc, &o, list, &err);
    TM_ASSERT(m != NULL);
    char path[256], json[512];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", e.ns);
    for (int i = 0; i < LAT_OBJECTS; i++) {
        snprintf(json, sizeof(json),
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"lat-%d\"},"
                 "\"data\":{\"t\":\"0\"}}",
                 i);
        cJSON *cm = cJSON_Parse(json);
        TM_ASSERT_INT(kube_create(e.c, path, cm, NULL, &err), TM_OK);
        cJSON_Delete(cm);
    }
    pthread_t t;
    pthread_create(&t, NULL, run_mgr, m);
    int64_t dl = mono_us() + 30000000;
    while (!mgr_synced(m) && mono_us() < dl)
        pause_ms(10);
    TM_ASSERT(mgr_synced(m));
    int64_t u0 = mono_us();
    for (int u = 0; u < LAT_UPDATES; u++) {
        int i = u % LAT_OBJECTS;
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/lat-%d", e.ns, i);
        snprintf(json, sizeof(json),
                 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"lat-%d\","
                 "\"namespace\":\"%s\"},\"data\":{\"t\":\"%lld\"}}",
                 i, e.ns, (long long)mono_us());
        cJSON *cm = cJSON_Parse(json);
        enum tm_code rc = kube_update(e.c, path, cm, NULL, &err);
        cJSON_Delete(cm);
        TM_ASSERT_INT(rc, TM_OK);
    }
    double upd_s = (double)(mono_us() - u0) / 1e6;
    /* wait until the last update of every object was reconciled */
    dl = mono_us() + 30000000;
    for (;;) {
        pthread_mutex_lock(&l.mu);
        int seen = l.n;
        pthread_mutex_unlock(&l.mu);
        if (seen >= LAT_UPDATES || mono_us() > dl)
            break;
        pause_ms(10);
    }
    mgr_request_stop(m);
    pthread_join(t, NULL);
    pthread_mutex_lock(&l.mu);
    int n = l.n;
    qsort(l.samples, (size_t)n, sizeof(l.samples[0]), cmp64);
    pthread_mutex_unlock(&l.mu);
    TM_ASSERT(n > 0);
    printf("event_to_reconcile updates=%d update_rate_per_s=%.0f observed=%d reconciles=%d "
           "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
           LAT_UPDATES, LAT_UPDATES / upd_s, n, atomic_load(&l.reconciles),
           (double)l.samples[n / 2] / 1000.0, (double)l.samples[n * 9 / 10] / 1000.0,
           (double)l.samples[n * 99 / 100] / 1000.0, (double)l.samples[n - 1] / 1000.0);
    TM_EXPECT(n >= LAT_UPDATES * 9 / 10); /* sequential updates: almost none coalesce */
    mgr_free(m);
    env_release(&e);
}

TM_TEST_MAIN()
