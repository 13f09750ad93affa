/* E2E tests of the kube client (controller/kube/client.c, config.c, lease.c)
 * against the real kube-apiserver of hack/controlplane.sh: TLS verified
 * against the kubeconfig's CA, CRUD, paged lists, patches, server-side
 * apply, the status subresource of a CR, API errors, conflict retries,
 * request counting and leases.  Each test works in its own namespace. */
#include "../tm_test.h"

#include <pthread.h>

#include "test_kube_e2e.h"

#include "kube/kube_int.h"

TM_TEST(client_talks_tls_verified_against_the_kubeconfig_ca)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-tls"));
    TM_EXPECT(!kube_config_insecure(t.cfg));
    cJSON *v = NULL;
    TM_EXPECT_INT(kube_get(t.c, "/version", &v, &t.err), TM_OK);
    TM_EXPECT(e2e_str(v, "gitVersion", NULL) != NULL);
    cJSON_Delete(v);

    /* the same server with some other CA must fail verification */
    char dir[] = "/tmp/tm-kube-tls-XXXXXX";
    TM_ASSERT(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other-ca "
             "-keyout %s/other.key -out %s/other.crt -days 1 >/dev/null 2>&1", dir, dir);
    TM_ASSERT(system(cmd) == 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/config", dir);
    FILE *f = fopen(path, "w");
    TM_ASSERT(f);
    fprintf(f,
            "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n"
            "clusters:\n- name: c\n  cluster:\n    server: %s\n"
            "    certificate-authority: other.crt\n"
            "users:\n- name: u\n  user: {token: not-the-real-one}\n",
            kube_config_server(t.cfg));
    fclose(f);
    struct tm_err err;
    struct kube_config *other = kube_config_from_file(path, NULL, &err);
    TM_ASSERT(other != NULL);
    struct kube_client *oc = kube_client_new(other, NULL, &err);
    TM_ASSERT(oc != NULL);
    enum tm_code rc = kube_get(oc, "/version", &v, &err);
    TM_EXPECT_INT(rc, TM_E_IO);
    TM_EXPECT_INT(err.retry, TM_RETRY_TRANSIENT);
    TM_EXPECT_CONTAINS(err.msg, "get /version: tls:");
    fprintf(stderr, "(expected) %s\n", err.msg);
    TM_EXPECT_NOT_CONTAINS(err.msg, "not-the-real-one");
    kube_client_free(oc);
    kube_config_free(other);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    TM_EXPECT(system(cmd) == 0);
    e2e_teardown(&t);
}

TM_TEST(client_reuses_one_connection_across_requests)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-keepalive"));
    long before = kube_int_client_connects(t.c);
    TM_EXPECT(before >= 1);
    for (int i = 0; i < 20; i++) {
        cJSON *v = NULL;
        TM_ASSERT_INT(kube_get(t.c, "/version", &v, &t.err), TM_OK);
        cJSON_Delete(v);
        TM_ASSERT_INT(e2e_make_configmap(&t, i % 2 ? "odd" : "even", "x", NULL, NULL),
                      i < 2 ? TM_OK : TM_E_CONFLICT); /* errors keep the connection too */
    }
    TM_EXPECT_INT(kube_int_client_connects(t.c), before);
    e2e_teardown(&t);
}

TM_TEST(client_wrong_token_is_an_auth_error)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-auth"));
    /* rebuild the harness kubeconfig with a bad token: same CA, same server */
    char *cfgtext = e2e_kubectl("config view --raw --minify -o json");
    TM_ASSERT(cfgtext);
    cJSON *kc = cJSON_Parse(cfgtext);
    free(cfgtext);
    TM_ASSERT(kc);
    cJSON *users = cJSON_GetObjectItem(kc, "users");
    cJSON *user = cJSON_GetObjectItem(cJSON_GetArrayItem(users, 0), "user");
    cJSON_ReplaceItemInObject(user, "token", cJSON_CreateString("wrong-token"));
    char *json = cJSON_Print(kc); /* JSON is YAML */
    cJSON_Delete(kc);
    struct tm_err err;
    struct kube_config *bad = kube_config_from_kubeconfig(json, strlen(json), "bad", NULL, NULL,
                                                          &err);
    cJSON_free(json);
    TM_ASSERT(bad != NULL);
    struct kube_client *bc = kube_client_new(bad, NULL, &err);
    cJSON *out = NULL;
    TM_EXPECT_INT(kube_get(bc, "/api/v1/namespaces", &out, &err), TM_E_AUTH);
    TM_EXPECT_INT(err.http_status, 401);
    TM_EXPECT_INT(err.retry, TM_RETRY_TERMINAL);
    TM_EXPECT_CONTAINS(err.msg, "401 Unauthorized");
    TM_EXPECT_NOT_CONTAINS(err.msg, "wrong-token");
    kube_client_free(bc);
    kube_config_free(bad);
    e2e_teardown(&t);
}

TM_TEST(configmap_create_get_update_delete_round_trip)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-crud"));
    cJSON *created = NULL;
    TM_ASSERT_INT(e2e_make_configmap(&t, "cm1", "v1", NULL, &created), TM_OK);
    TM_EXPECT_STR(e2e_str(created, "data", "k"), "v1");
    char *path = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                             .resource = "configmaps", .name = "cm1"});
    cJSON *got = NULL;
    TM_ASSERT_INT(kube_get(t.c, path, &got, &t.err), TM_OK);
    TM_EXPECT_STR(e2e_str(got, "metadata", "uid"), e2e_str(created, "metadata", "uid"));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(got, "data"), "k", cJSON_CreateString("v2"));
    cJSON *updated = NULL;
    TM_ASSERT_INT(kube_update(t.c, path, got, &updated, &t.err), TM_OK);
    TM_EXPECT_STR(e2e_str(updated, "data", "k"), "v2");
    TM_EXPECT(strcmp(e2e_str(updated, "metadata", "resourceVersion"),
                     e2e_str(created, "metadata", "resourceVersion")) != 0);
    TM_EXPECT_INT(kube_delete(t.c, path, "Background", NULL, &t.err), TM_OK);
    cJSON *gone = NULL;
    TM_EXPECT_INT(kube_get(t.c, path, &gone, &t.err), TM_E_NOTFOUND);
    TM_EXPECT(gone == NULL);
    cJSON_Delete(created);
    cJSON_Delete(got);
    cJSON_Delete(updated);
    free(path);
    e2e_teardown(&t);
}

struct counts {
    pthread_mutex_t mu;
    int list_200, get_404, total;
};

static void count_hook(void *ctx, const char *verb, int code)
{
    struct counts *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->total++;
    if (strcmp(verb, "list") == 0 && code == 200)
        c->list_200++;
    if (strcmp(verb, "get") == 0 && code == 404)
        c->get_404++;
    pthread_mutex_unlock(&c->mu);
}

TM_TEST(list_follows_continue_across_pages_and_counts_requests)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-list"));
    struct counts counts = {.mu = PTHREAD_MUTEX_INITIALIZER};
    kube_config_set_request_hook(t.cfg, count_hook, &counts);
    enum { N = 23 };
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "item-%02d", i);
        TM_ASSERT_INT(e2e_make_configmap(&t, name, "x", "{\"set\":\"paged\"}", NULL), TM_OK);
    }
    TM_ASSERT_INT(e2e_make_configmap(&t, "other", "x", "{\"set\":\"other\"}", NULL), TM_OK);
    char *path = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                             .resource = "configmaps"});
    struct kube_list_opts o = {.label_selector = "set=paged", .limit = 5};
    cJSON *list = NULL;
    int before = counts.list_200;
    TM_ASSERT_INT(kube_list(t.c, path, &o, &list, &t.err), TM_OK);
    TM_EXPECT_INT(counts.list_200 - before, 5); /* 23 items, 5 per page */
    TM_EXPECT_INT(cJSON_GetArraySize(cJSON_GetObjectItem(list, "items")), N);
    TM_EXPECT(e2e_str(list, "metadata", "resourceVersion") != NULL);
    TM_EXPECT(e2e_str(list, "metadata", "continue") == NULL);
    /* every item once, in name order */
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(list, "items"))
    {
        char want[32];
        snprintf(want, sizeof(want), "item-%02d", i++);
        TM_EXPECT_STR(e2e_str(it, "metadata", "name"), want);
    }
    cJSON_Delete(list);
    /* counting also sees errors by code */
    cJSON *x = NULL;
    char *missing = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                                .resource = "configmaps", .name = "nope"});
    TM_EXPECT_INT(kube_get(t.c, missing, &x, &t.err), TM_E_NOTFOUND);
    TM_EXPECT_INT(counts.get_404, 1);
    free(missing);
    free(path);
    kube_config_set_request_hook(t.cfg, NULL, NULL);
    e2e_teardown(&t);
}

TM_TEST(merge_patch_and_json_patch_change_the_object)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-patch"));
    TM_ASSERT_INT(e2e_make_configmap(&t, "p", "v1", NULL, NULL), TM_OK);
    char *path = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                             .resource = "configmaps", .name = "p"});
    cJSON *merge = cJSON_Parse("{\"data\":{\"k\":null,\"added\":\"yes\"},"
                               "\"metadata\":{\"labels\":{\"patched\":\"merge\"}}}");
    cJSON *out = NULL;
    TM_ASSERT_INT(kube_patch(t.c, path, KUBE_PATCH_MERGE, merge, &out, &t.err), TM_OK);
    TM_EXPECT(e2e_str(out, "data", "k") == NULL);
    TM_EXPECT_STR(e2e_str(out, "data", "added"), "yes");
    cJSON_Delete(out);
    cJSON *jp = cJSON_Parse("[{\"op\":\"test\",\"path\":\"/data/added\",\"value\":\"yes\"},"
                            "{\"op\":\"replace\",\"path\":\"/data/added\",\"value\":\"json\"},"
                            "{\"op\":\"add\",\"path\":\"/data/n\",\"value\":\"2\"}]");
    TM_ASSERT_INT(kube_patch(t.c, path, KUBE_PATCH_JSON, jp, &out, &t.err), TM_OK);
    TM_EXPECT_STR(e2e_str(out, "data", "added"), "json");
    TM_EXPECT_STR(e2e_str(out, "data", "n"), "2");
    cJSON_Delete(out);
    /* a failing JSON patch test op is refused by the server (422) and
     * leaves the object unchanged */
    cJSON *bad = cJSON_Parse("[{\"op\":\"test\",\"path\":\"/data/added\",\"value\":\"nope\"},"
                             "{\"op\":\"remove\",\"path\":\"/data/n\"}]");
    TM_EXPECT_INT(kube_patch(t.c, path, KUBE_PATCH_JSON, bad, &out, &t.err), TM_E_INVAL);
    TM_EXPECT_INT(t.err.http_status, 422);
    TM_ASSERT_INT(kube_get(t.c, path, &out, &t.err), TM_OK);
    TM_EXPECT_STR(e2e_str(out, "data", "n"), "2");
    cJSON_Delete(out);
    cJSON_Delete(bad);
    cJSON_Delete(jp);
    cJSON_Delete(merge);
    free(path);
    e2e_teardown(&t);
}

TM_TEST(server_side_apply_creates_then_updates_as_tidemark)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-ssa"));
    char *path = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                             .resource = "configmaps", .name = "applied"});
    cJSON *body = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
                              "{\"name\":\"applied\"},\"data\":{\"a\":\"1\",\"b\":\"2\"}}");
    cJSON *out = NULL;
    TM_ASSERT_INT(kube_apply(t.c, path, body, &out, &t.err), TM_OK);
    TM_EXPECT_STR(e2e_str(out, "data", "a"), "1");
    const cJSON *mf = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"),
                                                             "managedFields"),
                                         0);
    TM_EXPECT_STR(e2e_str(mf, "manager", NULL), "tidemark");
    TM_EXPECT_STR(e2e_str(mf, "operation", NULL), "Apply");
    cJSON_Delete(out);
    /* apply again without b: the field we owned is removed */
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(body, "data"), "b");
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(body, "data"), "a", cJSON_CreateString("10"));
    TM_ASSERT_INT(kube_apply(t.c, path, body, &out, &t.err), TM_OK);
    TM_EXPECT_STR(e2e_str(out, "data", "a"), "10");
    TM_EXPECT(e2e_str(out, "data", "b") == NULL);
    cJSON_Delete(out);
    cJSON_Delete(body);
    free(path);
    e2e_teardown(&t);
}

TM_TEST(status_subresource_update_changes_only_status_of_a_custom_resource)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-status"));
    struct e2e_crd crd;
    memset(&crd, 0, sizeof(crd));
    if (!e2e_crd_create(&t, &crd)) {
        TM_FAIL_("crd not served");
        e2e_crd_delete(&t, &crd);
        e2e_teardown(&t);
        return;
    }
    char *coll = e2e_path(&(struct kube_ref){.group = crd.group, .version = "v1", .ns = t.ns,
                                             .resource = "widgets"});
    char *path = e2e_path(&(struct kube_ref){.group = crd.group, .version = "v1", .ns = t.ns,
                                             .resource = "widgets", .name = "w1"});
    char json[512];
    snprintf(json, sizeof(json), "{\"apiVersion\":\"%s/v1\",\"kind\":\"Widget\",\"metadata\":"
             "{\"name\":\"w1\"},\"spec\":{\"color\":\"teal\"}}", crd.group);
    cJSON *w = cJSON_Parse(json);
    cJSON *created = NULL;
    TM_ASSERT_INT(kube_create(t.c, coll, w, &created, &t.err), TM_OK);
    const cJSON *gen0 = cJSON_GetObjectItem(cJSON_GetObjectItem(created, "metadata"), "generation");
    /* PUT /status with a changed spec and a status: only status sticks */
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(created, "spec"), "color",
                              cJSON_CreateString("red"));
    cJSON_AddItemToObject(created, "status", cJSON_Parse("{\"phase\":\"Ready\"}"));
    cJSON *out = NULL;
    TM_ASSERT_INT(kube_update_status(t.c, path, created, &out, &t.err), TM_OK);
    TM_EXPECT_STR(e2e_str(out, "status", "phase"), "Ready");
    TM_EXPECT_STR(e2e_str(out, "spec", "color"), "teal");
    const cJSON *gen1 = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "metadata"), "generation");
    TM_EXPECT(cJSON_IsNumber(gen0) && cJSON_IsNumber(gen1) &&
              gen0->valuedouble == gen1->valuedouble);
    cJSON_Delete(out);
    /* merge-patch /status */
    cJSON *sp = cJSON_Parse("{\"status\":{\"phase\":\"Applying\",\"n\":3}}");
    TM_ASSERT_INT(kube_patch_status(t.c, path, KUBE_PATCH_MERGE, sp, &out, &t.err), TM_OK);
    TM_EXPECT_STR(e2e_str(out, "status", "phase"), "Applying");
    cJSON_Delete(out);
    /* a merge patch of the main resource cannot change status */
    TM_ASSERT_INT(kube_patch(t.c, path, KUBE_PATCH_MERGE, sp, &out, &t.err), TM_OK);
    cJSON_Delete(out);
    cJSON *sp2 = cJSON_Parse("{\"status\":{\"phase\":\"Sneaky\"}}");
    TM_ASSERT_INT(kube_patch(t.c, path, KUBE_PATCH_MERGE, sp2, &out, &t.err), TM_OK);
    TM_EXPECT_STR(e2e_str(out, "status", "phase"), "Applying");
    cJSON_Delete(out);
    cJSON_Delete(sp2);
    cJSON_Delete(sp);
    cJSON_Delete(created);
    cJSON_Delete(w);
    free(coll);
    free(path);
    e2e_crd_delete(&t, &crd);
    e2e_teardown(&t);
}

TM_TEST(api_errors_carry_the_reason_and_message)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-errs"));
    char reason[64];
    /* 404 */
    char *path = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                             .resource = "configmaps", .name = "ghost"});
    cJSON *out = NULL;
    TM_EXPECT_INT(kube_get(t.c, path, &out, &t.err), TM_E_NOTFOUND);
    TM_EXPECT_INT(t.err.http_status, 404);
    kube_err_reason(&t.err, reason, sizeof(reason));
    TM_EXPECT_STR(reason, "NotFound");
    TM_EXPECT_CONTAINS(t.err.msg, "configmaps \"ghost\" not found");
    TM_EXPECT_CONTAINS(t.err.msg, "get /api/v1/namespaces/");
    /* 409 AlreadyExists */
    TM_ASSERT_INT(e2e_make_configmap(&t, "twice", "1", NULL, NULL), TM_OK);
    TM_EXPECT_INT(e2e_make_configmap(&t, "twice", "2", NULL, NULL), TM_E_CONFLICT);
    kube_err_reason(&t.err, reason, sizeof(reason));
    TM_EXPECT_STR(reason, "AlreadyExists");
    TM_EXPECT_CONTAINS(t.err.msg, "already exists");
    /* 422 Invalid */
    TM_EXPECT_INT(e2e_make_configmap(&t, "Not_A_DNS_Name", "1", NULL, NULL), TM_E_INVAL);
    TM_EXPECT_INT(t.err.http_status, 422);
    TM_EXPECT_INT(t.err.retry, TM_RETRY_TERMINAL);
    kube_err_reason(&t.err, reason, sizeof(reason));
    TM_EXPECT_STR(reason, "Invalid");
    TM_EXPECT_CONTAINS(t.err.msg, "Not_A_DNS_Name");
    /* 409 Conflict: PUT with a stale resourceVersion */
    char *tp = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                           .resource = "configmaps", .name = "twice"});
    cJSON *a = NULL, *b = NULL;
    TM_ASSERT_INT(kube_get(t.c, tp, &a, &t.err), TM_OK);
    TM_ASSERT_INT(kube_get(t.c, tp, &b, &t.err), TM_OK);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(a, "data"), "k", cJSON_CreateString("a"));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(b, "data"), "k", cJSON_CreateString("b"));
    TM_ASSERT_INT(kube_update(t.c, tp, a, NULL, &t.err), TM_OK);
    TM_EXPECT_INT(kube_update(t.c, tp, b, NULL, &t.err), TM_E_CONFLICT);
    kube_err_reason(&t.err, reason, sizeof(reason));
    TM_EXPECT_STR(reason, "Conflict");
    TM_EXPECT_CONTAINS(t.err.msg, "the object has been modified");
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(tp);
    free(path);
    e2e_teardown(&t);
}

struct race {
    struct kube_client *other; /* writes between our read and our write */
    const char *path;
    int calls;
};

/* Adds data.mine; on the first call, another client updates the object
 * first, so our PUT (with the RV we read) must conflict. */
static enum tm_code mutate_race(cJSON *obj, void *ctx, bool *changed, struct tm_err *err)
{
    struct race *r = ctx;
    r->calls++;
    if (r->calls == 1) {
        cJSON *patch = cJSON_Parse("{\"data\":{\"theirs\":\"1\"}}");
        enum tm_code rc = kube_patch(r->other, r->path, KUBE_PATCH_MERGE, patch, NULL, err);
        cJSON_Delete(patch);
        if (rc != TM_OK)
            return rc;
    }
    cJSON *data = cJSON_GetObjectItem(obj, "data");
    cJSON_DeleteItemFromObject(data, "mine");
    cJSON_AddStringToObject(data, "mine", "1");
    *changed = true;
    return TM_OK;
}

TM_TEST(update_with_retry_reapplies_the_mutation_on_a_fresh_read_after_409)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-retry"));
    TM_ASSERT_INT(e2e_make_configmap(&t, "shared", "0", NULL, NULL), TM_OK);
    char *path = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                             .resource = "configmaps", .name = "shared"});
    struct tm_err err;
    struct race r = {.other = kube_client_new(t.cfg, NULL, &err), .path = path};
    TM_ASSERT(r.other);
    cJSON *out = NULL;
    TM_ASSERT_INT(kube_update_with_retry(t.c, path, false, mutate_race, &r, &out, &t.err), TM_OK);
    TM_EXPECT_INT(r.calls, 2);
    TM_EXPECT_STR(e2e_str(out, "data", "mine"), "1");
    TM_EXPECT_STR(e2e_str(out, "data", "theirs"), "1"); /* the other write survived */
    cJSON_Delete(out);
    kube_client_free(r.other);
    free(path);
    e2e_teardown(&t);
}

static enum tm_code mutate_noop(cJSON *obj, void *ctx, bool *changed, struct tm_err *err)
{
    (*(int *)ctx)++;
    *changed = false;
    return TM_OK;
}

TM_TEST(update_with_retry_skips_the_write_when_nothing_changed)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-noop"));
    cJSON *created = NULL;
    TM_ASSERT_INT(e2e_make_configmap(&t, "same", "0", NULL, &created), TM_OK);
    char *path = e2e_path(&(struct kube_ref){.version = "v1", .ns = t.ns,
                                             .resource = "configmaps", .name = "same"});
    int calls = 0;
    cJSON *out = NULL;
    TM_ASSERT_INT(kube_update_with_retry(t.c, path, false, mutate_noop, &calls, &out, &t.err),
                  TM_OK);
    TM_EXPECT_INT(calls, 1);
    TM_EXPECT_STR(e2e_str(out, "metadata", "resourceVersion"),
                  e2e_str(created, "metadata", "resourceVersion"));
    cJSON_Delete(out);
    cJSON_Delete(created);
    free(path);
    e2e_teardown(&t);
}

TM_TEST(lease_create_get_update_and_lost_race_conflict)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-lease"));
    struct kube_lease l;
    memset(&l, 0, sizeof(l));
    snprintf(l.ns, sizeof(l.ns), "%s", t.ns);
    snprintf(l.name, sizeof(l.name), "tidemark-leader");
    TM_EXPECT_INT(kube_lease_get(t.c, l.ns, l.name, &l, &t.err), TM_E_NOTFOUND);
    snprintf(l.holder, sizeof(l.holder), "pod-a");
    l.duration_s = 15;
    l.acquire_us = 1700000000123456LL;
    l.renew_us = 1700000000123456LL;
    struct kube_lease got;
    TM_ASSERT_INT(kube_lease_create(t.c, &l, &got, &t.err), TM_OK);
    TM_EXPECT(got.resource_version[0] != '\0');
    TM_EXPECT_STR(got.holder, "pod-a");
    TM_EXPECT_INT(got.duration_s, 15);
    TM_EXPECT_INT(got.renew_us, 1700000000123456LL);
    /* creating it again loses: AlreadyExists */
    TM_EXPECT_INT(kube_lease_create(t.c, &l, NULL, &t.err), TM_E_CONFLICT);
    struct kube_lease a, b;
    TM_ASSERT_INT(kube_lease_get(t.c, l.ns, l.name, &a, &t.err), TM_OK);
    b = a;
    a.renew_us += 2000000;
    struct kube_lease a2;
    TM_ASSERT_INT(kube_lease_update(t.c, &a, &a2, &t.err), TM_OK);
    TM_EXPECT_INT(a2.renew_us, a.renew_us);
    /* b still has the old resourceVersion: it lost the race */
    snprintf(b.holder, sizeof(b.holder), "pod-b");
    b.transitions = 1;
    TM_EXPECT_INT(kube_lease_update(t.c, &b, NULL, &t.err), TM_E_CONFLICT);
    struct kube_lease now;
    TM_ASSERT_INT(kube_lease_get(t.c, l.ns, l.name, &now, &t.err), TM_OK);
    TM_EXPECT_STR(now.holder, "pod-a");
    TM_EXPECT_INT(now.transitions, 0);
    e2e_teardown(&t);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

struct auth_counts {
    int get_401, get_200;
};

static void auth_hook(void *ctx, const char *verb, int code)
{
    struct auth_counts *a = ctx;
    if (strcmp(verb, "get") == 0 && code == 401)
        a->get_401++;
    if (strcmp(verb, "get") == 0 && code == 200)
        a->get_200++;
}

TM_TEST(in_cluster_config_rereads_a_rotated_token_after_401)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-incluster"));
    /* a service-account directory made from the harness kubeconfig */
    char *cfgtext = e2e_kubectl("config view --raw --minify -o json");
    TM_ASSERT(cfgtext);
    cJSON *kc = cJSON_Parse(cfgtext);
    free(cfgtext);
    TM_ASSERT(kc);
    cJSON *cluster = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(kc, "clusters"), 0),
                                         "cluster");
    cJSON *user = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(kc, "users"), 0),
                                      "user");
    const char *server = e2e_str(cluster, "server", NULL);
    const char *ca_b64 = e2e_str(cluster, "certificate-authority-data", NULL);
    const char *token = e2e_str(user, "token", NULL);
    TM_ASSERT(server && ca_b64 && token && strncmp(server, "https://", 8) == 0);
    char host[128], port[16];
    const char *hp = server + 8;
    const char *colon = strrchr(hp, ':');
    TM_ASSERT(colon);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
    snprintf(port, sizeof(port), "%.*s", (int)strcspn(colon + 1, "/"), colon + 1);
    char dir[] = "/tmp/tm-kube-sa-XXXXXX";
    TM_ASSERT(mkdtemp(dir));
    write_text(dir, "ca.b64", ca_b64);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "base64 -d '%s/ca.b64' > '%s/ca.crt'", dir, dir);
    TM_ASSERT(system(cmd) == 0);
    write_text(dir, "namespace", t.ns);
    write_text(dir, "token", "stale-token-from-before-rotation\n");
    setenv("KUBERNETES_SERVICE_HOST", host, 1);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    struct tm_err err;
    struct kube_config *ic = kube_config_in_cluster(dir, &err);
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    TM_ASSERT(ic != NULL);
    TM_EXPECT_STR(kube_config_namespace(ic), t.ns);
    struct auth_counts counts = {0};
    kube_config_set_request_hook(ic, auth_hook, &counts);
    struct kube_client *c = kube_client_new(ic, NULL, &err);
    TM_ASSERT(c);
    /* the kubelet rotates the token file; our cached copy is now stale */
    write_text(dir, "token", token);
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s", t.ns);
    cJSON *out = NULL;
    TM_EXPECT_INT(kube_get(c, path, &out, &err), TM_OK);
    TM_EXPECT_STR(e2e_str(out, "metadata", "name"), t.ns);
    TM_EXPECT_INT(counts.get_401, 1); /* refused once, re-read, accepted */
    TM_EXPECT_INT(counts.get_200, 1);
    cJSON_Delete(out);
    /* while the cached token works the file is not re-read more than once a minute */
    write_text(dir, "token", "not-yet-read");
    TM_EXPECT_INT(kube_get(c, path, &out, &err), TM_OK);
    TM_EXPECT_INT(counts.get_401, 1);
    TM_EXPECT_INT(counts.get_200, 2);
    cJSON_Delete(out);
    kube_client_free(c);
    kube_config_free(ic);
    cJSON_Delete(kc);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    TM_EXPECT(system(cmd) == 0);
    e2e_teardown(&t);
}

/* A kubeconfig for the harness cluster with tls-server-name set. */
static struct kube_config *config_with_server_name(const char *server_name, struct tm_err *err)
{
    char *cfgtext = e2e_kubectl("config view --raw --minify -o json");
    if (!cfgtext)
        return NULL;
    cJSON *kc = cJSON_Parse(cfgtext);
    free(cfgtext);
    if (!kc)
        return NULL;
    cJSON *cluster = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(kc, "clusters"), 0),
                                         "cluster");
    cJSON_AddStringToObject(cluster, "tls-server-name", server_name);
    char *json = cJSON_Print(kc);
    cJSON_Delete(kc);
    struct kube_config *cfg = kube_config_from_kubeconfig(json, strlen(json), "sni", NULL, NULL,
                                                          err);
    cJSON_free(json);
    return cfg;
}

TM_TEST(tls_server_name_verifies_the_certificate_under_that_name)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-sni"));
    /* the apiserver's certificate names kubernetes.default.svc, which does
     * not resolve here: only connecting to the kubeconfig's address works */
    struct tm_err err;
    struct kube_config *good = config_with_server_name("kubernetes.default.svc", &err);
    TM_ASSERT(good != NULL);
    struct kube_client *c = kube_client_new(good, NULL, &err);
    TM_ASSERT(c);
    cJSON *v = NULL;
    TM_EXPECT_INT(kube_get(c, "/version", &v, &err), TM_OK);
    cJSON_Delete(v);
    kube_client_free(c);
    kube_config_free(good);
    /* a name the certificate does not carry fails verification */
    struct kube_config *bad = config_with_server_name("not-in-the-cert.example", &err);
    TM_ASSERT(bad != NULL);
    c = kube_client_new(bad, NULL, &err);
    TM_ASSERT(c);
    v = NULL;
    TM_EXPECT_INT(kube_get(c, "/version", &v, &err), TM_E_IO);
    TM_EXPECT_CONTAINS(err.msg, "tls:");
    cJSON_Delete(v);
    kube_client_free(c);
    kube_config_free(bad);
    e2e_teardown(&t);
}

/* A kubeconfig for the harness cluster whose user also has the given
 * client-certificate-data and client-key-data (base64 of PEM). */
static struct kube_config *config_with_client_cert(const char *cert_b64, const char *key_b64,
                                                   struct tm_err *err)
{
    char *cfgtext = e2e_kubectl("config view --raw --minify -o json");
    if (!cfgtext)
        return NULL;
    cJSON *kc = cJSON_Parse(cfgtext);
    free(cfgtext);
    if (!kc)
        return NULL;
    cJSON *user = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(kc, "users"), 0),
                                      "user");
    cJSON_AddStringToObject(user, "client-certificate-data", cert_b64);
    cJSON_AddStringToObject(user, "client-key-data", key_b64);
    char *json = cJSON_Print(kc);
    cJSON_Delete(kc);
    struct kube_config *cfg = kube_config_from_kubeconfig(json, strlen(json), "cert", NULL, NULL,
                                                          err);
    cJSON_free(json);
    return cfg;
}

static char *read_b64_of(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "base64 -w0 '%s'", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    struct tm_buf b;
    tm_buf_init(&b, 1 << 16);
    char chunk[1024];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        if (tm_buf_add(&b, chunk, n) != TM_OK)
            break;
    pclose(p);
    return tm_buf_detach(&b, NULL);
}

TM_TEST(client_certificate_data_reaches_tls_from_memory)
{
    struct e2e t;
    TM_ASSERT(e2e_setup(&t, "tmk-cert"));
    char dir[] = "/tmp/tm-kube-cert-XXXXXX";
    TM_ASSERT(mkdtemp(dir));
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=tidemark "
             "-keyout %s/c.key -out %s/c.crt -days 1 >/dev/null 2>&1", dir, dir);
    TM_ASSERT(system(cmd) == 0);
    char p[300];
    snprintf(p, sizeof(p), "%s/c.crt", dir);
    char *cert = read_b64_of(p);
    snprintf(p, sizeof(p), "%s/c.key", dir);
    char *key = read_b64_of(p);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    TM_EXPECT(system(cmd) == 0);
    TM_ASSERT(cert && key && *cert && *key);
    /* a well-formed certificate and key load (the server does not ask for
     * one here: the token still authenticates) */
    struct tm_err err;
    struct kube_config *cfg = config_with_client_cert(cert, key, &err);
    TM_ASSERT(cfg != NULL);
    TM_EXPECT_STR(kube_config_auth_kind(cfg), "token");
    struct kube_client *c = kube_client_new(cfg, NULL, &err);
    cJSON *v = NULL;
    TM_EXPECT_INT(kube_get(c, "/version", &v, &err), TM_OK);
    cJSON_Delete(v);
    kube_client_free(c);
    kube_config_free(cfg);
    /* a key that does not match the certificate is refused by TLS setup:
     * proof that the blobs really reach curl */
    cfg = config_with_client_cert(cert, "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCmdhcmJhZ2UKLS0tLS1FTkQgUFJJVkFURSBLRVktLS0tLQo=", &err);
    TM_ASSERT(cfg != NULL);
    c = kube_client_new(cfg, NULL, &err);
    v = NULL;
    TM_EXPECT_INT(kube_get(c, "/version", &v, &err), TM_E_IO);
    TM_EXPECT_CONTAINS(err.msg, "get /version: tls:");
    fprintf(stderr, "(expected) %s\n", err.msg);
    cJSON_Delete(v);
    kube_client_free(c);
    kube_config_free(cfg);
    free(cert);
    free(key);
    e2e_teardown(&t);
}

TM_TEST_MAIN()
