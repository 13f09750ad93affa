/* plan_review: the reviewed plan, its hashes and its JSON (see plan_review.h).
 *
 * Hashing streams NUL-separated fields into one SHA-256 context (OpenSSL
 * EVP), so no field can run into the next and nothing is built in memory
 * first; every step is hashed, only the first PLAN_REVIEW_LISTED are kept. */
#include "engine/plan_review.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION "tidemark-plan/v1"
#define NKINDS ((int)LINT_NO_ROLLBACK + 1)

static const char *nz(const char *s)
{
    return s ? s : "";
}

size_t plan_review_moving_steps(const struct chlog *cl, const struct plan *pl)
{
    size_t n = 0;
    for (size_t i = 0; i < pl->nsteps; i++) {
        const struct plan_step *st = &pl->steps[i];
        if (st->action == PLAN_RERUN && st->set >= 0 && (size_t)st->set < cl->nsets &&
            cl->sets[st->set].run_always)
            continue;
        n++;
    }
    return n;
}

const char *plan_review_action_name(enum plan_action a)
{
    switch (a) {
    case PLAN_APPLY: return "Apply";
    case PLAN_RERUN: return "Rerun";
    case PLAN_ROLLBACK: return "Rollback";
    }
    return "Apply";
}

const char *plan_review_direction_name(enum plan_review_direction d)
{
    switch (d) {
    case PLAN_REVIEW_NONE: return "None";
    case PLAN_REVIEW_APPLY: return "Apply";
    case PLAN_REVIEW_ROLLBACK: return "Rollback";
    }
    return "None";
}

/* Adds s and its terminating NUL to the digest. */
static bool field(EVP_MD_CTX *md, const char *s)
{
    s = nz(s);
    return EVP_DigestUpdate(md, s, strlen(s) + 1) == 1;
}

static bool finish(EVP_MD_CTX *md, char out[PLAN_REVIEW_HASH_MAX])
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    if (EVP_DigestFinal_ex(md, h, &hl) != 1 || hl != 32)
        return false;
    size_t o = strlen(PLAN_REVIEW_HASH_PREFIX);
    memcpy(out, PLAN_REVIEW_HASH_PREFIX, o);
    for (unsigned i = 0; i < hl; i++)
        snprintf(out + o + 2 * i, 3, "%02x", h[i]);
    return true;
}

/* The SQL hash of one step and its destructive kinds (lint_sql over the same texts). */
static enum tm_code step_sql(const struct chlog_changeset *cs, const struct plan_step *st,
                             struct plan_review_step *out, struct tm_err *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    struct lint_hit *hits = NULL;
    size_t nhits = 0;
    enum tm_code rc = TM_OK;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        rc = tm_err_set(err, TM_E_NOMEM, "plan hash: cannot start SHA-256");
        goto out;
    }
    bool ok = true;
    if (st->action == PLAN_ROLLBACK) {
        ok = field(md, "rollback") && field(md, st->rollback_sql);
        if (st->rollback_sql)
            rc = lint_sql(st->rollback_sql, &hits, &nhits, err);
    } else {
        ok = field(md, "apply");
        for (size_t i = 0; i < cs->nchanges && ok && rc == TM_OK; i++) {
            const struct chlog_change *ch = &cs->changes[i];
            if (ch->kind == CHLOG_CHANGE_TAG)
                continue;
            ok = field(md, ch->sql) && field(md, ch->end_delimiter ? ch->end_delimiter : ";");
            if (ch->sql)
                rc = lint_sql(ch->sql, &hits, &nhits, err);
        }
    }
    if (rc != TM_OK)
        goto out;
    if (!ok || !finish(md, out->sql_hash)) {
        rc = tm_err_set(err, TM_E_NOMEM, "plan hash: SHA-256 failed");
        goto out;
    }
    out->destructive = 0;
    for (size_t i = 0; i < nhits; i++)
        if ((int)hits[i].kind >= 0 && (int)hits[i].kind < NKINDS)
            out->destructive |= 1u << hits[i].kind;
out:
    free(hits);
    EVP_MD_CTX_free(md);
    return rc;
}

static bool hash_step(EVP_MD_CTX *md, const struct chlog_changeset *cs,
                      const struct plan_review_step *s)
{
    bool ok = field(md, plan_review_action_name(s->action)) && field(md, cs->filename) &&
              field(md, cs->id) && field(md, cs->author) && field(md, s->sql_hash);
    for (int k = 0; k < NKINDS && ok; k++)
        if (s->destructive & (1u << k))
            ok = field(md, lint_kind_name((enum lint_kind)k));
    return ok && field(md, "");
}

enum tm_code plan_review_build(const struct chlog *cl, const struct plan *pl,
                               const char *instance, const char *tag,
                               struct plan_review *out, struct tm_err *err)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->instance, sizeof(out->instance), "%s", nz(instance));
    snprintf(out->tag, sizeof(out->tag), "%s", nz(tag));
    bool moves = plan_review_moving_steps(cl, pl) > 0;
    out->direction = !moves ? PLAN_REVIEW_NONE
                     : pl->rollback ? PLAN_REVIEW_ROLLBACK
                                    : PLAN_REVIEW_APPLY;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    enum tm_code rc = TM_OK;
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || !field(md, VERSION) ||
        !field(md, out->instance) || !field(md, plan_review_direction_name(out->direction)) ||
        !field(md, out->tag)) {
        rc = tm_err_set(err, TM_E_NOMEM, "plan hash: SHA-256 failed");
        goto out;
    }
    for (size_t i = 0; moves && i < pl->nsteps; i++) {
        const struct plan_step *st = &pl->steps[i];
        if (st->set < 0 || (size_t)st->set >= cl->nsets) {
            rc = tm_err_set(err, TM_E_INVAL, "plan step %zu names no changeset", i);
            goto out;
        }
        const struct chlog_changeset *cs = &cl->sets[st->set];
        struct plan_review_step s;
        memset(&s, 0, sizeof(s));
        s.action = st->action;
        engine_changeset_name(cs, s.changeset, sizeof(s.changeset));
        rc = step_sql(cs, st, &s, err);
        if (rc != TM_OK)
            goto out;
        if (!hash_step(md, cs, &s)) {
            rc = tm_err_set(err, TM_E_NOMEM, "plan hash: SHA-256 failed");
            goto out;
        }
        if (out->nlisted < PLAN_REVIEW_LISTED)
            out->listed[out->nlisted++] = s;
        out->total++;
    }
    if (!finish(md, out->hash))
        rc = tm_err_set(err, TM_E_NOMEM, "plan hash: SHA-256 failed");
out:
    EVP_MD_CTX_free(md);
    if (rc != TM_OK)
        memset(out, 0, sizeof(*out));
    else
        out->set = true;
    return rc;
}

bool plan_review_hash_valid(const char *s)
{
    size_t np = strlen(PLAN_REVIEW_HASH_PREFIX);
    if (!s || strncmp(s, PLAN_REVIEW_HASH_PREFIX, np) != 0 || strlen(s) != np + 64)
        return false;
    for (const char *p = s + np; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

void plan_review_short_hash(const char *hash, char *out, size_t n)
{
    if (n == 0)
        return;
    out[0] = '\0';
    if (plan_review_hash_valid(hash))
        snprintf(out, n, "%.*s", PLAN_REVIEW_SHORT_HASH,
                 hash + strlen(PLAN_REVIEW_HASH_PREFIX));
}

bool plan_review_equal(const struct plan_review *a, const struct plan_review *b)
{
    if (a->set != b->set || a->direction != b->direction || a->total != b->total ||
        a->nlisted != b->nlisted || strcmp(a->instance, b->instance) != 0 ||
        strcmp(a->tag, b->tag) != 0 || strcmp(a->hash, b->hash) != 0)
        return false;
    for (size_t i = 0; i < a->nlisted && i < PLAN_REVIEW_LISTED; i++) {
        const struct plan_review_step *x = &a->listed[i], *y = &b->listed[i];
        if (x->action != y->action || x->destructive != y->destructive ||
            strcmp(x->changeset, y->changeset) != 0 || strcmp(x->sql_hash, y->sql_hash) != 0)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------ JSON */

static cJSON *step_json(const struct plan_review_step *s)
{
    cJSON *o = cJSON_CreateObject(), *d = NULL;
    bool ok = o && cJSON_AddStringToObject(o, "action", plan_review_action_name(s->action)) &&
              cJSON_AddStringToObject(o, "changeSet", s->changeset) &&
              cJSON_AddStringToObject(o, "sqlHash", s->sql_hash) &&
              (d = cJSON_AddArrayToObject(o, "destructive")) != NULL;
    for (int k = 0; k < NKINDS && ok; k++) {
        if (!(s->destructive & (1u << k)))
            continue;
        cJSON *name = cJSON_CreateString(lint_kind_name((enum lint_kind)k));
        ok = name && cJSON_AddItemToArray(d, name);
        if (!ok)
            cJSON_Delete(name);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *plan_review_json(const struct plan_review *r)
{
    char shorth[PLAN_REVIEW_SHORT_HASH + 1];
    plan_review_short_hash(r->hash, shorth, sizeof(shorth));
    cJSON *o = cJSON_CreateObject(), *steps = NULL;
    bool ok = o && cJSON_AddStringToObject(o, "hash", r->hash) &&
              cJSON_AddStringToObject(o, "shortHash", shorth) &&
              cJSON_AddStringToObject(o, "instance", r->instance) &&
              cJSON_AddStringToObject(o, "direction", plan_review_direction_name(r->direction)) &&
              cJSON_AddStringToObject(o, "targetTag", r->tag) &&
              cJSON_AddNumberToObject(o, "changeSets", (double)r->total) &&
              cJSON_AddNumberToObject(o, "notListed", (double)(r->total - r->nlisted)) &&
              (steps = cJSON_AddArrayToObject(o, "steps")) != NULL;
    for (size_t i = 0; i < r->nlisted && ok; i++) {
        cJSON *s = step_json(&r->listed[i]);
        ok = s && cJSON_AddItemToArray(steps, s);
        if (!ok)
            cJSON_Delete(s);
    }
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

bool plan_review_from_json(const cJSON *j, struct plan_review *out)
{
    memset(out, 0, sizeof(*out));
    if (!cJSON_IsObject(j) || !plan_review_hash_valid(jstr(j, "hash")))
        return false;
    snprintf(out->hash, sizeof(out->hash), "%s", jstr(j, "hash"));
    snprintf(out->instance, sizeof(out->instance), "%s", jstr(j, "instance"));
    snprintf(out->tag, sizeof(out->tag), "%s", jstr(j, "targetTag"));
    const char *d = jstr(j, "direction");
    out->direction = strcmp(d, "Apply") == 0      ? PLAN_REVIEW_APPLY
                     : strcmp(d, "Rollback") == 0 ? PLAN_REVIEW_ROLLBACK
                                                  : PLAN_REVIEW_NONE;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "changeSets");
    out->total = cJSON_IsNumber(n) && n->valuedouble > 0 ? (size_t)n->valuedouble : 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(j, "steps"))
    {
        if (out->nlisted >= PLAN_REVIEW_LISTED)
            break;
        struct plan_review_step *st = &out->listed[out->nlisted++];
        const char *a = jstr(s, "action");
        st->action = strcmp(a, "Rerun") == 0      ? PLAN_RERUN
                     : strcmp(a, "Rollback") == 0 ? PLAN_ROLLBACK
                                                  : PLAN_APPLY;
        snprintf(st->changeset, sizeof(st->changeset), "%s", jstr(s, "changeSet"));
        snprintf(st->sql_hash, sizeof(st->sql_hash), "%s", jstr(s, "sqlHash"));
        const cJSON *k;
        cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(s, "destructive"))
        {
            for (int i = 0; i < NKINDS && cJSON_IsString(k); i++)
                if (strcmp(k->valuestring, lint_kind_name((enum lint_kind)i)) == 0)
                    st->destructive |= 1u << i;
        }
    }
    if (out->total < out->nlisted)
        out->total = out->nlisted;
    out->set = true;
    return true;
}
