/* The informer's object store and field indexes (see store.h).
 *
 * Layout: objects is key -> struct entry, the object as compact JSON text
 * plus what lookups need without parsing it (resourceVersion, namespace,
 * its key in each index); each field index is "ns/value" -> struct keyset
 * (the keys of the objects with that value).  A write updates the indexes
 * of the entry it replaces or removes before anything else sees it: both
 * happen under the one write lock.
 *
 * Why text: a DBInstance is 1.5 KB of JSON but 7.8 KB as a cJSON tree (a
 * 64-byte node and a separately allocated key for each of its ~60 values);
 * at 10,000 DBInstances the trees alone were 78 MB.  A read parses the
 * text, which costs about what duplicating the tree did. */
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

/* One stored object. */
struct entry {
    char *json;                     /* compact JSON (cJSON_PrintUnformatted) */
    char *rv;                       /* metadata.resourceVersion, "" when none */
    char *ns;                       /* metadata.namespace, "" when cluster-scoped */
    char *ikeys[STORE_MAX_INDEXES]; /* "ns/value" in index i; NULL: not in it */
};

struct store {
    pthread_rwlock_t lock;
    struct tm_hashmap objects; /* key -> struct entry */
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

/* ------------------------------------------------------------------ entries */

static void entry_free(struct entry *e)
{
    if (!e)
        return;
    cJSON_free(e->json);
    free(e->rv);
    free(e->ns);
    for (size_t i = 0; i < STORE_MAX_INDEXES; i++)
        free(e->ikeys[i]);
    free(e);
}

static void entry_free_cb(void *p)
{
    entry_free(p);
}

/* The object of e, parsed (the caller deletes it); NULL: out of memory. */
static cJSON *entry_object(const struct entry *e)
{
    return e ? cJSON_Parse(e->json) : NULL;
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

/* The entry for obj (stripped already) with its keys in s's indexes; NULL
 * on allocation failure. */
static struct entry *entry_new(const struct store *s, const cJSON *obj)
{
    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    const char *ns = str_at(obj, "metadata", "namespace");
    e->json = cJSON_PrintUnformatted(obj);
    e->rv = strdup(rv_of(obj));
    e->ns = strdup(ns ? ns : "");
    bool ok = e->json && e->rv && e->ns;
    for (size_t i = 0; ok && i < s->nidx; i++) {
        char ik[STORE_KEY_MAX];
        if (index_key(obj, s->idx[i].path, ik, sizeof(ik)))
            ok = (e->ikeys[i] = strdup(ik)) != NULL;
    }
    if (!ok) {
        entry_free(e);
        return NULL;
    }
    return e;
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

static void index_remove(struct field_index *fi, const char *ik, const char *key)
{
    if (!ik)
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
static void index_add(struct store *s, struct field_index *fi, const char *ik, const char *key)
{
    if (!ik)
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

void store_free(struct store *s)
{
    if (!s)
        return;
    tm_hashmap_release(&s->objects, entry_free_cb);
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
    size_t i = s->nidx++;
    struct field_index *fi = &s->idx[i];
    fi->path = p;
    tm_hashmap_init(&fi->sets);
    struct tm_hashmap_iter it;
    const char *key;
    void *v;
    tm_hashmap_iter_init(&it, &s->objects);
    while (tm_hashmap_iter_next(&it, &key, &v)) { /* what is stored already */
        struct entry *e = v;
        cJSON *obj = entry_object(e);
        char ik[STORE_KEY_MAX];
        if (!obj)
            atomic_fetch_add(&s->index_failures, 1);
        else if (index_key(obj, path, ik, sizeof(ik)) && !(e->ikeys[i] = strdup(ik)))
            atomic_fetch_add(&s->index_failures, 1);
        cJSON_Delete(obj);
        index_add(s, fi, e->ikeys[i], key);
    }
    pthread_rwlock_unlock(&s->lock);
    return TM_OK;
}

/* ------------------------------------------------------------------ writes */

/* What no reconciler reads and can double an object's size: the field
 * managers, and the copy of the whole object that client-side `kubectl
 * apply` (and Argo CD's default sync) keeps in an annotation.  Nothing
 * writes a cached object back whole (status writes and patches only), so
 * the stripped fields are never lost on the server. */
static void strip(cJSON *obj)
{
    cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!md)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(md, "managedFields");
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(md, "annotations"),
                                            STORE_LAST_APPLIED_ANNOTATION);
}

/* Write lock held.  Stores e (taken) under key, re-indexing; returns the
 * entry it replaced (NULL when new).  false on allocation failure (e freed,
 * no change). */
static bool put_locked(struct store *s, const char *key, struct entry *e, struct entry **old)
{
    void *prev = NULL;
    *old = NULL;
    if (tm_hashmap_put(&s->objects, key, e, &prev) != TM_OK) {
        entry_free(e);
        return false;
    }
    *old = prev;
    for (size_t i = 0; i < s->nidx; i++) {
        index_remove(&s->idx[i], prev ? ((struct entry *)prev)->ikeys[i] : NULL, key);
        index_add(s, &s->idx[i], e->ikeys[i], key);
    }
    return true;
}

/* Write lock held.  Removes key; returns its entry (NULL when absent). */
static struct entry *del_locked(struct store *s, const char *key)
{
    struct entry *prev = tm_hashmap_del(&s->objects, key);
    for (size_t i = 0; prev && i < s->nidx; i++)
        index_remove(&s->idx[i], prev->ikeys[i], key);
    return prev;
}

/* The object of a replaced or removed entry for the handlers, and the
 * entry freed.  An object that cannot be parsed back (out of memory) is
 * counted with the index failures. */
static cJSON *take_old(struct store *s, struct entry *e)
{
    if (!e)
        return NULL;
    cJSON *obj = entry_object(e);
    if (!obj)
        atomic_fetch_add(&s->index_failures, 1);
    entry_free(e);
    return obj;
}

bool store_put(struct store *s, cJSON *obj, cJSON **old)
{
    char key[STORE_KEY_MAX];
    *old = NULL;
    if (!store_key(obj, key, sizeof(key)))
        return false;
    strip(obj);
    pthread_rwlock_wrlock(&s->lock); /* entry_new reads the index paths */
    struct entry *e = entry_new(s, obj), *prev = NULL;
    bool ok = e && put_locked(s, key, e, &prev);
    pthread_rwlock_unlock(&s->lock);
    *old = take_old(s, prev);
    return ok;
}

cJSON *store_delete(struct store *s, const cJSON *obj)
{
    char key[STORE_KEY_MAX];
    if (!store_key(obj, key, sizeof(key)))
        return NULL;
    pthread_rwlock_wrlock(&s->lock);
    struct entry *old = del_locked(s, key);
    pthread_rwlock_unlock(&s->lock);
    return take_old(s, old);
}

/* Write lock held.  Puts the list's items, noting their keys in seen and
 * each change in ch[*n]; the replaced entries go to olds[] (parsed after
 * the lock). */
static enum tm_code replace_items_locked(struct store *s, cJSON *items, struct tm_hashmap *seen,
                                         struct store_change *ch, struct entry **olds, size_t *n)
{
    cJSON *item;
    cJSON_ArrayForEach(item, items)
    {
        char key[STORE_KEY_MAX];
        if (!store_key(item, key, sizeof(key)))
            continue;
        strip(item);
        if (tm_hashmap_put(seen, key, NULL, NULL) != TM_OK)
            return TM_E_NOMEM;
        const struct entry *cur = tm_hashmap_get(&s->objects, key);
        if (cur && strcmp(cur->rv, rv_of(item)) == 0)
            continue; /* unchanged: keep the stored one, no change */
        struct entry *e = entry_new(s, item);
        if (!e || !put_locked(s, key, e, &olds[*n]))
            return TM_E_NOMEM;
        ch[(*n)++] = (struct store_change){.old = NULL, .obj = item};
    }
    return TM_OK;
}

/* Write lock held.  Removes the objects whose keys are not in seen. */
static void remove_unseen_locked(struct store *s, const struct tm_hashmap *seen,
                                 struct store_change *ch, struct entry **olds, size_t *n)
{
    struct tm_hashmap_iter it;
    const char *key;
    void *v;
    tm_hashmap_iter_init(&it, &s->objects);
    while (tm_hashmap_iter_next(&it, &key, &v)) {
        if (tm_hashmap_has(seen, key))
            continue;
        char copy[STORE_KEY_MAX];
        snprintf(copy, sizeof(copy), "%s", key); /* del_locked frees key */
        olds[*n] = del_locked(s, copy);
        ch[(*n)++] = (struct store_change){.old = NULL, .obj = NULL};
    }
}

enum tm_code store_replace(struct store *s, cJSON *items, struct store_change **changes,
                           size_t *n)
{
    *n = 0;
    pthread_rwlock_wrlock(&s->lock);
    size_t max = (size_t)cJSON_GetArraySize(items) + tm_hashmap_len(&s->objects) + 1;
    *changes = calloc(max, sizeof(**changes));
    struct entry **olds = calloc(max, sizeof(*olds));
    enum tm_code rc = TM_E_NOMEM;
    if (*changes && olds) {
        struct tm_hashmap seen;
        tm_hashmap_init(&seen);
        rc = replace_items_locked(s, items, &seen, *changes, olds, n);
        if (rc == TM_OK)
            remove_unseen_locked(s, &seen, *changes, olds, n);
        tm_hashmap_release(&seen, NULL);
    }
    pthread_rwlock_unlock(&s->lock);
    for (size_t i = 0; i < *n; i++)
        (*changes)[i].old = take_old(s, olds[i]);
    free(olds);
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
    const struct entry *e = tm_hashmap_get(&s->objects, key);
    if (!e)
        rc = TM_E_NOTFOUND;
    else if (!(*out = entry_object(e)))
        rc = TM_E_NOMEM;
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

/* Read lock held.  Calls fn with e's object, parsed for the call; false when fn says stop.
 * An object that cannot be parsed (out of memory) is skipped and counted. */
static bool visit(struct store *s, const struct entry *e, bool (*fn)(void *ctx, const cJSON *obj),
                  void *ctx)
{
    cJSON *obj = entry_object(e);
    if (!obj) {
        atomic_fetch_add(&s->index_failures, 1);
        return true;
    }
    bool more = fn(ctx, obj);
    cJSON_Delete(obj);
    return more;
}

void store_foreach(struct store *s, const char *ns, bool (*fn)(void *ctx, const cJSON *obj),
                   void *ctx)
{
    struct tm_hashmap_iter it;
    const char *key;
    void *v;
    pthread_rwlock_rdlock(&s->lock);
    tm_hashmap_iter_init(&it, &s->objects);
    while (tm_hashmap_iter_next(&it, &key, &v)) {
        const struct entry *e = v;
        if (ns && strcmp(e->ns, ns) != 0)
            continue;
        if (!visit(s, e, fn, ctx))
            break;
    }
    pthread_rwlock_unlock(&s->lock);
}

/* Read lock held.  *out: the keys whose value at path is value in ns (NULL when none).
 * TM_E_NOTFOUND when there is no index on path, TM_E_INVAL when ns/value is too long. */
static enum tm_code index_set(struct store *s, const char *path, const char *ns,
                              const char *value, const struct keyset **out)
{
    char ik[STORE_KEY_MAX];
    *out = NULL;
    int w = snprintf(ik, sizeof(ik), "%s/%s", ns ? ns : "", value);
    if (w < 0 || (size_t)w >= sizeof(ik))
        return TM_E_INVAL;
    for (size_t i = 0; i < s->nidx; i++) {
        if (strcmp(s->idx[i].path, path) == 0) {
            *out = tm_hashmap_get(&s->idx[i].sets, ik);
            return TM_OK;
        }
    }
    return TM_E_NOTFOUND;
}

enum tm_code store_index_keys(struct store *s, const char *path, const char *ns,
                              const char *value, void (*fn)(void *ctx, const char *key),
                              void *ctx)
{
    const struct keyset *ks;
    pthread_rwlock_rdlock(&s->lock);
    enum tm_code rc = index_set(s, path, ns, value, &ks);
    for (size_t k = 0; ks && k < ks->n; k++)
        fn(ctx, ks->keys[k]);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

enum tm_code store_foreach_indexed(struct store *s, const char *path, const char *ns,
                                   const char *value, bool (*fn)(void *ctx, const cJSON *obj),
                                   void *ctx)
{
    const struct keyset *ks;
    pthread_rwlock_rdlock(&s->lock);
    enum tm_code rc = index_set(s, path, ns, value, &ks);
    for (size_t k = 0; ks && k < ks->n; k++) {
        const struct entry *e = tm_hashmap_get(&s->objects, ks->keys[k]);
        if (e && !visit(s, e, fn, ctx))
            break;
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
