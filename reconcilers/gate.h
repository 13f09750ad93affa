/* gate: the schema gate — a Pod scheduling gate (GATE_NAME) that holds the
 * pods of an app's new template Pending until their DBInstance is at the tag
 * the template names (annotation DBROLLOUT_TAG_ANNOTATION), so SchemaFirst
 * holds even when one GitOps sync changes the DBRollout's tag and the
 * Deployment's image together.  No admission webhook: the pod template
 * declares the gate itself, the controller only removes it.
 *
 * Split like every reconciler (STYLE.md rule 8): gate_decide (gate_decide.c)
 * is pure — one pod's gate, its tag and its DBRollout in, a verdict out —
 * and gate.c lists the gated pods of a rollout's Deployment (or Argo
 * Rollout, spec.appRef) from a
 * label-selected informer (only pods labelled GATE_LABEL=true are cached, so
 * memory stays proportional to gated pods, not to the cluster) and removes
 * the gate with a JSON patch (patch only; no update).
 *
 * Rules decided here (and why):
 *  - Only SchemaFirst gates.  Parallel never gates and AppFirst must start
 *    the app before the schema, so both release a gated pod at once.
 *  - A pod is released when the schema (the rollout's observed applied tag)
 *    is at the pod's tag or at a later tag the rollout allows: up to the
 *    later of spec.tag and preStartTag while rolling forward; up to
 *    preStartTag once a rollback started (rollbackCause set, or RollingBack /
 *    RolledBack), so the restored template's pods start only once the
 *    schema is back.
 *  - "Later" is the changelog's tag order.  A pod tag outside it (or none) is
 *    an unknown tag: the pod stays gated and a Warning says so.  An applied
 *    tag outside it (a stamped tidemark-prestart-* tag) keeps every pod:
 *    the schema's place in the order is unknown.
 *
 * Thread-safety: gate_decide is pure and reentrant. */
#ifndef TM_RECONCILERS_GATE_H
#define TM_RECONCILERS_GATE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "reconcilers/dbrollout.h"

#define GATE_NAME "tidemark.dev/schema"
#define GATE_LABEL "tidemark.dev/schema-gate"
#define GATE_SELECTOR GATE_LABEL "=true"
#define GATE_REASON_MAX 384
#define GATE_RETRY_MS 2000 /* a failed release is judged again after this */

enum gate_verdict {
    GATE_NONE = 0,    /* the pod carries no schema gate: nothing to do */
    GATE_RELEASE,     /* remove the gate */
    GATE_KEEP,        /* keep it: the schema is not there yet (reason) */
    GATE_UNKNOWN_TAG, /* keep it: the pod names no tag, or one the changelog lacks */
};

/* What gate_decide reads (all borrowed). */
struct gate_input {
    bool gated;                 /* spec.schedulingGates holds GATE_NAME */
    const char *pod_tag;        /* the pod's DBROLLOUT_TAG_ANNOTATION; NULL: none */
    enum dbrollout_order order; /* the DBRollout's spec.order */
    const char *target_tag;     /* its spec.tag */
    enum dbrollout_phase phase; /* its status.phase */
    enum dbrollout_rollback_cause cause;
    const char *pre_start_tag;  /* NULL: none recorded */
    const char *applied_tag;    /* the schema's applied tag; NULL: none */
    const char *const *tags;    /* the changelog's tags, oldest first */
    size_t ntags;
};

struct gate_decision {
    enum gate_verdict verdict;
    char reason[GATE_REASON_MAX]; /* why (KEEP, UNKNOWN_TAG, RELEASE) */
};

/* Decides one pod's gate.  Never fails. */
void gate_decide(const struct gate_input *in, struct gate_decision *out);

const char *gate_verdict_name(enum gate_verdict v);

/* ---- the controller's half (gate.c) ---- */

struct tm_proc;
struct mgr;

/* The pods informer's map (struct mgr_secondary.map): enqueues the
 * DBRollouts of the pod's namespace whose spec.deploymentRef names the
 * Deployment owning the pod (its ReplicaSet's name less "-<pod-template-hash>"),
 * or whose spec.appRef names the Argo Rollout owning it (less
 * "-<rollouts-pod-template-hash>").
 * Runs on the informer thread: reads the DBRollout cache only. */
void gate_map_pod(void *ctx, struct mgr *m, const cJSON *pod);

/* Judges every gated pod of the rollout's app (from the pods
 * informer; nothing when the manager does not run one) and removes the gate
 * of each pod gate_decide releases, with a JSON patch (a test of the gate's
 * name at its index, then remove).  rollout is borrowed.  Events on the
 * rollout: Normal SchemaGateReleased (one note per tag and applied tag, so the
 * recorder counts repeats as one series), Warning UnknownTag.  Errors: the
 * first failed patch (a moved gate list is TRANSIENT); a gone pod is none. */
enum tm_code gate_sync(struct tm_proc *proc, const cJSON *rollout,
                       struct tm_err *err) TM_MUST_CHECK;

#endif
