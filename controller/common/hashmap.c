/* The string-keyed hash map (see hashmap.h for the design). */
#include "common/hashmap.h"

#include <stdlib.h>
#include <string.h>

#define HASHMAP_MIN_BUCKETS 64

struct tm_hashmap_entry {
    char *key;
    void *val;
    uint64_t hash;
    struct tm_hashmap_entry *next;
};

uint64_t tm_hash_fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a 64 offset basis */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull; /* FNV 64 prime */
    }
    return h;
}

void tm_hashmap_init(struct tm_hashmap *m)
{
    m->buckets = NULL;
    m->nbuckets = 0;
    m->len = 0;
}

void tm_hashmap_release(struct tm_hashmap *m, void (*free_val)(void *val))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct tm_hashmap_entry *e = m->buckets[i];
        while (e) {
            struct tm_hashmap_entry *next = e->next;
            if (free_val)
                free_val(e->val);
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    tm_hashmap_init(m);
}

static struct tm_hashmap_entry **slot_of(const struct tm_hashmap *m, uint64_t hash)
{
    return &m->buckets[hash & (m->nbuckets - 1)];
}

/* The link pointing at key's entry (*link NULL when absent), or NULL when
 * the table is empty. */
static struct tm_hashmap_entry **find_link(const struct tm_hashmap *m, const char *key,
                                           uint64_t hash)
{
    if (!m->nbuckets)
        return NULL;
    struct tm_hashmap_entry **link = slot_of(m, hash);
    while (*link && ((*link)->hash != hash || strcmp((*link)->key, key) != 0))
        link = &(*link)->next;
    return link;
}

void *tm_hashmap_get(const struct tm_hashmap *m, const char *key)
{
    struct tm_hashmap_entry **link = find_link(m, key, tm_hash_fnv1a(key));
    return link && *link ? (*link)->val : NULL;
}

bool tm_hashmap_has(const struct tm_hashmap *m, const char *key)
{
    struct tm_hashmap_entry **link = find_link(m, key, tm_hash_fnv1a(key));
    return link && *link;
}

/* Doubles the bucket array; on allocation failure keeps the old one. */
static void grow(struct tm_hashmap *m)
{
    size_t n = m->nbuckets ? m->nbuckets * 2 : HASHMAP_MIN_BUCKETS;
    struct tm_hashmap_entry **nb = calloc(n, sizeof(*nb));
    if (!nb)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct tm_hashmap_entry *e = m->buckets[i];
        while (e) {
            struct tm_hashmap_entry *next = e->next;
            e->next = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = nb;
    m->nbuckets = n;
}

enum tm_code tm_hashmap_put(struct tm_hashmap *m, const char *key, void *val, void **old)
{
    uint64_t hash = tm_hash_fnv1a(key);
    struct tm_hashmap_entry **link = find_link(m, key, hash);
    if (old)
        *old = NULL;
    if (link && *link) {
        if (old)
            *old = (*link)->val;
        (*link)->val = val;
        return TM_OK;
    }
    if (m->len >= m->nbuckets)
        grow(m);
    if (!m->nbuckets)
        return TM_E_NOMEM;
    struct tm_hashmap_entry *e = malloc(sizeof(*e));
    char *k = strdup(key);
    if (!e || !k) {
        free(e);
        free(k);
        return TM_E_NOMEM;
    }
    e->key = k;
    e->val = val;
    e->hash = hash;
    link = slot_of(m, hash);
    e->next = *link;
    *link = e;
    m->len++;
    return TM_OK;
}

void *tm_hashmap_del(struct tm_hashmap *m, const char *key)
{
    struct tm_hashmap_entry **link = find_link(m, key, tm_hash_fnv1a(key));
    if (!link || !*link)
        return NULL;
    struct tm_hashmap_entry *e = *link;
    void *val = e->val;
    *link = e->next;
    free(e->key);
    free(e);
    m->len--;
    return val;
}

size_t tm_hashmap_len(const struct tm_hashmap *m)
{
    return m->len;
}

void tm_hashmap_iter_init(struct tm_hashmap_iter *it, const struct tm_hashmap *m)
{
    it->m = m;
    it->bucket = 0;
    it->next = NULL;
}

bool tm_hashmap_iter_next(struct tm_hashmap_iter *it, const char **key, void **val)
{
    while (!it->next && it->bucket < it->m->nbuckets)
        it->next = it->m->buckets[it->bucket++];
    struct tm_hashmap_entry *e = it->next;
    if (!e)
        return false;
    it->next = e->next; /* taken before the caller may remove e */
    *key = e->key;
    *val = e->val;
    return true;
}
