/* plan_review: the plan a person approves — the changesets a move to a tag
 * would apply or roll back, in order, each with its destructive statements
 * and a hash of the SQL that would run for it, and one hash over the whole.
 *
 * Design: one module owns the plan's shape, its hash and its JSON, so that
 * the CLI (`tidemark plan`) and the DBRollout's status.plan print the same
 * thing and the same hash for the same changelog, history, tag and
 * instance: a reviewer approves from a terminal or a GitOps commit what the
 * controller will hold the rollout for.  Held by value with bounded
 * strings (decide copies it into a status); the list is cut at
 * PLAN_REVIEW_LISTED steps (`total` says how many there are), the hash
 * always covers every step.  Pure: no I/O.
 *
 * What is hashed (SHA-256, version "tidemark-plan/v1"): the instance name,
 * the direction, the target tag, then per step its action, its changeset
 * name (filename::id::author), its SQL hash and its destructive kinds.  A
 * step's SQL hash covers the text tidemark would run for it: each change's
 * SQL with its end delimiter (Apply, Rerun), or its rollback SQL
 * (Rollback); preconditions and the history row are not part of it.  So a
 * changed changelog (new SQL, a new changeset), another tag, another
 * instance or a database in another state gives another hash.
 *
 * A plan whose only steps are reruns of runAlways changesets (which every
 * forward plan carries) is empty: direction None, no steps — nothing to
 * approve, as the rollout counts the instance at the tag. */
#ifndef TM_ENGINE_PLAN_REVIEW_H
#define TM_ENGINE_PLAN_REVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "engine/engine.h"

#define PLAN_REVIEW_LISTED 20
#define PLAN_REVIEW_HASH_MAX 72   /* "sha256:" + 64 hex + NUL */
#define PLAN_REVIEW_SHORT_HASH 12 /* hex digits in the short form */
#define PLAN_REVIEW_NAME_MAX 512
#define PLAN_REVIEW_TAG_MAX 256
#define PLAN_REVIEW_HASH_PREFIX "sha256:"

enum plan_review_direction {
    PLAN_REVIEW_NONE = 0, /* nothing to run */
    PLAN_REVIEW_APPLY,
    PLAN_REVIEW_ROLLBACK,
};

struct plan_review_step {
    enum plan_action action;
    char changeset[PLAN_REVIEW_NAME_MAX];  /* filename::id::author (cut to fit) */
    unsigned destructive;                  /* bits 1u << enum lint_kind */
    char sql_hash[PLAN_REVIEW_HASH_MAX];
};

struct plan_review {
    bool set;                              /* built (or read back); false: no plan */
    enum plan_review_direction direction;
    char instance[PLAN_REVIEW_TAG_MAX];
    char tag[PLAN_REVIEW_TAG_MAX];
    char hash[PLAN_REVIEW_HASH_MAX];
    size_t total;                          /* steps in the plan */
    size_t nlisted;                        /* <= PLAN_REVIEW_LISTED: the first ones */
    struct plan_review_step listed[PLAN_REVIEW_LISTED];
};

/* The steps of pl that move the database: all but reruns of runAlways
 * changesets (see above).  0 means "at the tag". */
size_t plan_review_moving_steps(const struct chlog *cl, const struct plan *pl);

/* Builds the review of pl (a plan_build result for tag) for instance into
 * out (overwritten).  Fails only with TM_E_NOMEM or a lexer error of
 * lint_sql (out then unset). */
enum tm_code plan_review_build(const struct chlog *cl, const struct plan *pl,
                               const char *instance, const char *tag,
                               struct plan_review *out, struct tm_err *err) TM_MUST_CHECK;

/* "Apply", "Rerun", "Rollback"; "Apply", "Rollback", "None". */
const char *plan_review_action_name(enum plan_action a);
const char *plan_review_direction_name(enum plan_review_direction d);

/* The first PLAN_REVIEW_SHORT_HASH hex digits of hash (after the prefix)
 * into out (n >= PLAN_REVIEW_SHORT_HASH + 1); "" when hash is not one. */
void plan_review_short_hash(const char *hash, char *out, size_t n);

/* True when s is a plan hash as plan_review_build writes it. */
bool plan_review_hash_valid(const char *s);

/* True when both read the same (every field). */
bool plan_review_equal(const struct plan_review *a, const struct plan_review *b);

/* The review as JSON (status.plan, `tidemark plan -o json`):
 * {hash, shortHash, instance, direction, targetTag, changeSets, steps: [{action,
 * changeSet, sqlHash, destructive: [...]}], notListed}; NULL on allocation
 * failure.  Caller cJSON_Deletes it. */
cJSON *plan_review_json(const struct plan_review *r);

/* Reads what plan_review_json wrote back into out; false (out unset) when
 * j is not an object with a valid hash. */
bool plan_review_from_json(const cJSON *j, struct plan_review *out);

#endif
