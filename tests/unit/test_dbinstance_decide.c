/* Table tests of dbinstance_decide: connection and history in, status out. */
#include "../tm_test.h"

#include "reconcilers/dbinstance.h"

#define NOW 1700000000000LL

static struct dbinstance_observed base(void)
{
    struct dbinstance_observed o;
    memset(&o, 0, sizeof(o));
    o.generation = 3;
    o.status.applied = -1;
    o.status.pending = -1;
    o.schema_ready = true;
    o.schema_revision = "sha256:abc";
    o.connected = true;
    o.history_ok = true;
    o.applied_tag = "v1";
    o.applied = 4;
    o.pending = 2;
    o.last_applied = "a.sql::4::me";
    return o;
}

static const char *reason(const struct dbinstance_plan *p, const char *type)
{
    const struct cond *c = cond_find(&p->status.conds, type);
    return c ? c->reason : NULL;
}

static bool has_event(const struct dbinstance_plan *p, const char *r)
{
    for (size_t i = 0; i < p->nevents; i++) {
        if (strcmp(p->events[i].reason, r) == 0)
            return true;
    }
    return false;
}

TM_TEST(instance_ready_reports_applied_tag_and_counts)
{
    struct dbinstance_observed o = base();
    struct dbinstance_plan p;
    dbinstance_decide(&o, NOW, &p);
    TM_EXPECT(cond_is_true(&p.status.conds, COND_READY));
    TM_EXPECT(cond_is_true(&p.status.conds, DBINSTANCE_COND_CONNECTED));
    TM_EXPECT_STR(reason(&p, DBINSTANCE_COND_DRIFTED), "NoDrift");
    TM_EXPECT_STR(p.status.applied_tag, "v1");
    TM_EXPECT_INT(p.status.applied, 4);
    TM_EXPECT_INT(p.status.pending, 2);
    TM_EXPECT_STR(p.status.schema_revision, "sha256:abc");
    TM_EXPECT_INT(p.status.observed_generation, 3);
    TM_EXPECT_INT(p.status.last_check_ms, NOW);
    TM_EXPECT_INT(p.requeue_ms, dbinstance_next_check_delay_ms(0, DBINSTANCE_CHECK_INTERVAL_MS, NOW));
    TM_EXPECT(has_event(&p, "Connected"));
}

TM_TEST(instance_unchanged_poll_writes_nothing)
{
    struct dbinstance_observed o = base();
    struct dbinstance_plan p1, p2;
    dbinstance_decide(&o, NOW, &p1);
    o.status = p1.status;
    dbinstance_decide(&o, NOW + 60000, &p2);
    TM_EXPECT(dbinstance_status_equal(&p2.status, &o.status));
    TM_EXPECT_INT(p2.nevents, 0);
    /* after the refresh period the check time moves */
    dbinstance_decide(&o, NOW + DBINSTANCE_CHECK_REFRESH_MS, &p2);
    TM_EXPECT_INT(p2.status.last_check_ms, NOW + DBINSTANCE_CHECK_REFRESH_MS);
}

TM_TEST(instance_drift_is_stalled_and_listed)
{
    struct dbinstance_drift d[] = {
        {.id = "2", .author = "me", .file = "a.sql", .reason = "ChecksumMismatch",
         .message = "stored 9:aa, expected 9:bb"},
    };
    struct dbinstance_observed o = base();
    o.drift = d;
    o.ndrift = 1;
    struct dbinstance_plan p;
    dbinstance_decide(&o, NOW, &p);
    TM_EXPECT(cond_is_true(&p.status.conds, DBINSTANCE_COND_DRIFTED));
    TM_EXPECT_STR(reason(&p, DBINSTANCE_COND_DRIFTED), "ChecksumMismatch");
    TM_EXPECT(cond_is_true(&p.status.conds, COND_STALLED));
    TM_EXPECT(!cond_is_true(&p.status.conds, COND_READY));
    TM_EXPECT_INT(p.status.ndrift, 1);
    TM_EXPECT_CONTAINS(cond_find(&p.status.conds, COND_READY)->message, "a.sql::2::me");
    TM_EXPECT(has_event(&p, "DriftDetected"));
}

TM_TEST(instance_connection_refused_retries_with_backoff)
{
    struct dbinstance_observed o = base();
    o.connected = false;
    o.connect_error = "connection refused";
    o.connect_retry = TM_RETRY_TRANSIENT;
    o.history_ok = false;
    o.status.applied = 7;
    o.status.applied_tag = "v0";
    struct dbinstance_plan p;
    dbinstance_decide(&o, NOW, &p);
    TM_EXPECT_STR(reason(&p, DBINSTANCE_COND_CONNECTED), "ConnectFailed");
    TM_EXPECT(cond_is_true(&p.status.conds, COND_RECONCILING));
    TM_EXPECT(p.backoff);
    TM_EXPECT_STR(p.status.applied_tag, "v0"); /* last known values are kept */
    TM_EXPECT_INT(p.status.applied, 7);
    TM_EXPECT_INT(p.status.last_check_ms, 0);
}

TM_TEST(instance_missing_secret_key_is_stalled)
{
    struct dbinstance_observed o = base();
    o.credentials_error = "secret orders-db has no key \"password\"";
    o.connected = false;
    o.history_ok = false;
    struct dbinstance_plan p;
    dbinstance_decide(&o, NOW, &p);
    TM_EXPECT_STR(reason(&p, DBINSTANCE_COND_CONNECTED), "CredentialsNotFound");
    TM_EXPECT(cond_is_true(&p.status.conds, COND_STALLED));
    TM_EXPECT(!p.backoff);
    TM_EXPECT(p.requeue_ms > 0);
    TM_EXPECT(has_event(&p, "CredentialsNotFound"));
}

TM_TEST(instance_lost_connection_emits_warning_once)
{
    struct dbinstance_observed o = base();
    struct dbinstance_plan p1, p2, p3;
    dbinstance_decide(&o, NOW, &p1);
    o.status = p1.status;
    o.connected = false;
    o.connect_retry = TM_RETRY_TRANSIENT;
    o.connect_error = "server closed the connection";
    dbinstance_decide(&o, NOW + 1, &p2);
    TM_EXPECT(has_event(&p2, "ConnectFailed"));
    o.status = p2.status;
    dbinstance_decide(&o, NOW + 2, &p3);
    TM_EXPECT_INT(p3.nevents, 0);
}

TM_TEST(instance_waits_for_schema)
{
    struct dbinstance_observed o = base();
    o.schema_ready = false;
    o.schema_message = "DBSchema orders not found";
    o.history_ok = false;
    struct dbinstance_plan p;
    dbinstance_decide(&o, NOW, &p);
    TM_EXPECT_STR(reason(&p, COND_READY), "SchemaNotReady");
    TM_EXPECT(cond_is_true(&p.status.conds, DBINSTANCE_COND_CONNECTED));
    TM_EXPECT(cond_is_true(&p.status.conds, COND_RECONCILING));
}

TM_TEST(instance_reports_active_rollout)
{
    struct dbinstance_observed o = base();
    o.active_rollout = "orders-v2";
    struct dbinstance_plan p;
    dbinstance_decide(&o, NOW, &p);
    TM_EXPECT_STR(p.status.active_rollout, "orders-v2");
}

/* A new object carries the CRDs' status default {observedGeneration: -1} (so
 * kstatus reads it InProgress): the first reconcile must replace it, even
 * when it only waits. */
TM_TEST(instance_first_status_replaces_the_crd_default)
{
    struct dbinstance_observed o = base();
    o.status.observed_generation = -1;
    struct dbinstance_plan p;
    dbinstance_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.observed_generation, 3);
    TM_EXPECT(cond_is_true(&p.status.conds, COND_READY));
    TM_EXPECT(!dbinstance_status_equal(&o.status, &p.status));

    o.schema_ready = false;
    o.schema_message = "DBSchema orders not found";
    dbinstance_decide(&o, NOW, &p);
    TM_EXPECT_INT(p.status.observed_generation, 3);
    TM_EXPECT(cond_is_true(&p.status.conds, COND_RECONCILING));
}


TM_TEST(instance_check_phases_of_1000_names_spread_over_the_interval)
{
    enum { N = 1000, BUCKETS = 10 };
    const int64_t interval = DBINSTANCE_CHECK_INTERVAL_MS;
    int count[BUCKETS] = {0};
    char name[64];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "tenant-%d", i);
        int64_t ph = dbinstance_check_phase_ms("prod", name, interval);
        TM_EXPECT(ph >= 0 && ph < interval);
        TM_EXPECT_INT(ph % 1000, 0);
        count[ph * BUCKETS / interval]++;
    }
    for (int b = 0; b < BUCKETS; b++)
        TM_EXPECT(count[b] <= N * 15 / 100); /* no tenth of the interval holds > 15% */
}

TM_TEST(instance_check_phase_is_the_same_for_the_same_name)
{
    int64_t a = dbinstance_check_phase_ms("prod", "orders", 60000);
    TM_EXPECT_INT(dbinstance_check_phase_ms("prod", "orders", 60000), a);
    TM_EXPECT(dbinstance_check_phase_ms("prod", "orders", 60000) !=
                  dbinstance_check_phase_ms("staging", "orders", 60000) ||
              dbinstance_check_phase_ms("prod", "orders", 60000) !=
                  dbinstance_check_phase_ms("prod", "orders2", 60000));
}

TM_TEST(instance_next_check_lands_on_the_phase_within_one_interval)
{
    const int64_t interval = 60000;
    for (int64_t ph = 0; ph < interval; ph += 7919) {
        for (int64_t now = NOW; now < NOW + 3 * interval; now += 1000) {
            int64_t d = dbinstance_next_check_delay_ms(ph, interval, now);
            TM_EXPECT(d > 0 && d <= interval);
            TM_EXPECT_INT((now + d) % interval, ph);
        }
    }
    TM_EXPECT_INT(dbinstance_check_lag_ms(7000, interval, NOW - NOW % interval + 7000), 0);
    TM_EXPECT_INT(dbinstance_check_lag_ms(7000, interval, NOW - NOW % interval + 9500), 2500);
    TM_EXPECT_INT(dbinstance_check_lag_ms(7000, interval, NOW - NOW % interval + 6000), interval - 1000);
    /* a restart: the same object, any time, lands at the same phase */
    int64_t ph = dbinstance_check_phase_ms("prod", "orders", interval);
    TM_EXPECT_INT((NOW + 12345 + dbinstance_next_check_delay_ms(ph, interval, NOW + 12345)) % interval, ph);
}

TM_TEST(instance_requeue_uses_the_spec_interval_and_the_phase)
{
    struct dbinstance_observed o = base();
    struct dbinstance_plan p;
    o.check_interval_ms = 20000;
    o.check_phase_ms = 7000;
    dbinstance_decide(&o, NOW, &p);
    TM_EXPECT(p.requeue_ms > 0 && p.requeue_ms <= 20000);
    TM_EXPECT_INT((NOW + p.requeue_ms) % 20000, 7000);
}

TM_TEST(instance_check_interval_parses_durations)
{
    int64_t ms = 0;
    TM_EXPECT(dbinstance_parse_interval("60s", &ms));
    TM_EXPECT_INT(ms, 60000);
    TM_EXPECT(dbinstance_parse_interval("5m", &ms));
    TM_EXPECT_INT(ms, 300000);
    TM_EXPECT(dbinstance_parse_interval("1h30m", &ms));
    TM_EXPECT_INT(ms, 5400000);
    TM_EXPECT(!dbinstance_parse_interval("5s", &ms));   /* below the minimum */
    TM_EXPECT(!dbinstance_parse_interval("10", &ms));   /* no unit */
    TM_EXPECT(!dbinstance_parse_interval("1d", &ms));
    TM_EXPECT(!dbinstance_parse_interval("", &ms));
    TM_EXPECT(!dbinstance_parse_interval("m", &ms));
    TM_EXPECT(!dbinstance_parse_interval("30s5m", &ms)); /* units in order h, m, s */
    TM_EXPECT(!dbinstance_parse_interval("5m5m", &ms));
}

TM_TEST(instance_unchanged_fingerprint_keeps_the_status_and_writes_nothing)
{
    struct dbinstance_observed o = base();
    struct dbinstance_plan p1, p2;
    o.fingerprint = "rows=4 order=4 date=2026-01-01 lock=none";
    dbinstance_decide(&o, NOW, &p1);
    TM_EXPECT_STR(p1.status.fingerprint, o.fingerprint);
    o.status = p1.status;
    /* the next check read the same fingerprint and skipped the history */
    o.history_ok = false;
    o.applied_tag = NULL;
    TM_EXPECT(dbinstance_history_unchanged(&o, NOW + 60000));
    o.unchanged = true;
    dbinstance_decide(&o, NOW + 60000, &p2);
    TM_EXPECT(dbinstance_status_equal(&p2.status, &o.status));
    TM_EXPECT_INT(p2.nevents, 0);
    TM_EXPECT(p2.requeue_ms > 0);
    /* after the refresh period the whole history is read again */
    TM_EXPECT(!dbinstance_history_unchanged(&o, NOW + DBINSTANCE_CHECK_REFRESH_MS));
}

TM_TEST(instance_new_fingerprint_generation_or_revision_reads_the_history)
{
    struct dbinstance_observed o = base();
    struct dbinstance_plan p;
    o.fingerprint = "rows=4";
    dbinstance_decide(&o, NOW, &p);
    o.status = p.status;
    TM_EXPECT(dbinstance_history_unchanged(&o, NOW));
    o.fingerprint = "rows=5";
    TM_EXPECT(!dbinstance_history_unchanged(&o, NOW));
    o.fingerprint = "rows=4";
    o.generation = 4;
    TM_EXPECT(!dbinstance_history_unchanged(&o, NOW));
    o.generation = 3;
    o.schema_revision = "sha256:def";
    TM_EXPECT(!dbinstance_history_unchanged(&o, NOW));
    o.schema_revision = "sha256:abc";
    o.fingerprint = NULL;
    TM_EXPECT(!dbinstance_history_unchanged(&o, NOW));
}

TM_TEST(instance_status_is_current_only_with_a_recent_full_read_of_this_generation)
{
    struct dbinstance_observed o = base();
    struct dbinstance_plan p;
    TM_EXPECT(!dbinstance_status_current(&o, NOW)); /* no status yet */
    o.fingerprint = "rows=4";
    dbinstance_decide(&o, NOW, &p);
    o.status = p.status;
    TM_EXPECT(dbinstance_status_current(&o, NOW + 1000));
    TM_EXPECT(!dbinstance_status_current(&o, NOW + DBINSTANCE_CHECK_REFRESH_MS));
    o.generation = 4;
    TM_EXPECT(!dbinstance_status_current(&o, NOW + 1000));
    o.generation = 3;
    o.status.fingerprint = NULL;
    TM_EXPECT(!dbinstance_status_current(&o, NOW + 1000));
}

TM_TEST(instance_failed_read_drops_the_fingerprint)
{
    struct dbinstance_observed o = base();
    struct dbinstance_plan p;
    o.fingerprint = "rows=4";
    dbinstance_decide(&o, NOW, &p);
    o.status = p.status;
    o.history_ok = false;
    o.history_error = "boom";
    dbinstance_decide(&o, NOW + 60000, &p);
    TM_EXPECT(p.status.fingerprint == NULL);
    o.connected = false;
    dbinstance_decide(&o, NOW + 60000, &p);
    TM_EXPECT(p.status.fingerprint == NULL);
}

/* A status written by a full read at NOW, as a restarted process finds it. */
static struct dbinstance_observed checked_before_start(int64_t phase_ms)
{
    struct dbinstance_observed o = base();
    struct dbinstance_plan p;
    o.fingerprint = "rows=4";
    o.check_interval_ms = 60000;
    o.check_phase_ms = phase_ms;
    dbinstance_decide(&o, NOW, &p);
    o.status = p.status;
    o.fingerprint = NULL; /* the restarted process has read nothing yet */
    o.history_ok = false;
    return o;
}

TM_TEST(instance_current_status_waits_for_its_phase_after_start)
{
    /* started 10 s after the last full read; the first check is due at
     * the first instant of its phase after the start */
    int64_t started = NOW + 10000;
    struct dbinstance_observed o = checked_before_start(42000);
    o.started_ms = started;
    int64_t due = started + dbinstance_next_check_delay_ms(42000, 60000, started);
    TM_EXPECT(due > started && due <= started + 60000);
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, started), due - started);
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, due - 1000), 1000);
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, due), 0);        /* its instant: check */
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, due + 30000), 0); /* past it: check */
    /* decide keeps the status as it is, writes nothing, and comes back at the phase */
    struct dbinstance_plan p;
    o.deferred = true;
    dbinstance_decide(&o, started, &p);
    TM_EXPECT(dbinstance_status_equal(&p.status, &o.status));
    TM_EXPECT_INT(p.nevents, 0);
    TM_EXPECT(!p.backoff);
    TM_EXPECT_INT(p.requeue_ms, due - started);
}

TM_TEST(instance_first_checks_after_start_spread_like_their_phases)
{
    /* 1,000 current instances after one start: their first checks fall
     * over the whole interval, no second holding more than a few */
    int per_second[60] = {0};
    int64_t started = NOW + 7000;
    for (int i = 0; i < 1000; i++) {
        char name[32];
        snprintf(name, sizeof(name), "tenant-%d", i);
        int64_t phase = dbinstance_check_phase_ms("ns", name, 60000);
        struct dbinstance_observed o = checked_before_start(phase);
        o.started_ms = started;
        int64_t wait = dbinstance_first_check_wait_ms(&o, started);
        TM_EXPECT(wait > 0 && wait <= 60000);
        per_second[(wait - 1) / 1000]++;
    }
    int busiest = 0, empty = 0;
    for (int s = 0; s < 60; s++) {
        busiest = per_second[s] > busiest ? per_second[s] : busiest;
        empty += per_second[s] == 0;
    }
    TM_EXPECT(busiest < 50); /* 1000/60 ~ 17 on average; all at once would be 1000 */
    TM_EXPECT(empty < 5);
}

TM_TEST(instance_with_work_to_do_is_checked_at_once_after_start)
{
    int64_t started = NOW + 10000;
    struct dbinstance_observed o = checked_before_start(42000);
    o.started_ms = started;
    TM_EXPECT(dbinstance_first_check_wait_ms(&o, started) > 0);
    o.generation = 4; /* a new spec */
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, started), 0);
    o.generation = 3;
    o.schema_revision = "sha256:def"; /* a new changelog */
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, started), 0);
    o.schema_revision = "sha256:abc";
    o.schema_ready = false; /* the DBSchema not (yet) read */
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, started), 0);
    o.schema_ready = true;
    o.active_rollout = "r1"; /* a rollout took the lock */
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, started), 0);
    o.active_rollout = NULL;
    o.started_ms = 0; /* no start known */
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, started), 0);
    o.started_ms = started;
    TM_EXPECT(dbinstance_first_check_wait_ms(&o, started) > 0);
    /* no status yet (a new object) */
    struct dbinstance_observed fresh = base();
    fresh.started_ms = started;
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&fresh, started), 0);
    /* a full read older than the refresh period */
    TM_EXPECT_INT(dbinstance_first_check_wait_ms(&o, NOW + DBINSTANCE_CHECK_REFRESH_MS), 0);
}

TM_TEST_MAIN()
