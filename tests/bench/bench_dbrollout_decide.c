/* Benchmark of dbrollout_decide: decisions per second for the states a
 * controller sees most (waiting for an app, a rollout waiting for the lock
 * among many peers).  Prints figures; asserts only the decisions' content. */
#include "../tm_test.h"

#include <time.h>

#include "reconcilers/dbrollout.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct dbrollout_observed waiting(void)
{
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    o.name = "ro";
    o.uid = "u-1";
    o.generation = 2;
    o.spec.instance = "orders";
    o.spec.tag = "v2";
    o.spec.deployment = "app";
    o.spec.app_timeout_s = 600;
    o.instance_found = o.schema_ready = o.db.reachable = true;
    o.db.target = DBROLLOUT_POS_AT;
    o.app.found = true;
    o.app.generation = o.app.observed_generation = 2;
    o.app.replicas = 3;
    o.app.status_replicas = 4;
    o.app.updated_replicas = 2;
    o.app.available_replicas = 1;
    o.status.phase = DBROLLOUT_PHASE_WAITING_FOR_APP;
    o.status.has_pre_start_tag = true;
    snprintf(o.status.pre_start_tag, sizeof(o.status.pre_start_tag), "v1");
    snprintf(o.status.target_tag, sizeof(o.status.target_tag), "v2");
    o.status.started_at_ms = 1000;
    return o;
}

TM_TEST(bench_dbrollout_decide_waiting_for_app)
{
    struct dbrollout_observed o = waiting();
    static struct dbrollout_plan p;
    const int n = 200000;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        dbrollout_decide(&o, 2000 + i, &p);
        if (p.status.phase != DBROLLOUT_PHASE_WAITING_FOR_APP) {
            TM_FAIL_("unexpected phase %d", (int)p.status.phase);
            return;
        }
    }
    double dt = now_s() - t0;
    printf("dbrollout_decide (WaitingForApp): %d decisions in %.3f s = %.0f/s, %.2f us each\n", n,
           dt, n / dt, dt / n * 1e6);
}

TM_TEST(bench_dbrollout_decide_lock_among_1000_peers)
{
    enum { NPEERS = 1000 };
    static struct dbrollout_peer peers[NPEERS];
    static char names[NPEERS][16], uids[NPEERS][16];
    for (int i = 0; i < NPEERS; i++) {
        snprintf(names[i], sizeof(names[i]), "r%d", i);
        snprintf(uids[i], sizeof(uids[i]), "u%d", i);
        peers[i] = (struct dbrollout_peer){.name = names[i], .uid = uids[i], .generation = 1,
                                           .phase = DBROLLOUT_PHASE_PENDING};
    }
    peers[NPEERS - 1].phase = DBROLLOUT_PHASE_APPLYING;
    struct dbrollout_observed o = waiting();
    memset(&o.status, 0, sizeof(o.status));
    o.db.target = DBROLLOUT_POS_FORWARD;
    o.peers = peers;
    o.npeers = NPEERS;
    char holder[64];
    snprintf(holder, sizeof(holder), "r%d/u%d/1", NPEERS - 1, NPEERS - 1);
    o.lock_holder = holder;
    static struct dbrollout_plan p;
    const int n = 20000;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        dbrollout_decide(&o, 2000, &p);
        if (p.status.phase != DBROLLOUT_PHASE_PENDING || p.action.kind != DBROLLOUT_ACT_NONE) {
            TM_FAIL_("expected Pending without action");
            return;
        }
    }
    double dt = now_s() - t0;
    printf("dbrollout_decide (WaitingForLock, %d peers): %d decisions in %.3f s = %.0f/s, "
           "%.2f us each\n",
           NPEERS, n, dt, n / dt, dt / n * 1e6);
}

TM_TEST_MAIN()
