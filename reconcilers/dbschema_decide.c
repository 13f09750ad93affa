/* dbschema decide: fetch/parse result and referencing instances -> status (see dbschema.h). */
#include "reconcilers/dbschema.h"
#include "reconcilers/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool content_equal(const struct dbschema_status *a, const struct dbschema_status *b)
{
    if (!text_streq(a->source, b->source) || !text_streq(a->revision, b->revision) ||
        a->ntags != b->ntags || a->changesets != b->changesets ||
        a->ninstances != b->ninstances || a->observed_generation != b->observed_generation ||
        !cond_list_equal(&a->conds, &b->conds))
        return false;
    for (size_t i = 0; i < a->ntags; i++) {
        if (!text_streq(a->tags[i], b->tags[i]))
            return false;
    }
    for (size_t i = 0; i < a->ninstances; i++) {
        const struct dbschema_instance *x = &a->instances[i], *y = &b->instances[i];
        if (!text_streq(x->name, y->name) || !text_streq(x->applied_tag, y->applied_tag) ||
            x->pending != y->pending || !text_streq(x->ready, y->ready))
            return false;
    }
    if (a->instance_count != b->instance_count || a->instances_ready != b->instances_ready ||
        a->nby_tag != b->nby_tag)
        return false;
    for (size_t i = 0; i < a->nby_tag; i++) {
        if (!text_streq(a->by_tag[i].tag, b->by_tag[i].tag) ||
            a->by_tag[i].count != b->by_tag[i].count)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------ the matrix */

static bool is_ready(const struct dbschema_instance *x)
{
    return x->ready && strcmp(x->ready, "True") == 0;
}

/* 0: Ready is not True; 1: Ready, with pending changesets; 2: the rest. */
static int attention_rank(const struct dbschema_instance *x)
{
    if (!is_ready(x))
        return 0;
    return x->pending > 0 ? 1 : 2;
}

static int listed_cmp(const void *a, const void *b)
{
    return strcmp(((const struct dbschema_instance *)a)->name,
                  ((const struct dbschema_instance *)b)->name);
}

/* Sort key of an applied tag in instancesByTag: newest changelog tag first
 * (0 .. ntags-1), then tags the changelog does not have, then "". */
static size_t tag_order(const char *tag, const char *const *tags, size_t ntags)
{
    if (!tag || !*tag)
        return ntags + 1;
    for (size_t i = 0; i < ntags; i++) {
        if (text_streq(tags[ntags - 1 - i], tag))
            return i;
    }
    return ntags;
}

void dbschema_matrix(const struct dbschema_instance *all, size_t n, const char *const *tags,
                     size_t ntags, struct dbschema_plan *p)
{
    struct dbschema_status *st = &p->status;
    size_t nl = 0, nt = 0;
    long ready = 0;
    for (int rank = 0; rank <= 2; rank++) {
        for (size_t i = 0; i < n && nl < DBSCHEMA_MATRIX_LISTED; i++) {
            if (attention_rank(&all[i]) == rank)
                p->listed[nl++] = all[i];
        }
    }
    qsort(p->listed, nl, sizeof(p->listed[0]), listed_cmp);
    for (size_t i = 0; i < n; i++) {
        const char *tag = all[i].applied_tag ? all[i].applied_tag : "";
        ready += is_ready(&all[i]);
        size_t k = 0;
        while (k < nt && strcmp(p->by_tag[k].tag, tag) != 0)
            k++;
        if (k == nt && nt < DBSCHEMA_MATRIX_TAGS)
            p->by_tag[nt++] = (struct dbschema_tag_count){tag, 0};
        if (k < nt)
            p->by_tag[k].count++;
    }
    /* insertion sort: at most DBSCHEMA_MATRIX_TAGS rows, and qsort's
     * comparator has no room for the changelog's tags */
    for (size_t i = 1; i < nt; i++) {
        struct dbschema_tag_count x = p->by_tag[i];
        size_t ox = tag_order(x.tag, tags, ntags), j = i;
        while (j > 0) {
            size_t oy = tag_order(p->by_tag[j - 1].tag, tags, ntags);
            if (oy < ox || (oy == ox && strcmp(p->by_tag[j - 1].tag, x.tag) <= 0))
                break;
            p->by_tag[j] = p->by_tag[j - 1];
            j--;
        }
        p->by_tag[j] = x;
    }
    st->instances = p->listed;
    st->ninstances = nl;
    st->instance_count = (long)n;
    st->instances_ready = ready;
    st->by_tag = p->by_tag;
    st->nby_tag = nt;
}

bool dbschema_status_equal(const struct dbschema_status *a, const struct dbschema_status *b)
{
    return a->last_fetch_ms == b->last_fetch_ms && content_equal(a, b);
}

static void event(struct dbschema_plan *p, const char *reason, bool warning, const char *note)
{
    rec_plan_event_add(p->events, sizeof(p->events) / sizeof(p->events[0]), &p->nevents, reason,
                       warning, "%s", note);
}

static const char *ready_reason(const struct cond_list *l)
{
    const struct cond *c = cond_find(l, COND_READY);
    return c ? c->reason : "";
}

void dbschema_decide(const struct dbschema_observed *o, int64_t now_ms, struct dbschema_plan *p)
{
    char msg[COND_MESSAGE_MAX];
    memset(p, 0, sizeof(*p));
    p->status = o->status;
    struct dbschema_status *st = &p->status;
    struct cond_list *cl = &st->conds;
    int64_t gen = o->generation;

    st->observed_generation = gen;
    dbschema_matrix(o->instances, o->ninstances, o->tags ? o->tags : o->status.tags,
                    o->tags ? o->ntags : o->status.ntags, p);
    if (o->source)
        st->source = o->source;
    p->requeue_ms = o->git ? o->interval_ms : 0;

    if (o->spec_error) {
        text_cut(msg, sizeof(msg), "invalid spec: %s", o->spec_error);
        cond_set_kstatus(cl, COND_KS_STALLED, "InvalidSpec", msg, gen, now_ms);
        if (strcmp(ready_reason(&o->status.conds), "InvalidSpec") != 0)
            event(p, "InvalidSpec", true, msg);
        p->requeue_ms = 0;
        goto out;
    }
    if (!o->fetched) {
        bool terminal = o->fetch_retry == TM_RETRY_TERMINAL;
        text_cut(msg, sizeof(msg), "fetching %s failed: %s", o->source ? o->source : "the source",
            o->fetch_error ? o->fetch_error : "error");
        cond_set_kstatus(cl, terminal ? COND_KS_STALLED : COND_KS_RECONCILING, "FetchFailed", msg,
                         gen, now_ms);
        if (strcmp(ready_reason(&o->status.conds), "FetchFailed") != 0)
            event(p, "FetchFailed", true, msg);
        if (!terminal) {
            p->requeue_ms = DBSCHEMA_RETRY_MS;
            p->backoff = true;
        }
        goto out;
    }
    if (!o->parsed) {
        text_cut(msg, sizeof(msg), "revision %s does not parse: %s", o->revision ? o->revision : "?",
            o->parse_error ? o->parse_error : "error");
        cond_set_kstatus(cl, COND_KS_STALLED, "ParseFailed", msg, gen, now_ms);
        const struct cond *old = cond_find(&o->status.conds, COND_STALLED);
        if (!old || strcmp(old->message, msg) != 0)
            event(p, "ParseFailed", true, msg);
        goto out;
    }

    if (!text_streq(o->revision, o->status.revision)) {
        text_cut(msg, sizeof(msg), "new revision %s: %ld changeset(s), %zu tag(s)%s%s",
            o->revision ? o->revision : "", o->changesets, o->ntags, o->ntags ? ", latest " : "",
            o->ntags ? o->tags[o->ntags - 1] : "");
        event(p, "NewRevision", false, msg);
        if (o->nwarnings) {
            text_cut(msg, sizeof(msg), "revision %s loads with %zu warning(s) Liquibase also "
                     "tolerates; the first: %s", o->revision ? o->revision : "", o->nwarnings,
                     o->warning ? o->warning : "");
            event(p, "ChangelogWarnings", true, msg);
        }
    }
    st->revision = o->revision;
    st->tags = o->tags;
    st->ntags = o->ntags;
    st->changesets = o->changesets;
    text_cut(msg, sizeof(msg), "revision %s: %ld changeset(s), %zu tag(s)", o->revision ? o->revision : "",
        o->changesets, o->ntags);
    cond_set_kstatus(cl, COND_KS_READY, "Succeeded", msg, gen, now_ms);
    if (!content_equal(st, &o->status) || o->status.last_fetch_ms == 0 ||
        now_ms - o->status.last_fetch_ms >= DBSCHEMA_FETCH_REFRESH_MS)
        st->last_fetch_ms = now_ms;
out:
    return;
}
