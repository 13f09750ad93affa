/* Test helper for the runtime e2e tests (tests/e2e/test_informer.c,
 * test_mgr.c): a kube config and client from the harness's KUBECONFIG, a
 * logger, a metrics registry, a tm_proc wired to them, and a fresh
 * namespace deleted again by env_release.  Header-only; include after
 * tm_test.h. */
#ifndef TM_TESTS_RUNTIME_E2E_ENV_H
#define TM_TESTS_RUNTIME_E2E_ENV_H

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/kube.h"
#include "log/log.h"
#include "runtime/metrics.h"
#include "runtime/proc.h"

struct env {
    struct kube_config *cfg;
    struct kube_client *c;
    struct tm_log log;
    struct metrics *metrics;
    struct tm_proc proc;
    char ns[64];
};

/* Fills e and creates namespace "<prefix>-<nanos>-<pid>"; identity may be NULL.
 * On false, env_release(e) still frees what was made. */
static inline bool env_open(struct env *e, const char *prefix, enum log_level level,
                            const char *identity)
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
    e->metrics = metrics_new(&err);
    if (!e->c || !e->metrics)
        return false;
    log_init(&e->log, stderr, level, true);
    e->proc = (struct tm_proc){.log = &e->log, .clock = tm_clock_monotonic(),
                               .metrics = e->metrics, .kube_config = e->cfg,
                               .identity = identity};
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
    if (rc != TM_OK) {
        fprintf(stderr, "create namespace %s: %s\n", e->ns, err.msg);
        return false;
    }
    return true;
}

static inline void env_release(struct env *e)
{
    struct tm_err err;
    if (e->c && e->ns[0]) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s", e->ns);
        if (kube_delete(e->c, path, "Background", NULL, &err) != TM_OK)
            fprintf(stderr, "delete namespace %s: %s\n", e->ns, err.msg);
    }
    kube_client_free(e->c);
    kube_config_free(e->cfg);
    metrics_free(e->metrics);
    log_release(&e->log);
}

#endif
