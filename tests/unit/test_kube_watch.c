/* Unit tests of the watch stream framer (controller/kube/watch.c): the same
 * stream split at every byte offset, byte by byte and at random points gives
 * the same events; caps, CRLF, blank lines, bad lines and 410 ERROR events. */
#include "../tm_test.h"

#include "kube/kube.h"

/* A stream as the apiserver sends it, with multi-byte UTF-8 in names/values
 * so that splits land inside sequences. */
static const char STREAM[] =
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"caf\xc3\xa9\","
    "\"resourceVersion\":\"101\"},\"data\":{\"k\":\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8c\x8a\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"caf\xc3\xa9\","
    "\"resourceVersion\":\"102\"},\"data\":{\"k\":\"v2\"}}}\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"resourceVersion\":\"150\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"b\","
    "\"resourceVersion\":\"160\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
    "\"message\":\"too old resource version: 1 (160)\",\"reason\":\"Expired\",\"code\":410}}\n";

static const char EXPECTED[] = "ADDED 101 caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8c\x8a\n"
                               "MODIFIED 102 caf\xc3\xa9 v2\n"
                               "BOOKMARK 150  \n"
                               "DELETED 160 b \n"
                               "EXPIRED  410 \n";

struct rec {
    struct tm_buf out;
    int fail_at; /* event number whose handler fails; 0 = never */
    int n;
};

static enum tm_code record(void *ctx, struct kube_watch_event *ev, struct tm_err *err)
{
    struct rec *r = ctx;
    r->n++;
    if (r->fail_at && r->n == r->fail_at)
        return tm_err_set(err, TM_E_INTERNAL, "handler refused event %d", r->n);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(ev->object, "metadata");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, "name");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(ev->object, "data");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(data, "k");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(ev->object, "code");
    enum tm_code rc;
    if (ev->type == KUBE_WATCH_EXPIRED || ev->type == KUBE_WATCH_ERROR)
        rc = tm_buf_addf(&r->out, "%s %s %d \n", kube_watch_type_name(ev->type),
                         ev->resource_version, cJSON_IsNumber(code) ? code->valueint : -1);
    else
        rc = tm_buf_addf(&r->out, "%s %s %s %s\n", kube_watch_type_name(ev->type),
                         ev->resource_version, cJSON_IsString(name) ? name->valuestring : "",
                         cJSON_IsString(k) ? k->valuestring : "");
    return rc;
}

/* Feeds STREAM cut at the given offsets (ascending), returns the record. */
static char *run_split(const char *s, size_t len, const size_t *cuts, int ncuts, enum tm_code *rc)
{
    struct rec r = {.fail_at = 0};
    tm_buf_init(&r.out, 1 << 20);
    struct kube_watch_framer f;
    kube_watch_framer_init(&f, 0, record, &r);
    struct tm_err err;
    size_t pos = 0;
    *rc = TM_OK;
    for (int i = 0; i <= ncuts && *rc == TM_OK; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        *rc = kube_watch_framer_feed(&f, s + pos, end - pos, &err);
        pos = end;
    }
    if (*rc == TM_OK)
        *rc = kube_watch_framer_finish(&f, &err);
    kube_watch_framer_release(&f);
    char *out = tm_buf_detach(&r.out, NULL);
    return out;
}

TM_TEST(watch_framer_whole_stream_yields_all_events_in_order)
{
    enum tm_code rc;
    char *got = run_split(STREAM, sizeof(STREAM) - 1, NULL, 0, &rc);
    TM_EXPECT_INT(rc, TM_OK);
    TM_EXPECT_STR(got, EXPECTED);
    free(got);
}

TM_TEST(watch_framer_same_events_when_split_at_every_byte_offset)
{
    size_t len = sizeof(STREAM) - 1;
    int bad = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        enum tm_code rc;
        char *got = run_split(STREAM, len, &cut, 1, &rc);
        if (rc != TM_OK || strcmp(got, EXPECTED) != 0) {
            if (bad++ < 3)
                TM_FAIL_("split at %zu: rc %d, got \"%s\"", cut, rc, got);
        }
        free(got);
    }
    TM_EXPECT_INT(bad, 0);
}

TM_TEST(watch_framer_same_events_when_fed_byte_by_byte_and_in_pairs_of_cuts)
{
    size_t len = sizeof(STREAM) - 1;
    size_t *cuts = malloc(len * sizeof(size_t));
    TM_ASSERT(cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    enum tm_code rc;
    char *got = run_split(STREAM, len, cuts, (int)len - 1, &rc);
    TM_EXPECT_INT(rc, TM_OK);
    TM_EXPECT_STR(got, EXPECTED);
    free(got);
    /* every pair of cut points (a <= b): three pieces */
    int bad = 0;
    for (size_t a = 0; a <= len; a += 7) {
        for (size_t b = a; b <= len; b++) {
            size_t two[2] = {a, b};
            char *g = run_split(STREAM, len, two, 2, &rc);
            if (rc != TM_OK || strcmp(g, EXPECTED) != 0)
                bad++;
            free(g);
        }
    }
    TM_EXPECT_INT(bad, 0);
    free(cuts);
}

TM_TEST(watch_framer_same_events_with_random_splits)
{
    size_t len = sizeof(STREAM) - 1;
    unsigned seed = 12345;
    int bad = 0;
    for (int round = 0; round < 500; round++) {
        size_t cuts[40];
        int n = 0;
        size_t pos = 0;
        while (n < 40) {
            seed = seed * 1103515245u + 12345u;
            pos += (seed >> 16) % 40;
            if (pos > len)
                break;
            cuts[n++] = pos;
        }
        enum tm_code rc;
        char *got = run_split(STREAM, len, cuts, n, &rc);
        if (rc != TM_OK || strcmp(got, EXPECTED) != 0)
            bad++;
        free(got);
    }
    TM_EXPECT_INT(bad, 0);
}

TM_TEST(watch_framer_rejects_line_over_cap_without_crashing)
{
    struct rec r = {.fail_at = 0};
    tm_buf_init(&r.out, 4096);
    struct kube_watch_framer f;
    kube_watch_framer_init(&f, 64, record, &r);
    struct tm_err err;
    tm_err_clear(&err);
    char big[200];
    memset(big, 'x', sizeof(big));
    /* a line of 200 bytes fed in 10-byte chunks: fails once it passes 64 */
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < sizeof(big) && rc == TM_OK; i += 10)
        rc = kube_watch_framer_feed(&f, big + i, 10, &err);
    TM_EXPECT_INT(rc, TM_E_TOOBIG);
    TM_EXPECT_CONTAINS(err.msg, "longer than 64");
    /* sticky: a good line afterwards still fails */
    tm_err_clear(&err);
    rc = kube_watch_framer_feed(&f, "\n", 1, &err);
    TM_EXPECT_INT(rc, TM_E_TOOBIG);
    TM_EXPECT_INT(r.n, 0);
    kube_watch_framer_release(&f);
    /* in a single chunk with its newline too */
    kube_watch_framer_init(&f, 64, record, &r);
    big[150] = '\n';
    rc = kube_watch_framer_feed(&f, big, sizeof(big), &err);
    TM_EXPECT_INT(rc, TM_E_TOOBIG);
    kube_watch_framer_release(&f);
    tm_buf_release(&r.out);
}

TM_TEST(watch_framer_accepts_line_exactly_at_cap)
{
    const char line[] = "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}";
    size_t n = sizeof(line) - 1;
    struct rec r = {.fail_at = 0};
    tm_buf_init(&r.out, 4096);
    struct kube_watch_framer f;
    kube_watch_framer_init(&f, n, record, &r);
    struct tm_err err;
    TM_EXPECT_INT(kube_watch_framer_feed(&f, line, n, &err), TM_OK);
    TM_EXPECT_INT(kube_watch_framer_feed(&f, "\n", 1, &err), TM_OK);
    TM_EXPECT_INT(r.n, 1);
    TM_EXPECT_STR(tm_buf_str(&r.out), "DELETED 7  \n");
    kube_watch_framer_release(&f);
    tm_buf_release(&r.out);
}

TM_TEST(watch_framer_detects_410_error_event_as_expired)
{
    const char *l410 = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
                       "\"reason\":\"Expired\",\"message\":\"too old resource version\"}}";
    const char *l500 = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
                       "\"reason\":\"InternalError\",\"message\":\"boom\"}}";
    struct kube_watch_event ev;
    struct tm_err err;
    TM_ASSERT_INT(kube_watch_parse_line(l410, strlen(l410), &ev, &err), TM_OK);
    TM_EXPECT_INT(ev.type, KUBE_WATCH_EXPIRED);
    TM_EXPECT_STR(kube_watch_type_name(ev.type), "EXPIRED");
    cJSON_Delete(ev.object);
    TM_ASSERT_INT(kube_watch_parse_line(l500, strlen(l500), &ev, &err), TM_OK);
    TM_EXPECT_INT(ev.type, KUBE_WATCH_ERROR);
    /* the Status maps to an error the usual way */
    char *s = cJSON_PrintUnformatted(ev.object);
    kube_status_to_err(200, s, strlen(s), &err);
    TM_EXPECT_INT(err.http_status, 500);
    TM_EXPECT_CONTAINS(err.msg, "InternalError: boom");
    cJSON_free(s);
    cJSON_Delete(ev.object);
}

TM_TEST(watch_framer_handles_crlf_blank_lines_and_a_last_line_without_newline)
{
    const char s[] = "\r\n\n{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\r\n"
                     "   \n{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"2\"}}}";
    enum tm_code rc;
    char *got = run_split(s, sizeof(s) - 1, NULL, 0, &rc);
    TM_EXPECT_INT(rc, TM_OK);
    TM_EXPECT_STR(got, "ADDED 1 a \nDELETED 2 a \n");
    free(got);
}

TM_TEST(watch_framer_reports_bad_lines_as_parse_errors)
{
    const char *bad[] = {
        "not json\n",
        "{\"type\":\"ADDED\"}\n",                                  /* no object */
        "{\"type\":\"SOMETHING\",\"object\":{}}\n",                /* unknown type */
        "{\"type\":\"ADDED\",\"object\":{}} trailing\n",           /* junk after */
        "[1,2,3]\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum tm_code rc;
        char *got = run_split(bad[i], strlen(bad[i]), NULL, 0, &rc);
        if (rc != TM_E_PARSE)
            TM_FAIL_("line %zu: expected E_PARSE, got %d", i, rc);
        free(got);
    }
}

TM_TEST(watch_framer_stops_when_the_handler_fails)
{
    struct rec r = {.fail_at = 2};
    tm_buf_init(&r.out, 1 << 16);
    struct kube_watch_framer f;
    kube_watch_framer_init(&f, 0, record, &r);
    struct tm_err err;
    tm_err_clear(&err);
    enum tm_code rc = kube_watch_framer_feed(&f, STREAM, sizeof(STREAM) - 1, &err);
    TM_EXPECT_INT(rc, TM_E_INTERNAL);
    TM_EXPECT_CONTAINS(err.msg, "handler refused event 2");
    TM_EXPECT_INT(r.n, 2);
    TM_EXPECT_INT(f.events, 2);
    kube_watch_framer_release(&f);
    tm_buf_release(&r.out);
}

static enum tm_code take_object(void *ctx, struct kube_watch_event *ev, struct tm_err *err)
{
    cJSON **slot = ctx;
    cJSON_Delete(*slot);
    *slot = ev->object;
    ev->object = NULL; /* taken: the framer must not free it */
    return TM_OK;
}

TM_TEST(watch_framer_lets_the_handler_take_the_object)
{
    cJSON *kept = NULL;
    struct kube_watch_framer f;
    kube_watch_framer_init(&f, 0, take_object, &kept);
    struct tm_err err;
    TM_ASSERT_INT(kube_watch_framer_feed(&f, STREAM, sizeof(STREAM) - 1, &err), TM_OK);
    kube_watch_framer_release(&f);
    TM_ASSERT(kept != NULL);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(kept, "code");
    TM_EXPECT(cJSON_IsNumber(code) && code->valueint == 410);
    cJSON_Delete(kept);
}

TM_TEST_MAIN()
