/* E2E tests of kube events (controller/kube/event.c) against the real
 * kube-apiserver: an Event is visible with `kubectl get events`, a repeat
 * within 10 minutes becomes a series count, a different note or a repeat
 * after the window makes a new Event, notes are cut to 1 kB; recorded Events
 * reach the API through the eventer's sender thread by the time a flush
 * returns, repeats still becoming a series, failures reported. */
#include "../tm_test.h"

#include "test_kube_e2e.h"

struct target {
    char uid[64];
    char rv[64];
};

static bool make_target(struct e2e *t, const char *name, struct target *tg)
{
    cJSON *cm = NULL;
    if (e2e_make_configmap(t, name, "x", NULL, &cm) != TM_OK)
        return false;
    snprintf(tg->uid, sizeof(tg->uid), "%s", e2e_str(cm, "metadata", "uid"));
    snprintf(tg->rv, sizeof(tg->rv), "%s", e2e_str(cm, "metadata", "resourceVersion"));
    cJSON_Delete(cm);
    return true;
}

static cJSON *list_events(struct e2e *t)
{
    char *path = e2e_path(&(struct kube_ref){.group = "events.k8s.io", .version = "v1",
                                             .ns = t->ns, .resource = "events"});
    cJSON *list = NULL;
    if (kube_list(t->c, path, NULL, &list, &t->err) != TM_OK)
        fprintf(stderr, "list events: %s\n", t->err.msg);
    free(path);
    return list;
}

static int series_count(const cJSON *ev)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(ev, "series");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "count");
    return cJSON_IsNumber(c) ? c->valueint : 0;
}

TM_TEST(event_is_created_and_visible_with_kubectl_get_events)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-ev"));
    struct target tg;
    TM_ASSERT(make_target(&t, "orders", &tg));
    struct kube_eventer *ev = kube_eventer_new(NULL, "test-instance", &t.err);
    TM_ASSERT(ev);
    struct kube_event e = {
        .regarding = {.api_version = "v1", .kind = "ConfigMap", .ns = t.ns, .name = "orders",
                      .uid = tg.uid, .resource_version = tg.rv},
        .type = "Normal", .reason = "SchemaApplied", .action = "Apply",
        .note = "applied 3 changesets up to tag v1.1.0"};
    TM_ASSERT_INT(kube_event_emit(ev, t.c, &e, e2e_now_ms(), &t.err), TM_OK);
    char args[256];
    snprintf(args, sizeof(args), "get events -n %s", t.ns);
    char *out = e2e_kubectl(args);
    TM_EXPECT_CONTAINS(out, "SchemaApplied");
    TM_EXPECT_CONTAINS(out, "configmap/orders");
    TM_EXPECT_CONTAINS(out, "applied 3 changesets up to tag v1.1.0");
    free(out);
    cJSON *list = list_events(&t);
    cJSON *items = cJSON_GetObjectItem(list, "items");
    TM_ASSERT_INT(cJSON_GetArraySize(items), 1);
    cJSON *it = cJSON_GetArrayItem(items, 0);
    TM_EXPECT_STR(e2e_str(it, "reportingController", NULL), "tidemark.dev/controller");
    TM_EXPECT_STR(e2e_str(it, "reportingInstance", NULL), "test-instance");
    TM_EXPECT_STR(e2e_str(it, "action", NULL), "Apply");
    TM_EXPECT_STR(e2e_str(it, "type", NULL), "Normal");
    TM_EXPECT_STR(e2e_str(it, "regarding", "uid"), tg.uid);
    TM_EXPECT_STR(e2e_str(it, "regarding", "kind"), "ConfigMap");
    TM_EXPECT(e2e_str(it, "eventTime", NULL) != NULL);
    TM_EXPECT_INT(series_count(it), 0);
    cJSON_Delete(list);
    kube_eventer_free(ev);
    e2e_teardown(&t);
}

TM_TEST(event_repeat_within_ten_minutes_becomes_a_series_count)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-series"));
    struct target tg;
    TM_ASSERT(make_target(&t, "orders", &tg));
    struct kube_eventer *ev = kube_eventer_new(NULL, "test-instance", &t.err);
    TM_ASSERT(ev);
    struct kube_event e = {
        .regarding = {.api_version = "v1", .kind = "ConfigMap", .ns = t.ns, .name = "orders",
                      .uid = tg.uid},
        .type = "Warning", .reason = "ConnectFailed", .action = "Connect",
        .note = "connection refused"};
    int64_t now = e2e_now_ms();
    TM_ASSERT_INT(kube_event_emit(ev, t.c, &e, now, &t.err), TM_OK);
    TM_ASSERT_INT(kube_event_emit(ev, t.c, &e, now + 1000, &t.err), TM_OK);
    TM_ASSERT_INT(kube_event_emit(ev, t.c, &e, now + 2000, &t.err), TM_OK);
    cJSON *list = list_events(&t);
    cJSON *items = cJSON_GetObjectItem(list, "items");
    TM_ASSERT_INT(cJSON_GetArraySize(items), 1);
    cJSON *it = cJSON_GetArrayItem(items, 0);
    TM_EXPECT_INT(series_count(it), 3);
    TM_EXPECT(e2e_str(it, "series", "lastObservedTime") != NULL);
    cJSON_Delete(list);
    /* a different note is a different event */
    e.note = "connection timed out";
    TM_ASSERT_INT(kube_event_emit(ev, t.c, &e, now + 3000, &t.err), TM_OK);
    /* the same as the first, after the 10-minute window: a new Event */
    e.note = "connection refused";
    TM_ASSERT_INT(kube_event_emit(ev, t.c, &e, now + 11 * 60 * 1000, &t.err), TM_OK);
    list = list_events(&t);
    TM_EXPECT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 3);
    cJSON_Delete(list);
    char args[256];
    snprintf(args, sizeof(args), "get events -n %s -o jsonpath={.items[*].series.count}", t.ns);
    char *out = e2e_kubectl(args);
    TM_EXPECT_CONTAINS(out, "3"); /* kubectl's core/v1 view shows the series count */
    free(out);
    kube_eventer_free(ev);
    e2e_teardown(&t);
}

TM_TEST(event_series_survives_the_event_being_deleted)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-evdel"));
    struct target tg;
    TM_ASSERT(make_target(&t, "orders", &tg));
    struct kube_eventer *ev = kube_eventer_new(NULL, "test-instance", &t.err);
    TM_ASSERT(ev);
    struct kube_event e = {
        .regarding = {.api_version = "v1", .kind = "ConfigMap", .ns = t.ns, .name = "orders",
                      .uid = tg.uid},
        .type = "Normal", .reason = "Synced", .action = "Sync", .note = "ok"};
    int64_t now = e2e_now_ms();
    TM_ASSERT_INT(kube_event_emit(ev, t.c, &e, now, &t.err), TM_OK);
    cJSON *list = list_events(&t);
    const char *name = e2e_str(cJSON_GetArrayItem(cJSON_GetObjectItem(list, "items"), 0),
                               "metadata", "name");
    TM_ASSERT(name);
    char *path = e2e_path(&(struct kube_ref){.group = "events.k8s.io", .version = "v1",
                                             .ns = t.ns, .resource = "events", .name = name});
    TM_ASSERT_INT(kube_delete(t.c, path, NULL, NULL, &t.err), TM_OK);
    cJSON_Delete(list);
    /* the repeat finds its Event gone (404) and creates a fresh one */
    TM_ASSERT_INT(kube_event_emit(ev, t.c, &e, now + 1000, &t.err), TM_OK);
    list = list_events(&t);
    TM_EXPECT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), 1);
    cJSON_Delete(list);
    free(path);
    kube_eventer_free(ev);
    e2e_teardown(&t);
}

TM_TEST(event_note_is_cut_to_one_kilobyte_on_a_character_boundary)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-evnote"));
    struct target tg;
    TM_ASSERT(make_target(&t, "orders", &tg));
    struct kube_eventer *ev = kube_eventer_new(NULL, NULL, &t.err);
    TM_ASSERT(ev);
    /* 700 x "é" (2 bytes each) = 1400 bytes; 1024 is mid-character after 1023 */
    char note[1500];
    size_t n = 0;
    note[n++] = 'x';
    for (int i = 0; i < 700; i++) {
        note[n++] = (char)0xc3;
        note[n++] = (char)0xa9;
    }
    note[n] = '\0';
    struct kube_event e = {
        .regarding = {.api_version = "v1", .kind = "ConfigMap", .ns = t.ns, .name = "orders",
                      .uid = tg.uid},
        .type = "Warning", .reason = "Long", .action = "Apply", .note = note};
    TM_ASSERT_INT(kube_event_emit(ev, t.c, &e, e2e_now_ms(), &t.err), TM_OK);
    cJSON *list = list_events(&t);
    const char *got = e2e_str(cJSON_GetArrayItem(cJSON_GetObjectItem(list, "items"), 0), "note",
                              NULL);
    TM_ASSERT(got);
    TM_EXPECT_INT(strlen(got), 1023);
    TM_EXPECT(memcmp(got, note, 1023) == 0);
    cJSON_Delete(list);
    /* bad input is refused before any request */
    e.type = "Info";
    TM_EXPECT_INT(kube_event_emit(ev, t.c, &e, e2e_now_ms(), &t.err), TM_E_INVAL);
    kube_eventer_free(ev);
    e2e_teardown(&t);
}

struct failures {
    int n;
    char reason[64];
};

static void count_failure(void *ctx, const struct kube_event *e, const struct tm_err *err)
{
    struct failures *f = ctx; /* one sender thread: no lock needed while it runs */
    f->n++;
    snprintf(f->reason, sizeof(f->reason), "%s", e->reason);
    (void)err;
}

TM_TEST(recorded_events_are_sent_by_the_sender_before_flush_returns)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-evsend"));
    struct target tg;
    TM_ASSERT(make_target(&t, "orders", &tg));
    struct kube_eventer *ev = kube_eventer_new(NULL, "test-instance", &t.err);
    TM_ASSERT(ev);
    struct failures fails = {0};
    TM_ASSERT_INT(kube_eventer_start(ev, t.cfg, 64, count_failure, &fails, &t.err), TM_OK);
    int64_t now = e2e_now_ms();
    char note[64];
    /* 12 distinct Events, then the first one twice more: a series of 3 */
    for (int i = 0; i < 12; i++) {
        snprintf(note, sizeof(note), "changeset %d EXECUTED", i);
        struct kube_event e = {
            .regarding = {.api_version = "v1", .kind = "ConfigMap", .ns = t.ns,
                          .name = "orders", .uid = tg.uid},
            .type = "Normal", .reason = "ChangeSetApplied", .action = "Apply", .note = note};
        TM_EXPECT_INT(kube_event_record(ev, &e, now + i), KUBE_EVENT_QUEUED);
    }
    snprintf(note, sizeof(note), "changeset %d EXECUTED", 0);
    struct kube_event rep = {
        .regarding = {.api_version = "v1", .kind = "ConfigMap", .ns = t.ns, .name = "orders",
                      .uid = tg.uid},
        .type = "Normal", .reason = "ChangeSetApplied", .action = "Apply", .note = note};
    TM_EXPECT_INT(kube_event_record(ev, &rep, now + 100), KUBE_EVENT_QUEUED);
    TM_EXPECT_INT(kube_event_record(ev, &rep, now + 200), KUBE_EVENT_QUEUED);
    /* an Event the API refuses goes to on_failed, not to the caller */
    struct kube_event bad = rep;
    bad.type = "Info";
    bad.reason = "BadType";
    TM_EXPECT_INT(kube_event_record(ev, &bad, now + 300), KUBE_EVENT_QUEUED);
    TM_EXPECT_INT((int)kube_eventer_flush(ev, 30000), 0);
    cJSON *list = list_events(&t);
    cJSON *items = cJSON_GetObjectItem(list, "items");
    TM_EXPECT_INT(cJSON_GetArraySize(items), 12);
    int series3 = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, items) series3 += series_count(it) == 3;
    TM_EXPECT_INT(series3, 1);
    cJSON_Delete(list);
    TM_EXPECT_INT(fails.n, 1);
    TM_EXPECT_STR(fails.reason, "BadType");
    TM_EXPECT_INT((int)kube_eventer_stats(ev).failed, 1);
    TM_EXPECT_INT((int)kube_eventer_stats(ev).dropped, 0);
    /* recorded and not flushed: free stops the sender without waiting for the queue */
    TM_EXPECT_INT(kube_event_record(ev, &rep, now + 400), KUBE_EVENT_QUEUED);
    kube_eventer_free(ev);
    e2e_teardown(&t);
}

TM_TEST_MAIN()
