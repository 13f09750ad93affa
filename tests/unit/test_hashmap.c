/* Unit tests of controller/common/hashmap.c: FNV-1a against the reference
 * vectors, put/get/replace/delete, growth past many resizes, NULL values,
 * iteration that removes as it goes, and release freeing every value. */
#include "../tm_test.h"

#include <stdio.h>

#include "common/hashmap.h"

TM_TEST(hashmap_fnv1a_matches_reference_vectors)
{
    /* from the FNV reference test suite (isthe.com/chongo/src/fnv/test_fnv.c) */
    TM_EXPECT(tm_hash_fnv1a("") == 0xcbf29ce484222325ull);
    TM_EXPECT(tm_hash_fnv1a("a") == 0xaf63dc4c8601ec8cull);
    TM_EXPECT(tm_hash_fnv1a("foobar") == 0x85944171f73967e8ull);
}

TM_TEST(hashmap_puts_replaces_and_deletes)
{
    struct tm_hashmap m;
    tm_hashmap_init(&m);
    int a = 1, b = 2, c = 3;
    void *old = &c;
    TM_EXPECT(tm_hashmap_get(&m, "ns/a") == NULL);
    TM_EXPECT(tm_hashmap_del(&m, "ns/a") == NULL); /* empty table */
    TM_ASSERT_INT(tm_hashmap_put(&m, "ns/a", &a, &old), TM_OK);
    TM_EXPECT(old == NULL);
    TM_ASSERT_INT(tm_hashmap_put(&m, "ns/b", &b, NULL), TM_OK);
    TM_EXPECT(tm_hashmap_get(&m, "ns/a") == &a);
    TM_EXPECT(tm_hashmap_get(&m, "ns/b") == &b);
    TM_EXPECT_INT(tm_hashmap_len(&m), 2);
    TM_ASSERT_INT(tm_hashmap_put(&m, "ns/a", &c, &old), TM_OK);
    TM_EXPECT(old == &a);
    TM_EXPECT(tm_hashmap_get(&m, "ns/a") == &c);
    TM_EXPECT_INT(tm_hashmap_len(&m), 2);
    TM_EXPECT(tm_hashmap_del(&m, "ns/a") == &c);
    TM_EXPECT(tm_hashmap_get(&m, "ns/a") == NULL);
    TM_EXPECT(tm_hashmap_del(&m, "ns/a") == NULL);
    TM_EXPECT_INT(tm_hashmap_len(&m), 1);
    tm_hashmap_release(&m, NULL);
    TM_EXPECT_INT(tm_hashmap_len(&m), 0);
    TM_ASSERT_INT(tm_hashmap_put(&m, "again", &a, NULL), TM_OK); /* reusable */
    TM_EXPECT(tm_hashmap_get(&m, "again") == &a);
    tm_hashmap_release(&m, NULL);
}

TM_TEST(hashmap_tells_a_null_value_from_an_absent_key)
{
    struct tm_hashmap m = {0};
    TM_ASSERT_INT(tm_hashmap_put(&m, "k", NULL, NULL), TM_OK);
    TM_EXPECT(tm_hashmap_has(&m, "k"));
    TM_EXPECT(!tm_hashmap_has(&m, "other"));
    TM_EXPECT(tm_hashmap_get(&m, "k") == NULL);
    tm_hashmap_release(&m, NULL);
}

TM_TEST(hashmap_keeps_every_key_through_growth)
{
    enum { N = 5000 };
    static int vals[N];
    struct tm_hashmap m;
    tm_hashmap_init(&m);
    char key[32];
    for (int i = 0; i < N; i++) {
        vals[i] = i;
        snprintf(key, sizeof(key), "ns/obj-%d", i);
        TM_ASSERT_INT(tm_hashmap_put(&m, key, &vals[i], NULL), TM_OK);
    }
    TM_EXPECT_INT(tm_hashmap_len(&m), N);
    int missing = 0;
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "ns/obj-%d", i);
        int *v = tm_hashmap_get(&m, key);
        if (!v || *v != i)
            missing++;
    }
    TM_EXPECT_INT(missing, 0);
    tm_hashmap_release(&m, NULL);
}

TM_TEST(hashmap_iterates_every_entry_once_while_removing)
{
    enum { N = 300 };
    static int vals[N];
    struct tm_hashmap m;
    tm_hashmap_init(&m);
    char key[32];
    for (int i = 0; i < N; i++) {
        vals[i] = 0;
        snprintf(key, sizeof(key), "k%d", i);
        TM_ASSERT_INT(tm_hashmap_put(&m, key, &vals[i], NULL), TM_OK);
    }
    struct tm_hashmap_iter it;
    const char *k;
    void *v;
    tm_hashmap_iter_init(&it, &m);
    size_t seen = 0;
    while (tm_hashmap_iter_next(&it, &k, &v)) {
        int *count = v;
        (*count)++;
        seen++;
        int i = 0;
        TM_ASSERT(sscanf(k, "k%d", &i) == 1);
        if (i % 2 == 0) { /* remove the entry just returned */
            char copy[32];
            snprintf(copy, sizeof(copy), "%s", k);
            TM_EXPECT(tm_hashmap_del(&m, copy) == count);
        }
    }
    TM_EXPECT_INT(seen, N);
    int wrong = 0;
    for (int i = 0; i < N; i++)
        if (vals[i] != 1)
            wrong++;
    TM_EXPECT_INT(wrong, 0);
    TM_EXPECT_INT(tm_hashmap_len(&m), N / 2);
    tm_hashmap_release(&m, NULL);
}

static int freed;

static void count_free(void *val)
{
    (void)val;
    freed++;
}

TM_TEST(hashmap_release_frees_every_value)
{
    struct tm_hashmap m;
    tm_hashmap_init(&m);
    int x;
    freed = 0;
    TM_ASSERT_INT(tm_hashmap_put(&m, "a", &x, NULL), TM_OK);
    TM_ASSERT_INT(tm_hashmap_put(&m, "b", &x, NULL), TM_OK);
    TM_ASSERT_INT(tm_hashmap_put(&m, "c", &x, NULL), TM_OK);
    tm_hashmap_release(&m, count_free);
    TM_EXPECT_INT(freed, 3);
    tm_hashmap_release(NULL, count_free); /* NULL ok */
}

TM_TEST_MAIN()
