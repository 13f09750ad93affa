/* Unit tests of the apply limiter (controller/engine/applim*.c): the pure pick (FIFO, per
 * server and overall limits, no head-of-line blocking across servers) and the limiter's
 * books on a manual clock (waiters woken in order, reservations held then expired, forgotten
 * waiters, the queue wait handed to the caller). */
#include "../tm_test.h"

#include "engine/applim.h"

TM_TEST(applim_pick_admits_in_fifo_order_up_to_the_overall_limit)
{
    struct applim_limits lim = {.total = 2, .per_server = 0};
    struct applim_waiter_view w[] = {{0, false}, {1, false}, {2, false}, {0, false}};
    bool pick[4];
    int total = 0, srv[3] = {0, 0, 0};
    TM_EXPECT_INT(applim_pick(&lim, &total, srv, w, 4, pick), 2);
    TM_EXPECT(pick[0] && pick[1] && !pick[2] && !pick[3]);
    TM_EXPECT_INT(total, 2);
    TM_EXPECT_INT(srv[0], 1);
    TM_EXPECT_INT(srv[1], 1);
}

TM_TEST(applim_pick_skips_a_full_server_without_holding_back_the_others)
{
    struct applim_limits lim = {.total = 10, .per_server = 2};
    /* server 0 already runs 2: its waiters wait, server 1's go, in order */
    struct applim_waiter_view w[] = {{0, false}, {1, false}, {0, false}, {1, false}, {1, false}};
    bool pick[5];
    int total = 2, srv[2] = {2, 0};
    TM_EXPECT_INT(applim_pick(&lim, &total, srv, w, 5, pick), 2);
    TM_EXPECT(!pick[0] && pick[1] && !pick[2] && pick[3] && !pick[4]);
    TM_EXPECT_INT(srv[1], 2);
    TM_EXPECT_INT(total, 4);
}

TM_TEST(applim_pick_counts_reserved_slots_and_never_picks_them_again)
{
    struct applim_limits lim = {.total = 2, .per_server = 2};
    struct applim_waiter_view w[] = {{0, true}, {0, false}, {0, false}};
    bool pick[3];
    int total = 1, srv[1] = {1}; /* the reservation of w[0] */
    TM_EXPECT_INT(applim_pick(&lim, &total, srv, w, 3, pick), 1);
    TM_EXPECT(!pick[0] && pick[1] && !pick[2]);
    /* no room at all: nothing picked, every flag cleared */
    int full = 2, srvf[1] = {2};
    pick[1] = true;
    TM_EXPECT_INT(applim_pick(&lim, &full, srvf, w, 3, pick), 0);
    TM_EXPECT(!pick[0] && !pick[1] && !pick[2]);
}

TM_TEST(applim_pick_without_limits_picks_everyone)
{
    struct applim_limits lim = {0, 0};
    struct applim_waiter_view w[] = {{0, false}, {0, false}, {0, false}};
    bool pick[3];
    int total = 100, srv[1] = {100};
    TM_EXPECT_INT(applim_pick(&lim, &total, srv, w, 3, pick), 3);
}

/* ---- the limiter ---- */

struct woken {
    char keys[16][32];
    int n;
};

static void on_wake(void *ctx, const char *key)
{
    struct woken *wk = ctx;
    if (wk->n < 16)
        snprintf(wk->keys[wk->n++], sizeof(wk->keys[0]), "%s", key);
}

static struct applim *limiter(struct tm_manual_clock *mc, struct woken *wk, int total, int per)
{
    struct applim_opts o = {.limits = {total, per}, .hold_ms = 1000, .forget_ms = 5000,
                            .clock = tm_manual_clock_get(mc), .wake = on_wake, .wake_ctx = wk};
    return applim_new(&o);
}

static void count_running(const struct applim_server_stats *s, void *ctx)
{
    int *c = ctx;
    c[0] += s->running;
    c[1] += s->reserved;
    c[2] += s->waiting;
}

TM_TEST(applim_starts_up_to_the_limit_then_wakes_waiters_in_order)
{
    struct tm_manual_clock mc;
    struct woken wk = {0};
    tm_manual_clock_init(&mc, 1000);
    struct applim *l = limiter(&mc, &wk, 2, 0);
    TM_ASSERT(l != NULL);
    struct applim_ticket a, b, c, d;
    TM_EXPECT_INT(applim_enter(l, "ns/a", "db:5432", &a), APPLIM_START);
    TM_EXPECT_INT(a.waited_ms, 0);
    TM_EXPECT_INT(applim_enter(l, "ns/b", "db:5432", &b), APPLIM_START);
    TM_EXPECT_INT(applim_enter(l, "ns/c", "db:5432", &c), APPLIM_WAIT);
    TM_EXPECT(!c.held);
    tm_manual_clock_advance(&mc, 200);
    TM_EXPECT_INT(applim_enter(l, "ns/d", "db:5432", &d), APPLIM_WAIT);
    int st[3] = {0};
    TM_EXPECT_INT(applim_stats(l, count_running, st, NULL), 1);
    TM_EXPECT_INT(st[0], 2);
    TM_EXPECT_INT(st[2], 2);
    /* d asks again before c came back: still waits, behind c */
    TM_EXPECT_INT(applim_enter(l, "ns/d", "db:5432", &d), APPLIM_WAIT);
    tm_manual_clock_advance(&mc, 300);
    applim_leave(l, &a);
    TM_EXPECT(!a.held);
    TM_EXPECT_INT(wk.n, 1);
    TM_EXPECT_STR(wk.keys[0], "ns/c");
    /* the slot is c's: d cannot take it */
    TM_EXPECT_INT(applim_enter(l, "ns/d", "db:5432", &d), APPLIM_WAIT);
    TM_EXPECT_INT(applim_enter(l, "ns/c", "db:5432", &c), APPLIM_START);
    TM_EXPECT_INT(c.waited_ms, 500); /* from its first WAIT */
    TM_EXPECT_STR(c.server, "db:5432");
    applim_leave(l, &b);
    applim_leave(l, &c);
    TM_EXPECT_INT(wk.n, 2);
    TM_EXPECT_STR(wk.keys[1], "ns/d");
    TM_EXPECT_INT(applim_enter(l, "ns/d", "db:5432", &d), APPLIM_START);
    int total = -1;
    applim_stats(l, NULL, NULL, &total);
    TM_EXPECT_INT(total, 1);
    applim_leave(l, &d);
    applim_stats(l, NULL, NULL, &total);
    TM_EXPECT_INT(total, 0);
    applim_free(l);
}

TM_TEST(applim_per_server_limit_lets_another_server_go_first)
{
    struct tm_manual_clock mc;
    struct woken wk = {0};
    tm_manual_clock_init(&mc, 0);
    struct applim *l = limiter(&mc, &wk, 10, 1);
    TM_ASSERT(l != NULL);
    struct applim_ticket a1, a2, b1;
    TM_EXPECT_INT(applim_enter(l, "ns/a1", "a:5432", &a1), APPLIM_START);
    TM_EXPECT_INT(applim_enter(l, "ns/a2", "a:5432", &a2), APPLIM_WAIT);
    /* a2 waits on a full server: b1, later, on another server, starts at once */
    TM_EXPECT_INT(applim_enter(l, "ns/b1", "b:5432", &b1), APPLIM_START);
    /* what a2 waits behind, for its status; a1 and b1 are not waiting */
    struct applim_wait aw;
    TM_ASSERT(applim_waiting(l, "ns/a2", &aw));
    TM_EXPECT_STR(aw.server, "a:5432");
    TM_EXPECT_INT(aw.running_server, 1);
    TM_EXPECT_INT(aw.running_total, 2);
    TM_EXPECT_INT(aw.limits.per_server, 1);
    TM_EXPECT_INT(aw.limits.total, 10);
    TM_EXPECT(!applim_waiting(l, "ns/a1", &aw));
    TM_EXPECT(!applim_waiting(l, "ns/zz", &aw));
    applim_leave(l, &b1);
    TM_EXPECT_INT(wk.n, 0); /* b's slot is no use to a2 */
    applim_leave(l, &a1);
    TM_EXPECT_INT(wk.n, 1);
    TM_EXPECT_STR(wk.keys[0], "ns/a2");
    TM_EXPECT(!applim_waiting(l, "ns/a2", &aw)); /* a slot is reserved for it: it starts next */
    TM_EXPECT_INT(applim_enter(l, "ns/a2", "a:5432", &a2), APPLIM_START);
    applim_leave(l, &a2);
    applim_free(l);
}

TM_TEST(applim_reservation_not_taken_goes_back_to_the_line_and_forgotten_waiters_drop)
{
    struct tm_manual_clock mc;
    struct woken wk = {0};
    tm_manual_clock_init(&mc, 0);
    struct applim *l = limiter(&mc, &wk, 1, 0);
    TM_ASSERT(l != NULL);
    struct applim_ticket a, b, c;
    TM_EXPECT_INT(applim_enter(l, "ns/a", "db:1", &a), APPLIM_START);
    TM_EXPECT_INT(applim_enter(l, "ns/b", "db:1", &b), APPLIM_WAIT); /* never comes back */
    tm_manual_clock_advance(&mc, 10);
    TM_EXPECT_INT(applim_enter(l, "ns/c", "db:1", &c), APPLIM_WAIT);
    applim_leave(l, &a);
    TM_EXPECT_STR(wk.keys[0], "ns/b");
    /* b holds the slot for hold_ms (1 s): c waits */
    tm_manual_clock_advance(&mc, 999);
    TM_EXPECT_INT(applim_enter(l, "ns/c", "db:1", &c), APPLIM_WAIT);
    /* then the reservation lapses; b keeps its place, so the free slot is b's again */
    tm_manual_clock_advance(&mc, 1);
    TM_EXPECT_INT(applim_enter(l, "ns/c", "db:1", &c), APPLIM_WAIT);
    TM_EXPECT_INT(wk.n, 2);
    TM_EXPECT_STR(wk.keys[1], "ns/b");
    /* b is not seen for forget_ms (5 s from its only enter): dropped, and c starts */
    tm_manual_clock_advance(&mc, 4000);
    TM_EXPECT_INT(applim_enter(l, "ns/c", "db:1", &c), APPLIM_START);
    TM_EXPECT_INT(c.waited_ms, 5000);
    int st[3] = {0};
    applim_stats(l, count_running, st, NULL);
    TM_EXPECT_INT(st[0], 1);
    TM_EXPECT_INT(st[1], 0);
    TM_EXPECT_INT(st[2], 0);
    applim_leave(l, &c);
    applim_leave(l, &c); /* a second leave is a no-op */
    applim_stats(l, count_running, (int[3]){0}, NULL);
    int total = -1;
    applim_stats(l, NULL, NULL, &total);
    TM_EXPECT_INT(total, 0);
    applim_free(l);
}

TM_TEST_MAIN()
