/* Unit tests of the informer's store (controller/runtime/store.c), no
 * servers: a relist's changes (add, update, unchanged, synthesized delete),
 * field indexes following puts and deletes, reads by namespace, keys. */
#include "../tm_test.h"

#include <stdio.h>

#include "runtime/store.h"

static cJSON *obj(const char *ns, const char *name, const char *rv, const char *ref)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    if (ns)
        cJSON_AddStringToObject(md, "namespace", ns);
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "resourceVersion", rv);
    cJSON_AddArrayToObject(md, "managedFields");
    cJSON *ann = cJSON_AddObjectToObject(md, "annotations");
    cJSON_AddStringToObject(ann, STORE_LAST_APPLIED_ANNOTATION, "{\"the\":\"whole object\"}");
    cJSON_AddStringToObject(ann, "tidemark.dev/tag", "v1");
    if (ref)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "spec"), "ref", ref);
    return o;
}

static const char *name_of(const cJSON *o)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "metadata");
    return cJSON_GetObjectItemCaseSensitive(md, "name")->valuestring;
}

static void collect(void *ctx, const char *key)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s%s", n ? "," : "", key);
}

/* store_put of a new object, which the test does not keep */
static bool put(struct store *s, cJSON *o, cJSON **old)
{
    bool ok = store_put(s, o, old);
    cJSON_Delete(o);
    return ok;
}

static void free_changes(struct store_change *ch, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(ch[i].old);
    free(ch);
}

TM_TEST(store_replace_reports_adds_updates_and_synthesized_deletes)
{
    struct store *s = store_new();
    TM_ASSERT(s != NULL);
    cJSON *old = NULL;
    TM_ASSERT(put(s, obj("ns", "keep", "1", NULL), &old));
    TM_ASSERT(put(s, obj("ns", "change", "1", NULL), &old));
    TM_ASSERT(put(s, obj("ns", "gone", "1", NULL), &old));
    TM_EXPECT(old == NULL);

    cJSON *items = cJSON_CreateArray();
    cJSON_AddItemToArray(items, obj("ns", "keep", "1", NULL));   /* same RV: no change */
    cJSON_AddItemToArray(items, obj("ns", "change", "2", NULL)); /* update */
    cJSON_AddItemToArray(items, obj("ns", "new", "3", NULL));    /* add */
    cJSON_AddItemToArray(items, cJSON_CreateObject());           /* no key: dropped */
    struct store_change *ch = NULL;
    size_t n = 0;
    TM_ASSERT_INT(store_replace(s, items, &ch, &n), TM_OK);
    TM_ASSERT_INT(n, 3);
    TM_EXPECT_STR(name_of(ch[0].obj), "change");
    TM_EXPECT(ch[0].old != NULL);
    TM_EXPECT_STR(name_of(ch[1].obj), "new");
    TM_EXPECT(ch[1].old == NULL);
    TM_EXPECT(ch[2].obj == NULL); /* the synthesized delete */
    TM_EXPECT_STR(name_of(ch[2].old), "gone");
    free_changes(ch, n);
    cJSON_Delete(items); /* the changes borrowed its items */
    TM_EXPECT_INT(store_len(s), 3);

    cJSON *got = NULL;
    TM_ASSERT_INT(store_get_dup(s, "ns/change", &got), TM_OK);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(got, "metadata");
    TM_EXPECT_STR(cJSON_GetObjectItemCaseSensitive(md, "resourceVersion")->valuestring, "2");
    TM_EXPECT(cJSON_GetObjectItemCaseSensitive(md, "managedFields") == NULL); /* stripped */
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(md, "annotations");
    TM_EXPECT(cJSON_GetObjectItemCaseSensitive(ann, STORE_LAST_APPLIED_ANNOTATION) == NULL);
    TM_EXPECT(cJSON_GetObjectItemCaseSensitive(ann, "tidemark.dev/tag") != NULL); /* kept */
    cJSON_Delete(got);
    TM_EXPECT_INT(store_get_dup(s, "ns/gone", &got), TM_E_NOTFOUND);
    store_free(s);
}

static bool count_obj(void *ctx, const cJSON *o)
{
    (void)o;
    (*(int *)ctx)++;
    return true;
}

TM_TEST(store_index_follows_puts_and_deletes)
{
    struct store *s = store_new();
    TM_ASSERT(s != NULL);
    cJSON *old = NULL;
    TM_ASSERT(put(s, obj("ns", "a", "1", "target"), &old));
    TM_ASSERT_INT(store_add_index(s, "spec.ref"), TM_OK); /* indexes what is stored */
    TM_ASSERT_INT(store_add_index(s, "spec.ref"), TM_OK); /* twice: no-op */
    TM_ASSERT(put(s, obj("ns", "b", "1", "target"), &old));
    TM_ASSERT(put(s, obj("other", "c", "1", "target"), &old));
    char keys[256] = "";
    TM_ASSERT_INT(store_index_keys(s, "spec.ref", "ns", "target", collect, keys), TM_OK);
    TM_EXPECT(strcmp(keys, "ns/a,ns/b") == 0 || strcmp(keys, "ns/b,ns/a") == 0);

    TM_ASSERT(put(s, obj("ns", "a", "2", "elsewhere"), &old)); /* moves away */
    TM_ASSERT(old != NULL);
    cJSON_Delete(old);
    cJSON *b = obj("ns", "b", "2", NULL);
    cJSON_Delete(store_delete(s, b));
    cJSON_Delete(b);
    keys[0] = '\0';
    TM_ASSERT_INT(store_index_keys(s, "spec.ref", "ns", "target", collect, keys), TM_OK);
    TM_EXPECT_STR(keys, "");
    TM_ASSERT_INT(store_index_keys(s, "spec.ref", "ns", "elsewhere", collect, keys), TM_OK);
    TM_EXPECT_STR(keys, "ns/a");
    TM_EXPECT_INT(store_index_keys(s, "spec.nope", "ns", "x", collect, keys), TM_E_NOTFOUND);
    int seen = 0; /* the same lookup, parsing only the objects it finds */
    TM_EXPECT_INT(store_foreach_indexed(s, "spec.ref", "ns", "elsewhere", count_obj, &seen), TM_OK);
    TM_EXPECT_INT(seen, 1);
    seen = 0;
    TM_EXPECT_INT(store_foreach_indexed(s, "spec.ref", "other", "target", count_obj, &seen), TM_OK);
    TM_EXPECT_INT(seen, 1);
    TM_EXPECT_INT(store_foreach_indexed(s, "spec.ref", "ns", "target", count_obj, &seen), TM_OK);
    TM_EXPECT_INT(seen, 1); /* none left there */
    TM_EXPECT_INT(store_foreach_indexed(s, "spec.nope", "ns", "x", count_obj, &seen),
                  TM_E_NOTFOUND);
    TM_EXPECT_INT(store_index_failures(s), 0);
    store_free(s);
}

TM_TEST(store_reads_by_namespace_and_duplicates_on_get)
{
    struct store *s = store_new();
    TM_ASSERT(s != NULL);
    cJSON *old = NULL;
    TM_ASSERT(put(s, obj("a", "x", "1", NULL), &old));
    TM_ASSERT(put(s, obj("b", "y", "1", NULL), &old));
    TM_ASSERT(put(s, obj(NULL, "cluster", "1", NULL), &old));
    TM_EXPECT(!put(s, cJSON_CreateObject(), &old)); /* no key: not stored */
    int n = 0;
    store_foreach(s, "a", count_obj, &n);
    TM_EXPECT_INT(n, 1);
    n = 0;
    store_foreach(s, NULL, count_obj, &n);
    TM_EXPECT_INT(n, 3);
    cJSON *dup = NULL;
    TM_ASSERT_INT(store_get_dup(s, "cluster", &dup), TM_OK);
    TM_EXPECT_STR(name_of(dup), "cluster");
    cJSON_Delete(dup);
    TM_EXPECT_INT(store_get_dup(s, "a/missing", &dup), TM_E_NOTFOUND);
    char key[16];
    TM_EXPECT(store_make_key("ns", "n", key, sizeof(key)) && strcmp(key, "ns/n") == 0);
    TM_EXPECT(store_make_key("", "n", key, sizeof(key)) && strcmp(key, "n") == 0);
    TM_EXPECT(!store_make_key("namespace", "too-long-name", key, sizeof(key)));
    store_free(s);
}

TM_TEST_MAIN()
