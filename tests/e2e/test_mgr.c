/* E2E tests of the manager (controller/runtime/mgr.c) against the real
 * kube-apiserver with a test-only reconciler defined here: keys reach the
 * reconciler, results drive requeues (success, requeue-after, transient
 * backoff, terminal), secondary objects enqueue their primaries through a
 * field index and through ownerReferences, in-flight reconciles finish
 * before mgr_run returns, and the HTTP endpoints answer. */
#include "../tm_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "runtime/informer.h"
#include "runtime/metrics.h"
#include "runtime_e2e_env.h"
#include "runtime/mgr.h"

static bool env_init(struct env *e, const char *prefix)
{
    return env_open(e, prefix, LOG_WARN, "test-mgr");
}

/* Creates (or replaces) a ConfigMap or Secret with one data key, optionally
 * owned by a ConfigMap. */
static enum tm_code put(struct env *e, const char *resource, const char *name, const char *k,
                        const char *v, const char *owner_cm_uid, const char *owner_name)
{
    struct tm_err err;
    char path[256];
    bool secret = strcmp(resource, "secrets") == 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "v1");
    cJSON_AddStringToObject(o, "kind", secret ? "Secret" : "ConfigMap");
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", e->ns);
    if (owner_cm_uid) {
        cJSON *refs = cJSON_AddArrayToObject(md, "ownerReferences");
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "apiVersion", "v1");
        cJSON_AddStringToObject(r, "kind", "ConfigMap");
        cJSON_AddStringToObject(r, "name", owner_name);
        cJSON_AddStringToObject(r, "uid", owner_cm_uid);
        cJSON_AddItemToArray(refs, r);
    }
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, secret ? "stringData" : "data"), k, v);
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/%s/%s", e->ns, resource, name);
    cJSON *cur = NULL;
    enum tm_code rc = kube_get(e->c, path, &cur, &err);
    if (rc == TM_OK) {
        rc = kube_update(e->c, path, o, NULL, &err);
    } else if (rc == TM_E_NOTFOUND) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/%s", e->ns, resource);
        rc = kube_create(e->c, path, o, NULL, &err);
    }
    cJSON_Delete(cur);
    cJSON_Delete(o);
    if (rc != TM_OK)
        fprintf(stderr, "put %s %s: %s\n", resource, name, err.msg);
    return rc;
}

static bool uid_of(struct env *e, const char *name, char *out, size_t n)
{
    struct tm_err err;
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/%s", e->ns, name);
    cJSON *cur = NULL;
    if (kube_get(e->c, path, &cur, &err) != TM_OK)
        return false;
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cur, "metadata"), "uid");
    bool ok = cJSON_IsString(uid);
    if (ok)
        snprintf(out, n, "%s", uid->valuestring);
    cJSON_Delete(cur);
    return ok;
}

static int64_t mono(void)
{
    struct tm_clock c = tm_clock_monotonic();
    return tm_clock_now(&c);
}

static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#define POLL_UNTIL(pred, timeout_ms)                                                      \
    ({                                                                                     \
        int64_t dl_ = mono() + (timeout_ms);                                               \
        bool ok_ = false;                                                                  \
        while (!(ok_ = (pred)) && mono() < dl_)                                            \
            pause_ms(20);                                                                  \
        ok_;                                                                               \
    })

/* ---- the test-only reconciler: behaviour chosen by the ConfigMap's data.mode ---- */

#define MAX_SEEN 32

struct tr {
    pthread_mutex_t mu;
    char names[MAX_SEEN][64];
    int calls[MAX_SEEN];
    int concurrent, max_concurrent;
    atomic_int in_flight;
    atomic_int slow_finished;
    atomic_int saw_stopping;
    atomic_int gone;
};

static int slot(struct tr *t, const char *name)
{
    for (int i = 0; i < MAX_SEEN; i++) {
        if (strcmp(t->names[i], name) == 0)
            return i;
        if (!t->names[i][0]) {
            snprintf(t->names[i], sizeof(t->names[i]), "%s", name);
            return i;
        }
    }
    return MAX_SEEN - 1;
}

static int calls(struct tr *t, const char *name)
{
    pthread_mutex_lock(&t->mu);
    int n = 0;
    for (int i = 0; i < MAX_SEEN; i++)
        if (strcmp(t->names[i], name) == 0)
            n = t->calls[i];
    pthread_mutex_unlock(&t->mu);
    return n;
}

static enum tm_code test_reconcile(void *ctx, struct tm_proc *proc, const char *ns,
                                   const char *name, struct mgr_result *res, struct tm_err *err)
{
    struct tr *t = ctx;
    pthread_mutex_lock(&t->mu);
    t->calls[slot(t, name)]++;
    pthread_mutex_unlock(&t->mu);
    cJSON *obj = NULL;
    enum tm_code rc = mgr_cache_get(proc->mgr, "", "v1", "configmaps", ns, name, &obj, err);
    if (rc == TM_E_NOTFOUND) {
        atomic_fetch_add(&t->gone, 1);
        return TM_OK; /* deleted: nothing to do */
    }
    if (rc != TM_OK)
        return rc;
    if (!proc->kube) { /* every worker has its own client */
        cJSON_Delete(obj);
        return tm_err_set(err, TM_E_INTERNAL, "no per-worker client");
    }
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(obj, "data"), "mode");
    const char *m = cJSON_IsString(mode) ? mode->valuestring : "ok";
    if (strcmp(m, "requeue") == 0) {
        res->requeue_after_ms = 100;
    } else if (strcmp(m, "transient") == 0) {
        rc = tm_err_setr(err, TM_E_IO, TM_RETRY_TRANSIENT, "test: transient failure");
    } else if (strcmp(m, "terminal") == 0) {
        rc = tm_err_setr(err, TM_E_INVAL, TM_RETRY_TERMINAL, "test: bad spec");
    } else if (strcmp(m, "slow") == 0) {
        /* a long step that checks for shutdown, as reconcilers should */
        atomic_fetch_add(&t->in_flight, 1);
        int64_t until = mono() + 10000;
        while (!tm_proc_stopping(proc) && mono() < until)
            pause_ms(10);
        if (tm_proc_stopping(proc))
            atomic_fetch_add(&t->saw_stopping, 1);
        pause_ms(300); /* finishing the step takes a while longer */
        atomic_fetch_add(&t->slow_finished, 1);
        atomic_fetch_sub(&t->in_flight, 1);
    }
    cJSON_Delete(obj);
    return rc;
}

struct runner {
    struct mgr *m;
    pthread_t t;
    enum tm_code rc;
    struct tm_err err;
    atomic_int done;
};

static void *run_thread(void *arg)
{
    struct runner *r = arg;
    r->rc = mgr_run(r->m, &r->err);
    atomic_store(&r->done, 1);
    return NULL;
}

static const struct mgr_reconciler *test_reconcilers(struct mgr_reconciler *rec, struct tr *t)
{
    memset(rec, 0, sizeof(*rec));
    rec->kind = "TestConfigMap";
    rec->version = "v1";
    rec->resource = "configmaps";
    rec->reconcile = test_reconcile;
    rec->ctx = t;
    rec->secondary[0] = (struct mgr_secondary){.version = "v1", .resource = "secrets",
                                               .ref_paths = {"data.secretRef"},
                                               .owner_kind = "ConfigMap"};
    return rec;
}

static double metric(struct env *e, const char *result)
{
    struct tm_err err;
    return metrics_value(metrics_counter(e->metrics, "tidemark_reconcile_total", "", "kind,result",
                                         &err),
                         (const char *[]){"TestConfigMap", result});
}

TM_TEST(mgr_reconcile_results_drive_requeues)
{
    struct env e;
    TM_ASSERT(env_init(&e, "mgr-results"));
    struct tr t = {0};
    pthread_mutex_init(&t.mu, NULL);
    struct mgr_reconciler rec;
    const struct mgr_reconciler *list[] = {test_reconcilers(&rec, &t), NULL};
    struct mgr_opts o = {.ns = e.ns, .workers = 3, .grace_ms = 5000};
    struct tm_err err;
    TM_ASSERT_INT(put(&e, "configmaps", "ok", "mode", "ok", NULL, NULL), TM_OK);
    TM_ASSERT_INT(put(&e, "configmaps", "requeue", "mode", "requeue", NULL, NULL), TM_OK);
    TM_ASSERT_INT(put(&e, "configmaps", "transient", "mode", "transient", NULL, NULL), TM_OK);
    TM_ASSERT_INT(put(&e, "configmaps", "terminal", "mode", "terminal", NULL, NULL), TM_OK);
    struct runner r = {.m = mgr_new(&e.proc, &o, list, &err)};
    TM_ASSERT(r.m != NULL);
    pthread_create(&r.t, NULL, run_thread, &r);
    TM_ASSERT(POLL_UNTIL(mgr_synced(r.m), 30000));
    /* requeue-after keeps calling; transient retries with growing backoff */
    TM_EXPECT(POLL_UNTIL(calls(&t, "requeue") >= 5, 10000));
    TM_EXPECT(POLL_UNTIL(calls(&t, "transient") >= 5, 10000));
    TM_EXPECT(POLL_UNTIL(calls(&t, "ok") >= 1 && calls(&t, "terminal") >= 1, 10000));
    /* the requeue-every-100-ms object is our clock: after 5 more of its
     * rounds, a wrong requeue of ok/terminal would have shown */
    int rounds = calls(&t, "requeue");
    TM_EXPECT(POLL_UNTIL(calls(&t, "requeue") >= rounds + 5, 10000));
    TM_EXPECT_INT(calls(&t, "ok"), 1);
    TM_EXPECT_INT(calls(&t, "terminal"), 1);
    /* a change to the object brings a terminal one back (level-triggered) */
    TM_ASSERT_INT(put(&e, "configmaps", "terminal", "mode", "ok", NULL, NULL), TM_OK);
    TM_EXPECT(POLL_UNTIL(calls(&t, "terminal") == 2, 10000));
    /* a deleted object is reconciled once more, and finds itself gone */
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/ok", e.ns);
    TM_ASSERT_INT(kube_delete(e.c, path, NULL, NULL, &err), TM_OK);
    TM_EXPECT(POLL_UNTIL(atomic_load(&t.gone) == 1, 10000));
    TM_EXPECT_INT(calls(&t, "ok"), 2);
    mgr_request_stop(r.m);
    pthread_join(r.t, NULL);
    TM_EXPECT_INT(r.rc, TM_OK);
    TM_EXPECT(metric(&e, "success") >= 2);
    TM_EXPECT(metric(&e, "requeue") >= 5);
    TM_EXPECT(metric(&e, "error") >= 5);
    TM_EXPECT_INT(metric(&e, "terminal"), 1);
    TM_EXPECT(metrics_value(metrics_counter(e.metrics, "tidemark_reconcile_errors_total", "", "kind",
                                            &err),
                            (const char *[]){"TestConfigMap"}) >= 6);
    mgr_free(r.m);
    env_release(&e);
}

TM_TEST(mgr_secondary_changes_enqueue_primaries_by_field_and_owner)
{
    struct env e;
    TM_ASSERT(env_init(&e, "mgr-secondary"));
    struct tr t = {0};
    pthread_mutex_init(&t.mu, NULL);
    struct mgr_reconciler rec;
    const struct mgr_reconciler *list[] = {test_reconcilers(&rec, &t), NULL};
    struct mgr_opts o = {.ns = e.ns, .workers = 2};
    struct tm_err err;
    TM_ASSERT_INT(put(&e, "configmaps", "byref", "secretRef", "creds", NULL, NULL), TM_OK);
    TM_ASSERT_INT(put(&e, "configmaps", "owner", "mode", "ok", NULL, NULL), TM_OK);
    TM_ASSERT_INT(put(&e, "configmaps", "bystander", "secretRef", "other", NULL, NULL), TM_OK);
    char uid[64];
    TM_ASSERT(uid_of(&e, "owner", uid, sizeof(uid)));
    struct runner r = {.m = mgr_new(&e.proc, &o, list, &err)};
    TM_ASSERT(r.m != NULL);
    pthread_create(&r.t, NULL, run_thread, &r);
    TM_ASSERT(POLL_UNTIL(mgr_synced(r.m) && calls(&t, "byref") == 1 && calls(&t, "owner") == 1 &&
                             calls(&t, "bystander") == 1,
                         30000));
    /* a Secret named by data.secretRef of "byref" */
    TM_ASSERT_INT(put(&e, "secrets", "creds", "password", "x", NULL, NULL), TM_OK);
    TM_EXPECT(POLL_UNTIL(calls(&t, "byref") == 2, 10000));
    /* a Secret owned by ConfigMap "owner" */
    TM_ASSERT_INT(put(&e, "secrets", "owned", "k", "v", uid, "owner"), TM_OK);
    TM_EXPECT(POLL_UNTIL(calls(&t, "owner") == 2, 10000));
    /* an update of the referenced Secret enqueues again */
    TM_ASSERT_INT(put(&e, "secrets", "creds", "password", "y", NULL, NULL), TM_OK);
    TM_EXPECT(POLL_UNTIL(calls(&t, "byref") == 3, 10000));
    /* the Secret changes owner: the new owner and the old one both hear of it */
    TM_ASSERT_INT(put(&e, "configmaps", "heir", "mode", "ok", NULL, NULL), TM_OK);
    TM_ASSERT(POLL_UNTIL(calls(&t, "heir") == 1, 10000));
    char heir_uid[64];
    TM_ASSERT(uid_of(&e, "heir", heir_uid, sizeof(heir_uid)));
    int owner_before = calls(&t, "owner");
    TM_ASSERT_INT(put(&e, "secrets", "owned", "k", "v2", heir_uid, "heir"), TM_OK);
    TM_EXPECT(POLL_UNTIL(calls(&t, "heir") == 2 && calls(&t, "owner") == owner_before + 1, 10000));
    /* an update of the referenced Secret enqueued its primary once (the old
     * object of an update maps only to owners it lost) */
    TM_EXPECT_INT(calls(&t, "byref"), 3);
    TM_EXPECT_INT(calls(&t, "bystander"), 1);
    mgr_request_stop(r.m);
    pthread_join(r.t, NULL);
    TM_EXPECT_INT(r.rc, TM_OK);
    mgr_free(r.m);
    env_release(&e);
}

/* Sets label k=v on a Secret (merge patch). */
static enum tm_code label_secret(struct env *e, const char *name, const char *k, const char *v)
{
    struct tm_err err;
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets/%s", e->ns, name);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(body, "metadata"), "labels"), k, v);
    enum tm_code rc = kube_patch(e->c, path, KUBE_PATCH_MERGE, body, NULL, &err);
    cJSON_Delete(body);
    if (rc != TM_OK)
        fprintf(stderr, "label secret %s: %s\n", name, err.msg);
    return rc;
}

static double sec_updates(struct env *e, const char *result)
{
    struct tm_err err;
    return metrics_value(metrics_counter(e->metrics, "tidemark_secondary_updates_total", "",
                                         "kind,resource,result", &err),
                         (const char *[]){"TestConfigMap", "secrets", result});
}

/* A secondary with update_paths: an update that changes none of them (a
 * label here; a DBSchema's instance list in the product) enqueues nothing,
 * one that changes one of them does; adds always route. */
TM_TEST(mgr_secondary_update_paths_route_only_changes_that_matter)
{
    struct env e;
    TM_ASSERT(env_init(&e, "mgr-upaths"));
    struct tr t = {0};
    pthread_mutex_init(&t.mu, NULL);
    struct mgr_reconciler rec;
    const struct mgr_reconciler *list[] = {test_reconcilers(&rec, &t), NULL};
    rec.secondary[0].update_paths[0] = "data.password";
    struct mgr_opts o = {.ns = e.ns, .workers = 2};
    struct tm_err err;
    TM_ASSERT_INT(put(&e, "configmaps", "byref", "secretRef", "creds", NULL, NULL), TM_OK);
    struct runner r = {.m = mgr_new(&e.proc, &o, list, &err)};
    TM_ASSERT(r.m != NULL);
    pthread_create(&r.t, NULL, run_thread, &r);
    TM_ASSERT(POLL_UNTIL(mgr_synced(r.m) && calls(&t, "byref") == 1, 30000));
    TM_ASSERT_INT(put(&e, "secrets", "creds", "password", "x", NULL, NULL), TM_OK); /* add */
    TM_EXPECT(POLL_UNTIL(calls(&t, "byref") == 2, 10000));
    TM_ASSERT_INT(label_secret(&e, "creds", "tidemark.dev/test", "relabelled"), TM_OK);
    TM_EXPECT(POLL_UNTIL(sec_updates(&e, "ignored") == 1, 10000));
    TM_ASSERT_INT(put(&e, "secrets", "creds", "password", "y", NULL, NULL), TM_OK);
    TM_EXPECT(POLL_UNTIL(sec_updates(&e, "routed") == 1 && calls(&t, "byref") == 3, 10000));
    mgr_request_stop(r.m);
    pthread_join(r.t, NULL);
    TM_EXPECT_INT(r.rc, TM_OK);
    TM_EXPECT_INT(calls(&t, "byref"), 3); /* the label change enqueued nothing */
    mgr_free(r.m);
    env_release(&e);
}

/* A secondary with a label selector: objects without the label are neither
 * cached nor enqueue anything; labelling one is an event (what a user does
 * to a changelog ConfigMap made before tidemark.dev/changelog was needed). */
TM_TEST(mgr_secondary_label_selector_watches_only_matching_objects)
{
    struct env e;
    TM_ASSERT(env_init(&e, "mgr-selector"));
    struct tr t = {0};
    pthread_mutex_init(&t.mu, NULL);
    struct mgr_reconciler rec;
    const struct mgr_reconciler *list[] = {test_reconcilers(&rec, &t), NULL};
    rec.secondary[0].label_selector = "tidemark.dev/test=watched";
    struct mgr_opts o = {.ns = e.ns, .workers = 2};
    struct tm_err err;
    TM_ASSERT_INT(put(&e, "configmaps", "byref", "secretRef", "creds", NULL, NULL), TM_OK);
    TM_ASSERT_INT(put(&e, "configmaps", "bylabel", "secretRef", "later", NULL, NULL), TM_OK);
    struct runner r = {.m = mgr_new(&e.proc, &o, list, &err)};
    TM_ASSERT(r.m != NULL);
    pthread_create(&r.t, NULL, run_thread, &r);
    TM_ASSERT(POLL_UNTIL(mgr_synced(r.m) && calls(&t, "byref") == 1 && calls(&t, "bylabel") == 1,
                         30000));
    /* unlabelled: not watched */
    TM_ASSERT_INT(put(&e, "secrets", "creds", "password", "x", NULL, NULL), TM_OK);
    TM_ASSERT_INT(put(&e, "secrets", "later", "password", "x", NULL, NULL), TM_OK);
    /* labelled afterwards: an event (the watch delivers events in order, so
     * the unlabelled writes above would have arrived first) */
    TM_ASSERT_INT(label_secret(&e, "later", "tidemark.dev/test", "watched"), TM_OK);
    TM_EXPECT(POLL_UNTIL(calls(&t, "bylabel") == 2, 10000));
    TM_EXPECT_INT(calls(&t, "byref"), 1);
    cJSON *obj = NULL;
    TM_EXPECT_INT(mgr_cache_get(r.m, "", "v1", "secrets", e.ns, "creds", &obj, &err),
                  TM_E_NOTFOUND);
    TM_EXPECT_INT(mgr_cache_get(r.m, "", "v1", "secrets", e.ns, "later", &obj, &err), TM_OK);
    cJSON_Delete(obj);
    mgr_request_stop(r.m);
    pthread_join(r.t, NULL);
    TM_EXPECT_INT(r.rc, TM_OK);
    mgr_free(r.m);
    env_release(&e);
}

TM_TEST(mgr_stop_tells_in_flight_reconciles_and_lets_them_finish)
{
    struct env e;
    TM_ASSERT(env_init(&e, "mgr-grace"));
    struct tr t = {0};
    pthread_mutex_init(&t.mu, NULL);
    struct mgr_reconciler rec;
    const struct mgr_reconciler *list[] = {test_reconcilers(&rec, &t), NULL};
    struct mgr_opts o = {.ns = e.ns, .workers = 2, .grace_ms = 10000};
    struct tm_err err;
    struct runner r = {.m = mgr_new(&e.proc, &o, list, &err)};
    TM_ASSERT(r.m != NULL);
    pthread_create(&r.t, NULL, run_thread, &r);
    TM_ASSERT(POLL_UNTIL(mgr_synced(r.m), 30000));
    TM_ASSERT_INT(put(&e, "configmaps", "slow", "mode", "slow", NULL, NULL), TM_OK);
    TM_ASSERT(POLL_UNTIL(atomic_load(&t.in_flight) == 1, 10000));
    mgr_request_stop(r.m);
    pthread_join(r.t, NULL);
    TM_EXPECT_INT(r.rc, TM_OK);
    TM_EXPECT_INT(atomic_load(&t.saw_stopping), 1); /* told through tm_proc_stopping */
    TM_EXPECT_INT(atomic_load(&t.slow_finished), 1); /* finished before mgr_run returned */
    TM_EXPECT_INT(atomic_load(&t.in_flight), 0);
    mgr_free(r.m);
    env_release(&e);
}

static int http_get(int port, const char *path, char *out, size_t n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    out[0] = '\0';
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char req[256];
    int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
        close(fd);
        return 0;
    }
    size_t got = 0;
    ssize_t rd;
    while (got < n - 1 && (rd = recv(fd, out + got, n - 1 - got, 0)) > 0)
        got += (size_t)rd;
    out[got] = '\0';
    close(fd);
    int status = 0;
    if (sscanf(out, "HTTP/1.1 %d", &status) != 1)
        return 0;
    return status;
}

TM_TEST(mgr_serves_metrics_healthz_readyz)
{
    struct env e;
    TM_ASSERT(env_init(&e, "mgr-http"));
    struct tr t = {0};
    pthread_mutex_init(&t.mu, NULL);
    struct mgr_reconciler rec;
    const struct mgr_reconciler *list[] = {test_reconcilers(&rec, &t), NULL};
    struct mgr_opts o = {.ns = e.ns, .metrics_addr = "127.0.0.1:0", .health_addr = "127.0.0.1:0"};
    struct tm_err err;
    TM_ASSERT_INT(metrics_add_process_collector(e.metrics, &err), TM_OK);
    TM_ASSERT_INT(put(&e, "configmaps", "one", "mode", "ok", NULL, NULL), TM_OK);
    struct runner r = {.m = mgr_new(&e.proc, &o, list, &err)};
    TM_ASSERT(r.m != NULL);
    pthread_create(&r.t, NULL, run_thread, &r);
    TM_ASSERT(POLL_UNTIL(mgr_health_port(r.m) > 0 && mgr_metrics_port(r.m) > 0, 10000));
    int hp = mgr_health_port(r.m), mp = mgr_metrics_port(r.m);
    static char body[1 << 16];
    TM_ASSERT(POLL_UNTIL(http_get(hp, "/readyz", body, sizeof(body)) == 200, 30000));
    TM_EXPECT(mgr_synced(r.m));
    TM_EXPECT_INT(http_get(hp, "/healthz", body, sizeof(body)), 200);
    TM_EXPECT_INT(http_get(hp, "/nope", body, sizeof(body)), 404);
    TM_ASSERT(POLL_UNTIL(calls(&t, "one") == 1, 10000));
    TM_ASSERT(POLL_UNTIL(http_get(mp, "/metrics", body, sizeof(body)) == 200 &&
                             /* >= 1: kube-root-ca.crt is reconciled too */
                             strstr(body, "tidemark_reconcile_total{kind=\"TestConfigMap\","
                                          "result=\"success\"} "),
                         10000));
    TM_EXPECT_CONTAINS(body, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
    TM_EXPECT_CONTAINS(body, "# TYPE tidemark_reconcile_duration_seconds histogram\n");
    TM_EXPECT_CONTAINS(body, "tidemark_workqueue_depth{kind=\"TestConfigMap\"} 0\n");
    TM_EXPECT_CONTAINS(body, "tidemark_api_requests_total{verb=\"list\",code=\"200\"}");
    TM_EXPECT_CONTAINS(body, "tidemark_process_resident_memory_bytes ");
    mgr_request_stop(r.m);
    pthread_join(r.t, NULL);
    TM_EXPECT_INT(r.rc, TM_OK);
    /* after mgr_run returned the process is not healthy any more */
    TM_EXPECT_INT(mgr_healthz(r.m), 503);
    mgr_free(r.m);
    env_release(&e);
}

TM_TEST(mgr_rejects_bad_reconciler_lists)
{
    struct env e;
    TM_ASSERT(env_init(&e, "mgr-bad"));
    struct tr t = {0};
    struct mgr_reconciler a, b;
    test_reconcilers(&a, &t);
    test_reconcilers(&b, &t);
    struct tm_err err;
    const struct mgr_reconciler *dup[] = {&a, &b, NULL};
    TM_EXPECT(mgr_new(&e.proc, NULL, dup, &err) == NULL);
    TM_EXPECT_INT(err.code, TM_E_INVAL);
    b.kind = "Other";
    b.reconcile = NULL;
    const struct mgr_reconciler *nofn[] = {&b, NULL};
    TM_EXPECT(mgr_new(&e.proc, NULL, nofn, &err) == NULL);
    TM_EXPECT_INT(err.code, TM_E_INVAL);
    /* one cache per resource: a selector on a resource also watched whole */
    struct mgr_reconciler c;
    test_reconcilers(&c, &t);
    c.secondary[0] = (struct mgr_secondary){.version = "v1", .resource = "configmaps",
                                            .label_selector = "a=b", .ref_paths = {"data.x"}};
    const struct mgr_reconciler *twosel[] = {&c, NULL};
    TM_EXPECT(mgr_new(&e.proc, NULL, twosel, &err) == NULL);
    TM_EXPECT_INT(err.code, TM_E_INVAL);
    TM_EXPECT(strstr(err.msg, "two label selectors") != NULL);
    env_release(&e);
}

TM_TEST_MAIN()
