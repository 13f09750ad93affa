/* kube event queue: the bounded FIFO of Events waiting for an eventer's sender thread
 * (event.c), prefix kube_evq_.
 *
 * Why bounded and never blocking: a reconcile records an Event and goes on; it must not
 * wait for the API server (client-go's events broadcaster does the same).  When the queue
 * is full the new Event is dropped and counted: Events are a best-effort record, status is
 * the source of truth.  A run of drops with no Event queued in between is one burst; only
 * its first drop says so (KUBE_EVQ_DROPPED_FIRST), so the caller logs once per burst.
 *
 * Pure: no locks, no I/O, no clock; the eventer holds its mutex around every call.  Each
 * item is one allocation holding the event and copies of its strings: the caller's strings
 * may go away as soon as kube_evq_push returns. */
#ifndef TM_KUBE_EVENT_QUEUE_H
#define TM_KUBE_EVENT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/kube.h"

/* One queued Event: e's strings point into data (NULL stays NULL). */
struct kube_evq_item {
    struct kube_event e;
    int64_t now_ms; /* when it was recorded (the Event's time, not when it is sent) */
    char data[];
};

struct kube_evq {
    struct kube_evq_item **ring; /* cap slots; n items from head on */
    size_t cap, head, n;
    uint64_t dropped; /* pushes refused since init */
    bool in_burst;    /* the last push was a drop */
};

enum kube_evq_push {
    KUBE_EVQ_QUEUED = 0,
    KUBE_EVQ_DROPPED,       /* full (or out of memory): e not queued */
    KUBE_EVQ_DROPPED_FIRST, /* dropped, and the first drop since the last queued Event */
};

/* Empty queue of at most cap items (0 = KUBE_EVENT_QUEUE_DEFAULT).  TM_E_NOMEM. */
enum tm_code kube_evq_init(struct kube_evq *q, size_t cap) TM_MUST_CHECK;
/* Frees q's items and ring; q is left empty and unusable until init.  NULL ok. */
void kube_evq_release(struct kube_evq *q);

/* Queues a copy of e recorded at now_ms, or drops it when full. */
enum kube_evq_push kube_evq_push(struct kube_evq *q, const struct kube_event *e, int64_t now_ms);

/* The oldest item, removed from q (the caller free()s it), or NULL when empty. */
struct kube_evq_item *kube_evq_pop(struct kube_evq *q);

#endif
