/* Unit tests of the metrics registry and its Prometheus text exposition
 * (controller/runtime/metrics.c): exact expected text, number formatting as
 * the Go client writes it, label escaping, registration rules, threads. */
#include "../tm_test.h"

#include <math.h>
#include <pthread.h>

#include "runtime/metrics.h"

static char *expose(struct metrics *m)
{
    struct tm_buf b;
    tm_buf_init(&b, 1 << 20);
    if (metrics_write(m, &b) != TM_OK)
        return NULL;
    return tm_buf_detach(&b, NULL);
}

TM_TEST(metrics_text_exposition_is_exact)
{
    struct tm_err e;
    struct metrics *m = metrics_new(&e);
    TM_ASSERT(m != NULL);
    struct metrics_family *rec =
        metrics_counter(m, "tidemark_reconcile_total", "Reconciles by kind and result.",
                        "kind,result", &e);
    struct metrics_family *leader =
        metrics_gauge(m, "tidemark_leader", "1 while this process leads.", NULL, &e);
    const double b[] = {0.1, 1, 10};
    struct metrics_family *dur = metrics_histogram(
        m, "tidemark_reconcile_duration_seconds", "Reconcile duration.", "kind", b, 3, &e);
    struct metrics_family *unused =
        metrics_counter(m, "tidemark_relists_total", "Relists.", "resource", &e);
    TM_ASSERT(rec && leader && dur && unused);

    metrics_inc(rec, (const char *[]){"dbrollout", "success"});
    metrics_add(rec, (const char *[]){"dbrollout", "success"}, 2);
    metrics_inc(rec, (const char *[]){"dbinstance", "error"});
    metrics_add(rec, (const char *[]){"dbinstance", "error"}, -5); /* counters never go down */
    metrics_set(leader, NULL, 1);
    metrics_observe(dur, (const char *[]){"dbschema"}, 0.05);
    metrics_observe(dur, (const char *[]){"dbschema"}, 0.1); /* le is inclusive */
    metrics_observe(dur, (const char *[]){"dbschema"}, 2.5);
    metrics_observe(dur, (const char *[]){"dbschema"}, 20);

    char *got = expose(m);
    const char *want =
        "# HELP tidemark_leader 1 while this process leads.\n"
        "# TYPE tidemark_leader gauge\n"
        "tidemark_leader 1\n"
        "# HELP tidemark_reconcile_duration_seconds Reconcile duration.\n"
        "# TYPE tidemark_reconcile_duration_seconds histogram\n"
        "tidemark_reconcile_duration_seconds_bucket{kind=\"dbschema\",le=\"0.1\"} 2\n"
        "tidemark_reconcile_duration_seconds_bucket{kind=\"dbschema\",le=\"1\"} 2\n"
        "tidemark_reconcile_duration_seconds_bucket{kind=\"dbschema\",le=\"10\"} 3\n"
        "tidemark_reconcile_duration_seconds_bucket{kind=\"dbschema\",le=\"+Inf\"} 4\n"
        "tidemark_reconcile_duration_seconds_sum{kind=\"dbschema\"} 22.65\n"
        "tidemark_reconcile_duration_seconds_count{kind=\"dbschema\"} 4\n"
        "# HELP tidemark_reconcile_total Reconciles by kind and result.\n"
        "# TYPE tidemark_reconcile_total counter\n"
        "tidemark_reconcile_total{kind=\"dbinstance\",result=\"error\"} 1\n"
        "tidemark_reconcile_total{kind=\"dbrollout\",result=\"success\"} 3\n";
    TM_EXPECT_STR(got, want);
    TM_EXPECT_INT(metrics_value(rec, (const char *[]){"dbrollout", "success"}), 3);
    TM_EXPECT_INT(metrics_value(dur, (const char *[]){"dbschema"}), 4);
    TM_EXPECT_INT(metrics_value(rec, (const char *[]){"nope", "x"}), 0);
    free(got);
    metrics_free(m);
}

TM_TEST(metrics_label_less_histogram_is_written_from_registration)
{
    struct tm_err e;
    struct metrics *m = metrics_new(&e);
    TM_ASSERT(m != NULL);
    const double b[] = {0.5};
    TM_ASSERT(metrics_histogram(m, "h", "A histogram.", "", b, 1, &e) != NULL);
    char *got = expose(m);
    TM_EXPECT_STR(got, "# HELP h A histogram.\n"
                       "# TYPE h histogram\n"
                       "h_bucket{le=\"0.5\"} 0\n"
                       "h_bucket{le=\"+Inf\"} 0\n"
                       "h_sum 0\n"
                       "h_count 0\n");
    free(got);
    metrics_free(m);
}

TM_TEST(metrics_escapes_label_values_and_help)
{
    struct tm_err e;
    struct metrics *m = metrics_new(&e);
    TM_ASSERT(m != NULL);
    struct metrics_family *f = metrics_gauge(m, "g", "Back\\slash and\nnewline \"q\".", "v", &e);
    TM_ASSERT(f != NULL);
    metrics_set(f, (const char *[]){"a\"b\\c\nd"}, -2);
    char *got = expose(m);
    /* HELP escapes \ and newline only; label values also escape " */
    TM_EXPECT_STR(got, "# HELP g Back\\\\slash and\\nnewline \"q\".\n"
                       "# TYPE g gauge\n"
                       "g{v=\"a\\\"b\\\\c\\nd\"} -2\n");
    free(got);
    metrics_free(m);
}

static const char *fmt(double v, char *out, size_t n)
{
    struct tm_buf b;
    tm_buf_init(&b, 64);
    if (metrics_format_value(&b, v) != TM_OK)
        return "";
    snprintf(out, n, "%s", tm_buf_str(&b));
    tm_buf_release(&b);
    return out;
}

TM_TEST(metrics_formats_numbers_like_go_strconv_g_shortest)
{
    /* expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints */
    char s[64];
    TM_EXPECT_STR(fmt(0, s, sizeof(s)), "0");
    TM_EXPECT_STR(fmt(1, s, sizeof(s)), "1");
    TM_EXPECT_STR(fmt(-3, s, sizeof(s)), "-3");
    TM_EXPECT_STR(fmt(0.005, s, sizeof(s)), "0.005");
    TM_EXPECT_STR(fmt(2.5, s, sizeof(s)), "2.5");
    TM_EXPECT_STR(fmt(0.1 + 0.2, s, sizeof(s)), "0.30000000000000004");
    TM_EXPECT_STR(fmt(123456, s, sizeof(s)), "123456");
    TM_EXPECT_STR(fmt(1000000, s, sizeof(s)), "1e+06");
    TM_EXPECT_STR(fmt(1234567, s, sizeof(s)), "1.234567e+06");
    TM_EXPECT_STR(fmt(123456.7, s, sizeof(s)), "123456.7");
    TM_EXPECT_STR(fmt(0.0001, s, sizeof(s)), "0.0001");
    TM_EXPECT_STR(fmt(0.00001, s, sizeof(s)), "1e-05");
    TM_EXPECT_STR(fmt(10485760, s, sizeof(s)), "1.048576e+07");
    TM_EXPECT_STR(fmt(INFINITY, s, sizeof(s)), "+Inf");
    TM_EXPECT_STR(fmt(-INFINITY, s, sizeof(s)), "-Inf");
    TM_EXPECT_STR(fmt(NAN, s, sizeof(s)), "NaN");
}

TM_TEST(metrics_registering_again_returns_same_family_or_rejects_mismatch)
{
    struct tm_err e;
    struct metrics *m = metrics_new(&e);
    TM_ASSERT(m != NULL);
    struct metrics_family *a = metrics_counter(m, "c_total", "C.", "kind", &e);
    struct metrics_family *b = metrics_counter(m, "c_total", "C.", "kind", &e);
    TM_EXPECT(a != NULL && a == b);
    TM_EXPECT(metrics_gauge(m, "c_total", "C.", "kind", &e) == NULL);
    TM_EXPECT_INT(e.code, TM_E_INVAL);
    TM_EXPECT(metrics_counter(m, "c_total", "C.", "verb", &e) == NULL);
    TM_EXPECT(metrics_counter(m, "bad-name", "x", NULL, &e) == NULL);
    TM_EXPECT_INT(e.code, TM_E_INVAL);
    TM_EXPECT(metrics_counter(m, "x_total", "x", "le", &e) == NULL);
    const double desc[] = {2, 1};
    TM_EXPECT(metrics_histogram(m, "h", "x", NULL, desc, 2, &e) == NULL);
    metrics_free(m);
}

TM_TEST(metrics_process_collector_reports_resident_memory)
{
    struct tm_err e;
    struct metrics *m = metrics_new(&e);
    TM_ASSERT(m != NULL);
    TM_ASSERT_INT(metrics_add_process_collector(m, &e), TM_OK);
    char *got = expose(m);
    TM_EXPECT_CONTAINS(got, "# TYPE tidemark_process_resident_memory_bytes gauge\n"
                            "tidemark_process_resident_memory_bytes ");
    const char *v = got ? strstr(got, "\ntidemark_process_resident_memory_bytes ") : NULL;
    TM_ASSERT(v != NULL);
    double rss = strtod(strchr(v + 1, ' ') + 1, NULL);
    TM_EXPECT(rss > 100 * 1024); /* a running process has some pages */
    TM_EXPECT(rss < 1e12);
    free(got);
    metrics_free(m);
}

static void bump(void *ctx, struct metrics *m)
{
    (void)m;
    metrics_inc(ctx, NULL);
}

TM_TEST(metrics_collectors_run_per_scrape_until_removed)
{
    struct tm_err e;
    struct metrics *m = metrics_new(&e);
    TM_ASSERT(m != NULL);
    struct metrics_family *f = metrics_counter(m, "scrapes_total", "Scrapes.", NULL, &e);
    TM_ASSERT(f != NULL);
    TM_ASSERT_INT(metrics_on_collect(m, bump, f, &e), TM_OK);
    char *a = expose(m), *b = expose(m);
    TM_EXPECT_CONTAINS(a, "scrapes_total 1\n");
    TM_EXPECT_CONTAINS(b, "scrapes_total 2\n");
    metrics_off_collect(m, bump, f);
    char *c = expose(m);
    TM_EXPECT_CONTAINS(c, "scrapes_total 2\n");
    free(a);
    free(b);
    free(c);
    metrics_free(m);
}

struct hammer {
    struct metrics_family *c;
    struct metrics_family *h;
};

static void *hammer_thread(void *arg)
{
    struct hammer *hm = arg;
    for (int i = 0; i < 20000; i++) {
        metrics_inc(hm->c, (const char *[]){i % 2 ? "a" : "b"});
        metrics_observe(hm->h, NULL, 0.001);
    }
    return NULL;
}

TM_TEST(metrics_updates_from_many_threads_are_all_counted)
{
    struct tm_err e;
    struct metrics *m = metrics_new(&e);
    TM_ASSERT(m != NULL);
    struct hammer hm = {metrics_counter(m, "n_total", "N.", "k", &e),
                        metrics_histogram(m, "d_seconds", "D.", NULL, NULL, 0, &e)};
    TM_ASSERT(hm.c && hm.h);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, hammer_thread, &hm);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    TM_EXPECT_INT(metrics_value(hm.c, (const char *[]){"a"}), 80000);
    TM_EXPECT_INT(metrics_value(hm.c, (const char *[]){"b"}), 80000);
    TM_EXPECT_INT(metrics_value(hm.h, NULL), 160000);
    char *got = expose(m);
    TM_EXPECT_CONTAINS(got, "d_seconds_bucket{le=\"0.005\"} 160000\n");
    TM_EXPECT_CONTAINS(got, "n_total{k=\"a\"} 80000\n");
    free(got);
    TM_EXPECT_INT(metrics_dropped(m), 0);
    metrics_free(m);
}

TM_TEST_MAIN()
