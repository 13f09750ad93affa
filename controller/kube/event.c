/* kube events: events.k8s.io/v1 Events with de-duplication into series (see kube.h),
 * recorded by reconciles and sent by the eventer's own thread.
 *
 * Why a sender thread: an Event is a record for humans, not part of the work; sent from the
 * worker it cost each DBRollout 7 API round trips (~100 ms each on a loaded API server)
 * while the reconcile, and its apply slot, waited.  Like client-go's events broadcaster,
 * kube_event_record copies the Event into a bounded queue (event_queue.h) and returns; one
 * thread per eventer, with its own client, sends them in order.  A full queue drops new
 * Events (counted, kube_eventer_stats); kube_eventer_flush waits for the queue to drain
 * (shutdown gives it what is left of the grace period).  A single sender also means the
 * series de-duplication below sees every Event in order.
 *
 * Like client-go's tools/events broadcaster: an event isomorphic to one sent
 * in the last 10 minutes (same regarding uid, reason, type and note) is not
 * created again; the existing Event's `series` {count, lastObservedTime} is
 * patched instead (count 2 at the first repeat).  The memory of sent events
 * is a bounded table (KUBE_EVENTER_MAX entries): expired entries go first,
 * then the oldest.  Two threads racing on the same new event may both create
 * one; that only costs a duplicate, never a lost event.
 *
 * Also here: MicroTime/RFC 3339 formatting and parsing, shared with leases. */
#include "kube/kube_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/caps.h"
#include "common/clock.h"
#include "kube/event_queue.h"

#define KUBE_EVENTER_MAX 1024
#define KUBE_EVENT_FIELD_MAX 128 /* API limit for reason, action, reportingInstance */

struct ev_entry {
    char *key;            /* uid \x1f reason \x1f type \x1f note; NULL = free slot */
    char ns[KUBE_NAME_MAX];
    char name[KUBE_NAME_MAX];
    int count;
    int64_t last_ms;
};

struct kube_eventer {
    char controller[KUBE_NAME_MAX];
    char instance[KUBE_NAME_MAX];
    pthread_mutex_t mu; /* guards everything below */
    struct ev_entry entries[KUBE_EVENTER_MAX];
    uint64_t seq;
    /* the sender (kube_eventer_start) */
    struct kube_evq q;
    pthread_cond_t more; /* signalled: an item queued, or quit */
    pthread_cond_t idle; /* broadcast: the sender finished an item */
    pthread_t thread;
    bool running;        /* the thread was started and not joined */
    bool quit;
    bool sending;        /* the sender holds an item out of the queue */
    uint64_t failed;
    struct kube_client *client; /* the sender's */
    kube_event_failed_fn on_failed;
    void *on_failed_ctx;
};

/* ------------------------------------------------------------------- time */

void kube_time_micro(int64_t unix_us, char out[32])
{
    time_t s = (time_t)(unix_us / 1000000);
    long us = (long)(unix_us % 1000000);
    if (us < 0) {
        us += 1000000;
        s -= 1;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    char date[24];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%06ldZ", date, us);
}

void kube_time_rfc3339(int64_t unix_s, char out[32])
{
    time_t s = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool digits(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool kube_time_parse(const char *s, int64_t *unix_us)
{
    int Y, M, D, h, m, sec;
    if (!s || strlen(s) < 20)
        return false;
    if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
        !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    const char *p = s + 19;
    int64_t frac_us = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 6)
                frac_us = frac_us * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0)
            return false;
        for (int i = nd; i < 6; i++)
            frac_us *= 10;
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om))
            return false;
        off_s = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - off_s;
    *unix_us = t * 1000000 + frac_us;
    return true;
}

/* ---------------------------------------------------------------- eventer */

struct kube_eventer *kube_eventer_new(const char *controller, const char *instance,
                                      struct tm_err *err)
{
    struct kube_eventer *ev = calloc(1, sizeof(*ev));
    if (!ev) {
        tm_err_set(err, TM_E_NOMEM, "eventer: out of memory");
        return NULL;
    }
    pthread_mutex_init(&ev->mu, NULL);
    pthread_cond_init(&ev->more, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* flush's deadline */
    pthread_cond_init(&ev->idle, &ca);
    pthread_condattr_destroy(&ca);
    if (kube_evq_init(&ev->q, 0) != TM_OK) {
        kube_eventer_free(ev);
        tm_err_set(err, TM_E_NOMEM, "eventer: out of memory");
        return NULL;
    }
    snprintf(ev->controller, sizeof(ev->controller), "%s",
             controller && *controller ? controller : "tidemark.dev/controller");
    const char *pod = getenv("POD_NAME");
    if (instance && *instance) {
        snprintf(ev->instance, sizeof(ev->instance), "%s", instance);
    } else if (pod && *pod) {
        snprintf(ev->instance, sizeof(ev->instance), "%s", pod);
    } else if (gethostname(ev->instance, sizeof(ev->instance) - 1) != 0 || !ev->instance[0]) {
        snprintf(ev->instance, sizeof(ev->instance), "tidemark");
    }
    ev->instance[KUBE_EVENT_FIELD_MAX] = '\0'; /* the API's limit for reportingInstance */
    return ev;
}

void kube_eventer_free(struct kube_eventer *ev)
{
    if (!ev)
        return;
    pthread_mutex_lock(&ev->mu);
    ev->quit = true;
    pthread_cond_signal(&ev->more);
    bool running = ev->running;
    pthread_mutex_unlock(&ev->mu);
    if (running)
        pthread_join(ev->thread, NULL);
    kube_client_free(ev->client);
    kube_evq_release(&ev->q);
    for (size_t i = 0; i < KUBE_EVENTER_MAX; i++)
        free(ev->entries[i].key);
    pthread_cond_destroy(&ev->idle);
    pthread_cond_destroy(&ev->more);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}

/* The sender: one queued Event at a time, in order, until quit (what is left stays queued). */
static void *sender_main(void *arg)
{
    struct kube_eventer *ev = arg;
    pthread_mutex_lock(&ev->mu);
    for (;;) {
        while (!ev->quit && ev->q.n == 0)
            pthread_cond_wait(&ev->more, &ev->mu);
        if (ev->quit)
            break;
        struct kube_evq_item *it = kube_evq_pop(&ev->q);
        ev->sending = true;
        pthread_mutex_unlock(&ev->mu);

        struct tm_err err;
        tm_err_clear(&err);
        enum tm_code rc = kube_event_emit(ev, ev->client, &it->e, it->now_ms, &err);
        if (rc != TM_OK && ev->on_failed)
            ev->on_failed(ev->on_failed_ctx, &it->e, &err);
        free(it);

        pthread_mutex_lock(&ev->mu);
        if (rc != TM_OK)
            ev->failed++;
        ev->sending = false;
        pthread_cond_broadcast(&ev->idle);
    }
    pthread_mutex_unlock(&ev->mu);
    return NULL;
}

enum tm_code kube_eventer_start(struct kube_eventer *ev, struct kube_config *cfg,
                                size_t queue_max, kube_event_failed_fn on_failed, void *ctx,
                                struct tm_err *err)
{
    if (ev->running || ev->client)
        return tm_err_set(err, TM_E_INVAL, "eventer: already started");
    struct kube_client_opts co = {.timeout_ms = KUBE_EVENT_SEND_TIMEOUT_MS};
    ev->client = kube_client_new(cfg, &co, err);
    if (!ev->client)
        return err ? err->code : TM_E_INTERNAL;
    if (queue_max && queue_max != ev->q.cap) {
        kube_evq_release(&ev->q);
        if (kube_evq_init(&ev->q, queue_max) != TM_OK)
            return tm_err_set(err, TM_E_NOMEM, "eventer: out of memory");
    }
    ev->on_failed = on_failed;
    ev->on_failed_ctx = ctx;
    int rc = pthread_create(&ev->thread, NULL, sender_main, ev);
    if (rc != 0)
        return tm_err_set(err, TM_E_NOMEM, "eventer: cannot start its thread: %s",
                          strerror(rc));
    pthread_mutex_lock(&ev->mu);
    ev->running = true;
    pthread_mutex_unlock(&ev->mu);
    return TM_OK;
}

enum kube_event_recorded kube_event_record(struct kube_eventer *ev, const struct kube_event *e,
                                           int64_t now_ms)
{
    pthread_mutex_lock(&ev->mu);
    enum kube_evq_push p = kube_evq_push(&ev->q, e, now_ms);
    if (p == KUBE_EVQ_QUEUED)
        pthread_cond_signal(&ev->more);
    pthread_mutex_unlock(&ev->mu);
    return p == KUBE_EVQ_QUEUED  ? KUBE_EVENT_QUEUED
           : p == KUBE_EVQ_DROPPED ? KUBE_EVENT_DROPPED
                                   : KUBE_EVENT_DROPPED_FIRST;
}

size_t kube_eventer_flush(struct kube_eventer *ev, int64_t timeout_ms)
{
    struct timespec deadline = tm_mono_deadline(timeout_ms > 0 ? timeout_ms : 0);
    pthread_mutex_lock(&ev->mu);
    while (ev->running && !ev->quit && (ev->q.n > 0 || ev->sending)) {
        if (pthread_cond_timedwait(&ev->idle, &ev->mu, &deadline) != 0)
            break; /* timed out */
    }
    size_t left = ev->q.n + (ev->sending ? 1 : 0);
    pthread_mutex_unlock(&ev->mu);
    return left;
}

struct kube_eventer_stats kube_eventer_stats(struct kube_eventer *ev)
{
    pthread_mutex_lock(&ev->mu);
    struct kube_eventer_stats st = {.queued = ev->q.n, .dropped = ev->q.dropped,
                                    .failed = ev->failed};
    pthread_mutex_unlock(&ev->mu);
    return st;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* s[n] is a continuation byte: its sequence would be cut */
    return n;
}

static bool add_str(cJSON *o, const char *k, const char *v)
{
    return v && *v ? cJSON_AddStringToObject(o, k, v) != NULL : true;
}

static enum tm_code event_create(struct kube_eventer *evr, struct kube_client *c,
                                 const struct kube_event *e, const char *ns, const char *note,
                                 int64_t now_ms, char *name_out, size_t name_n,
                                 struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    char micro[32];
    kube_time_micro(now_ms * 1000, micro);
    pthread_mutex_lock(&evr->mu);
    uint64_t seq = ++evr->seq;
    pthread_mutex_unlock(&evr->mu);
    /* unique name like client-go's "<name>.<hex nanos>" (+ a sequence number
     * so two events in one millisecond of an injected clock do not clash) */
    snprintf(name_out, name_n, "%.200s.%llx%04llx", e->regarding.name,
             (unsigned long long)now_ms * 1000000ULL, (unsigned long long)(seq & 0xffff));
    struct tm_buf path;
    tm_buf_init(&path, TM_CAP_SMALL);
    cJSON *body = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(body, "metadata");
    cJSON *reg = cJSON_AddObjectToObject(body, "regarding");
    bool ok = body && md && reg && cJSON_AddStringToObject(body, "apiVersion", "events.k8s.io/v1") &&
              cJSON_AddStringToObject(body, "kind", "Event") && add_str(md, "name", name_out) &&
              add_str(md, "namespace", ns) && add_str(body, "eventTime", micro) &&
              add_str(body, "reportingController", evr->controller) &&
              add_str(body, "reportingInstance", evr->instance) &&
              add_str(body, "action", e->action) && add_str(body, "reason", e->reason) &&
              add_str(body, "type", e->type) && add_str(body, "note", note) &&
              add_str(reg, "apiVersion", e->regarding.api_version) &&
              add_str(reg, "kind", e->regarding.kind) && add_str(reg, "namespace", e->regarding.ns) &&
              add_str(reg, "name", e->regarding.name) && add_str(reg, "uid", e->regarding.uid) &&
              add_str(reg, "resourceVersion", e->regarding.resource_version);
    if (!ok) {
        rc = tm_err_set(err, TM_E_NOMEM, "event: out of memory");
        goto out;
    }
    struct kube_ref ref = {.group = "events.k8s.io", .version = "v1", .ns = ns,
                           .resource = "events"};
    rc = kube_path(&path, &ref, err);
    if (rc == TM_OK)
        rc = kube_create(c, tm_buf_str(&path), body, NULL, err);
out:
    cJSON_Delete(body);
    tm_buf_release(&path);
    return rc;
}

static enum tm_code event_patch_series(struct kube_client *c, const char *ns, const char *name,
                                       int count, int64_t now_ms, struct tm_err *err)
{
    char micro[32];
    kube_time_micro(now_ms * 1000, micro);
    struct tm_buf path;
    tm_buf_init(&path, TM_CAP_SMALL);
    enum tm_code rc = TM_OK;
    cJSON *body = cJSON_CreateObject();
    cJSON *series = cJSON_AddObjectToObject(body, "series");
    if (!body || !series || !cJSON_AddNumberToObject(series, "count", count) ||
        !cJSON_AddStringToObject(series, "lastObservedTime", micro)) {
        rc = tm_err_set(err, TM_E_NOMEM, "event: out of memory");
        goto out;
    }
    struct kube_ref ref = {.group = "events.k8s.io", .version = "v1", .ns = ns,
                           .resource = "events", .name = name};
    rc = kube_path(&path, &ref, err);
    if (rc == TM_OK)
        rc = kube_patch(c, tm_buf_str(&path), KUBE_PATCH_MERGE, body, NULL, err);
out:
    cJSON_Delete(body);
    tm_buf_release(&path);
    return rc;
}

/* Finds a live entry for key, or NULL.  Caller holds mu. */
static struct ev_entry *find_entry(struct kube_eventer *evr, const char *key, int64_t now_ms)
{
    for (size_t i = 0; i < KUBE_EVENTER_MAX; i++) {
        struct ev_entry *en = &evr->entries[i];
        if (en->key && now_ms - en->last_ms < KUBE_EVENT_SERIES_WINDOW_MS &&
            strcmp(en->key, key) == 0)
            return en;
    }
    return NULL;
}

/* A slot for a new entry: free, else expired, else the oldest.  Caller holds mu. */
static struct ev_entry *take_slot(struct kube_eventer *evr, int64_t now_ms)
{
    struct ev_entry *oldest = &evr->entries[0];
    for (size_t i = 0; i < KUBE_EVENTER_MAX; i++) {
        struct ev_entry *en = &evr->entries[i];
        if (!en->key || now_ms - en->last_ms >= KUBE_EVENT_SERIES_WINDOW_MS)
            return en;
        if (en->last_ms < oldest->last_ms)
            oldest = en;
    }
    return oldest;
}

enum tm_code kube_event_emit(struct kube_eventer *evr, struct kube_client *c,
                             const struct kube_event *e, int64_t now_ms, struct tm_err *err)
{
    if (!e->type || (strcmp(e->type, "Normal") != 0 && strcmp(e->type, "Warning") != 0))
        return tm_err_set(err, TM_E_INVAL, "event: type must be Normal or Warning");
    if (!e->reason || !*e->reason || !e->action || !*e->action)
        return tm_err_set(err, TM_E_INVAL, "event: reason and action are required");
    if (strlen(e->reason) > KUBE_EVENT_FIELD_MAX || strlen(e->action) > KUBE_EVENT_FIELD_MAX)
        return tm_err_set(err, TM_E_INVAL, "event: reason and action are limited to %d bytes",
                          KUBE_EVENT_FIELD_MAX);
    if (!e->regarding.name || !*e->regarding.name || !e->regarding.kind || !*e->regarding.kind)
        return tm_err_set(err, TM_E_INVAL, "event: regarding kind and name are required");
    const char *ns = e->regarding.ns && *e->regarding.ns ? e->regarding.ns : "default";
    const char *note_in = e->note ? e->note : "";
    size_t note_len = utf8_cut(note_in, KUBE_EVENT_NOTE_MAX);
    char *note = strndup(note_in, note_len);
    struct tm_buf key;
    tm_buf_init(&key, TM_CAP_SMALL);
    enum tm_code rc = TM_OK;
    if (!note) {
        rc = tm_err_set(err, TM_E_NOMEM, "event: out of memory");
        goto out;
    }
    /* without a uid, identify the object by kind/namespace/name */
    if (tm_buf_addf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s",
                    e->regarding.uid ? e->regarding.uid : "", e->regarding.kind, ns,
                    e->regarding.name, e->reason, e->type, note) != TM_OK) {
        rc = tm_err_set(err, TM_E_NOMEM, "event: out of memory");
        goto out;
    }

    char name[KUBE_NAME_MAX] = "";
    int count = 0;
    pthread_mutex_lock(&evr->mu);
    struct ev_entry *en = find_entry(evr, tm_buf_str(&key), now_ms);
    if (en) {
        en->count++;
        en->last_ms = now_ms;
        count = en->count;
        snprintf(name, sizeof(name), "%s", en->name);
    }
    pthread_mutex_unlock(&evr->mu);

    if (count > 0) {
        rc = event_patch_series(c, ns, name, count, now_ms, err);
        if (rc != TM_E_NOTFOUND)
            goto out; /* done, or failed for a reason a new Event would not fix */
        /* the Event expired or was deleted: start a new one */
    }
    rc = event_create(evr, c, e, ns, note, now_ms, name, sizeof(name), err);
    if (rc != TM_OK)
        goto out;
    pthread_mutex_lock(&evr->mu);
    en = find_entry(evr, tm_buf_str(&key), now_ms);
    if (!en) {
        en = take_slot(evr, now_ms);
        free(en->key);
        en->key = tm_buf_detach(&key, NULL);
    }
    if (en->key) {
        snprintf(en->ns, sizeof(en->ns), "%s", ns);
        snprintf(en->name, sizeof(en->name), "%s", name);
        en->count = 1;
        en->last_ms = now_ms;
    }
    pthread_mutex_unlock(&evr->mu);
out:
    if (rc != TM_OK)
        tm_err_prefix(err, "event %s %s/%s", e->reason ? e->reason : "", ns,
                      e->regarding.name ? e->regarding.name : "");
    free(note);
    tm_buf_release(&key);
    return rc;
}
