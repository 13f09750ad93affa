/* Benchmarks of the changelog parsers (label bench; figures are printed,
 * nothing is timed-asserted):
 *   - chlog_load of a generated Liquibase YAML master including 10 files of
 *     1,000 changesets each (10,000 changesets, v9 checksums included);
 *   - the same 10,000 changesets as one formatted SQL file;
 *   - chlog_split_statements over ~8 MiB of mixed SQL (quotes, comments,
 *     dollar-quoted bodies);
 *   - load and plan (to the latest changeset, empty history) of every
 *     Liquibase set of the real-world corpus (../shared/corpus, in place),
 *     from disk as the CLI reads it: issue 10's target is <= 100 ms for the
 *     largest.
 * Asserts only that the work was done (counts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "changelog/chlog.h"
#include "common/buf.h"
#include "engine/engine.h"
#include "tm_test.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define FILES 10
#define PER_FILE 1000

TM_TEST(bench_chlog_load_yaml_10k_changesets)
{
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    struct tm_err err = {0};
    struct tm_buf master, part;
    tm_buf_init(&master, 1u << 20);
    tm_buf_init(&part, 16u << 20);
    TM_ASSERT_INT(tm_buf_adds(&master, "databaseChangeLog:\n- property: {name: schema, value: app}\n"), TM_OK);
    size_t bytes = 0;
    for (int f = 0; f < FILES; f++) {
        TM_ASSERT_INT(tm_buf_addf(&master, "- include: {file: parts/p%02d.yaml, relativeToChangelogFile: true}\n", f), TM_OK);
        tm_buf_reset(&part);
        TM_ASSERT_INT(tm_buf_adds(&part, "databaseChangeLog:\n"), TM_OK);
        for (int i = 0; i < PER_FILE; i++) {
            TM_ASSERT_INT(tm_buf_addf(&part,
                "- changeSet:\n"
                "    id: c%02d-%04d\n"
                "    author: bench\n"
                "    changes:\n"
                "      - sql: CREATE TABLE ${schema}.t%02d_%04d (id bigserial PRIMARY KEY, v text NOT NULL DEFAULT 'x;y')\n"
                "    rollback: DROP TABLE ${schema}.t%02d_%04d\n",
                f, i, f, i, f, i), TM_OK);
            if (i % 100 == 99)
                TM_ASSERT_INT(tm_buf_addf(&part, "- changeSet: {id: tag-%02d-%04d, author: bench, changes: [{tagDatabase: {tag: v%d.%d}}]}\n", f, i, f, i), TM_OK);
        }
        char name[64];
        snprintf(name, sizeof(name), "parts/p%02d.yaml", f);
        TM_ASSERT_INT(chlog_fs_mem_add(&fs, name, tm_buf_str(&part), part.len, &err), TM_OK);
        bytes += part.len;
    }
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "master.yaml", tm_buf_str(&master), master.len, &err), TM_OK);
    tm_buf_release(&master);
    tm_buf_release(&part);
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        struct chlog *c = NULL;
        double t0 = now_s();
        TM_ASSERT_INT(chlog_load(&fs, "master.yaml", NULL, &c, &err), TM_OK);
        double dt = now_s() - t0;
        TM_ASSERT_INT(c->nsets, FILES * PER_FILE + FILES * PER_FILE / 100);
        chlog_free(c);
        if (dt < best)
            best = dt;
    }
    printf("bench chlog_load yaml: %d changesets, %.1f MiB in 11 files: best of 3 %.1f ms "
           "(%.0f changesets/s, %.1f MiB/s)\n",
           FILES * PER_FILE, (double)bytes / (1 << 20), best * 1e3,
           FILES * PER_FILE / best, (double)bytes / (1 << 20) / best);
    chlog_fs_mem_release(&fs);
}

TM_TEST(bench_chlog_load_formatted_sql_10k_changesets)
{
    struct tm_buf b;
    tm_buf_init(&b, 16u << 20);
    TM_ASSERT_INT(tm_buf_adds(&b, "--liquibase formatted sql\n--property name:schema value:app\n"), TM_OK);
    for (int i = 0; i < FILES * PER_FILE; i++) {
        TM_ASSERT_INT(tm_buf_addf(&b,
            "\n--changeset bench:c%05d runInTransaction:true\n"
            "--comment: table %d\n"
            "CREATE TABLE ${schema}.t%05d (id bigserial PRIMARY KEY, v text NOT NULL DEFAULT 'x;y');\n"
            "--rollback DROP TABLE ${schema}.t%05d;\n",
            i, i, i, i), TM_OK);
        if (i % 100 == 99)
            TM_ASSERT_INT(tm_buf_addf(&b, "--tag v%d\n", i), TM_OK);
    }
    struct chlog_fs fs;
    TM_ASSERT_INT(chlog_fs_mem_init(&fs), TM_OK);
    struct tm_err err = {0};
    TM_ASSERT_INT(chlog_fs_mem_add(&fs, "c.sql", tm_buf_str(&b), b.len, &err), TM_OK);
    size_t bytes = b.len;
    tm_buf_release(&b);
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        struct chlog *c = NULL;
        double t0 = now_s();
        TM_ASSERT_INT(chlog_load(&fs, "c.sql", NULL, &c, &err), TM_OK);
        double dt = now_s() - t0;
        TM_ASSERT_INT(c->nsets, FILES * PER_FILE);
        TM_ASSERT_INT(chlog_find_tag(c, "v9999"), FILES * PER_FILE - 1);
        chlog_free(c);
        if (dt < best)
            best = dt;
    }
    printf("bench chlog_load formatted sql: %d changesets, %.1f MiB: best of 3 %.1f ms "
           "(%.0f changesets/s, %.1f MiB/s)\n",
           FILES * PER_FILE, (double)bytes / (1 << 20), best * 1e3, FILES * PER_FILE / best,
           (double)bytes / (1 << 20) / best);
    chlog_fs_mem_release(&fs);
}

TM_TEST(bench_chlog_split_statements_8mib)
{
    static const char *const pieces[] = {
        "INSERT INTO t VALUES (1, 'a;b', E'it\\'s; here', \"col;x\");\n",
        "-- a comment; with a semicolon\nUPDATE t SET v = v || ';' WHERE id = 1;\n",
        "CREATE FUNCTION f() RETURNS int AS $fn$ BEGIN RETURN 1; END; $fn$ LANGUAGE plpgsql;\n",
        "/* block /* nested; */ comment */ SELECT (1; 2);\n",
    };
    struct tm_buf b;
    tm_buf_init(&b, 16u << 20);
    size_t want = 0;
    while (b.len < (8u << 20)) {
        for (size_t i = 0; i < 4; i++)
            TM_ASSERT_INT(tm_buf_adds(&b, pieces[i]), TM_OK);
        want += 4;
    }
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        char **st = NULL;
        size_t n = 0;
        struct tm_err err = {0};
        double t0 = now_s();
        TM_ASSERT_INT(chlog_split_statements(tm_buf_str(&b), NULL, false, &st, &n, &err), TM_OK);
        double dt = now_s() - t0;
        TM_ASSERT_INT(n, want);
        chlog_statements_free(st, n);
        if (dt < best)
            best = dt;
    }
    printf("bench chlog_split_statements: %zu statements, %.1f MiB: best of 3 %.1f ms "
           "(%.1f MiB/s)\n",
           want, (double)b.len / (1 << 20), best * 1e3, (double)b.len / (1 << 20) / best);
    tm_buf_release(&b);
}

/* Loads and plans one corpus set; best of 5, in ms.  *nsets gets its size. */
static double load_and_plan(const char *root, const char *entry, size_t *nsets)
{
    struct chlog_fs fs;
    if (chlog_fs_disk_init(&fs, root) != TM_OK)
        return -1;
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        struct tm_err err = {0};
        struct chlog *c = NULL;
        struct engine_history h;
        engine_history_init(&h);
        struct plan p;
        plan_init(&p);
        double t0 = now_s();
        enum tm_code rc = chlog_load(&fs, entry, NULL, &c, &err);
        if (rc == TM_OK)
            rc = plan_to_tag(c, &h, NULL, -1, &p, &err);
        double dt = now_s() - t0;
        if (rc != TM_OK) {
            printf("  %-45s does not load: %s\n", root, err.msg);
            best = -1;
        } else {
            *nsets = c->nsets;
            if (dt < best)
                best = dt;
        }
        plan_release(&p);
        chlog_free(c);
        if (rc != TM_OK)
            break;
    }
    chlog_fs_disk_release(&fs);
    return best < 0 ? -1 : best * 1e3;
}

TM_TEST(bench_chlog_load_and_plan_corpus_sets)
{
    const char *src = tm_test_env("TIDEMARK_SOURCE_DIR");
    TM_ASSERT(src != NULL);
    char tsv[1024];
    snprintf(tsv, sizeof(tsv), "%s/../shared/corpus/SOURCES.tsv", src);
    FILE *f = fopen(tsv, "r");
    if (!f) {
        printf("bench corpus: %s not found (../shared beside the clone)\n", tsv);
        TM_ASSERT(f != NULL);
    }
    char line[8192];
    double worst = 0;
    size_t worst_sets = 0, loaded = 0;
    char worst_name[256] = "";
    printf("bench chlog_load + plan of the corpus (best of 5, from disk):\n");
    while (fgets(line, sizeof(line), f)) {
        char *cols[6] = {0};
        char *q = line;
        for (int i = 0; i < 6 && q; i++) {
            cols[i] = q;
            q = strchr(q, '\t');
            if (q)
                *q++ = '\0';
        }
        if (!cols[4] || strncmp(cols[0], "lb", 2) != 0)
            continue;
        char root[1024];
        if (snprintf(root, sizeof(root), "%s/../shared/corpus/%s", src, cols[0]) >= (int)sizeof(root))
            continue; /* a path this long is not in the corpus */
        size_t n = 0;
        double ms = load_and_plan(root, cols[4], &n);
        if (ms < 0)
            continue;
        loaded++;
        printf("  %-45s %5zu changesets %7.2f ms\n", cols[0], n, ms);
        if (ms > worst) {
            worst = ms;
            worst_sets = n;
            snprintf(worst_name, sizeof(worst_name), "%.*s", (int)sizeof(worst_name) - 1, cols[0]);
        }
    }
    fclose(f);
    printf("bench corpus: %zu sets loaded; slowest %s (%zu changesets): %.2f ms (target <= 100 ms)\n",
           loaded, worst_name, worst_sets, worst);
    TM_EXPECT(loaded > 0);
}

TM_TEST_MAIN()
