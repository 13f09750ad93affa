/* Unit tests of reconcilers/conditions.c: transition times and kstatus rules. */
#include "../tm_test.h"

#include "reconcilers/conditions.h"

TM_TEST(cond_transition_time_changes_only_on_status_change)
{
    struct cond_list l;
    cond_list_init(&l);
    cond_set(&l, "Connected", COND_FALSE, "Refused", "connection refused", 1, 1000);
    cond_set(&l, "Connected", COND_FALSE, "Timeout", "timed out", 2, 2000);
    const struct cond *c = cond_find(&l, "Connected");
    TM_ASSERT(c != NULL);
    TM_EXPECT_INT(c->last_transition_ms, 1000); /* same status: time kept */
    TM_EXPECT_STR(c->reason, "Timeout");
    TM_EXPECT_STR(c->message, "timed out");
    TM_EXPECT_INT(c->observed_generation, 2);
    cond_set(&l, "Connected", COND_TRUE, "Connected", "ok", 2, 3000);
    TM_EXPECT_INT(c->last_transition_ms, 3000);
    TM_EXPECT_INT(l.n, 1);
}

TM_TEST(cond_kstatus_keeps_reconciling_and_stalled_only_while_true)
{
    struct cond_list l;
    cond_list_init(&l);
    cond_set_kstatus(&l, COND_KS_RECONCILING, "Applying", "applying", 1, 1000);
    TM_EXPECT(cond_is_true(&l, COND_RECONCILING));
    TM_EXPECT(!cond_is_true(&l, COND_READY));
    TM_EXPECT(cond_find(&l, COND_STALLED) == NULL);
    cond_set_kstatus(&l, COND_KS_STALLED, "ApplyFailed", "boom", 1, 2000);
    TM_EXPECT(cond_find(&l, COND_RECONCILING) == NULL);
    TM_EXPECT(cond_is_true(&l, COND_STALLED));
    TM_EXPECT_STR(cond_find(&l, COND_READY)->reason, "ApplyFailed");
    TM_EXPECT_INT(cond_find(&l, COND_READY)->last_transition_ms, 1000); /* still False */
    cond_set_kstatus(&l, COND_KS_READY, "Succeeded", "done", 2, 3000);
    TM_EXPECT(cond_is_true(&l, COND_READY));
    TM_EXPECT(cond_find(&l, COND_RECONCILING) == NULL);
    TM_EXPECT(cond_find(&l, COND_STALLED) == NULL);
    TM_EXPECT_INT(l.n, 1);
}

TM_TEST(cond_list_equal_ignores_order_but_not_content)
{
    struct cond_list a, b;
    cond_list_init(&a);
    cond_list_init(&b);
    cond_set(&a, "A", COND_TRUE, "R", "m", 1, 5);
    cond_set(&a, "B", COND_FALSE, "R", "m", 1, 5);
    cond_set(&b, "B", COND_FALSE, "R", "m", 1, 5);
    cond_set(&b, "A", COND_TRUE, "R", "m", 1, 5);
    TM_EXPECT(cond_list_equal(&a, &b));
    cond_set(&b, "A", COND_TRUE, "R", "other", 1, 5);
    TM_EXPECT(!cond_list_equal(&a, &b));
}

TM_TEST(cond_remove_keeps_the_rest_in_order)
{
    struct cond_list l;
    cond_list_init(&l);
    cond_set(&l, "A", COND_TRUE, "R", "", 1, 5);
    cond_set(&l, "B", COND_TRUE, "R", "", 1, 5);
    cond_set(&l, "C", COND_TRUE, "R", "", 1, 5);
    cond_remove(&l, "B");
    TM_ASSERT_INT(l.n, 2);
    TM_EXPECT_STR(l.items[0].type, "A");
    TM_EXPECT_STR(l.items[1].type, "C");
    cond_remove(&l, "missing");
    TM_EXPECT_INT(l.n, 2);
}

TM_TEST(cond_long_message_is_cut_and_terminated)
{
    char big[COND_MESSAGE_MAX * 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct cond_list l;
    cond_list_init(&l);
    cond_set(&l, "A", COND_TRUE, "R", big, 1, 5);
    TM_EXPECT_INT(strlen(cond_find(&l, "A")->message), COND_MESSAGE_MAX - 1);
}

TM_TEST(cond_status_names_round_trip)
{
    enum cond_status s;
    TM_EXPECT(cond_status_parse("Unknown", &s));
    TM_EXPECT_STR(cond_status_name(s), "Unknown");
    TM_EXPECT(!cond_status_parse("true", &s));
}

TM_TEST_MAIN()
