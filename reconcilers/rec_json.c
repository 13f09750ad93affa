/* rec_json: the pure part of rec.h — JSON field access, wall-clock time,
 * condition (de)serialisation and the start of a status object.  Kept apart
 * from rec.c so that code and tests that only read and write objects link
 * without the manager. */
#include "reconcilers/rec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json_path.h"
#include "kube/kube.h"
#include "reconcilers/text.h"

/* ------------------------------------------------------------------ JSON */

const cJSON *rec_at(const cJSON *obj, const char *path)
{
    return json_path(obj, path);
}

const char *rec_str(const cJSON *obj, const char *path)
{
    const cJSON *v = rec_at(obj, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int64_t rec_int(const cJSON *obj, const char *path, int64_t def)
{
    const cJSON *v = rec_at(obj, path);
    if (cJSON_IsNumber(v)) {
        /* casting an out-of-range double is undefined: saturate (fuzz_rollout_json) */
        double d = v->valuedouble;
        if (d != d)
            return def;
        if (d >= 9223372036854775807.0)
            return INT64_MAX;
        if (d <= -9223372036854775807.0)
            return INT64_MIN;
        return (int64_t)d;
    }
    if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end = NULL;
        long long x = strtoll(v->valuestring, &end, 10);
        if (end && *end == '\0')
            return x;
    }
    return def;
}

const char *rec_annotation(const cJSON *obj, const char *key)
{
    const cJSON *a = rec_at(obj, "metadata.annotations");
    const cJSON *v = cJSON_IsObject(a) ? cJSON_GetObjectItemCaseSensitive(a, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ------------------------------------------------------------------ time */

void rec_time_format(int64_t ms, char *out, size_t n)
{
    char buf[32];
    kube_time_rfc3339(ms / 1000, buf);
    snprintf(out, n, "%s", buf);
}

int64_t rec_time_parse(const char *s)
{
    int64_t us = 0;
    if (!s || !kube_time_parse(s, &us))
        return 0;
    return us / 1000;
}

/* ------------------------------------------------------------ conditions */

void rec_conds_from_json(const cJSON *arr, struct cond_list *l)
{
    cond_list_init(l);
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const char *type = rec_str(c, "type");
        /* A type too long for cond.type is none of tidemark's: it is left
         * out, not cut, since two cut types could become one (a list the
         * API calls a map, and a status that changes on every rewrite). */
        if (!type || strlen(type) >= COND_TYPE_MAX || l->n >= COND_MAX)
            continue;
        struct cond *d = &l->items[l->n++];
        memset(d, 0, sizeof(*d));
        snprintf(d->type, sizeof(d->type), "%s", type);
        if (!cond_status_parse(rec_str(c, "status"), &d->status))
            d->status = COND_UNKNOWN;
        const char *r = rec_str(c, "reason"), *m = rec_str(c, "message");
        snprintf(d->reason, sizeof(d->reason), "%s", r ? r : "");
        text_cut(d->message, sizeof(d->message), "%s", m ? m : "");
        d->observed_generation = rec_int(c, "observedGeneration", 0);
        /* the API keeps seconds: compare at that precision */
        d->last_transition_ms = rec_time_parse(rec_str(c, "lastTransitionTime")) / 1000 * 1000;
    }
}

cJSON *rec_conds_to_json(const struct cond_list *l)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        const struct cond *c = &l->items[i];
        char t[32];
        rec_time_format(c->last_transition_ms, t, sizeof(t));
        cJSON *o = rec_array_add_object(arr);
        if (!o || !cJSON_AddStringToObject(o, "type", c->type) ||
            !cJSON_AddStringToObject(o, "status", cond_status_name(c->status)) ||
            !cJSON_AddNumberToObject(o, "observedGeneration", (double)c->observed_generation) ||
            !cJSON_AddStringToObject(o, "lastTransitionTime", t) ||
            !cJSON_AddStringToObject(o, "reason", c->reason[0] ? c->reason : "Unknown") ||
            !cJSON_AddStringToObject(o, "message", c->message)) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

cJSON *rec_status_new(const struct cond_list *l)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *conds = o ? rec_conds_to_json(l) : NULL;
    if (!conds || !cJSON_AddItemToObject(o, "conditions", conds)) {
        cJSON_Delete(conds);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *rec_array_add_object(cJSON *arr)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
