/* Integration tests of pgpool against the real PostgreSQL (TIDEMARK_PG_URL): reuse, the
 * per-server limit under concurrency (seen by the server itself in pg_stat_activity),
 * applies before observers, dedicated apply sessions, idle timeouts, bounded waits, a
 * connection the server closed while idle, and a slot reused only after the server ended
 * the session that held it. */

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "engine/pgpool.h"
#include "engine_pgdb.h"
#include "tm_test.h"

/* The test databases' params with application_name app (distinct per test, so
 * pg_stat_activity counts only this test's sessions). */
static struct pgx_params params_for(const struct pgdb *d, const char *app)
{
    struct pgx_params p = {0};
    p.url = getenv("TIDEMARK_PG_URL");
    p.dbname = d->name;
    p.application_name = app;
    p.connect_timeout_s = PGDB_CONNECT_TIMEOUT_S;
    return p;
}

static long backend_pid(struct pgx_conn *c)
{
    return atol(pgdb_val(c, "SELECT pg_backend_pid()"));
}

/* Sessions of application app the server has, in state (NULL: any state). */
static long sessions(const struct pgdb *d, const char *app, const char *state)
{
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'%s%s%s", app,
             state ? " AND state = '" : "", state ? state : "", state ? "'" : "");
    return atol(pgdb_val(d->admin, sql));
}

/* Waits (up to 10 s) until the server has n sessions of app: a closed connection's backend
 * exits shortly after the client goes. */
static bool sessions_become(const struct pgdb *d, const char *app, long n)
{
    for (int i = 0; i < 1000; i++) {
        if (sessions(d, app, NULL) == n)
            return true;
        usleep(10000);
    }
    return false;
}

static void app_name(char *out, size_t n, const char *what)
{
    snprintf(out, n, "tmpool-%s-%ld", what, (long)getpid());
}

TM_TEST(pool_reuses_an_idle_connection_of_the_same_database_only)
{
    struct pgdb d1, d2;
    struct tm_err err;
    char app[64];
    app_name(app, sizeof(app), "reuse");
    TM_ASSERT(pgdb_open(&d1, "pool_reuse_a"));
    TM_ASSERT(pgdb_open(&d2, "pool_reuse_b"));
    struct pgpool *p = pgpool_new(&(struct pgpool_opts){.max_per_server = 4});
    struct pgx_params a = params_for(&d1, app), b = params_for(&d2, app);

    struct pgpool_lease *l = pgpool_acquire(p, &a, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(l != NULL);
    long pid = backend_pid(pgpool_conn(l));
    pgpool_release(p, l, true);
    l = pgpool_acquire(p, &a, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(l != NULL);
    TM_EXPECT_INT(backend_pid(pgpool_conn(l)), pid); /* the same session again */
    struct pgpool_lease *m = pgpool_acquire(p, &b, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(m != NULL);
    TM_EXPECT(backend_pid(pgpool_conn(m)) != pid); /* another database: another session */
    TM_EXPECT_STR(pgdb_val(pgpool_conn(m), "SELECT current_database()"), d2.name);
    pgpool_release(p, m, true);
    /* released as not reusable: closed, and the next lease is a new session */
    pgpool_release(p, l, false);
    l = pgpool_acquire(p, &a, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(l != NULL);
    TM_EXPECT(backend_pid(pgpool_conn(l)) != pid);
    pgpool_release(p, l, true);
    TM_EXPECT(sessions_become(&d1, app, 2));
    pgpool_free(p);
    TM_EXPECT(sessions_become(&d1, app, 0));
    pgdb_close(&d2);
    pgdb_close(&d1);
}

struct worker {
    struct pgpool *pool;
    struct pgx_params params;
    enum pgpool_use use;
    int rounds;
    atomic_int *held, *max_held, *failures;
};

static void *observe_rounds(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->rounds; i++) {
        struct tm_err err;
        struct pgpool_lease *l = pgpool_acquire(w->pool, &w->params, w->use, 120000, &err);
        if (!l) {
            fprintf(stderr, "acquire: %s\n", err.msg);
            atomic_fetch_add(w->failures, 1);
            continue;
        }
        int now = atomic_fetch_add(w->held, 1) + 1;
        for (int m = atomic_load(w->max_held); now > m;)
            if (atomic_compare_exchange_weak(w->max_held, &m, now))
                break;
        if (pgx_exec(pgpool_conn(l), "SELECT pg_sleep(0.03)", &err) != TM_OK) {
            fprintf(stderr, "query: %s\n", err.msg);
            atomic_fetch_add(w->failures, 1);
        }
        atomic_fetch_sub(w->held, 1);
        pgpool_release(w->pool, l, true);
    }
    return NULL;
}

struct sampler {
    const struct pgdb *d;
    const char *app;
    atomic_bool stop;
    long max_active;
};

/* The server's own count of this test's sessions running a statement. */
static void *sample_active(void *arg)
{
    struct sampler *s = arg;
    struct pgx_conn *c = pgdb_connect(s->d, "tmpool-sampler");
    if (!c)
        return NULL;
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s' "
             "AND state = 'active'", s->app);
    while (!atomic_load(&s->stop)) {
        long n = atol(pgdb_val(c, sql));
        if (n > s->max_active)
            s->max_active = n;
        usleep(2000);
    }
    pgx_conn_free(c);
    return NULL;
}

TM_TEST(pool_never_runs_more_sessions_on_a_server_than_its_limit)
{
    enum { LIMIT = 2, THREADS = 6, DBS = 2 };
    struct pgdb d[DBS];
    char app[64];
    app_name(app, sizeof(app), "limit");
    for (int i = 0; i < DBS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "pool_limit_%d", i);
        TM_ASSERT(pgdb_open(&d[i], name));
    }
    struct pgpool *p = pgpool_new(&(struct pgpool_opts){.max_per_server = LIMIT});
    atomic_int held = 0, max_held = 0, failures = 0;
    struct worker w[THREADS];
    pthread_t t[THREADS], st;
    struct sampler s = {.d = &d[0], .app = app};
    TM_ASSERT(pthread_create(&st, NULL, sample_active, &s) == 0);
    for (int i = 0; i < THREADS; i++) {
        /* observers and applies mixed, over two databases (evictions across databases) */
        w[i] = (struct worker){.pool = p, .params = params_for(&d[i % DBS], app),
                               .use = i % 4 == 3 ? PGPOOL_APPLY : PGPOOL_OBSERVE,
                               .rounds = 5, .held = &held, .max_held = &max_held,
                               .failures = &failures};
        TM_ASSERT(pthread_create(&t[i], NULL, observe_rounds, &w[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    atomic_store(&s.stop, true);
    pthread_join(st, NULL);
    TM_EXPECT_INT(atomic_load(&failures), 0);
    TM_EXPECT(atomic_load(&max_held) <= LIMIT);
    TM_EXPECT(atomic_load(&max_held) == LIMIT); /* and the limit was reached: it was tested */
    fprintf(stderr, "most sessions active at once, seen by the server: %ld\n", s.max_active);
    TM_EXPECT(s.max_active <= LIMIT);
    TM_EXPECT(s.max_active >= 1);
    pgpool_free(p);
    TM_EXPECT(sessions_become(&d[0], app, 0));
    for (int i = DBS - 1; i >= 0; i--)
        pgdb_close(&d[i]);
}

struct timed_acquire {
    struct pgpool *pool;
    struct pgx_params params;
    enum pgpool_use use;
    struct pgpool_lease *lease;
    atomic_int *order; /* the sequence number this acquire got */
    atomic_int got;
};

static void *acquire_and_note(void *arg)
{
    struct timed_acquire *a = arg;
    struct tm_err err;
    a->lease = pgpool_acquire(a->pool, &a->params, a->use, 20000, &err);
    atomic_store(&a->got, atomic_fetch_add(a->order, 1) + 1);
    return NULL;
}

static void count_waiting(const struct pgpool_server_stats *s, void *ctx)
{
    *(int *)ctx += s->waiting;
}

/* Waits (up to 10 s) until the pool has n callers waiting. */
static bool waiting_becomes(struct pgpool *p, int n)
{
    for (int i = 0; i < 1000; i++) {
        int w = 0;
        pgpool_stats(p, count_waiting, &w);
        if (w == n)
            return true;
        usleep(10000);
    }
    return false;
}

TM_TEST(pool_a_waiting_apply_gets_the_next_slot_before_waiting_observers)
{
    struct pgdb d;
    struct tm_err err;
    char app[64];
    app_name(app, sizeof(app), "prio");
    TM_ASSERT(pgdb_open(&d, "pool_prio"));
    struct pgpool *p = pgpool_new(&(struct pgpool_opts){.max_per_server = 2});
    struct pgx_params pr = params_for(&d, app);
    struct pgpool_lease *o1 = pgpool_acquire(p, &pr, PGPOOL_OBSERVE, 1000, &err);
    struct pgpool_lease *o2 = pgpool_acquire(p, &pr, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(o1 && o2);
    atomic_int order = 0;
    struct timed_acquire obs = {.pool = p, .params = pr, .use = PGPOOL_OBSERVE, .order = &order};
    struct timed_acquire app_ = {.pool = p, .params = pr, .use = PGPOOL_APPLY, .order = &order};
    pthread_t to, ta;
    /* the observer queues first, the apply second */
    TM_ASSERT(pthread_create(&to, NULL, acquire_and_note, &obs) == 0);
    TM_ASSERT(waiting_becomes(p, 1));
    TM_ASSERT(pthread_create(&ta, NULL, acquire_and_note, &app_) == 0);
    TM_ASSERT(waiting_becomes(p, 2));
    pgpool_release(p, o1, true); /* one slot frees: the apply's */
    pthread_join(ta, NULL);
    TM_EXPECT_INT(atomic_load(&app_.got), 1);
    TM_EXPECT_INT(atomic_load(&obs.got), 0); /* still waiting */
    pgpool_release(p, o2, true); /* the next: the observer's */
    pthread_join(to, NULL);
    TM_EXPECT_INT(atomic_load(&obs.got), 2);
    TM_EXPECT(app_.lease && obs.lease);
    pgpool_release(p, app_.lease, true);
    pgpool_release(p, obs.lease, true);
    pgpool_free(p);
    pgdb_close(&d);
}

TM_TEST(pool_apply_sessions_are_dedicated_and_closed_at_release)
{
    struct pgdb d;
    struct tm_err err;
    char app[64];
    app_name(app, sizeof(app), "apply");
    TM_ASSERT(pgdb_open(&d, "pool_apply"));
    struct pgpool *p = pgpool_new(&(struct pgpool_opts){.max_per_server = 3});
    struct pgx_params pr = params_for(&d, app);
    /* an idle observer session exists; an apply never takes it */
    struct pgpool_lease *o = pgpool_acquire(p, &pr, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(o != NULL);
    long observer_pid = backend_pid(pgpool_conn(o));
    pgpool_release(p, o, true);
    struct pgpool_lease *a = pgpool_acquire(p, &pr, PGPOOL_APPLY, 1000, &err);
    TM_ASSERT(a != NULL);
    long apply_pid = backend_pid(pgpool_conn(a));
    TM_EXPECT(apply_pid != observer_pid);
    TM_EXPECT_STR(pgdb_val(pgpool_conn(a), "SELECT pg_advisory_lock(4242)::text"), "");
    pgpool_release(p, a, true); /* reusable or not, an apply session is closed */
    TM_EXPECT(sessions_become(&d, app, 1));
    /* its session-level advisory lock went with it */
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT pg_try_advisory_lock(4242)::text"), "true");
    TM_EXPECT_STR(pgdb_val(d.c, "SELECT pg_advisory_unlock(4242)::text"), "true");
    /* the observer's idle session is still the one an observer gets */
    o = pgpool_acquire(p, &pr, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(o != NULL);
    TM_EXPECT_INT(backend_pid(pgpool_conn(o)), observer_pid);
    pgpool_release(p, o, true);
    pgpool_free(p);
    pgdb_close(&d);
}

TM_TEST(pool_idle_connections_close_after_the_idle_timeout)
{
    struct pgdb d;
    struct tm_err err;
    char app[64];
    app_name(app, sizeof(app), "idle");
    TM_ASSERT(pgdb_open(&d, "pool_idle"));
    struct tm_manual_clock mc;
    tm_manual_clock_init(&mc, 1000);
    struct pgpool *p = pgpool_new(&(struct pgpool_opts){
        .max_per_server = 4, .idle_timeout_ms = 30000, .clock = tm_manual_clock_get(&mc)});
    struct pgx_params pr = params_for(&d, app);
    struct pgpool_lease *l = pgpool_acquire(p, &pr, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(l != NULL);
    pgpool_release(p, l, true);
    tm_manual_clock_advance(&mc, 29999);
    TM_EXPECT_INT(pgpool_reap(p), 0);
    TM_EXPECT_INT(sessions(&d, app, NULL), 1);
    tm_manual_clock_advance(&mc, 1);
    TM_EXPECT_INT(pgpool_reap(p), 1);
    TM_EXPECT(sessions_become(&d, app, 0));
    pgpool_free(p);
    pgdb_close(&d);
}

/* on_wait: how many waits, and the last one's server and use. */
struct waits_seen {
    int n;
    char server[160];
    enum pgpool_use use;
};

static void saw_wait(void *ctx, const char *server, enum pgpool_use use)
{
    struct waits_seen *w = ctx;
    w->n++;
    snprintf(w->server, sizeof(w->server), "%s", server);
    w->use = use;
}

TM_TEST(pool_a_full_server_times_out_with_a_clear_error_and_holds_nothing)
{
    struct pgdb d;
    struct tm_err err;
    char app[64];
    struct waits_seen waits = {0};
    app_name(app, sizeof(app), "full");
    TM_ASSERT(pgdb_open(&d, "pool_full"));
    struct pgpool *p = pgpool_new(
        &(struct pgpool_opts){.max_per_server = 1, .on_wait = saw_wait, .on_wait_ctx = &waits});
    struct pgx_params pr = params_for(&d, app);
    pr.password = "not-the-real-one-but-secret"; /* another identity; never connects */
    struct pgx_params ok = params_for(&d, app);
    struct pgpool_lease *held = pgpool_acquire(p, &ok, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(held != NULL);
    TM_EXPECT(pgpool_acquire(p, &pr, PGPOOL_OBSERVE, 100, &err) == NULL);
    TM_EXPECT_INT(err.code, TM_E_TIMEOUT);
    TM_EXPECT_INT(err.retry, TM_RETRY_WAITING);
    TM_EXPECT_CONTAINS(err.msg, "max-connections-per-server");
    TM_EXPECT_CONTAINS(err.msg, "all 1 connections");
    TM_EXPECT_NOT_CONTAINS(err.msg, "secret");
    TM_EXPECT_INT(waits.n, 1); /* counted once per acquire, not per wake-up */
    TM_EXPECT_INT(waits.use, PGPOOL_OBSERVE);
    char name[160];
    TM_EXPECT_INT(pgpool_server_name(&ok, name, sizeof(name), &err), TM_OK);
    TM_EXPECT_STR(waits.server, name);
    TM_EXPECT(pgpool_acquire(p, &ok, PGPOOL_APPLY, 0, &err) == NULL);
    TM_EXPECT_INT(err.code, TM_E_TIMEOUT);
    TM_EXPECT_INT(waits.n, 2);
    TM_EXPECT_INT(waits.use, PGPOOL_APPLY);
    int waiting = 0;
    pgpool_stats(p, count_waiting, &waiting);
    TM_EXPECT_INT(waiting, 0); /* nobody left waiting */
    pgpool_release(p, held, true);
    /* the freed slot is usable: the idle session of another identity makes room */
    struct pgpool_lease *l = pgpool_acquire(p, &ok, PGPOOL_APPLY, 1000, &err);
    TM_EXPECT(l != NULL);
    TM_EXPECT_INT(waits.n, 2); /* closing an idle connection to make room is not a wait */
    pgpool_release(p, l, true);
    pgpool_free(p);
    pgdb_close(&d);
}

TM_TEST(pool_observers_keep_a_slot_while_applies_run)
{
    struct pgdb d;
    struct tm_err err;
    char app[64];
    app_name(app, sizeof(app), "keep");
    TM_ASSERT(pgdb_open(&d, "pool_keep"));
    struct pgpool *p = pgpool_new(&(struct pgpool_opts){.max_per_server = 2});
    struct pgx_params pr = params_for(&d, app);
    struct pgpool_lease *a1 = pgpool_acquire(p, &pr, PGPOOL_APPLY, 1000, &err);
    TM_ASSERT(a1 != NULL);
    /* a second apply would take the last slot: it waits (here: gives up at once) */
    TM_EXPECT(pgpool_acquire(p, &pr, PGPOOL_APPLY, 0, &err) == NULL);
    TM_EXPECT_CONTAINS(err.msg, "apply sessions");
    /* an observer gets the slot kept for observers */
    struct pgpool_lease *o = pgpool_acquire(p, &pr, PGPOOL_OBSERVE, 0, &err);
    TM_EXPECT(o != NULL);
    pgpool_release(p, o, true);
    pgpool_release(p, a1, true);
    pgpool_free(p);
    pgdb_close(&d);
}

TM_TEST(pool_an_idle_connection_the_server_closed_is_replaced)
{
    struct pgdb d;
    struct tm_err err;
    char app[64], sql[200];
    app_name(app, sizeof(app), "gone");
    TM_ASSERT(pgdb_open(&d, "pool_gone"));
    struct pgpool *p = pgpool_new(&(struct pgpool_opts){.max_per_server = 2});
    struct pgx_params pr = params_for(&d, app);
    struct pgpool_lease *l = pgpool_acquire(p, &pr, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(l != NULL);
    long pid = backend_pid(pgpool_conn(l));
    pgpool_release(p, l, true);
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%ld)::text", pid);
    TM_EXPECT_STR(pgdb_val(d.admin, sql), "true");
    TM_EXPECT(sessions_become(&d, app, 0));
    l = pgpool_acquire(p, &pr, PGPOOL_OBSERVE, 1000, &err);
    TM_ASSERT(l != NULL);
    TM_EXPECT(backend_pid(pgpool_conn(l)) != pid);
    TM_EXPECT_STR(pgdb_val(pgpool_conn(l), "SELECT 'works'"), "works");
    pgpool_release(p, l, true);
    pgpool_free(p);
    pgdb_close(&d);
}

/* Makes c's backend slow to exit: it drops its temporary tables as it exits, before the
 * server stops counting it. */
static bool slow_to_exit(struct pgx_conn *c)
{
    struct tm_err err;
    return pgx_exec(c,
                    "DO $$ BEGIN FOR i IN 1..400 LOOP "
                    "EXECUTE format('CREATE TEMP TABLE slow_exit_%s (id int)', i); "
                    "END LOOP; END $$",
                    &err) == TM_OK;
}

/* A slot is given back only once the server ended the session it held: closing a session
 * (an idle one of another database to make room, or one released broken) to connect anew
 * never has the server hold both, even while the old backend takes its time to exit. */
TM_TEST(pool_a_closed_session_has_left_the_server_before_its_slot_is_reused)
{
    struct pgdb d1, d2;
    struct tm_err err;
    char app[64];
    app_name(app, sizeof(app), "handover");
    TM_ASSERT(pgdb_open(&d1, "pool_handover_a"));
    TM_ASSERT(pgdb_open(&d2, "pool_handover_b"));
    struct pgpool *p = pgpool_new(&(struct pgpool_opts){.max_per_server = 1});
    struct pgx_params a = params_for(&d1, app), b = params_for(&d2, app);

    struct pgpool_lease *l = pgpool_acquire(p, &a, PGPOOL_OBSERVE, 2000, &err);
    TM_ASSERT(l != NULL);
    TM_ASSERT(slow_to_exit(pgpool_conn(l)));
    pgpool_release(p, l, true); /* idle, and closed to make room for b */
    l = pgpool_acquire(p, &b, PGPOOL_OBSERVE, 2000, &err);
    TM_ASSERT(l != NULL);
    TM_EXPECT_INT(sessions(&d1, app, NULL), 1);
    TM_ASSERT(slow_to_exit(pgpool_conn(l)));
    pgpool_release(p, l, false); /* broken: closed at release */
    l = pgpool_acquire(p, &a, PGPOOL_OBSERVE, 2000, &err);
    TM_ASSERT(l != NULL);
    TM_EXPECT_INT(sessions(&d1, app, NULL), 1);
    pgpool_release(p, l, true);
    pgpool_free(p);
    TM_EXPECT(sessions_become(&d1, app, 0));
    pgdb_close(&d2);
    pgdb_close(&d1);
}

TM_TEST_MAIN()
