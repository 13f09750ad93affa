/* plan: status and planning from a changelog and its history (pure, no I/O).
 *
 * Both start by matching history rows to changesets by Liquibase identity
 * (id + author + filename; Flyway: script name) through a small hash index,
 * so that a no-op status over thousands of rows stays linear.
 * Invariants: the history is sorted by orderexecuted ascending (the reader
 * guarantees it); a plan references changesets and rows by index, so it is
 * valid only while both the chlog and the history it was built from live. */
#include "engine/engine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/caps.h"
#include "engine/select.h"

/* ---- matching ---------------------------------------------------------- */

struct match {
    long *row_of_set; /* per changeset: newest matching row, or -1 */
    long *set_of_row; /* per row: its changeset, or -1 (unknown) */
};

static const char *nz(const char *s)
{
    return s ? s : "";
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)nz(s); *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    h ^= 0xff; /* separator so ("ab","c") != ("a","bc") */
    h *= 1099511628211ull;
    return h;
}

static uint64_t key_set(const struct chlog_changeset *cs, bool flyway)
{
    uint64_t h = 14695981039346656037ull;
    if (flyway)
        return fnv(h, cs->filename);
    return fnv(fnv(fnv(h, cs->id), cs->author), cs->filename);
}

static uint64_t key_row(const struct engine_row *r, bool flyway)
{
    uint64_t h = 14695981039346656037ull;
    if (flyway)
        return fnv(h, r->filename);
    return fnv(fnv(fnv(h, r->id), r->author), r->filename);
}

static bool same(const struct chlog_changeset *cs, const struct engine_row *r, bool flyway)
{
    if (flyway)
        return strcmp(nz(cs->filename), nz(r->filename)) == 0;
    return strcmp(nz(cs->id), nz(r->id)) == 0 && strcmp(nz(cs->author), nz(r->author)) == 0 &&
           strcmp(nz(cs->filename), nz(r->filename)) == 0;
}

static bool same_set(const struct chlog_changeset *a, const struct chlog_changeset *b,
                     bool flyway)
{
    if (flyway)
        return strcmp(nz(a->filename), nz(b->filename)) == 0;
    return strcmp(nz(a->id), nz(b->id)) == 0 && strcmp(nz(a->author), nz(b->author)) == 0 &&
           strcmp(nz(a->filename), nz(b->filename)) == 0;
}

static void match_release(struct match *m)
{
    free(m->row_of_set);
    free(m->set_of_row);
    m->row_of_set = NULL;
    m->set_of_row = NULL;
}

/* Builds both maps.  Open addressing over changeset indexes; the first
 * changeset with an identity wins (duplicates are a parser's concern). */
static enum tm_code match_build(const struct chlog *cl, const struct engine_history *h,
                                struct match *m, struct tm_err *err)
{
    enum tm_code rc = TM_OK;
    size_t cap = 16;
    long *slots = NULL;
    bool fw = h->flyway;
    m->row_of_set = calloc(cl->nsets ? cl->nsets : 1, sizeof(long));
    m->set_of_row = calloc(h->nrows ? h->nrows : 1, sizeof(long));
    while (cap < 2 * cl->nsets + 2)
        cap *= 2;
    slots = malloc(cap * sizeof(long));
    if (!m->row_of_set || !m->set_of_row || !slots) {
        rc = tm_err_set(err, TM_E_NOMEM, "match history: out of memory");
        goto out;
    }
    for (size_t i = 0; i < cap; i++)
        slots[i] = -1;
    for (size_t i = 0; i < cl->nsets; i++) {
        m->row_of_set[i] = -1;
        size_t s = (size_t)key_set(&cl->sets[i], fw) & (cap - 1);
        while (slots[s] >= 0) {
            if (same_set(&cl->sets[slots[s]], &cl->sets[i], fw))
                break;
            s = (s + 1) & (cap - 1);
        }
        if (slots[s] < 0)
            slots[s] = (long)i;
    }
    for (size_t j = 0; j < h->nrows; j++) {
        const struct engine_row *r = &h->rows[j];
        m->set_of_row[j] = -1;
        size_t s = (size_t)key_row(r, fw) & (cap - 1);
        while (slots[s] >= 0) {
            if (same(&cl->sets[slots[s]], r, fw)) {
                m->set_of_row[j] = slots[s];
                m->row_of_set[slots[s]] = (long)j; /* rows ascend: newest wins */
                break;
            }
            s = (s + 1) & (cap - 1);
        }
    }
out:
    free(slots);
    if (rc != TM_OK)
        match_release(m);
    return rc;
}

/* ---- small helpers ------------------------------------------------------ */

void engine_changeset_name(const struct chlog_changeset *cs, char *out, size_t n)
{
    snprintf(out, n, "%s::%s::%s", nz(cs->filename), nz(cs->id), nz(cs->author));
}

/* chlog_find_tag's contract (first changeset carrying tag, or -1), kept here
 * so the planner depends on the model only. */
static long find_tag(const struct chlog *cl, const char *tag)
{
    for (size_t i = 0; i < cl->nsets; i++)
        if (cl->sets[i].tag && strcmp(cl->sets[i].tag, tag) == 0)
            return (long)i;
    return -1;
}

static bool checksum_accepted(const struct chlog_changeset *cs, const char *stored)
{
    if (!stored || strcmp(stored, cs->checksum) == 0)
        return true;
    /* an sqlFile with ${} written by Liquibase < 4.26 (checksum over the expanded text) */
    if (cs->checksum_legacy[0] && strcmp(stored, cs->checksum_legacy) == 0)
        return true;
    for (size_t i = 0; i < cs->nvalid_checksums; i++) {
        const char *v = cs->valid_checksums[i];
        if (v && (strcmp(v, stored) == 0 || strcmp(v, "ANY") == 0 || strcmp(v, "any") == 0))
            return true;
    }
    return false;
}

/* A changeset whose every change is tagDatabase (or that has none) undoes
 * itself: Liquibase rolls it back without rollback SQL. */
static bool self_undoing(const struct chlog_changeset *cs)
{
    for (size_t i = 0; i < cs->nchanges; i++)
        if (cs->changes[i].kind != CHLOG_CHANGE_TAG)
            return false;
    return true;
}

/* ---- status ------------------------------------------------------------ */

void engine_status_init(struct engine_status *s)
{
    memset(s, 0, sizeof(*s));
}

static void drift_release(struct engine_drift *d)
{
    free(d->id);
    free(d->author);
    free(d->filename);
    free(d->stored);
    free(d->expected);
}

void engine_status_release(struct engine_status *s)
{
    if (!s)
        return;
    free(s->applied_tag);
    free(s->pending);
    for (size_t i = 0; i < s->ndrift; i++)
        drift_release(&s->drift[i]);
    free(s->drift);
    free(s->last_applied);
    engine_status_init(s);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static enum tm_code add_drift(struct engine_status *s, enum engine_drift_reason reason,
                              const char *id, const char *author, const char *filename,
                              const char *stored, const char *expected, struct tm_err *err)
{
    struct engine_drift *nd = realloc(s->drift, (s->ndrift + 1) * sizeof(*nd));
    if (!nd)
        return tm_err_set(err, TM_E_NOMEM, "status: out of memory");
    s->drift = nd;
    struct engine_drift *d = &s->drift[s->ndrift];
    memset(d, 0, sizeof(*d));
    d->reason = reason;
    d->id = dup_or_null(id);
    d->author = dup_or_null(author);
    d->filename = dup_or_null(filename);
    d->stored = dup_or_null(stored);
    d->expected = dup_or_null(expected);
    s->ndrift++;
    if ((id && !d->id) || (author && !d->author) || (filename && !d->filename) ||
        (stored && !d->stored) || (expected && !d->expected))
        return tm_err_set(err, TM_E_NOMEM, "status: out of memory");
    return TM_OK;
}

/* The applied tag: newest row carrying a TAG, or whose changeset carries one. */
static const char *applied_tag_of(const struct chlog *cl, const struct engine_history *h,
                                  const struct match *m)
{
    for (size_t k = h->nrows; k-- > 0;) {
        const struct engine_row *r = &h->rows[k];
        if (r->exectype == ENGINE_EXEC_FAILED)
            continue;
        if (r->tag && *r->tag)
            return r->tag;
        long si = m->set_of_row[k];
        if (si >= 0 && cl->sets[si].tag && m->row_of_set[si] == (long)k)
            return cl->sets[si].tag;
    }
    return NULL;
}

/* Computes drift into s (status and plan share it). */
static enum tm_code compute_drift(const struct chlog *cl, const struct engine_history *h,
                                  const struct match *m, struct engine_status *s,
                                  struct tm_err *err)
{
    enum tm_code rc;
    for (size_t i = 0; i < cl->nsets; i++) {
        const struct chlog_changeset *cs = &cl->sets[i];
        long r = m->row_of_set[i];
        if (r < 0 || cs->run_on_change || cs->run_always)
            continue;
        const struct engine_row *row = &h->rows[r];
        if (row->exectype == ENGINE_EXEC_FAILED)
            continue;
        if (!checksum_accepted(cs, row->md5sum)) {
            rc = add_drift(s, ENGINE_DRIFT_CHECKSUM_MISMATCH, cs->id, cs->author, cs->filename,
                           row->md5sum, cs->checksum, err);
            if (rc != TM_OK)
                return rc;
        }
    }
    for (size_t j = 0; j < h->nrows; j++) {
        if (m->set_of_row[j] >= 0)
            continue;
        const struct engine_row *row = &h->rows[j];
        rc = add_drift(s, ENGINE_DRIFT_UNKNOWN_CHANGESET, row->id, row->author, row->filename,
                       row->md5sum, NULL, err);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

/* Whether a forward run would execute set i (given its row r or -1). */
static bool wants_run(const struct chlog_changeset *cs, const struct engine_history *h, long r,
                      bool *rerun)
{
    *rerun = false;
    if (r < 0 || h->rows[r].exectype == ENGINE_EXEC_FAILED)
        return true;
    if (cs->run_always) {
        *rerun = true;
        return true;
    }
    if (cs->run_on_change && !checksum_accepted(cs, h->rows[r].md5sum)) {
        *rerun = true;
        return true;
    }
    return false;
}

enum tm_code engine_status_compute(const struct chlog *cl, const struct engine_history *h,
                                   const char *context, struct engine_status *out,
                                   struct tm_err *err)
{
    return engine_status_compute_filtered(cl, h, context, NULL, out, err);
}

enum tm_code engine_status_compute_filtered(const struct chlog *cl,
                                            const struct engine_history *h,
                                            const char *context, const char *label_filter,
                                            struct engine_status *out, struct tm_err *err)
{
    const struct select_run run = {context, label_filter};
    struct match m = {0};
    enum tm_code rc = match_build(cl, h, &m, err);
    if (rc != TM_OK)
        return rc;
    engine_status_init(out);
    out->history_exists = h->exists;
    out->nrows = h->nrows;
    out->pending = calloc(cl->nsets ? cl->nsets : 1, sizeof(size_t));
    if (!out->pending) {
        rc = tm_err_set(err, TM_E_NOMEM, "status: out of memory");
        goto out;
    }
    for (size_t i = 0; i < cl->nsets; i++) {
        const struct chlog_changeset *cs = &cl->sets[i];
        long r = m.row_of_set[i];
        bool rerun, sel = false;
        if (r >= 0 && h->rows[r].exectype != ENGINE_EXEC_FAILED)
            out->applied++;
        /* every changeset goes through the filters, as in Liquibase's
         * iterator (an expression it cannot parse fails the run) */
        rc = select_changeset(&run, cs, &sel, err);
        if (rc != TM_OK)
            goto out;
        /* runAlways changesets are not counted as pending: they would never
         * leave the list. */
        if (wants_run(cs, h, r, &rerun) && !(rerun && cs->run_always) && sel)
            out->pending[out->npending++] = i;
    }
    rc = compute_drift(cl, h, &m, out, err);
    if (rc != TM_OK)
        goto out;
    const char *tag = applied_tag_of(cl, h, &m);
    if (tag && !(out->applied_tag = strdup(tag))) {
        rc = tm_err_set(err, TM_E_NOMEM, "status: out of memory");
        goto out;
    }
    if (h->nrows > 0) {
        const struct engine_row *last = &h->rows[h->nrows - 1];
        char name[1024];
        snprintf(name, sizeof(name), "%s::%s::%s", nz(last->filename), nz(last->id),
                 nz(last->author));
        if (!(out->last_applied = strdup(name))) {
            rc = tm_err_set(err, TM_E_NOMEM, "status: out of memory");
            goto out;
        }
    }
out:
    match_release(&m);
    if (rc != TM_OK)
        engine_status_release(out);
    return rc;
}

/* ---- planner ----------------------------------------------------------- */

void plan_init(struct plan *p)
{
    memset(p, 0, sizeof(*p));
}

void plan_release(struct plan *p)
{
    if (!p)
        return;
    free(p->steps);
    free(p->target_tag);
    plan_init(p);
}

static enum tm_code push_step(struct plan *p, enum plan_action a, long set, long row,
                              const char *rollback_sql, struct tm_err *err)
{
    struct plan_step *ns = realloc(p->steps, (p->nsteps + 1) * sizeof(*ns));
    if (!ns)
        return tm_err_set(err, TM_E_NOMEM, "plan: out of memory");
    p->steps = ns;
    p->steps[p->nsteps++] = (struct plan_step){a, set, row, rollback_sql};
    return TM_OK;
}

/* Lists every known tag (changelog order, then history-only tags) into err. */
static enum tm_code unknown_tag(const struct chlog *cl, const struct engine_history *h,
                                const char *tag, struct tm_err *err)
{
    struct tm_buf b;
    tm_buf_init(&b, TM_CAP_SMALL);
    enum tm_code rc = TM_OK;
    for (size_t i = 0; i < cl->nsets && rc == TM_OK; i++)
        if (cl->sets[i].tag)
            rc = tm_buf_addf(&b, "%s%s", b.len ? ", " : "", cl->sets[i].tag);
    for (size_t j = 0; j < h->nrows && rc == TM_OK; j++) {
        const char *t = h->rows[j].tag;
        if (t && *t && find_tag(cl, t) < 0)
            rc = tm_buf_addf(&b, "%s%s", b.len ? ", " : "", t);
    }
    tm_err_set(err, TM_E_NOTFOUND, "unknown tag \"%s\" (known tags: %s)", tag,
               b.len ? tm_buf_str(&b) : "none");
    tm_buf_release(&b);
    return TM_E_NOTFOUND;
}

/* Rollback steps for at most limit rows of [first, nrows), newest first,
 * skipping rows whose changeset the run does not select (Liquibase's
 * rollback iterator applies the context and label filters before its count
 * filter, so --count N counts selected rows). */
static enum tm_code plan_rollback_rows(const struct chlog *cl, const struct engine_history *h,
                                       const struct match *m, size_t first, size_t limit,
                                       const struct select_run *run, struct plan *p,
                                       struct tm_err *err)
{
    p->rollback = true;
    long *rows = malloc((h->nrows ? h->nrows : 1) * sizeof(*rows));
    size_t n = 0;
    enum tm_code rc = TM_OK;
    if (!rows)
        return tm_err_set(err, TM_E_NOMEM, "plan: out of memory");
    /* Validate everything before planning anything. */
    for (size_t k = h->nrows; k-- > first && n < limit;) {
        const struct engine_row *r = &h->rows[k];
        long si = m->set_of_row[k];
        if (si < 0) {
            rc = tm_err_set(err, TM_E_POLICY,
                            "cannot roll back %s::%s::%s: no such changeset in the changelog",
                            nz(r->filename), nz(r->id), nz(r->author));
            goto out;
        }
        const struct chlog_changeset *cs = &cl->sets[si];
        bool sel = false;
        rc = select_changeset(run, cs, &sel, err);
        if (rc != TM_OK)
            goto out;
        if (!sel)
            continue;
        rows[n++] = (long)k;
        if (!self_undoing(cs) && !cs->has_rollback) {
            char name[1024];
            engine_changeset_name(cs, name, sizeof(name));
            rc = tm_err_set(err, TM_E_POLICY, "changeset %s has no rollback", name);
            goto out;
        }
    }
    for (size_t i = 0; i < n && rc == TM_OK; i++) {
        long k = rows[i];
        const struct chlog_changeset *cs = &cl->sets[m->set_of_row[k]];
        const char *sql = NULL;
        if (!self_undoing(cs))
            sql = cs->rollback_sql ? cs->rollback_sql : "";
        rc = push_step(p, PLAN_ROLLBACK, m->set_of_row[k], k, sql, err);
    }
out:
    free(rows);
    return rc;
}

static enum tm_code plan_forward(const struct chlog *cl, const struct engine_history *h,
                                 const struct match *m, size_t upto,
                                 const struct select_run *run, struct plan *p,
                                 struct tm_err *err)
{
    for (size_t i = 0; i < upto; i++) {
        const struct chlog_changeset *cs = &cl->sets[i];
        long r = m->row_of_set[i];
        bool rerun, sel = false;
        /* the filters see every changeset, as in Liquibase's update */
        enum tm_code src = select_changeset(run, cs, &sel, err);
        if (src != TM_OK)
            return src;
        if (!wants_run(cs, h, r, &rerun))
            continue;
        if (!sel) {
            p->nskipped_context++;
            continue;
        }
        if (rerun && r >= 0 && h->rows[r].exectype == ENGINE_EXEC_FAILED)
            rerun = false;
        enum tm_code rc = push_step(p, rerun ? PLAN_RERUN : PLAN_APPLY, (long)i,
                                    rerun ? r : -1, NULL, err);
        if (rc != TM_OK)
            return rc;
    }
    return TM_OK;
}

enum tm_code plan_build(const struct chlog *cl, const struct engine_history *h,
                        const struct plan_opts *o, struct plan *out, struct tm_err *err)
{
    const struct select_run run = {o->context, o->label_filter};
    struct match m = {0};
    struct engine_status drift;
    engine_status_init(&drift);
    plan_init(out);
    enum tm_code rc = match_build(cl, h, &m, err);
    if (rc != TM_OK)
        return rc;
    if (!o->allow_drift) {
        rc = compute_drift(cl, h, &m, &drift, err);
        if (rc != TM_OK)
            goto out;
        if (drift.ndrift > 0) {
            const struct engine_drift *d = &drift.drift[0];
            if (d->reason == ENGINE_DRIFT_CHECKSUM_MISMATCH)
                rc = tm_err_set(err, TM_E_DRIFT,
                                "drift: changeset %s::%s::%s checksum changed (stored %s, "
                                "changelog %s)%s",
                                nz(d->filename), nz(d->id), nz(d->author), nz(d->stored),
                                nz(d->expected), drift.ndrift > 1 ? " and more" : "");
            else
                rc = tm_err_set(err, TM_E_DRIFT,
                                "drift: history row %s::%s::%s has no changeset in the "
                                "changelog%s",
                                nz(d->filename), nz(d->id), nz(d->author),
                                drift.ndrift > 1 ? " and more" : "");
            goto out;
        }
    }
    if (o->count >= 0) {
        rc = plan_rollback_rows(cl, h, &m, 0, (size_t)o->count, &run, out, err);
        goto out;
    }
    if (o->tag && !*o->tag) {
        rc = plan_rollback_rows(cl, h, &m, 0, SIZE_MAX, &run, out, err);
        if (rc == TM_OK && !(out->target_tag = strdup("")))
            rc = tm_err_set(err, TM_E_NOMEM, "plan: out of memory");
        goto out;
    }
    if (!o->tag) {
        rc = plan_forward(cl, h, &m, cl->nsets, &run, out, err);
        if (rc == TM_OK && cl->nsets > 0) {
            /* Latest: the target tag is the last tag in the changelog when
             * nothing comes after it. */
            for (size_t i = cl->nsets; i-- > 0;) {
                if (cl->sets[i].tag) {
                    if (i == cl->nsets - 1 && !(out->target_tag = strdup(cl->sets[i].tag)))
                        rc = tm_err_set(err, TM_E_NOMEM, "plan: out of memory");
                    break;
                }
            }
        }
        goto out;
    }
    /* A named tag: in history first (oldest row carrying it), then in the
     * changelog. */
    long t = find_tag(cl, o->tag);
    long k = -1;
    for (size_t j = 0; j < h->nrows; j++) {
        if (h->rows[j].tag && strcmp(h->rows[j].tag, o->tag) == 0) {
            k = (long)j;
            break;
        }
    }
    if (k < 0 && t >= 0 && m.row_of_set[t] >= 0 &&
        h->rows[m.row_of_set[t]].exectype != ENGINE_EXEC_FAILED)
        k = m.row_of_set[t];
    if (k < 0 && t < 0) {
        rc = unknown_tag(cl, h, o->tag, err);
        goto out;
    }
    if (!(out->target_tag = strdup(o->tag))) {
        rc = tm_err_set(err, TM_E_NOMEM, "plan: out of memory");
        goto out;
    }
    if (k >= 0 && (size_t)k + 1 < h->nrows) {
        rc = plan_rollback_rows(cl, h, &m, (size_t)k + 1, SIZE_MAX, &run, out, err);
        goto out;
    }
    if (t >= 0)
        rc = plan_forward(cl, h, &m, (size_t)t + 1, &run, out, err);
out:
    engine_status_release(&drift);
    match_release(&m);
    if (rc != TM_OK)
        plan_release(out);
    return rc;
}

enum tm_code plan_to_tag(const struct chlog *cl, const struct engine_history *h,
                         const char *tag, long count, struct plan *out, struct tm_err *err)
{
    struct plan_opts o = {.tag = tag, .count = count, .context = NULL, .allow_drift = false};
    return plan_build(cl, h, &o, out, err);
}
