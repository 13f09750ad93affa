/* E2E tests of Lease leader election (controller/runtime/leader.c) against
 * the real kube-apiserver.  The algorithm is driven step by step with manual
 * clocks (expiry is judged by each candidate's own clock), then the threaded
 * loop is checked with short real durations. */
#include "../tm_test.h"

#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "runtime/leader.h"

struct env {
    struct kube_config *cfg;
    struct kube_client *c;
    struct tm_log log;
    char ns[64];
};

static bool env_init(struct env *e, const char *prefix)
{
    struct tm_err err;
    memset(e, 0, sizeof(*e));
    if (!tm_test_env("KUBECONFIG"))
        return false;
    e->cfg = kube_config_load(NULL, &err);
    if (!e->cfg) {
        fprintf(stderr, "kubeconfig: %s\n", err.msg);
        return false;
    }
    e->c = kube_client_new(e->cfg, NULL, &err);
    if (!e->c)
        return false;
    log_init(&e->log, stderr, LOG_INFO, true);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(e->ns, sizeof(e->ns), "%s-%ld-%d", prefix, (long)(ts.tv_nsec % 100000000),
             (int)getpid());
    cJSON *ns = cJSON_CreateObject();
    cJSON_AddStringToObject(ns, "apiVersion", "v1");
    cJSON_AddStringToObject(ns, "kind", "Namespace");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ns, "metadata"), "name", e->ns);
    enum tm_code rc = kube_create(e->c, "/api/v1/namespaces", ns, NULL, &err);
    cJSON_Delete(ns);
    if (rc != TM_OK)
        fprintf(stderr, "create namespace: %s\n", err.msg);
    return rc == TM_OK;
}

static void env_release(struct env *e)
{
    struct tm_err err;
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s", e->ns);
    if (e->c && kube_delete(e->c, path, "Background", NULL, &err) != TM_OK)
        fprintf(stderr, "delete namespace: %s\n", err.msg);
    kube_client_free(e->c);
    kube_config_free(e->cfg);
    log_release(&e->log);
}

static struct leader *candidate(struct env *e, struct tm_proc *p, struct tm_manual_clock *mc,
                                const char *id)
{
    struct tm_err err;
    *p = (struct tm_proc){.log = &e->log, .clock = tm_manual_clock_get(mc), .kube_config = e->cfg};
    struct leader_opts o = {.ns = e->ns, .name = "tidemark-test", .identity = id};
    struct leader *l = leader_new(e->cfg, p, &o, &err);
    if (!l)
        fprintf(stderr, "leader_new: %s\n", err.msg);
    return l;
}

TM_TEST(leader_takes_over_only_after_lease_duration_on_its_own_clock)
{
    struct env e;
    TM_ASSERT(env_init(&e, "le-expiry"));
    struct tm_manual_clock ca, cb;
    tm_manual_clock_init(&ca, 1000000); /* the candidates' clocks disagree: fine */
    tm_manual_clock_init(&cb, 5);
    struct tm_proc pa, pb;
    struct leader *a = candidate(&e, &pa, &ca, "cand-a");
    struct leader *b = candidate(&e, &pb, &cb, "cand-b");
    TM_ASSERT(a && b);
    struct tm_err err;
    struct kube_lease lease;

    TM_ASSERT(leader_try_acquire_or_renew(a, &err)); /* creates it */
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "tidemark-test", &lease, &err), TM_OK);
    TM_EXPECT_STR(lease.holder, "cand-a");
    TM_EXPECT_INT(lease.transitions, 0);
    TM_EXPECT_INT(lease.duration_s, 15);
    int64_t acquired = lease.acquire_us;

    TM_EXPECT(!leader_try_acquire_or_renew(b, &err));
    TM_EXPECT_INT(err.code, TM_E_LOCKED);
    char holder[64];
    leader_holder(b, holder, sizeof(holder));
    TM_EXPECT_STR(holder, "cand-a");

    /* a renews: the record changes, so b's expiry timer restarts when b sees it */
    tm_manual_clock_advance(&ca, 2000);
    TM_ASSERT(leader_try_acquire_or_renew(a, &err));
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "tidemark-test", &lease, &err), TM_OK);
    TM_EXPECT_INT(lease.acquire_us, acquired); /* kept while the same holder renews */
    TM_EXPECT(lease.renew_us > acquired);
    tm_manual_clock_advance(&cb, 14999);
    TM_EXPECT(!leader_try_acquire_or_renew(b, &err)); /* sees the renewed record now */
    tm_manual_clock_advance(&cb, 14999);
    TM_EXPECT(!leader_try_acquire_or_renew(b, &err)); /* 1 ms short of 15 s since */
    TM_EXPECT_INT(err.code, TM_E_LOCKED);
    tm_manual_clock_advance(&cb, 1);
    TM_ASSERT(leader_try_acquire_or_renew(b, &err)); /* expired by b's clock: takeover */
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "tidemark-test", &lease, &err), TM_OK);
    TM_EXPECT_STR(lease.holder, "cand-b");
    TM_EXPECT_INT(lease.transitions, 1);
    TM_EXPECT(lease.acquire_us > acquired);

    /* a comes back: it must not take it back (b's record is fresh to a) */
    tm_manual_clock_advance(&ca, 100000);
    TM_EXPECT(!leader_try_acquire_or_renew(a, &err));
    TM_EXPECT_INT(err.code, TM_E_LOCKED);
    leader_free(a);
    leader_free(b);
    env_release(&e);
}

TM_TEST(leader_release_clears_holder_and_successor_takes_over_at_once)
{
    struct env e;
    TM_ASSERT(env_init(&e, "le-release"));
    struct tm_manual_clock ca, cb;
    tm_manual_clock_init(&ca, 0);
    tm_manual_clock_init(&cb, 0);
    struct tm_proc pa, pb;
    struct leader *a = candidate(&e, &pa, &ca, "cand-a");
    struct leader *b = candidate(&e, &pb, &cb, "cand-b");
    TM_ASSERT(a && b);
    struct tm_err err;
    struct kube_lease lease;
    TM_ASSERT(leader_try_acquire_or_renew(a, &err));
    TM_EXPECT(!leader_try_acquire_or_renew(b, &err));
    TM_ASSERT_INT(leader_release(a, &err), TM_OK);
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "tidemark-test", &lease, &err), TM_OK);
    TM_EXPECT_STR(lease.holder, "");
    TM_EXPECT_INT(lease.duration_s, 1);
    TM_EXPECT_INT(lease.transitions, 0);
    /* no clock movement needed: an empty holder is free */
    TM_ASSERT(leader_try_acquire_or_renew(b, &err));
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "tidemark-test", &lease, &err), TM_OK);
    TM_EXPECT_STR(lease.holder, "cand-b");
    TM_EXPECT_INT(lease.transitions, 1);
    /* releasing a lease we do not hold changes nothing */
    TM_ASSERT_INT(leader_release(a, &err), TM_OK);
    struct kube_lease after;
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "tidemark-test", &after, &err), TM_OK);
    TM_EXPECT_STR(after.resource_version, lease.resource_version);
    leader_free(a);
    leader_free(b);
    env_release(&e);
}

TM_TEST(leader_rejects_inconsistent_durations)
{
    struct tm_err err;
    struct tm_proc p = {.clock = tm_clock_monotonic()};
    struct leader_opts o = {.ns = "x", .name = "y", .identity = "z", .lease_duration_ms = 5000,
                            .renew_deadline_ms = 6000};
    TM_EXPECT(leader_new(NULL, &p, &o, &err) == NULL);
    TM_EXPECT_INT(err.code, TM_E_INVAL);
    o = (struct leader_opts){.ns = "x", .name = "y", .identity = "", .lease_duration_ms = 0};
    TM_EXPECT(leader_new(NULL, &p, &o, &err) == NULL);
    TM_EXPECT_INT(err.code, TM_E_INVAL);
}

static int64_t mono(void)
{
    struct tm_clock c = tm_clock_monotonic();
    return tm_clock_now(&c);
}

static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct calls {
    atomic_int started, stopped;
};

static void started(void *ctx)
{
    atomic_fetch_add(&((struct calls *)ctx)->started, 1);
}

static void stopped(void *ctx)
{
    atomic_fetch_add(&((struct calls *)ctx)->stopped, 1);
}

TM_TEST(leader_loop_hands_over_on_stop_and_calls_back)
{
    struct env e;
    TM_ASSERT(env_init(&e, "le-loop"));
    struct tm_err err;
    struct tm_proc p = {.log = &e.log, .clock = tm_clock_monotonic(), .kube_config = e.cfg};
    struct calls ca = {0}, cb = {0};
    struct leader_opts o = {.ns = e.ns, .name = "loop", .identity = "loop-a",
                            .lease_duration_ms = 3000, .renew_deadline_ms = 2000,
                            .retry_period_ms = 300, .on_started = started,
                            .on_stopped = stopped, .ctx = &ca};
    struct leader *a = leader_new(e.cfg, &p, &o, &err);
    o.identity = "loop-b";
    o.ctx = &cb;
    struct leader *b = leader_new(e.cfg, &p, &o, &err);
    TM_ASSERT(a && b);
    TM_ASSERT_INT(leader_start(a, &err), TM_OK);
    int64_t dl = mono() + 10000;
    while (!leader_is_leader(a) && mono() < dl)
        pause_ms(20);
    TM_ASSERT(leader_is_leader(a));
    TM_ASSERT_INT(leader_start(b, &err), TM_OK);
    /* b stays a follower across several renewals of a, spanning more than
     * one lease duration (3 s): the Lease's renewTime is the clock */
    struct kube_lease seen;
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "loop", &seen, &err), TM_OK);
    int64_t first_renew = seen.renew_us, last_renew = seen.renew_us;
    int renewals = 0;
    dl = mono() + 20000;
    while ((renewals < 4 || last_renew - first_renew < 3500000) && mono() < dl) {
        TM_ASSERT(!leader_is_leader(b));
        TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "loop", &seen, &err), TM_OK);
        TM_ASSERT_STR(seen.holder, "loop-a");
        if (seen.renew_us != last_renew) {
            renewals++;
            last_renew = seen.renew_us;
        }
        pause_ms(50);
    }
    TM_EXPECT(renewals >= 4);
    TM_EXPECT(leader_is_leader(a));
    leader_stop(a); /* releases */
    TM_EXPECT(!leader_is_leader(a));
    TM_EXPECT_INT(atomic_load(&ca.started), 1);
    TM_EXPECT_INT(atomic_load(&ca.stopped), 1);
    int64_t t0 = mono();
    dl = t0 + 10000;
    while (!leader_is_leader(b) && mono() < dl)
        pause_ms(20);
    TM_ASSERT(leader_is_leader(b));
    /* released: b did not wait for the 3 s lease, only for its next retry */
    fprintf(stderr, "takeover after release took %lld ms\n", (long long)(mono() - t0));
    TM_EXPECT(!leader_lost(b));
    struct kube_lease lease;
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "loop", &lease, &err), TM_OK);
    TM_EXPECT_STR(lease.holder, "loop-b");
    TM_EXPECT_INT(lease.transitions, 1);
    leader_free(b);
    TM_EXPECT_INT(atomic_load(&cb.started), 1);
    TM_EXPECT_INT(atomic_load(&cb.stopped), 1);
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "loop", &lease, &err), TM_OK);
    TM_EXPECT_STR(lease.holder, "");
    leader_free(a);
    env_release(&e);
}

TM_TEST(leader_loop_stops_leading_when_it_cannot_renew)
{
    struct env e;
    TM_ASSERT(env_init(&e, "le-lost"));
    struct tm_err err;
    struct tm_proc p = {.log = &e.log, .clock = tm_clock_monotonic(), .kube_config = e.cfg};
    struct calls ca = {0};
    struct leader_opts o = {.ns = e.ns, .name = "lost", .identity = "lost-a",
                            .lease_duration_ms = 3000, .renew_deadline_ms = 2000,
                            .retry_period_ms = 300, .on_started = started,
                            .on_stopped = stopped, .ctx = &ca};
    struct leader *a = leader_new(e.cfg, &p, &o, &err);
    TM_ASSERT(a != NULL);
    TM_ASSERT_INT(leader_start(a, &err), TM_OK);
    int64_t dl = mono() + 10000;
    while (!leader_is_leader(a) && mono() < dl)
        pause_ms(20);
    TM_ASSERT(leader_is_leader(a));
    /* someone else writes the Lease (an operator, or a partitioned leader's
     * successor): a's next renewal finds it held by another and a steps down */
    struct kube_lease lease;
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "lost", &lease, &err), TM_OK);
    snprintf(lease.holder, sizeof(lease.holder), "%s", "intruder");
    lease.transitions++;
    TM_ASSERT_INT(kube_lease_update(e.c, &lease, &lease, &err), TM_OK);
    dl = mono() + 10000;
    while (!leader_lost(a) && mono() < dl)
        pause_ms(20);
    TM_EXPECT(leader_lost(a));
    TM_EXPECT(!leader_is_leader(a));
    TM_EXPECT_INT(atomic_load(&ca.stopped), 1);
    leader_free(a);
    /* it did not release (or overwrite) the intruder's Lease */
    TM_ASSERT_INT(kube_lease_get(e.c, e.ns, "lost", &lease, &err), TM_OK);
    TM_EXPECT_STR(lease.holder, "intruder");
    env_release(&e);
}

TM_TEST_MAIN()
