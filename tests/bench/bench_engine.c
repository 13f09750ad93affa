/* Benchmarks of the engine CLI against a real PostgreSQL (label bench):
 *   - apply 1,000 small changesets to an empty database with `tidemark update`,
 *     against the floor: psql running the same statements with the same
 *     number of commits (one transaction per changeset);
 *   - the same for 1,000 changesets of structured changes (createTable with
 *     columns and constraints, addColumn, createIndex, addForeignKeyConstraint,
 *     insert) in a Liquibase XML changelog; the floor runs exactly the SQL
 *     tidemark generates for them (read from the model chlog_load builds),
 *     with each side's server (backend) CPU time when the server lets us
 *     read it: on a shared machine CPU time is the steadier figure;
 *   - no-op `status` and `update` with the 1,000 applied;
 *   - peak RSS of each CLI run (wait4 rusage of the child).
 * Prints figures; asserts only that the runs did their work. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine_pgdb.h"
#include "tm_test.h"

#define BENCH_N 1000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs argv with stdout/stderr to /dev/null; returns the exit code, the
 * wall time and the child's rusage (peak RSS, CPU). */
static int spawn_ru(char *const argv[], const char *env_url, double *secs, struct rusage *ru)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (env_url)
            setenv("TIDEMARK_DB_URL", env_url, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    memset(ru, 0, sizeof(*ru));
    wait4(pid, &status, 0, ru);
    *secs = now_s() - t0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* spawn_ru, keeping the child's peak RSS (KiB) only. */
static int spawn(char *const argv[], const char *env_url, double *secs, long *rss_kb)
{
    struct rusage ru;
    int rc = spawn_ru(argv, env_url, secs, &ru);
    *rss_kb = ru.ru_maxrss;
    return rc;
}

static double cpu_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + (double)ru->ru_stime.tv_usec / 1e6;
}

static char *db_url(const char *name)
{
    const char *base = getenv("TIDEMARK_PG_URL");
    const char *slash = strrchr(base, '/');
    size_t n = (size_t)(slash - base) + 1 + strlen(name) + 1;
    char *u = malloc(n);
    snprintf(u, n, "%.*s/%s", (int)(slash - base), base, name);
    return u;
}

/* Writes the changelog and the psql floor script for BENCH_N changesets. */
static bool write_inputs(const char *cl_path, const char *psql_path)
{
    FILE *cl = fopen(cl_path, "w"), *fl = fopen(psql_path, "w");
    if (!cl || !fl) {
        if (cl)
            fclose(cl);
        if (fl)
            fclose(fl);
        return false;
    }
    fprintf(cl, "--liquibase formatted sql\n\n");
    for (int i = 0; i < BENCH_N; i++) {
        fprintf(cl, "--changeset bench:%d\nCREATE TABLE t%d (id int PRIMARY KEY, v text);\n"
                    "--rollback DROP TABLE t%d;\n\n",
                i, i, i);
        fprintf(fl, "BEGIN;\nCREATE TABLE t%d (id int PRIMARY KEY, v text);\nCOMMIT;\n", i);
    }
    fclose(cl);
    fclose(fl);
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define REPS 3

/* The machine the suite runs on is shared: each figure is the minimum (and
 * median) over REPS interleaved runs, each in fresh databases. */
TM_TEST(bench_apply_1000_changesets_vs_psql_floor)
{
    const char *bin = tm_test_env("TIDEMARK_BIN");
    TM_ASSERT(bin != NULL);
    char dir[] = "/tmp/tm_bench_XXXXXX";
    TM_ASSERT(mkdtemp(dir) != NULL);
    char cl_path[256], psql_path[256];
    snprintf(cl_path, sizeof(cl_path), "%s/changelog.sql", dir);
    snprintf(psql_path, sizeof(psql_path), "%s/floor.sql", dir);
    TM_ASSERT(write_inputs(cl_path, psql_path));
    double t_tm[REPS], t_psql[REPS], t_status = 1e9, t_noop = 1e9, t_conn = 1e9;
    double t_parse = 1e9, t_read = 1e9, t_run = 1e9;
    long rss_apply = 0, rss_status = 0, rss_noop = 0;
    char *upd[] = {(char *)bin, "update", "--changelog", cl_path, NULL};
    char *st[] = {(char *)bin, "status", "--changelog", cl_path, NULL};
    for (int rep = 0; rep < REPS; rep++) {
        struct pgdb a, b;
        TM_ASSERT(pgdb_open(&a, "bench_tm"));
        TM_ASSERT(pgdb_open(&b, "bench_psql"));
        char *ua = db_url(a.name), *ub = db_url(b.name);
        long rss;
        char *psql_argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ub, "-f",
                             psql_path, NULL};
        TM_EXPECT_INT(spawn(psql_argv, NULL, &t_psql[rep], &rss), 0);
        TM_EXPECT_INT(spawn(upd, ua, &t_tm[rep], &rss), 0);
        if (rss > rss_apply)
            rss_apply = rss;
        TM_EXPECT_STR(pgdb_val(a.c, "SELECT count(*) FROM databasechangelog"), "1000");
        TM_EXPECT_STR(
            pgdb_val(b.c, "SELECT count(*) FROM pg_tables WHERE tablename ~ '^t[0-9]+$'"),
            "1000");
        if (rep == REPS - 1) {
            /* no-op runs with 1000 applied, and the floor of any client:
             * process start + connect + one query */
            char *sel[] = {"psql", "-X", "-q", "-d", ua, "-c", "SELECT 1", NULL};
            for (int k = 0; k < 7; k++) {
                double t;
                TM_EXPECT_INT(spawn(st, ua, &t, &rss), 0);
                t_status = t < t_status ? t : t_status;
                rss_status = rss > rss_status ? rss : rss_status;
                TM_EXPECT_INT(spawn(upd, ua, &t, &rss), 0);
                t_noop = t < t_noop ? t : t_noop;
                rss_noop = rss > rss_noop ? rss : rss_noop;
                TM_EXPECT_INT(spawn(sel, NULL, &t, &rss), 0);
                t_conn = t < t_conn ? t : t_conn;
            }
            TM_EXPECT_STR(pgdb_val(a.c, "SELECT count(*) FROM databasechangelog"), "1000");
            /* the engine's own share, in process on an open connection:
             * parse the changelog + read history + compare (status), and a
             * no-op engine_run (lock, ensure, read, plan, unlock) */
            for (int k = 0; k < 7; k++) {
                struct chlog_fs fs;
                struct chlog *cl = NULL;
                struct engine_status es;
                struct engine_result er;
                struct engine_opts eo;
                struct tm_err err;
                double t0 = now_s();
                TM_ASSERT_INT(chlog_fs_disk_init(&fs, dir), TM_OK);
                TM_ASSERT_INT(chlog_load(&fs, "changelog.sql", NULL, &cl, &err), TM_OK);
                double t1 = now_s();
                TM_EXPECT_INT(engine_status_read(a.c, cl, NULL, NULL, &es, &err), TM_OK);
                double t2 = now_s();
                engine_opts_init(&eo);
                engine_result_init(&er);
                TM_EXPECT_INT(engine_run(a.c, cl, &eo, &er, &err), TM_OK);
                double t3 = now_s();
                TM_EXPECT_INT(es.npending, 0);
                TM_EXPECT_INT(er.applied, 0);
                t_parse = t1 - t0 < t_parse ? t1 - t0 : t_parse;
                t_read = t2 - t1 < t_read ? t2 - t1 : t_read;
                t_run = t3 - t2 < t_run ? t3 - t2 : t_run;
                engine_result_release(&er);
                engine_status_release(&es);
                chlog_free(cl);
                chlog_fs_disk_release(&fs);
            }
        }
        free(ua);
        free(ub);
        pgdb_close(&a);
        pgdb_close(&b);
    }
    qsort(t_tm, REPS, sizeof(double), cmp_double);
    qsort(t_psql, REPS, sizeof(double), cmp_double);
    printf("bench engine: apply %d changesets from empty (min / median of %d)\n", BENCH_N, REPS);
    printf("  tidemark update          %7.3f s / %7.3f s  (%.2f ms/changeset)  peak RSS %ld KiB\n",
           t_tm[0], t_tm[REPS / 2], t_tm[0] * 1000.0 / BENCH_N, rss_apply);
    printf("  psql floor, %d commits %7.3f s / %7.3f s  (%.2f ms/changeset)\n", BENCH_N,
           t_psql[0], t_psql[REPS / 2], t_psql[0] * 1000.0 / BENCH_N);
    printf("  ratio tidemark/psql      %7.2fx (min)  %.2fx (median)  (target <= 1.5x)\n",
           t_tm[0] / t_psql[0], t_tm[REPS / 2] / t_psql[REPS / 2]);
    printf("  no-op status (1000 applied) %6.1f ms  peak RSS %ld KiB  (target <= 50 ms)\n",
           t_status * 1000.0, rss_status);
    printf("  no-op update (1000 applied) %6.1f ms  peak RSS %ld KiB  (target <= 50 ms)\n",
           t_noop * 1000.0, rss_noop);
    printf("  for scale: psql -c 'SELECT 1' %6.1f ms (process start + connect)\n",
           t_conn * 1000.0);
    printf("  in process: parse changelog %.1f ms, status (read + compare) %.1f ms, "
           "no-op engine_run %.1f ms\n",
           t_parse * 1000.0, t_read * 1000.0, t_run * 1000.0);
    fflush(stdout);
    unlink(cl_path);
    unlink(psql_path);
    rmdir(dir);
}

/* ---- structured changes ------------------------------------------------ */

#define GROUPS (BENCH_N / 5)

/* The last statement of both runs when the server lets us read
 * /proc/self/schedstat (superuser): the CPU time its backend has used, in a
 * table read afterwards.  CPU time, unlike wall time, barely moves with the
 * load of a shared machine. */
#define CPU_PROBE                                                                          \
    "CREATE TABLE bench_cpu AS SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', " \
    "1)::bigint AS ns"

/* Writes a Liquibase XML changelog of BENCH_N changesets, five kinds in
 * turn (GROUPS tables): createTable (identity primary key, NOT NULL, UNIQUE,
 * defaults), addColumn (two columns), createIndex, addForeignKeyConstraint
 * (to the previous table), insert; then, with cpu_probe, one changeset
 * running CPU_PROBE. */
static bool write_struct_changelog(const char *path, bool cpu_probe)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<databaseChangeLog xmlns=\"http://www.liquibase.org/xml/ns/dbchangelog\">\n");
    for (int g = 0; g < GROUPS; g++) {
        fprintf(f,
                "  <changeSet id=\"%d-table\" author=\"bench\">\n"
                "    <createTable tableName=\"s%d\" remarks=\"bench table %d\">\n"
                "      <column name=\"id\" type=\"bigint\" autoIncrement=\"true\">"
                "<constraints primaryKey=\"true\"/></column>\n"
                "      <column name=\"name\" type=\"varchar(100)\">"
                "<constraints nullable=\"false\" unique=\"true\"/></column>\n"
                "      <column name=\"active\" type=\"boolean\" defaultValueBoolean=\"true\"/>\n"
                "      <column name=\"created\" type=\"datetime\" defaultValueComputed=\"now()\"/>\n"
                "      <column name=\"amount\" type=\"decimal(10,2)\" defaultValueNumeric=\"0\"/>\n"
                "    </createTable>\n"
                "  </changeSet>\n"
                "  <changeSet id=\"%d-columns\" author=\"bench\">\n"
                "    <addColumn tableName=\"s%d\">\n"
                "      <column name=\"code\" type=\"varchar(20)\"/>\n"
                "      <column name=\"parent_id\" type=\"bigint\"/>\n"
                "    </addColumn>\n"
                "  </changeSet>\n"
                "  <changeSet id=\"%d-index\" author=\"bench\">\n"
                "    <createIndex tableName=\"s%d\" indexName=\"ix_s%d_code\">"
                "<column name=\"code\"/></createIndex>\n"
                "  </changeSet>\n"
                "  <changeSet id=\"%d-fk\" author=\"bench\">\n"
                "    <addForeignKeyConstraint baseTableName=\"s%d\" baseColumnNames=\"parent_id\" "
                "constraintName=\"fk_s%d_parent\" referencedTableName=\"s%d\" "
                "referencedColumnNames=\"id\" onDelete=\"CASCADE\"/>\n"
                "  </changeSet>\n"
                "  <changeSet id=\"%d-rows\" author=\"bench\">\n"
                "    <insert tableName=\"s%d\"><column name=\"name\" value=\"n'%d\"/>"
                "<column name=\"code\" value=\"c%d\"/><column name=\"amount\" "
                "valueNumeric=\"%d.50\"/></insert>\n"
                "  </changeSet>\n",
                g, g, g, g, g, g, g, g, g, g, g, g > 0 ? g - 1 : 0, g, g, g, g, g);
    }
    if (cpu_probe)
        fprintf(f, "  <changeSet id=\"cpu\" author=\"bench\"><sql>" CPU_PROBE "</sql></changeSet>\n");
    fprintf(f, "</databaseChangeLog>\n");
    return fclose(f) == 0;
}

/* Writes the psql floor for the changelog in dir: each changeset's SQL as
 * tidemark generates it (the model chlog_load builds), one transaction per
 * changeset.  Returns the number of changesets written. */
static size_t write_struct_floor(const char *dir, const char *entry, const char *floor_path)
{
    struct chlog_fs fs;
    struct chlog *cl = NULL;
    struct tm_err err;
    size_t n = 0;
    if (chlog_fs_disk_init(&fs, dir) != TM_OK)
        return 0;
    if (chlog_load(&fs, entry, NULL, &cl, &err) != TM_OK) {
        fprintf(stderr, "load %s: %s\n", entry, err.msg);
        chlog_fs_disk_release(&fs);
        return 0;
    }
    FILE *fl = fopen(floor_path, "w");
    for (size_t i = 0; fl && i < cl->nsets; i++) {
        const struct chlog_changeset *cs = &cl->sets[i];
        fprintf(fl, "BEGIN;\n");
        for (size_t k = 0; k < cs->nchanges; k++)
            if (cs->changes[k].sql)
                fprintf(fl, "%s;\n", cs->changes[k].sql);
        fprintf(fl, "COMMIT;\n");
        n++;
    }
    if (!fl || fclose(fl) != 0)
        n = 0;
    chlog_free(cl);
    chlog_fs_disk_release(&fs);
    return n;
}

#define STRUCT_REPS 5

TM_TEST(bench_apply_1000_structured_changesets_vs_psql_floor)
{
    const char *bin = tm_test_env("TIDEMARK_BIN");
    TM_ASSERT(bin != NULL);
    char dir[] = "/tmp/tm_bench_XXXXXX";
    TM_ASSERT(mkdtemp(dir) != NULL);
    char cl_path[256], psql_path[256];
    snprintf(cl_path, sizeof(cl_path), "%s/changelog.xml", dir);
    snprintf(psql_path, sizeof(psql_path), "%s/floor.sql", dir);
    struct pgdb probe;
    TM_ASSERT(pgdb_open(&probe, "bench_probe"));
    bool cpu = strspn(pgdb_val(probe.c, "SELECT split_part(pg_read_file('/proc/self/schedstat'), "
                                        "' ', 1)"),
                      "0123456789") > 0;
    pgdb_close(&probe);
    int nsets = BENCH_N + (cpu ? 1 : 0);
    TM_ASSERT(write_struct_changelog(cl_path, cpu));
    TM_ASSERT_INT((long)write_struct_floor(dir, "changelog.xml", psql_path), nsets);
    double t_tm[STRUCT_REPS], t_psql[STRUCT_REPS], c_tm = 1e9, c_psql = 1e9;
    double s_tm = 1e9, s_psql = 1e9; /* backend CPU (CPU_PROBE) */
    char want_sets[16];
    snprintf(want_sets, sizeof(want_sets), "%d", nsets);
    char *upd[] = {(char *)bin, "update", "--changelog", cl_path, NULL};
    char want_rows[16];
    snprintf(want_rows, sizeof(want_rows), "%d", GROUPS);
    for (int rep = 0; rep < STRUCT_REPS; rep++) {
        struct pgdb a, b;
        TM_ASSERT(pgdb_open(&a, "bench_tm_struct"));
        TM_ASSERT(pgdb_open(&b, "bench_psql_struct"));
        char *ua = db_url(a.name), *ub = db_url(b.name);
        struct rusage ru;
        char *psql_argv[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ub, "-f",
                             psql_path, NULL};
        /* alternate which goes first: neither always gets the warmer cache */
        for (int k = 0; k < 2; k++) {
            if ((k == 0) == (rep % 2 == 0)) {
                TM_EXPECT_INT(spawn_ru(psql_argv, NULL, &t_psql[rep], &ru), 0);
                c_psql = cpu_s(&ru) < c_psql ? cpu_s(&ru) : c_psql;
            } else {
                TM_EXPECT_INT(spawn_ru(upd, ua, &t_tm[rep], &ru), 0);
                c_tm = cpu_s(&ru) < c_tm ? cpu_s(&ru) : c_tm;
            }
        }
        TM_EXPECT_STR(pgdb_val(a.c, "SELECT count(*) FROM databasechangelog"), want_sets);
        if (cpu) {
            double sa = strtod(pgdb_val(a.c, "SELECT ns FROM bench_cpu"), NULL) / 1e9;
            double sb = strtod(pgdb_val(b.c, "SELECT ns FROM bench_cpu"), NULL) / 1e9;
            TM_EXPECT(sa > 0 && sb > 0);
            s_tm = sa < s_tm ? sa : s_tm;
            s_psql = sb < s_psql ? sb : s_psql;
        }
        /* the same schema and rows on both sides */
        const char *q_fk = "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND conname ~ "
                           "'^fk_s[0-9]+_parent$'";
        const char *q_rows = "SELECT count(*) FROM pg_class c WHERE relname ~ '^s[0-9]+$' AND "
                             "relkind = 'r' AND (xpath('/row/c/text()', query_to_xml("
                             "format('SELECT count(*) AS c FROM %I', relname), false, true, "
                             "'')))[1]::text = '1'";
        TM_EXPECT_STR(pgdb_val(a.c, q_fk), want_rows);
        TM_EXPECT_STR(pgdb_val(b.c, q_fk), want_rows);
        TM_EXPECT_STR(pgdb_val(a.c, q_rows), want_rows);
        TM_EXPECT_STR(pgdb_val(b.c, q_rows), want_rows);
        free(ua);
        free(ub);
        pgdb_close(&a);
        pgdb_close(&b);
    }
    double r_min = 1e9, r_sorted[STRUCT_REPS];
    for (int i = 0; i < STRUCT_REPS; i++) {
        r_sorted[i] = t_tm[i] / t_psql[i];
        r_min = r_sorted[i] < r_min ? r_sorted[i] : r_min;
    }
    qsort(r_sorted, STRUCT_REPS, sizeof(double), cmp_double);
    qsort(t_tm, STRUCT_REPS, sizeof(double), cmp_double);
    qsort(t_psql, STRUCT_REPS, sizeof(double), cmp_double);
    printf("bench engine: apply %d structured changesets (XML: createTable, addColumn, "
           "createIndex, addForeignKeyConstraint, insert) from empty (min / median of %d)\n",
           BENCH_N, STRUCT_REPS);
    printf("  tidemark update          %7.3f s / %7.3f s  (%.2f ms/changeset)  client CPU "
           "%.3f s\n",
           t_tm[0], t_tm[STRUCT_REPS / 2], t_tm[0] * 1000.0 / BENCH_N, c_tm);
    printf("  psql floor, %d commits %7.3f s / %7.3f s  (%.2f ms/changeset)  client CPU "
           "%.3f s\n",
           BENCH_N, t_psql[0], t_psql[STRUCT_REPS / 2], t_psql[0] * 1000.0 / BENCH_N, c_psql);
    printf("  ratio tidemark/psql      %7.2fx (min)  %.2fx (median)  (target <= 1.2x)\n",
           t_tm[0] / t_psql[0], t_tm[STRUCT_REPS / 2] / t_psql[STRUCT_REPS / 2]);
    printf("  per-rep ratio            %7.2fx (min)  %.2fx (median)\n", r_min,
           r_sorted[STRUCT_REPS / 2]);
    if (cpu)
        printf("  server CPU (min)         tidemark %.3f s, psql %.3f s: %.2fx; client + server "
               "CPU %.2fx\n",
               s_tm, s_psql, s_tm / s_psql, (s_tm + c_tm) / (s_psql + c_psql));
    else
        printf("  server CPU: not measured (reading /proc/self/schedstat needs a superuser)\n");
    fflush(stdout);
    if (getenv("TM_BENCH_KEEP")) { /* for profiling by hand */
        printf("  inputs kept in %s\n", dir);
        return;
    }
    unlink(cl_path);
    unlink(psql_path);
    rmdir(dir);
}

TM_TEST_MAIN()
