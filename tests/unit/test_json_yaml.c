/* Unit tests of controller/common/json_yaml (cJSON written through
 * libyaml's emitter for `-o yaml`): each tree is written as YAML, read back
 * with libyaml (tests/yaml_json_fixture.h) and compared with the original,
 * so a string that looks like another type, needs quoting or escaping, or
 * spans lines must come back the same. */
#include "../tm_test.h"

#include <stdio.h>
#include <stdlib.h>

#include "../yaml_json_fixture.h"
#include "common/json_yaml.h"

/* tree as YAML text (the caller frees it), or NULL on failure. */
static char *yaml_of(const cJSON *tree)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    struct tm_err err;
    tm_err_clear(&err);
    enum tm_code rc = tm_json_yaml_write(f, tree, &err);
    fclose(f);
    if (rc != TM_OK) {
        fprintf(stderr, "tm_json_yaml_write: %s\n", err.msg);
        free(text);
        return NULL;
    }
    return text;
}

static void expect_round_trip(const char *json)
{
    cJSON *tree = cJSON_Parse(json);
    TM_ASSERT(tree != NULL);
    char *yaml = yaml_of(tree);
    TM_EXPECT(yaml != NULL);
    cJSON *back = yaml ? yaml_to_json(yaml, strlen(yaml)) : NULL;
    if (!back || !cJSON_Compare(tree, back, 1)) {
        char *b = back ? cJSON_PrintUnformatted(back) : NULL;
        TM_FAIL_("round trip of %s: yaml\n%s\nread back as %s", json, yaml ? yaml : "(none)",
                 b ? b : "(no parse)");
        cJSON_free(b);
    }
    cJSON_Delete(back);
    cJSON_Delete(tree);
    free(yaml);
}

TM_TEST(yaml_keeps_strings_that_look_like_other_types)
{
    expect_round_trip("{\"a\":\"true\",\"b\":\"false\",\"c\":\"null\",\"d\":\"~\",\"e\":\"12\","
                      "\"f\":\"1.5\",\"g\":\"1e3\",\"h\":\"\",\"i\":\"yes\",\"j\":\"0x1F\"}");
}

TM_TEST(yaml_quotes_strings_with_yaml_syntax_in_them)
{
    expect_round_trip("[\"a: b\",\"- x\",\"# c\",\"o'neil\",\"say \\\"hi\\\"\",\"{x}\",\"[y]\","
                      "\"&anchor\",\"*ref\",\"!tag\",\"%d\",\"@at\",\"`tick\",\"back\\\\slash\","
                      "\" lead\",\"trail \",\"---\",\"...\",\"?\",\"|\",\">\"]");
}

TM_TEST(yaml_keeps_newlines_tabs_controls_and_utf8)
{
    expect_round_trip("{\"sql\":\"CREATE TABLE t (\\n  id int\\n);\\n\",\"tab\":\"a\\tb\","
                      "\"bell\":\"\\u0007\",\"utf8\":\"caf\\u00e9 \\u2713\",\"nul\":\"x\"}");
}

TM_TEST(yaml_keeps_numbers_booleans_and_null)
{
    expect_round_trip("{\"n\":0,\"neg\":-3,\"big\":1234567890123,\"frac\":0.25,\"t\":true,"
                      "\"f\":false,\"z\":null}");
}

TM_TEST(yaml_keeps_nesting_and_empty_containers)
{
    expect_round_trip("{\"steps\":[{\"changeset\":\"a::1::x\",\"outcome\":\"EXECUTED\"},"
                      "{\"nested\":[[1,2],[],{}]}],\"lint\":[],\"error\":{},"
                      "\"long\":\"" /* no folding of a long line */
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
                      "\"}");
    expect_round_trip("[]");
    expect_round_trip("{}");
}

TM_TEST(yaml_writes_block_style_for_people)
{
    cJSON *tree = cJSON_Parse("{\"result\":\"ok\",\"applied\":2,\"steps\":[{\"outcome\":\"x\"}]}");
    TM_ASSERT(tree != NULL);
    char *yaml = yaml_of(tree);
    TM_ASSERT(yaml != NULL);
    TM_EXPECT_STR(yaml, "result: 'ok'\napplied: 2\nsteps:\n- outcome: 'x'\n");
    free(yaml);
    cJSON_Delete(tree);
}

TM_TEST_MAIN()
