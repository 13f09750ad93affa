/* Lease leader election (see leader.h). */
#include "runtime/leader.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/kube.h"
#include "runtime/metrics.h"

struct leader {
    struct kube_config *cfg;
    const struct tm_proc *proc;
    struct kube_client *client; /* used by one thread at a time */
    char ns[KUBE_NAME_MAX], name[KUBE_NAME_MAX], id[KUBE_NAME_MAX];
    int64_t lease_ms, renew_ms, retry_ms;
    bool release_on_cancel;
    void (*on_started)(void *ctx);
    void (*on_stopped)(void *ctx);
    void (*on_new_leader)(void *ctx, const char *identity);
    void *ctx;

    /* election state (one thread at a time) */
    struct kube_lease observed;  /* the record as last seen (with its RV) */
    bool have_observed;
    int64_t observed_ms;         /* our clock when it last changed */
    unsigned rng;

    pthread_mutex_t mu; /* guards holder and the stop condvar */
    pthread_cond_t cv;
    char holder[KUBE_NAME_MAX];
    bool stop;
    pthread_t thread;
    bool running;
    atomic_bool leading;
    atomic_bool lost;
    struct metrics_family *m_leader;
};

/* Lease times are MicroTime: the wall clock in microseconds (clock.h reads
 * milliseconds, which would drop digits the Lease shows). */
static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct leader *leader_new(struct kube_config *cfg, const struct tm_proc *proc,
                          const struct leader_opts *o, struct tm_err *err)
{
    if (!o->ns || !o->name || !o->identity || !*o->ns || !*o->name || !*o->identity) {
        tm_err_set(err, TM_E_INVAL, "leader election: namespace, name and identity are required");
        return NULL;
    }
    if (strlen(o->ns) >= KUBE_NAME_MAX || strlen(o->name) >= KUBE_NAME_MAX ||
        strlen(o->identity) >= KUBE_NAME_MAX) {
        tm_err_set(err, TM_E_INVAL, "leader election: name too long");
        return NULL;
    }
    int64_t lease = o->lease_duration_ms > 0 ? o->lease_duration_ms : 15000;
    int64_t renew = o->renew_deadline_ms > 0 ? o->renew_deadline_ms : 10000;
    int64_t retry = o->retry_period_ms > 0 ? o->retry_period_ms : 2000;
    /* client-go: leaseDuration > renewDeadline > JitterFactor(1.2) * retryPeriod */
    if (lease <= renew || renew * 10 <= retry * 12 || lease < 1000) {
        tm_err_set(err, TM_E_INVAL,
                   "leader election: need lease duration > renew deadline > 1.2 * retry period "
                   "(got %lld/%lld/%lld ms)",
                   (long long)lease, (long long)renew, (long long)retry);
        return NULL;
    }
    struct leader *l = calloc(1, sizeof(*l));
    if (!l) {
        tm_err_set(err, TM_E_NOMEM, "leader election: out of memory");
        return NULL;
    }
    struct kube_client_opts co = {.timeout_ms = renew / 2 > 1000 ? renew / 2 : 1000,
                                  .connect_timeout_ms = retry > 1000 ? retry : 1000,
                                  .max_429_retries = -1};
    l->client = kube_client_new(cfg, &co, err);
    if (!l->client) {
        free(l);
        return NULL;
    }
    l->cfg = cfg;
    l->proc = proc;
    snprintf(l->ns, sizeof(l->ns), "%s", o->ns);
    snprintf(l->name, sizeof(l->name), "%s", o->name);
    snprintf(l->id, sizeof(l->id), "%s", o->identity);
    l->lease_ms = lease;
    l->renew_ms = renew;
    l->retry_ms = retry;
    l->release_on_cancel = !o->no_release_on_cancel;
    l->on_started = o->on_started;
    l->on_stopped = o->on_stopped;
    l->on_new_leader = o->on_new_leader;
    l->ctx = o->ctx;
    l->rng = (unsigned)(uintptr_t)l ^ (unsigned)wall_us();
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&l->leading, false);
    atomic_init(&l->lost, false);
    if (proc->metrics) {
        l->m_leader = metrics_gauge(proc->metrics, "tidemark_leader",
                                    "1 while this process holds the leader Lease.", NULL, err);
        if (!l->m_leader) {
            leader_free(l);
            return NULL;
        }
    }
    return l;
}

static bool same_record(const struct kube_lease *a, const struct kube_lease *b)
{
    return strcmp(a->holder, b->holder) == 0 && a->duration_s == b->duration_s &&
           a->acquire_us == b->acquire_us && a->renew_us == b->renew_us &&
           a->transitions == b->transitions;
}

static void set_holder(struct leader *l, const char *holder)
{
    bool changed;
    pthread_mutex_lock(&l->mu);
    changed = strcmp(l->holder, holder) != 0;
    if (changed)
        snprintf(l->holder, sizeof(l->holder), "%s", holder);
    pthread_mutex_unlock(&l->mu);
    if (changed && l->on_new_leader && holder[0])
        l->on_new_leader(l->ctx, holder);
}

bool leader_try_acquire_or_renew(struct leader *l, struct tm_err *err)
{
    struct kube_lease cur, rec;
    int64_t now = tm_clock_now(&l->proc->clock);
    int64_t now_us = wall_us();
    enum tm_code rc = kube_lease_get(l->client, l->ns, l->name, &cur, err);
    if (rc == TM_E_NOTFOUND) {
        memset(&rec, 0, sizeof(rec));
        snprintf(rec.ns, sizeof(rec.ns), "%s", l->ns);
        snprintf(rec.name, sizeof(rec.name), "%s", l->name);
        snprintf(rec.holder, sizeof(rec.holder), "%s", l->id);
        rec.duration_s = (int)((l->lease_ms + 999) / 1000);
        rec.acquire_us = rec.renew_us = now_us;
        rec.transitions = 0;
        if (kube_lease_create(l->client, &rec, &cur, err) != TM_OK)
            return false; /* 409: someone created it first */
        l->observed = cur;
        l->have_observed = true;
        l->observed_ms = now;
        set_holder(l, l->id);
        return true;
    }
    if (rc != TM_OK)
        return false;
    if (!l->have_observed || !same_record(&l->observed, &cur)) {
        l->observed = cur;
        l->have_observed = true;
        l->observed_ms = now;
        set_holder(l, cur.holder);
    } else {
        /* same record: keep the time it changed; take the fresh RV */
        snprintf(l->observed.resource_version, sizeof(l->observed.resource_version), "%s",
                 cur.resource_version);
    }
    bool ours = strcmp(cur.holder, l->id) == 0;
    int64_t dur_ms = cur.duration_s > 0 ? (int64_t)cur.duration_s * 1000 : l->lease_ms;
    if (cur.holder[0] && !ours && l->observed_ms + dur_ms > now) {
        tm_err_setr(err, TM_E_LOCKED, TM_RETRY_WAITING, "lease %s/%s is held by %s", l->ns,
                    l->name, cur.holder);
        return false;
    }
    rec = cur;
    snprintf(rec.holder, sizeof(rec.holder), "%s", l->id);
    rec.duration_s = (int)((l->lease_ms + 999) / 1000);
    rec.renew_us = now_us;
    if (!ours) {
        rec.acquire_us = now_us;
        rec.transitions = cur.transitions + 1;
    }
    if (kube_lease_update(l->client, &rec, &cur, err) != TM_OK)
        return false; /* TM_E_CONFLICT: lost the race */
    l->observed = cur;
    l->observed_ms = now;
    set_holder(l, l->id);
    return true;
}

enum tm_code leader_release(struct leader *l, struct tm_err *err)
{
    if (!l->have_observed || strcmp(l->observed.holder, l->id) != 0)
        return TM_OK;
    struct kube_lease rec = l->observed, out;
    int64_t now_us = wall_us();
    rec.holder[0] = '\0';
    rec.duration_s = 1;
    rec.acquire_us = rec.renew_us = now_us;
    enum tm_code rc = kube_lease_update(l->client, &rec, &out, err);
    if (rc == TM_OK) {
        l->observed = out;
        l->observed_ms = tm_clock_now(&l->proc->clock);
        set_holder(l, "");
    }
    return rc;
}

/* Waits ms of real time or until stop; true when stop was requested. */
static bool wait_or_stop(struct leader *l, int64_t ms)
{
    struct timespec ts = tm_mono_deadline(ms);
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT)
            break;
    }
    bool s = l->stop;
    pthread_mutex_unlock(&l->mu);
    return s;
}

static int64_t jittered(struct leader *l, int64_t ms)
{
    l->rng = l->rng * 1103515245u + 12345u;
    return ms + (int64_t)((double)ms * 0.2 * (double)((l->rng >> 8) % 1000) / 1000.0);
}

static void become(struct leader *l, bool leading)
{
    atomic_store(&l->leading, leading);
    metrics_set(l->m_leader, NULL, leading ? 1 : 0);
    struct tm_log *lg = l->proc->log;
    if (leading) {
        log_info(lg, "leader election won", LF_S("lease", l->name), LF_S("namespace", l->ns),
                 LF_S("identity", l->id), LF_I("transitions", l->observed.transitions));
        if (l->on_started)
            l->on_started(l->ctx);
    } else {
        if (l->on_stopped)
            l->on_stopped(l->ctx);
    }
}

static void *leader_main(void *arg)
{
    struct leader *l = arg;
    struct tm_err err;
    /* acquire */
    for (;;) {
        tm_err_clear(&err);
        if (leader_try_acquire_or_renew(l, &err))
            break;
        if (err.code != TM_E_LOCKED && err.code != TM_OK)
            log_warn(l->proc->log, "leader election attempt failed", LF_S("lease", l->name),
                     LF_S("err", err.msg));
        if (wait_or_stop(l, jittered(l, l->retry_ms)))
            return NULL;
    }
    become(l, true);
    /* renew */
    for (;;) {
        if (wait_or_stop(l, l->retry_ms))
            break;
        int64_t round_start = tm_clock_now(&l->proc->clock);
        bool renewed = false;
        for (;;) {
            tm_err_clear(&err);
            if (leader_try_acquire_or_renew(l, &err)) {
                renewed = true;
                break;
            }
            log_warn(l->proc->log, "leader lease renewal failed", LF_S("lease", l->name),
                     LF_S("err", err.msg));
            if (err.code == TM_E_LOCKED)
                break; /* someone else holds it: we are not the leader any more */
            int64_t left = round_start + l->renew_ms - tm_clock_now(&l->proc->clock);
            if (left <= 0)
                break;
            if (wait_or_stop(l, left < l->retry_ms ? left : l->retry_ms)) {
                renewed = true; /* stopping: release below */
                break;
            }
        }
        if (!renewed) {
            log_error(l->proc->log, "leader election lost", LF_S("lease", l->name),
                      LF_S("identity", l->id));
            atomic_store(&l->lost, true);
            become(l, false);
            return NULL;
        }
        pthread_mutex_lock(&l->mu);
        bool s = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (s)
            break;
    }
    /* stopping while leading */
    if (l->release_on_cancel) {
        tm_err_clear(&err);
        if (leader_release(l, &err) != TM_OK)
            log_warn(l->proc->log, "leader lease release failed", LF_S("lease", l->name),
                     LF_S("err", err.msg));
        else
            log_info(l->proc->log, "leader lease released", LF_S("lease", l->name),
                     LF_S("identity", l->id));
    }
    become(l, false);
    return NULL;
}

enum tm_code leader_start(struct leader *l, struct tm_err *err)
{
    if (l->running)
        return tm_err_set(err, TM_E_INVAL, "leader election already running");
    l->stop = false;
    int rc = pthread_create(&l->thread, NULL, leader_main, l);
    if (rc != 0)
        return tm_err_set(err, TM_E_INTERNAL, "leader election thread: %s", strerror(rc));
    l->running = true;
    return TM_OK;
}

void leader_stop(struct leader *l)
{
    if (!l || !l->running)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    l->running = false;
}

void leader_free(struct leader *l)
{
    if (!l)
        return;
    leader_stop(l);
    kube_client_free(l->client);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

bool leader_is_leader(struct leader *l)
{
    return atomic_load(&l->leading);
}

bool leader_lost(struct leader *l)
{
    return atomic_load(&l->lost);
}

void leader_holder(struct leader *l, char *out, size_t n)
{
    pthread_mutex_lock(&l->mu);
    snprintf(out, n, "%s", l->holder);
    pthread_mutex_unlock(&l->mu);
}
