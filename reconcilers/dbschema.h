/* dbschema: the DBSchema reconciler — where a changelog comes from.
 *
 * Layout (STYLE.md rule 8): observe (dbschema.c: the DBSchema, its
 * ConfigMap or Git source via source/, chlog_load, the DBInstances that
 * reference it, all from the cache) -> decide (dbschema_decide.c, pure: this
 * header) -> report (status patch only on change, Events on a new revision
 * and on parse failures).
 *
 * Decisions (why):
 *  - A parse error is Stalled (reason ParseFailed, message with file:line):
 *    retrying the same bytes cannot help.  Git sources are still polled on
 *    their interval, because a new commit may fix it.  The last good
 *    revision, tags and changeSets stay in status (as Flux keeps its last
 *    artifact) so the instance matrix stays readable; Ready=False tells
 *    DBRollouts not to start.
 *  - A fetch error is Reconciling with backoff when transient, Stalled when
 *    terminal (bad URL, missing ConfigMap key).
 *  - lastFetchTime moves only when the content changed or it is older than
 *    DBSCHEMA_FETCH_REFRESH_MS (a Git poll every minute is not a status
 *    write every minute).
 *  - The instance matrix is rebuilt from the DBInstances that reference
 *    this DBSchema at every reconcile: counts for all of them (instanceCount,
 *    instancesReady, instancesByTag) and a bounded list (status.instances;
 *    dbschema_matrix says which). */
#ifndef TM_RECONCILERS_DBSCHEMA_H
#define TM_RECONCILERS_DBSCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "reconcilers/conditions.h"
#include "reconcilers/plan_event.h"

#define DBSCHEMA_FETCH_REFRESH_MS (10 * 60 * 1000)
#define DBSCHEMA_RETRY_MS 10000

/* One row of the environment matrix (strings borrowed). */
struct dbschema_instance {
    const char *name;
    const char *applied_tag; /* NULL: unknown */
    long pending;            /* -1: unknown */
    const char *ready;       /* "True" | "False" | "Unknown" */
};

/* status.instances lists at most this many DBInstances, and
 * status.instancesByTag at most this many tags: a DBSchema shared by
 * thousands of tenant databases must stay a small object (etcd refuses
 * objects over 1.5 MB, and every instance's recheck reads its DBSchema). */
#define DBSCHEMA_MATRIX_LISTED 100
#define DBSCHEMA_MATRIX_TAGS 100

/* One row of status.instancesByTag: how many instances have tag applied
 * (tag "": none, or not known yet).  tag borrowed. */
struct dbschema_tag_count {
    const char *tag;
    long count;
};

/* The status; strings and arrays borrowed from the observed struct. */
struct dbschema_status {
    const char *source;
    const char *revision;
    int64_t last_fetch_ms;        /* 0: never */
    const char *const *tags;
    size_t ntags;
    long changesets;              /* -1: unknown */
    const struct dbschema_instance *instances; /* listed, by name */
    size_t ninstances;
    long instance_count;          /* all that name the schema; -1: unknown */
    long instances_ready;         /* of them, Ready True; -1: unknown */
    const struct dbschema_tag_count *by_tag;
    size_t nby_tag;
    int64_t observed_generation;
    struct cond_list conds;
};

struct dbschema_observed {
    int64_t generation;
    struct dbschema_status status;    /* as read from the object */

    const char *source;               /* src_spec_summary; NULL: spec invalid */
    const char *spec_error;           /* spec refused (TERMINAL) */
    bool fetched;
    const char *fetch_error;
    enum tm_retry fetch_retry;
    bool parsed;
    const char *parse_error;          /* "changelog.yaml:12:3: ..." */
    const char *revision;
    const char *const *tags;          /* changelog order */
    size_t ntags;
    long changesets;
    size_t nwarnings;                 /* what the load tolerated (chlog.warnings) */
    const char *warning;              /* the first of them, NULL when none */

    const struct dbschema_instance *instances; /* sorted by name */
    size_t ninstances;
    bool git;
    int64_t interval_ms;              /* Git poll interval */
};

struct dbschema_plan {
    struct dbschema_status status;
    struct dbschema_instance listed[DBSCHEMA_MATRIX_LISTED]; /* status.instances */
    struct dbschema_tag_count by_tag[DBSCHEMA_MATRIX_TAGS];  /* status.instancesByTag */
    struct rec_plan_event events[2];
    size_t nevents;
    int64_t requeue_ms;
    bool backoff;
};

void dbschema_decide(const struct dbschema_observed *o, int64_t now_ms, struct dbschema_plan *p);

/* The environment matrix of status from all n instances (sorted by name)
 * and the changelog's tags: counts, instancesByTag (newest changelog tag
 * first, then applied tags the changelog no longer has, then ""; the first
 * DBSCHEMA_MATRIX_TAGS distinct tags met by name are counted, and any
 * others only in instance_count), and at most DBSCHEMA_MATRIX_LISTED
 * instances to list: those whose Ready is not True first, then those with
 * pending changesets, then the rest, each group taken by name; the chosen
 * are listed by name.  Fills p->listed, p->by_tag and p->status's matrix. */
void dbschema_matrix(const struct dbschema_instance *all, size_t n, const char *const *tags,
                     size_t ntags, struct dbschema_plan *p);

bool dbschema_status_equal(const struct dbschema_status *a, const struct dbschema_status *b);

/* ------------------------------------------------------- the reconciler */

struct tm_proc;
struct mgr_result;
struct mgr_reconciler;

enum tm_code dbschema_reconcile(void *ctx, struct tm_proc *proc, const char *ns, const char *name,
                                struct mgr_result *res, struct tm_err *err);

/* Registration: primary dbschemas; secondaries ConfigMaps labelled
 * tidemark.dev/changelog=true (spec.source.configMapRef.name) and DBInstances (mapped to their
 * spec.schemaRef.name: the instance matrix follows their status). */
extern const struct mgr_reconciler dbschema_reconciler;

#endif
