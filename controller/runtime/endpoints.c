/* The manager's HTTP endpoints (see endpoints.h). */
#include "runtime/endpoints.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "http/http.h"

struct endpoints {
    struct http_server *http;
    struct metrics *metrics;
    struct endpoints_probes probes;
    int metrics_port, health_port;
};

static enum tm_code answer_readyz(struct endpoints *ep, struct http_response *r)
{
    r->status = ep->probes.readyz(ep->probes.ctx);
    const char *why = "ok\n";
    if (r->status != 200)
        why = "informer caches not synced\n";
    else if (ep->probes.standby(ep->probes.ctx))
        why = "ok (standby: waiting for the leader lease)\n";
    return tm_buf_adds(&r->body, why);
}

static void handle(void *ctx, const char *method, const char *path, struct http_response *r)
{
    struct endpoints *ep = ctx;
    enum tm_code rc = TM_OK;
    (void)method;
    if (strcmp(path, "/metrics") == 0) {
        if (!ep->metrics) {
            r->status = 404;
            rc = tm_buf_adds(&r->body, "no metrics\n");
        } else {
            r->content_type = METRICS_CONTENT_TYPE;
            rc = metrics_write(ep->metrics, &r->body);
        }
    } else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/livez") == 0) {
        r->status = ep->probes.healthz(ep->probes.ctx);
        rc = tm_buf_adds(&r->body, r->status == 200 ? "ok\n" : "supervision loop stalled\n");
    } else if (strcmp(path, "/readyz") == 0) {
        rc = answer_readyz(ep, r);
    } else {
        r->status = 404;
        rc = tm_buf_adds(&r->body, "not found\n");
    }
    if (rc != TM_OK) {
        tm_buf_release(&r->body);
        r->status = 500;
        r->content_type = NULL;
    }
}

static bool wanted(const char *addr)
{
    return addr && *addr && strcmp(addr, "0") != 0;
}

/* Binds the listeners of ep.  Errors name the flag. */
static enum tm_code listen_all(struct endpoints *ep, const char *ma, const char *ha,
                               struct tm_err *err)
{
    bool want_m = wanted(ma), want_h = wanted(ha);
    int idx = 0;
    if (want_m) {
        if (http_server_listen(ep->http, ma, err) != TM_OK)
            return tm_err_prefix(err, "--metrics-addr");
        ep->metrics_port = http_server_port(ep->http, idx++);
    }
    /* one listener when both name the same fixed address; ":0" means two ports */
    size_t hl = strlen(ha ? ha : "");
    bool same = want_m && want_h && strcmp(ma, ha) == 0 &&
                !(hl >= 2 && strcmp(ha + hl - 2, ":0") == 0);
    if (want_h && !same) {
        if (http_server_listen(ep->http, ha, err) != TM_OK)
            return tm_err_prefix(err, "--health-addr");
        ep->health_port = http_server_port(ep->http, idx++);
    } else if (want_h) {
        ep->health_port = ep->metrics_port;
    }
    return TM_OK;
}

enum tm_code endpoints_start(const char *metrics_addr, const char *health_addr,
                             struct metrics *metrics, const struct endpoints_probes *probes,
                             struct tm_log *log, struct endpoints **out, struct tm_err *err)
{
    *out = NULL;
    if (!wanted(metrics_addr) && !wanted(health_addr))
        return TM_OK;
    struct endpoints *ep = calloc(1, sizeof(*ep));
    if (!ep)
        return tm_err_set(err, TM_E_NOMEM, "http endpoints: out of memory");
    ep->metrics = metrics;
    ep->probes = *probes;
    enum tm_code rc = TM_E_NOMEM;
    ep->http = http_server_new(handle, ep, err);
    if (ep->http) {
        rc = listen_all(ep, metrics_addr, health_addr, err);
        if (rc == TM_OK)
            rc = http_server_start(ep->http, err);
    }
    if (rc != TM_OK) {
        endpoints_free(ep);
        return err && err->code != TM_OK ? err->code : rc;
    }
    log_info(log, "http listening", LF_I("metrics_port", ep->metrics_port),
             LF_I("health_port", ep->health_port));
    *out = ep;
    return TM_OK;
}

void endpoints_free(struct endpoints *ep)
{
    if (!ep)
        return;
    http_server_free(ep->http);
    free(ep);
}

int endpoints_metrics_port(const struct endpoints *ep)
{
    return ep ? ep->metrics_port : 0;
}

int endpoints_health_port(const struct endpoints *ep)
{
    return ep ? ep->health_port : 0;
}
