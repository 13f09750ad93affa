/* Informers: list+watch caches on one thread with one curl multi handle
 * (see informer.h for the design and the contracts).
 *
 * Layout: a small chained string hash map (strmap) serves both the cache
 * (key -> cJSON object) and the field indexes ("ns/value" -> set of keys).
 * Each informer has a pthread rwlock: only the group thread writes, under the
 * write lock; readers take the read lock.  Handlers are called after the
 * write lock is dropped, with the replaced objects kept alive until they
 * return. */
#include "runtime/informer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/caps.h"
#include "kube/kube.h"
#include "runtime/metrics.h"

/* ------------------------------------------------------------------ strmap */

struct sm_ent {
    char *key;
    void *val;
    uint64_t h;
    struct sm_ent *next;
};

struct strmap {
    struct sm_ent **b;
    size_t nb, n;
};

static uint64_t sm_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static void sm_release(struct strmap *m, void (*free_val)(void *))
{
    for (size_t i = 0; i < m->nb; i++) {
        struct sm_ent *e = m->b[i];
        while (e) {
            struct sm_ent *n = e->next;
            if (free_val)
                free_val(e->val);
            free(e->key);
            free(e);
            e = n;
        }
    }
    free(m->b);
    m->b = NULL;
    m->nb = m->n = 0;
}

static struct sm_ent *sm_find(const struct strmap *m, const char *key)
{
    if (!m->nb)
        return NULL;
    uint64_t h = sm_hash(key);
    for (struct sm_ent *e = m->b[h & (m->nb - 1)]; e; e = e->next)
        if (e->h == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void *sm_get(const struct strmap *m, const char *key)
{
    struct sm_ent *e = sm_find(m, key);
    return e ? e->val : NULL;
}

static void sm_grow(struct strmap *m)
{
    size_t n = m->nb ? m->nb * 2 : 64;
    struct sm_ent **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < m->nb; i++) {
        struct sm_ent *e = m->b[i];
        while (e) {
            struct sm_ent *next = e->next;
            e->next = nb[e->h & (n - 1)];
            nb[e->h & (n - 1)] = e;
            e = next;
        }
    }
    free(m->b);
    m->b = nb;
    m->nb = n;
}

/* Sets key to val; *old gets the previous value (NULL when new).  false on
 * allocation failure (map unchanged). */
static bool sm_put(struct strmap *m, const char *key, void *val, void **old)
{
    *old = NULL;
    struct sm_ent *e = sm_find(m, key);
    if (e) {
        *old = e->val;
        e->val = val;
        return true;
    }
    if (m->n >= m->nb)
        sm_grow(m);
    if (!m->nb)
        return false;
    e = calloc(1, sizeof(*e));
    if (!e || !(e->key = strdup(key))) {
        free(e);
        return false;
    }
    e->h = sm_hash(key);
    e->val = val;
    e->next = m->b[e->h & (m->nb - 1)];
    m->b[e->h & (m->nb - 1)] = e;
    m->n++;
    return true;
}

/* Removes key; returns its value (NULL when absent). */
static void *sm_del(struct strmap *m, const char *key)
{
    if (!m->nb)
        return NULL;
    uint64_t h = sm_hash(key);
    struct sm_ent **pp = &m->b[h & (m->nb - 1)];
    for (; *pp; pp = &(*pp)->next) {
        struct sm_ent *e = *pp;
        if (e->h == h && strcmp(e->key, key) == 0) {
            void *v = e->val;
            *pp = e->next;
            free(e->key);
            free(e);
            m->n--;
            return v;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ types */

struct keyset {
    char **keys;
    size_t n, a;
};

struct field_index {
    char *path;
    struct strmap map; /* "ns/value" -> struct keyset */
};

enum inf_state { ST_LIST = 0, ST_WATCH_WAIT, ST_WATCHING };

struct informer {
    struct informer_group *g;
    char *group, *version, *resource, *ns, *selector;
    char *label;     /* metric label */
    char *path;      /* collection path */
    int watch_timeout_s;
    long page_size;

    pthread_rwlock_t lock;
    struct strmap cache; /* key -> cJSON* */
    struct field_index idx[INFORMER_MAX_INDEXES];
    size_t nidx;

    struct informer_handlers handlers[INFORMER_MAX_HANDLERS];
    size_t nhandlers;

    /* group-thread state */
    enum inf_state state;
    int64_t next_at;
    int64_t backoff_ms;
    struct kube_watch *watch;
    bool expired;        /* an EXPIRED event arrived */
    char rv[KUBE_RV_MAX];
    pthread_mutex_t rv_mu; /* rv is read by informer_last_rv from other threads */

    atomic_bool synced;
    _Atomic uint64_t st_lists, st_relists, st_watches, st_restarts, st_events, st_bookmarks,
        st_synth, st_errors;
};

struct informer_group {
    struct kube_config *cfg;
    const struct tm_proc *proc;
    struct informer **infs;
    size_t ninfs;
    CURLM *multi;
    pthread_t thread;
    bool running;
    atomic_bool stop;
    struct kube_client *client; /* lists; group thread only */
    struct metrics_family *m_restarts, *m_relists;
};

/* ------------------------------------------------------------------ helpers */

static int64_t now_ms(const struct informer_group *g)
{
    return tm_clock_now(&g->proc->clock);
}

static const char *str_at(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, a);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool informer_key(const cJSON *obj, char *out, size_t n)
{
    const char *name = str_at(obj, "metadata", "name");
    const char *ns = str_at(obj, "metadata", "namespace");
    if (!name || !*name)
        return false;
    int w = ns && *ns ? snprintf(out, n, "%s/%s", ns, name) : snprintf(out, n, "%s", name);
    return w > 0 && (size_t)w < n;
}

bool informer_split_key(const char *key, char *ns, size_t nsn, char *name, size_t namen)
{
    const char *slash = strchr(key, '/');
    size_t nl = slash ? (size_t)(slash - key) : 0;
    const char *nm = slash ? slash + 1 : key;
    if (nl >= nsn || strlen(nm) >= namen)
        return false;
    memcpy(ns, key, nl);
    ns[nl] = '\0';
    memcpy(name, nm, strlen(nm) + 1);
    return true;
}

static const char *rv_of(const cJSON *obj)
{
    const char *rv = str_at(obj, "metadata", "resourceVersion");
    return rv ? rv : "";
}

/* The string at a dotted path, or NULL. */
static const char *str_path(const cJSON *obj, const char *path)
{
    char part[128];
    const cJSON *cur = obj;
    const char *p = path;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, part);
        p += n;
        if (*p == '.')
            p++;
    }
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

static void set_rv(struct informer *inf, const char *rv)
{
    if (!rv || !*rv)
        return;
    pthread_mutex_lock(&inf->rv_mu);
    snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
    pthread_mutex_unlock(&inf->rv_mu);
}

/* ------------------------------------------------------------------ indexes */

static void keyset_free(void *p)
{
    struct keyset *ks = p;
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++)
        free(ks->keys[i]);
    free(ks->keys);
    free(ks);
}

/* index key: "ns/value" */
static bool index_key(const cJSON *obj, const char *path, char *out, size_t n)
{
    const char *v = str_path(obj, path);
    if (!v)
        return false;
    const char *ns = str_at(obj, "metadata", "namespace");
    int w = snprintf(out, n, "%s/%s", ns ? ns : "", v);
    return w > 0 && (size_t)w < n;
}

static void index_remove(struct field_index *fi, const cJSON *obj, const char *key)
{
    char ik[INFORMER_KEY_MAX];
    if (!obj || !index_key(obj, fi->path, ik, sizeof(ik)))
        return;
    struct keyset *ks = sm_get(&fi->map, ik);
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        if (strcmp(ks->keys[i], key) == 0) {
            free(ks->keys[i]);
            ks->keys[i] = ks->keys[--ks->n];
            break;
        }
    }
    if (ks->n == 0)
        keyset_free(sm_del(&fi->map, ik));
}

/* Best effort: an allocation failure leaves the object unindexed (and is
 * counted as an error). */
static void index_add(struct informer *inf, struct field_index *fi, const cJSON *obj,
                      const char *key)
{
    char ik[INFORMER_KEY_MAX];
    if (!index_key(obj, fi->path, ik, sizeof(ik)))
        return;
    struct keyset *ks = sm_get(&fi->map, ik);
    if (!ks) {
        void *old;
        ks = calloc(1, sizeof(*ks));
        if (!ks || !sm_put(&fi->map, ik, ks, &old)) {
            free(ks);
            atomic_fetch_add(&inf->st_errors, 1);
            return;
        }
    }
    if (ks->n == ks->a) {
        size_t a = ks->a ? ks->a * 2 : 2;
        char **nk = realloc(ks->keys, a * sizeof(*nk));
        if (!nk) {
            atomic_fetch_add(&inf->st_errors, 1);
            return;
        }
        ks->keys = nk;
        ks->a = a;
    }
    char *k = strdup(key);
    if (!k) {
        atomic_fetch_add(&inf->st_errors, 1);
        return;
    }
    ks->keys[ks->n++] = k;
}

/* ------------------------------------------------------------------ cache writes
 * (group thread, write lock held) */

/* Stores obj (taken) under key; returns the replaced object (caller frees
 * after the handlers ran) through *old.  false on allocation failure (obj
 * freed, cache unchanged). */
static bool cache_put(struct informer *inf, const char *key, cJSON *obj, cJSON **old)
{
    void *prev = NULL;
    if (!sm_put(&inf->cache, key, obj, &prev)) {
        cJSON_Delete(obj);
        *old = NULL;
        atomic_fetch_add(&inf->st_errors, 1);
        return false;
    }
    *old = prev;
    for (size_t i = 0; i < inf->nidx; i++) {
        index_remove(&inf->idx[i], prev, key);
        index_add(inf, &inf->idx[i], obj, key);
    }
    return true;
}

static cJSON *cache_del(struct informer *inf, const char *key)
{
    cJSON *prev = sm_del(&inf->cache, key);
    for (size_t i = 0; prev && i < inf->nidx; i++)
        index_remove(&inf->idx[i], prev, key);
    return prev;
}

static void strip(cJSON *obj)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (md)
        cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
}

static void fire_add(struct informer *inf, const cJSON *obj)
{
    for (size_t i = 0; i < inf->nhandlers; i++)
        if (inf->handlers[i].on_add)
            inf->handlers[i].on_add(inf->handlers[i].ctx, obj);
}

static void fire_update(struct informer *inf, const cJSON *old, const cJSON *obj)
{
    for (size_t i = 0; i < inf->nhandlers; i++)
        if (inf->handlers[i].on_update)
            inf->handlers[i].on_update(inf->handlers[i].ctx, old, obj);
}

static void fire_delete(struct informer *inf, const cJSON *obj)
{
    for (size_t i = 0; i < inf->nhandlers; i++)
        if (inf->handlers[i].on_delete)
            inf->handlers[i].on_delete(inf->handlers[i].ctx, obj);
}

/* ------------------------------------------------------------------ logging */

static void log_inf(struct informer *inf, enum log_level lvl, const char *msg,
                    const struct tm_err *err)
{
    struct tm_log *lg = inf->g->proc->log;
    if (err)
        log_fields(lg, lvl, msg, LF_S("resource", inf->label), LF_S("namespace", inf->ns ? inf->ns : ""),
                   LF_S("err", err->msg), LF_I("http_status", err->http_status), LF_END);
    else
        log_fields(lg, lvl, msg, LF_S("resource", inf->label), LF_S("namespace", inf->ns ? inf->ns : ""),
                   LF_END);
}

/* ------------------------------------------------------------------ list */

struct pending {
    cJSON *old;       /* replaced or deleted object (freed after handlers) */
    const cJSON *obj; /* new object (in the cache) or NULL for a delete */
};

static void backoff(struct informer *inf, enum inf_state next)
{
    int64_t b = inf->backoff_ms ? inf->backoff_ms * 2 : INFORMER_BACKOFF_MIN_MS;
    if (b > INFORMER_BACKOFF_MAX_MS)
        b = INFORMER_BACKOFF_MAX_MS;
    inf->backoff_ms = b;
    inf->state = next;
    inf->next_at = now_ms(inf->g) + b;
    atomic_fetch_add(&inf->st_errors, 1);
}

/* Lists and replaces the cache; fires handlers.  On failure backs off. */
static void do_list(struct informer *inf)
{
    struct informer_group *g = inf->g;
    struct tm_err err;
    tm_err_clear(&err);
    cJSON *list = NULL;
    struct kube_list_opts lo = {.label_selector = inf->selector, .limit = inf->page_size};
    enum tm_code rc = kube_list(g->client, inf->path, &lo, &list, &err);
    if (rc != TM_OK) {
        log_inf(inf, LOG_WARN, "list failed", &err);
        backoff(inf, ST_LIST);
        return;
    }
    cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items");
    const char *list_rv = str_at(list, "metadata", "resourceVersion");
    size_t n = (size_t)cJSON_GetArraySize(items);
    struct pending *pend = calloc(n + inf->cache.n + 1, sizeof(*pend));
    if (!pend) {
        cJSON_Delete(list);
        backoff(inf, ST_LIST);
        return;
    }
    size_t np = 0;
    struct strmap seen = {0};
    bool ok = true;

    pthread_rwlock_wrlock(&inf->lock);
    cJSON *item;
    while (ok && (item = cJSON_DetachItemFromArray(items, 0)) != NULL) {
        char key[INFORMER_KEY_MAX];
        void *dummy;
        if (!informer_key(item, key, sizeof(key))) {
            cJSON_Delete(item);
            continue;
        }
        strip(item);
        cJSON *cur = sm_get(&inf->cache, key);
        if (!sm_put(&seen, key, (void *)1, &dummy)) {
            cJSON_Delete(item);
            ok = false;
            break;
        }
        if (cur && strcmp(rv_of(cur), rv_of(item)) == 0) {
            cJSON_Delete(item); /* unchanged: keep the cached one, no event */
            continue;
        }
        cJSON *old = NULL;
        if (!cache_put(inf, key, item, &old)) {
            ok = false;
            break;
        }
        pend[np++] = (struct pending){.old = old, .obj = item};
    }
    /* synthesized deletes: cached objects missing from the new list */
    if (ok) {
        for (size_t i = 0; i < inf->cache.nb; i++) {
            struct sm_ent *e = inf->cache.b[i];
            while (e) {
                struct sm_ent *next = e->next;
                if (!sm_find(&seen, e->key)) {
                    char key[INFORMER_KEY_MAX];
                    snprintf(key, sizeof(key), "%s", e->key);
                    pend[np++] = (struct pending){.old = cache_del(inf, key), .obj = NULL};
                }
                e = next;
            }
        }
    }
    pthread_rwlock_unlock(&inf->lock);
    sm_release(&seen, NULL);

    for (size_t i = 0; i < np; i++) {
        if (!pend[i].obj) {
            fire_delete(inf, pend[i].old);
            atomic_fetch_add(&inf->st_synth, 1);
        } else if (pend[i].old) {
            fire_update(inf, pend[i].old, pend[i].obj);
        } else {
            fire_add(inf, pend[i].obj);
        }
        cJSON_Delete(pend[i].old);
    }
    free(pend);

    if (!ok) {
        cJSON_Delete(list);
        log_fields(g->proc->log, LOG_ERROR, "list failed", LF_S("resource", inf->label),
                   LF_S("err", "out of memory"), LF_END);
        backoff(inf, ST_LIST);
        return;
    }
    set_rv(inf, list_rv);
    cJSON_Delete(list);
    uint64_t lists = atomic_fetch_add(&inf->st_lists, 1) + 1;
    if (lists > 1) {
        atomic_fetch_add(&inf->st_relists, 1);
        metrics_inc(g->m_relists, (const char *[]){inf->label});
    }
    log_fields(g->proc->log, LOG_INFO, "cache listed", LF_S("resource", inf->label),
               LF_S("namespace", inf->ns ? inf->ns : ""), LF_I("objects", (long long)inf->cache.n),
               LF_END);
    atomic_store(&inf->synced, true);
    inf->backoff_ms = 0;
    inf->expired = false;
    inf->state = ST_WATCH_WAIT;
    inf->next_at = now_ms(g);
}

/* ------------------------------------------------------------------ watch */

static enum tm_code on_event(void *ctx, struct kube_watch_event *ev, struct tm_err *err)
{
    struct informer *inf = ctx;
    (void)err;
    switch (ev->type) {
    case KUBE_WATCH_BOOKMARK:
        set_rv(inf, ev->resource_version);
        atomic_fetch_add(&inf->st_bookmarks, 1);
        return TM_OK;
    case KUBE_WATCH_EXPIRED:
        inf->expired = true;
        return TM_OK;
    case KUBE_WATCH_ERROR: {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(ev->object, "message");
        const char *msg = cJSON_IsString(m) ? m->valuestring : "unknown";
        log_fields(inf->g->proc->log, LOG_WARN, "watch error event", LF_S("resource", inf->label),
                   LF_S("err", msg), LF_END);
        return TM_OK;
    }
    case KUBE_WATCH_ADDED:
    case KUBE_WATCH_MODIFIED:
    case KUBE_WATCH_DELETED:
        break;
    }
    char key[INFORMER_KEY_MAX];
    if (!ev->object || !informer_key(ev->object, key, sizeof(key)))
        return TM_OK;
    char rv[KUBE_RV_MAX];
    snprintf(rv, sizeof(rv), "%s", ev->resource_version ? ev->resource_version : "");
    atomic_fetch_add(&inf->st_events, 1);
    if (ev->type == KUBE_WATCH_DELETED) {
        pthread_rwlock_wrlock(&inf->lock);
        cJSON *old = cache_del(inf, key);
        pthread_rwlock_unlock(&inf->lock);
        fire_delete(inf, ev->object);
        cJSON_Delete(old);
    } else {
        cJSON *obj = ev->object;
        ev->object = NULL; /* taken */
        strip(obj);
        cJSON *old = NULL;
        pthread_rwlock_wrlock(&inf->lock);
        bool ok = cache_put(inf, key, obj, &old);
        pthread_rwlock_unlock(&inf->lock);
        if (ok) {
            if (old)
                fire_update(inf, old, obj);
            else
                fire_add(inf, obj);
        }
        cJSON_Delete(old);
    }
    set_rv(inf, rv);
    return TM_OK;
}

static void start_watch(struct informer *inf)
{
    struct informer_group *g = inf->g;
    struct tm_err err;
    tm_err_clear(&err);
    char rv[KUBE_RV_MAX];
    informer_last_rv(inf, rv, sizeof(rv));
    if (!inf->watch) {
        int t = inf->watch_timeout_s;
        if (t <= 0) {
            /* client-go: minWatchTimeout 5 min * (1 + rand) ; we spread 240..300 s */
            t = 240 + (int)(((uintptr_t)inf >> 4) % 61);
        }
        struct kube_watch_opts wo = {
            .path = inf->path,
            .resource_version = rv,
            .label_selector = inf->selector,
            .timeout_seconds = t,
            .on_event = on_event,
            .ctx = inf,
            .stop = &g->stop,
        };
        inf->watch = kube_watch_new(g->cfg, &wo, &err);
        if (!inf->watch) {
            log_inf(inf, LOG_ERROR, "watch failed", &err);
            backoff(inf, ST_WATCH_WAIT);
            return;
        }
    } else if (kube_watch_set_rv(inf->watch, rv, &err) != TM_OK) {
        log_inf(inf, LOG_ERROR, "watch failed", &err);
        backoff(inf, ST_LIST);
        return;
    }
    if (kube_watch_start(inf->watch, g->multi, &err) != TM_OK) {
        log_inf(inf, LOG_WARN, "watch failed", &err);
        backoff(inf, ST_WATCH_WAIT);
        return;
    }
    inf->state = ST_WATCHING;
    uint64_t w = atomic_fetch_add(&inf->st_watches, 1) + 1;
    if (w > 1) {
        atomic_fetch_add(&inf->st_restarts, 1);
        metrics_inc(g->m_restarts, (const char *[]){inf->label});
    }
}

static void watch_done(struct informer *inf, CURLcode result)
{
    struct informer_group *g = inf->g;
    struct tm_err err;
    tm_err_clear(&err);
    enum kube_watch_end end = kube_watch_done(inf->watch, g->multi, result, &err);
    if (inf->expired && end != KUBE_WATCH_END_CANCELLED)
        end = KUBE_WATCH_END_EXPIRED;
    /* keep our RV in step with what the watch saw */
    set_rv(inf, kube_watch_last_rv(inf->watch));
    switch (end) {
    case KUBE_WATCH_END_CLOSED:
        log_inf(inf, LOG_DEBUG, "watch closed", NULL);
        inf->backoff_ms = 0;
        inf->state = ST_WATCH_WAIT;
        inf->next_at = now_ms(g);
        break;
    case KUBE_WATCH_END_EXPIRED:
        log_inf(inf, LOG_INFO, "watch expired, relisting", NULL);
        inf->expired = false;
        inf->state = ST_LIST;
        inf->next_at = now_ms(g);
        break;
    case KUBE_WATCH_END_ERROR:
        log_inf(inf, LOG_WARN, "watch failed", &err);
        backoff(inf, ST_WATCH_WAIT);
        break;
    case KUBE_WATCH_END_CANCELLED:
        inf->state = ST_WATCH_WAIT;
        inf->next_at = now_ms(g);
        break;
    }
}

static void *group_main(void *arg)
{
    struct informer_group *g = arg;
    struct tm_err err;
    tm_err_clear(&err);
    struct kube_client_opts co = {.timeout_ms = 60000}; /* one page; stop waits for it */
    g->client = kube_client_new(g->cfg, &co, &err);
    if (!g->client) {
        log_fields(g->proc->log, LOG_ERROR, "informers cannot start", LF_S("err", err.msg),
                   LF_END);
        return NULL;
    }
    for (size_t i = 0; i < g->ninfs; i++) {
        struct informer *inf = g->infs[i];
        if (inf->state == ST_WATCHING)
            inf->state = ST_WATCH_WAIT;
        inf->next_at = now_ms(g);
    }
    while (!atomic_load(&g->stop)) {
        int64_t now = now_ms(g);
        int64_t wait = 1000;
        for (size_t i = 0; i < g->ninfs && !atomic_load(&g->stop); i++) {
            struct informer *inf = g->infs[i];
            if (inf->state == ST_LIST && now >= inf->next_at)
                do_list(inf);
            if (inf->state == ST_WATCH_WAIT && now_ms(g) >= inf->next_at)
                start_watch(inf);
            if (inf->state != ST_WATCHING) {
                int64_t d = inf->next_at - now_ms(g);
                if (d < wait)
                    wait = d < 0 ? 0 : d;
            }
        }
        if (atomic_load(&g->stop))
            break;
        int numfds = 0;
        curl_multi_poll(g->multi, NULL, 0, (int)wait, &numfds);
        int running = 0;
        curl_multi_perform(g->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(g->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            for (size_t i = 0; i < g->ninfs; i++) {
                struct informer *inf = g->infs[i];
                if (inf->watch && inf->state == ST_WATCHING &&
                    kube_watch_easy(inf->watch) == msg->easy_handle) {
                    watch_done(inf, msg->data.result);
                    break;
                }
            }
        }
    }
    /* take every watch out of the multi handle; they restart on the next start */
    for (size_t i = 0; i < g->ninfs; i++) {
        struct informer *inf = g->infs[i];
        if (inf->state == ST_WATCHING) {
            struct tm_err e2;
            (void)kube_watch_done(inf->watch, g->multi, CURLE_ABORTED_BY_CALLBACK, &e2);
            set_rv(inf, kube_watch_last_rv(inf->watch));
            inf->state = ST_WATCH_WAIT;
        }
    }
    kube_client_free(g->client);
    g->client = NULL;
    return NULL;
}

/* ------------------------------------------------------------------ group API */

struct informer_group *informer_group_new(struct kube_config *cfg, const struct tm_proc *proc,
                                          struct tm_err *err)
{
    struct informer_group *g = calloc(1, sizeof(*g));
    if (!g) {
        tm_err_set(err, TM_E_NOMEM, "informers: out of memory");
        return NULL;
    }
    g->cfg = cfg;
    g->proc = proc;
    if (kube_global_init(err) != TM_OK) {
        free(g);
        return NULL;
    }
    g->multi = curl_multi_init();
    if (!g->multi) {
        free(g);
        tm_err_set(err, TM_E_NOMEM, "informers: curl_multi_init failed");
        return NULL;
    }
    if (proc->metrics) {
        g->m_restarts = metrics_counter(proc->metrics, "tidemark_watch_restarts_total",
                                        "Watches started again after the first, by resource.",
                                        "resource", err);
        g->m_relists = metrics_counter(proc->metrics, "tidemark_relists_total",
                                       "Lists after the first (410 Expired), by resource.",
                                       "resource", err);
        if (!g->m_restarts || !g->m_relists) {
            curl_multi_cleanup(g->multi);
            free(g);
            return NULL;
        }
    }
    return g;
}

static void informer_free(struct informer *inf)
{
    if (!inf)
        return;
    kube_watch_free(inf->watch);
    sm_release(&inf->cache, (void (*)(void *))cJSON_Delete);
    for (size_t i = 0; i < inf->nidx; i++) {
        sm_release(&inf->idx[i].map, keyset_free);
        free(inf->idx[i].path);
    }
    pthread_rwlock_destroy(&inf->lock);
    pthread_mutex_destroy(&inf->rv_mu);
    free(inf->group);
    free(inf->version);
    free(inf->resource);
    free(inf->ns);
    free(inf->selector);
    free(inf->label);
    free(inf->path);
    free(inf);
}

static bool same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static char *dup_or_null(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

struct informer *informer_group_add(struct informer_group *g, const struct informer_opts *o,
                                    struct tm_err *err)
{
    if (!o->version || !o->resource || !*o->version || !*o->resource) {
        tm_err_set(err, TM_E_INVAL, "informer: version and resource are required");
        return NULL;
    }
    if (g->running) {
        tm_err_set(err, TM_E_INVAL, "informer %s: add before start", o->resource);
        return NULL;
    }
    for (size_t i = 0; i < g->ninfs; i++) {
        struct informer *x = g->infs[i];
        if (same_str(x->group, o->group) && same_str(x->version, o->version) &&
            same_str(x->resource, o->resource) && same_str(x->ns, o->ns) &&
            same_str(x->selector, o->label_selector))
            return x;
    }
    struct informer *inf = calloc(1, sizeof(*inf));
    struct informer **ni = realloc(g->infs, (g->ninfs + 1) * sizeof(*ni));
    if (!inf || !ni) {
        free(inf);
        if (ni)
            g->infs = ni;
        tm_err_set(err, TM_E_NOMEM, "informer %s: out of memory", o->resource);
        return NULL;
    }
    g->infs = ni;
    pthread_rwlock_init(&inf->lock, NULL);
    pthread_mutex_init(&inf->rv_mu, NULL);
    atomic_init(&inf->synced, false);
    inf->g = g;
    bool ok = true;
    inf->group = dup_or_null(o->group && *o->group ? o->group : NULL, &ok);
    inf->version = dup_or_null(o->version, &ok);
    inf->resource = dup_or_null(o->resource, &ok);
    inf->ns = dup_or_null(o->ns && *o->ns ? o->ns : NULL, &ok);
    inf->selector = dup_or_null(o->label_selector && *o->label_selector ? o->label_selector : NULL,
                                &ok);
    inf->watch_timeout_s = o->watch_timeout_s;
    inf->page_size = o->page_size > 0 ? o->page_size : 500;
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    if (ok && tm_buf_addf(&b, "%s%s%s", inf->resource, inf->group ? "." : "",
                          inf->group ? inf->group : "") == TM_OK)
        inf->label = tm_buf_detach(&b, NULL);
    struct kube_ref ref = {.group = inf->group, .version = inf->version, .ns = inf->ns,
                           .resource = inf->resource};
    if (ok && inf->label && kube_path(&b, &ref, err) == TM_OK)
        inf->path = tm_buf_detach(&b, NULL);
    tm_buf_release(&b);
    if (!ok || !inf->label || !inf->path) {
        if (!ok || !inf->label)
            tm_err_set(err, TM_E_NOMEM, "informer %s: out of memory", o->resource);
        informer_free(inf);
        return NULL;
    }
    g->infs[g->ninfs++] = inf;
    return inf;
}

enum tm_code informer_group_start(struct informer_group *g, struct tm_err *err)
{
    if (g->running)
        return tm_err_set(err, TM_E_INVAL, "informers already running");
    atomic_store(&g->stop, false);
    int rc = pthread_create(&g->thread, NULL, group_main, g);
    if (rc != 0)
        return tm_err_set(err, TM_E_INTERNAL, "informers: thread: %s", strerror(rc));
    g->running = true;
    return TM_OK;
}

void informer_group_stop(struct informer_group *g)
{
    if (!g || !g->running)
        return;
    atomic_store(&g->stop, true);
    curl_multi_wakeup(g->multi);
    pthread_join(g->thread, NULL);
    g->running = false;
}

void informer_group_free(struct informer_group *g)
{
    if (!g)
        return;
    informer_group_stop(g);
    for (size_t i = 0; i < g->ninfs; i++)
        informer_free(g->infs[i]);
    free(g->infs);
    curl_multi_cleanup(g->multi);
    free(g);
}

bool informer_group_synced(struct informer_group *g)
{
    for (size_t i = 0; i < g->ninfs; i++)
        if (!atomic_load(&g->infs[i]->synced))
            return false;
    return true;
}

/* ------------------------------------------------------------------ informer API */

enum tm_code informer_add_handlers(struct informer *inf, const struct informer_handlers *h,
                                   struct tm_err *err)
{
    if (inf->nhandlers == INFORMER_MAX_HANDLERS)
        return tm_err_set(err, TM_E_TOOBIG, "informer %s: too many handlers", inf->label);
    inf->handlers[inf->nhandlers++] = *h;
    return TM_OK;
}

enum tm_code informer_add_field_index(struct informer *inf, const char *path, struct tm_err *err)
{
    for (size_t i = 0; i < inf->nidx; i++)
        if (strcmp(inf->idx[i].path, path) == 0)
            return TM_OK;
    if (inf->nidx == INFORMER_MAX_INDEXES)
        return tm_err_set(err, TM_E_TOOBIG, "informer %s: too many indexes", inf->label);
    char *p = strdup(path);
    if (!p)
        return tm_err_set(err, TM_E_NOMEM, "informer %s: out of memory", inf->label);
    pthread_rwlock_wrlock(&inf->lock);
    struct field_index *fi = &inf->idx[inf->nidx++];
    fi->path = p;
    memset(&fi->map, 0, sizeof(fi->map));
    /* index what is cached already */
    for (size_t i = 0; i < inf->cache.nb; i++)
        for (struct sm_ent *e = inf->cache.b[i]; e; e = e->next)
            index_add(inf, fi, e->val, e->key);
    pthread_rwlock_unlock(&inf->lock);
    return TM_OK;
}

enum tm_code informer_set_resume_rv(struct informer *inf, const char *rv, struct tm_err *err)
{
    if (inf->g->running)
        return tm_err_set(err, TM_E_INVAL, "informer %s: set the resume RV while stopped",
                          inf->label);
    if (strlen(rv) >= KUBE_RV_MAX)
        return tm_err_set(err, TM_E_TOOBIG, "informer %s: resourceVersion too long", inf->label);
    set_rv(inf, rv);
    if (inf->state == ST_WATCHING)
        inf->state = ST_WATCH_WAIT;
    return TM_OK;
}

bool informer_has_synced(struct informer *inf)
{
    return atomic_load(&inf->synced);
}

static bool make_key(const char *ns, const char *name, char *out, size_t n)
{
    int w = ns && *ns ? snprintf(out, n, "%s/%s", ns, name) : snprintf(out, n, "%s", name);
    return w > 0 && (size_t)w < n;
}

enum tm_code informer_get(struct informer *inf, const char *ns, const char *name, cJSON **out,
                          struct tm_err *err)
{
    char key[INFORMER_KEY_MAX];
    *out = NULL;
    if (!make_key(ns, name, key, sizeof(key)))
        return tm_err_set(err, TM_E_INVAL, "%s: key too long", inf->label);
    enum tm_code rc = TM_OK;
    pthread_rwlock_rdlock(&inf->lock);
    const cJSON *obj = sm_get(&inf->cache, key);
    if (!obj)
        rc = tm_err_set(err, TM_E_NOTFOUND, "%s %s not in cache", inf->label, key);
    else if (!(*out = cJSON_Duplicate(obj, true)))
        rc = tm_err_set(err, TM_E_NOMEM, "%s %s: out of memory", inf->label, key);
    pthread_rwlock_unlock(&inf->lock);
    return rc;
}

void informer_read_lock(struct informer *inf)
{
    pthread_rwlock_rdlock(&inf->lock);
}

const cJSON *informer_peek(struct informer *inf, const char *ns, const char *name)
{
    char key[INFORMER_KEY_MAX];
    if (!make_key(ns, name, key, sizeof(key)))
        return NULL;
    return sm_get(&inf->cache, key);
}

void informer_read_unlock(struct informer *inf)
{
    pthread_rwlock_unlock(&inf->lock);
}

void informer_foreach(struct informer *inf, const char *ns,
                      bool (*fn)(void *ctx, const cJSON *obj), void *ctx)
{
    pthread_rwlock_rdlock(&inf->lock);
    bool go = true;
    for (size_t i = 0; go && i < inf->cache.nb; i++) {
        for (struct sm_ent *e = inf->cache.b[i]; go && e; e = e->next) {
            if (ns) {
                const char *ons = str_at(e->val, "metadata", "namespace");
                if (!ons || strcmp(ons, ns) != 0)
                    continue;
            }
            go = fn(ctx, e->val);
        }
    }
    pthread_rwlock_unlock(&inf->lock);
}

enum tm_code informer_index_keys(struct informer *inf, const char *path, const char *ns,
                                 const char *value, void (*fn)(void *ctx, const char *key),
                                 void *ctx, struct tm_err *err)
{
    char ik[INFORMER_KEY_MAX];
    int w = snprintf(ik, sizeof(ik), "%s/%s", ns ? ns : "", value);
    if (w < 0 || (size_t)w >= sizeof(ik))
        return tm_err_set(err, TM_E_INVAL, "index value too long");
    enum tm_code rc = TM_E_NOTFOUND;
    pthread_rwlock_rdlock(&inf->lock);
    for (size_t i = 0; i < inf->nidx; i++) {
        if (strcmp(inf->idx[i].path, path) != 0)
            continue;
        rc = TM_OK;
        const struct keyset *ks = sm_get(&inf->idx[i].map, ik);
        for (size_t k = 0; ks && k < ks->n; k++)
            fn(ctx, ks->keys[k]);
    }
    pthread_rwlock_unlock(&inf->lock);
    if (rc != TM_OK)
        tm_err_set(err, rc, "informer %s: no index on %s", inf->label, path);
    return rc;
}

size_t informer_len(struct informer *inf)
{
    pthread_rwlock_rdlock(&inf->lock);
    size_t n = inf->cache.n;
    pthread_rwlock_unlock(&inf->lock);
    return n;
}

void informer_last_rv(struct informer *inf, char *out, size_t n)
{
    pthread_mutex_lock(&inf->rv_mu);
    snprintf(out, n, "%s", inf->rv);
    pthread_mutex_unlock(&inf->rv_mu);
}

void informer_get_stats(struct informer *inf, struct informer_stats *out)
{
    out->lists = atomic_load(&inf->st_lists);
    out->relists = atomic_load(&inf->st_relists);
    out->watches = atomic_load(&inf->st_watches);
    out->watch_restarts = atomic_load(&inf->st_restarts);
    out->events = atomic_load(&inf->st_events);
    out->bookmarks = atomic_load(&inf->st_bookmarks);
    out->synthesized_deletes = atomic_load(&inf->st_synth);
    out->errors = atomic_load(&inf->st_errors);
}

const char *informer_resource_label(const struct informer *inf)
{
    return inf->label;
}
