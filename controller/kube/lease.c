/* kube leases: typed get/create/update of coordination.k8s.io/v1 Leases (see kube.h).
 *
 * Only the primitives: the election (who may take the lease, when it is
 * expired by the observer's clock) is runtime/'s.  Updates are conditional on
 * resourceVersion, so a lost race is TM_E_CONFLICT, never a silent overwrite.
 * Times go out as MicroTime and come back parsed to µs since the epoch. */
#include "kube/kube_int.h"

#include <stdio.h>
#include <string.h>

#include "common/caps.h"

static enum tm_code lease_path(struct tm_buf *p, const char *ns, const char *name,
                               struct tm_err *err)
{
    struct kube_ref ref = {.group = "coordination.k8s.io", .version = "v1", .ns = ns,
                           .resource = "leases", .name = name};
    return kube_path(p, &ref, err);
}

static void copy_json_str(char *dst, size_t n, const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(dst, n, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static int json_int(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

static int64_t json_time(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    int64_t us = 0;
    if (cJSON_IsString(v) && kube_time_parse(v->valuestring, &us))
        return us;
    return 0;
}

static void lease_from_json(const cJSON *obj, struct kube_lease *out)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    struct kube_lease l;
    memset(&l, 0, sizeof(l));
    copy_json_str(l.ns, sizeof(l.ns), md, "namespace");
    copy_json_str(l.name, sizeof(l.name), md, "name");
    copy_json_str(l.resource_version, sizeof(l.resource_version), md, "resourceVersion");
    copy_json_str(l.holder, sizeof(l.holder), spec, "holderIdentity");
    l.duration_s = json_int(spec, "leaseDurationSeconds");
    l.transitions = json_int(spec, "leaseTransitions");
    l.acquire_us = json_time(spec, "acquireTime");
    l.renew_us = json_time(spec, "renewTime");
    *out = l;
}

static cJSON *lease_to_json(const struct kube_lease *l)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    bool ok = o && md && spec &&
              cJSON_AddStringToObject(o, "apiVersion", "coordination.k8s.io/v1") &&
              cJSON_AddStringToObject(o, "kind", "Lease") &&
              cJSON_AddStringToObject(md, "name", l->name) &&
              cJSON_AddStringToObject(md, "namespace", l->ns);
    if (ok && l->resource_version[0])
        ok = cJSON_AddStringToObject(md, "resourceVersion", l->resource_version) != NULL;
    if (ok && l->holder[0])
        ok = cJSON_AddStringToObject(spec, "holderIdentity", l->holder) != NULL;
    if (ok && l->duration_s > 0)
        ok = cJSON_AddNumberToObject(spec, "leaseDurationSeconds", l->duration_s) != NULL;
    if (ok && l->transitions > 0)
        ok = cJSON_AddNumberToObject(spec, "leaseTransitions", l->transitions) != NULL;
    char t[32];
    if (ok && l->acquire_us) {
        kube_time_micro(l->acquire_us, t);
        ok = cJSON_AddStringToObject(spec, "acquireTime", t) != NULL;
    }
    if (ok && l->renew_us) {
        kube_time_micro(l->renew_us, t);
        ok = cJSON_AddStringToObject(spec, "renewTime", t) != NULL;
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

enum tm_code kube_lease_get(struct kube_client *c, const char *ns, const char *name,
                            struct kube_lease *out, struct tm_err *err)
{
    struct tm_buf p;
    tm_buf_init(&p, TM_CAP_SMALL);
    cJSON *obj = NULL;
    enum tm_code rc = lease_path(&p, ns, name, err);
    if (rc == TM_OK)
        rc = kube_get(c, tm_buf_str(&p), &obj, err);
    if (rc == TM_OK && !obj)
        rc = tm_err_setr(err, TM_E_PARSE, TM_RETRY_TRANSIENT, "get lease %s/%s: empty body", ns,
                         name);
    if (rc == TM_OK)
        lease_from_json(obj, out);
    cJSON_Delete(obj);
    tm_buf_release(&p);
    return rc;
}

static enum tm_code lease_write(struct kube_client *c, const struct kube_lease *in, bool create,
                                struct kube_lease *out, struct tm_err *err)
{
    if (!in->ns[0] || !in->name[0])
        return tm_err_set(err, TM_E_INVAL, "lease: namespace and name are required");
    if (!create && !in->resource_version[0])
        return tm_err_set(err, TM_E_INVAL, "update lease %s/%s: resourceVersion is required",
                          in->ns, in->name);
    struct tm_buf p;
    tm_buf_init(&p, TM_CAP_SMALL);
    cJSON *res = NULL;
    cJSON *body = lease_to_json(in);
    enum tm_code rc = body ? TM_OK : tm_err_set(err, TM_E_NOMEM, "lease: out of memory");
    if (rc == TM_OK)
        rc = lease_path(&p, in->ns, create ? NULL : in->name, err);
    if (rc == TM_OK)
        rc = create ? kube_create(c, tm_buf_str(&p), body, &res, err)
                    : kube_update(c, tm_buf_str(&p), body, &res, err);
    if (rc == TM_OK && !res)
        rc = tm_err_setr(err, TM_E_PARSE, TM_RETRY_TRANSIENT, "lease %s/%s: empty answer", in->ns,
                         in->name);
    if (rc == TM_OK && out)
        lease_from_json(res, out);
    cJSON_Delete(res);
    cJSON_Delete(body);
    tm_buf_release(&p);
    return rc;
}

enum tm_code kube_lease_create(struct kube_client *c, const struct kube_lease *in,
                               struct kube_lease *out, struct tm_err *err)
{
    return lease_write(c, in, true, out, err);
}

enum tm_code kube_lease_update(struct kube_client *c, const struct kube_lease *in,
                               struct kube_lease *out, struct tm_err *err)
{
    return lease_write(c, in, false, out, err);
}
