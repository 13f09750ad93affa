/* dbrollout_json: a DBRollout object <-> struct dbrollout_observed (spec,
 * status) and the status back to JSON for the status patch.  Pure; in its
 * own file so that it links (and is tested) without the manager.
 *
 * Statuses written before status.retry and status.rollbackCause existed (or
 * under a CRD that prunes them) are read compatibly: the retry from the
 * Ready message's "attempt <n>, next retry at <time>: " prefix, the cause
 * from the RolledBack condition's reason, so an upgrade in the middle of a
 * backoff or a rollback neither resets nor loses them. */
#include "reconcilers/dbrollout.h"

#include <stdio.h>
#include <string.h>

#include "reconcilers/rec.h"
#include "reconcilers/text.h"

/* ------------------------------------------------------------ read/write */

static void read_retry(const cJSON *s, struct dbrollout_status *st)
{
    const cJSON *r = rec_at(s, "retry");
    if (!cJSON_IsObject(r)) {
        long n = 0;
        int64_t nb = 0;
        if (dbrollout_retry_from_message(st, &n, &nb)) {
            st->retry_attempt = n;
            st->retry_not_before_ms = nb;
        }
        return;
    }
    int64_t n = rec_int(r, "attempt", 0);
    int64_t nb = rec_time_parse(rec_str(r, "notBefore"));
    if (n < 1 || n > 1000000 || nb <= 0)
        return; /* not what decide writes: no retry under way */
    st->retry_attempt = (long)n;
    st->retry_not_before_ms = nb;
}

static void read_verification(const cJSON *s, struct dbrollout_status *st)
{
    const cJSON *v = rec_at(s, "verification");
    const char *job = rec_str(v, "job");
    if (!cJSON_IsObject(v) || !job || !*job ||
        !dbrollout_verify_result_parse(rec_str(v, "result"), &st->verify_result))
        return; /* none (or not what decide writes) */
    text_cut(st->verify_job, sizeof(st->verify_job), "%s", job);
    const char *t = rec_str(v, "reason");
    text_cut(st->verify_reason, sizeof(st->verify_reason), "%s", t ? t : "");
    t = rec_str(v, "message");
    text_cut(st->verify_message, sizeof(st->verify_message), "%s", t ? t : "");
    st->verify_started_ms = rec_time_parse(rec_str(v, "startedAt"));
}

static void read_rollback_cause(const cJSON *s, struct dbrollout_status *st)
{
    if (dbrollout_cause_parse(rec_str(s, "rollbackCause"), &st->rollback_cause))
        return;
    const struct cond *rb = cond_find(&st->conds, DBROLLOUT_COND_ROLLED_BACK);
    if (!rb || !dbrollout_cause_parse(rb->reason, &st->rollback_cause))
        st->rollback_cause = DBROLLOUT_CAUSE_NONE;
}

void dbrollout_read(const cJSON *obj, struct dbrollout_observed *o)
{
    o->name = rec_str(obj, "metadata.name");
    o->uid = rec_str(obj, "metadata.uid");
    o->generation = rec_int(obj, "metadata.generation", 0);

    struct dbrollout_spec *sp = &o->spec;
    memset(sp, 0, sizeof(*sp));
    sp->instance = rec_str(obj, "spec.instanceRef.name");
    sp->tag = rec_str(obj, "spec.tag");
    sp->deployment = rec_str(obj, "spec.deploymentRef.name");
    sp->app_kind = DBROLLOUT_APP_DEPLOYMENT;
    if (!sp->deployment && rec_str(obj, "spec.appRef.name")) {
        /* the CRD admits only kind Rollout of argoproj.io/v1alpha1 */
        sp->deployment = rec_str(obj, "spec.appRef.name");
        sp->app_kind = DBROLLOUT_APP_ARGO_ROLLOUT;
    }
    sp->tag_from_container = rec_str(obj, "spec.tagFrom.container");
    sp->tag_from_pattern = rec_str(obj, "spec.tagFrom.pattern");
    if (!dbrollout_order_parse(rec_str(obj, "spec.order"), &sp->order))
        sp->order = DBROLLOUT_ORDER_SCHEMA_FIRST;
    if (!dbrollout_on_app_failure_parse(rec_str(obj, "spec.onAppFailure"), &sp->on_app_failure))
        sp->on_app_failure = DBROLLOUT_ON_APP_FAILURE_ROLLBACK_SCHEMA;
    if (!dbrollout_cs_failure_parse(rec_str(obj, "spec.changeSetFailureStrategy"),
                                    &sp->cs_failure))
        sp->cs_failure = DBROLLOUT_CS_FAILURE_ROLLBACK;
    sp->app_timeout_s = rec_int(obj, "spec.appTimeoutSeconds", 600);
    if (sp->app_timeout_s <= 0)
        sp->app_timeout_s = 600;
    if (sp->app_timeout_s > 86400) /* the CRD's maximum; keeps the ms arithmetic in range */
        sp->app_timeout_s = 86400;
    /* spec.verify: the Job template stays in obj (act builds the Job) */
    sp->verify = cJSON_IsObject(rec_at(obj, "spec.verify.jobTemplate"));
    int64_t vt = 0;
    sp->verify_timeout_s = text_duration_ms(rec_str(obj, "spec.verify.timeout"), &vt)
                               ? (vt + 999) / 1000
                               : DBROLLOUT_VERIFY_TIMEOUT_DEFAULT_S;
    if (sp->verify_timeout_s > 86400) /* the CRD's maximum (24h) */
        sp->verify_timeout_s = 86400;
    const char *ap = rec_str(obj, "spec.approval");
    sp->approval_required = ap && strcmp(ap, "Required") == 0;
    sp->approved_plan_hash = rec_str(obj, "spec.approvedPlanHash");
    if (!sp->tag)
        sp->tag = "";
    if (!sp->instance)
        sp->instance = "";

    struct dbrollout_status *st = &o->status;
    memset(st, 0, sizeof(*st));
    const cJSON *s = rec_at(obj, "status");
    if (!dbrollout_phase_parse(rec_str(s, "phase"), &st->phase))
        st->phase = DBROLLOUT_PHASE_NONE;
    const char *pre = rec_str(s, "preStartTag");
    st->has_pre_start_tag = pre != NULL;
    snprintf(st->pre_start_tag, sizeof(st->pre_start_tag), "%s", pre ? pre : "");
    const char *v = rec_str(s, "appliedTag");
    snprintf(st->applied_tag, sizeof(st->applied_tag), "%s", v ? v : "");
    v = rec_str(s, "targetTag");
    snprintf(st->target_tag, sizeof(st->target_tag), "%s", v ? v : "");
    st->applied_changesets = (long)rec_int(s, "appliedChangeSets", 0);
    st->rolled_back_changesets = (long)rec_int(s, "rolledBackChangeSets", 0);
    st->deployment_revision = rec_int(s, "deploymentRevision", 0);
    st->previous_deployment_revision = rec_int(s, "previousDeploymentRevision", 0);
    v = rec_str(s, "message");
    text_cut(st->message, sizeof(st->message), "%s", v ? v : "");
    st->started_at_ms = rec_time_parse(rec_str(s, "startedAt"));
    st->finished_at_ms = rec_time_parse(rec_str(s, "finishedAt"));
    st->observed_generation = rec_int(s, "observedGeneration", 0);
    rec_conds_from_json(rec_at(s, "conditions"), &st->conds);
    read_retry(s, st);
    read_rollback_cause(s, st);
    read_verification(s, st);
    if (!plan_review_from_json(rec_at(s, "plan"), &st->plan))
        memset(&st->plan, 0, sizeof(st->plan));
    v = rec_str(s, "approval.planHash");
    if (plan_review_hash_valid(v)) {
        text_cut(st->approved_plan_hash, sizeof(st->approved_plan_hash), "%s", v);
        st->approved_at_ms = rec_time_parse(rec_str(s, "approval.observedAt"));
    }
}

static bool add_str_or_null(cJSON *o, const char *k, const char *v, bool present)
{
    return present ? cJSON_AddStringToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

static bool add_time_or_null(cJSON *o, const char *k, int64_t ms)
{
    char t[32];
    if (ms <= 0)
        return cJSON_AddNullToObject(o, k) != NULL;
    rec_time_format(ms, t, sizeof(t));
    return cJSON_AddStringToObject(o, k, t) != NULL;
}

static bool add_verification_or_null(cJSON *o, const struct dbrollout_status *s)
{
    if (!s->verify_job[0] || s->verify_result == DBROLLOUT_VERIFY_NONE)
        return cJSON_AddNullToObject(o, "verification") != NULL;
    cJSON *v = cJSON_AddObjectToObject(o, "verification");
    /* a merge patch: absent members are removed by their null */
    return v && cJSON_AddStringToObject(v, "job", s->verify_job) &&
           cJSON_AddStringToObject(v, "result", dbrollout_verify_result_name(s->verify_result)) &&
           add_str_or_null(v, "reason", s->verify_reason, s->verify_reason[0] != '\0') &&
           add_str_or_null(v, "message", s->verify_message, s->verify_message[0] != '\0') &&
           add_time_or_null(v, "startedAt", s->verify_started_ms);
}

static bool add_retry_or_null(cJSON *o, const struct dbrollout_status *s)
{
    if (s->retry_attempt <= 0)
        return cJSON_AddNullToObject(o, "retry") != NULL;
    cJSON *r = cJSON_AddObjectToObject(o, "retry");
    return r && cJSON_AddNumberToObject(r, "attempt", (double)s->retry_attempt) &&
           add_time_or_null(r, "notBefore", s->retry_not_before_ms);
}

static bool add_plan_or_null(cJSON *o, const struct dbrollout_status *s)
{
    if (!s->plan.set)
        return cJSON_AddNullToObject(o, "plan") != NULL;
    cJSON *p = plan_review_json(&s->plan);
    if (!p || !cJSON_AddItemToObject(o, "plan", p)) {
        cJSON_Delete(p);
        return false;
    }
    return true;
}

static bool add_approval_or_null(cJSON *o, const struct dbrollout_status *s)
{
    if (!s->approved_plan_hash[0])
        return cJSON_AddNullToObject(o, "approval") != NULL;
    cJSON *a = cJSON_AddObjectToObject(o, "approval");
    return a && cJSON_AddStringToObject(a, "planHash", s->approved_plan_hash) &&
           add_time_or_null(a, "observedAt", s->approved_at_ms);
}

cJSON *dbrollout_status_json(const struct dbrollout_status *s)
{
    cJSON *o = rec_status_new(&s->conds);
    if (!o)
        return NULL;
    bool ok =
        add_str_or_null(o, "phase", dbrollout_phase_name(s->phase),
                        s->phase != DBROLLOUT_PHASE_NONE) &&
        add_str_or_null(o, "preStartTag", s->pre_start_tag, s->has_pre_start_tag) &&
        add_str_or_null(o, "appliedTag", s->applied_tag, s->applied_tag[0] != '\0') &&
        add_str_or_null(o, "targetTag", s->target_tag, s->target_tag[0] != '\0') &&
        cJSON_AddNumberToObject(o, "appliedChangeSets", (double)s->applied_changesets) &&
        cJSON_AddNumberToObject(o, "rolledBackChangeSets", (double)s->rolled_back_changesets) &&
        cJSON_AddNumberToObject(o, "deploymentRevision", (double)s->deployment_revision) &&
        cJSON_AddNumberToObject(o, "previousDeploymentRevision",
                                (double)s->previous_deployment_revision) &&
        add_str_or_null(o, "message", s->message, s->message[0] != '\0') &&
        add_time_or_null(o, "startedAt", s->started_at_ms) &&
        add_time_or_null(o, "finishedAt", s->finished_at_ms) &&
        cJSON_AddNumberToObject(o, "observedGeneration", (double)s->observed_generation) &&
        add_retry_or_null(o, s) &&
        add_str_or_null(o, "rollbackCause", dbrollout_cause_name(s->rollback_cause),
                        s->rollback_cause != DBROLLOUT_CAUSE_NONE) &&
        add_verification_or_null(o, s) && add_plan_or_null(o, s) &&
        add_approval_or_null(o, s);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

