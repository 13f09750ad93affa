/* E2E tests of kube watches (controller/kube/watch.c) against the real
 * kube-apiserver: events and bookmarks through a curl multi handle shared by
 * two watches, resuming from the last resourceVersion, 410 for a stale
 * resourceVersion, and the stop flag. */
#include "../tm_test.h"

#include "test_kube_e2e.h"

/* kube-controller-manager adds kube-root-ca.crt to every namespace at its own
 * pace: the watches select only what the tests make. */
#define LABELS "{\"tmk\":\"1\"}"

struct seen {
    struct tm_buf log; /* "TYPE name\n" per event, bookmarks as "BOOKMARK\n" */
    int bookmarks;
    int expired;
    atomic_bool *stop_after_first; /* NULL ok */
};

static enum tm_code on_event(void *ctx, struct kube_watch_event *ev, struct tm_err *err)
{
    struct seen *s = ctx;
    if (ev->type == KUBE_WATCH_BOOKMARK) {
        s->bookmarks++;
        return TM_OK;
    }
    if (ev->type == KUBE_WATCH_EXPIRED)
        s->expired++;
    const char *name = e2e_str(ev->object, "metadata", "name");
    if (s->stop_after_first)
        atomic_store(s->stop_after_first, true);
    return tm_buf_addf(&s->log, "%s %s\n", kube_watch_type_name(ev->type), name ? name : "-");
}

static char *list_rv(struct e2e *t, const char *path)
{
    cJSON *list = NULL;
    if (kube_list(t->c, path, NULL, &list, &t->err) != TM_OK)
        return NULL;
    const char *rv = e2e_str(list, "metadata", "resourceVersion");
    char *r = rv ? strdup(rv) : NULL;
    cJSON_Delete(list);
    return r;
}

/* Drives multi until every watch in ws is done (or the deadline passes). */
static int drive(CURLM *multi, struct kube_watch **ws, enum kube_watch_end *ends, int n,
                 struct tm_err *errs, int deadline_s)
{
    int done = 0;
    int64_t deadline = e2e_now_ms() + (int64_t)deadline_s * 1000;
    while (done < n && e2e_now_ms() < deadline) {
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            for (int i = 0; i < n; i++) {
                if (msg->easy_handle == kube_watch_easy(ws[i])) {
                    ends[i] = kube_watch_done(ws[i], multi, msg->data.result, &errs[i]);
                    done++;
                }
            }
        }
        if (done < n)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    return done;
}

TM_TEST(watch_receives_added_modified_deleted_and_a_bookmark_in_a_shared_multi_handle)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-watch"));
    char *cms = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns, .resource = "configmaps"});
    char *secrets = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns, .resource = "secrets"});
    char *rv1 = list_rv(&t, cms);
    char *rv2 = list_rv(&t, secrets);
    TM_ASSERT(rv1 && rv2);
    struct seen s1 = {0}, s2 = {0};
    tm_buf_init(&s1.log, 1 << 16);
    tm_buf_init(&s2.log, 1 << 16);
    struct kube_watch_opts o1 = {.path = cms, .resource_version = rv1, .timeout_seconds = 4,
                                 .on_event = on_event, .ctx = &s1, .label_selector = "tmk=1"};
    struct kube_watch_opts o2 = {.path = secrets, .resource_version = rv2, .timeout_seconds = 4,
                                 .on_event = on_event, .ctx = &s2, .label_selector = "tmk=1"};
    struct kube_watch *ws[2] = {kube_watch_new(t.cfg, &o1, &t.err),
                                kube_watch_new(t.cfg, &o2, &t.err)};
    TM_ASSERT(ws[0] && ws[1]);
    CURLM *multi = curl_multi_init();
    TM_ASSERT_INT(kube_watch_start(ws[0], multi, &t.err), TM_OK);
    TM_ASSERT_INT(kube_watch_start(ws[1], multi, &t.err), TM_OK);
    TM_EXPECT_INT(kube_watch_start(ws[0], multi, &t.err), TM_E_INVAL); /* already running */

    /* writes after the listed RV reach the watch whenever it connects */
    TM_ASSERT_INT(e2e_make_configmap(&t, "w1", "a", LABELS, NULL), TM_OK);
    char *p = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns, .resource = "configmaps",
                                          .name = "w1"});
    cJSON *patch = cJSON_Parse("{\"data\":{\"k\":\"b\"}}");
    TM_ASSERT_INT(kube_patch(t.c, p, KUBE_PATCH_MERGE, patch, NULL, &t.err), TM_OK);
    TM_ASSERT_INT(kube_delete(t.c, p, NULL, NULL, &t.err), TM_OK);
    cJSON *secret = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":"
                                "{\"name\":\"s1\",\"labels\":{\"tmk\":\"1\"}},\"stringData\":{\"x\":\"y\"}}");
    TM_ASSERT_INT(kube_create(t.c, secrets, secret, NULL, &t.err), TM_OK);

    enum kube_watch_end ends[2] = {KUBE_WATCH_END_ERROR, KUBE_WATCH_END_ERROR};
    struct tm_err errs[2];
    memset(errs, 0, sizeof(errs));
    TM_EXPECT_INT(drive(multi, ws, ends, 2, errs, 30), 2);
    TM_EXPECT_INT(ends[0], KUBE_WATCH_END_CLOSED);
    TM_EXPECT_INT(ends[1], KUBE_WATCH_END_CLOSED);
    TM_EXPECT_STR(tm_buf_str(&s1.log), "ADDED w1\nMODIFIED w1\nDELETED w1\n");
    TM_EXPECT_STR(tm_buf_str(&s2.log), "ADDED s1\n");
    /* bookmarks come at the server's discretion (about 2 s before the
     * watch's deadline, when its timer bucket fires): watch again from the
     * last RV until one came, up to a deadline */
    int64_t bm_deadline = e2e_now_ms() + 90000;
    while (s1.bookmarks == 0 && e2e_now_ms() < bm_deadline) {
        TM_ASSERT_INT(kube_watch_start(ws[0], multi, &t.err), TM_OK);
        ends[0] = KUBE_WATCH_END_ERROR;
        TM_EXPECT_INT(drive(multi, ws, ends, 1, errs, 30), 1);
        TM_EXPECT_INT(ends[0], KUBE_WATCH_END_CLOSED);
    }
    TM_EXPECT(s1.bookmarks >= 1);
    TM_EXPECT_STR(tm_buf_str(&s1.log), "ADDED w1\nMODIFIED w1\nDELETED w1\n"); /* no repeats */
    TM_EXPECT(strcmp(kube_watch_last_rv(ws[0]), rv1) != 0);

    kube_watch_free(ws[0]);
    kube_watch_free(ws[1]);
    curl_multi_cleanup(multi);
    tm_buf_release(&s1.log);
    tm_buf_release(&s2.log);
    cJSON_Delete(patch);
    cJSON_Delete(secret);
    free(p);
    free(rv1);
    free(rv2);
    free(cms);
    free(secrets);
    e2e_teardown(&t);
}

TM_TEST(watch_resumes_from_the_last_resource_version_after_the_server_closes_it)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-resume"));
    char *cms = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns, .resource = "configmaps"});
    char *rv = list_rv(&t, cms);
    TM_ASSERT(rv);
    struct seen s = {0};
    tm_buf_init(&s.log, 1 << 16);
    struct kube_watch_opts o = {.path = cms, .resource_version = rv, .timeout_seconds = 2,
                                .on_event = on_event, .ctx = &s, .label_selector = "tmk=1"};
    struct kube_watch *w = kube_watch_new(t.cfg, &o, &t.err);
    TM_ASSERT(w);
    TM_ASSERT_INT(e2e_make_configmap(&t, "first", "a", LABELS, NULL), TM_OK);
    TM_EXPECT_INT(kube_watch_run(w, &t.err), KUBE_WATCH_END_CLOSED);
    TM_EXPECT_STR(tm_buf_str(&s.log), "ADDED first\n");
    tm_buf_reset(&s.log);
    /* the next round starts at the last RV: only what came after */
    TM_ASSERT_INT(e2e_make_configmap(&t, "second", "b", LABELS, NULL), TM_OK);
    TM_EXPECT_INT(kube_watch_run(w, &t.err), KUBE_WATCH_END_CLOSED);
    TM_EXPECT_STR(tm_buf_str(&s.log), "ADDED second\n");
    kube_watch_free(w);
    tm_buf_release(&s.log);
    free(rv);
    free(cms);
    e2e_teardown(&t);
}

TM_TEST(watch_with_a_stale_resource_version_ends_expired)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-410"));
    /* A fresh CRD's watch cache starts at the current RV, so RV "1" is older
     * than anything it holds: the apiserver answers 410 Expired. */
    struct e2e_crd crd;
    memset(&crd, 0, sizeof(crd));
    bool served = e2e_crd_create(&t, &crd);
    TM_EXPECT(served);
    char *path = e2e_path(&(struct kube_ref){.group = crd.group, .version = "v1", .ns = t.ns,
                                             .resource = "widgets"});
    struct seen s = {0};
    tm_buf_init(&s.log, 1 << 16);
    struct kube_watch_opts o = {.path = path, .resource_version = "1", .timeout_seconds = 10,
                                .on_event = on_event, .ctx = &s};
    struct kube_watch *w = kube_watch_new(t.cfg, &o, &t.err);
    TM_ASSERT(w);
    struct tm_err err;
    tm_err_clear(&err);
    TM_EXPECT_INT(served ? kube_watch_run(w, &err) : KUBE_WATCH_END_ERROR, KUBE_WATCH_END_EXPIRED);
    TM_EXPECT_INT(err.http_status, 410);
    TM_EXPECT_CONTAINS(err.msg, "Expired");
    TM_EXPECT_INT(s.expired, 1);
    /* after a relist the watch starts again from the list's RV */
    char *rv = list_rv(&t, path);
    TM_ASSERT(rv);
    TM_ASSERT_INT(kube_watch_set_rv(w, rv, &err), TM_OK);
    TM_EXPECT_STR(kube_watch_last_rv(w), rv);
    kube_watch_free(w);
    tm_buf_release(&s.log);
    free(rv);
    free(path);
    e2e_crd_delete(&t, &crd);
    e2e_teardown(&t);
}

TM_TEST(watch_stops_promptly_when_the_stop_flag_is_set)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-stop"));
    char *cms = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns, .resource = "configmaps"});
    char *rv = list_rv(&t, cms);
    TM_ASSERT(rv);
    atomic_bool stop = false;
    struct seen s = {.stop_after_first = &stop};
    tm_buf_init(&s.log, 1 << 16);
    struct kube_watch_opts o = {.path = cms, .resource_version = rv, .timeout_seconds = 300,
                                .on_event = on_event, .ctx = &s, .stop = &stop,
                                .label_selector = "tmk=1"};
    struct kube_watch *w = kube_watch_new(t.cfg, &o, &t.err);
    TM_ASSERT(w);
    TM_ASSERT_INT(e2e_make_configmap(&t, "x", "a", LABELS, NULL), TM_OK);
    struct tm_err err;
    /* CANCELLED (not CLOSED): it ended on the flag, not at the 300 s server timeout */
    TM_EXPECT_INT(kube_watch_run(w, &err), KUBE_WATCH_END_CANCELLED);
    TM_EXPECT_INT(err.code, TM_E_CANCELLED);
    TM_EXPECT_STR(tm_buf_str(&s.log), "ADDED x\n");
    kube_watch_free(w);
    tm_buf_release(&s.log);
    free(rv);
    free(cms);
    e2e_teardown(&t);
}

TM_TEST(watch_of_a_missing_resource_is_an_error_with_the_api_status)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-w404"));
    struct seen s = {0};
    tm_buf_init(&s.log, 1 << 16);
    struct kube_watch_opts o = {.path = "/apis/nope.tidemark.dev/v1/widgets", .timeout_seconds = 5,
                                .on_event = on_event, .ctx = &s};
    struct kube_watch *w = kube_watch_new(t.cfg, &o, &t.err);
    TM_ASSERT(w);
    struct tm_err err;
    TM_EXPECT_INT(kube_watch_run(w, &err), KUBE_WATCH_END_ERROR);
    TM_EXPECT_INT(err.http_status, 404);
    TM_EXPECT_INT(err.code, TM_E_NOTFOUND);
    kube_watch_free(w);
    tm_buf_release(&s.log);
    e2e_teardown(&t);
}

TM_TEST_MAIN()
