/* Unit tests of the Events queue (controller/kube/event_queue.c) and of an eventer that has
 * no sender: FIFO order, copies that outlive the caller's strings, drops past the bound with
 * one "first" per burst, wrap-around, and flush without a sender. */
#include "../tm_test.h"

#include <stdlib.h>

#include "kube/event_queue.h"

static struct kube_event sample(const char *reason, const char *note)
{
    struct kube_event e = {
        .regarding = {.api_version = "tidemark.dev/v1alpha1", .kind = "DBRollout", .ns = "shop",
                      .name = "orders", .uid = "u-1", .resource_version = NULL},
        .type = "Normal", .reason = reason, .action = "Apply", .note = note};
    return e;
}

TM_TEST(evq_keeps_order_and_copies_the_strings)
{
    struct kube_evq q;
    TM_ASSERT_INT(kube_evq_init(&q, 4), TM_OK);
    char reason[32] = "SchemaApplied", note[32] = "applied 3";
    struct kube_event e = sample(reason, note);
    TM_EXPECT_INT(kube_evq_push(&q, &e, 1000), KUBE_EVQ_QUEUED);
    snprintf(reason, sizeof(reason), "Succeeded"); /* the caller's buffer changes */
    snprintf(note, sizeof(note), "done");
    TM_EXPECT_INT(kube_evq_push(&q, &e, 2000), KUBE_EVQ_QUEUED);
    struct kube_evq_item *a = kube_evq_pop(&q), *b = kube_evq_pop(&q);
    TM_ASSERT(a && b);
    TM_EXPECT_STR(a->e.reason, "SchemaApplied");
    TM_EXPECT_STR(a->e.note, "applied 3");
    TM_EXPECT_STR(a->e.regarding.name, "orders");
    TM_EXPECT(a->e.regarding.resource_version == NULL); /* NULL stays NULL */
    TM_EXPECT_INT(a->now_ms, 1000);
    TM_EXPECT_STR(b->e.reason, "Succeeded");
    TM_EXPECT_INT(b->now_ms, 2000);
    TM_EXPECT(kube_evq_pop(&q) == NULL);
    free(a);
    free(b);
    kube_evq_release(&q);
}

TM_TEST(evq_drops_past_its_bound_and_says_first_once_per_burst)
{
    struct kube_evq q;
    TM_ASSERT_INT(kube_evq_init(&q, 2), TM_OK);
    struct kube_event e = sample("ChangeSetApplied", "1 EXECUTED");
    TM_EXPECT_INT(kube_evq_push(&q, &e, 1), KUBE_EVQ_QUEUED);
    TM_EXPECT_INT(kube_evq_push(&q, &e, 2), KUBE_EVQ_QUEUED);
    TM_EXPECT_INT(kube_evq_push(&q, &e, 3), KUBE_EVQ_DROPPED_FIRST);
    TM_EXPECT_INT(kube_evq_push(&q, &e, 4), KUBE_EVQ_DROPPED);
    TM_EXPECT_INT(kube_evq_push(&q, &e, 5), KUBE_EVQ_DROPPED);
    TM_EXPECT_INT((int)q.dropped, 3);
    free(kube_evq_pop(&q)); /* room again: the next push ends the burst */
    TM_EXPECT_INT(kube_evq_push(&q, &e, 6), KUBE_EVQ_QUEUED);
    TM_EXPECT_INT(kube_evq_push(&q, &e, 7), KUBE_EVQ_DROPPED_FIRST); /* a new burst */
    TM_EXPECT_INT((int)q.dropped, 4);
    struct kube_evq_item *it = kube_evq_pop(&q);
    TM_ASSERT(it);
    TM_EXPECT_INT(it->now_ms, 2); /* the queued ones kept their order */
    free(it);
    it = kube_evq_pop(&q);
    TM_ASSERT(it);
    TM_EXPECT_INT(it->now_ms, 6);
    free(it);
    kube_evq_release(&q); /* empty */
}

TM_TEST(evq_wraps_around_and_release_frees_what_is_left)
{
    struct kube_evq q;
    TM_ASSERT_INT(kube_evq_init(&q, 3), TM_OK);
    struct kube_event e = sample("Progressing", NULL);
    for (int round = 0; round < 5; round++) {
        TM_EXPECT_INT(kube_evq_push(&q, &e, round * 10), KUBE_EVQ_QUEUED);
        TM_EXPECT_INT(kube_evq_push(&q, &e, round * 10 + 1), KUBE_EVQ_QUEUED);
        struct kube_evq_item *it = kube_evq_pop(&q);
        TM_ASSERT(it);
        TM_EXPECT_INT(it->now_ms, round == 0 ? 0 : round * 10 - 9); /* FIFO across the wrap */
        TM_EXPECT(it->e.note == NULL);
        free(it);
        if (round > 0)
            free(kube_evq_pop(&q));
    }
    TM_EXPECT_INT((int)q.n, 1);
    TM_EXPECT_INT((int)q.dropped, 0);
    kube_evq_release(&q); /* frees the item left (valgrind and ASan check) */
    TM_EXPECT_INT((int)q.n, 0);
}

TM_TEST(eventer_without_a_sender_queues_drops_and_flushes_at_once)
{
    struct tm_err err;
    struct kube_eventer *ev = kube_eventer_new(NULL, "unit", &err);
    TM_ASSERT(ev);
    struct kube_event e = sample("SchemaApplied", "x");
    enum kube_event_recorded r = KUBE_EVENT_QUEUED;
    int queued = 0;
    for (int i = 0; i < KUBE_EVENT_QUEUE_DEFAULT + 5; i++) {
        r = kube_event_record(ev, &e, i);
        queued += r == KUBE_EVENT_QUEUED;
    }
    TM_EXPECT_INT(queued, KUBE_EVENT_QUEUE_DEFAULT);
    TM_EXPECT_INT(r, KUBE_EVENT_DROPPED);
    TM_EXPECT_INT((int)kube_eventer_stats(ev).dropped, 5);
    /* no sender: flush does not wait for one, it says what is left */
    TM_EXPECT_INT((int)kube_eventer_flush(ev, 60000), KUBE_EVENT_QUEUE_DEFAULT);
    kube_eventer_free(ev); /* frees the queued copies */
}

TM_TEST_MAIN()
