/* E2E tests of informers against the real kube-apiserver (KUBECONFIG from
 * hack/controlplane.sh): the cache converges with ConfigMap creates, updates
 * and deletes; a watch that times out resumes without a relist; a stale
 * resourceVersion (410 Expired) forces a relist that synthesizes the delete
 * of an object removed while the watch was down; field indexes follow
 * changes; one informer's long list does not hold up another's watch; an
 * informer of several namespaces caches those and no other.  Each test makes its own namespace and deletes it. */
#include "../tm_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "runtime/informer.h"
#include "runtime/metrics.h"
#include "runtime_e2e_env.h"

static bool env_init(struct env *e, const char *prefix)
{
    return env_open(e, prefix, LOG_INFO, NULL);
}

static enum tm_code put_cm(struct env *e, const char *name, const char *k, const char *v,
                           bool create)
{
    struct tm_err err;
    char path[256];
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cm, "apiVersion", "v1");
    cJSON_AddStringToObject(cm, "kind", "ConfigMap");
    cJSON *md = cJSON_AddObjectToObject(cm, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", e->ns);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), k, v);
    enum tm_code rc;
    if (create) {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps", e->ns);
        rc = kube_create(e->c, path, cm, NULL, &err);
    } else {
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/%s", e->ns, name);
        rc = kube_update(e->c, path, cm, NULL, &err); /* no RV: unconditional */
    }
    cJSON_Delete(cm);
    if (rc != TM_OK)
        fprintf(stderr, "put configmap %s: %s\n", name, err.msg);
    return rc;
}

static enum tm_code del_cm(struct env *e, const char *name)
{
    struct tm_err err;
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/configmaps/%s", e->ns, name);
    enum tm_code rc = kube_delete(e->c, path, NULL, NULL, &err);
    if (rc != TM_OK)
        fprintf(stderr, "delete configmap %s: %s\n", name, err.msg);
    return rc;
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

/* Polls pred until true or timeout_ms passes. */
#define POLL_UNTIL(pred, timeout_ms)                                                      \
    ({                                                                                     \
        int64_t dl_ = mono() + (timeout_ms);                                               \
        bool ok_ = false;                                                                  \
        while (!(ok_ = (pred)) && mono() < dl_)                                            \
            pause_ms(20);                                                                  \
        ok_;                                                                               \
    })

/* the value of data.<k> of the cached configmap, copied ("" when absent) */
static const char *cached_value(struct informer *inf, const char *ns, const char *name,
                                const char *k, char *out, size_t n)
{
    out[0] = '\0';
    cJSON *o = NULL;
    struct tm_err err;
    if (informer_get(inf, ns, name, &o, &err) != TM_OK)
        return out;
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "data"), k);
    if (cJSON_IsString(v))
        snprintf(out, n, "%s", v->valuestring);
    cJSON_Delete(o);
    return out;
}

static bool value_is(struct informer *inf, const char *ns, const char *name, const char *want)
{
    char buf[64];
    return strcmp(cached_value(inf, ns, name, "v", buf, sizeof(buf)), want) == 0;
}

static bool absent(struct informer *inf, const char *ns, const char *name)
{
    cJSON *o = NULL;
    struct tm_err err;
    enum tm_code rc = informer_get(inf, ns, name, &o, &err);
    cJSON_Delete(o);
    return rc == TM_E_NOTFOUND;
}

struct counts {
    atomic_int adds, updates, deletes;
    char last_deleted[128];
    pthread_mutex_t mu;
};

static void on_add(void *ctx, const cJSON *obj)
{
    struct counts *c = ctx;
    (void)obj;
    atomic_fetch_add(&c->adds, 1);
}

static void on_update(void *ctx, const cJSON *old, const cJSON *obj)
{
    struct counts *c = ctx;
    (void)old;
    (void)obj;
    atomic_fetch_add(&c->updates, 1);
}

static void on_delete(void *ctx, const cJSON *obj)
{
    struct counts *c = ctx;
    pthread_mutex_lock(&c->mu);
    if (!informer_key(obj, c->last_deleted, sizeof(c->last_deleted)))
        c->last_deleted[0] = '\0';
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_add(&c->deletes, 1);
}

static struct informer *cm_informer(struct env *e, struct informer_group **g, int timeout_s,
                                    struct counts *cnt)
{
    struct tm_err err;
    *g = informer_group_new(e->cfg, &e->proc, &err);
    if (!*g)
        return NULL;
    struct informer_opts o = {.version = "v1", .resource = "configmaps", .ns = e->ns,
                              .watch_timeout_s = timeout_s, .page_size = 2};
    struct informer *inf = informer_group_add(*g, &o, &err);
    if (!inf)
        return NULL;
    if (cnt) {
        pthread_mutex_init(&cnt->mu, NULL);
        struct informer_handlers h = {on_add, on_update, on_delete, cnt};
        if (informer_add_handlers(inf, &h, &err) != TM_OK)
            return NULL;
    }
    return inf;
}

TM_TEST(informer_cache_converges_with_configmap_creates_updates_deletes)
{
    struct env e;
    TM_ASSERT(env_init(&e, "inf-conv"));
    struct informer_group *g = NULL;
    struct counts cnt = {0};
    /* objects that exist before the first list (paged: page_size 2) */
    TM_ASSERT_INT(put_cm(&e, "pre1", "v", "1", true), TM_OK);
    TM_ASSERT_INT(put_cm(&e, "pre2", "v", "1", true), TM_OK);
    TM_ASSERT_INT(put_cm(&e, "pre3", "v", "1", true), TM_OK);
    struct informer *inf = cm_informer(&e, &g, 0, &cnt);
    TM_ASSERT(inf != NULL);
    struct tm_err err;
    TM_EXPECT(!informer_has_synced(inf));
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    TM_ASSERT(POLL_UNTIL(informer_group_synced(g), 30000));
    /* kube-root-ca.crt may be created in the namespace by the controller manager */
    TM_EXPECT(value_is(inf, e.ns, "pre1", "1") && value_is(inf, e.ns, "pre3", "1"));
    int base_adds = atomic_load(&cnt.adds);
    TM_EXPECT(base_adds >= 3);

    TM_ASSERT_INT(put_cm(&e, "a", "v", "1", true), TM_OK);
    TM_ASSERT_INT(put_cm(&e, "b", "v", "1", true), TM_OK);
    TM_EXPECT(POLL_UNTIL(value_is(inf, e.ns, "a", "1") && value_is(inf, e.ns, "b", "1"), 20000));
    TM_ASSERT_INT(put_cm(&e, "a", "v", "2", false), TM_OK);
    TM_ASSERT_INT(del_cm(&e, "b"), TM_OK);
    TM_ASSERT_INT(del_cm(&e, "pre2"), TM_OK);
    TM_EXPECT(POLL_UNTIL(value_is(inf, e.ns, "a", "2") && absent(inf, e.ns, "b") &&
                             absent(inf, e.ns, "pre2"),
                         20000));
    TM_EXPECT(atomic_load(&cnt.adds) >= base_adds + 2);
    TM_EXPECT(atomic_load(&cnt.updates) >= 1);
    TM_EXPECT(atomic_load(&cnt.deletes) >= 2);

    /* the duplicate is the caller's to edit; the cache is unchanged */
    cJSON *dup = NULL;
    TM_ASSERT_INT(informer_get(inf, e.ns, "a", &dup, &err), TM_OK);
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(dup, "data"), "v",
                                           cJSON_CreateString("edited"));
    TM_EXPECT(value_is(inf, e.ns, "a", "2"));
    TM_EXPECT(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(dup, "metadata"),
                                               "managedFields") == NULL);
    cJSON_Delete(dup);
    TM_EXPECT_INT(informer_get(inf, e.ns, "b", &dup, &err), TM_E_NOTFOUND);

    struct informer_stats st;
    informer_get_stats(inf, &st);
    TM_EXPECT_INT(st.relists, 0);
    informer_group_free(g);
    env_release(&e);
}

static void collect_key(void *ctx, const char *key)
{
    struct tm_buf *b = ctx;
    if (tm_buf_addf(b, "%s;", key) != TM_OK)
        return;
}

TM_TEST(informer_field_index_follows_changes)
{
    struct env e;
    TM_ASSERT(env_init(&e, "inf-idx"));
    struct informer_group *g = NULL;
    struct informer *inf = cm_informer(&e, &g, 0, NULL);
    TM_ASSERT(inf != NULL);
    struct tm_err err;
    TM_ASSERT_INT(informer_add_field_index(inf, "data.ref", &err), TM_OK);
    TM_ASSERT_INT(put_cm(&e, "x", "ref", "target", true), TM_OK);
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    TM_ASSERT(POLL_UNTIL(informer_group_synced(g), 30000));
    TM_ASSERT_INT(put_cm(&e, "y", "ref", "target", true), TM_OK);
    TM_ASSERT_INT(put_cm(&e, "z", "ref", "other", true), TM_OK);
    char got[64];
    TM_ASSERT(POLL_UNTIL(strcmp(cached_value(inf, e.ns, "z", "ref", got, sizeof(got)), "other") == 0,
                         20000));
    struct tm_buf b;
    tm_buf_init(&b, 4096);
    TM_ASSERT_INT(informer_index_keys(inf, "data.ref", e.ns, "target", collect_key, &b, &err),
                  TM_OK);
    char want1[160], want2[160];
    snprintf(want1, sizeof(want1), "%s/x;", e.ns);
    snprintf(want2, sizeof(want2), "%s/y;", e.ns);
    TM_EXPECT_CONTAINS(tm_buf_str(&b), want1);
    TM_EXPECT_CONTAINS(tm_buf_str(&b), want2);
    TM_EXPECT_INT(b.len, strlen(want1) + strlen(want2));
    /* y moves to "other": the index follows */
    TM_ASSERT_INT(put_cm(&e, "y", "ref", "other", false), TM_OK);
    TM_ASSERT(POLL_UNTIL(strcmp(cached_value(inf, e.ns, "y", "ref", got, sizeof(got)), "other") == 0,
                         20000));
    tm_buf_reset(&b);
    TM_ASSERT_INT(informer_index_keys(inf, "data.ref", e.ns, "target", collect_key, &b, &err),
                  TM_OK);
    TM_EXPECT_STR(tm_buf_str(&b), want1);
    TM_EXPECT_INT(informer_index_keys(inf, "data.nope", e.ns, "x", collect_key, &b, &err),
                  TM_E_NOTFOUND);
    tm_buf_release(&b);
    informer_group_free(g);
    env_release(&e);
}

static bool count_named(void *ctx, const cJSON *obj)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
    if (cJSON_IsString(name) && strcmp(name->valuestring, "x") == 0)
        (*(int *)ctx)++;
    return true;
}

/* An informer of two namespaces out of three: both are cached and
 * watched, the third never is (get, peek, index and foreach read it as
 * empty), and a change or a relist in one namespace leaves the other's
 * objects alone.  Bad namespace lists are refused before any request. */
TM_TEST(informer_watches_only_the_namespaces_listed)
{
    struct env a, b, c;
    TM_ASSERT(env_init(&a, "inf-ns-a"));
    TM_ASSERT(env_init(&b, "inf-ns-b"));
    TM_ASSERT(env_init(&c, "inf-ns-c"));
    struct env *all[] = {&a, &b, &c};
    for (int i = 0; i < 3; i++)
        TM_ASSERT_INT(put_cm(all[i], "x", "ref", "target", true), TM_OK);
    struct tm_err err;
    struct informer_group *g = informer_group_new(a.cfg, &a.proc, &err);
    TM_ASSERT(g != NULL);
    const char *bad_dup[] = {a.ns, a.ns, NULL}, *bad_empty[] = {a.ns, "", NULL};
    struct informer_opts bad = {.version = "v1", .resource = "configmaps", .namespaces = bad_dup};
    TM_EXPECT(informer_group_add(g, &bad, &err) == NULL && err.code == TM_E_INVAL);
    bad.namespaces = bad_empty;
    TM_EXPECT(informer_group_add(g, &bad, &err) == NULL && err.code == TM_E_INVAL);
    const char *two[] = {a.ns, b.ns, NULL};
    bad.namespaces = two;
    bad.ns = c.ns;
    TM_EXPECT(informer_group_add(g, &bad, &err) == NULL && err.code == TM_E_INVAL);

    struct informer_opts o = {.version = "v1", .resource = "configmaps", .namespaces = two};
    struct informer *inf = informer_group_add(g, &o, &err);
    TM_ASSERT(inf != NULL);
    TM_EXPECT(informer_group_add(g, &o, &err) == inf); /* shared, like one namespace */
    TM_ASSERT_INT(informer_add_field_index(inf, "data.ref", &err), TM_OK);
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    TM_ASSERT(POLL_UNTIL(informer_group_synced(g), 30000));
    char got[64];
    TM_EXPECT_STR(cached_value(inf, a.ns, "x", "ref", got, sizeof(got)), "target");
    TM_EXPECT_STR(cached_value(inf, b.ns, "x", "ref", got, sizeof(got)), "target");
    TM_EXPECT(absent(inf, c.ns, "x"));
    cJSON *obj = NULL;
    TM_EXPECT_INT(informer_get(inf, c.ns, "x", &obj, &err), TM_E_NOTFOUND);
    TM_EXPECT_CONTAINS(err.msg, "namespace not watched");
    int xs = 0;
    informer_foreach(inf, NULL, count_named, &xs);
    TM_EXPECT_INT(xs, 2);
    xs = 0;
    informer_foreach(inf, c.ns, count_named, &xs);
    TM_EXPECT_INT(xs, 0);
    struct tm_buf keys;
    tm_buf_init(&keys, 4096);
    char want[160];
    snprintf(want, sizeof(want), "%s/x;", b.ns);
    TM_EXPECT_INT(informer_index_keys(inf, "data.ref", b.ns, "target", collect_key, &keys, &err),
                  TM_OK);
    TM_EXPECT_STR(tm_buf_str(&keys), want);
    tm_buf_reset(&keys);
    TM_EXPECT_INT(informer_index_keys(inf, "data.ref", c.ns, "target", collect_key, &keys, &err),
                  TM_OK);
    TM_EXPECT_STR(tm_buf_str(&keys), "");
    TM_EXPECT_INT(informer_index_keys(inf, "data.nope", c.ns, "x", collect_key, &keys, &err),
                  TM_E_NOTFOUND);

    /* changes: seen in the watched namespaces only */
    TM_ASSERT_INT(put_cm(&c, "y", "v", "1", true), TM_OK);
    TM_ASSERT_INT(put_cm(&b, "y", "v", "1", true), TM_OK);
    TM_EXPECT(POLL_UNTIL(value_is(inf, b.ns, "y", "1"), 20000));
    TM_EXPECT(absent(inf, c.ns, "y"));
    /* a delete in namespace a while the watches are down, then a watch from a stale
     * resourceVersion (a relist, or the missed events): a's object goes,
     * b's stay */
    informer_group_stop(g);
    TM_ASSERT_INT(del_cm(&a, "x"), TM_OK);
    TM_ASSERT_INT(informer_set_resume_rv(inf, "1", &err), TM_OK);
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    TM_EXPECT(POLL_UNTIL(absent(inf, a.ns, "x"), 30000));
    TM_EXPECT(value_is(inf, b.ns, "y", "1"));
    TM_EXPECT_STR(cached_value(inf, b.ns, "x", "ref", got, sizeof(got)), "target");
    struct informer_stats st;
    informer_get_stats(inf, &st);
    TM_EXPECT(st.lists >= 2 && st.watches >= 4); /* one list and watch per namespace, twice */
    tm_buf_release(&keys);
    informer_group_free(g);
    for (int i = 0; i < 3; i++)
        env_release(all[i]);
}

TM_TEST(informer_resumes_after_watch_timeout_without_relist)
{
    struct env e;
    TM_ASSERT(env_init(&e, "inf-resume"));
    struct informer_group *g = NULL;
    struct informer *inf = cm_informer(&e, &g, 1, NULL); /* timeoutSeconds=1 */
    TM_ASSERT(inf != NULL);
    struct tm_err err;
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    TM_ASSERT(POLL_UNTIL(informer_group_synced(g), 30000));
    struct informer_stats st;
    TM_ASSERT(POLL_UNTIL((informer_get_stats(inf, &st), st.watch_restarts >= 2), 20000));
    /* changes made across watch restarts still arrive */
    TM_ASSERT_INT(put_cm(&e, "after", "v", "1", true), TM_OK);
    TM_EXPECT(POLL_UNTIL(value_is(inf, e.ns, "after", "1"), 20000));
    TM_ASSERT(POLL_UNTIL((informer_get_stats(inf, &st), st.watch_restarts >= 3), 20000));
    TM_ASSERT_INT(put_cm(&e, "after", "v", "2", false), TM_OK);
    TM_EXPECT(POLL_UNTIL(value_is(inf, e.ns, "after", "2"), 20000));
    informer_get_stats(inf, &st);
    TM_EXPECT_INT(st.lists, 1);
    TM_EXPECT_INT(st.relists, 0);
    TM_EXPECT(st.watches >= 3);
    TM_EXPECT_INT(metrics_value(metrics_counter(e.metrics, "tidemark_watch_restarts_total", "",
                                                "resource", &err),
                                (const char *[]){"configmaps"}),
                  st.watch_restarts);
    informer_group_free(g);
    env_release(&e);
}

/* A throwaway CRD: its watch cache starts at the current etcd revision, so a
 * watch from resourceVersion "1" is older than its window: a real 410. (The
 * ConfigMap watch cache of a young API server starts near revision 1 and
 * would serve it.) */
static bool make_crd(struct env *e, char *group, size_t gn)
{
    struct tm_err err;
    snprintf(group, gn, "%s.test.tidemark.dev", e->ns);
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
             "\"metadata\":{\"name\":\"widgets.%s\"},\"spec\":{\"group\":\"%s\","
             "\"scope\":\"Namespaced\",\"names\":{\"plural\":\"widgets\",\"singular\":"
             "\"widget\",\"kind\":\"Widget\",\"listKind\":\"WidgetList\"},\"versions\":[{"
             "\"name\":\"v1\",\"served\":true,\"storage\":true,\"schema\":{"
             "\"openAPIV3Schema\":{\"type\":\"object\","
             "\"x-kubernetes-preserve-unknown-fields\":true}}}]}}",
             group, group);
    cJSON *crd = cJSON_Parse(json);
    enum tm_code rc = kube_create(e->c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                  crd, NULL, &err);
    cJSON_Delete(crd);
    if (rc != TM_OK)
        fprintf(stderr, "create crd: %s\n", err.msg);
    return rc == TM_OK;
}

static void delete_crd(struct env *e, const char *group)
{
    struct tm_err err;
    char path[256];
    snprintf(path, sizeof(path), "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.%s",
             group);
    if (kube_delete(e->c, path, NULL, NULL, &err) != TM_OK)
        fprintf(stderr, "delete crd: %s\n", err.msg);
}

static enum tm_code put_widget(struct env *e, const char *group, const char *name, const char *v,
                               bool create, bool quiet)
{
    struct tm_err err;
    char path[512], json[1024];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"%s/v1\",\"kind\":\"Widget\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"%s\"},\"data\":{\"v\":\"%s\"}}",
             group, name, e->ns, v);
    cJSON *obj = cJSON_Parse(json);
    enum tm_code rc;
    if (create) {
        snprintf(path, sizeof(path), "/apis/%s/v1/namespaces/%s/widgets", group, e->ns);
        rc = kube_create(e->c, path, obj, NULL, &err);
    } else {
        snprintf(path, sizeof(path), "/apis/%s/v1/namespaces/%s/widgets/%s", group, e->ns, name);
        cJSON *cur = NULL;
        rc = kube_get(e->c, path, &cur, &err);
        if (rc == TM_OK) {
            cJSON *md = cJSON_GetObjectItemCaseSensitive(cur, "metadata");
            cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
            cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                    "resourceVersion", cJSON_IsString(rv) ? rv->valuestring : "");
            rc = kube_update(e->c, path, obj, NULL, &err);
        }
        cJSON_Delete(cur);
    }
    cJSON_Delete(obj);
    if (rc != TM_OK && !quiet)
        fprintf(stderr, "put widget %s: %s\n", name, err.msg);
    return rc;
}

static enum tm_code del_widget(struct env *e, const char *group, const char *name)
{
    struct tm_err err;
    char path[512];
    snprintf(path, sizeof(path), "/apis/%s/v1/namespaces/%s/widgets/%s", group, e->ns, name);
    enum tm_code rc = kube_delete(e->c, path, NULL, NULL, &err);
    if (rc != TM_OK)
        fprintf(stderr, "delete widget %s: %s\n", name, err.msg);
    return rc;
}

TM_TEST(informer_relists_on_410_and_synthesizes_missed_deletes)
{
    struct env e;
    TM_ASSERT(env_init(&e, "inf-410"));
    char group[128];
    TM_ASSERT(make_crd(&e, group, sizeof(group)));
    /* the new resource is served once discovery caught up: retry the create */
    TM_ASSERT(POLL_UNTIL(put_widget(&e, group, "keep", "1", true, true) == TM_OK, 30000));
    TM_ASSERT_INT(put_widget(&e, group, "gone", "1", true, false), TM_OK);

    struct tm_err err;
    struct counts cnt = {0};
    pthread_mutex_init(&cnt.mu, NULL);
    struct informer_group *g = informer_group_new(e.cfg, &e.proc, &err);
    TM_ASSERT(g != NULL);
    struct informer_opts o = {.group = group, .version = "v1", .resource = "widgets", .ns = e.ns};
    struct informer *inf = informer_group_add(g, &o, &err);
    TM_ASSERT(inf != NULL);
    struct informer_handlers h = {on_add, on_update, on_delete, &cnt};
    TM_ASSERT_INT(informer_add_handlers(inf, &h, &err), TM_OK);
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    TM_ASSERT(POLL_UNTIL(informer_group_synced(g) && value_is(inf, e.ns, "gone", "1"), 30000));
    informer_group_stop(g);

    /* while the watch is down: one delete, one update, one create */
    TM_ASSERT_INT(del_widget(&e, group, "gone"), TM_OK);
    TM_ASSERT_INT(put_widget(&e, group, "keep", "2", false, false), TM_OK);
    TM_ASSERT_INT(put_widget(&e, group, "new", "1", true, false), TM_OK);
    /* a resourceVersion older than the resource's watch window: 410 Expired */
    TM_ASSERT_INT(informer_set_resume_rv(inf, "1", &err), TM_OK);
    int deletes_before = atomic_load(&cnt.deletes);
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    TM_EXPECT(POLL_UNTIL(absent(inf, e.ns, "gone") && value_is(inf, e.ns, "keep", "2") &&
                             value_is(inf, e.ns, "new", "1"),
                         30000));
    struct informer_stats st;
    informer_get_stats(inf, &st);
    TM_EXPECT_INT(st.relists, 1);
    TM_EXPECT_INT(st.synthesized_deletes, 1);
    TM_EXPECT_INT(atomic_load(&cnt.deletes), deletes_before + 1);
    char want[160];
    snprintf(want, sizeof(want), "%s/gone", e.ns);
    pthread_mutex_lock(&cnt.mu);
    TM_EXPECT_STR(cnt.last_deleted, want);
    pthread_mutex_unlock(&cnt.mu);
    char label[160];
    snprintf(label, sizeof(label), "widgets.%s", group);
    TM_EXPECT_INT(metrics_value(metrics_counter(e.metrics, "tidemark_relists_total", "",
                                                "resource", &err),
                                (const char *[]){label}),
                  1);
    /* and it keeps watching after the relist */
    TM_ASSERT_INT(put_widget(&e, group, "later", "1", true, false), TM_OK);
    TM_EXPECT(POLL_UNTIL(value_is(inf, e.ns, "later", "1"), 20000));
    informer_group_free(g);
    delete_crd(&e, group);
    env_release(&e);
}

/* A Secret named name in e->ns. */
static enum tm_code put_secret(struct env *e, const char *name)
{
    struct tm_err err;
    char path[256];
    cJSON *sec = cJSON_CreateObject();
    cJSON_AddStringToObject(sec, "apiVersion", "v1");
    cJSON_AddStringToObject(sec, "kind", "Secret");
    cJSON *md = cJSON_AddObjectToObject(sec, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", e->ns);
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/secrets", e->ns);
    enum tm_code rc = kube_create(e->c, path, sec, NULL, &err);
    cJSON_Delete(sec);
    if (rc != TM_OK)
        fprintf(stderr, "create secret %s: %s\n", name, err.msg);
    return rc;
}

/* A long list (many objects, one per page) of one informer must not hold
 * up the watch of another: the probe Secret reaches the secrets cache while
 * the configmaps list is still paging. */
TM_TEST(informer_list_does_not_hold_up_other_watches)
{
    enum { BULK = 200 };
    struct env e;
    TM_ASSERT(env_init(&e, "inf-slowlist"));
    char name[32];
    for (int i = 0; i < BULK; i++) {
        snprintf(name, sizeof(name), "bulk-%d", i);
        TM_ASSERT_INT(put_cm(&e, name, "v", "1", true), TM_OK);
    }
    struct tm_err err;
    struct informer_group *g = informer_group_new(e.cfg, &e.proc, &err);
    TM_ASSERT(g != NULL);
    struct informer_opts so = {.version = "v1", .resource = "secrets", .ns = e.ns};
    struct informer *secrets = informer_group_add(g, &so, &err);
    struct informer_opts co = {.version = "v1", .resource = "configmaps", .ns = e.ns,
                               .page_size = 1};
    struct informer *cms = informer_group_add(g, &co, &err);
    TM_ASSERT(secrets != NULL && cms != NULL);
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    TM_ASSERT(POLL_UNTIL(informer_has_synced(secrets), 30000));
    TM_ASSERT(!informer_has_synced(cms)); /* else the list was too quick to tell */
    int64_t t0 = mono();
    TM_ASSERT_INT(put_secret(&e, "probe"), TM_OK);
    TM_ASSERT(POLL_UNTIL(!absent(secrets, e.ns, "probe"), 30000));
    bool listing = !informer_has_synced(cms);
    fprintf(stderr, "probe seen after %lld ms; configmaps list still running: %d\n",
            (long long)(mono() - t0), listing);
    TM_EXPECT(listing);
    TM_EXPECT(POLL_UNTIL(informer_has_synced(cms), 60000));
    TM_EXPECT_INT(informer_len(cms), BULK + 1); /* + the namespace's kube-root-ca.crt */
    informer_group_free(g);
    env_release(&e);
}

/* ---- an API server outage, simulated by a TCP proxy in front of the real
 * API server: "down" drops every connection and refuses new ones (as a
 * stopped kube-apiserver does), "up" accepts again on the same port.  The
 * shared API server itself is never restarted, so parallel tests are safe. */

#define PROXY_MAX_PAIRS 32

struct proxy {
    int lfd, port, upstream_port;
    int wake[2];
    atomic_int want_down; /* 1: drop all and refuse */
    atomic_int is_down;
    atomic_bool stop;
    int pairs[PROXY_MAX_PAIRS][2];
    int npairs;
    pthread_t t;
};

static int proxy_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void proxy_drop_all(struct proxy *p)
{
    for (int i = 0; i < p->npairs; i++) {
        close(p->pairs[i][0]);
        close(p->pairs[i][1]);
    }
    p->npairs = 0;
}

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    while (!atomic_load(&p->stop)) {
        int want = atomic_load(&p->want_down);
        if (want && p->lfd >= 0) {
            proxy_drop_all(p);
            close(p->lfd);
            p->lfd = -1;
            atomic_store(&p->is_down, 1);
        } else if (!want && p->lfd < 0) {
            p->lfd = proxy_listen(p->port);
            if (p->lfd >= 0)
                atomic_store(&p->is_down, 0);
        }
        struct pollfd fds[2 + 2 * PROXY_MAX_PAIRS];
        int n = 0;
        fds[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = p->lfd, .events = POLLIN}; /* -1 is ignored */
        for (int i = 0; i < p->npairs; i++) {
            fds[n++] = (struct pollfd){.fd = p->pairs[i][0], .events = POLLIN};
            fds[n++] = (struct pollfd){.fd = p->pairs[i][1], .events = POLLIN};
        }
        int polled_pairs = p->npairs; /* a pair accepted below has no pollfd yet */
        if (poll(fds, (nfds_t)n, 200) <= 0)
            continue;
        if (fds[0].revents & POLLIN) {
            char b[16];
            if (read(p->wake[0], b, sizeof(b)) < 0)
                continue;
        }
        if (p->lfd >= 0 && (fds[1].revents & POLLIN)) {
            int c = accept(p->lfd, NULL, NULL);
            int u = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in sa = {.sin_family = AF_INET,
                                     .sin_port = htons((uint16_t)p->upstream_port)};
            inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
            if (c >= 0 && u >= 0 && p->npairs < PROXY_MAX_PAIRS &&
                connect(u, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                p->pairs[p->npairs][0] = c;
                p->pairs[p->npairs][1] = u;
                p->npairs++;
            } else {
                if (c >= 0)
                    close(c);
                if (u >= 0)
                    close(u);
            }
        }
        for (int i = 0; i < polled_pairs; i++) {
            for (int side = 0; side < 2; side++) {
                struct pollfd *f = &fds[2 + 2 * i + side];
                if (!(f->revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                char buf[16384];
                ssize_t r = read(f->fd, buf, sizeof(buf));
                bool dead = r <= 0;
                for (ssize_t off = 0; !dead && off < r;) {
                    ssize_t w = send(p->pairs[i][1 - side], buf + off, (size_t)(r - off),
                                     MSG_NOSIGNAL);
                    if (w <= 0)
                        dead = true;
                    else
                        off += w;
                }
                if (dead) {
                    close(p->pairs[i][0]);
                    close(p->pairs[i][1]);
                    p->pairs[i][0] = p->pairs[p->npairs - 1][0];
                    p->pairs[i][1] = p->pairs[p->npairs - 1][1];
                    p->npairs--;
                    goto next_round; /* indexes shifted: poll again */
                }
            }
        }
    next_round:;
    }
    proxy_drop_all(p);
    if (p->lfd >= 0)
        close(p->lfd);
    return NULL;
}

static bool proxy_start(struct proxy *p, int upstream_port)
{
    memset(p, 0, sizeof(*p));
    p->upstream_port = upstream_port;
    p->lfd = proxy_listen(0);
    if (p->lfd < 0 || pipe(p->wake) != 0)
        return false;
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    getsockname(p->lfd, (struct sockaddr *)&sa, &sl);
    p->port = ntohs(sa.sin_port);
    return pthread_create(&p->t, NULL, proxy_main, p) == 0;
}

static void proxy_set_down(struct proxy *p, int down)
{
    atomic_store(&p->want_down, down);
    if (write(p->wake[1], "x", 1) < 0)
        return;
}

static void proxy_stop(struct proxy *p)
{
    atomic_store(&p->stop, true);
    proxy_set_down(p, 0);
    pthread_join(p->t, NULL);
    close(p->wake[0]);
    close(p->wake[1]);
}

/* The harness kubeconfig with the server port replaced by the proxy's. */
static struct kube_config *proxied_config(struct env *e, int proxy_port, int *upstream_port)
{
    struct tm_err err;
    const char *server = kube_config_server(e->cfg); /* https://127.0.0.1:PORT */
    const char *colon = strrchr(server, ':');
    *upstream_port = colon ? (int)strtol(colon + 1, NULL, 10) : 0;
    FILE *f = fopen(getenv("KUBECONFIG"), "r");
    if (!f)
        return NULL;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    struct tm_buf out;
    tm_buf_init(&out, sizeof(text) * 2);
    const char *at = strstr(text, server);
    if (!at)
        return NULL;
    char repl[64];
    snprintf(repl, sizeof(repl), "https://127.0.0.1:%d", proxy_port);
    if (tm_buf_add(&out, text, (size_t)(at - text)) != TM_OK || tm_buf_adds(&out, repl) != TM_OK ||
        tm_buf_adds(&out, at + strlen(server)) != TM_OK)
        return NULL;
    struct kube_config *cfg =
        kube_config_from_kubeconfig(tm_buf_str(&out), out.len, "proxied", NULL, NULL, &err);
    if (!cfg)
        fprintf(stderr, "proxied kubeconfig: %s\n", err.msg);
    tm_buf_release(&out);
    return cfg;
}

TM_TEST(informer_converges_after_api_server_outage)
{
    struct env e;
    TM_ASSERT(env_init(&e, "inf-outage"));
    struct proxy px;
    int upstream = 0;
    const char *server = kube_config_server(e.cfg);
    const char *colon = strrchr(server, ':');
    TM_ASSERT(colon && proxy_start(&px, (int)strtol(colon + 1, NULL, 10)));
    struct kube_config *pcfg = proxied_config(&e, px.port, &upstream);
    TM_ASSERT(pcfg != NULL);
    struct tm_err err;
    struct tm_proc proc = e.proc;
    proc.kube_config = pcfg;
    struct informer_group *g = informer_group_new(pcfg, &proc, &err);
    TM_ASSERT(g != NULL);
    struct informer_opts o = {.version = "v1", .resource = "configmaps", .ns = e.ns};
    struct informer *inf = informer_group_add(g, &o, &err);
    TM_ASSERT(inf != NULL);
    TM_ASSERT_INT(put_cm(&e, "before", "v", "1", true), TM_OK);
    TM_ASSERT_INT(informer_group_start(g, &err), TM_OK);
    TM_ASSERT(POLL_UNTIL(informer_group_synced(g) && value_is(inf, e.ns, "before", "1"), 30000));

    /* outage: connections dropped, new ones refused; the world changes meanwhile */
    struct informer_stats st0, st;
    informer_get_stats(inf, &st0);
    proxy_set_down(&px, 1);
    TM_ASSERT(POLL_UNTIL(atomic_load(&px.is_down) == 1, 5000));
    TM_ASSERT_INT(del_cm(&e, "before"), TM_OK);
    TM_ASSERT_INT(put_cm(&e, "during", "v", "1", true), TM_OK);
    /* the informer notices: its watch breaks and a reconnect is refused */
    TM_EXPECT(POLL_UNTIL((informer_get_stats(inf, &st), st.errors >= st0.errors + 2), 20000));
    TM_EXPECT(value_is(inf, e.ns, "before", "1")); /* stale but served while down */
    proxy_set_down(&px, 0);
    TM_EXPECT(POLL_UNTIL(absent(inf, e.ns, "before") && value_is(inf, e.ns, "during", "1"), 40000));
    informer_get_stats(inf, &st);
    TM_EXPECT(st.watch_restarts >= st0.watch_restarts + 1);
    fprintf(stderr, "outage: errors=%llu watch_restarts=%llu relists=%llu\n",
            (unsigned long long)st.errors, (unsigned long long)st.watch_restarts,
            (unsigned long long)st.relists);
    /* and it keeps watching afterwards */
    TM_ASSERT_INT(put_cm(&e, "after", "v", "1", true), TM_OK);
    TM_EXPECT(POLL_UNTIL(value_is(inf, e.ns, "after", "1"), 20000));
    informer_group_free(g);
    kube_config_free(pcfg);
    proxy_stop(&px);
    env_release(&e);
}

TM_TEST_MAIN()
