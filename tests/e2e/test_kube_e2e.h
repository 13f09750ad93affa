/* Helpers for the kube client e2e tests (tests/e2e/test_kube_*.c): a config
 * and client from the harness's KUBECONFIG, a fresh namespace per test,
 * a throw-away CRD, kubectl, and polling to a deadline.  Header-only so
 * each test executable stays one file. */
#ifndef TM_TEST_KUBE_E2E_H
#define TM_TEST_KUBE_E2E_H

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"

struct e2e {
    struct kube_config *cfg;
    struct kube_client *c;
    char ns[64];
    struct tm_err err;
};

static __attribute__((unused)) int64_t e2e_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static __attribute__((unused)) void e2e_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A unique DNS-1123 label with the given prefix. */
static __attribute__((unused)) void e2e_unique(char *out, size_t n, const char *prefix)
{
    static unsigned counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, n, "%s-%x-%x-%lx", prefix, (unsigned)getpid(), ++counter,
             (unsigned long)(ts.tv_nsec / 1000) ^ (unsigned long)ts.tv_sec);
}

static __attribute__((unused)) char *e2e_path(const struct kube_ref *ref)
{
    struct tm_buf b;
    tm_buf_init(&b, 4096);
    struct tm_err err;
    if (kube_path(&b, ref, &err) != TM_OK) {
        fprintf(stderr, "path: %s\n", err.msg);
        return NULL;
    }
    return tm_buf_detach(&b, NULL);
}

/* Loads the harness kubeconfig, makes a client and a fresh namespace. */
static __attribute__((unused)) bool e2e_setup(struct e2e *t, const char *prefix)
{
    memset(t, 0, sizeof(*t));
    if (!tm_test_env("KUBECONFIG"))
        return false;
    t->cfg = kube_config_load(NULL, &t->err);
    if (!t->cfg) {
        fprintf(stderr, "config: %s\n", t->err.msg);
        return false;
    }
    t->c = kube_client_new(t->cfg, NULL, &t->err);
    if (!t->c) {
        fprintf(stderr, "client: %s\n", t->err.msg);
        kube_config_free(t->cfg);
        t->cfg = NULL;
        return false;
    }
    e2e_unique(t->ns, sizeof(t->ns), prefix);
    cJSON *ns = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{}}");
    cJSON_AddStringToObject(cJSON_GetObjectItem(ns, "metadata"), "name", t->ns);
    enum tm_code rc = kube_create(t->c, "/api/v1/namespaces", ns, NULL, &t->err);
    cJSON_Delete(ns);
    if (rc != TM_OK) {
        fprintf(stderr, "create namespace: %s\n", t->err.msg);
        t->ns[0] = '\0';
        kube_client_free(t->c);
        kube_config_free(t->cfg);
        t->c = NULL;
        t->cfg = NULL;
        return false;
    }
    return true;
}

static __attribute__((unused)) void e2e_teardown(struct e2e *t)
{
    if (t->c && t->ns[0]) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s", t->ns);
        struct tm_err err;
        if (kube_delete(t->c, path, "Background", NULL, &err) != TM_OK)
            fprintf(stderr, "delete namespace %s: %s\n", t->ns, err.msg);
    }
    kube_client_free(t->c);
    kube_config_free(t->cfg);
    t->c = NULL;
    t->cfg = NULL;
}

/* Creates ConfigMap name in ns with data {k: v} and optional labels JSON. */
static __attribute__((unused)) enum tm_code e2e_make_configmap(struct e2e *t, const char *name, const char *v,
                                       const char *labels_json, cJSON **out)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cm, "apiVersion", "v1");
    cJSON_AddStringToObject(cm, "kind", "ConfigMap");
    cJSON *md = cJSON_AddObjectToObject(cm, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    if (labels_json)
        cJSON_AddItemToObject(md, "labels", cJSON_Parse(labels_json));
    cJSON *data = cJSON_AddObjectToObject(cm, "data");
    cJSON_AddStringToObject(data, "k", v);
    char *path = e2e_path(&(struct kube_ref){.version = "v1", .ns = t->ns,
                                             .resource = "configmaps"});
    enum tm_code rc = kube_create(t->c, path, cm, out, &t->err);
    free(path);
    cJSON_Delete(cm);
    return rc;
}

static __attribute__((unused)) const char *e2e_str(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Runs kubectl with args (a shell fragment of names we made), returns stdout. */
static __attribute__((unused)) char *e2e_kubectl(const char *args)
{
    const char *bin = getenv("TIDEMARK_K8S_BIN");
    const char *kc = getenv("KUBECONFIG");
    if (!bin || !kc)
        return NULL;
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s/kubectl' --kubeconfig '%s' --request-timeout=15s %s 2>&1",
             bin, kc, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    struct tm_buf b;
    tm_buf_init(&b, 1 << 20);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
        if (tm_buf_add(&b, chunk, n) != TM_OK)
            break;
    }
    pclose(p);
    return tm_buf_detach(&b, NULL);
}

/* A namespaced CRD widgets.<group>/v1 with a status subresource. */
struct e2e_crd {
    char group[96];
    char name[128];
};

static __attribute__((unused)) bool e2e_crd_create(struct e2e *t, struct e2e_crd *crd)
{
    char label[64];
    e2e_unique(label, sizeof(label), "g");
    snprintf(crd->group, sizeof(crd->group), "%s.kube-e2e.tidemark.dev", label);
    snprintf(crd->name, sizeof(crd->name), "widgets.%s", crd->group);
    char json[2048];
    snprintf(json, sizeof(json),
             "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
             "\"metadata\":{\"name\":\"%s\"},\"spec\":{\"group\":\"%s\",\"scope\":\"Namespaced\","
             "\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\","
             "\"listKind\":\"WidgetList\"},\"versions\":[{\"name\":\"v1\",\"served\":true,"
             "\"storage\":true,\"subresources\":{\"status\":{}},\"schema\":{\"openAPIV3Schema\":"
             "{\"type\":\"object\",\"properties\":{\"spec\":{\"type\":\"object\","
             "\"x-kubernetes-preserve-unknown-fields\":true},\"status\":{\"type\":\"object\","
             "\"x-kubernetes-preserve-unknown-fields\":true}}}}}]}}",
             crd->name, crd->group);
    cJSON *body = cJSON_Parse(json);
    enum tm_code rc = kube_create(t->c, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                  body, NULL, &t->err);
    cJSON_Delete(body);
    if (rc != TM_OK) {
        fprintf(stderr, "create crd: %s\n", t->err.msg);
        return false;
    }
    /* poll until the new resource is served (Established + discovery) */
    char *path = e2e_path(&(struct kube_ref){.group = crd->group, .version = "v1", .ns = t->ns,
                                             .resource = "widgets"});
    int64_t deadline = e2e_now_ms() + 60000;
    bool ok = false;
    while (e2e_now_ms() < deadline) {
        cJSON *list = NULL;
        struct tm_err err;
        if (kube_get(t->c, path, &list, &err) == TM_OK) {
            cJSON_Delete(list);
            ok = true;
            break;
        }
        e2e_sleep_ms(200);
    }
    free(path);
    if (!ok)
        fprintf(stderr, "crd %s not served within 60 s\n", crd->name);
    return ok;
}

static __attribute__((unused)) void e2e_crd_delete(struct e2e *t, const struct e2e_crd *crd)
{
    if (!crd->name[0] || !t->c)
        return;
    char path[256];
    snprintf(path, sizeof(path), "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s",
             crd->name);
    struct tm_err err;
    if (kube_delete(t->c, path, NULL, NULL, &err) != TM_OK)
        fprintf(stderr, "delete crd: %s\n", err.msg);
}

#endif
