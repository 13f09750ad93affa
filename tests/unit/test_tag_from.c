/* Tests of tag_from: the tag of image references (registry ports,
 * digests, none) and the pattern that turns it into a changelog tag. */
#include "../tm_test.h"

#include "reconcilers/tag_from.h"

static const char *resolve(const char *image, const char *pattern, char *err, size_t errn)
{
    static char out[64];
    err[0] = '\0';
    return tag_from_resolve(image, pattern, out, sizeof(out), err, errn) ? out : NULL;
}

TM_TEST(tag_from_plain_reference)
{
    char err[256];
    TM_EXPECT_STR(resolve("app:1.2.0", NULL, err, sizeof(err)), "1.2.0");
    TM_EXPECT_STR(resolve("localhost/tidemark/testapp:v1.1.0", NULL, err, sizeof(err)),
                  "v1.1.0");
}

TM_TEST(tag_from_registry_port_is_not_a_tag)
{
    char err[256];
    TM_EXPECT_STR(resolve("registry.local:5000/team/app:v2", NULL, err, sizeof(err)), "v2");
    TM_EXPECT(resolve("registry.local:5000/team/app", NULL, err, sizeof(err)) == NULL);
    TM_EXPECT_CONTAINS(err, "image registry.local:5000/team/app has no tag");
}

TM_TEST(tag_from_digest_is_dropped)
{
    char err[256];
    TM_EXPECT_STR(resolve("reg:5000/app:v3@sha256:0123abcd", NULL, err, sizeof(err)), "v3");
    TM_EXPECT(resolve("reg:5000/app@sha256:0123abcd", NULL, err, sizeof(err)) == NULL);
    TM_EXPECT_CONTAINS(err, "has no tag");
}

TM_TEST(tag_from_no_tag_or_empty_tag)
{
    char err[256];
    TM_EXPECT(resolve("app", NULL, err, sizeof(err)) == NULL);
    TM_EXPECT(resolve("app:", NULL, err, sizeof(err)) == NULL);
    TM_EXPECT(resolve(NULL, NULL, err, sizeof(err)) == NULL);
    TM_EXPECT_CONTAINS(err, "has no tag");
}

TM_TEST(tag_from_pattern_capture_group)
{
    char err[256];
    TM_EXPECT_STR(resolve("app:v1.1.0", "^v?(.*)$", err, sizeof(err)), "1.1.0");
    TM_EXPECT_STR(resolve("app:1.1.0", "^v?(.*)$", err, sizeof(err)), "1.1.0");
    TM_EXPECT_STR(resolve("app:release-7-amd64", "^release-([0-9]+)", err, sizeof(err)), "7");
    /* without a group the whole match counts */
    TM_EXPECT_STR(resolve("app:v4-rc1", "^v[0-9]+", err, sizeof(err)), "v4");
}

TM_TEST(tag_from_pattern_mismatch_and_bad_pattern)
{
    char err[256];
    TM_EXPECT(resolve("app:latest", "^v([0-9.]+)$", err, sizeof(err)) == NULL);
    TM_EXPECT_CONTAINS(err, "tag latest of image app:latest does not match pattern ^v([0-9.]+)$");
    TM_EXPECT(resolve("app:v1", "^v(", err, sizeof(err)) == NULL);
    TM_EXPECT_CONTAINS(err, "pattern ^v(:");
    TM_EXPECT(resolve("app:v1", "^v1()", err, sizeof(err)) == NULL);
    TM_EXPECT_CONTAINS(err, "captures nothing");
}

TM_TEST(tag_from_result_too_long)
{
    char out[4], err[256];
    TM_EXPECT(!tag_from_resolve("app:v1.2.3", NULL, out, sizeof(out), err, sizeof(err)));
    TM_EXPECT_CONTAINS(err, "longer than 3 characters");
    TM_EXPECT(tag_from_resolve("app:v12", NULL, out, sizeof(out), err, sizeof(err)));
    TM_EXPECT_STR(out, "v12");
}

TM_TEST_MAIN()
