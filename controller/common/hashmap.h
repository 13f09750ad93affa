/* tm_hashmap: the string-keyed hash map of the project (the informer cache
 * and its indexes, the work queue's per-key records).
 *
 * Design: separate chaining with a power-of-two bucket array, FNV-1a 64-bit
 * hashes kept per entry (a lookup compares hashes before strings, a grow
 * does not rehash strings).  The table doubles when it holds as many
 * entries as buckets (load factor 1).  Chaining, not open addressing, so a
 * delete is O(1) without tombstones and an iterator survives the removal of
 * the entry it just returned (the informer deletes while it scans).
 *
 * Invariants: keys are copied at insert and owned by the map; values are
 * borrowed pointers the map never dereferences (NULL is a valid value;
 * tm_hashmap_has tells it from an absent key).  A failed grow keeps the old
 * table (longer chains, still correct).  Not thread-safe: callers lock.
 *
 * Does not: order entries, free values (tm_hashmap_release takes a
 * function for that), or copy values. */
#ifndef TM_COMMON_HASHMAP_H
#define TM_COMMON_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct tm_hashmap_entry; /* private */

struct tm_hashmap {
    struct tm_hashmap_entry **buckets; /* private; NULL until the first put */
    size_t nbuckets;                   /* private; 0 or a power of two */
    size_t len;                        /* entries; read with tm_hashmap_len */
};

/* FNV-1a, 64 bit, of a NUL-terminated string. */
uint64_t tm_hash_fnv1a(const char *s);

/* ---- lifecycle ---- */

/* An empty map; cannot fail, allocates nothing.  A zeroed struct is the same. */
void tm_hashmap_init(struct tm_hashmap *m);

/* Frees every entry (calling free_val on each value when not NULL) and the
 * table; m is left empty and reusable.  NULL ok. */
void tm_hashmap_release(struct tm_hashmap *m, void (*free_val)(void *val));

/* ---- access ---- */

/* The value of key, or NULL when absent. */
void *tm_hashmap_get(const struct tm_hashmap *m, const char *key);

/* True when key is in m (whatever its value). */
bool tm_hashmap_has(const struct tm_hashmap *m, const char *key);

/* Sets key to val.  *old (NULL ok) gets the value it replaced, NULL when the
 * key is new.  TM_E_NOMEM: m unchanged, *old NULL. */
enum tm_code tm_hashmap_put(struct tm_hashmap *m, const char *key, void *val,
                            void **old) TM_MUST_CHECK;

/* Removes key and returns its value (NULL when absent); the value is not freed. */
void *tm_hashmap_del(struct tm_hashmap *m, const char *key);

size_t tm_hashmap_len(const struct tm_hashmap *m);

/* ---- iteration (in no particular order) ----
 *
 *   struct tm_hashmap_iter it;
 *   const char *key; void *val;
 *   tm_hashmap_iter_init(&it, &m);
 *   while (tm_hashmap_iter_next(&it, &key, &val)) ...
 *
 * The map may not gain entries during an iteration (a put could grow the
 * table); removing the entry just returned is allowed (copy its key first:
 * the removal frees it). */
struct tm_hashmap_iter {
    const struct tm_hashmap *m;
    size_t bucket;                 /* next bucket to scan */
    struct tm_hashmap_entry *next; /* next entry in the current chain */
};

void tm_hashmap_iter_init(struct tm_hashmap_iter *it, const struct tm_hashmap *m);

/* Next entry: key (borrowed until it is removed) and value.  false at the end. */
bool tm_hashmap_iter_next(struct tm_hashmap_iter *it, const char **key, void **val);

#endif
