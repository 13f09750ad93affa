/* kube event queue: the bounded FIFO of Events an eventer sends (see event_queue.h). */
#include "kube/event_queue.h"

#include <stdlib.h>
#include <string.h>

enum tm_code kube_evq_init(struct kube_evq *q, size_t cap)
{
    memset(q, 0, sizeof(*q));
    q->cap = cap ? cap : KUBE_EVENT_QUEUE_DEFAULT;
    q->ring = calloc(q->cap, sizeof(*q->ring));
    return q->ring ? TM_OK : TM_E_NOMEM;
}

void kube_evq_release(struct kube_evq *q)
{
    if (!q)
        return;
    struct kube_evq_item *it;
    while (q->ring && (it = kube_evq_pop(q)))
        free(it);
    free(q->ring);
    memset(q, 0, sizeof(*q));
}

static size_t len0(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies s to *at (advanced past it); NULL stays NULL. */
static const char *copy_to(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*at, s, n);
    const char *out = *at;
    *at += n;
    return out;
}

/* One allocation: the item and every string of e after it. */
static struct kube_evq_item *item_new(const struct kube_event *e, int64_t now_ms)
{
    const struct kube_event_regarding *r = &e->regarding;
    size_t n = len0(r->api_version) + len0(r->kind) + len0(r->ns) + len0(r->name) +
               len0(r->uid) + len0(r->resource_version) + len0(e->type) + len0(e->reason) +
               len0(e->action) + len0(e->note);
    struct kube_evq_item *it = malloc(sizeof(*it) + n);
    if (!it)
        return NULL;
    char *at = it->data;
    it->now_ms = now_ms;
    it->e.regarding.api_version = copy_to(&at, r->api_version);
    it->e.regarding.kind = copy_to(&at, r->kind);
    it->e.regarding.ns = copy_to(&at, r->ns);
    it->e.regarding.name = copy_to(&at, r->name);
    it->e.regarding.uid = copy_to(&at, r->uid);
    it->e.regarding.resource_version = copy_to(&at, r->resource_version);
    it->e.type = copy_to(&at, e->type);
    it->e.reason = copy_to(&at, e->reason);
    it->e.action = copy_to(&at, e->action);
    it->e.note = copy_to(&at, e->note);
    return it;
}

enum kube_evq_push kube_evq_push(struct kube_evq *q, const struct kube_event *e, int64_t now_ms)
{
    struct kube_evq_item *it = q->n < q->cap ? item_new(e, now_ms) : NULL;
    if (!it) {
        q->dropped++;
        bool first = !q->in_burst;
        q->in_burst = true;
        return first ? KUBE_EVQ_DROPPED_FIRST : KUBE_EVQ_DROPPED;
    }
    q->ring[(q->head + q->n) % q->cap] = it;
    q->n++;
    q->in_burst = false;
    return KUBE_EVQ_QUEUED;
}

struct kube_evq_item *kube_evq_pop(struct kube_evq *q)
{
    if (q->n == 0)
        return NULL;
    struct kube_evq_item *it = q->ring[q->head];
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->n--;
    return it;
}
