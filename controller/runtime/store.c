/* The informer's object store and field indexes (see store.h).
 *
 * Layout: objects is key -> cJSON*; each field index is "ns/value" ->
 * struct keyset (the keys of the objects with that value).  A write updates
 * the indexes of the object it replaces or removes before anything else
 * sees it: both happen under the one write lock. */
#include "runtime/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hashmap.h"
#include "common/json_path.h"

struct keyset {
    char **keys;
    size_t n, alloc;
};

struct field_index {
    char *path;
    struct tm_hashmap sets; /* "ns/value" -> struct keyset */
};

struct store {
    pthread_rwlock_t lock;
    struct tm_hashmap objects; /* key -> cJSON */
    struct field_index idx[STORE_MAX_INDEXES];
    size_t nidx;
    _Atomic uint64_t index_failures;
};

/* ------------------------------------------------------------------ keys */

static const char *str_at(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(obj, a);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool store_make_key(const char *ns, const char *name, char *out, size_t n)
{
    int w = ns && *ns ? snprintf(out, n, "%s/%s", ns, name) : snprintf(out, n, "%s", name);
    return w > 0 && (size_t)w < n;
}

bool store_key(const cJSON *obj, char *out, size_t n)
{
    const char *name = str_at(obj, "metadata", "name");
    if (!name || !*name)
        return false;
    return store_make_key(str_at(obj, "metadata", "namespace"), name, out, n);
}

static const char *rv_of(const cJSON *obj)
{
    const char *rv = str_at(obj, "metadata", "resourceVersion");
    return rv ? rv : "";
}


/* ------------------------------------------------------------------ indexes */

static void keyset_free(void *p)
{
    struct keyset *ks = p;
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++)
        free(ks->keys[i]);
    free(ks->keys);
    free(ks);
}

/* The index key of obj: "ns/value". */
static bool index_key(const cJSON *obj, const char *path, char *out, size_t n)
{
    const char *v = json_path_str(obj, path);
    if (!v)
        return false;
    const char *ns = str_at(obj, "metadata", "namespace");
    int w = snprintf(out, n, "%s/%s", ns ? ns : "", v);
    return w > 0 && (size_t)w < n;
}

static void index_remove(struct field_index *fi, const cJSON *obj, const char *key)
{
    char ik[STORE_KEY_MAX];
    if (!obj || !index_key(obj, fi->path, ik, sizeof(ik)))
        return;
    struct keyset *ks = tm_hashmap_get(&fi->sets, ik);
    if (!ks)
        return;
    for (size_t i = 0; i < ks->n; i++) {
        if (strcmp(ks->keys[i], key) == 0) {
            free(ks->keys[i]);
            ks->keys[i] = ks->keys[--ks->n];
            break;
        }
    }
    if (ks->n == 0)
        keyset_free(tm_hashmap_del(&fi->sets, ik));
}

/* Best effort: an allocation failure leaves the object unindexed (counted). */
static void index_add(struct store *s, struct field_index *fi, const cJSON *obj, const char *key)
{
    char ik[STORE_KEY_MAX];
    if (!index_key(obj, fi->path, ik, sizeof(ik)))
        return;
    struct keyset *ks = tm_hashmap_get(&fi->sets, ik);
    if (!ks) {
        ks = calloc(1, sizeof(*ks));
        if (!ks || tm_hashmap_put(&fi->sets, ik, ks, NULL) != TM_OK) {
            free(ks);
            atomic_fetch_add(&s->index_failures, 1);
            return;
        }
    }
    if (ks->n == ks->alloc) {
        size_t a = ks->alloc ? ks->alloc * 2 : 2;
        char **nk = realloc(ks->keys, a * sizeof(*nk));
        if (!nk) {
            atomic_fetch_add(&s->index_failures, 1);
            return;
        }
        ks->keys = nk;
        ks->alloc = a;
    }
    char *k = strdup(key);
    if (!k) {
        atomic_fetch_add(&s->index_failures, 1);
        return;
    }
    ks->keys[ks->n++] = k;
}

/* ------------------------------------------------------------------ lifecycle */

struct store *store_new(void)
{
    struct store *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_rwlock_init(&s->lock, NULL);
    tm_hashmap_init(&s->objects);
    atomic_init(&s->index_failures, 0);
    return s;
}

static void object_free(void *obj)
{
    cJSON_Delete(obj);
}

void store_free(struct store *s)
{
    if (!s)
        return;
    tm_hashmap_release(&s->objects, object_free);
    for (size_t i = 0; i < s->nidx; i++) {
        tm_hashmap_release(&s->idx[i].sets, keyset_free);
        free(s->idx[i].path);
    }
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

enum tm_code store_add_index(struct store *s, const char *path)
{
    for (size_t i = 0; i < s->nidx; i++)
        if (strcmp(s->idx[i].path, path) == 0)
            return TM_OK;
    if (s->nidx == STORE_MAX_INDEXES)
        return TM_E_TOOBIG;
    char *p = strdup(path);
    if (!p)
        return TM_E_NOMEM;
    pthread_rwlock_wrlock(&s->lock);
    struct field_index *fi = &s->idx[s->nidx++];
    fi->path = p;
    tm_hashmap_init(&fi->sets);
    struct tm_hashmap_iter it;
    const char *key;
    void *obj;
    tm_hashmap_iter_init(&it, &s->objects);
    while (tm_hashmap_iter_next(&it, &key, &obj))
        index_add(s, fi, obj, key);
    pthread_rwlock_unlock(&s->lock);
    return TM_OK;
}

/* ------------------------------------------------------------------ writes */

/* What no reconciler reads and can double an object's size: the field
 * managers, and the copy of the whole object that client-side `kubectl
 * apply` (and Argo CD's default sync) keeps in an annotation.  Nothing
 * writes a cached object back whole (status and patches only), so the
 * stripped fields are never lost on the server. */
static void strip(cJSON *obj)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!md)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(md, "annotations"),
                                            STORE_LAST_APPLIED_ANNOTATION);
}

/* Write lock held.  Stores obj (taken) under key, re-indexing; *old gets the
 * replaced object.  false on allocation failure (obj freed, no change). */
static bool put_locked(struct store *s, const char *key, cJSON *obj, cJSON **old)
{
    void *prev = NULL;
    *old = NULL;
    if (tm_hashmap_put(&s->objects, key, obj, &prev) != TM_OK) {
        cJSON_Delete(obj);
        return false;
    }
    *old = prev;
    for (size_t i = 0; i < s->nidx; i++) {
        index_remove(&s->idx[i], prev, key);
        index_add(s, &s->idx[i], obj, key);
    }
    return true;
}

/* Write lock held.  Removes key; returns its object (NULL when absent). */
static cJSON *del_locked(struct store *s, const char *key)
{
    cJSON *prev = tm_hashmap_del(&s->objects, key);
    for (size_t i = 0; prev && i < s->nidx; i++)
        index_remove(&s->idx[i], prev, key);
    return prev;
}

bool store_put_take(struct store *s, cJSON *obj, cJSON **old)
{
    char key[STORE_KEY_MAX];
    *old = NULL;
    if (!store_key(obj, key, sizeof(key))) {
        cJSON_Delete(obj);
        return false;
    }
    strip(obj);
    pthread_rwlock_wrlock(&s->lock);
    bool ok = put_locked(s, key, obj, old);
    pthread_rwlock_unlock(&s->lock);
    return ok;
}

cJSON *store_delete(struct store *s, const cJSON *obj)
{
    char key[STORE_KEY_MAX];
    if (!store_key(obj, key, sizeof(key)))
        return NULL;
    pthread_rwlock_wrlock(&s->lock);
    cJSON *old = del_locked(s, key);
    pthread_rwlock_unlock(&s->lock);
    return old;
}

/* Write lock held.  Puts the list's items (taken), noting their keys in
 * seen and each change in ch[*n]. */
static enum tm_code replace_items_locked(struct store *s, cJSON *items, struct tm_hashmap *seen,
                                         struct store_change *ch, size_t *n)
{
    cJSON *item;
    while ((item = cJSON_DetachItemFromArray(items, 0)) != NULL) {
        char key[STORE_KEY_MAX];
        if (!store_key(item, key, sizeof(key))) {
            cJSON_Delete(item);
            continue;
        }
        strip(item);
        if (tm_hashmap_put(seen, key, NULL, NULL) != TM_OK) {
            cJSON_Delete(item);
            return TM_E_NOMEM;
        }
        const cJSON *cur = tm_hashmap_get(&s->objects, key);
        if (cur && strcmp(rv_of(cur), rv_of(item)) == 0) {
            cJSON_Delete(item); /* unchanged: keep the stored one, no change */
            continue;
        }
        cJSON *old = NULL;
        if (!put_locked(s, key, item, &old))
            return TM_E_NOMEM;
        ch[(*n)++] = (struct store_change){.old = old, .obj = item};
    }
    return TM_OK;
}

/* Write lock held.  Removes the objects whose keys are not in seen. */
static void remove_unseen_locked(struct store *s, const struct tm_hashmap *seen,
                                 struct store_change *ch, size_t *n)
{
    struct tm_hashmap_iter it;
    const char *key;
    void *obj;
    tm_hashmap_iter_init(&it, &s->objects);
    while (tm_hashmap_iter_next(&it, &key, &obj)) {
        if (tm_hashmap_has(seen, key))
            continue;
        char copy[STORE_KEY_MAX];
        snprintf(copy, sizeof(copy), "%s", key); /* del_locked frees key */
        ch[(*n)++] = (struct store_change){.old = del_locked(s, copy), .obj = NULL};
    }
}

enum tm_code store_replace_take(struct store *s, cJSON *items, struct store_change **changes,
                                size_t *n)
{
    *n = 0;
    pthread_rwlock_wrlock(&s->lock);
    size_t max = (size_t)cJSON_GetArraySize(items) + tm_hashmap_len(&s->objects) + 1;
    *changes = calloc(max, sizeof(**changes));
    enum tm_code rc = TM_E_NOMEM;
    if (*changes) {
        struct tm_hashmap seen;
        tm_hashmap_init(&seen);
        rc = replace_items_locked(s, items, &seen, *changes, n);
        if (rc == TM_OK)
            remove_unseen_locked(s, &seen, *changes, n);
        tm_hashmap_release(&seen, NULL);
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

uint64_t store_index_failures(struct store *s)
{
    return atomic_load(&s->index_failures);
}

/* ------------------------------------------------------------------ reads */

enum tm_code store_get_dup(struct store *s, const char *key, cJSON **out)
{
    enum tm_code rc = TM_OK;
    pthread_rwlock_rdlock(&s->lock);
    const cJSON *obj = tm_hashmap_get(&s->objects, key);
    if (!obj)
        rc = TM_E_NOTFOUND;
    else if (!(*out = cJSON_Duplicate(obj, true)))
        rc = TM_E_NOMEM;
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

void store_read_lock(struct store *s)
{
    pthread_rwlock_rdlock(&s->lock);
}

const cJSON *store_peek(struct store *s, const char *key)
{
    return tm_hashmap_get(&s->objects, key);
}

void store_read_unlock(struct store *s)
{
    pthread_rwlock_unlock(&s->lock);
}

void store_foreach(struct store *s, const char *ns, bool (*fn)(void *ctx, const cJSON *obj),
                   void *ctx)
{
    struct tm_hashmap_iter it;
    const char *key;
    void *obj;
    pthread_rwlock_rdlock(&s->lock);
    tm_hashmap_iter_init(&it, &s->objects);
    while (tm_hashmap_iter_next(&it, &key, &obj)) {
        if (ns) {
            const char *ons = str_at(obj, "metadata", "namespace");
            if (!ons || strcmp(ons, ns) != 0)
                continue;
        }
        if (!fn(ctx, obj))
            break;
    }
    pthread_rwlock_unlock(&s->lock);
}

enum tm_code store_index_keys(struct store *s, const char *path, const char *ns,
                              const char *value, void (*fn)(void *ctx, const char *key),
                              void *ctx)
{
    char ik[STORE_KEY_MAX];
    int w = snprintf(ik, sizeof(ik), "%s/%s", ns ? ns : "", value);
    if (w < 0 || (size_t)w >= sizeof(ik))
        return TM_E_INVAL;
    enum tm_code rc = TM_E_NOTFOUND;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->nidx; i++) {
        if (strcmp(s->idx[i].path, path) != 0)
            continue;
        rc = TM_OK;
        const struct keyset *ks = tm_hashmap_get(&s->idx[i].sets, ik);
        for (size_t k = 0; ks && k < ks->n; k++)
            fn(ctx, ks->keys[k]);
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

size_t store_len(struct store *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = tm_hashmap_len(&s->objects);
    pthread_rwlock_unlock(&s->lock);
    return n;
}
