/* store: the informer's cache (client-go's thread-safe store and indexer):
 * Kubernetes objects by key, plus field indexes, behind one rwlock.
 *
 * Design: one tm_hashmap key -> entry (the object as compact JSON text, its
 * resourceVersion, namespace and index keys), and per index one tm_hashmap
 * "ns/value" -> set of keys, updated with every write so that a lookup by
 * value does not scan.  Text, not a cJSON tree: a tree costs about five
 * times its JSON (7.8 KB for a 1.5 KB DBInstance), and the cache is what
 * grows with the number of objects.  Every read parses: a reader always
 * gets its own object.  One writer (the informer group's thread) takes the
 * write lock per change, or once for a whole list (readers never see half a
 * relist); any number of readers take the read lock.  The store is a leaf:
 * it knows keys, objects and indexes, not how they are fetched (reflector.c)
 * nor who is told (the reflector fires the handlers).
 *
 * Invariants: every stored object has a key (store_key) and is indexed
 * under every index path where it has a string.  Writes leave the object
 * they are given with the caller (stripped, see store_put) and hand back the
 * object they replace or remove, parsed, for the handlers; the caller frees
 * both after the handlers have seen them.
 *
 * Does not: fetch, watch, call handlers, or lend stored objects. */
#ifndef TM_RUNTIME_STORE_H
#define TM_RUNTIME_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/err.h"

#define STORE_MAX_INDEXES 4
#define STORE_KEY_MAX 512

struct store;

/* One change made by store_replace, for the handlers: obj is the new
 * object (an item of the list, the caller's; NULL when old was removed),
 * old the replaced or removed one (NULL when obj is new; the caller frees
 * it). */
struct store_change {
    cJSON *old;
    const cJSON *obj;
};

/* ---- keys ---- */

/* Writes obj's key ("ns/name", or "name" when cluster-scoped) into out.
 * false when obj has no metadata.name or the key does not fit. */
bool store_key(const cJSON *obj, char *out, size_t n);

/* The key of ns/name ("name" when ns is NULL or "") into out; false when it
 * does not fit. */
bool store_make_key(const char *ns, const char *name, char *out, size_t n);

/* ---- lifecycle ---- */

/* An empty store; NULL when out of memory. */
struct store *store_new(void);

/* Frees every object, index and the store.  NULL ok. */
void store_free(struct store *s);

/* Indexes objects by the string at a dotted path ("spec.deploymentRef.name"),
 * per namespace, including the objects already stored.  Adding a path twice
 * is a no-op.  TM_E_TOOBIG past STORE_MAX_INDEXES, TM_E_NOMEM. */
enum tm_code store_add_index(struct store *s, const char *path) TM_MUST_CHECK;

/* ---- writes (one writer thread) ---- */

#define STORE_LAST_APPLIED_ANNOTATION "kubectl.kubernetes.io/last-applied-configuration"

/* Strips metadata.managedFields and the annotation
 * STORE_LAST_APPLIED_ANNOTATION from obj (memory; nothing reads them,
 * nothing writes a cached object back whole) and stores it under its key;
 * obj stays the caller's.  *old gets the object it replaced (NULL when new;
 * the caller frees it).  false when obj has no key or on allocation
 * failure: store unchanged, *old NULL. */
bool store_put(struct store *s, cJSON *obj, cJSON **old);

/* Removes the object with obj's key; returns it (the caller frees it), NULL
 * when absent. */
cJSON *store_delete(struct store *s, const cJSON *obj);

/* Makes the store hold exactly the items of a list (stripped as by
 * store_put; they stay the caller's): an item whose resourceVersion equals
 * the stored one keeps the stored object (no change), objects missing from
 * the list are removed.  *changes (free() it) gets the changes in order,
 * puts first, then removals; *n their number.  Items without a key are
 * skipped.  TM_E_NOMEM: the store holds the changes made so far, which
 * *changes lists. */
enum tm_code store_replace(struct store *s, cJSON *items, struct store_change **changes,
                           size_t *n) TM_MUST_CHECK;
/* Objects that could not be indexed, or parsed back for a reader, for lack
 * of memory (they stay stored). */
uint64_t store_index_failures(struct store *s);

/* ---- reads (any thread) ---- */

/* A duplicate of the object under key (the caller cJSON_Deletes it).
 * TM_E_NOTFOUND, TM_E_NOMEM. */
enum tm_code store_get_dup(struct store *s, const char *key, cJSON **out) TM_MUST_CHECK;

/* Calls fn for each object (in namespace ns; NULL = all) under the read
 * lock, until fn returns false.  Each object is parsed for fn and freed
 * when it returns. */
void store_foreach(struct store *s, const char *ns, bool (*fn)(void *ctx, const cJSON *obj),
                   void *ctx);

/* Calls fn with the key of every object in ns whose value at path equals
 * value, under the read lock.  TM_E_NOTFOUND when there is no index on
 * path, TM_E_INVAL when ns/value is longer than a key. */
enum tm_code store_index_keys(struct store *s, const char *path, const char *ns,
                              const char *value, void (*fn)(void *ctx, const char *key),
                              void *ctx) TM_MUST_CHECK;

/* Calls fn for each object in ns whose value at path equals value (through
 * the index: no other object is parsed), under the read lock, until fn
 * returns false.  Errors as store_index_keys. */
enum tm_code store_foreach_indexed(struct store *s, const char *path, const char *ns,
                                   const char *value, bool (*fn)(void *ctx, const cJSON *obj),
                                   void *ctx) TM_MUST_CHECK;

size_t store_len(struct store *s);

#endif
