/* Unit tests: a DBSchema's spec.flyway settings reach the Flyway loader
 * (spec.c turns them into flyway.* properties; changelog/flyway_conf.c reads
 * them).  The folders are shaped like the corpus sets that need them
 * (OpenLMIS: empty prefix, schemas, table; DependencyTrack: placeholder
 * replacement off). */
#include <stdlib.h>
#include <string.h>

#include "source/source.h"
#include "tm_test.h"

/* Parses spec, loads its inline files and the changelog; NULL on failure
 * (err says why).  *s is released by the caller. */
static struct chlog *load_spec(const char *spec_json, struct src_spec *s, struct tm_err *err)
{
    cJSON *spec = cJSON_Parse(spec_json);
    struct chlog *cl = NULL;
    struct chlog_fs fs;
    bool fs_ok = false;
    enum tm_code rc = spec ? src_spec_parse(spec, s, err) : TM_E_PARSE;
    if (rc == TM_OK) {
        rc = src_load_inline(s->inline_files, &fs, err);
        fs_ok = rc == TM_OK;
    }
    if (rc == TM_OK)
        rc = chlog_load(&fs, s->changelog, &s->props, &cl, err);
    if (fs_ok)
        chlog_fs_mem_release(&fs);
    cJSON_Delete(spec);
    return rc == TM_OK ? cl : NULL;
}

TM_TEST(spec_flyway_settings_reach_the_flyway_loader)
{
    struct src_spec s;
    struct tm_err err;
    tm_err_clear(&err);
    struct chlog *cl = load_spec(
        "{\"changelog\":\"db/migration\",\"flyway\":{\"sqlMigrationPrefix\":\"\","
        "\"schemas\":[\"referencedata\"],\"table\":\"schema_version\",\"mixed\":true,"
        "\"placeholders\":{\"owner\":\"app\"}},"
        "\"source\":{\"inline\":{\"files\":{"
        "\"db/migration/20170206205240748__initial_schema.sql\":\"CREATE TABLE x (a int);\","
        "\"db/migration/20170207234903470__grant.sql\":\"GRANT SELECT ON x TO ${owner};\"}}}}",
        &s, &err);
    if (!cl)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT(cl != NULL);
    TM_EXPECT_STR(chlog_props_get(&s.props, "flyway.schemas"), "referencedata");
    TM_EXPECT_STR(chlog_props_get(&s.props, "flyway.mixed"), "true");
    TM_ASSERT_INT(cl->nsets, 2);
    TM_EXPECT_STR(cl->sets[0].version, "20170206205240748");
    TM_EXPECT_STR(cl->sets[1].changes[0].sql, "GRANT SELECT ON x TO app;");
    TM_EXPECT_STR(cl->flyway_schema, "referencedata");
    TM_EXPECT_STR(cl->flyway_table, "schema_version");
    chlog_free(cl);
    src_spec_release(&s);
}

TM_TEST(spec_flyway_placeholder_replacement_off_keeps_dollar_braces)
{
    struct src_spec s;
    struct tm_err err;
    tm_err_clear(&err);
    struct chlog *cl = load_spec(
        "{\"changelog\":\"m\",\"flyway\":{\"placeholderReplacement\":false},"
        "\"source\":{\"inline\":{\"files\":{\"m/V1__f.sql\":\"SELECT '${not_a_placeholder}';\"}}}}",
        &s, &err);
    if (!cl)
        fprintf(stderr, "%s\n", err.msg);
    TM_ASSERT(cl != NULL);
    TM_EXPECT_STR(cl->sets[0].changes[0].sql, "SELECT '${not_a_placeholder}';");
    chlog_free(cl);
    src_spec_release(&s);
}

TM_TEST(spec_flyway_rejects_bad_shapes_and_unknown_settings)
{
    struct src_spec s;
    struct tm_err err;
    tm_err_clear(&err);
    TM_EXPECT(load_spec("{\"flyway\":{\"mixed\":3},\"source\":{\"inline\":{\"files\":{}}}}", &s,
                        &err) == NULL);
    TM_EXPECT_CONTAINS(err.msg, "spec.flyway.mixed: must be text, true/false or a list of text");
    tm_err_clear(&err);
    TM_EXPECT(load_spec("{\"changelog\":\"m\",\"flyway\":{\"sqlMigrationPrefx\":\"V\"},"
                        "\"source\":{\"inline\":{\"files\":{\"m/V1__a.sql\":\"SELECT 1;\"}}}}",
                        &s, &err) == NULL);
    TM_EXPECT_CONTAINS(err.msg, "flyway.sqlMigrationPrefx: a Flyway setting tidemark does not "
                                "support");
    src_spec_release(&s);
}

TM_TEST_MAIN()
