/* conditions: the status conditions of every tidemark kind (metav1.Condition
 * shape) and the kstatus rules over them.
 *
 * Design: a condition list is a small fixed array held by value (at most
 * COND_MAX entries, bounded strings), so the pure decide functions can copy
 * the observed list, edit it and compare it with the old one without
 * allocating or freeing anything.  Strings longer than their field are cut
 * (a message is for humans; reasons and types are short by construction).
 *
 * Invariants kept by cond_set():
 *   - one entry per type;
 *   - lastTransitionTime changes only when status changes (a new reason or
 *     message alone keeps the old time, as apimachinery's SetStatusCondition);
 * and by cond_set_kstatus() (cli-utils kstatus, fluxcd conditions):
 *   - Reconciling and Stalled are present only while True (removed otherwise);
 *   - Ready sums up: True only when the object is fully reconciled.
 *
 * Not here: JSON (rec_conds_from_json/rec_conds_to_json in rec_json.c) and
 * API calls.  Prefix cond_:
 * shared by the three reconcilers in this folder. */
#ifndef TM_RECONCILERS_CONDITIONS_H
#define TM_RECONCILERS_CONDITIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COND_MAX 8
#define COND_TYPE_MAX 64
#define COND_REASON_MAX 64
#define COND_MESSAGE_MAX 1024

#define COND_READY "Ready"
#define COND_RECONCILING "Reconciling"
#define COND_STALLED "Stalled"

enum cond_status { COND_FALSE = 0, COND_TRUE, COND_UNKNOWN };

struct cond {
    char type[COND_TYPE_MAX];
    enum cond_status status;
    char reason[COND_REASON_MAX];
    char message[COND_MESSAGE_MAX];
    int64_t observed_generation;
    int64_t last_transition_ms; /* wall clock, ms since the epoch */
};

struct cond_list {
    struct cond items[COND_MAX];
    size_t n;
};

/* The three kstatus states a reconciler reports. */
enum cond_kstatus {
    COND_KS_READY = 0,   /* Ready=True; Reconciling, Stalled removed */
    COND_KS_RECONCILING, /* Ready=False; Reconciling=True; Stalled removed */
    COND_KS_STALLED,     /* Ready=False; Stalled=True; Reconciling removed */
};

/* Empties l. */
void cond_list_init(struct cond_list *l);

/* The condition of that type, or NULL.  Borrowed from l. */
const struct cond *cond_find(const struct cond_list *l, const char *type);

/* True when the condition exists with status True. */
bool cond_is_true(const struct cond_list *l, const char *type);

/* Sets (adds or updates) a condition.  lastTransitionTime becomes now_ms
 * only when the condition is new or its status changes.  NULL reason or
 * message read as "".  When the list is full, a new type is dropped (the
 * list is sized for every type a kind uses, so that is a bug). */
void cond_set(struct cond_list *l, const char *type, enum cond_status status,
              const char *reason, const char *message, int64_t generation, int64_t now_ms);

/* Removes the condition of that type, if present; order of the rest kept. */
void cond_remove(struct cond_list *l, const char *type);

/* Sets Ready/Reconciling/Stalled for state ks with one reason and message
 * (Ready=False carries the same reason as the True one). */
void cond_set_kstatus(struct cond_list *l, enum cond_kstatus ks, const char *reason,
                      const char *message, int64_t generation, int64_t now_ms);

/* True when both lists hold the same conditions (types, statuses, reasons,
 * messages, generations, times), whatever their order. */
bool cond_list_equal(const struct cond_list *a, const struct cond_list *b);

/* "True" / "False" / "Unknown"; and back (false when s is none of them). */
const char *cond_status_name(enum cond_status s);
bool cond_status_parse(const char *s, enum cond_status *out);

#endif
