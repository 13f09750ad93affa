/* The sample DBSchema (manifests/samples/01-dbschema.yaml) goes the way the
 * controller takes it: its spec through src_spec_parse() and
 * src_load_inline() into a mem fs, then chlog_load().  Guards the demo and
 * the e2e tests against a sample changelog that does not parse or lost a tag
 * or a rollback.  The YAML manifest is turned into the JSON the apiserver
 * would serve with python3 + PyYAML (a test-only tool; hack/deps.sh). */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "source/source.h"
#include "tm_test.h"

extern char **environ;

/* The manifest at rel (under the source dir) as JSON, or NULL. */
static cJSON *manifest_json(const char *rel)
{
    const char *src = tm_test_env("TIDEMARK_SOURCE_DIR");
    if (!src)
        return NULL;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", src, rel);
    char *argv[] = {"python3", "-c",
                    "import json,sys,yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
                    path, NULL};
    int p[2];
    if (pipe(p) != 0)
        return NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclose(&fa, p[0]);
    pid_t pid;
    int rc = posix_spawnp(&pid, "python3", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return NULL;
    }
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf && (r = read(p[0], buf + len, cap - len - 1)) > 0)
        len += (size_t)r;
    close(p[0]);
    waitpid(pid, NULL, 0);
    if (!buf)
        return NULL;
    buf[len] = '\0';
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    return j;
}

TM_TEST(sample_dbschema_loads_with_three_tags_and_rollbacks)
{
    cJSON *obj = manifest_json("manifests/samples/01-dbschema.yaml");
    TM_ASSERT(obj != NULL);
    struct src_spec spec;
    struct tm_err e;
    TM_ASSERT_INT(src_spec_parse(cJSON_GetObjectItemCaseSensitive(obj, "spec"), &spec, &e), TM_OK);
    TM_EXPECT_INT(spec.kind, SRC_KIND_INLINE);
    struct chlog_fs fs;
    TM_ASSERT_INT(src_load_inline(spec.inline_files, &fs, &e), TM_OK);
    struct chlog *c = NULL;
    enum tm_code rc = chlog_load(&fs, spec.changelog, NULL, &c, &e);
    if (rc != TM_OK)
        fprintf(stderr, "chlog_load: %s\n", e.msg);
    TM_EXPECT_INT(rc, TM_OK);
    if (c) {
        long t0 = chlog_find_tag(c, "v1.0.0"), t1 = chlog_find_tag(c, "v1.1.0"),
             t2 = chlog_find_tag(c, "v1.2.0");
        TM_EXPECT(t0 >= 0 && t0 < t1 && t1 < t2);
        TM_EXPECT_INT(t2, (long)c->nsets - 1);
        size_t sql_sets = 0;
        for (size_t i = 0; i < c->nsets; i++) {
            const struct chlog_changeset *cs = &c->sets[i];
            bool tag_only = cs->nchanges == 1 && cs->changes[0].kind == CHLOG_CHANGE_TAG;
            if (tag_only)
                continue;
            sql_sets++;
            TM_EXPECT(cs->has_rollback && cs->rollback_sql && cs->rollback_sql[0]);
        }
        TM_EXPECT_INT(sql_sets, 5);
    }
    chlog_free(c);
    chlog_fs_mem_release(&fs);
    src_spec_release(&spec);
    cJSON_Delete(obj);
}

TM_TEST_MAIN()
