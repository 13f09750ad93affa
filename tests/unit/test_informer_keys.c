/* Unit tests of the informer's key helpers (controller/runtime/informer.c, store.c):
 * keys of namespaced and cluster-scoped objects, splitting, bounds. */
#include "../tm_test.h"

#include "runtime/informer.h"

static cJSON *obj(const char *ns, const char *name)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    if (ns)
        cJSON_AddStringToObject(md, "namespace", ns);
    if (name)
        cJSON_AddStringToObject(md, "name", name);
    return o;
}

TM_TEST(informer_key_is_namespace_slash_name_or_name)
{
    char k[64];
    cJSON *a = obj("prod", "orders"), *b = obj(NULL, "cluster-wide"), *c = obj("prod", NULL);
    TM_ASSERT(informer_key(a, k, sizeof(k)));
    TM_EXPECT_STR(k, "prod/orders");
    TM_ASSERT(informer_key(b, k, sizeof(k)));
    TM_EXPECT_STR(k, "cluster-wide");
    TM_EXPECT(!informer_key(c, k, sizeof(k))); /* no name: no key */
    TM_EXPECT(!informer_key(a, k, 5));           /* does not fit */
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}

TM_TEST(informer_split_key_round_trips)
{
    char ns[16], name[16];
    TM_ASSERT(informer_split_key("prod/orders", ns, sizeof(ns), name, sizeof(name)));
    TM_EXPECT_STR(ns, "prod");
    TM_EXPECT_STR(name, "orders");
    TM_ASSERT(informer_split_key("cluster-wide", ns, sizeof(ns), name, sizeof(name)));
    TM_EXPECT_STR(ns, "");
    TM_EXPECT_STR(name, "cluster-wide");
    TM_EXPECT(!informer_split_key("a-very-long-namespace/x", ns, sizeof(ns), name, sizeof(name)));
    TM_EXPECT(!informer_split_key("x/a-very-long-name-indeed", ns, sizeof(ns), name, sizeof(name)));
}

TM_TEST_MAIN()
