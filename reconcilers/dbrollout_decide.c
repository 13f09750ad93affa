/* dbrollout decide: the pure rules of a DBRollout (see dbrollout.h for the
 * lifecycle and why).  No I/O, no clock, no globals: observed state and
 * now_ms in, one plan out (status to write, then at most one action).
 *
 * Shape: dbrollout_decide() picks start / retarget / progress / keep; the
 * progress loop runs the phase handlers (step_*), each either settling on an
 * action or wait (returns false) or moving to another phase and asking for
 * another pass (returns true), so a chain of transitions that needs no I/O
 * (schema already at the tag -> wait for app -> app complete -> Succeeded)
 * is decided in one call.
 *
 * Every transition is a row of the table in dbrollout_table.c: the code here
 * classifies what it observed and take()s a row, which sets the phase and
 * gives Ready's reason; the plan's trace lists the rows taken.  The code adds
 * what a row cannot say: messages, the other conditions, Events, requeue. */
#include "reconcilers/dbrollout.h"
#include "reconcilers/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "changelog/chlog.h"
#include "engine/engine.h"
#include "engine/plan_review.h"
#include "reconcilers/rec_time.h"

/* ------------------------------------------------------------- names */

#define NNAMES(a) (sizeof(a) / sizeof((a)[0]))

static bool parse_enum(const char *s, const char *const *names, size_t n, int *out)
{
    if (!s)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return true;
        }
    }
    return false;
}

/* names[i], or "" past the end */
static const char *name_at(const char *const *names, size_t n, size_t i)
{
    return i < n ? names[i] : "";
}

static const char *const phase_names[] = {
    [DBROLLOUT_PHASE_NONE] = "",
    [DBROLLOUT_PHASE_PENDING] = "Pending",
    [DBROLLOUT_PHASE_APPLYING] = "Applying",
    [DBROLLOUT_PHASE_WAITING_FOR_APP] = "WaitingForApp",
    [DBROLLOUT_PHASE_VERIFYING] = "Verifying",
    [DBROLLOUT_PHASE_SUCCEEDED] = "Succeeded",
    [DBROLLOUT_PHASE_ROLLING_BACK] = "RollingBack",
    [DBROLLOUT_PHASE_ROLLED_BACK] = "RolledBack",
    [DBROLLOUT_PHASE_FAILED] = "Failed",
    [DBROLLOUT_PHASE_BLOCKED] = "Blocked",
    [DBROLLOUT_PHASE_AWAITING_APPROVAL] = "AwaitingApproval",
};

const char *dbrollout_phase_name(enum dbrollout_phase p)
{
    return name_at(phase_names, NNAMES(phase_names), (size_t)p);
}

bool dbrollout_phase_parse(const char *s, enum dbrollout_phase *out)
{
    int v = 0;
    if (!parse_enum(s, phase_names, NNAMES(phase_names), &v))
        return false;
    *out = (enum dbrollout_phase)v;
    return true;
}

bool dbrollout_order_parse(const char *s, enum dbrollout_order *out)
{
    static const char *const names[] = {"SchemaFirst", "AppFirst", "Parallel"};
    int v = 0;
    if (!parse_enum(s, names, 3, &v))
        return false;
    *out = (enum dbrollout_order)v;
    return true;
}

bool dbrollout_on_app_failure_parse(const char *s, enum dbrollout_on_app_failure *out)
{
    static const char *const names[] = {"RollbackSchema", "RollbackBoth", "Hold"};
    int v = 0;
    if (!parse_enum(s, names, 3, &v))
        return false;
    *out = (enum dbrollout_on_app_failure)v;
    return true;
}

bool dbrollout_cs_failure_parse(const char *s, enum dbrollout_cs_failure *out)
{
    static const char *const names[] = {"Rollback", "MarkNextRun", "Fail"};
    int v = 0;
    if (!parse_enum(s, names, 3, &v))
        return false;
    *out = (enum dbrollout_cs_failure)v;
    return true;
}

static const char *const cause_names[] = {
    [DBROLLOUT_CAUSE_NONE] = "",
    [DBROLLOUT_CAUSE_APP_FAILED] = "AppFailed",
    [DBROLLOUT_CAUSE_APPLY_FAILED] = "ApplyFailed",
};

const char *dbrollout_cause_name(enum dbrollout_rollback_cause c)
{
    return name_at(cause_names, NNAMES(cause_names), (size_t)c);
}

bool dbrollout_cause_parse(const char *s, enum dbrollout_rollback_cause *out)
{
    int v = 0;
    if (!s || !*s || !parse_enum(s, cause_names, NNAMES(cause_names), &v))
        return false;
    *out = (enum dbrollout_rollback_cause)v;
    return true;
}

static const char *const verify_result_names[] = {
    [DBROLLOUT_VERIFY_NONE] = "",
    [DBROLLOUT_VERIFY_RUNNING] = "Running",
    [DBROLLOUT_VERIFY_SUCCEEDED] = "Succeeded",
    [DBROLLOUT_VERIFY_FAILED] = "Failed",
};

const char *dbrollout_verify_result_name(enum dbrollout_verify_result r)
{
    return name_at(verify_result_names, NNAMES(verify_result_names), (size_t)r);
}

bool dbrollout_verify_result_parse(const char *s, enum dbrollout_verify_result *out)
{
    int v = 0;
    if (!s || !*s || !parse_enum(s, verify_result_names, NNAMES(verify_result_names), &v))
        return false;
    *out = (enum dbrollout_verify_result)v;
    return true;
}

/* FNV-1a (32 bits): only to tell cut names apart, not for security. */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

void dbrollout_verify_job_name(const char *name, int64_t generation, char *out, size_t n)
{
    char suffix[40];
    const char *nm = name ? name : "";
    text_cut(suffix, sizeof(suffix), "-verify-%lld", (long long)generation);
    size_t room = DBROLLOUT_JOB_NAME_MAX - 1;
    if (strlen(nm) + strlen(suffix) <= room) {
        text_cut(out, n, "%s%s", nm, suffix);
        return;
    }
    /* "<cut name>-<8 hex>-verify-<generation>"; a cut must not end in '-' or '.' */
    int keep = (int)(room - strlen(suffix) - 9);
    while (keep > 0 && (nm[keep - 1] == '-' || nm[keep - 1] == '.'))
        keep--;
    text_cut(out, n, "%.*s-%08x%s", keep, nm, (unsigned)name_hash(nm), suffix);
}

bool dbrollout_phase_terminal(enum dbrollout_phase p)
{
    return p == DBROLLOUT_PHASE_SUCCEEDED || p == DBROLLOUT_PHASE_ROLLED_BACK ||
           p == DBROLLOUT_PHASE_FAILED;
}

static bool phase_in_progress(enum dbrollout_phase p)
{
    return p == DBROLLOUT_PHASE_APPLYING || p == DBROLLOUT_PHASE_WAITING_FOR_APP ||
           p == DBROLLOUT_PHASE_VERIFYING || p == DBROLLOUT_PHASE_ROLLING_BACK;
}

bool dbrollout_status_equal(const struct dbrollout_status *a, const struct dbrollout_status *b)
{
    return a->phase == b->phase && a->has_pre_start_tag == b->has_pre_start_tag &&
           strcmp(a->pre_start_tag, b->pre_start_tag) == 0 &&
           strcmp(a->applied_tag, b->applied_tag) == 0 &&
           strcmp(a->target_tag, b->target_tag) == 0 &&
           a->applied_changesets == b->applied_changesets &&
           a->rolled_back_changesets == b->rolled_back_changesets &&
           a->deployment_revision == b->deployment_revision &&
           a->previous_deployment_revision == b->previous_deployment_revision &&
           strcmp(a->message, b->message) == 0 && a->started_at_ms == b->started_at_ms &&
           a->finished_at_ms == b->finished_at_ms &&
           a->observed_generation == b->observed_generation &&
           a->retry_attempt == b->retry_attempt &&
           a->retry_not_before_ms == b->retry_not_before_ms &&
           a->rollback_cause == b->rollback_cause &&
           strcmp(a->verify_job, b->verify_job) == 0 && a->verify_result == b->verify_result &&
           strcmp(a->verify_reason, b->verify_reason) == 0 &&
           strcmp(a->verify_message, b->verify_message) == 0 &&
           a->verify_started_ms == b->verify_started_ms && plan_review_equal(&a->plan, &b->plan) &&
           strcmp(a->approved_plan_hash, b->approved_plan_hash) == 0 &&
           a->approved_at_ms == b->approved_at_ms && cond_list_equal(&a->conds, &b->conds);
}

/* ------------------------------------------------------------ retry */

#define RETRY_PREFIX "attempt "
#define RETRY_AT ", next retry at "

int64_t dbrollout_retry_delay_ms(long attempt)
{
    int64_t d = DBROLLOUT_RETRY_BASE_MS;
    for (long i = 1; i < attempt && d < DBROLLOUT_RETRY_MAX_MS; i++)
        d *= 2;
    return d < DBROLLOUT_RETRY_MAX_MS ? d : DBROLLOUT_RETRY_MAX_MS;
}

bool dbrollout_retry_from_message(const struct dbrollout_status *s, long *attempt,
                                  int64_t *not_before_ms)
{
    const struct cond *r = cond_find(&s->conds, COND_READY);
    const char *m = r ? r->message : s->message;
    size_t np = strlen(RETRY_PREFIX), na = strlen(RETRY_AT);
    if (strncmp(m, RETRY_PREFIX, np) != 0)
        return false;
    const char *d = m + np;
    long n = 0;
    if (*d < '0' || *d > '9')
        return false;
    for (; *d >= '0' && *d <= '9'; d++) {
        if (n > 1000000)
            return false;
        n = n * 10 + (*d - '0');
    }
    if (strncmp(d, RETRY_AT, na) != 0)
        return false;
    d += na;
    const char *end = strstr(d, ": "); /* RFC 3339 has ':' but never ": " */
    char t[48];
    if (!end || end - d >= (long)sizeof(t))
        return false;
    text_cut(t, sizeof(t), "%.*s", (int)(end - d), d);
    int64_t ms = rec_time_parse(t);
    if (ms <= 0)
        return false;
    *attempt = n;
    *not_before_ms = ms;
    return true;
}

long dbrollout_plan_steps(const struct chlog *cl, const struct plan *pl)
{
    return (long)plan_review_moving_steps(cl, pl);
}

/* -------------------------------------------------------- app state */

const char *dbrollout_app_noun(enum dbrollout_app_kind k)
{
    return k == DBROLLOUT_APP_ARGO_ROLLOUT ? "rollout" : "deployment";
}

/* An Argo Rollout whose generation was observed: the phase Argo's
 * controller computed (utils/rollout GetRolloutPhase), which already weighs
 * canary steps, pauses, analysis and the progress deadline.  Healthy counts
 * only once fully promoted (stableRS is the current template's hash), as the
 * plugin's `status` waits for; status.abort fails it even while Argo still
 * scales the stable ReplicaSet back up (phase Progressing). */
static enum dbrollout_app_state argo_rollout_state(const struct dbrollout_app *a)
{
    if (a->aborted || (a->phase && strcmp(a->phase, "Degraded") == 0))
        return DBROLLOUT_APP_FAILED;
    if (a->phase && strcmp(a->phase, "Healthy") == 0 && a->promoted)
        return DBROLLOUT_APP_COMPLETE;
    return DBROLLOUT_APP_PROGRESSING;
}

enum dbrollout_app_state dbrollout_app_state(const struct dbrollout_app *a)
{
    /* kubectl pkg/polymorphichelpers/rollout_status.go, in its order */
    if (!a->found)
        return DBROLLOUT_APP_WAITING;
    if (a->generation > a->observed_generation)
        return DBROLLOUT_APP_WAITING;
    if (a->kind == DBROLLOUT_APP_ARGO_ROLLOUT)
        return argo_rollout_state(a);
    if (a->progress_deadline_exceeded)
        return DBROLLOUT_APP_FAILED;
    if (a->updated_replicas < a->replicas)
        return DBROLLOUT_APP_PROGRESSING;
    if (a->status_replicas > a->updated_replicas)
        return DBROLLOUT_APP_PROGRESSING;
    if (a->available_replicas < a->updated_replicas)
        return DBROLLOUT_APP_PROGRESSING;
    return DBROLLOUT_APP_COMPLETE;
}

/* ------------------------------------------------------------- lock */

/* Splits "name/uid/generation"; false when malformed. */
static bool lock_parse(const char *v, char *name, size_t nname, char *uid, size_t nuid,
                       int64_t *gen)
{
    const char *s1 = strchr(v, '/');
    if (!s1)
        return false;
    const char *s2 = strchr(s1 + 1, '/');
    if (!s2 || s2 == s1 + 1 || s1 == v)
        return false;
    text_cut(name, nname, "%.*s", (int)(s1 - v), v);
    text_cut(uid, nuid, "%.*s", (int)(s2 - s1 - 1), s1 + 1);
    int64_t g = 0;
    const char *d = s2 + 1;
    if (!*d)
        return false;
    for (; *d; d++) {
        if (*d < '0' || *d > '9' || g > (INT64_MAX - 9) / 10)
            return false;
        g = g * 10 + (*d - '0');
    }
    *gen = g;
    return true;
}

void dbrollout_lock_id(const char *name, const char *uid, int64_t generation, char *out,
                       size_t n)
{
    text_cut(out, n, "%s/%s/%lld", name ? name : "", uid ? uid : "", (long long)generation);
}

bool dbrollout_lock_free(const char *holder, const char *self_uid,
                         const struct dbrollout_peer *peers, size_t npeers)
{
    char name[DBROLLOUT_NAME_MAX], uid[DBROLLOUT_NAME_MAX];
    int64_t gen = 0;
    if (!holder || !*holder)
        return true;
    if (!lock_parse(holder, name, sizeof(name), uid, sizeof(uid), &gen))
        return true; /* not ours to honour; the RV-checked write replaces it */
    if (self_uid && strcmp(uid, self_uid) == 0)
        return true;
    for (size_t i = 0; i < npeers; i++) {
        const struct dbrollout_peer *pe = &peers[i];
        if (!pe->uid || strcmp(pe->uid, uid) != 0)
            continue;
        if (pe->generation < gen)
            return false; /* our copy of the holder is older than its claim */
        if (phase_in_progress(pe->phase))
            return false;
        if (pe->phase == DBROLLOUT_PHASE_AWAITING_APPROVAL)
            return true; /* it released the lock to wait (a live read confirms a takeover) */
        if ((dbrollout_phase_terminal(pe->phase) || pe->phase == DBROLLOUT_PHASE_BLOCKED) &&
            pe->observed_generation >= gen)
            return true;
        return false; /* acquired, not started yet */
    }
    return true; /* the holder is gone */
}

static bool holds_lock(const struct dbrollout_observed *o)
{
    char name[DBROLLOUT_NAME_MAX], uid[DBROLLOUT_NAME_MAX];
    int64_t gen = 0;
    if (!o->lock_holder || !o->uid)
        return false;
    if (!lock_parse(o->lock_holder, name, sizeof(name), uid, sizeof(uid), &gen))
        return false;
    return strcmp(uid, o->uid) == 0;
}

static void holder_name(const char *holder, char *out, size_t n)
{
    const char *s = holder ? strchr(holder, '/') : NULL;
    if (!s)
        text_cut(out, n, "%s", holder ? holder : "");
    else
        text_cut(out, n, "%.*s", (int)(s - holder), holder);
}

/* ------------------------------------------------------------ helpers */

struct ctx {
    const struct dbrollout_observed *o;
    int64_t now;
    struct dbrollout_plan *p;
    struct dbrollout_status *st;
};

static void setstr(char *dst, size_t n, const char *s)
{
    text_cut(dst, n, "%s", s ? s : "");
}

static void event(struct ctx *c, const char *reason, bool warning, const char *fmt, ...)
    TM_PRINTF(4, 5);
static void event(struct ctx *c, const char *reason, bool warning, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rec_plan_event_vadd(c->p->events, DBROLLOUT_EVENTS_MAX, &c->p->nevents, reason, warning, fmt,
                        ap);
    va_end(ap);
}

static const char *ready_reason(const struct dbrollout_status *s)
{
    const struct cond *r = cond_find(&s->conds, COND_READY);
    return r ? r->reason : "";
}

/* True when the phase or the Ready reason differs from what was observed:
 * the guard for Events of states decided again on every reconcile. */
static bool changed_state(const struct ctx *c)
{
    return c->o->status.phase != c->st->phase ||
           strcmp(ready_reason(&c->o->status), ready_reason(c->st)) != 0;
}

/* Ready (and Reconciling/Stalled) and status.message.  Any Ready write ends
 * a retry: retry_later sets status.retry again right after its own. */
static void kstatus(struct ctx *c, enum cond_kstatus ks, const char *reason, const char *msg)
{
    cond_set_kstatus(&c->st->conds, ks, reason, msg, c->o->generation, c->now);
    setstr(c->st->message, sizeof(c->st->message), msg);
    c->st->retry_attempt = 0;
    c->st->retry_not_before_ms = 0;
}

static void setcond(struct ctx *c, const char *type, enum cond_status s, const char *reason,
                    const char *msg)
{
    cond_set(&c->st->conds, type, s, reason, msg, c->o->generation, c->now);
}

static void act(struct ctx *c, enum dbrollout_action_kind kind, const char *tag)
{
    c->p->action.kind = kind;
    c->p->action.tag = tag;
}

static void release_if_held(struct ctx *c)
{
    if (!holds_lock(c->o) || c->p->action.kind != DBROLLOUT_ACT_NONE)
        return;
    if (c->o->last.kind == DBROLLOUT_ACT_RELEASE_LOCK) {
        /* it just failed (a success clears the holder): not again in this
         * reconcile, retry with backoff */
        c->p->requeue_ms = DBROLLOUT_REQUEUE_RETRY_MS;
        c->p->backoff = true;
        return;
    }
    act(c, DBROLLOUT_ACT_RELEASE_LOCK, NULL);
    dbrollout_lock_id(c->o->name, c->o->uid, c->o->generation, c->p->action.lock_id,
                      sizeof(c->p->action.lock_id));
}

/* Takes row t of the table (dbrollout_table.c): records it in the plan's
 * trace and enters its next phase.  Returns the row's Ready reason (NULL:
 * Ready stays as it is). */
static const char *take(struct ctx *c, enum dbrollout_transition t)
{
    const struct dbrollout_row *r = dbrollout_row(t);
    if (c->p->ntrace < DBROLLOUT_TRACE_MAX)
        c->p->trace[c->p->ntrace++] = t;
    if (r && r->next != DBROLLOUT_PHASE_NONE)
        c->st->phase = r->next;
    return r ? r->reason : NULL;
}

/* A terminal phase (entered by the row just taken): this generation is
 * fully handled. */
static void finish(struct ctx *c)
{
    c->st->finished_at_ms = c->now;
    c->st->observed_generation = c->o->generation;
    c->p->requeue_ms = 0;
    c->p->backoff = false;
    release_if_held(c);
}

static void reconciling(struct ctx *c, const char *reason, const char *msg)
{
    kstatus(c, COND_KS_RECONCILING, reason, msg);
}

static void transient(struct ctx *c, enum dbrollout_transition t, const char *msg)
{
    reconciling(c, take(c, t), msg);
    c->p->requeue_ms = DBROLLOUT_REQUEUE_RETRY_MS;
    c->p->backoff = true;
}

/* A move (apply, rollback, restore) failed in a way a retry may fix: keep
 * the phase, record in the status which attempt this was and when the next
 * may run (one status write per attempt, not two), and wait that long.  A
 * reconcile woken earlier (say, by the watch event of this very write) sees
 * the time in the status and only requeues (dbrollout_decide). */
static void retry_later(struct ctx *c, enum dbrollout_transition t, const char *what)
{
    const char *reason = take(c, t);
    char at[48], msg[DBROLLOUT_MSG_MAX];
    long n = c->o->status.retry_attempt + 1;
    int64_t delay = dbrollout_retry_delay_ms(n);
    rec_time_format(c->now + delay, at, sizeof(at));
    /* the message says it for people; status.retry is what decide reads */
    text_cut(msg, sizeof(msg), RETRY_PREFIX "%ld" RETRY_AT "%s: %s", n, at, what);
    reconciling(c, reason, msg);
    c->st->retry_attempt = n;
    c->st->retry_not_before_ms = c->now + delay;
    c->p->requeue_ms = delay;
    c->p->backoff = false;
}

/* The status says a retry is under way: the attempt that is about to run
 * keeps it as it is (no write), so only its outcome is written. */
static bool retrying(const struct ctx *c)
{
    return c->st->retry_attempt > 0;
}

/* Pending for a reason worth an Event (waiting on something outside). */
static void pending(struct ctx *c, enum dbrollout_transition t, const char *msg,
                    int64_t requeue)
{
    const char *reason = take(c, t);
    reconciling(c, reason, msg);
    c->p->requeue_ms = requeue;
    if (changed_state(c))
        event(c, reason, false, "%s", msg);
}

/* Pending for a step of our own (locking, stamping): no Event. */
static void pending_quiet(struct ctx *c, enum dbrollout_transition t, const char *msg)
{
    reconciling(c, take(c, t), msg);
}

static void blocked(struct ctx *c, enum dbrollout_transition t, const char *msg)
{
    const char *reason = take(c, t);
    setstr(c->st->target_tag, sizeof(c->st->target_tag), c->o->spec.tag);
    kstatus(c, COND_KS_STALLED, reason, msg);
    c->st->observed_generation = c->o->generation;
    c->p->requeue_ms = DBROLLOUT_REQUEUE_BLOCKED_MS;
    if (changed_state(c))
        event(c, reason, true, "%s", msg);
    release_if_held(c);
}

static const char *prestart_label(const struct dbrollout_status *s)
{
    return s->pre_start_tag[0] ? s->pre_start_tag : "(empty database)";
}

static bool app_matches(const struct dbrollout_observed *o)
{
    return !o->app.template_tag || strcmp(o->app.template_tag, o->spec.tag) == 0;
}

static bool last_moved(const struct dbrollout_observed *o)
{
    return o->last.kind == DBROLLOUT_ACT_APPLY_TO_TAG ||
           o->last.kind == DBROLLOUT_ACT_ROLLBACK_TO_TAG;
}

/* The action just run moved the database toward tag. */
static bool last_moved_to(const struct dbrollout_observed *o, const char *tag)
{
    return last_moved(o) && o->last.tag && tag && strcmp(o->last.tag, tag) == 0;
}

/* ------------------------------------------------------- transitions */

static bool app_failed(struct ctx *c, const char *reason, const char *msg);

static const char *app_noun(const struct dbrollout_observed *o)
{
    return dbrollout_app_noun(o->spec.app_kind);
}

/* The app's own failure (dbrollout_app_state FAILED) as the reason of
 * AppAvailable and a message: a Deployment past its progress deadline, or an
 * Argo Rollout aborted or Degraded, with Argo's own message. */
static const char *app_failure(const struct dbrollout_observed *o, char *msg, size_t n)
{
    const struct dbrollout_app *a = &o->app;
    if (a->kind != DBROLLOUT_APP_ARGO_ROLLOUT) {
        text_cut(msg, n, "deployment %s revision %lld exceeded its progress deadline",
                 o->spec.deployment, (long long)a->revision);
        return "ProgressDeadlineExceeded";
    }
    text_cut(msg, n, "rollout %s revision %lld %s%s%s", o->spec.deployment,
             (long long)a->revision, a->aborted ? "was aborted" : "is Degraded",
             a->message && a->message[0] ? ": " : "", a->message ? a->message : "");
    return a->aborted ? "RolloutAborted" : "RolloutDegraded";
}

/* What the rollout reached, for Succeeded's message. */
static void reached(const struct ctx *c, char *msg, size_t n)
{
    if (c->o->spec.deployment)
        text_cut(msg, n, "instance %s at tag %s; %s %s revision %lld available",
                 c->o->spec.instance, c->o->spec.tag, app_noun(c->o), c->o->spec.deployment,
                 (long long)c->st->deployment_revision);
    else
        text_cut(msg, n, "instance %s at tag %s", c->o->spec.instance, c->o->spec.tag);
}

/* Ready's message while Verifying. */
static void verifying_message(const struct ctx *c, char *msg, size_t n)
{
    char at[DBROLLOUT_MSG_MAX];
    reached(c, at, sizeof(at));
    text_cut(msg, n, "%s; running verification Job %s (timeout %llds)", at, c->st->verify_job,
             (long long)c->o->spec.verify_timeout_s);
}

/* spec.verify: the app is available at the target (or, without a
 * Deployment, the schema is at the tag): name the Job in the status, which
 * is written before the action creates it. */
static void start_verifying(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    struct dbrollout_status *st = c->st;
    char msg[DBROLLOUT_MSG_MAX];
    dbrollout_verify_job_name(o->name, o->generation, st->verify_job, sizeof(st->verify_job));
    st->verify_result = DBROLLOUT_VERIFY_RUNNING;
    st->verify_reason[0] = '\0';
    st->verify_message[0] = '\0';
    st->verify_started_ms = c->now;
    verifying_message(c, msg, sizeof(msg));
    reconciling(c, take(c, DBROLLOUT_T_VERIFY_START), msg);
    event(c, "VerificationStarted", false, "%s", msg);
    act(c, DBROLLOUT_ACT_CREATE_VERIFY_JOB, NULL);
    text_cut(c->p->action.job_name, sizeof(c->p->action.job_name), "%s", st->verify_job);
    c->p->action.job_deadline_s = o->spec.verify_timeout_s;
}

/* The app is available at the target: Succeeded, or Verifying first. */
static void succeed(struct ctx *c)
{
    char msg[DBROLLOUT_MSG_MAX];
    if (c->o->spec.verify) {
        start_verifying(c);
        return;
    }
    reached(c, msg, sizeof(msg));
    kstatus(c, COND_KS_READY, take(c, DBROLLOUT_T_SUCCEED), msg);
    finish(c);
    event(c, "Succeeded", false, "%s", msg);
}

/* A changeset failed (or the move did not reach the tag). */
static bool apply_failed(struct ctx *c, const char *what)
{
    char msg[DBROLLOUT_MSG_MAX];
    const char *strategy = c->o->spec.cs_failure == DBROLLOUT_CS_FAILURE_ROLLBACK ? "Rollback"
                           : c->o->spec.cs_failure == DBROLLOUT_CS_FAILURE_MARK_NEXT_RUN
                               ? "MarkNextRun"
                               : "Fail";
    setcond(c, DBROLLOUT_COND_SCHEMA_APPLIED, COND_FALSE, "ApplyFailed", what);
    event(c, "ApplyFailed", true, "%s", what);
    if (c->o->spec.cs_failure == DBROLLOUT_CS_FAILURE_ROLLBACK) {
        text_cut(msg, sizeof(msg), "rolling back to preStartTag %s: %s",
                 prestart_label(c->st), what);
        const char *reason = take(c, DBROLLOUT_T_APPLY_FAILED_ROLLBACK);
        c->st->rollback_cause = DBROLLOUT_CAUSE_APPLY_FAILED;
        setcond(c, DBROLLOUT_COND_ROLLED_BACK, COND_FALSE, "ApplyFailed", msg);
        reconciling(c, reason, msg);
        return true;
    }
    text_cut(msg, sizeof(msg), "%s (changeSetFailureStrategy %s: schema left as is)", what,
             strategy);
    kstatus(c, COND_KS_STALLED, take(c, DBROLLOUT_T_APPLY_FAILED_KEEP), msg);
    finish(c);
    return false;
}

static void describe_last_failure(const struct dbrollout_observed *o, char *out, size_t n)
{
    if (o->last.changeset)
        text_cut(out, n, "changeset %s failed: %s", o->last.changeset,
                 o->last.error ? o->last.error : "error");
    else
        text_cut(out, n, "%s", o->last.error ? o->last.error : "error");
}

static bool approved_mid_move(struct ctx *c);

static bool step_applying(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    char msg[DBROLLOUT_MSG_MAX];

    if (last_moved_to(o, o->spec.tag) && o->last.code != TM_OK) {
        describe_last_failure(o, msg, sizeof(msg));
        if (o->last.retry != TM_RETRY_TERMINAL) {
            retry_later(c, DBROLLOUT_T_APPLY_RETRY, msg);
            return false;
        }
        return apply_failed(c, msg);
    }
    if (!o->db.reachable) {
        text_cut(msg, sizeof(msg), "database of instance %s unreachable: %s", o->spec.instance,
                 o->db.error ? o->db.error : "unknown error");
        transient(c, DBROLLOUT_T_UNREACHABLE, msg);
        return false;
    }
    if (o->spec.deployment && o->spec.order == DBROLLOUT_ORDER_PARALLEL) {
        enum dbrollout_app_state s = dbrollout_app_state(&o->app);
        bool timed_out = c->st->started_at_ms > 0 &&
                         c->now - c->st->started_at_ms > o->spec.app_timeout_s * 1000;
        if (s == DBROLLOUT_APP_FAILED && app_matches(o))
            return app_failed(c, app_failure(o, msg, sizeof(msg)), msg);
        if (timed_out) {
            text_cut(msg, sizeof(msg), "%s %s did not complete within appTimeoutSeconds",
                     app_noun(o), o->spec.deployment);
            return app_failed(c, "AppTimeout", msg);
        }
    }
    switch (o->db.target) {
    case DBROLLOUT_POS_FORWARD:
    case DBROLLOUT_POS_BACKWARD:
        if (last_moved_to(o, o->spec.tag)) {
            /* the move succeeded and the tag is still not reached: say so
             * rather than loop (e.g. changesets skipped by preconditions) */
            text_cut(msg, sizeof(msg),
                     "after the move, instance %s is still %ld changeset(s) away from tag %s",
                     o->spec.instance, o->db.target_steps, o->spec.tag);
            return apply_failed(c, msg);
        }
        if (!approved_mid_move(c))
            return false;
        text_cut(msg, sizeof(msg), "%s %ld changeset(s) to reach tag %s",
                 o->db.target == DBROLLOUT_POS_FORWARD ? "applying" : "rolling back",
                 o->db.target_steps, o->spec.tag);
        const char *reason = take(c, o->db.target == DBROLLOUT_POS_FORWARD
                                         ? DBROLLOUT_T_APPLY_FORWARD
                                         : DBROLLOUT_T_APPLY_BACKWARD);
        const char *applied_reason = "Applying";
        if (o->apply_wait.waiting) {
            /* in the apply line: say so, written once when the wait begins; while the
             * condition already says it, its message is kept (the counts move on every
             * poll, and 1,000 waiting rollouts must not write status each time) */
            applied_reason = "WaitingForApplySlot";
            const struct cond *cur = cond_find(&c->st->conds, DBROLLOUT_COND_SCHEMA_APPLIED);
            if (cur && cur->status == COND_FALSE && strcmp(cur->reason, applied_reason) == 0)
                text_cut(msg, sizeof(msg), "%s", cur->message);
            else
                dbrollout_apply_wait_message(&o->apply_wait, msg, sizeof(msg));
        }
        if (!retrying(c)) {
            reconciling(c, reason, msg);
            setcond(c, DBROLLOUT_COND_SCHEMA_APPLIED, COND_FALSE, applied_reason, msg);
        }
        act(c,
            o->db.target == DBROLLOUT_POS_FORWARD ? DBROLLOUT_ACT_APPLY_TO_TAG
                                                  : DBROLLOUT_ACT_ROLLBACK_TO_TAG,
            o->spec.tag);
        return false;
    case DBROLLOUT_POS_AT:
        break;
    case DBROLLOUT_POS_INVALID:
    case DBROLLOUT_POS_UNKNOWN:
        text_cut(msg, sizeof(msg), "cannot reach tag %s: %s", o->spec.tag,
                 o->db.target_error ? o->db.target_error : "unknown position");
        return apply_failed(c, msg);
    }

    /* the schema is at the tag */
    text_cut(msg, sizeof(msg), "instance %s at tag %s (%ld applied, %ld rolled back)",
             o->spec.instance, o->spec.tag, c->st->applied_changesets,
             c->st->rolled_back_changesets);
    if (!cond_is_true(&c->st->conds, DBROLLOUT_COND_SCHEMA_APPLIED))
        event(c, "SchemaApplied", false, "%s", msg);
    setcond(c, DBROLLOUT_COND_SCHEMA_APPLIED, COND_TRUE, "AtTag", msg);
    if (!o->spec.deployment) {
        succeed(c);
        return false;
    }
    if (o->spec.order == DBROLLOUT_ORDER_APP_FIRST &&
        dbrollout_app_state(&o->app) == DBROLLOUT_APP_COMPLETE && app_matches(o)) {
        succeed(c);
        return false;
    }
    take(c, DBROLLOUT_T_SCHEMA_AT_TAG);
    return true;
}

static bool step_waiting(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    const struct dbrollout_app *a = &o->app;
    char msg[DBROLLOUT_MSG_MAX];
    enum dbrollout_app_state s = dbrollout_app_state(a);
    bool matches = app_matches(o);
    int64_t deadline = c->st->started_at_ms + o->spec.app_timeout_s * 1000;
    bool timed_out = c->st->started_at_ms > 0 && c->now > deadline;

    if (a->found) {
        c->st->deployment_revision = a->revision;
        c->st->previous_deployment_revision = a->previous_revision;
    }
    if (s == DBROLLOUT_APP_COMPLETE && matches) {
        text_cut(msg, sizeof(msg), "%s %s revision %lld is %s (%lld/%lld replicas)",
                 app_noun(o), o->spec.deployment, (long long)a->revision,
                 a->kind == DBROLLOUT_APP_ARGO_ROLLOUT ? "Healthy" : "available",
                 (long long)a->available_replicas, (long long)a->replicas);
        if (!cond_is_true(&c->st->conds, DBROLLOUT_COND_APP_AVAILABLE))
            event(c, "AppAvailable", false, "%s", msg);
        setcond(c, DBROLLOUT_COND_APP_AVAILABLE, COND_TRUE, "RolloutComplete", msg);
        if (o->spec.order == DBROLLOUT_ORDER_APP_FIRST &&
            !cond_is_true(&c->st->conds, DBROLLOUT_COND_SCHEMA_APPLIED)) {
            take(c, DBROLLOUT_T_APP_AVAILABLE_APP_FIRST);
            return true;
        }
        succeed(c);
        return false;
    }
    if (s == DBROLLOUT_APP_FAILED && matches)
        return app_failed(c, app_failure(o, msg, sizeof(msg)), msg);
    if (timed_out) {
        text_cut(msg, sizeof(msg), "%s %s did not complete within appTimeoutSeconds (%lld s)",
                 app_noun(o), o->spec.deployment, (long long)o->spec.app_timeout_s);
        return app_failed(c, "AppTimeout", msg);
    }
    const char *reason = "Progressing";
    if (!a->found) {
        reason = a->kind == DBROLLOUT_APP_ARGO_ROLLOUT ? "RolloutNotFound" : "DeploymentNotFound";
        if (a->read_error)
            reason = a->kind == DBROLLOUT_APP_ARGO_ROLLOUT ? "RolloutUnreadable"
                                                           : "DeploymentUnreadable";
        text_cut(msg, sizeof(msg), "waiting for %s %s: %s", app_noun(o), o->spec.deployment,
                 a->read_error ? a->read_error : "not found");
    } else if (!matches) {
        reason = "WaitingForTemplate";
        text_cut(msg, sizeof(msg), "waiting for %s %s: its pod template is for tag %s, not %s",
                 app_noun(o), o->spec.deployment, a->template_tag, o->spec.tag);
    } else if (a->kind == DBROLLOUT_APP_ARGO_ROLLOUT) {
        text_cut(msg, sizeof(msg),
                 "waiting for rollout %s: %s%s%s, %lld of %lld updated replicas available",
                 o->spec.deployment, a->phase ? a->phase : "no phase yet",
                 a->message && a->message[0] ? ": " : "", a->message ? a->message : "",
                 (long long)a->available_replicas, (long long)a->updated_replicas);
    } else {
        text_cut(msg, sizeof(msg),
                 "waiting for deployment %s rollout: %lld of %lld updated replicas available",
                 o->spec.deployment, (long long)a->available_replicas,
                 (long long)a->updated_replicas);
    }
    setcond(c, DBROLLOUT_COND_APP_AVAILABLE, COND_FALSE, reason, msg);
    reconciling(c, take(c, DBROLLOUT_T_WAIT_APP), msg);
    int64_t left = deadline - c->now + 1000;
    c->p->requeue_ms = left > 0 && left < DBROLLOUT_REQUEUE_APP_MS ? left : DBROLLOUT_REQUEUE_APP_MS;
    return false;
}

/* The app-failure path (onAppFailure), entered by the app (hold/rollback:
 * the APP_FAILED_* rows) or by its verification (the VERIFY_FAILED_* rows):
 * Hold stops as is; RollbackSchema/RollbackBoth roll back with rollbackCause
 * AppFailed.  Returns true when decide goes on (RollingBack). */
static bool on_app_failure(struct ctx *c, enum dbrollout_transition hold,
                           enum dbrollout_transition rollback, const char *msg)
{
    const struct dbrollout_observed *o = c->o;
    char m[DBROLLOUT_MSG_MAX];
    /* the revision that failed, and what RollbackBoth restores */
    if (o->app.found) {
        c->st->deployment_revision = o->app.revision;
        c->st->previous_deployment_revision = o->app.previous_revision;
    }
    if (o->spec.on_app_failure == DBROLLOUT_ON_APP_FAILURE_HOLD) {
        text_cut(m, sizeof(m), "%s; onAppFailure Hold: schema and %s left as they are", msg,
                 app_noun(o));
        kstatus(c, COND_KS_STALLED, take(c, hold), m);
        finish(c);
        return false;
    }
    text_cut(m, sizeof(m), "%s; rolling back to preStartTag %s", msg, prestart_label(c->st));
    const char *rb = take(c, rollback);
    c->st->rollback_cause = DBROLLOUT_CAUSE_APP_FAILED;
    setcond(c, DBROLLOUT_COND_ROLLED_BACK, COND_FALSE, "AppFailed", m);
    reconciling(c, rb, m);
    return true;
}

static bool app_failed(struct ctx *c, const char *reason, const char *msg)
{
    setcond(c, DBROLLOUT_COND_APP_AVAILABLE, COND_FALSE, reason, msg);
    event(c, "AppFailed", true, "%s", msg);
    return on_app_failure(c, DBROLLOUT_T_APP_FAILED_HOLD, DBROLLOUT_T_APP_FAILED_ROLLBACK, msg);
}

/* The verification failed (reason: the Job's Failed reason, Timeout or
 * JobNotCreated): recorded in status.verification, then the app-failure path. */
static bool verification_failed(struct ctx *c, const char *reason, const char *msg)
{
    struct dbrollout_status *st = c->st;
    st->verify_result = DBROLLOUT_VERIFY_FAILED;
    text_cut(st->verify_reason, sizeof(st->verify_reason), "%s", reason);
    text_cut(st->verify_message, sizeof(st->verify_message), "%s", msg);
    event(c, "VerificationFailed", true, "%s", msg);
    return on_app_failure(c, DBROLLOUT_T_VERIFY_FAILED_HOLD, DBROLLOUT_T_VERIFY_FAILED_ROLLBACK,
                          msg);
}

/* Verifying: wait for the Job named in status.verification to end. */
static bool step_verifying(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    const struct dbrollout_job *j = &o->job;
    struct dbrollout_status *st = c->st;
    char msg[DBROLLOUT_MSG_MAX], what[DBROLLOUT_MSG_MAX];
    int64_t deadline = st->verify_started_ms + o->spec.verify_timeout_s * 1000;

    if (o->last.kind == DBROLLOUT_ACT_CREATE_VERIFY_JOB && o->last.code != TM_OK) {
        text_cut(what, sizeof(what), "creating verification Job %s failed: %s", st->verify_job,
                 o->last.error ? o->last.error : "error");
        if (o->last.retry != TM_RETRY_TERMINAL) {
            transient(c, DBROLLOUT_T_VERIFY_CREATE_RETRY, what);
            return false;
        }
        return verification_failed(c, "JobNotCreated", what);
    }
    if (j->found && j->complete) {
        char at[DBROLLOUT_MSG_MAX];
        reached(c, at, sizeof(at));
        text_cut(what, sizeof(what), "verification Job %s succeeded", st->verify_job);
        st->verify_result = DBROLLOUT_VERIFY_SUCCEEDED;
        st->verify_reason[0] = '\0';
        text_cut(st->verify_message, sizeof(st->verify_message), "%s", what);
        text_cut(msg, sizeof(msg), "%s; %s", at, what);
        kstatus(c, COND_KS_READY, take(c, DBROLLOUT_T_VERIFY_SUCCEED), msg);
        finish(c);
        event(c, "VerificationSucceeded", false, "%s", what);
        event(c, "Succeeded", false, "%s", msg);
        return false;
    }
    if (j->found && j->failed) {
        text_cut(what, sizeof(what), "verification Job %s failed: %s%s%s", st->verify_job,
                 j->reason ? j->reason : "Failed", j->message && *j->message ? ": " : "",
                 j->message ? j->message : "");
        return verification_failed(c, j->reason && *j->reason ? j->reason : "Failed", what);
    }
    if (st->verify_started_ms > 0 && c->now > deadline) {
        text_cut(what, sizeof(what),
                 "verification Job %s did not finish within spec.verify.timeout (%llds)",
                 st->verify_job, (long long)o->spec.verify_timeout_s);
        return verification_failed(c, "Timeout", what);
    }
    if (!j->found && o->last.kind != DBROLLOUT_ACT_CREATE_VERIFY_JOB) {
        /* named in the status, not there: a restart between the status write
         * and the create, or someone deleted it; the create is idempotent */
        verifying_message(c, msg, sizeof(msg));
        reconciling(c, take(c, DBROLLOUT_T_VERIFY_CREATE), msg);
        act(c, DBROLLOUT_ACT_CREATE_VERIFY_JOB, NULL);
        text_cut(c->p->action.job_name, sizeof(c->p->action.job_name), "%s", st->verify_job);
        int64_t left_s = (deadline - c->now) / 1000;
        c->p->action.job_deadline_s = left_s > 0 ? left_s : 1;
        return false;
    }
    verifying_message(c, msg, sizeof(msg)); /* as VERIFY_START wrote it: no new write */
    reconciling(c, take(c, DBROLLOUT_T_VERIFY_WAIT), msg);
    int64_t left = deadline - c->now + 1000;
    c->p->requeue_ms = left > 0 && left < DBROLLOUT_REQUEUE_BLOCKED_MS ? left
                                                                       : DBROLLOUT_REQUEUE_BLOCKED_MS;
    return false;
}

/* The undo failed for good (row t): Failed, RolledBack False. */
static bool undo_failed(struct ctx *c, enum dbrollout_transition t, const char *msg)
{
    const char *reason = take(c, t);
    kstatus(c, COND_KS_STALLED, reason, msg);
    setcond(c, DBROLLOUT_COND_ROLLED_BACK, COND_FALSE, reason, msg);
    event(c, reason, true, "%s", msg);
    finish(c);
    return false;
}

/* A step of the undo (row t); a retry keeps the status as it is. */
static void move_back(struct ctx *c, enum dbrollout_transition t, const char *msg)
{
    const char *reason = take(c, t);
    if (!retrying(c))
        reconciling(c, reason, msg);
}

/* RollbackBoth: put the app's previous pod template back, only while it is
 * still at the revision that failed (a Deployment: `kubectl rollout undo`;
 * an Argo Rollout: `kubectl argo rollouts undo`, the same patch). */
static bool restore(struct ctx *c)
{
    const struct dbrollout_status *st = c->st;
    char msg[DBROLLOUT_MSG_MAX];
    text_cut(msg, sizeof(msg), "restoring %s %s to revision %lld", app_noun(c->o),
             c->o->spec.deployment, (long long)st->previous_deployment_revision);
    move_back(c, DBROLLOUT_T_RESTORE, msg);
    act(c, DBROLLOUT_ACT_RESTORE_DEPLOYMENT, NULL);
    c->p->action.from_revision = st->deployment_revision;
    c->p->action.to_revision = st->previous_deployment_revision;
    return false;
}

static bool step_rolling_back(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    struct dbrollout_status *st = c->st;
    char msg[DBROLLOUT_MSG_MAX], what[DBROLLOUT_MSG_MAX];
    bool cause_app = st->rollback_cause == DBROLLOUT_CAUSE_APP_FAILED;

    if ((last_moved_to(o, st->pre_start_tag) || o->last.kind == DBROLLOUT_ACT_RESTORE_DEPLOYMENT) &&
        o->last.code != TM_OK) {
        describe_last_failure(o, what, sizeof(what));
        bool restoring = o->last.kind == DBROLLOUT_ACT_RESTORE_DEPLOYMENT;
        text_cut(msg, sizeof(msg), "%s%s failed: %s",
                 restoring ? "restoring the " : "rolling back to preStartTag",
                 restoring ? app_noun(o) : "", what);
        if (o->last.retry != TM_RETRY_TERMINAL) {
            retry_later(c, DBROLLOUT_T_ROLLBACK_RETRY, msg);
            return false;
        }
        return undo_failed(c, restoring ? DBROLLOUT_T_RESTORE_FAILED : DBROLLOUT_T_ROLLBACK_FAILED,
                           msg);
    }
    if (!st->has_pre_start_tag) {
        text_cut(msg, sizeof(msg), "cannot roll back: no preStartTag was recorded");
        kstatus(c, COND_KS_STALLED, take(c, DBROLLOUT_T_ROLLBACK_FAILED), msg);
        finish(c);
        return false;
    }
    if (!o->db.reachable) {
        text_cut(msg, sizeof(msg), "database of instance %s unreachable: %s", o->spec.instance,
                 o->db.error ? o->db.error : "unknown error");
        transient(c, DBROLLOUT_T_UNREACHABLE, msg);
        return false;
    }
    bool restored = o->last.kind == DBROLLOUT_ACT_RESTORE_DEPLOYMENT && o->last.code == TM_OK;
    bool restore_needed = cause_app &&
                          o->spec.on_app_failure == DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH &&
                          o->spec.deployment && st->previous_deployment_revision > 0 &&
                          !restored && o->app.found && o->app.revision == st->deployment_revision;
    /* undo in the reverse order of the rollout */
    bool schema_first_undo = o->spec.order == DBROLLOUT_ORDER_APP_FIRST;
    if (restore_needed && !schema_first_undo)
        return restore(c);
    switch (o->db.prestart) {
    case DBROLLOUT_POS_FORWARD:
    case DBROLLOUT_POS_BACKWARD:
        if (last_moved_to(o, st->pre_start_tag)) {
            text_cut(msg, sizeof(msg),
                     "after rolling back, instance %s is still %ld changeset(s) away from "
                     "preStartTag %s",
                     o->spec.instance, o->db.prestart_steps, prestart_label(st));
            return undo_failed(c, DBROLLOUT_T_ROLLBACK_FAILED, msg);
        }
        text_cut(msg, sizeof(msg), "returning instance %s to preStartTag %s (%ld changeset(s))",
                 o->spec.instance, prestart_label(st), o->db.prestart_steps);
        move_back(c, o->db.prestart == DBROLLOUT_POS_BACKWARD ? DBROLLOUT_T_RETURN_BACKWARD
                                                              : DBROLLOUT_T_RETURN_FORWARD,
                  msg);
        act(c,
            o->db.prestart == DBROLLOUT_POS_BACKWARD ? DBROLLOUT_ACT_ROLLBACK_TO_TAG
                                                     : DBROLLOUT_ACT_APPLY_TO_TAG,
            st->pre_start_tag);
        return false;
    case DBROLLOUT_POS_INVALID:
    case DBROLLOUT_POS_UNKNOWN:
        text_cut(msg, sizeof(msg), "cannot return to preStartTag %s: %s", prestart_label(st),
                 o->db.prestart_error ? o->db.prestart_error : "unknown position");
        return undo_failed(c, DBROLLOUT_T_ROLLBACK_FAILED, msg);
    case DBROLLOUT_POS_AT:
        break;
    }
    if (restore_needed)
        return restore(c);

    /* everything that had to go back is back */
    bool app_restored =
        cause_app && o->spec.on_app_failure == DBROLLOUT_ON_APP_FAILURE_ROLLBACK_BOTH &&
        st->previous_deployment_revision > 0;
    const struct cond *sa = cond_find(&st->conds, DBROLLOUT_COND_SCHEMA_APPLIED);
    char cause[DBROLLOUT_MSG_MAX];
    if (cause_app && st->verify_result == DBROLLOUT_VERIFY_FAILED)
        text_cut(cause, sizeof(cause), "verification Job %s failed", st->verify_job);
    else
        text_cut(cause, sizeof(cause), "%s",
                 cause_app ? "the application failed" : "a changeset failed");
    text_cut(msg, sizeof(msg), "instance %s back at preStartTag %s%s%s%s after %s%s%s",
        o->spec.instance, prestart_label(st), app_restored ? ", " : "",
        app_restored ? app_noun(o) : "", app_restored ? " restored to its previous revision" : "",
        cause, !cause_app && sa ? ": " : "", !cause_app && sa ? sa->message : "");
    setcond(c, DBROLLOUT_COND_ROLLED_BACK, COND_TRUE, cause_app ? "AppFailed" : "ApplyFailed",
            msg);
    if (cause_app)
        setcond(c, DBROLLOUT_COND_SCHEMA_APPLIED, COND_FALSE, "RolledBack", msg);
    if (cause_app) {
        kstatus(c, COND_KS_STALLED, take(c, DBROLLOUT_T_ROLLED_BACK), msg);
        event(c, "RolledBack", true, "%s", msg);
    } else {
        kstatus(c, COND_KS_STALLED, take(c, DBROLLOUT_T_ROLLED_BACK_APPLY_FAILED), msg);
        event(c, "Failed", true, "%s", msg);
    }
    finish(c);
    return false;
}

void dbrollout_apply_wait_message(const struct dbrollout_apply_wait *w, char *out, size_t n)
{
    bool server_full = w->limit > 0 && w->running >= w->limit;
    if (!server_full && w->limit_total > 0 && w->running_total >= w->limit_total)
        text_cut(out, n, "waiting for an apply slot: %d applies running on all servers (limit %d)",
                 w->running_total, w->limit_total);
    else if (w->limit > 0)
        text_cut(out, n, "waiting for an apply slot: %d applies running on %s (limit %d)",
                 w->running, w->server ? w->server : "?", w->limit);
    else /* a wake-up in flight: the counts say nothing */
        text_cut(out, n, "waiting for an apply slot on %s", w->server ? w->server : "?");
}

static void progress(struct ctx *c)
{
    for (int pass = 0; pass < 8; pass++) {
        bool again = false;
        switch (c->st->phase) {
        case DBROLLOUT_PHASE_APPLYING:
            again = step_applying(c);
            break;
        case DBROLLOUT_PHASE_WAITING_FOR_APP:
            again = step_waiting(c);
            break;
        case DBROLLOUT_PHASE_VERIFYING:
            again = step_verifying(c);
            break;
        case DBROLLOUT_PHASE_ROLLING_BACK:
            again = step_rolling_back(c);
            break;
        default:
            break;
        }
        if (!again)
            return;
    }
}

/* The checks every start (and retarget) passes before anything runs.
 * False: the plan is settled (Pending or Blocked). */
static bool preconditions(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    char msg[DBROLLOUT_MSG_MAX];

    if (o->spec.tag_from_error) {
        text_cut(msg, sizeof(msg), "cannot move instance %s: %s", o->spec.instance,
                 o->spec.tag_from_error);
        blocked(c, DBROLLOUT_T_INVALID_TARGET, msg);
        return false;
    }
    if (!o->instance_found) {
        text_cut(msg, sizeof(msg), "DBInstance %s not found", o->spec.instance);
        pending(c, DBROLLOUT_T_INSTANCE_NOT_FOUND, msg, DBROLLOUT_REQUEUE_PREREQ_MS);
        return false;
    }
    if (!o->schema_ready) {
        text_cut(msg, sizeof(msg), "the DBSchema of instance %s is not ready: %s",
                 o->spec.instance, o->schema_message ? o->schema_message : "not fetched yet");
        pending(c, DBROLLOUT_T_SCHEMA_NOT_READY, msg, DBROLLOUT_REQUEUE_PREREQ_MS);
        return false;
    }
    if (!o->db.reachable) {
        text_cut(msg, sizeof(msg), "database of instance %s unreachable: %s", o->spec.instance,
                 o->db.error ? o->db.error : "unknown error");
        pending(c, DBROLLOUT_T_START_UNREACHABLE, msg, DBROLLOUT_REQUEUE_PREREQ_MS);
        c->p->backoff = !o->db.error_terminal;
        return false;
    }
    if (o->db.target == DBROLLOUT_POS_INVALID || o->db.target == DBROLLOUT_POS_UNKNOWN) {
        text_cut(msg, sizeof(msg), "cannot move instance %s to tag %s: %s", o->spec.instance,
                 o->spec.tag, o->db.target_error ? o->db.target_error : "unknown tag");
        blocked(c, DBROLLOUT_T_INVALID_TARGET, msg);
        return false;
    }
    if (o->db.ndrift > 0) {
        text_cut(msg, sizeof(msg), "instance %s has drifted from its changelog (%ld change(s)%s%s)",
                 o->spec.instance, o->db.ndrift, o->db.drift_first ? ", first: " : "",
                 o->db.drift_first ? o->db.drift_first : "");
        blocked(c, DBROLLOUT_T_DRIFTED, msg);
        return false;
    }
    if (o->db.target == DBROLLOUT_POS_FORWARD && o->lint.denied > 0) {
        text_cut(msg, sizeof(msg), "policy of instance %s denies %ld change(s): %s",
                 o->spec.instance, o->lint.denied,
                 o->lint.first_denied ? o->lint.first_denied : "destructive change");
        blocked(c, DBROLLOUT_T_POLICY_DENIED, msg);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------ approval */

/* status.plan: the plan of the move to spec.tag, as observed now (a start or
 * a retarget records it; once the move began it stays as it ran).  An
 * approval recorded for another plan is dropped with it. */
static void record_plan(struct ctx *c)
{
    struct dbrollout_status *st = c->st;
    if (c->o->plan)
        st->plan = *c->o->plan;
    else
        memset(&st->plan, 0, sizeof(st->plan));
    if (strcmp(st->approved_plan_hash, st->plan.hash) != 0 || !st->plan.set) {
        st->approved_plan_hash[0] = '\0';
        st->approved_at_ms = 0;
    }
}

/* spec.approvedPlanHash is status.plan's hash (row PLAN_APPROVED): recorded
 * in status.approval, with an Event, the first time it is seen. */
static void record_approval(struct ctx *c)
{
    struct dbrollout_status *st = c->st;
    const struct plan_review *pl = &st->plan;
    take(c, DBROLLOUT_T_PLAN_APPROVED);
    if (strcmp(st->approved_plan_hash, pl->hash) == 0)
        return;
    setstr(st->approved_plan_hash, sizeof(st->approved_plan_hash), pl->hash);
    st->approved_at_ms = c->now;
    event(c, "PlanApproved", false, "plan %s approved: %s %zu changeset(s) of instance %s to tag %s",
          pl->hash, plan_review_direction_name(pl->direction), pl->total, c->o->spec.instance,
          c->o->spec.tag);
}

static bool approval_required(const struct dbrollout_observed *o)
{
    return o->spec.approval_required || o->instance_requires_approval;
}

/* With approval Required, the move goes on only when spec.approvedPlanHash
 * is the hash of the plan just recorded (a plan that changes nothing needs
 * none).  False: the plan is settled (AwaitingApproval). */
static bool approved(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    struct dbrollout_status *st = c->st;
    const struct plan_review *pl = &st->plan;
    char msg[DBROLLOUT_MSG_MAX], sh[PLAN_REVIEW_SHORT_HASH + 1];
    if (!approval_required(o) || (pl->set && pl->direction == PLAN_REVIEW_NONE))
        return true;
    const char *have = o->spec.approved_plan_hash;
    if (pl->set && have && strcmp(have, pl->hash) == 0) {
        record_approval(c);
        return true;
    }
    plan_review_short_hash(pl->hash, sh, sizeof(sh));
    if (!pl->set)
        text_cut(msg, sizeof(msg), "approval required, but the plan to tag %s could not be computed",
                 o->spec.tag);
    else
        text_cut(msg, sizeof(msg),
                 "plan %s (%s %zu changeset(s) of instance %s to tag %s) waits for approval%s: "
                 "set spec.approvedPlanHash to %s",
                 sh, plan_review_direction_name(pl->direction), pl->total, o->spec.instance,
                 o->spec.tag, have && *have ? " (spec.approvedPlanHash is for another plan)" : "",
                 pl->hash);
    bool new_plan = strcmp(o->status.plan.hash, pl->hash) != 0;
    const char *reason = take(c, DBROLLOUT_T_AWAITING_APPROVAL);
    setstr(st->target_tag, sizeof(st->target_tag), o->spec.tag);
    reconciling(c, reason, msg);
    st->approved_plan_hash[0] = '\0';
    st->approved_at_ms = 0;
    c->p->requeue_ms = DBROLLOUT_REQUEUE_BLOCKED_MS; /* a new changelog makes a new plan */
    if (changed_state(c) || new_plan)
        event(c, "PlanAwaitingApproval", false, "%s", msg);
    release_if_held(c);
    return false;
}

/* An approved move that has run nothing yet (by this rollout's counts):
 * the plan to spec.tag must still be the approved one, since the changelog
 * may change between retries.  A new plan is recorded and waits, in
 * Applying (lock and preStartTag kept), for its own approvedPlanHash.
 * Once something ran the rest of the plan is not checked again.  False:
 * held (PlanChanged). */
static bool approved_mid_move(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    struct dbrollout_status *st = c->st;
    char msg[DBROLLOUT_MSG_MAX], was[PLAN_REVIEW_SHORT_HASH + 1];
    if (!approval_required(o) || !st->approved_plan_hash[0] || !o->plan ||
        st->applied_changesets > 0 || st->rolled_back_changesets > 0 ||
        strcmp(o->plan->hash, st->approved_plan_hash) == 0)
        return true;
    const struct plan_review *pl = o->plan;
    bool new_plan = strcmp(o->status.plan.hash, pl->hash) != 0;
    st->plan = *pl; /* what would run now */
    if (o->spec.approved_plan_hash && strcmp(o->spec.approved_plan_hash, pl->hash) == 0) {
        record_approval(c);
        return true;
    }
    plan_review_short_hash(st->approved_plan_hash, was, sizeof(was));
    text_cut(msg, sizeof(msg),
             "the plan to tag %s changed after plan %s was approved, before anything ran (now %s "
             "%zu changeset(s)): set spec.approvedPlanHash to %s",
             o->spec.tag, was, plan_review_direction_name(pl->direction), pl->total, pl->hash);
    reconciling(c, take(c, DBROLLOUT_T_APPLY_PLAN_CHANGED), msg);
    c->p->requeue_ms = DBROLLOUT_REQUEUE_BLOCKED_MS;
    if (changed_state(c) || new_plan)
        event(c, "PlanAwaitingApproval", false, "%s", msg);
    return false;
}

/* Starts (or, retarget, restarts) the move to spec.tag; returns Ready's reason. */
static const char *begin_common(struct ctx *c, bool retarget)
{
    const struct dbrollout_observed *o = c->o;
    struct dbrollout_status *st = c->st;
    setstr(st->target_tag, sizeof(st->target_tag), o->spec.tag);
    st->started_at_ms = c->now;
    st->finished_at_ms = 0;
    bool app_first = o->spec.deployment && o->spec.order == DBROLLOUT_ORDER_APP_FIRST;
    const char *reason = take(c, retarget ? (app_first ? DBROLLOUT_T_RETARGET_APP_FIRST
                                                       : DBROLLOUT_T_RETARGET)
                                          : (app_first ? DBROLLOUT_T_BEGIN_APP_FIRST
                                                       : DBROLLOUT_T_BEGIN));
    cond_remove(&st->conds, DBROLLOUT_COND_ROLLED_BACK);
    st->rollback_cause = DBROLLOUT_CAUSE_NONE;
    st->verify_job[0] = '\0';
    st->verify_result = DBROLLOUT_VERIFY_NONE;
    st->verify_reason[0] = '\0';
    st->verify_message[0] = '\0';
    st->verify_started_ms = 0;
    setcond(c, DBROLLOUT_COND_SCHEMA_APPLIED, COND_FALSE, "Pending", "not applied yet");
    if (o->spec.deployment)
        setcond(c, DBROLLOUT_COND_APP_AVAILABLE, COND_FALSE, "Pending", "not observed yet");
    else
        cond_remove(&st->conds, DBROLLOUT_COND_APP_AVAILABLE);
    if (o->spec.tag_from_container)
        event(c, "TagResolved", false, "tag %s from image %s of container %s",
              o->spec.tag, o->spec.tag_from_image ? o->spec.tag_from_image : "",
              o->spec.tag_from_container);
    if (o->lint.warned > 0)
        event(c, "PolicyWarning", true, "policy of instance %s warns about %ld change(s): %s",
              o->spec.instance, o->lint.warned,
              o->lint.first_warned ? o->lint.first_warned : "destructive change");
    return reason;
}

static void start(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    struct dbrollout_status *st = c->st;
    char msg[DBROLLOUT_MSG_MAX], who[DBROLLOUT_NAME_MAX];

    if (!preconditions(c))
        return;
    record_plan(c);
    if (!approved(c))
        return;
    if (!dbrollout_lock_free(o->lock_holder, o->uid, o->peers, o->npeers)) {
        holder_name(o->lock_holder, who, sizeof(who));
        text_cut(msg, sizeof(msg), "instance %s is being changed by DBRollout %s",
                 o->spec.instance, who);
        pending(c, DBROLLOUT_T_LOCK_HELD, msg, DBROLLOUT_REQUEUE_LOCK_MS);
        return;
    }
    if (!o->lock_confirmed && o->last.kind == DBROLLOUT_ACT_ACQUIRE_LOCK) {
        /* lost the race for the lock (409) or the holder is alive after all */
        text_cut(msg, sizeof(msg), "instance %s: %s", o->spec.instance,
            o->last.error ? o->last.error : "lock not acquired");
        pending(c, DBROLLOUT_T_LOCK_LOST, msg, DBROLLOUT_REQUEUE_LOCK_MS);
        return;
    }
    if (!o->lock_confirmed) {
        text_cut(msg, sizeof(msg), "locking instance %s", o->spec.instance);
        pending_quiet(c, DBROLLOUT_T_LOCK, msg);
        act(c, DBROLLOUT_ACT_ACQUIRE_LOCK, NULL);
        c->p->action.expect_holder = o->lock_holder;
        dbrollout_lock_id(o->name, o->uid, o->generation, c->p->action.lock_id,
                          sizeof(c->p->action.lock_id));
        return;
    }
    if (o->last.kind != DBROLLOUT_ACT_STAMP_PRESTART || o->last.code != TM_OK ||
        !o->last.prestart_tag) {
        if (o->last.kind == DBROLLOUT_ACT_STAMP_PRESTART && o->last.code != TM_OK) {
            text_cut(msg, sizeof(msg), "recording preStartTag failed: %s",
                     o->last.error ? o->last.error : "error");
            transient(c, DBROLLOUT_T_STAMP_FAILED, msg);
            return;
        }
        text_cut(msg, sizeof(msg), "recording the preStartTag of instance %s", o->spec.instance);
        pending_quiet(c, DBROLLOUT_T_STAMP, msg);
        act(c, DBROLLOUT_ACT_STAMP_PRESTART, NULL);
        text_cut(c->p->action.proposed_tag, sizeof(c->p->action.proposed_tag),
                 "tidemark-prestart-%s-%lld", o->name, (long long)o->generation);
        return;
    }

    /* begin: the status carrying preStartTag is written before any move */
    st->has_pre_start_tag = true;
    setstr(st->pre_start_tag, sizeof(st->pre_start_tag), o->last.prestart_tag);
    st->applied_changesets = 0;
    st->rolled_back_changesets = 0;
    st->deployment_revision = 0;
    st->previous_deployment_revision = 0;
    const char *reason = begin_common(c, false);
    text_cut(msg, sizeof(msg), "moving instance %s from %s to tag %s (%s)", o->spec.instance,
             prestart_label(st), o->spec.tag,
             o->spec.order == DBROLLOUT_ORDER_APP_FIRST  ? "AppFirst"
             : o->spec.order == DBROLLOUT_ORDER_PARALLEL ? "Parallel"
                                                         : "SchemaFirst");
    reconciling(c, reason, msg);
    event(c, "RolloutStarted", false, "%s", msg);
    progress(c);
}

/* A new tag while a rollout runs: keep preStartTag, move to the new tag. */
static void retarget(struct ctx *c)
{
    const struct dbrollout_observed *o = c->o;
    char msg[DBROLLOUT_MSG_MAX];
    if (!o->db.reachable) {
        text_cut(msg, sizeof(msg), "database of instance %s unreachable: %s", o->spec.instance,
                 o->db.error ? o->db.error : "unknown error");
        transient(c, DBROLLOUT_T_UNREACHABLE, msg);
        return;
    }
    if (!preconditions(c))
        return;
    record_plan(c);
    if (!approved(c))
        return;
    const char *reason = begin_common(c, true);
    text_cut(msg, sizeof(msg), "retargeted to tag %s; preStartTag %s kept", o->spec.tag,
             prestart_label(c->st));
    reconciling(c, reason, msg);
    event(c, "RolloutRetargeted", false, "%s", msg);
    progress(c);
}

void dbrollout_decide(const struct dbrollout_observed *o, int64_t now_ms,
                      struct dbrollout_plan *p)
{
    memset(p, 0, sizeof(*p));
    p->status = o->status;
    struct ctx c = {.o = o, .now = now_ms, .p = p, .st = &p->status};
    struct dbrollout_status *st = &p->status;
    enum dbrollout_phase phase = st->phase;
    bool tag_changed = strcmp(st->target_tag, o->spec.tag) != 0;
    bool gen_changed = st->observed_generation != o->generation;

    if (dbrollout_phase_terminal(phase) && !tag_changed && !gen_changed) {
        /* kept until the spec changes; only a lock left behind is released */
        take(&c, DBROLLOUT_T_KEEP);
        release_if_held(&c);
        return;
    }
    if (phase_in_progress(phase) && !tag_changed && o->last.kind == DBROLLOUT_ACT_NONE &&
        o->status.retry_attempt > 0 && now_ms < o->status.retry_not_before_ms) {
        /* backing off after a failed move: woken early (a watch event of
         * our own status write, a secondary changing) — change nothing */
        take(&c, DBROLLOUT_T_BACKOFF);
        p->requeue_ms = o->status.retry_not_before_ms - now_ms;
        return;
    }
    if (last_moved(o)) {
        st->applied_changesets += o->last.applied;
        st->rolled_back_changesets += o->last.rolled_back;
    }
    if (o->db.reachable)
        setstr(st->applied_tag, sizeof(st->applied_tag), o->db.applied_tag);

    if (phase_in_progress(phase)) {
        if (tag_changed && phase != DBROLLOUT_PHASE_ROLLING_BACK)
            retarget(&c);
        else
            progress(&c);
        return;
    }
    start(&c);
}
