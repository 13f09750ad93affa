/* Informers: a group of list+watch caches (see informer.h for the design and
 * the contracts).
 *
 * Layout: an informer is its options, a store (store.c: objects and
 * indexes) and a reflector (reflector.c: list, watch, relist, handlers).
 * This file owns the group's two threads:
 *   - the watch thread runs every reflector's watch in one curl multi
 *     handle, applies list results and fires the handlers (all cache
 *     writes happen on it);
 *   - the list thread runs the blocking LIST requests, one at a time, in
 *     the order they became due, with its own API client, and hands each
 *     result back to the watch thread (curl_multi_wakeup).
 * An informer of several namespaces is one part per namespace: each part
 * has its own store and reflector (its own list and watch of
 * /namespaces/NS/...), and the informer's reads pick the part of the
 * namespace asked for (or visit every part).  A relist of one namespace
 * therefore never drops another's objects, and the store and reflector stay
 * one-namespace-or-all, as client-go's are (controller-runtime's
 * multi-namespace cache does the same: one informer per namespace).
 * A list slot per part (guarded by list_mu) carries a request to the list
 * thread and its result back. */
#include "runtime/informer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/caps.h"
#include "kube/kube.h"
#include "runtime/metrics.h"
#include "runtime/reflector.h"
#include "runtime/store.h"

_Static_assert(INFORMER_KEY_MAX == STORE_KEY_MAX, "informer and store keys have one bound");
_Static_assert(INFORMER_MAX_INDEXES == STORE_MAX_INDEXES, "one index bound");

/* Where a list stands between the two threads. */
enum list_slot { LIST_IDLE = 0, LIST_QUEUED, LIST_FETCHING, LIST_DONE };

/* One namespace of an informer (or all namespaces, when ns is NULL). */
struct informer_part {
    struct informer *inf;
    char *ns;   /* NULL: all namespaces */
    char *path; /* collection path */
    struct store *store;
    struct reflector *refl;

    /* list hand-over, guarded by g->list_mu */
    enum list_slot slot;
    enum tm_code list_rc;
    cJSON *list;
    struct tm_err list_err;
};

struct informer {
    struct informer_group *g;
    char *group, *version, *resource, *selector;
    char *label; /* metric label */
    struct informer_part *parts; /* one per namespace; one with ns NULL: all */
    size_t nparts;
};

struct informer_group {
    const struct tm_proc *proc;
    struct reflector_env env;
    struct informer **infs;
    size_t ninfs;
    CURLM *multi;
    pthread_t thread;
    bool running;
    atomic_bool stop;

    pthread_t lister;
    pthread_mutex_t list_mu;
    pthread_cond_t list_cv;       /* the list thread: a list queued, or stop */
    struct kube_client *client;   /* the list thread's */
};

/* ------------------------------------------------------------------ list thread */

/* list_mu held.  The first queued part, or NULL. */
static struct informer_part *next_queued(struct informer_group *g)
{
    for (size_t i = 0; i < g->ninfs; i++)
        for (size_t j = 0; j < g->infs[i]->nparts; j++)
            if (g->infs[i]->parts[j].slot == LIST_QUEUED)
                return &g->infs[i]->parts[j];
    return NULL;
}

static void *lister_main(void *arg)
{
    struct informer_group *g = arg;
    pthread_mutex_lock(&g->list_mu);
    for (;;) {
        struct informer_part *p = NULL;
        while (!atomic_load(&g->stop) && !(p = next_queued(g)))
            pthread_cond_wait(&g->list_cv, &g->list_mu);
        if (atomic_load(&g->stop))
            break;
        p->slot = LIST_FETCHING;
        pthread_mutex_unlock(&g->list_mu);

        struct tm_err err;
        tm_err_clear(&err);
        cJSON *list = NULL;
        enum tm_code rc = reflector_list_fetch(p->refl, g->client, &list, &err);

        pthread_mutex_lock(&g->list_mu);
        p->list_rc = rc;
        p->list = list;
        p->list_err = err;
        p->slot = LIST_DONE;
        curl_multi_wakeup(g->multi);
    }
    pthread_mutex_unlock(&g->list_mu);
    return NULL;
}

/* Watch thread: queues part p's list for the list thread. */
static void queue_list(struct informer_part *p)
{
    struct informer_group *g = p->inf->g;
    pthread_mutex_lock(&g->list_mu);
    p->slot = LIST_QUEUED;
    pthread_cond_signal(&g->list_cv);
    pthread_mutex_unlock(&g->list_mu);
}

/* Watch thread: applies part p's list result when there is one. */
static void collect_list(struct informer_part *p)
{
    struct informer_group *g = p->inf->g;
    pthread_mutex_lock(&g->list_mu);
    bool done = p->slot == LIST_DONE;
    cJSON *list = p->list;
    enum tm_code rc = p->list_rc;
    struct tm_err err = p->list_err;
    if (done) {
        p->slot = LIST_IDLE;
        p->list = NULL;
    }
    pthread_mutex_unlock(&g->list_mu);
    if (done)
        reflector_list_done(p->refl, rc, list, &err);
}

/* Watch thread, after the list thread has been joined: lists that finished
 * are applied (an in-flight list finishes first), queued ones are dropped
 * (listed on the next start). */
static void settle_lists(struct informer_group *g)
{
    for (size_t i = 0; i < g->ninfs; i++) {
        for (size_t j = 0; j < g->infs[i]->nparts; j++) {
            struct informer_part *p = &g->infs[i]->parts[j];
            collect_list(p);
            if (p->slot == LIST_QUEUED) {
                p->slot = LIST_IDLE;
                reflector_list_cancel(p->refl);
            }
        }
    }
}

/* ------------------------------------------------------------------ watch thread */

/* Runs due timers; returns how long the poll may sleep (ms). */
static int run_timers(struct informer_group *g)
{
    int64_t wait = 1000;
    for (size_t i = 0; i < g->ninfs && !atomic_load(&g->stop); i++) {
        for (size_t j = 0; j < g->infs[i]->nparts; j++) {
            struct informer_part *p = &g->infs[i]->parts[j];
            collect_list(p);
            if (reflector_tick(p->refl, g->multi))
                queue_list(p);
            int64_t d = reflector_next_timer_ms(p->refl);
            if (d < wait)
                wait = d;
        }
    }
    return (int)wait;
}

static void dispatch_done_watches(struct informer_group *g)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(g->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct informer_part *p = NULL;
        for (size_t i = 0; i < g->ninfs && !p; i++)
            for (size_t j = 0; j < g->infs[i]->nparts && !p; j++)
                if (reflector_owns(g->infs[i]->parts[j].refl, msg->easy_handle))
                    p = &g->infs[i]->parts[j];
        if (p)
            reflector_watch_done(p->refl, g->multi, msg->data.result);
    }
}

static void *group_main(void *arg)
{
    struct informer_group *g = arg;
    struct tm_err err;
    tm_err_clear(&err);
    struct kube_client_opts co = {.timeout_ms = 60000}; /* one page; stop waits for it */
    g->client = kube_client_new(g->env.cfg, &co, &err);
    if (!g->client) {
        log_fields(g->proc->log, LOG_ERROR, "informers cannot start", LF_S("err", err.msg),
                   LF_END);
        return NULL;
    }
    int rc = pthread_create(&g->lister, NULL, lister_main, g);
    if (rc != 0) {
        log_fields(g->proc->log, LOG_ERROR, "informers cannot start",
                   LF_S("err", strerror(rc)), LF_END);
        kube_client_free(g->client);
        g->client = NULL;
        return NULL;
    }
    for (size_t i = 0; i < g->ninfs; i++)
        for (size_t j = 0; j < g->infs[i]->nparts; j++)
            reflector_resume(g->infs[i]->parts[j].refl);
    while (!atomic_load(&g->stop)) {
        int wait = run_timers(g);
        if (atomic_load(&g->stop))
            break;
        int numfds = 0;
        curl_multi_poll(g->multi, NULL, 0, wait, &numfds);
        int running = 0;
        curl_multi_perform(g->multi, &running);
        dispatch_done_watches(g);
    }
    pthread_mutex_lock(&g->list_mu);
    pthread_cond_signal(&g->list_cv);
    pthread_mutex_unlock(&g->list_mu);
    pthread_join(g->lister, NULL);
    settle_lists(g);
    /* take every watch out of the multi handle; they restart on the next start */
    for (size_t i = 0; i < g->ninfs; i++)
        for (size_t j = 0; j < g->infs[i]->nparts; j++)
            reflector_detach(g->infs[i]->parts[j].refl, g->multi);
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
    g->proc = proc;
    g->env = (struct reflector_env){.cfg = cfg, .proc = proc, .stop = &g->stop};
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
        g->env.m_restarts = metrics_counter(proc->metrics, "tidemark_watch_restarts_total",
                                            "Watches started again after the first, by resource.",
                                            "resource", err);
        g->env.m_relists = metrics_counter(proc->metrics, "tidemark_relists_total",
                                           "Lists after the first (410 Expired), by resource.",
                                           "resource", err);
        if (!g->env.m_restarts || !g->env.m_relists) {
            curl_multi_cleanup(g->multi);
            free(g);
            return NULL;
        }
    }
    pthread_mutex_init(&g->list_mu, NULL);
    pthread_cond_init(&g->list_cv, NULL);
    return g;
}

static void part_release(struct informer_part *p)
{
    reflector_free(p->refl);
    store_free(p->store);
    cJSON_Delete(p->list);
    free(p->ns);
    free(p->path);
}

static void informer_free(struct informer *inf)
{
    if (!inf)
        return;
    for (size_t i = 0; i < inf->nparts; i++)
        part_release(&inf->parts[i]);
    free(inf->parts);
    free(inf->group);
    free(inf->version);
    free(inf->resource);
    free(inf->selector);
    free(inf->label);
    free(inf);
}

static bool same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* A copy of s, NULL when s is NULL or ""; *ok false when out of memory. */
static char *dup_nonempty(const char *s, bool *ok)
{
    if (!s || !*s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = false;
    return d;
}

/* The namespaces o asks for, as a list: o->namespaces, or {o->ns}, or none
 * (all namespaces: *n 0).  TM_E_INVAL when both are set, a name is empty,
 * repeated, or there are more than INFORMER_MAX_NAMESPACES. */
static enum tm_code opts_namespaces(const struct informer_opts *o, const char **out, size_t *n,
                                    struct tm_err *err)
{
    *n = 0;
    if (o->ns && *o->ns && o->namespaces)
        return tm_err_set(err, TM_E_INVAL, "informer %s: ns and namespaces both set",
                          o->resource);
    if (!o->namespaces) {
        if (o->ns && *o->ns)
            out[(*n)++] = o->ns;
        return TM_OK;
    }
    for (size_t i = 0; o->namespaces[i]; i++) {
        const char *ns = o->namespaces[i];
        if (!*ns)
            return tm_err_set(err, TM_E_INVAL, "informer %s: an empty namespace", o->resource);
        if (*n == INFORMER_MAX_NAMESPACES)
            return tm_err_set(err, TM_E_TOOBIG, "informer %s: more than %d namespaces",
                              o->resource, INFORMER_MAX_NAMESPACES);
        for (size_t j = 0; j < *n; j++)
            if (strcmp(out[j], ns) == 0)
                return tm_err_set(err, TM_E_INVAL, "informer %s: namespace %s given twice",
                                  o->resource, ns);
        out[(*n)++] = ns;
    }
    return TM_OK;
}

/* True when inf watches exactly the namespaces nss (in that order). */
static bool same_namespaces(const struct informer *inf, const char *const *nss, size_t n)
{
    if (n == 0)
        return inf->nparts == 1 && !inf->parts[0].ns;
    if (inf->nparts != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!same_str(inf->parts[i].ns, nss[i]))
            return false;
    return true;
}

static struct informer *find_informer(struct informer_group *g, const struct informer_opts *o,
                                      const char *const *nss, size_t n)
{
    for (size_t i = 0; i < g->ninfs; i++) {
        struct informer *x = g->infs[i];
        if (same_str(x->group, o->group) && same_str(x->version, o->version) &&
            same_str(x->resource, o->resource) && same_str(x->selector, o->label_selector) &&
            same_namespaces(x, nss, n))
            return x;
    }
    return NULL;
}

/* Fills inf's names and label from o.  false + err. */
static bool describe(struct informer *inf, const struct informer_opts *o, struct tm_err *err)
{
    bool ok = true;
    inf->group = dup_nonempty(o->group, &ok);
    inf->version = dup_nonempty(o->version, &ok);
    inf->resource = dup_nonempty(o->resource, &ok);
    inf->selector = dup_nonempty(o->label_selector, &ok);
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    if (ok && tm_buf_addf(&b, "%s%s%s", inf->resource, inf->group ? "." : "",
                          inf->group ? inf->group : "") == TM_OK)
        inf->label = tm_buf_detach(&b, NULL);
    tm_buf_release(&b);
    if (!ok || !inf->label) {
        tm_err_set(err, TM_E_NOMEM, "informer %s: out of memory", o->resource);
        return false;
    }
    return true;
}

/* Makes part p of inf for namespace ns (NULL: all): path, store, reflector.
 * false + err (p holds what was made; part_release frees it). */
static bool part_init(struct informer *inf, struct informer_part *p, const char *ns,
                      const struct informer_opts *o, struct tm_err *err)
{
    bool ok = true;
    p->inf = inf;
    p->ns = dup_nonempty(ns, &ok);
    p->store = store_new();
    if (!ok || !p->store) {
        tm_err_set(err, TM_E_NOMEM, "informer %s: out of memory", inf->label);
        return false;
    }
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    struct kube_ref ref = {.group = inf->group, .version = inf->version, .ns = p->ns,
                           .resource = inf->resource};
    if (kube_path(&b, &ref, err) == TM_OK)
        p->path = tm_buf_detach(&b, NULL);
    tm_buf_release(&b);
    if (!p->path)
        return false;
    struct reflector_opts ro = {.path = p->path, .selector = inf->selector, .label = inf->label,
                                .ns = p->ns, .watch_timeout_s = o->watch_timeout_s,
                                .page_size = o->page_size > 0 ? o->page_size : 500};
    p->refl = reflector_new(&inf->g->env, p->store, &ro, err);
    return p->refl != NULL;
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
    const char *nss[INFORMER_MAX_NAMESPACES];
    size_t nns;
    if (opts_namespaces(o, nss, &nns, err) != TM_OK)
        return NULL;
    struct informer *inf = find_informer(g, o, nss, nns);
    if (inf)
        return inf;
    inf = calloc(1, sizeof(*inf));
    struct informer **ni = realloc(g->infs, (g->ninfs + 1) * sizeof(*ni));
    if (ni)
        g->infs = ni;
    if (inf)
        inf->parts = calloc(nns ? nns : 1, sizeof(*inf->parts));
    if (!inf || !ni || !inf->parts) {
        informer_free(inf);
        tm_err_set(err, TM_E_NOMEM, "informer %s: out of memory", o->resource);
        return NULL;
    }
    inf->g = g;
    if (!describe(inf, o, err))
        goto fail;
    for (size_t i = 0; i < (nns ? nns : 1); i++) {
        inf->nparts++; /* from here on informer_free releases the part */
        if (!part_init(inf, &inf->parts[i], nns ? nss[i] : NULL, o, err))
            goto fail;
    }
    g->infs[g->ninfs++] = inf;
    return inf;
fail:
    informer_free(inf);
    return NULL;
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
    pthread_cond_destroy(&g->list_cv);
    pthread_mutex_destroy(&g->list_mu);
    free(g);
}

bool informer_group_synced(struct informer_group *g)
{
    for (size_t i = 0; i < g->ninfs; i++)
        if (!informer_has_synced(g->infs[i]))
            return false;
    return true;
}

/* ------------------------------------------------------------------ informer API */

/* The part holding namespace ns's objects: the one part of an
 * all-namespaces informer, else the part of that namespace; NULL when ns is
 * not watched. */
static struct informer_part *part_for(struct informer *inf, const char *ns)
{
    if (inf->nparts == 1 && !inf->parts[0].ns)
        return &inf->parts[0];
    for (size_t i = 0; ns && i < inf->nparts; i++)
        if (strcmp(inf->parts[i].ns, ns) == 0)
            return &inf->parts[i];
    return NULL;
}

enum tm_code informer_add_handlers(struct informer *inf, const struct informer_handlers *h,
                                   struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    for (size_t i = 0; rc == TM_OK && i < inf->nparts; i++)
        rc = reflector_add_handlers(inf->parts[i].refl, h, err);
    return rc;
}

enum tm_code informer_add_field_index(struct informer *inf, const char *path, struct tm_err *err)
{
    for (size_t i = 0; i < inf->nparts; i++) {
        enum tm_code rc = store_add_index(inf->parts[i].store, path);
        if (rc == TM_E_TOOBIG)
            return tm_err_set(err, rc, "informer %s: too many indexes", inf->label);
        if (rc != TM_OK)
            return tm_err_set(err, rc, "informer %s: out of memory", inf->label);
    }
    return TM_OK;
}

enum tm_code informer_set_resume_rv(struct informer *inf, const char *rv, struct tm_err *err)
{
    if (inf->g->running)
        return tm_err_set(err, TM_E_INVAL, "informer %s: set the resume RV while stopped",
                          inf->label);
    if (strlen(rv) >= KUBE_RV_MAX)
        return tm_err_set(err, TM_E_TOOBIG, "informer %s: resourceVersion too long", inf->label);
    for (size_t i = 0; i < inf->nparts; i++)
        reflector_set_resume_rv(inf->parts[i].refl, rv);
    return TM_OK;
}

bool informer_has_synced(struct informer *inf)
{
    for (size_t i = 0; i < inf->nparts; i++)
        if (!reflector_synced(inf->parts[i].refl))
            return false;
    return true;
}

enum tm_code informer_get(struct informer *inf, const char *ns, const char *name, cJSON **out,
                          struct tm_err *err)
{
    char key[INFORMER_KEY_MAX];
    *out = NULL;
    if (!store_make_key(ns, name, key, sizeof(key)))
        return tm_err_set(err, TM_E_INVAL, "%s: key too long", inf->label);
    struct informer_part *p = part_for(inf, ns);
    if (!p)
        return tm_err_set(err, TM_E_NOTFOUND, "%s %s not in cache (namespace not watched)",
                          inf->label, key);
    enum tm_code rc = store_get_dup(p->store, key, out);
    if (rc == TM_E_NOTFOUND)
        return tm_err_set(err, rc, "%s %s not in cache", inf->label, key);
    if (rc != TM_OK)
        return tm_err_set(err, rc, "%s %s: out of memory", inf->label, key);
    return TM_OK;
}

/* informer_foreach over several parts: stops at the first false. */
struct foreach_parts {
    bool (*fn)(void *ctx, const cJSON *obj);
    void *ctx;
    bool stopped;
};

static bool foreach_part_cb(void *ctx, const cJSON *obj)
{
    struct foreach_parts *f = ctx;
    if (!f->fn(f->ctx, obj))
        f->stopped = true;
    return !f->stopped;
}

void informer_foreach(struct informer *inf, const char *ns,
                      bool (*fn)(void *ctx, const cJSON *obj), void *ctx)
{
    if (ns) {
        struct informer_part *p = part_for(inf, ns);
        if (p)
            store_foreach(p->store, ns, fn, ctx);
        return;
    }
    struct foreach_parts f = {fn, ctx, false};
    for (size_t i = 0; i < inf->nparts && !f.stopped; i++)
        store_foreach(inf->parts[i].store, NULL, foreach_part_cb, &f);
}

/* The store an index lookup in ns asks: a namespace not watched asks the
 * first part, which holds none of its objects (nothing found, but a missing
 * index is still reported). */
static struct store *index_store(struct informer *inf, const char *ns)
{
    struct informer_part *p = part_for(inf, ns);
    return p ? p->store : inf->parts[0].store;
}

/* The error of a store index lookup, for err. */
static enum tm_code index_result(struct informer *inf, enum tm_code rc, const char *path,
                                 struct tm_err *err)
{
    if (rc == TM_E_INVAL)
        return tm_err_set(err, rc, "index value too long");
    if (rc != TM_OK)
        return tm_err_set(err, rc, "informer %s: no index on %s", inf->label, path);
    return TM_OK;
}

enum tm_code informer_index_keys(struct informer *inf, const char *path, const char *ns,
                                 const char *value, void (*fn)(void *ctx, const char *key),
                                 void *ctx, struct tm_err *err)
{
    return index_result(inf, store_index_keys(index_store(inf, ns), path, ns, value, fn, ctx),
                        path, err);
}

enum tm_code informer_foreach_indexed(struct informer *inf, const char *path, const char *ns,
                                     const char *value, bool (*fn)(void *ctx, const cJSON *obj),
                                     void *ctx, struct tm_err *err)
{
    return index_result(
        inf, store_foreach_indexed(index_store(inf, ns), path, ns, value, fn, ctx), path, err);
}

size_t informer_len(struct informer *inf)
{
    size_t n = 0;
    for (size_t i = 0; i < inf->nparts; i++)
        n += store_len(inf->parts[i].store);
    return n;
}

void informer_last_rv(struct informer *inf, char *out, size_t n)
{
    reflector_last_rv(inf->parts[0].refl, out, n);
}

void informer_get_stats(struct informer *inf, struct informer_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < inf->nparts; i++) {
        struct informer_stats s;
        reflector_get_stats(inf->parts[i].refl, &s);
        out->lists += s.lists;
        out->relists += s.relists;
        out->watches += s.watches;
        out->watch_restarts += s.watch_restarts;
        out->events += s.events;
        out->bookmarks += s.bookmarks;
        out->synthesized_deletes += s.synthesized_deletes;
        out->errors += s.errors;
    }
}

const char *informer_resource_label(const struct informer *inf)
{
    return inf->label;
}

/* ------------------------------------------------------------------ keys */

bool informer_key(const cJSON *obj, char *out, size_t n)
{
    return store_key(obj, out, n);
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
