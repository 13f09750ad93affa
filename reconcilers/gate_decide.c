/* gate_decide: the pure half of the schema gate (gate.h) — whether one gated
 * pod may start.  No I/O, no clock, no runtime header (decide_pure.sh). */
#include "reconcilers/gate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Position of tag in the changelog's order; -1 when absent. */
static long tag_index(const struct gate_input *in, const char *tag)
{
    if (!tag || !*tag)
        return -1;
    for (size_t i = 0; i < in->ntags; i++)
        if (in->tags[i] && strcmp(in->tags[i], tag) == 0)
            return (long)i;
    return -1;
}

static bool rolling_back(const struct gate_input *in)
{
    return in->cause != DBROLLOUT_CAUSE_NONE || in->phase == DBROLLOUT_PHASE_ROLLING_BACK ||
           in->phase == DBROLLOUT_PHASE_ROLLED_BACK;
}

/* The newest tag the rollout lets the schema be at for a pod to start. */
static long ceiling_index(const struct gate_input *in)
{
    long pre = tag_index(in, in->pre_start_tag);
    if (rolling_back(in))
        return pre;
    long target = tag_index(in, in->target_tag);
    return target > pre ? target : pre;
}

__attribute__((format(printf, 3, 4))) static void set(struct gate_decision *out,
                                                      enum gate_verdict v, const char *fmt, ...)
{
    out->verdict = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

void gate_decide(const struct gate_input *in, struct gate_decision *out)
{
    memset(out, 0, sizeof(*out));
    if (!in->gated)
        return;
    if (in->order != DBROLLOUT_ORDER_SCHEMA_FIRST) {
        set(out, GATE_RELEASE, "only SchemaFirst gates pods");
        return;
    }
    if (!in->pod_tag || !*in->pod_tag) {
        set(out, GATE_UNKNOWN_TAG, "the pod template has no " DBROLLOUT_TAG_ANNOTATION
            " annotation");
        return;
    }
    long pod = tag_index(in, in->pod_tag);
    if (pod < 0) {
        set(out, GATE_UNKNOWN_TAG, "the pod needs tag %s, which the changelog does not have",
            in->pod_tag);
        return;
    }
    const char *applied = in->applied_tag;
    if (!applied || !*applied) {
        set(out, GATE_KEEP, "the schema has no tag yet; the pod needs %s", in->pod_tag);
        return;
    }
    long at = tag_index(in, applied);
    if (at < 0) {
        set(out, GATE_KEEP, "the schema is at %s, outside the changelog's tags; the pod needs %s",
            applied, in->pod_tag);
        return;
    }
    if (at < pod) {
        set(out, GATE_KEEP, "the schema is at %s; the pod needs %s", applied, in->pod_tag);
        return;
    }
    if (at > ceiling_index(in)) {
        if (rolling_back(in))
            set(out, GATE_KEEP, "the schema is at %s, past preStartTag: waiting for the rollback "
                "(the pod needs %s)", applied, in->pod_tag);
        else
            set(out, GATE_KEEP, "the schema is at %s, past what the rollout allows (the pod needs "
                "%s)", applied, in->pod_tag);
        return;
    }
    set(out, GATE_RELEASE, "the schema is at %s; the pod needs %s", applied, in->pod_tag);
}

const char *gate_verdict_name(enum gate_verdict v)
{
    switch (v) {
    case GATE_NONE: return "None";
    case GATE_RELEASE: return "Release";
    case GATE_KEEP: return "Keep";
    case GATE_UNKNOWN_TAG: return "UnknownTag";
    }
    return "?";
}
