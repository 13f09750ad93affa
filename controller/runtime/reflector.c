/* The reflector: list, watch, relist for one informer (see reflector.h). */
#include "runtime/reflector.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum reflector_state { ST_LIST = 0, ST_LISTING, ST_WATCH_WAIT, ST_WATCHING };

struct reflector {
    const struct reflector_env *env;
    struct store *store;
    struct reflector_opts o;

    struct informer_handlers handlers[INFORMER_MAX_HANDLERS];
    size_t nhandlers;

    /* group-thread state */
    enum reflector_state state;
    int64_t next_at;
    int64_t backoff_ms;
    struct kube_watch *watch;
    char rv[KUBE_RV_MAX];
    pthread_mutex_t rv_mu; /* rv is read by reflector_last_rv from other threads */

    atomic_bool synced;
    _Atomic uint64_t st_lists, st_relists, st_watches, st_restarts, st_events, st_bookmarks,
        st_synth, st_errors;
};

static int64_t now_ms(const struct reflector *r)
{
    return tm_clock_now(&r->env->proc->clock);
}

struct reflector *reflector_new(const struct reflector_env *env, struct store *store,
                                const struct reflector_opts *o, struct tm_err *err)
{
    struct reflector *r = calloc(1, sizeof(*r));
    if (!r) {
        tm_err_set(err, TM_E_NOMEM, "informer %s: out of memory", o->label);
        return NULL;
    }
    r->env = env;
    r->store = store;
    r->o = *o;
    pthread_mutex_init(&r->rv_mu, NULL);
    atomic_init(&r->synced, false);
    return r;
}

void reflector_free(struct reflector *r)
{
    if (!r)
        return;
    kube_watch_free(r->watch);
    pthread_mutex_destroy(&r->rv_mu);
    free(r);
}

enum tm_code reflector_add_handlers(struct reflector *r, const struct informer_handlers *h,
                                    struct tm_err *err)
{
    if (r->nhandlers == INFORMER_MAX_HANDLERS)
        return tm_err_set(err, TM_E_TOOBIG, "informer %s: too many handlers", r->o.label);
    r->handlers[r->nhandlers++] = *h;
    return TM_OK;
}

/* ------------------------------------------------------------------ helpers */

static void set_rv(struct reflector *r, const char *rv)
{
    if (!rv || !*rv)
        return;
    pthread_mutex_lock(&r->rv_mu);
    snprintf(r->rv, sizeof(r->rv), "%s", rv);
    pthread_mutex_unlock(&r->rv_mu);
}

static void log_refl(struct reflector *r, enum log_level lvl, const char *msg,
                     const struct tm_err *err)
{
    struct tm_log *lg = r->env->proc->log;
    const char *ns = r->o.ns ? r->o.ns : "";
    if (err)
        log_fields(lg, lvl, msg, LF_S("resource", r->o.label), LF_S("namespace", ns),
                   LF_S("err", err->msg), LF_I("http_status", err->http_status), LF_END);
    else
        log_fields(lg, lvl, msg, LF_S("resource", r->o.label), LF_S("namespace", ns), LF_END);
}

static void set_state(struct reflector *r, enum reflector_state next, int64_t delay_ms)
{
    r->state = next;
    r->next_at = now_ms(r) + delay_ms;
}

/* A failure: the next attempt (next) waits 800 ms doubling to 30 s. */
static void backoff(struct reflector *r, enum reflector_state next)
{
    int64_t b = r->backoff_ms ? r->backoff_ms * 2 : INFORMER_BACKOFF_MIN_MS;
    if (b > INFORMER_BACKOFF_MAX_MS)
        b = INFORMER_BACKOFF_MAX_MS;
    r->backoff_ms = b;
    set_state(r, next, b);
    atomic_fetch_add(&r->st_errors, 1);
}

static void fire_add(struct reflector *r, const cJSON *obj)
{
    for (size_t i = 0; i < r->nhandlers; i++)
        if (r->handlers[i].on_add)
            r->handlers[i].on_add(r->handlers[i].ctx, obj);
}

static void fire_update(struct reflector *r, const cJSON *old, const cJSON *obj)
{
    for (size_t i = 0; i < r->nhandlers; i++)
        if (r->handlers[i].on_update)
            r->handlers[i].on_update(r->handlers[i].ctx, old, obj);
}

static void fire_delete(struct reflector *r, const cJSON *obj)
{
    for (size_t i = 0; i < r->nhandlers; i++)
        if (r->handlers[i].on_delete)
            r->handlers[i].on_delete(r->handlers[i].ctx, obj);
}

/* ------------------------------------------------------------------ list */

enum tm_code reflector_list_fetch(const struct reflector *r, struct kube_client *client,
                                  cJSON **list, struct tm_err *err)
{
    struct kube_list_opts lo = {.label_selector = r->o.selector, .limit = r->o.page_size};
    return kube_list(client, r->o.path, &lo, list, err);
}

/* Tells the handlers about a relist's changes, then frees what they replaced. */
static void fire_changes(struct reflector *r, struct store_change *ch, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!ch[i].obj && !ch[i].old) {
            continue; /* removed, but its object could not be parsed back */
        } else if (!ch[i].obj) {
            fire_delete(r, ch[i].old);
            atomic_fetch_add(&r->st_synth, 1);
        } else if (ch[i].old) {
            fire_update(r, ch[i].old, ch[i].obj);
        } else {
            fire_add(r, ch[i].obj);
        }
        cJSON_Delete(ch[i].old);
    }
}

static void count_list(struct reflector *r)
{
    uint64_t lists = atomic_fetch_add(&r->st_lists, 1) + 1;
    if (lists > 1) {
        atomic_fetch_add(&r->st_relists, 1);
        metrics_inc(r->env->m_relists, (const char *[]){r->o.label});
    }
}

void reflector_list_done(struct reflector *r, enum tm_code rc, cJSON *list,
                         const struct tm_err *err)
{
    if (rc != TM_OK) {
        log_refl(r, LOG_WARN, "list failed", err);
        cJSON_Delete(list);
        backoff(r, ST_LIST);
        return;
    }
    struct store_change *ch = NULL;
    size_t n = 0;
    rc = store_replace(r->store, cJSON_GetObjectItemCaseSensitive(list, "items"), &ch, &n);
    fire_changes(r, ch, n);
    free(ch);
    if (rc != TM_OK) {
        cJSON_Delete(list);
        log_fields(r->env->proc->log, LOG_ERROR, "list failed", LF_S("resource", r->o.label),
                   LF_S("err", "out of memory"), LF_END);
        backoff(r, ST_LIST);
        return;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(list, "metadata");
    const cJSON *list_rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
    set_rv(r, cJSON_IsString(list_rv) ? list_rv->valuestring : NULL);
    cJSON_Delete(list);
    count_list(r);
    log_fields(r->env->proc->log, LOG_INFO, "cache listed", LF_S("resource", r->o.label),
               LF_S("namespace", r->o.ns ? r->o.ns : ""),
               LF_I("objects", (long long)store_len(r->store)), LF_END);
    atomic_store(&r->synced, true);
    r->backoff_ms = 0;
    set_state(r, ST_WATCH_WAIT, 0);
}

void reflector_list_cancel(struct reflector *r)
{
    if (r->state == ST_LISTING)
        set_state(r, ST_LIST, 0);
}

/* ------------------------------------------------------------------ watch */

/* An ADDED, MODIFIED or DELETED event: the store, then the handlers. */
static void apply_event(struct reflector *r, struct kube_watch_event *ev)
{
    char key[STORE_KEY_MAX];
    if (!ev->object || !store_key(ev->object, key, sizeof(key)))
        return;
    char rv[KUBE_RV_MAX];
    snprintf(rv, sizeof(rv), "%s", ev->resource_version ? ev->resource_version : "");
    atomic_fetch_add(&r->st_events, 1);
    if (ev->type == KUBE_WATCH_DELETED) {
        cJSON *old = store_delete(r->store, ev->object);
        fire_delete(r, ev->object);
        cJSON_Delete(old);
    } else {
        cJSON *old = NULL;
        if (store_put(r->store, ev->object, &old)) {
            if (old)
                fire_update(r, old, ev->object);
            else
                fire_add(r, ev->object);
        } else {
            atomic_fetch_add(&r->st_errors, 1);
        }
        cJSON_Delete(old);
    }
    set_rv(r, rv);
}

static enum tm_code on_event(void *ctx, struct kube_watch_event *ev, struct tm_err *err)
{
    struct reflector *r = ctx;
    (void)err;
    switch (ev->type) {
    case KUBE_WATCH_BOOKMARK:
        set_rv(r, ev->resource_version);
        atomic_fetch_add(&r->st_bookmarks, 1);
        break;
    case KUBE_WATCH_EXPIRED:
        break; /* kube_watch_done ends the watch as EXPIRED: relist there */
    case KUBE_WATCH_ERROR: {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(ev->object, "message");
        const char *msg = cJSON_IsString(m) ? m->valuestring : "unknown";
        log_fields(r->env->proc->log, LOG_WARN, "watch error event",
                   LF_S("resource", r->o.label), LF_S("err", msg), LF_END);
        break;
    }
    case KUBE_WATCH_ADDED:
    case KUBE_WATCH_MODIFIED:
    case KUBE_WATCH_DELETED:
        apply_event(r, ev);
        break;
    }
    return TM_OK;
}

/* client-go: minWatchTimeout 5 min * (1 + rand); we spread 240..300 s */
static int watch_timeout_s(const struct reflector *r)
{
    if (r->o.watch_timeout_s > 0)
        return r->o.watch_timeout_s;
    return 240 + (int)(((uintptr_t)r >> 4) % 61);
}

static void start_watch(struct reflector *r, CURLM *multi)
{
    struct tm_err err;
    tm_err_clear(&err);
    char rv[KUBE_RV_MAX];
    reflector_last_rv(r, rv, sizeof(rv));
    if (!r->watch) {
        struct kube_watch_opts wo = {
            .path = r->o.path,
            .resource_version = rv,
            .label_selector = r->o.selector,
            .timeout_seconds = watch_timeout_s(r),
            .on_event = on_event,
            .ctx = r,
            .stop = r->env->stop,
        };
        r->watch = kube_watch_new(r->env->cfg, &wo, &err);
        if (!r->watch) {
            log_refl(r, LOG_ERROR, "watch failed", &err);
            backoff(r, ST_WATCH_WAIT);
            return;
        }
    } else if (kube_watch_set_rv(r->watch, rv, &err) != TM_OK) {
        log_refl(r, LOG_ERROR, "watch failed", &err);
        backoff(r, ST_LIST);
        return;
    }
    if (kube_watch_start(r->watch, multi, &err) != TM_OK) {
        log_refl(r, LOG_WARN, "watch failed", &err);
        backoff(r, ST_WATCH_WAIT);
        return;
    }
    r->state = ST_WATCHING;
    uint64_t w = atomic_fetch_add(&r->st_watches, 1) + 1;
    if (w > 1) {
        atomic_fetch_add(&r->st_restarts, 1);
        metrics_inc(r->env->m_restarts, (const char *[]){r->o.label});
    }
}

void reflector_watch_done(struct reflector *r, CURLM *multi, CURLcode result)
{
    struct tm_err err;
    tm_err_clear(&err);
    enum kube_watch_end end = kube_watch_done(r->watch, multi, result, &err);
    /* keep our RV in step with what the watch saw */
    set_rv(r, kube_watch_last_rv(r->watch));
    switch (end) {
    case KUBE_WATCH_END_CLOSED:
        log_refl(r, LOG_DEBUG, "watch closed", NULL);
        r->backoff_ms = 0;
        set_state(r, ST_WATCH_WAIT, 0);
        break;
    case KUBE_WATCH_END_EXPIRED:
        log_refl(r, LOG_INFO, "watch expired, relisting", NULL);
        set_state(r, ST_LIST, 0);
        break;
    case KUBE_WATCH_END_ERROR:
        log_refl(r, LOG_WARN, "watch failed", &err);
        backoff(r, ST_WATCH_WAIT);
        break;
    case KUBE_WATCH_END_CANCELLED:
        set_state(r, ST_WATCH_WAIT, 0);
        break;
    }
}

/* ------------------------------------------------------------------ group thread */

void reflector_resume(struct reflector *r)
{
    if (r->state == ST_WATCHING || r->state == ST_LISTING)
        r->state = r->state == ST_WATCHING ? ST_WATCH_WAIT : ST_LIST;
    r->next_at = now_ms(r);
}

bool reflector_tick(struct reflector *r, CURLM *multi)
{
    if (r->state == ST_LIST && now_ms(r) >= r->next_at) {
        r->state = ST_LISTING;
        return true;
    }
    if (r->state == ST_WATCH_WAIT && now_ms(r) >= r->next_at)
        start_watch(r, multi);
    return false;
}

int64_t reflector_next_timer_ms(const struct reflector *r)
{
    if (r->state == ST_LISTING || r->state == ST_WATCHING)
        return INT64_MAX;
    int64_t d = r->next_at - now_ms(r);
    return d < 0 ? 0 : d;
}

bool reflector_owns(const struct reflector *r, const CURL *easy)
{
    return r->watch && r->state == ST_WATCHING && kube_watch_easy(r->watch) == easy;
}

void reflector_detach(struct reflector *r, CURLM *multi)
{
    if (r->state != ST_WATCHING)
        return;
    struct tm_err err;
    (void)kube_watch_done(r->watch, multi, CURLE_ABORTED_BY_CALLBACK, &err);
    set_rv(r, kube_watch_last_rv(r->watch));
    r->state = ST_WATCH_WAIT;
}

/* ------------------------------------------------------------------ any thread */

bool reflector_synced(struct reflector *r)
{
    return atomic_load(&r->synced);
}

void reflector_last_rv(struct reflector *r, char *out, size_t n)
{
    pthread_mutex_lock(&r->rv_mu);
    snprintf(out, n, "%s", r->rv);
    pthread_mutex_unlock(&r->rv_mu);
}

void reflector_set_resume_rv(struct reflector *r, const char *rv)
{
    set_rv(r, rv);
    if (r->state == ST_WATCHING)
        r->state = ST_WATCH_WAIT;
}

void reflector_get_stats(struct reflector *r, struct informer_stats *out)
{
    out->lists = atomic_load(&r->st_lists);
    out->relists = atomic_load(&r->st_relists);
    out->watches = atomic_load(&r->st_watches);
    out->watch_restarts = atomic_load(&r->st_restarts);
    out->events = atomic_load(&r->st_events);
    out->bookmarks = atomic_load(&r->st_bookmarks);
    out->synthesized_deletes = atomic_load(&r->st_synth);
    out->errors = atomic_load(&r->st_errors) + store_index_failures(r->store);
}
