/* Fuzz target: a DBRollout object from the API -> struct dbrollout_observed
 * (reconcilers/dbrollout_json.c, rec_json.c: paths, ints, times,
 * conditions), then dbrollout_decide on it and the status JSON back.
 * The first input byte sets the observed facts JSON does not carry
 * (instance found, schema ready, database reachable, where the tag is,
 * Deployment found and failing, the verification Job found, Complete or
 * Failed); the rest is the object.
 * Objects the API server would refuse (two conditions of one type) are
 * skipped.  Invariants checked: status JSON -> read -> JSON is stable after one round
 * (otherwise the reconciler would patch status on every pass: it writes only
 * on change); decide's plan keeps its own bounds (events, strings NUL-ended)
 * and its status round-trips the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reconcilers/dbrollout.h"
#include "reconcilers/rec.h"

/* read(json(s)) into out; false on allocation failure. */
static bool round_trip(const struct dbrollout_status *s, struct dbrollout_status *out)
{
    cJSON *st = dbrollout_status_json(s);
    if (!st)
        return false;
    cJSON *wrap = cJSON_CreateObject();
    if (!wrap || !cJSON_AddItemToObject(wrap, "status", st)) {
        cJSON_Delete(st);
        cJSON_Delete(wrap);
        return false;
    }
    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    dbrollout_read(wrap, &o);
    *out = o.status; /* copied: strings are arrays, conditions by value */
    cJSON_Delete(wrap);
    return true;
}

/* A status normalised once must survive a second round unchanged. */
static void check_stable(const struct dbrollout_status *s)
{
    struct dbrollout_status once, twice;
    if (!round_trip(s, &once) || !round_trip(&once, &twice))
        return;
    if (!dbrollout_status_equal(&once, &twice))
        abort();
}

static void check_str(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        abort();
}

/* The CRD declares status.conditions a list-map keyed by type: the API server
 * never stores two conditions of one type, so such objects are not inputs. */
static bool duplicate_condition_types(const cJSON *obj)
{
    const cJSON *arr = rec_at(obj, "status.conditions");
    const cJSON *a, *b;
    cJSON_ArrayForEach(a, arr)
    {
        const char *ta = rec_str(a, "type");
        for (b = a->next; ta && b; b = b->next) {
            const char *tb = rec_str(b, "type");
            if (tb && strcmp(ta, tb) == 0)
                return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t f = data[0];
    cJSON *obj = cJSON_ParseWithLength((const char *)data + 1, size - 1);
    if (!obj)
        return 0;
    if (duplicate_condition_types(obj)) {
        cJSON_Delete(obj);
        return 0;
    }

    struct dbrollout_observed o;
    memset(&o, 0, sizeof(o));
    dbrollout_read(obj, &o);
    if (!o.spec.tag || !o.spec.instance)
        abort(); /* dbrollout_read promises "" for missing ones */
    check_stable(&o.status);

    o.instance_found = f & 1;
    o.schema_ready = (f & 2) != 0;
    o.schema_message = "schema not ready";
    o.db.reachable = (f & 4) != 0;
    o.db.error = "connection refused";
    o.db.applied_tag = rec_str(obj, "status.appliedTag");
    o.db.target = (enum dbrollout_pos)((f >> 3) % 5);
    o.db.target_steps = f >> 6;
    o.db.target_error = "unknown tag";
    o.db.prestart = (enum dbrollout_pos)((f >> 4) % 5);
    o.db.prestart_error = "no rollback";
    o.app.found = (f & 0x80) != 0;
    o.app.generation = rec_int(obj, "metadata.generation", 0);
    o.app.observed_generation = o.generation;
    o.app.replicas = 1;
    o.app.progress_deadline_exceeded = (f & 0x40) != 0;
    /* the next revision, without overflowing a fuzzed INT64_MAX (UBSan) */
    o.app.revision = o.status.deployment_revision < INT64_MAX ? o.status.deployment_revision + 1
                                                              : o.status.deployment_revision;
    o.app.previous_revision = o.status.deployment_revision;
    o.app.template_tag = rec_annotation(obj, "tidemark.dev/tag");
    o.lock_holder = rec_annotation(obj, "tidemark.dev/rollout-lock");
    /* the verification Job (read only while Verifying), from bits shared with the above */
    o.job.found = (f & 8) != 0;
    o.job.complete = (f & 0x10) != 0;
    o.job.failed = !o.job.complete && (f & 0x20) != 0;
    o.job.reason = rec_annotation(obj, "fuzz/job-reason");
    o.job.message = "Job has reached the specified backoff limit";
    struct dbrollout_peer self = {o.name ? o.name : "", o.uid ? o.uid : "", o.generation,
                                  o.status.observed_generation, o.status.phase};
    o.peers = &self;
    o.npeers = 1;

    struct dbrollout_plan p;
    memset(&p, 0, sizeof(p));
    dbrollout_decide(&o, 1795413600000LL, &p);
    if (p.nevents > DBROLLOUT_EVENTS_MAX || p.requeue_ms < 0)
        abort();
    for (size_t i = 0; i < p.nevents; i++) {
        if (!p.events[i].reason || !p.events[i].reason[0])
            abort();
        check_str(p.events[i].note, sizeof(p.events[i].note));
    }
    check_str(p.status.pre_start_tag, sizeof(p.status.pre_start_tag));
    check_str(p.status.verify_job, sizeof(p.status.verify_job));
    check_str(p.status.verify_reason, sizeof(p.status.verify_reason));
    check_str(p.status.verify_message, sizeof(p.status.verify_message));
    check_str(p.action.job_name, sizeof(p.action.job_name));
    check_str(p.status.applied_tag, sizeof(p.status.applied_tag));
    check_str(p.status.target_tag, sizeof(p.status.target_tag));
    check_str(p.status.message, sizeof(p.status.message));
    check_str(p.action.proposed_tag, sizeof(p.action.proposed_tag));
    check_str(p.action.lock_id, sizeof(p.action.lock_id));
    check_stable(&p.status);

    cJSON_Delete(obj);
    return 0;
}
