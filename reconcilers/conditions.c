/* conditions: set/find/remove status conditions with kstatus rules (see conditions.h). */
#include "reconcilers/conditions.h"

#include <stdio.h>
#include <string.h>

static void copy_cut(char *dst, size_t n, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

void cond_list_init(struct cond_list *l)
{
    memset(l, 0, sizeof(*l));
}

const struct cond *cond_find(const struct cond_list *l, const char *type)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].type, type) == 0)
            return &l->items[i];
    }
    return NULL;
}

bool cond_is_true(const struct cond_list *l, const char *type)
{
    const struct cond *c = cond_find(l, type);
    return c && c->status == COND_TRUE;
}

void cond_set(struct cond_list *l, const char *type, enum cond_status status,
              const char *reason, const char *message, int64_t generation, int64_t now_ms)
{
    struct cond *c = (struct cond *)cond_find(l, type);
    if (!c) {
        if (l->n >= COND_MAX)
            return;
        c = &l->items[l->n++];
        memset(c, 0, sizeof(*c));
        copy_cut(c->type, sizeof(c->type), type);
        c->status = status;
        c->last_transition_ms = now_ms;
    } else if (c->status != status) {
        c->status = status;
        c->last_transition_ms = now_ms;
    }
    copy_cut(c->reason, sizeof(c->reason), reason);
    copy_cut(c->message, sizeof(c->message), message);
    c->observed_generation = generation;
}

void cond_remove(struct cond_list *l, const char *type)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->items[i].type, type) != 0)
            continue;
        memmove(&l->items[i], &l->items[i + 1], (l->n - i - 1) * sizeof(l->items[0]));
        l->n--;
        return;
    }
}

void cond_set_kstatus(struct cond_list *l, enum cond_kstatus ks, const char *reason,
                      const char *message, int64_t generation, int64_t now_ms)
{
    cond_set(l, COND_READY, ks == COND_KS_READY ? COND_TRUE : COND_FALSE, reason, message,
             generation, now_ms);
    if (ks == COND_KS_RECONCILING)
        cond_set(l, COND_RECONCILING, COND_TRUE, reason, message, generation, now_ms);
    else
        cond_remove(l, COND_RECONCILING);
    if (ks == COND_KS_STALLED)
        cond_set(l, COND_STALLED, COND_TRUE, reason, message, generation, now_ms);
    else
        cond_remove(l, COND_STALLED);
}

static bool cond_equal(const struct cond *a, const struct cond *b)
{
    return a->status == b->status && a->observed_generation == b->observed_generation &&
           a->last_transition_ms == b->last_transition_ms && strcmp(a->reason, b->reason) == 0 &&
           strcmp(a->message, b->message) == 0;
}

bool cond_list_equal(const struct cond_list *a, const struct cond_list *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        const struct cond *other = cond_find(b, a->items[i].type);
        if (!other || !cond_equal(&a->items[i], other))
            return false;
    }
    return true;
}

const char *cond_status_name(enum cond_status s)
{
    switch (s) {
    case COND_TRUE:
        return "True";
    case COND_FALSE:
        return "False";
    case COND_UNKNOWN:
        break;
    }
    return "Unknown";
}

bool cond_status_parse(const char *s, enum cond_status *out)
{
    if (!s)
        return false;
    if (strcmp(s, "True") == 0)
        *out = COND_TRUE;
    else if (strcmp(s, "False") == 0)
        *out = COND_FALSE;
    else if (strcmp(s, "Unknown") == 0)
        *out = COND_UNKNOWN;
    else
        return false;
    return true;
}
