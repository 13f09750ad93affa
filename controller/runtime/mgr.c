/* The controller manager (see mgr.h for the contract reconcilers rely on):
 * event routing into the work queues, the worker pool, and mgr_run's
 * supervision loop.  The HTTP endpoints are endpoints.c (this file gives
 * them probe callbacks), the caches informer.c, the Lease leader.c.
 *
 * Threads: the caller's thread runs mgr_run's supervision loop (100 ms
 * ticks: stop flag, leadership changes, cache sync, heartbeat for /healthz);
 * the informer group's watch and list threads; one leader-election thread
 * (with --leader-elect); one HTTP thread; `workers` threads per kind, each
 * with its own API client.  State shared between them is atomics plus the
 * thread-safe queues, caches and metrics. */
#include "runtime/mgr.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/caps.h"
#include "common/json_path.h"
#include "kube/kube.h"
#include "runtime/endpoints.h"
#include "runtime/heap.h"
#include "runtime/informer.h"
#include "runtime/leader.h"
#include "runtime/metrics.h"
#include "runtime/wq.h"

#define MGR_TICK_MS 100
#define MGR_HEALTH_STALE_MS 10000
#define MGR_MAX_INFORMERS (MGR_MAX_RECONCILERS * (MGR_MAX_SECONDARY + 1))

struct mgr_kind {
    struct mgr *m;
    const struct mgr_reconciler *r;
    struct wq *q;
    struct informer *inf;
    pthread_t *threads;
    int nworkers;
    int started;
};

struct sec_route {
    struct mgr *m;
    struct mgr_kind *k;
    const struct mgr_secondary *s;
};

struct inf_entry {
    const char *group, *version, *resource; /* borrowed from the reconcilers */
    const char *label_selector;             /* borrowed; NULL: every object */
    struct informer *inf;
};

enum run_state { RUN_IDLE = 0, RUN_SYNCING, RUN_WORKING, RUN_STOPPING };

struct mgr {
    struct tm_proc proc; /* copy; proc.mgr = this */
    struct mgr_opts opts;
    struct mgr_kind kinds[MGR_MAX_RECONCILERS];
    size_t nkinds;
    struct sec_route routes[MGR_MAX_RECONCILERS * MGR_MAX_SECONDARY];
    size_t nroutes;
    struct inf_entry infs[MGR_MAX_INFORMERS];
    size_t ninfs;
    struct informer_group *group;
    struct leader *leader;
    struct endpoints *endpoints; /* NULL: no listener wanted */
    atomic_int metrics_port, health_port;

    atomic_bool stop_requested;
    atomic_bool became_leader;
    atomic_bool informers_running;
    atomic_bool synced;
    atomic_llong heartbeat_ms;
    atomic_bool in_run;
    /* what workers' tm_proc.stop points to: set once stopping begins, for
     * any reason (signal, mgr_request_stop, lost leadership) */
    atomic_int workers_stop;
    bool stuck; /* a worker outlived the grace period: keep its memory */

    struct metrics_family *m_total, *m_errors, *m_duration, *m_depth, *m_api, *m_leader;
    struct metrics_family *m_sec_updates;
};

static bool stopping(struct mgr *m)
{
    return atomic_load(&m->stop_requested) || tm_proc_stopping(&m->proc);
}

/* ------------------------------------------------------------------ event handlers */

static void enqueue_obj(struct mgr_kind *k, const cJSON *obj)
{
    char key[INFORMER_KEY_MAX];
    if (obj && informer_key(obj, key, sizeof(key)) && wq_add(k->q, key) != TM_OK)
        log_error(k->m->proc.log, "enqueue failed", LF_S("controller", k->r->kind),
                  LF_S("err", "out of memory"));
}

static void prim_add(void *ctx, const cJSON *obj)
{
    enqueue_obj(ctx, obj);
}

static void prim_update(void *ctx, const cJSON *old_obj, const cJSON *obj)
{
    (void)old_obj;
    enqueue_obj(ctx, obj);
}

static void prim_delete(void *ctx, const cJSON *obj)
{
    enqueue_obj(ctx, obj);
}

struct enq_ctx {
    struct mgr_kind *k;
};

static void enqueue_key_cb(void *ctx, const char *key)
{
    struct enq_ctx *e = ctx;
    if (wq_add(e->k->q, key) != TM_OK)
        log_error(e->k->m->proc.log, "enqueue failed", LF_S("controller", e->k->r->kind),
                  LF_S("err", "out of memory"));
}

static const char *json_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* True when obj's metadata.ownerReferences name an owner of kind and name. */
static bool has_owner(const cJSON *obj, const char *kind, const char *name)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *ref;
    cJSON_ArrayForEach(ref, cJSON_GetObjectItemCaseSensitive(md, "ownerReferences"))
    {
        const char *k = json_str(ref, "kind"), *n = json_str(ref, "name");
        if (k && n && strcmp(k, kind) == 0 && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* Enqueues the primaries that secondary object obj maps to.  For the old
 * object of an update, pass the new one as now: then only what the update
 * may have taken away is enqueued, the owners no longer named (the
 * ref_paths index keys on metadata.name, which an update cannot change, so
 * the new object already enqueued those).  Enqueueing a key twice in a row
 * is not free: a worker may take the key between the two adds and reconcile
 * it twice. */
static void route(struct sec_route *rt, const cJSON *obj, const cJSON *now)
{
    if (!obj)
        return;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const char *name = json_str(md, "name");
    const char *ns = json_str(md, "namespace");
    struct enq_ctx ec = {rt->k};
    for (int i = 0; !now && name && i < MGR_MAX_REF_PATHS && rt->s->ref_paths[i]; i++) {
        struct tm_err err;
        if (informer_index_keys(rt->k->inf, rt->s->ref_paths[i], ns ? ns : "", name,
                                enqueue_key_cb, &ec, &err) != TM_OK)
            log_error(rt->m->proc.log, "secondary mapping failed",
                      LF_S("controller", rt->k->r->kind), LF_S("err", err.msg));
    }
    if (rt->s->owner_kind) {
        const cJSON *refs = cJSON_GetObjectItemCaseSensitive(md, "ownerReferences");
        const cJSON *ref;
        cJSON_ArrayForEach(ref, refs)
        {
            const char *kind = json_str(ref, "kind");
            const char *oname = json_str(ref, "name");
            if (!kind || !oname || strcmp(kind, rt->s->owner_kind) != 0)
                continue;
            if (now && has_owner(now, kind, oname))
                continue; /* still an owner: enqueued for the new object */
            char key[INFORMER_KEY_MAX];
            int w = ns && *ns ? snprintf(key, sizeof(key), "%s/%s", ns, oname)
                              : snprintf(key, sizeof(key), "%s", oname);
            if (w > 0 && (size_t)w < sizeof(key))
                enqueue_key_cb(&ec, key);
        }
    }
    if (rt->s->map)
        rt->s->map(rt->s->map_ctx, rt->m, obj);
}

static void sec_add(void *ctx, const cJSON *obj)
{
    route(ctx, obj, NULL);
}

static void sec_update(void *ctx, const cJSON *old_obj, const cJSON *obj)
{
    struct sec_route *rt = ctx;
    bool matters = !rt->s->update_paths[0] || !old_obj ||
                   json_paths_changed(rt->s->update_paths, MGR_MAX_UPDATE_PATHS, old_obj, obj);
    metrics_inc(rt->m->m_sec_updates,
                (const char *[]){rt->k->r->kind, rt->s->resource, matters ? "routed" : "ignored"});
    if (!matters)
        return;
    route(ctx, obj, NULL);
    /* owners may have changed: the old owners must hear about it too */
    if (rt->s->owner_kind || rt->s->map)
        route(ctx, old_obj, obj);
}

static void sec_delete(void *ctx, const cJSON *obj)
{
    route(ctx, obj, NULL);
}

/* ------------------------------------------------------------------ metrics */

static void collect_depth(void *ctx, struct metrics *mx)
{
    struct mgr *m = ctx;
    (void)mx;
    for (size_t i = 0; i < m->nkinds; i++)
        metrics_set(m->m_depth, (const char *[]){m->kinds[i].r->kind},
                    (double)wq_len(m->kinds[i].q));
}

static void count_request(void *ctx, const char *verb, int http_status)
{
    struct metrics_family *f = ctx;
    char code[16];
    if (http_status > 0)
        snprintf(code, sizeof(code), "%d", http_status);
    else
        snprintf(code, sizeof(code), "<error>");
    metrics_inc(f, (const char *[]){verb, code});
}

/* ------------------------------------------------------------------ setup */

/* The one informer of group/version/resource, made on first use.  A
 * resource is cached once, so every user must ask for the same selector. */
static struct informer *shared_informer(struct mgr *m, const char *group, const char *version,
                                        const char *resource, const char *label_selector,
                                        struct tm_err *err)
{
    for (size_t i = 0; i < m->ninfs; i++) {
        struct inf_entry *e = &m->infs[i];
        if (strcmp(e->group ? e->group : "", group ? group : "") != 0 ||
            strcmp(e->version, version) != 0 || strcmp(e->resource, resource) != 0)
            continue;
        if (strcmp(e->label_selector ? e->label_selector : "",
                   label_selector ? label_selector : "") != 0) {
            tm_err_set(err, TM_E_INVAL, "%s watched with two label selectors (\"%s\", \"%s\")",
                       resource, e->label_selector ? e->label_selector : "",
                       label_selector ? label_selector : "");
            return NULL;
        }
        return e->inf;
    }
    if (m->ninfs == MGR_MAX_INFORMERS) {
        tm_err_set(err, TM_E_TOOBIG, "too many watched resources");
        return NULL;
    }
    struct informer_opts o = {.group = group, .version = version, .resource = resource,
                              .ns = m->opts.ns, .namespaces = m->opts.namespaces,
                              .label_selector = label_selector,
                              .watch_timeout_s = m->opts.watch_timeout_s};
    struct informer *inf = informer_group_add(m->group, &o, err);
    if (!inf)
        return NULL;
    m->infs[m->ninfs++] = (struct inf_entry){group, version, resource, label_selector, inf};
    return inf;
}

static enum tm_code setup_kind(struct mgr *m, const struct mgr_reconciler *r, struct tm_err *err)
{
    if (!r->kind || !*r->kind || !r->version || !r->resource || !r->reconcile)
        return tm_err_set(err, TM_E_INVAL, "reconciler: kind, version, resource and reconcile "
                                           "are required");
    for (size_t i = 0; i < m->nkinds; i++)
        if (strcmp(m->kinds[i].r->kind, r->kind) == 0)
            return tm_err_set(err, TM_E_INVAL, "reconciler %s registered twice", r->kind);
    if (m->nkinds == MGR_MAX_RECONCILERS)
        return tm_err_set(err, TM_E_TOOBIG, "more than %d reconcilers", MGR_MAX_RECONCILERS);
    struct mgr_kind *k = &m->kinds[m->nkinds];
    memset(k, 0, sizeof(*k));
    k->m = m;
    k->r = r;
    k->nworkers = r->workers > 0 ? r->workers : m->opts.workers;
    for (const struct mgr_kind_workers *kw = m->opts.kind_workers; kw && kw->kind; kw++)
        if (strcmp(kw->kind, r->kind) == 0 && kw->workers > 0)
            k->nworkers = kw->workers;
    k->q = wq_new(&m->proc.clock, NULL, err);
    if (!k->q)
        return err ? err->code : TM_E_NOMEM;
    m->nkinds++; /* from here on mgr_free releases k */
    k->threads = calloc((size_t)k->nworkers, sizeof(pthread_t));
    if (!k->threads)
        return tm_err_set(err, TM_E_NOMEM, "reconciler %s: out of memory", r->kind);
    k->inf = shared_informer(m, r->group, r->version, r->resource, NULL, err);
    if (!k->inf)
        return tm_err_prefix(err, "reconciler %s", r->kind);
    struct informer_handlers h = {prim_add, prim_update, prim_delete, k};
    enum tm_code rc = informer_add_handlers(k->inf, &h, err);
    for (int i = 0; rc == TM_OK && i < MGR_MAX_SECONDARY && r->secondary[i].resource; i++) {
        const struct mgr_secondary *s = &r->secondary[i];
        if (!s->version) {
            rc = tm_err_set(err, TM_E_INVAL, "reconciler %s: secondary %s has no version",
                            r->kind, s->resource);
            break;
        }
        for (int p = 0; rc == TM_OK && p < MGR_MAX_REF_PATHS && s->ref_paths[p]; p++)
            rc = informer_add_field_index(k->inf, s->ref_paths[p], err);
        if (rc != TM_OK)
            break;
        struct informer *sinf =
            shared_informer(m, s->group, s->version, s->resource, s->label_selector, err);
        if (!sinf) {
            rc = err ? err->code : TM_E_NOMEM;
            break;
        }
        struct sec_route *rt = &m->routes[m->nroutes++];
        *rt = (struct sec_route){m, k, s};
        struct informer_handlers sh = {sec_add, sec_update, sec_delete, rt};
        rc = informer_add_handlers(sinf, &sh, err);
    }
    if (rc != TM_OK)
        tm_err_prefix(err, "reconciler %s", r->kind);
    return rc;
}

struct mgr *mgr_new(const struct tm_proc *proc, const struct mgr_opts *opts,
                    const struct mgr_reconciler *const *reconcilers, struct tm_err *err)
{
    struct mgr *m = calloc(1, sizeof(*m));
    if (!m) {
        tm_err_set(err, TM_E_NOMEM, "manager: out of memory");
        return NULL;
    }
    m->proc = *proc;
    m->proc.mgr = m;
    m->proc.kube = NULL;
    if (opts)
        m->opts = *opts;
    if (m->opts.workers <= 0)
        m->opts.workers = 2;
    if (m->opts.grace_ms <= 0)
        m->opts.grace_ms = 30000;
    if (!m->opts.lease_name || !*m->opts.lease_name)
        m->opts.lease_name = "tidemark-controller";
    atomic_init(&m->stop_requested, false);
    atomic_init(&m->became_leader, false);
    atomic_init(&m->informers_running, false);
    atomic_init(&m->synced, false);
    atomic_init(&m->heartbeat_ms, (long long)tm_clock_now(&m->proc.clock));
    atomic_init(&m->in_run, false);
    atomic_init(&m->workers_stop, 0);

    struct metrics *mx = m->proc.metrics;
    if (mx) {
        m->m_total = metrics_counter(mx, "tidemark_reconcile_total",
                                     "Reconciles by kind and result.", "kind,result", err);
        m->m_errors = metrics_counter(mx, "tidemark_reconcile_errors_total",
                                      "Reconciles that returned an error, by kind.", "kind", err);
        m->m_duration = metrics_histogram(mx, "tidemark_reconcile_duration_seconds",
                                          "Time spent in one reconcile, by kind.", "kind", NULL, 0,
                                          err);
        m->m_depth = metrics_gauge(mx, "tidemark_workqueue_depth",
                                   "Keys waiting in the work queue, by kind.", "kind", err);
        m->m_api = metrics_counter(mx, "tidemark_api_requests_total",
                                   "Kubernetes API requests by verb and HTTP status.", "verb,code",
                                   err);
        m->m_leader = metrics_gauge(mx, "tidemark_leader",
                                    "1 while this process holds the leader Lease.", NULL, err);
        m->m_sec_updates = metrics_counter(
            mx, "tidemark_secondary_updates_total",
            "Updates of watched secondary objects, by primary kind, secondary resource and "
            "result (routed: primaries enqueued; ignored: no field they read changed).",
            "kind,resource,result", err);
        if (!m->m_total || !m->m_errors || !m->m_duration || !m->m_depth || !m->m_api ||
            !m->m_leader || !m->m_sec_updates ||
            metrics_on_collect(mx, collect_depth, m, err) != TM_OK)
            goto fail;
        if (m->proc.kube_config)
            kube_config_set_request_hook(m->proc.kube_config, count_request, m->m_api);
    }
    if (!m->proc.kube_config) {
        tm_err_set(err, TM_E_INVAL, "manager: no Kubernetes API config");
        goto fail;
    }
    m->group = informer_group_new(m->proc.kube_config, &m->proc, err);
    if (!m->group)
        goto fail;
    for (size_t i = 0; reconcilers && reconcilers[i]; i++)
        if (setup_kind(m, reconcilers[i], err) != TM_OK)
            goto fail;
    /* the kinds' own gauges, counted from the caches at each scrape (off in mgr_free) */
    for (size_t i = 0; mx && i < m->nkinds; i++)
        if (m->kinds[i].r->collect &&
            metrics_on_collect(mx, m->kinds[i].r->collect, &m->proc, err) != TM_OK)
            goto fail;
    return m;
fail:
    mgr_free(m);
    return NULL;
}

void mgr_free(struct mgr *m)
{
    if (!m)
        return;
    if (m->stuck) {
        /* a worker may still run: freeing what it uses would be worse than
         * the leak; the process is exiting */
        return;
    }
    endpoints_free(m->endpoints); /* first: its probes read the rest */
    if (m->proc.metrics) {
        metrics_off_collect(m->proc.metrics, collect_depth, m);
        for (size_t i = 0; i < m->nkinds; i++)
            if (m->kinds[i].r->collect)
                metrics_off_collect(m->proc.metrics, m->kinds[i].r->collect, &m->proc);
    }
    informer_group_free(m->group);
    leader_free(m->leader);
    for (size_t i = 0; i < m->nkinds; i++) {
        wq_free(m->kinds[i].q);
        free(m->kinds[i].threads);
    }
    free(m);
}

/* ------------------------------------------------------------------ workers */

static const char *retry_result(const struct tm_err *err)
{
    switch (err->retry) {
    case TM_RETRY_TERMINAL: return "terminal";
    case TM_RETRY_WAITING: return "waiting";
    case TM_RETRY_TRANSIENT: break;
    }
    return "error";
}

static void reconcile_one(struct mgr_kind *k, struct tm_proc *p, const char *key)
{
    struct mgr *m = k->m;
    char ns[256], name[256];
    if (!informer_split_key(key, ns, sizeof(ns), name, sizeof(name))) {
        wq_forget(k->q, key);
        return;
    }
    struct mgr_result res = {0};
    struct tm_err err;
    tm_err_clear(&err);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum tm_code rc = k->r->reconcile(k->r->ctx, p, ns, name, &res, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    const char *result;
    enum tm_code qrc = TM_OK;
    if (rc == TM_OK) {
        wq_forget(k->q, key);
        if (res.requeue_after_ms > 0) {
            qrc = wq_add_after(k->q, key, res.requeue_after_ms);
            result = "requeue";
        } else {
            result = "success";
        }
    } else {
        if (err.code == TM_OK) { /* the reconciler did not say why: retry */
            tm_err_setr(&err, rc, TM_RETRY_TRANSIENT, "%s", tm_code_name(rc));
        }
        result = retry_result(&err);
        switch (err.retry) {
        case TM_RETRY_TERMINAL:
            wq_forget(k->q, key);
            break;
        case TM_RETRY_WAITING:
            qrc = wq_add_after(k->q, key,
                               res.requeue_after_ms > 0 ? res.requeue_after_ms
                                                        : wq_backoff_ms(k->q, key));
            break;
        case TM_RETRY_TRANSIENT:
            qrc = wq_add_rate_limited(k->q, key);
            break;
        }
        if (err.retry != TM_RETRY_WAITING)
            metrics_inc(m->m_errors, (const char *[]){k->r->kind});
    }
    metrics_inc(m->m_total, (const char *[]){k->r->kind, result});
    metrics_observe(m->m_duration, (const char *[]){k->r->kind}, secs);
    long long ms = (long long)(secs * 1000.0);
    if (rc == TM_OK)
        log_info(p->log, "reconciled", LF_S("controller", k->r->kind), LF_S("namespace", ns),
                 LF_S("name", name), LF_S("result", result), LF_I("duration_ms", ms),
                 LF_I("requeue_after_ms", res.requeue_after_ms));
    else
        log_fields(p->log, err.retry == TM_RETRY_WAITING ? LOG_INFO : LOG_ERROR, "reconcile failed",
                   LF_S("controller", k->r->kind), LF_S("namespace", ns), LF_S("name", name),
                   LF_S("result", result), LF_I("duration_ms", ms), LF_S("err", err.msg),
                   LF_I("http_status", err.http_status), LF_S("sqlstate", err.sqlstate), LF_END);
    if (qrc != TM_OK)
        log_error(p->log, "requeue failed", LF_S("controller", k->r->kind), LF_S("namespace", ns),
                  LF_S("name", name), LF_S("err", tm_code_name(qrc)));
}

static void *worker_main(void *arg)
{
    struct mgr_kind *k = arg;
    struct mgr *m = k->m;
    struct tm_proc p = m->proc;
    struct tm_err err;
    p.stop = &m->workers_stop;
    p.kube = kube_client_new(m->proc.kube_config, NULL, &err);
    if (!p.kube) {
        log_error(m->proc.log, "worker cannot start", LF_S("controller", k->r->kind),
                  LF_S("err", err.msg));
        return NULL;
    }
    const char *key;
    while (wq_get(k->q, &key)) {
        reconcile_one(k, &p, key);
        wq_done(k->q, key);
    }
    kube_client_free(p.kube);
    return NULL;
}

static void start_workers(struct mgr *m)
{
    for (size_t i = 0; i < m->nkinds; i++) {
        struct mgr_kind *k = &m->kinds[i];
        log_info(m->proc.log, "workers", LF_S("controller", k->r->kind),
                 LF_I("workers", k->nworkers));
        for (; k->started < k->nworkers; k->started++) {
            int rc = pthread_create(&k->threads[k->started], NULL, worker_main, k);
            if (rc != 0) {
                log_error(m->proc.log, "worker thread failed", LF_S("controller", k->r->kind),
                          LF_S("err", strerror(rc)));
                break;
            }
        }
    }
    log_info(m->proc.log, "workers started", LF_I("kinds", (long long)m->nkinds),
             LF_I("workers_per_kind", m->opts.workers));
}

/* Stops handing out keys, waits for in-flight reconciles until deadline
 * (monotonic ms), joins the workers.  false when some did not finish in time. */
static bool stop_workers(struct mgr *m, int64_t deadline)
{
    atomic_store(&m->workers_stop, 1);
    for (size_t i = 0; i < m->nkinds; i++)
        wq_shutdown(m->kinds[i].q, WQ_SHUTDOWN_DROP);
    bool idle = true;
    for (size_t i = 0; i < m->nkinds; i++) {
        int64_t left = deadline - tm_mono_ms();
        if (!wq_wait_idle(m->kinds[i].q, left > 0 ? left : 0))
            idle = false;
    }
    if (!idle) {
        log_error(m->proc.log, "reconciles still running after the grace period",
                  LF_I("grace_ms", m->opts.grace_ms));
        return false;
    }
    for (size_t i = 0; i < m->nkinds; i++) {
        struct mgr_kind *k = &m->kinds[i];
        for (int w = 0; w < k->started; w++)
            pthread_join(k->threads[w], NULL);
        k->started = 0;
    }
    return true;
}

/* ------------------------------------------------------------------ HTTP */

static int probe_healthz(void *ctx)
{
    return mgr_healthz(ctx);
}

static int probe_readyz(void *ctx)
{
    return mgr_readyz(ctx);
}

static bool probe_standby(void *ctx)
{
    struct mgr *m = ctx;
    return m->opts.leader_elect && !mgr_is_leader(m);
}

static enum tm_code start_http(struct mgr *m, struct tm_err *err)
{
    struct endpoints_probes p = {probe_healthz, probe_readyz, probe_standby, m};
    enum tm_code rc = endpoints_start(m->opts.metrics_addr, m->opts.health_addr,
                                      m->proc.metrics, &p, m->proc.log, &m->endpoints, err);
    if (rc == TM_OK) {
        atomic_store(&m->metrics_port, endpoints_metrics_port(m->endpoints));
        atomic_store(&m->health_port, endpoints_health_port(m->endpoints));
    }
    return rc;
}

/* ------------------------------------------------------------------ leadership */

static void on_started_leading(void *ctx)
{
    struct mgr *m = ctx;
    atomic_store(&m->became_leader, true);
}

static void on_new_leader(void *ctx, const char *identity)
{
    struct mgr *m = ctx;
    log_info(m->proc.log, "leader observed", LF_S("identity", identity));
}

static enum tm_code start_informers(struct mgr *m, struct tm_err *err)
{
    if (m->ninfs == 0) {
        atomic_store(&m->synced, true);
        return TM_OK;
    }
    enum tm_code rc = informer_group_start(m->group, err);
    if (rc == TM_OK) {
        atomic_store(&m->informers_running, true);
        log_info(m->proc.log, "informers started", LF_I("resources", (long long)m->ninfs));
    }
    return rc;
}

enum tm_code mgr_run(struct mgr *m, struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    enum run_state st = RUN_IDLE;
    bool lost = false;
    atomic_store(&m->in_run, true);
    atomic_store(&m->heartbeat_ms, (long long)tm_clock_now(&m->proc.clock));
    if (m->nkinds == 0)
        log_warn(m->proc.log, "no reconcilers registered: the manager only runs its endpoints "
                              "and leader election");
    if (m->opts.leader_elect) {
        const char *lease_ns = m->opts.lease_ns && *m->opts.lease_ns
                                   ? m->opts.lease_ns
                                   : kube_config_namespace(m->proc.kube_config);
        struct leader_opts lo = {.ns = lease_ns,
                                 .name = m->opts.lease_name,
                                 .identity = m->proc.identity ? m->proc.identity : "tidemark",
                                 .lease_duration_ms = m->opts.lease_duration_ms,
                                 .renew_deadline_ms = m->opts.renew_deadline_ms,
                                 .retry_period_ms = m->opts.retry_period_ms,
                                 .on_started = on_started_leading,
                                 .on_new_leader = on_new_leader,
                                 .ctx = m};
        m->leader = leader_new(m->proc.kube_config, &m->proc, &lo, err);
        if (!m->leader) {
            rc = err ? err->code : TM_E_INTERNAL;
            goto out;
        }
        /* HTTP threads read m->leader: it is set before they start */
        rc = start_http(m, err);
        if (rc == TM_OK)
            rc = leader_start(m->leader, err);
        if (rc != TM_OK)
            goto out;
        log_info(m->proc.log, "waiting for the leader lease", LF_S("lease", m->opts.lease_name),
                 LF_S("namespace", lease_ns), LF_S("identity", lo.identity));
    } else {
        rc = start_http(m, err);
        if (rc != TM_OK)
            goto out;
        atomic_store(&m->became_leader, true);
        metrics_set(m->m_leader, NULL, 1); /* the only instance: always leading */
    }

    int64_t next_trim_ms = tm_mono_ms() + HEAP_TRIM_EVERY_MS;
    while (!stopping(m)) {
        atomic_store(&m->heartbeat_ms, (long long)tm_clock_now(&m->proc.clock));
        if (m->leader && leader_lost(m->leader)) {
            lost = true;
            break;
        }
        if (st == RUN_IDLE && atomic_load(&m->became_leader)) {
            rc = start_informers(m, err);
            if (rc != TM_OK)
                goto out;
            st = RUN_SYNCING;
        }
        if (st == RUN_SYNCING && (m->ninfs == 0 || informer_group_synced(m->group))) {
            atomic_store(&m->synced, true);
            log_info(m->proc.log, "caches synced");
            start_workers(m);
            st = RUN_WORKING;
        }
        heap_trim_due(tm_mono_ms(), &next_trim_ms);
        tm_sleep_ms(MGR_TICK_MS);
    }
    log_info(m->proc.log, lost ? "stopping: leadership lost" : "stopping: shutdown requested");
    int64_t deadline = tm_mono_ms() + m->opts.grace_ms;
    if (!stop_workers(m, deadline)) {
        m->stuck = true;
        rc = tm_err_set(err, TM_E_TIMEOUT, "reconciles still running after %lld ms",
                        (long long)m->opts.grace_ms);
    } else if (m->proc.events) {
        /* the Events the last reconciles recorded: sent within the same grace period */
        int64_t left_ms = deadline - tm_mono_ms();
        size_t unsent = kube_eventer_flush(m->proc.events, left_ms > 0 ? left_ms : 0);
        if (unsent > 0)
            log_warn(m->proc.log, "events not sent within the grace period",
                     LF_I("events", (long long)unsent), LF_I("grace_ms", m->opts.grace_ms));
    }
    atomic_store(&m->synced, false);
    /* no work is done any more: hand the Lease over before stopping the
     * informers, whose in-flight list may take a while against a slow server */
    if (m->leader)
        leader_stop(m->leader); /* releases the Lease when we hold it */
    else
        metrics_set(m->m_leader, NULL, 0);
    if (!m->stuck) {
        informer_group_stop(m->group);
        atomic_store(&m->informers_running, false);
    }
    if (rc == TM_OK && lost)
        rc = tm_err_setr(err, TM_E_LOCKED, TM_RETRY_TERMINAL, "leader election lost");
out:
    atomic_store(&m->in_run, false);
    return rc;
}

void mgr_request_stop(struct mgr *m)
{
    atomic_store(&m->stop_requested, true);
}

/* ------------------------------------------------------------------ public helpers */

enum tm_code mgr_enqueue(struct mgr *m, const char *kind, const char *key)
{
    for (size_t i = 0; i < m->nkinds; i++)
        if (strcmp(m->kinds[i].r->kind, kind) == 0)
            return wq_add(m->kinds[i].q, key);
    return TM_E_NOTFOUND;
}

enum tm_code mgr_enqueue_first(struct mgr *m, const char *kind, const char *key)
{
    for (size_t i = 0; i < m->nkinds; i++)
        if (strcmp(m->kinds[i].r->kind, kind) == 0)
            return wq_add_first(m->kinds[i].q, key);
    return TM_E_NOTFOUND;
}

struct informer *mgr_informer(struct mgr *m, const char *group, const char *version,
                              const char *resource)
{
    for (size_t i = 0; i < m->ninfs; i++) {
        struct inf_entry *e = &m->infs[i];
        if (strcmp(e->group ? e->group : "", group ? group : "") == 0 &&
            strcmp(e->version, version) == 0 && strcmp(e->resource, resource) == 0)
            return e->inf;
    }
    return NULL;
}

enum tm_code mgr_cache_get(struct mgr *m, const char *group, const char *version,
                           const char *resource, const char *ns, const char *name, cJSON **out,
                           struct tm_err *err)
{
    *out = NULL;
    struct informer *inf = mgr_informer(m, group, version, resource);
    if (!inf)
        return tm_err_set(err, TM_E_NOTFOUND, "%s is not watched by this manager", resource);
    return informer_get(inf, ns, name, out, err);
}

bool mgr_is_leader(struct mgr *m)
{
    if (!m->opts.leader_elect)
        return atomic_load(&m->in_run);
    return m->leader && leader_is_leader(m->leader);
}

bool mgr_synced(struct mgr *m)
{
    return atomic_load(&m->synced);
}

int mgr_healthz(struct mgr *m)
{
    if (!atomic_load(&m->in_run))
        return 503;
    int64_t age = tm_clock_now(&m->proc.clock) - (int64_t)atomic_load(&m->heartbeat_ms);
    return age < MGR_HEALTH_STALE_MS ? 200 : 503;
}

int mgr_readyz(struct mgr *m)
{
    if (mgr_healthz(m) != 200)
        return 503;
    if (m->opts.leader_elect && !mgr_is_leader(m) && !atomic_load(&m->became_leader))
        return 200; /* a healthy standby */
    return mgr_synced(m) ? 200 : 503;
}

int mgr_metrics_port(struct mgr *m)
{
    return m->metrics_port;
}

int mgr_health_port(struct mgr *m)
{
    return m->health_port;
}
