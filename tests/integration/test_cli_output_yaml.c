/* `-o yaml` holds the same data as `-o json`, for every verb that has
 * `-o json`: the tidemark binary runs each verb both ways against a real
 * PostgreSQL, the YAML is read back with libyaml (yaml_json_fixture.h) and
 * compared with the JSON, and both runs exit alike.  Verbs that change the
 * database (update, rollback) run once per format on two databases brought
 * to the same state; the only fields allowed to differ are the ones that
 * differ between any two runs (deploymentId, durationMs). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine_pgdb.h"
#include "tm_test.h"
#include "yaml_json_fixture.h"

static const char changelog[] =
    "databaseChangeLog:\n"
    "- changeSet: {id: '1', author: \"o'neil\", changes: [{sql: \"CREATE TABLE t1 (id int)\"}],\n"
    "    rollback: \"DROP TABLE t1\"}\n"
    "- changeSet: {id: 'true', author: 'a: b', changes: [{tagDatabase: {tag: '12'}}]}\n"
    "- changeSet: {id: '3', author: x, changes: [{sql: \"CREATE TABLE t2 (id int);\\n"
    "DROP TABLE t1\"}], rollback: \"CREATE TABLE t1 (id int); DROP TABLE t2\"}\n";

struct run {
    char *out; /* stdout, owned */
    int code;  /* exit code, -1 when it did not exit */
};

/* The URL of database name on TIDEMARK_PG_URL's server (its path replaced). */
static void db_url(const char *name, char *url, size_t n)
{
    const char *base = getenv("TIDEMARK_PG_URL");
    const char *host = strstr(base, "://");
    const char *path = host ? strchr(host + 3, '/') : NULL;
    const char *query = path ? strchr(path, '?') : NULL;
    int keep = path ? (int)(path - base) : (int)strlen(base);
    snprintf(url, n, "%.*s/%s%s", keep, base, name, query ? query : "");
}

/* Runs `tidemark VERB --changelog DIR/changelog.yaml ARGS... -o FORMAT`
 * with TIDEMARK_DB_URL=url (never on the command line); stderr goes to
 * the test's stderr. */
static struct run run_cli(const char *dir, const char *url, const char *format,
                          const char *verb_args)
{
    struct run r = {NULL, -1};
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "cd '%s' && \"$TIDEMARK_BIN\" %s -o %s", dir, verb_args, format);
    setenv("TIDEMARK_DB_URL", url, 1);
    FILE *p = popen(cmd, "r");
    if (!p)
        return r;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), p)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *grown = realloc(r.out, cap);
            if (!grown)
                break;
            r.out = grown;
        }
        memcpy(r.out + len, chunk, got);
        len += got;
        r.out[len] = '\0';
    }
    int status = pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (!r.out)
        r.out = calloc(1, 1);
    return r;
}

/* Drops the fields that differ between any two runs. */
static void drop_volatile(cJSON *n)
{
    if (!n)
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(n, "deploymentId");
    cJSON_DeleteItemFromObjectCaseSensitive(n, "durationMs");
    for (cJSON *k = n->child; k; k = k->next)
        drop_volatile(k);
}

/* Runs verb_args with -o json on url_json and -o yaml on url_yaml and
 * expects the same exit code (want) and the same data. */
static void expect_same(const char *dir, const char *url_json, const char *url_yaml,
                        const char *verb_args, int want)
{
    struct run j = run_cli(dir, url_json, "json", verb_args);
    struct run y = run_cli(dir, url_yaml, "yaml", verb_args);
    if (j.code != want || y.code != want)
        TM_FAIL_("%s: exit %d (json) and %d (yaml), want %d", verb_args, j.code, y.code, want);
    cJSON *jt = cJSON_Parse(j.out ? j.out : "");
    cJSON *yt = y.out ? yaml_to_json(y.out, strlen(y.out)) : NULL;
    if (!jt || !yt) {
        TM_FAIL_("%s: %s did not parse:\n%s", verb_args, jt ? "the yaml" : "the json",
                 jt ? (y.out ? y.out : "") : (j.out ? j.out : ""));
    } else {
        drop_volatile(jt);
        drop_volatile(yt);
        if (!cJSON_Compare(jt, yt, 1)) {
            char *b = cJSON_PrintUnformatted(yt);
            TM_FAIL_("%s: yaml\n%s\nreads back as %s\nbut the json is\n%s", verb_args, y.out,
                     b ? b : "", j.out);
            cJSON_free(b);
        }
    }
    cJSON_Delete(jt);
    cJSON_Delete(yt);
    free(j.out);
    free(y.out);
}

TM_TEST(yaml_output_matches_json_for_every_verb)
{
    TM_ASSERT(tm_test_env("TIDEMARK_BIN") != NULL);
    struct pgdb a, b;
    TM_ASSERT(pgdb_open(&a, "cli_yaml_a"));
    TM_ASSERT(pgdb_open(&b, "cli_yaml_b"));
    char dir[] = "/tmp/tm_cli_yaml_XXXXXX";
    TM_ASSERT(mkdtemp(dir) != NULL);
    char path[256], url_a[1024], url_b[1024];
    snprintf(path, sizeof(path), "%s/changelog.yaml", dir);
    FILE *f = fopen(path, "w");
    TM_ASSERT(f != NULL);
    fputs(changelog, f);
    fclose(f);
    db_url(a.name, url_a, sizeof(url_a));
    db_url(b.name, url_b, sizeof(url_b));

    const char *cl = "--changelog changelog.yaml";
    char args[512];
    /* read-only verbs on one database, both formats: an empty one first */
    snprintf(args, sizeof(args), "status %s", cl);
    expect_same(dir, url_a, url_a, args, 0);
    snprintf(args, sizeof(args), "validate %s", cl);
    expect_same(dir, url_a, url_a, args, 0);
    snprintf(args, sizeof(args), "lint %s", cl); /* DROP TABLE: denied */
    expect_same(dir, url_a, url_a, args, 3);
    /* the same change on each database, json on a and yaml on b */
    snprintf(args, sizeof(args), "update %s --to-tag 12", cl);
    expect_same(dir, url_a, url_b, args, 0);
    snprintf(args, sizeof(args), "status %s", cl); /* one pending, a tag applied */
    expect_same(dir, url_a, url_a, args, 0);
    expect_same(dir, url_a, url_a, "history", 0);
    snprintf(args, sizeof(args), "lint %s --policy warn", cl);
    expect_same(dir, url_a, url_a, args, 0);
    snprintf(args, sizeof(args), "update %s", cl);
    expect_same(dir, url_a, url_b, args, 0);
    expect_same(dir, url_a, url_b, "tag 'v 2: true'", 0);
    expect_same(dir, url_a, url_a, "history", 0);
    snprintf(args, sizeof(args), "rollback %s --to-tag 12", cl);
    expect_same(dir, url_a, url_b, args, 0);
    snprintf(args, sizeof(args), "validate %s", cl);
    expect_same(dir, url_a, url_b, args, 0);

    unlink(path);
    rmdir(dir);
    pgdb_close(&a);
    pgdb_close(&b);
}

TM_TEST_MAIN()
